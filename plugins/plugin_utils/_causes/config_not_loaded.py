# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""config_not_loaded: the files on disk are not what the running nginx loaded.

Title: the files on disk are not what the running nginx loaded

Evidence: configuration files changed after the nginx master's last successful start or reload

Decided: the files' modification times against the start of the master's current worker generation (a failed
reload starts no new workers)

Fix: `nginx -t`, then reload, when the change is meant
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=150, severity='warning', signature=('changed_after_load',),
              not_fixable='the running nginx serves an older config than the files: a person decides when to reload')


@CAUSE.step('config', 30)
def config(ctx):
    loaded = ctx.facts.get('loaded') or {}
    changed = loaded.get('changed') or []
    if not changed:
        return
    names = [c.get('file') for c in changed if isinstance(c, dict)]
    shown = ', '.join(str(n) for n in names[:5]) + (' and %d more' % (len(names) - 5) if len(names) > 5 else '')
    ctx.add(CAUSE.ID, None, 'files on disk changed after the running nginx last loaded its config: %s; '
            'the facts describe a config that is not live' % shown, {'loaded': loaded}, routes=[])
