# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter remediation_steps (the planning of the roles backend_service and firewall) on recorded inputs.

Each case of RECORDED is what a role sees - the findings, this host's facts, the option, the module results -
and what the role made of it: the plan, the records of backend_service_results / firewall_results, the lines it
shows and the message it fails with. The expected values were recorded by running the roles' former Jinja
expressions (ansible-core 2.19, inventory proxy, backend, web1; the play runs on proxy) on these inputs, so the
filter must decide exactly as the roles did: IPv6 targets and addresses, a missing or unknown owner, no port,
the output direction, check mode ("would be started"), null fields.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.filter.remediation_steps import remediation_steps

HERE = 'proxy'
# localhost: Ansible's hostvars answers it in every inventory (the implicit localhost)
INVENTORY = ('proxy', 'backend', 'web1', 'localhost')

RECORDED = yaml.safe_load(r'''
- name: service_owner_in_inventory_and_loopback_and_outside
  facts: {all_ipv4_addresses: [10.88.0.5, 127.0.0.1], all_ipv6_addresses: ['fe80::1', '2001:db8::5']}
  units: {}
  findings:
    - {evidence: {upstream_host: backend}, id: upstream_down, target: {host: 10.88.0.250, kind: tcp, port: 8090, text: '10.88.0.250:8090'}}
    - {evidence: {}, id: upstream_down, target: {host: 127.0.0.1, kind: tcp, port: 8091, text: '127.0.0.1:8091'}}
    - {evidence: {}, id: upstream_down, target: {host: 10.99.0.9, kind: tcp, port: 7000, text: '10.99.0.9:7000'}}
    - {evidence: {}, id: upstream_down, target: {host: 127.0.0.1, kind: tcp, port: 9999, text: '127.0.0.1:9999'}}
    - {evidence: {}, id: target_mismatch, target: {host: 127.0.0.1, kind: tcp, port: 9002, text: '127.0.0.1:9002'}}
  runs:
    - {action: started, candidates: [{unit: labapp@app-8090.service}], changed: true, listener: null, unit: labapp@app-8090.service}
    - {action: started, candidates: [], changed: true, listener: null, unit: labapp@app-8091.service}
    - {candidates: [], changed: false, failed: true, msg: 'no stopped systemd service names 127.0.0.1:9999: set name', unresolved: true}
  check_mode: true
  plan:
    - {address: 10.88.0.250, host: backend, kind: tcp, path: null, port: 8090, skipped: '', target: '10.88.0.250:8090', unit: ''}
    - {address: 127.0.0.1, host: proxy, kind: tcp, path: null, port: 8091, skipped: '', target: '127.0.0.1:8091', unit: ''}
    - address: 10.99.0.9
      host: ''
      kind: tcp
      path: null
      port: 7000
      skipped: '10.99.0.9:7000 is on a host that is not in the inventory: it cannot be started from here'
      target: 10.99.0.9:7000
      unit: ''
    - {address: 127.0.0.1, host: proxy, kind: tcp, path: null, port: 9999, skipped: '', target: '127.0.0.1:9999', unit: ''}
  results:
    - action: skipped
      candidates: []
      changed: false
      host: null
      listener: null
      skipped: '10.99.0.9:7000 is on a host that is not in the inventory: it cannot be started from here'
      target: 10.99.0.9:7000
      unit: null
    - action: started
      candidates: [{unit: labapp@app-8090.service}]
      changed: true
      host: backend
      listener: null
      skipped: ''
      target: 10.88.0.250:8090
      unit: labapp@app-8090.service
    - {action: started, candidates: [], changed: true, host: proxy, listener: null, skipped: '', target: '127.0.0.1:8091', unit: labapp@app-8091.service}
    - action: unresolved
      candidates: []
      changed: false
      host: proxy
      listener: null
      skipped: 'no stopped systemd service names 127.0.0.1:9999: set name'
      target: 127.0.0.1:9999
      unit: null
  lines:
    - '10.99.0.9:7000: skipped - 10.99.0.9:7000 is on a host that is not in the inventory: it cannot be started from here'
    - '10.88.0.250:8090: would be started labapp@app-8090.service on backend'
    - '127.0.0.1:8091: would be started labapp@app-8091.service on proxy'
    - '127.0.0.1:9999: unresolved - no stopped systemd service names 127.0.0.1:9999: set name'
- name: service_second_run_already_listening
  facts: {all_ipv4_addresses: [10.88.0.5]}
  units: {/x.sock: nope, '8092': app92.service, 'unix:/run/php/php8.2-fpm.sock': php8.2-fpm.service}
  findings:
    - {evidence: {upstream_host: nosuch}, id: upstream_down, target: {host: 10.88.0.5, kind: tcp, port: 8090, text: '10.88.0.5:8090'}}
    - {evidence: null, id: upstream_down, target: {kind: unix, path: /run/php/php8.2-fpm.sock, text: 'unix:/run/php/php8.2-fpm.sock'}}
    - {id: upstream_down, target: {host: 127.3.0.1, kind: tcp, port: 8092, text: '127.3.0.1:8092'}}
  runs:
    - {action: none, changed: false, listener: {pid: 40, process: python3, unit: app.service}, unit: app.service}
    - {action: none, changed: false, listener: {pid: 41}, unit: php8.2-fpm.service}
    - {action: none, changed: false, listener: null, unit: null}
  check_mode: false
  plan:
    - {address: 10.88.0.5, host: proxy, kind: tcp, path: null, port: 8090, skipped: '', target: '10.88.0.5:8090', unit: ''}
    - address: null
      host: proxy
      kind: unix
      path: /run/php/php8.2-fpm.sock
      port: null
      skipped: ''
      target: unix:/run/php/php8.2-fpm.sock
      unit: php8.2-fpm.service
    - {address: 127.3.0.1, host: proxy, kind: tcp, path: null, port: 8092, skipped: '', target: '127.3.0.1:8092', unit: app92.service}
  results:
    - action: none
      candidates: []
      changed: false
      host: proxy
      listener: {pid: 40, process: python3, unit: app.service}
      skipped: ''
      target: 10.88.0.5:8090
      unit: app.service
    - action: none
      candidates: []
      changed: false
      host: proxy
      listener: {pid: 41}
      skipped: ''
      target: unix:/run/php/php8.2-fpm.sock
      unit: php8.2-fpm.service
    - {action: none, candidates: [], changed: false, host: proxy, listener: null, skipped: '', target: '127.3.0.1:8092', unit: null}
  lines:
    - '10.88.0.5:8090: already listens (python3, app.service) on proxy'
    - 'unix:/run/php/php8.2-fpm.sock: already listens (?, php8.2-fpm.service) on proxy'
    - '127.3.0.1:8092: already listens (?, no unit) on proxy'
- name: service_ipv6_own_address_and_names
  facts: {all_ipv4_addresses: [], all_ipv6_addresses: ['2001:db8::5']}
  units: {'8091': b.service, '8093': c.service, '[::1]:8091': a.service}
  findings:
    - {id: upstream_down, target: {host: '2001:db8::5', kind: tcp, port: 8090, text: '[2001:db8::5]:8090'}}
    - {evidence: {upstream_host: ''}, id: upstream_down, target: {host: '::1', kind: tcp, port: 8091, text: '[::1]:8091'}}
    - {id: upstream_down, target: {host: '2001:db8::9', kind: tcp, port: 8093, text: '[2001:db8::9]:8093'}}
    - {id: upstream_down, target: {host: proxy, kind: tcp, port: 8094, text: 'proxy:8094'}}
    - {id: upstream_down, target: {host: localhost, kind: tcp, port: 8095}}
  runs:
    - {action: restarted, changed: true, unit: x.service}
    - {changed: true, failed: true, msg: x.service started but does not listen}
    - {action: started, changed: true, unit: y.service}
    - {action: none, changed: false}
  check_mode: false
  plan:
    - {address: '2001:db8::5', host: proxy, kind: tcp, path: null, port: 8090, skipped: '', target: '[2001:db8::5]:8090', unit: ''}
    - {address: '::1', host: proxy, kind: tcp, path: null, port: 8091, skipped: '', target: '[::1]:8091', unit: a.service}
    - address: 2001:db8::9
      host: ''
      kind: tcp
      path: null
      port: 8093
      skipped: '[2001:db8::9]:8093 is on a host that is not in the inventory: it cannot be started from here'
      target: '[2001:db8::9]:8093'
      unit: c.service
    - {address: proxy, host: proxy, kind: tcp, path: null, port: 8094, skipped: '', target: 'proxy:8094', unit: ''}
    - {address: localhost, host: proxy, kind: tcp, path: null, port: 8095, skipped: '', target: '?', unit: ''}
  results:
    - action: skipped
      candidates: []
      changed: false
      host: null
      listener: null
      skipped: '[2001:db8::9]:8093 is on a host that is not in the inventory: it cannot be started from here'
      target: '[2001:db8::9]:8093'
      unit: null
    - {action: restarted, candidates: [], changed: true, host: proxy, listener: null, skipped: '', target: '[2001:db8::5]:8090', unit: x.service}
    - {action: failed, candidates: [], changed: true, host: proxy, listener: null, skipped: '', target: '[::1]:8091', unit: null}
    - {action: started, candidates: [], changed: true, host: proxy, listener: null, skipped: '', target: 'proxy:8094', unit: y.service}
    - {action: none, candidates: [], changed: false, host: proxy, listener: null, skipped: '', target: '?', unit: null}
  lines:
    - '[2001:db8::9]:8093: skipped - [2001:db8::9]:8093 is on a host that is not in the inventory: it cannot be started from here'
    - '[2001:db8::5]:8090: restarted x.service on proxy'
    - '[::1]:8091: failed None on proxy'
    - 'proxy:8094: started y.service on proxy'
    - '?: already listens (?, no unit) on proxy'
- name: service_odd_targets
  facts: {}
  units: {/run/a.sock: a.service, None: weird.service}
  findings:
    - {evidence: {upstream_host: backend}, id: upstream_down, target: {host: 10.0.0.1, kind: udp, port: 53, text: '10.0.0.1:53'}}
    - {id: upstream_down, target: {host: 10.0.0.1, port: 80}}
    - {id: upstream_down}
    - {evidence: {upstream_host: web1}, id: upstream_down, target: {host: 10.0.0.7, kind: tcp, port: null, text: null}}
    - {evidence: {upstream_host: gone}, id: upstream_down, target: {kind: unix, path: /run/a.sock}}
    - {evidence: {upstream_host: localhost}, id: upstream_down, target: {host: 10.0.0.8, kind: tcp, port: '8080', text: '10.0.0.8:8080'}}
  runs:
    - {action: started, changed: true, unit: z.service}
    - {action: started, changed: true, unit: a.service}
    - {action: none, changed: false, listener: {process: nginx}}
  check_mode: true
  plan:
    - {address: 10.0.0.1, host: backend, kind: udp, path: null, port: 53, skipped: not a TCP or unix socket target, target: '10.0.0.1:53', unit: ''}
    - {address: 10.0.0.1, host: '', kind: '', path: null, port: 80, skipped: not a TCP or unix socket target, target: '?', unit: ''}
    - {address: null, host: '', kind: '', path: null, port: null, skipped: not a TCP or unix socket target, target: '?', unit: ''}
    - {address: 10.0.0.7, host: web1, kind: tcp, path: null, port: null, skipped: '', target: null, unit: weird.service}
    - {address: null, host: proxy, kind: unix, path: /run/a.sock, port: null, skipped: '', target: '?', unit: a.service}
    - {address: 10.0.0.8, host: localhost, kind: tcp, path: null, port: '8080', skipped: '', target: '10.0.0.8:8080', unit: ''}
  results:
    - action: skipped
      candidates: []
      changed: false
      host: backend
      listener: null
      skipped: not a TCP or unix socket target
      target: 10.0.0.1:53
      unit: null
    - {action: skipped, candidates: [], changed: false, host: null, listener: null, skipped: not a TCP or unix socket target, target: '?', unit: null}
    - {action: skipped, candidates: [], changed: false, host: null, listener: null, skipped: not a TCP or unix socket target, target: '?', unit: null}
    - {action: started, candidates: [], changed: true, host: web1, listener: null, skipped: '', target: null, unit: z.service}
    - {action: started, candidates: [], changed: true, host: proxy, listener: null, skipped: '', target: '?', unit: a.service}
    - {action: none, candidates: [], changed: false, host: localhost, listener: {process: nginx}, skipped: '', target: '10.0.0.8:8080', unit: null}
  lines:
    - '10.0.0.1:53: skipped - not a TCP or unix socket target'
    - '?: skipped - not a TCP or unix socket target'
    - '?: skipped - not a TCP or unix socket target'
    - ': would be started z.service on web1'
    - '?: would be started a.service on proxy'
    - '10.0.0.8:8080: already listens (nginx, no unit) on localhost'
- {name: service_none, facts: {}, units: {}, findings: [], runs: [], check_mode: false, plan: [], results: [], lines: []}
- name: fw_input_ipv4
  facts: {all_ipv4_addresses: [10.88.0.5, 127.0.0.1, 127.0.1.1], all_ipv6_addresses: ['fe80::1', '::1', '2001:db8::5']}
  proxy_addresses: []
  finding:
    evidence: {firewall: [{direction: input, host: backend}]}
    fix: {vars: {host: backend, port: 7080, protocol: tcp}}
    id: firewall_block
    summary: lab firewall_block 10.88.0.9:7080
    target: {host: 10.88.0.9, kind: tcp, port: 7080, text: '10.88.0.9:7080'}
  failed: {msg: 'Timeout when waiting for 10.88.0.9:7080'}
  step:
    label: lab firewall_block 10.88.0.9:7080
    owner: backend
    target: 10.88.0.9
    port: 7080
    protocol: tcp
    direction: input
    sources: [10.88.0.5]
    skipped: ''
    skipped_msg: ''
  record:
    added: [{chain: INPUT}]
    backups: []
    blocking: [{chain: INPUT}]
    changed: true
    direction: input
    host: backend
    msg: added 1 rule(s)
    persist_notes: []
    persisted: []
    skipped: ''
    target: 10.88.0.9:7080
  undo: firewall change on backend did not restore connectivity to 10.88.0.9:7080; rolled back
- name: fw_ipv6_target
  facts: {all_ipv4_addresses: [10.88.0.5], all_ipv6_addresses: ['fe80::1', '::1', 'FE80::2', '2001:db8::5', 'fd00::5']}
  proxy_addresses: []
  finding:
    evidence: {firewall: [{direction: input}]}
    fix: {vars: {host: backend, port: '7080'}}
    id: firewall_block
    target: {host: '2001:db8::9', kind: tcp, port: 7080, text: '[2001:db8::9]:7080'}
  allow: {added: [], backups: [], blocking: [], changed: false, msg: nothing blocks, persist_notes: [], persisted: []}
  failed: {msg: Timeout}
  step:
    label: '[2001:db8::9]:7080'
    owner: backend
    target: 2001:db8::9
    port: 7080
    protocol: tcp
    direction: input
    sources: ['2001:db8::5', 'fd00::5']
    skipped: ''
    skipped_msg: ''
  record:
    added: []
    backups: []
    blocking: []
    changed: false
    direction: input
    host: backend
    msg: nothing blocks
    persist_notes: []
    persisted: []
    skipped: ''
    target: 2001:db8::9:7080
  undo: 'nothing blocks 2001:db8::9:7080 on backend any more (no change made), but proxy still cannot connect: Timeout'
- name: fw_missing_owner
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: []
  finding:
    evidence: {firewall: []}
    fix: {role: badgateway.nginx.firewall, vars: {port: 7099, protocol: tcp}}
    id: firewall_block
    summary: lab firewall_block 10.88.0.9:7099
    target: {host: 10.88.0.9, kind: tcp, port: 7099, text: '10.88.0.9:7099'}
  step:
    label: lab firewall_block 10.88.0.9:7099
    owner: ''
    target: 10.88.0.9
    port: 7099
    protocol: tcp
    direction: input
    sources: [10.88.0.5]
    skipped: no inventory host owns the blocking rule
    skipped_msg: 'skipped: lab firewall_block 10.88.0.9:7099: no inventory host owns the blocking rule'
  record: {changed: false, host: null, skipped: no inventory host owns the blocking rule, target: '10.88.0.9:7099'}
  undo: ''
- name: fw_owner_not_in_inventory_no_summary
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: []
  finding: {fix: {vars: {host: db9}}, id: firewall_block, target: {host: 10.88.0.9, port: 7080}}
  step:
    label: firewall_block
    owner: db9
    target: 10.88.0.9
    port: 7080
    protocol: tcp
    direction: input
    sources: [10.88.0.5]
    skipped: the rule is on db9, which is not in the inventory
    skipped_msg: 'skipped: 10.88.0.9:7080: the rule is on db9, which is not in the inventory'
  record: {changed: false, host: db9, skipped: 'the rule is on db9, which is not in the inventory', target: '10.88.0.9:7080'}
  undo: ''
- name: fw_no_port
  facts: {}
  proxy_addresses: []
  finding: {evidence: null, fix: {vars: {host: backend, port: null}}, id: firewall_block, target: {host: 10.88.0.9, text: 10.88.0.9}}
  step:
    label: 10.88.0.9
    owner: backend
    target: 10.88.0.9
    port: 0
    protocol: tcp
    direction: input
    sources: []
    skipped: the finding names no target port
    skipped_msg: 'skipped: 10.88.0.9:0: the finding names no target port'
  record: {changed: false, host: backend, skipped: the finding names no target port, target: '10.88.0.9:0'}
  undo: ''
- name: fw_output_on_proxy
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: [192.0.2.10]
  finding:
    evidence: {firewall: [{direction: output}]}
    fix: {vars: {host: proxy, port: 7081.0, protocol: udp}}
    id: firewall_block
    target: {host: 10.88.0.9, port: 7081}
  failed: {}
  step:
    label: firewall_block
    owner: proxy
    target: 10.88.0.9
    port: 7081
    protocol: udp
    direction: output
    sources: [192.0.2.10]
    skipped: ''
    skipped_msg: ''
  record:
    added: [{chain: INPUT}]
    backups: []
    blocking: [{chain: INPUT}]
    changed: true
    direction: output
    host: proxy
    msg: added 1 rule(s)
    persist_notes: []
    persisted: []
    skipped: ''
    target: 10.88.0.9:7081
  undo: firewall change on proxy did not restore connectivity to 10.88.0.9:7081; rolled back
- name: fw_evidence_output_other_owner
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: []
  finding:
    evidence: {firewall: [null, {direction: input}]}
    fix: {vars: {host: backend, port: '7082'}}
    id: firewall_block
    summary: null
    target: {host: 10.88.0.9, port: abc}
  step:
    label: null
    owner: backend
    target: 10.88.0.9
    port: 7082
    protocol: tcp
    direction: input
    sources: [10.88.0.5]
    skipped: ''
    skipped_msg: ''
  record:
    added: [{chain: INPUT}]
    backups: []
    blocking: [{chain: INPUT}]
    changed: true
    direction: input
    host: backend
    msg: added 1 rule(s)
    persist_notes: []
    persisted: []
    skipped: ''
    target: 10.88.0.9:7082
  undo: firewall change on backend did not restore connectivity to 10.88.0.9:7082; rolled back
- name: fw_nothing
  facts: {}
  proxy_addresses: []
  finding: {id: firewall_block}
  step:
    label: firewall_block
    owner: ''
    target: ''
    port: 0
    protocol: tcp
    direction: input
    sources: []
    skipped: no inventory host owns the blocking rule
    skipped_msg: 'skipped: :0: no inventory host owns the blocking rule'
  record: {changed: false, host: null, skipped: no inventory host owns the blocking rule, target: ':0'}
  undo: ''
- name: fw_localhost_owner
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: []
  finding: {fix: {vars: {host: localhost}}, id: firewall_block, target: {host: 127.0.0.1, port: 80}}
  step:
    label: firewall_block
    owner: localhost
    target: 127.0.0.1
    port: 80
    protocol: tcp
    direction: input
    sources: [10.88.0.5]
    skipped: ''
    skipped_msg: ''
  record:
    added: [{chain: INPUT}]
    backups: []
    blocking: [{chain: INPUT}]
    changed: true
    direction: input
    host: localhost
    msg: added 1 rule(s)
    persist_notes: []
    persisted: []
    skipped: ''
    target: 127.0.0.1:80
  undo: firewall change on localhost did not restore connectivity to 127.0.0.1:80; rolled back
- name: fw_null_summary_skipped
  facts: {}
  proxy_addresses: []
  finding: {fix: {vars: {}}, id: firewall_block, summary: null, target: {host: 10.88.0.9, port: 80}}
  step:
    label: null
    owner: ''
    target: 10.88.0.9
    port: 80
    protocol: tcp
    direction: input
    sources: []
    skipped: no inventory host owns the blocking rule
    skipped_msg: 'skipped: : no inventory host owns the blocking rule'
  record: {changed: false, host: null, skipped: no inventory host owns the blocking rule, target: '10.88.0.9:80'}
  undo: ''
- name: fw_null_owner_summary_text
  facts: {all_ipv4_addresses: [10.88.0.5]}
  proxy_addresses: []
  finding: {fix: {vars: {host: backend, protocol: null}}, id: firewall_block, target: {host: null, port: 80, text: null}}
  allow: {added: null, backups: [], blocking: [], changed: false, msg: null, persist_notes: [], persisted: []}
  failed: {msg: null}
  step: {label: null, owner: backend, target: '', port: 80, protocol: null, direction: input, sources: [10.88.0.5], skipped: '', skipped_msg: ''}
  record:
    added: null
    backups: []
    blocking: []
    changed: false
    direction: input
    host: backend
    msg: null
    persist_notes: []
    persisted: []
    skipped: ''
    target: :80
  undo: 'nothing blocks :80 on backend any more (no change made), but proxy still cannot connect: None'
- name: service_null_text_outside
  facts: {}
  units: {}
  findings:
    - {id: upstream_down, target: {host: 10.1.1.1, kind: tcp, port: 1, text: null}}
    - {evidence: {upstream_host: backend}, id: upstream_down, target: {host: 10.1.1.2, kind: tcp, port: 2, text: null}}
  runs: [{changed: false, failed: true, msg: null, unresolved: true}]
  check_mode: false
  plan:
    - address: 10.1.1.1
      host: ''
      kind: tcp
      path: null
      port: 1
      skipped: 'None is on a host that is not in the inventory: it cannot be started from here'
      target: null
      unit: ''
    - {address: 10.1.1.2, host: backend, kind: tcp, path: null, port: 2, skipped: '', target: null, unit: ''}
  results:
    - action: skipped
      candidates: []
      changed: false
      host: null
      listener: null
      skipped: 'None is on a host that is not in the inventory: it cannot be started from here'
      target: null
      unit: null
    - {action: unresolved, candidates: [], changed: false, host: backend, listener: null, skipped: null, target: null, unit: null}
  lines: [': skipped - None is on a host that is not in the inventory: it cannot be started from here', ': unresolved None on backend']
- name: fw_owner_is_the_proxy
  facts: {all_ipv4_addresses: [10.88.0.5], all_ipv6_addresses: ['2001:db8::5']}
  proxy_addresses: []
  finding:
    evidence: {firewall: [{direction: input}]}
    fix: {vars: {host: proxy, port: 443, protocol: tcp}}
    id: firewall_block
    summary: output rule on the proxy
    target: {host: '2001:db8::9', kind: tcp, port: 443, text: '[2001:db8::9]:443'}
  failed: {msg: 'Timeout when waiting for 2001:db8::9:443'}
  step:
    label: output rule on the proxy
    owner: proxy
    target: 2001:db8::9
    port: 443
    protocol: tcp
    direction: output
    sources: ['2001:db8::5']
    skipped: ''
    skipped_msg: ''
  record:
    added: [{chain: INPUT}]
    backups: []
    blocking: [{chain: INPUT}]
    changed: true
    direction: output
    host: proxy
    msg: added 1 rule(s)
    persist_notes: []
    persisted: []
    skipped: ''
    target: 2001:db8::9:443
  undo: firewall change on proxy did not restore connectivity to 2001:db8::9:443; rolled back
''')
SERVICE = [c for c in RECORDED if 'findings' in c]
FIREWALL = [c for c in RECORDED if 'finding' in c]
# the firewall_allow result the recording used when a case names none
ALLOW = {'changed': True, 'msg': 'added 1 rule(s)', 'added': [{'chain': 'INPUT'}], 'blocking': [{'chain': 'INPUT'}],
         'persisted': [], 'backups': [], 'persist_notes': []}


def hostvars(facts):
    return dict((h, {'ansible_facts': copy.deepcopy(facts) if h == HERE else {}}) for h in INVENTORY)


def registered(plan, runs):
    """The registered loop of the module task: one result per entry that is not skipped, with its loop item."""
    items = [e for e in plan if not e['skipped']]
    assert len(items) == len(runs), 'the case records %d runs for %d entries' % (len(runs), len(items))
    return {'changed': any(r.get('changed') for r in runs), 'msg': 'All items completed',
            'results': [dict(r, backend_service_item=e, ansible_loop_var='backend_service_item') for e, r in zip(items, runs)]}


def ids(cases):
    return [c['name'] for c in cases]


def test_the_recording_covers_the_cases_that_matter():
    assert len(SERVICE) >= 6 and len(FIREWALL) >= 10
    assert any(c['check_mode'] and any(line.startswith('would be') or ': would be ' in line for line in c['lines']) for c in SERVICE)
    assert any(':' in str(f['target'].get('host')) for c in SERVICE for f in c['findings'] if f.get('target'))
    assert any(':' in str(c['finding']['target']['host']) and c['step']['sources'] for c in FIREWALL)
    assert any(c['step']['skipped'] == 'no inventory host owns the blocking rule' for c in FIREWALL)
    assert any('which is not in the inventory' in c['step']['skipped'] for c in FIREWALL)
    assert any(c['step']['direction'] == 'output' for c in FIREWALL)
    assert any(r['action'] == 'unresolved' for c in SERVICE for r in c['results'])


@pytest.mark.parametrize('case', SERVICE, ids=ids(SERVICE))
def test_service_plan(case):
    plan = remediation_steps(case['findings'], 'service_plan', hostvars(case['facts']), HERE, case['units'])
    assert plan == case['plan']


@pytest.mark.parametrize('case', SERVICE, ids=ids(SERVICE))
def test_service_results_and_lines(case):
    run = registered(case['plan'], case['runs'])
    results = remediation_steps(case['plan'], 'service_results', result=run)
    assert results == case['results']
    lines = [remediation_steps(r, 'service_line', check_mode=case['check_mode']) for r in results]
    assert lines == case['lines']


@pytest.mark.parametrize('case', FIREWALL, ids=ids(FIREWALL))
def test_firewall_step(case):
    steps = remediation_steps([case['finding']], 'firewall_plan', hostvars(case['facts']), HERE, case['proxy_addresses'])
    assert len(steps) == 1
    step = steps[0]
    assert dict((k, step[k]) for k in case['step']) == case['step']
    assert step['where'] == case['record']['target']
    allow = case.get('allow', ALLOW) if not step['skipped'] else None
    assert remediation_steps(step, 'firewall_result', result=allow) == case['record']
    if not step['skipped']:
        assert remediation_steps(step, 'firewall_undo', result=allow, failed=case.get('failed')) == case['undo']


def test_only_the_findings_of_the_role_are_planned():
    findings = [{'id': 'firewall_block', 'target': {'host': '10.0.0.9', 'port': 80}, 'fix': {'vars': {'host': 'backend'}}},
                {'id': 'upstream_down', 'target': {'kind': 'tcp', 'host': '127.0.0.1', 'port': 80}},
                {'id': 'target_mismatch', 'target': 'not looked at', 'evidence': ['not looked at']}]
    fw = remediation_steps(findings, 'firewall_plan', hostvars({'all_ipv4_addresses': ['10.0.0.5']}), HERE)
    svc = remediation_steps(findings, 'service_plan', hostvars({}), HERE)
    assert [s['where'] for s in fw] == ['10.0.0.9:80'] and fw[0]['sources'] == ['10.0.0.5']
    assert [(e['target'], e['host']) for e in svc] == [('?', 'proxy')]


def test_the_rollback_message_the_role_fails_with():
    step = remediation_steps([{'id': 'firewall_block', 'target': {'host': '10.88.0.9', 'port': 7090},
                               'fix': {'vars': {'host': 'backend', 'port': 7090}}}], 'firewall_plan', hostvars({}), HERE)[0]
    assert remediation_steps(step, 'firewall_undo', result={'changed': True}) == \
        'firewall change on backend did not restore connectivity to 10.88.0.9:7090; rolled back'
    assert remediation_steps(step, 'firewall_undo', result={'changed': False}, failed={'msg': 'Timeout'}) == \
        'nothing blocks 10.88.0.9:7090 on backend any more (no change made), but proxy still cannot connect: Timeout'


WRONG = [
    ('service_plan', 'upstream_down', {}, 'findings (the input) must be a list, not str'),
    ('service_plan', [None], {}, 'findings (the input)[0] must be a dict, not NoneType'),
    ('service_plan', [{'id': 'upstream_down', 'target': 'x'}], {}, 'findings (the input)[0].target must be a dict'),
    ('service_plan', [{'id': 'upstream_down', 'evidence': {'upstream_host': ['a']}}], {}, '[0].evidence.upstream_host must be a string'),
    ('service_plan', [], {'option': ['a.service']}, 'option (backend_service_units) must be a dict, not list'),
    ('service_plan', [], {'option': {'8090': {'unit': 'x'}}}, "option (backend_service_units).8090 must be a string"),
    ('service_plan', [], {'hostvars': ['proxy']}, 'hostvars must be the inventory (hostvars), not list'),
    ('service_plan', [], {'host': None}, 'host must be the name of the host (inventory_hostname), not None'),
    ('service_results', {'target': 'x'}, {}, 'the plan (the input) must be a list, not dict'),
    ('service_results', [], {'result': {'results': 'x'}}, 'result.results must be a list, not str'),
    ('service_line', None, {}, 'the record (the input) must be a dict, not NoneType'),
    ('service_line', {'listener': 'python3'}, {}, 'the record (the input).listener must be a dict, not str'),
    ('firewall_plan', [{'id': 'firewall_block', 'fix': {'vars': 'x'}}], {}, 'findings (the input)[0].fix.vars must be a dict'),
    ('firewall_plan', [{'id': 'firewall_block', 'evidence': {'firewall': {'direction': 'input'}}}], {},
     '[0].evidence.firewall must be a list, not dict'),
    ('firewall_plan', [{'id': 'firewall_block', 'evidence': {'firewall': ['input']}}], {}, '.evidence.firewall[0] must be a dict'),
    ('firewall_plan', [], {'option': '10.0.0.5'}, 'option (firewall_proxy_addresses) must be a list, not str'),
    ('firewall_result', {'owner': 'backend'}, {}, 'the step (the input): where is missing'),
    ('firewall_result', {'where': 'x:1'}, {'result': 'ok'}, 'result must be a dict, not str'),
    ('firewall_undo', {'where': 'x:1'}, {}, 'result must be a dict, not NoneType'),
    ('no_such_step', [], {}, 'step must be one of service_plan, service_results'),
]


@pytest.mark.parametrize('step, value, kwargs, error', WRONG, ids=['%s-%d' % (w[0], i) for i, w in enumerate(WRONG)])
def test_wrong_input_is_a_clear_error(step, value, kwargs, error):
    args = {'hostvars': hostvars({}), 'host': HERE} if step.endswith('_plan') else {}
    args.update(kwargs)
    with pytest.raises(AnsibleFilterError) as e:
        remediation_steps(value, step, **args)
    assert error in str(e.value), str(e.value)
    assert not any(word in str(e.value) for word in ('TypeError', 'KeyError', 'AttributeError'))
