# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: nginx_summary
short_description: Render nginx facts as readable lines (server, location, target, file:line)
version_added: 0.1.0
description:
  - Turns C(ansible_facts.nginx), as returned by M(badgateway.nginx.nginx_facts), into a list of
    text lines, one per server block and one per location with its pass target, the effective read
    timeout and the file and line each came from.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description: The C(ansible_facts.nginx) dictionary.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Print what nginx proxies where
  ansible.builtin.debug:
    msg: "{{ ansible_facts.nginx | badgateway.nginx.nginx_summary }}"
'''

RETURN = r'''
_value:
  description: Lines of text.
  type: list
  elements: str
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import CompactError, expand
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape


def _where(item):
    if not item or not item.get('file'):
        return 'default'
    return '%s:%s' % (item['file'], item['line'])


def _hostport(host, port):
    host = host or ''
    return '%s:%s' % ('[%s]' % host if ':' in host else host, port)


def _listen(listen):
    if listen.get('unix'):
        return 'unix:%s' % listen['unix']
    return _hostport(listen.get('address'), listen.get('port')) + (' ssl' if listen.get('ssl') else '')


def _target(target, upstreams):
    kind = target.get('kind')
    if kind == 'unix':
        text = 'unix:%s' % target.get('path')
    elif kind == 'upstream':
        members = [s.get('address') for s in upstreams.get(target.get('upstream'), {}).get('servers', [])]
        text = 'upstream %s [%s]' % (target.get('upstream'), ', '.join(members))
    elif kind == 'variable':
        text = '%s (variable, resolved at run time)' % target.get('raw')
    else:
        text = '%s://%s%s' % (target.get('scheme'), _hostport(target.get('host'), target.get('port')),
                              target.get('uri') or '')
    return text


def nginx_summary(facts):
    if not isinstance(facts, dict) or 'servers' not in facts:
        raise AnsibleFilterError('nginx_summary expects ansible_facts.nginx from badgateway.nginx.nginx_facts')
    try:
        facts = expand(facts)
    except CompactError as e:
        raise AnsibleFilterError('nginx_summary: %s' % e)
    try:
        shape.check(facts, shape.SUMMARY_FACTS, 'facts (the input)')
    except shape.InputError as e:
        raise AnsibleFilterError('nginx_summary: %s' % e)
    upstreams = facts.get('upstreams') or {}
    lines = ['nginx %s, %s (%s), config %s, %s' % (
        facts.get('version'), 'valid' if facts.get('valid') else 'NOT VALID', facts.get('source'),
        facts.get('config'), ', '.join('%s %s' % (v, k) for k, v in sorted((facts.get('counts') or {}).items())))]
    for err in (facts.get('validation') or {}).get('errors', []):
        lines.append('  ! %s%s' % ('%s:%s: ' % (err['file'], err['line']) if err.get('file') else '', err['message']))
    for server in facts['servers']:
        listens = ', '.join(_listen(lst) for lst in server['listen'])
        lines.append('server %s (%s) %s' % (' '.join(n for n in server['server_name'] if n) or '_', listens,
                                            _where(server)))
        for loc in server['locations']:
            indent = '  ' * (len(loc.get('parents') or []) + 1)
            match = ('%s %s' % (loc['modifier'], loc['match'])).strip()
            if not loc.get('pass'):
                lines.append('%slocation %s %s' % (indent, match, _where(loc)))
                continue
            p = loc['pass']
            read = (loc.get('timeouts') or {}).get('read') or {}
            lines.append('%slocation %s %s -> %s %s (%s), read timeout %s (%s)' % (
                indent, match, _where(loc), p['directive'], _target(p['target'], upstreams),
                _where(p), read.get('value'), _where(read)))
    for name, up in sorted(upstreams.items()):
        lines.append('upstream %s %s' % (name, _where(up)))
        for member in up.get('servers', []):
            flags = [f for f in ('backup', 'down') if member.get(f)]
            lines.append('  server %s%s %s' % (member.get('address'), (' ' + ' '.join(flags)) if flags else '',
                                               _where(member)))
    return lines


class FilterModule(object):

    def filters(self):
        return {'nginx_summary': nginx_summary}
