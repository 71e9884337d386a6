# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: remediation_plan
short_description: The smallest changes that fix diagnosis findings, for badgateway.nginx.nginx_change
version_added: 0.1.0
description:
  - Turns findings of M(badgateway.nginx.nginx_diagnose) into the list of changes that
    M(badgateway.nginx.nginx_change) applies as one transaction, and the requests that must answer
    without a 5xx afterwards.
  - Runs on the controller; nothing is read from or written to a host.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description: Findings (the C(nginx_diagnose_findings) fact or a part of it).
    type: list
    elements: dict
    required: true
  kind:
    description: Which remediation to plan.
    type: str
    required: true
    choices: [proxy_timeouts, proxy_buffers, upstream_target, php_fpm_pool, proxy_headers]
  facts:
    description: C(ansible_facts.nginx) of the host.
    type: dict
    required: true
  checks:
    description: The checks of the diagnosis (C(ansible_facts.nginx_diagnosis.checks)); needed for PHP-FPM.
    type: dict
  options:
    description:
      - Options of the planner, by kind.
      - C(proxy_timeouts) takes C(value), C(maximum) and C(also) (other kinds to set at the same place, such as
        C(connect=10s) and C(send=60s)), and C(keepalive) (the upstream C(keepalive_timeout) for a C(keepalive_race),
        which must be below the backend's measured idle close); C(proxy_buffers) C(measured) (target text to
        header bytes) or C(probe_targets) with C(probe_results) (the plan's C(probe_targets) and the
        C(checks.http) of M(badgateway.nginx.nginx_probe) run with the plan's C(probes)), C(size) and C(maximum);
        C(php_fpm_pool) C(listen_mode), C(floor), C(cap), C(reserve)
        and C(max_children); C(proxy_headers) C(locations) and C(websocket) (selectors with C(server_name),
        C(listen), C(location), or C(file) and C(line); the findings are not used), C(headers), C(http_version)
        and C(map_file).
    type: dict
notes:
  - When M(badgateway.nginx.nginx_change) changed files after the facts were gathered, it keeps how their lines
    moved in C(facts.moved); the plan's lines follow those moves, so that a plan made from the same facts edits the
    blocks the facts name.
'''

EXAMPLES = r'''
- name: Plan the read timeouts of the routes that timed out
  ansible.builtin.set_fact:
    plan: >-
      {{ nginx_diagnose_findings | badgateway.nginx.remediation_plan('proxy_timeouts', ansible_facts.nginx,
         options={'maximum': '300s'}) }}
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    changes:
      description: Arguments of M(badgateway.nginx.nginx_change) C(changes).
      type: list
      elements: dict
    verify:
      description: Requests (C(url), C(host)) that must answer without a 5xx after the change.
      type: list
      elements: dict
    skipped:
      description: Findings that were not planned, with the reason.
      type: list
      elements: dict
    notes:
      description: How values were chosen.
      type: list
      elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import shift_line
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import CompactError, expand
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils._remediation import (
    PlanError, plan_buffers, plan_fpm, plan_headers, plan_targets, plan_timeouts)


KINDS = ('proxy_timeouts', 'proxy_buffers', 'upstream_target', 'php_fpm_pool', 'proxy_headers')


def _check_input(findings, kind, facts, checks, options):
    if kind not in KINDS:
        raise AnsibleFilterError('remediation_plan: kind must be one of %s, not %r' % (', '.join(KINDS), kind))
    try:
        shape.check(findings if findings is not None else [], shape.FINDINGS, 'findings (the input)')
        shape.check(facts if facts is not None else {}, shape.FACTS, 'facts')
        shape.check(checks if checks is not None else {}, shape.CHECKS, 'checks')
        shape.check(options if options is not None else {}, shape.OPTIONS, 'options')
    except shape.InputError as e:
        raise AnsibleFilterError('remediation_plan(%s): %s' % (kind, e))


def remediation_plan(findings, kind, facts, checks=None, options=None):
    try:
        facts = expand(facts)
    except CompactError as e:
        raise AnsibleFilterError('remediation_plan(%s): %s' % (kind, e))
    _check_input(findings, kind, facts, checks, options)
    options = dict(options or {})
    plan = _plan(findings, kind, facts, checks, options)
    # lines that transactions since these facts were gathered moved (nginx_change keeps them in facts.moved)
    moved = (facts or {}).get('moved') or {}
    for change in plan['changes']:
        if change.get('line') is not None and moved.get(change.get('path')):
            change['line'] = shift_line(int(change['line']), moved[change['path']])
    return plan


def _plan(findings, kind, facts, checks, options):
    try:
        if kind == 'proxy_timeouts':
            return plan_timeouts(findings or [], facts, value=options.get('value') or None,
                                 maximum=options.get('maximum') or '300s', also=options.get('also') or None,
                                 keepalive=options.get('keepalive') or None)
        if kind == 'proxy_buffers':
            measured = options.get('measured') or {}
            if options.get('probe_targets') and options.get('probe_results'):
                measured = dict((t, r.get('header_bytes')) for t, r in zip(options['probe_targets'], options['probe_results'])
                                if r.get('header_bytes'))
            return plan_buffers(findings or [], facts, measured=measured, size=options.get('size') or None,
                                maximum=options.get('maximum') or '256k')
        if kind == 'upstream_target':
            return plan_targets(findings or [], facts)
        if kind == 'php_fpm_pool':
            return plan_fpm(findings or [], facts, checks, listen_mode=options.get('listen_mode') or '0660',
                            floor=int(options.get('floor') or 2), cap=int(options.get('cap') or 64),
                            reserve=float(options.get('reserve', 0.2)), max_children=options.get('max_children') or None)
        if kind == 'proxy_headers':
            return plan_headers(facts, locations=options.get('locations') or None, websocket=options.get('websocket') or None,
                                headers=options.get('headers') or None, http_version=options.get('http_version', '1.1'),
                                map_file=options.get('map_file') or None)
    except (PlanError, ValueError) as e:
        raise AnsibleFilterError('remediation_plan(%s): %s' % (kind, e))
    except (TypeError, KeyError, AttributeError) as e:  # a shape the checks above do not describe
        raise AnsibleFilterError('remediation_plan(%s): malformed findings, facts, checks or options (%s: %s)'
                                 % (kind, type(e).__name__, e))
    raise AnsibleFilterError('remediation_plan: unknown kind %r' % (kind,))


class FilterModule(object):

    def filters(self):
        return {'remediation_plan': remediation_plan}
