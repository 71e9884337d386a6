# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Each fragment is the whole attribute support of one kind of module, and its authors: every module
    # extends exactly one of them. The descriptions of the attributes come from ansible-core's
    # action_common_attributes (and its .flow and .facts), which the modules extend as well. A module
    # whose support has details of its own (backend_service's check mode) adds them in the module.
    # ansible-test reads these as string literals, so each is written out, in YAML's flow style.
    DOCUMENTATION = r'''
options: {}
'''

    # nginx_validate: never changes the host; reads the configuration through nginx -t
    INFO_POSIX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}, platform: {platforms: posix}}
'''

    # nginx_probe: never changes the host; reads /proc/net, /proc/<pid> and the Linux firewalls
    INFO_LINUX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}, platform: {platforms: linux}}
'''

    # nginx_directive, firewall_allow: change files or rules and predict the change, with its diff, in check mode
    CHANGE_POSIX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {check_mode: {support: full}, diff_mode: {support: full}, platform: {platforms: posix}}
'''

    # nginx_facts: an action plugin that returns ansible_facts and changes nothing
    FACTS_ACTION_POSIX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {action: {support: full}, async: {support: none}, bypass_host_loop: {support: none}, facts: {support: full},
             check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}, platform: {platforms: posix}}
'''

    # nginx_diagnose: the same on Linux (its node part is nginx_probe)
    FACTS_ACTION_LINUX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {action: {support: full}, async: {support: none}, bypass_host_loop: {support: none}, facts: {support: full},
             check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}, platform: {platforms: linux}}
'''

    # nginx_change: an action plugin that runs its module asynchronously as well
    CHANGE_ACTION_POSIX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {check_mode: {support: full}, diff_mode: {support: full}, action: {support: full}, async: {support: full},
             bypass_host_loop: {support: none}, platform: {platforms: posix}}
'''

    # nginx_report: runs on the controller and writes files there only
    REPORT_ACTION = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {action: {support: full}, async: {support: none}, bypass_host_loop: {support: none},
             check_mode: {support: full}, diff_mode: {support: none}, platform: {platforms: all}}
'''

    # backend_service: says its check and diff mode support in the module
    PLATFORM_LINUX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {platform: {platforms: linux}}
'''
