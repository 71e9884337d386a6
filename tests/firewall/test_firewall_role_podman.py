# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role badgateway.nginx.firewall through ansible-playbook on two podman containers.

proxy: the nginx host whose play runs the role; backend: the lab's rules (nft drop 7080,
iptables REJECT 7081, plus an iptables DROP on 7090 where nothing listens) and http.servers
on 7080/7081.  The findings are shaped like nginx_diagnose's.  This machine is the third
party that must stay out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

import pytest

from podman_lab import Lab, connect_from, connect_host, run_playbook, skip_reason

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or '')

PLAYBOOK = """---
- name: Remediate firewall_block findings
  hosts: proxy
  gather_facts: false
  roles:
    - role: badgateway.nginx.firewall
      firewall_findings: "{{ lab_findings }}"
      firewall_connect_timeout: 2
"""


def finding(backend_ip, port, host='backend', direction='input'):
    rule = {'host': host, 'direction': direction, 'text': 'lab rule'} if host else None
    return {
        'id': 'firewall_block', 'severity': 'critical', 'host': 'proxy',
        'target': {'kind': 'tcp', 'host': backend_ip, 'port': port, 'text': '%s:%d' % (backend_ip, port)},
        'evidence': {'firewall': [rule] if rule else []},
        'summary': 'lab firewall_block %s:%d' % (backend_ip, port),
        'fix': {'role': 'badgateway.nginx.firewall',
                'vars': dict({'port': port, 'protocol': 'tcp'}, **({'host': host} if host else {}))},
    }


@pytest.fixture(scope='module')
def lab(tmp_path_factory):
    lab = Lab('fwrole')
    try:
        backend = lab.start('backend')
        proxy = lab.start('proxy', net_admin=False)
        lab.backend(backend)
        lab.sh(backend, 'iptables -A INPUT -p tcp --dport 7090 -j DROP && mkdir -p /etc/iptables && '
                        'iptables-save > /etc/iptables/rules.v4')
        lab.wait_python(proxy)
        d = tmp_path_factory.mktemp('fwrole')
        inventory = d / 'inventory.yml'
        inventory.write_text(json.dumps({'all': {
            'hosts': {'proxy': {'ansible_host': proxy}, 'backend': {'ansible_host': backend}},
            'vars': {'ansible_connection': 'containers.podman.podman',
                     'ansible_python_interpreter': '/usr/bin/python3'}}}))
        playbook = d / 'remediate.yml'
        playbook.write_text(PLAYBOOK)
        yield {'lab': lab, 'backend': backend, 'proxy': proxy, 'backend_ip': lab.ip(backend),
               'proxy_ip': lab.ip(proxy), 'inventory': str(inventory), 'playbook': str(playbook), 'dir': d}
    finally:
        lab.close()


def play(lab, findings, check=False):
    path = lab['dir'] / 'findings.json'
    path.write_text(json.dumps({'lab_findings': findings}))
    proc = run_playbook(lab['playbook'], lab['inventory'], ['-e', '@%s' % path], check=check)
    recap = {}
    for m in re.finditer(r'^(\w+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout, re.M):
        recap[m.group(1)] = {'ok': int(m.group(2)), 'changed': int(m.group(3)), 'failed': int(m.group(5))}
    return proc, recap


def test_role_remediates_the_lab(lab):
    ip = lab['backend_ip']
    findings = [finding(ip, 7080), finding(ip, 7081), finding(ip, 7099, host=None),
                {'id': 'upstream_down', 'target': {'host': ip, 'port': 8090}, 'fix': {'vars': {}}}]
    # before: the proxy cannot connect
    assert connect_from(lab['proxy'], ip, 7080) == 'timeout'
    assert connect_from(lab['proxy'], ip, 7081) == 'refused'

    # check mode: the plan, nothing changed
    proc, recap = play(lab, findings, check=True)
    assert proc.returncode == 0, proc.stdout
    assert 'would add 1 rule(s) for tcp/7080 from %s' % lab['proxy_ip'] in proc.stdout, proc.stdout
    assert 'badgateway' not in lab['lab'].sh(lab['backend'], 'nft list ruleset').stdout
    assert connect_from(lab['proxy'], ip, 7080) == 'timeout'

    proc, recap = play(lab, findings)
    assert proc.returncode == 0, proc.stdout
    assert recap['proxy']['failed'] == 0 and recap['proxy']['changed'] >= 2, proc.stdout
    assert 'no inventory host owns the blocking rule' in proc.stdout  # reported, not guessed
    # after: the proxy connects, this machine still cannot (only the proxy's address admitted)
    assert connect_from(lab['proxy'], ip, 7080) == 'ok'
    assert connect_from(lab['proxy'], ip, 7081) == 'ok'
    assert connect_host(ip, 7080) == 'timeout'
    assert connect_host(ip, 7081) == 'refused'
    ruleset = lab['lab'].sh(lab['backend'], 'nft list ruleset').stdout
    assert 'ip saddr %s tcp dport 7080 accept comment "badgateway.nginx"' % lab['proxy_ip'] in ruleset
    assert '-s %s/32 -p tcp -m tcp --dport 7081' % lab['proxy_ip'] in \
        lab['lab'].sh(lab['backend'], 'iptables -S INPUT').stdout

    # a second run changes nothing
    proc, recap = play(lab, findings)
    assert proc.returncode == 0, proc.stdout
    assert recap['proxy']['changed'] == 0 and recap['proxy']['failed'] == 0, proc.stdout


def test_role_rolls_back_when_the_connection_still_fails(lab):
    """7090: an iptables DROP, but nothing listens there: the rule does not help, so it is taken back."""
    ip = lab['backend_ip']
    sh = lab['lab'].sh
    rules_before = sh(lab['backend'], 'iptables -S INPUT').stdout
    file_before = sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout
    proc, recap = play(lab, [finding(ip, 7090)])
    assert proc.returncode != 0
    assert 'firewall change on backend did not restore connectivity to %s:7090; rolled back' % ip in proc.stdout, \
        proc.stdout
    assert sh(lab['backend'], 'iptables -S INPUT').stdout == rules_before
    assert sh(lab['backend'], 'cat /etc/iptables/rules.v4').stdout == file_before  # byte-for-byte
    assert connect_from(lab['proxy'], ip, 7081) == 'ok'  # earlier remediation untouched
