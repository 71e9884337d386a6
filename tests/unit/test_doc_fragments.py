# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's documentation, as ansible-doc renders it with the doc fragments merged in, documents
exactly the options its argument spec takes, with the same type, default, choices, elements and
required, suboptions included.

The documentation comes from one ``ansible-doc --json`` run over all modules (so the fragments under
plugins/doc_fragments are loaded the way Ansible loads them). The argument spec is the expression a
module passes as ``argument_spec=`` in its own source, evaluated in the namespace of the imported module
(so names such as CHANGE_OPTIONS or fe.PROTOCOLS resolve to what the module really uses); a module file
that only carries documentation (its code is an action plugin) is compared with that action plugin's
ARGUMENT_SPEC.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import glob
import importlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from conftest import ansible_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = 'ansible_collections.badgateway.nginx.plugins'
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))
FRAGMENTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'doc_fragments', '*.py')))


@pytest.fixture(scope='module')
def rendered():
    """{module: its doc, fragments merged} from ansible-doc, as a user sees it."""
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json']
    argv += ['badgateway.nginx.%s' % m for m in MODULES]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ansible_env(),
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    # a fragment that cannot be found or merged is a warning and a missing module in the output
    assert 'fragment' not in proc.stderr.lower(), proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == ['badgateway.nginx.%s' % m for m in MODULES], proc.stderr
    return dict((name.rsplit('.', 1)[1], entry['doc']) for name, entry in docs.items())


def source_spec(module):
    """The argument_spec a module's code passes (None for a documentation-only module file)."""
    path = os.path.join(ROOT, 'plugins', 'modules', module + '.py')
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    found = [kw.value for node in ast.walk(tree) if isinstance(node, ast.Call)
             for kw in node.keywords if kw.arg == 'argument_spec']
    if not found:
        return None
    assert len(found) == 1, '%s passes argument_spec= %d times; which one is the module?' % (module, len(found))
    namespace = vars(importlib.import_module('%s.modules.%s' % (PACKAGE, module)))
    return eval(compile(ast.Expression(found[0]), path, 'eval'), dict(namespace))  # pylint: disable=eval-used


def argument_spec(module):
    spec = source_spec(module)
    if spec is None:
        action = importlib.import_module('%s.action.%s' % (PACKAGE, module))
        spec = getattr(action, 'ARGUMENT_SPEC', None)
        assert spec is not None, '%s: no argument_spec in the module file and no ARGUMENT_SPEC in its action plugin' % module
    return spec


def differences(doc_options, spec, where=''):
    """Every way the documented options differ from the spec, as readable lines."""
    doc_options = doc_options or {}
    problems = []
    for name in sorted(set(spec) - set(doc_options)):
        problems.append('%s%s: in the argument spec, not documented' % (where, name))
    for name in sorted(set(doc_options) - set(spec)):
        problems.append('%s%s: documented, not in the argument spec' % (where, name))
    for name in sorted(set(spec) & set(doc_options)):
        doc, code = doc_options[name], spec[name]
        label = where + name
        pairs = [
            ('type', doc.get('type', 'str'), code.get('type', 'str')),
            ('default', doc.get('default'), code.get('default')),
            ('required', bool(doc.get('required', False)), bool(code.get('required', False))),
            ('elements', doc.get('elements'), code.get('elements')),
            ('choices', doc.get('choices'), list(code['choices']) if code.get('choices') is not None else None),
        ]
        for key, documented, coded in pairs:
            if documented != coded:
                problems.append('%s: %s documented %r, argument spec %r' % (label, key, documented, coded))
        if code.get('options') or doc.get('suboptions'):
            problems.extend(differences(doc.get('suboptions'), code.get('options') or {}, label + '.'))
    return problems


@pytest.mark.parametrize('module', MODULES)
def test_rendered_options_are_the_argument_spec(rendered, module):
    problems = differences(rendered[module].get('options'), argument_spec(module))
    assert not problems, '\n'.join(problems)


def test_every_fragment_is_used():
    """A fragment (or a variant of one) that no module extends is dead text that drifts from the code.
    A DOCUMENTATION that holds nothing (options: {}, the base of a file of variants) needs no user."""
    used = set()
    for module in MODULES:
        doc = yaml.safe_load(importlib.import_module('%s.modules.%s' % (PACKAGE, module)).DOCUMENTATION)
        used.update(doc.get('extends_documentation_fragment') or [])
    offered = set()
    for fragment in FRAGMENTS:
        cls = importlib.import_module('%s.doc_fragments.%s' % (PACKAGE, fragment)).ModuleDocFragment
        for var, text in vars(cls).items():
            if not var.isupper() or not isinstance(text, str):
                continue
            if var == 'DOCUMENTATION':
                if yaml.safe_load(text) != {'options': {}}:
                    offered.add('badgateway.nginx.%s' % fragment)
            else:
                offered.add('badgateway.nginx.%s.%s' % (fragment, var.lower()))
    assert FRAGMENTS, 'no doc fragments under plugins/doc_fragments'
    assert sorted(offered - used) == []


def fragment_options(fragment, variant='DOCUMENTATION'):
    cls = importlib.import_module('%s.doc_fragments.%s' % (PACKAGE, fragment)).ModuleDocFragment
    return yaml.safe_load(getattr(cls, variant))['options']


def test_the_option_fragments_document_their_one_argument_spec():
    """An option fragment documents one spec of module_utils, the one every module extending it takes (the test
    above holds each module to its rendered documentation): nginx_cli is _nginx_cli.NGINX_OPTIONS, its TIMEOUT
    variant NGINX_TIMEOUT_OPTION, and nginx_cli with checks is _host_checks.CHECK_OPTIONS."""
    cli = importlib.import_module('%s.module_utils._nginx_cli' % PACKAGE)
    host_checks = importlib.import_module('%s.module_utils._host_checks' % PACKAGE)
    pairs = [
        ('nginx_cli', fragment_options('nginx_cli'), cli.NGINX_OPTIONS),
        ('nginx_cli.timeout', fragment_options('nginx_cli', 'TIMEOUT'), dict(timeout=cli.NGINX_TIMEOUT_OPTION)),
        ('nginx_cli + checks', dict(fragment_options('nginx_cli'), **fragment_options('checks')),
         host_checks.CHECK_OPTIONS),
    ]
    for name, documented, spec in pairs:
        problems = differences(documented, spec, name + ': ')
        assert not problems, '\n'.join(problems)


def test_exactly_the_modules_with_an_action_plugin_say_so_in_their_attributes(rendered):
    actions = set(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, 'plugins', 'action', '*.py')))
    for module in MODULES:
        attributes = rendered[module].get('attributes') or {}
        assert attributes.get('action', {}).get('support') == ('full' if module in actions else None), module
        # every module says how far it supports check mode and diff mode, and where it runs
        assert set(attributes) >= {'check_mode', 'diff_mode', 'platform'}, module
        # the authors come with the one platform fragment each module extends, so they are named once
        assert rendered[module].get('author') == ['badgateway.nginx maintainers (@badgateway)'], module
