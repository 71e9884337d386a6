# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""socket_mode_after_restart: a PHP-FPM socket the workers could not open once the pool recreates it.

Title: a PHP-FPM socket whose `listen.*` settings would refuse the nginx workers after a pool restart

Evidence: the pool's `listen` (a unix socket nginx passes to), `listen.owner`, `listen.group`, `listen.mode`
(PHP-FPM's defaults: the master's user, root, and 0660) or `listen.acl_users` / `listen.acl_groups`, and the nginx
worker user with its groups

Decided: from the settings, not the socket on disk (which a person may have changed by hand): PHP-FPM creates the
socket anew at each start, so a socket the workers can open today is refused after the next restart when the
settings give the worker user no write permission (`connect() to unix:... failed (13: Permission denied)`, 502).
With `listen.group` unset and `listen.owner` set, the group is taken to be the owner's name (Debian's and RHEL's
convention for service users)

Fix: `listen.owner` and `listen.group` naming the worker user, `listen.mode = 0660` (role `php_fpm_pool`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=270, severity='warning', signature=(), fix_role='php_fpm_pool')
LISTEN_SETTINGS = ('listen', 'listen.owner', 'listen.group', 'listen.mode', 'listen.acl_users', 'listen.acl_groups')


def refused(pool, identity):
    """Why the socket the pool's settings make refuses the identity, or None when it is allowed."""
    user, groups = identity.get('user'), set(identity.get('group_names') or [])
    if pool.get('listen_acl_users') or pool.get('listen_acl_groups'):
        if user in pool.get('listen_acl_users') or groups & set(pool.get('listen_acl_groups') or []):
            return None
        return 'listen.acl_users / listen.acl_groups name neither %s nor one of its groups' % user
    mode = pool.get('listen_mode_int')
    if mode is None:
        return None
    owner = pool.get('listen_owner') or 'root'
    group = pool.get('listen_group') or (pool.get('listen_owner') or 'root')
    if (user == owner and mode & 0o200) or (group in groups and mode & 0o020) or mode & 0o002:
        return None
    return 'the socket would be %s:%s %04o, not writable by %s (groups %s)' % (
        owner, group, mode, user, ','.join(sorted(groups)))


@CAUSE.step('audit', 70)
def audit(ctx):
    identity = ctx.checks.get('identity')
    if not identity:
        return
    for key in sorted(k for k in ctx.routes if k[0] == 'unix'):
        _cfg, pool = ctx.fpm_pool_at(key)
        if not pool:
            continue
        why = refused(pool, identity)
        if why is None:
            continue
        settings = pool.get('settings') or {}
        listen = dict((k, settings[k]) for k in LISTEN_SETTINGS if settings.get(k))
        ctx.add(CAUSE.ID, key, 'pool %s: after its next restart nginx workers (user %s) cannot open %s: %s' % (
            pool.get('name'), identity.get('user'), key[1], why),
            {'pool': pool.get('name'), 'pool_file': pool.get('file'), 'settings': listen,
             'identity': identity, 'socket_now': (ctx.checks.get('sockets') or {}).get(key[1])},
            fix_vars={'pool': pool.get('name'), 'pool_file': pool.get('file'), 'listen_owner': identity.get('user'),
                      'listen_group': (identity.get('group_names') or [None])[0], 'listen_mode': '0660'})
