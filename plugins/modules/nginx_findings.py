#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_findings
short_description: Keep one host's findings from the fleet report as its fact, and fail it for chosen severities
version_added: 0.2.0
description:
  - Runs on the controller only (no connection to the host). Takes this host's findings from the report of
    M(badgateway.nginx.nginx_report) and sets them as the fact C(nginx_diagnose_findings) (or C(nginx_audit_findings)
    with O(kind=audit)), which the remediation roles read in later plays.
  - Fails the host, naming the severities and the causes, when one of its findings has a severity in O(fail_on). A
    failed host keeps no fact (it leaves the play).
  - One task on each host does both, so that the diagnosis of a fleet has no second task per host that only checks
    a condition. The roles M(badgateway.nginx.nginx_diagnose) and M(badgateway.nginx.nginx_audit) run it.
  - This is an action plugin; the file carries its documentation.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  findings:
    description:
      - This host's findings, C(report.hosts[inventory_hostname].findings) of the registered result of
        M(badgateway.nginx.nginx_report).
    type: list
    elements: dict
    required: true
  kind:
    description:
      - The report the findings come from; it names the fact (C(nginx_diagnose_findings) for V(diagnosis),
        C(nginx_audit_findings) for V(audit)) and the words of a failure.
    type: str
    choices: [diagnosis, audit]
    default: diagnosis
  fail_on:
    description: Severities that fail the host; empty never fails.
    type: list
    elements: str
    choices: [critical, warning, info]
    default: []
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
  - badgateway.nginx.attributes.action_plugin
  - badgateway.nginx.attributes.controller_only
attributes:
  facts:
    support: full
seealso:
  - module: badgateway.nginx.nginx_report
'''

EXAMPLES = r'''
- name: Correlate the hosts of the play
  badgateway.nginx.nginx_report:
    report_dir: /var/tmp/nginx-report
  run_once: true
  delegate_to: localhost
  register: report

- name: Keep each host's findings, and fail the hosts with critical ones
  badgateway.nginx.nginx_findings:
    findings: "{{ report.report.hosts[inventory_hostname].findings }}"
    fail_on: [critical]
'''

RETURN = r'''
ansible_facts:
  description: The host's findings under the fact named by O(kind).
  returned: success
  type: dict
  contains:
    nginx_diagnose_findings:
      description: The findings, with O(kind=diagnosis).
      returned: success and O(kind=diagnosis)
      type: list
      elements: dict
    nginx_audit_findings:
      description: The latent risks, with O(kind=audit).
      returned: success and O(kind=audit)
      type: list
      elements: dict
'''
