# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every fixable cause of the catalog, remediated on real hosts, and proved route by route.

prepare.yml broke the lab exactly as the diagnose scenario does and kept copies of the broken files
in /root/before; converge.yml ran `badgateway.nginx.remediate` (and molecule's idempotence step ran
it again and saw no change). These tests send real requests and read the real files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import os

import pytest

if 'MOLECULE_EPHEMERAL_DIRECTORY' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

import testinfra  # noqa: E402

# the first run's report (converge.yml keeps it) and the one of molecule's idempotence run
FIRST = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'report', 'first.json')
REPORT = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'report', 'report.json')
PROXY = testinfra.get_host('podman://proxy')
BACKEND = testinfra.get_host('podman://backend')
HEALTHY = testinfra.get_host('podman://healthy')
SITE = '/etc/nginx/sites-enabled/broken.conf'
POOLS = '/etc/php/8.2/fpm/pool.d/lab.conf'


@pytest.fixture(scope='module')
def report():
    with open(FIRST) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def second():
    with open(REPORT) as f:
        return json.load(f)


def status(host, url, timeout=10):
    """The HTTP status, or 000 when there was no answer (curl's exit status is not looked at)."""
    return host.run("curl -s -o /dev/null -w '%%{http_code}' --max-time %d '%s'" % (timeout, url)).stdout.strip()


def changes(host, path):
    before = host.file('/root/before/' + os.path.basename(path)).content_string.splitlines()
    after = host.file(path).content_string.splitlines()
    removed, added = [], []
    for line in difflib.ndiff(before, after):
        if line.startswith('- '):
            removed.append(line[2:])
        elif line.startswith('+ '):
            added.append(line[2:])
    return removed, added


@pytest.mark.parametrize('port,path', [
    (8001, '/x'),          # upstream_down: the crashed service was started on the backend
    (8002, '/x'),          # target_mismatch: proxy_pass re-pointed to 9002
    (8003, '/index.php'),  # target_mismatch: fastcgi_pass re-pointed to the PHP 8.2 socket
    (8004, '/index.php'),  # socket_permission: listen.owner/group of the pool
    (8005, '/x'),          # firewall_block (nftables DROP) opened to the proxy only
    (8006, '/x'),          # firewall_block (iptables REJECT) opened to the proxy only
    (8007, '/x'),          # upstream_timeout: the 3 s application gets its time
    (8010, '/x'),          # header_too_big: buffers sized from the measured header
    (8011, '/x'),          # protocol_mismatch: https to the TLS port
])
def test_every_fixed_route_answers_200(port, path):
    assert status(PROXY, 'http://127.0.0.1:%d%s' % (port, path)) == '200'


def test_the_websocket_route_upgrades_with_the_inherited_headers_kept():
    assert PROXY.file('/root/before/ws-status').content_string.strip() == '400'
    out = PROXY.check_output(
        "curl -s -o /dev/null -D - --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
        "-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13' http://127.0.0.1:8014/ws/ || true")
    assert out.splitlines()[0].split()[1] == '101', out
    assert 'sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=' in out.lower()
    assert 'x-seen-real-ip: 127.0.0.1' in out.lower()


def test_the_pool_takes_twelve_concurrent_requests():
    out = PROXY.check_output(
        "for i in $(seq 1 12); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 15 "
        "http://127.0.0.1:8008/sleep.php & done; wait")
    assert sorted(out.split()) == ['200'] * 12, out


@pytest.mark.parametrize('port', [8009, 8012, 8013])
def test_what_cannot_be_fixed_on_the_host_is_left_alone(port):
    # backend_crash, dns_failure and no_live_upstreams (nothing to start for 9101/9102)
    assert status(PROXY, 'http://127.0.0.1:%d/x' % port) == '502'


def test_the_config_is_valid_and_the_diff_is_minimal():
    assert PROXY.run('nginx -t').rc == 0
    removed, added = changes(PROXY, SITE)
    assert removed == ['        proxy_pass http://127.0.0.1:9003;',
                       '        fastcgi_pass unix:/run/php/php7.4-fpm.sock;',
                       '        proxy_read_timeout 1s;',
                       '        proxy_pass http://127.0.0.1:9443;'], removed
    assert added == ['        proxy_pass http://127.0.0.1:9002;',
                     '        fastcgi_pass unix:/run/php/php8.2-fpm.sock;',
                     '        proxy_read_timeout 60s;',
                     '        proxy_buffer_size 64k;',
                     '        proxy_buffers 8 64k;',
                     '        proxy_pass https://127.0.0.1:9443;',
                     # proxy_headers on the WebSocket route: the server-level Host and X-Real-IP copied in
                     # (setting any proxy_set_header in a location drops every inherited one)
                     '        proxy_set_header Host $host;',
                     '        proxy_set_header X-Real-IP $remote_addr;',
                     '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
                     '        proxy_set_header X-Forwarded-Proto $scheme;',
                     '        proxy_set_header Upgrade $http_upgrade;',
                     '        proxy_set_header Connection $connection_upgrade;',
                     '        proxy_http_version 1.1;'], added
    # Debian's nginx.conf indents with tabs: so does the map
    assert changes(PROXY, '/etc/nginx/nginx.conf') == ([], [
        '\tmap $http_upgrade $connection_upgrade {', '\t\tdefault upgrade;', "\t\t'' close;", '\t}'])
    site = PROXY.file(SITE)
    assert (site.user, site.group, site.mode) == ('root', 'root', 0o644)


def test_the_pools_changed_in_place():
    removed, added = changes(PROXY, POOLS)
    assert removed == ['listen.owner = root', 'listen.group = root', 'listen.backlog = 0', 'pm.max_children = 1'], removed
    assert added[:3] == ['listen.owner = www-data', 'listen.group = www-data', 'listen.backlog = 511'], added
    assert added[3].startswith('pm.max_children = ') and 2 <= int(added[3].split('=')[1]) <= 64, added
    assert PROXY.run('php-fpm8.2 -t').rc == 0
    # php-fpm gives a socket its owner only when it creates it: the live socket was given it too
    sock = PROXY.file('/run/php/locked.sock')
    assert (sock.user, sock.group, sock.mode) == ('www-data', 'www-data', 0o660)


def test_the_healthy_host_was_not_touched():
    for path in ('/etc/nginx/sites-enabled/healthy.conf', '/etc/nginx/nginx.conf', '/etc/php/8.2/fpm/pool.d/www.conf'):
        assert changes(HEALTHY, path) == ([], []), path


def test_the_firewall_admits_the_proxy_only():
    backend_ip = BACKEND.check_output("hostname -I | awk '{print $1}'").strip()
    for port in (7080, 7081):
        assert status(PROXY, 'http://%s:%d/' % (backend_ip, port), 5) == '200'
        # another host of the same network is still blocked: never opened to the world
        assert status(HEALTHY, 'http://%s:%d/' % (backend_ip, port), 3) == '000'


def test_the_crashed_service_runs_again():
    assert BACKEND.service('labapp@app-8090').is_running


def test_no_journal_is_left_and_it_is_root_only():
    d = PROXY.file('/var/lib/badgateway-nginx')
    assert d.is_directory and d.mode == 0o700 and d.user == 'root'
    left = PROXY.check_output('ls -A /var/lib/badgateway-nginx').split()
    assert not [x for x in left if x.startswith('journal')], left


def test_the_report_has_before_after_and_the_diffs(report):
    proxy = report['hosts']['proxy']['remediation']
    assert proxy['rollback'] is None
    fixed = set(proxy['fixed'])
    for item in ('upstream_down 10.88.0.3:8090', 'target_mismatch 127.0.0.1:9003', 'upstream_timeout 127.0.0.1:9004',
                 'header_too_big 127.0.0.1:9006', 'protocol_mismatch 127.0.0.1:9443',
                 'socket_permission unix:/run/php/locked.sock', 'pool_exhausted unix:/run/php/small.sock',
                 'target_mismatch unix:/run/php/php7.4-fpm.sock'):
        if item.startswith(('upstream_down 10.', )):
            continue  # the backend's address is the one podman gave it
        assert item in fixed, (item, proxy['fixed'], proxy['remaining'])
    assert [x for x in fixed if x.startswith('upstream_down ') and x.endswith(':8090')]
    assert [x for x in fixed if x.startswith('firewall_block ') and x.endswith(':7080')]
    assert [x for x in fixed if x.startswith('firewall_block ') and x.endswith(':7081')]
    labels = [a['label'] for a in proxy['changes']]
    assert labels == ['php_fpm_pool', 'upstream_target', 'proxy_timeouts', 'proxy_buffers'], labels
    diffs = ''.join(d['after'] for a in proxy['changes'] for d in a['diff'])
    assert 'proxy_read_timeout 60s' in diffs
    reported = sorted(x['id'] for x in proxy['reported'])
    assert 'backend_crash' in reported and 'not_nginx' not in fixed
    assert report['hosts']['healthy']['remediation']['changes'] == []


def test_the_second_run_changed_nothing(second):
    for name, host in second['hosts'].items():
        rem = host['remediation']
        assert rem['changes'] == [] and rem['rollback'] is None, (name, rem['changes'])
        assert not [s for s in rem['services'] if s.get('action') in ('started', 'restarted')], name
        assert not [f for f in rem['firewall'] if f.get('changed')], name
    assert oct(os.stat(REPORT).st_mode & 0o777) == '0o600'
