# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_report through real ansible-playbook on a malformed nginx_diagnosis fact: a clear failure naming the
host and the field, never a Python error (it was "Task failed: 'checks'")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ansible_env

BIN = os.path.dirname(sys.executable)


def run_report(tmp_path, diagnosis, nginx=None, **args):
    """ansible localhost -m badgateway.nginx.nginx_report with the fact planted as an extra var."""
    planted = {'nginx_diagnosis': diagnosis}
    if nginx is not None:
        planted['ansible_facts'] = {'nginx': nginx}
    path = tmp_path / 'vars.json'
    path.write_text(json.dumps(planted))
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible'), '-i', 'localhost,', '-c', 'local', 'localhost',
                           '-m', 'badgateway.nginx.nginx_report', '-a', json.dumps(dict(args, hosts=['localhost'])),
                           '-e', '@%s' % path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=120, check=False)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    assert m, (proc.stdout, proc.stderr)
    res = json.loads(proc.stdout[m.end():])
    res['failed'] = m.group(1) == 'FAILED!'
    return res, proc.stderr


@pytest.mark.parametrize('diagnosis, words', [
    ({'nginx': True}, 'nginx_diagnosis: checks is missing'),
    ({'nginx': True, 'checks': 'x'}, 'nginx_diagnosis.checks must be a dict, not str'),
    ({'nginx': True, 'checks': {'http': 'x'}}, 'nginx_diagnosis.checks.http must be a list'),
    ({'nginx': True, 'checks': {'php_fpm': {'configs': [None]}}}, 'nginx_diagnosis.checks.php_fpm.configs[0] must be a dict'),
    ('diagnosed', 'nginx_diagnosis must be a dict, not str'),
    ([1], 'nginx_diagnosis must be a dict, not list'),
])
def test_malformed_diagnosis_is_a_clear_error(tmp_path, diagnosis, words):
    res, stderr = run_report(tmp_path, diagnosis)
    assert res.get('failed') is True, res
    assert words in res['msg'] and 'host localhost' in res['msg'], res['msg']
    assert 'Traceback' not in stderr and 'Error' not in res['msg'], (res['msg'], stderr)


def test_malformed_nginx_facts_is_a_clear_error(tmp_path):
    res, _stderr = run_report(tmp_path, {'nginx': True, 'checks': {}}, nginx={'servers': 'x'})
    assert res.get('failed') is True and 'ansible_facts.nginx.servers must be a list' in res['msg'], res


def test_without_return_report_the_result_has_the_head_of_the_report_only(tmp_path):
    """return_report=false: the same summary, failing and totals, no host's findings in the result."""
    diagnosis = {'nginx': True, 'checks': {'probes': [{'host': '127.0.0.1', 'port': 9, 'result': 'refused'}]}}
    full, _stderr = run_report(tmp_path, diagnosis, fail_on=['info'])
    head, _stderr = run_report(tmp_path, diagnosis, fail_on=['info'], return_report=False)
    assert full.get('failed') is False and head.get('failed') is False, (full, head)
    assert sorted(full['report']['hosts']) == ['localhost'] and 'hosts' not in head['report'], head['report']
    assert sorted(head['report']) == ['generated', 'schema', 'title', 'totals'], head['report']
    assert [head['report'][k] for k in ('schema', 'title', 'totals')] == [full['report'][k] for k in ('schema', 'title', 'totals')]
    assert head['summary'] == full['summary'] and head['failing'] == full['failing']
