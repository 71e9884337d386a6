# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # A module extends one fragment for how far it supports the attributes (INFO, CHANGE or one of the
    # *_ACTION ones) and one for where it runs (PLATFORM_*), which names the modules' authors as well: every
    # module extends exactly one platform fragment. The descriptions of the attributes come from
    # ansible-core's action_common_attributes (and its .flow and .facts), which the modules extend as well.
    # A module whose support has details of its own (backend_service's check mode) adds them in the module.
    # ansible-test reads these as string literals, so each is written out, in YAML's flow style.
    DOCUMENTATION = r'''
options: {}
'''

    # nginx_validate, nginx_probe: never change the host
    INFO = r'''
attributes: {check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}}
'''

    # nginx_directive, firewall_allow: change files or rules and predict the change, with its diff, in check mode
    CHANGE = r'''
attributes: {check_mode: {support: full}, diff_mode: {support: full}}
'''

    # nginx_facts, nginx_diagnose: action plugins that return ansible_facts and change nothing
    FACTS_ACTION = r'''
attributes: {action: {support: full}, async: {support: none}, bypass_host_loop: {support: none}, facts: {support: full},
             check_mode: {support: full, details: ['The module changes nothing, so it runs the same in check mode.']},
             diff_mode: {support: N/A, details: [The module changes nothing.]}}
'''

    # nginx_change: an action plugin that runs its module asynchronously as well
    CHANGE_ACTION = r'''
attributes: {check_mode: {support: full}, diff_mode: {support: full}, action: {support: full}, async: {support: full},
             bypass_host_loop: {support: none}}
'''

    # nginx_report: runs on the controller and writes files there only
    REPORT_ACTION = r'''
attributes: {action: {support: full}, async: {support: none}, bypass_host_loop: {support: none},
             check_mode: {support: full}, diff_mode: {support: none}}
'''

    PLATFORM_POSIX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {platform: {platforms: posix}}
'''

    # modules that read /proc/net, /proc/<pid> or the Linux firewalls, or start systemd units
    PLATFORM_LINUX = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {platform: {platforms: linux}}
'''

    # nginx_report: the controller, whatever the hosts are
    PLATFORM_ALL = r'''
author: [badgateway.nginx maintainers (@badgateway)]
attributes: {platform: {platforms: all}}
'''
