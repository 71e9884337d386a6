# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Byte-exact edits of one setting of a PHP-FPM pool file (INI lines), and what its socket settings say.

Standard library only.  ``plan_ini`` sets or removes one ``key = value`` line in one section, keeping
every other byte; ``pool_settings`` and ``socket_permissions`` read a pool's section as php-fpm does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


from ansible_collections.badgateway.nginx.plugins.module_utils._journal import TxnError

INI_KEY = re.compile(r'^[A-Za-z0-9_.\-]+(?:\[[A-Za-z0-9_.\-]*\])?$')
INI_SECTION = re.compile(r'^[A-Za-z0-9_.\-$]+$')
SECTION_LINE = re.compile(r'^[ \t]*\[(?P<name>[^\]\r\n]*)\][ \t]*(?:[;#].*)?\r?$')
SETTING_LINE = re.compile(r'^(?P<lead>[ \t]*)(?P<key>[^=;#\[\s][^=\r]*?)[ \t]*=(?P<sp>[ \t]*)(?P<rest>[^\r]*?)\r?$')


def _split_lines(text):
    """Lines with their line ends; the last one may have none."""
    return re.findall(r'[^\n]*\n|[^\n]+$', text)


def _ini_lines(lines):
    """(index, section match, setting match) of each line that is a ``[section]`` header or a ``key = value``
    setting, the other match None; blank lines, ``;`` and ``#`` comments and other lines are skipped."""
    for i, ln in enumerate(lines):
        body = ln.rstrip('\n')
        stripped = body.strip(' \t\r')
        if not stripped or stripped[0] in ';#':
            continue
        m = SECTION_LINE.match(body)
        if m:
            yield i, m, None
            continue
        m = SETTING_LINE.match(body)
        if m:
            yield i, None, m


def _value_span(rest):
    """(start, end) of the value inside rest: a trailing ';comment' and blanks are not part of it."""
    if rest[:1] in ('"', "'"):
        end = rest.find(rest[0], 1)
        if end > 0:
            return 0, end + 1
    cut = len(rest)
    m = re.search(r'[ \t];', rest)
    if m:
        cut = m.start()
    elif rest.startswith(';'):
        cut = 0
    return 0, len(rest[:cut].rstrip(' \t'))


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
        return value[1:-1]
    return value


def plan_ini(data, section, key, value=None, state='present', path='<pool>'):
    """Plan one ``key = value`` edit in one [section] of a PHP-FPM ini file.

    data is bytes; returns {after (bytes), action (added, replaced, removed,
    none), line}.  Every byte outside the edited value (or line) stays the
    same.  Raises TxnError, and then nothing must change.
    """
    if b'\x00' in data:
        raise TxnError('%s is a binary file, not a PHP-FPM config' % path)
    if not section or not INI_SECTION.match(section):
        raise TxnError('invalid section name %r: letters, digits, _ . - and $ only' % (section,))
    if not key or not INI_KEY.match(key):
        raise TxnError('invalid key %r: letters, digits, _ . - and an optional [name] only' % (key,))
    if state not in ('present', 'absent'):
        raise TxnError('state must be present or absent')
    if state == 'present':
        if value is None:
            raise TxnError('value is required with state=present')
        value = str(value)
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise TxnError('value %r contains a newline or control character' % value)
        if value != value.strip() or value == '':
            raise TxnError('value %r is empty or has leading/trailing blanks' % value)
        if ';' in value and not (value[0] == value[-1] and value[0] in '"\''):
            raise TxnError('value %r contains ";", which starts a comment in an ini file; quote it' % value)
    text = data.decode('latin-1')
    wkey = key.encode('utf-8').decode('latin-1')
    lines = _split_lines(text)
    sections = []       # [name, header index, [setting indexes]]
    current = None
    for i, header, _setting in _ini_lines(lines):
        if header:
            current = [header.group('name').strip(), i, []]
            sections.append(current)
        elif current is not None:
            current[2].append(i)
    found = [s for s in sections if s[0] == section]
    if not found:
        names = ', '.join('[%s]' % s[0] for s in sections) or 'none'
        raise TxnError('no [%s] section in %s (sections: %s)' % (section, path, names))
    if len(found) > 1:
        raise TxnError('section [%s] appears %d times in %s (lines %s); refusing to guess'
                       % (section, len(found), path, ', '.join(str(s[1] + 1) for s in found)))
    name, header, settings = found[0]
    same = [i for i in settings if SETTING_LINE.match(lines[i].rstrip('\n')).group('key') == wkey]
    if state == 'absent':
        if not same:
            return {'after': data, 'action': 'none', 'line': None}
        out = [ln for i, ln in enumerate(lines) if i not in same]
        return {'after': ''.join(out).encode('latin-1'), 'action': 'removed', 'line': same[0] + 1}
    wvalue = value.encode('utf-8').decode('latin-1')
    if len(same) > 1:
        raise TxnError('%s is set %d times in [%s] of %s (lines %s); refusing to guess which one to change'
                       % (key, len(same), section, path, ', '.join(str(i + 1) for i in same)))
    if same:
        i = same[0]
        ln = lines[i]
        body = ln.rstrip('\n')
        m = SETTING_LINE.match(body)
        rest = m.group('rest')
        start, end = _value_span(rest)
        old = rest[start:end]
        if old == wvalue or _unquote(old) == _unquote(wvalue):
            return {'after': data, 'action': 'none', 'line': i + 1}
        base = m.start('rest')
        if start == end and m.group('sp') == '':
            new_body = body[:base] + ' ' + wvalue + body[base:]
        else:
            new_body = body[:base + start] + wvalue + body[base + end:]
        lines[i] = new_body + ln[len(body):]
        return {'after': ''.join(lines).encode('latin-1'), 'action': 'replaced', 'line': i + 1}
    anchor = settings[-1] if settings else header
    anchor_line = lines[anchor]
    if anchor_line.endswith('\r\n'):
        eol = '\r\n'
    elif anchor_line.endswith('\n'):
        eol = '\n'
    else:
        eol = '\r\n' if text.count('\r\n') * 2 > text.count('\n') > 0 else '\n'
        lines[anchor] = anchor_line + eol
    lead = ''
    if settings:
        lead = SETTING_LINE.match(lines[anchor].rstrip('\n')).group('lead')
    lines.insert(anchor + 1, '%s%s = %s%s' % (lead, wkey, wvalue, eol))
    return {'after': ''.join(lines).encode('latin-1'), 'action': 'added', 'line': anchor + 2}


def pool_settings(data, section):
    """The plain ``key = value`` settings of one [section] of a PHP-FPM ini file (values unquoted)."""
    text = data.decode('latin-1')
    current = None
    out = {}
    for _i, header, setting in _ini_lines(_split_lines(text)):
        if header:
            current = header.group('name').strip()
        elif current == section:
            rest = setting.group('rest')
            start, end = _value_span(rest)
            out[setting.group('key')] = _unquote(rest[start:end])
    return out


def socket_permissions(settings):
    """(socket path, uid or -1, gid or -1, mode) php-fpm would give the pool's unix socket, or None."""
    import grp
    import pwd
    listen = settings.get('listen') or ''
    if not listen.startswith('/'):
        return None
    uid = gid = -1
    try:
        if settings.get('listen.owner'):
            uid = pwd.getpwnam(settings['listen.owner']).pw_uid
        if settings.get('listen.group'):
            gid = grp.getgrnam(settings['listen.group']).gr_gid
    except KeyError as e:
        raise TxnError('unknown user or group for the socket %s: %s' % (listen, e))
    try:
        mode = int(settings.get('listen.mode') or '0660', 8)
    except ValueError:
        raise TxnError('listen.mode %r is not an octal mode' % settings.get('listen.mode'))
    return listen, uid, gid, mode
