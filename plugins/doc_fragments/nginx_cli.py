# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Which nginx the module runs: the options module_utils/_nginx_cli (find_nginx, nginx_argv) and
    # module_utils/_validate.nginx_paths_error handle the same way in every module that takes them.
    # A module whose option means more (nginx_directive's config) documents that option itself.
    DOCUMENTATION = r'''
options:
  nginx_bin:
    description:
      - Path of the nginx binary; it must exist and be executable.
      - When unset, C(nginx) is looked up in C(PATH), then in C(/usr/sbin), C(/usr/local/sbin),
        C(/usr/local/nginx/sbin), C(/opt/nginx/sbin), C(/usr/bin), C(/usr/local/bin), C(/sbin) and C(/bin).
    type: path
  config:
    description:
      - Main configuration file, passed to nginx as C(-c).
      - When unset, the one nginx was built with (C(--conf-path) in C(nginx -V)).
      - When it exists it must be a regular file (a FIFO, socket, device or directory fails the task
        before nginx runs).
    type: path
  prefix:
    description:
      - Prefix path, passed to nginx as C(-p).
      - When unset, the one nginx was built with (C(--prefix) in C(nginx -V)).
    type: path
'''

    # The timeout of modules that run nginx through module_utils/_command.run, at least 1 (checked by the module).
    TIMEOUT = r'''
options:
  timeout:
    description:
      - Seconds each nginx command the module runs (C(nginx -V), C(nginx -t) or C(nginx -T)) may take;
        at least V(1). C(nginx -t) and C(nginx -T) resolve the host names in the configuration.
      - At the timeout nginx and every process it started are killed (it runs in a process group of its own).
    type: int
    default: 30
'''
