#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_report
short_description: Correlate the diagnosis across hosts and write report.json and report.html
version_added: 0.1.0
description:
  - Runs on the controller only (no connection to any host). Takes the C(nginx_diagnosis) facts that
    M(badgateway.nginx.nginx_diagnose) set on each host, judges every target that lives on another
    diagnosed host with that host's listeners and input firewall rules, and returns the findings of
    every host.
  - 'With O(report_dir), writes C(report.json) (schema C(badgateway.nginx/report/v1), top level
    C({"hosts": {"<inventory_hostname>": {"findings": [...], ...}}})) and a self-contained
    C(report.html) (no network needed to read it), both mode 0600.'
  - Writes the report in check mode too, since it is output on the controller, not a change to a host.
  - This is an action plugin; the file carries its documentation.
options:
  hosts:
    description: Inventory names to report on. Defaults to the hosts of the play.
    type: list
    elements: str
  report_dir:
    description: Directory on the controller for report.json and report.html (created with mode 0700).
    type: path
  title:
    description: Title of the report; C(nginx 502/504 diagnosis) when unset, C(nginx 502/504 audit) with O(audit).
    type: str
  audit:
    description:
      - Report the latent risks of the audit (the role M(badgateway.nginx.nginx_audit)) instead of the diagnosis'
        findings. The same evidence, judged by the audit's checks of the cause registry (docs/causes.md, section
        "Latent risks") and the configuration stage (C(nginx -t), files the running nginx did not load); the
        report's findings have the same fields as the diagnosis'.
      - Its Prometheus textfile is C(<prometheus_dir>/badgateway_nginx_audit.prom), the same series named
        C(badgateway_nginx_audit_*).
      - Not with O(remediation).
    type: bool
    default: false
    version_added: 0.2.0
  remediation:
    description:
      - Add each host's remediation (the C(remediate_record) fact set by the role
        M(badgateway.nginx.remediate)) under C(remediation) in the report, with the findings before, which were
        fixed and which remain, what was changed (with the diffs) and any rollback with its reason.
    type: bool
    default: false
  prometheus_dir:
    description:
      - Also write the findings in the Prometheus text exposition format to C(<prometheus_dir>/badgateway_nginx.prom)
        (mode 0644), for node_exporter's textfile collector (C(--collector.textfile.directory)); the directory must
        exist.
      - Written atomically (a temporary file in the same directory, not named C(*.prom), then a rename), so a scrape
        sees the old file or the new one, never part of one; every run replaces the file.
      - 'Gauges C(badgateway_nginx_findings{host,cause,severity}) (only the causes found),
        C(badgateway_nginx_host_findings{host}) and C(badgateway_nginx_host_diagnosed{host}) (every host),
        fleet totals, and C(badgateway_nginx_last_run_timestamp_seconds{report}) (C(diagnosis), or C(remediation)
        with O(remediation)); see docs/report.md of the collection and its example alert rules in
        docs/prometheus/badgateway-nginx.rules.yml.'
    type: path
    version_added: 0.2.0
  fail_on:
    description:
      - Severities that make a host fail; the hosts with such findings are returned in RV(failing). The task itself
        never fails for them (it runs once for the whole play); the roles M(badgateway.nginx.nginx_diagnose) and
        M(badgateway.nginx.nginx_audit) fail those hosts.
    type: list
    elements: str
    choices: [critical, warning, info]
    default: []
    version_added: 0.2.0
  return_report:
    description:
      - Return the whole report in RV(report). With V(false), RV(report) holds its head only (C(generated),
        C(schema), C(title), C(totals)), and the findings are in C(report.json) (O(report_dir)), the summary and
        RV(failing). Every host's findings are most of what Ansible copies and hands to the callbacks when it takes
        the result in (about 15 KB a host on the benchmark fleet), so a fleet run that does not read them from the
        result saves that.
    type: bool
    default: true
    version_added: 0.2.0
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - badgateway.nginx.attributes.report_action
  - badgateway.nginx.attributes.platform_all
seealso:
  - module: badgateway.nginx.nginx_diagnose
'''

EXAMPLES = r'''
- name: Write the fleet report
  badgateway.nginx.nginx_report:
    report_dir: /tmp/bgw-report
  run_once: true
  delegate_to: localhost
  register: report

- name: Write the fleet report and node_exporter's textfile
  badgateway.nginx.nginx_report:
    report_dir: /tmp/bgw-report
    prometheus_dir: /var/lib/prometheus/node-exporter
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
report:
  description: The report (same content as report.json); with O(return_report=false) its head only, without C(hosts).
  returned: success
  type: dict
files:
  description: Paths written (with O(prometheus_dir), the textfile too).
  returned: success
  type: list
  elements: str
summary:
  description:
    - "Console summary, one line per host and per finding, then C(report: FILE, ...) when files were written (the
      same paths as RV(files))."
  returned: success
  type: list
  elements: str
failing:
  description: The hosts with findings of the severities in O(fail_on), sorted; empty without O(fail_on).
  returned: success
  type: list
  elements: str
  version_added: 0.2.0
lines:
  description: The lines of the summary by host.
  returned: success
  type: dict
'''
