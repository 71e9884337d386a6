# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""firewall_block: a firewall drops or rejects the connection to the upstream port.

Title: a firewall drops or rejects traffic to the upstream port

Evidence: `upstream timed out (110: ...) while connecting to upstream` (DROP), `(113: No route to host)` or
`(111: ...)` (REJECT), while the service does listen

Decided: a listener exists, the connect probe fails, and an nftables / iptables / firewalld / ufw rule on the
nginx host's output path or the upstream host's input path matches: the finding quotes the rule (`confirmed:
true`, critical). When a connect times out or has no route and no rule that blocks it is found on the hosts in
the inventory, the finding says "no rule found that blocks ...", is a warning and carries `confirmed: false`:
the likeliest cause, not a proven one; `evidence.firewall_not_read` names the hosts whose ruleset could not be
read

Fix: role `firewall`: allow the port from the proxy hosts' addresses only, never from the world; taken back when
the proxy still cannot connect
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import Cause

CAUSE = Cause(__name__, __doc__, order=40, severity='critical',
              signature=('connect_timeout', 'connect_no_route', 'connect_unreachable', 'connect_refused'),
              fix_role='firewall')


@CAUSE.step('connect', 40)
def connect(ctx, target):
    if target.kind != 'tcp' or not target.failed:
        return
    rules = target.rules
    rejected = target.refused and any(r.get('verdict') == 'reject' for r in rules)
    if rules and (target.timed_out or target.no_route or target.listening or rejected):
        rule = rules[0]
        ctx.add(CAUSE.ID, target.key, '%s on %s (%s path) blocks %s: %s' % (
            rule.get('backend'), rule.get('host'), rule.get('direction'), target.text, rule.get('text')),
            target.evidence(), {'port': target.port, 'protocol': 'tcp', 'host': rule.get('host'),
                                'sources': ctx.source_addresses()},
            extra={'confirmed': True})
    elif target.timed_out or target.no_route:
        # no rule found: the likeliest cause, not a proven one (a firewall outside the inventory,
        # one this collection cannot read, or a host that is down): a warning, unconfirmed
        what = 'timed out' if target.timed_out else 'had no route'
        if target.listening:
            seen = 'although %s listens there' % (target.peer_name or 'the service')
        elif target.owner is None:
            seen = '(its host is not in the inventory)'
        else:
            seen = 'and nothing listens there'
        unread = ctx.firewalls_not_read(target.peer_name if target.peer is not None else None, target.peer)
        evidence = target.evidence()
        evidence['firewall_not_read'] = unread
        ctx.add(CAUSE.ID, target.key, 'no rule found that blocks %s on the hosts in the inventory, but connecting '
                'to it %s %s: unconfirmed, a firewall elsewhere is the likeliest cause%s' % (
                    target.text, what, seen,
                    '; no complete firewall ruleset was read from %s, so a rule there is not ruled out' % ', '.join(unread)
                    if unread else ''),
                evidence, {'port': target.port, 'protocol': 'tcp'}, extra={'confirmed': False, 'severity': 'warning'})
