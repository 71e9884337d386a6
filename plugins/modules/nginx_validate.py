#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_validate
short_description: Validate an nginx configuration with C(nginx -t) and report errors by file and line
version_added: 0.1.0
description:
  - Runs C(nginx -t) on the live configuration, or on a candidate given with O(config) and O(prefix),
    and returns the errors and warnings nginx printed, each with its level, message, file and line.
  - Fails with the first error's C(file:line) in C(msg) unless O(fail_on_error=false).
  - Warnings (level warn or notice) are returned in RV(nginx_warnings) and shown as Ansible warnings.
  - Never changes anything; C(nginx -t) proves syntax and references (files, host names), never
    that an upstream answers.
options:
  fail_on_error:
    description:
      - Fail the task when the configuration is not valid.
      - With V(false) the task succeeds and RV(valid) tells the result.
    type: bool
    default: true
notes:
  - Testing the live configuration usually needs root (nginx opens log files and certificates); use C(become=true).
seealso:
  - module: badgateway.nginx.nginx_facts
extends_documentation_fragment:
  - badgateway.nginx.nginx_cli
  - badgateway.nginx.nginx_cli.timeout
  - action_common_attributes
  - badgateway.nginx.attributes.info
  - badgateway.nginx.attributes.platform_posix
'''

EXAMPLES = r'''
- name: Validate the live configuration
  badgateway.nginx.nginx_validate:
  become: true

- name: Validate a candidate configuration without failing, then decide
  badgateway.nginx.nginx_validate:
    config: /etc/nginx/candidate/nginx.conf
    fail_on_error: false
  register: candidate
  become: true

- name: Show where the candidate is broken
  ansible.builtin.debug:
    msg: "{{ item.file }}:{{ item.line }}: {{ item.message }}"
  loop: "{{ candidate.errors }}"
  when: not candidate.valid
'''

RETURN = r'''
valid:
  description: Whether C(nginx -t) accepted the configuration.
  returned: always
  type: bool
  sample: false
errors:
  description: Messages of level emerg, alert, crit or error, in the order nginx printed them.
  returned: always
  type: list
  elements: dict
  contains:
    level:
      description: nginx log level.
      type: str
      sample: emerg
    message:
      description: The message without the level and the place.
      type: str
      sample: unknown directive "proxy_passs"
    file:
      description: File nginx named, or null.
      type: str
      sample: /etc/nginx/sites-enabled/app.conf
    line:
      description: Line nginx named, or null.
      type: int
      sample: 12
nginx_warnings:
  description:
    - Messages of level warn or notice (same fields as RV(errors)).
    - Named so because Ansible reserves C(warnings) for its own messages; each one is also shown as an Ansible warning.
  returned: always
  type: list
  elements: dict
exit_status:
  description: Exit status of C(nginx -t) (not C(rc), which Ansible reads as the task's failure).
  returned: always
  type: int
  sample: 1
binary:
  description: The nginx binary that was run.
  returned: always
  type: str
  sample: /usr/sbin/nginx
command:
  description: The command that was run, as a list.
  returned: always
  type: list
  elements: str
  sample: ["/usr/sbin/nginx", "-t", "-c", "/etc/nginx/nginx.conf"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils._module import failing, new_module
from ansible_collections.badgateway.nginx.plugins.module_utils._validate import nginx_options_error
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    NGINX_OPTIONS,
    NGINX_TIMEOUT_OPTION,
    describe,
    find_nginx,
    test_config,
)

# the fields of a failure before nginx -t ran
NOT_VALIDATED = dict(valid=False, errors=[], nginx_warnings=[])


def validate(params):
    binary = find_nginx(params['nginx_bin'])
    rc, errors, warnings, argv = test_config(binary, params['config'], params['prefix'], params['timeout'])
    return {'valid': rc == 0, 'exit_status': rc, 'errors': errors, 'nginx_warnings': warnings,
            'binary': binary, 'command': argv}


def main():
    module = new_module(AnsibleModule, argument_spec=dict(NGINX_OPTIONS, fail_on_error=dict(type='bool', default=True),
                                                          timeout=NGINX_TIMEOUT_OPTION),
                        option_error=nginx_options_error, failed=NOT_VALIDATED, supports_check_mode=True)
    with failing(module, NOT_VALIDATED):
        result = validate(module.params)
    for warning in result['nginx_warnings']:
        module.warn(describe(warning))
    if not result['valid'] and module.params['fail_on_error']:
        module.fail_json(msg='nginx configuration is not valid: %s' % describe(result['errors'][0]), **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
