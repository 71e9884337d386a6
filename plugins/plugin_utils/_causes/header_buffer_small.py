# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""header_buffer_small: a backend's response header close to or over the route's proxy_buffer_size.

Title: a backend's response header that fills the route's `proxy_buffer_size`

Evidence: the audit's header probe (opt-in): one `GET` per `proxy_pass` route straight to its backend, the size of
the response header it sent, against the route's `proxy_buffer_size` (nginx's default 4k or 8k, one memory page)

Decided: a header larger than the buffer is refused by nginx today (critical: `upstream sent too big header`, 502);
one above three quarters of it fails as soon as a cookie or a redirect grows it (warning)

Fix: `proxy_buffer_size` (and `proxy_buffers` and `proxy_busy_buffers_size` with it, as nginx requires) above the
measured header (role `proxy_buffers`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes._audit import routes, where

CAUSE = Cause(__name__, __doc__, order=280, severity='warning', signature=(), fix_role='proxy_buffers')
NEAR = 0.75


@CAUSE.step('audit', 80)
def audit(ctx):
    by_location = dict(((r['settings'].get('file'), r['settings'].get('line')), (key, r)) for key, r in routes(ctx, 'proxy'))
    for probe in ctx.checks.get('headers') or []:
        loc = probe.get('location') or {}
        size = probe.get('header_bytes')
        found = by_location.get((loc.get('file'), loc.get('line')))
        if not size or not found:
            continue
        key, route = found
        buffer = (route['settings'].get('buffers') or {}).get('buffer_size') or {}
        limit = buffer.get('bytes')
        if not limit or size <= NEAR * limit:
            continue
        over = size > limit
        ctx.add(CAUSE.ID, key, '%s answers %s with a %d-byte header; proxy_buffer_size at %s is %s (%d bytes)%s' % (
            probe.get('url'), loc.get('match'), size, where(buffer) if buffer.get('file') else 'its default',
            buffer.get('value'), limit, ': nginx refuses it (502)' if over else ''),
            {'probe': probe, 'buffer_size': buffer}, fix_vars={'header_bytes': size}, routes=[route],
            extra={'severity': 'critical'} if over else None)
