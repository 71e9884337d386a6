# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The frame of the collection's action plugins: task vars, the base result, and the arguments checked
against the action's ARGUMENT_SPEC (shape first, so that a wrong container is a message naming the
option, then Ansible's own validation). A subclass writes ``act(result, task_vars, args)``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.badgateway.nginx.plugins.module_utils import _validate as validate


class Action(ActionBase):
    """ActionBase with the arguments validated; ARGUMENT_SPEC None passes them as they are (to the module)."""

    ARGUMENT_SPEC = None
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(Action, self).run(tmp, task_vars)
        del tmp
        return self.act(result, task_vars, self.validated_args())

    def validated_args(self):
        if self.ARGUMENT_SPEC is None:
            return self._task.args
        error = validate.shape_error(self._task.args, self.ARGUMENT_SPEC)
        if error:
            raise AnsibleActionFail(error)
        validation = ArgumentSpecValidator(self.ARGUMENT_SPEC).validate(self._task.args)
        if validation.error_messages:
            raise AnsibleActionFail('; '.join(validation.error_messages))
        return validation.validated_parameters

    def act(self, result, task_vars, args):
        raise NotImplementedError
