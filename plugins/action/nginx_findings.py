# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_findings: one host's findings from the fleet report, kept as its fact, and the host
failed when they have a severity the play fails on. One task on each host does both, on the controller, so a
fleet's diagnosis has no second per-host task that only checks a condition."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils._action import Action
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import SEVERITIES
from ansible_collections.badgateway.nginx.plugins.plugin_utils._fleet_report import of_severity

ARGUMENT_SPEC = dict(
    findings=dict(type='list', elements='dict', required=True),
    kind=dict(type='str', choices=['diagnosis', 'audit'], default='diagnosis'),
    fail_on=dict(type='list', elements='str', default=[], choices=list(SEVERITIES)),
)

# the fact each kind of report keeps, and what its findings are called in a failure
KINDS = {'diagnosis': ('nginx_diagnose_findings', 'findings'), 'audit': ('nginx_audit_findings', 'latent risks')}


class ActionModule(Action):

    ARGUMENT_SPEC = ARGUMENT_SPEC
    _requires_connection = False

    def act(self, result, task_vars, args):
        fact, noun = KINDS[args['kind']]
        result.update(changed=False, ansible_facts={fact: args['findings']})
        failing = of_severity(args['findings'], args['fail_on'])
        if failing:
            host = task_vars.get('inventory_hostname', 'this host')
            ids = sorted(set(str(f.get('id')) for f in failing))
            result.update(failed=True, msg='%s has %s of severity %s: %s' % (
                host, noun, ' or '.join(args['fail_on']), ', '.join(ids)))
        return result
