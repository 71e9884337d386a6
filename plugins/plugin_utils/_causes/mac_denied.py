# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""mac_denied: SELinux or AppArmor forbids nginx to connect to the upstream port.

Title: SELinux or AppArmor forbids nginx to connect to the upstream

Evidence: `connect() to ADDR:PORT failed (13: Permission denied) while connecting to upstream` over TCP (no file
mode is involved: the kernel's mandatory access control said no), with an SELinux AVC denial `avc: denied {
name_connect } for ... comm="nginx" dest=PORT ... tclass=tcp_socket` in `/var/log/audit/audit.log`, or an
AppArmor `apparmor="DENIED" operation="connect" profile="..." family="inet"` in audit.log or the kernel log

Decided: before firewall_block, for a TCP target. A name_connect AVC for nginx (`permissive=0`) to the port, or
SELinux enforcing (`/sys/fs/selinux/enforce`, `getenforce`) with `httpd_can_network_connect` off
(`/sys/fs/selinux/booleans`, `getsebool`) and an errno 13 in nginx's log: critical, `confirmed: true`, naming the
boolean. An AppArmor DENIED connect of an inet socket by the nginx profile and an errno 13: critical, naming the
profile. An errno 13 with SELinux enforcing and the boolean unreadable, or the nginx AppArmor profile in enforce
mode and no denial line read: a warning, `confirmed: false`. An errno 13 with none of this evidence is left to
the other causes, as before; an `(1: Operation not permitted)` is a firewall on the output path, not this

Fix: SELinux: `setsebool -P httpd_can_network_connect 1` (or, narrower, `semanage port -a -t http_port_t -p tcp
PORT`); AppArmor: add `network inet stream,` (and `network inet6 stream,`) to the profile and reload it with
`apparmor_parser -r /etc/apparmor.d/PROFILE`, or `aa-complain PROFILE` to confirm the diagnosis first
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.module_utils._mac import is_connect_denial
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=45, severity='critical',
              signature=('connect_denied', 'avc_denied', 'apparmor_denied'),
              not_fixable='changed only when asked: an SELinux boolean or an AppArmor profile is the host\'s '
                          'security policy, so the finding names the boolean or profile and the command, and '
                          'the collection does not run it')
BOOLEAN = 'httpd_can_network_connect'


def _eacces(groups):
    """The connect_denied groups whose lines carry errno 13 (EACCES), not 1 (EPERM: a firewall's output path)."""
    return [(i, g) for i, g in groups if any('(13: ' in s for s in g.get('samples') or ()) or not g.get('samples')]


def _selinux(se, port, logged):
    """(summary, fix vars, confirmed, denials) of SELinux for the port, or None."""
    denials = [g for g in se.get('denials') or () if is_connect_denial(g) and g.get('permissive') is not True
               and g.get('dest') in (None, port)]
    if not logged:
        denials = [g for g in denials if g.get('dest') == port]
    mode = se.get('mode')
    boolean = (se.get('booleans') or {}).get(BOOLEAN)
    if not denials and not (logged and mode == 'enforcing' and boolean is not True):
        return None
    fix = {'mechanism': 'selinux', 'boolean': BOOLEAN, 'command': 'setsebool -P %s 1' % BOOLEAN,
           'narrower': 'semanage port -a -t http_port_t -p tcp %s' % port}
    fix['how'] = fix['command']
    if denials:
        g = denials[0]
        why = 'SELinux denied name_connect to port %s for %s (%s -> %s): %s' % (
            g.get('dest') or port, g.get('comm') or 'nginx', g.get('scontext'), g.get('tcontext'),
            'the boolean %s is %s' % (BOOLEAN, {False: 'off', True: 'on', None: 'not readable'}[boolean]))
        return why, fix, True, denials
    if boolean is False:
        return ('SELinux is enforcing and %s is off: nginx (httpd_t) may not connect to port %s' % (BOOLEAN, port),
                fix, True, [])
    return ('SELinux is enforcing and %s could not be read; no AVC denial was read: unconfirmed' % BOOLEAN,
            fix, False, [])


def _profile_file(profile):
    return '/etc/apparmor.d/%s' % profile.lstrip('/').replace('/', '.') if profile.startswith('/') else None


def _apparmor(aa, logged):
    """(summary, fix vars, confirmed, denials) of AppArmor, or None (its lines carry no port: an errno 13 is needed)."""
    if not logged or not aa.get('enabled', True):
        return None
    denials = [g for g in aa.get('denials') or () if is_connect_denial(g)]
    enforced = [name for name, mode in sorted((aa.get('profiles') or {}).items()) if 'nginx' in name and mode == 'enforce']
    if not denials and not enforced:
        return None
    profile = (denials[0].get('profile') if denials else None) or enforced[0]
    path = _profile_file(profile) or '/etc/apparmor.d/PROFILE'
    fix = {'mechanism': 'apparmor', 'profile': profile, 'profile_file': _profile_file(profile),
           'rule': 'network inet stream,', 'command': 'apparmor_parser -r %s' % path,
           'test_command': 'aa-complain %s' % profile}
    fix['how'] = 'add "network inet stream," to %s, then %s (or %s to confirm first)' % (
        path, fix['command'], fix['test_command'])
    if denials:
        g = denials[0]
        return ('AppArmor profile %s denied %s a %s %s connect (denied_mask "%s")' % (
            profile, g.get('comm') or 'nginx', g.get('family'), g.get('sock_type'), g.get('denied_mask')),
            fix, True, denials)
    return ('AppArmor profile %s confines nginx in enforce mode and no denial line was read: unconfirmed' % profile,
            fix, False, [])


@CAUSE.step('connect', 35)
def connect(ctx, target):
    if target.kind != 'tcp':
        return
    mac = ctx.checks.get('mac') or {}
    denied_logs = _eacces(ctx.logs_for(target.key, ('connect_denied',)))
    found = None
    for name, decide in (('selinux', lambda s: _selinux(s, target.port, bool(denied_logs))),
                         ('apparmor', lambda s: _apparmor(s, bool(denied_logs)))):
        if mac.get(name):
            found = decide(mac[name])
            if found:
                break
    if not found:
        return
    summary, fix, confirmed, denials = found
    evidence = target.evidence()
    evidence['log'] = ctx.evidence_logs(denied_logs + target.connect_logs)
    state = dict((k, v) for k, v in (mac.get(fix['mechanism']) or {}).items() if k not in ('denials', 'profiles'))
    if fix['mechanism'] == 'apparmor':
        state['profile_mode'] = ((mac.get('apparmor') or {}).get('profiles') or {}).get(fix['profile'])
    evidence['mac'] = dict(state, mechanism=fix['mechanism'], denials=denials)
    ctx.add(CAUSE.ID, target.key, 'nginx may not connect to %s: %s; fix: %s' % (target.text, summary, fix['how']),
            evidence, fix, extra={'confirmed': confirmed} if confirmed else {'confirmed': False, 'severity': 'warning'})
