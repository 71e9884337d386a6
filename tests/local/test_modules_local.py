# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules end to end, through Ansible, against the controller's real nginx binary.

Each test runs ``ansible localhost -c local -m badgateway.nginx.<module>`` with the
system Python (standard library only) as the module interpreter, on configuration
trees written to a temporary directory, and reads the JSON result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ansible_env, write
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import COMPACT_FORMAT, expand

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')


def run_module(module, args, check=False):
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1')
    argv = [ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.%s' % module,
            '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                          universal_newlines=True)
    # minimal callback: "localhost | SUCCESS => {...}" or "localhost | FAILED! => {...}"
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    try:
        result = json.loads(proc.stdout[m.end():])
    except (AttributeError, ValueError):
        raise AssertionError('no JSON from ansible (rc=%s): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    # the callback shows failure in the header and warnings on stderr
    result['failed'] = m.group(1) == 'FAILED!'
    result['_stderr'] = proc.stderr
    assert 'Traceback' not in json.dumps(result), result
    assert 'module_stderr' not in result, result
    stored = (result.get('ansible_facts') or {}).get('nginx')
    if stored is not None:  # stored compact unless verbose=true; the tests read the verbose form
        result['_stored_nginx'] = stored
        result['ansible_facts']['nginx'] = expand(stored)
    return result


def base_conf(tmp_path, http_body):
    return ('pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n    access_log off;\n%s}\n'
            % (tmp_path, tmp_path, http_body))


def test_valid_config_gives_facts_from_nginx_dump(tmp_path):
    p = write(tmp_path, {
        'nginx.conf': base_conf(tmp_path, '    include conf.d/*.conf;\n'),
        'conf.d/app.conf': 'server {\n    listen 127.0.0.1:18181;\n    location / {\n'
                           '        proxy_pass http://127.0.0.1:18182;\n    }\n}\n',
    })
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert not r.get('failed'), r
    n = r['ansible_facts']['nginx']
    assert n['source'] == 'nginx -T' and n['valid'] is True
    assert n['files'] == [p + 'nginx.conf', p + 'conf.d/app.conf']
    target = n['servers'][0]['locations'][0]['pass']['target']
    assert (target['host'], target['port']) == ('127.0.0.1', 18182)
    assert n['servers'][0]['locations'][0]['pass']['line'] == 4
    assert 'nginx_raw' not in r


def test_facts_are_stored_compact_unless_verbose_is_asked_for(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    server { listen 127.0.0.1:18188;\n'
                                                 '        location / { proxy_pass http://127.0.0.1:18182; } }\n')})
    small = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    verbose = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p, 'verbose': True})
    assert not small.get('failed') and not verbose.get('failed'), (small, verbose)
    assert small['_stored_nginx']['format'] == COMPACT_FORMAT
    assert 'format' not in verbose['_stored_nginx']
    assert verbose['_stored_nginx']['servers'][0]['locations'][0]['pass']['target']['port'] == 18182
    assert len(json.dumps(small['_stored_nginx'])) < len(json.dumps(verbose['_stored_nginx']))
    drop = ('gathered', 'loaded')  # two gatherings: their ids differ, other nginx masters may come and go
    assert (dict((k, v) for k, v in small['ansible_facts']['nginx'].items() if k not in drop)
            == dict((k, v) for k, v in verbose['_stored_nginx'].items() if k not in drop))
    bad = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p, 'verbose': 'sometimes'})
    assert bad['failed'] and 'verbose' in bad['msg']


def test_check_mode_gives_the_same_facts(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    server { listen 127.0.0.1:18183; }\n')})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p}, check=True)
    assert not r.get('failed') and r['changed'] is False
    assert r['ansible_facts']['nginx']['servers'][0]['listen'][0]['port'] == 18183


def test_missing_include_still_gives_facts(tmp_path):
    p = write(tmp_path, {
        'nginx.conf': base_conf(tmp_path, '    include conf.d/*.conf;\n    include missing.conf;\n'),
        'conf.d/app.conf': 'server {\n    listen 127.0.0.1:18184;\n    location /x { fastcgi_pass unix:/run/x.sock; }\n}\n',
    })
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert not r.get('failed'), r
    n = r['ansible_facts']['nginx']
    assert n['source'] == 'files' and n['valid'] is False
    err = n['validation']['errors'][0]
    assert (err['file'], err['line'], err['level']) == (p + 'nginx.conf', 7, 'emerg')
    assert 'missing.conf' in err['message'] and 'No such file or directory' in err['message']
    assert n['servers'][0]['locations'][0]['pass']['target']['path'] == '/run/x.sock'


def test_unknown_host_in_upstream_still_gives_facts(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(
        tmp_path, '    upstream b { server backend.invalid:8080; }\n'
                  '    server { listen 127.0.0.1:18185; location / { proxy_pass http://b; } }\n')})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    n = r['ansible_facts']['nginx']
    assert n['valid'] is False
    assert n['validation']['errors'][0]['message'] == 'host not found in upstream "backend.invalid:8080"'
    assert n['validation']['errors'][0]['line'] == 6
    assert n['upstreams']['b']['servers'][0]['target']['host'] == 'backend.invalid'


def test_include_loop_is_a_clear_error(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include a.conf;\n'),
                         'a.conf': 'include b.conf;\n', 'b.conf': 'include a.conf;\n'})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert r['failed'] is True
    assert r['msg'] == 'include loop: {0}nginx.conf -> {0}a.conf -> {0}b.conf -> {0}a.conf (at {0}b.conf:1)'.format(p)


def test_unterminated_block_still_gives_facts(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include site.conf;\n'),
                         'site.conf': 'server {\n    listen 127.0.0.1:18186;\n    location / {\n'})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    # a broken file no longer blinds the facts: what parses is there, the error at nginx's file:line, once
    assert r['failed'] is False, r
    n = r['ansible_facts']['nginx']
    assert n['valid'] is False
    assert [(e['file'], e['line'], e['message']) for e in n['validation']['errors']] == [
        (p + 'site.conf', 4, 'unexpected end of file, expecting "}"')]
    assert n['servers'][0]['listen'][0]['port'] == 18186


def test_binary_and_huge_files_are_refused(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include bin.conf;\n'),
                         'bin.conf': b'\x7fELF\x02\x01\x01\x00\x00\x00'})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert r['failed'] is True and r['msg'] == '%sbin.conf is a binary file (NUL byte on line 1), not an nginx config' % p

    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include big.conf;\n')})
    with open(p + 'big.conf', 'wb') as f:
        f.write(b'# padding\n' * (5 * 1024 * 1024 + 1))
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert r['failed'] is True
    assert r['msg'] == '%sbig.conf is 52428810 bytes, larger than max_file_size (16777216): not read as an nginx config' % p
    # the same file when nginx -t fails and the files are read directly
    with open(p + 'nginx.conf', 'a') as f:
        f.write('broken_directive_here;\n')
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert r['failed'] is True
    assert r['msg'] == '%sbig.conf is 52428810 bytes, larger than max_file_size (16777216): not read as an nginx config' % p


def test_non_utf8_bytes_are_a_warning_not_a_failure(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    # caf\xe9 latin-1\n    server { listen 127.0.0.1:18187; }\n'
                                                 ).encode('latin-1')})
    r = run_module('nginx_facts', {'config': p + 'nginx.conf', 'prefix': p})
    assert not r.get('failed'), r
    assert r['ansible_facts']['nginx']['servers'][0]['listen'][0]['port'] == 18187
    warning = '%snginx.conf:6: bytes that are not UTF-8 were replaced with U+FFFD' % p
    assert r['ansible_facts']['nginx']['warnings'] == [warning]
    assert '[WARNING]: ' + warning in ' '.join(r['_stderr'].split())


def test_missing_binary_and_config_and_hostile_values(tmp_path):
    r = run_module('nginx_facts', {'nginx_bin': str(tmp_path / 'no-nginx')})
    assert r['failed'] is True
    assert r['msg'] == 'nginx binary %s does not exist or is not executable' % (tmp_path / 'no-nginx')

    marker = tmp_path / 'pwned'
    hostile = '%s/nginx.conf; touch %s' % (tmp_path, marker)
    r = run_module('nginx_facts', {'config': hostile})
    assert r['failed'] is True and r['msg'] == 'nginx config %s does not exist' % hostile
    r = run_module('nginx_validate', {'config': '$(touch %s)' % marker, 'prefix': '`touch %s`' % marker})
    assert r['failed'] is True and r['valid'] is False
    assert not marker.exists()

    r = run_module('nginx_facts', {'timeout': 0})
    assert r['failed'] is True and r['msg'] == 'timeout must be at least 1 second'


def test_validate_reports_file_and_line(tmp_path):
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    include site.conf;\n'),
                         'site.conf': 'server {\n    listen 127.0.0.1:18188;\n    proxy_passs http://x;\n}\n'})
    r = run_module('nginx_validate', {'config': p + 'nginx.conf', 'prefix': p, 'fail_on_error': False})
    assert not r.get('failed') and r['valid'] is False and r['changed'] is False
    assert r['errors'] == [{'level': 'emerg', 'message': 'unknown directive "proxy_passs"',
                            'file': p + 'site.conf', 'line': 3}]
    assert r['exit_status'] == 1
    r = run_module('nginx_validate', {'config': p + 'nginx.conf', 'prefix': p})
    assert r['failed'] is True
    assert r['msg'] == 'nginx configuration is not valid: %ssite.conf:3: unknown directive "proxy_passs"' % p

    (tmp_path / 'site.conf').write_text('server { listen 127.0.0.1:18188; }\n')
    r = run_module('nginx_validate', {'config': p + 'nginx.conf', 'prefix': p})
    assert not r.get('failed') and r['valid'] is True and r['errors'] == [] and r['exit_status'] == 0
    assert r['nginx_warnings'] == []
    assert r['command'] == [r['binary'], '-t', '-p', p, '-c', p + 'nginx.conf']


def test_facts_are_cached_for_later_plays(tmp_path):
    """With a fact cache, a later play reads ansible_facts.nginx without running the module."""
    p = write(tmp_path, {'nginx.conf': base_conf(tmp_path, '    server { listen 127.0.0.1:18189; '
                                                 'location / { proxy_pass http://127.0.0.1:18190; } }\n')})
    cache = tmp_path / 'cache'
    gather = tmp_path / 'gather.yml'
    gather.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                      '    - badgateway.nginx.nginx_facts:\n        config: %snginx.conf\n        prefix: %s\n' % (p, p))
    use = tmp_path / 'use.yml'
    use.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                   '    - ansible.builtin.copy:\n        dest: %sport.txt\n        mode: "0600"\n'
                   '        content: "{{ (ansible_facts.nginx | badgateway.nginx.nginx_verbose_facts)'
                   '.servers[0].locations[0].pass.target.port }}"\n' % p)
    env = ansible_env(ANSIBLE_CACHE_PLUGIN='ansible.builtin.jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache))
    playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    for play in (gather, use):
        proc = subprocess.run([playbook, '-c', 'local', '-i', 'localhost,', str(play)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env, check=False, universal_newlines=True)
        assert proc.returncode == 0, proc.stdout
    assert (tmp_path / 'port.txt').read_text() == '18190'
    # ansible-core 2.19 names the file s1_localhost (earlier versions: localhost)
    cache_files = [f for f in cache.iterdir() if f.name.endswith('localhost')]
    assert len(cache_files) == 1
    cached = json.loads(cache_files[0].read_text())
    if '__payload__' in cached:  # 2.19 wraps the facts
        cached = json.loads(cached['__payload__'])
    assert cached['nginx']['format'] == COMPACT_FORMAT
    assert expand(cached['nginx'])['servers'][0]['listen'][0]['port'] == 18189
