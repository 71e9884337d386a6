# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit on the same real hosts: every latent check of the registry fires on the broken lab, none on the healthy host.

converge.yml ran the badgateway.nginx.nginx_audit role (with the header probe) after the diagnosis; it wrote
audit/report.json on the controller. tests/lab/diagnose/latent.yml set up on the proxy what broken.conf does not
already hold. Each finding's file:line is checked against the real files on the proxy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

if 'MOLECULE_EPHEMERAL_DIRECTORY' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

import testinfra  # noqa: E402

REPORT = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'audit', 'report.json')
PROXY = testinfra.get_host('podman://proxy')
# every check only the audit makes, and the keepalive race judged before it fires
LATENT = ['proxy_headers_missing', 'keepalive_unused', 'timeout_mismatch', 'fpm_children_sizing', 'worker_files_limit',
          'dns_static', 'socket_mode_after_restart', 'header_buffer_small', 'keepalive_race']


@pytest.fixture(scope='module')
def report():
    with open(REPORT) as f:
        return json.load(f)


def found(report, host, cause, text=None):
    return [f for f in report['hosts'][host]['findings']
            if f['id'] == cause and (text is None or text in f['summary'])]


def line_of(item):
    return PROXY.file(item['file']).content_string.splitlines()[item['line'] - 1].strip()


def test_the_audit_is_its_own_report(report):
    assert report['title'] == 'nginx 502/504 audit'


def test_the_healthy_host_has_no_latent_risk(report):
    assert report['hosts']['healthy']['findings'] == []


def test_every_latent_check_fires_on_the_broken_proxy(report):
    ids = set(f['id'] for f in report['hosts']['proxy']['findings'])
    assert [c for c in LATENT if c not in ids] == []
    # the audit judges, it does not diagnose: no failure of the log is a finding here
    assert not ids & {'upstream_down', 'backend_crash', 'upstream_timeout', 'target_mismatch'}


def test_the_keepalive_race_is_measured_not_read(report):
    race = found(report, 'proxy', 'keepalive_race')
    assert [f['target']['text'] for f in race] == ['127.0.0.1:9008']
    measured = race[0]['evidence']['keepalive']
    assert measured['result'] in ('closed', 'reset') and 1.0 <= measured['idle_close_s'] < 3.0
    assert race[0]['fix']['role'] == 'badgateway.nginx.proxy_timeouts'
    assert line_of(race[0]['evidence']['keepalive_timeout']) == 'upstream racing {'


def test_the_checks_point_at_the_lines_that_cause_them(report):
    unused = found(report, 'proxy', 'keepalive_unused')
    assert [line_of(f['evidence']['keepalive']) for f in unused] == ['keepalive 8;']
    mismatch = found(report, 'proxy', 'timeout_mismatch')
    assert [(f['target']['text'], f['fix']['vars']['value']) for f in mismatch] == [('unix:/run/php/huge.sock', '300s')]
    sizing = found(report, 'proxy', 'fpm_children_sizing', 'pool huge')
    assert len(sizing) == 1 and line_of(sizing[0]['evidence']['max_children']) == 'pm.max_children = 20000'
    assert found(report, 'proxy', 'fpm_children_sizing', 'pool small: listen.backlog 0')
    restart = found(report, 'proxy', 'socket_mode_after_restart')
    assert [f['target']['text'] for f in restart] == ['unix:/run/php/locked.sock']
    limit = found(report, 'proxy', 'worker_files_limit')
    assert len(limit) == 1 and limit[0]['evidence']['worker_rlimit_nofile']['value'] == '512'
    header = found(report, 'proxy', 'header_buffer_small')
    assert [(f['target']['text'], f['severity']) for f in header] == [('127.0.0.1:9006', 'critical')]
    assert header[0]['evidence']['probe']['header_bytes'] > 32768


def test_files_the_running_nginx_did_not_load(report):
    # converge touched the backend's nginx.conf after the diagnosis, before the audit
    stale = found(report, 'backend', 'config_not_loaded')
    assert len(stale) == 1 and '/etc/nginx/nginx.conf' in stale[0]['summary']
    assert not found(report, 'proxy', 'config_not_loaded') and not found(report, 'healthy', 'config_not_loaded')


def test_websocket_and_names(report):
    ws = [f for f in found(report, 'proxy', 'proxy_headers_missing') if f['evidence'].get('websocket')]
    # both routes to the WebSocket application: broken.conf's 8014 and latent.conf's name on 8024
    expected = [('127.0.0.1:9007', 'warning'), ('lab-app.internal:9007', 'warning')]
    assert [(f['target']['text'], f['severity']) for f in ws] == expected
    dns = report['hosts']['proxy']['findings']
    names = [f['summary'] for f in dns if f['id'] == 'dns_static']
    assert any('lab-app.internal' in s for s in names) and any('no valid=' in s for s in names)
    assert any('variable host and no resolver' in s for s in names)
