# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backend_service's address check: run the real module (its own process, no Ansible controller)
with a real listener on the port, so that "any address" would wrongly find it and succeed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import subprocess
import sys

import pytest

from conftest import COLLECTIONS_BASE


def run_module(tmp_path, args):
    path = tmp_path / 'args.json'
    path.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_BASE)
    proc = subprocess.run([sys.executable, '-m', 'ansible_collections.badgateway.nginx.plugins.modules.backend_service',
                           str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env, timeout=60, check=False)
    assert 'Traceback' not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def listener():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    s.listen(1)
    try:
        yield s.getsockname()[1]
    finally:
        s.close()


@pytest.mark.parametrize('address', ['l27.0.0.1', 'no-such-host.invalid', '127.0.0.1\x00', ' ', '10.0.0.300'])
def test_address_that_does_not_resolve_is_an_error(tmp_path, listener, address):
    res = run_module(tmp_path, {'port': listener, 'address': address})
    assert res.get('failed') is True, res
    assert 'address' in res['msg'] and 'resolve' in res['msg'], res['msg']
    assert not res.get('changed'), res


@pytest.mark.parametrize('address', ['127.0.0.1', 'localhost', None])
def test_address_that_resolves_finds_the_listener(tmp_path, listener, address):
    args = {'port': listener}
    if address:
        args['address'] = address
    res = run_module(tmp_path, args)
    assert not res.get('failed'), res
    assert res['changed'] is False and res['listener']['port'] == listener, res
