# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_directive end to end, through Ansible, against the controller's real nginx binary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import subprocess

import pytest

from test_modules_local import ANSIBLE, NGINX, base_conf, run_module, write
from conftest import ansible_env

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')

SITE = ('# app site\n'
        'server {\n'
        '    listen 127.0.0.1:18291;\n'
        '    server_name app.test;\n'
        '\n'
        '    location / {\n'
        '        proxy_pass http://127.0.0.1:18292;\n'
        '    }\n'
        '\n'
        '    location /api/ {\n'
        '        proxy_pass http://127.0.0.1:18292;\n'
        '        proxy_read_timeout 30s;  # reports are slow\n'
        '    }\n'
        '}\n')
OTHER = 'server {\n    listen 127.0.0.1:18293;\n    location /api/ {\n        proxy_read_timeout 5s;\n    }\n}\n'


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def tree(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include conf.d/*.conf;\n'),
                         'conf.d/app.conf': SITE, 'conf.d/other.conf': OTHER})
    os.chmod(p + 'conf.d/app.conf', 0o640)
    return p


def args_for(p, **extra):
    a = {'path': p + 'conf.d/app.conf', 'scope': 'location', 'server_name': 'app.test', 'location': '/api/',
         'directive': 'proxy_read_timeout', 'args': ['120s'], 'config': p + 'nginx.conf', 'prefix': p,
         'nginx_bin': NGINX}
    a.update(extra)
    return a


def run_diff(args, check=False):
    """Run with --diff and the default callback, return its stdout."""
    env = ansible_env(ANSIBLE_NOCOLOR='1')
    argv = [ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_directive', '-a', json.dumps(args), '--diff']
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                          universal_newlines=True)
    return proc.stdout


def test_change_one_location_in_multi_file_config(tmp_path):
    p = tree(tmp_path)
    app = p + 'conf.d/app.conf'
    other_before = sha256(p + 'conf.d/other.conf')
    st = os.stat(app)

    # check mode: the change and the diff, nothing written
    before = sha256(app)
    r = run_module('nginx_directive', args_for(p), check=True)
    assert not r.get('failed') and r['changed'] is True and r['action'] == 'replaced' and r['line'] == 12, r
    assert sha256(app) == before
    assert 'validation' not in r

    out = run_diff(args_for(p), check=True)
    assert sha256(app) == before
    changed = [ln for ln in out.splitlines() if re.match(r'^[-+](?![-+]{2})', ln)]
    assert changed == ['-        proxy_read_timeout 30s;  # reports are slow',
                       '+        proxy_read_timeout 120s;  # reports are slow'], out
    assert '--- before: %s' % app in out and '+++ after: %s' % app in out

    r = run_module('nginx_directive', args_for(p))
    assert not r.get('failed'), r
    assert (r['changed'], r['action'], r['line'], r['path'], r['scope'], r['directive']) == \
        (True, 'replaced', 12, app, 'location', 'proxy_read_timeout')
    assert r['validation'] == {'errors': [], 'warnings': [], 'restored': False}
    with open(app) as f:
        assert f.read() == SITE.replace('proxy_read_timeout 30s;', 'proxy_read_timeout 120s;')
    st2 = os.stat(app)
    assert (st2.st_mode, st2.st_uid, st2.st_gid) == (st.st_mode, st.st_uid, st.st_gid)
    assert sha256(p + 'conf.d/other.conf') == other_before
    assert run_module('nginx_validate', {'config': p + 'nginx.conf', 'prefix': p})['valid'] is True

    # second run: no change
    r = run_module('nginx_directive', args_for(p))
    assert not r.get('failed') and r['changed'] is False and r['action'] == 'none', r

    # add one in the other location, with a backup
    r = run_module('nginx_directive', args_for(p, location='/', directive='proxy_connect_timeout', args=['5s'],
                                               backup=True))
    assert r['changed'] is True and r['action'] == 'added' and r['line'] == 8, r
    with open(r['backup_file']) as f:
        assert f.read() == SITE.replace('proxy_read_timeout 30s;', 'proxy_read_timeout 120s;')
    with open(app) as f:
        assert f.read().splitlines()[6:9] == ['        proxy_pass http://127.0.0.1:18292;',
                                              '        proxy_connect_timeout 5s;', '    }']


def test_invalid_value_is_put_back_byte_for_byte(tmp_path):
    p = tree(tmp_path)
    app = p + 'conf.d/app.conf'
    before = sha256(app)
    st = os.stat(app)
    r = run_module('nginx_directive', args_for(p, args=['abc']))
    assert r['failed'] is True and r['changed'] is False
    assert r['msg'] == ('nginx -t failed after the change, original %s put back: %s:12: '
                        '"proxy_read_timeout" directive invalid value' % (app, app)), r
    assert r['validation']['restored'] is True
    assert r['validation']['errors'][0]['file'] == app and r['validation']['errors'][0]['line'] == 12
    assert sha256(app) == before
    st2 = os.stat(app)
    assert (st2.st_mode, st2.st_uid, st2.st_gid) == (st.st_mode, st.st_uid, st.st_gid)
    assert sorted(os.listdir(p + 'conf.d')) == ['app.conf', 'other.conf']


def test_refusals_change_nothing(tmp_path):
    p = tree(tmp_path)
    app = p + 'conf.d/app.conf'
    before = sha256(app)
    r = run_module('nginx_directive', args_for(p, args=['1s;\n}\nserver {']))
    assert r['failed'] is True and r['msg'] == "argument '1s;\\n}\\nserver {' contains a newline or control character"
    r = run_module('nginx_directive', args_for(p, directive='proxy_read_timeout 1s; root /'))
    assert r['failed'] is True and r['msg'].startswith('invalid directive name')
    r = run_module('nginx_directive', args_for(p, server_name='nope.test'))
    # the message says where nginx reads the file (its context is the http block that includes it)
    assert r['failed'] is True and r['msg'] == ('no server block with server_name nope.test found in %s (where nginx '
                                                'reads it: inside http (%snginx.conf:4))' % (app, p)), r['msg']
    r = run_module('nginx_directive', args_for(p, line=3))
    assert r['failed'] is True
    assert r['msg'] == ('no location /api/ in server block with server_name app.test starts at %s:3 (where nginx '
                        'reads it: inside http (%snginx.conf:4)); candidates: line 10 (location /api/)' % (app, p))
    r = run_module('nginx_directive', {'path': app, 'directive': 'x', 'block': 'map $a $b { }'})
    assert r['failed'] is True and 'mutually exclusive' in r['msg']
    assert sha256(app) == before


def test_map_block_and_absent(tmp_path):
    p = tree(tmp_path)
    conf = p + 'nginx.conf'
    block = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n"
    a = {'path': conf, 'scope': 'http', 'block': block, 'config': conf, 'prefix': p}
    r = run_module('nginx_directive', a)
    assert not r.get('failed') and r['action'] == 'added' and r['directive'] == 'map', r
    with open(conf) as f:
        assert "    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        '' close;\n    }\n}\n" \
            in f.read()
    assert run_module('nginx_directive', a)['changed'] is False
    r = run_module('nginx_directive', dict(a, state='absent'))
    assert r['changed'] is True and r['action'] == 'removed'
    with open(conf) as f:
        assert f.read() == base_conf(tmp_path, '    include conf.d/*.conf;\n')


MAGENTO = ('server {\n    listen 127.0.0.1:18294;\n    server_name shop.test;\n    set $MAGE_ROOT %s;\n'
           '    include %s/magento.conf;\n}\n')
MAGENTO_SAMPLE = ('root $MAGE_ROOT/pub;\n\nlocation / {\n    try_files $uri $uri/ /index.php$is_args$args;\n}\n\n'
                  'location ~ "^/media b/" {\n    expires 1h;\n}\n\n'
                  'location ~ ^/(index|get|static)\\.php$ {\n    fastcgi_pass 127.0.0.1:18295;\n'
                  '    fastcgi_read_timeout 600s;\n}\n')


def debian_tree(tmp_path):
    """Debian's layout: sites-enabled/shop -> ../sites-available/shop; the site includes Magento's sample."""
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include sites-enabled/*;\n'),
                         'sites-available/shop': MAGENTO % (tmp_path, tmp_path),
                         'magento.conf': MAGENTO_SAMPLE, 'stray.conf': 'server {\n    listen 1;\n}\n'})
    os.mkdir(p + 'sites-enabled')
    os.symlink('../sites-available/shop', p + 'sites-enabled/shop')
    return p


def test_file_included_inside_a_server_is_edited_in_that_server(tmp_path):
    p = debian_tree(tmp_path)
    sample = p + 'magento.conf'
    a = {'path': sample, 'scope': 'location', 'server_name': 'shop.test', 'location': '~ ^/(index|get|static)\\.php$',
         'directive': 'fastcgi_read_timeout', 'args': ['900s'], 'config': p + 'nginx.conf', 'prefix': p,
         'nginx_bin': NGINX}
    r = run_module('nginx_directive', a)
    assert not r.get('failed') and r['action'] == 'replaced' and r['line'] == 13, r
    assert r['validation']['errors'] == []
    with open(sample) as f:
        assert f.read() == MAGENTO_SAMPLE.replace('600s', '900s')
    # a pattern with a blank, as the facts report it and as the file has it
    for location in ('~ ^/media b/', '~ "^/media b/"'):
        r = run_module('nginx_directive', dict(a, location=location, directive='expires', args=['2h']))
        assert not r.get('failed'), r
    with open(sample) as f:
        assert 'location ~ "^/media b/" {\n    expires 2h;\n}' in f.read()
    r = run_module('nginx_directive', dict(a, scope='server', location=None, directive='index', args=['index.php']))
    assert not r.get('failed') and r['action'] == 'added', r
    assert run_module('nginx_validate', {'config': p + 'nginx.conf', 'prefix': p})['valid'] is True


def test_symlinked_site_is_edited_through_its_target_and_the_link_stays(tmp_path):
    p = debian_tree(tmp_path)
    link = p + 'sites-enabled/shop'
    target = p + 'sites-available/shop'
    a = {'path': link, 'scope': 'server', 'server_name': 'shop.test', 'directive': 'client_max_body_size',
         'args': ['64m'], 'config': p + 'nginx.conf', 'prefix': p, 'nginx_bin': NGINX, 'backup': True}
    r = run_module('nginx_directive', a)
    assert not r.get('failed') and r['changed'] is True and r['real_path'] == target, r
    assert os.path.islink(link) and os.readlink(link) == '../sites-available/shop'
    with open(target) as f:
        assert '    client_max_body_size 64m;\n' in f.read()
    assert os.path.dirname(r['backup_file']) == p + 'sites-available'
    # a failed nginx -t puts the target back, the link stays a link
    before = sha256(target)
    r = run_module('nginx_directive', dict(a, args=['lots'], backup=False))
    assert r['failed'] is True and r['validation']['restored'] is True, r
    assert sha256(target) == before and os.path.islink(link)


def test_files_nginx_does_not_read_are_refused(tmp_path):
    p = debian_tree(tmp_path)
    os.symlink(p + 'stray.conf', p + 'sites-available/out')
    outside = str(tmp_path.parent / ('%s-outside.conf' % tmp_path.name))
    with open(outside, 'w') as f:
        f.write('server {\n    listen 1;\n}\n')
    try:
        for path in (p + 'stray.conf', p + 'sites-available/out', outside):
            before = sha256(path)
            r = run_module('nginx_directive', {'path': path, 'scope': 'server', 'directive': 'listen', 'args': ['2'],
                                               'config': p + 'nginx.conf', 'prefix': p, 'nginx_bin': NGINX})
            assert r['failed'] is True and r['changed'] is False, r
            assert r['msg'].startswith('%s is not a file nginx reads: it is not in the include tree of %snginx.conf'
                                       % (path, p)), r['msg']
            assert sha256(path) == before
    finally:
        os.unlink(outside)


def test_bad_timeout_and_nul_bytes_are_refused_before_writing(tmp_path):
    p = tree(tmp_path)
    app = p + 'conf.d/app.conf'
    before = sha256(app)
    r = run_module('nginx_directive', args_for(p, timeout=0))
    assert r['failed'] is True and r['msg'] == 'timeout must be at least 1 (seconds nginx -t may take), got 0', r
    for key in ('path', 'config', 'prefix'):
        r = run_module('nginx_directive', args_for(p, **{key: args_for(p)[key] + '\x00x'}))
        assert r['failed'] is True and r['msg'] == '%s contains a NUL byte' % key, r
        assert 'Traceback' not in json.dumps(r)
    assert sha256(app) == before
