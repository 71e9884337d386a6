# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node side of mac_denied: MAC denial lines (recorded, tests/unit/fixtures/logs) and the SELinux /
AppArmor state, read from a fake root and fake commands (this machine has neither mechanism)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader
from ansible_collections.badgateway.nginx.plugins.module_utils import _mac as mac
from ansible_collections.badgateway.nginx.plugins.module_utils._command import CommandError
from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'logs')
PARAMS = {'log_lines': 5000, 'log_since': 0, 'redact_query': True, 'redact_client': False, '_last_change': None}


def lines(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return f.read().splitlines()


def test_selinux_avc_lines_as_recorded():
    recs = [mac.classify_mac_line(x) for x in lines('selinux-recorded-audit.log')]
    nginx = recs[1]
    assert (nginx['source'], nginx['kind'], nginx['catalog'], nginx['comm'], nginx['pid']) == \
        ('selinux', 'avc_denied', 'mac_denied', 'nginx', 2581)
    assert (nginx['permission'], nginx['dest'], nginx['tclass'], nginx['stype'], nginx['permissive']) == \
        ('name_connect', 5000, 'tcp_socket', 'httpd_t', False)
    assert nginx['tcontext'] == 'system_u:object_r:commplex_main_port_t:s0'
    assert (nginx['time'], nginx['epoch']) == ('1554992273.902:517150', 1554992273.902)
    # an older kernel writes no permissive= field: unknown, not permissive
    assert recs[0]['permissive'] is None and recs[0]['dest'] == 8080
    assert recs[3] is None  # the SYSCALL record of the same event is not a denial
    assert recs[4]['permissive'] is True
    assert [mac.is_nginx_denial(r) for r in recs] == [True, True, True, False, False, False]  # httpd_t counts


def test_apparmor_lines_as_recorded():
    recs = [mac.classify_mac_line(x) for x in lines('apparmor-recorded-kern.log')]
    assert recs[3] is None  # apparmor="AUDIT": an audit rule's record, not a denial
    unix = recs[1]
    assert (unix['source'], unix['kind'], unix['operation'], unix['profile'], unix['family'], unix['sock_type']) == \
        ('apparmor', 'apparmor_denied', 'connect', 'snap.vlc.vlc', 'unix', 'stream')
    assert (unix['requested_mask'], unix['denied_mask'], unix['target'], unix['comm']) == \
        ('send receive connect', 'send connect', '@/tmp/.X11-unix/X0', 'glxinfo')
    assert unix['time'] == 'Jun 14 13:16:37' and unix['epoch'] is not None
    assert recs[2]['profile'] == 'snap.vlc.vlc' and recs[2]['operation'] == 'dbus_method_call'  # label= of dbus
    assert not any(mac.is_nginx_denial(r) for r in recs)
    dmesg = [mac.classify_mac_line(x, boot=1551680965.0) for x in lines('apparmor-recorded-dmesg.log')]
    assert dmesg[1]['target'] == '/run/dbus/system_bus_socket' and dmesg[1]['family'] is None
    assert dmesg[1]['epoch'] == pytest.approx(1551680965.0 + 13.775195)
    # without the boot time, the audit stamp places a dmesg line
    assert mac.classify_mac_line(lines('apparmor-recorded-dmesg.log')[1])['epoch'] == 1551680978.039


def test_connect_denials_are_tcp_connects_only():
    inet = mac.classify_mac_line('Jan 15 10:23:41 web1 kernel: [  812.120333] audit: type=1400 audit(1705310621.120:85): '
                                 'apparmor="DENIED" operation="connect" profile="/usr/sbin/nginx" pid=12345 comm="nginx" '
                                 'family="inet" sock_type="stream" protocol=6 requested_mask="connect" denied_mask="connect"')
    assert mac.is_nginx_denial(inet) and mac.is_connect_denial(inet)
    recorded = [mac.classify_mac_line(x) for x in lines('apparmor-recorded-kern.log') + lines('selinux-recorded-audit.log')]
    assert [mac.is_connect_denial(r) for r in recorded if r] == [False, False, False, True, True, True, True, True]


def test_nginx_lines_with_errno_13_keep_their_kind():
    rec = log_reader.classify_error_line(
        '2024/01/15 10:23:41 [crit] 12345#0: *1 connect() to 10.0.0.5:8080 failed (13: Permission denied) while '
        'connecting to upstream, client: 203.0.113.1, server: app.lab, request: "GET / HTTP/1.1", '
        'upstream: "http://10.0.0.5:8080/", host: "app.lab"')
    assert (rec['kind'], rec['errno']) == ('connect_denied', 13)


def write(root, path, text):
    full = os.path.join(str(root), path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as f:
        f.write(text)


class Commands:
    """A run(argv, timeout) answering from a dict; a command not in it is not installed."""

    def __init__(self, answers):
        self.answers, self.calls = answers, []

    def __call__(self, argv, timeout):
        self.calls.append(list(argv))
        if tuple(argv) not in self.answers:
            raise CommandError('cannot run %s: No such file or directory' % argv[0])
        rc, out = self.answers[tuple(argv)]
        return rc, out.encode(), ''


def test_selinux_state_from_selinuxfs(tmp_path):
    write(tmp_path, 'sys/fs/selinux/enforce', '1')
    write(tmp_path, 'sys/fs/selinux/booleans/httpd_can_network_connect', '0 0')
    write(tmp_path, 'sys/fs/selinux/booleans/httpd_can_network_relay', '1 1')
    run = Commands({})
    assert mac.selinux_state(run, str(tmp_path)) == {
        'mode': 'enforcing', 'source': '/sys/fs/selinux/enforce',
        'booleans': {'httpd_can_network_connect': False, 'httpd_can_network_relay': True}}
    assert run.calls == []


def test_selinux_state_from_the_commands(tmp_path):
    run = Commands({('getenforce',): (0, 'Permissive\n'),
                    ('getsebool', 'httpd_can_network_connect'): (0, 'httpd_can_network_connect --> on\n')})
    assert mac.selinux_state(run, str(tmp_path)) == {
        'mode': 'permissive', 'source': 'getenforce',
        'booleans': {'httpd_can_network_connect': True, 'httpd_can_network_relay': None}}
    # Debian: no selinuxfs, no getenforce: no SELinux, and no error
    assert mac.selinux_state(Commands({}), str(tmp_path)) is None


def test_apparmor_state_from_securityfs(tmp_path):
    assert mac.apparmor_state(Commands({}), str(tmp_path)) is None  # this machine's kernel: no AppArmor
    write(tmp_path, 'sys/module/apparmor/parameters/enabled', 'Y\n')
    names = ['/usr/bin/p%03d' % i for i in range(100)]
    write(tmp_path, 'sys/kernel/security/apparmor/profiles',
          ''.join('%s (enforce)\n' % n for n in names) + '/usr/sbin/nginx (complain)\nsnap.lxd.lxc (enforce)\n')
    state = mac.apparmor_state(Commands({}), str(tmp_path))
    assert (state['enabled'], state['source'], state['profiles_total']) == (True, '/sys/kernel/security/apparmor/profiles', 102)
    assert len(state['profiles']) == mac.MAX_PROFILES and state['profiles']['/usr/sbin/nginx'] == 'complain'


def test_apparmor_state_from_aa_status(tmp_path):
    status = {'version': '2', 'profiles': {'/usr/sbin/nginx': 'enforce'}, 'processes': {}}
    run = Commands({('aa-status', '--json'): (0, json.dumps(status))})
    assert mac.apparmor_state(run, str(tmp_path)) == {'enabled': True, 'source': 'aa-status --json',
                                                      'profiles': {'/usr/sbin/nginx': 'enforce'}, 'profiles_total': 1}


def test_probe_mac_reads_audit_log_and_kernel_log(tmp_path, monkeypatch):
    audit = tmp_path / 'audit.log'
    audit.write_text('\n'.join(lines('selinux-recorded-audit.log') * 2) + '\n')
    kern = tmp_path / 'kern.log'
    kern.write_text('\n'.join(lines('apparmor-recorded-kern.log')) + '\n')
    monkeypatch.setattr(mac, 'AUDIT_LOG', str(audit))
    monkeypatch.setattr(nginx_probe, 'KERNEL_LOGS', (str(kern),))
    monkeypatch.setattr(nginx_probe, 'run', Commands({}))
    monkeypatch.setattr(mac, 'selinux_state', lambda run, root='/': {'mode': 'enforcing', 'booleans': {}})
    monkeypatch.setattr(mac, 'apparmor_state', lambda run, root='/': None)
    result = nginx_probe.mac(PARAMS)
    assert sorted(result['logs']) == sorted([str(audit), str(kern)])
    denials = result['selinux']['denials']
    seen = sorted((g['comm'], g['dest'], g['count']) for g in denials)
    assert seen == [('httpd', 8080, 2), ('nginx', 5000, 2), ('nginx', 8080, 2)]
    assert all(len(g['samples']) <= 3 for g in denials)
    assert result['apparmor'] is None  # no AppArmor and no denial about nginx


def test_probe_mac_falls_back_to_dmesg(monkeypatch, tmp_path):
    monkeypatch.setattr(mac, 'AUDIT_LOG', str(tmp_path / 'none'))
    monkeypatch.setattr(nginx_probe, 'KERNEL_LOGS', (str(tmp_path / 'none2'),))
    text = ('[  812.120333] audit: type=1400 audit(1705310621.120:85): apparmor="DENIED" operation="connect" '
            'profile="/usr/sbin/nginx" pid=12345 comm="nginx" family="inet" sock_type="stream" protocol=6 '
            'requested_mask="connect" denied_mask="connect"\n')
    monkeypatch.setattr(nginx_probe, 'run', Commands({('dmesg',): (0, text)}))
    monkeypatch.setattr(mac, 'selinux_state', lambda run, root='/': None)
    result = nginx_probe.mac(PARAMS)
    assert result['selinux'] is None and result['logs'] == {'dmesg': None}
    assert [(g['profile'], g['operation'], g['family']) for g in result['apparmor']['denials']] == \
        [('/usr/sbin/nginx', 'connect', 'inet')]
