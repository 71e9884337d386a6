#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_directive
short_description: Set or remove one nginx directive (or one small block) in one block of a config file
version_added: 0.1.0
description:
  - Sets or removes one directive, such as C(proxy_read_timeout), directly in one selected block
    (main, events, http, a server, a location or an upstream) of one nginx configuration file,
    changing the smallest thing; every other byte of the file (comments, indentation, blank lines,
    ordering, line endings) stays as it was.
  - When the directive is in the block with another value only its arguments are replaced on that line.
    When it is missing one line is inserted with the block's indentation.
    With O(state=absent) the directive's line or lines are removed.
  - Only directives directly in the selected block count, not those in nested blocks.
  - With O(block), inserts, replaces or removes one small block such as a C(map), identified by its
    name and arguments (its first line).
  - After writing, runs C(nginx -t) unless O(validate=false); when that fails the original bytes, owner
    and mode are put back and the task fails naming the first error's C(file:line).
  - A file without an C(http) block is taken as a file included in the http context (for example
    C(sites-enabled/default)), so its top level is the http scope.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  path:
    description:
      - The configuration file to edit. It must exist.
    type: path
    required: true
  scope:
    description:
      - The kind of block the directive goes in.
    type: str
    choices: [main, events, http, server, location, upstream]
    default: http
  server_name:
    description:
      - Select the server block with this name among its C(server_name) values (case-insensitive).
      - Used with O(scope=server) and O(scope=location).
    type: str
  listen:
    description:
      - Select the server block with a C(listen) directive whose address is this value; a port alone
        (V(8080)) also matches C(*:8080), C(127.0.0.1:8080) and C([::]:8080).
      - Used with O(scope=server) and O(scope=location).
    type: str
  location:
    description:
      - The location's modifier and match, for example V(/api/) or V(~ \\.php$).
      - A list selects nested locations, outermost first.
      - Required with O(scope=location).
    type: raw
  upstream:
    description:
      - The upstream's name. Required with O(scope=upstream).
    type: str
  line:
    description:
      - The line of the selected block's opening statement (as nginx facts report it).
      - Chooses between several matching blocks, and is checked to match when only one matches.
    type: int
  directive:
    description:
      - The directive's name. Letters, digits and C(_) only.
      - One of O(directive) and O(block) is required.
    type: str
  args:
    description:
      - The directive's arguments, unquoted; they are quoted as needed when written.
      - For directives nginx allows several times (C(proxy_set_header), C(add_header), C(fastcgi_param)
        and similar) the first argument is the key that identifies the instance.
      - Required with O(state=present) and O(directive). With O(state=absent) only the key (first
        argument) of such directives is used; other directives are removed whatever their value.
      - Newlines and control characters are refused.
    type: list
    elements: str
  key:
    description:
      - For directives nginx allows several times, the key (first argument) of the instance to change,
        when the change gives it a new key, for example re-pointing an upstream C(server) member from
        V(127.0.0.1:9003) to V(127.0.0.1:9002) in place. Defaults to the first of O(args).
    type: str
  block:
    description:
      - Raw text of one block statement to put in the selected block, for example
        C(map $http_upgrade $connection_upgrade { default upgrade; '' close; }).
      - Identified by its name and arguments; an existing block with the same first line is replaced when
        its content differs (unless it has comments, then the task fails).
    type: str
  state:
    description:
      - Whether the directive or block should be there.
    type: str
    choices: [present, absent]
    default: present
  insert:
    description:
      - Where a new directive goes in the block; V(last) puts it after the block's last directive,
        V(first) right after the opening brace.
    type: str
    choices: [first, last]
    default: last
  backup:
    description:
      - Keep a timestamped copy of the original file next to it.
    type: bool
    default: false
  validate:
    description:
      - Run C(nginx -t) after writing and put the original back when it fails.
    type: bool
    default: true
  nginx_bin:
    description:
      - Path of the nginx binary for validation. When unset, C(nginx) is looked up in C(PATH) and the usual
        sbin directories.
    type: path
  config:
    description:
      - Main configuration file for validation, passed as C(-c).
    type: path
  prefix:
    description:
      - Prefix path for validation, passed as C(-p).
    type: path
  timeout:
    description:
      - Seconds C(nginx -t) may take.
    type: int
    default: 30
notes:
  - Several directives on one line and directives spread over several lines are edited in place; a
    directive with a comment between its arguments is refused rather than rewritten.
  - A non-repeatable directive set more than once in the block is refused for O(state=present).
  - SELinux contexts are not kept.
seealso:
  - module: badgateway.nginx.nginx_validate
  - module: badgateway.nginx.nginx_facts
extends_documentation_fragment:
  - action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
'''

EXAMPLES = r'''
- name: Give a slow API more time before nginx answers 504
  badgateway.nginx.nginx_directive:
    path: /etc/nginx/sites-enabled/app.conf
    scope: location
    server_name: app.example.com
    location: /api/
    directive: proxy_read_timeout
    args: ["120s"]
  become: true

- name: Pass the Host header to the backend
  badgateway.nginx.nginx_directive:
    path: /etc/nginx/sites-enabled/app.conf
    scope: location
    listen: "443"
    location: /
    directive: proxy_set_header
    args: [Host, $host]
  become: true

- name: Map for websocket upgrades at http level
  badgateway.nginx.nginx_directive:
    path: /etc/nginx/nginx.conf
    scope: http
    block: |
      map $http_upgrade $connection_upgrade {
          default upgrade;
          '' close;
      }
  become: true

- name: Remove a keepalive setting from an upstream
  badgateway.nginx.nginx_directive:
    path: /etc/nginx/conf.d/upstreams.conf
    scope: upstream
    upstream: backend
    directive: keepalive
    state: absent
  become: true
'''

RETURN = r'''
path:
  description: The file.
  returned: always
  type: str
  sample: /etc/nginx/sites-enabled/app.conf
scope:
  description: The scope the change was made in.
  returned: always
  type: str
  sample: location
directive:
  description: The directive's name, or the block's name when O(block) was given.
  returned: always
  type: str
  sample: proxy_read_timeout
action:
  description: What was done (or would be done in check mode).
  returned: always
  type: str
  sample: replaced
  choices: [added, replaced, removed, none]
line:
  description: Line of the changed directive (in the new file when added, in the old one when removed); null when nothing matched.
  returned: always
  type: int
  sample: 14
backup_file:
  description: The backup copy, when O(backup=true) and the file changed.
  returned: when a backup was made
  type: str
  sample: /etc/nginx/sites-enabled/app.conf.12345.2026-11-22@10:00:00~
diff:
  description: The file before and after, for C(--diff).
  returned: when diff mode is on and the file changed
  type: dict
  contains:
    before:
      description: Content before.
      type: str
    after:
      description: Content after.
      type: str
    before_header:
      description: The path.
      type: str
    after_header:
      description: The path.
      type: str
validation:
  description: The C(nginx -t) result after the write.
  returned: when the file was written and O(validate=true)
  type: dict
  contains:
    errors:
      description: Messages of level emerg, alert, crit or error (level, message, file, line).
      type: list
      elements: dict
    warnings:
      description: Messages of level warn or notice.
      type: list
      elements: dict
    restored:
      description: Whether the original file was put back.
      type: bool
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils.nginx_common import (
    NginxError,
    describe,
    find_nginx,
    test_config,
)
from ansible_collections.badgateway.nginx.plugins.module_utils.nginx_edit import (
    EditError,
    atomic_write,
    from_text,
    plan_edit,
)


def nginx_test(params):
    binary = find_nginx(params['nginx_bin'])
    rc, errors, warnings, dummy = test_config(binary, params['config'], params['prefix'], params['timeout'])
    return rc, errors, warnings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            scope=dict(type='str', default='http', choices=['main', 'events', 'http', 'server', 'location', 'upstream']),
            server_name=dict(type='str'),
            listen=dict(type='str'),
            location=dict(type='raw'),
            upstream=dict(type='str'),
            line=dict(type='int'),
            directive=dict(type='str'),
            args=dict(type='list', elements='str'),
            key=dict(type='str', no_log=False),
            block=dict(type='str'),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            insert=dict(type='str', default='last', choices=['first', 'last']),
            backup=dict(type='bool', default=False),
            validate=dict(type='bool', default=True),
            nginx_bin=dict(type='path'),
            config=dict(type='path'),
            prefix=dict(type='path'),
            timeout=dict(type='int', default=30),
        ),
        required_one_of=[('directive', 'block')],
        mutually_exclusive=[('directive', 'block')],
        supports_check_mode=True,
    )
    p = module.params
    path = p['path']
    location = p['location']
    if location is not None and not isinstance(location, (str, list)):
        module.fail_json(msg='location must be a string or a list of strings')
    if isinstance(location, list) and not all(isinstance(x, str) for x in location):
        module.fail_json(msg='location must be a string or a list of strings')
    name = p['directive'] or ''
    result = dict(changed=False, path=path, scope=p['scope'], directive=name, action='none', line=None)
    if not os.path.isfile(path):
        module.fail_json(msg='%s does not exist or is not a regular file' % path, **result)
    try:
        with open(path, 'rb') as f:
            before = f.read()
        st = os.stat(path)
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot read %s: %s' % (path, e.strerror or e), **result)
    spec = dict((k, p[k]) for k in ('scope', 'server_name', 'listen', 'location', 'upstream', 'line',
                                    'directive', 'args', 'key', 'block', 'state', 'insert'))
    try:
        plan = plan_edit(before, spec, path)
    except EditError as e:
        module.fail_json(msg=str(e), **result)
    if p['block']:
        result['directive'] = p['block'].split(None, 1)[0] if p['block'].strip() else ''
    result['action'] = plan['action']
    result['line'] = plan['line']
    after = plan['after']
    if after == before:
        result['action'] = 'none'
        module.exit_json(**result)
    result['changed'] = True
    if module._diff:
        result['diff'] = dict(before=from_text(before.decode('latin-1')), after=from_text(after.decode('latin-1')),
                              before_header=path, after_header=path)
    if module.check_mode:
        module.exit_json(**result)
    if p['backup']:
        result['backup_file'] = module.backup_local(path)
    try:
        atomic_write(path, after, st)
    except (EditError, IOError, OSError) as e:
        module.fail_json(msg='cannot write %s: %s' % (path, getattr(e, 'strerror', None) or e), **result)
    if p['validate']:
        try:
            rc, errors, warnings = nginx_test(p)
        except NginxError as e:
            rc, errors, warnings = 1, [{'level': 'emerg', 'file': None, 'line': None, 'message': str(e)}], []
        result['validation'] = dict(errors=errors, warnings=warnings, restored=False)
        if rc != 0:
            try:
                atomic_write(path, before, st)
            except (EditError, IOError, OSError) as e:
                module.fail_json(msg='nginx -t failed after the change (%s) and %s could not be put back: %s'
                                 % (describe(errors[0]), path, getattr(e, 'strerror', None) or e), **result)
            result['validation']['restored'] = True
            result['changed'] = False
            module.fail_json(msg='nginx -t failed after the change, original %s put back: %s'
                             % (path, describe(errors[0])), **result)
        for w in warnings:
            module.warn(describe(w))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
