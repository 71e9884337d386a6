# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection builds, installs from its tarball, and documents every module."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules')) if f.endswith('.py'))


def run(argv, **env):
    full_env = dict(os.environ)
    full_env.update(env)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, '%s\n%s' % (' '.join(argv), proc.stdout)
    return proc.stdout


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    out = tmp_path_factory.mktemp('build')
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', ROOT, '--output-path', str(out)])
    tarball = out / 'badgateway-nginx-0.1.0.tar.gz'
    assert tarball.exists()
    dest = out / 'collections'
    # --force and a collections path of its own: the checkout may already be on the configured path
    run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--force', str(tarball), '-p', str(dest)],
        ANSIBLE_COLLECTIONS_PATH=str(dest))
    assert os.path.isfile(str(dest / 'ansible_collections' / 'badgateway' / 'nginx' / 'MANIFEST.json'))
    return tarball, str(dest)


def test_tarball_holds_the_collection_and_nothing_else(installed):
    tarball, _dest = installed
    with tarfile.open(str(tarball)) as tar:
        names = set(tar.getnames())
    for needed in ('galaxy.yml', 'MANIFEST.json', 'meta/runtime.yml', 'meta/execution-environment.yml',
                   'plugins/action/nginx_facts.py', 'plugins/module_utils/_nginx_facts.py',
                   'plugins/module_utils/_nginx_cli.py', 'roles/nginx_facts/meta/argument_specs.yml',
                   'playbooks/facts.yml', 'README.md') + tuple('plugins/modules/%s.py' % m for m in MODULES):
        assert needed in names or needed == 'galaxy.yml', needed
    assert not [n for n in names if n.startswith(('.ci', 'bench', 'scripts', '.git/')) or '__pycache__' in n]


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_for_every_module(installed, module):
    _tarball, dest = installed
    text = run([os.path.join(BIN, 'ansible-doc'), 'badgateway.nginx.%s' % module],
               ANSIBLE_COLLECTIONS_PATH=dest, ANSIBLE_NOCOLOR='1')
    assert ('> MODULE badgateway.nginx.%s' % module) in text
    assert dest in text  # documented from the installed tarball
    for section in ('OPTIONS', 'ATTRIBUTES', 'check_mode', 'diff_mode', 'EXAMPLES', 'RETURN VALUES'):
        assert section in text, section


def test_ansible_doc_for_filter_and_role(installed):
    _tarball, dest = installed
    text = run([os.path.join(BIN, 'ansible-doc'), '-t', 'filter', 'badgateway.nginx.nginx_summary'],
               ANSIBLE_COLLECTIONS_PATH=dest, ANSIBLE_NOCOLOR='1')
    assert 'EXAMPLES' in text and 'RETURN VALUES' in text
    text = run([os.path.join(BIN, 'ansible-doc'), '-t', 'role', 'badgateway.nginx.nginx_facts'],
               ANSIBLE_COLLECTIONS_PATH=dest, ANSIBLE_NOCOLOR='1')
    assert 'nginx_facts_dump_dir' in text
