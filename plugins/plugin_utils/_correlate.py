# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
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

from ansible_collections.badgateway.nginx.plugins.module_utils._firewall import blocking_rules, describe
from ansible_collections.badgateway.nginx.plugins.module_utils._logs import log_upstream_key
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import routes_by_target
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry

# services that never are the backend a proxy_pass meant
SYSTEM_PROCESSES = ('sshd', 'systemd', 'systemd-resolve', 'systemd-resolved', 'rpcbind', 'chronyd', 'dbus-daemon',
                    'master', 'exim4', 'containerd', 'dockerd', 'conmon', 'aardvark-dns')
LOOPBACK = ('127.0.0.1', '::1', 'localhost')
# a listener this many ports away or more is not taken for "the service the target meant"
# (8080/8081, 3000/3001, 9000/9001 are the mix-ups seen in the field; a stray listener far
# away is not evidence)
MISMATCH_MAX_PORT_DISTANCE = 100


# the node-side log kinds that tell why a connection to a target failed (module_utils/_logs)
CONNECT_KINDS = ('connect_refused', 'socket_missing', 'socket_refused', 'connect_timeout', 'connect_no_route',
                 'connect_unreachable', 'socket_permission', 'socket_eagain')


class Target:
    """What is known about one target of one host, computed once and shared by the causes' steps.

    ``key`` is a target_key; the properties are the probe, the connect-stage log groups and, for a
    TCP target, which inventory host owns the address, what listens there and the firewall rules on
    the path; for a unix socket, the worker user's access and the PHP-FPM pool behind it.
    """

    def __init__(self, ctx, key):
        self.ctx = ctx
        self.key = key
        self.kind = key[0]
        self.probe = ctx.probes.get(key) or {}
        self.result = self.probe.get('result')
        self.connect_logs = ctx.logs_for(key, CONNECT_KINDS)
        self.log_kinds = set(g['kind'] for _i, g in self.connect_logs)
        self.text = ctx.target(key)['text'] if key else None
        self.found = {}
        if self.kind == 'tcp':
            self.host, self.port = key[1], key[2]
            self.local = ctx.is_local(self.host)
            self.peer_name, peer = (None, None) if self.local else ctx.peer_for(self.host)
            self.owner = ctx.checks if self.local else peer
            self.peer = dict(peer, _name=self.peer_name) if peer is not None else None
            self.listening = ctx.listening(self.owner, key) if self.owner else None
            self.refused = self.result == 'refused' or 'connect_refused' in self.log_kinds
            self.timed_out = self.result == 'timeout' or 'connect_timeout' in self.log_kinds
            self.no_route = bool(self.result in ('no_route', 'unreachable') or
                                 self.log_kinds & {'connect_no_route', 'connect_unreachable'})
            self.failed = self.refused or self.timed_out or self.no_route
            self._rules = None
        elif self.kind == 'unix':
            self.path = key[1]
            self.access = (ctx.checks.get('sockets') or {}).get(self.path)
            self.as_user = (self.probe.get('as_user') or {}).get('result')
            self.pool = next((p for p in ctx.fpm_pools() if p.get('listen_path') == self.path), None)
            # nothing listens on the socket now: no file, or a stale one that refuses (and nothing listens again)
            self.gone = bool(self.result in ('no_such_file', 'refused') or
                             self.log_kinds & {'socket_missing', 'socket_refused'}) and not ctx.listening(ctx.checks, key)

    @property
    def rules(self):
        """Firewall rules that block the connection (this host's output path, the peer's input path)."""
        if self._rules is None:
            self._rules = self.ctx.firewall_matches(self.key, self.peer)
        return self._rules

    def evidence(self):
        """The evidence every connect-stage finding of this target carries (a new dict each time)."""
        evidence = {'probe': self.probe or None, 'log': self.ctx.evidence_logs(self.connect_logs)}
        if self.kind == 'unix':
            evidence['socket'] = self.access
        elif self.kind == 'tcp':
            if self.peer is not None:
                evidence['upstream_host'] = self.peer_name
            evidence['listening'] = self.listening
            if self.failed:
                evidence['firewall'] = self.rules
        return evidence

    def routes(self):
        return self.ctx.routes.get(self.key, [])

    def settings(self):
        """The location settings of the first route to the target ({} when the config does not name it)."""
        routes = self.routes()
        return routes[0]['settings'] if routes else {}

    def module(self):
        """The pass module of the first route (proxy, fastcgi, uwsgi, scgi, grpc) or None."""
        return (self.settings().get('pass') or {}).get('module')


class Correlator:
    """The findings of one host: the evidence helpers the causes' steps use, and the stage runner."""

    def __init__(self, host, facts, checks, peers=None, claimed=None, peer_index=None):
        self.host = host
        # (address, port) that some nginx of the fleet passes to: not free to be "the one meant"
        # the fleet's set is shared by every host's correlator, never copied (a copy per host is quadratic)
        self.claimed_fleet = claimed if claimed is not None else frozenset()
        self.claimed = set((key[1], key[2]) for key in routes_by_target(facts) if key[0] == 'tcp')
        self.facts = facts or {}
        self.checks = checks or {}
        self.peers = peers or {}
        # address -> inventory name of the diagnosed hosts (see peer_index); built here when not given
        self.peer_index = peer_index if peer_index is not None else index_peers(self.peers)
        self.upstream_names = set((self.facts.get('upstreams') or {}).keys())
        self.routes = routes_by_target(self.facts)
        self.local = set(self.checks.get('addresses') or ['127.0.0.1', '::1'])
        self.findings = []
        # indexes into log_groups that a finding has explained: other causes leave them alone
        self.explained = set()
        self.assigned = {}
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

    def unexplained(self, items):
        """The (index, group) items no finding has explained yet (see explained)."""
        return [(i, g) for i, g in items if i not in self.explained]

    @staticmethod
    def evidence_logs(items):
        return [{k: g.get(k) for k in ('log', 'kind', 'catalog', 'count', 'first_seen', 'last_seen',
                                       'upstream', 'server', 'samples')} for _i, g in items]

    def is_local(self, host):
        return host in self.local or host in LOOPBACK

    def peer_for(self, host):
        """(name, checks) of the inventory host that owns the address, if it was diagnosed too."""
        for name in self.peer_index.get(host, ()):
            if name != self.host:
                return name, self.peers[name]
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
            return any((a, port) in self.claimed or (a, port) in self.claimed_fleet for a in addresses)
        found = [x for x in listeners.get('tcp', []) if x['port'] != key[2] and x.get('process') not in SYSTEM_PROCESSES
                 and x.get('process') != exclude_process and x['address'] not in ('127.0.0.53', '127.0.0.54')
                 and not claimed(x['port']) and abs(x['port'] - key[2]) < MISMATCH_MAX_PORT_DISTANCE]
        return sorted(found, key=lambda x: (abs(x['port'] - key[2]), x['port']))

    def add(self, cause, key, summary, evidence, fix_vars=None, routes=None, extra=None):
        """Record a finding of cause (an id of the registry) for the target key (None: host-wide)."""
        routes = self.routes.get(key, []) if routes is None else routes
        first = routes[0] if routes else {}
        finding = {
            'id': cause,
            'severity': registry.severity(cause),
            'host': self.host,
            'server': first.get('server'),
            'location': first.get('location'),
            'upstream': first.get('upstream'),
            'pass': first.get('pass'),
            'routes': [{'server': r['server'], 'location': r['location'], 'pass': r['pass'], 'upstream': r['upstream']}
                       for r in routes],
            'target': self.target(key),
            'evidence': evidence,
            'summary': summary,
            'fix': {'role': registry.fix_role(cause), 'vars': fix_vars or {}},
        }
        if extra:
            finding.update(extra)
        self.findings.append(finding)
        return finding

    def finding(self, cause, key):
        """The finding of cause for the target key already recorded, or None."""
        target = self.target(key)
        return next((f for f in self.findings if f['id'] == cause and f['target'] == target), None)

    @staticmethod
    def target(key):
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

    def source_addresses(self):
        """This host's own IPv4 addresses other than loopback: where its connections come from."""
        return [a for a in sorted(self.local) if a not in LOOPBACK and ':' not in a]

    def firewall_matches(self, key, peer_checks):
        """Rules on this host's output path and, when known, the upstream host's input path."""
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
            sources = self.source_addresses()
            for rule in blocking_rules(peer_checks['firewall'], 'input', key[2], address=key[1],
                                       peer=sources[0] if sources else None):
                rule = dict(rule)
                rule.update(host=peer_name, direction='input', text=describe(rule))
                found.append(rule)
        return found

    def firewalls_not_read(self, peer_name, peer):
        """The hosts on the path whose firewall was not read, or read with errors (an unread ruleset is unknown, not open)."""
        unread = []
        for name, checks in ((self.host, self.checks), (peer_name, peer)):
            if checks is None:
                continue
            firewall = checks.get('firewall')
            if not firewall or firewall.get('errors'):
                unread.append(name or 'the upstream host')
        return unread

    # --- PHP-FPM ------------------------------------------------------------------
    def fpm_pools(self):
        pools = []
        for cfg in ((self.checks.get('php_fpm') or {}).get('configs') or []):
            pools.extend(cfg.get('pools') or [])
        return pools

    def fpm_pool_at(self, key):
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

    def fpm_pool_groups(self, cfg, pool, kinds):
        """Groups of the pool's own PHP-FPM log (the config's error_log, in the window the node read)."""
        log = ((cfg.get('global') or {}).get('error_log') or {}).get('value')
        groups = ((((self.checks.get('php_fpm') or {}).get('logs') or {}).get(log) or {}).get('groups')) or []
        return [dict(g, log=log) for g in groups if g.get('kind') in kinds and g.get('pool') == pool.get('name')]

    def fpm_log_groups(self, kinds):
        """Groups of every PHP-FPM log the node read, of the given kinds."""
        groups = []
        for path, log in sorted(((self.checks.get('php_fpm') or {}).get('logs') or {}).items()):
            for g in log.get('groups') or []:
                if g.get('kind') in kinds:
                    groups.append(dict(g, log=path))
        return groups

    # --- the stages ----------------------------------------------------------------
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

    def _run_stage(self, stage, policy, target=None):
        found = False
        for _order, _cause, step in registry.steps(stage):
            before = len(self.findings)
            if target is None:
                step(self)
            else:
                step(self, target)
            if len(self.findings) > before:
                found = True
                if policy == 'first':
                    break
        return found

    def _run_target(self, key):
        target = Target(self, key)
        for stage, scope, policy, skipped_after in registry.STAGES:
            if scope != 'target':
                continue
            if skipped_after and target.found.get(skipped_after):
                continue
            target.found[stage] = self._run_stage(stage, policy, target)

    def run(self, audit=False):
        if audit:  # the latent risks: the configuration stage and the audit's checks, no target stages
            for stage, _scope, policy, _skipped in registry.STAGES:
                if stage in registry.AUDIT_STAGES and (self.facts or stage != 'config'):
                    self._run_stage(stage, policy)
            return self.findings
        host_stages = [s for s in registry.STAGES if s[1] == 'host' and s[0] != 'audit']
        if self.facts:
            self._run_stage('config', dict((s[0], s[2]) for s in host_stages)['config'])
        keys = sorted(k for k in self.routes if k[0] in ('tcp', 'unix'))
        self.assigned = self._assign_orphans(keys)
        for key in keys:
            self._run_target(key)
        # log lines about targets the config no longer names still count
        seen = set(keys)
        for g in self.log_groups:
            if g['key'] and g['key'] not in seen and g['key'][0] in ('tcp', 'unix') and g.get('catalog'):
                seen.add(g['key'])
                self._run_target(g['key'])
        for stage, _scope, policy, _skipped in host_stages:
            if stage != 'config':
                self._run_stage(stage, policy)
        return self.findings


def index_peers(peers):
    """address -> [inventory names] of the diagnosed hosts that own it (sorted): one pass over the fleet."""
    index = {}
    for name in sorted(peers):
        for address in (peers[name] or {}).get('addresses') or []:
            index.setdefault(address, []).append(name)
    return index


def claimed_targets(all_facts):
    """(address, port) of every TCP target any nginx of the fleet passes to."""
    claimed = set()
    for facts in all_facts:
        for key in routes_by_target(facts):
            if key[0] == 'tcp':
                claimed.add((key[1], key[2]))
    return claimed


def diagnose(host, facts, checks, peers=None, claimed=None, peer_index=None, audit=False):
    """Findings of one host; peers: {inventory name: checks} of other diagnosed hosts;
    claimed: (address, port) targets of the whole fleet (see claimed_targets);
    peer_index: index_peers(peers), given when many hosts are correlated with the same peers;
    audit: the latent risks of the audit instead of the diagnosis (registry.AUDIT_STAGES)."""
    return Correlator(host, facts, checks, peers, claimed, peer_index).run(audit=audit)
