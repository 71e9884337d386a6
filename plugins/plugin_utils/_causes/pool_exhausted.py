# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""pool_exhausted: PHP-FPM has no free child for the requests nginx passes to it.

Title: PHP-FPM has no free child

Evidence: PHP-FPM log `WARNING: [pool NAME] server reached pm.max_children setting (N)`; nginx `connect() to
unix:PATH failed (11: Resource temporarily unavailable)`

Decided: the pool reached `pm.max_children`; the pool's children's memory against available memory. The pool is
the one of the host's PHP-FPM whose `listen` (socket path, or TCP address and port) is the `fastcgi_pass`
target, and its warning, in PHP-FPM's own log within the log window, is enough: requests that only queued for a
free child leave no nginx line. Read timeouts (`while reading response header from upstream`) on that pool are
this cause, not `upstream_timeout`, when a warning of the pool was written between 60 s before the first
timed-out request was sent and 5 s after the last one was sent (a request is sent `fastcgi_read_timeout` before
nginx logs its timeout; PHP-FPM warns once when the pool fills up, checking once a second; both logs stamp whole
seconds)

Fix: role `php_fpm_pool`: `pm.max_children` sized from available memory and the children's measured size, within
a floor and a cap
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=60, severity='warning',
              signature=('socket_eagain', 'unavailable', 'max_children', 'busy', 'read_timeout'),
              fix_role='php_fpm_pool')

# A "server reached pm.max_children" warning of a pool explains nginx's read timeouts on it when it
# was written no earlier than QUEUE_BEFORE_SECONDS before the first timed-out request was sent and
# no later than QUEUE_AFTER_SECONDS after the last one was sent (a request is sent read_timeout
# seconds before nginx logs its timeout). PHP-FPM writes the warning once when a pool fills up, not
# once per queued request, so the first bound allows for a queue that formed a while before its
# requests waited longer than the read timeout; the second covers both logs' whole-second stamps
# (up to 1 s each), the once-a-second look of PHP-FPM's process manager and a busy host's delay.
QUEUE_BEFORE_SECONDS = 60
QUEUE_AFTER_SECONDS = 5
DEFAULT_READ_TIMEOUT = 60


def _add(ctx, key, evidence, pool, cfg=None):
    if cfg is None and pool:
        cfg = ctx.fpm_pool_at(key)[0]
    if pool and cfg:
        fpm_groups = ctx.fpm_pool_groups(cfg, pool, ('max_children', 'busy'))
    else:
        fpm_groups = ctx.fpm_log_groups(('max_children', 'busy'))
    evidence['php_fpm_log'] = fpm_groups
    evidence['pool'] = pool and {k: pool.get(k) for k in ('name', 'file', 'line', 'pm', 'max_children')}
    procs = ((ctx.checks.get('php_fpm') or {}).get('processes') or {}).get('pools') or {}
    evidence['processes'] = procs.get(pool.get('name')) if pool else None
    reached = [g for g in fpm_groups if g.get('kind') == 'max_children']
    summary = 'PHP-FPM pool %s has no free child (pm.max_children = %s)' % (
        pool and pool.get('name'), pool and pool.get('max_children'))
    if reached:
        summary += '; PHP-FPM logged "server reached pm.max_children" %d time(s), last at %s' % (
            sum(g.get('count') or 0 for g in reached), max(g.get('last_seen') or '' for g in reached))
    ctx.add(CAUSE.ID, key, summary, evidence, {'pool': pool and pool.get('name'), 'pool_file': pool and pool.get('file')})


@CAUSE.step('connect', 20)
def connect(ctx, target):
    """The socket answers EAGAIN: its listen backlog is full because no child accepts."""
    if target.kind == 'unix' and (target.result == 'unavailable' or 'socket_eagain' in target.log_kinds):
        _add(ctx, target.key, target.evidence(), target.pool)


@CAUSE.step('queue', 10)
def queue(ctx, target):
    """From PHP-FPM's log alone: requests that only queued leave no nginx line."""
    cfg, pool = ctx.fpm_pool_at(target.key)
    if not pool or not ctx.fpm_pool_groups(cfg, pool, ('max_children',)) or ctx.finding(CAUSE.ID, target.key):
        return
    _add(ctx, target.key, {'probe': target.probe or None, 'log': []}, pool, cfg)


def absorb_read_timeouts(ctx, target, logs):
    """The read-timeout log groups (of logs) that are requests which waited for a free child.

    nginx timed out waiting for the response header while PHP-FPM said the pool was full (within
    QUEUE_BEFORE_SECONDS / QUEUE_AFTER_SECONDS of when the requests were sent): those groups become
    evidence of this target's pool_exhausted finding and are no upstream_timeout (a longer read timeout
    would only hide the full pool).  Groups with a line of another phase (sending the request, reading
    the body) are left alone.  Returns the groups taken.
    """
    finding = ctx.finding(CAUSE.ID, target.key)
    cfg, pool = ctx.fpm_pool_at(target.key)
    if not finding or not pool:
        return []
    header = [(i, g) for i, g in logs if g.get('samples') and g.get('first_epoch') is not None and
              g.get('last_epoch') is not None and
              all('while reading response header from upstream' in x for x in g['samples'])]
    if not header:
        return []
    settings = target.settings()
    read = (settings.get('timeouts') or {}).get('read') or {}
    wait = read.get('seconds') or DEFAULT_READ_TIMEOUT
    earliest = min(g['first_epoch'] for _i, g in header) - wait - QUEUE_BEFORE_SECONDS
    latest = max(g['last_epoch'] for _i, g in header) - wait + QUEUE_AFTER_SECONDS
    warned = [e for g in ctx.fpm_pool_groups(cfg, pool, ('max_children',))
              for e in (g.get('epochs') or [g.get('first_epoch'), g.get('last_epoch')]) if e is not None]
    if not any(earliest <= e <= latest for e in warned):
        return []
    finding['evidence'].setdefault('log', []).extend(ctx.evidence_logs(header))
    finding['evidence']['read_timeout'] = read
    finding['summary'] += ('; the %d read timeout(s) nginx logged (%s_read_timeout %s) are requests that waited '
                           'for a free child' % (sum(g.get('count') or 0 for _i, g in header),
                                                 (settings.get('pass') or {}).get('module') or 'fastcgi',
                                                 read.get('value') or '%ds' % wait))
    return header
