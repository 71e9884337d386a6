# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The correlation rules that tell causes with the same symptom apart.

Facts come from real config text through build_facts; the checks are shaped as
nginx_probe returns them. The Molecule scenario `diagnose` proves the same on real hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils.nginx_config import build_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils import nginx_diagnosis as dx

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
    assert f['location']['match'] == '/r' and f['pass']['line'] == 10


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
    assert dx.log_upstream_key('http://10.0.0.1:8080/api/x') == ('tcp', '10.0.0.1', 8080)
    assert dx.log_upstream_key('fastcgi://unix:/run/php/php8.2-fpm.sock:') == ('unix', '/run/php/php8.2-fpm.sock')
    assert dx.log_upstream_key('http://pool/x', {'pool'}) == ('upstream', 'pool')
    assert dx.log_upstream_key('https://[::1]/x') == ('tcp', '::1', 443)
    assert dx.log_upstream_key('') is None


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
