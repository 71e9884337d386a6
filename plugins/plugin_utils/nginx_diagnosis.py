# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller-side correlation: nginx facts + node checks -> findings.

Every finding names a cause of the catalog in docs/causes.md, decided
from evidence: the error-log lines nginx wrote, what the probes saw now,
what listens where, the firewall rules, PHP-FPM's pools and log, and the
host's resources.  Causes that share a symptom are told apart here: a
refused connection while the service listens elsewhere is target_mismatch,
not upstream_down; a connect timeout with a listener present and a
matching DROP rule is firewall_block.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import re

CATALOG = (
    'upstream_down', 'target_mismatch', 'socket_permission', 'firewall_block', 'upstream_timeout',
    'pool_exhausted', 'backend_crash', 'header_too_big', 'protocol_mismatch', 'no_live_upstreams',
    'dns_failure', 'resource_limits', 'not_nginx',
)
SEVERITY = {
    'upstream_down': 'critical', 'target_mismatch': 'critical', 'socket_permission': 'critical',
    'firewall_block': 'critical', 'no_live_upstreams': 'critical', 'dns_failure': 'critical',
    'upstream_timeout': 'warning', 'pool_exhausted': 'warning', 'backend_crash': 'warning',
    'header_too_big': 'warning', 'protocol_mismatch': 'critical', 'resource_limits': 'warning',
    'not_nginx': 'info', 'config_invalid': 'critical', 'config_not_loaded': 'warning',
}
FIX_ROLE = {
    'upstream_down': 'badgateway.nginx.backend_service',
    'target_mismatch': 'badgateway.nginx.upstream_target',
    'socket_permission': 'badgateway.nginx.php_fpm_pool',
    'firewall_block': 'badgateway.nginx.firewall',
    'upstream_timeout': 'badgateway.nginx.proxy_timeouts',
    'pool_exhausted': 'badgateway.nginx.php_fpm_pool',
    'header_too_big': 'badgateway.nginx.proxy_buffers',
    'protocol_mismatch': 'badgateway.nginx.upstream_target',
    'no_live_upstreams': None, 'dns_failure': None, 'backend_crash': None,
    'resource_limits': None, 'not_nginx': None, 'config_invalid': None, 'config_not_loaded': None,
}
# services that never are the backend a proxy_pass meant
SYSTEM_PROCESSES = ('sshd', 'systemd', 'systemd-resolve', 'systemd-resolved', 'rpcbind', 'chronyd', 'dbus-daemon',
                    'master', 'exim4', 'containerd', 'dockerd', 'conmon', 'aardvark-dns')
LOOPBACK = ('127.0.0.1', '::1', 'localhost')
# a listener this many ports away or more is not taken for "the service the target meant"
# (8080/8081, 3000/3001, 9000/9001 are the mix-ups seen in the field; a stray listener far
# away is not evidence)
MISMATCH_MAX_PORT_DISTANCE = 100
# A "server reached pm.max_children" warning of a pool explains nginx's read timeouts on it when it
# was written no earlier than QUEUE_BEFORE_SECONDS before the first timed-out request was sent and
# no later than QUEUE_AFTER_SECONDS after the last one was sent (a request is sent read_timeout
# seconds before nginx logs its timeout). PHP-FPM writes the warning once when a pool fills up, not
# once per queued request, so the first bound allows for a queue that formed a while before its
# requests waited longer than the read timeout; the second covers both logs' whole-second stamps
# (up to 1 s each), the once-a-second look of PHP-FPM's process manager and a busy host's delay.
QUEUE_BEFORE_SECONDS = 60
QUEUE_AFTER_SECONDS = 5
DEFAULT_READ_TIMEOUT = 60


def target_key(target):
    """A hashable key for a normalised target (facts) or a log 'upstream' field."""
    if target.get('kind') == 'unix':
        return ('unix', target.get('path'))
    if target.get('kind') == 'upstream':
        return ('upstream', target.get('upstream'))
    return ('tcp', (target.get('host') or '').strip('[]'), target.get('port'))


LOG_UPSTREAM = re.compile(r'^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>.*)$')


def log_upstream_key(upstream, upstream_names=()):
    """Key of the upstream named in an error-log line ("http://10.0.0.1:8080/x", "fastcgi://unix:/s:")."""
    if not upstream:
        return None
    m = LOG_UPSTREAM.match(upstream)
    rest = m.group('rest') if m else upstream
    scheme = m.group('scheme') if m else None
    if rest.startswith('unix:'):
        # nginx logs the path as written (unix:///run/x.sock); the facts name the file (/run/x.sock)
        return ('unix', re.sub('/{2,}', '/', rest[5:].split(':', 1)[0]))
    hostport = rest.split('/', 1)[0]
    if hostport.startswith('['):
        host, _sep, port = hostport[1:].partition(']')
        port = port.lstrip(':')
    elif hostport.count(':') == 1:
        host, port = hostport.split(':')
    else:
        host, port = hostport, ''
    if not port and host in upstream_names:
        return ('upstream', host)
    if port.isdigit():
        return ('tcp', host, int(port))
    return ('tcp', host, {'https': 443, 'grpcs': 443}.get(scheme, 80))


def _where(item):
    if not item:
        return None
    return {'file': item.get('file'), 'line': item.get('line')}


def routes_by_target(facts):
    """target key -> [route], a route being where nginx passes to it (server, location, pass)."""
    routes = {}
    if not facts:
        return routes
    upstreams = facts.get('upstreams') or {}
    for server in facts.get('servers') or []:
        for loc in server.get('locations') or []:
            p = loc.get('pass')
            if not p:
                continue
            route = {'server': {'name': (server.get('server_name') or [''])[0], 'file': server.get('file'),
                                'line': server.get('line')},
                     'location': {'match': loc.get('match'), 'modifier': loc.get('modifier'),
                                  'file': loc.get('file'), 'line': loc.get('line')},
                     'pass': {'directive': p.get('directive'), 'file': p.get('file'), 'line': p.get('line'),
                              'raw': p['target'].get('raw')},
                     'settings': loc, 'upstream': None}
            key = target_key(p['target'])
            routes.setdefault(key, []).append(route)
            if key[0] == 'upstream' and key[1] in upstreams:
                up = upstreams[key[1]]
                for member in up.get('servers') or []:
                    member_route = dict(route)
                    member_route['upstream'] = {'name': key[1], 'file': up.get('file'), 'line': up.get('line'),
                                                'member': member.get('address'), 'member_file': member.get('file'),
                                                'member_line': member.get('line')}
                    routes.setdefault(target_key(member['target']), []).append(member_route)
    return routes


def probe_targets(facts):
    """What the node must probe: every pass target and every upstream member (tcp and unix)."""
    tcp, unix = [], []
    for key in routes_by_target(facts):
        if key[0] == 'tcp' and key[1] and key[2]:
            if {'host': key[1], 'port': key[2]} not in tcp:
                tcp.append({'host': key[1], 'port': key[2]})
        elif key[0] == 'unix' and key[1] not in unix:
            unix.append(key[1])
    return tcp, unix


class Correlator:
    """Builds the findings of one host."""

    def __init__(self, host, facts, checks, peers=None, claimed=None):
        self.host = host
        # (address, port) that some nginx of the fleet passes to: not free to be "the one meant"
        self.claimed = set(claimed or ())
        for key in routes_by_target(facts):
            if key[0] == 'tcp':
                self.claimed.add((key[1], key[2]))
        self.facts = facts or {}
        self.checks = checks or {}
        self.peers = peers or {}
        self.upstream_names = set((self.facts.get('upstreams') or {}).keys())
        self.routes = routes_by_target(self.facts)
        self.local = set(self.checks.get('addresses') or ['127.0.0.1', '::1'])
        self.findings = []
        self.assigned = {}
        self.used_groups = set()
        self.log_groups = []
        for path, log in sorted((self.checks.get('error_logs') or {}).items()):
            for group in log.get('groups') or []:
                g = dict(group)
                g['log'] = path
                g['key'] = log_upstream_key(g.get('upstream'), self.upstream_names)
                self.log_groups.append(g)
        self.probes = {}
        for p in self.checks.get('probes') or []:
            key = ('unix', p['path']) if p.get('kind') == 'unix' else ('tcp', p.get('host'), p.get('port'))
            self.probes[key] = p

    # --- evidence helpers -------------------------------------------------
    def logs_for(self, key, kinds=None):
        found = []
        for i, g in enumerate(self.log_groups):
            if g['key'] == key and (kinds is None or g.get('kind') in kinds):
                found.append((i, g))
        return found

    def logs_of_kind(self, kinds):
        return [(i, g) for i, g in enumerate(self.log_groups) if g.get('kind') in kinds]

    def _evidence_logs(self, items):
        out = []
        for i, g in items:
            self.used_groups.add(i)
            out.append({k: g.get(k) for k in ('log', 'kind', 'catalog', 'count', 'first_seen', 'last_seen',
                                              'upstream', 'server', 'samples')})
        return out

    def is_local(self, host):
        return host in self.local or host in LOOPBACK

    def peer_for(self, host):
        """(name, checks) of the inventory host that owns the address, if it was diagnosed too."""
        for name, checks in sorted(self.peers.items()):
            if name != self.host and host in (checks.get('addresses') or []):
                return name, checks
        return None, None

    @staticmethod
    def listening(checks, key):
        if key[0] == 'unix':
            return [x for x in (checks.get('listeners') or {}).get('unix', []) if x['path'] == key[1]]
        host, port = key[1], key[2]
        found = []
        for x in (checks.get('listeners') or {}).get('tcp', []):
            if x['port'] != port:
                continue
            if x['address'] in ('0.0.0.0', '::') or x['address'] == host or (host in LOOPBACK and x['address'] in LOOPBACK):
                found.append(x)
        return found

    def alternatives(self, checks, key, exclude_process='nginx', local=False):
        """Listeners of the same kind that could be the service the target meant, best first."""
        listeners = (checks.get('listeners') or {})
        if key[0] == 'unix':
            found = [x for x in listeners.get('unix', []) if x['path'] != key[1] and x.get('process') != exclude_process
                     and (x.get('process') or '').startswith('php-fpm')]
            return sorted(found, key=lambda x: -difflib.SequenceMatcher(None, x['path'], key[1]).ratio())
        addresses = set(checks.get('addresses') or ())
        if local:
            addresses |= set(LOOPBACK)

        def claimed(port):
            return any((a, port) in self.claimed for a in addresses)
        found = [x for x in listeners.get('tcp', []) if x['port'] != key[2] and x.get('process') not in SYSTEM_PROCESSES
                 and x.get('process') != exclude_process and x['address'] not in ('127.0.0.53', '127.0.0.54')
                 and not claimed(x['port']) and abs(x['port'] - key[2]) < MISMATCH_MAX_PORT_DISTANCE]
        return sorted(found, key=lambda x: (abs(x['port'] - key[2]), x['port']))

    def add(self, cause, key, summary, evidence, fix_vars=None, routes=None, extra=None):
        routes = self.routes.get(key, []) if routes is None else routes
        first = routes[0] if routes else {}
        finding = {
            'id': cause,
            'severity': SEVERITY.get(cause, 'warning'),
            'host': self.host,
            'server': first.get('server'),
            'location': first.get('location'),
            'upstream': first.get('upstream'),
            'pass': first.get('pass'),
            'routes': [{'server': r['server'], 'location': r['location'], 'pass': r['pass'], 'upstream': r['upstream']}
                       for r in routes],
            'target': self._target(key),
            'evidence': evidence,
            'summary': summary,
            'fix': {'role': FIX_ROLE.get(cause), 'vars': fix_vars or {}},
        }
        if extra:
            finding.update(extra)
        self.findings.append(finding)
        return finding

    @staticmethod
    def _target(key):
        if key is None:
            return None
        if key[0] == 'unix':
            return {'kind': 'unix', 'path': key[1], 'text': 'unix:%s' % key[1]}
        if key[0] == 'upstream':
            return {'kind': 'upstream', 'upstream': key[1], 'text': 'upstream %s' % key[1]}
        host = key[1] or ''
        shown = '[%s]' % host if ':' in host else host
        return {'kind': 'tcp', 'host': host, 'port': key[2],
                'text': '%s:%s' % (shown, key[2]) if key[2] else shown}

    # --- firewall -----------------------------------------------------------
    def firewall_matches(self, key, peer_checks):
        """Rules on this host's output path and, when known, the upstream host's input path."""
        try:
            from ansible_collections.badgateway.nginx.plugins.module_utils.nginx_firewall import (
                blocking_rules, describe)
        except ImportError:  # pragma: no cover
            return []
        found = []
        if key[0] != 'tcp':
            return found
        mine = self.checks.get('firewall')
        if mine:
            interface = 'lo' if self.is_local(key[1]) else None
            for rule in blocking_rules(mine, 'output', key[2], address=key[1], interface=interface):
                rule = dict(rule)
                rule.update(host=self.host, direction='output', text=describe(rule))
                found.append(rule)
        if peer_checks and peer_checks.get('firewall'):
            peer_name = peer_checks.get('_name')
            sources = [a for a in sorted(self.local) if a not in LOOPBACK and ':' not in a]
            for rule in blocking_rules(peer_checks['firewall'], 'input', key[2], address=key[1],
                                       peer=sources[0] if sources else None):
                rule = dict(rule)
                rule.update(host=peer_name, direction='input', text=describe(rule))
                found.append(rule)
        return found

    # --- the decision for one target -------------------------------------------
    def diagnose_target(self, key):
        probe = self.probes.get(key) or {}
        result = probe.get('result')
        connect_kinds = ('connect_refused', 'socket_missing', 'socket_refused', 'connect_timeout', 'connect_no_route',
                         'connect_unreachable', 'socket_permission', 'socket_eagain')
        logs = self.logs_for(key, connect_kinds)
        log_kinds = set(g['kind'] for _i, g in logs)
        evidence = {'probe': probe or None, 'log': self._evidence_logs(logs)}
        if key[0] == 'unix':
            self._diagnose_unix(key, result, log_kinds, evidence)
        elif key[0] == 'tcp':
            self._diagnose_tcp(key, result, log_kinds, evidence)
        self._pool_full_in_fpm_log(key, probe)
        self._response_stage(key)

    def _finding(self, cause, key):
        return next((f for f in self.findings if f['id'] == cause and f['target'] == self._target(key)), None)

    def _fpm_pool_at(self, key):
        """(config, pool) of this host's PHP-FPM that listens where the target points, or (None, None)."""
        for cfg in ((self.checks.get('php_fpm') or {}).get('configs') or []):
            for pool in cfg.get('pools') or []:
                if self._pool_listens_at(pool, key):
                    return cfg, pool
        return None, None

    def _pool_listens_at(self, pool, key):
        if key[0] == 'unix':
            return bool(pool.get('listen_path')) and pool.get('listen_path') == key[1]
        if key[0] != 'tcp' or not key[2] or pool.get('listen_port') != key[2] or not self.is_local(key[1]):
            return False
        host = pool.get('listen_host')
        return bool(pool.get('listen_all_addresses') or host in ('0.0.0.0', '::', key[1]) or
                    (key[1] in LOOPBACK and host in LOOPBACK))

    def _fpm_pool_groups(self, cfg, pool, kinds):
        """Groups of the pool's own PHP-FPM log (the config's error_log, in the window the node read)."""
        log = ((cfg.get('global') or {}).get('error_log') or {}).get('value')
        groups = ((((self.checks.get('php_fpm') or {}).get('logs') or {}).get(log) or {}).get('groups')) or []
        return [dict(g, log=log) for g in groups if g.get('kind') in kinds and g.get('pool') == pool.get('name')]

    def _pool_full_in_fpm_log(self, key, probe):
        """pool_exhausted from PHP-FPM's log alone: requests that only queued leave no nginx line."""
        cfg, pool = self._fpm_pool_at(key)
        if not pool or not self._fpm_pool_groups(cfg, pool, ('max_children',)) or self._finding('pool_exhausted', key):
            return
        self._pool_exhausted(key, {'probe': probe or None, 'log': []}, pool, cfg)

    def _fpm_pools(self):
        pools = []
        for cfg in ((self.checks.get('php_fpm') or {}).get('configs') or []):
            pools.extend(cfg.get('pools') or [])
        return pools

    def _diagnose_unix(self, key, result, log_kinds, evidence):
        path = key[1]
        access = (self.checks.get('sockets') or {}).get(path)
        evidence['socket'] = access
        as_user = ((self.probes.get(key) or {}).get('as_user') or {}).get('result')
        user = (self.facts.get('user') or {}).get('name')
        pool = next((p for p in self._fpm_pools() if p.get('listen_path') == path), None)
        judged_denied = bool(access and access.get('exists') and not access.get('can_connect') and result == 'ok')
        if as_user == 'permission_denied' or 'socket_permission' in log_kinds or judged_denied:
            reason = (access or {}).get('reason') or 'permission denied'
            self.add('socket_permission', key, 'nginx workers (user %s) cannot open %s: %s' % (user, path, reason),
                     evidence, {'pool': pool and pool.get('name'), 'pool_file': pool and pool.get('file'),
                                'listen_owner': user, 'listen_group': (self.facts.get('user') or {}).get('group'),
                                'listen_mode': '0660'})
            return
        if result == 'unavailable' or 'socket_eagain' in log_kinds:
            self._pool_exhausted(key, evidence, pool)
            return
        if result in ('no_such_file', 'refused') or log_kinds & {'socket_missing', 'socket_refused'}:
            if (self.listening(self.checks, key)):
                return  # it listens now: a past outage, nothing to fix
            alive = self.alternatives(self.checks, key)
            pool_listens = [p for p in self._fpm_pools() if p.get('listen_path') and p.get('listen_path') != path]
            if alive:
                evidence['listening_instead'] = alive
                self.add('target_mismatch', key, 'nothing listens on %s, while %s listens on %s' % (
                    path, alive[0].get('process') or 'a service', ', '.join(a['path'] for a in alive)), evidence,
                    {'from': 'unix:%s' % path, 'to': 'unix:%s' % alive[0]['path']})
            else:
                evidence['php_fpm_pools'] = [{'name': p.get('name'), 'listen': p.get('listen'), 'file': p.get('file'),
                                              'line': p.get('line')} for p in pool_listens]
                self.add('upstream_down', key, 'nothing listens on %s (%s)' % (
                    path, 'stale socket file' if result == 'refused' else 'no socket file'), evidence,
                    {'service': self._service_for(path)})

    def _service_for(self, path_or_port):
        units = set()
        for proc in ((self.checks.get('php_fpm') or {}).get('processes') or {}).get('master') or []:
            if proc.get('unit'):
                units.add(proc['unit'])
        if isinstance(path_or_port, str) and 'php' in path_or_port:
            m = re.search(r'php(\d+\.\d+)', path_or_port)
            return 'php%s-fpm' % m.group(1) if m else (sorted(units)[0] if units else 'php-fpm')
        return None

    def _pool_exhausted(self, key, evidence, pool, cfg=None):
        if cfg is None and pool:
            cfg = self._fpm_pool_at(key)[0]
        if pool and cfg:
            fpm_groups = self._fpm_pool_groups(cfg, pool, ('max_children', 'busy'))
        else:
            fpm_groups = []
            for path, log in sorted(((self.checks.get('php_fpm') or {}).get('logs') or {}).items()):
                for g in log.get('groups') or []:
                    if g.get('kind') in ('max_children', 'busy'):
                        fpm_groups.append(dict(g, log=path))
        evidence['php_fpm_log'] = fpm_groups
        evidence['pool'] = pool and {k: pool.get(k) for k in ('name', 'file', 'line', 'pm', 'max_children')}
        procs = ((self.checks.get('php_fpm') or {}).get('processes') or {}).get('pools') or {}
        evidence['processes'] = procs.get(pool.get('name')) if pool else None
        reached = [g for g in fpm_groups if g.get('kind') == 'max_children']
        summary = 'PHP-FPM pool %s has no free child (pm.max_children = %s)' % (
            pool and pool.get('name'), pool and pool.get('max_children'))
        if reached:
            summary += '; PHP-FPM logged "server reached pm.max_children" %d time(s), last at %s' % (
                sum(g.get('count') or 0 for g in reached), max(g.get('last_seen') or '' for g in reached))
        self.add('pool_exhausted', key, summary, evidence,
                 {'pool': pool and pool.get('name'), 'pool_file': pool and pool.get('file')})

    def _firewalls_not_read(self, peer_name, peer):
        """The hosts on the path whose firewall was not read, or read with errors (an unread ruleset is unknown, not open)."""
        unread = []
        for name, checks in ((self.host, self.checks), (peer_name, peer)):
            if checks is None:
                continue
            firewall = checks.get('firewall')
            if not firewall or firewall.get('errors'):
                unread.append(name or 'the upstream host')
        return unread

    def _diagnose_tcp(self, key, result, log_kinds, evidence):
        host, port = key[1], key[2]
        local = self.is_local(host)
        peer_name, peer = (None, None) if local else self.peer_for(host)
        owner = self.checks if local else peer
        if peer is not None:
            peer = dict(peer, _name=peer_name)
            evidence['upstream_host'] = peer_name
        listening = self.listening(owner, key) if owner else None
        evidence['listening'] = listening
        refused = result == 'refused' or 'connect_refused' in log_kinds
        timed_out = result == 'timeout' or 'connect_timeout' in log_kinds
        no_route = result in ('no_route', 'unreachable') or log_kinds & {'connect_no_route', 'connect_unreachable'}
        if not (refused or timed_out or no_route):
            if result == 'unresolvable':
                self.add('dns_failure', key, '%s cannot be resolved from this host' % host, evidence)
            return
        rules = self.firewall_matches(key, peer)
        evidence['firewall'] = rules
        if rules and (timed_out or no_route or listening or refused and any(r.get('verdict') == 'reject' for r in rules)):
            rule = rules[0]
            self.add('firewall_block', key, '%s on %s (%s path) blocks %s: %s' % (
                rule.get('backend'), rule.get('host'), rule.get('direction'), self._target(key)['text'], rule.get('text')),
                evidence, {'port': port, 'protocol': 'tcp', 'host': rule.get('host'),
                           'sources': [a for a in sorted(self.local) if a not in LOOPBACK and ':' not in a]},
                extra={'confirmed': True})
            return
        if timed_out or no_route:
            # no rule found: the likeliest cause, not a proven one (a firewall outside the inventory,
            # one this collection cannot read, or a host that is down): a warning, unconfirmed
            what = 'timed out' if timed_out else 'had no route'
            if listening:
                seen = 'although %s listens there' % (peer_name or 'the service')
            elif owner is None:
                seen = '(its host is not in the inventory)'
            else:
                seen = 'and nothing listens there'
            unread = self._firewalls_not_read(peer_name if peer is not None else None, peer)
            evidence['firewall_not_read'] = unread
            self.add('firewall_block', key, 'no rule found that blocks %s on the hosts in the inventory, but connecting '
                     'to it %s %s: unconfirmed, a firewall elsewhere is the likeliest cause%s' % (
                         self._target(key)['text'], what, seen,
                         '; no complete firewall ruleset was read from %s, so a rule there is not ruled out' % ', '.join(unread)
                         if unread else ''),
                     evidence, {'port': port, 'protocol': 'tcp'}, extra={'confirmed': False, 'severity': 'warning'})
            return
        # refused
        if listening:
            return  # listens again now: the log is history
        if owner is None:
            self.add('upstream_down', key, 'connection to %s refused (the upstream host is not in the inventory)' % (
                self._target(key)['text']), evidence, {'port': port})
            return
        bound_local = [x for x in (owner.get('listeners') or {}).get('tcp', []) if x['port'] == port]
        alive = [self.assigned[key]] if key in self.assigned else []
        if bound_local:
            evidence['listening_instead'] = bound_local
            self.add('target_mismatch', key, '%s listens on port %d only at %s, not at %s' % (
                bound_local[0].get('process') or 'a service', port, ', '.join(x['address'] for x in bound_local), host),
                evidence, {'from': '%s:%d' % (host, port), 'to': '%s:%d' % (bound_local[0]['address'], port)})
        elif alive:
            evidence['listening_instead'] = alive
            best = alive[0]
            self.add('target_mismatch', key, 'nothing listens on %s; %s listens on port %d' % (
                self._target(key)['text'], best.get('process') or 'a service', best['port']), evidence,
                {'from': '%s:%d' % (host, port), 'to': '%s:%d' % (host, best['port'])})
        else:
            self.add('upstream_down', key, 'nothing listens on %s%s' % (
                self._target(key)['text'], ' (%s)' % peer_name if peer_name else ''), evidence, {'port': port})

    def _response_stage(self, key):
        """Failures after the connection: timeouts, crashes, big headers, protocol."""
        stages = (
            ('upstream_timeout', ('read_timeout',)),
            ('backend_crash', ('premature_close', 'reset', 'php_memory')),
            ('header_too_big', ('too_big_header',)),
            ('protocol_mismatch', ('invalid_header', 'no_valid_http', 'ssl_handshake', 'fastcgi_record')),
        )
        probe = self.probes.get(key) or {}
        routes_here = self.routes.get(key, [])
        scheme = ((routes_here[0]['settings'].get('pass') or {}).get('target') or {}).get('scheme') if routes_here else None
        if (probe.get('tls') is True and scheme in ('http', 'fastcgi', 'uwsgi', 'scgi', 'grpc')) or \
                (probe.get('tls') is False and scheme == 'https' and self.logs_for(key, ('ssl_handshake',))):
            logs = self.logs_for(key, ('premature_close', 'reset', 'invalid_header', 'no_valid_http', 'ssl_handshake',
                                       'fastcgi_record'))
            raw = (routes_here[0]['pass'] or {}).get('raw') or ''
            if probe.get('tls'):
                fix = {'from': raw, 'to': raw.replace('http://', 'https://', 1)} if raw.startswith('http://') else {}
                summary = '%s speaks TLS, but nginx talks %s to it' % (self._target(key)['text'], scheme)
            else:
                fix = {'from': raw, 'to': raw.replace('https://', 'http://', 1)}
                summary = '%s does not speak TLS, but nginx talks https to it' % self._target(key)['text']
            self.add('protocol_mismatch', key, summary, {'log': self._evidence_logs(logs), 'probe': probe}, fix)
            return
        for cause, kinds in stages:
            logs = self.logs_for(key, kinds)
            if not logs:
                continue
            routes = self.routes.get(key, [])
            settings = routes[0]['settings'] if routes else {}
            module = ((settings.get('pass') or {}).get('module')) if settings else None
            if cause == 'upstream_timeout':
                queued = self._timeouts_waited_for_a_child(key, logs, settings)
                logs = [x for x in logs if x not in queued]
                if not logs:
                    continue
            evidence = {'log': self._evidence_logs(logs)}
            fix = {}
            if cause == 'upstream_timeout':
                read = (settings.get('timeouts') or {}).get('read') or {}
                evidence['read_timeout'] = read
                limit = self._backend_limit(key)
                evidence['backend_limit'] = limit
                wanted = max(60, int(limit['seconds'])) if limit and limit.get('seconds') else 60
                if read.get('seconds') and read['seconds'] >= wanted:
                    wanted = int(read['seconds']) * 2
                fix = {'directive': '%s_read_timeout' % (module or 'proxy'), 'value': '%ds' % wanted,
                       'current': read.get('value'), 'current_file': read.get('file'), 'current_line': read.get('line')}
                summary = '%s did not answer within %s_read_timeout %s (%s)' % (
                    self._target(key)['text'], module or 'proxy', read.get('value'),
                    'nginx default' if read.get('default') else '%s:%s' % (read.get('file'), read.get('line')))
            elif cause == 'backend_crash':
                summary = '%s closed or reset the connection mid-request' % self._target(key)['text']
            elif cause == 'header_too_big':
                size = (settings.get('buffers') or {}).get('buffer_size') or {}
                evidence['buffer_size'] = size
                fix = {'directive': '%s_buffer_size' % (module or 'proxy'), 'value': '16k', 'current': size.get('value')}
                summary = 'the response headers of %s exceed %s_buffer_size %s' % (
                    self._target(key)['text'], module or 'proxy', size.get('value'))
            else:
                kinds_seen = sorted(set(g['kind'] for _i, g in logs))
                summary = 'nginx and %s do not speak the same protocol (%s)' % (self._target(key)['text'], ', '.join(kinds_seen))
                target = (routes[0]['pass'] if routes else {}) or {}
                if 'no_valid_http' in kinds_seen or 'invalid_header' in kinds_seen:
                    raw = target.get('raw') or ''
                    if raw.startswith('http://'):
                        fix = {'from': raw, 'to': 'https://' + raw[len('http://'):]}
                elif 'ssl_handshake' in kinds_seen:
                    raw = target.get('raw') or ''
                    if raw.startswith('https://'):
                        fix = {'from': raw, 'to': 'http://' + raw[len('https://'):]}
            self.add(cause, key, summary, evidence, fix)

    def _timeouts_waited_for_a_child(self, key, logs, settings):
        """The read-timeout log groups of a pool that reached pm.max_children meanwhile.

        nginx timed out waiting for the response header while PHP-FPM said the pool was full
        (within QUEUE_BEFORE_SECONDS / QUEUE_AFTER_SECONDS of when the requests were sent): the
        requests waited for a free child. Those groups become evidence of the pool_exhausted
        finding and are no upstream_timeout (a longer read timeout would only hide the full pool).
        Groups with a line of another phase (sending the request, reading the body) are left alone.
        """
        finding = self._finding('pool_exhausted', key)
        cfg, pool = self._fpm_pool_at(key)
        if not finding or not pool:
            return []
        header = [(i, g) for i, g in logs if g.get('samples') and g.get('first_epoch') is not None and
                  g.get('last_epoch') is not None and
                  all('while reading response header from upstream' in x for x in g['samples'])]
        if not header:
            return []
        read = (settings.get('timeouts') or {}).get('read') or {}
        wait = read.get('seconds') or DEFAULT_READ_TIMEOUT
        earliest = min(g['first_epoch'] for _i, g in header) - wait - QUEUE_BEFORE_SECONDS
        latest = max(g['last_epoch'] for _i, g in header) - wait + QUEUE_AFTER_SECONDS
        warned = [e for g in self._fpm_pool_groups(cfg, pool, ('max_children',))
                  for e in (g.get('epochs') or [g.get('first_epoch'), g.get('last_epoch')]) if e is not None]
        if not any(earliest <= e <= latest for e in warned):
            return []
        finding['evidence'].setdefault('log', []).extend(self._evidence_logs(header))
        finding['evidence']['read_timeout'] = read
        finding['summary'] += ('; the %d read timeout(s) nginx logged (%s_read_timeout %s) are requests that waited '
                               'for a free child' % (sum(g.get('count') or 0 for _i, g in header),
                                                     (settings.get('pass') or {}).get('module') or 'fastcgi',
                                                     read.get('value') or '%ds' % wait))
        return header

    def _backend_limit(self, key):
        if key[0] == 'unix':
            pool = next((p for p in self._fpm_pools() if p.get('listen_path') == key[1]), None)
        else:
            pool = next((p for p in self._fpm_pools() if p.get('listen_port') == key[2]), None)
        if not pool:
            return None
        seconds = pool.get('request_terminate_timeout_seconds')
        if not seconds and pool.get('max_execution_time'):
            try:
                seconds = float(pool['max_execution_time'])
            except (TypeError, ValueError):
                seconds = None
        return {'pool': pool.get('name'), 'seconds': seconds, 'file': pool.get('file')}

    # --- host-wide causes -------------------------------------------------------
    def no_live_upstreams(self):
        for i, g in self.logs_of_kind(('no_live_upstreams',)):
            key = g['key'] if g['key'] and g['key'][0] == 'upstream' else ('upstream', None)
            name = key[1]
            up = (self.facts.get('upstreams') or {}).get(name) or {}
            members = []
            for m in up.get('servers') or []:
                mkey = target_key(m['target'])
                member_findings = [f['id'] for f in self.findings if f['target'] and target_key(f['target']) == mkey]
                members.append({'address': m.get('address'), 'file': m.get('file'), 'line': m.get('line'),
                                'probe': self.probes.get(mkey), 'findings': member_findings,
                                'max_fails': m.get('max_fails'), 'fail_timeout': m.get('fail_timeout'),
                                'backup': m.get('backup'), 'down': m.get('down')})
            evidence = {'log': self._evidence_logs([(i, g)]), 'members': members}
            failing = [m for m in members if m['findings'] or (m['probe'] or {}).get('result') not in (None, 'ok')]
            states = ', '.join('%s %s' % (m['address'], '/'.join(m['findings']) or (m['probe'] or {}).get('result'))
                               for m in failing) or '-'
            self.add('no_live_upstreams', key,
                     'every server of upstream %s was marked failed (%d of %d members fail now: %s)' % (
                         name, len(failing), len(members), states),
                     evidence, {'members': [m['address'] for m in failing]},
                     routes=self.routes.get(key, []),
                     extra={'upstream': {'name': name, 'file': up.get('file'), 'line': up.get('line')}})

    def dns(self):
        for i, g in self.logs_of_kind(('no_resolver', 'resolve_failed', 'host_not_found')):
            name = g.get('name') or (g['key'][1] if g['key'] else None)
            routes = [r for k, rs in self.routes.items() for r in rs if k[0] == 'tcp' and k[1] == name]
            if not routes:
                routes = [r for k, rs in self.routes.items() for r in rs
                          if (r['pass'].get('raw') or '').find('$') >= 0]
            resolver = self.facts.get('resolver')
            self.add('dns_failure', ('tcp', name, None) if name else None,
                     ('no resolver is defined to resolve %s' % name) if g['kind'] == 'no_resolver'
                     else '%s could not be resolved' % name,
                     {'log': self._evidence_logs([(i, g)]), 'resolver': resolver},
                     {'name': name, 'directive': 'resolver'}, routes=routes)

    def resources(self):
        res = self.checks.get('resources') or {}
        logs = self.logs_of_kind(('too_many_open_files', 'worker_connections', 'cannot_assign'))
        evidence = {'log': self._evidence_logs(logs)} if logs else {}
        problems = []
        oom = res.get('oom') or []
        if oom:
            evidence['oom'] = oom
            problems.append('the kernel killed %d process(es) for lack of memory' % sum(g.get('count', 1) for g in oom))
        mem = res.get('memory') or {}
        if mem.get('total_kb') and mem.get('available_kb') is not None and mem['available_kb'] < 0.05 * mem['total_kb']:
            evidence['memory'] = mem
            problems.append('only %d MiB of %d MiB memory available' % (mem['available_kb'] // 1024, mem['total_kb'] // 1024))
        for disk in res.get('disks') or []:
            if disk.get('used_percent', 0) >= 95:
                evidence.setdefault('disks', []).append(disk)
                problems.append('%s is %s%% full' % (disk['paths'][0], disk['used_percent']))
        for proc in res.get('nginx_files') or []:
            if proc.get('limit_soft') and proc.get('open_files') is not None and proc['open_files'] >= 0.9 * proc['limit_soft']:
                evidence.setdefault('nginx_files', []).append(proc)
                problems.append('nginx pid %d has %d of %d files open' % (proc['pid'], proc['open_files'], proc['limit_soft']))
        if logs:
            problems.insert(0, ', '.join(sorted(set(g['kind'].replace('_', ' ') for _i, g in logs))))
        if problems:
            self.add('resource_limits', None, 'this host runs out of resources: %s' % '; '.join(problems), evidence,
                     {'worker_rlimit_nofile': (self.facts.get('worker_rlimit_nofile') or {}).get('value'),
                      'worker_connections': (self.facts.get('worker_connections') or {}).get('value')}, routes=[])

    def crashes_without_target(self):
        """Backend crash evidence in PHP-FPM's or the kernel's logs with no nginx line tied to a target."""
        if any(f['id'] == 'backend_crash' for f in self.findings):
            return
        groups = []
        for path, log in sorted(((self.checks.get('php_fpm') or {}).get('logs') or {}).items()):
            for g in log.get('groups') or []:
                if g.get('kind') in ('child_signal', 'child_io'):
                    groups.append(dict(g, log=path))
        crash_logs = self.logs_of_kind(('premature_close', 'reset', 'php_memory'))
        if groups or crash_logs:
            self.add('backend_crash', None, 'the backend dies mid-request (%s)' % ', '.join(
                sorted(set(g['kind'] for g in groups) | set(g['kind'] for _i, g in crash_logs))),
                {'php_fpm_log': groups, 'log': self._evidence_logs(crash_logs)}, routes=[])

    def responses(self):
        for check in self.checks.get('http') or []:
            if check.get('status') in (502, 503, 504) and check.get('from_nginx') is False:
                self.add('not_nginx', None, '%s answered %s from %s, not from nginx: the error comes from in front of this host' % (
                    check.get('url'), check.get('status'), check.get('server') or 'a server without a Server header'),
                    {'http': check}, routes=[])

    def config(self):
        """Findings of the configuration itself: nginx -t's first error (dns_failure or config_invalid), a
        config_invalid for every other file the parser found broken (nginx -t stops at the first), and
        config_not_loaded when files changed after the running nginx last loaded its configuration."""
        validation = self.facts.get('validation') or {}
        seen = set()
        for i, err in enumerate(validation.get('errors') or []):
            key = (err.get('file'), err.get('line'), err.get('message'))
            if key in seen:
                continue
            seen.add(key)
            where = '%s:%s: ' % (err.get('file'), err.get('line')) if err.get('file') else ''
            if i == 0 and 'host not found in upstream' in (err.get('message') or ''):
                m = re.search(r'host not found in upstream "([^"]+)"', err['message'])
                name = m.group(1).rsplit(':', 1)[0] if m else None
                self.add('dns_failure', ('tcp', name, None), 'nginx -t: %s at %s:%s' % (err['message'], err.get('file'), err.get('line')),
                         {'validation': err}, {'name': name}, routes=[])
            elif i == 0:
                self.add('config_invalid', None, 'nginx -t fails: %s%s' % (where, err.get('message')),
                         {'validation': err}, routes=[])
            elif err.get('file') and err.get('line'):
                # a syntax error of another file (the facts' parser reads every file; nginx -t stops at the first)
                self.add('config_invalid', None, 'the configuration does not parse: %s%s' % (where, err.get('message')),
                         {'validation': err}, routes=[])
        loaded = self.facts.get('loaded') or {}
        changed = loaded.get('changed') or []
        if changed:
            names = [c.get('file') for c in changed if isinstance(c, dict)]
            shown = ', '.join(str(n) for n in names[:5]) + (' and %d more' % (len(names) - 5) if len(names) > 5 else '')
            self.add('config_not_loaded', None,
                     'files on disk changed after the running nginx last loaded its config: %s; '
                     'the facts describe a config that is not live' % shown,
                     {'loaded': loaded}, routes=[])

    def _assign_orphans(self, keys):
        """Pair refused TCP targets with listeners nobody passes to, closest port first, one each.

        A service that runs and listens on a port no nginx of the fleet uses is the best guess
        for a target that nothing answers on; each such listener explains one target at most,
        the others stay upstream_down.
        """
        pairs = []
        for key in keys:
            if key[0] != 'tcp' or not key[2]:
                continue
            probe = self.probes.get(key) or {}
            refused = probe.get('result') == 'refused' or self.logs_for(key, ('connect_refused',))
            if not refused:
                continue
            local = self.is_local(key[1])
            owner = self.checks if local else self.peer_for(key[1])[1]
            if not owner or self.listening(owner, key):
                continue
            candidates = self.alternatives(owner, key, exclude_process='nginx' if local else None, local=local)
            if not local:
                candidates = [c for c in candidates if c['address'] not in LOOPBACK]
            host_id = 'self' if local else self.peer_for(key[1])[0]
            for c in candidates:
                pairs.append((abs(c['port'] - key[2]), key, host_id, c))
        assigned, taken = {}, set()
        for _distance, key, host_id, c in sorted(pairs, key=lambda x: (x[0], x[1][2], x[3]['port'])):
            if key in assigned or (host_id, c['port']) in taken:
                continue
            assigned[key] = c
            taken.add((host_id, c['port']))
        return assigned

    def run(self):
        if self.facts:
            self.config()
        keys = sorted(k for k in self.routes if k[0] in ('tcp', 'unix'))
        self.assigned = self._assign_orphans(keys)
        for key in keys:
            self.diagnose_target(key)
        # log lines about targets the config no longer names still count
        seen = set(keys)
        for g in self.log_groups:
            if g['key'] and g['key'] not in seen and g['key'][0] in ('tcp', 'unix') and g.get('catalog'):
                seen.add(g['key'])
                self.diagnose_target(g['key'])
        self.no_live_upstreams()
        self.dns()
        self.resources()
        self.crashes_without_target()
        self.responses()
        return self.findings


def claimed_targets(all_facts):
    """(address, port) of every TCP target any nginx of the fleet passes to."""
    claimed = set()
    for facts in all_facts:
        for key in routes_by_target(facts):
            if key[0] == 'tcp':
                claimed.add((key[1], key[2]))
    return claimed


def diagnose(host, facts, checks, peers=None, claimed=None):
    """Findings of one host; peers: {inventory name: checks} of other diagnosed hosts;
    claimed: (address, port) targets of the whole fleet (see claimed_targets)."""
    return Correlator(host, facts, checks, peers, claimed).run()
