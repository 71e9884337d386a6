# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: remediation_triage
short_description: Sort diagnosis findings by the remediation role that fixes them
version_added: 0.1.0
description:
  - Sorts findings of M(badgateway.nginx.nginx_diagnose) into the roles of this collection that fix
    them, in the safe order (backend_service, firewall, php_fpm_pool, upstream_target, proxy_timeouts,
    proxy_buffers), and lists the findings no role changes (backend_crash, no_live_upstreams, dns_failure,
    resource_limits, not_nginx, config_invalid, config_not_loaded, mac_denied, worker_files_limit,
    dns_static) with the reason; an audit's risk fixed by a role the remediate role does not run (proxy_headers) is listed with that
    role.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description: Findings.
    type: list
    elements: dict
    required: true
  include:
    description: Only these finding ids (all when empty).
    type: list
    elements: str
  exclude:
    description: Never these finding ids.
    type: list
    elements: str
'''

EXAMPLES = r'''
- name: Which role fixes what
  ansible.builtin.debug:
    msg: "{{ nginx_diagnose_findings | badgateway.nginx.remediation_triage(exclude=['firewall_block']) }}"
'''

RETURN = r'''
_value:
  description: The triage.
  type: dict
  contains:
    roles:
      description: Role name (without the collection) to its findings.
      type: dict
    reported:
      description: Findings that are reported, not changed (id, summary, reason).
      type: list
      elements: dict
    excluded:
      description: Findings left out by include or exclude.
      type: list
      elements: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils._remediation import triage


def remediation_triage(findings, include=None, exclude=None):
    try:
        shape.check(findings if findings is not None else [], shape.FINDINGS, 'findings (the input)')
        shape.check(include if include is not None else [], shape.IDS, 'include')
        shape.check(exclude if exclude is not None else [], shape.IDS, 'exclude')
    except shape.InputError as e:
        raise AnsibleFilterError('remediation_triage: %s' % e)
    return triage(findings or [], include or None, exclude or None)


class FilterModule(object):

    def filters(self):
        return {'remediation_triage': remediation_triage}
