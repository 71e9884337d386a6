# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each remediation role adopted on its own, proved on the host it changed.

prepare.yml broke the host the way the diagnose lab breaks its proxy (its backend routes pointed at
the host itself, where 8090 got a crashed service), kept copies of the broken files and the status of
each route in /root/before, and sent real traffic. converge.yml ran nginx_diagnose, then
backend_service, php_fpm_pool, upstream_target, proxy_timeouts, proxy_buffers and proxy_headers, one
include each with its defaults, and wrote what each run planned and applied to roles/first.json (the
converge) and roles/last.json (molecule's idempotence run). These tests send real requests through
the real nginx and read the real files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import os
import re

import pytest

if 'MOLECULE_EPHEMERAL_DIRECTORY' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

import testinfra  # noqa: E402

RECORDS = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'roles')
PROXY = testinfra.get_host('podman://roles-proxy')
SITE = '/etc/nginx/sites-enabled/broken.conf'
POOLS = '/etc/php/8.2/fpm/pool.d/lab.conf'
MAIN = '/etc/nginx/nginx.conf'
WS = ("curl -s -o /dev/null -D - --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' "
      "-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Version: 13' http://127.0.0.1:8014/ws/ || true")
# the targets of upstream_down findings on this host that no unit serves (the lab has no service for them)
NO_UNIT = ['127.0.0.1:7080', '127.0.0.1:7081', '127.0.0.1:9101', '127.0.0.1:9102']
FIXED_IDS = ('target_mismatch', 'protocol_mismatch', 'socket_permission', 'pool_exhausted', 'upstream_timeout',
             'header_too_big')


def record(name):
    with open(os.path.join(RECORDS, name + '.json')) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def first():
    return record('first')


@pytest.fixture(scope='module')
def last():
    return record('last')


def status(url, timeout=10):
    """The HTTP status, or 000 when there was no answer (curl's exit status is not looked at)."""
    return PROXY.run("curl -s -o /dev/null -w '%%{http_code}' --max-time %d '%s'" % (timeout, url)).stdout.strip()


def before(path):
    return PROXY.file('/root/before/' + os.path.basename(path)).content_string


def changes(path):
    """Lines removed and added since prepare.yml kept the file."""
    removed, added = [], []
    for line in difflib.ndiff(before(path).splitlines(), PROXY.file(path).content_string.splitlines()):
        if line.startswith('- '):
            removed.append(line[2:])
        elif line.startswith('+ '):
            added.append(line[2:])
    return removed, added


def blocks(text, opener):
    """The text of each top-level block of an nginx file whose first line matches opener (a regex)."""
    found, current, depth = [], None, 0
    for line in text.splitlines():
        code = line.split('#', 1)[0]
        if depth == 0 and current is None and re.match(opener, code.strip()):
            current = []
        if current is not None:
            current.append(line)
        depth += code.count('{') - code.count('}')
        if current is not None and depth == 0 and '}' in code:
            found.append('\n'.join(current))
            current = None
    return found


def server(port):
    """The directives of the server block of broken.conf that listens on port, one stripped line each."""
    text = PROXY.file(SITE).content_string
    match = [b for b in blocks(text, r'server\s*\{') if re.search(r'^\s*listen\s+%d;' % port, b, re.M)]
    assert len(match) == 1, (port, match)
    return [line.strip() for line in match[0].splitlines()]


def location(port, path):
    """The lines of one location of that server block (prefix locations, one level)."""
    lines = server(port)
    start = lines.index('location %s {' % path)
    end = lines.index('}', start)
    return lines[start + 1:end]


def pool_settings(text):
    """{section: {key: value}} of a PHP-FPM pool file."""
    pools, section = {}, None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('['):
            section = line.strip('[]')
            pools[section] = {}
        elif '=' in line and not line.startswith(';') and section:
            key, value = line.split('=', 1)
            pools[section][key.strip()] = value.strip()
    return pools


# --- the broken state the roles started from --------------------------------------------------


def test_the_routes_were_broken_before():
    got = dict(line.split() for line in before('status').splitlines())
    assert got == {'8001/x': '502', '8002/x': '502', '8003/index.php': '502', '8004/index.php': '502',
                   '8007/x': '504', '8010/x': '502', '8011/x': '502', 'ws': '400'}, got


def test_each_role_found_its_own_findings_in_the_diagnosis(first):
    found = sorted((f['id'], f['target']['text']) for f in first['findings'])
    for item in [('upstream_down', '127.0.0.1:8090'), ('socket_permission', 'unix:/run/php/locked.sock'),
                 ('pool_exhausted', 'unix:/run/php/small.sock'), ('target_mismatch', '127.0.0.1:9003'),
                 ('target_mismatch', 'unix:/run/php/php7.4-fpm.sock'), ('protocol_mismatch', '127.0.0.1:9443'),
                 ('upstream_timeout', '127.0.0.1:9004'), ('header_too_big', '127.0.0.1:9006')]:
        assert item in found, (item, found)


# --- what each role changed, route by route, through the real nginx ---------------------------


@pytest.mark.parametrize('port,path', [
    (8001, '/x'),          # backend_service: the crashed service on 8090 runs again
    (8002, '/x'),          # upstream_target: proxy_pass re-pointed to 9002
    (8003, '/index.php'),  # upstream_target: fastcgi_pass re-pointed to the PHP 8.2 socket
    (8004, '/index.php'),  # php_fpm_pool: listen.owner/group of the locked pool
    (8007, '/x'),          # proxy_timeouts: the 3 s application gets its time
    (8010, '/x'),          # proxy_buffers: the 32 KiB header fits
    (8011, '/x'),          # upstream_target: https to the TLS port
])
def test_every_fixed_route_answers_200(port, path):
    assert status('http://127.0.0.1:%d%s' % (port, path)) == '200'


def test_backend_service_started_the_crashed_unit_and_nothing_else(first):
    svc = PROXY.service('labapp@app-8090')
    assert svc.is_running and svc.is_enabled
    assert PROXY.socket('tcp://127.0.0.1:8090').is_listening
    results = dict((r['target'], r) for r in first['backend_service'])
    started = results.pop('127.0.0.1:8090')
    assert (started['action'], started['unit'], started['host'], started['changed']) == (
        'started', 'labapp@app-8090.service', 'roles-proxy', True), started
    assert started['listener']['port'] == 8090 and started['listener']['unit'] == 'labapp@app-8090.service'
    # no unit serves the others: reported, nothing guessed, and their routes still fail
    assert sorted(results) == NO_UNIT, sorted(results)
    assert set(r['action'] for r in results.values()) == {'unresolved'}, results
    for port in (8005, 8006, 8013):
        assert status('http://127.0.0.1:%d/x' % port, 5) == '502', port


def test_php_fpm_pool_fixed_the_two_pools_in_place():
    removed, added = changes(POOLS)
    assert removed == ['listen.owner = root', 'listen.group = root', 'listen.backlog = 0', 'pm.max_children = 1'], removed
    pools = pool_settings(PROXY.file(POOLS).content_string)
    assert (pools['locked']['listen.owner'], pools['locked']['listen.group'], pools['locked']['listen.mode']) == (
        'www-data', 'www-data', '0660'), pools['locked']
    assert pools['small']['listen.backlog'] == '511', pools['small']
    assert 2 <= int(pools['small']['pm.max_children']) <= 64, pools['small']
    assert pools['locked']['pm.max_children'] == '1'  # the pool that was not full keeps its size
    assert PROXY.run('php-fpm8.2 -t').rc == 0
    # php-fpm gives a socket its owner only when it creates it: the live socket was given it too
    sock = PROXY.file('/run/php/locked.sock')
    assert (sock.user, sock.group, sock.mode) == ('www-data', 'www-data', 0o660)


def test_the_resized_pool_takes_twelve_concurrent_requests():
    out = PROXY.check_output(
        "for i in $(seq 1 12); do curl -s -o /dev/null -w '%{http_code}\\n' --max-time 30 "
        "http://127.0.0.1:8008/sleep.php & done; wait")
    assert sorted(out.split()) == ['200'] * 12, out


def test_upstream_target_re_pointed_each_pass_where_it_is():
    assert 'proxy_pass http://127.0.0.1:9002;' in server(8002)
    assert 'fastcgi_pass unix:/run/php/php8.2-fpm.sock;' in server(8003)
    assert 'proxy_pass https://127.0.0.1:9443;' in server(8011)
    # the crashed service was started, not replaced: its route still passes to 8090
    assert 'proxy_pass http://127.0.0.1:8090;' in server(8001)


def test_proxy_timeouts_raised_the_read_timeout_of_the_slow_location_only():
    assert location(8007, '/') == ['proxy_read_timeout 60s;', 'proxy_pass http://127.0.0.1:9004;']
    assert [x for x in server(8005) if 'timeout' in x] == ['proxy_connect_timeout 2s;']


def test_proxy_buffers_sized_the_buffers_of_the_big_header_location():
    assert sorted(x for x in location(8010, '/') if x.startswith('proxy_buffer')) == [
        'proxy_buffer_size 64k;', 'proxy_buffers 8 64k;']


def test_proxy_headers_made_the_websocket_route_upgrade():
    out = PROXY.check_output(WS)
    assert out.splitlines()[0].split()[1] == '101', out
    assert 'sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=' in out.lower()
    # the server-level X-Real-IP was copied into the location, so the backend still sees it
    assert 'x-seen-real-ip: 127.0.0.1' in out.lower()
    loc = location(8014, '/ws/')
    for line in ('proxy_set_header Host $host;', 'proxy_set_header X-Real-IP $remote_addr;',
                 'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
                 'proxy_set_header X-Forwarded-Proto $scheme;', 'proxy_set_header Upgrade $http_upgrade;',
                 'proxy_set_header Connection $connection_upgrade;', 'proxy_http_version 1.1;'):
        assert line in loc, (line, loc)
    maps = blocks(PROXY.file(MAIN).content_string, r'http\s*\{')
    assert len(maps) == 1 and 'map $http_upgrade $connection_upgrade {' in maps[0], maps


def test_the_config_is_valid_and_the_diff_is_minimal():
    assert PROXY.run('nginx -t').rc == 0
    removed, added = changes(SITE)
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
                     '        proxy_set_header Host $host;',
                     '        proxy_set_header X-Real-IP $remote_addr;',
                     '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
                     '        proxy_set_header X-Forwarded-Proto $scheme;',
                     '        proxy_set_header Upgrade $http_upgrade;',
                     '        proxy_set_header Connection $connection_upgrade;',
                     '        proxy_http_version 1.1;'], added
    assert changes(MAIN) == ([], ['\tmap $http_upgrade $connection_upgrade {', '\t\tdefault upgrade;', "\t\t'' close;", '\t}'])
    site = PROXY.file(SITE)
    assert (site.user, site.group, site.mode) == ('root', 'root', 0o644)


# --- each role its own transaction, planned from the one diagnosis ------------------------------


def test_each_file_editing_role_was_its_own_transaction(first):
    applied = [(a['label'], a['changed']) for a in first['applied']]
    assert applied == [('php_fpm_pool', True), ('upstream_target', True), ('proxy_timeouts', True),
                       ('proxy_buffers', True), ('proxy_headers', True)], applied
    # each plan holds its own directives only (its default picked its own findings)
    own = {'upstream_target': {'proxy_pass', 'fastcgi_pass'}, 'proxy_timeouts': {'proxy_read_timeout'},
           'proxy_buffers': {'proxy_buffer_size', 'proxy_buffers'}}
    for role, directives in own.items():
        got = set(c['directive'] for c in first['plans'][role]['changes'])
        assert got == directives, (role, got)
    assert set(c['kind'] for c in first['plans']['php_fpm_pool']['changes']) == {'fpm'}


def test_later_plans_found_their_lines_although_the_facts_were_stale(first):
    # no role gathered the facts again: every plan was made from the diagnosis' facts ...
    assert first['gathered']['id'] and first['gathered'] == first['gathered_end'], (first['gathered'], first['gathered_end'])
    # ... which the transactions kept in step: proxy_buffers inserted two lines above the WebSocket
    # location, and proxy_headers, planned after it, edited that location at its new line
    assert [m[1] for m in first['moved'].get(SITE, [])][:2] == [1, 1], first['moved']
    was = before(SITE).splitlines().index('    location /ws/ {') + 1
    planned = set(c['line'] for c in first['plans']['proxy_headers']['changes'] if c.get('path') == SITE)
    assert planned == {was + 2}, (was, planned)


def test_no_journal_is_left_and_it_is_root_only():
    d = PROXY.file('/var/lib/badgateway-nginx')
    assert d.is_directory and d.mode == 0o700 and d.user == 'root'
    left = PROXY.check_output('ls -A /var/lib/badgateway-nginx').split()
    assert not [x for x in left if x.startswith('journal')], left


# --- the second run (molecule's idempotence step) ------------------------------------------------


def test_the_second_run_found_the_fixed_causes_gone_and_changed_nothing(first, last):
    assert last['run'] != first['run'], 'no second run was recorded'
    found = sorted((f['id'], f['target']['text']) for f in last['findings'])
    assert not [f for f in found if f[0] in FIXED_IDS], found
    assert [t for i, t in found if i == 'upstream_down'] == NO_UNIT, found
    # the roles fed by findings plan nothing; proxy_headers (no findings) plans the map block again,
    # and its transaction finds it in place: nothing written or reloaded
    for role in ('php_fpm_pool', 'upstream_target', 'proxy_timeouts', 'proxy_buffers'):
        assert last['plans'][role]['changes'] == [], (role, last['plans'][role]['changes'])
    assert [a['label'] for a in last['applied']] in ([], ['proxy_headers']), last['applied']
    for a in last['applied']:
        assert not a['changed'] and a['diff'] == [], a
        assert set(c['action'] for c in a['changes']) <= {'none'}, a['changes']
    assert last['moved'] == {}, last['moved']
    assert not [r for r in last['backend_service'] if r['changed'] or r['action'] in ('started', 'restarted')]
