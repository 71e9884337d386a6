# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_probe keeps kernel OOM lines to the log window (log_since, the last commit), as it does
nginx's and PHP-FPM's lines: recorded kern.log (both rsyslog formats) and dmesg output of two real
OOM kills (fixtures/logs/README.md), the second 12 s (kern.log) / 154.4 s (dmesg) after the first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe
from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'logs')
RECORDED_BTIME = 1796216067
FIRST_KILL_DMESG = 1796216517.980219
SECOND_KILL_DMESG = 1796216672.364800


def params(log_since=0, last_change=None):
    return {'log_since': log_since, '_last_change': last_change, 'log_lines': 5000, 'redact_query': True,
            'redact_client': False}


def pids(groups):
    return sorted(s.split('Killed process ')[1].split(' ')[0] for g in groups for s in g['samples'])


@pytest.mark.parametrize('name', ['kernel-6.18-recorded-kern.log', 'kernel-6.18-recorded-kern-traditional.log'])
def test_kern_log_lines_before_the_window_do_not_count(monkeypatch, name):
    path = os.path.join(FIXTURES, name)
    monkeypatch.setattr(nginx_probe, 'KERNEL_LOGS', (path,))
    with open(path) as f:
        kills = [line for line in f if 'out of memory' in line]
    first, second = (log_reader.kernel_time(x) for x in kills)
    assert pids(nginx_probe.kernel_oom(params())) == ['24021', '31398']
    # the last commit lies between the two kills: only the second is evidence now
    groups = nginx_probe.kernel_oom(params(last_change=(first + second) / 2))
    assert pids(groups) == ['31398'] and groups[0]['count'] == 1
    assert nginx_probe.kernel_oom(params(last_change=second + 1)) == []
    # log_since: both kills are older than one second
    assert nginx_probe.kernel_oom(params(log_since=1)) == []


def test_dmesg_lines_before_the_window_do_not_count():
    with open(os.path.join(FIXTURES, 'kernel-6.18-recorded-dmesg.log')) as f:
        text = f.read()
    assert pids(nginx_probe.dmesg_oom(text, params(), RECORDED_BTIME)) == ['24021', '31398']
    groups = nginx_probe.dmesg_oom(text, params(last_change=FIRST_KILL_DMESG + 1), RECORDED_BTIME)
    assert pids(groups) == ['31398']
    assert groups[0]['first_seen'] == '2026-12-02T13:04:32.364800+00:00'
    assert groups[0]['last_epoch'] == pytest.approx(SECOND_KILL_DMESG, abs=1e-6)
    assert nginx_probe.dmesg_oom(text, params(last_change=SECOND_KILL_DMESG + 1), RECORDED_BTIME) == []
    assert nginx_probe.dmesg_oom(text, params(log_since=1), RECORDED_BTIME) == []
    # no boot time: a window is set and the lines cannot be placed in it, so they are no evidence for it
    assert nginx_probe.dmesg_oom(text, params(log_since=1), None) == []
    assert pids(nginx_probe.dmesg_oom(text, params(), None)) == ['24021', '31398']
