# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_report: the correlation and the fleet view, on the controller only.

The one place findings are made: every diagnosed host's evidence (the facts and checks
badgateway.nginx.nginx_diagnose set) is correlated with that of all the others (a target on another
inventory host is judged with that host's listeners and input firewall rules, found through one index
of the fleet's addresses), then report.json and report.html are written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import os
from urllib.parse import urlsplit

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import claimed_targets, diagnose, index_peers
from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import (
    build_report, console_lines, host_lines, render_html)

ARGUMENT_SPEC = dict(
    hosts=dict(type='list', elements='str'),
    report_dir=dict(type='path'),
    title=dict(type='str', default='nginx 502/504 diagnosis'),
    remediation=dict(type='bool', default=False),
)


def _url_claim(url):
    """An HTTP check's host:port is a service somebody uses: not a candidate for a mismatch."""
    try:
        parts = urlsplit(url or '')
        port = parts.port or (443 if parts.scheme == 'https' else 80)
    except ValueError:
        return set()
    return set([(parts.hostname, port)]) if parts.hostname else set()


def _write(path, text):
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def _check_diagnosis(name, diagnosis, nginx_facts):
    """Fail with a message naming the host and the field when its nginx_diagnosis fact has the wrong shape."""
    try:
        shape.check(diagnosis, shape.Dict({'checks': shape.CHECKS, 'note': shape.SCALAR}, required=('checks',)),
                    'nginx_diagnosis')
        if diagnosis.get('nginx') and nginx_facts is not None:
            shape.check(nginx_facts, shape.Dict(shape.FACTS.keys, required=('servers',)), 'ansible_facts.nginx')
    except shape.InputError as e:
        raise AnsibleActionFail('host %s: %s (the fact badgateway.nginx.nginx_diagnose sets)' % (name, e))


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail('; '.join(validation.error_messages))
        args = validation.validated_parameters
        if validate.no_nul('report_dir', args.get('report_dir')):
            raise AnsibleActionFail(validate.no_nul('report_dir', args['report_dir']))
        hostvars = task_vars.get('hostvars') or {}
        names = args['hosts'] if args['hosts'] is not None else task_vars.get('ansible_play_hosts') or []
        diagnosed = {}
        for name in names:
            facts = (hostvars.get(name) or {}).get('ansible_facts') or {}
            d = facts.get('nginx_diagnosis') or (hostvars.get(name) or {}).get('nginx_diagnosis')
            if d:
                _check_diagnosis(name, d, facts.get('nginx'))
                diagnosed[name] = (facts.get('nginx') if d.get('nginx') else None, d)
        peers = dict((name, d['checks']) for name, (_f, d) in diagnosed.items())
        peer_index = index_peers(peers)
        claimed = claimed_targets(f for f, _d in diagnosed.values() if f)
        for check_list in (d['checks'].get('http') or [] for _f, d in diagnosed.values()):
            for check in check_list:
                claimed.update(_url_claim(check.get('url')))
        hosts = {}
        for name, (facts, d) in diagnosed.items():
            try:
                findings = diagnose(name, facts, d['checks'], peers, claimed, peer_index) if facts is not None else []
            except (AttributeError, KeyError, TypeError, ValueError) as e:  # a shape _check_diagnosis does not describe
                raise AnsibleActionFail('nginx_diagnosis of host %s is malformed (%s: %s): gather it again with '
                                        'badgateway.nginx.nginx_diagnose' % (name, type(e).__name__, e))
            hosts[name] = {'findings': findings, 'nginx': d.get('nginx'), 'note': d.get('note')}
            if args['remediation']:
                hosts[name]['remediation'] = (hostvars.get(name) or {}).get('remediate_record') or {}
        missing = [n for n in names if n not in diagnosed]
        for name in missing:
            hosts[name] = {'findings': [], 'nginx': None, 'note': 'not diagnosed (unreachable or failed)'}
        generated = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        report = build_report(hosts, generated, args['title'])
        files = []
        if args['report_dir']:
            directory = os.path.expanduser(args['report_dir'])
            try:
                os.makedirs(directory, mode=0o700, exist_ok=True)
                _write(os.path.join(directory, 'report.json'), json.dumps(report, indent=2, sort_keys=True, default=str) + '\n')
                _write(os.path.join(directory, 'report.html'), render_html(report))
            except OSError as e:
                raise AnsibleActionFail('cannot write the report to %s: %s' % (directory, e.strerror or e))
            files = [os.path.join(directory, 'report.json'), os.path.join(directory, 'report.html')]
        result.update(changed=False, report=report, files=files, summary=console_lines(report),
                      lines=dict((name, host_lines(name, h)) for name, h in report['hosts'].items()))
        return result
