# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' READMEs, kept true to the roles' files.

Every role has a README.md that names every option of its meta/argument_specs.yml, shows the
default the spec gives in its variables table, mentions no `<role>_...` name that the role does not
have (an option, a fact it sets or a result it registers, or a variable of the collection's
playbooks), links only to files of this repository, and, where it says which Molecule scenarios
run the role, names exactly the scenarios whose converge reaches the role.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import re

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(ROOT, 'roles', '*', 'tasks')))
MAX_LINES = 120
COLLECTION = 'badgateway.nginx.'
INCLUDE_ROLE = ('ansible.builtin.include_role', 'ansible.builtin.import_role', 'include_role', 'import_role')
IMPORT_PLAYBOOK = ('ansible.builtin.import_playbook', 'import_playbook')
SET_FACT = ('ansible.builtin.set_fact', 'set_fact')
# "Molecule scenarios that run this role: `molecule/a`, `molecule/b`" (or "none")
SCENARIO_LINE = re.compile(r'^Molecule scenarios that run this role:(.*)$', re.M)


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def spec_options(role):
    spec = load_yaml(os.path.join(ROOT, 'roles', role, 'meta', 'argument_specs.yml'))
    return spec['argument_specs']['main'].get('options') or {}


def walk(node):
    """Every dict in a YAML tree."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def role_sets(role):
    """The names a role's tasks give values that outlive the task: set_fact keys and register names."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml')):
        for d in walk(load_yaml(path)):
            for key in SET_FACT:
                if isinstance(d.get(key), dict):
                    names.update(k for k in d[key] if k != 'cacheable')
            if isinstance(d.get('register'), str):
                names.add(d['register'])
    return names


def playbook_names():
    """Every identifier of the collection's playbooks (their -e variables, facts and registers)."""
    names = set()
    for path in glob.glob(os.path.join(ROOT, 'playbooks', '*.yml')):
        names.update(re.findall(r'[A-Za-z_][A-Za-z0-9_]*', read(path)))
    return names


def not_variables():
    """Names that look like `<role>_...` but are not variables: plugins and the cause ids."""
    names = set()
    for kind in ('modules', 'action', 'filter'):
        names.update(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', kind, '*.py')))
    # the cause ids: the catalog's table (`id` or [`id`](#id) in its first column) and the cause registry
    names.update(re.findall(r'^\| \[?`([a-z_]+)`', read('docs', 'causes.md'), re.M))
    names.update(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'plugin_utils', '_causes', '[a-z]*.py')))
    assert 'firewall_block' in names and 'firewall_allow' in names, 'the catalog or the plugins were not read'
    return names


def roles_reached(start_files):
    """The roles a converge reaches: roles: lists, include_role / import_role, imported playbooks of this
    repository or collection, followed through the roles' own tasks."""
    seen_files, reached = set(), set()
    todo = list(start_files)
    while todo:
        path = os.path.normpath(todo.pop())
        if path in seen_files or not os.path.exists(path):
            continue
        seen_files.add(path)
        for d in walk(load_yaml(path)):
            names = []
            for key in INCLUDE_ROLE:
                if isinstance(d.get(key), dict) and d[key].get('name'):
                    names.append(d[key]['name'])
            if isinstance(d.get('roles'), list):
                names.extend(r if isinstance(r, str) else (r.get('role') or r.get('name')) for r in d['roles'])
            for name in names:
                if name and name.startswith(COLLECTION):
                    role = name[len(COLLECTION):]
                    reached.add(role)
                    todo.extend(glob.glob(os.path.join(ROOT, 'roles', role, 'tasks', '*.yml')))
            for key in IMPORT_PLAYBOOK:
                target = d.get(key)
                if isinstance(target, str):
                    if target.startswith(COLLECTION):
                        todo.append(os.path.join(ROOT, 'playbooks', target[len(COLLECTION):] + '.yml'))
                    else:
                        todo.append(os.path.join(os.path.dirname(path), target))
    return reached


def scenarios():
    """Scenario name -> the roles its converge reaches (with the task files under the scenario's tasks/)."""
    out = {}
    for converge in sorted(glob.glob(os.path.join(ROOT, 'molecule', '*', 'converge.yml'))):
        scenario = os.path.dirname(converge)
        files = [converge] + glob.glob(os.path.join(scenario, 'tasks', '**', '*.yml'), recursive=True)
        out[os.path.basename(scenario)] = roles_reached(files)
    return out


def readme(role):
    return read('roles', role, 'README.md')


def test_the_roles_were_found():
    assert len(ROLES) >= 11 and 'nginx_transaction' in ROLES and 'remediate' in ROLES, ROLES


@pytest.mark.parametrize('role', ROLES)
def test_every_role_has_a_readme(role):
    path = os.path.join(ROOT, 'roles', role, 'README.md')
    assert os.path.isfile(path), '%s has no README.md' % role
    text = readme(role)
    assert text.startswith('# %s%s\n' % (COLLECTION, role)), '%s: the README does not start with its title' % role
    assert len(text.splitlines()) <= MAX_LINES, '%s: README.md has %d lines' % (role, len(text.splitlines()))


@pytest.mark.parametrize('role', ROLES)
def test_every_option_is_in_the_readme(role):
    text = readme(role)
    missing = [name for name in spec_options(role) if '`%s`' % name not in text]
    assert not missing, '%s: README.md does not mention %s' % (role, ', '.join(missing))


@pytest.mark.parametrize('role', ROLES)
def test_the_variables_table_shows_the_specs_defaults(role):
    options = spec_options(role)
    rows, default_col = 0, None
    for line in readme(role).splitlines():
        if not line.startswith('|'):
            default_col = None
            continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if 'default' in cells and cells[0] in ('variable', 'option'):
            default_col = cells.index('default')
            continue
        m = re.match(r'^`([a-z0-9_]+)`$', cells[0])
        if default_col is None or not m or m.group(1) not in options:
            continue
        rows += 1
        spec = options[m.group(1)]
        if 'default' not in spec:
            continue
        shown = re.match(r'^`([^`]*)`', cells[default_col])
        assert shown, '%s: the default of %s is not shown as `value`' % (role, m.group(1))
        value = yaml.safe_load(shown.group(1)) if shown.group(1) else ''
        same = value == spec['default'] or (isinstance(value, (int, float)) and isinstance(spec['default'], (int, float))
                                            and float(value) == float(spec['default']))
        assert same, '%s: README says %s defaults to %r, meta/argument_specs.yml %r' % (
            role, m.group(1), value, spec['default'])
    assert rows == len(options), '%s: the variables table has %d of the %d options' % (role, rows, len(options))


def test_no_readme_names_a_role_variable_that_does_not_exist():
    known = dict((role, set(spec_options(role)) | role_sets(role)) for role in ROLES)
    exempt = not_variables() | playbook_names()
    # longest prefix first: nginx_diagnose_x is a variable of nginx_diagnose, not of a role "nginx"
    prefixes = '|'.join(sorted((re.escape(r) for r in ROLES), key=len, reverse=True))
    pattern = re.compile(r'(?<![A-Za-z0-9_])((%s)_[a-z0-9_]*[a-z0-9])(?![A-Za-z0-9_])' % prefixes)
    wrong, seen = [], 0
    for role in ROLES:
        for m in pattern.finditer(readme(role)):
            seen += 1
            name, owner = m.group(1), m.group(2)
            if name not in known[owner] and name not in exempt and not name.startswith(owner + '__'):
                wrong.append('%s/README.md: %s (not an option or fact of %s)' % (role, name, owner))
    assert seen > 50, 'the pattern found almost no role variables (%d)' % seen
    assert not wrong, '\n'.join(wrong)


@pytest.mark.parametrize('role', ROLES)
def test_links_stay_in_the_repository(role):
    base = os.path.join(ROOT, 'roles', role)
    for target in re.findall(r'\]\(([^)\s]+)\)', readme(role)):
        assert '://' not in target and not target.startswith(('/', 'mailto:')), '%s links outside: %s' % (role, target)
        path = os.path.normpath(os.path.join(base, target.split('#', 1)[0]))
        assert path.startswith(ROOT + os.sep) and os.path.exists(path), '%s: broken link %s' % (role, target)


def test_the_scenario_lines_name_the_scenarios_that_run_the_role():
    reach = scenarios()
    assert 'nginx_diagnose' in reach['diagnose'] and 'nginx_transaction' in reach['rollback'], reach
    checked = 0
    for role in ROLES:
        m = SCENARIO_LINE.search(readme(role))
        if not m:
            continue
        checked += 1
        named = set(re.findall(r'`molecule/([a-z0-9_]+)`', m.group(1)))
        assert named or m.group(1).strip().rstrip('.') == 'none', '%s: unreadable scenario line %r' % (role, m.group(0))
        actual = set(s for s, roles in reach.items() if role in roles)
        assert named == actual, '%s: README names %s, the converges that reach it are %s' % (
            role, sorted(named), sorted(actual))
    assert checked == len(ROLES), 'only %d of %d READMEs say which Molecule scenarios run the role' % (checked, len(ROLES))
