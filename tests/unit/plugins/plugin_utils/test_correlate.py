# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The correlation rules that tell causes with the same symptom apart.

Facts come from real config text through build_facts; the checks are shaped as
nginx_probe returns them. The Molecule scenario `diagnose` proves the same on real hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader, _php_fpm as php_fpm
from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import build_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _correlate as dx
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import pool_exhausted

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'logs')

CONF = '''
user www-data;
events {}
http {
    upstream pool { server 127.0.0.1:9101; server 127.0.0.1:9102; }
    server {
        listen 80;
        location /a { proxy_pass http://127.0.0.1:9003; }
        location /b { proxy_pass http://127.0.0.1:9101; }
        location /r { proxy_pass http://10.0.0.5:7080; }
        location /p { proxy_pass http://pool; }
        location ~ \\.php$ { fastcgi_pass unix:/run/php/php7.4-fpm.sock; }
    }
}
'''


def facts():
    return build_facts({'files': [{'path': '/etc/nginx/nginx.conf', 'content': CONF}], 'config': '/etc/nginx/nginx.conf',
                        'conf_prefix': '/etc/nginx/', 'valid': True, 'validation': {'errors': [], 'warnings': []}})


def listener(port, process='python3', address='127.0.0.1'):
    return {'family': 'ipv4', 'address': address, 'port': port, 'pids': [10], 'process': process, 'unit': None,
            'user': 'root'}


def tcp_probe(host, port, result):
    return {'kind': 'tcp', 'host': host, 'port': port, 'result': result, 'tls': False if result == 'ok' else None}


def base_checks():
    return {
        'addresses': ['127.0.0.1', '::1', '10.0.0.4'],
        'listeners': {'tcp': [listener(80, 'nginx', '0.0.0.0'), listener(9002), listener(22, 'sshd', '0.0.0.0')],
                      'unix': [{'path': '/run/php/php8.2-fpm.sock', 'process': 'php-fpm8.2', 'pids': [5], 'unit': None,
                                'user': 'root'}]},
        'probes': [tcp_probe('127.0.0.1', 9003, 'refused'), tcp_probe('127.0.0.1', 9101, 'refused'),
                   tcp_probe('127.0.0.1', 9102, 'refused'), tcp_probe('10.0.0.5', 7080, 'timeout'),
                   {'kind': 'unix', 'path': '/run/php/php7.4-fpm.sock', 'result': 'no_such_file', 'as_user': None}],
        'sockets': {'/run/php/php7.4-fpm.sock': {'exists': False, 'can_connect': False}},
        'error_logs': {}, 'firewall': None, 'php_fpm': None, 'resources': None, 'http': [],
    }


def by_target(findings):
    return dict(((f['target'] or {}).get('text'), f['id']) for f in findings)


def test_one_orphan_explains_one_target_the_closest():
    found = by_target(dx.diagnose('web1', facts(), base_checks()))
    # 9002 listens and nobody uses it: it is what 9003 meant; 9101/9102 are simply down
    assert found['127.0.0.1:9003'] == 'target_mismatch'
    assert found['127.0.0.1:9101'] == 'upstream_down'
    assert found['127.0.0.1:9102'] == 'upstream_down'
    assert found['unix:/run/php/php7.4-fpm.sock'] == 'target_mismatch'


def test_a_claimed_listener_is_not_an_orphan():
    # another nginx of the fleet passes to 9002: it is not the service 9003 meant
    found = by_target(dx.diagnose('web1', facts(), base_checks(), claimed={('127.0.0.1', 9002)}))
    assert found['127.0.0.1:9003'] == 'upstream_down'


def test_timeout_without_a_known_upstream_host_is_an_unconfirmed_firewall_block():
    f = [x for x in dx.diagnose('web1', facts(), base_checks()) if (x['target'] or {}).get('port') == 7080][0]
    assert f['id'] == 'firewall_block' and f['confirmed'] is False
    # an unproven block is not a confirmed one: a warning that says no rule was found
    assert f['severity'] == 'warning'
    assert f['summary'].startswith('no rule found that blocks 10.0.0.5:7080')
    assert f['location']['match'] == '/r' and f['pass']['line'] == 10


def test_timeout_while_the_peer_listens_and_no_rule_blocks_is_unconfirmed():
    peer = {'addresses': ['10.0.0.5'], 'firewall': None,
            'listeners': {'tcp': [listener(7080, 'apache2', '0.0.0.0')], 'unix': []}}
    f = [x for x in dx.diagnose('web1', facts(), base_checks(), peers={'app1': peer})
         if (x['target'] or {}).get('port') == 7080][0]
    assert (f['id'], f['severity'], f['confirmed']) == ('firewall_block', 'warning', False)
    assert f['summary'].startswith('no rule found that blocks 10.0.0.5:7080') and 'app1 listens there' in f['summary']
    assert f['evidence']['firewall'] == []


def test_an_unreadable_firewall_is_named_not_taken_for_open():
    peer = {'addresses': ['10.0.0.5'], 'listeners': {'tcp': [listener(7080, 'apache2', '0.0.0.0')], 'unix': []},
            'firewall': {'backends': [], 'errors': ['nft list ruleset -j did not finish within 1 seconds']}}
    f = [x for x in dx.diagnose('web1', facts(), base_checks(), peers={'app1': peer})
         if (x['target'] or {}).get('port') == 7080][0]
    assert (f['id'], f['severity'], f['confirmed']) == ('firewall_block', 'warning', False)
    assert 'no complete firewall ruleset was read from web1, app1' in f['summary'], f['summary']
    assert f['evidence']['firewall_not_read'] == ['web1', 'app1']


def test_refused_while_the_peer_listens_elsewhere_and_down_when_nothing_does():
    checks = base_checks()
    checks['probes'][3] = tcp_probe('10.0.0.5', 7080, 'refused')
    peer = {'addresses': ['10.0.0.5', '127.0.0.1'], 'firewall': None,
            'listeners': {'tcp': [listener(7081, 'apache2', '0.0.0.0'), listener(8100, 'nginx', '127.0.0.1')],
                          'unix': []}}
    found = by_target(dx.diagnose('web1', facts(), checks, peers={'app1': peer}))
    assert found['10.0.0.5:7080'] == 'target_mismatch'
    peer['listeners']['tcp'] = [listener(7080, 'apache2', '127.0.0.1')]
    f = [x for x in dx.diagnose('web1', facts(), checks, peers={'app1': peer}) if x['target']['text'] == '10.0.0.5:7080'][0]
    assert f['id'] == 'target_mismatch' and 'only at 127.0.0.1' in f['summary']
    peer['listeners']['tcp'] = []
    assert by_target(dx.diagnose('web1', facts(), checks, peers={'app1': peer}))['10.0.0.5:7080'] == 'upstream_down'


def test_permission_denied_as_the_worker_user():
    checks = base_checks()
    checks['probes'][4] = {'kind': 'unix', 'path': '/run/php/php7.4-fpm.sock', 'result': 'ok',
                           'as_user': {'user': 'www-data', 'result': 'permission_denied'}}
    checks['sockets']['/run/php/php7.4-fpm.sock'] = {'exists': True, 'can_connect': False, 'owner': 'root',
                                                     'group': 'root', 'mode': '0660',
                                                     'reason': 'socket is not writable by www-data'}
    f = [x for x in dx.diagnose('web1', facts(), checks) if x['target']['kind'] == 'unix'][0]
    assert f['id'] == 'socket_permission'
    assert f['fix']['vars']['listen_owner'] == 'www-data'


def test_log_upstream_keys():
    assert log_reader.log_upstream_key('http://10.0.0.1:8080/api/x') == ('tcp', '10.0.0.1', 8080)
    assert log_reader.log_upstream_key('fastcgi://unix:/run/php/php8.2-fpm.sock:') == ('unix', '/run/php/php8.2-fpm.sock')
    assert log_reader.log_upstream_key('http://pool/x', {'pool'}) == ('upstream', 'pool')
    assert log_reader.log_upstream_key('https://[::1]/x') == ('tcp', '::1', 443)
    assert log_reader.log_upstream_key('') is None


def test_healthy_host_has_no_finding():
    checks = base_checks()
    checks['probes'] = [tcp_probe(p['host'], p['port'], 'ok') for p in checks['probes'] if p['kind'] == 'tcp']
    checks['probes'].append({'kind': 'unix', 'path': '/run/php/php7.4-fpm.sock', 'result': 'ok',
                             'as_user': {'user': 'www-data', 'result': 'ok'}})
    checks['sockets']['/run/php/php7.4-fpm.sock'] = {'exists': True, 'can_connect': True}
    assert dx.diagnose('web1', facts(), checks) == []


def test_a_far_away_listener_is_no_evidence_of_a_mismatch():
    checks = base_checks()
    checks['listeners']['tcp'] = [listener(80, 'nginx', '0.0.0.0'), listener(19443, 'openssl')]
    found = by_target(dx.diagnose('web1', facts(), checks))
    assert found['127.0.0.1:9003'] == 'upstream_down'


# --- evidence that only PHP-FPM's log holds (recorded lines, grouped as nginx_probe groups them) ---------

FPM_CONF = '''
user www-data;
events {}
http {
    server {
        listen 80;
        location /shop/ { fastcgi_read_timeout %s; fastcgi_pass unix:/run/php/php8.2-fpm.sock; }
        location /api/ { fastcgi_pass 127.0.0.1:9000; }
        location /other/ { proxy_pass http://127.0.0.1:9002; }
    }
}
'''
FPM_LOG = '/var/log/php8.2-fpm.log'
NGINX_LOG = '/var/log/nginx/error.log'
PARAMS = {'redact_query': True, 'redact_client': False}


def fpm_facts(read_timeout='5s'):
    return build_facts({'files': [{'path': '/etc/nginx/nginx.conf', 'content': FPM_CONF % read_timeout}],
                        'config': '/etc/nginx/nginx.conf', 'conf_prefix': '/etc/nginx/', 'valid': True,
                        'validation': {'errors': [], 'warnings': []}})


def recorded(name, *needles):
    with open(os.path.join(FIXTURES, name)) as f:
        return [line.rstrip('\n') for line in f if any(n in line for n in needles)]


def pool(name, listen, **more):
    p = {'name': name, 'listen': listen, 'file': '/etc/php/8.2/fpm/pool.d/%s.conf' % name, 'line': 1, 'pm': 'dynamic',
         'max_children': 3}
    p.update(php_fpm.parse_listen(listen))
    p.update(more)
    return p


def fpm_checks(fpm_lines, nginx_lines=(), pools=None):
    """Checks as nginx_probe returns them: the lines go through the node's classifiers and grouping."""
    fpm = [log_reader.classify_fpm_line(x) for x in fpm_lines]
    err = [log_reader.classify_error_line(x) for x in nginx_lines]
    return {
        'addresses': ['127.0.0.1', '::1'],
        'listeners': {'tcp': [listener(80, 'nginx', '0.0.0.0'), listener(9000, 'php-fpm8.2'), listener(9002)],
                      'unix': [{'path': '/run/php/php8.2-fpm.sock', 'process': 'php-fpm8.2', 'pids': [5],
                                'unit': None, 'user': 'root'}]},
        'probes': [tcp_probe('127.0.0.1', 9000, 'ok'), tcp_probe('127.0.0.1', 9002, 'ok'),
                   {'kind': 'unix', 'path': '/run/php/php8.2-fpm.sock', 'result': 'ok',
                    'as_user': {'user': 'www-data', 'result': 'ok'}}],
        'sockets': {'/run/php/php8.2-fpm.sock': {'exists': True, 'can_connect': True}},
        'error_logs': {NGINX_LOG: {'info': {}, 'groups': nginx_probe.group_lines(err, PARAMS)}},
        'firewall': None, 'resources': None, 'http': [],
        'php_fpm': {'configs': [{'config': '/etc/php/8.2/fpm/php-fpm.conf',
                                 'global': {'error_log': {'value': FPM_LOG}},
                                 'pools': pools if pools is not None else [pool('www', '/run/php/php8.2-fpm.sock')]}],
                    'processes': {}, 'logs': {FPM_LOG: {'info': {}, 'groups': nginx_probe.group_lines(
                        fpm, PARAMS, ('kind', 'pool'), epochs_of=('max_children',))}}},
    }


MAX_CHILDREN = 'server reached pm.max_children setting'
FASTCGI_TIMEOUT = 'upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock"'


def ids(findings):
    return sorted((f['id'], (f['target'] or {}).get('text')) for f in findings)


def test_pool_full_in_the_php_fpm_log_alone_is_pool_exhausted_on_its_routes():
    # requests only queued: nginx logged nothing, PHP-FPM said the pool was full
    checks = fpm_checks(recorded('php8.2-fpm-recorded.log', MAX_CHILDREN))
    findings = dx.diagnose('web1', fpm_facts(), checks)
    assert ids(findings) == [('pool_exhausted', 'unix:/run/php/php8.2-fpm.sock')]
    f = findings[0]
    assert [r['location']['match'] for r in f['routes']] == ['/shop/']
    assert f['fix'] == {'role': 'badgateway.nginx.php_fpm_pool',
                        'vars': {'pool': 'www', 'pool_file': '/etc/php/8.2/fpm/pool.d/www.conf'}}
    assert [(g['kind'], g['pool'], g['count'], g['log']) for g in f['evidence']['php_fpm_log']] == [
        ('max_children', 'www', 1, FPM_LOG)]
    assert 'server reached pm.max_children" 1 time(s), last at 22-Nov-2026 09:05:11' in f['summary']


def test_pool_full_matches_a_tcp_listen_and_only_its_own_pool():
    line = recorded('php8.2-fpm-recorded.log', MAX_CHILDREN)[0]
    # the pool listens on 127.0.0.1:9000: the route /api/ uses it
    checks = fpm_checks([line.replace('[pool www]', '[pool api]')],
                        pools=[pool('www', '/run/php/php8.2-fpm.sock'), pool('api', '127.0.0.1:9000')])
    f = dx.diagnose('web1', fpm_facts(), checks)
    assert ids(f) == [('pool_exhausted', '127.0.0.1:9000')]
    assert [r['location']['match'] for r in f[0]['routes']] == ['/api/'] and f[0]['fix']['vars']['pool'] == 'api'
    # a pool no route passes to is nothing nginx's 502s are about
    checks = fpm_checks([line.replace('[pool www]', '[pool reports]')],
                        pools=[pool('www', '/run/php/php8.2-fpm.sock'), pool('reports', '/run/php/reports.sock')])
    assert dx.diagnose('web1', fpm_facts(), checks) == []


def test_fastcgi_read_timeouts_while_the_pool_was_full_are_pool_exhausted():
    # recorded: PHP-FPM full at 09:05:11, nginx timed out at 09:05:18 on that pool's socket
    fpm_lines = recorded('php8.2-fpm-recorded.log', MAX_CHILDREN)
    timeouts = recorded('nginx-1.22-fpm-container-error.log', 'upstream timed out')
    assert timeouts and FASTCGI_TIMEOUT in timeouts[0]
    # fastcgi_read_timeout 5s: the request was sent at 09:05:13, while the pool was full
    findings = dx.diagnose('web1', fpm_facts('5s'), fpm_checks(fpm_lines, timeouts))
    assert ids(findings) == [('pool_exhausted', 'unix:/run/php/php8.2-fpm.sock')]
    f = findings[0]
    assert [(g['kind'], g['count']) for g in f['evidence']['log']] == [('read_timeout', 1)]
    assert f['evidence']['read_timeout']['value'] == '5s'
    assert 'the 1 read timeout(s) nginx logged (fastcgi_read_timeout 5s) are requests that waited' in f['summary']
    assert f['fix']['role'] == 'badgateway.nginx.php_fpm_pool'


def test_a_read_timeout_of_a_request_sent_before_the_pool_filled_stays_upstream_timeout():
    fpm_lines = recorded('php8.2-fpm-recorded.log', MAX_CHILDREN)
    timeouts = recorded('nginx-1.22-fpm-container-error.log', 'upstream timed out')
    # fastcgi_read_timeout 60s: that request was sent at 09:04:18, 53 s before PHP-FPM said the pool
    # was full: it did not wait for a child, it ran too long
    found = ids(dx.diagnose('web1', fpm_facts('60s'), fpm_checks(fpm_lines, timeouts)))
    assert found == [('pool_exhausted', 'unix:/run/php/php8.2-fpm.sock'),
                     ('upstream_timeout', 'unix:/run/php/php8.2-fpm.sock')]
    # and without the PHP-FPM warning a read timeout is an upstream_timeout
    assert ids(dx.diagnose('web1', fpm_facts('5s'), fpm_checks([], timeouts))) == [
        ('upstream_timeout', 'unix:/run/php/php8.2-fpm.sock')]


def test_the_window_that_ties_a_full_pool_to_read_timeouts():
    # PHP-FPM full at 09:05:11, nginx timed out at 09:05:18: the request was sent at 09:05:18 - read
    # timeout, and the warning may come at most QUEUE_AFTER_SECONDS (5 s) after it was sent
    fpm_lines = recorded('php8.2-fpm-recorded.log', MAX_CHILDREN)
    timeouts = recorded('nginx-1.22-fpm-container-error.log', 'upstream timed out')
    assert pool_exhausted.QUEUE_AFTER_SECONDS == 5
    warned_5s_after_it_was_sent = ids(dx.diagnose('web1', fpm_facts('12s'), fpm_checks(fpm_lines, timeouts)))
    assert warned_5s_after_it_was_sent == [('pool_exhausted', 'unix:/run/php/php8.2-fpm.sock')]
    warned_6s_after_it_was_sent = ids(dx.diagnose('web1', fpm_facts('13s'), fpm_checks(fpm_lines, timeouts)))
    assert ('upstream_timeout', 'unix:/run/php/php8.2-fpm.sock') in warned_6s_after_it_was_sent
