# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's conventions, read from its files: every module in the action group, one
version_added per module that matches the changelog announcing it, private helpers marked."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def modules():
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))


def test_every_module_is_in_the_action_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as f:
        runtime = yaml.safe_load(f)
    assert sorted(runtime['action_groups']['nginx']) == modules()


def test_version_added_is_the_release_whose_changelog_announces_the_module():
    announced = {}
    for path in sorted(glob.glob(os.path.join(ROOT, 'changelogs', 'fragments', '*.yml'))):
        release = os.path.basename(path).split('-', 1)[0]
        with open(path) as f:
            text = f.read()
        for name in modules():
            if re.search(r'\b%s\b[^\n]*new (controller-side )?(module|action)' % name, text) and name not in announced:
                announced[name] = release
    for name in modules():
        with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as f:
            doc = yaml.safe_load(f.read().split("DOCUMENTATION = r'''", 1)[1].split("'''", 1)[0])
        assert name in announced, '%s: no changelog fragment announces it as a new module' % name
        assert str(doc['version_added']) == announced[name], name


def test_private_helpers_are_marked_and_named_private():
    for kind in ('module_utils', 'plugin_utils'):
        for path in glob.glob(os.path.join(ROOT, 'plugins', kind, '*.py')):
            name = os.path.basename(path)
            if name == '__init__.py':
                continue
            assert name.startswith('_'), '%s/%s is not marked private by its name' % (kind, name)
            with open(path) as f:
                head = f.read(1200)
            assert '**PRIVATE** to the collection' in head, '%s/%s has no PRIVATE header' % (kind, name)
