# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""no_live_upstreams: every server of an upstream {} block is marked failed.

Title: every server of an `upstream {}` block is marked failed

Evidence: `no live upstreams while connecting to upstream`

Decided: each member is checked on its own; the members' findings say why

Fix: fix the members; this line is a consequence, not a cause
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import target_key
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=100, severity='critical', signature=('no_live_upstreams',),
              not_fixable='every member of the upstream failed: the findings of its members say why')


@CAUSE.step('host', 10)
def host(ctx):
    for i, g in ctx.logs_of_kind(CAUSE.SIGNATURE):
        key = g['key'] if g['key'] and g['key'][0] == 'upstream' else ('upstream', None)
        name = key[1]
        up = (ctx.facts.get('upstreams') or {}).get(name) or {}
        members = []
        for m in up.get('servers') or []:
            mkey = target_key(m['target'])
            member_findings = [f['id'] for f in ctx.findings if f['target'] and target_key(f['target']) == mkey]
            members.append({'address': m.get('address'), 'file': m.get('file'), 'line': m.get('line'),
                            'probe': ctx.probes.get(mkey), 'findings': member_findings,
                            'max_fails': m.get('max_fails'), 'fail_timeout': m.get('fail_timeout'),
                            'backup': m.get('backup'), 'down': m.get('down')})
        failing = [m for m in members if m['findings'] or (m['probe'] or {}).get('result') not in (None, 'ok')]
        states = ', '.join('%s %s' % (m['address'], '/'.join(m['findings']) or (m['probe'] or {}).get('result'))
                           for m in failing) or '-'
        ctx.add(CAUSE.ID, key, 'every server of upstream %s was marked failed (%d of %d members fail now: %s)' % (
            name, len(failing), len(members), states),
            {'log': ctx.evidence_logs([(i, g)]), 'members': members}, {'members': [m['address'] for m in failing]},
            routes=ctx.routes.get(key, []),
            extra={'upstream': {'name': name, 'file': up.get('file'), 'line': up.get('line')}})
