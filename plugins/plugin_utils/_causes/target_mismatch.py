# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""target_mismatch: a *_pass points somewhere other than where the running service listens.

Title: a `*_pass` points at a host, port, socket path or scheme other than the one the service listens on

Evidence: as `upstream_down`, while the service **is** running

Decided: the port is bound only at another address of the host, or a service nobody proxies to listens a few
ports away (less than 100; each such listener explains one target at most, closest port first), or PHP-FPM
listens on another socket

Fix: role `upstream_target`: re-point the `*_pass` or the upstream member to the live listener, `nginx -t`,
reload
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=20, severity='critical',
              signature=('connect_refused', 'socket_missing', 'socket_refused'), fix_role='upstream_target')


@CAUSE.step('connect', 50)
def connect(ctx, target):
    if target.kind == 'unix':
        if not target.gone:
            return
        alive = ctx.alternatives(ctx.checks, target.key)
        if alive:
            evidence = target.evidence()
            evidence['listening_instead'] = alive
            ctx.add(CAUSE.ID, target.key, 'nothing listens on %s, while %s listens on %s' % (
                target.path, alive[0].get('process') or 'a service', ', '.join(a['path'] for a in alive)), evidence,
                {'from': 'unix:%s' % target.path, 'to': 'unix:%s' % alive[0]['path']})
        return
    if target.kind != 'tcp' or not target.refused or target.listening or target.owner is None:
        return
    host, port = target.host, target.port
    bound_elsewhere = [x for x in (target.owner.get('listeners') or {}).get('tcp', []) if x['port'] == port]
    evidence = target.evidence()
    if bound_elsewhere:
        evidence['listening_instead'] = bound_elsewhere
        ctx.add(CAUSE.ID, target.key, '%s listens on port %d only at %s, not at %s' % (
            bound_elsewhere[0].get('process') or 'a service', port, ', '.join(x['address'] for x in bound_elsewhere), host),
            evidence, {'from': '%s:%d' % (host, port), 'to': '%s:%d' % (bound_elsewhere[0]['address'], port)})
    elif target.key in ctx.assigned:
        best = ctx.assigned[target.key]
        evidence['listening_instead'] = [best]
        ctx.add(CAUSE.ID, target.key, 'nothing listens on %s; %s listens on port %d' % (
            target.text, best.get('process') or 'a service', best['port']), evidence,
            {'from': '%s:%d' % (host, port), 'to': '%s:%d' % (host, best['port'])})
