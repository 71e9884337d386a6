# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backend_service against a real systemd in a podman container ($BADGATEWAY_IMAGE, /sbin/init).

Two lab applications as template instances like the lab's (labapp@.service, EnvironmentFile
/etc/labapp/%i.env): app-8090 started and then killed with SIGKILL (failed), app-8091 enabled
but never started. The module must find each by its port alone, start it and see it listen;
a second run changes nothing; an unknown port fails with a clear message; check mode starts
nothing. Then the role, through ansible-playbook, in check mode, for real and once more.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, ansible_env

PODMAN = shutil.which('podman')
IMAGE = os.environ.get('BADGATEWAY_IMAGE', '')
BIN = os.path.dirname(sys.executable)
LAB = os.path.join(ROOT, 'tests', 'lab', 'diagnose')


def _image_exists():
    if not PODMAN or not IMAGE:
        return False
    return subprocess.run([PODMAN, 'image', 'exists', IMAGE], check=False).returncode == 0


pytestmark = pytest.mark.skipif(not _image_exists(), reason='podman or the test-host image ($BADGATEWAY_IMAGE) missing')


def podman(*args, check=True):
    proc = subprocess.run([PODMAN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError('podman %s: rc %d: %s %s' % (' '.join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc


def env():
    # the container's own Python runs the module
    return ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                       ANSIBLE_NOCOLOR='1', ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3',
                       ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_RETRY_FILES_ENABLED='0')


@pytest.fixture(scope='module')
def host():
    name = 'bgw-backend-service-%d' % os.getpid()
    podman('run', '-d', '--name', name, '--stop-timeout', '2', '--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW',
           IMAGE, '/sbin/init')
    try:
        deadline = time.time() + 30
        while True:
            state = podman('exec', name, 'systemctl', 'is-system-running', check=False).stdout.strip()
            if state in ('running', 'degraded') or time.time() > deadline:
                break
            time.sleep(0.3)
        podman('exec', name, 'mkdir', '-p', '/opt/labapp', '/etc/labapp')
        podman('cp', os.path.join(LAB, 'labapp.py'), '%s:/opt/labapp/labapp.py' % name)
        podman('cp', os.path.join(LAB, 'labapp@.service'), '%s:/etc/systemd/system/labapp@.service' % name)
        for port in (8090, 8091):
            podman('exec', name, 'sh', '-c', 'printf "MODE=ok\\nPORT=%d\\nADDRESS=0.0.0.0\\n" > /etc/labapp/app-%d.env'
                   % (port, port))
        podman('exec', name, 'systemctl', 'enable', 'labapp@app-8090.service', 'labapp@app-8091.service')
        fail_8090(name)
        yield name
    finally:
        podman('rm', '-f', '-t', '2', name, check=False)


def fail_8090(name):
    """Start app-8090 and kill it, so that systemd has it as failed."""
    podman('exec', name, 'systemctl', 'start', 'labapp@app-8090.service')
    wait_listen(name, 8090)
    podman('exec', name, 'systemctl', 'kill', '-s', 'KILL', 'labapp@app-8090.service')
    for _attempt in range(50):
        if active_state(name, 'labapp@app-8090.service') == 'failed':
            return
        time.sleep(0.1)
    raise AssertionError('labapp@app-8090 did not fail')


def active_state(name, unit):
    return podman('exec', name, 'systemctl', 'show', '-p', 'ActiveState', '--value', unit).stdout.strip()


def listens(name, port):
    code = ('import socket,sys\ns=socket.socket()\ns.settimeout(1)\n'
            'sys.exit(s.connect_ex(("127.0.0.1",%d)))' % port)
    return podman('exec', name, 'python3', '-c', code, check=False).returncode == 0


def wait_listen(name, port, timeout=10):
    deadline = time.time() + timeout
    while not listens(name, port):
        if time.time() > deadline:
            raise AssertionError('nothing listens on %d' % port)
        time.sleep(0.1)


def module(name, args, check=False):
    argv = [os.path.join(BIN, 'ansible'), 'all', '-i', '%s,' % name, '-c', 'containers.podman.podman',
            '-m', 'badgateway.nginx.backend_service', '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=env(), check=False, timeout=120)
    m = re.search(r'^%s \| ([A-Z!]+) => ' % re.escape(name), proc.stdout, re.M)
    try:
        result = json.loads(proc.stdout[m.end():])
    except (AttributeError, ValueError):
        raise AssertionError('no JSON from ansible (rc=%s): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    result['failed'] = m.group(1) == 'FAILED!'
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return result


def test_check_mode_names_the_unit_and_starts_nothing(host):
    result = module(host, {'port': 8090}, check=True)
    assert not result['failed'], result
    assert result['changed'] is True
    assert result['unit'] == 'labapp@app-8090.service'
    assert result['action'] == 'started'
    assert result['state']['before'] == {'active_state': 'failed', 'sub_state': 'failed'}
    assert result['listener'] is None
    assert active_state(host, 'labapp@app-8090.service') == 'failed'
    assert not listens(host, 8090)


def test_failed_instance_is_found_by_its_port_and_started(host):
    result = module(host, {'port': 8090})
    assert not result['failed'], result
    assert result['changed'] is True and result['action'] == 'started'
    assert [c['unit'] for c in result['candidates']] == ['labapp@app-8090.service']
    assert result['candidates'][0]['matched'] == ['EnvironmentFile /etc/labapp/app-8090.env']
    assert result['state']['before']['active_state'] == 'failed'
    assert result['state']['after'] == {'active_state': 'active', 'sub_state': 'running'}
    assert result['listener']['port'] == 8090 and result['listener']['process'] == 'python3'
    assert result['listener']['unit'] == 'labapp@app-8090.service' and result['listener']['pid'] > 1
    assert listens(host, 8090)


def test_second_run_changes_nothing(host):
    result = module(host, {'port': 8090, 'address': '127.0.0.1'})
    assert not result['failed'], result
    assert result['changed'] is False and result['action'] == 'none'
    assert result['unit'] == 'labapp@app-8090.service'
    assert result['listener']['address'] == '0.0.0.0'


def test_enabled_never_started_instance_is_found_and_started(host):
    assert active_state(host, 'labapp@app-8091.service') == 'inactive'
    assert not listens(host, 8091)
    result = module(host, {'port': 8091, 'timeout': 10})
    assert not result['failed'], result
    assert result['changed'] is True and result['unit'] == 'labapp@app-8091.service'
    assert result['state']['before'] == {'active_state': 'inactive', 'sub_state': 'dead'}
    assert result['listener']['port'] == 8091
    assert listens(host, 8091)
    assert module(host, {'port': 8091})['changed'] is False


def test_unknown_port_fails_with_a_clear_message(host):
    result = module(host, {'port': 9999})
    assert result['failed'] and result['unresolved'] is True
    assert result['msg'].startswith('no stopped systemd service names port 9999')
    assert 'set name' in result['msg'] and 'backend_service_units' in result['msg']
    assert result['changed'] is False


def test_bad_arguments_fail_cleanly(host):
    assert 'port 70000 is not a TCP port' in module(host, {'port': 70000})['msg']
    assert 'parameters are mutually exclusive: port|socket' in module(host, {'port': 1, 'socket': '/x'})['msg']
    result = module(host, {'port': 8092, 'name': 'nosuch'})
    assert result['failed'] and 'nosuch.service cannot be used: its load state is not-found' in result['msg']


PLAY = '''
- name: Remedy upstream_down
  hosts: all
  gather_facts: false
  vars:
    nginx_diagnose_findings:
      - id: upstream_down
        target: {kind: tcp, host: 10.88.0.250, port: 8090, text: "10.88.0.250:8090"}
        evidence: {upstream_host: %(host)s}
        fix: {role: badgateway.nginx.backend_service, vars: {port: 8090}}
      - id: upstream_down
        target: {kind: tcp, host: 127.0.0.1, port: 8091, text: "127.0.0.1:8091"}
        evidence: {}
        fix: {role: badgateway.nginx.backend_service, vars: {port: 8091}}
      - id: upstream_down
        target: {kind: tcp, host: 10.99.0.9, port: 7000, text: "10.99.0.9:7000"}
        evidence: {}
        fix: {role: badgateway.nginx.backend_service, vars: {port: 7000}}
      - id: upstream_down
        target: {kind: tcp, host: 127.0.0.1, port: 9999, text: "127.0.0.1:9999"}
        evidence: {}
        fix: {role: badgateway.nginx.backend_service, vars: {port: 9999}}
      - id: target_mismatch
        target: {kind: tcp, host: 127.0.0.1, port: 9002, text: "127.0.0.1:9002"}
        evidence: {}
  roles:
    - role: badgateway.nginx.backend_service
  post_tasks:
    - name: Hand the results to the test
      ansible.builtin.debug:
        msg: "RESULTS {{ backend_service_results | to_json }} END"
'''


def playbook(tmp_path, name, *extra):
    path = tmp_path / 'play.yml'
    path.write_text(PLAY % {'host': name})
    inv = tmp_path / 'inventory.ini'
    inv.write_text('%s ansible_connection=containers.podman.podman\n' % name)
    env_ = env()
    env_['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.builtin.default'
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inv), str(path)] + list(extra),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env_,
                          check=False, timeout=120)
    assert 'Traceback' not in proc.stdout + proc.stderr
    # the default callback shows the message as a JSON string: "msg": "RESULTS [...] END"
    m = re.search(r'"msg": ("RESULTS .*? END")', proc.stdout)
    recap = re.search(r'ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout)
    assert recap, proc.stdout + proc.stderr
    results = dict((r['target'], r) for r in json.loads(json.loads(m.group(1))[8:-4])) if m else None
    return proc, results, {'changed': int(recap.group(2)), 'failed': int(recap.group(4))}


def test_role_check_mode_then_run_then_idempotent(host, tmp_path):
    podman('exec', host, 'systemctl', 'stop', 'labapp@app-8091.service')
    fail_8090(host)
    assert not listens(host, 8090) and not listens(host, 8091)

    proc, results, recap = playbook(tmp_path, host, '--check')
    assert proc.returncode == 0, proc.stdout
    assert recap['failed'] == 0
    assert results['10.88.0.250:8090']['action'] == 'started' and results['10.88.0.250:8090']['changed']
    assert results['10.88.0.250:8090']['host'] == host
    assert results['127.0.0.1:8091']['unit'] == 'labapp@app-8091.service'
    assert 'would be started labapp@app-8090.service' in proc.stdout
    assert active_state(host, 'labapp@app-8090.service') == 'failed'
    assert active_state(host, 'labapp@app-8091.service') == 'inactive'
    assert not listens(host, 8090) and not listens(host, 8091)

    proc, results, recap = playbook(tmp_path, host)
    assert proc.returncode == 0, proc.stdout
    assert set(results) == set(['10.88.0.250:8090', '127.0.0.1:8091', '10.99.0.9:7000', '127.0.0.1:9999'])
    assert results['10.88.0.250:8090']['action'] == 'started'
    assert results['10.88.0.250:8090']['unit'] == 'labapp@app-8090.service'
    assert results['10.88.0.250:8090']['listener']['port'] == 8090
    assert results['127.0.0.1:8091']['action'] == 'started'
    assert results['10.99.0.9:7000']['action'] == 'skipped' and results['10.99.0.9:7000']['host'] is None
    assert 'not in the inventory' in results['10.99.0.9:7000']['skipped']
    assert results['127.0.0.1:9999']['action'] == 'unresolved'
    assert 'set name' in results['127.0.0.1:9999']['skipped']
    assert recap['changed'] == 1 and recap['failed'] == 0
    assert listens(host, 8090) and listens(host, 8091)

    proc, results, recap = playbook(tmp_path, host)
    assert proc.returncode == 0, proc.stdout
    assert recap['changed'] == 0
    assert results['10.88.0.250:8090']['action'] == 'none'
    assert results['127.0.0.1:8091']['action'] == 'none'

    proc, results, recap = playbook(tmp_path, host, '-e', 'backend_service_fail_unresolved=true')
    assert proc.returncode != 0 and recap['failed'] == 1
    assert 'no stopped systemd service names 127.0.0.1:9999' in proc.stdout
