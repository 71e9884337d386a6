# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_report's fail_on: which hosts the roles fail, from a recorded report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.action.nginx_report import ARGUMENT_SPEC, failing_hosts

REPORT = {'hosts': {
    'web2': {'findings': [{'id': 'upstream_timeout', 'severity': 'warning'}]},
    'web1': {'findings': [{'id': 'upstream_down', 'severity': 'critical'},
                          {'id': 'proxy_headers_missing', 'severity': 'info'}]},
    'web3': {'findings': []},
    'web4': {'findings': None, 'note': 'not diagnosed'},
}}


def test_the_hosts_with_a_finding_of_a_chosen_severity_sorted():
    assert failing_hosts(REPORT, ['critical']) == ['web1']
    assert failing_hosts(REPORT, ['warning', 'critical']) == ['web1', 'web2']
    assert failing_hosts(REPORT, ['info']) == ['web1']


def test_no_severity_fails_nobody():
    assert failing_hosts(REPORT, []) == []


def test_the_option_takes_only_the_registry_severities():
    assert ARGUMENT_SPEC['fail_on']['choices'] == ['critical', 'warning', 'info']
    assert ARGUMENT_SPEC['fail_on']['default'] == []
