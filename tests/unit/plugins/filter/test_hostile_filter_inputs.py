# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters on hostile and wrong-typed input (hostile_inputs.yml): a clear AnsibleFilterError that names
the argument and what is wrong with it, or the right result; never a Python error."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.filter.nginx_summary import nginx_summary
from ansible_collections.badgateway.nginx.plugins.filter.remediation_plan import remediation_plan
from ansible_collections.badgateway.nginx.plugins.filter.remediation_triage import remediation_triage

FILTERS = {'remediation_plan': remediation_plan, 'remediation_triage': remediation_triage,
           'nginx_summary': nginx_summary}
with open(os.path.join(os.path.dirname(__file__), 'hostile_inputs.yml')) as f:
    CASES = yaml.safe_load(f)


def _id(case):
    return '%s-%s' % (case['filter'], case.get('error') or 'ok')


def _contains(got, part):
    if isinstance(part, dict):
        return all(k in got and _contains(got[k], v) for k, v in part.items())
    if isinstance(part, list) and isinstance(got, list):
        return got[:len(part)] == part if part else got == []
    return got == part


def test_the_cases_cover_every_filter():
    assert set(c['filter'] for c in CASES) == set(FILTERS)
    assert len([c for c in CASES if 'error' in c]) >= 52


@pytest.mark.parametrize('case', CASES, ids=[_id(c) for c in CASES])
def test_hostile_input(case):
    call = FILTERS[case['filter']]
    if 'error' in case:
        with pytest.raises(AnsibleFilterError) as e:
            call(case['input'], **case['kwargs'])
        msg = str(e.value)
        assert case['error'] in msg, msg
        assert not any(word in msg for word in ('TypeError', 'KeyError', 'AttributeError', 'object has no')), msg
    else:
        got = call(case['input'], **case['kwargs'])
        assert _contains(got, case['output']), got
