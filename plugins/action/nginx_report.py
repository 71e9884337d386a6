# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_report: the correlation and the fleet view, on the controller only.

The one place findings are made: every diagnosed host's evidence (the facts and checks
badgateway.nginx.nginx_diagnose set) is correlated with that of all the others (a target on another
inventory host is judged with that host's listeners and input firewall rules, found through one index
of the fleet's addresses), then report.json and report.html are written. The body is
plugin_utils/_fleet_report, which the fleet benchmark times on its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible.errors import AnsibleActionFail

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _fleet_report as fleet
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _prometheus as prometheus
from ansible_collections.badgateway.nginx.plugins.plugin_utils._action import Action
from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import SEVERITIES
from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import console_lines, lines_by_host

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='str'),
    report_dir=dict(type='path'),
    title=dict(type='str'),
    remediation=dict(type='bool', default=False),
    audit=dict(type='bool', default=False),
    prometheus_dir=dict(type='path'),  # node_exporter's textfile collector directory
    fail_on=dict(type='list', elements='str', default=[], choices=list(SEVERITIES)),
    return_report=dict(type='bool', default=True),
)


def failing_hosts(report, severities):
    """The hosts with a finding of one of severities, sorted (none when severities is empty)."""
    wanted = frozenset(severities)
    return sorted(name for name, host in report['hosts'].items()
                  if any(f.get('severity') in wanted for f in host.get('findings') or ()))


class ActionModule(Action):

    ARGUMENT_SPEC = ARGUMENT_SPEC
    _requires_connection = False

    def act(self, result, task_vars, args):
        error = validate.first_error(*(validate.no_nul(k, args[k]) for k in ('report_dir', 'prometheus_dir')))
        if error:
            raise AnsibleActionFail(error)
        names = args['hosts'] if args['hosts'] is not None else task_vars.get('ansible_play_hosts') or []
        if args['audit'] and args['remediation']:
            raise AnsibleActionFail('audit and remediation are two kinds of report: set one of them')
        kind = 'audit' if args['audit'] else ('remediation' if args['remediation'] else 'diagnosis')
        title = args['title'] or ('nginx 502/504 audit' if args['audit'] else 'nginx 502/504 diagnosis')
        generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        try:
            report = fleet.fleet_report(task_vars.get('hostvars') or {}, names, generated, title,
                                        remediation=args['remediation'], audit=args['audit'])
            files = fleet.write_report(args['report_dir'], report) if args['report_dir'] else []
        except fleet.ReportError as e:
            raise AnsibleActionFail(str(e))
        if args['prometheus_dir']:  # the findings as gauges, <dir>/badgateway_nginx.prom
            try:
                text = prometheus.exposition(report, kind)
                files = files + [prometheus.write_textfile(args['prometheus_dir'], text, prometheus.filename(kind))]
            except prometheus.PrometheusError as e:
                raise AnsibleActionFail(str(e))
        by_host = lines_by_host(report)
        summary = console_lines(by_host) + (['report: ' + ', '.join(files)] if files else [])
        # without return_report the result carries the report's head only: every host's findings are most of what
        # Ansible copies, cleans and hands to the callbacks when it takes the result in (report.json has them)
        returned = report if args['return_report'] else dict((k, v) for k, v in report.items() if k != 'hosts')
        result.update(changed=False, report=returned, files=files, summary=summary, lines=by_host,
                      failing=failing_hosts(report, args['fail_on']))
        return result
