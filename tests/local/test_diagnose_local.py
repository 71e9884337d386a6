# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose playbook against localhost with -c local, on a host without systemd.

The controller's nginx runs as a plain process (this machine has no systemd as PID 1) with a
configuration whose one route passes to a port nothing listens on; a real request makes it write
the log line; the playbook, in normal and in check mode, must name the cause with its file:line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from conftest import ansible_env, free_port, wait_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0,
                                reason='needs nginx and root')


@pytest.fixture
def plain_nginx(tmp_path):
    listen, dead, alive = free_port(), free_port(), free_port()
    conf = tmp_path / 'nginx.conf'
    conf.write_text(
        'pid %(d)s/nginx.pid;\nerror_log %(d)s/error.log;\nevents {}\nhttp {\n'
        '    access_log off;\n    client_body_temp_path %(d)s/body;\n    proxy_temp_path %(d)s/proxy;\n'
        '    fastcgi_temp_path %(d)s/fcgi;\n    uwsgi_temp_path %(d)s/uwsgi;\n    scgi_temp_path %(d)s/scgi;\n'
        '    server {\n        listen 127.0.0.1:%(listen)d;\n'
        '        location /dead/ {\n            proxy_pass http://127.0.0.1:%(dead)d;\n        }\n'
        '        location /alive/ {\n            proxy_pass http://127.0.0.1:%(alive)d;\n        }\n'
        '    }\n}\n' % {'d': tmp_path, 'listen': listen, 'dead': dead, 'alive': alive})
    backend = socket.socket()
    backend.bind(('127.0.0.1', alive))
    backend.listen(16)
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(listen)
        try:
            urllib.request.urlopen('http://127.0.0.1:%d/dead/x?key=hunter2' % listen, timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 502
        yield {'conf': str(conf), 'prefix': str(tmp_path) + '/', 'dead': dead, 'alive': alive, 'dir': tmp_path}
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)
        backend.close()


def run_playbook(nginx, report_dir, check=False):
    env = ansible_env(ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'badgateway.nginx.diagnose',
            '-i', 'localhost,', '-c', 'local', '-e', 'report_dir=%s' % report_dir,
            '-e', 'nginx_diagnose_config=%s' % nginx['conf'], '-e', 'nginx_diagnose_prefix=%s' % nginx['prefix'],
            '-e', 'nginx_diagnose_php_fpm=false']
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


@pytest.mark.parametrize('check', [False, True], ids=['run', 'check-mode'])
def test_diagnose_localhost_without_systemd(plain_nginx, tmp_path, check):
    report_dir = tmp_path / 'report'
    out = run_playbook(plain_nginx, str(report_dir), check)
    assert 'changed=0' in out and 'failed=0' in out
    report = json.loads((report_dir / 'report.json').read_text())
    findings = report['hosts']['localhost']['findings']
    assert [(f['id'], f['target']['text']) for f in findings] == [('upstream_down', '127.0.0.1:%d' % plain_nginx['dead'])]
    f = findings[0]
    assert (f['location']['match'], f['pass']['file'], f['pass']['line']) == ('/dead/', plain_nginx['conf'], 14)
    log = f['evidence']['log'][0]
    assert (log['kind'], log['count']) == ('connect_refused', 1)
    assert 'hunter2' not in json.dumps(report)  # query strings are redacted by default
    assert 'upstream_down 127.0.0.1:%d' % plain_nginx['dead'] in out  # the console summary
    assert oct((report_dir / 'report.html').stat().st_mode & 0o777) == '0o600'
