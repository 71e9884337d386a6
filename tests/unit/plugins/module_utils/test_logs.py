# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as nl

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'logs')

TRAIL = ', client: 10.0.0.9, server: shop.lab, request: "GET /api/x?token=abc HTTP/1.1", upstream: "{up}", host: "shop.lab"'
PREFIX = '2026/11/22 08:34:43 [error] 949#949: *7 '


def ngx(message, up='http://10.88.0.5:8080/api/x?token=abc', level='error'):
    return '2026/11/22 08:34:43 [%s] 949#949: *7 %s%s' % (level, message, TRAIL.format(up=up))


def fixture_lines(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read().splitlines()


# ---------------------------------------------------------------------------
# classify_error_line: every kind
# ---------------------------------------------------------------------------

FPM_SOCK = 'fastcgi://unix:/run/php/php8.2-fpm.sock:'

NGINX_CASES = [
    # (line, kind, catalog, expected fields)
    (PREFIX + 'connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.9, server: shop.lab, '
     'request: "GET /api/x?token=abc HTTP/1.1", upstream: "http://10.88.0.5:8080/api/x?token=abc", host: "shop.lab"',
     'connect_refused', 'upstream_down',
     {'errno': 111, 'errtext': 'Connection refused', 'peer': '10.88.0.5:8080', 'upstream_addr': 'http://10.88.0.5:8080',
      'phase': 'connecting to upstream', 'server': 'shop.lab', 'host': 'shop.lab', 'client': '10.0.0.9'}),
    (ngx('connect() to unix:/run/php/php7.4-fpm.sock failed (2: No such file or directory) while connecting to upstream',
         up='fastcgi://unix:/run/php/php7.4-fpm.sock:', level='crit'),
     'socket_missing', 'upstream_down', {'socket': '/run/php/php7.4-fpm.sock', 'errno': 2, 'level': 'crit',
                                         'peer': 'unix:/run/php/php7.4-fpm.sock'}),
    (ngx('connect() to unix:/run/php/php8.2-fpm.sock failed (111: Connection refused) while connecting to upstream', up=FPM_SOCK),
     'socket_refused', 'upstream_down', {'socket': '/run/php/php8.2-fpm.sock', 'errno': 111}),
    (ngx('connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream', up=FPM_SOCK, level='crit'),
     'socket_permission', 'socket_permission', {'socket': '/run/php/php8.2-fpm.sock', 'errno': 13}),
    (ngx('connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream', up=FPM_SOCK),
     'socket_eagain', 'pool_exhausted', {'socket': '/run/php/php8.2-fpm.sock', 'errno': 11}),
    (ngx('upstream timed out (110: Connection timed out) while connecting to upstream', up='http://10.0.0.7:7080/'),
     'connect_timeout', 'firewall_block', {'errno': 110, 'phase': 'connecting to upstream', 'peer': '10.0.0.7:7080'}),
    (ngx('connect() failed (113: No route to host) while connecting to upstream', up='http://10.0.0.7:7080/'),
     'connect_no_route', 'firewall_block', {'errno': 113, 'errtext': 'No route to host'}),
    (ngx('connect() failed (101: Network is unreachable) while connecting to upstream'),
     'connect_unreachable', 'firewall_block', {'errno': 101}),
    (ngx('upstream timed out (110: Connection timed out) while reading response header from upstream'),
     'read_timeout', 'upstream_timeout', {'phase': 'reading response header from upstream', 'errno': 110}),
    (ngx('upstream timed out (110: Connection timed out) while reading upstream'),
     'read_timeout', 'upstream_timeout', {'phase': 'reading upstream'}),
    (ngx('upstream timed out (110: Connection timed out) while sending request to upstream'),
     'read_timeout', 'upstream_timeout', {'phase': 'sending request to upstream'}),
    (ngx('upstream prematurely closed connection while reading response header from upstream'),
     'premature_close', 'backend_crash', {'errno': None}),
    (ngx('upstream prematurely closed FastCGI stdout while reading response header from upstream', up=FPM_SOCK),
     'premature_close', 'backend_crash', {'socket': '/run/php/php8.2-fpm.sock'}),
    (ngx('upstream prematurely closed connection while reading upstream'),
     'premature_close', 'backend_crash', {'phase': 'reading upstream'}),
    (ngx('recv() failed (104: Connection reset by peer) while reading response header from upstream'),
     'reset', 'backend_crash', {'errno': 104}),
    (ngx('readv() failed (104: Connection reset by peer) while reading upstream'),
     'reset', 'backend_crash', {'errno': 104}),
    (ngx('writev() failed (32: Broken pipe) while sending request to upstream'),
     'reset', 'backend_crash', {'errno': 32, 'errtext': 'Broken pipe'}),
    (ngx('send() failed (104: Connection reset by peer) while sending request to upstream'),
     'reset', 'backend_crash', {'errno': 104}),
    (ngx('upstream sent too big header while reading response header from upstream'),
     'too_big_header', 'header_too_big', {}),
    (ngx('upstream sent invalid header: "X-Bad\\x01..." while reading response header from upstream'),
     'invalid_header', 'protocol_mismatch', {}),
    (ngx('upstream sent invalid status "abc" while reading response header from upstream', up='fastcgi://127.0.0.1:9000'),
     'invalid_header', 'protocol_mismatch', {'peer': '127.0.0.1:9000', 'upstream_addr': 'fastcgi://127.0.0.1:9000'}),
    (ngx('upstream sent no valid HTTP/1.0 header while reading response header from upstream'),
     'no_valid_http', 'protocol_mismatch', {}),
    (ngx('SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream',
         up='https://10.88.0.5:8080/api/x?token=abc'),
     'ssl_handshake', 'protocol_mismatch', {'errno': None, 'phase': 'SSL handshaking to upstream'}),
    (ngx('SSL_do_handshake() failed (SSL: error:1408F10B:SSL routines:ssl3_get_record:wrong version number) '
         'while SSL handshaking to upstream'),
     'ssl_handshake', 'protocol_mismatch', {}),
    (ngx('peer closed connection in SSL handshake (104: Connection reset by peer) while SSL handshaking to upstream'),
     'ssl_handshake', 'protocol_mismatch', {'errno': 104}),
    (ngx('upstream sent unexpected FastCGI record: 3 while reading response header from upstream', up=FPM_SOCK),
     'fastcgi_record', 'protocol_mismatch', {}),
    (ngx('upstream sent unsupported FastCGI protocol version: 72 while reading response header from upstream',
         up='fastcgi://127.0.0.1:8080'),
     'fastcgi_record', 'protocol_mismatch', {}),
    (ngx('no live upstreams while connecting to upstream', up='http://backend/api/x?token=abc'),
     'no_live_upstreams', 'no_live_upstreams', {'peer': 'backend', 'upstream_addr': 'http://backend'}),
    (PREFIX + 'no resolver defined to resolve api.internal, client: 10.0.0.9, server: shop.lab, request: "GET / HTTP/1.1", host: "shop.lab"',
     'no_resolver', 'dns_failure', {'name': 'api.internal', 'upstream': None, 'peer': None}),
    (PREFIX + 'api.internal could not be resolved (3: Host not found), client: 10.0.0.9, server: shop.lab, request: "GET / HTTP/1.1"',
     'resolve_failed', 'dns_failure', {'name': 'api.internal', 'errno': 3, 'errtext': 'Host not found', 'host': None}),
    (PREFIX + 'api.internal could not be resolved (2: Server failure), client: 10.0.0.9, server: shop.lab',
     'resolve_failed', 'dns_failure', {'name': 'api.internal', 'errno': 2, 'request': None}),
    (PREFIX + 'api.internal could not be resolved (110: Operation timed out), client: 10.0.0.9, server: shop.lab',
     'resolve_failed', 'dns_failure', {'name': 'api.internal', 'errno': 110}),
    ('2026/11/22 08:34:43 [error] 949#949: send() failed (111: Connection refused) while resolving, resolver: 127.0.0.53:53',
     'resolve_failed', 'dns_failure', {'resolver': '127.0.0.53:53', 'phase': 'resolving', 'connection': None, 'client': None}),
    ('2026/11/22 08:17:43 [emerg] 4435#4435: host not found in upstream "backend.internal:8080" in /etc/nginx/conf.d/app.conf:4',
     'host_not_found', 'dns_failure', {'name': 'backend.internal', 'level': 'emerg', 'connection': None}),
    ('nginx: [emerg] host not found in upstream "app.lab" in /etc/nginx/sites-enabled/app:12',
     'host_not_found', 'dns_failure', {'name': 'app.lab', 'time': None, 'epoch': None, 'pid': None}),
    (ngx('socket() failed (24: Too many open files) while connecting to upstream', level='alert'),
     'too_many_open_files', 'resource_limits', {'errno': 24}),
    ('2026/11/22 08:34:43 [crit] 949#949: accept4() failed (24: Too many open files)',
     'too_many_open_files', 'resource_limits', {'errno': 24, 'client': None, 'message': 'accept4() failed (24: Too many open files)'}),
    (PREFIX + 'open() "/var/www/shop/index.html" failed (24: Too many open files), client: 10.0.0.9, server: shop.lab',
     'too_many_open_files', 'resource_limits', {'errno': 24}),
    ('2026/11/22 08:34:43 [alert] 949#949: 768 worker_connections are not enough',
     'worker_connections', 'resource_limits', {'value': 768}),
    (ngx('1024 worker_connections are not enough while connecting to upstream', level='alert'),
     'worker_connections', 'resource_limits', {'value': 1024}),
    (ngx('connect() failed (99: Cannot assign requested address) while connecting to upstream', level='crit'),
     'cannot_assign', 'resource_limits', {'errno': 99}),
    (ngx('bind(10.99.99.99) failed (99: Cannot assign requested address) while connecting to upstream', level='crit'),
     'cannot_assign', 'resource_limits', {'address': '10.99.99.99'}),
    (ngx('FastCGI sent in stderr: "Primary script unknown" while reading response header from upstream', up=FPM_SOCK),
     'fastcgi_stderr', None, {}),
    (ngx('FastCGI sent in stderr: "Unable to open primary script: /var/www/x.php (No such file or directory)" '
         'while reading response header from upstream', up=FPM_SOCK),
     'fastcgi_stderr', None, {}),
    (ngx('FastCGI sent in stderr: "PHP message: PHP Warning:  Undefined variable $x in /var/www/a.php on line 3" '
         'while reading response header from upstream', up=FPM_SOCK),
     'fastcgi_stderr', None, {}),
    (ngx('FastCGI sent in stderr: "PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted '
         '(tried to allocate 20480 bytes) in /var/www/shop/cart.php on line 88" while reading response header from upstream', up=FPM_SOCK),
     'php_memory', 'backend_crash', {'value': 134217728, 'errno': None}),
    # other platforms and texts
    (ngx('kevent() reported that connect() failed (61: Connection refused) while connecting to upstream'),
     'connect_refused', 'upstream_down', {'errno': 61}),
    (ngx('connect() to 10.1.2.3:8080 failed (101: Network is unreachable) while connecting to upstream', up='http://10.1.2.3:8080/x'),
     'connect_unreachable', 'firewall_block', {'address': '10.1.2.3:8080', 'peer': '10.1.2.3:8080'}),
    (ngx('connect() to 127.0.0.1:8080 failed (13: Permission denied) while connecting to upstream', level='crit'),
     'connect_denied', 'firewall_block', {'errno': 13}),
    (ngx('recv() failed (111: Connection refused) while reading response header from upstream'),
     'connect_refused', 'upstream_down', {'errno': 111}),
    (ngx('upstream server temporarily disabled while connecting to upstream', level='warn'),
     'upstream_disabled', None, {'level': 'warn'}),
    # stream module (no request/host, bytes counters)
    ('2026/11/22 08:34:43 [error] 949#949: *3 connect() failed (111: Connection refused) while connecting to upstream, '
     'client: 127.0.0.1, server: 0.0.0.0:15432, upstream: "10.0.0.20:5432", bytes from/to client:0/0, bytes from/to upstream:0/0',
     'connect_refused', 'upstream_down', {'peer': '10.0.0.20:5432', 'upstream_addr': '10.0.0.20:5432', 'server': '0.0.0.0:15432',
                                          'request': None}),
]


@pytest.mark.parametrize('line,kind,catalog,expected', NGINX_CASES, ids=['%02d-%s' % (i, c[1]) for i, c in enumerate(NGINX_CASES)])
def test_classify_error_line_kinds(line, kind, catalog, expected):
    rec = nl.classify_error_line(line)
    assert rec is not None
    assert rec['kind'] == kind
    assert rec['catalog'] == catalog
    assert nl.NGINX_KINDS[kind] == catalog
    assert rec['source'] == 'nginx'
    assert rec['line'] == line
    for key, value in expected.items():
        assert rec[key] == value, key


def test_classify_full_record_from_domain_example():
    line = ('2026/11/22 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream, '
            'client: 10.0.0.9, server: shop.lab, request: "GET /api/x?token=abc HTTP/1.1", '
            'upstream: "http://10.88.0.5:8080/api/x?token=abc", host: "shop.lab"')
    rec = nl.classify_error_line(line + '\n')
    assert rec == {
        'source': 'nginx', 'line': line, 'time': '2026/11/22 08:34:43',
        'epoch': time.mktime((2026, 11, 22, 8, 34, 43, 0, 0, -1)),
        'level': 'error', 'pid': 949, 'connection': 7, 'kind': 'connect_refused', 'catalog': 'upstream_down',
        'errno': 111, 'errtext': 'Connection refused',
        'message': 'connect() failed (111: Connection refused) while connecting to upstream',
        'phase': 'connecting to upstream', 'client': '10.0.0.9', 'server': 'shop.lab',
        'request': 'GET /api/x?token=abc HTTP/1.1', 'subrequest': None,
        'upstream': 'http://10.88.0.5:8080/api/x?token=abc', 'upstream_addr': 'http://10.88.0.5:8080',
        'peer': '10.88.0.5:8080', 'host': 'shop.lab', 'referrer': None, 'resolver': None, 'socket': None,
        'name': None, 'address': None, 'value': None,
    }


def test_classify_seed_line_with_subrequest_and_referrer():
    # field guide line (nginx 1.18 era): subrequest, odd upstream, referrer
    line = ('2020/04/04 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream, '
            'client: XXX.XXX.XXX.XXX, server: myserver.com, request: "GET /myurl-this/ HTTP/1.0", subrequest: "/redis-fetch", '
            'upstream: "redis://", host: "refserver.com", referrer: "http://ibmimedia.com/myurl-this/"')
    rec = nl.classify_error_line(line)
    assert rec['kind'] == 'connect_refused'
    assert rec['client'] == 'XXX.XXX.XXX.XXX'
    assert rec['subrequest'] == '/redis-fetch'
    assert rec['upstream'] == 'redis://'
    assert rec['peer'] is None and rec['upstream_addr'] is None
    assert rec['referrer'] == 'http://ibmimedia.com/myurl-this/'
    assert rec['host'] == 'refserver.com'


def test_unix_socket_upstream_forms():
    # nginx writes "unix:PATH:" for fastcgi, "unix:PATH:URI" for proxy_pass, sometimes no colon at all
    rec = nl.classify_error_line(ngx('upstream timed out (110: Connection timed out) while reading response header from upstream',
                                     up='fastcgi://unix:/run/php/php8.2-fpm.sock'))
    assert rec['socket'] == '/run/php/php8.2-fpm.sock'
    rec = nl.classify_error_line(ngx('connect() to unix:/tmp/app.sock failed (13: Permission denied) while connecting to upstream',
                                     up='http://unix:/tmp/app.sock://x?token=abc'))
    assert rec['peer'] == 'unix:/tmp/app.sock'
    assert rec['upstream_addr'] == 'http://unix:/tmp/app.sock'
    assert rec['socket'] == '/tmp/app.sock'


NOT_UPSTREAM = [
    '2026/11/22 09:03:23 [notice] 14728#14728: using the "epoll" event method',
    '2026/11/22 09:03:23 [notice] 14729#14729: start worker process 14730',
    '2026/11/22 09:03:52 [notice] 14729#14729: signal 10 (SIGUSR1) received from 14958, reopening logs',
    '2026/11/22 08:34:43 [notice] 1#1: signal 3 (SIGQUIT) received, shutting down',
    '2026/11/22 08:34:43 [error] 949#949: *56 open() "/var/www/html/favicon.ico" failed (2: No such file or directory), '
    'client: 10.0.0.9, server: shop.lab, request: "GET /favicon.ico HTTP/1.1", host: "shop.lab"',
    '2026/11/22 08:34:43 [error] 949#949: *57 access forbidden by rule, client: 10.0.0.9, server: shop.lab, '
    'request: "GET /.git/config HTTP/1.1", host: "shop.lab"',
    '2026/11/22 08:34:43 [error] 949#949: *58 directory index of "/var/www/html/" is forbidden, client: 10.0.0.9, '
    'server: shop.lab, request: "GET / HTTP/1.1", host: "shop.lab"',
    '2026/11/22 08:34:43 [info] 949#949: *13 epoll_wait() reported that client prematurely closed connection, so upstream '
    'connection is closed too while sending request to upstream, client: 127.0.0.1, server: api.lab, '
    'request: "GET /slow/1 HTTP/1.1", upstream: "http://127.0.0.1:18104/slow/1", host: "127.0.0.1:18081"',
    '2026/11/22 08:34:43 [info] 949#949: *60 recv() failed (104: Connection reset by peer) while reading client request line, '
    'client: 10.0.0.9, server: 0.0.0.0:443',
    '2026/11/22 08:34:43 [info] 949#949: *61 SSL_do_handshake() failed (SSL: error:0A00006C:SSL routines::bad key share) '
    'while SSL handshaking, client: 10.0.0.9, server: 0.0.0.0:443',
    '2026/11/22 08:34:43 [info] 949#949: *62 writev() failed (32: Broken pipe) while sending to client, client: 10.0.0.9, '
    'server: shop.lab, request: "GET /big HTTP/1.1", upstream: "http://10.88.0.5:8080/big", host: "shop.lab"',
    '2026/11/22 08:34:43 [warn] 949#949: *63 an upstream response is buffered to a temporary file '
    '/var/cache/nginx/proxy_temp/1/00/0000000001 while reading upstream, client: 10.0.0.9, server: shop.lab',
    '2026/11/22 08:34:43 [error] 949#949: *64 client intended to send too large body: 3000000 bytes, client: 127.0.0.1, '
    'server: shop.lab, request: "POST /upload HTTP/1.1", host: "shop.lab"',
    '2026/11/22 08:34:43 [info] 949#949: *1 client 127.0.0.1 closed keepalive connection',
]


@pytest.mark.parametrize('line', NOT_UPSTREAM)
def test_classify_ignores_lines_not_about_an_upstream(line):
    assert nl.classify_error_line(line) is None


@pytest.mark.parametrize('line', [
    None, '', '\n', '   ', 'random text that is not a log line',
    '2026/11/22 08:17:43 [error] garbage',
    '[error] 1#1: *',
    '2026/11/22 08:17:43 [error] 949#949: *7 ',
    '2026/11/22 08:17:43 [bogus] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream',
    '[Sat Nov 22 08:17:43 2026] [error] [client 1.2.3.4] connect() failed (111: Connection refused)',
    bytes(bytearray(range(256))).decode('utf-8', 'replace'),
    '\ufffd\ufffd\x01\x02 [error] \ufffd#\ufffd: connect() failed',
])
def test_classify_malformed_lines(line):
    assert nl.classify_error_line(line) is None


def test_classify_line_with_replacement_characters_still_classified():
    garbage = b'\xff\xfe\x80garbage'.decode('utf-8', 'replace')
    line = ngx('connect() failed (111: Connection refused) while connecting to upstream').replace('/api/x?token=abc HTTP', '/' + garbage + ' HTTP')
    rec = nl.classify_error_line(line)
    assert rec['kind'] == 'connect_refused'
    assert rec['request'] == 'GET /' + garbage + ' HTTP/1.1'
    assert '\ufffd' in rec['request']


def test_missing_trailing_fields():
    rec = nl.classify_error_line('2026/11/22 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) '
                                 'while connecting to upstream')
    assert rec['kind'] == 'connect_refused'
    assert rec['message'] == 'connect() failed (111: Connection refused) while connecting to upstream'
    assert rec['client'] is None and rec['server'] is None and rec['request'] is None and rec['upstream'] is None
    assert rec['peer'] is None
    rec = nl.classify_error_line('2026/11/22 08:34:43 [error] 949#949: *7 upstream sent too big header while reading '
                                 'response header from upstream, client: 10.0.0.9, server: shop.lab')
    assert rec['kind'] == 'too_big_header'
    assert (rec['client'], rec['server'], rec['request'], rec['host']) == ('10.0.0.9', 'shop.lab', None, None)
    # CRLF line end, IPv6 client, upstream without host
    rec = nl.classify_error_line('2026/11/22 08:34:43 [error] 949#949: *7 no live upstreams while connecting to upstream, '
                                 'client: 2001:db8::7, server: _, request: "GET / HTTP/2.0", upstream: "http://app/", host: "x"\r\n')
    assert rec['client'] == '2001:db8::7'
    assert rec['server'] == '_'
    assert rec['host'] == 'x'
    assert rec['line'].endswith('host: "x"')


def test_commas_and_quotes_inside_quoted_fields():
    line = (PREFIX + 'upstream prematurely closed connection while reading response header from upstream, client: 10.0.0.9, '
            'server: shop.lab, request: "GET /search?q=a,b&t=\\"x, y\\", host: \\"z\\" HTTP/1.1", '
            'upstream: "http://10.88.0.5:8080/search?q=a,b&t=\\"x, y\\"", host: "shop.lab", '
            'referrer: "https://shop.lab/cart?item=5,6&x="y""')
    rec = nl.classify_error_line(line)
    assert rec['kind'] == 'premature_close'
    assert rec['request'] == 'GET /search?q=a,b&t=\\"x, y\\", host: \\"z\\" HTTP/1.1'
    assert rec['upstream'] == 'http://10.88.0.5:8080/search?q=a,b&t=\\"x, y\\"'
    assert rec['peer'] == '10.88.0.5:8080'
    assert rec['host'] == 'shop.lab'
    # nginx does not escape quotes: the recorded referrer holds raw ones
    assert rec['referrer'] == 'https://shop.lab/cart?item=5,6&x="y"'


def test_client_text_inside_message_is_not_taken_for_the_fields():
    line = (PREFIX + 'FastCGI sent in stderr: "PHP message: PHP Fatal error:  Allowed memory size of 268435456 bytes '
            'exhausted in /var/www/a.php; log, client: 6.6.6.6, server: evil" while reading response header from upstream, '
            'client: 10.0.0.9, server: shop.lab, request: "GET /a.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php-fpm.sock:", '
            'host: "shop.lab"')
    rec = nl.classify_error_line(line)
    assert rec['kind'] == 'php_memory'
    assert rec['value'] == 268435456
    assert rec['client'] == '10.0.0.9'
    assert rec['server'] == 'shop.lab'
    assert rec['message'].endswith('server: evil" while reading response header from upstream')
    assert rec['socket'] == '/run/php/php-fpm.sock'


def test_one_megabyte_line():
    uri = '/x?' + 'a' * (1024 * 1024)
    line = (PREFIX + 'upstream sent too big header while reading response header from upstream, client: 10.0.0.9, '
            'server: shop.lab, request: "GET %s HTTP/1.1", upstream: "http://10.88.0.5:8080%s", host: "shop.lab"' % (uri, uri))
    start = time.time()
    rec = nl.classify_error_line(line)
    assert rec['kind'] == 'too_big_header'
    assert len(rec['request']) == len(uri) + len('GET  HTTP/1.1')
    assert rec['peer'] == '10.88.0.5:8080'
    redacted = nl.redact_line(line)
    assert len(redacted) < 500
    assert 'aaaa' not in redacted
    # pathological 1 MB lines finish quickly too (no quadratic regex)
    for bad in ('9' * (1024 * 1024), PREFIX + 'x' * (1024 * 1024), PREFIX + ', client: "' * 80000,
                PREFIX + '"' * (1024 * 1024), '[' * (1024 * 1024)):
        assert nl.classify_error_line(bad) is None
        assert nl.classify_fpm_line(bad) is None
        nl.redact_line(bad)
    assert time.time() - start < 10


def test_recorded_nginx_logs_classify_as_expected():
    recs = [nl.classify_error_line(x) for x in fixture_lines('nginx-1.22-recorded-error.log')]
    kinds = [r['kind'] for r in recs if r]
    assert kinds == [
        'connect_refused', 'premature_close', 'reset', 'read_timeout', 'too_big_header', 'invalid_header',
        'no_valid_http', 'ssl_handshake', 'fastcgi_record', 'fastcgi_stderr', 'php_memory', 'fastcgi_record',
        'invalid_header', 'read_timeout', 'socket_missing', 'socket_permission', 'socket_eagain', 'no_resolver',
        'resolve_failed', 'resolve_failed', 'resolve_failed', 'resolve_failed', 'cannot_assign', 'socket_refused',
        'connect_refused', 'upstream_disabled', 'connect_refused', 'upstream_disabled', 'no_live_upstreams',
        'no_live_upstreams', 'connect_no_route', 'premature_close', 'connect_timeout', 'reset', 'read_timeout',
    ]
    # notice/info lines, the static 404 and the too-large body are not upstream evidence
    assert sum(1 for r in recs if r is None) == 11
    limits = [nl.classify_error_line(x) for x in fixture_lines('nginx-1.22-recorded-limits.log')]
    assert [r['kind'] for r in limits if r] == [
        'too_many_open_files', 'too_many_open_files', 'read_timeout', 'worker_connections', 'worker_connections',
        'host_not_found']
    assert limits[-1]['name'] == 'backend.internal.invalid'
    fpm = [nl.classify_error_line(x) for x in fixture_lines('nginx-1.22-fpm-container-error.log')]
    assert [(r['kind'], r['socket']) for r in fpm] == [
        ('php_memory', '/run/php/php8.2-fpm.sock'), ('reset', '/run/php/php8.2-fpm.sock'),
        ('connect_unreachable', None), ('read_timeout', '/run/php/php8.2-fpm.sock')]


# ---------------------------------------------------------------------------
# timestamps
# ---------------------------------------------------------------------------

def test_nginx_time():
    assert nl.nginx_time('2026/11/22 08:17:43 [error] 949#949: *7 x') == time.mktime((2026, 11, 22, 8, 17, 43, 0, 0, -1))
    assert nl.nginx_time('2026/11/22 08:17:44 [notice] 1#1: y') - nl.nginx_time('2026/11/22 08:17:43 [notice] 1#1: y') == 1
    assert nl.nginx_time('2026/13/22 08:17:43 [error] x') is None
    assert nl.nginx_time('[22-Nov-2026 08:17:43] WARNING: x') is None
    assert nl.nginx_time('') is None
    assert nl.nginx_time(None) is None
    assert nl.nginx_time('2026/11/22 08:17:43') is None


def test_fpm_time():
    base = time.mktime((2026, 11, 22, 8, 17, 43, 0, 0, -1))
    assert nl.fpm_time('[22-Nov-2026 08:17:43] WARNING: [pool www] x') == base
    assert nl.fpm_time('[22-Nov-2026 08:17:43.123456] WARNING: [pool www] x') == pytest.approx(base + 0.123456)
    assert nl.fpm_time('[02-Jan-2026 00:00:01] NOTICE: y') == time.mktime((2026, 1, 2, 0, 0, 1, 0, 0, -1))
    assert nl.fpm_time('[22-Foo-2026 08:17:43] x') is None
    assert nl.fpm_time('2026/11/22 08:17:43 [error] x') is None
    assert nl.fpm_time(None) is None


def test_line_time_other_formats():
    assert nl.line_time('2026-11-22T08:17:43.500000+00:00 web1 kernel: x') == pytest.approx(1795335463.5)
    assert nl.line_time('2026-11-22T09:17:43+01:00 web1 kernel: x') == 1795335463
    assert nl.line_time('[Sat Nov 22 08:17:43.123 2026] [core:notice] [pid 1] x') == pytest.approx(
        time.mktime((2026, 11, 22, 8, 17, 43, 0, 0, -1)) + 0.123)
    stamp = nl.line_time('Nov 22 08:17:43 web1 php-fpm8.2[123]: [WARNING] x')
    assert time.localtime(stamp)[1:6] == (11, 22, 8, 17, 43)
    assert nl.line_time('no time here') is None


# ---------------------------------------------------------------------------
# PHP-FPM, Apache, kernel
# ---------------------------------------------------------------------------

FPM_CASES = [
    ('[22-Nov-2026 08:17:43] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it',
     'max_children', 'pool_exhausted', {'pool': 'www', 'value': 5, 'child': None, 'level': 'WARNING', 'time': '22-Nov-2026 08:17:43'}),
    ('[22-Nov-2026 08:17:43] WARNING: [pool shop] server reached max_children setting (30), consider raising it',
     'max_children', 'pool_exhausted', {'pool': 'shop', 'value': 30}),
    ('[22-Nov-2026 08:17:43] WARNING: [mysite.com] server reached max_children setting (30), consider raising it',
     'max_children', 'pool_exhausted', {'pool': 'mysite.com', 'value': 30}),
    ('[22-Nov-2026 08:17:43] WARNING: [pool www] child 1234 exited on signal 11 (SIGSEGV - core dumped) after 12.3 seconds from start',
     'child_signal', 'backend_crash', {'child': 1234, 'signal': 11, 'signal_name': 'SIGSEGV', 'core_dumped': True, 'value': 12.3}),
    ('[22-Nov-2026 08:17:43] WARNING: [pool www] child 46 exited on signal 9 (SIGKILL) after 0.007931 seconds from start',
     'child_signal', 'backend_crash', {'child': 46, 'signal': 9, 'core_dumped': False}),
    ('[22-Nov-2026 08:17:43.123456] WARNING: [pool api] child 77 exited on signal 7 (SIGBUS) after 1.5 seconds from start',
     'child_signal', 'backend_crash', {'pool': 'api', 'signal': 7, 'time': '22-Nov-2026 08:17:43.123456'}),
    ('[22-Nov-2026 08:17:43] WARNING: [pool www] child 48 exited on signal 15 (SIGTERM) after 4.099670 seconds from start',
     'child_terminated', None, {'signal': 15}),
    ("[22-Nov-2026 08:17:43] WARNING: [pool www] child 1234, script '/var/www/x.php' (request: \"GET /x.php\") "
     'executing too slow (5.0 sec), logging',
     'slow', 'upstream_timeout', {'child': 1234, 'script': '/var/www/x.php', 'request': 'GET /x.php', 'value': 5.0}),
    ("[22-Nov-2026 08:17:43] WARNING: [pool www] child 1234, script '/var/www/x.php' (request: \"POST /x.php?a=1\") "
     'execution timed out (30.1 sec), terminating',
     'exec_timeout', 'upstream_timeout', {'value': 30.1, 'request': 'POST /x.php?a=1'}),
    ('[22-Nov-2026 08:17:43] ERROR: unable to read what child say: Bad file descriptor (9)',
     'child_io', 'backend_crash', {'pool': None, 'level': 'ERROR'}),
    ('[22-Nov-2026 08:17:43] WARNING: [pool www] seems busy (you may need to increase pm.start_servers, or '
     'pm.min/max_spare_servers), spawning 8 children, there are 0 idle, and 13 total children',
     'busy', 'pool_exhausted', {'value': 8}),
    ('[22-Nov-2026 09:05:08] WARNING: [pool www] child 31 said into stderr: "NOTICE: PHP message: PHP Fatal error:  Allowed '
     'memory size of 16777216 bytes exhausted (tried to allocate 2097152 bytes) in /var/www/lab/mem.php on line 1"',
     'php_memory', 'backend_crash', {'child': 31, 'value': 16777216}),
    ("[22-Nov-2026 08:17:43] ERROR: unable to bind listening socket for address '/run/php/php8.2-fpm.sock': "
     'Address already in use (98)',
     'listen_failed', 'upstream_down', {'socket': '/run/php/php8.2-fpm.sock'}),
    ("[22-Nov-2026 08:17:43] ERROR: unable to bind listening socket for address '127.0.0.1:9000': Address already in use (98)",
     'listen_failed', 'upstream_down', {'socket': None, 'address': '127.0.0.1:9000'}),
    # syslog / journal forms
    ('<29>Nov 22 09:29:36 php-fpm[196]: [WARNING] [pool www] server reached pm.max_children setting (2), consider raising it',
     'max_children', 'pool_exhausted', {'value': 2, 'time': 'Nov 22 09:29:36'}),
    ('Nov 22 08:17:43 web1 php-fpm8.2[812]: [WARNING] [pool www] child 204 exited on signal 11 (SIGSEGV) after 2.0 seconds from start',
     'child_signal', 'backend_crash', {'child': 204}),
    ('2026-11-22T08:17:43.000000+00:00 web1 php-fpm8.2[812]: [WARNING] [pool www] server reached pm.max_children setting (9), '
     'consider raising it',
     'max_children', 'pool_exhausted', {'value': 9, 'epoch': 1795335463.0}),
    ('WARNING: [pool www] server reached pm.max_children setting (4), consider raising it',
     'max_children', 'pool_exhausted', {'value': 4, 'time': None, 'epoch': None}),
]


@pytest.mark.parametrize('line,kind,catalog,expected', FPM_CASES, ids=['%02d-%s' % (i, c[1]) for i, c in enumerate(FPM_CASES)])
def test_classify_fpm_line(line, kind, catalog, expected):
    rec = nl.classify_fpm_line(line)
    assert rec is not None
    assert (rec['kind'], rec['catalog'], rec['source']) == (kind, catalog, 'php-fpm')
    assert nl.FPM_KINDS[kind] == catalog
    for key, value in expected.items():
        assert rec[key] == value, key


@pytest.mark.parametrize('line', [
    '[22-Nov-2026 09:05:07] NOTICE: fpm is running, pid 30',
    '[22-Nov-2026 09:05:07] NOTICE: ready to handle connections',
    '[22-Nov-2026 09:05:07] NOTICE: Terminating ...',
    '[22-Nov-2026 09:05:07] NOTICE: Reloading in progress ...',
    '[22-Nov-2026 09:05:08] NOTICE: [pool www] child 46 started',
    '[22-Nov-2026 09:05:08] NOTICE: [pool www] child 46 exited with code 0 after 1234.5 seconds from start',
    '[22-Nov-2026 09:05:08] NOTICE: [pool www] child 31 exited on signal 3 (SIGQUIT) after 20.1 seconds from start',
    '[22-Nov-2026 09:05:09] ERROR: failed to ptrace(ATTACH) child 48: Operation not permitted (1)',
    '[22-Nov-2026 09:05:08] WARNING: [pool www] child 31 said into stderr: "NOTICE: PHP message: PHP Warning:  Undefined variable"',
    '<29>Nov 22 09:29:33 php-fpm[196]: [NOTICE] ready to handle connections',
    '2026/11/22 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream',
    '', None, 'garbage',
])
def test_classify_fpm_line_ignores(line):
    assert nl.classify_fpm_line(line) is None


def test_recorded_fpm_logs():
    recs = [nl.classify_fpm_line(x) for x in fixture_lines('php8.2-fpm-recorded.log')]
    assert [r['kind'] for r in recs if r] == [
        'php_memory', 'child_signal', 'child_signal', 'slow', 'max_children', 'exec_timeout', 'child_terminated',
        'fpm_init_failed', 'busy']
    crash = [r for r in recs if r and r['kind'] == 'child_signal']
    assert [(r['child'], r['signal'], r['signal_name']) for r in crash] == [(31, 11, 'SIGSEGV'), (46, 9, 'SIGKILL')]
    assert crash[0]['epoch'] == nl.fpm_time('[22-Nov-2026 09:05:08] x')
    syslog = [nl.classify_fpm_line(x) for x in fixture_lines('php8.2-fpm-recorded-syslog.log')]
    assert [(r['kind'], r['value']) for r in syslog if r] == [('slow', 1.314076), ('max_children', 2), ('child_signal', 2.003598)]


@pytest.mark.parametrize('line,pid,process,rss,cgroup,has_time', [
    ('[12345.678901] Out of memory: Killed process 1234 (php-fpm8.2) total-vm:493412kB, anon-rss:123456kB, file-rss:0kB, '
     'shmem-rss:0kB, UID:33 pgtables:1024kB oom_score_adj:0', 1234, 'php-fpm8.2', 123456, False, False),
    ('Nov 22 08:17:43 web1 kernel: [ 8812.1] Memory cgroup out of memory: Killed process 99 (php-fpm: pool www) '
     'total-vm:100kB, anon-rss:50kB, file-rss:0kB', 99, 'php-fpm: pool www', 50, True, True),
    ('2026-11-22T08:17:43.1+00:00 web1 kernel: Out of memory: Kill process 777 (mysqld) score 901 or sacrifice child',
     777, 'mysqld', None, False, True),
])
def test_classify_kernel_line(line, pid, process, rss, cgroup, has_time):
    rec = nl.classify_kernel_line(line)
    assert (rec['kind'], rec['catalog'], rec['source']) == ('oom_kill', 'resource_limits', 'kernel')
    assert (rec['pid'], rec['process'], rec['name'], rec['anon_rss_kb'], rec['cgroup']) == (pid, process, process, rss, cgroup)
    assert (rec['epoch'] is not None) == has_time


def test_classify_kernel_ignores():
    assert nl.classify_kernel_line('Nov 22 08:17:43 web1 kernel: Killed process 1234 (php) total-vm:1kB') is None
    assert nl.classify_kernel_line('[1.0] eth0: link up') is None
    assert nl.classify_kernel_line(None) is None


# recorded with /proc/stat "btime 1796216067" (fixtures/logs/README.md)
RECORDED_BTIME = 1796216067


def test_dmesg_time_is_boot_time_plus_the_stamp_as_dmesg_prints_it():
    lines = fixture_lines('kernel-6.18-recorded-dmesg.log')
    kills = [nl.classify_kernel_line(x, RECORDED_BTIME) for x in lines]
    kills = [r for r in kills if r]
    assert [(r['pid'], r['process'], r['cgroup'], r['anon_rss_kb']) for r in kills] == [
        (24021, 'python3', True, 40704), (31398, 'python3', True, 40576)]
    # dmesg --time-format iso printed 2026-12-02T13:01:57,980219+00:00 and 13:04:32,364800+00:00
    assert kills[0]['epoch'] == pytest.approx(1796216517.980219, abs=1e-6)
    assert kills[1]['epoch'] == pytest.approx(1796216672.364800, abs=1e-6)
    assert kills[0]['time'] == '2026-12-02T13:01:57.980219+00:00'
    assert nl.dmesg_time(lines[0], RECORDED_BTIME) == RECORDED_BTIME
    # without the boot time a dmesg stamp says nothing about when
    assert nl.classify_kernel_line(lines[3])['epoch'] is None
    assert nl.dmesg_time('Dec  2 13:04:32 vm kernel: x', RECORDED_BTIME) is None


def test_kernel_time_of_recorded_kern_log_lines():
    rfc = [x for x in fixture_lines('kernel-6.18-recorded-kern.log') if 'out of memory' in x]
    traditional = [x for x in fixture_lines('kernel-6.18-recorded-kern-traditional.log') if 'out of memory' in x]
    # rsyslog's own time wins over the dmesg stamp it carries ("[  605.364800]")
    assert nl.kernel_time(rfc[1], RECORDED_BTIME) == pytest.approx(1796216672.804879, abs=1e-6)
    assert nl.classify_kernel_line(rfc[1])['epoch'] == pytest.approx(1796216672.804879, abs=1e-6)
    year = time.localtime(nl.kernel_time(traditional[1])).tm_year
    assert nl.kernel_time(traditional[1]) == time.mktime((year, 12, 2, 13, 4, 32, 0, 0, -1))
    assert nl.kernel_time(traditional[1]) - nl.kernel_time(traditional[0]) == 12


def test_boot_time(tmp_path):
    stat_file = tmp_path / 'stat'
    stat_file.write_text('cpu  20908 0 5454 60479 1027 0 316 89 0 0\nctxt 1\nbtime 1796216067\nprocesses 3\n')
    assert nl.boot_time(str(stat_file)) == 1796216067
    stat_file.write_text('cpu 1 2 3\n')
    assert nl.boot_time(str(stat_file)) is None
    assert nl.boot_time(str(tmp_path / 'missing')) is None
    if os.path.exists('/proc/stat'):
        assert 0 < nl.boot_time() <= time.time()


# ---------------------------------------------------------------------------
# read_tail
# ---------------------------------------------------------------------------

def write(path, data):
    with open(str(path), 'wb') as f:
        f.write(data)
    return str(path)


def nline(i, sec=None):
    sec = i if sec is None else sec
    return ('2026/11/22 08:%02d:%02d [error] 949#949: *%d connect() failed (111: Connection refused) while connecting '
            'to upstream, client: 10.0.0.9' % (sec // 60, sec % 60, i))


def test_read_tail_more_lines_than_max(tmp_path):
    lines = ['line %05d %s' % (i, 'x' * (i % 50)) for i in range(10000)]
    path = write(tmp_path / 'error.log', ('\n'.join(lines) + '\n').encode())
    got, info = nl.read_tail(path, max_lines=100)
    assert got == lines[-100:]
    assert info['lines'] == 100
    assert info['complete'] is False
    assert info['stopped'] == 'max_lines'
    assert info['error'] is None
    assert info['size'] == os.path.getsize(path)
    assert 0 < info['bytes_read'] <= nl.BLOCK_SIZE
    # the whole file when it fits
    got, info = nl.read_tail(path, max_lines=20000)
    assert got == lines
    assert info['complete'] is True and info['stopped'] == 'start'
    assert info['bytes_read'] == info['size']


def test_read_tail_exact_count_and_small_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(nl, 'BLOCK_SIZE', 7)
    lines = ['alpha', '', 'beta gamma', 'd' * 30, 'e']
    path = write(tmp_path / 'a.log', ('\n'.join(lines) + '\n').encode())
    got, info = nl.read_tail(path, max_lines=5)
    assert got == lines
    assert info['complete'] is True
    got, info = nl.read_tail(path, max_lines=2)
    assert got == ['d' * 30, 'e']
    assert info['complete'] is False


def test_read_tail_max_bytes_drops_partial_first_line(tmp_path):
    lines = ['%04d %s' % (i, 'y' * 95) for i in range(1000)]   # 100 bytes + newline each
    path = write(tmp_path / 'b.log', ('\n'.join(lines) + '\n').encode())
    got, info = nl.read_tail(path, max_bytes=1050)
    assert info['bytes_read'] == 1050
    assert info['stopped'] == 'max_bytes'
    assert info['complete'] is False
    assert got == lines[-10:]


def test_read_tail_since(tmp_path):
    lines = [nline(i) for i in range(600)]
    # a continuation line without timestamp after an old entry belongs to it
    lines.insert(300, '    continuation of entry 299')
    lines.insert(302, '    continuation of entry 300')
    path = write(tmp_path / 'error.log', ('\n'.join(lines) + '\n').encode())
    since = nl.nginx_time(nline(300))
    got, info = nl.read_tail(path, since=since, time_parser=nl.nginx_time)
    assert got[0] == nline(300)
    assert got[1] == '    continuation of entry 300'
    assert got[-1] == nline(599)
    assert len(got) == 301
    assert info['complete'] is True
    assert info['stopped'] == 'since'
    assert info['bytes_read'] < info['size']
    # since without a parser is ignored; a parser that raises is treated as "no timestamp"
    got, info = nl.read_tail(path, since=since)
    assert len(got) == 602

    def broken(line):
        raise ValueError(line)

    got, info = nl.read_tail(path, since=since, time_parser=broken, max_lines=5)
    assert got == lines[-5:]
    # since newer than everything
    got, info = nl.read_tail(path, since=time.time() + 10 ** 9, time_parser=nl.nginx_time)
    assert got == [] and info['complete'] is True


def test_read_tail_nul_lines(tmp_path):
    data = b'first\nbin\x00ary line\nsecond\n\x00\x00\x00\nthird\n'
    path = write(tmp_path / 'c.log', data)
    got, info = nl.read_tail(path)
    assert got == ['first', 'second', 'third']
    assert info['binary_lines'] == 2
    assert info['lines'] == 3


def test_read_tail_copytruncate_padding(tmp_path):
    # nginx keeps writing at its old offset after copytruncate: NULs, then a line
    data = b'\x00' * 5000 + b'2026/11/22 08:00:01 [error] 1#1: after truncate\nnext\n'
    path = write(tmp_path / 'd.log', data)
    got, info = nl.read_tail(path)
    assert got == ['2026/11/22 08:00:01 [error] 1#1: after truncate', 'next']
    assert info['nul_padded'] == 1
    assert info['binary_lines'] == 0
    assert info['complete'] is True


def test_read_tail_no_final_newline_and_crlf(tmp_path):
    path = write(tmp_path / 'e.log', b'one\r\ntwo\r\nthree')
    got, info = nl.read_tail(path)
    assert got == ['one', 'two', 'three']
    assert info['complete'] is True
    path = write(tmp_path / 'f.log', b'\r\n'.join(nline(i).encode() for i in range(50)) + b'\r\n')
    got, info = nl.read_tail(path, max_lines=3)
    assert got == [nline(47), nline(48), nline(49)]
    assert nl.classify_error_line(got[-1])['client'] == '10.0.0.9'


def test_read_tail_empty_missing_and_not_regular(tmp_path):
    path = write(tmp_path / 'empty.log', b'')
    got, info = nl.read_tail(path)
    assert got == []
    assert info['complete'] is True and info['error'] is None and info['size'] == 0 and info['bytes_read'] == 0
    got, info = nl.read_tail(str(tmp_path / 'missing.log'))
    assert got == []
    assert info['error'] == '%s does not exist' % (tmp_path / 'missing.log')
    assert info['complete'] is False
    got, info = nl.read_tail(str(tmp_path))
    assert got == [] and 'is a directory' in info['error']
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    got, info = nl.read_tail(fifo)
    assert got == [] and 'not a regular file' in info['error']
    got, info = nl.read_tail('/dev/null')
    assert got == [] and 'not a regular file' in info['error']


@pytest.mark.skipif(os.geteuid() == 0, reason='root reads files regardless of their mode')
def test_read_tail_unreadable(tmp_path):
    path = write(tmp_path / 'secret.log', b'x\n')
    os.chmod(path, 0)
    got, info = nl.read_tail(path)
    assert got == [] and 'permission denied' in info['error']


def test_read_tail_permission_denied_message(tmp_path, monkeypatch):
    path = write(tmp_path / 'secret.log', b'x\n')

    def denied(name, flags):
        raise OSError(13, 'Permission denied', name)

    monkeypatch.setattr(nl.os, 'open', denied)
    got, info = nl.read_tail(path)
    assert got == []
    assert info['error'] == 'cannot read %s: permission denied (Permission denied)' % path
    assert info['stopped'] == 'error' and info['complete'] is False


def test_read_tail_fifty_megabyte_sparse_file(tmp_path):
    path = str(tmp_path / 'big.log')
    tail = ('\n'.join(nline(i) for i in range(5)) + '\n').encode()
    with open(path, 'wb') as f:
        f.truncate(50 * 1024 * 1024)
        f.seek(0, 2)
        f.write(b'\n' + tail)
    size = os.path.getsize(path)
    assert size > 50 * 1024 * 1024
    got, info = nl.read_tail(path, max_lines=5)
    assert got == [nline(i) for i in range(5)]
    assert info['size'] == size
    assert info['bytes_read'] <= nl.BLOCK_SIZE
    assert info['complete'] is False
    # asking for more lines walks into the NUL hole and stops there, not at max_bytes
    got, info = nl.read_tail(path, max_lines=2000)
    assert got == [nline(i) for i in range(5)]
    assert info['stopped'] == 'hole'
    assert info['bytes_read'] <= 2 * nl.BLOCK_SIZE


def test_read_tail_fifty_megabyte_real_lines_reads_only_the_end(tmp_path):
    path = str(tmp_path / 'real.log')
    row = (nline(1) + '\n').encode()
    with open(path, 'wb') as f:
        f.write(row * (50 * 1024 * 1024 // len(row)))
        f.write(b'LAST LINE\n')
    got, info = nl.read_tail(path, max_lines=2000)
    assert got[-1] == 'LAST LINE' and len(got) == 2000
    assert info['bytes_read'] < 2001 * len(row) + nl.BLOCK_SIZE
    got, info = nl.read_tail(path, max_lines=10 ** 6, max_bytes=1024 * 1024)
    assert info['bytes_read'] == 1024 * 1024 and info['stopped'] == 'max_bytes'
    assert got[-1] == 'LAST LINE'
    assert len(got) == (1024 * 1024 - len(b'LAST LINE\n')) // len(row) + 1


def test_read_tail_long_lines(tmp_path):
    long_ascii = 'L' * (1024 * 1024)
    long_utf8 = '\u00e9' * 5000       # 2 bytes a character
    path = write(tmp_path / 'g.log', ('short\n%s\n%s\nend\n' % (long_ascii, long_utf8)).encode('utf-8'))
    got, info = nl.read_tail(path, max_line=8192)
    assert got[0] == 'short' and got[-1] == 'end'
    assert got[1] == 'L' * 8192
    assert got[2] == long_utf8          # 10000 bytes but only 5000 characters
    assert info['long_lines'] == 1
    got, info = nl.read_tail(path, max_line=100)
    assert got[2] == '\u00e9' * 100
    assert info['long_lines'] == 2


def test_read_tail_invalid_utf8(tmp_path):
    path = write(tmp_path / 'h.log', b'ok\n\xff\xfe bad \xc3\n')
    got, info = nl.read_tail(path)
    assert got == ['ok', '\ufffd\ufffd bad \ufffd']
    assert info['binary_lines'] == 0


def test_read_tail_file_shrinks_while_read(tmp_path, monkeypatch):
    path = write(tmp_path / 'rot.log', ('\n'.join(nline(i) for i in range(100)) + '\n').encode())
    real_fstat = os.fstat
    calls = {'n': 0}

    def fstat(fd):
        st = real_fstat(fd)
        calls['n'] += 1
        if calls['n'] == 2:
            # the size seen before the read, then the file is truncated (logrotate copytruncate)
            with open(path, 'wb') as f:
                f.write(b'fresh 1\nfresh 2\n')
            return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                                   10000, st.st_atime, st.st_mtime, st.st_ctime))
        return st

    monkeypatch.setattr(nl.os, 'fstat', fstat)
    got, info = nl.read_tail(path)
    assert got == ['fresh 1', 'fresh 2']
    assert info['error'] is None
    assert info['size'] == 16

    def always_big(fd):
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid,
                               10 ** 6, st.st_atime, st.st_mtime, st.st_ctime))

    monkeypatch.setattr(nl.os, 'fstat', always_big)
    got, info = nl.read_tail(path)
    assert got == []
    assert 'shrank while it was read' in info['error']


# ---------------------------------------------------------------------------
# summarize and redact
# ---------------------------------------------------------------------------

def test_redact_line():
    line = ('2026/11/22 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream, '
            'client: 10.0.0.9, server: shop.lab, request: "GET /api/x?token=abc HTTP/1.1", subrequest: "/sub?k=v", '
            'upstream: "http://10.88.0.5:8080/api/x?token=abc", host: "shop.lab", referrer: "https://shop.lab/cart?item=5,6&x="y""')
    assert nl.redact_line(line) == (
        '2026/11/22 08:34:43 [error] 949#949: *7 connect() failed (111: Connection refused) while connecting to upstream, '
        'client: REDACTED, server: shop.lab, request: "GET /api/x?REDACTED HTTP/1.1", subrequest: "/sub?REDACTED", '
        'upstream: "http://10.88.0.5:8080/api/x?REDACTED", host: "shop.lab", referrer: "https://shop.lab/cart?REDACTED"')
    assert nl.redact_line(line, query=False).count('token=abc') == 2
    assert 'client: REDACTED' in nl.redact_line(line, query=False)
    assert 'client: 10.0.0.9' in nl.redact_line(line, client=False)
    assert nl.redact_line(line, query=False, client=False) == line
    # nothing to hide
    plain = ngx('upstream sent too big header while reading response header from upstream').replace('?token=abc', '')
    assert nl.redact_line(plain) == plain.replace('10.0.0.9', 'REDACTED')
    # PHP-FPM slow line, Apache client, unparsed line
    slow = ("[22-Nov-2026 08:17:43] WARNING: [pool www] child 1, script '/var/www/x.php' (request: \"GET /x.php?pw=1\") "
            'executing too slow (5.0 sec), logging')
    assert 'request: "GET /x.php?REDACTED"' in nl.redact_line(slow)
    apache = '[Sat Nov 22 08:17:43 2026] [error] [client 1.2.3.4:5555] File does not exist, referer: http://a/b?c=d'
    assert nl.redact_line(apache) == '[Sat Nov 22 08:17:43 2026] [error] [client REDACTED] File does not exist, referer: http://a/b?REDACTED'
    assert nl.redact_line('') == ''
    assert nl.redact_line(None) is None


def make_records():
    lines = [
        '2026/11/22 08:00:01 [error] 9#9: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.1, '
        'server: shop.lab, request: "GET /a?x=1 HTTP/1.1", upstream: "http://10.88.0.5:8080/a?x=1", host: "shop.lab"',
        '2026/11/22 08:00:02 [error] 9#9: *2 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.2, '
        'server: shop.lab, request: "GET /b?x=2 HTTP/1.1", upstream: "http://10.88.0.5:8080/b?x=2", host: "shop.lab"',
        '2026/11/22 08:00:03 [error] 9#9: *3 upstream timed out (110: Connection timed out) while reading response header from upstream, '
        'client: 10.0.0.3, server: api.lab, request: "GET /slow HTTP/1.1", upstream: "http://10.88.0.6:9000/slow", host: "api.lab"',
        '2026/11/22 08:00:04 [error] 9#9: *4 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.4, '
        'server: shop.lab, request: "GET /c?x=3 HTTP/1.1", upstream: "http://10.88.0.5:8080/c?x=3", host: "shop.lab"',
        '2026/11/22 08:00:05 [notice] 9#9: signal process started',
        '2026/11/22 08:00:06 [error] 9#9: *6 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.6, '
        'server: shop.lab, request: "GET /d?x=4 HTTP/1.1", upstream: "http://10.88.0.5:8080/d?x=4", host: "shop.lab"',
        '2026/11/22 08:00:07 [crit] 9#9: *7 connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting '
        'to upstream, client: 10.0.0.7, server: shop.lab, request: "GET /i.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:", '
        'host: "shop.lab"',
        '2026/11/22 08:00:08 [error] 9#9: *8 upstream timed out (110: Connection timed out) while reading response header from upstream, '
        'client: 10.0.0.8, server: api.lab, request: "GET /slow HTTP/1.1", upstream: "http://10.88.0.6:9000/slow", host: "api.lab"',
    ]
    return lines, [nl.classify_error_line(x) for x in lines]


def test_summarize_groups():
    lines, records = make_records()
    assert records[4] is None
    groups = nl.summarize(records)
    assert [(g['kind'], g['upstream'], g['server'], g['count']) for g in groups] == [
        ('connect_refused', 'http://10.88.0.5:8080', 'shop.lab', 4),
        ('read_timeout', 'http://10.88.0.6:9000', 'api.lab', 2),
        ('socket_permission', 'fastcgi://unix:/run/php/php8.2-fpm.sock', 'shop.lab', 1),
    ]
    first = groups[0]
    assert first['catalog'] == 'upstream_down'
    assert first['first_seen'] == '2026/11/22 08:00:01'
    assert first['last_seen'] == '2026/11/22 08:00:06'
    assert first['last_epoch'] - first['first_epoch'] == 5
    assert first['samples'] == [lines[1], lines[3], lines[5]]
    assert first['host'] == 'shop.lab'
    assert first['client'] == '10.0.0.6'
    assert first['request'] == 'GET /d?x=4 HTTP/1.1'
    assert groups[2]['socket'] == '/run/php/php8.2-fpm.sock'
    assert groups[2]['samples'] == [lines[6]]
    assert groups[1]['socket'] is None and groups[1]['name'] is None
    # other keys and sample counts; records out of time order are sorted by epoch
    by_catalog = nl.summarize(list(reversed(records)), key=('catalog',), samples=1)
    assert [(g['catalog'], g['count']) for g in by_catalog] == [('upstream_down', 4), ('upstream_timeout', 2), ('socket_permission', 1)]
    assert by_catalog[0]['samples'] == [lines[5]]
    assert by_catalog[0]['first_seen'] == '2026/11/22 08:00:01'
    assert nl.summarize([]) == []
    assert nl.summarize([None, None]) == []


def test_summarize_dns_errors_grouped_by_name():
    recs = [nl.classify_error_line(x) for x in fixture_lines('nginx-1.22-recorded-error.log')]
    dns = [g for g in nl.summarize(recs) if g['catalog'] == 'dns_failure']
    assert sorted(((g['kind'], g['upstream'], g['name'], g['count']) for g in dns), key=lambda t: (t[0], t[1] or '')) == [
        ('no_resolver', 'backend.internal', 'backend.internal', 1),
        ('resolve_failed', None, None, 1),
        ('resolve_failed', 'api.missing.lab', 'api.missing.lab', 1),
        ('resolve_failed', 'api.servfail.lab', 'api.servfail.lab', 1),
        ('resolve_failed', 'api.slow.lab', 'api.slow.lab', 1),
    ]


def test_summarize_ties_sorted_by_kind_and_mixed_sources():
    recs = [nl.classify_fpm_line('[22-Nov-2026 08:17:43] WARNING: [pool www] server reached pm.max_children setting (5), consider raising it'),
            nl.classify_kernel_line('Nov 22 08:17:44 web1 kernel: Out of memory: Killed process 12 (php-fpm8.2) total-vm:1kB, anon-rss:1kB'),
            nl.classify_fpm_line('[22-Nov-2026 08:17:45] WARNING: [pool www] child 31 exited on signal 11 (SIGSEGV) after 1.5 seconds from start')]
    groups = nl.summarize(recs)
    assert [(g['kind'], g['source'], g['count']) for g in groups] == [
        ('child_signal', 'php-fpm', 1), ('max_children', 'php-fpm', 1), ('oom_kill', 'kernel', 1)]
    assert groups[1]['pool'] == 'www'
    assert groups[2]['name'] == 'php-fpm8.2'
    assert groups[0]['first_seen'] == '22-Nov-2026 08:17:45'


def test_summarize_redact():
    lines, records = make_records()
    groups = nl.summarize(records, redact=True, samples=2)
    first = groups[0]
    assert first['client'] == 'REDACTED'
    assert first['request'] == 'GET /d?REDACTED HTTP/1.1'
    assert first['upstream'] == 'http://10.88.0.5:8080'
    assert len(first['samples']) == 2
    for sample in first['samples']:
        assert 'client: REDACTED' in sample
        assert '?REDACTED' in sample
        assert 'x=' not in sample and '10.0.0.' not in sample
    # the records themselves are untouched
    assert records[0]['client'] == '10.0.0.1'
    assert 'x=1' in records[0]['line']
