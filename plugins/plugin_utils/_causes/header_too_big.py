# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""header_too_big: the upstream's response headers exceed nginx's buffer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ID = 'header_too_big'
CATALOG_ORDER = 80
SEVERITY = 'warning'
SIGNATURE = ('too_big_header',)
FIX_ROLE = 'proxy_buffers'
NOT_FIXABLE = None
DOC = {
    'title': "the upstream's response headers exceed nginx's buffer",
    'evidence': '`upstream sent too big header while reading response header from upstream`',
    'decided': '`proxy_buffer_size` / `fastcgi_buffer_size` of the route',
    'fix': "role `proxy_buffers`: sized from the upstream's real headers, measured with one request, keeping nginx's "
           'busy-buffers rule',
}
# the size planned before the role measures the real headers
PLACEHOLDER_SIZE = '16k'


def response(ctx, target):
    logs = ctx.logs_for(target.key, SIGNATURE)
    if not logs:
        return
    module = target.module() or 'proxy'
    size = (target.settings().get('buffers') or {}).get('buffer_size') or {}
    ctx.add(ID, target.key, 'the response headers of %s exceed %s_buffer_size %s' % (target.text, module, size.get('value')),
            {'log': ctx.evidence_logs(logs), 'buffer_size': size},
            {'directive': '%s_buffer_size' % module, 'value': PLACEHOLDER_SIZE, 'current': size.get('value')})


STEPS = (('response', 30, response),)
