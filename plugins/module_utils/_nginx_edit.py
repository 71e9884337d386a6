# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
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

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_syntax as _syntax
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_syntax import Root
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import expand_include

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
MAX_NAME = 128  # nginx's longest directive names are about 40 characters
LOCATION_MODIFIERS = ('^~', '~*', '~', '=')


SCOPES = ('main', 'events', 'http', 'server', 'location', 'upstream')
# where an edit goes and what it is: one argument spec for nginx_directive and the changes of nginx_change
EDIT_OPTIONS = dict(
    server_name=dict(type='str'),
    listen=dict(type='str'),
    location=dict(type='raw'),
    upstream=dict(type='str'),
    line=dict(type='int'),
    directive=dict(type='str'),
    args=dict(type='list', elements='str'),
    block=dict(type='str'),
    key=dict(type='str', no_log=False),
)


class EditError(Exception):
    """An error with a message meant for the user; nothing was changed."""


def to_text(value):
    """A user string as the latin-1 'byte string' the editor works on."""
    return value.encode('utf-8').decode('latin-1')


def from_text(value):
    """Back from the editor's latin-1 string to readable text."""
    return value.encode('latin-1').decode('utf-8', 'replace')


# --- lexer and parser: nginx's own rules, in _nginx_syntax --------------------

def tokenize(text, path='<config>'):
    """Split text into tokens with offsets and lines, the way nginx reads it (raises EditError)."""
    toks, problem = _syntax.tokenize(text)
    if problem is not None:
        raise EditError('%s:%d: %s' % (path, problem.line, problem.message))
    return toks


def _code_block(block):
    """The first *_by_lua_block / *_by_njs_block statement under block, or None."""
    for s in _syntax.walk(block):
        if s.is_block and (s.name.endswith('_by_lua_block') or s.name.endswith('_by_njs_block')):
            return s
    return None


def parse(text, path='<config>'):
    """(root, tokens) of a file nginx accepts syntactically; EditError (nginx's message at file:line) if not."""
    root, toks, problem = _syntax.parse(text)
    code = _code_block(root)
    if code is not None:
        raise EditError('%s:%d: %s holds code, not directives; files with such blocks are not edited'
                        % (path, code.term.line, from_text(code.name)))
    if problem is not None:
        raise EditError('%s:%d: %s' % (path, problem.line, problem.message))
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


def wanted_locations(match):
    r"""The [modifier, match] forms a user's location string may mean.

    As nginx facts report it (the modifier, then nginx's value of the pattern,
    blanks and braces included: ``~ ^/a b$``), or as written in the file
    (``~ "^/a b$"``, ``~ ^/a\ b$``), read with nginx's own rules."""
    text = to_text(str(match)).strip(WS)
    forms = []
    for mod in LOCATION_MODIFIERS:  # '^~' and '~*' before '~'
        if text.startswith(mod):
            rest = text[len(mod):].strip(WS)
            if rest:
                forms.append([mod, rest])
            break
    else:
        if text:
            forms.append([text])
    try:
        root, dummy = parse('location %s {}' % text)
        if len(root.children) == 1 and root.children[0].is_block and root.children[0].values:
            form = norm_location(root.children[0].values)
            if form not in forms:
                forms.append(form)
    except EditError:
        pass
    return forms


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


def _pick(cands, what, line, path, where=''):
    if line is not None:
        chosen = [c for c in cands if c.line == line]
        if not chosen:
            raise EditError('no %s starts at %s:%d%s; candidates: %s'
                            % (what, path, line, where, _lines(cands) or 'none'))
        return chosen[0]
    if not cands:
        raise EditError('no %s found in %s%s' % (what, path, where))
    if len(cands) > 1:
        raise EditError('%d blocks match %s in %s%s: %s; set line to choose one'
                        % (len(cands), what, path, where, _lines(cands)))
    return cands[0]


def http_container(root):
    https = _children(root, 'http')
    if len(https) > 1:
        raise EditError('more than one http block: %s' % _lines(https))
    # a file without an http block is taken as included in the http context
    return https[0] if https else root


class ContextBlock(object):
    """A block a file is read inside of: the including block statement and the file it is in."""

    def __init__(self, stmt, path, name=None):
        self.name = stmt.name if stmt is not None else name
        self.values = stmt.values if stmt is not None else []
        self.children = stmt.children if stmt is not None else []
        self.line = stmt.line if stmt is not None else 0
        self.file = path

    def describe(self):
        return ' '.join([self.name] + list(self.values))


class Level(object):
    """One block level the selection must pass: a name and a test of the block statement."""

    def __init__(self, name, what, test=None):
        self.name = name
        self.what = what
        self.test = test or (lambda stmt: True)

    def matches(self, stmt):
        return stmt.name == self.name and self.test(stmt)


def _has_directive(stmt, name, test):
    return any(test(d.values) for d in stmt.children if d.name == name and not d.is_block)


def selection_levels(spec):
    """The chain of blocks, outermost first, the selected block is at the end of."""
    scope = spec['scope']
    if scope == 'main':
        return []
    if scope == 'events':
        return [Level('events', 'events block')]
    levels = [Level('http', 'http block')]
    if scope == 'http':
        return levels
    if scope == 'upstream':
        if not spec.get('upstream'):
            raise EditError('scope upstream needs upstream (its name)')
        want = to_text(spec['upstream'])
        levels.append(Level('upstream', 'upstream %s' % spec['upstream'], lambda s: s.values[:1] == [want]))
        return levels
    what = 'server block'
    tests = []
    if spec.get('server_name'):
        name = to_text(spec['server_name']).lower()
        tests.append(lambda s: _has_directive(s, 'server_name', lambda v: name in [x.lower() for x in v]))
        what += ' with server_name %s' % spec['server_name']
    if spec.get('listen'):
        addr = to_text(str(spec['listen']))
        tests.append(lambda s: _has_directive(s, 'listen', lambda v: listen_matches(addr, v)))
        what += ' listening on %s' % spec['listen']
    levels.append(Level('server', what, lambda s: all(t(s) for t in tests)))
    if scope == 'server':
        return levels
    chain = spec.get('location')
    if not chain:
        raise EditError('scope location needs location')
    if isinstance(chain, str):
        chain = [chain]
    for depth, match in enumerate(chain):
        forms = wanted_locations(match)
        if not forms:
            raise EditError('location must not be empty')
        label = 'location %s' % ' > '.join(str(m) for m in chain[:depth + 1])
        levels.append(Level('location', label + ' in ' + what,
                            lambda s, forms=forms: norm_location(s.values) in forms))
    return levels


def describe_context(context):
    """'http > server (line 12: server)' for an include context."""
    return ' > '.join('%s (%s:%d)' % (from_text(s.describe()), getattr(s, 'file', None) or '?', s.line)
                      for s in context)


def select_block(root, spec, path, contexts=None):
    """The block of the file the edit goes in.

    contexts: the include contexts of the file, each a list of the block
    statements (outermost first) nginx reads the file inside of, as
    include_contexts() finds them; [] is the main file.  None: unknown, then
    a file without an http block is taken as included in the http context."""
    scope = spec['scope']
    if contexts is None:
        if scope in ('main', 'events') or _children(root, 'http'):
            return _select_in(root, spec, path, selection_levels(spec), [])
        return _select_in(root, spec, path, selection_levels(spec), [ContextBlock(None, None, 'http')])
    levels = selection_levels(spec)
    found, problems = [], []
    for context in contexts:
        try:
            block = _select_in(root, spec, path, levels, context)
        except EditError as e:
            problems.append((context, e))
            continue
        if not any(block is b for b in found):
            found.append(block)
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise EditError('%d blocks match in %s: %s; set line to choose one' % (len(found), path, _lines(found)))
    if len(problems) == 1:
        raise problems[0][1]
    raise EditError('no block for scope %s in %s, which nginx reads in %d places: %s' % (
        scope, path, len(problems),
        '; '.join('%s: %s' % (describe_context(c) or 'main', e) for c, e in problems)))


def _select_in(root, spec, path, levels, context):
    scope = spec['scope']
    line = spec.get('line')
    where = (' (where nginx reads it: inside %s)' % describe_context(context)) if context and context[0].line else ''
    if len(context) > len(levels):
        raise EditError('scope %s cannot be selected in %s: nginx reads it inside %s' % (
            scope, path, describe_context(context) if context[0].line else 'the http block'))
    for level, stmt in zip(levels, context):
        if stmt.name != level.name:
            raise EditError('scope %s cannot be selected in %s: nginx reads it inside %s'
                            % (scope, path, describe_context(context)))
        if not level.test(stmt):
            raise EditError('no %s%s' % (level.what, where))
    rest = levels[len(context):]
    if not rest:
        if line not in (None, 0) and not (context and line == context[-1].line):
            raise EditError('line %d does not apply: the %s scope of %s is the file itself%s'
                            % (line, scope, path, where))
        return root
    parents = [root]
    for depth, level in enumerate(rest):
        cands = [c for p in parents for c in _children(p, level.name) if level.test(c)]
        if level.name == 'http' and len(cands) > 1:
            raise EditError('more than one http block: %s' % _lines(cands))
        if depth == len(rest) - 1:
            return _pick(cands, level.what, line, path, where)
        if not cands:
            raise EditError('no %s found in %s%s' % (level.what, path, where))
        parents = cands
    raise EditError('nothing to select')  # pragma: no cover - rest is never empty here


# --- the files nginx reads, and where -------------------------------------------

MAX_INCLUDE_SITES = 10000
MAX_TREE_FILE_SIZE = 16 * 1024 * 1024


def _read_config(path):
    """(text, None) or (None, why) for one file of the tree."""
    import stat as stat_mod
    try:
        st = os.stat(path)
        if not stat_mod.S_ISREG(st.st_mode):
            return None, '%s is not a regular file; nginx cannot read it as a config' % path
        if st.st_size > MAX_TREE_FILE_SIZE:
            return None, '%s is larger than %d bytes' % (path, MAX_TREE_FILE_SIZE)
        with open(path, 'rb') as f:
            data = f.read(MAX_TREE_FILE_SIZE + 1)
    except (IOError, OSError) as e:
        return None, 'cannot read %s: %s' % (path, e.strerror or e)
    if b'\x00' in data:
        return None, '%s is a binary file' % path
    return data.decode('latin-1'), None


def read_include_tree(main, conf_prefix=None):
    """Every file nginx reads for the main config main, and inside which blocks.

    Returns (files, problems): files maps the real path of each file to
    {'names': the paths it is included as, 'contexts': one list of
    ContextBlock (outermost first) per place nginx reads it; [] for main};
    problems are the files that could not be read or parsed (what they
    include is unknown).  Follows include the way nginx does: relative to the
    conf prefix (the main file's directory), globs sorted, at the place the
    include stands.
    """
    if conf_prefix is None:
        conf_prefix = os.path.dirname(os.path.abspath(main)) + '/'
    files = {}
    parsed = {}
    problems = []
    sites = [0]

    def load(real, name):
        if real not in parsed:
            text, why = _read_config(name)
            root = None
            if why is None:
                try:
                    root = parse(text, name)[0]
                except EditError as e:
                    why = str(e)
            if why:
                problems.append(why)
            parsed[real] = root
        return parsed[real]

    def add(name, context):
        real = os.path.realpath(name)
        entry = files.setdefault(real, {'names': [], 'contexts': []})
        if name not in entry['names']:
            entry['names'].append(name)
        entry['contexts'].append(context)
        return real

    def walk(block, name, context, stack):
        for child in block.children:
            if child.is_block:
                walk(child, name, context + [ContextBlock(child, name)], stack)
                continue
            if child.name != 'include' or len(child.values) != 1:
                continue
            names, globbed = expand_include(from_text(child.values[0]), conf_prefix)
            for inc in names:
                if globbed and not os.path.exists(inc):
                    continue
                real = os.path.realpath(inc)
                if real in stack:
                    problems.append('include loop at %s:%d (%s)' % (name, child.line, inc))
                    continue
                sites[0] += 1
                if sites[0] > MAX_INCLUDE_SITES:
                    raise EditError('the include tree of %s has more than %d includes; not followed'
                                    % (main, MAX_INCLUDE_SITES))
                add(inc, context)
                root = load(real, inc)
                if root is not None:
                    walk(root, inc, context, stack + (real,))

    real = add(main, [])
    root = load(real, main)
    if root is None:
        raise EditError('cannot read the main nginx config: %s' % problems[-1])
    walk(root, main, [], (real,))
    return files, problems


def tree_file(path, main, conf_prefix=None, tree=None):
    """(real path, contexts) of path in the include tree of main, or EditError when nginx does not read it.

    A symbolic link is followed: nginx reads the file it points at, which is the one to edit."""
    files, problems = tree if tree is not None else read_include_tree(main, conf_prefix)
    real = os.path.realpath(path)
    entry = files.get(real)
    if entry is None:
        note = ''
        if problems:
            note = '; these files could not be read, what they include is unknown: %s' % '; '.join(problems[:5])
        raise EditError('%s is not a file nginx reads: it is not in the include tree of %s%s%s'
                        % (path, main, ' (it resolves to %s)' % real if real != os.path.abspath(path) else '', note))
    return real, entry['contexts']


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


def plan_edit(data, spec, path='<config>', contexts=None):
    """Compute the edit.

    data is the file's bytes; spec holds scope, server_name, listen, location,
    upstream, line, directive, args, block, state, insert.  Returns a dict
    with action (added, replaced, removed, none), line, and after (bytes).
    contexts are the file's include contexts (see read_include_tree); None
    when unknown.  Raises EditError, and then nothing must change.
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
        if len(name) > MAX_NAME:
            raise EditError('invalid directive name %r...: longer than %d characters' % (name[:32], MAX_NAME))
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
    block = select_block(root, spec, path, contexts)
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
    """Write data to path through a temp file in the same directory, with st's owner and mode.

    An OSError names path (the file the caller writes), not the temp file."""
    try:
        _atomic_write(path, data, st)
    except OSError as e:
        if getattr(e, 'filename', None) == path and not getattr(e, 'filename2', None):
            raise
        raise OSError(e.errno, e.strerror or str(e), path)


def _atomic_write(path, data, st):
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
