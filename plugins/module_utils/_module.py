# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""How a module of the collection starts and how it fails.

Standard library only (runs on the node).  ``new_module`` builds the AnsibleModule with its options
checked (their container shapes, then the module's own ``option_error``); ``fail`` is the one way a
module fails (``msg`` and the fields of the result it has so far); ``failing`` turns an error meant
for the user (``_command.UserError``: a command that cannot run, nginx that cannot be used, ...) into
that failure.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from contextlib import contextmanager

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils._validate import checked_module


def fail(module, msg, result=None):
    """Fail the module with msg and the fields of result (a dict, or None)."""
    module.fail_json(msg=msg, **dict(result or {}))


def new_module(module_class, argument_spec, option_error=None, failed=None, **kwargs):
    """module_class(argument_spec=argument_spec, **kwargs), i.e. AnsibleModule, after the container-shape check
    of _validate.checked_module; then failed (with the fields of failed) when option_error(params) names a
    problem."""
    module = checked_module(module_class, argument_spec, **kwargs)
    error = option_error(module.params) if option_error else None
    if error:
        fail(module, error, failed)
    return module


@contextmanager
def failing(module, result=None, errors=(UserError,)):
    """Fail the module (fail(), with the fields of result) on an error of one of the classes errors, with its
    message; an error with an ``extra`` dict adds those fields."""
    try:
        yield
    except errors as e:
        fail(module, str(e), dict(result or {}, **(getattr(e, 'extra', None) or {})))
