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

from ansible_collections.badgateway.nginx.plugins.plugin_utils._action import Action


def moved_facts(facts, shifts):
    """facts with shifts (path -> [[line, delta, inserted], ...], in edit order) added to facts['moved']."""
    moved = dict((path, list(moves)) for path, moves in ((facts or {}).get('moved') or {}).items())
    for path, moves in (shifts or {}).items():
        moved.setdefault(path, []).extend(moves)
    return dict(facts, moved=moved)


class ActionModule(Action):

    _supports_async = True

    def act(self, result, task_vars, args):
        # as ansible.builtin.normal does: an async task runs the module in the background (the rollback
        # scenario kills such a run mid-change); its result is the job, with nothing to keep in step
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result.update(self._execute_module(module_name='badgateway.nginx.nginx_change', module_args=args,
                                           task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        facts = (task_vars.get('ansible_facts') or {}).get('nginx')
        changed = result.get('changed') and not result.get('failed') and not self._task.check_mode
        if facts and changed and not wrap_async and result.get('shifts'):
            result['ansible_facts'] = {'nginx': moved_facts(facts, result['shifts'])}
        return result
