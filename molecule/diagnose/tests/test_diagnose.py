# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every cause of the catalog, diagnosed on real hosts from the log lines nginx really wrote.

converge.yml sent real requests and ran the badgateway.nginx.nginx_diagnose role, which wrote
report.json on the controller; these tests read it and check each finding's id, target and
file:line against the real files on the hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

if 'MOLECULE_EPHEMERAL_DIRECTORY' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

import testinfra  # noqa: E402

REPORT = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'report', 'report.json')
PROXY = testinfra.get_host('podman://proxy')


@pytest.fixture(scope='module')
def report():
    with open(REPORT) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def backend_ip(report):
    backend = testinfra.get_host('podman://backend')
    return backend.check_output("hostname -I | awk '{print $1}'").strip()


# the pools of tests/lab/diagnose/queue.yml, whose sites are in queue.conf
QUEUE_SOCKETS = ('/run/php/queue.sock', '/run/php/queue-timeout.sock')


def findings(report, host):
    return report['hosts'][host]['findings']


def by_target(report, host, cause, target_text):
    found = [f for f in findings(report, host) if f['id'] == cause and (f['target'] or {}).get('text') == target_text]
    assert len(found) == 1, [(f['id'], (f['target'] or {}).get('text')) for f in findings(report, host)]
    return found[0]


def line_of(host, item):
    return host.file(item['file']).content_string.splitlines()[item['line'] - 1]


def test_report_schema(report):
    assert report['schema'] == 'badgateway.nginx/report/v1'
    assert sorted(report['hosts']) == ['backend', 'healthy', 'proxy']
    html = open(REPORT.replace('report.json', 'report.html')).read()
    assert html.startswith('<!DOCTYPE html>') and 'http://' not in html.split('<body>')[0]
    assert oct(os.stat(REPORT).st_mode & 0o777) == '0o600'


def test_healthy_host_has_no_finding(report):
    assert findings(report, 'healthy') == []


def test_exactly_the_causes_broken_on_the_proxy(report, backend_ip):
    got = sorted((f['id'], (f['target'] or {}).get('text')) for f in findings(report, 'proxy'))
    expected = sorted([
        ('upstream_down', '%s:8090' % backend_ip),
        ('target_mismatch', '127.0.0.1:9003'),
        ('target_mismatch', 'unix:/run/php/php7.4-fpm.sock'),
        ('socket_permission', 'unix:/run/php/locked.sock'),
        ('firewall_block', '%s:7080' % backend_ip),
        ('firewall_block', '%s:7081' % backend_ip),
        ('upstream_timeout', '127.0.0.1:9004'),
        ('pool_exhausted', 'unix:/run/php/small.sock'),
        ('pool_exhausted', 'unix:/run/php/queue.sock'),
        ('pool_exhausted', 'unix:/run/php/queue-timeout.sock'),
        ('backend_crash', '127.0.0.1:9005'),
        ('header_too_big', '127.0.0.1:9006'),
        ('protocol_mismatch', '127.0.0.1:9443'),
        ('dns_failure', 'app.lab.invalid'),
        ('no_live_upstreams', 'upstream dead_pool'),
        ('upstream_down', '127.0.0.1:9101'),
        ('upstream_down', '127.0.0.1:9102'),
        ('not_nginx', None),
    ])
    assert got == expected


def test_backend_runs_out_of_worker_connections(report):
    got = [(f['id'], f['summary']) for f in findings(report, 'backend')]
    assert [g[0] for g in got] == ['resource_limits']
    assert 'worker connections' in got[0][1]


def test_file_and_line_point_at_the_directive(report):
    host = PROXY
    for f in findings(report, 'proxy'):
        if not f.get('pass'):
            continue
        text = line_of(host, f['pass'])
        assert f['pass']['directive'] in text, (f['id'], f['pass'], text)
        queued = (f['target'] or {}).get('path') in QUEUE_SOCKETS
        assert f['pass']['file'] == '/etc/nginx/sites-enabled/%s' % ('queue.conf' if queued else 'broken.conf')
        assert 'location' in line_of(host, f['location'])


def test_mismatch_names_the_live_listener(report):
    f = by_target(report, 'proxy', 'target_mismatch', '127.0.0.1:9003')
    assert f['fix']['vars'] == {'from': '127.0.0.1:9003', 'to': '127.0.0.1:9002'}
    assert f['fix']['role'] == 'badgateway.nginx.upstream_target'
    f = by_target(report, 'proxy', 'target_mismatch', 'unix:/run/php/php7.4-fpm.sock')
    assert f['fix']['vars']['to'] == 'unix:/run/php/php8.2-fpm.sock'
    assert f['evidence']['log'][0]['kind'] == 'socket_missing'


def test_permission_names_owner_and_mode(report):
    f = by_target(report, 'proxy', 'socket_permission', 'unix:/run/php/locked.sock')
    assert f['evidence']['socket']['owner'] == 'root' and f['evidence']['socket']['mode'] == '0660'
    assert f['evidence']['probe']['as_user'] == {'user': 'www-data', 'result': 'permission_denied'}
    assert f['fix']['vars']['pool'] == 'locked'


def test_firewall_findings_show_the_rule(report, backend_ip):
    drop = by_target(report, 'proxy', 'firewall_block', '%s:7080' % backend_ip)
    rules = drop['evidence']['firewall']
    assert rules and rules[0]['host'] == 'backend' and rules[0]['verdict'] == 'drop'
    assert '7080' in rules[0]['text']
    reject = by_target(report, 'proxy', 'firewall_block', '%s:7081' % backend_ip)
    assert reject['evidence']['firewall'][0]['verdict'] == 'reject'
    # never open to the world: the fix names the proxy as the only source
    assert reject['fix']['vars']['sources'] and '0.0.0.0/0' not in reject['fix']['vars']['sources']


def test_timeout_and_buffers_name_the_setting(report):
    f = by_target(report, 'proxy', 'upstream_timeout', '127.0.0.1:9004')
    assert f['evidence']['read_timeout']['value'] == '1s'
    assert f['fix']['vars']['directive'] == 'proxy_read_timeout'
    f = by_target(report, 'proxy', 'header_too_big', '127.0.0.1:9006')
    assert f['fix']['vars']['directive'] == 'proxy_buffer_size'


def test_pool_exhausted_has_php_fpm_evidence(report):
    f = by_target(report, 'proxy', 'pool_exhausted', 'unix:/run/php/small.sock')
    assert f['evidence']['pool']['name'] == 'small' and f['evidence']['pool']['max_children'] == 1
    assert any(g['kind'] == 'max_children' for g in f['evidence']['php_fpm_log'])


def test_samples_are_redacted(report):
    for f in findings(report, 'proxy'):
        for g in (f.get('evidence') or {}).get('log') or []:
            for sample in g.get('samples') or []:
                assert 'token=secret' not in sample


def fpm_reached_max_children(host, pool):
    return [x for x in host.file('/var/log/php8.2-fpm.log').content_string.splitlines()
            if '[pool %s] server reached pm.max_children setting' % pool in x]


def test_a_pool_full_in_php_fpm_log_alone_is_pool_exhausted(report):
    # the requests queued and completed: nginx wrote nothing about them, PHP-FPM said the pool was full
    assert fpm_reached_max_children(PROXY, 'queue')
    nginx_lines = PROXY.file('/var/log/nginx/error.log').content_string
    assert 'queue.sock' not in nginx_lines
    f = by_target(report, 'proxy', 'pool_exhausted', 'unix:/run/php/queue.sock')
    assert f['evidence']['log'] == []
    assert [(g['kind'], g['pool']) for g in f['evidence']['php_fpm_log'] if g['kind'] == 'max_children'] == [
        ('max_children', 'queue')]
    assert f['evidence']['pool']['name'] == 'queue' and f['evidence']['pool']['max_children'] == 2
    assert f['fix'] == {'role': 'badgateway.nginx.php_fpm_pool',
                        'vars': {'pool': 'queue', 'pool_file': '/etc/php/8.2/fpm/pool.d/queue.conf'}}
    assert [r['location']['match'] for r in f['routes']] == ['\\.php$'] and f['server']['line'] == 3


def test_read_timeouts_on_a_full_pool_are_pool_exhausted_not_upstream_timeout(report):
    assert fpm_reached_max_children(PROXY, 'queue-timeout')
    nginx_lines = [x for x in PROXY.file('/var/log/nginx/error.log').content_string.splitlines()
                   if 'queue-timeout.sock' in x]
    assert nginx_lines and all('upstream timed out (110: Connection timed out) while reading response header' in x
                               for x in nginx_lines), nginx_lines
    assert not [f for f in findings(report, 'proxy')
                if f['id'] == 'upstream_timeout' and f['target']['text'] == 'unix:/run/php/queue-timeout.sock']
    f = by_target(report, 'proxy', 'pool_exhausted', 'unix:/run/php/queue-timeout.sock')
    assert [g['kind'] for g in f['evidence']['log']] == ['read_timeout']
    assert f['evidence']['read_timeout']['value'] == '3s'
    assert f['fix']['vars']['pool'] == 'queue-timeout'
    assert 'requests that waited for a free child' in f['summary']
