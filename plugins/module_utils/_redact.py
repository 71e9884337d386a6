# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
# PRIVATE: this module is internal to badgateway.nginx; its API may change without notice.
"""Which nginx values are secrets, and text with them hidden.

One rule for the facts (module_utils/_nginx_facts) and the node
(nginx_change's summary of a failing version): a value keyed by a name that
looks like a credential (``proxy_set_header Authorization "Bearer x"``) is
replaced by ``********`` unless it holds variables only (``$http_authorization``
says where the value comes from, not what it is).  Standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

SECRET_NAME = re.compile(r'(?i)authorization|cookie|token|secret|passw|api[-_]?key|private|credential')
ONLY_VARIABLES = re.compile(r'^(?:\s*\$\{?\w+\}?\s*)*$')
REDACTED = '********'

_SECRET_NAMES = {}


def is_secret_name(name):
    secret = _SECRET_NAMES.get(name)
    if secret is None:
        secret = _SECRET_NAMES[name] = bool(SECRET_NAME.search(name))
    return secret


def redact_value(name, value):
    """value, or REDACTED when name looks like a credential and value is not only variables."""
    if is_secret_name(name) and not ONLY_VARIABLES.match(value):
        return REDACTED
    return value


def _secret_spans(stmt):
    """(start, end) of the argument tokens of stmt that hold a secret, by the rule above."""
    args = list(stmt.args)
    values = list(stmt.values)
    spans = []
    if is_secret_name(stmt.name):
        # a directive named like a credential (secure_link_secret word): every argument
        first = 0
    elif len(values) >= 2 and is_secret_name(values[0]):
        # a keyed value (proxy_set_header Authorization ..., set $api_token ...): the value
        first = 1
    else:
        return spans
    for tok, value in zip(args[first:], values[first:]):
        if not ONLY_VARIABLES.match(value):
            spans.append((tok.start, tok.end))
    return spans


def _walk(block):
    for stmt in block.children:
        yield stmt
        if stmt.children is not None:
            yield from _walk(stmt)


def redact_nginx_text(text):
    """nginx config text (a str) with the secret values hidden; every other character kept.

    Text that does not parse is hidden line by line from the first secret-looking name on."""
    from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import EditError, parse
    try:
        root = parse(text)[0]
    except (EditError, ValueError):
        return redact_lines(text)
    spans = sorted(s for stmt in _walk(root) for s in _secret_spans(stmt))
    out, pos = [], 0
    for start, end in spans:
        out.append(text[pos:start])
        out.append(REDACTED)
        pos = end
    out.append(text[pos:])
    return ''.join(out)


def redact_lines(text):
    """Everything after the first secret-looking name of a line, on every line that has one."""
    out = []
    for line in text.splitlines(True):
        m = SECRET_NAME.search(line)
        if m:
            eol = line[len(line.rstrip('\r\n')):]
            line = line[:m.end()] + ' ' + REDACTED + eol
        out.append(line)
    return ''.join(out)


INI_LINE = re.compile(r'^(?P<head>[ \t]*(?P<key>[^=;#\[\s][^=\r\n]*?)[ \t]*=[ \t]*)(?P<value>[^\r\n]*?)(?P<eol>\r?\n?)$')


def redact_ini_text(text, is_secret):
    """PHP-FPM ini text with the values of keys is_secret(key) says are secrets hidden."""
    out = []
    for line in text.splitlines(True):
        m = INI_LINE.match(line)
        if m and m.group('value') and is_secret(m.group('key')):
            line = m.group('head') + REDACTED + m.group('eol')
        out.append(line)
    return ''.join(out)
