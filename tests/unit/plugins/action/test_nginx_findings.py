# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_findings on recorded findings: the fact it keeps, and the hosts it fails with the message naming why.
The roles run it through ansible-playbook in tests/local (test_prometheus_local: audit_fail_on) and Molecule."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.badgateway.nginx.plugins.action.nginx_findings import ARGUMENT_SPEC, ActionModule

FINDINGS = [{'id': 'upstream_down', 'severity': 'critical', 'summary': 'nothing listens on 127.0.0.1:8081'},
            {'id': 'proxy_headers_missing', 'severity': 'info', 'summary': 'no X-Forwarded-For'},
            {'id': 'upstream_down', 'severity': 'critical', 'summary': 'nothing listens on 127.0.0.1:8082'}]


def run(args, host='web1'):
    task = SimpleNamespace(args=args, async_val=0, check_mode=False, action='badgateway.nginx.nginx_findings')
    action = ActionModule(task, SimpleNamespace(_shell=SimpleNamespace(tmpdir='/nonexistent')), None, None, None)
    return action.run(task_vars={'inventory_hostname': host})


def test_the_findings_become_the_fact_of_the_report_kind():
    assert run({'findings': FINDINGS})['ansible_facts'] == {'nginx_diagnose_findings': FINDINGS}
    assert run({'findings': FINDINGS, 'kind': 'audit'})['ansible_facts'] == {'nginx_audit_findings': FINDINGS}
    assert not run({'findings': FINDINGS}).get('failed')  # no fail_on: never fails


def test_a_host_with_findings_of_a_chosen_severity_fails_naming_them():
    result = run({'findings': FINDINGS, 'fail_on': ['critical', 'warning']})
    assert result['failed'] is True
    assert result['msg'] == 'web1 has findings of severity critical or warning: upstream_down'
    audit = run({'findings': FINDINGS, 'kind': 'audit', 'fail_on': ['info']}, host='db1')
    assert audit['msg'] == 'db1 has latent risks of severity info: proxy_headers_missing'


def test_no_finding_of_those_severities_passes():
    assert not run({'findings': FINDINGS, 'fail_on': ['warning']}).get('failed')
    assert not run({'findings': [], 'fail_on': ['critical']}).get('failed')


@pytest.mark.parametrize('args, words', [
    ({'findings': FINDINGS, 'fail_on': ['fatal']}, 'fail_on'),
    ({'findings': 'upstream_down'}, 'findings'),
    ({'findings': FINDINGS, 'kind': 'remediation'}, 'kind'),
    ({}, 'findings'),
])
def test_bad_options_are_a_clear_error(args, words):
    with pytest.raises(AnsibleActionFail, match=words):  # the task fails with this message, no fact is set
        run(args)


def test_the_severities_are_the_registry_s():
    assert ARGUMENT_SPEC['fail_on']['choices'] == ['critical', 'warning', 'info']
