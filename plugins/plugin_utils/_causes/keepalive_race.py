# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""keepalive_race: nginx reuses an idle upstream connection the backend has just closed.

Title: nginx reuses an idle keep-alive connection the backend has just closed

Evidence: sporadic `upstream prematurely closed connection` or `recv() failed (104: Connection reset by peer)` for a
member of an `upstream` with `keepalive` that a `proxy_pass` location reaches over HTTP/1.1 with its `Connection`
header cleared (the connections are really kept); the node's measurement of that backend: one keep-alive request,
then the time until the backend closes the idle connection, shorter than the upstream's `keepalive_timeout`
(nginx's default 60s)

Decided: the failure lines for the member, no crash line for it (`Allowed memory size ... exhausted`), and a measured
idle close shorter than nginx's `keepalive_timeout`: nginx keeps the connection longer than the backend does, so a
request sent on it as the backend closes it fails (nginx retries an idempotent request on another connection; a
POST answers 502). Without the measurement, or when the backend kept the connection as long as nginx does, the
lines stay `backend_crash`. The audit judges it before it fires: every such member measured, without log lines

Fix: `keepalive_timeout` in the `upstream` block below the backend's idle close (half the measured time, rounded
down to 10 milliseconds, or to whole seconds from 2s), so nginx drops an idle connection before the backend does; through
one transaction with the host's other changes, validated, reloaded, verified through the route and rolled back on
any failure (role `proxy_timeouts`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.module_utils._logs import REUSE_FAILURE_KINDS
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=65, severity='warning', signature=REUSE_FAILURE_KINDS,
              fix_role='proxy_timeouts')
CRASH_KINDS = ('php_memory',)


def below(idle_seconds):
    """The keepalive_timeout to set for a backend that closes idle connections after idle_seconds."""
    ms = int(idle_seconds * 500) // 10 * 10
    if ms >= 2000:
        return '%ds' % (ms // 1000)
    return '%dms' % max(ms, 10)


def measurement(ctx, key):
    """The node's idle-close measurement of the TCP target (checks.keepalive), or None."""
    return next((m for m in ctx.checks.get('keepalive') or []
                 if key[0] == 'tcp' and (m.get('host'), m.get('port')) == (key[1], key[2])), None)


def racing(found):
    """Whether a measurement shows a backend that closes idle connections before nginx drops them."""
    return bool(found) and found.get('result') in ('closed', 'reset') and found.get('idle_close_s') is not None and \
        found.get('keepalive_timeout') is not None and found['idle_close_s'] < found['keepalive_timeout']


def _record(ctx, key, found, evidence, fails):
    upstream = ((ctx.facts.get('upstreams') or {}).get(found.get('upstream')) or {})
    setting = upstream.get('keepalive_timeout') or {}
    evidence = dict(evidence, keepalive=found,
                    keepalive_timeout={'value': setting.get('value') or '60s', 'default': not setting,
                                       'file': setting.get('file') or upstream.get('file'),
                                       'line': setting.get('line') or upstream.get('line')})
    ctx.add(CAUSE.ID, key, 'nginx keeps idle connections to %s (upstream %s) for %ss, the backend closes them after '
            '%ss: a request sent on one it has just closed %s' % (
                ctx.target(key)['text'], found.get('upstream'), _seconds(found['keepalive_timeout']),
                _seconds(found['idle_close_s']), fails), evidence,
            fix_vars={'upstream': found.get('upstream'), 'directive': 'keepalive_timeout',
                      'value': below(found['idle_close_s']), 'backend_idle_close': found['idle_close_s'],
                      'file': upstream.get('file'), 'line': upstream.get('line')})


@CAUSE.step('response', 10)
def response(ctx, target):
    found = measurement(ctx, target.key)
    if not racing(found):
        return
    logs = ctx.logs_for(target.key, REUSE_FAILURE_KINDS)
    if not logs or ctx.logs_for(target.key, CRASH_KINDS):
        return
    _record(ctx, target.key, found, {'log': ctx.evidence_logs(logs)}, 'fails')
    ctx.explained.update(i for i, _g in logs)


@CAUSE.step('audit', 90)
def audit(ctx):
    """Before it fires: every member the node measured (keepalive_probe=always) that closes idle connections sooner."""
    for found in ctx.checks.get('keepalive') or []:
        if racing(found):
            _record(ctx, ('tcp', found.get('host'), found.get('port')), found, {}, 'will fail')


def _seconds(value):
    return ('%.3f' % value).rstrip('0').rstrip('.')
