# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one tokenizer: nginx's ngx_conf_read_token rules, errors with nginx's message and line.

The expected (line, message) pairs were recorded from nginx 1.22.1 (``nginx -t``) on the same
text after a three-line head (pid, error_log, events); tests/local/test_realworld_configs.py
checks them against the real nginx again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_syntax as syn

HEAD = 'pid /tmp/x/nginx.pid;\nerror_log /tmp/x/err.log;\nevents {}\n'

# (text after HEAD, nginx's line, nginx's message); None: nginx finds no syntax error
RECORDED = [
    ('http {\n  server {\n    listen 80;\n', 7, 'unexpected end of file, expecting "}"'),
    ('http {\n  server {\n    listen 80;\n  }\n}\n}\n', 9, 'unexpected "}"'),
    ('http {\n  listen 80\n}\n', 6, 'unexpected "}"'),
    ('worker_processes 2', 4, 'unexpected end of file, expecting ";" or "}"'),
    ('worker_processes 2\n', 5, 'unexpected end of file, expecting ";" or "}"'),
    ('http { add_header X "open;\n}\n', 6, 'unexpected end of file, expecting ";" or "}"'),
    ('http { add_header X "a"b; }\n', 4, 'unexpected "b"'),
    ('http { add_header X "a"}\n', 4, 'unexpected "}"'),
    ('http { add_header X "a"#c\n; }\n', 4, 'unexpected "#"'),
    (';\n', 4, 'unexpected ";"'),
    ('http {\n {\n}\n', 5, 'unexpected "{"'),
    ('http { server { location / { return 200 a}b; } } }\n', None, None),
    ('http { server { location / { return 200 a}b; } }\n', 5, 'unexpected end of file, expecting "}"'),
    ('# ' + 'x' * 4093 + '\n', None, None),
    ('# ' + 'x' * 4094 + '\n', 4, 'too long parameter "# xxxxxxxx..." started'),
    ('http { add_header X "' + 'x' * 4095 + '"; }\n', 4, 'too long parameter "xxxxxxxxxx..." started'),
    ('http { add_header X "' + 'x' * 4096 + '"; }\n', 4, 'too long parameter, probably missing terminating """ character'),
    ('http { add_header X ' + 'x' * 4095 + '; }\n', None, None),
    ('http { add_header X ' + 'x' * 4096 + '; }\n', 4, 'too long parameter "xxxxxxxxxx..." started'),
    ('http { add_header X "' + 'x' * 5000 + '\n', 4, 'too long parameter, probably missing terminating """ character'),
    ('http { add_header X "' + 'x' * 4094 + '" ; }\n', 4, 'too long parameter "xxxxxxxxxx..." started'),
    ('http { add_header X "' + 'x' * 4094 + '"; }\n', None, None),
    ('http { add_header X "' + 'x' * 4093 + '" ; }\n', None, None),
    ("http { add_header X 'a''b'; }\n", 4, 'unexpected "\'"'),
    ('http { map $a ${b {\n default 1; }\n', 6, 'unexpected end of file, expecting "}"'),
    ('http { add_header X "a\\"b" ; }\n}', 5, 'unexpected "}"'),
    ('http { add_header X a\\;b; }\n}', 5, 'unexpected "}"'),
    ('http { add_header X a#b; }\n}', 5, 'unexpected "}"'),
    ('http {\r\n server {\r\n', 6, 'unexpected end of file, expecting "}"'),
]


@pytest.mark.parametrize('text, line, message', RECORDED, ids=[repr(c[0][:30]) for c in RECORDED])
def test_errors_at_nginx_line_with_nginx_message(text, line, message):
    dummy, dummy, problem = syn.parse(HEAD + text)
    if line is None:
        assert problem is None
    else:
        assert (problem.line, problem.message) == (line, message)


def values(text):
    root, dummy, problem = syn.parse(text)
    assert problem is None, problem
    return [[s.name] + s.values for s in syn.walk(root)]


def test_words_as_nginx_reads_them():
    # "}" does not end a word, "${" opens no block, "#" and quotes inside a word are characters
    assert values('return 200 a}b;') == [['return', '200', 'a}b']]
    assert values('set $a ${b}c;') == [['set', '$a', '${b}c']]
    assert values('add_header X a#b"c\'d;') == [['add_header', 'X', 'a#b"c\'d']]
    # only space, tab, CR and LF separate words: a form feed is part of one
    assert values('a b\x0cc;') == [['a', 'b\x0cc']]
    # ")" may follow a closing quote and starts the next word
    assert values('if ($a = "b") { return 404; }') == [['if', '($a', '=', 'b', ')'], ['return', '404']]
    # escapes: \" \' \\ \t \r \n become the character, any other stays as written
    assert values('x "a\\"b" \'c\\\'d\' e\\\\f g\\th \\.php\\$;') == [['x', 'a"b', "c'd", 'e\\f', 'g\th', '\\.php\\$']]
    # a backslash takes the next character, even ";" or a newline, into the word
    assert values('x a\\;b c\\\nd;') == [['x', 'a\\;b', 'c\\\nd']]


def test_tokens_carry_offsets_lines_and_quoting():
    text = 'a "b c" ;# x\n\'d\'\n{ }'
    toks, problem = syn.tokenize(text)
    assert problem is None
    assert [(t.kind, t.raw, t.value, t.line, t.quoted) for t in toks] == [
        ('word', 'a', 'a', 1, False), ('quoted', '"b c"', 'b c', 1, True), (';', ';', ';', 1, False),
        ('comment', '# x', None, 1, False), ('quoted', "'d'", 'd', 2, True), ('{', '{', '{', 3, False),
        ('}', '}', '}', 3, False)]
    assert all(text[t.start:t.end] == t.raw for t in toks)


def test_recovery_keeps_what_parsed_and_closes_open_blocks_at_the_end():
    text = 'http {\n  server {\n    listen 80;\n    location / {\n      proxy_pass http://a;\n'
    root, dummy, problem = syn.parse(text)
    assert (problem.line, problem.message) == (6, 'unexpected end of file, expecting "}"')
    http = root.children[0]
    server = http.children[0]
    assert [c.name for c in server.children] == ['listen', 'location']
    assert server.children[1].children[0].values == ['http://a']
    assert http.close is None and http.end == len(text)
    # an error in the middle stops there, as nginx does
    root, dummy, problem = syn.parse('a 1;\n}\nb 2;\n')
    assert [c.name for c in root.children] == ['a'] and (problem.line, problem.message) == (2, 'unexpected "}"')
