# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""header_too_big: the upstream's response headers exceed nginx's buffer.

Title: the upstream's response headers exceed nginx's buffer

Evidence: `upstream sent too big header while reading response header from upstream`

Decided: `proxy_buffer_size` / `fastcgi_buffer_size` of the route

Fix: role `proxy_buffers`: sized from the upstream's real headers, measured with one request, keeping nginx's
busy-buffers rule
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=80, severity='warning', signature=('too_big_header',), fix_role='proxy_buffers')
# the size planned before the role measures the real headers
PLACEHOLDER_SIZE = '16k'


@CAUSE.step('response', 30)
def response(ctx, target):
    logs = ctx.logs_for(target.key, CAUSE.SIGNATURE)
    if not logs:
        return
    module = target.module() or 'proxy'
    size = (target.settings().get('buffers') or {}).get('buffer_size') or {}
    ctx.add(CAUSE.ID, target.key,
            'the response headers of %s exceed %s_buffer_size %s' % (target.text, module, size.get('value')),
            {'log': ctx.evidence_logs(logs), 'buffer_size': size},
            {'directive': '%s_buffer_size' % module, 'value': PLACEHOLDER_SIZE, 'current': size.get('value')})
