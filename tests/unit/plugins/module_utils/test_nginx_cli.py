# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _command as command
from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_cli as nc

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
needs_nginx = pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')

# Recorded from nginx 1.22 (Debian, error log on stderr) and 1.24 (built-in file log)
RECORDED_TEST_OUTPUT = '''\
nginx: [warn] conflicting server name "example.com" on 0.0.0.0:80, ignored
2026/11/22 08:17:43 [emerg] 4435#4435: open() "/tmp/t/missing.conf" failed (2: No such file or directory) in /tmp/t1.conf:3
nginx: [emerg] unknown directive "proxy_passs" in /etc/nginx/sites-enabled/app.conf:12
nginx: [emerg] host not found in upstream "backend.internal:8080" in /etc/nginx/conf.d/up stream.conf:4
nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed (13: Permission denied)
nginx: configuration file /etc/nginx/nginx.conf test failed
garbage \x00\x01 line that is not nginx output
'''


def test_parse_test_output_levels_files_lines():
    errors, warnings = nc.parse_test_output(RECORDED_TEST_OUTPUT)
    assert [e['level'] for e in errors] == ['emerg', 'emerg', 'emerg', 'alert']
    assert errors[0] == {'level': 'emerg', 'file': '/tmp/t1.conf', 'line': 3,
                         'message': 'open() "/tmp/t/missing.conf" failed (2: No such file or directory)'}
    assert errors[1]['file'] == '/etc/nginx/sites-enabled/app.conf'
    assert errors[1]['line'] == 12
    assert errors[1]['message'] == 'unknown directive "proxy_passs"'
    # a path with a space is kept whole
    assert errors[2]['file'] == '/etc/nginx/conf.d/up stream.conf'
    assert errors[2]['line'] == 4
    assert errors[3]['file'] is None and errors[3]['line'] is None
    assert warnings == [{'level': 'warn', 'file': None, 'line': None,
                         'message': 'conflicting server name "example.com" on 0.0.0.0:80, ignored'}]
    assert nc.describe(errors[1]) == '/etc/nginx/sites-enabled/app.conf:12: unknown directive "proxy_passs"'


def test_parse_version_recorded():
    text = ('nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11 19 Sep 2023\nTLS SNI support enabled\n'
            "configure arguments: --with-cc-opt='-g -O2 -fstack-protector-strong' --prefix=/usr/share/nginx "
            '--conf-path=/etc/nginx/nginx.conf --error-log-path=/var/log/nginx/error.log --user=www-data '
            '--with-http_ssl_module --with-stream=dynamic --add-dynamic-module=/build/ngx_brotli\n')
    info = nc.parse_version(text)
    assert info['version'] == '1.22.1'
    assert info['product'] == 'nginx/1.22.1'
    assert info['paths']['prefix'] == '/usr/share/nginx'
    assert info['paths']['user'] == 'www-data'
    assert info['configure_arguments'][0] == '--with-cc-opt=-g -O2 -fstack-protector-strong'
    assert 'http_ssl_module' in info['modules'] and 'ngx_brotli' in info['modules']
    prefix, conf, conf_prefix = nc.resolve_paths(info)
    assert (prefix, conf, conf_prefix) == ('/usr/share/nginx/', '/etc/nginx/nginx.conf', '/etc/nginx/')
    # -c and -p override; a relative -c is relative to the prefix
    assert nc.resolve_paths(info, 'conf/x.conf', '/opt/n') == ('/opt/n/', '/opt/n/conf/x.conf', '/opt/n/conf/')


def test_parse_version_openresty_and_defaults():
    info = nc.parse_version('nginx version: openresty/1.21.4.3\nconfigure arguments:\n')
    assert info['version'] == '1.21.4.3'
    assert nc.resolve_paths(info) == ('/usr/local/nginx/', '/usr/local/nginx/conf/nginx.conf',
                                      '/usr/local/nginx/conf/')


def test_find_nginx_explicit_and_missing(tmp_path):
    with pytest.raises(nc.NginxError, match='does not exist or is not executable'):
        nc.find_nginx(str(tmp_path / 'nope'))
    fake = tmp_path / 'nginx'
    fake.write_text('#!/bin/sh\n')
    fake.chmod(0o755)
    assert nc.find_nginx(None, environ_path=str(tmp_path)) == str(fake)


def test_run_never_uses_a_shell(tmp_path):
    marker = tmp_path / 'pwned'
    rc, out, err = command.run(['/bin/echo', '; touch %s' % marker], 5)
    assert rc == 0
    assert out.strip() == ('; touch %s' % marker).encode()
    assert not marker.exists()


def test_run_timeout():
    with pytest.raises(command.CommandError, match='did not finish within 1 seconds'):
        command.run(['/bin/sleep', '5'], 1)


def test_check_content_binary_big_and_latin1():
    with pytest.raises(nc.NginxError, match=r'binary file \(NUL byte on line 2\)'):
        nc.check_content('/x', b'events {}\n\x00\x01', 100)
    with pytest.raises(nc.NginxError, match='larger than max_file_size'):
        nc.check_content('/x', b'#' * 101, 100)
    text, warning = nc.check_content('/x', b'# caf\xe9\n# ok\n', 100)
    assert text == u'# caf\ufffd\n# ok\n'
    assert warning == '/x:1: bytes that are not UTF-8 were replaced with U+FFFD'
    assert nc.check_content('/x', b'events {}\n', 100) == ('events {}\n', None)


def test_include_statements_ignores_comments_and_quotes():
    text = ('# include /etc/not-this.conf;\n'
            'http {\n'
            '    include "/etc/nginx/conf.d/*.conf";  # trailing comment\n'
            "    add_header X-Inc 'include x;';\n"
            '    server { include snippets/a.conf; }\n'
            '}\n')
    assert list(nc.include_statements(text, '/f')) == [
        (3, ['/etc/nginx/conf.d/*.conf']),
        (5, ['snippets/a.conf']),
    ]
    # nginx stops reading a file at its syntax error: the includes before it count, none after
    # (the controller reports the error itself)
    assert list(nc.include_statements('include a.conf;\nhttp {\n add_header X "open;\n include b.conf;\n}\n',
                                      '/f')) == [(1, ['a.conf'])]
    # nginx's tokenizer: "}" does not end a word, "${" opens no block, a quote inside a word is a character
    assert list(nc.include_statements('return 200 a}b; include x}y.conf;\nset $a ${b}c; include i"q.conf;\n',
                                      '/f')) == [(1, ['x}y.conf']), (2, ['i"q.conf'])]


def _tree(tmp_path, files):
    for name, content in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(tmp_path / 'nginx.conf'), str(tmp_path) + '/'


def test_read_config_tree_globs_sorted_relative_and_missing(tmp_path):
    main, prefix = _tree(tmp_path, {
        'nginx.conf': 'events {}\nhttp {\n include conf.d/*.conf;\n include missing.conf;\n'
                      ' include sites/*;\n}\n',
        'conf.d/b.conf': 'include snippets/s.conf;\n',
        'conf.d/a.conf': 'include snippets/s.conf;\n',
        'conf.d/ignored.txt': 'x',
        'snippets/s.conf': 'proxy_read_timeout 5s;\n',
        'sites/z': 'server { listen 81; }\n',
    })
    files, errors, warnings = nc.read_config_tree(main, prefix)
    names = [p[len(prefix):] for p, _t in files]
    assert names == ['nginx.conf', 'conf.d/a.conf', 'snippets/s.conf', 'conf.d/b.conf', 'sites/z']
    assert errors == [{'level': 'emerg', 'file': main, 'line': 4,
                       'message': 'open() "%smissing.conf" failed (2: No such file or directory)' % prefix}]
    assert warnings == []


def test_read_config_tree_loop_binary_missing(tmp_path):
    main, prefix = _tree(tmp_path, {
        'nginx.conf': 'http { include a.conf; }\n',
        'a.conf': 'include b.conf;\n',
        'b.conf': '\n\ninclude a.conf;\n',
    })
    with pytest.raises(nc.NginxError) as e:
        nc.read_config_tree(main, prefix)
    assert str(e.value) == 'include loop: {0}nginx.conf -> {0}a.conf -> {0}b.conf -> {0}a.conf (at {0}b.conf:3)'.format(prefix)

    main, prefix = _tree(tmp_path, {'nginx.conf': 'http { include bin.conf; }\n', 'bin.conf': b'\x7fELF\x00\x00'})
    with pytest.raises(nc.NginxError, match='bin.conf is a binary file'):
        nc.read_config_tree(main, prefix)

    with pytest.raises(nc.NginxError, match='does not exist'):
        nc.read_config_tree(str(tmp_path / 'absent.conf'), prefix)


def test_read_config_tree_big_file(tmp_path):
    main, prefix = _tree(tmp_path, {'nginx.conf': 'http { include big.conf; }\n'})
    with open(str(tmp_path / 'big.conf'), 'wb') as f:
        f.truncate(50 * 1024 * 1024)
    with pytest.raises(nc.NginxError, match=r'big.conf is 52428800 bytes, larger than max_file_size \(16777216\)'):
        nc.read_config_tree(main, prefix)


def test_read_config_tree_diamond_is_not_a_loop(tmp_path):
    main, prefix = _tree(tmp_path, {
        'nginx.conf': 'http { include a.conf; include b.conf; }\n',
        'a.conf': 'include common.conf;\n',
        'b.conf': 'include common.conf;\n',
        'common.conf': 'proxy_read_timeout 5s;\n',
    })
    files, errors, _w = nc.read_config_tree(main, prefix)
    assert [p[len(prefix):] for p, _t in files] == ['nginx.conf', 'a.conf', 'common.conf', 'b.conf']
    assert errors == []


@needs_nginx
def test_split_dump_matches_files_byte_for_byte(tmp_path):
    files = {
        'nginx.conf': ('pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n'
                       '    access_log off;\n    include conf.d/*.conf;\n}\n') % (tmp_path, tmp_path),
        'conf.d/a.conf': 'server {\n    listen 127.0.0.1:18081;\n    location / { return 200; }\n}\n',
        'conf.d/b.conf': 'server { listen 127.0.0.1:18082; }',  # no final newline
        'conf.d/c.conf': '# configuration file /not/a/marker:\n\n\n',
    }
    main, prefix = _tree(tmp_path, files)
    proc = subprocess.run([NGINX, '-T', '-p', prefix, '-c', main], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    assert proc.returncode == 0, proc.stderr
    dumped = nc.split_dump(proc.stdout)
    assert [p for p, _c in dumped] == [main] + [prefix + n for n in ('conf.d/a.conf', 'conf.d/b.conf', 'conf.d/c.conf')]
    for path, content in dumped:
        assert content == files[path[len(prefix):]].encode(), path
