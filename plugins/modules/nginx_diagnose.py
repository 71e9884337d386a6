#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_diagnose
short_description: Find why nginx answers 502 or 504 on a host, from real evidence
version_added: 0.1.0
description:
  - Collects the evidence of a 502 or 504 on a host in one module execution. M(badgateway.nginx.nginx_probe)
    runs with O(badgateway.nginx.nginx_probe#module:discover=true), reads the configuration as nginx reads it,
    finds every target, error log and the worker user in it with the collection's own parser, and checks
    them in the same run (connect probes, listeners, unix socket permissions, firewall rules, the error-log
    lines nginx wrote, PHP-FPM's pools and log, the host's resources).
  - On the controller, builds C(ansible_facts.nginx) (as M(badgateway.nginx.nginx_facts)) from the configuration
    the node returned, and sets C(ansible_facts.nginx_diagnosis) (the evidence). It makes no finding;
    M(badgateway.nginx.nginx_report) correlates the evidence of every host of the play at once and is the only
    source of findings (its result, the C(nginx_diagnose_findings) fact the role sets, C(report.json)). The
    role M(badgateway.nginx.nginx_diagnose) runs both.
  - The causes, their evidence and how each is decided are in the collection's catalog, docs/causes.md.
  - Kernel OOM kills count only within the log window (O(log_since), the last commit in O(journal_dir)).
  - A host without nginx (an upstream host) gets the upstream-side checks only (listeners, firewall), which
    the correlation of its proxies uses.
  - This is an action plugin; the file carries its documentation.
notes:
  - Needs root on the host for logs, sockets of other users and firewall rules; use C(become=true).
seealso:
  - module: badgateway.nginx.nginx_facts
  - module: badgateway.nginx.nginx_probe
extends_documentation_fragment:
  - badgateway.nginx.nginx_cli
  - badgateway.nginx.checks
  - badgateway.nginx.facts_form
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
  - badgateway.nginx.attributes.facts_action
  - badgateway.nginx.attributes.platform_linux
'''

EXAMPLES = r'''
- name: Collect the evidence on every host
  badgateway.nginx.nginx_diagnose:
    urls:
      - url: https://shop.example.com/
  become: true

- name: Correlate the hosts of the play and write the report
  badgateway.nginx.nginx_report:
    report_dir: /var/tmp/nginx-report
  run_once: true
  delegate_to: localhost
  register: report

- name: Show the id and summary of each finding of this host
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.summary }}"
  loop: "{{ report.report.hosts[inventory_hostname].findings }}"
  loop_control:
    label: "{{ item.id }}"
'''

RETURN = r'''
ansible_facts:
  description:
    - C(nginx) (as M(badgateway.nginx.nginx_facts); absent on a host without nginx) and C(nginx_diagnosis), with
      C(host), C(nginx) (whether nginx runs there), C(note), C(checks) (what M(badgateway.nginx.nginx_probe)
      saw) and C(module_executions) (the module executions the action made on the host, 1).
    - The findings are made from these by M(badgateway.nginx.nginx_report); see there for their fields.
  returned: success
  type: dict
'''
