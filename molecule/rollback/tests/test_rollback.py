# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fault at each step of a remediation, on real hosts: everything is put back.

converge.yml ran each faulty remediation and wrote, per case, the failure and the sha256, owner,
group and mode of every file it touches and the status of the routes, before and after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

if 'MOLECULE_EPHEMERAL_DIRECTORY' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

import testinfra  # noqa: E402

RESULTS = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'rollback')
PROXY = testinfra.get_host('podman://proxy')
HEALTHY = testinfra.get_host('podman://healthy')


def result(case):
    with open(os.path.join(RESULTS, case + '.json')) as f:
        return json.load(f)


def assert_put_back(r):
    before, after = r['state']['before'], r['state']['after']
    assert before['files'] and after['files'] == before['files'], (before['files'], after['files'])
    for path, st in before['files'].items():
        assert len(st['checksum']) == 64 and 'mode' in st and 'uid' in st, (path, st)
    assert after['urls'] == before['urls']


@pytest.mark.parametrize('case,step,why', [
    ('nginx_t', 'validate', 'proxy_busy_buffers_size'),
    ('reload', 'reload', 'bind()'),
    ('health', 'verify', 'answered 502'),
    ('php_fpm_t', 'validate', 'php-fpm -t'),
])
def test_each_failed_step_is_rolled_back_byte_for_byte(case, step, why):
    r = result(case)
    out = r['outcome']
    assert out['failed'] is True and out['rolled_back'] is True and out['failed_step'] == step, out.get('msg')
    assert out['msg'].startswith('%s failed: ' % step) and why in out['msg'], out['msg']
    # the rollback says what it did and saw: files read back by sha256, reloaded, the routes answer
    assert 'every file was restored (' in out['msg'] and 'DOES NOT SERVE' not in out['msg'], out['msg']
    rb = out['rollback']
    assert rb['restored'] is True and rb['validated'] is True and rb['reloaded'] is True, rb
    assert rb['routes_ok'] in (True, None) and all(f['problem'] is None for f in rb['files']), rb
    # the failing version stays on the node; the result has its path and a diff
    assert out['failing_version'] and isinstance(out['rollback_seconds'], float)
    assert all(v['saved'].startswith('/var/lib/badgateway-nginx/failed/') for v in out['failing_version'].values())
    assert_put_back(r)


def test_the_routes_still_answer_as_before():
    assert result('health')['state']['before']['urls']['http://127.0.0.1:8001/'] == 200
    assert result('nginx_t')['state']['before']['urls']['http://127.0.0.1/'] == 200
    assert HEALTHY.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8001/") == '200'
    assert PROXY.run('nginx -t').rc == 0 and PROXY.run('php-fpm8.2 -t').rc == 0


def test_a_killed_run_is_restored_by_the_next_one():
    r = result('killed')
    assert r['killed'], 'no process was killed'
    assert r['live'] == 'yes'  # the change was live when the run was killed
    rec = r['outcome']['recovered']
    assert rec['restored'] is True and rec['reloaded'] is True and rec['files'] == ['/etc/nginx/sites-enabled/healthy.conf']
    assert_put_back(r)
    assert 'X-Killed' not in HEALTHY.check_output('curl -s -D - -o /dev/null http://127.0.0.1:8001/')
    # no journal left (failed/ holds the failing versions of the earlier cases' rollbacks)
    assert [n for n in HEALTHY.check_output('ls -A /var/lib/badgateway-nginx').split() if n != 'failed'] == ['lock']


def test_a_firewall_change_that_does_not_connect_is_taken_back():
    r = result('firewall')
    out = r['outcome']
    assert out['failed'] is True and 'rolled back' in out['msg'], out.get('msg')
    assert r['after'] == r['before']


def test_backups_and_journal_are_root_only():
    for host in (PROXY, HEALTHY):
        d = host.file('/var/lib/badgateway-nginx')
        assert d.mode == 0o700 and d.user == 'root'
