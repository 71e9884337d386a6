# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
# PRIVATE: this module is internal to badgateway.nginx; its API may change without notice.
"""Edge validation of module options, after AnsibleModule checked their types.

Each check returns an error message that names the option and says what is wrong with its value,
or None; ``first_error`` runs a list of them.  Standard library only (runs on the node).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'),
          (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'))


def no_nul(name, value):
    """A path or string option must not hold a NUL byte (no file name or argument can)."""
    if isinstance(value, str) and '\x00' in value:
        return '%s must not contain a NUL byte' % name
    return None


def single_line(name, value):
    """A header value, host or URL must not hold CR, LF or NUL (they would split the request)."""
    if isinstance(value, str) and any(c in value for c in '\r\n\x00'):
        return '%s must be one line: it contains a CR, LF or NUL character' % name
    return None


def at_least(name, value, minimum, unit=''):
    """A number option (None means unset) must be at least minimum."""
    if value is not None and not value >= minimum:  # not >=: NaN is refused too
        return '%s must be at least %s%s' % (name, minimum, unit)
    return None


def regular_file_if_exists(name, path):
    """A config file option must name a regular file when it exists (a FIFO would block nginx)."""
    if not path or no_nul(name, path):
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = next((label for test, label in _KINDS if test(mode)), 'not a regular file')
    return '%s %s is %s, not a regular file' % (name, path, kind)


def nginx_paths_error(params):
    """What is wrong with the nginx_bin, config and prefix options every nginx module takes, or None."""
    return first_error(no_nul('nginx_bin', params.get('nginx_bin')), no_nul('config', params.get('config')),
                       no_nul('prefix', params.get('prefix')), regular_file_if_exists('config', params.get('config')))


def nginx_options_error(params, *checks):
    """What is wrong with the options of a module that runs nginx, or None: nginx_bin, config and prefix
    (nginx_paths_error), then the module's own checks (messages or None), then timeout (at least 1 second)."""
    return first_error(nginx_paths_error(params), *(checks + (at_least('timeout', params['timeout'], 1, ' second'),)))


def first_error(*messages):
    """The first message that is not None, or None."""
    for message in messages:
        if message:
            return message
    return None


def shape_error(params, spec, prefix=''):
    """The first option whose value has the wrong container shape for spec, as a message naming it, or None.

    A dict option with suboptions given a string or a list, or a list of dicts given a string or items that
    are not dicts: Ansible's own validation answers these with a message that does not name the option
    ("dictionary requested, could not parse JSON or key=value") or with a traceback.
    """
    for name, opt in spec.items():
        value = params.get(name) if isinstance(params, dict) else None
        if value is None:
            continue
        label = prefix + name
        if opt.get('type') == 'dict' and opt.get('options'):
            if not isinstance(value, dict):
                return '%s must be a dict of its options, not %s' % (label, type(value).__name__)
            error = shape_error(value, opt['options'], label + '.')
        elif opt.get('type') == 'list' and opt.get('elements') == 'dict':
            if not isinstance(value, list):
                return '%s must be a list of dicts, not %s' % (label, type(value).__name__)
            error = None
            for i, item in enumerate(value):
                if not isinstance(item, dict):
                    return '%s[%d] must be a dict, not %s' % (label, i, type(item).__name__)
                error = error or shape_error(item, opt.get('options') or {}, '%s[%d].' % (label, i))
        else:
            continue
        if error:
            return error
    return None


def checked_module(module_class, argument_spec, **kwargs):
    """module_class(argument_spec, **kwargs) (AnsibleModule), after a check of the options' container shapes
    (shape_error) that fails the module with a message naming the option."""
    from ansible.module_utils import basic
    try:
        raw = basic._load_params()  # documented for modules that look at their parameters first
    except Exception:  # pylint: disable=broad-except
        raw = None  # AnsibleModule reports it
    error = shape_error(raw, argument_spec) if isinstance(raw, dict) else None
    if error:
        loose = dict((name, dict(type='raw', no_log=bool(opt.get('no_log')))) for name, opt in argument_spec.items())
        module_class(argument_spec=loose, supports_check_mode=True).fail_json(msg=error)
    return module_class(argument_spec=argument_spec, **kwargs)
