# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""config_invalid: the configuration on disk does not pass nginx -t, or a file it reads does not parse.

Title: the configuration on disk does not pass `nginx -t`

Evidence: `nginx -t`'s own message with its file:line, or the syntax error found in a file that nginx would read

Decided: the rest of the configuration is still read and diagnosed; the broken file is named where nginx names
it, and every other file the parser finds broken gets a finding of its own (`nginx -t` stops at the first)

Fix: correct the file at the line the finding names, then `nginx -t` and reload
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=140, severity='critical', signature=('nginx_t_error', 'syntax_error'),
              not_fixable='nginx -t fails: the configuration needs a person (see the finding for file:line)')


@CAUSE.step('config', 20)
def config(ctx):
    seen = set()
    for i, err in enumerate((ctx.facts.get('validation') or {}).get('errors') or []):
        key = (err.get('file'), err.get('line'), err.get('message'))
        if key in seen:
            continue
        seen.add(key)
        where = '%s:%s: ' % (err.get('file'), err.get('line')) if err.get('file') else ''
        if i == 0 and 'host not found in upstream' in (err.get('message') or ''):
            continue  # dns_failure
        if i == 0:
            ctx.add(CAUSE.ID, None, 'nginx -t fails: %s%s' % (where, err.get('message')), {'validation': err}, routes=[])
        elif err.get('file') and err.get('line'):
            # a syntax error of another file (the facts' parser reads every file; nginx -t stops at the first)
            ctx.add(CAUSE.ID, None, 'the configuration does not parse: %s%s' % (where, err.get('message')),
                    {'validation': err}, routes=[])
