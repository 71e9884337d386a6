#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: nginx_facts
short_description: Gather nginx upstream facts (servers, locations, pass targets, timeouts, headers)
version_added: 0.1.0
description:
  - Reads the nginx configuration of the managed node in one remote command (C(nginx -T)) and
    parses it with crossplane on the controller into C(ansible_facts.nginx).
  - Reports every C(server) block with its C(listen) and C(server_name), every C(location)
    (nested ones too) with its effective upstream settings after nginx's inheritance rules
    (http, then server, then location), every C(upstream) block, and the global settings that
    matter when nginx answers 502 or 504.
  - Every value carries the C(file) and C(line) it came from; values nginx fills in by
    default are marked with C(default=true).
  - When C(nginx -t) fails, the module still returns facts, read from the configuration files
    directly (following C(include) globs as nginx does), and reports the validation errors
    with their file and line.
  - The node only needs Python's standard library; crossplane runs on the controller (this
    module has an action plugin of the same name that does the parsing).
author:
  - badgateway.nginx maintainers (@badgateway)
requirements:
  - crossplane on the controller (see C(meta/ee-requirements.txt)).
options:
  nginx_bin:
    description:
      - Path of the nginx binary.
      - When unset, C(nginx) is looked up in C(PATH) and in C(/usr/sbin), C(/usr/local/sbin),
        C(/usr/local/nginx/sbin) and C(/opt/nginx/sbin).
    type: path
  config:
    description:
      - Main configuration file, passed to nginx as C(-c).
      - Defaults to the C(--conf-path) nginx was built with.
    type: path
  prefix:
    description:
      - Prefix path, passed to nginx as C(-p).
      - Defaults to the C(--prefix) nginx was built with.
    type: path
  max_file_size:
    description:
      - Largest configuration file, in bytes, that is read. A larger file fails the task with a
        message that names it.
    type: int
    default: 16777216
  timeout:
    description:
      - Seconds that C(nginx -V) and C(nginx -T) may take each (C(nginx -T) resolves the host
        names in the configuration).
    type: int
    default: 30
notes:
  - Reading the configuration usually needs root on the node; use C(become=true).
  - Run it as a task (or through the C(badgateway.nginx.nginx_facts) role) rather than through
    C(FACTS_MODULES), because C(gather_facts) runs modules without their action plugins, and the
    parsing happens in the action plugin.
  - Header values and parameters whose names look secret (C(Authorization), C(Cookie), names
    with C(token), C(secret), C(password), C(key)) are replaced by C(********) in the facts.
  - Only the C(http) context is reported; C(stream) and C(mail) servers are not.
seealso:
  - module: badgateway.nginx.nginx_validate
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  facts:
    support: full
  platform:
    platforms: posix
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''

EXAMPLES = r'''
- name: Gather nginx facts
  badgateway.nginx.nginx_facts:
  become: true

- name: Show every location that proxies somewhere
  ansible.builtin.debug:
    msg: "{{ item.0.server_name | first | default('_') }} {{ item.1.match }} -> {{ item.1.pass.target.raw }}"
  loop: "{{ ansible_facts.nginx.servers | subelements('locations') }}"
  when: item.1.pass is not none

- name: Gather facts for an nginx with its own prefix and config
  badgateway.nginx.nginx_facts:
    nginx_bin: /opt/nginx/sbin/nginx
    prefix: /opt/nginx/
    config: /opt/nginx/conf/nginx.conf
  become: true

# The facts are cached like any other with a fact cache, e.g.
#   ANSIBLE_CACHE_PLUGIN=ansible.builtin.jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION=~/.cache/facts
# and later plays read ansible_facts.nginx without reaching the host again.
'''

RETURN = r'''
ansible_facts:
  description: Facts about nginx.
  returned: success
  type: dict
  contains:
    nginx:
      description: The nginx configuration as nginx sees it.
      returned: success
      type: dict
      contains:
        version:
          description: nginx version.
          type: str
          sample: 1.22.1
        gathered:
          description:
            - When these facts were gathered (C(at), epoch) and an C(id) of this gathering; the remediation
              roles use it to know whether the line numbers here predate a change they made.
          type: dict
        binary:
          description: Path of the nginx binary used.
          type: str
          sample: /usr/sbin/nginx
        build:
          description: C(nginx -V) output parsed (product, built_with, configure_arguments, modules).
          type: dict
        prefix:
          description: The prefix nginx resolves relative paths with.
          type: str
          sample: /usr/share/nginx/
        config:
          description: Main configuration file.
          type: str
          sample: /etc/nginx/nginx.conf
        conf_prefix:
          description: Directory that relative C(include) paths are resolved against.
          type: str
          sample: /etc/nginx/
        source:
          description: C(nginx -T) when nginx dumped its configuration, C(files) when it was read from disk because C(nginx -t) failed.
          type: str
          sample: nginx -T
        files:
          description: Every configuration file read, in the order nginx reads them.
          type: list
          elements: str
        valid:
          description: Whether C(nginx -t) accepted the configuration.
          type: bool
        validation:
          description: C(errors) and C(warnings) from C(nginx -t), each with level, message, file and line.
          type: dict
        user:
          description: Worker user and group (C(user) directive, or nginx's default).
          type: dict
          sample: {"name": "www-data", "group": "www-data", "file": "/etc/nginx/nginx.conf", "line": 1, "default": false}
        worker_processes:
          description: C(worker_processes) value with file and line.
          type: dict
        worker_connections:
          description: C(worker_connections) value with file and line.
          type: dict
        worker_rlimit_nofile:
          description: C(worker_rlimit_nofile) value with file and line (value null when unset).
          type: dict
        error_log:
          description: Every C(error_log) directive (path, level, context, file, line); the built-in default when none.
          type: list
          elements: dict
        access_log:
          description: Every C(access_log) directive (path, format, context, file, line).
          type: list
          elements: dict
        resolver:
          description: The http-level C(resolver) (addresses, valid, ipv6, file, line), or null.
          type: dict
        servers:
          description:
            - Every C(server) block of the http context, with file, line, C(listen) list (address, port,
              unix, ssl, http2, default_server), C(server_name) list, and C(locations).
            - Each location has C(match), C(modifier), C(file), C(line), C(parents) (the matches of the
              enclosing locations), C(pass) (directive, target with kind tcp/unix/upstream/variable,
              scheme, host, port, path, upstream, uri, file, line) and, when it passes, the effective
              C(timeouts), C(headers) (proxy and grpc), C(params) (fastcgi, uwsgi, scgi),
              C(http_version), C(buffers) and C(resolver), each value with file, line, scope and default.
          type: list
          elements: dict
        upstreams:
          description: Every C(upstream) block by name, with file, line, C(servers) (target, weight, max_fails, fail_timeout, backup, down) and C(keepalive).
          type: dict
        warnings:
          description: Problems that did not stop the facts (bytes that are not UTF-8, unknown directives).
          type: list
          elements: str
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils.nginx_common import (
    NginxError,
    check_content,
    find_nginx,
    nginx_argv,
    parse_test_output,
    parse_version,
    read_config_tree,
    resolve_paths,
    run,
    split_dump,
)


def collect(params):
    """Everything the controller needs, in one module run on the node."""
    binary = find_nginx(params['nginx_bin'])
    timeout = params['timeout']
    rc, out, err = run([binary, '-V'], timeout)
    if rc != 0:
        raise NginxError('%s -V failed (rc=%d): %s' % (binary, rc, err.strip()[-500:]))
    version = parse_version(err + out.decode('utf-8', 'replace'))
    prefix, config, conf_prefix = resolve_paths(version, params['config'], params['prefix'])
    if not os.path.exists(config):
        raise NginxError('nginx config %s does not exist' % config)
    if not os.access(config, os.R_OK):
        raise NginxError('nginx config %s is not readable by this user (use become)' % config)

    rc, out, err = run(nginx_argv(binary, '-T', params['config'], params['prefix']), timeout)
    errors, warnings = parse_test_output(err)
    if rc < 0 or rc > 128:
        errors.append({'level': 'crit', 'file': None, 'line': None,
                       'message': 'nginx -T was killed by signal %d (an include loop makes nginx crash)'
                                  % (-rc if rc < 0 else rc - 128)})
    result = {
        'binary': binary,
        'build': version,
        'prefix': prefix,
        'config': config,
        'conf_prefix': conf_prefix,
        'valid': rc == 0,
        'validation': {'rc': rc, 'errors': errors, 'warnings': warnings},
        'warnings': [],
    }
    files = []
    if rc == 0 and out:
        result['source'] = 'nginx -T'
        for path, data in split_dump(out):
            text, warning = check_content(path, data, params['max_file_size'])
            if warning:
                result['warnings'].append(warning)
            files.append({'path': path, 'content': text})
    else:
        result['source'] = 'files'
        tree, read_errors, read_warnings = read_config_tree(config, conf_prefix, params['max_file_size'])
        result['warnings'].extend(read_warnings)
        known = set((e['file'], e['line'], e['message']) for e in errors)
        for e in read_errors:
            if (e['file'], e['line'], e['message']) not in known:
                errors.append(e)
        if rc == 0:
            result['valid'] = True
        files = [{'path': p, 'content': t} for p, t in tree]
    if rc != 0 and not errors:
        errors.append({'level': 'emerg', 'file': None, 'line': None,
                       'message': 'nginx -T failed (rc=%d): %s' % (rc, err.strip()[-500:] or 'no output')})
    result['files'] = files
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nginx_bin=dict(type='path'),
            config=dict(type='path'),
            prefix=dict(type='path'),
            max_file_size=dict(type='int', default=16777216),
            timeout=dict(type='int', default=30),
        ),
        supports_check_mode=True,
    )
    if module.params['max_file_size'] < 1:
        module.fail_json(msg='max_file_size must be a positive number of bytes')
    if module.params['timeout'] < 1:
        module.fail_json(msg='timeout must be at least 1 second')
    try:
        raw = collect(module.params)
    except NginxError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=False, nginx_raw=raw)


if __name__ == '__main__':
    main()
