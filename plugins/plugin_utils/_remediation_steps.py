# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The decisions of the roles backend_service and firewall, so that their tasks only run the modules.

Runs on the controller (filter badgateway.nginx.remediation_steps). Per finding:

- backend_service (``upstream_down``): on which inventory host the stopped service lives (the finding's
  ``evidence.upstream_host`` when that host is in the inventory, else this host for a loopback address,
  one of its own addresses or a unix socket), which unit the operator named for it, why it is skipped;
  then the result record of each module run and the line shown for it.
- firewall (``firewall_block``): which inventory host owns the blocking rule (``fix.vars.host``) and
  whether it is in the inventory, the port and protocol, the direction (``output`` when the rule is on
  the proxy's own output path), the proxy's addresses the owner must admit (IPv4 without loopback, or
  the global IPv6 addresses for an IPv6 target), why it is skipped; then the result record and the
  message of a failed connection check.

``hostvars`` is the inventory (anything that answers ``name in hostvars`` and ``hostvars[name]``);
a host's facts are ``hostvars[name]['ansible_facts']``. Nothing here touches a host.
Strings are joined the way Jinja's ``~`` joins them (``None`` shows as ``None``; on its own in a template it
shows as nothing), so the records and the wording are those the roles wrote when they held this logic in Jinja.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from collections.abc import Mapping

# names every host has for itself
SELF_NAMES = ('127.0.0.1', '::1', 'localhost')
IPV4_LOOPBACK = re.compile(r'127\.')
# link-local and loopback IPv6 addresses are never admitted as the proxy's sources
IPV6_NOT_GLOBAL = re.compile(r'(?i)^(fe80:|::1$)')
SERVICE_KINDS = ('tcp', 'unix')
NOT_A_SERVICE = 'not a TCP or unix socket target'
NOT_IN_INVENTORY = '%s is on a host that is not in the inventory: it cannot be started from here'
NO_OWNER = 'no inventory host owns the blocking rule'
OWNER_NOT_IN_INVENTORY = 'the rule is on %s, which is not in the inventory'
NO_PORT = 'the finding names no target port'
ROLLED_BACK = 'firewall change on %s did not restore connectivity to %s; rolled back'
STILL_FAILS = 'nothing blocks %s on %s any more (no change made), but %s still cannot connect: %s'


def _text(value):
    """value as Jinja's ~ writes it."""
    return '%s' % (value,)


def _shown(value):
    """value as a template shows it on its own ({{ value }}: None shows as nothing)."""
    return '' if value is None else _text(value)


def _dict(value):
    """value when it is a non-empty dict, else {} (Jinja's ``value | default({}, true)``)."""
    return value if isinstance(value, dict) and value else {}


def jinja_int(value):
    """Jinja's ``int`` filter: '8080' and 8080.0 are 8080, what is no number is 0."""
    try:
        if isinstance(value, str):
            return int(value, 10)
        return int(value)
    except (TypeError, ValueError, OverflowError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def host_facts(hostvars, host):
    """The facts of host (``{}`` when none were gathered)."""
    if host not in hostvars:
        return {}
    facts = hostvars[host].get('ansible_facts')
    return facts if isinstance(facts, Mapping) else {}


def _addresses(facts, key):
    return list(facts.get(key) or [])


def own_addresses(host, facts):
    """The names and addresses under which host reaches itself."""
    return list(SELF_NAMES) + [host] + _addresses(facts, 'all_ipv4_addresses') + _addresses(facts, 'all_ipv6_addresses')


# --- backend_service ------------------------------------------------------------------------------------

def _is_local(kind, address, own):
    if kind == 'unix':
        return True
    return kind == 'tcp' and (address in own or (address is not None and IPV4_LOOPBACK.match(_text(address)) is not None))


def unit_for(target, units):
    """The unit the operator named for target: by its text, its socket path or its port, the first that is a key."""
    keys = [target.get('text', ''), target.get('path', ''), _text(target.get('port', ''))]
    for key in keys:
        if key and key in units:
            return units[key]
    return ''


def service_start_entry(finding, units, hostvars, here, own):
    """One upstream_down finding -> where its service is started (host), with which unit, or why not (skipped)."""
    target = _dict(finding.get('target'))
    kind = target.get('kind', '')
    owner = _dict(finding.get('evidence')).get('upstream_host') or ''
    owned = owner in hostvars if owner != '' else False
    local = _is_local(kind, target.get('host', ''), own)
    text = target.get('text', '?')
    if kind not in SERVICE_KINDS:
        skipped = NOT_A_SERVICE
    elif owned or local:
        skipped = ''
    else:
        skipped = NOT_IN_INVENTORY % _text(text)
    return {'target': text, 'kind': kind, 'port': target.get('port'), 'path': target.get('path'),
            'address': target.get('host'), 'host': owner if owned else (here if local else ''),
            'unit': unit_for(target, units), 'skipped': skipped}


def service_start_plan(findings, units, hostvars, here):
    """The upstream_down findings -> the plan, one entry per finding (the other findings are ignored)."""
    own = own_addresses(here, host_facts(hostvars, here))
    return [service_start_entry(f, units, hostvars, here, own) for f in findings if f.get('id') == 'upstream_down']


def _loop_item(result):
    """The loop item a registered loop result was run for (None for anything else)."""
    return result.get(result.get('ansible_loop_var') or 'item')


def service_start_result(entry, run=None):
    """The record of one plan entry: skipped (run None), or what the module run for it did."""
    if run is None:
        return {'target': entry.get('target'), 'host': entry.get('host') or None, 'unit': None, 'action': 'skipped',
                'changed': entry.get('changed', False), 'candidates': entry.get('candidates', []),
                'listener': entry.get('listener'), 'skipped': entry.get('skipped')}
    unresolved = run.get('unresolved', False)
    if unresolved:
        action = 'unresolved'
    elif run.get('failed', False):
        action = 'failed'
    else:
        action = run.get('action', 'none')
    return {'target': entry.get('target'), 'host': entry.get('host') or None, 'unit': run.get('unit'), 'action': action,
            'changed': run.get('changed', False), 'candidates': run.get('candidates', []),
            'listener': run.get('listener'), 'skipped': run.get('msg', '') if unresolved else ''}


def service_start_results(plan, runs):
    """The records for the report: the skipped entries of the plan first, then one per module run (in order)."""
    out = [service_start_result(entry) for entry in plan if entry.get('skipped')]
    for run in runs:
        entry = _loop_item(run)
        out.append(service_start_result(entry, run) if isinstance(entry, dict) else service_start_result(run))
    return out


def service_start_line(record, check_mode=False):
    """What the role shows for one record."""
    if record.get('skipped'):
        said = '%s - %s' % (_text(record.get('action')), _text(record['skipped']))
    elif record.get('action') == 'none':
        listener = record.get('listener')
        process = listener.get('process', '?') if isinstance(listener, dict) else '?'
        said = 'already listens (%s, %s) on %s' % (_text(process), _text(record.get('unit') or 'no unit'),
                                                   _text(record.get('host')))
    else:
        action = _text(record.get('action'))
        if check_mode and record.get('changed'):
            action = 'would be ' + action
        said = '%s %s on %s' % (action, _text(record.get('unit')), _text(record.get('host')))
    return '%s: %s' % (_shown(record.get('target')), said)


# --- firewall -------------------------------------------------------------------------------------------

def proxy_sources(target_host, facts, proxy_addresses=None):
    """The proxy's addresses the owner of the rule must admit: the option, else the facts' addresses of the
    target's family without loopback (and without link-local for IPv6)."""
    if proxy_addresses:
        return list(proxy_addresses)
    if ':' in _text(target_host):
        return [a for a in _addresses(facts, 'all_ipv6_addresses') if not IPV6_NOT_GLOBAL.match(_text(a))]
    return [a for a in _addresses(facts, 'all_ipv4_addresses') if not IPV4_LOOPBACK.match(_text(a))]


def firewall_label(finding):
    """Which finding this is, for loop labels."""
    if 'summary' in finding:
        return finding['summary']
    return _dict(finding.get('target')).get('text', 'firewall_block')


def firewall_step(finding, proxy_addresses, hostvars, here, facts=None):
    """One firewall_block finding -> the change to make (owner, port, protocol, direction, sources) or why not."""
    fix_vars = _dict(_dict(finding.get('fix')).get('vars'))
    target = _dict(finding.get('target'))
    owner = fix_vars.get('host') or ''
    host = target.get('host') or ''
    port = jinja_int(fix_vars['port'] if 'port' in fix_vars else target.get('port', 0))
    rules = _dict(finding.get('evidence')).get('firewall') or []
    first_rule = _dict(rules[0]) if isinstance(rules, list) and rules else {}
    where = '%s:%s' % (_text(host), port)
    if owner == '':
        skipped = NO_OWNER
    elif owner not in hostvars:
        skipped = OWNER_NOT_IN_INVENTORY % _text(owner)
    elif port == 0:
        skipped = NO_PORT
    else:
        skipped = ''
    facts = host_facts(hostvars, here) if facts is None else facts
    return {'label': firewall_label(finding), 'proxy': here, 'target': host, 'port': port, 'where': where,
            'protocol': fix_vars.get('protocol', 'tcp'), 'owner': owner,
            'direction': 'output' if owner == here or first_rule.get('direction', '') == 'output' else 'input',
            'sources': proxy_sources(host, facts, proxy_addresses), 'skipped': skipped,
            'skipped_msg': 'skipped: %s: %s' % (_shown(finding.get('summary', where)), skipped) if skipped else ''}


def firewall_plan(findings, proxy_addresses, hostvars, here):
    """The firewall_block findings -> one step each (the other findings are ignored)."""
    facts = host_facts(hostvars, here)
    return [firewall_step(f, proxy_addresses, hostvars, here, facts) for f in findings if f.get('id') == 'firewall_block']


ALLOW_KEYS = ('changed', 'msg', 'added', 'blocking', 'persisted', 'backups', 'persist_notes')


def firewall_result(step, allow=None):
    """The record of one step: skipped (allow None), or what firewall_allow did (its result)."""
    if allow is None:
        return {'target': step['where'], 'host': step.get('owner') or None, 'skipped': step.get('skipped'), 'changed': False}
    out = {'target': step['where'], 'host': step.get('owner'), 'direction': step.get('direction')}
    out.update((k, allow.get(k)) for k in ALLOW_KEYS)
    out['skipped'] = ''
    return out


def firewall_undo_msg(step, allow, failed=None):
    """Why the play fails when the proxy still cannot connect after the step (failed: the failed check's result)."""
    if allow.get('changed'):
        return ROLLED_BACK % (_text(step.get('owner')), step['where'])
    return STILL_FAILS % (step['where'], _text(step.get('owner')), _text(step.get('proxy')), _text((failed or {}).get('msg', '')))
