# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_edit as ne

# Debian's /etc/nginx/sites-available/default (nginx 1.22), comments shortened.
DEBIAN_DEFAULT = b'''##
# You should look at the following URL's in order to grasp a solid understanding
# of Nginx configuration files in order to fully unleash the power of Nginx.
##

# Default server configuration
#
server {
\tlisten 80 default_server;
\tlisten [::]:80 default_server;

\t# SSL configuration
\t#
\t# listen 443 ssl default_server;

\troot /var/www/html;

\t# Add index.php to the list if you are using PHP
\tindex index.html index.htm index.nginx-debian.html;

\tserver_name _;

\tlocation / {
\t\t# First attempt to serve request as file, then
\t\t# as directory, then fall back to displaying a 404.
\t\ttry_files $uri $uri/ =404;
\t}

\t# pass PHP scripts to FastCGI server
\t#
\tlocation ~ \\.php$ {
\t\tinclude snippets/fastcgi-php.conf;
\t#
\t#\t# With php-fpm (or other unix sockets):
\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;
\t}
}
'''

APP = b'''upstream backend {
    server 127.0.0.1:8080 max_fails=3;  # app
    keepalive 16;
}

server {
    listen 80;
    server_name example.com www.example.com;

    location /api/ {
        proxy_pass http://backend;
        proxy_read_timeout 30s;   # slow reports
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;

        location /api/admin/ {
            proxy_read_timeout 5s;
        }
        if ($request_method = POST) {
            proxy_read_timeout 10s;
        }
    }
}

server {
    listen 8080;
    server_name other.example.com;
    location /api/ {
        proxy_pass http://backend;
    }
}
'''

MAIN = b'''user www-data;
worker_processes auto;

events {
\tworker_connections 768;
}

http {
\tsendfile on;
\ttcp_nopush on;

\tinclude /etc/nginx/conf.d/*.conf;
}
'''


def apply(data, **spec):
    return ne.plan_edit(data, spec, '/etc/nginx/test.conf')


def again(result, **spec):
    """The second application must be no change."""
    r2 = apply(result['after'], **spec)
    assert r2['action'] == 'none' and r2['after'] == result['after']


def test_replace_only_the_arguments_keeps_comment_and_indent():
    spec = dict(scope='location', server_name='example.com', location='/api/',
                directive='proxy_read_timeout', args=['120s'])
    r = apply(APP, **spec)
    assert r['action'] == 'replaced' and r['line'] == 12
    assert r['after'] == APP.replace(b'proxy_read_timeout 30s;   # slow reports',
                                     b'proxy_read_timeout 120s;   # slow reports')
    again(r, **spec)


def test_nested_and_if_blocks_do_not_count():
    spec = dict(scope='location', server_name='www.example.com', location=['/api/', '/api/admin/'],
                directive='proxy_read_timeout', args=['60s'])
    r = apply(APP, **spec)
    assert r['after'] == APP.replace(b'proxy_read_timeout 5s;', b'proxy_read_timeout 60s;')
    # the outer location's directive is the one directly in it; the nested ones stay
    r = apply(APP, scope='location', listen='80', location='/api/', directive='proxy_read_timeout',
              state='absent')
    assert r['action'] == 'removed' and r['line'] == 12
    assert r['after'] == APP.replace(b'        proxy_read_timeout 30s;   # slow reports\n', b'')
    assert b'proxy_read_timeout 5s;' in r['after'] and b'proxy_read_timeout 10s;' in r['after']


def test_insert_last_and_first_with_sibling_indent():
    spec = dict(scope='location', listen='8080', location='/api/', directive='proxy_read_timeout', args=['90s'])
    r = apply(APP, **spec)
    assert r['action'] == 'added' and r['line'] == 30
    assert r['after'] == APP.replace(b'        proxy_pass http://backend;\n    }\n}\n',
                                     b'        proxy_pass http://backend;\n        proxy_read_timeout 90s;\n    }\n}\n')
    again(r, **spec)
    r = apply(APP, scope='upstream', upstream='backend', directive='keepalive_timeout', args=['60s'], insert='first')
    assert r['after'] == APP.replace(b'upstream backend {\n', b'upstream backend {\n    keepalive_timeout 60s;\n')
    assert r['line'] == 2


def test_debian_default_site_tabs_and_regex_location():
    spec = dict(scope='location', location='~ \\.php$', directive='fastcgi_read_timeout', args=['300'])
    r = apply(DEBIAN_DEFAULT, **spec)
    assert r['after'] == DEBIAN_DEFAULT.replace(
        b'\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;\n',
        b'\t\tfastcgi_pass unix:/run/php/php8.2-fpm.sock;\n\t\tfastcgi_read_timeout 300;\n')
    again(r, **spec)
    # the modifier may be written attached, as nginx allows
    attached = dict(spec)
    attached['location'] = '~\\.php$'
    assert apply(DEBIAN_DEFAULT, **attached)['after'] == r['after']
    # a server directive at the file's top level (an included file is the http context)
    r = apply(DEBIAN_DEFAULT, scope='server', server_name='_', directive='client_max_body_size', args=['20m'])
    assert r['after'] == DEBIAN_DEFAULT.replace(b'\t}\n}\n', b'\t}\n\tclient_max_body_size 20m;\n}\n')


def test_crlf_line_ends_are_kept():
    crlf = APP.replace(b'\n', b'\r\n')
    spec = dict(scope='location', listen='8080', location='/api/', directive='proxy_read_timeout', args=['90s'])
    r = apply(crlf, **spec)
    assert r['after'] == crlf.replace(b'        proxy_pass http://backend;\r\n    }\r\n}\r\n',
                                      b'        proxy_pass http://backend;\r\n        proxy_read_timeout 90s;'
                                      b'\r\n    }\r\n}\r\n')
    again(r, **spec)
    r = apply(crlf, scope='upstream', upstream='backend', directive='keepalive', state='absent')
    assert r['after'] == crlf.replace(b'    keepalive 16;\r\n', b'')


def test_array_directive_key_identifies_instance():
    base = dict(scope='location', server_name='example.com', location='/api/', directive='proxy_set_header')
    r = apply(APP, args=['Host', '$http_host'], **base)
    assert r['action'] == 'replaced'
    assert r['after'] == APP.replace(b'proxy_set_header Host $host;', b'proxy_set_header Host $http_host;')
    r = apply(APP, args=['X-Forwarded-For', '$proxy_add_x_forwarded_for'], **base)
    assert r['action'] == 'added'
    # added after the last directive (here the if block), before the closing brace
    assert r['after'] == APP.replace(
        b'            proxy_read_timeout 10s;\n        }\n',
        b'            proxy_read_timeout 10s;\n        }\n'
        b'        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n')
    r = apply(APP, args=['Host', '$host'], **base)
    assert r['action'] == 'none' and r['after'] is APP
    r = apply(APP, args=['X-Real-IP'], state='absent', **base)
    assert r['after'] == APP.replace(b'        proxy_set_header X-Real-IP $remote_addr;\n', b'')


def test_quoting_of_arguments():
    spec = dict(scope='server', server_name='other.example.com', directive='add_header',
                args=['Content-Security-Policy', "default-src 'self'; img-src *"])
    r = apply(APP, **spec)
    assert r['after'] == APP.replace(
        b'        proxy_pass http://backend;\n    }\n}\n',
        b'        proxy_pass http://backend;\n    }\n'
        b'    add_header Content-Security-Policy "default-src \'self\'; img-src *";\n}\n')
    again(r, **spec)
    r = apply(APP, scope='server', listen='8080', directive='add_header', args=['X-Q', 'say "hi"', 'always'])
    assert b'add_header X-Q "say \\"hi\\"" always;' in r['after']
    r = apply(APP, scope='server', listen='8080', directive='proxy_set_header', args=['Accept-Encoding', ''])
    assert b'proxy_set_header Accept-Encoding "";' in r['after']
    again(r, scope='server', listen='8080', directive='proxy_set_header', args=['Accept-Encoding', ''])


def test_one_line_blocks_and_several_directives_per_line():
    conf = b'events {}\nhttp {\n    server { listen 81; location / { proxy_pass http://a; proxy_read_timeout 5s; } }\n}\n'
    r = apply(conf, scope='location', location='/', directive='proxy_read_timeout', args=['7s'])
    assert r['after'] == conf.replace(b'proxy_read_timeout 5s;', b'proxy_read_timeout 7s;')
    r = apply(conf, scope='location', location='/', directive='proxy_connect_timeout', args=['3s'])
    assert r['after'] == conf.replace(b'proxy_read_timeout 5s; }', b'proxy_read_timeout 5s; proxy_connect_timeout 3s; }')
    r = apply(conf, scope='location', location='/', directive='proxy_pass', state='absent')
    assert r['after'] == conf.replace(b'proxy_pass http://a; ', b'')
    r = apply(conf, scope='events', directive='worker_connections', args=['1024'])
    assert r['after'] == conf.replace(b'events {}', b'events { worker_connections 1024;}')
    r = apply(conf, scope='main', directive='worker_processes', args=['auto'], insert='first')
    assert r['after'] == b'worker_processes auto;\n' + conf


def test_multi_line_directive_is_replaced_and_removed_whole():
    conf = b'http {\n    log_format main \'$remote_addr\'\n                    \'$status\';\n    sendfile on;\n}\n'
    r = apply(conf, directive='log_format', args=['main', '$remote_addr $status'])
    assert r['after'] == b'http {\n    log_format main "$remote_addr $status";\n    sendfile on;\n}\n'
    r = apply(conf, directive='log_format', args=['main'], state='absent')
    assert r['after'] == b'http {\n    sendfile on;\n}\n'


def test_main_and_events_and_http_scopes():
    r = apply(MAIN, scope='main', directive='worker_rlimit_nofile', args=['65535'])
    assert r['after'] == MAIN + b'worker_rlimit_nofile 65535;\n' and r['line'] == 14
    r = apply(MAIN, scope='main', directive='worker_processes', args=['4'])
    assert r['after'] == MAIN.replace(b'worker_processes auto;', b'worker_processes 4;')
    r = apply(MAIN, scope='events', directive='worker_connections', args=['4096'])
    assert r['after'] == MAIN.replace(b'768', b'4096')
    r = apply(MAIN, scope='http', line=8, directive='proxy_buffer_size', args=['16k'])
    assert r['after'] == MAIN.replace(b'\tinclude /etc/nginx/conf.d/*.conf;\n',
                                      b'\tinclude /etc/nginx/conf.d/*.conf;\n\tproxy_buffer_size 16k;\n')
    assert r['line'] == 13


def test_map_block_insert_idempotent_replace_remove():
    block = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n"
    r = apply(MAIN, block=block)
    assert r['action'] == 'added' and r['line'] == 13
    assert r['after'] == MAIN.replace(
        b'\tinclude /etc/nginx/conf.d/*.conf;\n',
        b"\tinclude /etc/nginx/conf.d/*.conf;\n\tmap $http_upgrade $connection_upgrade {\n"
        b"\t\tdefault upgrade;\n\t\t'' close;\n\t}\n")
    again(r, block=block)
    # the same content written differently is no change
    r2 = apply(r['after'], block="map $http_upgrade $connection_upgrade { default upgrade; '' close; }")
    assert r2['action'] == 'none'
    r3 = apply(r['after'], block="map $http_upgrade $connection_upgrade { default upgrade; '' '';}")
    assert r3['action'] == 'replaced'
    assert r3['after'] == MAIN.replace(
        b'\tinclude /etc/nginx/conf.d/*.conf;\n',
        b"\tinclude /etc/nginx/conf.d/*.conf;\n\tmap $http_upgrade $connection_upgrade { default upgrade; '' '';}\n")
    r4 = apply(r['after'], block=block, state='absent')
    assert r4['after'] == MAIN


def test_line_disambiguates_and_is_checked():
    r = apply(APP, scope='location', location='/api/', directive='proxy_read_timeout', args=['1s'], line=28)
    assert r['action'] == 'added'
    with pytest.raises(ne.EditError) as e:
        apply(APP, scope='location', location='/api/', directive='proxy_read_timeout', args=['1s'])
    assert str(e.value) == ('2 blocks match location /api/ in server block in /etc/nginx/test.conf: '
                            'line 10 (location /api/), line 28 (location /api/); set line to choose one')
    with pytest.raises(ne.EditError) as e:
        apply(APP, scope='server', server_name='example.com', directive='a', args=['1'], line=25)
    assert str(e.value) == ('no server block with server_name example.com starts at /etc/nginx/test.conf:25; '
                            'candidates: line 6 (server)')


@pytest.mark.parametrize('spec, message', [
    (dict(scope='server', server_name='nope.example', directive='a', args=['1']),
     'no server block with server_name nope.example found in /etc/nginx/test.conf'),
    (dict(scope='upstream', upstream='nope', directive='a', args=['1']),
     'no upstream nope found in /etc/nginx/test.conf'),
    (dict(scope='server', directive='proxy_read_timeout; evil', args=['1']),
     "invalid directive name 'proxy_read_timeout; evil': only letters, digits and _ are allowed"),
    (dict(scope='server', listen='80', directive='proxy read timeout', args=['1']),
     "invalid directive name 'proxy read timeout': only letters, digits and _ are allowed"),
    (dict(scope='server', listen='80', directive='a' * 5000, args=['1']),
     "invalid directive name '%s'...: longer than 128 characters" % ('a' * 32)),
    (dict(scope='server', listen='80', directive='proxy_read_timeout', args=['1s;\n}\nserver {']),
     "argument '1s;\\n}\\nserver {' contains a newline or control character"),
    (dict(scope='server', listen='80', directive='proxy_read_timeout', args=['1\r']),
     "argument '1\\r' contains a newline or control character"),
    (dict(scope='server', listen='80', directive='proxy_read_timeout'),
     'args is required with state=present'),
    (dict(scope='location', listen='80', directive='x', args=['1']), 'scope location needs location'),
    (dict(scope='location', listen='80', location='/api/', directive='proxy_set_header', args=['Host', 'a'],
          insert='middle'), 'insert must be first or last'),
    (dict(scope='server', block='map $a $b { default 1; } map $c $d { }'),
     'block must hold exactly one block statement such as "map $a $b { ... }"; got 2 statement(s)'),
    (dict(scope='server', block='map $a $b { default 1;'),
     'block:1: unexpected end of file, expecting "}"'),  # nginx's message and line
    (dict(scope='server', block='sendfile on;'),
     'block must hold exactly one block statement such as "map $a $b { ... }"; got 1 statement(s)'),
])
def test_refusals(spec, message):
    with pytest.raises(ne.EditError) as e:
        apply(APP, **spec)
    assert str(e.value) == message


def test_refusals_of_unsafe_existing_text():
    dup = b'server {\n    listen 80;\n    proxy_read_timeout 1s;\n    proxy_read_timeout 2s;\n}\n'
    with pytest.raises(ne.EditError) as e:
        apply(dup, scope='server', directive='proxy_read_timeout', args=['3s'])
    assert str(e.value) == ('proxy_read_timeout is set 2 times in this block (line 3 (proxy_read_timeout 1s), '
                            'line 4 (proxy_read_timeout 2s)); refusing to guess which one to change')
    # absent removes every instance
    assert apply(dup, scope='server', directive='proxy_read_timeout', state='absent')['after'] == \
        b'server {\n    listen 80;\n}\n'
    inner = b'server {\n    listen 80;\n    proxy_read_timeout # old\n        1s;\n}\n'
    with pytest.raises(ne.EditError) as e:
        apply(inner, scope='server', directive='proxy_read_timeout', args=['3s'])
    assert str(e.value) == ('/etc/nginx/test.conf:3: proxy_read_timeout has a comment between its arguments; '
                            'refusing to edit it')
    for broken, msg in ((b'server {\n    listen 80;\n', 'unexpected end of file'),
                        # nginx reads an unclosed quote to the end of the file
                        (b'server { listen "80; }\n', 'test.conf:2: unexpected end of file, expecting ";" or "}"'),
                        (b'}\n', 'unexpected "}"'),
                        (b'a\x00b;', 'binary file')):
        with pytest.raises(ne.EditError) as e:
            apply(broken, scope='server', directive='x', args=['1'])
        assert msg in str(e.value)
    two_http = b'http { }\nhttp { }\n'
    with pytest.raises(ne.EditError) as e:
        apply(two_http, directive='x', args=['1'])
    assert str(e.value) == 'more than one http block: line 1 (http), line 2 (http)'


def test_lua_blocks_are_refused():
    conf = b'server {\n    location / {\n        content_by_lua_block { ngx.say("}") }\n    }\n}\n'
    with pytest.raises(ne.EditError) as e:
        apply(conf, scope='location', location='/', directive='x', args=['1'])
    assert str(e.value) == ('/etc/nginx/test.conf:3: content_by_lua_block holds code, not directives; '
                            'files with such blocks are not edited')


def test_first_after_brace_with_comment_and_empty_blocks():
    conf = b'server { # main site\n\tlisten 80;\n\tlocation /x {\n\t}\n}\n'
    r = apply(conf, scope='server', directive='server_tokens', args=['off'], insert='first')
    assert r['after'] == b'server { # main site\n\tserver_tokens off;\n\tlisten 80;\n\tlocation /x {\n\t}\n}\n'
    assert r['line'] == 2
    again(r, scope='server', directive='server_tokens', args=['off'])
    r = apply(conf, scope='location', location='/x', directive='proxy_read_timeout', args=['9s'])
    assert r['after'] == conf.replace(b'/x {\n', b'/x {\n\t\tproxy_read_timeout 9s;\n')
    # a directive without arguments gets its arguments after the name
    r = apply(b'http {\n    gzip_vary;\n}\n', directive='gzip_vary', args=['on'])
    assert r['after'] == b'http {\n    gzip_vary on;\n}\n'


def test_lexer_offsets_and_values():
    text = 'set $a "x;y" ;# c\nif ($x ~ ${host}a) { return 502; }\nx a\\"b \'q\\\'\';'
    toks = ne.tokenize(text)
    for t in toks:
        assert text[t.start:t.end] == t.raw
    assert [t.value for t in toks if t.kind in ('word', 'quoted')] == [
        'set', '$a', 'x;y', 'if', '($x', '~', '${host}a)', 'return', '502', 'x', 'a"b', "q'"]
    assert [t.line for t in toks if t.kind == 'comment'] == [1]


@pytest.mark.parametrize('value', ['plain', '$host', 'a b', 'a"b', "it's", '', 'x;y', '{', '}', '#x',
                                   '\\.php$', 'back\\', 'a\\nb', '${var}x', 'ünï'])
def test_quote_arg_round_trips(value):
    v = ne.to_text(value)
    text = ne.render_statement('add_header', ['X', v])
    root, dummy = ne.parse(text)
    assert root.children[0].values == ['X', v]


def test_untouched_bytes_identical_and_non_utf8_kept():
    data = APP.replace(b'# app', b'# caf\xe9')
    r = apply(data, scope='upstream', upstream='backend', directive='keepalive', args=['32'])
    assert r['after'] == data.replace(b'keepalive 16;', b'keepalive 32;')
    assert b'caf\xe9' in r['after']


def test_atomic_write_keeps_mode(tmp_path):
    p = tmp_path / 'a.conf'
    p.write_bytes(b'old')
    os.chmod(str(p), 0o640)
    st = os.stat(str(p))
    ne.atomic_write(str(p), b'new', st)
    assert p.read_bytes() == b'new'
    st2 = os.stat(str(p))
    assert stat.S_IMODE(st2.st_mode) == 0o640 and (st2.st_uid, st2.st_gid) == (st.st_uid, st.st_gid)
    assert os.listdir(str(tmp_path)) == ['a.conf']


def _blocks(block):
    for c in block.children:
        if c.is_block:
            yield c
            yield from _blocks(c)


@pytest.mark.parametrize('data', [APP, DEBIAN_DEFAULT, MAIN, APP.replace(b'\n', b'\r\n')])
def test_removing_any_directive_keeps_the_rest(data):
    """Property: removing any directive leaves a parsable file, the bytes around its lines identical."""
    root, dummy = ne.parse(data.decode('latin-1'))
    count = 0
    for block in [root] + list(_blocks(root)):
        for c in block.children:
            if c.is_block or not c.args:
                continue
            text = data.decode('latin-1')
            count += 1
            out = ne.remove_stmt(text, c)
            ne.parse(out)
            assert out.startswith(text[:c.start - len(ne.indent_of(text, c.start) or '')])
            assert out.endswith(text[c.end:].split('\n', 1)[-1] if '\n' in text[c.end:] else '')
    assert count > 5


def test_a_block_follows_the_tab_indentation_of_the_file():
    data = b'http {\n\tinclude mime.types;\n}\n'
    spec = {'scope': 'http', 'block': "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}"}
    r = ne.plan_edit(data, spec)
    assert r['after'] == (b"http {\n\tinclude mime.types;\n\tmap $http_upgrade $connection_upgrade {\n\t\tdefault upgrade;\n"
                          b"\t\t'' close;\n\t}\n}\n")
    assert ne.plan_edit(r['after'], spec)['action'] == 'none'
