# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The remediate playbook against localhost with -c local, on a host without systemd.

The controller's nginx runs as a plain process (no systemd as PID 1 here) with two broken routes:
one passes to a port nothing listens on while the application listens on the next one
(target_mismatch), one gives a 2 s application a 1 s read timeout (upstream_timeout). Real
requests make nginx log the errors. Check mode must change nothing and show the diffs; the real
run must fix both routes with a reload (the master process stays the same), and a second run must
change nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ansible_env, wait_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0,
                                reason='needs nginx and root')


def free_block(n):
    """A port p such that p .. p+n-1 are all free on 127.0.0.1."""
    for _attempt in range(50):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        base = s.getsockname()[1]
        s.close()
        if base + n >= 65535:
            continue
        ok = True
        for p in range(base, base + n):
            t = socket.socket()
            try:
                t.bind(('127.0.0.1', p))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return base
    raise RuntimeError('no block of free ports')


class Slow(BaseHTTPRequestHandler):
    delay = 0.0

    def do_GET(self):  # noqa: N802
        time.sleep(self.delay)
        body = b'app ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve(port, delay):
    handler = type('H%d' % port, (Slow,), {'delay': delay})
    srv = ThreadingHTTPServer(('127.0.0.1', port), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def status(url, timeout=10):
    try:
        return urllib.request.urlopen(url, timeout=timeout).status
    except urllib.error.HTTPError as e:
        return e.code


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture
def broken_nginx(tmp_path):
    base = free_block(4)
    listen, app, slow = base, base + 1, base + 3   # base + 2: nothing listens (the wrong port)
    conf = tmp_path / 'nginx.conf'
    conf.write_text(
        'pid %(d)s/nginx.pid;\nerror_log %(d)s/error.log;\nevents {}\nhttp {\n'
        '    access_log off;\n    client_body_temp_path %(d)s/body;\n    proxy_temp_path %(d)s/proxy;\n'
        '    fastcgi_temp_path %(d)s/fcgi;\n    uwsgi_temp_path %(d)s/uwsgi;\n    scgi_temp_path %(d)s/scgi;\n'
        '    server {\n        listen 127.0.0.1:%(listen)d;\n'
        '        # the application moved to %(app)d\n'
        '        location /app/ {\n            proxy_pass http://127.0.0.1:%(wrong)d;\n        }\n'
        '        location /slow/ {\n            proxy_read_timeout 1s;\n            proxy_pass http://127.0.0.1:%(slow)d;\n        }\n'
        '    }\n}\n' % {'d': tmp_path, 'listen': listen, 'app': app, 'wrong': app + 1, 'slow': slow})
    servers = [serve(app, 0), serve(slow, 2)]
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(listen)
        url = 'http://127.0.0.1:%d' % listen
        assert status(url + '/app/x') == 502 and status(url + '/slow/x') == 504
        yield {'conf': str(conf), 'prefix': str(tmp_path) + '/', 'url': url, 'master': proc.pid, 'app': app,
               'wrong': app + 1, 'slow': slow}
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)
        for s in servers:
            s.shutdown()


def run_playbook(nginx, tmp_path, check=False, more=None, expect_rc=0, name=None):
    """The remediate playbook against nginx (a fixture's dict) with -c local; (output, report.json), the report
    in tmp_path/name (default check or report)."""
    env = ansible_env(ANSIBLE_NOCOLOR='1')
    report_dir = str(tmp_path / (name or ('check' if check else 'report')))
    extra = {'report_dir': report_dir, 'nginx_diagnose_config': nginx['conf'],
             'nginx_diagnose_prefix': nginx['prefix'], 'nginx_diagnose_php_fpm': False, 'nginx_diagnose_firewall': False,
             'nginx_transaction_journal_dir': str(tmp_path / 'journal'), 'remediate_settle': 1}
    extra.update(more or {})
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'badgateway.nginx.remediate',
            '-i', 'localhost,', '-c', 'local', '-e', json.dumps(extra)]
    if check:
        argv += ['--check', '--diff']
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True,
                          check=False)
    assert proc.returncode == expect_rc, proc.stdout[-6000:]
    with open(os.path.join(extra['report_dir'], 'report.json')) as f:
        return proc.stdout, json.load(f)


def test_remediate_localhost_without_systemd(broken_nginx, tmp_path):
    conf = broken_nginx['conf']
    before = sha256(conf)
    with open(conf) as f:
        original = f.read()

    # check mode: the plan and the diffs, nothing changed
    out, report = run_playbook(broken_nginx, tmp_path, check=True)
    assert sha256(conf) == before
    assert '-            proxy_pass http://127.0.0.1:%d;' % broken_nginx['wrong'] in out
    assert '+            proxy_pass http://127.0.0.1:%d;' % broken_nginx['app'] in out
    rem = report['hosts']['localhost']['remediation']
    assert rem['check_mode'] is True and [a['label'] for a in rem['changes']] == ['upstream_target', 'proxy_timeouts']
    assert not os.path.exists(str(tmp_path / 'journal' / 'last-commit'))

    # the real run: both routes fixed by a reload of the same master
    out, report = run_playbook(broken_nginx, tmp_path)
    url = broken_nginx['url']
    assert status(url + '/app/x') == 200 and status(url + '/slow/x') == 200
    with open(conf) as f:
        after = f.read()
    assert after == original.replace('proxy_pass http://127.0.0.1:%d;' % broken_nginx['wrong'],
                                     'proxy_pass http://127.0.0.1:%d;' % broken_nginx['app']).replace(
        'proxy_read_timeout 1s;', 'proxy_read_timeout 60s;')
    os.kill(broken_nginx['master'], 0)  # the same master: reloaded, never restarted
    rem = report['hosts']['localhost']['remediation']
    assert rem['rollback'] is None and rem['check_mode'] is False
    # both plans were applied by one transaction (one validation, one reload, one verification)
    assert [(a['label'], a['transaction']) for a in rem['changes']] == [
        ('upstream_target', ['upstream_target', 'proxy_timeouts']), ('proxy_timeouts', ['upstream_target', 'proxy_timeouts'])]
    assert sorted(rem['fixed']) == ['target_mismatch 127.0.0.1:%d' % broken_nginx['wrong'],
                                    'upstream_timeout 127.0.0.1:%d' % broken_nginx['slow']]
    assert report['hosts']['localhost']['findings'] == []
    assert sorted(os.listdir(str(tmp_path / 'journal'))) == ['last-commit', 'lock']

    # a second run: nothing to change
    done = sha256(conf)
    out, report = run_playbook(broken_nginx, tmp_path)
    assert sha256(conf) == done and 'changed=0' in out
    assert report['hosts']['localhost']['remediation']['changes'] == []


def test_a_rollback_stops_the_rollout_and_the_report_says_why(broken_nginx, tmp_path):
    conf = broken_nginx['conf']
    with open(conf) as f:
        original = f.read()
    # a cap below what the 2 s application needs: the new timeout (1500ms) still answers 504, the
    # verification fails and the transaction puts the file back
    out, report = run_playbook(broken_nginx, tmp_path, more={'proxy_timeouts_maximum': '1500ms'}, expect_rc=2)
    assert 'the rollout stops here (remediate_halt_on_rollback)' in out
    rem = report['hosts']['localhost']['remediation']
    assert rem['rollback']['failed_step'] == 'verify' and rem['rollback']['rolled_back'] is True
    assert 'answered 504' in rem['rollback']['msg']
    assert [ln.split() for ln in rem['rollback']['failing_version'][conf]['diff'].splitlines()
            if 'proxy_read_timeout 1500ms;' in ln] == [['+', 'proxy_read_timeout', '1500ms;']]
    with open(rem['rollback']['failing_version'][conf]['saved']) as f:
        assert 'proxy_read_timeout 1500ms;' in f.read()
    # one transaction for the host: the re-pointed pass (upstream_target) and the timeout were applied
    # together and are put back together, byte for byte
    with open(conf) as f:
        assert f.read() == original
    assert rem['changes'] == []
    assert status(broken_nginx['url'] + '/app/x') == 502
    # the failing version is kept on the node, in the journal's failed/ (the report has its path and a diff)
    assert sorted(os.listdir(str(tmp_path / 'journal'))) == ['failed', 'lock']
