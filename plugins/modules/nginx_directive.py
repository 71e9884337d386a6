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
  - The edit is written as a one-change transaction of M(badgateway.nginx.nginx_change), with the same lock and
    journal in O(journal_dir) (a run killed mid-edit is restored by the next M(badgateway.nginx.nginx_change)
    or M(badgateway.nginx.nginx_directive) run); after writing, C(nginx -t) runs unless O(validate=false); when
    it fails the original bytes, owner and mode are put back and the task fails naming the first error's
    C(file:line). nginx is not reloaded (use M(badgateway.nginx.nginx_change) for a change that is reloaded
    and verified).
  - Only a file nginx reads is edited, that is a file of the include tree of the main configuration (O(config), or
    the one C(nginx -V) names); any other path fails and nothing changes.
  - A file's context is where nginx includes it. A file included in the C(http) block (for example
    C(sites-enabled/default)) has the http scope at its top level; a file included inside a C(server) block
    (Magento's C(nginx.conf.sample) pattern, bare C(location) blocks) is that server's body, and O(server_name)
    and O(listen) select by the including server.
  - A symbolic link (Debian's C(sites-enabled/app -> ../sites-available/app)) is kept; the file it points at is
    edited, and must be the one nginx reads through the link.
options:
  path:
    description:
      - The configuration file to edit. It must exist and be part of the include tree of the main configuration.
      - A symbolic link is followed and its target edited (the link stays).
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
      - The match as nginx facts report it (nginx's value of the pattern, V(~ ^/a b$)) or as written in the file
        (V(~ "^/a b$")).
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
  journal_dir:
    description: Journal and lock directory on the host (mode 0700, root only), shared with M(badgateway.nginx.nginx_change).
    type: path
    default: /var/lib/badgateway-nginx
    version_added: 0.2.0
  lock_timeout:
    description: Seconds to wait for another run's lock.
    type: int
    default: 60
    version_added: 0.2.0
  config:
    description:
      - Main configuration file, passed to C(nginx -t) as C(-c); its include tree says which files may be edited.
      - When unset, the one C(nginx -V) names.
    type: path
seealso:
  - module: badgateway.nginx.nginx_validate
  - module: badgateway.nginx.nginx_facts
notes:
  - Several directives on one line and directives spread over several lines are edited in place; a
    directive with a comment between its arguments is refused rather than rewritten.
  - A non-repeatable directive set more than once in the block is refused for O(state=present).
  - SELinux contexts are not kept.
extends_documentation_fragment:
  - action_common_attributes
  - badgateway.nginx.attributes.change
  - badgateway.nginx.attributes.platform_posix
  - badgateway.nginx.nginx_cli
  - badgateway.nginx.nginx_cli.timeout
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
  description: The file as given.
  returned: always
  type: str
  sample: /etc/nginx/sites-enabled/app.conf
real_path:
  description: The file written, the target of RV(path) when that is a symbolic link.
  returned: when the file was found in the include tree
  type: str
  sample: /etc/nginx/sites-available/app.conf
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

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    NGINX_OPTIONS, NGINX_TIMEOUT_OPTION, describe, find_nginx, parse_version, resolve_paths)
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import (
    EDIT_OPTIONS, SCOPES, EditError, from_text, plan_edit, tree_file)
from ansible_collections.badgateway.nginx.plugins.module_utils._transaction import Transaction, TxnFailure


def main_config(params):
    """(main config, conf prefix) of the nginx whose files may be edited: config, else nginx -V's."""
    info = {'paths': {}}
    if not params['config']:
        rc, out, err = run([find_nginx(params['nginx_bin']), '-V'], params['timeout'])
        info = parse_version(err + out.decode('utf-8', 'replace'))
    dummy, conf, conf_prefix = resolve_paths(info, params['config'], params['prefix'])
    return conf, conf_prefix


def check_params(params):
    """A message for the first option with a value that cannot be right, or None."""
    for name in ('path', 'config', 'prefix', 'nginx_bin', 'server_name', 'listen', 'upstream', 'directive', 'key',
                 'block', 'journal_dir'):
        if isinstance(params.get(name), str) and '\x00' in params[name]:
            return '%s contains a NUL byte' % name
    if params['timeout'] < 1:
        return 'timeout must be at least 1 (seconds nginx -t may take), got %d' % params['timeout']
    if not os.path.isabs(params['journal_dir']):
        return 'journal_dir must be an absolute path, got %s' % params['journal_dir']
    if params['lock_timeout'] < 0:
        return 'lock_timeout must be at least 0, got %d' % params['lock_timeout']
    return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            EDIT_OPTIONS,
            **NGINX_OPTIONS,
            path=dict(type='path', required=True),
            scope=dict(type='str', default='http', choices=list(SCOPES)),
            state=dict(type='str', default='present', choices=['present', 'absent']),
            insert=dict(type='str', default='last', choices=['first', 'last']),
            backup=dict(type='bool', default=False),
            validate=dict(type='bool', default=True),
            timeout=NGINX_TIMEOUT_OPTION,
            journal_dir=dict(type='path', default='/var/lib/badgateway-nginx'),
            lock_timeout=dict(type='int', default=60),
        ),
        required_one_of=[('directive', 'block')],
        mutually_exclusive=[('directive', 'block')],
        supports_check_mode=True,
    )
    p = module.params
    path = p['path']
    bad = check_params(p)
    if bad:
        module.fail_json(msg=bad, changed=False, path=path)
    location = p['location']
    if location is not None and not isinstance(location, (str, list)):
        module.fail_json(msg='location must be a string or a list of strings')
    if isinstance(location, list) and not all(isinstance(x, str) for x in location):
        module.fail_json(msg='location must be a string or a list of strings')
    name = p['directive'] or ''
    result = dict(changed=False, path=path, scope=p['scope'], directive=name, action='none', line=None)
    if not os.path.isfile(path):
        module.fail_json(msg='%s does not exist or is not a regular file' % path, **result)
    # only a file nginx reads, and in the blocks nginx reads it in; a symbolic link is followed to its target
    try:
        conf, conf_prefix = main_config(p)
        real, contexts = tree_file(path, conf, conf_prefix)
    except UserError as e:
        module.fail_json(msg='cannot work out the main nginx config to check that nginx reads %s (set config): %s'
                         % (path, e), **result)
    except EditError as e:
        module.fail_json(msg=str(e), **result)
    result['real_path'] = real
    try:
        with open(real, 'rb') as f:
            before = f.read()
    except (IOError, OSError) as e:
        module.fail_json(msg='cannot read %s: %s' % (real, e.strerror or e), **result)
    spec = dict((k, p[k]) for k in ('scope', 'server_name', 'listen', 'location', 'upstream', 'line',
                                    'directive', 'args', 'key', 'block', 'state', 'insert'))
    try:
        plan = plan_edit(before, spec, path, contexts)
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
        result['backup_file'] = module.backup_local(real)
    apply_as_transaction(module, p, spec, result)


def apply_as_transaction(module, p, spec, result):
    """Write the edit as a one-change transaction of nginx_change: lock, journal, apply, nginx -t, commit;
    on a failure every byte is put back.  No reload: that is nginx_change's job."""
    change = dict((k, v) for k, v in spec.items() if v is not None)
    change.update(kind='nginx', path=p['path'])
    nginx = dict((k, v) for k, v in (('bin', p['nginx_bin']), ('config', p['config']), ('prefix', p['prefix'])) if v)
    params = {'changes': [change], 'nginx': nginx,
              'journal_dir': p['journal_dir'], 'lock_timeout': p['lock_timeout'], 'timeout': p['timeout'],
              'reload': False, 'validate': p['validate']}
    try:
        done = Transaction(params).run()
    except TxnFailure as e:
        out = e.result
        validation = out.get('validation')
        if validation is not None:
            result['validation'] = dict(validation, restored=bool(out.get('rolled_back')))
        result['changed'] = False
        if out.get('failed_step') == 'validate' and out.get('rolled_back') and validation and validation.get('errors'):
            module.fail_json(msg='nginx -t failed after the change, original %s put back: %s'
                             % (result['real_path'], describe(validation['errors'][0])), **result)
        steps = out.get('steps') or []
        where = 'journal_dir %s: ' % p['journal_dir'] if steps and steps[-1].get('name') == 'lock' else ''
        module.fail_json(msg=where + str(e), steps=steps, **result)
    if p['validate']:
        validation = done.get('validation') or {'errors': [], 'warnings': []}
        result['validation'] = dict(validation, restored=False)
        for w in validation.get('warnings') or []:
            module.warn(describe(w))
    result['steps'] = done.get('steps')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
