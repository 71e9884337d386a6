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
  - Runs M(badgateway.nginx.nginx_facts) and M(badgateway.nginx.nginx_probe) on the host (two
    module executions in total) and correlates, on the controller, the configuration with the
    error-log lines nginx wrote, the connect probes, the listeners, the unix socket permissions,
    the firewall rules, PHP-FPM's pools and log and the host's resources.
  - Returns findings, each with a catalog C(id) (upstream_down, target_mismatch, socket_permission,
    firewall_block, upstream_timeout, pool_exhausted, backend_crash, header_too_big,
    protocol_mismatch, no_live_upstreams, dns_failure, resource_limits, not_nginx; and
    config_invalid when C(nginx -t) fails for another reason or a file has a syntax error, named at
    nginx's file:line while the rest is diagnosed; config_not_loaded when files changed after the
    running nginx last loaded its configuration), C(severity), the C(server),
    C(location) and C(upstream) with file and line, the C(target), the C(evidence), a one-sentence
    C(summary) and the C(fix) (remediation role and variables).
  - A PHP-FPM pool that reached C(pm.max_children) in the log window is C(pool_exhausted) on the routes that
    pass to its C(listen) address or socket, from PHP-FPM's log alone if nginx logged nothing; read timeouts
    on that pool while it was full are C(pool_exhausted), not C(upstream_timeout) (see docs/causes.md).
  - Kernel OOM kills count only within the log window (O(log_since), the last commit in O(journal_dir)).
  - A healthy host has no finding. A host without nginx (an upstream host) gets the upstream-side
    checks only (listeners, firewall), which the diagnosis of its proxies can use through O(peers).
  - This is an action plugin; the file carries its documentation.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  nginx_bin:
    description: Path of the nginx binary (see M(badgateway.nginx.nginx_facts)).
    type: path
  config:
    description: Main configuration file (C(-c)).
    type: path
  prefix:
    description: Prefix path (C(-p)).
    type: path
  log_lines:
    description: At most this many lines are read from the end of each log.
    type: int
    default: 5000
  log_since:
    description: Only log lines of the last this many seconds count (0 means no time limit).
    type: int
    default: 0
  redact_query:
    description: Replace query strings in sample log lines.
    type: bool
    default: true
  redact_client:
    description: Replace client addresses in sample log lines.
    type: bool
    default: false
  php_fpm:
    description: Look at PHP-FPM pools, processes and log.
    type: bool
    default: true
  firewall:
    description: Look at the firewall rules.
    type: bool
    default: true
  resources:
    description: Look at memory, OOM kills, load, disk and open files.
    type: bool
    default: true
  urls:
    description: HTTP(S) requests to make from the host, to tell an nginx 502 from one of a CDN or proxy in front.
    type: list
    elements: dict
    default: []
    suboptions:
      url:
        description: The URL.
        type: str
        required: true
      host:
        description: Host header.
        type: str
  timeout:
    description: Seconds a connect probe or an HTTP check may take.
    type: float
    default: 3
  journal_dir:
    description:
      - The journal directory of M(badgateway.nginx.nginx_change) on the host. Log lines written before the
        last change committed there are not read (they predate the configuration that is there now).
    type: path
    default: /var/lib/badgateway-nginx
  peers:
    description:
      - Checks of other diagnosed hosts, by inventory name (their C(nginx_diagnosis.checks)), so that a
        target on one of them is judged with its listeners and input firewall rules.
      - The role M(badgateway.nginx.nginx_diagnose) fills this in itself.
    type: dict
    default: {}
notes:
  - Needs root on the host for logs, sockets of other users and firewall rules; use C(become=true).
seealso:
  - module: badgateway.nginx.nginx_facts
  - module: badgateway.nginx.nginx_probe
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: linux
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''

EXAMPLES = r'''
- name: Diagnose
  badgateway.nginx.nginx_diagnose:
    urls:
      - url: https://shop.example.com/
  become: true
  register: diagnosis

- name: Show the findings
  ansible.builtin.debug:
    msg: "{{ item.id }}: {{ item.summary }} ({{ item.location.file | default('-') }}:{{ item.location.line | default('-') }})"
  loop: "{{ diagnosis.findings }}"
'''

RETURN = r'''
findings:
  description: What is wrong, one entry per cause and target.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Catalog id.
      type: str
      sample: target_mismatch
    severity:
      description: critical, warning or info.
      type: str
    confirmed:
      description:
        - C(firewall_block) only. True when C(evidence.firewall) names the rule that blocks (critical);
          false when no rule that blocks the target was found on the hosts in the inventory (a warning whose
          summary starts with C(no rule found that blocks)).
      type: bool
      returned: for firewall_block
    host:
      description: Inventory name of the host.
      type: str
    server:
      description: The server block (name, file, line) of the first route to the target.
      type: dict
    location:
      description: The location (match, modifier, file, line) of the first route to the target.
      type: dict
    upstream:
      description: The upstream block and member, when the target is one.
      type: dict
    routes:
      description: Every server/location that passes to the target.
      type: list
      elements: dict
    target:
      description: The target (kind, host, port or path, text).
      type: dict
    evidence:
      description: Log groups (kind, count, first_seen, last_seen, samples) and check results.
      type: dict
    summary:
      description: One sentence.
      type: str
    fix:
      description: C(role) (the remediation role, or null when nothing on the host can fix it) and C(vars).
      type: dict
ansible_facts:
  description:
    - C(nginx) (as M(badgateway.nginx.nginx_facts)) and C(nginx_diagnosis) (host, findings, checks, summary,
      and C(module_executions), the number of module executions the action made on the host).
  returned: success
  type: dict
'''
