# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""What the audit's checks share: the routes of a host, one per location, and its PHP-FPM pools."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def routes(ctx, module=None):
    """[(target key, route)] of every location's pass (an upstream's route once, under the upstream's key),
    in the order of the configuration; only those of the pass module when given. The key is None for a pass
    whose host is a variable (no target to name)."""
    found = []
    for key, items in ctx.routes.items():
        for route in items:
            if route.get('upstream') is not None:
                continue  # a member's copy of the route: the route is listed under the upstream's key
            loc = route['settings']
            if module is None or (loc.get('pass') or {}).get('module') == module:
                found.append((None if key[0] == 'tcp' and not key[1] else key, route))
    return sorted(found, key=lambda kr: (str(kr[1]['location'].get('file')), kr[1]['location'].get('line') or 0))


def where(item):
    """'file:line' of a value of the facts (or of a route's location)."""
    return '%s:%s' % (item.get('file'), item.get('line'))


def seconds(value):
    return ('%.3f' % value).rstrip('0').rstrip('.')
