# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keepalive race, for real: diagnosed, fixed through the remediate playbook, and rolled back.

A real nginx passes to an upstream with ``keepalive`` over HTTP/1.1 with its Connection header cleared;
behind it the lab application in mode idleclose closes a connection idle for 1 s, 0.5 s late and without
reading what came in meanwhile (a busy backend whose idle timeout is shorter than nginx's 60 s). POSTs
1.25 s apart then answer 502 by turns: nginx sends each on the cached connection the backend is closing
and, the method not being idempotent, does not retry it. The diagnosis must call it keepalive_race (not
backend_crash) from the log lines and the node's measurement of the backend's idle close; the fix sets
the upstream's keepalive_timeout below it by a reload of the same master, after which every POST answers
200, and a second run changes nothing. A transaction that fails its verification puts the upstream back
byte for byte along with the host's other change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import ROOT, ansible_env, plain_nginx_main, stop_process, wait_port
from test_remediate_local import free_block, run_playbook, sha256

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
LABAPP = os.path.join(ROOT, 'tests', 'lab', 'diagnose', 'labapp.py')
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0, reason='needs nginx and root')

# the backend: idle for IDLE seconds, it closes the connection LAG seconds later; the client waits GAP between POSTs
IDLE, LAG, GAP = 1.0, 0.5, 1.25


def status(url, data=None, timeout=10):
    try:
        return urllib.request.urlopen(url, data=data, timeout=timeout).status
    except urllib.error.HTTPError as e:
        return e.code


def posts(url, count):
    """count POSTs, GAP seconds apart (each after the backend's idle timer fired on the connection nginx keeps)."""
    found = []
    for i in range(count):
        if i:
            time.sleep(GAP)
        found.append(status(url, data=b'order=1'))
    return found


def labapp(mode, port, **env):
    environment = dict(os.environ, **dict((k, str(v)) for k, v in env.items()))
    proc = subprocess.Popen([sys.executable, LABAPP, mode, str(port), '127.0.0.1'], env=environment,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


@pytest.fixture
def racing_nginx(tmp_path):
    listen = free_block(3)
    app, slow = listen + 1, listen + 2
    conf = tmp_path / 'nginx.conf'
    conf.write_text(plain_nginx_main(tmp_path, (
        '    upstream app {\n        server 127.0.0.1:%(app)d;\n        keepalive 4;\n    }\n'
        '    server {\n        listen 127.0.0.1:%(listen)d;\n'
        '        location /orders/ {\n            proxy_http_version 1.1;\n'
        '            proxy_set_header Connection "";\n            proxy_pass http://app;\n        }\n'
        '        location /slow/ {\n            proxy_read_timeout 1s;\n            proxy_pass http://127.0.0.1:%(slow)d;\n'
        '        }\n    }\n') % {'listen': listen, 'app': app, 'slow': slow}))
    apps = [labapp('idleclose', app, LABAPP_IDLE=IDLE, LABAPP_LAG=LAG), labapp('slow', slow, LABAPP_DELAY=2)]
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(listen)
        yield {'conf': str(conf), 'prefix': str(tmp_path) + '/', 'url': 'http://127.0.0.1:%d' % listen,
               'master': proc.pid, 'app': app, 'slow': slow, 'error_log': str(tmp_path / 'error.log')}
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)
        for a in apps:
            stop_process(a)


def remediate(nginx, tmp_path, name, check=False, more=None, expect_rc=0):
    """The remediate playbook (test_remediate_local's run); the report of localhost."""
    out, report = run_playbook(nginx, tmp_path, check=check, more=more, expect_rc=expect_rc, name=name)
    return out, report['hosts']['localhost']


def test_keepalive_race_is_diagnosed_fixed_and_stays_fixed(racing_nginx, tmp_path):
    url = racing_nginx['url'] + '/orders/new'
    before = posts(url, 4)
    # the race itself: every other POST lands on the connection the backend is closing
    assert before.count(502) >= 1 and before.count(200) >= 1, before
    with open(racing_nginx['error_log']) as f:
        assert 'upstream prematurely closed connection' in f.read()
    conf = racing_nginx['conf']
    original = sha256(conf)

    # check mode: the diagnosis and the diff, nothing changed
    out, host = remediate(racing_nginx, tmp_path, 'check', check=True)
    assert sha256(conf) == original
    race = [f for f in host['remediation']['before'] if f['id'] == 'keepalive_race']
    found = host['remediation']['before']
    assert len(race) == 1 and not [f for f in found if f['id'] == 'backend_crash'], found
    measured = race[0]['evidence']['keepalive']
    assert measured['result'] in ('closed', 'reset') and IDLE <= measured['idle_close_s'] < IDLE + LAG + 1
    assert measured['keepalive_timeout'] == 60.0 and race[0]['evidence']['keepalive_timeout']['default'] is True
    assert re.search(r'^\+\s+keepalive_timeout \d+ms;$', out, re.M), out[-4000:]

    # the real run: keepalive_timeout in the upstream block, half the measured idle close, by a reload
    out, host = remediate(racing_nginx, tmp_path, 'fix')
    with open(conf) as f:
        text = f.read()
    value = re.findall(r'^        keepalive_timeout (\d+)ms;$', text, re.M)
    # half of what this run measured (1.5 s: the 1 s timer and the 0.5 s lag), below the backend's 1 s idle timeout
    assert len(value) == 1 and IDLE * 500 <= int(value[0]) < IDLE * 1000, text
    assert text.index('keepalive 4;') < text.index('keepalive_timeout') < text.index('server {')
    os.kill(racing_nginx['master'], 0)  # reloaded, never restarted
    assert host['remediation']['rollback'] is None
    assert 'keepalive_race 127.0.0.1:%d' % racing_nginx['app'] in host['remediation']['fixed']
    # nginx now drops its idle connection before the backend does: every POST answers
    assert posts(url, 4) == [200, 200, 200, 200]

    # a second run: nothing to change
    done = sha256(conf)
    out, host = remediate(racing_nginx, tmp_path, 'again')
    assert sha256(conf) == done and 'changed=0' in out
    assert host['remediation']['changes'] == []


def test_a_failed_verification_puts_the_upstream_back_with_the_other_change(racing_nginx, tmp_path):
    url = racing_nginx['url']
    assert 502 in posts(url + '/orders/new', 4)
    assert status(url + '/slow/report') == 504
    conf = racing_nginx['conf']
    with open(conf) as f:
        original = f.read()
    # the read timeout capped below what the 2 s application needs: the route still answers 504 after the
    # reload, the verification fails, and the one transaction of the host (read timeout and keepalive_timeout)
    # is rolled back
    out, host = remediate(racing_nginx, tmp_path, 'rollback', more={'proxy_timeouts_maximum': '1500ms'}, expect_rc=2)
    rollback = host['remediation']['rollback']
    assert rollback['failed_step'] == 'verify' and rollback['rolled_back'] is True, rollback
    diff = rollback['failing_version'][conf]['diff']
    assert re.search(r'^\+\s+keepalive_timeout \d+ms;$', diff, re.M) and '+            proxy_read_timeout 1500ms;' in diff
    with open(conf) as f:
        assert f.read() == original
    os.kill(racing_nginx['master'], 0)
    # the upstream is as it was: the race is back
    assert 502 in posts(url + '/orders/new', 4)


AUDIT_THEN_FIX = '''- name: Audit, then fix the latent risks proxy_timeouts fixes, from the audit's findings
  hosts: localhost
  gather_facts: false
  roles:
    - role: badgateway.nginx.nginx_audit
    - role: badgateway.nginx.proxy_timeouts
      vars:
        proxy_timeouts_findings: "{{ nginx_audit_findings }}"
'''


def audit_then_fix(nginx, tmp_path, name):
    playbook = tmp_path / 'audit-then-fix.yml'
    playbook.write_text(AUDIT_THEN_FIX)
    extra = {'nginx_audit_report_dir': str(tmp_path / name), 'nginx_diagnose_config': nginx['conf'],
             'nginx_diagnose_prefix': nginx['prefix'], 'nginx_diagnose_php_fpm': False, 'nginx_diagnose_firewall': False,
             'nginx_transaction_journal_dir': str(tmp_path / 'journal'), 'proxy_timeouts_settle': 1}
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), str(playbook),
                           '-i', 'localhost,', '-c', 'local', '-e', json.dumps(extra)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=ansible_env(ANSIBLE_NOCOLOR='1'), universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(os.path.join(str(tmp_path / name), 'report.json')) as f:
        return proc.stdout, json.load(f)['hosts']['localhost']['findings']


def test_the_audit_finds_the_race_before_it_fires_and_its_role_fixes_it(racing_nginx, tmp_path):
    conf = racing_nginx['conf']
    with open(conf) as f:
        original = f.read()
    assert 'prematurely' not in open(racing_nginx['error_log']).read()  # no request yet: nothing has failed
    out, found = audit_then_fix(racing_nginx, tmp_path, 'first')
    race = [f for f in found if f['id'] == 'keepalive_race']
    assert [f['target']['text'] for f in race] == ['127.0.0.1:%d' % racing_nginx['app']], found
    assert race[0]['evidence']['keepalive']['result'] in ('closed', 'reset') and 'log' not in race[0]['evidence']
    with open(conf) as f:
        fixed = f.read()
    added = [line for line in fixed.splitlines() if line not in original.splitlines()]
    assert len(added) == 1 and re.match(r'^        keepalive_timeout \d+ms;$', added[0]), added
    os.kill(racing_nginx['master'], 0)
    # nothing left to fix: the second run finds no race and changes nothing
    out, found = audit_then_fix(racing_nginx, tmp_path, 'second')
    assert not [f for f in found if f['id'] == 'keepalive_race'] and 'changed=0' in out, out[-3000:]
    assert posts(racing_nginx['url'] + '/orders/new', 3) == [200, 200, 200]
