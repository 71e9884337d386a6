# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller half of badgateway.nginx.nginx_facts.

The module of the same name runs on the node (standard library only) and
returns the configuration files as nginx read them; this action plugin
parses them on the controller with nginx's own syntax rules
(module_utils/_nginx_syntax) and returns ``ansible_facts.nginx``.  A file
with a syntax error does not fail the task: the facts cover what parses,
``valid`` is false and the error is in ``validation.errors``.  One module
execution per host.  The facts are stored in their compact form (module_utils/_nginx_facts
``compact``: exact, smaller than the configuration); ``verbose: true`` stores the verbose form.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import (
    ConfigError,
    build_facts,
    compact,
)
from ansible_collections.badgateway.nginx.plugins.plugin_utils._action import Action


class ActionModule(Action):

    def act(self, result, task_vars, args):
        module_result = self._execute_module(
            module_name='badgateway.nginx.nginx_facts',
            module_args=dict(args),
            task_vars=task_vars,
        )
        raw = module_result.pop('nginx_raw', None)
        result.update(module_result)
        if module_result.get('failed') or raw is None:
            result['failed'] = True
            result.setdefault('msg', 'nginx_facts returned no data')
            return result
        try:
            facts = build_facts(raw)
        except ConfigError as e:
            result['failed'] = True
            result['msg'] = str(e)
            result['validation'] = raw.get('validation')
            return result
        if facts['warnings']:
            result.setdefault('warnings', []).extend(facts['warnings'])
        result['changed'] = False
        result['ansible_facts'] = {'nginx': facts if boolean(args.get('verbose', False)) else compact(facts)}
        return result
