# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_diagnose: the evidence of one host, in one module execution.

The nginx_probe module runs once with discover=true: it reads the configuration as nginx reads it,
finds the targets, logs and worker user in it and checks them all (probes, unix socket access,
listeners, firewall, logs, PHP-FPM, resources).  Here, on the controller, the facts are built from
the configuration it returns (stored compact unless ``verbose: true``, as nginx_facts does).  No finding is made here: badgateway.nginx.nginx_report correlates
every host of the play at once (a target on another host is judged with that host's evidence), and
is the only source of findings.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate
from ansible_collections.badgateway.nginx.plugins.module_utils._host_checks import CHECK_OPTIONS
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import ConfigError, build_facts, compact
from ansible_collections.badgateway.nginx.plugins.plugin_utils._action import Action

ARGUMENT_SPEC = dict(CHECK_OPTIONS, verbose=dict(type='bool', default=False))
PROBE_OPTIONS = tuple(CHECK_OPTIONS)


class ActionModule(Action):

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(self, result, task_vars, args):
        error = validate.first_error(*([validate.no_nul(k, args[k]) for k in ('nginx_bin', 'config', 'prefix', 'journal_dir')]
                                       + [validate.single_line('urls[%d].%s' % (i, k), u.get(k))
                                          for i, u in enumerate(args['urls']) for k in ('url', 'host')]))
        if error:
            raise AnsibleActionFail(error)
        host = task_vars.get('inventory_hostname', 'localhost')

        probe_args = dict((k, args[k]) for k in PROBE_OPTIONS if args[k] is not None)
        probe_args['discover'] = True
        probe = self._execute_module(module_name='badgateway.nginx.nginx_probe', module_args=probe_args,
                                     task_vars=task_vars)
        if probe.get('failed'):
            msg = probe.get('msg') or 'nginx_probe failed'
            result.update(failed=True, msg=msg if msg.startswith('nginx facts: ') else 'nginx probe: %s' % msg)
            if probe.get('validation') is not None:
                result['validation'] = probe['validation']
            return result
        raw = probe.get('nginx_raw')
        facts = None
        if raw is not None:
            try:
                facts = build_facts(raw)
            except ConfigError as e:
                result.update(failed=True, msg='nginx facts: %s' % e, validation=raw.get('validation'))
                return result
        diagnosis = {'host': host, 'nginx': facts is not None, 'note': probe.get('nginx_note'),
                     'checks': probe['checks'], 'module_executions': 1}
        ansible_facts = {'nginx_diagnosis': diagnosis}
        if facts is not None:
            ansible_facts['nginx'] = facts if args['verbose'] else compact(facts)
        result.update(changed=False, ansible_facts=ansible_facts)
        return result
