# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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


def first_error(*messages):
    """The first message that is not None, or None."""
    for message in messages:
        if message:
            return message
    return None
