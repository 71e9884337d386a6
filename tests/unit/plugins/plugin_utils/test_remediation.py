# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remediation plans: findings (shaped as the diagnosis writes them on the lab) to the smallest edits.

Every plan is applied with nginx_edit.plan_edit to the real config text, so the test shows the
exact bytes the transaction would write. The Molecule scenario `remediate` applies them for real.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import EditError, plan_edit, record_shift, shift_line
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import build_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _remediation as rx

SITE = '/etc/nginx/sites-enabled/app.conf'
CONF = '''server {
    listen 8002;
    location / {
        proxy_pass http://127.0.0.1:9003;
    }
}

server {
    listen 8007;
    server_name slow.example.com;
    location /reports/ {
        proxy_read_timeout 1s;   # too short
        proxy_pass http://127.0.0.1:9004;
    }
}

server {
    listen 8010;
    location / {
        proxy_pass http://127.0.0.1:9006;
    }
}

server {
    listen 127.0.0.1:8011 ssl;
    ssl_certificate /etc/ssl/a.crt;
    ssl_certificate_key /etc/ssl/a.key;
    location ~ \\.php$ {
        fastcgi_pass unix:/run/php/php7.4-fpm.sock;
    }
}

upstream pool {
    server 127.0.0.1:9101 max_fails=1 fail_timeout=30s;
    server 127.0.0.1:9102;
}

server {
    listen 8013;
    location / {
        proxy_pass http://pool;
    }
}
'''
MAIN = 'user www-data;\nevents {}\nhttp {\n    include /etc/nginx/sites-enabled/*.conf;\n}\n'


def facts():
    return build_facts({'files': [{'path': '/etc/nginx/nginx.conf', 'content': MAIN}, {'path': SITE, 'content': CONF}],
                        'config': '/etc/nginx/nginx.conf', 'conf_prefix': '/etc/nginx/', 'valid': True,
                        'validation': {'errors': [], 'warnings': []}})


def route(facts_, port, loc_line=None):
    for s in facts_['servers']:
        if any(x['port'] == port for x in s['listen']):
            loc = s['locations'][0] if loc_line is None else [x for x in s['locations'] if x['line'] == loc_line][0]
            r = {'server': {'name': s['server_name'][0], 'file': s['file'], 'line': s['line']},
                 'location': {'match': loc['match'], 'modifier': loc['modifier'], 'file': loc['file'], 'line': loc['line']},
                 'pass': {'directive': loc['pass']['directive'], 'file': loc['pass']['file'], 'line': loc['pass']['line'],
                          'raw': loc['pass']['target']['raw']},
                 'upstream': None}
            return r
    raise AssertionError(port)


def sample(path, host):
    return ('2026/12/02 01:10:50 [error] 1482#1482: *5 connect() failed (111: Connection refused) while connecting '
            'to upstream, client: 127.0.0.1, server: , request: "GET %s?REDACTED HTTP/1.1", upstream: "http://x", '
            'host: "%s"' % (path, host))


def finding(cause, target, routes, fix, evidence=None):
    return {'id': cause, 'target': target, 'routes': routes, 'fix': {'role': 'x', 'vars': fix},
            'evidence': evidence or {}, 'summary': cause}


def apply(plan):
    text = CONF.encode()
    for c in plan['changes']:
        spec = dict((k, v) for k, v in c.items() if k not in ('kind', 'path'))
        assert c['path'] == SITE
        text = plan_edit(text, spec, SITE)['after']
    return text.decode()


def changed_lines(before, after):
    a, b = before.splitlines(), after.splitlines()
    return [x for x in a if x not in b], [x for x in b if x not in a]


def test_timeout_in_the_failing_location_only_and_a_check_from_the_sample_request():
    f = facts()
    fd = finding('upstream_timeout', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9004, 'text': '127.0.0.1:9004'},
                 [route(f, 8007)], {'directive': 'proxy_read_timeout', 'value': '60s'},
                 {'log': [{'samples': [sample('/reports/q3', 'slow.example.com:8007')]}]})
    plan = rx.plan_timeouts([fd], f)
    assert plan['changes'] == [{'kind': 'nginx', 'path': SITE, 'scope': 'location', 'location': '/reports/', 'line': 11,
                                'directive': 'proxy_read_timeout', 'args': ['60s']}]
    assert plan['verify'] == [{'url': 'http://127.0.0.1:8007/reports/q3', 'host': 'slow.example.com:8007'}]
    assert changed_lines(CONF, apply(plan)) == (['        proxy_read_timeout 1s;   # too short'],
                                                ['        proxy_read_timeout 60s;   # too short'])
    both = rx.plan_timeouts([fd], f, also={'connect': '10s', 'send': '60s'})
    assert [(c['directive'], c['args']) for c in both['changes']] == [
        ('proxy_read_timeout', ['60s']), ('proxy_connect_timeout', ['10s']), ('proxy_send_timeout', ['60s'])]
    with pytest.raises(rx.PlanError):
        rx.plan_timeouts([fd], f, also={'keepalive': '10s'})
    capped = rx.plan_timeouts([fd], f, value='900s', maximum='300s')
    assert capped['changes'][0]['args'] == ['300s'] and capped['notes'] == ['upstream_timeout 127.0.0.1:9004: 900s capped at 300s']


def test_re_point_a_pass_and_an_upstream_member_in_place():
    f = facts()
    mismatch = finding('target_mismatch', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9003, 'text': '127.0.0.1:9003'},
                       [route(f, 8002)], {'from': '127.0.0.1:9003', 'to': '127.0.0.1:9002'})
    up = f['upstreams']['pool']
    member_route = dict(route(f, 8013), upstream={'name': 'pool', 'file': up['file'], 'line': up['line'],
                                                  'member': '127.0.0.1:9101', 'member_file': SITE, 'member_line': 48})
    member = finding('target_mismatch', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9101, 'text': '127.0.0.1:9101'},
                     [member_route], {'from': '127.0.0.1:9101', 'to': '127.0.0.1:9201'})
    proto = finding('protocol_mismatch', {'kind': 'unix', 'path': '/run/php/php7.4-fpm.sock'}, [route(f, 8011)],
                    {'from': 'unix:/run/php/php7.4-fpm.sock', 'to': 'unix:/run/php/php8.2-fpm.sock'},
                    {'log': [{'samples': [sample('/index.php', '127.0.0.1:8011')]}]})
    plan = rx.plan_targets([mismatch, member, proto], f)
    after = apply(plan)
    assert changed_lines(CONF, after) == (
        ['        proxy_pass http://127.0.0.1:9003;', '        fastcgi_pass unix:/run/php/php7.4-fpm.sock;',
         '    server 127.0.0.1:9101 max_fails=1 fail_timeout=30s;'],
        ['        proxy_pass http://127.0.0.1:9002;', '        fastcgi_pass unix:/run/php/php8.2-fpm.sock;',
         '    server 127.0.0.1:9201 max_fails=1 fail_timeout=30s;'])
    assert len(after.splitlines()) == len(CONF.splitlines())
    # a regex location has no path of its own: the failing request's path is checked, over TLS on the listen address
    assert {'url': 'https://127.0.0.1:8011/index.php'} in plan['verify']
    assert {'url': 'http://127.0.0.1:8002/'} in plan['verify']
    # applied once more, the plan changes nothing: idempotent
    again = after.encode()
    for c in plan['changes']:
        spec = dict((k, v) for k, v in c.items() if k not in ('kind', 'path'))
        assert plan_edit(again, spec, SITE)['action'] == 'none'
    # a member that is neither the old nor the new address is an error, never a new member
    stray = dict([c for c in plan['changes'] if c['directive'] == 'server'][0], key='127.0.0.1:9999', args=['127.0.0.1:9998'])
    with pytest.raises(EditError, match='no server 127.0.0.1:9999'):
        plan_edit(after.encode(), dict((k, v) for k, v in stray.items() if k not in ('kind', 'path')), SITE)


def test_nothing_alive_to_point_to_is_skipped_with_the_reason():
    f = facts()
    fd = finding('target_mismatch', {'kind': 'tcp', 'text': '127.0.0.1:9003'}, [route(f, 8002)], {})
    plan = rx.plan_targets([fd], f)
    assert plan['changes'] == [] and plan['skipped'][0]['reason'] == 'the diagnosis found no live target to point to'


def test_buffers_from_the_measured_header_keep_nginx_busy_buffers_rule():
    f = facts()
    fd = finding('header_too_big', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9006, 'text': '127.0.0.1:9006'},
                 [route(f, 8010)], {'directive': 'proxy_buffer_size', 'value': '16k', 'current': '4k'})
    plan = rx.plan_buffers([fd], f, measured={'127.0.0.1:9006': 32 * 1024 + 180})
    assert plan['probes'] == [{'url': 'http://127.0.0.1:9006/'}] and plan['probe_targets'] == ['127.0.0.1:9006']
    # 64k holds 32.2 KiB of headers; busy buffers 2 x 64k do not fit in (8 - 1) x 4k: nginx's 8 buffers of 64k
    assert [(c['directive'], c['args']) for c in plan['changes']] == [
        ('proxy_buffer_size', ['64k']), ('proxy_buffers', ['8', '64k'])]
    assert rx.buffer_size_for(3000) == 8192 and rx.buffer_size_for(7000) == 8192 and rx.buffer_size_for(7200) == 16384
    with pytest.raises(rx.PlanError):
        rx.buffer_size_for(300 * 1024, maximum='256k')
    fixed = rx.plan_buffers([fd], f)
    assert [(c['directive'], c['args']) for c in fixed['changes']] == [
        ('proxy_buffer_size', ['16k']), ('proxy_buffers', ['8', '16k'])]


@pytest.mark.parametrize('buffer_size', [4096, 8192, 16384, 32768, 65536, 262144])
@pytest.mark.parametrize('count, one', [(8, 4096), (8, 8192), (4, 4096), (2, 4096), (16, 4096), (33, 4096),
                                        (8, 65536)])
@pytest.mark.parametrize('busy', [None, 4096, 8192, 24576, 1048576])
def test_planned_buffers_keep_nginx_rules(buffer_size, count, one, busy):
    new_buffers, new_busy = rx.buffers_for(buffer_size, count, one, busy)
    final_count, final_one = new_buffers or (count, one)
    final_busy = new_busy or busy
    # ngx_http_proxy_merge_loc_conf: busy >= max(buffer_size, one buffer), busy <= (count - 1) x one buffer
    size = max(buffer_size, final_one)
    effective_busy = 2 * size if final_busy is None else final_busy
    assert final_count >= 2
    assert size <= effective_busy <= (final_count - 1) * final_one, (new_buffers, new_busy)
    assert rx.busy_buffers_rule(buffer_size, final_count, final_one, final_busy) is None
    if new_buffers:  # written the way nginx's documentation sizes them: 8 buffers, a page or the buffer size
        assert new_buffers == (8, max(one, buffer_size))
    if rx.busy_buffers_rule(buffer_size, count, one, busy) is None:
        assert (new_buffers, new_busy) == (None, None)  # nothing that nginx accepts is rewritten


def test_busy_buffers_rule_names_what_nginx_refuses():
    assert rx.busy_buffers_rule(16384, 8, 4096) == 'busy buffers (32k) are more than all buffers minus one buffer (7 x 4k)'
    assert rx.busy_buffers_rule(16384, 8, 4096, busy=8192).startswith('busy buffers (8k) are less than')
    assert rx.busy_buffers_rule(4096, 8, 4096) is None and rx.busy_buffers_rule(4096, 1, 4096) is not None
    assert rx.buffers_for(16384) == ((8, 16384), None)
    assert rx.buffers_for(16384, 8, 4096, busy=16384) == (None, None)  # an explicit 16k busy size fits 7 x 4k


def test_max_children_sizing():
    # 2 GiB available, 30 MiB children, one running: (2048 + 30) * 0.8 / 30 = 55
    assert rx.size_max_children(2 * 2 ** 30, 30 * 2 ** 20, 1)['value'] == 55
    assert rx.size_max_children(64 * 2 ** 30, 30 * 2 ** 20, 5, cap=64)['value'] == 64
    assert rx.size_max_children(10 * 2 ** 20, 30 * 2 ** 20, 1, floor=2)['value'] == 2
    tight = rx.size_max_children(50 * 2 ** 20, 30 * 2 ** 20, 10, floor=2)
    assert tight['value'] == 10 and 'allows no more' in tight['basis']
    assert rx.size_max_children(None, None, 3)['value'] == 6


def test_fpm_plan_for_permission_and_exhaustion():
    f = facts()
    checks = {'php_fpm': {'configs': [{'pools': [{'name': 'small', 'file': '/etc/php/8.2/fpm/pool.d/lab.conf', 'max_children': 1,
                                                  'settings': {'listen.backlog': {'value': 0}}}]}]},
              'resources': {'memory': {'available_kb': 1024 * 1024}}}
    perm = finding('socket_permission', {'kind': 'unix', 'path': '/run/php/locked.sock'}, [],
                   {'pool': 'locked', 'pool_file': '/etc/php/8.2/fpm/pool.d/lab.conf'})
    full = finding('pool_exhausted', {'kind': 'unix', 'path': '/run/php/small.sock'}, [],
                   {'pool': 'small', 'pool_file': '/etc/php/8.2/fpm/pool.d/lab.conf'},
                   {'processes': {'rss_kb_avg': 10240}, 'pool': {'max_children': 1}})
    plan = rx.plan_fpm([perm, full], f, checks)
    assert [(c['section'], c['key'], c['value']) for c in plan['changes']] == [
        ('locked', 'listen.owner', 'www-data'), ('locked', 'listen.group', 'www-data'), ('locked', 'listen.mode', '0660'),
        ('small', 'pm.max_children', '64'), ('small', 'listen.backlog', '511')]
    assert plan['notes'][0].startswith('pool small: pm.max_children 1 -> 64 (')


def test_triage_in_the_safe_order_and_what_is_only_reported():
    fs = [{'id': i, 'summary': i} for i in ('header_too_big', 'not_nginx', 'upstream_down', 'firewall_block',
                                            'backend_crash', 'pool_exhausted')]
    t = rx.triage(fs, exclude=['firewall_block'])
    assert [r for r in rx.ROLE_ORDER if t['roles'][r]] == ['backend_service', 'php_fpm_pool', 'proxy_buffers']
    assert [r['id'] for r in t['reported']] == ['not_nginx', 'backend_crash']
    assert [r['id'] for r in t['excluded']] == ['firewall_block']
    only = rx.triage(fs, include=['upstream_down'])
    assert only['roles']['backend_service'] and not only['roles']['php_fpm_pool'] and not only['reported']


HEADERS_CONF = '''server {
    listen 8014;
    server_name ws.example.com;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;

    location /ws/ {
        proxy_pass http://127.0.0.1:9007;
    }

    location /api/ {
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header Host $http_host;
        proxy_http_version 1.1;
        proxy_pass http://127.0.0.1:9002;
    }

    location /secret/ {
        proxy_pass http://127.0.0.1:9002;
    }
}
'''


def headers_facts(conf=HEADERS_CONF):
    return build_facts({'files': [{'path': '/etc/nginx/nginx.conf', 'content': MAIN}, {'path': SITE, 'content': conf}],
                        'config': '/etc/nginx/nginx.conf', 'conf_prefix': '/etc/nginx/', 'valid': True,
                        'validation': {'errors': [], 'warnings': []}})


def apply_all(plan, files):
    """Apply a plan's changes in order, as nginx_change does (lines follow the earlier edits' moves)."""
    files = dict((k, v.encode()) for k, v in files.items())
    shifts = dict((k, []) for k in files)
    for c in plan['changes']:
        spec = dict((k, v) for k, v in c.items() if k not in ('kind', 'path'))
        if spec.get('line'):
            spec['line'] = shift_line(spec['line'], shifts[c['path']])
        r = plan_edit(files[c['path']], spec, c['path'])
        shift = record_shift(r['action'], r['line'], files[c['path']], r['after'])
        if shift:
            shifts[c['path']].append(shift)
        files[c['path']] = r['after']
    return dict((k, v.decode()) for k, v in files.items())


def test_headers_respect_all_or_nothing_inheritance_and_websocket_gets_the_map():
    f = headers_facts()
    plan = rx.plan_headers(f, locations=[{'listen': '8014', 'location': '/ws/'}, {'listen': '8014', 'location': '/api/'}],
                           websocket=[{'location': '/ws/'}])
    out = apply_all(plan, {'/etc/nginx/nginx.conf': MAIN, SITE: HEADERS_CONF})
    # the map once, at http level in the main config
    assert "    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        '' close;\n    }\n}\n" in \
        out['/etc/nginx/nginx.conf']
    site = out[SITE]
    ws = site[site.index('location /ws/'):site.index('location /api/')]
    # /ws/ inherited Host and X-Real-IP from the server: they are copied in, since setting any drops them all
    assert ws.splitlines()[1:] == [
        '        proxy_pass http://127.0.0.1:9007;',
        '        proxy_set_header Host $host;',
        '        proxy_set_header X-Real-IP $remote_addr;',
        '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
        '        proxy_set_header X-Forwarded-Proto $scheme;',
        '        proxy_set_header Upgrade $http_upgrade;',
        '        proxy_set_header Connection $connection_upgrade;',
        '        proxy_http_version 1.1;',
        '    }', '', '    ']
    api = site[site.index('location /api/'):site.index('location /secret/')]
    # /api/ sets its own: only the missing ones are added, its Host $http_host is left (and noted)
    assert 'proxy_set_header X-Real-IP $remote_addr;' in api and 'proxy_set_header X-Forwarded-Proto $scheme;' in api
    assert api.count('proxy_set_header Host') == 1 and api.count('proxy_http_version') == 1
    assert any('Host is $http_host, left as it is' in n for n in plan['notes'])
    assert '/secret/' not in str(plan['changes'])  # not selected
    # the planned result has every header, and planning again changes nothing
    again = headers_facts(site)
    again_plan = rx.plan_headers(again, locations=[{'listen': '8014', 'location': '/ws/'}, {'listen': '8014', 'location': '/api/'}],
                                 websocket=[{'location': '/ws/'}])
    assert [c for c in again_plan['changes'] if 'block' not in c] == []
    assert plan['verify'] == [{'url': 'http://127.0.0.1:8014/ws/', 'host': 'ws.example.com:8014'},
                              {'url': 'http://127.0.0.1:8014/api/', 'host': 'ws.example.com:8014'}]


def test_headers_with_a_secret_inherited_value_go_where_the_inherited_ones_are():
    conf = HEADERS_CONF.replace('proxy_set_header X-Real-IP $remote_addr;', 'proxy_set_header Authorization "Basic abc";')
    plan = rx.plan_headers(headers_facts(conf), locations=[{'location': '/secret/'}])
    assert [(c['scope'], c['args']) for c in plan['changes'] if c['directive'] == 'proxy_set_header'] == [
        ('server', ['X-Real-IP', '$remote_addr']), ('server', ['X-Forwarded-For', '$proxy_add_x_forwarded_for']),
        ('server', ['X-Forwarded-Proto', '$scheme'])]
    assert 'secret values' in plan['notes'][0]


def test_lines_follow_earlier_edits():
    text = b'server {\n    listen 1;\n    location /a {\n        proxy_pass http://x;\n    }\n    location /b {\n        proxy_pass http://y;\n    }\n}\n'
    shifts = []
    r = plan_edit(text, {'scope': 'location', 'location': '/a', 'line': 3, 'directive': 'proxy_read_timeout', 'args': ['9s']})
    shifts.append(record_shift(r['action'], r['line'], text, r['after']))
    assert shifts == [[5, 1, True]]
    # /b was at line 6, it is now at 7; lines before the insertion stay
    assert shift_line(6, shifts) == 7 and shift_line(3, shifts) == 3 and shift_line(4, shifts) == 4
    r2 = plan_edit(r['after'], {'scope': 'location', 'location': '/b', 'line': shift_line(6, shifts), 'directive': 'proxy_pass',
                                'state': 'absent'})
    shifts.append(record_shift(r2['action'], r2['line'], r['after'], r2['after']))
    assert shifts[-1] == [8, -1, False] and shift_line(9, shifts) == 9 and shift_line(6, shifts) == 7


def test_keepalive_race_sets_the_upstream_keepalive_timeout_below_the_idle_close():
    f = facts()
    member = dict(route(f, 8013), upstream={'name': 'pool', 'file': SITE, 'line': 33, 'member': '127.0.0.1:9101',
                                            'member_file': SITE, 'member_line': 34})
    fd = finding('keepalive_race', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9101, 'text': '127.0.0.1:9101'},
                 [member], {'upstream': 'pool', 'directive': 'keepalive_timeout', 'value': '750ms',
                            'backend_idle_close': 1.501})
    plan = rx.plan_timeouts([fd], f)
    assert plan['changes'] == [{'kind': 'nginx', 'path': SITE, 'scope': 'upstream', 'upstream': 'pool', 'line': 33,
                                'directive': 'keepalive_timeout', 'args': ['750ms']}]
    assert plan['verify'] == [{'url': 'http://127.0.0.1:8013/'}]
    assert changed_lines(CONF, apply(plan)) == ([], ['    keepalive_timeout 750ms;'])
    assert rx.plan_timeouts([fd], f, keepalive='1s')['changes'][0]['args'] == ['1s']
    # a value the backend does not keep the connection for is refused before anything changes
    with pytest.raises(rx.PlanError, match='not below the 1.501s'):
        rx.plan_timeouts([fd], f, keepalive='2s')
    gone = finding('keepalive_race', fd['target'], [member], {'upstream': 'nowhere', 'value': '750ms'})
    assert rx.plan_timeouts([gone], f)['skipped'] == [
        {'finding': 'keepalive_race 127.0.0.1:9101', 'reason': 'the diagnosis named no upstream block or value'}]


@pytest.mark.parametrize('idle, value', [(1.501, '750ms'), (1.52, '760ms'), (0.01, '10ms'), (3.999, '1990ms'),
                                         (4.0, '2s'), (5.002, '2s'), (61.0, '30s')])
def test_keepalive_timeout_is_half_the_idle_close(idle, value):
    from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import keepalive_race
    assert keepalive_race.below(idle) == value


def test_the_audit_findings_plan_with_the_roles_that_fix_their_diagnosed_kin():
    """The role an audit finding names fixes it when given the finding: the same change as its diagnosed kin."""
    f = facts()
    mismatch = finding('timeout_mismatch', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9004, 'text': '127.0.0.1:9004'},
                       [route(f, 8007)], {'directive': 'proxy_read_timeout', 'value': '90s'})
    assert [(c['directive'], c['args']) for c in rx.plan_timeouts([mismatch], f)['changes']] == [
        ('proxy_read_timeout', ['90s'])]
    header = finding('header_buffer_small', {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9006, 'text': '127.0.0.1:9006'},
                     [route(f, 8010)], {'header_bytes': 32913})
    changes = rx.plan_buffers([header], f)['changes']
    assert [(c['directive'], c['args']) for c in changes][0] == ('proxy_buffer_size', ['64k'])
    restart = finding('socket_mode_after_restart', {'kind': 'unix', 'path': '/run/php/locked.sock'}, [],
                      {'pool': 'locked', 'pool_file': '/etc/php/8.2/fpm/pool.d/lab.conf'})
    sizing = finding('fpm_children_sizing', None, [],
                     {'pool': 'huge', 'pool_file': '/etc/php/8.2/fpm/pool.d/latent.conf', 'max_children': 9})
    backlog = finding('fpm_children_sizing', None, [],
                      {'pool': 'small', 'pool_file': '/etc/php/8.2/fpm/pool.d/lab.conf', 'listen_backlog': 40})
    plan = rx.plan_fpm([restart, sizing, backlog], f, {})
    assert [(c['section'], c['key'], c['value']) for c in plan['changes']] == [
        ('locked', 'listen.owner', 'www-data'), ('locked', 'listen.group', 'www-data'), ('locked', 'listen.mode', '0660'),
        ('huge', 'pm.max_children', '9'), ('small', 'listen.backlog', '40')]
    assert [c['value'] for c in rx.plan_fpm([sizing], f, {}, max_children=12)['changes']] == ['12']
