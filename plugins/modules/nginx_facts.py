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
    parses it on the controller with nginx's own syntax rules (the tokenizer of nginx's
    C(ngx_conf_file.c), shared with the node's include finder and C(nginx_directive)) into
    C(ansible_facts.nginx).
  - A file with a syntax error (an unterminated block, a half-finished edit) does not stop the
    facts; everything that parses is reported, C(valid=false), and the error is in
    C(validation.errors) with nginx's own message and file:line.
  - Reports every C(server) block with its C(listen) and C(server_name), every C(location)
    (nested ones too) with its effective upstream settings after nginx's inheritance rules
    (http, then server, then location), every C(upstream) block, and the global settings that
    matter when nginx answers 502 or 504.
  - Every value carries the C(file) and C(line) it came from; values nginx fills in by
    default are marked with C(default=true).
  - When C(nginx -t) fails, the module still returns facts, read from the configuration files
    directly (following C(include) globs as nginx does), and reports the validation errors
    with their file and line.
  - The node only needs Python's standard library; the parsing runs on the controller (this
    module has an action plugin of the same name that does it). crossplane is not needed; the
    tests use it as an oracle only.
options:
  max_file_size:
    description:
      - Largest configuration file, in bytes, that is read. A larger file fails the task with a
        message that names it.
    type: int
    default: 16777216
notes:
  - Reading the configuration usually needs root on the node; use C(become=true).
  - Run it as a task (or through the C(badgateway.nginx.nginx_facts) role) rather than through
    C(FACTS_MODULES), because C(gather_facts) runs modules without their action plugins, and the
    parsing happens in the action plugin.
  - Header values and parameters whose names look secret (C(Authorization), C(Cookie), names
    with C(token), C(secret), C(password), C(key)) are replaced by C(********) in the facts.
  - Only the C(http) context is reported; C(stream) and C(mail) servers are not.
  - An included file that is not a regular file (a FIFO, socket, device or directory) is never opened; it is
    reported as a validation error naming it.
seealso:
  - module: badgateway.nginx.nginx_validate
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.facts
  - action_common_attributes.flow
  - badgateway.nginx.attributes.facts_action
  - badgateway.nginx.attributes.platform_posix
  - badgateway.nginx.nginx_cli
  - badgateway.nginx.nginx_cli.timeout
  - badgateway.nginx.facts_form
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
          description: Whether C(nginx -t) accepted the configuration and every file parses.
          type: bool
        validation:
          description:
            - C(errors) and C(warnings) from C(nginx -t), each with level, message, file and line.
            - C(errors) also holds the syntax error of every file that has one (nginx -t names only
              the first), with nginx's message and line, not repeated where nginx -t printed it.
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
              scheme, host, port, path, upstream, uri, file, line; C(within) is C(if) or C(limit_except) when
              the pass is inside one, C(condition) its arguments) and, when it passes, the effective
              C(timeouts), C(headers) (proxy and grpc), C(params) (fastcgi, uwsgi, scgi),
              C(http_version), C(buffers) and C(resolver), each value with file, line, scope and default.
            - C(modifier) is C(=), C(^~), C(~), C(~*), C(@) or empty, read as nginx does also when written
              against the pattern (C(=/favicon.ico)).
            - With variables in a pass target, C(kind=variable) and scheme, host and port as far as they
              are written out (null where a variable decides). C(unix:///run/a.sock) is the socket
              C(/run/a.sock). Upstream names match case-insensitively (C(upstream) is the declared name).
            - C(headers.sent) and C(params.sent) list what nginx sends, in its order, each entry
              (name, value, file, line, implicit) as often as it is set; nginx's implicit C(Host $proxy_host)
              and C(Connection close) are there with C(implicit=true) unless a header of that name is set.
          type: list
          elements: dict
        upstreams:
          description:
            - Every C(upstream) block by name, with file, line, C(servers) (target, weight, max_fails, fail_timeout, backup,
              down), C(keepalive) and C(keepalive_timeout) (how long nginx keeps an idle cached connection; null when not
              set, nginx then keeps it 60s).
          type: dict
        loaded:
          description:
            - Whether the files on disk are what the running nginx loaded. C(master_pid) is the master of this
              configuration in the module's pid and mount namespaces (found by its pid file, its config and
              namespaces, as M(badgateway.nginx.nginx_change) finds it; masters of containers are in
              C(set_aside) with a C(reason)), or null.
            - C(reloaded_at) (epoch) is its last successful start or reload - the start time of the newest
              generation of its worker processes (a failed reload starts no workers), else the master's start
              time - and C(changed) the configuration files (of C(files)) whose mtime is later, each with
              C(file) and C(mtime). While C(changed) is not empty the facts describe files nginx has not
              loaded.
            - C(note) says why nothing could be compared (for example nginx is not running, or its pid file is
              stale), else null.
          type: dict
          sample: {"master_pid": 812, "reloaded_at": 1767261600.12, "changed": [{"file": "/etc/nginx/sites-enabled/app",
                   "mtime": 1767265200.5}], "note": null, "set_aside": []}
        warnings:
          description: Problems that did not stop the facts (bytes that are not UTF-8, unknown directives).
          type: list
          elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.badgateway.nginx.plugins.module_utils._module import failing, new_module
from ansible_collections.badgateway.nginx.plugins.module_utils._validate import at_least, nginx_options_error
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    MAX_FILE_SIZE_OPTION,
    NGINX_OPTIONS,
    NGINX_TIMEOUT_OPTION,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_gather import collect


def option_error(params):
    """What is wrong with the options, named, or None."""
    return nginx_options_error(params, at_least('max_file_size', params['max_file_size'], 1, ' byte'))


def main():
    module = new_module(
        AnsibleModule,
        argument_spec=dict(
            NGINX_OPTIONS,
            max_file_size=MAX_FILE_SIZE_OPTION,
            timeout=NGINX_TIMEOUT_OPTION,
            verbose=dict(type='bool', default=False),  # read by the action plugin
        ),
        option_error=option_error,
        supports_check_mode=True,
    )
    with failing(module):
        raw = collect(module.params)
    module.exit_json(changed=False, nginx_raw=raw)


if __name__ == '__main__':
    main()
