# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: transaction_parts
short_description: Merge the plans of several roles into one nginx_change, and say what each part changed
version_added: 0.2.0
description:
  - C(transaction_parts) with O(_input) a list of parts (C(label), C(changes), C(verify), C(php_fpm), as the
    remediation roles plan them) returns the arguments of one M(badgateway.nginx.nginx_change) (C(changes),
    C(verify), C(php_fpm)) and the C(labels); one validation, one reload, one verification and one rollback for
    the host.
  - With O(result) (the registered result of that M(badgateway.nginx.nginx_change)), returns instead one record
    per part (C(label), C(changed), C(changes), C(diff), C(recovered), C(check_mode), C(transaction)) for the
    report.
  - Used by the role M(badgateway.nginx.nginx_transaction).
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description: The parts, in the order they were planned.
    type: list
    elements: dict
    required: true
  result:
    description: The result of the M(badgateway.nginx.nginx_change) that applied them.
    type: dict
  check_mode:
    description: Whether that run was in check mode.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: One transaction for everything planned on this host
  badgateway.nginx.nginx_change:
    changes: "{{ (nginx_transaction_pending | badgateway.nginx.transaction_parts).changes }}"
'''

RETURN = r'''
_value:
  description: The merged arguments (without O(result)), or the records (with O(result)).
  type: raw
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils._remediation import merge_parts, record_parts

PARTS = shape.List(shape.Dict({'label': shape.SCALAR, 'changes': shape.List(shape.Dict({})),
                               'verify': shape.List(shape.Dict({})), 'php_fpm': shape.Dict({})}))
RESULT = shape.Dict({'changes': shape.List(shape.Dict({})), 'diff': shape.List(shape.Dict({}))})


def transaction_parts(parts, result=None, check_mode=False):
    try:
        shape.check(parts if parts is not None else [], PARTS, 'parts (the input)')
        if result is not None:
            shape.check(result, RESULT, 'result')
    except shape.InputError as e:
        raise AnsibleFilterError('transaction_parts: %s' % e)
    if result is None:
        return merge_parts(parts)
    return record_parts(parts, result, check_mode)


class FilterModule(object):

    def filters(self):
        return {'transaction_parts': transaction_parts}
