# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_diagnose: two module executions per host, correlation on the controller.

1. the nginx_facts module returns the configuration as nginx read it (parsed here with nginx's own syntax rules);
2. the nginx_probe module checks every target the configuration names, the worker user's access to
   unix sockets, listeners, firewall, logs, PHP-FPM and resources;
then the findings are built here, on the controller.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate
from ansible_collections.badgateway.nginx.plugins.plugin_utils._facts import ConfigError, build_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import diagnose, probe_targets

ARGUMENT_SPEC = dict(
    nginx_bin=dict(type='path'),
    config=dict(type='path'),
    prefix=dict(type='path'),
    log_lines=dict(type='int', default=5000),
    log_since=dict(type='int', default=0),
    redact_query=dict(type='bool', default=True),
    redact_client=dict(type='bool', default=False),
    php_fpm=dict(type='bool', default=True),
    firewall=dict(type='bool', default=True),
    resources=dict(type='bool', default=True),
    urls=dict(type='list', elements='dict', default=[], options=dict(
        url=dict(type='str', required=True), host=dict(type='str'))),
    timeout=dict(type='float', default=3),
    journal_dir=dict(type='path', default='/var/lib/badgateway-nginx'),
    peers=dict(type='dict', default={}),
)
NOT_FILES = ('stderr', '/dev/stderr', '/dev/null')


def error_log_paths(facts):
    paths = []
    for log in (facts or {}).get('error_log') or []:
        path = log.get('path')
        if not path or path in NOT_FILES or path.startswith(('syslog:', 'memory:')) or not path.startswith('/'):
            continue
        if path not in paths:
            paths.append(path)
    return paths


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False
    _module_executions = 0

    def _run_module(self, name, module_args, task_vars):
        """_execute_module, counted: the diagnosis reports the module executions it really made."""
        self._module_executions += 1
        return self._execute_module(module_name=name, module_args=module_args, task_vars=task_vars)

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        shape = validate.shape_error(self._task.args, ARGUMENT_SPEC)
        if shape:
            raise AnsibleActionFail(shape)
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail('; '.join(validation.error_messages))
        args = validation.validated_parameters
        error = validate.first_error(*([validate.no_nul(k, args[k]) for k in ('nginx_bin', 'config', 'prefix', 'journal_dir')]
                                       + [validate.single_line('urls[%d].%s' % (i, k), u.get(k))
                                          for i, u in enumerate(args['urls']) for k in ('url', 'host')]))
        if error:
            raise AnsibleActionFail(error)
        host = task_vars.get('inventory_hostname', 'localhost')

        fact_args = dict((k, args[k]) for k in ('nginx_bin', 'config', 'prefix') if args[k])
        self._module_executions = 0
        fact_result = self._run_module('badgateway.nginx.nginx_facts', fact_args, task_vars)
        raw = fact_result.get('nginx_raw')
        facts = None
        nginx_note = None
        if fact_result.get('failed') or raw is None:
            msg = fact_result.get('msg') or 'nginx_facts failed'
            if 'nginx binary' in msg and 'not found' in msg and not args['nginx_bin']:
                nginx_note = 'nginx is not installed here: only the upstream-side checks ran'
            else:
                result.update(failed=True, msg='nginx facts: %s' % msg)
                return result
        else:
            try:
                facts = build_facts(raw)
            except ConfigError as e:
                result.update(failed=True, msg='nginx facts: %s' % e, validation=raw.get('validation'))
                return result

        tcp, unix = probe_targets(facts)
        probe_args = {
            'tcp_targets': tcp, 'unix_targets': unix,
            'nginx_user': ((facts or {}).get('user') or {}).get('name') or 'www-data',
            'error_logs': error_log_paths(facts),
            'http_checks': args['urls'],
        }
        group = ((facts or {}).get('user') or {}).get('group')
        if group:
            probe_args['nginx_group'] = group
        for key in ('log_lines', 'log_since', 'redact_query', 'redact_client', 'php_fpm', 'firewall', 'resources',
                    'timeout', 'journal_dir'):
            probe_args[key] = args[key]
        probe_result = self._run_module('badgateway.nginx.nginx_probe', probe_args, task_vars)
        if probe_result.get('failed'):
            result.update(failed=True, msg='nginx probe: %s' % probe_result.get('msg'))
            return result
        checks = probe_result['checks']
        findings = diagnose(host, facts, checks, args['peers'])
        diagnosis = {
            'host': host, 'nginx': facts is not None, 'note': nginx_note, 'findings': findings,
            'checks': checks, 'module_executions': self._module_executions,
            'summary': {'findings': len(findings), 'ids': sorted(set(f['id'] for f in findings))},
        }
        ansible_facts = {'nginx_diagnosis': diagnosis}
        if facts is not None:
            ansible_facts['nginx'] = facts
        result.update(changed=False, ansible_facts=ansible_facts, findings=findings)
        return result
