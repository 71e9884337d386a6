# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""socket_permission: the nginx worker user cannot open the unix socket.

Title: the nginx worker user cannot open the unix socket

Evidence: `connect() to unix:PATH failed (13: Permission denied)`

Decided: the socket's owner, group and mode and every parent directory's search bit against the worker user's
uid and groups, judged and really tried as that user

Fix: role `php_fpm_pool`: the pool's `listen.owner` / `listen.group` / `listen.mode`
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=30, severity='critical', signature=('socket_permission', 'permission_denied'),
              fix_role='php_fpm_pool')


@CAUSE.step('connect', 10)
def connect(ctx, target):
    if target.kind != 'unix':
        return
    access = target.access
    judged_denied = bool(access and access.get('exists') and not access.get('can_connect') and target.result == 'ok')
    if not (target.as_user == 'permission_denied' or 'socket_permission' in target.log_kinds or judged_denied):
        return
    user = ctx.facts.get('user') or {}
    pool = target.pool
    reason = (access or {}).get('reason') or 'permission denied'
    ctx.add(CAUSE.ID, target.key, 'nginx workers (user %s) cannot open %s: %s' % (user.get('name'), target.path, reason),
            target.evidence(), {'pool': pool and pool.get('name'), 'pool_file': pool and pool.get('file'),
                                'listen_owner': user.get('name'), 'listen_group': user.get('group'),
                                'listen_mode': '0660'})
