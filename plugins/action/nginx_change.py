# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""badgateway.nginx.nginx_change: the transaction runs on the node; the host's facts stay in step.

After a transaction that really changed files, the nginx facts of the host (gathered before it)
no longer give the lines of the files that changed.  The module returns how the lines moved
(``shifts``); this action adds them to ``ansible_facts.nginx.moved``, so a plan made later from
the same facts (badgateway.nginx.remediation_plan) puts its edits where those lines are now.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


def moved_facts(facts, shifts):
    """facts with shifts (path -> [[line, delta, inserted], ...], in edit order) added to facts['moved']."""
    moved = dict((path, list(moves)) for path, moves in ((facts or {}).get('moved') or {}).items())
    for path, moves in (shifts or {}).items():
        moved.setdefault(path, []).extend(moves)
    return dict(facts, moved=moved)


class ActionModule(ActionBase):

    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        result.update(self._execute_module(module_name='badgateway.nginx.nginx_change', module_args=self._task.args,
                                           task_vars=task_vars))
        facts = (task_vars.get('ansible_facts') or {}).get('nginx')
        if facts and result.get('changed') and not result.get('failed') and not self._task.check_mode and result.get('shifts'):
            result['ansible_facts'] = {'nginx': moved_facts(facts, result['shifts'])}
        return result
