# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real test hosts for the firewall tests: podman containers of the test-host image.

Needs root, podman, the image ``$BADGATEWAY_IMAGE`` (scripts/build-image.sh) and the
containers.podman collection in ``ANSIBLE_COLLECTIONS_PATH`` (source scripts/env.sh).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid

from conftest import ROOT, ansible_env

ANSIBLE_BIN = os.path.dirname(sys.executable)
PODMAN = shutil.which('podman')

# the lab's rules (tests/lab/diagnose/drop-7080.nft and the iptables REJECT of configure.yml)
LAB_NFT = """table inet labfw {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 7080 drop
    }
}
"""


def image():
    name = os.environ.get('BADGATEWAY_IMAGE')
    if not name:
        import hashlib
        with open(os.path.join(ROOT, 'tests', 'testhost', 'Containerfile'), 'rb') as f:
            name = 'localhost/badgateway-testhost:%s' % hashlib.sha256(f.read()).hexdigest()[:12]
    return name


def skip_reason():
    if PODMAN is None:
        return 'podman is not installed'
    if os.geteuid() != 0:
        return 'podman is used rootful: run as root'
    if subprocess.call([PODMAN, 'image', 'exists', image()]) != 0:
        return 'image %s not built (scripts/build-image.sh)' % image()
    paths = os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':')
    if not any(os.path.isdir(os.path.join(p, 'ansible_collections', 'containers', 'podman')) for p in paths if p):
        return 'containers.podman collection not in ANSIBLE_COLLECTIONS_PATH (source scripts/env.sh)'
    return None


def podman(*args, **kw):
    check = kw.pop('check', True)
    proc = subprocess.run([PODMAN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=kw.pop('timeout', 60), check=False)
    if check and proc.returncode != 0:
        raise AssertionError('podman %s failed: %s%s' % (' '.join(args), proc.stdout, proc.stderr))
    return proc


class Lab:
    """Containers named bgw-fw-<id>-<role>, removed by close()."""

    def __init__(self, prefix):
        self.prefix = 'bgw-%s-%s' % (prefix, uuid.uuid4().hex[:6])
        self.names = []

    def start(self, role, net_admin=True):
        name = '%s-%s' % (self.prefix, role)
        args = ['run', '-d', '--name', name, '--hostname', role, '--stop-timeout', '1']
        if net_admin:
            args += ['--cap-add', 'NET_ADMIN', '--cap-add', 'NET_RAW']
        podman(*(args + [image(), '/sbin/init']))
        self.names.append(name)
        return name

    def close(self):
        for name in self.names:
            podman('rm', '-f', '-t', '0', name, check=False)

    @staticmethod
    def ip(name):
        for _attempt in range(50):
            out = podman('inspect', '-f', '{{.NetworkSettings.IPAddress}}', name).stdout.strip()
            if out:
                return out
            time.sleep(0.1)
        raise AssertionError('no IP address for %s' % name)

    @staticmethod
    def sh(name, script, check=True):
        proc = podman('exec', name, 'sh', '-c', script, check=check)
        return proc

    @staticmethod
    def wait_python(name):
        for _attempt in range(100):
            if podman('exec', name, 'python3', '-c', 'pass', check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise AssertionError('%s does not start' % name)

    def backend(self, name, ports=(7080, 7081)):
        """The lab's backend: http.server on the ports, nft drop 7080, iptables REJECT 7081."""
        self.wait_python(name)
        for port in ports:
            podman('exec', '-d', name, 'python3', '-m', 'http.server', str(port), '--bind', '0.0.0.0')
        for port in ports:  # listening, before the rules (they drop loopback too)
            for _attempt in range(50):
                if connect_from(name, '127.0.0.1', port, 0.5) == 'ok':
                    break
                time.sleep(0.1)
            else:
                raise AssertionError('http.server on %s:%d does not listen' % (name, port))
        self.sh(name, "printf '%%s' '%s' > /tmp/labfw.nft && nft -f /tmp/labfw.nft" % LAB_NFT)
        self.sh(name, 'iptables -A INPUT -p tcp --dport 7081 -j REJECT')


CONNECT = r'''
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("ok")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
except OSError as e:
    print("error %s" % e)
'''


def connect_from(name, host, port, timeout=1.5):
    """'ok', 'timeout', 'refused' or 'error ...' for a TCP connection made inside a container."""
    return podman('exec', name, 'python3', '-c', CONNECT, host, str(port), str(timeout)).stdout.strip()


def connect_host(host, port, timeout=1.5):
    """The same from this machine (its address on the podman bridge)."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return 'ok'
    except socket.timeout:
        return 'timeout'
    except ConnectionRefusedError:
        return 'refused'
    except OSError as e:
        return 'error %s' % e


def podman_env():
    # the containers' own Python runs the modules
    return ansible_env(ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0',
                       ANSIBLE_PYTHON_INTERPRETER='/usr/bin/python3')


def run_module(container, module_args, check=False, diff=False):
    """ansible -c containers.podman.podman -m badgateway.nginx.firewall_allow: the module's result dict."""
    env = podman_env()
    env.update({'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1', 'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.minimal'})
    argv = [os.path.join(ANSIBLE_BIN, 'ansible'), '-i', '%s,' % container, '-c', 'containers.podman.podman',
            'all', '-m', 'badgateway.nginx.firewall_allow', '-a', json.dumps(module_args)]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env,
                          timeout=120, check=False)
    # minimal callback: "NAME | CHANGED => {...}" or "NAME | FAILED! => {...}" (a diff is printed before it)
    m = re.search(r'^%s \| ([A-Z!]+) => ' % re.escape(container), proc.stdout, re.M)
    try:
        result = json.loads(proc.stdout[m.end():])
    except (AttributeError, ValueError):
        raise AssertionError('ansible failed (rc %d): %s\n%s' % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    result['failed'] = m.group(1) == 'FAILED!'
    result['_diff_text'] = proc.stdout[:m.start()]
    assert 'Traceback' not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return result


def run_playbook(playbook, inventory, extra=(), check=False):
    env = podman_env()
    argv = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', inventory, playbook] + list(extra)
    if check:
        argv.append('--check')
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                          timeout=300, check=False)
