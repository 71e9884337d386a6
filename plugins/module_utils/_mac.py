# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side evidence of mandatory access control: SELinux and AppArmor.

Standard library only.  A TCP ``connect() ... (13: Permission denied)`` in nginx's error log is the kernel's
answer EACCES, which a socket does not give for a TCP port: SELinux (the ``httpd_t`` domain nginx runs in may
not ``name_connect``: the boolean ``httpd_can_network_connect`` is off) or AppArmor (the nginx profile has no
``network inet stream`` rule) said no.  Here:

* ``classify_mac_line`` reads one line of audit.log, the journal or the kernel log: an SELinux AVC denial
  (``type=AVC msg=audit(1554992273.902:517150): avc:  denied  { name_connect } for  pid=2581 comm="nginx"
  dest=5000 scontext=... tclass=tcp_socket permissive=0``) or an AppArmor one (``audit: type=1400
  audit(...): apparmor="DENIED" operation="connect" profile="/usr/sbin/nginx" ... family="inet"``);
* ``selinux_state`` the mode (``/sys/fs/selinux/enforce``, else ``getenforce``) and the booleans that let
  httpd_t connect (``/sys/fs/selinux/booleans/NAME``, else ``getsebool NAME``);
* ``apparmor_state`` whether AppArmor is on and its profiles' modes (``/sys/kernel/security/apparmor/profiles``,
  else ``aa-status --json``), bounded.

A missing file or binary is not an error: that piece is None.  Every command goes through the runner given
(module_utils/_command.run: an argument list, never a shell).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader
from ansible_collections.badgateway.nginx.plugins.module_utils._command import CommandError

AUDIT_LOG = '/var/log/audit/audit.log'
# the booleans that let httpd_t (nginx) connect to other ports: any port / the ports of http_port_t and relays
SELINUX_BOOLEANS = ('httpd_can_network_connect', 'httpd_can_network_relay')
# at most this many profiles are returned (the ones that name nginx first); profiles_total counts them all
MAX_PROFILES = 64
# at most this many groups of denials per mechanism
MAX_DENIAL_GROUPS = 20
# the summary key of denial groups: one group per distinct denial
DENIAL_KEY = ('kind', 'comm', 'permission', 'tclass', 'dest', 'scontext', 'tcontext', 'permissive',
              'profile', 'operation', 'family', 'sock_type', 'denied_mask', 'target')

# "audit(1554992273.902:517150)": the kernel's epoch of the event and its serial
AUDIT_STAMP = re.compile(r'audit\((\d+)\.(\d+):(\d+)\)')
AVC = re.compile(r'avc:\s+denied\s+\{\s*([^}]*?)\s*\}\s+for\s+(.*)$')
APPARMOR = re.compile(r'apparmor="?(DENIED)"?\s+(.*)$')
FIELD = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"]*)"|\S+)')


def _fields(text):
    """key=value and key="value" pairs of an audit record (the first of each key)."""
    found = {}
    for m in FIELD.finditer(text):
        value = m.group(2)
        if value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        found.setdefault(m.group(1), value)
    return found


def audit_time(line):
    """Epoch of a line: its syslog / RFC 3339 / ctime prefix, else its ``audit(EPOCH:SERIAL)`` stamp, or None."""
    stamp = log_reader.line_time(line)
    if stamp is None and line:
        m = AUDIT_STAMP.search(line)
        if m:
            stamp = float('%s.%s' % (m.group(1), m.group(2)))
    return stamp


def _type_of(context):
    """The type of an SELinux context (system_u:system_r:httpd_t:s0 -> httpd_t), or None."""
    parts = (context or '').split(':')
    return parts[2] if len(parts) > 2 else None


def _int(value):
    return int(value) if value is not None and value.isdigit() else None


def classify_mac_line(line, boot=None):
    """Classify one line of audit.log, the journal or the kernel log as a MAC denial.

    Returns None or a dict: source ('selinux' or 'apparmor'), line, time, epoch, level (None), kind
    (``avc_denied`` or ``apparmor_denied``), catalog (``mac_denied``), message (from ``avc:`` or
    ``apparmor=``), comm, pid, and for SELinux permission (``name_connect``, the permissions in the braces,
    space separated), dest (the port), scontext, tcontext, stype (the scontext's type, httpd_t for nginx),
    tclass, permissive (True, False, or None when the line does not say); for AppArmor operation, profile,
    family, sock_type, protocol, requested_mask, denied_mask, target (``name=`` or ``faddr:fport``).
    A dmesg line (``[  13.775195] ...``) gets its epoch from ``boot``, else from its audit stamp.
    """
    if not line:
        return None
    line = line.rstrip('\r\n')
    rec = None
    m = AVC.search(line)
    if m:
        f = _fields(m.group(2))
        permissive = f.get('permissive')
        rec = {'source': 'selinux', 'kind': 'avc_denied', 'permission': ' '.join(m.group(1).split()),
               'dest': _int(f.get('dest')), 'scontext': f.get('scontext'), 'tcontext': f.get('tcontext'),
               'stype': _type_of(f.get('scontext')), 'tclass': f.get('tclass'),
               'permissive': None if permissive is None else permissive == '1'}
    else:
        m = APPARMOR.search(line)
        if not m:
            return None
        f = _fields(m.group(2))
        target = f.get('name')
        if not target and f.get('faddr'):
            target = '%s:%s' % (f['faddr'], f.get('fport'))
        if not target:
            target = f.get('peer_addr')
        rec = {'source': 'apparmor', 'kind': 'apparmor_denied', 'operation': f.get('operation'),
               'profile': f.get('profile') or f.get('label'), 'family': f.get('family'), 'sock_type': f.get('sock_type'),
               'protocol': _int(f.get('protocol')), 'requested_mask': f.get('requested_mask'),
               'denied_mask': f.get('denied_mask'), 'target': None if target == 'none' else target}
    rec.update({'line': line, 'level': None, 'catalog': 'mac_denied', 'message': line[m.start():],
                'comm': f.get('comm'), 'pid': _int(f.get('pid'))})
    stamp, epoch = log_reader._prefix_time(line)  # pylint: disable=protected-access
    if epoch is None:
        epoch = log_reader.dmesg_time(line, boot)
    if epoch is None:
        epoch = audit_time(line)
    if stamp is None:
        a = AUDIT_STAMP.search(line)
        stamp = '%s.%s:%s' % a.groups() if a else None
    rec['time'], rec['epoch'] = stamp, epoch
    return rec


def is_nginx_denial(rec):
    """The denial is about nginx: its command, its AppArmor profile, or (SELinux) the httpd_t domain."""
    if not rec:
        return False
    if (rec.get('comm') or '').startswith('nginx'):
        return True
    if rec['source'] == 'apparmor':
        return 'nginx' in (rec.get('profile') or '')
    return rec.get('stype') == 'httpd_t'


def is_connect_denial(group):
    """A denial group that a TCP connect() answered with EACCES: name_connect on a tcp_socket, or an AppArmor
    connect of an inet / inet6 socket."""
    if group.get('kind') == 'avc_denied':
        return 'name_connect' in (group.get('permission') or '').split() and group.get('tclass') == 'tcp_socket'
    return group.get('operation') == 'connect' and group.get('family') in ('inet', 'inet6')


def _read_small(path, limit=4096):
    try:
        with open(path) as f:
            return f.read(limit)
    except (IOError, OSError, UnicodeDecodeError):
        return None


def _command(run, argv, timeout=10):
    """(rc, stdout text) of a command, or None when it is not there or did not finish."""
    try:
        rc, out, _err = run(argv, timeout)
    except (CommandError, OSError):
        return None
    return rc, out.decode('utf-8', 'replace')


def _boolean_text(text):
    """True / False of '1 1' (selinuxfs: current pending) or 'httpd_can_network_connect --> off' (getsebool)."""
    words = (text or '').replace('-->', ' ').split()
    if not words:
        return None
    value = words[-1] if '-->' in (text or '') else words[0]
    return {'1': True, 'on': True, '0': False, 'off': False}.get(value.lower())


def selinux_state(run, root='/', booleans=SELINUX_BOOLEANS):
    """{mode, source, booleans: {name: True/False/None}}, or None when this host has no SELinux at all.

    mode is enforcing, permissive or disabled (lower case); source says where it was read.
    """
    fs = os.path.join(root, 'sys/fs/selinux')
    mode, source = None, None
    enforce = _read_small(os.path.join(fs, 'enforce'), 16)
    if enforce is not None and enforce.strip() in ('0', '1'):
        mode, source = ('enforcing' if enforce.strip() == '1' else 'permissive'), '/sys/fs/selinux/enforce'
    else:
        answer = _command(run, ['getenforce'])
        if answer and answer[0] == 0 and answer[1].strip():
            mode, source = answer[1].strip().lower(), 'getenforce'
    if mode is None:
        return None
    values = {}
    for name in booleans:
        value = _boolean_text(_read_small(os.path.join(fs, 'booleans', name), 64))
        if value is None and mode != 'disabled':
            answer = _command(run, ['getsebool', name])
            value = _boolean_text(answer[1]) if answer and answer[0] == 0 else None
        values[name] = value
    return {'mode': mode, 'source': source, 'booleans': values}


def _bounded_profiles(profiles):
    ordered = sorted(profiles, key=lambda name: ('nginx' not in name, name))
    return dict((name, profiles[name]) for name in ordered[:MAX_PROFILES])


def apparmor_state(run, root='/'):
    """{enabled, source, profiles: {name: mode} (at most MAX_PROFILES, nginx's first), profiles_total}, or None
    when this kernel has no AppArmor and no aa-status answers."""
    enabled = _read_small(os.path.join(root, 'sys/module/apparmor/parameters/enabled'), 16)
    enabled = None if enabled is None else enabled.strip().upper().startswith('Y')
    text = _read_small(os.path.join(root, 'sys/kernel/security/apparmor/profiles'), 1024 * 1024)
    profiles, source = None, None
    if text is not None:
        profiles, source = {}, '/sys/kernel/security/apparmor/profiles'
        for row in text.splitlines():
            name, sep, mode = row.strip().rpartition(' (')
            if sep and mode.endswith(')'):
                profiles[name] = mode[:-1]
    else:
        answer = _command(run, ['aa-status', '--json'])
        if answer and answer[0] == 0:
            try:
                data = json.loads(answer[1])
            except ValueError:
                data = None
            if isinstance(data, dict) and isinstance(data.get('profiles'), dict):
                profiles, source = dict((str(k), str(v)) for k, v in data['profiles'].items()), 'aa-status --json'
    if enabled is None and profiles is None:
        return None
    if enabled is None:
        enabled = True
    return {'enabled': enabled, 'source': source, 'profiles': _bounded_profiles(profiles or {}),
            'profiles_total': len(profiles or {})}
