# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""fpm_children_sizing: a PHP-FPM pool sized past the host's memory, or with a listen queue shorter than its children.

Title: a PHP-FPM pool whose `pm.max_children` the host cannot hold, or whose `listen.backlog` is shorter than them

Evidence: the pool's `pm.max_children` and `listen.backlog`, the resident memory of its running children (their
average, measured), and the host's memory (MemAvailable plus what the pool's children use now)

Decided: `pm.max_children` times the children's average RSS is more than the memory the pool can have: under load
the kernel's OOM killer ends children or nginx itself (502); a `listen.backlog` set below `pm.max_children`: a burst
cannot even queue, and connections are refused (`(11: Resource temporarily unavailable)`, 502). Pools with no
child running are not sized (nothing to measure)

Fix: `pm.max_children` to what the memory holds with a reserve (role `php_fpm_pool`), `listen.backlog` at least
`pm.max_children`
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=240, severity='warning', signature=(), fix_role='php_fpm_pool')
# the share of the memory the pool may use that the proposed max_children leaves free
RESERVE = 0.2


def _mib(kb):
    return '%d MiB' % int(kb / 1024)


@CAUSE.step('audit', 40)
def audit(ctx):
    fpm = ctx.checks.get('php_fpm') or {}
    measured = (fpm.get('processes') or {}).get('pools') or {}
    memory = (ctx.checks.get('resources') or {}).get('memory') or {}
    available = memory.get('available_kb')
    for cfg in fpm.get('configs') or []:
        for pool in cfg.get('pools') or []:
            name, children = pool.get('name'), pool.get('max_children')
            settings = pool.get('settings') or {}
            backlog = settings.get('listen.backlog') or {}
            if children and backlog.get('value') is not None and str(backlog['value']).strip().lstrip('-').isdigit() \
                    and 0 <= int(backlog['value']) < children:
                ctx.add(CAUSE.ID, None, 'pool %s: listen.backlog %s at %s:%s is below pm.max_children %d: a burst is '
                        'refused instead of queued' % (name, backlog['value'], backlog.get('file'), backlog.get('line'),
                                                       children),
                        {'pool': name, 'listen.backlog': backlog, 'max_children': children},
                        fix_vars={'pool': name, 'pool_file': pool.get('file'), 'listen_backlog': children}, routes=[])
            info = measured.get(name) or {}
            rss = info.get('rss_kb_avg')
            if not children or not rss or not available:
                continue
            room = available + info.get('rss_kb_total', 0)
            need = children * rss
            if need <= room:
                continue
            fits = max(1, int(room * (1 - RESERVE) / rss))
            item = settings.get('pm.max_children') or {}
            ctx.add(CAUSE.ID, None, 'pool %s: pm.max_children %d at %s:%s times %s per child is %s, more than the %s '
                    'the host can give it: under load children or nginx are OOM-killed' % (
                        name, children, item.get('file'), item.get('line'), _mib(rss), _mib(need), _mib(room)),
                    {'pool': name, 'max_children': item, 'rss_kb_avg': rss, 'children_running': info.get('children'),
                     'memory': memory, 'needed_kb': need, 'room_kb': room},
                    fix_vars={'pool': name, 'pool_file': pool.get('file'), 'max_children': fits}, routes=[])
