# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""backend_crash: the backend dies mid-request."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ID = 'backend_crash'
CATALOG_ORDER = 70
SEVERITY = 'warning'
SIGNATURE = ('premature_close', 'reset', 'php_memory', 'child_signal', 'child_io')
FIX_ROLE = None
NOT_FIXABLE = 'the application dies mid-request: fix the application (its own logs say why)'
DOC = {
    'title': 'the backend dies mid-request',
    'evidence': '`upstream prematurely closed connection`, `upstream prematurely closed FastCGI stdout`, '
                '`recv() failed (104: Connection reset by peer)`; PHP-FPM `child N exited on signal 11`; PHP '
                '`Allowed memory size ... exhausted`',
    'decided': "crash lines in nginx's log for the target; without one, crash lines in PHP-FPM's log or crash lines "
               'nginx wrote for no known target make one host-wide finding',
    'fix': "the application's own logs say why it dies; a crash is not hidden by a longer timeout",
}
NGINX_KINDS = ('premature_close', 'reset', 'php_memory')
FPM_KINDS = ('child_signal', 'child_io')


def response(ctx, target):
    logs = ctx.logs_for(target.key, NGINX_KINDS)
    if logs:
        ctx.add(ID, target.key, '%s closed or reset the connection mid-request' % target.text,
                {'log': ctx.evidence_logs(logs)})


def host(ctx):
    """Crash evidence in PHP-FPM's log, or nginx lines tied to no target, when no target had a crash finding."""
    if any(f['id'] == ID for f in ctx.findings):
        return
    groups = ctx.fpm_log_groups(FPM_KINDS)
    crash_logs = ctx.logs_of_kind(NGINX_KINDS)
    if groups or crash_logs:
        ctx.add(ID, None, 'the backend dies mid-request (%s)' % ', '.join(
            sorted(set(g['kind'] for g in groups) | set(g['kind'] for _i, g in crash_logs))),
            {'php_fpm_log': groups, 'log': ctx.evidence_logs(crash_logs)}, routes=[])


STEPS = (('response', 20, response), ('host', 40, host))
