# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal, byte-exact edits of one nginx directive (or one small block).

Node-side, Python standard library only.  The file is read as bytes and
handled as a latin-1 string, so every character is exactly one byte and
every offset a byte offset; an edit splices text in or out at offsets, so
the bytes it does not touch stay identical (comments, indentation, blank
lines, line endings).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import tempfile
import textwrap

WS = ' \t\r\n\f\v'

# Directives nginx allows several times in one block; the first argument is
# the key that identifies one instance.
ARRAY_DIRECTIVES = frozenset((
    'proxy_set_header', 'add_header', 'add_trailer', 'fastcgi_param', 'uwsgi_param', 'scgi_param',
    'grpc_set_header', 'proxy_hide_header', 'proxy_pass_header', 'fastcgi_hide_header',
    'fastcgi_pass_header', 'uwsgi_hide_header', 'uwsgi_pass_header', 'scgi_hide_header',
    'scgi_pass_header', 'grpc_hide_header', 'grpc_pass_header', 'set', 'error_page', 'include',
    'listen', 'server', 'allow', 'deny', 'env', 'load_module', 'log_format', 'sub_filter',
    'proxy_cookie_path', 'proxy_cookie_domain', 'proxy_redirect', 'more_set_headers',
    'more_clear_headers', 'real_ip_header', 'set_real_ip_from', 'ssl_certificate', 'ssl_certificate_key',
))

SCOPES = ('main', 'events', 'http', 'server', 'location', 'upstream')
DIRECTIVE_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
LOCATION_MODIFIERS = ('^~', '~*', '~', '=')


class EditError(Exception):
    """An error with a message meant for the user; nothing was changed."""


def to_text(value):
    """A user string as the latin-1 'byte string' the editor works on."""
    return value.encode('utf-8').decode('latin-1')


def from_text(value):
    """Back from the editor's latin-1 string to readable text."""
    return value.encode('latin-1').decode('utf-8', 'replace')


# --- lexer ------------------------------------------------------------------

class Token(object):
    __slots__ = ('kind', 'start', 'end', 'line', 'raw')

    def __init__(self, kind, start, end, line, raw):
        self.kind = kind      # word, quoted, comment, '{', '}', ';'
        self.start = start
        self.end = end
        self.line = line
        self.raw = raw

    @property
    def value(self):
        if self.kind == 'quoted':
            return unescape(self.raw[1:-1])
        return unescape(self.raw)


def unescape(raw):
    """What nginx makes of a token's characters (ngx_conf_read_token)."""
    out = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == '\\' and i + 1 < n:
            nxt = raw[i + 1]
            if nxt in '"\'\\':
                out.append(nxt)
                i += 2
                continue
            if nxt in 'trn':
                out.append({'t': '\t', 'r': '\r', 'n': '\n'}[nxt])
                i += 2
                continue
        out.append(c)
        i += 1
    return ''.join(out)


def tokenize(text, path='<config>'):
    """Split text into tokens with offsets and lines, the way nginx reads it."""
    toks = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c in WS:
            j = i
            while j < n and text[j] in WS:
                j += 1
            line += text.count('\n', i, j)
            i = j
            continue
        if c == '#':
            j = text.find('\n', i)
            if j < 0:
                j = n
            toks.append(Token('comment', i, j, line, text[i:j]))
            i = j
            continue
        if c in '{};':
            toks.append(Token(c, i, i + 1, line, c))
            i += 1
            continue
        if c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            if j >= n:
                raise EditError('%s:%d: unterminated quoted string' % (path, line))
            j += 1
            toks.append(Token('quoted', i, j, line, text[i:j]))
            line += text.count('\n', i, j)
            i = j
            continue
        j = i
        while j < n:
            ch = text[j]
            if ch == '\\':
                j += 2
                continue
            if ch == '$' and j + 1 < n and text[j + 1] == '{':
                end = text.find('}', j)
                if end < 0:
                    raise EditError('%s:%d: unterminated ${ variable' % (path, line))
                j = end + 1
                continue
            if ch in WS or ch in ';{':
                break
            j += 1
        j = min(j, n)
        toks.append(Token('word', i, j, line, text[i:j]))
        line += text.count('\n', i, j)
        i = j
    return toks


# --- parser -----------------------------------------------------------------

class Stmt(object):
    """One directive: name, argument tokens, and for a block its children."""

    def __init__(self, words, comments):
        self.words = words
        self.comments = comments   # comment tokens inside the statement
        self.name = words[0].value
        self.args = words[1:]
        self.start = words[0].start
        self.line = words[0].line
        self.end = None
        self.term = None            # the ';' or '{' token
        self.close = None           # the '}' token of a block
        self.children = None

    @property
    def values(self):
        return [t.value for t in self.args]

    @property
    def is_block(self):
        return self.children is not None

    def describe(self):
        return ' '.join([self.name] + [t.raw for t in self.args])


class Root(object):
    """The file's top level, shaped like a block."""
    name = '(file)'
    line = 0
    start = 0
    term = None
    close = None
    is_block = True

    def __init__(self):
        self.children = []


def parse(text, path='<config>'):
    toks = tokenize(text, path)
    root = Root()
    stack = [root]
    words, comments = [], []
    for t in toks:
        if t.kind == 'comment':
            if words:
                comments.append(t)
            continue
        if t.kind in ('word', 'quoted'):
            words.append(t)
            continue
        if t.kind == ';':
            if not words:
                raise EditError('%s:%d: unexpected ";"' % (path, t.line))
            s = Stmt(words, comments)
            s.term, s.end = t, t.end
            stack[-1].children.append(s)
        elif t.kind == '{':
            if not words:
                raise EditError('%s:%d: unexpected "{"' % (path, t.line))
            if words[0].value.endswith('_by_lua_block') or words[0].value.endswith('_by_njs_block'):
                raise EditError('%s:%d: %s holds code, not directives; files with such blocks are not edited'
                                % (path, t.line, from_text(words[0].value)))
            s = Stmt(words, comments)
            s.term = t
            s.children = []
            stack[-1].children.append(s)
            stack.append(s)
        else:
            if words:
                raise EditError('%s:%d: unexpected "}"' % (path, t.line))
            if len(stack) == 1:
                raise EditError('%s:%d: unexpected "}"' % (path, t.line))
            s = stack.pop()
            s.close, s.end = t, t.end
        words, comments = [], []
    if words or len(stack) > 1:
        raise EditError('%s: unexpected end of file, expecting ";" or "}"' % path)
    return root, toks


# --- rendering and checking user input ----------------------------------------

def quote_arg(value):
    """Render one argument so nginx reads back exactly value."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise EditError('argument %r contains a newline or control character' % from_text(value))
    out = []
    for i, c in enumerate(value):
        if c == '\\' and (i + 1 == len(value) or value[i + 1] in '"\'\\trn'):
            out.append('\\\\')
        elif c == '"':
            out.append('\\"')
        else:
            out.append(c)
    body = ''.join(out)
    plain = (value and not any(c in value for c in ' ;{}"\'#') and value[0] not in '"\'#')
    if plain and body == value:
        return value
    return '"%s"' % body


def render_statement(name, args):
    """Render ``name arg...;`` and prove it reads back as one statement with these values."""
    if not DIRECTIVE_NAME.match(name or ''):
        raise EditError('invalid directive name %r: only letters, digits and _ are allowed' % from_text(name or ''))
    text = ' '.join([name] + [quote_arg(a) for a in args]) + ';'
    try:
        root, dummy = parse(text)
    except EditError as e:
        raise EditError('arguments would not read back as one statement: %s' % e)
    if (len(root.children) != 1 or root.children[0].is_block or root.children[0].name != name
            or root.children[0].values != list(args)):
        raise EditError('arguments would break out of the statement: %s' % from_text(text))
    return text


def parse_block_text(block, path='block'):
    if '\x00' in block:
        raise EditError('block contains a NUL byte')
    text = textwrap.dedent(block.replace('\r\n', '\n')).strip('\n')
    root, toks = parse(text, path)
    if len(root.children) != 1 or not root.children[0].is_block:
        raise EditError('block must hold exactly one block statement such as "map $a $b { ... }"; got %d statement(s)'
                        % len(root.children))
    stmt = root.children[0]
    if any(t.kind == 'comment' for t in toks if t.start < stmt.start or t.start >= stmt.end):
        raise EditError('block must not have comments outside its braces')
    if not DIRECTIVE_NAME.match(stmt.name):
        raise EditError('invalid block name %r' % from_text(stmt.name))
    return text, stmt, toks


def signature(stmt, toks):
    """Token values of a statement, comments left out: what nginx sees."""
    return [(t.kind, t.value) for t in toks
            if stmt.start <= t.start < stmt.end and t.kind != 'comment']


# --- selecting the block ----------------------------------------------------

def norm_location(values):
    values = list(values)
    if len(values) == 1 and not values[0].startswith('@'):
        for mod in LOCATION_MODIFIERS:
            if values[0].startswith(mod) and len(values[0]) > len(mod):
                return [mod, values[0][len(mod):]]
    return values


def listen_matches(want, values):
    if not values:
        return False
    have = values[0]
    if have == want:
        return True
    if want.isdigit():
        return have == want or have.endswith(':' + want)
    return False


def _children(block, name):
    return [c for c in block.children if c.name == name and c.is_block]


def _lines(stmts):
    return ', '.join('line %d (%s)' % (s.line, from_text(s.describe())) for s in stmts)


def _pick(cands, what, line, path):
    if line is not None:
        chosen = [c for c in cands if c.line == line]
        if not chosen:
            raise EditError('no %s starts at %s:%d; candidates: %s' % (what, path, line, _lines(cands) or 'none'))
        return chosen[0]
    if not cands:
        raise EditError('no %s found in %s' % (what, path))
    if len(cands) > 1:
        raise EditError('%d blocks match %s in %s: %s; set line to choose one' % (len(cands), what, path, _lines(cands)))
    return cands[0]


def http_container(root):
    https = _children(root, 'http')
    if len(https) > 1:
        raise EditError('more than one http block: %s' % _lines(https))
    # a file without an http block is taken as included in the http context
    return https[0] if https else root


def select_block(root, spec, path):
    scope = spec['scope']
    line = spec.get('line')
    if scope == 'main':
        if line not in (None, 0):
            raise EditError('line does not apply to scope main')
        return root
    if scope == 'events':
        return _pick(_children(root, 'events'), 'events block', line, path)
    http = http_container(root)
    if scope == 'http':
        if http is root:
            if line not in (None, 0):
                raise EditError('no http block in %s (line %d given)' % (path, line))
            return root
        return _pick([http], 'http block', line, path)
    if scope == 'upstream':
        if not spec.get('upstream'):
            raise EditError('scope upstream needs upstream (its name)')
        cands = [u for u in _children(http, 'upstream') if u.values[:1] == [to_text(spec['upstream'])]]
        return _pick(cands, 'upstream %s' % spec['upstream'], line, path)
    servers = _children(http, 'server')
    what = 'server block'
    if spec.get('server_name'):
        want = to_text(spec['server_name']).lower()
        servers = [s for s in servers if any(want in [v.lower() for v in d.values]
                                             for d in s.children if d.name == 'server_name' and not d.is_block)]
        what += ' with server_name %s' % spec['server_name']
    if spec.get('listen'):
        want = to_text(str(spec['listen']))
        servers = [s for s in servers if any(listen_matches(want, d.values)
                                             for d in s.children if d.name == 'listen' and not d.is_block)]
        what += ' listening on %s' % spec['listen']
    if scope == 'server':
        return _pick(servers, what, line, path)
    # location
    chain = spec.get('location')
    if not chain:
        raise EditError('scope location needs location')
    if isinstance(chain, str):
        chain = [chain]
    if not servers:
        raise EditError('no %s found in %s' % (what, path))
    parents = servers
    for depth, match in enumerate(chain):
        want = norm_location(to_text(str(match)).split())
        cands = [loc for p in parents for loc in _children(p, 'location') if norm_location(loc.values) == want]
        label = 'location %s' % ' > '.join(str(m) for m in chain[:depth + 1])
        if depth == len(chain) - 1:
            return _pick(cands, label + ' in ' + what, line, path)
        if not cands:
            raise EditError('no %s in %s found in %s' % (label, what, path))
        parents = cands
    raise EditError('location must not be empty')


# --- the edit ---------------------------------------------------------------

def line_of(text, offset):
    return text.count('\n', 0, offset) + 1


def indent_of(text, offset):
    """The whitespace before offset on its line, or None when other text is there."""
    start = text.rfind('\n', 0, offset) + 1
    prefix = text[start:offset]
    return prefix if prefix.strip(' \t') == '' else None


def child_indent(text, block):
    for c in block.children:
        ind = indent_of(text, c.start)
        if ind is not None:
            return ind
    if isinstance(block, Root):
        return ''
    parent = indent_of(text, block.start) or ''
    return parent + ('\t' if '\t' in parent else '    ')


def rest_of_line_free(text, offset):
    """Index of the newline ending offset's line when only blanks/a comment follow, else None."""
    nl = text.find('\n', offset)
    tail = text[offset:] if nl < 0 else text[offset:nl]
    stripped = tail.strip(' \t\r')
    if stripped == '' or stripped.startswith('#'):
        return nl if nl >= 0 else None
    return None


def _tabs_for_spaces(lines, indent):
    """A block's own four-space indentation as tabs when the file indents with tabs."""
    if '\t' not in indent:
        return lines
    out = []
    for ln in lines:
        stripped = ln.lstrip(' ')
        lead = len(ln) - len(stripped)
        out.append('\t' * (lead // 4) + ' ' * (lead % 4) + stripped)
    return out


def insert_text(text, block, new, where, eol_default):
    """Insert statement text new into block; return (new_text, offset of new)."""
    indent = child_indent(text, block)
    if where == 'first' or not block.children:
        anchor = block.term.end if block.term is not None else None
    else:
        anchor = block.children[-1].end
    if anchor is None:  # top of the file
        lines = _tabs_for_spaces(new.split('\n'), indent)
        body = eol_default.join([lines[0]] + [indent + ln if ln else ln for ln in lines[1:]])
        return body + eol_default + text, 0
    nl = rest_of_line_free(text, anchor)
    if nl is None:
        body = ' ' + new
        return text[:anchor] + body + text[anchor:], anchor + 1
    eol = '\r\n' if nl > 0 and text[nl - 1] == '\r' else '\n'
    lines = _tabs_for_spaces(new.split('\n'), indent)
    body = eol.join(indent + ln if ln else ln for ln in lines) + eol
    pos = nl + 1
    return text[:pos] + body + text[pos:], pos + len(indent)


def remove_stmt(text, stmt):
    start, end = stmt.start, stmt.end
    ind = indent_of(text, start)
    nl = rest_of_line_free(text, end)
    if ind is not None and (nl is not None or text.find('\n', end) < 0 and text[end:].strip(WS) == ''):
        line_start = start - len(ind)
        stop = nl + 1 if nl is not None else len(text)
        return text[:line_start] + text[stop:]
    stop = end
    while stop < len(text) and text[stop] in ' \t':
        stop += 1
    return text[:start] + text[stop:]


def eol_of(text):
    crlf = text.count('\r\n')
    return '\r\n' if crlf and crlf * 2 >= text.count('\n') else '\n'


def plan_edit(data, spec, path='<config>'):
    """Compute the edit.

    data is the file's bytes; spec holds scope, server_name, listen, location,
    upstream, line, directive, args, block, state, insert.  Returns a dict
    with action (added, replaced, removed, none), line, and after (bytes).
    Raises EditError, and then nothing must change.
    """
    if b'\x00' in data:
        raise EditError('%s is a binary file, not an nginx config' % path)
    text = data.decode('latin-1')
    scope = spec.get('scope') or 'http'
    if scope not in SCOPES:
        raise EditError('scope must be one of %s' % ', '.join(SCOPES))
    spec = dict(spec, scope=scope)
    state = spec.get('state') or 'present'
    where = spec.get('insert') or 'last'
    if where not in ('first', 'last'):
        raise EditError('insert must be first or last')
    if spec.get('block') and spec.get('directive'):
        raise EditError('directive and block are mutually exclusive')
    if spec.get('block'):
        new, new_stmt, new_toks = parse_block_text(to_text(spec['block']))
    else:
        name = to_text(spec.get('directive') or '')
        if not DIRECTIVE_NAME.match(name):
            raise EditError('invalid directive name %r: only letters, digits and _ are allowed'
                            % (spec.get('directive') or ''))
        args = [to_text(str(a)) for a in (spec.get('args') or [])]
        for a in args:
            quote_arg(a)
        if state == 'present':
            if not args:
                raise EditError('args is required with state=present')
            new = render_statement(name, args)
    root, toks = parse(text, path)
    block = select_block(root, spec, path)
    eol = eol_of(text)

    if spec.get('block'):
        key = (new_stmt.name, new_stmt.values)
        found = [c for c in block.children if c.is_block and (c.name, c.values) == key]
        if len(found) > 1:
            raise EditError('%s is in the block %d times: %s' % (from_text(new_stmt.describe()), len(found), _lines(found)))
        if state == 'absent':
            if not found:
                return {'action': 'none', 'line': None, 'after': data}
            return {'action': 'removed', 'line': found[0].line,
                    'after': remove_stmt(text, found[0]).encode('latin-1')}
        if found:
            old = found[0]
            if signature(old, toks) == signature(new_stmt, new_toks):
                return {'action': 'none', 'line': old.line, 'after': data}
            if old.comments or any(t.kind == 'comment' for t in toks if old.start <= t.start < old.end):
                raise EditError('%s:%d: the existing %s block has comments; refusing to replace it'
                                % (path, old.line, from_text(old.name)))
            indent = indent_of(text, old.start) or ''
            lines = new.split('\n')
            body = eol.join([lines[0]] + [indent + ln if ln else ln for ln in lines[1:]])
            out = text[:old.start] + body + text[old.end:]
            return {'action': 'replaced', 'line': old.line, 'after': out.encode('latin-1')}
        out, pos = insert_text(text, block, new, where, eol)
        return {'action': 'added', 'line': line_of(out, pos), 'after': out.encode('latin-1')}

    is_array = name in ARRAY_DIRECTIVES
    same = [c for c in block.children if c.name == name and not c.is_block]
    if is_array and (args or spec.get('key')):
        key = to_text(str(spec['key'])) if spec.get('key') else args[0]
        keyed = [c for c in same if c.values[:1] == [key]]
        if spec.get('key') and not keyed and state == 'present':
            # already re-keyed by an earlier run: the instance with the new key is the one
            keyed = [c for c in same if args and c.values[:1] == args[:1]]
            if not keyed:
                raise EditError('no %s %s in the selected block of %s' % (from_text(name), spec['key'], path))
        same = keyed
    if state == 'absent':
        if not same:
            return {'action': 'none', 'line': None, 'after': data}
        out = text
        for s in sorted(same, key=lambda x: x.start, reverse=True):
            out = remove_stmt(out, s)
        return {'action': 'removed', 'line': same[0].line, 'after': out.encode('latin-1')}
    if len(same) > 1:
        raise EditError('%s is set %d times in this block (%s); refusing to guess which one to change'
                        % (from_text(name), len(same), _lines(same)))
    if not same:
        out, pos = insert_text(text, block, new, where, eol)
        return {'action': 'added', 'line': line_of(out, pos), 'after': out.encode('latin-1')}
    old = same[0]
    if old.values == args:
        return {'action': 'none', 'line': old.line, 'after': data}
    if old.comments:
        raise EditError('%s:%d: %s has a comment between its arguments; refusing to edit it'
                        % (path, old.line, from_text(name)))
    rendered = new[len(name) + 1:-1]
    if old.args:
        out = text[:old.args[0].start] + rendered + text[old.args[-1].end:]
    else:
        out = text[:old.words[0].end] + ' ' + rendered + text[old.words[0].end:]
    return {'action': 'replaced', 'line': old.line, 'after': out.encode('latin-1')}


# --- writing ----------------------------------------------------------------

class FileState(object):
    """Owner and mode of a file, shaped like os.stat's result for atomic_write."""

    def __init__(self, uid, gid, mode):
        self.st_uid = uid
        self.st_gid = gid
        self.st_mode = mode


def atomic_write(path, data, st):
    """Write data to path through a temp file in the same directory, with st's owner and mode."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            try:
                os.fchown(f.fileno(), st.st_uid, st.st_gid)
            except OSError:
                if (os.stat(tmp).st_uid, os.stat(tmp).st_gid) != (st.st_uid, st.st_gid):
                    raise EditError('cannot keep the owner %d:%d of %s' % (st.st_uid, st.st_gid, path))
            os.fchmod(f.fileno(), st.st_mode & 0o7777)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- line numbers after earlier edits ------------------------------------------

def record_shift(action, line, before, after):
    """[line, delta, inserted] when an edit moved the lines after it, else None.

    line is what plan_edit returned (the new line of an added statement, the old
    line of a removed or replaced one)."""
    delta = after.count(b'\n') - before.count(b'\n')
    if not delta or line is None:
        return None
    return [int(line), delta, action == 'added']


def shift_line(line, shifts):
    """Where a line of the file as it was is, after the edits recorded by record_shift (in order)."""
    for pos, delta, inserted in shifts or []:
        if line is None:
            break
        if (inserted and line >= pos) or (not inserted and line > pos):
            line += delta
    return line
