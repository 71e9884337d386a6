# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: remediation_steps
short_description: The decisions of the roles backend_service and firewall, one finding at a time
version_added: 0.1.0
description:
  - The planning of the roles C(badgateway.nginx.backend_service) (C(upstream_down)) and
    C(badgateway.nginx.firewall) (C(firewall_block)), so that their tasks only run the modules.
  - C(service_plan) (input the findings; O(hostvars), O(host), O(option) the units by target) - for each
    C(upstream_down) finding the host that owns the target (C(evidence.upstream_host) when it is in the inventory,
    else O(host) for a unix socket, a loopback address or one of the host's own addresses), the unit the operator
    named for it, and why it is skipped (not a TCP or unix socket target, on a host outside the inventory).
  - C(service_results) (input that plan; O(result) the registered loop of M(badgateway.nginx.backend_service)) -
    the records of C(backend_service_results), the skipped entries first, then one per run (C(unresolved),
    C(failed) or the module's C(action)).
  - C(service_line) (input one record; O(check_mode)) - the line shown for it (C(would be started ...) in check mode).
  - C(firewall_plan) (input the findings; O(hostvars), O(host), O(option) the proxy's addresses) - for each
    C(firewall_block) finding the inventory host that owns the blocking rule (C(fix.vars.host)), the port and
    protocol, the direction (C(output) when the owner is O(host) or C(evidence.firewall[0].direction) is
    C(output)), the proxy's addresses to admit (the option, else the host's IPv4 addresses without loopback, or its
    global IPv6 addresses for an IPv6 target), and why it is skipped (no owner, an owner outside the inventory,
    no port).
  - C(firewall_result) (input one step; O(result) the result of M(badgateway.nginx.firewall_allow), none for a
    skipped step) - the record of C(firewall_results).
  - C(firewall_undo) (input one step; O(result) the result of M(badgateway.nginx.firewall_allow); O(failed) the
    failed connection check) - the message the play fails with.
  - Runs on the controller; nothing is read from or written to a host.
positional: step, hostvars, host, option
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description: The findings (C(service_plan), C(firewall_plan)), the plan (C(service_results)), a record (C(service_line)) or a step.
    type: raw
    required: true
  step:
    description: Which decision to make.
    type: str
    required: true
    choices: [service_plan, service_results, service_line, firewall_plan, firewall_result, firewall_undo]
  hostvars:
    description: The inventory (C(hostvars)); a host's facts are its C(ansible_facts). For the plans.
    type: dict
  host:
    description: The host whose play runs the role (C(inventory_hostname)). For the plans.
    type: str
  option:
    description: C(backend_service_units) for C(service_plan), C(firewall_proxy_addresses) for C(firewall_plan).
    type: raw
  result:
    description: A module's registered result (C(service_results), C(firewall_result), C(firewall_undo)).
    type: dict
  failed:
    description: The result of the failed connection check (C(ansible_failed_result)), for C(firewall_undo).
    type: dict
  check_mode:
    description: Whether the play runs in check mode (C(ansible_check_mode)), for C(service_line).
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Work out on which host each stopped upstream must be started
  ansible.builtin.set_fact:
    plan: "{{ nginx_diagnose_findings | badgateway.nginx.remediation_steps('service_plan', hostvars, inventory_hostname, {}) }}"

- name: Plan each firewall_block finding, admitting the proxy by one address
  ansible.builtin.set_fact:
    steps: "{{ nginx_diagnose_findings | badgateway.nginx.remediation_steps('firewall_plan', hostvars, inventory_hostname, ['10.0.0.5']) }}"
'''

RETURN = r'''
_value:
  description:
    - C(service_plan) - a list of entries C(target), C(kind), C(port), C(path), C(address), C(host) (empty when
      none), C(unit) (empty when the module is to find it) and C(skipped) (empty or the reason).
    - C(service_results) - a list of records C(target), C(host), C(unit), C(action), C(changed), C(candidates),
      C(listener), C(skipped).
    - C(service_line) and C(firewall_undo) - a string.
    - C(firewall_plan) - a list of steps C(label), C(proxy), C(target), C(port), C(where) (C(target:port)),
      C(protocol), C(owner), C(direction), C(sources), C(skipped) (empty or the reason) and C(skipped_msg).
    - C(firewall_result) - the record C(target), C(host), C(skipped), C(changed), and for a step that ran
      C(direction), C(msg), C(added), C(blocking), C(persisted), C(backups), C(persist_notes).
  type: raw
'''

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _remediation_steps as steps


class _OrNull(shape.Shape):
    """inner, or null."""

    def __init__(self, inner):
        self.inner, self.name = inner, inner.name

    def check(self, value, where):
        if value is not None:
            self.inner.check(value, where)


_S = shape.SCALAR
SERVICE_FINDING = shape.Dict({'id': _S, 'target': shape.Dict({'text': _S, 'kind': _S, 'host': _S, 'port': _S, 'path': _S}),
                              'evidence': shape.Dict({'upstream_host': _S})})
FIREWALL_FINDING = shape.Dict({'id': _S, 'summary': _S, 'target': shape.Dict({'text': _S, 'host': _S, 'port': _S}),
                               'fix': shape.Dict({'vars': shape.Dict({'host': _S, 'port': _S, 'protocol': _S})}),
                               'evidence': shape.Dict({'firewall': shape.List(_OrNull(shape.Dict({'direction': _S})))})})
IDS = shape.List(shape.Dict({'id': _S}))
UNITS = shape.Map(_OrNull(_S))
ADDRESSES = shape.List(_S)
PLAN = shape.List(shape.Dict())
REGISTERED_LOOP = shape.Dict({'results': shape.List(shape.Dict())})
RECORD = shape.Dict({'listener': shape.Dict()})
STEP = shape.Dict(required=('where',))
STEPS = ('service_plan', 'service_results', 'service_line', 'firewall_plan', 'firewall_result', 'firewall_undo')


def _findings(findings, finding_id, detail):
    findings = findings if findings is not None else []
    shape.check(findings, IDS, 'findings (the input)')
    for i, finding in enumerate(findings):
        if finding.get('id') == finding_id:
            shape.check(finding, detail, 'findings (the input)[%d]' % i)
    return findings


def _context(hostvars, host):
    if not isinstance(hostvars, Mapping):
        raise shape.InputError('hostvars must be the inventory (hostvars), not %s' % shape._kind(hostvars))
    if not isinstance(host, str) or not host:
        raise shape.InputError('host must be the name of the host (inventory_hostname), not %r' % (host,))


def _dict_arg(value, where, required=True):
    if value is None and not required:
        return None
    return shape.check(value, shape.Dict(), where)


def _run(value, step, hostvars, host, option, result, failed, check_mode):
    if step == 'service_plan':
        findings = _findings(value, 'upstream_down', SERVICE_FINDING)
        _context(hostvars, host)
        units = shape.check(option if option is not None else {}, UNITS, 'option (backend_service_units)')
        return steps.service_start_plan(findings, units, hostvars, host)
    if step == 'service_results':
        plan = shape.check(value if value is not None else [], PLAN, 'the plan (the input)')
        run = shape.check(result if result is not None else {}, REGISTERED_LOOP, 'result')
        return steps.service_start_results(plan, run.get('results') or [])
    if step == 'service_line':
        return steps.service_start_line(shape.check(value, RECORD, 'the record (the input)'), bool(check_mode))
    if step == 'firewall_plan':
        findings = _findings(value, 'firewall_block', FIREWALL_FINDING)
        _context(hostvars, host)
        addresses = shape.check(option if option is not None else [], ADDRESSES, 'option (firewall_proxy_addresses)')
        return steps.firewall_plan(findings, addresses, hostvars, host)
    item = shape.check(value, STEP, 'the step (the input)')
    if step == 'firewall_result':
        return steps.firewall_result(item, _dict_arg(result, 'result', required=False))
    return steps.firewall_undo_msg(item, _dict_arg(result, 'result'), _dict_arg(failed, 'failed', required=False))


def remediation_steps(value, step, hostvars=None, host=None, option=None, result=None, failed=None, check_mode=False):
    if step not in STEPS:
        raise AnsibleFilterError('remediation_steps: step must be one of %s, not %r' % (', '.join(STEPS), step))
    try:
        return _run(value, step, hostvars, host, option, result, failed, check_mode)
    except shape.InputError as e:
        raise AnsibleFilterError('remediation_steps(%s): %s' % (step, e))


class FilterModule(object):

    def filters(self):
        return {'remediation_steps': remediation_steps}
