# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
name: nginx_verbose_facts
short_description: The verbose form of compact nginx facts
version_added: 0.2.0
description:
  - M(badgateway.nginx.nginx_facts) and M(badgateway.nginx.nginx_diagnose) store C(ansible_facts.nginx) in a compact
    form (C(format=compact/2), or the earlier C(compact/1)) that is exact and smaller than the configuration it describes. This filter returns the
    verbose form, the same as those modules return with O(badgateway.nginx.nginx_facts#module:verbose=true) -
    every location with its C(timeouts), C(buffers), C(headers) or C(params), every pass target, listen and
    upstream member with all its fields, every C(file) a path.
  - Verbose facts are returned as they are, so a play can read either form through this filter.
author:
  - badgateway.nginx maintainers (@badgateway)
options:
  _input:
    description:
      - The C(ansible_facts.nginx) dictionary of a host, compact or verbose.
      - From the host's facts or a fact cache (C(hostvars[host].ansible_facts.nginx)).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: The read timeout of every location that passes a request on, and where it was set
  ansible.builtin.debug:
    msg: "{{ item.1.match }}: {{ item.1.timeouts.read.value }} ({{ item.1.timeouts.read.file }}:{{ item.1.timeouts.read.line }})"
  loop: "{{ (ansible_facts.nginx | badgateway.nginx.nginx_verbose_facts).servers | subelements('locations') }}"
  loop_control:
    label: "{{ item.1.match }}"
  when: item.1.pass
'''

RETURN = r'''
_value:
  description: The verbose facts (see M(badgateway.nginx.nginx_facts)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import CompactError, expand


def nginx_verbose_facts(facts):
    if not isinstance(facts, dict):
        raise AnsibleFilterError('nginx_verbose_facts expects ansible_facts.nginx (a dict), not %s' % type(facts).__name__)
    try:
        return expand(facts)
    except CompactError as e:
        raise AnsibleFilterError('nginx_verbose_facts: %s' % e)


class FilterModule(object):

    def filters(self):
        return {'nginx_verbose_facts': nginx_verbose_facts}
