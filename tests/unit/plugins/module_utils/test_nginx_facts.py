# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_cli as nc
from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_facts as cfg

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'

SITE = {
    'nginx.conf': '''\
user www-data;
worker_processes 2;
worker_rlimit_nofile 4096;
error_log /var/log/nginx/error.log warn;

events {
    worker_connections 1024;
}

http {
    proxy_read_timeout 30s;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header Authorization "Bearer s3cr3t-token";
    proxy_set_header Cookie $http_cookie;
    resolver 127.0.0.53 valid=30s ipv6=off;
    access_log /var/log/nginx/access.log main;
    include conf.d/*.conf;
    include sites-enabled/*;
}
''',
    'conf.d/upstreams.conf': '''\
upstream app_pool {
    least_conn;
    server 10.0.0.11:8080 weight=3 max_fails=2 fail_timeout=5s;
    server 10.0.0.12:8080 backup;
    server unix:/run/app.sock down;
    server [::1]:8081;
    keepalive 16;
}
''',
    'conf.d/tuning.conf': '''\
# newer and third-party directives never fail the parse
keepalive_time 1h;
more_set_headers "X-Powered-By: nothing";
''',
    'snippets/fastcgi-php.conf': '''\
fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
fastcgi_param DB_PASSWORD hunter2;
fastcgi_read_timeout 90;
''',
    'sites-enabled/10-app': '''\
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    listen 443 ssl http2;
    server_name app.example.com www.app.example.com;
    http2 on;
    proxy_connect_timeout 5s;

    location / {
        proxy_pass http://app_pool;
    }

    location /api/ {
        proxy_pass http://10.0.0.20:7080/v1/;
        proxy_read_timeout 2m;
        proxy_set_header X-Only-Here 1;
        proxy_http_version 1.1;
        proxy_buffer_size 16k;

        location ~ ^/api/ws {
            proxy_pass http://unix:/run/ws.sock:/socket;
        }
    }

    location ~ \\.php$ {
        include snippets/fastcgi-php.conf;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }

    location = /health {
        return 200;
    }

    location @fallback {
        proxy_pass http://$backend_host:8080;
    }

    location /dyn/ {
        if ($request_method = POST) {
            proxy_pass http://backend.internal$request_uri;
        }
    }

    location /grpc {
        grpc_pass grpcs://[::1]:50051;
    }

    location /uw {
        uwsgi_pass uwsgi://127.0.0.1:3031;
    }
}
''',
    'sites-enabled/20-other': '''\
server {
    server_name other;
    location / {
        fastcgi_pass 127.0.0.1:9000;
        memcached_pass 127.0.0.1:11211;
    }
}
''',
}


def build(tmp_path, files=None, main='nginx.conf'):
    for name, content in (files or SITE).items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    prefix = str(tmp_path) + '/'
    tree, errors, warnings = nc.read_config_tree(prefix + main, prefix)
    raw = {
        'files': [{'path': p, 'content': t} for p, t in tree],
        'config': prefix + main, 'conf_prefix': prefix, 'prefix': '/usr/share/nginx/',
        'build': {'version': '1.22.1', 'paths': {'http_log_path': '/var/log/nginx/access.log'}},
        'valid': not errors, 'validation': {'errors': errors, 'warnings': []},
        'warnings': warnings, 'source': 'files', 'binary': '/usr/sbin/nginx',
    }
    return cfg.build_facts(raw), prefix


def loc(server, match):
    found = [x for x in server['locations'] if x['match'] == match]
    assert len(found) == 1, [x['match'] for x in server['locations']]
    return found[0]


def test_globals(tmp_path):
    facts, p = build(tmp_path)
    assert facts['files'] == [p + n for n in (
        'nginx.conf', 'conf.d/tuning.conf', 'conf.d/upstreams.conf', 'snippets/fastcgi-php.conf',
        'sites-enabled/10-app', 'sites-enabled/20-other')] or facts['files'][0] == p + 'nginx.conf'
    assert sorted(facts['files']) == sorted(p + n for n in SITE)
    assert facts['user'] == {'name': 'www-data', 'group': 'www-data', 'file': p + 'nginx.conf', 'line': 1,
                             'default': False}
    assert facts['worker_processes']['value'] == '2'
    assert facts['worker_connections'] == {'value': '1024', 'file': p + 'nginx.conf', 'line': 7,
                                           'scope': 'events', 'default': False}
    assert facts['worker_rlimit_nofile']['value'] == '4096'
    assert facts['error_log'] == [{'path': '/var/log/nginx/error.log', 'level': 'warn', 'context': 'main',
                                   'file': p + 'nginx.conf', 'line': 4}]
    assert facts['access_log'][0]['format'] == 'main'
    assert facts['resolver']['addresses'] == ['127.0.0.53']
    assert facts['resolver']['valid'] == '30s' and facts['resolver']['ipv6'] is False
    assert facts['counts'] == {'files': 6, 'servers': 2, 'locations': 10, 'upstreams': 1}


def test_upstream_block(tmp_path):
    facts, p = build(tmp_path)
    up = facts['upstreams']['app_pool']
    assert (up['file'], up['line'], up['balancing']) == (p + 'conf.d/upstreams.conf', 1, 'least_conn')
    assert up['keepalive']['value'] == '16'
    s = up['servers']
    assert [x['target']['kind'] for x in s] == ['tcp', 'tcp', 'unix', 'tcp']
    assert (s[0]['target']['host'], s[0]['target']['port'], s[0]['weight'], s[0]['max_fails'],
            s[0]['fail_timeout_seconds']) == ('10.0.0.11', 8080, 3, 2, 5)
    assert s[1]['backup'] is True and s[1]['line'] == 4
    assert s[2]['target']['path'] == '/run/app.sock' and s[2]['down'] is True
    assert (s[3]['target']['host'], s[3]['target']['port']) == ('::1', 8081)


KEEPALIVE_SITE = {'nginx.conf': '''events {}
http {
    upstream kept { server 127.0.0.1:9201; keepalive 8; keepalive_timeout 30s; }
    upstream default_idle { server 127.0.0.1:9202; keepalive 8; }
    upstream no_keepalive { server 127.0.0.1:9203; }
    upstream http10 { server 127.0.0.1:9204; keepalive 8; }
    upstream close { server 127.0.0.1:9205; keepalive 8; }
    server {
        listen 8080;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /kept/ { proxy_pass http://kept; }
        location /default/ { proxy_pass http://default_idle; }
        location /none/ { proxy_pass http://no_keepalive; }
        location /http10/ { proxy_http_version 1.0; proxy_pass http://http10; }
        location /close/ { proxy_set_header Connection close; proxy_pass http://close; }
    }
}
'''}


def test_keepalive_members_are_the_upstreams_whose_connections_are_really_kept(tmp_path):
    facts, p = build(tmp_path, KEEPALIVE_SITE)
    assert facts['upstreams']['kept']['keepalive_timeout'] == {
        'value': '30s', 'seconds': 30.0, 'file': p + 'nginx.conf', 'line': 3, 'scope': 'upstream', 'default': False}
    assert facts['upstreams']['default_idle']['keepalive_timeout'] is None
    # HTTP/1.0 or nginx's own "Connection: close" keep nothing alive, whatever keepalive says
    assert cfg.keepalive_members(facts) == [
        {'host': '127.0.0.1', 'port': 9201, 'upstream': 'kept', 'keepalive_timeout': 30.0},
        {'host': '127.0.0.1', 'port': 9202, 'upstream': 'default_idle', 'keepalive_timeout': 60.0}]
    assert cfg.expand(cfg.compact(facts)) == facts


def test_server_listen_and_names(tmp_path):
    facts, p = build(tmp_path)
    app, other = facts['servers']
    assert (app['file'], app['line']) == (p + 'sites-enabled/10-app', 1)
    assert app['server_name'] == ['app.example.com', 'www.app.example.com']
    l80, l6, l443 = app['listen']
    assert (l80['address'], l80['port'], l80['default_server'], l80['line']) == ('*', 80, True, 2)
    assert (l6['address'], l6['ipv6'], l6['port']) == ('::', True, 80)
    assert (l443['port'], l443['ssl'], l443['http2']) == (443, True, True)
    assert other['listen'][0]['default'] is True and other['listen'][0]['port'] == 80
    assert other['server_name'] == ['other']


def test_effective_timeouts_follow_inheritance(tmp_path):
    facts, p = build(tmp_path)
    app = facts['servers'][0]
    root = loc(app, '/')
    assert root['pass']['target']['kind'] == 'upstream'
    assert root['pass']['target']['upstream'] == 'app_pool'
    t = root['timeouts']
    # read: http level; connect: server level; send: nginx default
    assert (t['read']['value'], t['read']['seconds'], t['read']['scope'], t['read']['file'], t['read']['line']) == \
        ('30s', 30, 'http', p + 'nginx.conf', 11)
    assert (t['connect']['value'], t['connect']['scope'], t['connect']['line']) == ('5s', 'server', 7)
    assert t['send'] == {'value': '60s', 'seconds': 60, 'file': None, 'line': None, 'scope': 'default',
                         'default': True}
    api = loc(app, '/api/')
    assert (api['timeouts']['read']['value'], api['timeouts']['read']['seconds'],
            api['timeouts']['read']['scope'], api['timeouts']['read']['line']) == ('2m', 120, 'location', 15)
    # nested location inherits from /api/, not from the server
    ws = loc(app, '^/api/ws')
    assert ws['parents'] == ['/api/'] and ws['modifier'] == '~'
    assert ws['timeouts']['read']['line'] == 15
    assert ws['http_version']['value'] == '1.1' and ws['http_version']['line'] == 17
    assert ws['buffers']['buffer_size']['bytes'] == 16384


def test_proxy_set_header_is_replaced_not_merged(tmp_path):
    facts, p = build(tmp_path)
    app = facts['servers'][0]
    root = loc(app, '/')
    h = root['headers']
    assert (h['default'], h['scope'], h['file'], h['line']) == (False, 'http', p + 'nginx.conf', 12)
    # in the order nginx sends them; its implicit Connection close follows (Host is set here)
    assert [e['name'] for e in h['sent']] == ['Host', 'X-Real-IP', 'Authorization', 'Cookie', 'Connection']
    assert h['sent'][0] == {'name': 'Host', 'value': '$host', 'file': p + 'nginx.conf', 'line': 12,
                            'implicit': False}
    assert h['sent'][-1] == {'name': 'Connection', 'value': 'close', 'file': None, 'line': None, 'implicit': True}
    # secrets never reach the facts; a pure variable is not a secret
    assert h['sent'][2]['value'] == '********'
    assert h['sent'][3]['value'] == '$http_cookie'
    api = loc(app, '/api/')
    # a level that sets any header still sends nginx's implicit Host and Connection
    assert [(e['name'], e['value'], e['implicit']) for e in api['headers']['sent']] == [
        ('X-Only-Here', '1', False), ('Host', '$proxy_host', True), ('Connection', 'close', True)]
    assert api['headers']['scope'] == 'location'
    assert loc(app, '^/api/ws')['headers']['sent'] == api['headers']['sent']
    assert root['http_version'] == {'value': '1.0', 'file': None, 'line': None, 'scope': 'default',
                                    'default': True}


def test_fastcgi_location_through_include(tmp_path):
    facts, p = build(tmp_path)
    php = loc(facts['servers'][0], '\\.php$')
    assert php['pass']['directive'] == 'fastcgi_pass'
    t = php['pass']['target']
    assert (t['kind'], t['path'], t['scheme']) == ('unix', '/run/php/php8.2-fpm.sock', 'fastcgi')
    assert (php['pass']['file'], php['pass']['line']) == (p + 'sites-enabled/10-app', 27)
    r = php['timeouts']['read']
    assert (r['value'], r['seconds'], r['file'], r['line']) == ('90', 90, p + 'snippets/fastcgi-php.conf', 3)
    params = dict((e['name'], e) for e in php['params']['sent'])
    assert params['SCRIPT_FILENAME']['value'] == '$document_root$fastcgi_script_name'
    assert params['DB_PASSWORD']['value'] == '********'
    assert not any(e['implicit'] for e in php['params']['sent'])
    assert 'headers' not in php and 'http_version' not in php


def test_targets_of_every_kind(tmp_path):
    facts, p = build(tmp_path)
    app, other = facts['servers']
    api = loc(app, '/api/')['pass']['target']
    assert (api['kind'], api['host'], api['port'], api['uri']) == ('tcp', '10.0.0.20', 7080, '/v1/')
    ws = loc(app, '^/api/ws')['pass']['target']
    assert (ws['kind'], ws['path'], ws['uri']) == ('unix', '/run/ws.sock', '/socket')
    fb = loc(app, '@fallback')
    assert fb['modifier'] == '@'
    assert (fb['pass']['target']['kind'], fb['pass']['target']['needs_resolver']) == ('variable', True)
    dyn = loc(app, '/dyn/')['pass']
    assert dyn['condition'] == '$request_method = POST'
    assert (dyn['target']['kind'], dyn['target']['host'], dyn['target']['needs_resolver']) == \
        ('tcp', 'backend.internal', True)
    assert dyn['line'] == 40
    g = loc(app, '/grpc')['pass']['target']
    assert (g['kind'], g['scheme'], g['host'], g['port']) == ('tcp', 'grpcs', '::1', 50051)
    u = loc(app, '/uw')['pass']['target']
    assert (u['scheme'], u['host'], u['port']) == ('uwsgi', '127.0.0.1', 3031)
    assert loc(app, '/health')['pass'] is None and loc(app, '/health')['modifier'] == '='
    o = loc(other, '/')['pass']
    assert o['directive'] == 'fastcgi_pass' and o['target']['port'] == 9000


def test_parse_text_errors():
    stmts, err = cfg.parse_text('/f', 'http {\n  server {\n    listen 80;\n')
    assert err['file'] == '/f' and 'unexpected end of file' in err['message']
    assert stmts[0]['directive'] == 'http'
    assert stmts[0]['block'][0]['block'][0] == {'directive': 'listen', 'line': 3, 'args': ['80']}
    _s, err = cfg.parse_text('/f', 'events {}\n}\n')
    assert (err['line'], err['message']) == (2, 'unexpected "}"')
    _s, err = cfg.parse_text('/f', 'http {\n  listen 80\n}\n')
    # nginx: "}" after words of an unterminated directive is 'unexpected "}"', on the line of the "}"
    assert (err['line'], err['message']) == (3, 'unexpected "}"')
    _s, err = cfg.parse_text('/f', 'worker_processes 2')
    assert err['message'] == 'unexpected end of file, expecting ";" or "}"'
    stmts, err = cfg.parse_text('/f', 'if ($a = "b c") { return 404; }  # c\nadd_header "X-A" \'v;}\';\n')
    assert err is None
    assert stmts[0]['args'] == ['$a', '=', 'b c']
    assert stmts[1]['args'] == ['X-A', 'v;}']


def test_unterminated_block_keeps_the_facts_of_the_rest(tmp_path):
    """One broken include no longer blinds the facts: the rest parses, the error is at nginx's file:line."""
    files = dict(SITE)
    files['sites-enabled/20-other'] = 'server {\n    server_name other;\n    location / {\n        proxy_pass http://10.9.9.9:81;\n'
    facts, p = build(tmp_path, files)
    assert facts['valid'] is False
    # nginx counts the line at the end of the file: 4 lines ending in a newline -> line 5
    assert facts['validation']['errors'] == [{'level': 'emerg', 'message': 'unexpected end of file, expecting "}"',
                                              'file': p + 'sites-enabled/20-other', 'line': 5}]
    app, other = facts['servers']
    assert app['server_name'][0] == 'app.example.com' and len(app['locations']) > 3
    # what parsed of the broken file is there too, its open blocks closed at the end of the file
    assert other['server_name'] == ['other']
    assert other['locations'][0]['pass']['target']['port'] == 81


def test_syntax_error_is_not_repeated_when_nginx_t_printed_it(tmp_path):
    raw = {'config': '/e/nginx.conf', 'conf_prefix': '/e/', 'valid': False,
           'validation': {'errors': [{'level': 'emerg', 'message': 'unexpected "}"', 'file': '/e/a.conf', 'line': 2}],
                          'warnings': []},
           'files': [{'path': '/e/nginx.conf', 'content': 'http { include a.conf; include b.conf; }\n'},
                     {'path': '/e/a.conf', 'content': 'server {}\n}\n'},
                     {'path': '/e/b.conf', 'content': 'server { listen 81 }\n'}]}
    facts = cfg.build_facts(raw)
    # nginx -t stops at the first error; the facts name every broken file, each once
    assert [(e['file'], e['line'], e['message']) for e in facts['validation']['errors']] == [
        ('/e/a.conf', 2, 'unexpected "}"'), ('/e/b.conf', 1, 'unexpected "}"')]
    assert len(facts['servers']) == 2 and facts['valid'] is False


def test_controller_detects_include_loop():
    raw = {'config': '/e/nginx.conf', 'conf_prefix': '/e/', 'files': [
        {'path': '/e/nginx.conf', 'content': 'http { include a.conf; }'},
        {'path': '/e/a.conf', 'content': 'include nginx.conf;'}]}
    with pytest.raises(cfg.ConfigError, match=r'include loop: /e/nginx.conf -> /e/a.conf -> /e/nginx.conf'):
        cfg.build_facts(raw)


def test_time_and_size():
    assert cfg.parse_time('60') == 60
    assert cfg.parse_time('1m30s') == 90
    assert cfg.parse_time('500ms') == 0.5
    assert cfg.parse_time('1h 2m') == 3720
    assert cfg.parse_time('abc') is None
    assert cfg.parse_size('16k') == 16384
    assert cfg.parse_size('1M') == 1048576
    assert cfg.parse_size('8 4k') is None


@pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')
def test_same_facts_from_dump_and_from_files(tmp_path):
    """Facts read from the nginx -T dump equal the facts read from the files."""
    files = {
        'nginx.conf': ('pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n'
                       '    access_log off;\n    proxy_read_timeout 7s;\n    include conf.d/*.conf;\n}\n')
        % (tmp_path, tmp_path),
        'conf.d/a.conf': 'upstream u { server 127.0.0.1:18090; }\nserver {\n    listen 127.0.0.1:18089;\n'
                         '    location / { proxy_pass http://u; include snip.conf; }\n}\n',
        'snip.conf': 'proxy_set_header X-A 1;\n',
    }
    facts_files, prefix = build(tmp_path, files)
    proc = subprocess.run([NGINX, '-T', '-p', prefix, '-c', prefix + 'nginx.conf'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr
    raw = {'files': [{'path': p, 'content': c.decode()} for p, c in nc.split_dump(proc.stdout)],
           'config': prefix + 'nginx.conf', 'conf_prefix': prefix, 'prefix': '/usr/share/nginx/',
           'build': {'version': '1.22.1', 'paths': {'http_log_path': '/var/log/nginx/access.log'}},
           'valid': True, 'validation': {'errors': [], 'warnings': []}, 'warnings': [],
           'source': 'files', 'binary': '/usr/sbin/nginx'}
    facts_dump = cfg.build_facts(raw)
    # each gathering has its own identity; everything else is the same
    assert facts_dump.pop('gathered')['id'] != facts_files.pop('gathered')['id']
    assert facts_dump == facts_files
    loc0 = facts_dump['servers'][0]['locations'][0]
    assert loc0['headers']['sent'][0] == {'name': 'X-A', 'value': '1', 'file': prefix + 'snip.conf', 'line': 1,
                                          'implicit': False}
    assert loc0['timeouts']['read']['seconds'] == 7


def test_a_tcp_target_is_probed_no_longer_than_nginx_waits_to_connect_to_it(tmp_path):
    """probe_targets: each TCP target once, with the longest connect timeout of the routes that reach it."""
    facts, _prefix = build(tmp_path, {'nginx.conf': '''
events {}
http {
    proxy_connect_timeout 2s;
    upstream app { server 10.0.0.5:8080; server 10.0.0.6:8080; }
    server {
        listen 80;
        location / { proxy_pass http://app; }
        location /slow/ { proxy_pass http://10.0.0.5:8080; proxy_connect_timeout 500ms; }
        location /patient/ { proxy_pass http://10.0.0.6:8080; proxy_connect_timeout 5s; }
        location /api/ { proxy_pass http://10.0.0.7:9000; proxy_connect_timeout 1s; }
        location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; }
        location /s/ { proxy_pass http://unix:/run/app.sock; }
    }
}
'''})
    tcp, unix = cfg.probe_targets(facts)
    assert sorted((t['host'], t['port'], t['connect_timeout']) for t in tcp) == [
        ('10.0.0.5', 8080, 2.0), ('10.0.0.6', 8080, 5.0), ('10.0.0.7', 9000, 1.0), ('127.0.0.1', 9000, 60.0)]
    assert unix == ['/run/app.sock']
