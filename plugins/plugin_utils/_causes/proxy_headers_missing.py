# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""proxy_headers_missing: a proxied route without the headers a modern reverse proxy sends.

Title: a proxied route without the headers a modern reverse proxy sends

Evidence: the headers nginx sends to the backend at the location (`proxy_set_header`, inherited as nginx inherits it:
all or nothing), its `proxy_http_version`, and with the audit's header probe whether the backend answers a WebSocket
handshake (101) on the route

Decided: a `proxy_pass` location that sends no `Host`, `X-Real-IP`, `X-Forwarded-For` or `X-Forwarded-Proto` of
its own, or speaks HTTP/1.0 (info: the backend sees nginx's address, the upstream's name as host, http for https, and
no keep-alive); a route whose backend answered the WebSocket handshake but that sends no `Upgrade` and `Connection`
over HTTP/1.1 (warning: every WebSocket connection through nginx fails)

Fix: `proxy_set_header Host $host`, `X-Real-IP $remote_addr`, `X-Forwarded-For $proxy_add_x_forwarded_for`,
`X-Forwarded-Proto $scheme`, `proxy_http_version 1.1`, and for WebSocket routes `Upgrade $http_upgrade` with
`Connection` from a `map` on `$http_upgrade` (role `proxy_headers`)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes._audit import routes, where

CAUSE = Cause(__name__, __doc__, order=210, severity='info', signature=(), fix_role='proxy_headers')
EXPECTED = ('Host', 'X-Real-IP', 'X-Forwarded-For', 'X-Forwarded-Proto')


def _sent(loc):
    return dict(((e.get('name') or '').lower(), e) for e in ((loc.get('headers') or {}).get('sent') or [])
                if not e.get('implicit'))


@CAUSE.step('audit', 10)
def audit(ctx):
    websocket = set(((h.get('location') or {}).get('file'), (h.get('location') or {}).get('line'))
                    for h in ctx.checks.get('headers') or [] if h.get('websocket'))
    for key, route in routes(ctx, 'proxy'):
        loc = route['settings']
        sent = _sent(loc)
        missing = [name for name in EXPECTED if name.lower() not in sent]
        version = (loc.get('http_version') or {}).get('value')
        selector = {'file': loc.get('file'), 'line': loc.get('line')}
        evidence = {'headers': loc.get('headers'), 'http_version': loc.get('http_version')}
        if (loc.get('file'), loc.get('line')) in websocket and \
                ('upgrade' not in sent or 'connection' not in sent or version != '1.1'):
            ctx.add(CAUSE.ID, key, 'the backend of %s at %s answers a WebSocket handshake, but the location sends no '
                    'Upgrade and Connection over HTTP/1.1: WebSocket connections through nginx fail'
                    % (loc.get('match'), where(loc)), dict(evidence, websocket=True),
                    fix_vars={'proxy_headers_locations': [selector], 'proxy_headers_websocket': [selector]},
                    routes=[route], extra={'severity': 'warning'})
        elif missing or version != '1.1':
            what = (['no %s' % ', '.join(missing)] if missing else []) + \
                (['HTTP/%s' % version] if version != '1.1' else [])
            ctx.add(CAUSE.ID, key, 'location %s at %s passes with %s' % (loc.get('match'), where(loc), ' and '.join(what)),
                    dict(evidence, missing=missing), fix_vars={'proxy_headers_locations': [selector]}, routes=[route])
