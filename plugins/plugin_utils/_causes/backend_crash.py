# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""backend_crash: the backend dies mid-request.

Title: the backend dies mid-request

Evidence: `upstream prematurely closed connection`, `upstream prematurely closed FastCGI stdout`, `recv() failed
(104: Connection reset by peer)`; PHP-FPM `child N exited on signal 11`; PHP `Allowed memory size ... exhausted`

Decided: crash lines in nginx's log for the target that no other cause explains (a keepalive race explains
them); without one, crash lines in PHP-FPM's log or crash lines nginx wrote for no known target make one host-wide
finding

Fix: the application's own logs say why it dies; a crash is not hidden by a longer timeout
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=70, severity='warning',
              signature=('premature_close', 'reset', 'php_memory', 'child_signal', 'child_io'),
              not_fixable='the application dies mid-request: fix the application (its own logs say why)')
NGINX_KINDS = ('premature_close', 'reset', 'php_memory')
FPM_KINDS = ('child_signal', 'child_io')


@CAUSE.step('response', 20)
def response(ctx, target):
    logs = ctx.unexplained(ctx.logs_for(target.key, NGINX_KINDS))
    if logs:
        ctx.add(CAUSE.ID, target.key, '%s closed or reset the connection mid-request' % target.text,
                {'log': ctx.evidence_logs(logs)})


@CAUSE.step('host', 40)
def host(ctx):
    """Crash evidence in PHP-FPM's log, or nginx lines tied to no target, when no target had a crash finding."""
    if any(f['id'] == CAUSE.ID for f in ctx.findings):
        return
    groups = ctx.fpm_log_groups(FPM_KINDS)
    crash_logs = ctx.unexplained(ctx.logs_of_kind(NGINX_KINDS))
    if groups or crash_logs:
        ctx.add(CAUSE.ID, None, 'the backend dies mid-request (%s)' % ', '.join(
            sorted(set(g['kind'] for g in groups) | set(g['kind'] for _i, g in crash_logs))),
            {'php_fpm_log': groups, 'log': ctx.evidence_logs(crash_logs)}, routes=[])
