# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""timeout_mismatch: nginx gives up on PHP before PHP's own limit.

Title: nginx gives up on a PHP-FPM pool before the pool's own time limit

Evidence: the route's `fastcgi_read_timeout` (nginx's default 60s) and the pool's `request_terminate_timeout` and
`max_execution_time` (`php_admin_value` or `php_value` of the pool) of the PHP-FPM pool the route passes to

Decided: the smaller of the pool's limits that are set (0 is no limit) is longer than nginx's read timeout: a request
that takes longer gets a 504 from nginx while the child keeps working up to its limit, and keeps a child busy for
nothing (a limit of twice nginx's or more is called far above)

Fix: the read timeout at the location up to the pool's limit, capped as the role caps it (role `proxy_timeouts`),
or a lower limit in the pool
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes._audit import routes, seconds, where

CAUSE = Cause(__name__, __doc__, order=230, severity='warning', signature=(), fix_role='proxy_timeouts')


def pool_limit(pool):
    """(seconds, setting) of the pool's shortest time limit that is set, or (None, None)."""
    limits = [(pool.get('request_terminate_timeout_seconds'), 'request_terminate_timeout'),
              (pool.get('max_execution_time'), 'max_execution_time')]
    found = sorted((s, name) for s, name in limits if s)
    return found[0] if found else (None, None)


@CAUSE.step('audit', 30)
def audit(ctx):
    for key, route in routes(ctx, 'fastcgi'):
        if key is None or key[0] not in ('tcp', 'unix'):
            continue
        _cfg, pool = ctx.fpm_pool_at(key)
        if not pool:
            continue
        limit, setting = pool_limit(pool)
        loc = route['settings']
        read = (loc.get('timeouts') or {}).get('read') or {}
        nginx_s = read.get('seconds')
        if not limit or nginx_s is None or nginx_s >= limit:
            continue
        far = ' (far above)' if limit >= 2 * nginx_s else ''
        ctx.add(CAUSE.ID, key, 'location %s at %s waits %ss (fastcgi_read_timeout) for pool %s, whose %s is %ss%s: '
                'a longer request is a 504 while the child works on' % (
                    loc.get('match'), where(loc), seconds(nginx_s), pool.get('name'), setting, seconds(limit), far),
                {'read_timeout': read, 'pool': {'name': pool.get('name'), 'file': pool.get('file'), setting: limit}},
                fix_vars={'directive': 'fastcgi_read_timeout', 'value': '%ds' % int(limit)}, routes=[route])
