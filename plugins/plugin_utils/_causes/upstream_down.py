# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""upstream_down: nothing listens where nginx connects (the backend is stopped or crashed).

Title: the backend process is stopped or crashed

Evidence: `connect() failed (111: Connection refused) while connecting to upstream`; for a unix socket
`connect() to unix:PATH failed (2: No such file or directory)` or `(111: ...)` (stale socket file)

Decided: nothing listens at the target now (listeners from `/proc/net`, a connect probe), and no other service
the target could have meant listens nearby (see `target_mismatch`); a target that listens again now is history,
not a finding

Fix: role `backend_service`: start the systemd unit that should listen there, confirm it listens; never reload
nginx for this
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=10, severity='critical',
              signature=('connect_refused', 'socket_missing', 'socket_refused'), fix_role='backend_service')


def _php_fpm_service(ctx, path):
    """The PHP-FPM unit a socket path names (php8.2-fpm for /run/php/php8.2-fpm.sock), else the running one's."""
    if 'php' not in path:
        return None
    m = re.search(r'php(\d+\.\d+)', path)
    if m:
        return 'php%s-fpm' % m.group(1)
    units = sorted(set(p['unit'] for p in ((ctx.checks.get('php_fpm') or {}).get('processes') or {}).get('master') or []
                       if p.get('unit')))
    return units[0] if units else 'php-fpm'


@CAUSE.step('connect', 60)
def connect(ctx, target):
    if target.kind == 'unix':
        if not target.gone:
            return
        evidence = target.evidence()
        evidence['php_fpm_pools'] = [{'name': p.get('name'), 'listen': p.get('listen'), 'file': p.get('file'),
                                      'line': p.get('line')}
                                     for p in ctx.fpm_pools() if p.get('listen_path') and p.get('listen_path') != target.path]
        ctx.add(CAUSE.ID, target.key, 'nothing listens on %s (%s)' % (
            target.path, 'stale socket file' if target.result == 'refused' else 'no socket file'), evidence,
            {'service': _php_fpm_service(ctx, target.path)})
    elif target.kind == 'tcp' and target.refused and not target.listening:
        if target.owner is None:
            ctx.add(CAUSE.ID, target.key,
                    'connection to %s refused (the upstream host is not in the inventory)' % target.text,
                    target.evidence(), {'port': target.port})
        else:
            ctx.add(CAUSE.ID, target.key, 'nothing listens on %s%s' % (
                target.text, ' (%s)' % target.peer_name if target.peer_name else ''), target.evidence(), {'port': target.port})
