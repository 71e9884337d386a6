# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""dns_failure: a name nginx must connect to does not resolve.

Title: a name in a `*_pass` cannot be resolved

Evidence: `no resolver defined to resolve NAME`, `NAME could not be resolved (3: Host not found)`, at start-up
`host not found in upstream "NAME"`

Decided: the `resolver` directive, a variable in the `*_pass`, the name's resolution from the host (a probe that
cannot resolve the target), and `nginx -t` failing on the name

Fix: fix DNS for the name, or add a `resolver` (with `valid=`) when the `*_pass` holds variables
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=110, severity='critical',
              signature=('no_resolver', 'resolve_failed', 'host_not_found', 'unresolvable'),
              not_fixable='a name does not resolve: fix DNS or add a resolver (the right resolver is site knowledge)')
NGINX_T_HOST_NOT_FOUND = re.compile(r'host not found in upstream "([^"]+)"')


@CAUSE.step('config', 10)
def config(ctx):
    """nginx -t stops at start-up on a name it cannot resolve (the first error only: the one nginx -t reports)."""
    errors = (ctx.facts.get('validation') or {}).get('errors') or []
    if not errors or 'host not found in upstream' not in (errors[0].get('message') or ''):
        return
    err = errors[0]
    m = NGINX_T_HOST_NOT_FOUND.search(err['message'])
    name = m.group(1).rsplit(':', 1)[0] if m else None
    ctx.add(CAUSE.ID, ('tcp', name, None), 'nginx -t: %s at %s:%s' % (err['message'], err.get('file'), err.get('line')),
            {'validation': err}, {'name': name}, routes=[])


@CAUSE.step('connect', 30)
def connect(ctx, target):
    """The probe could not resolve the target's host name, and nothing else failed."""
    if target.kind == 'tcp' and not target.failed and target.result == 'unresolvable':
        ctx.add(CAUSE.ID, target.key, '%s cannot be resolved from this host' % target.host, target.evidence())


@CAUSE.step('host', 20)
def host(ctx):
    """nginx's resolver failed on a name at run time (a *_pass with variables).

    A line that names no host ("send() failed (111: ...) while resolving, resolver: ...") is about the
    resolver itself: it is evidence of the findings about names, or, when no line names one, the finding.
    """
    groups = ctx.logs_of_kind(('no_resolver', 'resolve_failed', 'host_not_found'))
    named = [(i, g) for i, g in groups if g.get('name') or g['key']]
    resolver_lines = ctx.evidence_logs([(i, g) for i, g in groups if not (g.get('name') or g['key'])])
    for i, g in named:
        name = g.get('name') or g['key'][1]
        routes = [r for k, rs in ctx.routes.items() for r in rs if k[0] == 'tcp' and k[1] == name]
        if not routes:
            routes = [r for k, rs in ctx.routes.items() for r in rs if (r['pass'].get('raw') or '').find('$') >= 0]
        evidence = {'log': ctx.evidence_logs([(i, g)]), 'resolver': ctx.facts.get('resolver')}
        if resolver_lines:
            evidence['resolver_errors'] = resolver_lines
        ctx.add(CAUSE.ID, ('tcp', name, None),
                ('no resolver is defined to resolve %s' % name) if g['kind'] == 'no_resolver'
                else '%s could not be resolved' % name,
                evidence, {'name': name, 'directive': 'resolver'}, routes=routes)
    if resolver_lines and not named:
        routes = [r for rs in ctx.routes.values() for r in rs if (r['pass'].get('raw') or '').find('$') >= 0]
        ctx.add(CAUSE.ID, None, 'nginx cannot get answers from its resolver (%s)' % (
            ', '.join(sorted(set(g['kind'].replace('_', ' ') for g in resolver_lines)))),
            {'log': resolver_lines, 'resolver': ctx.facts.get('resolver')}, {'directive': 'resolver'}, routes=routes)
