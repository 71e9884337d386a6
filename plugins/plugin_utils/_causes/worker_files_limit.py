# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""worker_files_limit: more connections allowed than a worker may open files.

Title: `worker_connections` that a worker's open-file limit cannot hold

Evidence: `worker_connections` and `worker_processes`, `worker_rlimit_nofile`, and the real open-file limit of the
running nginx processes (`Max open files` of /proc/PID/limits)

Decided: `worker_connections` counts every connection of a worker, to clients and to upstreams, and each is a
descriptor besides those a worker holds at rest (its logs, listening sockets: the fewest any worker holds now); more
than the workers' soft limit (`worker_rlimit_nofile` when set, else what the master was started with) means a busy
worker fails with `(24: Too many open files)` before it reaches its connections (502)

Fix: `worker_rlimit_nofile` above `worker_connections` with room for the files a worker holds (and the service's
`LimitNOFILE`), or fewer `worker_connections`
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=250, severity='warning', signature=(),
              not_fixable='the open-file limit is the service manager\'s and nginx.conf\'s main context: raise '
                          'worker_rlimit_nofile and LimitNOFILE together')


def _int(item):
    value = str((item or {}).get('value') or '').strip()
    return int(value) if value.isdigit() else None


@CAUSE.step('audit', 50)
def audit(ctx):
    connections = _int(ctx.facts.get('worker_connections'))
    processes = (ctx.checks.get('resources') or {}).get('nginx_files') or []
    workers = [p for p in processes if p.get('role') == 'worker' and p.get('limit_soft')]
    if not connections or not workers:
        return
    limit = min(p['limit_soft'] for p in workers)
    at_rest = min(p.get('open_files') or 0 for p in workers)
    if connections + at_rest <= limit:
        return
    rlimit = ctx.facts.get('worker_rlimit_nofile') or {}
    wc = ctx.facts.get('worker_connections') or {}
    ctx.add(CAUSE.ID, None, 'worker_connections %d (%s:%s) and the %d files a worker holds need %d descriptors; the '
            'workers may open %d%s' % (connections, wc.get('file'), wc.get('line'), at_rest, connections + at_rest,
                                       limit, '' if rlimit.get('value') else ' (no worker_rlimit_nofile)'),
            {'worker_connections': wc, 'worker_processes': ctx.facts.get('worker_processes'),
             'worker_rlimit_nofile': rlimit, 'processes': processes}, routes=[])
