# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""resource_limits: the host runs out of file descriptors, connections, ports, memory or disk.

Title: the host runs out of something

Evidence: `socket() failed (24: Too many open files)`, `N worker_connections are not enough`, `(99: Cannot
assign requested address)`; kernel `Out of memory: Killed process N`; a full disk

Decided: `worker_rlimit_nofile` and the processes' open-file limit, memory (under 5 % available), disk (95 %
full), open files (90 % of the limit); kernel lines only from the log window being diagnosed (`log_since` and
the last commit): kern.log / messages lines by their syslog or RFC 3339 time, dmesg lines by `/proc/stat` btime
plus their seconds-since-boot stamp

Fix: size the host or the service (memory, `worker_rlimit_nofile`, `worker_connections`, disk)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=120, severity='warning',
              signature=('too_many_open_files', 'worker_connections', 'cannot_assign', 'oom_kill'),
              not_fixable='the host runs out of resources: size the host or the service, not a directive')
LOG_KINDS = ('too_many_open_files', 'worker_connections', 'cannot_assign')


@CAUSE.step('host', 30)
def host(ctx):
    res = ctx.checks.get('resources') or {}
    logs = ctx.logs_of_kind(LOG_KINDS)
    evidence = {'log': ctx.evidence_logs(logs)} if logs else {}
    problems = []
    oom = res.get('oom') or []
    if oom:
        evidence['oom'] = oom
        problems.append('the kernel killed %d process(es) for lack of memory' % sum(g.get('count', 1) for g in oom))
    mem = res.get('memory') or {}
    if mem.get('total_kb') and mem.get('available_kb') is not None and mem['available_kb'] < 0.05 * mem['total_kb']:
        evidence['memory'] = mem
        problems.append('only %d MiB of %d MiB memory available' % (mem['available_kb'] // 1024, mem['total_kb'] // 1024))
    for disk in res.get('disks') or []:
        if disk.get('used_percent', 0) >= 95:
            evidence.setdefault('disks', []).append(disk)
            problems.append('%s is %s%% full' % (disk['paths'][0], disk['used_percent']))
    for proc in res.get('nginx_files') or []:
        if proc.get('limit_soft') and proc.get('open_files') is not None and proc['open_files'] >= 0.9 * proc['limit_soft']:
            evidence.setdefault('nginx_files', []).append(proc)
            problems.append('nginx pid %d has %d of %d files open' % (proc['pid'], proc['open_files'], proc['limit_soft']))
    if logs:
        problems.insert(0, ', '.join(sorted(set(g['kind'].replace('_', ' ') for _i, g in logs))))
    if problems:
        ctx.add(CAUSE.ID, None, 'this host runs out of resources: %s' % '; '.join(problems), evidence,
                {'worker_rlimit_nofile': (ctx.facts.get('worker_rlimit_nofile') or {}).get('value'),
                 'worker_connections': (ctx.facts.get('worker_connections') or {}).get('value')}, routes=[])
