# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_diagnose makes one module execution per host and says so: the real nginx_probe module
(discovering the configuration of the controller's real nginx and probing its targets) runs in its
own process, the way Ansible runs it on a node, and is counted by the test as it happens."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest

from conftest import COLLECTIONS_BASE
from ansible_collections.badgateway.nginx.plugins.action.nginx_diagnose import ActionModule
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import expand

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'


def real_module(tmp_path, calls):
    def execute(module_name, module_args, task_vars):
        calls.append(module_name)
        args = tmp_path / ('args-%d.json' % len(calls))
        args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': module_args}))
        name = module_name.rsplit('.', 1)[1]
        proc = subprocess.run([sys.executable, '-m', 'ansible_collections.badgateway.nginx.plugins.modules.' + name,
                               str(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=dict(os.environ, PYTHONPATH=COLLECTIONS_BASE), timeout=120, check=False)
        assert 'Traceback' not in proc.stderr, proc.stderr
        return json.loads(proc.stdout)
    return execute


def run_action(tmp_path, args):
    task = SimpleNamespace(args=args, async_val=0, check_mode=False, action='badgateway.nginx.nginx_diagnose')
    action = ActionModule(task, SimpleNamespace(_shell=SimpleNamespace(tmpdir=str(tmp_path))), None, None, None)
    calls = []
    action._execute_module = real_module(tmp_path, calls)
    return action.run(task_vars={'inventory_hostname': 'web1'}), calls


QUIET = {'php_fpm': False, 'firewall': False, 'resources': False}


@pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0, reason='needs nginx and root')
def test_the_executions_made_are_the_executions_reported(tmp_path):
    conf = tmp_path / 'nginx.conf'
    conf.write_text('pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n    server {\n'
                    '        listen 127.0.0.1:1;\n        location / { proxy_pass http://127.0.0.1:2; }\n    }\n}\n'
                    % (tmp_path, tmp_path))
    (tmp_path / 'error.log').write_text('')
    result, calls = run_action(tmp_path, dict(QUIET, config=str(conf), prefix=str(tmp_path) + '/'))
    assert not result.get('failed'), result
    assert calls == ['badgateway.nginx.nginx_probe']
    assert result['ansible_facts']['nginx_diagnosis']['module_executions'] == len(calls) == 1
    # the node found the target in the configuration and probed it in the same run
    probes = result['ansible_facts']['nginx_diagnosis']['checks']['probes']
    assert [(p['host'], p['port'], p['result']) for p in probes] == [('127.0.0.1', 2, 'refused')]
    facts = expand(result['ansible_facts']['nginx'])  # stored compact
    assert facts['servers'][0]['locations'][0]['pass']['target']['port'] == 2
    assert 'findings' not in result and 'findings' not in result['ansible_facts']['nginx_diagnosis']
