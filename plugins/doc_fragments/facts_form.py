# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The form of ansible_facts.nginx that nginx_facts and nginx_diagnose store (module_utils/_nginx_facts compact).
    DOCUMENTATION = r'''
options:
  verbose:
    description:
      - Store C(ansible_facts.nginx) in its verbose form instead of the compact one.
      - The compact form (C(format=compact/2), the default) is exact and smaller than the configuration it describes,
        so that a fleet's facts stay small on the controller and in a fact cache. Every C(file) is an index into
        C(files); each distinct setting is written once in C(values) (each header or param line once in C(entries))
        and a location lists the indices of its settings in C(settings); a listen, pass target or upstream member
        keeps only what it was written as (C(raw), C(args)); fields that hold their default are left out; and a
        record of the usual shape is a row, a list in a fixed order (a location C([match, line, pass, settings]), a
        value C([value, file, line, kind, scope])). Facts of the earlier C(format=compact/1) are still read.
      - The collection's filters and M(badgateway.nginx.nginx_report) read both forms; in a play, the filter
        C(badgateway.nginx.nginx_verbose_facts) turns compact facts into the verbose form.
    type: bool
    default: false
    version_added: 0.2.0
'''
