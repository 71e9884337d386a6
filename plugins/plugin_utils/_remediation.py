# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Remediation plans: from diagnosis findings and nginx facts to the smallest changes.

Runs on the controller (filters of the remediation roles). A plan is
{'changes': [...], 'verify': [{'url', 'host'}], 'skipped': [{'finding', 'reason'}], 'notes': [...]}
where each change is one argument of badgateway.nginx.nginx_change (kind nginx or fpm).
Nothing here touches a host: the plan is what the transaction applies and checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry

# the order that is safe: bring the backend up and reachable before nginx is pointed at it
ROLE_ORDER = ('backend_service', 'firewall', 'php_fpm_pool', 'upstream_target', 'proxy_timeouts', 'proxy_buffers')
REQUEST = re.compile(r'request: "(?:GET|HEAD) (/[^" ]*) HTTP/[0-9.]+"')
SIZE = re.compile(r'^(\d+)([kKmM]?)$')
TIME = re.compile(r'^(\d+)(ms|s|m|h|d)?$')
TIME_FACTOR = {'ms': 0.001, 's': 1, None: 1, 'm': 60, 'h': 3600, 'd': 86400}


class PlanError(Exception):
    pass


def parse_size(value):
    m = SIZE.match(str(value or '').strip())
    if not m:
        raise PlanError('not a size: %r' % (value,))
    return int(m.group(1)) * {'': 1, 'k': 1024, 'K': 1024, 'm': 1048576, 'M': 1048576}[m.group(2)]


def format_size(n):
    if n % 1048576 == 0:
        return '%dm' % (n // 1048576)
    if n % 1024 == 0:
        return '%dk' % (n // 1024)
    return str(n)


def parse_seconds(value):
    m = TIME.match(str(value or '').strip())
    if not m:
        raise PlanError('not a time: %r' % (value,))
    return int(m.group(1)) * TIME_FACTOR[m.group(2)]


def _loc_arg(loc):
    """The location's modifier and match as nginx_directive's location option."""
    modifier = loc.get('modifier') or ''
    return ('%s %s' % (modifier, loc.get('match'))).strip() if modifier and modifier != '@' else loc.get('match')


def _find_server(facts, server):
    for s in (facts or {}).get('servers') or []:
        if s.get('file') == (server or {}).get('file') and s.get('line') == (server or {}).get('line'):
            return s
    return None


def _find_location(facts, route):
    s = _find_server(facts, route.get('server'))
    loc = route.get('location') or {}
    for candidate in (s or {}).get('locations') or []:
        if candidate.get('file') == loc.get('file') and candidate.get('line') == loc.get('line'):
            return candidate
    return None


def _sample_paths(finding):
    paths = []
    for group in ((finding.get('evidence') or {}).get('log') or []):
        for line in group.get('samples') or []:
            m = REQUEST.search(line)
            if m:
                path = m.group(1).split('?', 1)[0]
                if path not in paths:
                    paths.append(path)
    return paths


def route_check(facts, route, finding=None):
    """The request that shows a route works: {'url', 'host'} from the nginx host itself, or None."""
    server = _find_server(facts, route.get('server'))
    if not server:
        return None
    listens = [x for x in server.get('listen') or [] if x.get('port') and not x.get('unix') and not x.get('quic')]
    if not listens:
        return None
    chosen = sorted(listens, key=lambda x: (x.get('ssl'), x.get('ipv6')))[0]
    address = chosen.get('address')
    if address in (None, '*', '0.0.0.0'):
        address = '127.0.0.1'
    elif address in ('::', '[::]'):
        address = '[::1]'
    elif ':' in address and not address.startswith('['):
        address = '[%s]' % address
    scheme = 'https' if chosen.get('ssl') else 'http'
    loc = route.get('location') or {}
    paths = _sample_paths(finding) if finding else []
    if paths:
        path = paths[0]
    elif (loc.get('modifier') or '') in ('', '^~', '=') and (loc.get('match') or '').startswith('/'):
        path = loc['match']
    else:
        return None
    names = [n for n in server.get('server_name') or [] if n and n != '_' and not n.startswith(('~', '*', '.'))
             and '*' not in n]
    port = chosen['port']
    default_port = 443 if scheme == 'https' else 80
    check = {'url': '%s://%s%s%s' % (scheme, address, '' if port == default_port else ':%d' % port, path)}
    if names:
        check['host'] = names[0] if port == default_port else '%s:%d' % (names[0], port)
    return check


def _add_unique(items, item):
    if item not in items:
        items.append(item)


def _nginx_change(route, directive, args):
    loc = route['location']
    return {'kind': 'nginx', 'path': loc['file'], 'scope': 'location', 'location': _loc_arg(loc),
            'line': loc['line'], 'directive': directive, 'args': [str(a) for a in args]}


def _empty():
    return {'changes': [], 'verify': [], 'skipped': [], 'notes': []}


def _routes(finding):
    return [r for r in finding.get('routes') or [] if (r.get('location') or {}).get('file')]


def _label(finding):
    target = (finding.get('target') or {}).get('text')
    return '%s %s' % (finding.get('id'), target) if target else finding.get('id')


def _plan_keepalive(plan, f, facts, keepalive=None):
    """keepalive_race: the upstream's keepalive_timeout below the backend's measured idle close."""
    fix = (f.get('fix') or {}).get('vars') or {}
    name, wanted, idle = fix.get('upstream'), keepalive or fix.get('value'), fix.get('backend_idle_close')
    upstream = ((facts or {}).get('upstreams') or {}).get(name) if name else None
    if not upstream or not upstream.get('file') or not wanted:
        plan['skipped'].append({'finding': _label(f), 'reason': 'the diagnosis named no upstream block or value'})
        return
    seconds = parse_seconds(wanted)
    if idle is not None and seconds >= float(idle):
        raise PlanError('keepalive_timeout %s is not below the %ss after which the backend of upstream %s closes idle '
                        'connections' % (wanted, idle, name))
    _add_unique(plan['changes'], {'kind': 'nginx', 'path': upstream['file'], 'scope': 'upstream', 'upstream': name,
                                  'line': upstream.get('line'), 'directive': 'keepalive_timeout', 'args': [wanted]})
    plan['notes'].append('%s: keepalive_timeout %s, below the backend\'s idle close after %ss' % (_label(f), wanted, idle))
    for route in _routes(f):
        check = route_check(facts, route, f)
        if check:
            _add_unique(plan['verify'], check)


def plan_timeouts(findings, facts, value=None, maximum='300s', also=None, keepalive=None):
    """upstream_timeout: the module's read (or send) timeout at each failing location (the narrowest scope), and the
    other kinds given in also ({'connect': '10s', 'send': '60s'}) for the same module at the same place.
    keepalive_race: the upstream's keepalive_timeout below the backend's idle close (keepalive, or what the
    diagnosis computed)."""
    plan = _empty()
    for f in findings:
        if f.get('id') == 'keepalive_race':
            _plan_keepalive(plan, f, facts, keepalive)
    cap = parse_seconds(maximum)
    also = dict(also or {})
    for kind, val in also.items():
        if kind not in ('connect', 'send', 'read'):
            raise PlanError('timeouts: %r is not one of connect, send, read' % kind)
        if parse_seconds(val) > cap:
            raise PlanError('timeouts: %s %s is more than the maximum %s' % (kind, val, maximum))
    for f in findings:
        if f.get('id') not in ('upstream_timeout', 'timeout_mismatch'):  # the audit's: the same change, before
            continue
        fix = (f.get('fix') or {}).get('vars') or {}
        directive = fix.get('directive')
        wanted = value or fix.get('value')
        if not directive or not wanted:
            plan['skipped'].append({'finding': _label(f), 'reason': 'the diagnosis gave no directive or value'})
            continue
        seconds = parse_seconds(wanted)
        if seconds > cap:
            plan['notes'].append('%s: %s capped at %s' % (_label(f), wanted, maximum))
            wanted = maximum
        routes = _routes(f)
        if not routes:
            plan['skipped'].append({'finding': _label(f), 'reason': 'no location to change'})
        found = re.match(r'^([a-z]+)_(connect|send|read)_timeout$', directive)
        module = found.group(1) if found else None
        for route in routes:
            _add_unique(plan['changes'], _nginx_change(route, directive, [wanted]))
            for kind, val in sorted(also.items()):
                if module and '%s_%s_timeout' % (module, kind) != directive:
                    _add_unique(plan['changes'], _nginx_change(route, '%s_%s_timeout' % (module, kind), [val]))
            check = route_check(facts, route, f)
            if check:
                _add_unique(plan['verify'], check)
    return plan


def buffer_size_for(header_bytes, minimum='8k', maximum='256k'):
    """Smallest power of two that holds the measured header with room to spare, within [minimum, maximum]."""
    lo, hi = parse_size(minimum), parse_size(maximum)
    need = int(header_bytes) + 1024
    size = 1 << max(0, int(math.ceil(math.log(max(need, 1), 2))))
    if size > hi:
        raise PlanError('the response headers (%d bytes) need more than the cap %s' % (header_bytes, maximum))
    return max(size, lo)


def header_probes(findings):
    """Requests straight to each upstream that sent too big a header, to measure its headers."""
    probes = []
    for f in findings:
        target = f.get('target') or {}
        if f.get('id') != 'header_too_big' or target.get('kind') != 'tcp' or not target.get('port'):
            continue
        raw = ((f.get('routes') or [{}])[0].get('pass') or {}).get('raw') or ''
        scheme = 'https' if raw.startswith('https://') else 'http'
        if not raw.startswith(('http://', 'https://')):
            continue
        host = target.get('host') or '127.0.0.1'
        host = '[%s]' % host if ':' in host else host
        path = (_sample_paths(f) or ['/'])[0]
        _add_unique(probes, {'url': '%s://%s:%d%s' % (scheme, host, target['port'], path), 'target': target.get('text')})
    return probes


# nginx's default number of <module>_buffers (one memory page each)
DEFAULT_BUFFER_COUNT = 8


def busy_buffers_rule(buffer_size, count, one, busy=None):
    """None when nginx accepts these buffer settings, else nginx's reason (ngx_http_proxy_merge_loc_conf):
    busy buffers (2 x max(buffer_size, one buffer) when unset) must be at least max(buffer_size, one buffer)
    and at most the size of all buffers minus one buffer; at least 2 buffers."""
    if count < 2:
        return 'there must be at least 2 buffers'
    size = max(buffer_size, one)
    busy = 2 * size if busy is None else busy
    if busy < size:
        return 'busy buffers (%s) are less than max(buffer size, one buffer) (%s)' % (format_size(busy), format_size(size))
    if busy > (count - 1) * one:
        return 'busy buffers (%s) are more than all buffers minus one buffer (%d x %s)' % (
            format_size(busy), count - 1, format_size(one))
    return None


def buffers_for(buffer_size, count=DEFAULT_BUFFER_COUNT, one=4096, busy=None):
    """The <module>_buffers (count, size) and <module>_busy_buffers_size to write with this buffer size, as
    (buffers or None, busy or None), None where the current value stands.

    As nginx's documentation sizes them: the buffers keep nginx's default count (8) and get one memory page or
    the buffer size, whichever is larger (8 16k for a 16k header buffer), when the current ones cannot hold the
    busy buffers nginx derives from the buffer size; an explicit busy size outside nginx's bounds becomes
    2 x max(buffer size, one buffer), the default, when that fits, else all buffers minus one."""
    if busy_buffers_rule(buffer_size, count, one, busy) is None:
        return None, None
    new_buffers = None
    if busy_buffers_rule(buffer_size, count, one) is not None:
        count, one = DEFAULT_BUFFER_COUNT, max(one, buffer_size)
        new_buffers = (count, one)
    new_busy = None
    if busy is not None and busy_buffers_rule(buffer_size, count, one, busy) is not None:
        size = max(buffer_size, one)
        new_busy = 2 * size if 2 * size <= (count - 1) * one else (count - 1) * one
    return new_buffers, new_busy


def _current_buffers(buffers):
    """(count, one, busy or None) of a location's effective buffer facts; nginx's defaults where unreadable."""
    count_size = str((buffers.get('buffers') or {}).get('value') or '8 4k').split()
    try:
        count, one = int(count_size[0]), parse_size(count_size[1])
    except (ValueError, IndexError, PlanError):
        count, one = DEFAULT_BUFFER_COUNT, 4096
    busy_fact = buffers.get('busy_buffers_size') or {}
    busy = None
    if busy_fact.get('value') and not busy_fact.get('default'):
        try:
            busy = parse_size(busy_fact['value'])
        except PlanError:
            busy = None
    return count, one, busy


def plan_buffers(findings, facts, measured=None, size=None, maximum='256k'):
    """header_too_big: <module>_buffer_size sized from the measured header, and <module>_buffers (and
    <module>_busy_buffers_size when it is set) the way buffers_for() chooses them, so that nginx's busy
    buffers rule holds."""
    plan = _empty()
    probes = header_probes(findings)
    plan['probes'] = [{'url': p['url']} for p in probes]
    plan['probe_targets'] = [p['target'] for p in probes]
    measured = measured or {}
    for f in findings:
        if f.get('id') not in ('header_too_big', 'header_buffer_small'):  # the audit's: measured by its header probe
            continue
        fix = (f.get('fix') or {}).get('vars') or {}
        directive = fix.get('directive') or 'proxy_buffer_size'
        module = directive[:-len('_buffer_size')]
        target = (f.get('target') or {}).get('text')
        try:
            if size:
                wanted = parse_size(size)
            elif measured.get(target):
                wanted = buffer_size_for(measured[target], maximum=maximum)
            elif fix.get('header_bytes'):
                wanted = buffer_size_for(int(fix['header_bytes']), maximum=maximum)
            else:
                wanted = parse_size(fix.get('value') or '16k')
        except PlanError as e:
            plan['skipped'].append({'finding': _label(f), 'reason': str(e)})
            continue
        for route in _routes(f):
            loc = _find_location(facts, route) or {}
            buffers = loc.get('buffers') or {}
            current = buffers.get('buffer_size') or {}
            try:
                current_size = parse_size(current.get('value')) if current.get('value') else 0
            except PlanError:
                current_size = 0
            if current_size < wanted:
                _add_unique(plan['changes'], _nginx_change(route, directive, [format_size(wanted)]))
            count, one, busy = _current_buffers(buffers)
            new_buffers, new_busy = buffers_for(max(wanted, current_size), count, one, busy)
            if new_buffers:
                _add_unique(plan['changes'], _nginx_change(route, '%s_buffers' % module,
                                                           [str(new_buffers[0]), format_size(new_buffers[1])]))
            if new_busy:
                _add_unique(plan['changes'], _nginx_change(route, '%s_busy_buffers_size' % module,
                                                           [format_size(new_busy)]))
            check = route_check(facts, route, f)
            if check:
                _add_unique(plan['verify'], check)
    return plan


def plan_targets(findings, facts):
    """target_mismatch / protocol_mismatch: re-point the pass directive (or upstream member) to what listens."""
    plan = _empty()
    for f in findings:
        if f.get('id') not in ('target_mismatch', 'protocol_mismatch'):
            continue
        fix = (f.get('fix') or {}).get('vars') or {}
        old, new = fix.get('from'), fix.get('to')
        if not old or not new or old == new:
            plan['skipped'].append({'finding': _label(f), 'reason': 'the diagnosis found no live target to point to'})
            continue
        routes = _routes(f)
        if not routes:
            plan['skipped'].append({'finding': _label(f), 'reason': 'no pass directive to change'})
        for route in routes:
            member = route.get('upstream')
            if member and member.get('member_file'):
                address = member.get('member') or ''
                replaced = address.replace(old, new, 1) if old in address else None
                if not replaced:
                    plan['skipped'].append({'finding': _label(f), 'reason': 'upstream %s member %s does not name %s' % (
                        member.get('name'), address, old)})
                    continue
                up = ((facts or {}).get('upstreams') or {}).get(member['name']) or {}
                params = next((m.get('args') or [] for m in up.get('servers') or [] if m.get('address') == address), [])[1:]
                _add_unique(plan['changes'], {'kind': 'nginx', 'path': member.get('file') or member['member_file'], 'scope': 'upstream',
                                              'upstream': member['name'], 'line': member.get('line'),
                                              'directive': 'server', 'key': address, 'args': [replaced] + list(params)})
            else:
                p = route.get('pass') or {}
                raw = p.get('raw') or ''
                if old not in raw:
                    plan['skipped'].append({'finding': _label(f), 'reason': '%s at %s:%s does not name %s' % (
                        p.get('directive'), p.get('file'), p.get('line'), old)})
                    continue
                if p.get('file') != route['location'].get('file'):
                    plan['skipped'].append({'finding': _label(f), 'reason': '%s is in another file than its location' % (
                        p.get('directive'))})
                    continue
                new_raw = new if raw == old else raw.replace(old, new, 1)
                _add_unique(plan['changes'], _nginx_change(route, p.get('directive'), [new_raw]))
            check = route_check(facts, route, f)
            if check:
                _add_unique(plan['verify'], check)
    return plan


def size_max_children(available_bytes, child_bytes, current, floor=2, cap=64, reserve=0.2):
    """pm.max_children that fits the memory the pool may use: (available minus a reserve) / one child.

    available_bytes is what the host has available now, which already excludes the pool's running
    children, so their memory is added back. At least the current value plus one (the pool was full),
    at least floor, at most cap and never more than memory allows.
    """
    current = int(current or 0)
    if not child_bytes or child_bytes <= 0 or available_bytes is None:
        return {'value': min(max(current * 2, floor), cap), 'basis': 'no memory figures: doubled within floor and cap'}
    usable = (available_bytes + child_bytes * current) * (1 - reserve)
    fits = int(usable // child_bytes)
    value = max(min(fits, cap), floor)
    basis = '%d MiB usable / %.1f MiB per child = %d, floor %d, cap %d' % (
        usable // 1048576, child_bytes / 1048576.0, fits, floor, cap)
    if value <= current:
        return {'value': current, 'basis': basis + ': memory allows no more than the current %d' % current}
    return {'value': value, 'basis': basis}


def _pool(checks, name, pool_file):
    fpm = (checks or {}).get('php_fpm') or {}
    pools = list(fpm.get('pools') or [])
    for cfg in fpm.get('configs') or []:
        pools.extend(cfg.get('pools') or [])
    for p in pools:
        if p.get('name') == name and (not pool_file or p.get('file') == pool_file):
            return p
    return None


def _plan_sizing(plan, f, fix, name, pool_file, max_children=None):
    """fpm_children_sizing: pm.max_children down to what the audit found the memory holds (or the operator's
    max_children), or listen.backlog up to pm.max_children."""
    for key, value in (('pm.max_children', max_children or fix.get('max_children')),
                       ('listen.backlog', fix.get('listen_backlog'))):
        if value:
            _add_unique(plan['changes'], {'kind': 'fpm', 'path': pool_file, 'section': name, 'key': key,
                                          'value': str(int(value))})
            plan['notes'].append('pool %s: %s %s (%s)' % (name, key, int(value), _label(f)))


def plan_fpm(findings, facts, checks, listen_mode='0660', floor=2, cap=64, reserve=0.2, max_children=None):
    """socket_permission (and the audit's socket_mode_after_restart): listen.owner/group/mode for the nginx worker
    user; pool_exhausted: pm.max_children; the audit's fpm_children_sizing: the pm.max_children the memory holds, or a
    listen.backlog of pm.max_children."""
    plan = _empty()
    user = ((facts or {}).get('user') or {})
    worker, group = user.get('name') or 'www-data', user.get('group') or user.get('name') or 'www-data'
    for f in findings:
        if f.get('id') not in ('socket_permission', 'socket_mode_after_restart', 'pool_exhausted', 'fpm_children_sizing'):
            continue
        fix = (f.get('fix') or {}).get('vars') or {}
        name, pool_file = fix.get('pool'), fix.get('pool_file')
        if not name or not pool_file:
            plan['skipped'].append({'finding': _label(f), 'reason': 'no PHP-FPM pool serves this socket'})
            continue
        pool = _pool(checks, name, pool_file) or {}
        if f['id'] == 'fpm_children_sizing':
            _plan_sizing(plan, f, fix, name, pool_file, max_children)
        elif f['id'] in ('socket_permission', 'socket_mode_after_restart'):
            for key, val in (('listen.owner', worker), ('listen.group', group), ('listen.mode', listen_mode)):
                _add_unique(plan['changes'], {'kind': 'fpm', 'path': pool_file, 'section': name, 'key': key, 'value': val})
        else:
            current = pool.get('max_children') or ((f.get('evidence') or {}).get('pool') or {}).get('max_children')
            procs = ((f.get('evidence') or {}).get('processes')) or {}
            child = (procs.get('rss_kb_avg') or 0) * 1024 or None
            available_kb = (((checks or {}).get('resources') or {}).get('memory') or {}).get('available_kb')
            available = available_kb * 1024 if available_kb is not None else None
            if max_children:
                sized = {'value': int(max_children), 'basis': 'set by the operator'}
            else:
                sized = size_max_children(available, child, current, floor=floor, cap=cap, reserve=reserve)
            plan['notes'].append('pool %s: pm.max_children %s -> %s (%s)' % (name, current, sized['value'], sized['basis']))
            if str(sized['value']) != str(current):
                _add_unique(plan['changes'], {'kind': 'fpm', 'path': pool_file, 'section': name,
                                              'key': 'pm.max_children', 'value': str(sized['value'])})
                backlog = ((pool.get('settings') or {}).get('listen.backlog') or {}).get('value')
                if backlog is not None and str(backlog) == '0':
                    _add_unique(plan['changes'], {'kind': 'fpm', 'path': pool_file, 'section': name,
                                                  'key': 'listen.backlog', 'value': '511'})
        for route in _routes(f):
            check = route_check(facts, route, f)
            if check:
                _add_unique(plan['verify'], check)
    return plan


def select(findings, include=None, exclude=None):
    """Findings the operator wants remediated: include (ids) if given, minus exclude (ids)."""
    out = []
    for f in findings or []:
        if include and f.get('id') not in include:
            continue
        if exclude and f.get('id') in exclude:
            continue
        out.append(f)
    return out


def triage(findings, include=None, exclude=None):
    """Which role fixes what, and what is only reported: {'roles': {role: [findings]}, 'reported': [...]}."""
    chosen = select(findings, include, exclude)
    roles = dict((r, []) for r in ROLE_ORDER)
    fixed_by = dict((cause, role) for role, causes in registry.role_findings().items() for cause in causes)
    not_fixable = registry.not_fixable()
    reported = []
    for f in chosen:
        role = fixed_by.get(f.get('id'))
        if role in roles:
            roles[role].append(f)
        elif role:  # an audit's latent risk whose role the remediate role does not run
            reported.append({'id': f.get('id'), 'summary': f.get('summary'),
                             'reason': 'fixed by the role badgateway.nginx.%s, run on its own' % role})
        else:
            reported.append({'id': f.get('id'), 'summary': f.get('summary'),
                             'reason': not_fixable.get(f.get('id'), 'no remediation for this cause')})
    skipped = [{'id': f.get('id'), 'summary': f.get('summary'), 'reason': 'excluded'}
               for f in findings or [] if f not in chosen]
    return {'roles': roles, 'reported': reported, 'excluded': skipped}


# --- proxy headers ------------------------------------------------------------------

DEFAULT_HEADERS = (('Host', '$host'), ('X-Real-IP', '$remote_addr'),
                   ('X-Forwarded-For', '$proxy_add_x_forwarded_for'), ('X-Forwarded-Proto', '$scheme'))
WEBSOCKET_HEADERS = (('Upgrade', '$http_upgrade'), ('Connection', '$connection_upgrade'))
WEBSOCKET_MAP = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}"
REDACTED_VALUE = '********'


def _selected(server, loc, selectors):
    """Whether a location matches one of the selectors ({server_name, listen, location, file, line})."""
    if not selectors:
        return True
    for sel in selectors:
        if sel.get('file') and sel.get('line'):
            if loc.get('file') == sel['file'] and loc.get('line') == int(sel['line']):
                return True
            continue
        if sel.get('server_name') and sel['server_name'].lower() not in [n.lower() for n in server.get('server_name') or []]:
            continue
        if sel.get('listen') and not any(str(x.get('port')) == str(sel['listen']).rsplit(':', 1)[-1]
                                         for x in server.get('listen') or []):
            continue
        if sel.get('location') and _loc_arg(loc) != sel['location'] and loc.get('match') != sel['location']:
            continue
        return True
    return False


def plan_headers(facts, locations=None, websocket=None, headers=None, http_version='1.1', map_file=None):
    """proxy_set_header Host / X-Real-IP / X-Forwarded-For / X-Forwarded-Proto and proxy_http_version 1.1 on
    the selected proxy_pass locations, Upgrade / Connection and the $connection_upgrade map for WebSocket
    routes. nginx's proxy_set_header is all or nothing: a location that sets one inherits none, so a location
    that inherits its headers gets them copied along with the missing ones (or, when an inherited value is
    redacted in the facts, the missing ones go where the inherited ones are set). Values already set
    differently are left alone and noted."""
    plan = _empty()
    wanted_base = list(headers.items()) if isinstance(headers, dict) else list(headers or DEFAULT_HEADERS)
    need_map = False
    for server in (facts or {}).get('servers') or []:
        for loc in server.get('locations') or []:
            p = loc.get('pass') or {}
            if p.get('module') != 'proxy' or not _selected(server, loc, locations):
                continue
            is_ws = _selected(server, loc, websocket) if websocket else False
            wanted = wanted_base + (list(WEBSOCKET_HEADERS) if is_ws else [])
            eff = loc.get('headers') or {}
            # the headers a level sets (nginx's implicit Host / Connection are not "set")
            explicit = [(e.get('name'), e.get('value')) for e in eff.get('sent') or [] if not e.get('implicit')]
            have = dict((k.lower(), (k, v)) for k, v in explicit) if not eff.get('default') else {}
            missing = [(k, v) for k, v in wanted if k.lower() not in have]
            for k, v in wanted:
                if k.lower() in have and have[k.lower()][1] != v and have[k.lower()][1] != REDACTED_VALUE:
                    plan['notes'].append('%s:%s: %s is %s, left as it is (wanted %s)' % (
                        loc.get('file'), loc.get('line'), k, have[k.lower()][1], v))
            route = {'server': {'name': (server.get('server_name') or [''])[0], 'file': server.get('file'),
                                'line': server.get('line')},
                     'location': {'match': loc.get('match'), 'modifier': loc.get('modifier'), 'file': loc.get('file'),
                                  'line': loc.get('line')}}
            changes = []
            if missing:
                scope = eff.get('scope')
                if eff.get('default') or scope == 'location':
                    add = missing
                    target = route
                elif any(v == REDACTED_VALUE for _k, v in have.values()):
                    add, target = missing, None
                    plan['notes'].append('%s:%s: inherited headers have secret values; missing ones added where they '
                                         'are set (%s %s:%s)' % (loc.get('file'), loc.get('line'), scope,
                                                                 eff.get('file'), eff.get('line')))
                else:
                    add = explicit + missing
                    target = route
                for k, v in add:
                    if target is not None:
                        changes.append(_nginx_change(target, 'proxy_set_header', [k, v]))
                    elif scope == 'server':
                        changes.append({'kind': 'nginx', 'path': server['file'], 'scope': 'server', 'line': server['line'],
                                        'directive': 'proxy_set_header', 'args': [k, v]})
                    else:
                        changes.append({'kind': 'nginx', 'path': eff.get('file'), 'scope': 'http',
                                        'directive': 'proxy_set_header', 'args': [k, v]})
            version = (loc.get('http_version') or {}).get('value')
            if http_version and version != http_version:
                changes.append(_nginx_change(route, 'proxy_http_version', [http_version]))
            if is_ws:
                need_map = True
            for c in changes:
                _add_unique(plan['changes'], c)
            if changes:
                check = route_check(facts, route)
                if check:
                    _add_unique(plan['verify'], check)
    if need_map:
        path = map_file or (facts or {}).get('config')
        if not path:
            raise PlanError('no file for the $connection_upgrade map: set map_file')
        plan['changes'].insert(0, {'kind': 'nginx', 'path': path, 'scope': 'http', 'block': WEBSOCKET_MAP})
    return plan


# --- one transaction per host ---------------------------------------------------------

def merge_parts(parts):
    """The one nginx_change of a host from the plans of several roles (parts, in the order they were planned).

    A part is {label, changes, verify, php_fpm}.  Every part was planned from the same facts, so the lines
    of all its changes are lines of the files before the transaction (nginx_change follows its own edits).
    Returns {changes, verify (each URL once), php_fpm (the parts' settings, later ones winning), labels}.
    """
    merged = {'changes': [], 'verify': [], 'php_fpm': {}, 'labels': []}
    for part in parts or []:
        merged['labels'].append(part.get('label') or 'change')
        merged['changes'].extend(part.get('changes') or [])
        for item in part.get('verify') or []:
            if item not in merged['verify']:
                merged['verify'].append(item)
        merged['php_fpm'].update(part.get('php_fpm') or {})
    return merged


def record_parts(parts, result, check_mode):
    """What each part changed, from the one nginx_change result: a record per part for the report.

    The result's ``changes`` are the edits in the order given (the parts' changes one after the other);
    a part's ``diff`` holds the whole-file diff of every file one of its edits is in (a file two parts
    edited shows both parts' edits, in the one transaction that made them).
    """
    records = []
    edits = result.get('changes') or []
    diffs = result.get('diff') or []
    offset = 0
    for part in parts or []:
        count = len(part.get('changes') or [])
        mine = edits[offset:offset + count]
        offset += count
        paths = set(c.get('path') for c in part.get('changes') or [])
        records.append({
            'label': part.get('label') or 'change',
            'changed': any(e.get('action') not in (None, 'none') for e in mine) if mine else bool(result.get('changed')),
            'changes': mine,
            'diff': [d for d in diffs if d.get('before_header') in paths],
            'recovered': result.get('recovered') or [],
            'check_mode': bool(check_mode),
            'transaction': len(parts) > 1 and [p.get('label') or 'change' for p in parts] or None,
        })
    return records
