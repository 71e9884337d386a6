# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""keepalive_unused: an upstream's keepalive that nginx never uses.

Title: an upstream's `keepalive` that nginx never uses

Evidence: an `upstream` block with `keepalive`, and a `proxy_pass` location passing to it over HTTP/1.0 (nginx's
default) or with nginx's own `Connection: close` (no `proxy_set_header Connection ""`)

Decided: from the configuration: nginx then closes every upstream connection after one request, whatever
`keepalive` says; each request opens a new one (a TIME_WAIT socket each, and under load ports run out:
`cannot assign requested address`)

Fix: `proxy_http_version 1.1` and `proxy_set_header Connection ""` in the location (role `proxy_headers`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import reuses_connections
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes._audit import routes, where

CAUSE = Cause(__name__, __doc__, order=220, severity='info', signature=(), fix_role='proxy_headers')


@CAUSE.step('audit', 20)
def audit(ctx):
    upstreams = ctx.facts.get('upstreams') or {}
    for key, route in routes(ctx, 'proxy'):
        up = upstreams.get(key[1]) if key is not None and key[0] == 'upstream' else None
        loc = route['settings']
        if not up or not up.get('keepalive') or reuses_connections(loc):
            continue
        version = (loc.get('http_version') or {}).get('value')
        why = 'HTTP/%s' % version if version != '1.1' else 'the Connection header nginx sets to close'
        selector = {'file': loc.get('file'), 'line': loc.get('line')}
        ctx.add(CAUSE.ID, key, 'upstream %s sets keepalive (%s) but location %s at %s passes with %s: every '
                'connection is closed after one request' % (key[1], where(up['keepalive']), loc.get('match'),
                                                            where(loc), why),
                {'keepalive': up['keepalive'], 'http_version': loc.get('http_version'), 'headers': loc.get('headers')},
                fix_vars={'proxy_headers_locations': [selector], 'proxy_headers_set': {'Connection': '""'}},
                routes=[route])
