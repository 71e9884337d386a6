# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""not_nginx: the 502 came from a CDN or another proxy in front of this host.

Title: the 502 came from a CDN or another proxy in front

Evidence: an HTTP check whose answer carries a `Server` header that is not nginx's

Decided: the HTTP checks of `nginx_diagnose_urls`

Fix: nothing on this host to change: look at the proxy or CDN that answered
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=130, severity='info', signature=('http_5xx_not_from_nginx',),
              not_fixable='the 502 comes from a proxy or CDN in front of this host')


@CAUSE.step('host', 50)
def host(ctx):
    for check in ctx.checks.get('http') or []:
        if check.get('status') in (502, 503, 504) and check.get('from_nginx') is False:
            ctx.add(CAUSE.ID, None, '%s answered %s from %s, not from nginx: the error comes from in front of this host'
                    % (check.get('url'), check.get('status'), check.get('server') or 'a server without a Server header'),
                    {'http': check}, routes=[])
