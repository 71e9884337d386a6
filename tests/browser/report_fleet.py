# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A synthetic fleet for the report: N hosts with a realistic mix of the registry's causes.

The findings have the shape the correlator gives them (plugin_utils/_correlate.py, Diagnosis.add): id and
severity from the cause registry (firewall_block critical when confirmed, warning when not), the route of
the first server/location/pass to the target, the target, evidence with the probe and classified log
groups whose samples are whole nginx error-log lines, a summary and the fix role of the registry.
Deterministic: the same n and seed give the same fleet.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry

# how often a cause appears among the findings of a fleet (relative weights): refused backends and wrong
# ports are the daily 502s, a broken config or an exhausted pool less so, a non-nginx 5xx is rare
WEIGHTS = {
    'upstream_down': 30, 'target_mismatch': 12, 'upstream_timeout': 14, 'pool_exhausted': 8, 'socket_permission': 5,
    'firewall_block': 7, 'backend_crash': 6, 'header_too_big': 4, 'protocol_mismatch': 3, 'no_live_upstreams': 3,
    'dns_failure': 2, 'resource_limits': 2, 'not_nginx': 1, 'config_invalid': 2, 'config_not_loaded': 1,
}
HOST_WIDE = ('resource_limits', 'not_nginx', 'config_invalid', 'config_not_loaded')
LOG_KIND = {
    'upstream_down': ('connect_refused', 'connect() failed (111: Connection refused) while connecting to upstream'),
    'target_mismatch': ('connect_refused', 'connect() failed (111: Connection refused) while connecting to upstream'),
    'upstream_timeout': ('read_timeout', 'upstream timed out (110: Connection timed out) while reading response header '
                                         'from upstream'),
    'pool_exhausted': ('socket_eagain', 'connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily '
                                        'unavailable) while connecting to upstream'),
    'socket_permission': ('socket_permission', 'connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission '
                                               'denied) while connecting to upstream'),
    'firewall_block': ('connect_timeout', 'upstream timed out (110: Connection timed out) while connecting to upstream'),
    'backend_crash': ('premature_close', 'upstream prematurely closed connection while reading response header from '
                                         'upstream'),
    'header_too_big': ('too_big_header', 'upstream sent too big header while reading response header from upstream'),
    'protocol_mismatch': ('invalid_header', 'upstream sent invalid header while reading response header from upstream'),
    'no_live_upstreams': ('no_live_upstreams', 'no live upstreams while connecting to upstream'),
    'dns_failure': ('host_not_found', 'api.internal could not be resolved (3: Host not found)'),
    'resource_limits': ('too_many_open_files', 'accept4() failed (24: Too many open files)'),
    'not_nginx': ('http_5xx_not_from_nginx', None),
    'config_invalid': ('nginx_t_error', None),
    'config_not_loaded': ('changed_after_load', None),
}
PROBE = {'upstream_down': 'refused', 'target_mismatch': 'refused', 'firewall_block': 'timeout',
         'socket_permission': 'permission_denied', 'pool_exhausted': 'ok', 'upstream_timeout': 'ok'}


def _route(rng, n_site, port):
    site = '/etc/nginx/sites-enabled/site-%03d.conf' % n_site
    line = rng.randint(3, 240)
    return {'server': {'name': 'app%d.example.com' % n_site, 'file': site, 'line': line},
            'location': {'match': rng.choice(['/', '/api/', '/reports/', '\\.php$']), 'modifier': '', 'file': site,
                         'line': line + 4},
            'pass': {'directive': 'proxy_pass', 'file': site, 'line': line + 5, 'raw': 'http://10.0.%d.%d:%d' % (
                n_site % 250, port % 250, port)},
            'upstream': None}


def _log_group(rng, cause, name, target_text):
    kind, text = LOG_KIND[cause]
    if text is None:
        return []
    count = rng.randint(1, 5000)
    samples = ['2026/12/02 01:%02d:%02d [error] %d#%d: *%d %s, client: 203.0.113.%d, server: app.example.com, '
               'request: "GET /api/orders?REDACTED HTTP/1.1", upstream: "http://%s/api/orders", host: "%s"' % (
                   rng.randint(0, 59), rng.randint(0, 59), pid, pid, rng.randint(1, 10 ** 6), text, rng.randint(1, 254),
                   target_text, name)
               for pid in (rng.randint(100, 40000) for _n in range(min(count, 3)))]
    return [{'log': '/var/log/nginx/error.log', 'kind': kind, 'catalog': cause, 'count': count,
             'first_seen': '2026/12/02 01:00:00', 'last_seen': '2026/12/02 01:59:59', 'upstream': target_text,
             'server': 'app.example.com', 'samples': samples}]


def finding(rng, name, cause):
    """One finding of cause on host name, shaped as the correlator records it."""
    confirmed = rng.random() < 0.5 if cause == 'firewall_block' else None
    severity = ('critical' if confirmed else 'warning') if cause == 'firewall_block' else registry.severity(cause)
    if cause in HOST_WIDE:
        routes, target = [], None
        target_text = None
    else:
        port = rng.randint(3000, 9999)
        routes = [_route(rng, rng.randint(0, 99), port) for _n in range(rng.randint(1, 2))]
        if cause in ('pool_exhausted', 'socket_permission'):
            target = {'kind': 'unix', 'path': '/run/php/php8.2-fpm.sock', 'text': 'unix:/run/php/php8.2-fpm.sock'}
        else:
            host = routes[0]['pass']['raw'].split('//')[1].rsplit(':', 1)[0]
            target = {'kind': 'tcp', 'host': host, 'port': port, 'text': '%s:%d' % (host, port)}
        target_text = target['text']
    first = routes[0] if routes else {}
    evidence = {'log': _log_group(rng, cause, name, target_text or '-')}
    if cause in PROBE:
        evidence['probe'] = {'kind': (target or {}).get('kind', 'tcp'), 'host': (target or {}).get('host'),
                             'port': (target or {}).get('port'), 'result': PROBE[cause], 'tls': None}
    if cause == 'target_mismatch':
        evidence['listening_instead'] = [{'family': 'ipv4', 'address': '127.0.0.1', 'port': target['port'] + 1,
                                          'pids': [rng.randint(100, 40000)], 'process': 'gunicorn', 'unit': 'app.service',
                                          'user': 'app'}]
    f = {'id': cause, 'severity': severity, 'host': name, 'server': first.get('server'),
         'location': first.get('location'), 'upstream': first.get('upstream'), 'pass': first.get('pass'),
         'routes': routes, 'target': target, 'evidence': evidence,
         'summary': '%s on %s (%s)' % (registry.get(cause).DOC['title'].rstrip('.'), target_text or 'the host', name),
         'fix': {'role': registry.fix_role(cause), 'vars': {'target': target_text} if target_text else {}}}
    if confirmed is not None:
        f['confirmed'] = confirmed
    return f


def synthetic_hosts(n, seed=9):
    """{name: {'findings', 'nginx', 'note'}} for build_report: ~55% without finding, ~4% not diagnosed,
    ~3% upstream hosts without nginx, the rest with 1 to 4 findings (a cause of a target may be found for
    several targets of the host)."""
    rng = random.Random(seed)
    causes = [c for c in registry.ids() if c in WEIGHTS]
    weights = [WEIGHTS[c] for c in causes]
    hosts = {}
    for i in range(n):
        name = 'web-%05d.dc%d.example.com' % (i, i % 3)
        roll = rng.random()
        if roll < 0.04:
            hosts[name] = {'findings': [], 'nginx': None, 'note': 'not diagnosed (unreachable or failed)'}
        elif roll < 0.07:
            hosts[name] = {'findings': [], 'nginx': False, 'note': 'no nginx: listeners and firewall checked'}
        elif roll < 0.62:
            hosts[name] = {'findings': [], 'nginx': True, 'note': None}
        else:
            picked = []  # a cause of a target may come back for another target; a host-wide one only once
            for _n in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
                c = rng.choices(causes, weights)[0]
                if c not in HOST_WIDE or c not in picked:
                    picked.append(c)
            hosts[name] = {'findings': [finding(rng, name, c) for c in picked], 'nginx': True, 'note': None}
    return hosts
