# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_edit: a file's context is where nginx includes it; patterns compared as nginx reads them;
only files of the include tree; atomic_write names the file it writes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_edit as ne
from ansible_collections.badgateway.nginx.plugins.module_utils import _redact

# Magento's nginx.conf.sample pattern: the file holds bare location blocks and is included inside a server
MAGENTO_SITE = '''upstream fastcgi_backend {
    server unix:/run/php/php-fpm.sock;
}
server {
    listen 80;
    server_name shop.test;
    set $MAGE_ROOT /var/www/magento;
    include /etc/nginx/magento.conf;
}
server {
    listen 8080;
    server_name admin.test;
    include /etc/nginx/magento.conf;
}
'''
MAGENTO_SAMPLE = '''root $MAGE_ROOT/pub;
index index.php;

location / {
    try_files $uri $uri/ /index.php$is_args$args;
}

location ~ ^/(index|get|static|errors/report|errors/404|errors/503|health_check)\\.php$ {
    fastcgi_pass   fastcgi_backend;
    fastcgi_read_timeout 600s;
}
'''


def write_tree(tmp_path, files):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return str(tmp_path) + '/'


def magento(tmp_path):
    p = write_tree(tmp_path, {
        'nginx.conf': 'events {}\nhttp {\n    include sites-enabled/*;\n}\n',
        'sites-available/magento': MAGENTO_SITE.replace('/etc/nginx/', str(tmp_path) + '/'),
        'magento.conf': MAGENTO_SAMPLE,
    })
    os.mkdir(p + 'sites-enabled')
    os.symlink('../sites-available/magento', p + 'sites-enabled/magento')
    return p


def test_file_included_inside_a_server_is_that_servers_body(tmp_path):
    p = magento(tmp_path)
    spec = {'scope': 'location', 'location': '~ ^/(index|get|static|errors/report|errors/404|errors/503|health_check)\\.php$',
            'directive': 'fastcgi_read_timeout', 'args': ['900s']}
    data = open(p + 'magento.conf', 'rb').read()
    # without knowing where it is included, the file has no server block (what failed before)
    with pytest.raises(ne.EditError) as e:
        ne.plan_edit(data, spec, p + 'magento.conf')
    assert 'no server block found' in str(e.value)
    real, contexts = ne.tree_file(p + 'magento.conf', p + 'nginx.conf')
    assert real == p + 'magento.conf'
    assert [[c.name for c in ctx] for ctx in contexts] == [['http', 'server'], ['http', 'server']]
    # included in two servers: the same location of the same file, one edit serves both
    r = ne.plan_edit(data, spec, p + 'magento.conf', contexts)
    assert r['action'] == 'replaced' and r['line'] == 10
    assert r['after'] == data.replace(b'fastcgi_read_timeout 600s;', b'fastcgi_read_timeout 900s;')
    # server_name / listen select by the including server
    for sel in ({'server_name': 'shop.test'}, {'listen': '8080'}):
        assert ne.plan_edit(data, dict(spec, **sel), p + 'magento.conf', contexts)['action'] == 'replaced'
    with pytest.raises(ne.EditError) as e:
        ne.plan_edit(data, dict(spec, server_name='nope.test'), p + 'magento.conf', contexts)
    assert 'no server block with server_name nope.test' in str(e.value)
    assert '(where nginx reads it: inside http (%snginx.conf:2) > server (' % p in str(e.value)
    # scope server: the including server is the file itself
    r = ne.plan_edit(data, {'scope': 'server', 'server_name': 'shop.test', 'directive': 'index', 'args': ['index.html']},
                     p + 'magento.conf', contexts)
    assert r['after'] == data.replace(b'index index.php;', b'index index.html;')
    # scope http cannot be selected in a file nginx reads inside a server
    with pytest.raises(ne.EditError) as e:
        ne.plan_edit(data, {'scope': 'http', 'directive': 'gzip', 'args': ['on']}, p + 'magento.conf', contexts)
    assert 'nginx reads it inside http' in str(e.value)


def test_site_included_in_http_and_the_main_file(tmp_path):
    p = magento(tmp_path)
    site = p + 'sites-enabled/magento'
    real, contexts = ne.tree_file(site, p + 'nginx.conf')
    assert real == p + 'sites-available/magento' and [[c.name for c in x] for x in contexts] == [['http']]
    data = open(real, 'rb').read()
    r = ne.plan_edit(data, {'scope': 'upstream', 'upstream': 'fastcgi_backend', 'directive': 'keepalive',
                            'args': ['8']}, real, contexts)
    assert r['action'] == 'added'
    real, contexts = ne.tree_file(p + 'nginx.conf', p + 'nginx.conf')
    assert contexts == [[]]
    r = ne.plan_edit(open(real, 'rb').read(), {'scope': 'events', 'directive': 'worker_connections', 'args': ['64']},
                     real, contexts)
    assert r['action'] == 'added'


def test_files_nginx_does_not_read_are_refused(tmp_path):
    p = magento(tmp_path)
    (tmp_path / 'stray.conf').write_text('server { listen 1; }\n')
    os.symlink(str(tmp_path / 'stray.conf'), p + 'link-out.conf')
    for path in (p + 'stray.conf', p + 'link-out.conf', '/etc/passwd'):
        with pytest.raises(ne.EditError) as e:
            ne.tree_file(path, p + 'nginx.conf')
        assert 'is not a file nginx reads: it is not in the include tree of %snginx.conf' % p in str(e.value)
    with pytest.raises(ne.EditError) as e:
        ne.tree_file(p + 'link-out.conf', p + 'nginx.conf')
    assert '(it resolves to %sstray.conf)' % p in str(e.value)
    # the target of a link nginx includes is read through it: the target is the file to edit
    assert ne.tree_file(p + 'sites-available/magento', p + 'nginx.conf')[0] == p + 'sites-available/magento'


def test_unreadable_include_is_named(tmp_path):
    p = write_tree(tmp_path, {'nginx.conf': 'http { include a.conf; include b.conf; }\n',
                              'a.conf': 'server { listen 1;\n', 'c.conf': 'server {}\n'})
    os.mkfifo(p + 'b.conf')
    with pytest.raises(ne.EditError) as e:
        ne.tree_file(p + 'c.conf', p + 'nginx.conf')
    assert 'these files could not be read' in str(e.value) and 'b.conf is not a regular file' in str(e.value)
    assert 'a.conf' in str(e.value) and 'unexpected end of file' in str(e.value)


def test_include_loop_is_not_followed(tmp_path):
    p = write_tree(tmp_path, {'nginx.conf': 'http { include a.conf; }\n', 'a.conf': 'include nginx.conf;\n'})
    files, problems = ne.read_include_tree(p + 'nginx.conf')
    assert sorted(files) == [p + 'a.conf', p + 'nginx.conf']
    assert problems == ['include loop at %sa.conf:1 (%snginx.conf)' % (p, p)]


ESCAPED = b'''server {
    listen 80;
    location ~ "^/a b$" { return 200 one; }
    location ~ ^/c\\ d$ { return 200 two; }
    location ~ "\\.(js|css){1}$" { return 200 three; }
    location ~ ^/x\\;y { return 200 four; }
    location "/e f/" { return 200 five; }
    location =/exact { return 200 six; }
}
'''


@pytest.mark.parametrize('written,facts', [
    ('~ "^/a b$"', '~ ^/a b$'),
    ('~ ^/c\\ d$', '~ ^/c\\ d$'),
    ('~ "\\.(js|css){1}$"', '~ \\.(js|css){1}$'),
    ('~ ^/x\\;y', '~ ^/x\\;y'),
    ('"/e f/"', '/e f/'),
    ('=/exact', '= /exact'),
])
def test_location_with_escaped_blank_brace_or_semicolon_is_selected(written, facts):
    for location in (written, facts):
        r = ne.plan_edit(ESCAPED, {'scope': 'location', 'location': location, 'directive': 'expires',
                                   'args': ['1h']}, '/t.conf')
        assert r['action'] == 'added', location
        line = [ln for ln in r['after'].decode().splitlines() if 'expires 1h;' in ln]
        assert len(line) == 1 and ne.parse(r['after'].decode('latin-1'))[0]  # still parses


def test_location_pattern_selects_the_right_block():
    r = ne.plan_edit(ESCAPED, {'scope': 'location', 'location': '~ ^/a b$', 'directive': 'expires', 'args': ['1h']},
                     '/t.conf')
    assert b'location ~ "^/a b$" { return 200 one; expires 1h; }' in r['after']


def test_atomic_write_names_the_file_not_the_temp_file(tmp_path):
    path = str(tmp_path / 'site.conf')
    with open(path, 'w') as f:
        f.write('x;\n')
    st = os.stat(path)
    if subprocess.call(['chattr', '+i', path], stderr=subprocess.DEVNULL) != 0:
        pytest.skip('chattr +i is not supported here')
    try:
        with pytest.raises(OSError) as e:
            ne.atomic_write(path, b'y;\n', st)
        assert e.value.filename == path and not getattr(e.value, 'filename2', None), e.value
        assert os.listdir(str(tmp_path)) == ['site.conf']
        with open(path) as f:
            assert f.read() == 'x;\n'
    finally:
        subprocess.call(['chattr', '-i', path])


def test_redaction_of_secret_values():
    text = ('server {\n    proxy_set_header Authorization "Bearer abc";\n'
            '    proxy_set_header X-Auth $http_authorization;\n    add_header Set-Cookie "sid=1";\n'
            '    secure_link_secret s3cr3t;\n    set $api_key k;\n    proxy_set_header Host $host;\n}\n')
    out = _redact.redact_nginx_text(text)
    assert 'abc' not in out and 'sid=1' not in out and 's3cr3t' not in out and ' k;' not in out
    assert 'proxy_set_header Authorization ********;' in out
    assert 'proxy_set_header X-Auth $http_authorization;' in out and 'proxy_set_header Host $host;' in out
    # text that does not parse: hidden from the name on
    assert _redact.redact_nginx_text('proxy_set_header Authorization "Bearer x\n') == \
        'proxy_set_header Authorization ********\n'
    ini = '[www]\nenv[DB_PASSWORD] = hunter2\npm = static\n'
    assert _redact.redact_ini_text(ini, lambda k: 'PASSWORD' in k) == '[www]\nenv[DB_PASSWORD] = ********\npm = static\n'
