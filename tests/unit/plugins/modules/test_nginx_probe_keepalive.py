# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which upstream keepalive members the node measures (keepalive_probe), on recorded log groups.

No member is contacted here: the selection is what is tested (the measurement itself runs against a real nginx
and backend in tests/local/test_keepalive_race_local.py).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe

MEMBERS = [{'host': '127.0.0.1', 'port': 9008, 'upstream': 'racing', 'keepalive_timeout': 60.0},
           {'host': '127.0.0.1', 'port': 9009, 'upstream': 'calm', 'keepalive_timeout': 60.0}]
LOGS = {'/var/log/nginx/error.log': {'groups': [
    {'kind': 'premature_close', 'upstream': 'http://127.0.0.1:9008'},
    {'kind': 'read_timeout', 'upstream': 'http://127.0.0.1:9009'}]}}


@pytest.fixture
def measured(monkeypatch):
    seen = []

    def idle_close(host, port, wait, timeout, host_header=None):
        seen.append((host, port, wait, host_header))
        return {'host': host, 'port': port, 'result': 'closed', 'idle_close_s': 1.5}
    monkeypatch.setattr(nginx_probe.http, 'idle_close', idle_close)
    return seen


def params(mode, members=None):
    return {'keepalive_probe': mode, '_keepalive': MEMBERS if members is None else members, 'timeout': 3.0}


def test_on_errors_measures_only_members_with_a_failure_on_a_used_connection(measured):
    found = nginx_probe.keepalive(params('on_errors'), LOGS)
    assert measured == [('127.0.0.1', 9008, nginx_probe.KEEPALIVE_WAIT_MAX, 'racing')]
    assert [(f['port'], f['upstream'], f['keepalive_timeout']) for f in found] == [(9008, 'racing', 60.0)]


def test_no_failing_member_measures_nothing(measured):
    assert nginx_probe.keepalive(params('on_errors'), {'/var/log/nginx/error.log': {'groups': []}}) == []
    assert nginx_probe.keepalive(params('always', []), LOGS) == []
    assert nginx_probe.keepalive(params('never'), LOGS) == [] and measured == []


def test_always_measures_every_member_no_longer_than_nginx_keeps_it(measured):
    short = [dict(MEMBERS[0], keepalive_timeout=2.0), MEMBERS[1]]
    nginx_probe.keepalive(params('always', short), {})
    assert sorted(measured) == [('127.0.0.1', 9008, 2.0, 'racing'), ('127.0.0.1', 9009, 10.0, 'calm')]


def test_threads_keep_the_order_and_an_empty_list_is_empty():
    assert nginx_probe.in_threads(lambda x: x * 2, [3, 1, 2], 2) == [6, 2, 4]
    assert nginx_probe.in_threads(lambda x: x, [], 0) == []


def test_the_header_probe_asks_only_backends_the_connect_probe_reached(monkeypatch):
    asked = []

    def get(url, timeout, host=None, user_agent=None):
        asked.append(url)
        return {'status': 200, 'header_bytes': 100, 'error': None}
    monkeypatch.setattr(nginx_probe.http, 'get', get)
    monkeypatch.setattr(nginx_probe.http, 'answers_websocket', lambda *a, **k: False)
    items = [{'url': 'http://127.0.0.1:%d/' % port, 'host': None, 'target': {'host': '127.0.0.1', 'port': port},
              'location': {'match': '/', 'file': 'f', 'line': port}} for port in (9001, 9002)]
    probes = [{'kind': 'tcp', 'host': '127.0.0.1', 'port': 9001, 'result': 'ok'},
              {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9002, 'result': 'timeout'}]
    found = nginx_probe.header_sizes({'_headers': items, 'timeout': 3.0}, probes)
    assert asked == ['http://127.0.0.1:9001/'] and [f['header_bytes'] for f in found] == [100]
