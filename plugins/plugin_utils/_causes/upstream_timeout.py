# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""upstream_timeout: the backend is slower than nginx waits (a 504).

Title: the backend is slower than nginx waits (a 504)

Evidence: `upstream timed out (110: ...) while reading response header from upstream`

Decided: the route's `*_read_timeout` against the backend's own limit (`request_terminate_timeout`,
`max_execution_time`); a timeout `while sending request to upstream` is the route's `*_send_timeout` (the
backend did not read the request body in time); not when the target is a PHP-FPM pool that reached
`pm.max_children` while the timed-out requests waited (see `pool_exhausted`)

Fix: role `proxy_timeouts`: raise the read timeout at the failing locations only, at least to the backend's
limit (60 s at least; twice the current value when that is already above the limit)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause, pool_exhausted

CAUSE = Cause(__name__, __doc__, order=50, severity='warning', signature=('read_timeout',), fix_role='proxy_timeouts')
MINIMUM_SECONDS = 60
# the phase nginx names at the end of the line: sending the request (proxy_send_timeout) or reading the answer
SEND_PHASE = 'while sending request to upstream'


def phase(logs):
    """'send' when every sample line of the groups timed out while sending the request, else 'read'."""
    samples = [line for _i, g in logs for line in g.get('samples') or []]
    return 'send' if samples and all(SEND_PHASE in line for line in samples) else 'read'


def backend_limit(ctx, key):
    """{pool, seconds, file} of the PHP-FPM pool behind the target: its request_terminate_timeout or max_execution_time."""
    if key[0] == 'unix':
        pool = next((p for p in ctx.fpm_pools() if p.get('listen_path') == key[1]), None)
    else:
        pool = next((p for p in ctx.fpm_pools() if p.get('listen_port') == key[2]), None)
    if not pool:
        return None
    seconds = pool.get('request_terminate_timeout_seconds')
    if not seconds and pool.get('max_execution_time'):
        try:
            seconds = float(pool['max_execution_time'])
        except (TypeError, ValueError):
            seconds = None
    return {'pool': pool.get('name'), 'seconds': seconds, 'file': pool.get('file')}


@CAUSE.step('response', 10)
def response(ctx, target):
    logs = ctx.logs_for(target.key, CAUSE.SIGNATURE)
    if not logs:
        return
    queued = pool_exhausted.absorb_read_timeouts(ctx, target, logs)
    logs = [x for x in logs if x not in queued]
    if not logs:
        return
    module = target.module() or 'proxy'
    stage = phase(logs)
    current = (target.settings().get('timeouts') or {}).get(stage) or {}
    # the backend's own limit is how long it may take to answer, not to read the request
    limit = backend_limit(ctx, target.key) if stage == 'read' else None
    wanted = max(MINIMUM_SECONDS, int(limit['seconds'])) if limit and limit.get('seconds') else MINIMUM_SECONDS
    if current.get('seconds') and current['seconds'] >= wanted:
        wanted = int(current['seconds']) * 2
    directive = '%s_%s_timeout' % (module, stage)
    fix = {'directive': directive, 'value': '%ds' % wanted,
           'current': current.get('value'), 'current_file': current.get('file'), 'current_line': current.get('line')}
    summary = '%s did not %s within %s %s (%s)' % (
        target.text, 'read the request' if stage == 'send' else 'answer', directive, current.get('value'),
        'nginx default' if current.get('default') else '%s:%s' % (current.get('file'), current.get('line')))
    evidence = {'log': ctx.evidence_logs(logs), '%s_timeout' % stage: current, 'backend_limit': limit}
    ctx.add(CAUSE.ID, target.key, summary, evidence, fix)
