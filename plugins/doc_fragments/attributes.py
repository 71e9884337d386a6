# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The support levels the modules share. The descriptions of the attributes come from ansible-core's
    # action_common_attributes, which every module extends as well; these only say how far a module goes.
    # A module whose support has details of its own (backend_service's check mode) keeps it in the module.
    DOCUMENTATION = r'''
options: {}
'''

    # A module that never changes the host (nginx_validate, nginx_facts, nginx_probe, nginx_diagnose).
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - The module changes nothing.
'''

    # A module that changes files or rules and predicts the change, with its diff, in check mode.
    CHECK_DIFF = r'''
options: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
'''

    # A module whose code is an action plugin on the controller (nginx_diagnose, nginx_facts, nginx_report,
    # nginx_change; the descriptions come from action_common_attributes.flow). nginx_change's action runs its
    # module asynchronously as well and says so in its own attributes.
    ACTION_PLUGIN = r'''
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
'''

    PLATFORM_POSIX = r'''
options: {}
attributes:
  platform:
    platforms: posix
'''

    # Modules that read /proc/net, /proc/<pid> or the Linux firewalls.
    PLATFORM_LINUX = r'''
options: {}
attributes:
  platform:
    platforms: linux
'''
