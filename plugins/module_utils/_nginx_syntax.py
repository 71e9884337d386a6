# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
# PRIVATE: this module is internal to badgateway.nginx; its API may change without notice.
"""nginx's configuration syntax, read the way nginx itself reads it.

The one tokenizer and statement parser of the collection: the facts
(module_utils/_nginx_facts), the include finder on the node
(_nginx_cli.include_statements) and the byte-exact editor (_nginx_edit)
all use it.  Standard library only, so it runs on the node too.

The rules are those of ``ngx_conf_read_token()`` and ``ngx_conf_parse()``
in nginx's src/core/ngx_conf_file.c:

- only space, tab, CR and LF separate words; ``;`` and ``{`` end a word,
  ``}`` does not (``return 200 a}b;`` has the one argument ``a}b``);
- ``{`` right after ``$`` belongs to the word (``${var}``), so it opens no block;
- ``#`` starts a comment, and a quote a quoted word, only where a word starts;
- after a closing quote only whitespace, ``;``, ``{`` or ``)`` may follow;
- a backslash takes the next character into the word; in the value
  ``\\"`` ``\\'`` ``\\\\`` become the character, ``\\t`` ``\\r`` ``\\n`` tab, CR, LF,
  any other ``\\x`` stays as it is;
- a word (or comment) of 4096 bytes or more is "too long" (NGX_CONF_BUFFER);
- errors carry nginx's own message and line; nginx counts LF, and an error
  at the end of the file is reported at the line count there, so a file that
  ends with a newline reports one more than its last line.

Text is a str; a consumer that needs byte offsets (_nginx_edit) passes the
bytes decoded as latin-1, where every character is one byte.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NGX_CONF_BUFFER = 4096

# One match per token, the whitespace before it skipped.  The word's first
# character excludes what nginx treats specially at a token start.
_SCAN = re.compile(r'''
    [ \t\r\n]*
    (?:
      (?P<word>(?:[^ \t\r\n;{}\#"'\\$]|\\[\s\S]?|\$\{*)(?:[^ \t\r\n;{\\$]+|\\[\s\S]?|\$\{*)*)
    | (?P<comment>\#[^\n]*)
    | (?P<punct>[;{}])
    | "(?P<dq>(?:[^"\\]|\\[\s\S])*)"
    | '(?P<sq>(?:[^'\\]|\\[\s\S])*)'
    | (?P<open>["'])
    )''', re.X)
_AFTER_QUOTE = frozenset(' \t\r\n;{)')
_ESCAPE = re.compile(r'\\(["\'\\tnr])')
_ESCAPED = {'"': '"', "'": "'", '\\': '\\', 't': '\t', 'r': '\r', 'n': '\n'}


def _escaped(m):
    return _ESCAPED[m.group(1)]


def unescape(raw):
    """What nginx makes of a word's characters (the copy loop of ngx_conf_read_token)."""
    if '\\' not in raw:
        return raw
    return _ESCAPE.sub(_escaped, raw)


class Token(object):
    """One token: kind is word, quoted, comment, ';', '{' or '}'.

    start/end are offsets in the text (raw == text[start:end], quotes
    included), line is nginx's line of its first character, value what nginx
    makes of it (quotes removed, escapes resolved)."""
    __slots__ = ('kind', 'start', 'end', 'line', 'raw', 'value')

    def __init__(self, kind, start, end, line, raw, value):
        self.kind = kind
        self.start = start
        self.end = end
        self.line = line
        self.raw = raw
        self.value = value

    @property
    def quoted(self):
        return self.kind == 'quoted'

    def __repr__(self):
        return 'Token(%s, %r, line %d)' % (self.kind, self.raw, self.line)


class SyntaxProblem(object):
    """A syntax error as nginx reports it: line and message (without the file)."""
    __slots__ = ('line', 'message')

    def __init__(self, line, message):
        self.line = line
        self.message = message

    def __repr__(self):
        return 'SyntaxProblem(%d, %r)' % (self.line, self.message)


def _too_long(text, begin, content, line, quote):
    if quote:
        return SyntaxProblem(line, 'too long parameter, probably missing terminating "%s" character' % quote)
    return SyntaxProblem(line, 'too long parameter "%s..." started' % text[begin:begin + 10])


def _overflows(length, end, n):
    """Whether a token of length characters, ending at end (n: end of text), overflows nginx's buffer.

    nginx holds a token from its first character in a buffer of
    NGX_CONF_BUFFER bytes and needs the character that ends it there too;
    a token that runs to the end of the file only needs to fit."""
    return length > NGX_CONF_BUFFER or (length == NGX_CONF_BUFFER and end < n)


def _quoted_overflows(text, length, end, n):
    """Whether a quoted word with length characters inside its quotes (the closing one at end - 1) overflows.

    The buffer must hold the content, the closing quote and, when blank
    follows, that blank too (nginx moves the token's start on only at the
    character after it)."""
    if end - length - 1 + NGX_CONF_BUFFER >= n:
        return False  # the rest of the file fits: nginx gets to the end of it
    if length >= NGX_CONF_BUFFER - 1:
        return True
    return length == NGX_CONF_BUFFER - 2 and text[end] in ' \t\r\n'


def tokenize(text):
    """(tokens, problem): every token up to the first lexical error, and that error or None.

    Lexical errors are those ngx_conf_read_token finds on its own: a
    character glued to a closing quote, a word too long for nginx's buffer.
    A quote that never closes reads to the end of the file, as in nginx."""
    toks = []
    append = toks.append
    n = len(text)
    pos = 0
    line = 1
    last = 0
    match = _SCAN.match
    count = text.count
    while True:
        m = match(text, pos)
        if m is None:
            break  # only whitespace is left
        kind = m.lastgroup
        start = m.start(kind)
        line += count('\n', last, start)
        last = start
        end = m.end()
        if kind == 'word':
            raw = m.group(kind)
            if _overflows(end - start, end, n):
                return toks, _too_long(text, start, raw, line, None)
            append(Token('word', start, end, line, raw, unescape(raw) if '\\' in raw else raw))
        elif kind == 'punct':
            raw = m.group(kind)
            append(Token(raw, start, end, line, raw, raw))
        elif kind == 'comment':
            if _overflows(end - start, end, n):
                return toks, _too_long(text, start, None, line, None)
            append(Token('comment', start, end, line, m.group(kind), None))
        elif kind == 'open':
            # nginx reads on to the end of the file looking for the quote
            if _overflows(n - start - 1, n, n):
                return toks, _too_long(text, start + 1, None, line, text[start])
            append(Token('word', start, n, line, text[start:], text[start + 1:]))
            break
        else:
            inner = m.group(kind)
            if _quoted_overflows(text, len(inner), end, n):
                # still inside the quotes when the buffer ran out, or just past them
                return toks, _too_long(text, start, inner, line,
                                       text[start - 1] if len(inner) >= NGX_CONF_BUFFER else None)
            start -= 1  # the opening quote
            append(Token('quoted', start, end, line, text[start:end], unescape(inner) if '\\' in inner else inner))
            if end < n and text[end] not in _AFTER_QUOTE:
                return toks, SyntaxProblem(line + count('\n', start, end), 'unexpected "%s"' % text[end])
        pos = end
    return toks, None


def eof_line(text):
    """nginx's line at the end of the text: one more than the number of LFs."""
    return text.count('\n') + 1


class Stmt(object):
    """One directive: its word tokens, the comments between them and, for a block, its children."""
    __slots__ = ('words', 'comments', 'name', 'start', 'line', 'end', 'term', 'close', 'children')

    def __init__(self, words, comments):
        self.words = words
        self.comments = comments    # comment tokens inside the statement
        self.name = words[0].value
        self.start = words[0].start
        self.line = words[0].line
        self.end = None
        self.term = None            # the ';' or '{' token
        self.close = None           # the '}' of a block (None: not closed before the error)
        self.children = None

    @property
    def args(self):
        return self.words[1:]

    @property
    def values(self):
        return [t.value for t in self.words[1:]]

    @property
    def is_block(self):
        return self.children is not None

    def describe(self):
        return ' '.join([self.name] + [t.raw for t in self.words[1:]])


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


def parse(text):
    """(root, tokens, problem): the statement tree of one file and nginx's first syntax error in it.

    Parsing stops at the first error, as nginx does; the tree holds every
    statement before it, blocks still open there left open (their close is
    None and end is the end of the text)."""
    toks, problem = tokenize(text)
    root = Root()
    stack = [root]
    children = root.children
    words, comments = [], []
    for t in toks:
        kind = t.kind
        if kind == 'word' or kind == 'quoted':
            words.append(t)
            continue
        if kind == 'comment':
            if words:
                comments.append(t)
            continue
        if kind == ';':
            if not words:
                problem = SyntaxProblem(t.line, 'unexpected ";"')
                break
            s = Stmt(words, comments)
            s.term, s.end = t, t.end
            children.append(s)
        elif kind == '{':
            if not words:
                problem = SyntaxProblem(t.line, 'unexpected "{"')
                break
            s = Stmt(words, comments)
            s.term = t
            s.children = []
            children.append(s)
            stack.append(s)
            children = s.children
        else:
            if words or len(stack) == 1:
                problem = SyntaxProblem(t.line, 'unexpected "}"')
                break
            s = stack.pop()
            s.close, s.end = t, t.end
            children = stack[-1].children
        words, comments = [], []
    else:
        if problem is None:
            if words:
                problem = SyntaxProblem(eof_line(text), 'unexpected end of file, expecting ";" or "}"')
            elif len(stack) > 1:
                problem = SyntaxProblem(eof_line(text), 'unexpected end of file, expecting "}"')
    for s in stack[1:]:
        s.end = len(text)
    return root, toks, problem


def walk(block):
    """Every statement under block, depth first in file order."""
    for s in block.children:
        yield s
        if s.children:
            yield from walk(s)
