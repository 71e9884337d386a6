# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""dns_static: names nginx resolves once, or cannot resolve at all when a request needs it.

Title: host names nginx resolves only at start, or a variable pass with no resolver

Evidence: the host of each `*_pass` and `upstream` `server` (a name, not an address), a `*_pass` whose host is a
variable, and the `resolver` in effect at the location (with its `valid=`)

Decided: a variable `*_pass` with no `resolver` in effect (warning: each request answers 502, `no resolver defined
to resolve`); a `resolver` without `valid=` (info: cached by the records' TTL, which a CDN sets to seconds); a name
in `*_pass` or an `upstream` resolved once when nginx starts or reloads (info: when its address moves, nginx keeps
sending to the old one until a reload)

Fix: a `resolver` in the server (with `valid=`), and for names that move the variable form of `proxy_pass` or the
upstream server's `resolve` parameter (nginx 1.27.3)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes._audit import routes, where

CAUSE = Cause(__name__, __doc__, order=260, severity='info', signature=(),
              not_fixable='where to resolve and how often is the operator\'s choice: no role changes it')
ADDRESS = re.compile(r'^(\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-fA-F:]*:[0-9a-fA-F:.]*\]?)$')


def _named(host):
    return bool(host) and not ADDRESS.match(host) and host not in ('localhost',) and '$' not in host


@CAUSE.step('audit', 60)
def audit(ctx):
    upstreams = ctx.facts.get('upstreams') or {}
    resolvers = []
    for key, route in routes(ctx):
        loc = route['settings']
        p = loc.get('pass') or {}
        target = p.get('target') or {}
        resolver = loc.get('resolver')
        if resolver and resolver not in resolvers:
            resolvers.append(resolver)
        if target.get('kind') == 'variable' and not resolver:
            ctx.add(CAUSE.ID, None, '%s %s at %s has a variable host and no resolver is in effect: each request '
                    'answers 502 (no resolver defined to resolve)' % (p.get('directive'), target.get('raw'), where(p)),
                    {'pass': p}, routes=[route], extra={'severity': 'warning'})
        elif key is not None and key[0] == 'tcp' and _named(key[1]):
            ctx.add(CAUSE.ID, key, '%s at %s names %s, which nginx resolved once at start: an address change needs a '
                    'reload' % (p.get('directive'), where(p), key[1]), {'pass': p}, routes=[route])
    for name, up in sorted(upstreams.items()):
        for member in up.get('servers') or []:
            host = (member.get('target') or {}).get('host')
            if (member.get('target') or {}).get('kind') == 'tcp' and _named(host):
                ctx.add(CAUSE.ID, None, 'upstream %s server %s at %s is resolved once at start: an address change '
                        'needs a reload' % (name, member.get('address'), where(member)),
                        {'upstream': name, 'server': member}, routes=[])
    global_resolver = ctx.facts.get('resolver')
    if global_resolver and global_resolver not in resolvers:
        resolvers.append(global_resolver)
    for resolver in resolvers:
        if not resolver.get('valid'):
            ctx.add(CAUSE.ID, None, 'resolver %s at %s has no valid=: answers are cached for their TTL' % (
                resolver.get('value'), where(resolver)), {'resolver': resolver}, routes=[])
