#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_change
short_description: Change nginx and PHP-FPM configuration files in one transaction, rolled back when anything fails
version_added: 0.1.0
description:
  - Applies a list of surgical edits of nginx configuration files (the same edits as
    M(badgateway.nginx.nginx_directive)) and PHP-FPM pool ini files as one transaction, in one module execution.
  - 'The steps, each reported in RV(steps): take an exclusive lock on the host; restore a journal left by an
    earlier run that was killed mid-change; plan every edit in memory; write a journal of the original bytes, owner
    and mode of every file to be changed; write the files (temp file and rename, owner and mode kept); validate
    (C(nginx -t), C(php-fpm -t)); reload gracefully; verify; delete the journal.'
  - The reload is graceful, never a restart; C(systemctl reload UNIT) when systemd runs and the master runs in a
    systemd unit, else C(SIGHUP) to the nginx master (C(SIGUSR2) to the PHP-FPM master). The nginx reload is
    confirmed, because the master can reject a configuration that passed C(nginx -t) (C(nginx -t) does not
    bind the listen sockets, so a port held by another process only fails in the master) and then keeps its
    old workers; the reload counts as failed when no new worker generation starts within O(nginx.reload_timeout)
    or a new C([emerg]) or C([alert]) line appears in the error log.
  - When writing, validation, the reload or the verification fails, every file is put back byte for byte with
    its owner and mode, validated and reloaded again, and the task fails with C(rolled_back=true).
  - A run killed in the middle (host reboot, lost connection, C(SIGKILL)) leaves the journal behind; the next run
    of this module on the host restores it first and reports it in RV(recovered).
  - In check mode the edits are planned and the diff is returned; nothing is written, locked or reloaded. A journal
    whose run still holds the lock is in progress, not left over, and is not reported as one to restore.
  - After a rollback the task says what happened in RV(rollback), that is whether every file reads back with its journal
    sha256, owner and mode, whether the restored configuration validated and nginx reloaded, and whether the
    verified routes answer; the message says C(BUT THE RESTORED CONFIGURATION DOES NOT SERVE) when they do not.
options:
  changes:
    description:
      - The edits, applied in this order. Several edits of one file are applied one after the other; the C(line) of
        each is a line of the file as it was before the run (an earlier edit that adds or removes lines is followed).
      - Required unless O(recover_only=true).
      - An edit with a key its O(changes[].kind) does not know fails the task.
    type: list
    elements: dict
    suboptions:
      kind:
        description:
          - V(nginx) edits one directive or block of an nginx configuration file (keys as in
            M(badgateway.nginx.nginx_directive)).
          - V(fpm) sets or removes one C(key = value) line in one section of a PHP-FPM ini file.
        type: str
        choices: [nginx, fpm]
        default: nginx
      path:
        description:
          - Absolute path of the file to edit. It must exist. A symbolic link is followed and its target edited
            (the link stays).
          - (nginx) It must be part of the include tree of the main configuration (O(nginx.config), or the one
            C(nginx -V) names), and its context is where nginx includes it (a file included inside a C(server) is
            that server's body). (fpm) It must be part of the include tree of O(php_fpm.config) (or, unset, of a
            php-fpm main config found in the usual places). Any other file fails the task before anything is written.
        type: str
        required: true
      scope:
        description: (nginx) The kind of block the directive goes in (default V(http)).
        type: str
        choices: [main, events, http, server, location, upstream]
      server_name:
        description: (nginx) Select the server block with this name.
        type: str
      listen:
        description: (nginx) Select the server block listening on this address or port.
        type: str
      location:
        description: (nginx) The location's modifier and match; a list selects nested locations.
        type: raw
      upstream:
        description: (nginx) The upstream's name, with O(changes[].scope=upstream).
        type: str
      line:
        description: (nginx) The line of the selected block's opening statement.
        type: int
      directive:
        description: (nginx) The directive's name.
        type: str
      args:
        description: (nginx) The directive's arguments, unquoted.
        type: list
        elements: str
      block:
        description: (nginx) Raw text of one block statement such as a C(map).
        type: str
      insert:
        description: (nginx) Where a new directive goes in the block (default V(last)).
        type: str
        choices: [first, last]
      section:
        description: (fpm) The ini section, that is the pool name such as V(www), or V(global).
        type: str
      key:
        description: (fpm) The setting, for example V(pm.max_children), V(listen.owner) or V(php_admin_value[memory_limit]).
        type: str
      value:
        description:
          - (fpm) The value, written as given after C(key = ). Required with O(changes[].state=present).
          - An existing line keeps its indentation, spacing and trailing comment; only the value is replaced.
            A missing key is inserted after the section's last setting.
        type: str
      state:
        description: Whether the directive, block or key should be there (default V(present)).
        type: str
        choices: [present, absent]
  nginx:
    description: The nginx instance to validate and reload.
    type: dict
    default: {}
    suboptions:
      bin:
        description: The nginx binary; looked up in C(PATH) and the sbin directories when unset.
        type: path
      config:
        description: Main configuration file, passed to C(nginx -t) as C(-c); nginx's built-in default when unset.
        type: path
      prefix:
        description: Prefix path, passed as C(-p).
        type: path
      pid_file:
        description:
          - The master's pid file. When unset, the C(pid) directive of the main config, then nginx's built-in pid path.
          - The master reloaded is the one the pid file names when it runs this O(nginx.config) (its title's C(-c))
            in the module's pid and mount namespaces; else the single master there that runs this config. Masters
            of other namespaces (containers) and of other configs are set aside, never signalled. A stale pid file
            (its pid gone, not an nginx master of these namespaces, or running another config) with no master of
            this config fails the reload with that reason and the masters set aside.
        type: path
      service:
        description: The systemd unit to reload when systemd runs; when unset, the unit the master runs in.
        type: str
      reload_timeout:
        description: Seconds to wait for a new worker generation after the reload; at least V(1).
        type: int
        default: 10
  php_fpm:
    description: The PHP-FPM instance to validate and reload when a O(changes[].kind=fpm) edit changes a file.
    type: dict
    default: {}
    suboptions:
      bin:
        description: The php-fpm binary (for example C(/usr/sbin/php-fpm8.2)); the highest C(php-fpm*) found when unset.
        type: path
      config:
        description: The main C(php-fpm.conf), passed to C(php-fpm -t) as C(-y).
        type: path
      service:
        description: The systemd unit (for example C(php8.2-fpm)); when unset, the unit the master runs in.
        type: str
      pid_file:
        description:
          - The master's pid file; when unset, C(/proc) is scanned for the PHP-FPM master of the module's pid and
            mount namespaces that runs O(php_fpm.config) (any config when unset). Masters of other namespaces
            (containers) are set aside; several candidates, or a stale pid file, fail with what was set aside.
        type: path
      reload_timeout:
        description: Seconds to wait for the PHP-FPM master after its reload; at least V(1).
        type: int
        default: 10
  verify:
    description: What must hold after the reload for the change to be kept.
    type: dict
    default: {}
    suboptions:
      urls:
        description:
          - Requests made from the node after the reload; each must answer without a connection error and with a
            status below 500. C(https) certificates are not verified (the check is about the answer, not trust).
        type: list
        elements: dict
        default: []
        suboptions:
          url:
            description: The URL, C(http://) or C(https://) with a host; blanks and control characters are refused.
            type: str
            required: true
          host:
            description: The C(Host) header to send; blanks and control characters are refused.
            type: str
          timeout:
            description: Seconds to wait for the answer.
            type: float
            default: 5
      error_log:
        description:
          - nginx's error log. New C([emerg]) and C([alert]) lines after the reload mean the reload failed; new
            upstream error lines (502/504 causes) whose C(host) is the C(Host) header or C(host:port) of one of
            O(verify.urls) fail the verification.
          - When unset, the C(error_log) of the main configuration file.
        type: path
      settle:
        description: Seconds to wait after the reload before judging; not negative.
        type: float
        default: 1
  journal_dir:
    description:
      - Directory for the lock and the journal, created with mode 0700; its files are 0600.
      - The journal uses only a directory it created (marked by its C(lock) file), owned by the user running the
        module, not a symbolic link, with no group or other permissions; an existing directory that is not one is
        refused, never chmodded, and nothing in it is deleted.
    type: path
    default: /var/lib/badgateway-nginx
  lock_timeout:
    description: Seconds to wait for another run on the host to finish; not negative.
    type: int
    default: 60
  recover_only:
    description: Only restore a journal left by a killed run (and reload), then stop.
    type: bool
    default: false
  timeout:
    description: Seconds C(nginx -t), C(php-fpm -t) and C(systemctl) may take; at least V(1).
    type: int
    default: 30
notes:
  - Runs as root (the journal keeps owners and modes).
  - Hostile values (newlines and control characters in arguments, directive names with blanks) are refused
    before anything is written.
  - SELinux contexts and timestamps are not kept.
  - php-fpm applies C(listen.owner), C(listen.group) and C(listen.mode) only when it creates a pool's socket,
    not on a reload (the new master inherits the socket as it is). When one of them changes, the live socket
    is given the new owner, group and mode right after the reload (what a restart would do, without one), and
    given back its old ones on a rollback.
  - C(listen) and C(listen.backlog) cannot be applied to an inherited socket at all; when one of them changes,
    php-fpm is restarted with systemd (never nginx), and without systemd the change fails and is rolled back.
  - A committed change leaves the time of the commit in C(last-commit) in O(journal_dir);
    M(badgateway.nginx.nginx_probe) reads only log lines written after it.
  - The module has an action plugin; after a change that moved lines of files the host's C(ansible_facts.nginx)
    describes, it adds those moves to C(ansible_facts.nginx.moved), so that a plan made later from the same facts
    (the filter P(badgateway.nginx.remediation_plan#filter)) edits the blocks the facts name.
seealso:
  - module: badgateway.nginx.nginx_directive
  - module: badgateway.nginx.nginx_validate
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - badgateway.nginx.attributes.change_action
  - badgateway.nginx.attributes.platform_posix
'''

EXAMPLES = r'''
- name: More time for the API and more PHP-FPM children, kept only if the site still answers
  badgateway.nginx.nginx_change:
    changes:
      - path: /etc/nginx/sites-enabled/app.conf
        scope: location
        server_name: app.example.com
        location: /api/
        directive: proxy_read_timeout
        args: ["120s"]
      - kind: fpm
        path: /etc/php/8.2/fpm/pool.d/www.conf
        section: www
        key: pm.max_children
        value: "20"
    php_fpm:
      bin: /usr/sbin/php-fpm8.2
      config: /etc/php/8.2/fpm/php-fpm.conf
    verify:
      urls:
        - url: http://127.0.0.1/api/health
          host: app.example.com
      error_log: /var/log/nginx/error.log
      settle: 2
  become: true

- name: Put back what a killed run left behind, nothing else
  badgateway.nginx.nginx_change:
    recover_only: true
  become: true
'''

RETURN = r'''
changes:
  description: Each edit with what was done (or would be done in check mode).
  returned: when the changes were planned
  type: list
  elements: dict
  contains:
    kind:
      description: nginx or fpm.
      type: str
    path:
      description: The file as given.
      type: str
    what:
      description: The directive or block name, or C([section] key).
      type: str
    action:
      description: What the edit does.
      type: str
      choices: [added, replaced, removed, none]
    line:
      description: Line of the edit (in the new file when added, in the old one when removed), or null.
      type: int
shifts:
  description:
    - How the lines of each changed file moved, per file as given, a list of C([line, delta, inserted]) in the
      order of the edits. A C(line) of a later edit in this run is taken as a line of the file before the run and
      follows these moves; callers that planned more changes from facts gathered before this run use them too.
  returned: when the changes were planned
  type: dict
steps:
  description: Every step run, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: lock, recover, plan, journal, apply, validate, reload, verify, rollback or commit.
      type: str
    ok:
      description: Whether the step succeeded.
      type: bool
    seconds:
      description: How long the step took.
      type: float
    detail:
      description: What happened.
      type: str
  sample:
    - {name: lock, ok: true, seconds: 0.0, detail: locked /var/lib/badgateway-nginx/lock after 0.0 s}
    - {name: reload, ok: true, seconds: 0.12, detail: "SIGHUP to master 812; new workers [901, 902] (old [813, 814])"}
recovered:
  description: The journal of an earlier, interrupted run that was restored before this run; null when there was none.
  returned: always
  type: dict
  contains:
    pid:
      description: Process id of the interrupted run.
      type: int
    started:
      description: When it started (seconds since the epoch).
      type: float
    files:
      description: The files restored.
      type: list
      elements: str
    restored:
      description: Whether every file was put back.
      type: bool
    reloaded:
      description: Whether the restored configuration was validated and reloaded.
      type: bool
    pending:
      description: In check mode, V(true) when the journal would be restored.
      type: bool
diff:
  description: Per changed file, the content before and after, for C(--diff).
  returned: when diff mode is on and a file changes
  type: list
  elements: dict
verify:
  description: The answers of O(verify.urls) after the reload (url, host, status, error).
  returned: when the verify step ran
  type: list
  elements: dict
validation:
  description: The C(nginx -t) errors and warnings when it failed.
  returned: when nginx -t failed
  type: dict
rolled_back:
  description: Whether the files were restored after a failure.
  returned: on failure after the journal was written
  type: bool
failed_step:
  description: The step that failed (apply, validate, reload or verify).
  returned: on failure after the journal was written
  type: str
failing_version:
  description:
    - Per changed file (by path as given), the version that failed. Its content stays on the node, in a 0600 file in
      C(failed/) of O(journal_dir) (the newest 50 are kept); the result has that file's path, its sha256 and a
      unified diff from the original with secret values (as the facts redact them, for example the value of
      C(proxy_set_header Authorization)) replaced by C(********).
    - '{saved: path or null, sha256, diff, error: when it could not be saved}'
  returned: on failure after the journal was written
  type: dict
rollback:
  description: What the rollback did and saw.
  returned: on failure after the journal was written
  type: dict
  contains:
    restored:
      description: Every file was put back and reads back with its journal sha256, owner and mode.
      type: bool
    files:
      description: Per file, C(path), the journal C(sha256), and C(problem) (null when it reads back equal).
      type: list
      elements: dict
    validated:
      description: The restored configuration passed C(nginx -t) (and C(php-fpm -t)).
      type: bool
    reloaded:
      description: The restored configuration was reloaded, and an nginx master runs after it.
      type: bool
    routes_ok:
      description: Every URL of O(verify.urls) answers without error and below 500 after the rollback; null without URLs.
      type: bool
log_lines:
  description: New error-log lines after the reload (at most 50, query strings redacted).
  returned: on failure after the journal was written
  type: list
  elements: str
rollback_seconds:
  description: Seconds from detecting the failure to the restored, reloaded configuration.
  returned: when the files were restored
  type: float
rollback_check:
  description: The answers of O(verify.urls) after the rollback.
  returned: when the files were restored
  type: list
  elements: dict
rollback_check_master:
  description: The nginx master pid after the rollback (null when none runs).
  returned: when the files were restored and an nginx file was changed
  type: int
'''

import os

from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils._module import new_module

from ansible_collections.badgateway.nginx.plugins.module_utils._daemons import DAEMON_OPTIONS
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import EDIT_OPTIONS, SCOPES
from ansible_collections.badgateway.nginx.plugins.module_utils._transaction import Transaction, TxnFailure

CHANGE_OPTIONS = dict(
    EDIT_OPTIONS,
    kind=dict(type='str', default='nginx', choices=['nginx', 'fpm']),
    path=dict(type='str', required=True),
    scope=dict(type='str', choices=list(SCOPES)),
    insert=dict(type='str', choices=['first', 'last']),
    section=dict(type='str'),
    value=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent']),
)


def nul_bytes(value, name):
    """The name of the first option (as name[0].key) whose string holds a NUL byte, or None."""
    if isinstance(value, str):
        return name if '\x00' in value else None
    if isinstance(value, dict):
        items = sorted(value.items())
    elif isinstance(value, list):
        items = [('[%d]' % i, v) for i, v in enumerate(value)]
    else:
        return None
    for key, v in items:
        found = nul_bytes(v, '%s%s' % (name, key) if key.startswith('[') else ('%s.%s' % (name, key) if name else key))
        if found:
            return found
    return None


def check_numbers(p):
    """A message for the first timeout or delay out of range, or None."""
    limits = [('timeout', p.get('timeout'), 1), ('lock_timeout', p.get('lock_timeout'), 0),
              ('nginx.reload_timeout', (p.get('nginx') or {}).get('reload_timeout'), 1),
              ('php_fpm.reload_timeout', (p.get('php_fpm') or {}).get('reload_timeout'), 1),
              ('verify.settle', (p.get('verify') or {}).get('settle'), 0)]
    for name, value, least in limits:
        if value is not None and not value >= least:  # nan is not a number of seconds either
            return '%s must be at least %s, got %s' % (name, least, value)
    for n, u in enumerate((p.get('verify') or {}).get('urls') or []):
        if u.get('timeout') is not None and not 0 < u['timeout'] < float('inf'):
            return 'verify.urls[%d].timeout must be more than 0, got %s' % (n, u['timeout'])
    return None


def check_files(p):
    """A message when nginx.bin is not an executable file or a main config is not a regular file, or None."""
    binary = (p.get('nginx') or {}).get('bin')
    if binary and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        return 'nginx.bin %s does not exist or is not an executable file' % binary
    for name, value in (('nginx.config', (p.get('nginx') or {}).get('config')),
                        ('php_fpm.config', (p.get('php_fpm') or {}).get('config'))):
        if value and not os.path.isfile(value):
            return '%s %s does not exist or is not a regular file' % (name, value)
    return None


def check_urls(urls):
    """A message for the first verify URL or Host that cannot be sent as given, or None."""
    for n, u in enumerate(urls or []):
        for key in ('url', 'host'):
            value = u.get(key)
            if value is not None and any(ord(c) < 33 or ord(c) == 127 for c in value):
                return 'verify.urls[%d].%s must not contain blanks, CR, LF or other control characters: %r' % (n, key, value)
        parts = urlsplit(u['url'])
        try:
            host = parts.hostname
            parts.port
        except ValueError as e:
            return 'verify.urls[%d].url %r is not a valid URL: %s' % (n, u['url'], e)
        if parts.scheme not in ('http', 'https') or not host:
            return 'verify.urls[%d].url must be an http:// or https:// URL with a host, got %r' % (n, u['url'])
    return None


def option_error(p):
    """A message for the first option that cannot be right, or None (after AnsibleModule checked the types)."""
    bad = nul_bytes(p, '')
    if bad:
        return '%s contains a NUL byte' % bad
    bad = check_numbers(p) or check_urls((p.get('verify') or {}).get('urls')) or check_files(p)
    if bad:
        return bad
    if not p['recover_only'] and not p['changes']:
        return 'changes is required (or set recover_only: true)'
    for c in p['changes'] or []:
        loc = c.get('location')
        if loc is not None and not (isinstance(loc, str) or isinstance(loc, list) and all(isinstance(x, str) for x in loc)):
            return '%s: location must be a string or a list of strings' % c.get('path')
    if not os.path.isabs(p['journal_dir']):
        return 'journal_dir must be an absolute path'
    return None


# what a failure before the transaction started returns besides msg
NOT_STARTED = dict(changed=False, steps=[])


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=dict(
            changes=dict(type='list', elements='dict', options=CHANGE_OPTIONS),
            nginx=dict(type='dict', default={}, options=dict(DAEMON_OPTIONS, prefix=dict(type='path'))),
            php_fpm=dict(type='dict', default={}, options=DAEMON_OPTIONS),
            verify=dict(type='dict', default={}, options=dict(
                urls=dict(type='list', elements='dict', default=[], options=dict(
                    url=dict(type='str', required=True),
                    host=dict(type='str'),
                    timeout=dict(type='float', default=5),
                )),
                error_log=dict(type='path'),
                settle=dict(type='float', default=1),
            )),
            journal_dir=dict(type='path', default='/var/lib/badgateway-nginx'),
            lock_timeout=dict(type='int', default=60),
            recover_only=dict(type='bool', default=False),
            timeout=dict(type='int', default=30),
        ),
        option_error=option_error,
        failed=NOT_STARTED,
        supports_check_mode=True,
    )
    p = dict(module.params)
    # the kind decides the keys: drop what Ansible filled in as None, the transaction checks the rest
    p['changes'] = [dict((k, v) for k, v in c.items() if v is not None) for c in (p['changes'] or [])]
    for key in ('nginx', 'php_fpm', 'verify'):
        p[key] = dict((k, v) for k, v in (p[key] or {}).items() if v is not None)
    p['verify']['urls'] = [dict((k, v) for k, v in u.items() if v is not None) for u in p['verify'].get('urls') or []]
    txn = Transaction(p, check_mode=module.check_mode, diff=module._diff)
    try:
        result = txn.run()
    except TxnFailure as e:
        result = dict(e.result)
        # files that were changed were put back: only a recovered journal leaves a change
        result['changed'] = bool((result.get('recovered') or {}).get('restored'))
        module.fail_json(msg=e.msg, **result)
    except Exception as e:  # pylint: disable=broad-except
        module.fail_json(msg='unexpected %s: %s; if files were written, the journal in %s puts them back on the next run'
                         % (type(e).__name__, e, p['journal_dir']), changed=False, steps=txn.steps)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
