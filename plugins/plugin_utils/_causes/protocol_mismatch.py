# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""protocol_mismatch: nginx speaks the wrong protocol to the upstream (plain HTTP to TLS, or the reverse).

Title: nginx speaks the wrong protocol to the upstream

Evidence: `upstream sent invalid header`, `upstream sent no valid HTTP/1.0 header`, `SSL_do_handshake() failed
... while SSL handshaking to upstream`

Decided: plain HTTP to a port that completes a TLS handshake (or the reverse), found by a TLS probe; without the
probe's proof, the log lines alone, and then the other scheme is proposed only when the probe does not rule it
out (a backend that sends a broken header and speaks no TLS needs its own fix, not https)

Fix: role `upstream_target`: `http://` to `https://` or back
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=90, severity='critical',
              signature=('invalid_header', 'no_valid_http', 'ssl_handshake', 'fastcgi_record', 'tls'),
              fix_role='upstream_target')
PLAIN_SCHEMES = ('http', 'fastcgi', 'uwsgi', 'scgi', 'grpc')
LOG_KINDS = ('invalid_header', 'no_valid_http', 'ssl_handshake', 'fastcgi_record')


def _swap(raw, old, new):
    return {'from': raw, 'to': new + raw[len(old):]} if raw.startswith(old) else {}


@CAUSE.step('transport', 10)
def transport(ctx, target):
    """The TLS probe proves it: TLS answered where nginx talks plain, or no TLS where nginx talks https."""
    routes = target.routes()
    scheme = ((target.settings().get('pass') or {}).get('target') or {}).get('scheme') if routes else None
    tls = target.probe.get('tls')
    if not ((tls is True and scheme in PLAIN_SCHEMES) or
            (tls is False and scheme == 'https' and ctx.logs_for(target.key, ('ssl_handshake',)))):
        return
    logs = ctx.logs_for(target.key, ('premature_close', 'reset') + LOG_KINDS)
    raw = (routes[0]['pass'] or {}).get('raw') or ''
    if tls:
        fix = _swap(raw, 'http://', 'https://')
        summary = '%s speaks TLS, but nginx talks %s to it' % (target.text, scheme)
    else:
        fix = {'from': raw, 'to': raw.replace('https://', 'http://', 1)}
        summary = '%s does not speak TLS, but nginx talks https to it' % target.text
    ctx.add(CAUSE.ID, target.key, summary, {'log': ctx.evidence_logs(logs), 'probe': target.probe}, fix)


@CAUSE.step('response', 40)
def response(ctx, target):
    """The log lines alone: nginx could not read the answer as the protocol it speaks."""
    logs = ctx.logs_for(target.key, LOG_KINDS)
    if not logs:
        return
    kinds_seen = sorted(set(g['kind'] for _i, g in logs))
    raw = ((target.routes()[0]['pass'] if target.routes() else {}) or {}).get('raw') or ''
    fix = {}
    tls = target.probe.get('tls')
    # a scheme is proposed only when the TLS probe does not say the other one is wrong too
    if ('no_valid_http' in kinds_seen or 'invalid_header' in kinds_seen) and tls is not False:
        fix = _swap(raw, 'http://', 'https://')
    elif 'ssl_handshake' in kinds_seen and tls is not True:
        fix = _swap(raw, 'https://', 'http://')
    ctx.add(CAUSE.ID, target.key,
            'nginx and %s do not speak the same protocol (%s)' % (target.text, ', '.join(kinds_seen)),
            {'log': ctx.evidence_logs(logs)}, fix)
