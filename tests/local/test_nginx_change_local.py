# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_change end to end, through Ansible, against a real nginx master and a real HTTP backend.

Each test starts its own nginx (a plain process, configuration, pid file and error log in
tmp_path, listening on 127.0.0.1 high ports) and a Python http.server backend on a thread,
then runs ``ansible localhost -c local -m badgateway.nginx.nginx_change``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from test_modules_local import ANSIBLE, NGINX, write
from conftest import ansible_env, free_port

pytestmark = [
    pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed'),
    pytest.mark.skipif(os.geteuid() != 0, reason='starts nginx as root and keeps file owners'),
]

SITE = ('# app site\n'
        'server {\n'
        '    listen 127.0.0.1:{NP};\n'
        '    server_name app.test;\n'
        '\n'
        '    location / {\n'
        '        proxy_pass http://127.0.0.1:{BP};\n'
        '    }\n'
        '\n'
        '    location /api/ {\n'
        '        proxy_pass http://127.0.0.1:{BP};\n'
        '        proxy_read_timeout 30s;  # reports are slow\n'
        '    }\n'
        '}\n')
OTHER = 'server {\n    listen 127.0.0.1:{OP};\n    location / {\n        return 204;\n    }\n}\n'


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def owner_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, st.st_mode & 0o7777


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'backend ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def get(port, path='/', host='app.test', timeout=3):
    """(status, headers dict) of a GET to nginx, or (None, error)."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path, headers={'Host': host})
        resp = conn.getresponse()
        resp.read()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders())
    except OSError as e:
        return None, str(e)
    finally:
        conn.close()


def workers(master):
    out = set()
    for e in os.listdir('/proc'):
        if not e.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % e) as f:
                stat = f.read()
            with open('/proc/%s/cmdline' % e, 'rb') as f:
                cmd = f.read()
        except OSError:
            continue
        if int(stat[stat.rfind(')') + 2:].split()[1]) == master and cmd.startswith(b'nginx: worker process') \
                and not cmd.rstrip(b'\x00').endswith(b'shutting down'):
            out.add(int(e))
    return out


class Lab(object):
    """A real nginx master + backend in tmp_path."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.np, self.op, self.bp = free_port(), free_port(), free_port()
        self.backend = ThreadingHTTPServer(('127.0.0.1', self.bp), Handler)
        self.backend.daemon_threads = True
        threading.Thread(target=self.backend.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
        self.p = write(tmp_path, {
            'nginx.conf': ('user root;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log;\n'
                           'events { worker_connections 64; }\nhttp {\n    access_log off;\n'
                           '    include conf.d/*.conf;\n}\n' % (tmp_path, tmp_path)),
            'conf.d/app.conf': SITE.replace('{NP}', str(self.np)).replace('{BP}', str(self.bp)),
            'conf.d/other.conf': OTHER.replace('{OP}', str(self.op)),
        })
        self.app = self.p + 'conf.d/app.conf'
        self.other = self.p + 'conf.d/other.conf'
        os.chown(self.app, 1234, 5678)
        os.chmod(self.app, 0o640)
        self.journal = str(tmp_path / 'journal')
        self.error_log = str(tmp_path / 'error.log')
        subprocess.run([NGINX, '-c', self.p + 'nginx.conf', '-p', self.p], check=True)
        with open(str(tmp_path / 'nginx.pid')) as f:
            self.master = int(f.read())
        deadline = time.time() + 5
        while time.time() < deadline and get(self.np)[0] != 200:
            time.sleep(0.05)
        assert get(self.np)[0] == 200

    def stop(self):
        try:
            os.kill(self.master, signal.SIGTERM)  # fast shutdown; the master exits on its own
        except OSError:
            pass
        self.backend.shutdown()
        self.backend.server_close()

    def args(self, changes, **extra):
        a = {'changes': changes,
             'nginx': {'bin': NGINX, 'config': self.p + 'nginx.conf', 'prefix': self.p},
             'verify': {'urls': [{'url': 'http://127.0.0.1:%d/api/x' % self.np, 'host': 'app.test'}],
                        'error_log': self.error_log, 'settle': 0.2},
             'journal_dir': self.journal, 'lock_timeout': 5}
        a.update(extra)
        return a

    def change(self, **kw):
        c = {'path': self.app, 'scope': 'location', 'server_name': 'app.test', 'location': '/api/',
             'directive': 'proxy_read_timeout', 'args': ['120s']}
        c.update(kw)
        return c

    def state(self):
        return [(sha256(f), owner_mode(f)) for f in (self.app, self.other, self.p + 'nginx.conf')]


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()


def module_env(tmp_path):
    return ansible_env(
        ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal', ANSIBLE_NOCOLOR='1',
        # the module's AnsiballZ path (and so its command line) names this test's directory
        ANSIBLE_REMOTE_TMP=str(tmp_path / 'ansible-tmp'), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'))


def argv_for(args, check=False, diff=False):
    argv = [ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_change', '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    if diff:
        argv += ['--diff', '-vvv']  # the callbacks drop 'diff' from the result below verbosity 3
    return argv


def parse(stdout, stderr, rc):
    m = re.search(r'^localhost \| ([A-Z!]+) => ', stdout, re.M)
    try:
        result = json.JSONDecoder().raw_decode(stdout[m.end():])[0]
    except (AttributeError, ValueError):
        raise AssertionError('no JSON from ansible (rc=%s): %s %s' % (rc, stdout, stderr))
    result['failed'] = m.group(1) == 'FAILED!'
    assert 'Traceback' not in json.dumps(result), result
    assert 'module_stderr' not in result, result
    return result


def run_change(tmp_path, args, check=False, diff=False):
    proc = subprocess.run(argv_for(args, check, diff), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=module_env(tmp_path), check=False, universal_newlines=True)
    return parse(proc.stdout, proc.stderr, proc.returncode)


def step_names(r):
    return [s['name'] for s in r['steps']]


def test_success_idempotence_and_check_mode(lab, tmp_path):
    before = lab.state()
    old_workers = workers(lab.master)
    assert old_workers
    args = lab.args([lab.change(), lab.change(location='/', directive='add_header', args=['X-Txn', 'applied'])])

    # check mode: the plan and the diff, nothing written, nothing reloaded, no journal directory
    r = run_change(tmp_path, args, check=True, diff=True)
    assert not r['failed'] and r['changed'] is True, r
    assert [(c['action'], c['line']) for c in r['changes']] == [('replaced', 12), ('added', 8)], r
    assert len(r['diff']) == 1 and r['diff'][0]['before_header'] == lab.app
    assert 'proxy_read_timeout 120s;  # reports are slow' in r['diff'][0]['after']
    assert 'proxy_read_timeout 30s;  # reports are slow' in r['diff'][0]['before']
    assert step_names(r) == ['recover', 'plan']
    assert lab.state() == before and workers(lab.master) == old_workers
    assert not os.path.exists(lab.journal)

    r = run_change(tmp_path, args)
    assert not r['failed'] and r['changed'] is True, r
    assert step_names(r) == ['lock', 'recover', 'plan', 'daemons', 'journal', 'apply', 'validate', 'reload', 'verify', 'commit']
    assert all(s['ok'] for s in r['steps']), r['steps']
    assert 'diff' not in r and r['recovered'] is None
    assert r['verify'][0]['status'] == 200
    with open(lab.app) as f:
        text = f.read()
    expected = (SITE.replace('{NP}', str(lab.np)).replace('{BP}', str(lab.bp))
                .replace('proxy_read_timeout 30s;', 'proxy_read_timeout 120s;')
                .replace('        proxy_pass http://127.0.0.1:%d;\n    }\n\n' % lab.bp,
                         '        proxy_pass http://127.0.0.1:%d;\n        add_header X-Txn applied;\n    }\n\n' % lab.bp, 1))
    assert text == expected
    assert owner_mode(lab.app) == (1234, 5678, 0o640)
    assert lab.state()[1:] == before[1:]
    new_workers = workers(lab.master)
    assert new_workers and not new_workers & old_workers
    status, headers = get(lab.np, '/')
    assert status == 200 and headers.get('x-txn') == 'applied'
    # the committed change leaves the lock and the time of the commit (read by nginx_probe), no journal
    assert sorted(os.listdir(lab.journal)) == ['last-commit', 'lock']
    with open(lab.journal + '/last-commit') as f:
        assert abs(float(f.read()) - time.time()) < 120
    assert (os.stat(lab.journal).st_mode & 0o7777, os.stat(lab.journal + '/lock').st_mode & 0o7777,
            os.stat(lab.journal + '/last-commit').st_mode & 0o7777) == (0o700, 0o600, 0o600)

    # second run: nothing to do, no reload
    after = lab.state()
    r = run_change(tmp_path, args)
    assert not r['failed'] and r['changed'] is False, r
    assert [c['action'] for c in r['changes']] == ['none', 'none']
    assert 'reload' not in step_names(r) and workers(lab.master) == new_workers
    assert lab.state() == after


def assert_rolled_back(lab, r, before, step):
    assert r['failed'] is True and r['rolled_back'] is True and r['failed_step'] == step, r
    # the message says what the rollback did and saw
    assert r['msg'].endswith('; every file was restored (1, each read back equal to its journal sha256, owner and '
                             'mode), nginx reloaded, the verified routes answer (200)'), r['msg']
    assert r['msg'].startswith('%s failed: ' % step)
    assert r['rollback']['restored'] is True and r['rollback']['reloaded'] is True
    assert r['rollback']['validated'] is True and r['rollback']['routes_ok'] is True
    assert [(f['path'], f['problem']) for f in r['rollback']['files']] == [(lab.app, None)]
    assert r['rollback']['files'][0]['sha256'] == before[0][0]
    assert lab.state() == before
    assert sorted(os.listdir(lab.p + 'conf.d')) == ['app.conf', 'other.conf']
    assert sorted(os.listdir(lab.journal)) == ['failed', 'lock']
    assert isinstance(r['rollback_seconds'], float) and r['rollback_seconds'] >= 0
    # the failing version stays on the node (0600, journal_dir/failed); the result has its path and a diff
    assert list(r['failing_version']) == [lab.app]
    saved = r['failing_version'][lab.app]['saved']
    assert os.path.dirname(saved) == os.path.join(lab.journal, 'failed')
    assert os.stat(saved).st_mode & 0o7777 == 0o600 and os.stat(os.path.dirname(saved)).st_mode & 0o7777 == 0o700
    with open(saved, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == r['failing_version'][lab.app]['sha256']
    assert r['failing_version'][lab.app]['diff'].startswith('--- %s (before)\n+++ %s (failing)\n' % (lab.app, lab.app))
    assert get(lab.np, '/api/x')[0] == 200
    assert [s['name'] for s in r['steps']][-1] == 'rollback' and r['steps'][-1]['ok'] is True


def test_nginx_t_failure_is_rolled_back(lab, tmp_path):
    before = lab.state()
    r = run_change(tmp_path, lab.args([lab.change(args=['abc'])]))
    assert_rolled_back(lab, r, before, 'validate')
    assert '%s:12: "proxy_read_timeout" directive invalid value' % lab.app in r['msg']
    assert '+        proxy_read_timeout abc;  # reports are slow\n' in r['failing_version'][lab.app]['diff']
    assert 'reload' not in step_names(r)


def test_reload_rejected_by_master_is_rolled_back(lab, tmp_path):
    held = socket.socket()
    held.bind(('127.0.0.1', 0))
    held.listen(1)
    port = held.getsockname()[1]
    try:
        # nginx -t does not bind: it passes, and only the master fails to bind on the reload
        before = lab.state()
        old = workers(lab.master)
        r = run_change(tmp_path, lab.args([lab.change(scope='server', location=None, directive='listen',
                                                      args=['127.0.0.1:%d' % port])]))
        assert_rolled_back(lab, r, before, 'reload')
        assert [s['ok'] for s in r['steps'] if s['name'] == 'validate'] == [True]
        assert 'bind() to 127.0.0.1:%d failed' % port in r['msg'], r['msg']
        assert any('bind() to 127.0.0.1:%d failed' % port in ln for ln in r['log_lines']), r['log_lines']
        # the restored configuration was reloaded: a new worker generation serves
        assert workers(lab.master) - old
        assert r['rollback_check'][0]['status'] == 200
    finally:
        held.close()


def test_failed_health_check_is_rolled_back(lab, tmp_path):
    dead = free_port()
    before = lab.state()
    r = run_change(tmp_path, lab.args([lab.change(directive='proxy_pass', args=['http://127.0.0.1:%d' % dead])]))
    assert_rolled_back(lab, r, before, 'verify')
    assert 'http://127.0.0.1:%d/api/x (Host app.test) answered 502' % lab.np in r['msg'], r['msg']
    assert 'upstream error line(s) for the verified hosts' in r['msg']
    assert any('127.0.0.1:%d' % dead in ln for ln in r['log_lines'])
    assert r['verify'][0]['status'] == 502 and r['rollback_check'][0]['status'] == 200


def test_upstream_errors_in_the_log_fail_the_check(lab, tmp_path):
    """The verify URL itself answers 200; other traffic for its host hits the broken route."""
    dead = free_port()
    before = lab.state()
    args = lab.args([lab.change(directive='proxy_pass', args=['http://127.0.0.1:%d' % dead])])
    args['verify'] = {'urls': [{'url': 'http://127.0.0.1:%d/' % lab.np, 'host': 'app.test'}],
                      'error_log': lab.error_log, 'settle': 2}
    stop = threading.Event()

    def traffic():
        while not stop.is_set():
            get(lab.np, '/api/q?token=secret', timeout=1)
            time.sleep(0.05)

    t = threading.Thread(target=traffic, daemon=True)
    t.start()
    try:
        r = run_change(tmp_path, args)
    finally:
        stop.set()
        t.join()
    assert_rolled_back(lab, r, before, 'verify')
    assert r['verify'][0]['status'] == 200
    assert 'upstream error line(s) for the verified hosts' in r['msg'] and 'answered' not in r['msg']
    assert r['log_lines'] and not any('secret' in ln for ln in r['log_lines']), r['log_lines']


def module_pids(tmp_path):
    """Processes of the ansible run of this test (their command line names its remote tmp)."""
    mark = str(tmp_path / 'ansible-tmp').encode()
    pids = []
    for e in os.listdir('/proc'):
        if e.isdigit():
            try:
                with open('/proc/%s/cmdline' % e, 'rb') as f:
                    cmd = f.read()
                with open('/proc/%s/stat' % e) as f:
                    zombie = f.read().rsplit(')', 1)[1].split()[0] == 'Z'
            except (OSError, IndexError):
                continue
            if mark in cmd and not zombie:
                pids.append(int(e))
    return pids


def kill_mid_change(lab, tmp_path):
    """Start a run that waits in verify, SIGKILL it after the files were written and nginx reloaded."""
    original = sha256(lab.app)
    old = workers(lab.master)
    args = lab.args([lab.change(location='/', directive='add_header', args=['X-Txn', 'applied'])])
    args['verify']['settle'] = 120
    proc = subprocess.Popen(argv_for(args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=module_env(tmp_path), start_new_session=True)
    manifest = os.path.join(lab.journal, 'txn', 'manifest.json')
    deadline = time.time() + 90
    while time.time() < deadline:
        now = workers(lab.master)
        if os.path.exists(manifest) and sha256(lab.app) != original and now and not now & old:
            break  # written, and reloaded: only the new worker generation accepts
        time.sleep(0.05)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        raise AssertionError('the run did not reach verify in time')
    assert module_pids(tmp_path), 'the module process was not found'
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 5
    while module_pids(tmp_path) and time.time() < deadline:
        for pid in module_pids(tmp_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    assert not module_pids(tmp_path)
    # the killed run left its change in effect and its journal behind
    assert os.path.exists(manifest) and sha256(lab.app) != original
    # (an old worker may answer one more request while the master tells it to quit)
    deadline = time.time() + 3
    while time.time() < deadline and get(lab.np, '/')[1].get('x-txn') != 'applied':
        time.sleep(0.05)
    assert all(get(lab.np, '/')[1].get('x-txn') == 'applied' for dummy in range(5))
    txn = os.path.join(lab.journal, 'txn')
    assert os.stat(txn).st_mode & 0o7777 == 0o700
    assert all(os.stat(os.path.join(txn, n)).st_mode & 0o7777 == 0o600 for n in os.listdir(txn))


def test_killed_run_is_recovered(lab, tmp_path):
    before = lab.state()
    kill_mid_change(lab, tmp_path)
    r = run_change(tmp_path, lab.args(None, recover_only=True))
    assert not r['failed'] and r['changed'] is True, r
    assert r['recovered']['files'] == [lab.app] and r['recovered']['restored'] and r['recovered']['reloaded'], r
    assert step_names(r) == ['lock', 'recover']
    assert lab.state() == before
    assert os.listdir(lab.journal) == ['lock']
    status, headers = get(lab.np, '/')
    assert status == 200 and 'x-txn' not in headers
    # nothing left: a second recover_only run does nothing
    r = run_change(tmp_path, lab.args(None, recover_only=True))
    assert not r['failed'] and r['changed'] is False and r['recovered'] is None

    # killed again, then a normal run recovers first and applies its own change
    kill_mid_change(lab, tmp_path)
    r = run_change(tmp_path, lab.args([lab.change()]))
    assert not r['failed'] and r['changed'] is True, r
    assert r['recovered']['files'] == [lab.app] and r['recovered']['reloaded'] is True
    assert step_names(r)[:3] == ['lock', 'recover', 'plan']
    with open(lab.app) as f:
        text = f.read()
    assert 'proxy_read_timeout 120s;' in text and 'X-Txn' not in text
    assert owner_mode(lab.app) == (1234, 5678, 0o640)
    assert 'x-txn' not in get(lab.np, '/')[1]


def live_change(lab, tmp_path):
    """A change whose verify waits 12 s (several times what the runs made meanwhile take), started in the background;
    returns it once its journal is written.
    finish_live_change(proc) waits for it and returns its result."""
    args = lab.args([lab.change()])
    args['verify']['settle'] = 12
    proc = subprocess.Popen(argv_for(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=module_env(tmp_path), universal_newlines=True)
    manifest = os.path.join(lab.journal, 'txn', 'manifest.json')
    deadline = time.time() + 90
    while not os.path.exists(manifest) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not os.path.exists(manifest):
        finish_live_change(proc, timeout=1)
        raise AssertionError('the live change wrote no journal')
    return proc


def finish_live_change(proc, timeout=180):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out = err = ''
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return parse(out, err, proc.returncode)


def test_concurrent_run_waits_for_the_lock(lab, tmp_path):
    first = live_change(lab, tmp_path)
    try:
        with open(os.path.join(lab.journal, 'lock')) as f:
            mark, holder = f.read().splitlines()
        assert mark == 'badgateway-nginx journal lock'
        holder = int(holder)
        other_before = sha256(lab.other)
        second = lab.args([{'path': lab.other, 'scope': 'location', 'location': '/', 'directive': 'return',
                            'args': ['204', 'x']}], lock_timeout=1)
        r = run_change(tmp_path, second)
        assert r['failed'] is True and r['changed'] is False
        assert r['msg'].startswith('lock failed: another run (pid %d) holds the lock on this host' % holder), r['msg']
        assert sha256(lab.other) == other_before
    finally:
        r = finish_live_change(first)
    assert not r['failed'] and r['changed'] is True, r
    assert sha256(lab.other) == other_before


def test_nginx_directive_takes_the_same_lock(lab, tmp_path):
    """nginx_directive is a one-change transaction: it waits for the lock a running nginx_change holds."""
    first = live_change(lab, tmp_path)
    try:
        other_before = sha256(lab.other)
        args = {'path': lab.other, 'scope': 'location', 'location': '/', 'directive': 'return', 'args': ['204', 'x'],
                'nginx_bin': lab.args([])['nginx']['bin'], 'config': lab.p + 'nginx.conf', 'prefix': lab.p,
                'journal_dir': lab.journal, 'lock_timeout': 1}
        proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_directive', '-a',
                               json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=module_env(tmp_path), check=False, universal_newlines=True)
        r = parse(proc.stdout, proc.stderr, proc.returncode)
        assert r['failed'] is True and r['changed'] is False
        assert 'lock failed: another run (pid ' in r['msg'] and r['msg'].startswith('journal_dir '), r['msg']
        assert sha256(lab.other) == other_before
    finally:
        r = finish_live_change(first)
    assert not r['failed'] and r['changed'] is True, r
    # once the lock is free it edits, validates and commits, without a reload (no new last-commit)
    commit = os.path.join(lab.journal, 'last-commit')
    with open(commit) as f:
        committed = f.read()
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_directive', '-a',
                           json.dumps(dict(args, lock_timeout=5))], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=module_env(tmp_path), check=False, universal_newlines=True)
    r = parse(proc.stdout, proc.stderr, proc.returncode)
    assert not r['failed'] and r['changed'] is True, r
    assert [s['name'] for s in r['steps']] == ['lock', 'recover', 'plan', 'journal', 'apply', 'validate', 'commit']
    assert sha256(lab.other) != other_before and not os.path.exists(os.path.join(lab.journal, 'txn'))
    with open(commit) as f:
        assert f.read() == committed


POOL = ('; pool www\r\n'
        '[www]\r\n'
        'user = www-data\r\n'
        'pm = dynamic\r\n'
        'pm.max_children = 5  ; tuned 2025\r\n'
        '\r\n'
        ';pm.start_servers = 2\r\n')


def test_fpm_change_without_php_fpm_is_rolled_back(lab, tmp_path):
    """The fpm path is real: the ini edit is written, php-fpm -t cannot run here, and everything is put back."""
    pool = str(tmp_path / 'www.conf')
    with open(pool, 'wb') as f:
        f.write(POOL.encode())
    os.chmod(pool, 0o604)
    fpm_conf = str(tmp_path / 'php-fpm.conf')
    with open(fpm_conf, 'w') as f:
        f.write('[global]\npid = %s/php-fpm.pid\ninclude = %s\n' % (tmp_path, pool))
    original = sha256(pool)
    args = lab.args([{'kind': 'fpm', 'path': pool, 'section': 'www', 'key': 'pm.max_children', 'value': '20'}],
                    php_fpm={'bin': str(tmp_path / 'no-php-fpm'), 'config': fpm_conf})
    r = run_change(tmp_path, args, check=True, diff=True)
    assert not r['failed'] and r['changed'] is True, r
    assert r['diff'][0]['after'] == POOL.replace('= 5  ;', '= 20  ;')
    assert r['changes'][0]['what'] == '[www] pm.max_children' and r['changes'][0]['line'] == 5
    r = run_change(tmp_path, args)
    assert r['failed'] is True and r['rolled_back'] is True and r['failed_step'] == 'validate', r
    assert 'no-php-fpm does not exist' in r['msg']
    assert list(r['failing_version']) == [pool]
    with open(r['failing_version'][pool]['saved'], 'rb') as f:
        assert f.read() == POOL.replace('= 5  ;', '= 20  ;').encode()
    assert '-pm.max_children = 5  ; tuned 2025\r\n+pm.max_children = 20  ; tuned 2025\r\n' \
        in r['failing_version'][pool]['diff']
    # php-fpm -t cannot run after the restore either: the rollback says so, and that nginx still serves
    assert 'BUT THE RESTORED CONFIGURATION DID NOT VALIDATE' in r['msg'], r['msg']
    assert (r['rollback']['restored'], r['rollback']['validated'], r['rollback']['reloaded'],
            r['rollback']['routes_ok']) == (True, False, False, True)
    assert sha256(pool) == original and owner_mode(pool)[2] == 0o604
    # unknown keys for a kind are refused before anything is written
    r = run_change(tmp_path, lab.args([{'kind': 'fpm', 'path': pool, 'section': 'www', 'key': 'pm', 'value': 'static',
                                        'directive': 'x'}]))
    assert r['failed'] is True and 'unknown key(s) directive' in r['msg'], r
    r = run_change(tmp_path, lab.args([lab.change(path='conf.d/app.conf')]))
    assert r['failed'] is True and 'path must be an absolute path' in r['msg'], r
    assert sha256(pool) == original and sorted(os.listdir(lab.journal)) == ['failed', 'lock']


def test_failing_version_keeps_secrets_on_the_node(lab, tmp_path):
    with open(lab.app) as f:
        site = f.read()
    with open(lab.app, 'w') as f:
        f.write(site.replace('        proxy_read_timeout 30s;',
                             '        proxy_set_header Authorization "Bearer abc123";\n        proxy_read_timeout 30s;'))
    before = lab.state()
    r = run_change(tmp_path, lab.args([lab.change(args=['abc'])]))
    assert r['failed'] is True and r['rolled_back'] is True and r['failed_step'] == 'validate', r
    assert 'abc123' not in json.dumps(r), 'the secret is in the result'
    assert 'proxy_set_header Authorization ********;' in r['failing_version'][lab.app]['diff']
    with open(r['failing_version'][lab.app]['saved']) as f:
        kept = f.read()
    assert 'Bearer abc123' in kept and 'proxy_read_timeout abc;' in kept
    assert lab.state() == before


def test_rollback_that_does_not_serve_says_so(lab, tmp_path):
    """The routes answer 502 before the change too (a dead backend): the restored config does not serve."""
    dead = free_port()
    with open(lab.app) as f:
        site = f.read()
    with open(lab.app, 'w') as f:
        f.write(site.replace('http://127.0.0.1:%d;\n        proxy_read_timeout' % lab.bp,
                             'http://127.0.0.1:%d;\n        proxy_read_timeout' % dead))
    subprocess.run([NGINX, '-s', 'reload', '-c', lab.p + 'nginx.conf', '-p', lab.p], check=True)
    deadline = time.time() + 5
    while time.time() < deadline and get(lab.np, '/api/x')[0] != 502:
        time.sleep(0.05)
    before = lab.state()
    r = run_change(tmp_path, lab.args([lab.change(args=['60s'])]))
    assert r['failed'] is True and r['rolled_back'] is True and r['failed_step'] == 'verify', r
    assert (r['rollback']['restored'], r['rollback']['reloaded'], r['rollback']['routes_ok']) == (True, True, False)
    assert ', nginx reloaded, BUT THE RESTORED CONFIGURATION DOES NOT SERVE: http://127.0.0.1:%d/api/x (Host app.test) ' \
        'answered 502' % lab.np in r['msg'], r['msg']
    assert 'every file was restored (1, each read back equal to its journal sha256' in r['msg']
    assert lab.state() == before


def test_existing_journal_dir_is_not_taken_over(lab, tmp_path):
    foreign = tmp_path / 'var-lib'
    (foreign / 'txn' / 'sub').mkdir(parents=True)
    (foreign / 'txn' / 'data.db').write_text('keep')
    os.chmod(str(foreign), 0o755)
    before = lab.state()
    r = run_change(tmp_path, lab.args([lab.change()], journal_dir=str(foreign)))
    assert r['failed'] is True and r['changed'] is False, r
    assert 'has mode 0755' in r['msg'] and 'IsADirectoryError' not in r['msg'], r['msg']
    os.chmod(str(foreign), 0o700)
    r = run_change(tmp_path, lab.args([lab.change()], journal_dir=str(foreign)))
    assert r['failed'] is True and 'was not created by badgateway.nginx' in r['msg'], r['msg']
    assert os.stat(str(foreign)).st_mode & 0o7777 == 0o700
    assert sorted(os.listdir(str(foreign / 'txn'))) == ['data.db', 'sub'] and sorted(os.listdir(str(foreign))) == ['txn']
    assert lab.state() == before


def test_check_mode_during_a_live_run_sees_it_in_progress(lab, tmp_path):
    first = live_change(lab, tmp_path)
    try:
        r = run_change(tmp_path, lab.args([lab.change(location='/', directive='add_header', args=['X-A', 'b'])]),
                       check=True)
        assert not r['failed'] and r['recovered'] is None, r
        assert 'its journal is in progress, not left over' in r['steps'][0]['detail'], r['steps']
    finally:
        r = finish_live_change(first)
    assert not r['failed'] and r['changed'] is True and r['recovered'] is None, r


def test_immutable_file_is_named_and_nothing_changes(lab, tmp_path):
    if subprocess.call(['chattr', '+i', lab.app], stderr=subprocess.DEVNULL) != 0:
        pytest.skip('chattr +i is not supported here')
    try:
        before = lab.state()
        r = run_change(tmp_path, lab.args([lab.change()]))
        assert r['failed'] is True and r['failed_step'] == 'apply', r
        assert r['msg'].startswith('apply failed: Operation not permitted (%s)' % lab.app), r['msg']
        assert '/.app.conf.' not in r['msg']
        assert lab.state() == before and sorted(os.listdir(lab.p + 'conf.d')) == ['app.conf', 'other.conf']
    finally:
        subprocess.call(['chattr', '-i', lab.app])
    assert get(lab.np, '/api/x')[0] == 200


def test_bad_options_are_clear_errors_and_change_nothing(lab, tmp_path):
    before = lab.state()
    url = 'http://127.0.0.1:%d/api/x' % lab.np
    cases = [
        (dict(timeout=-1), 'timeout must be at least 1, got -1'),
        (dict(verify={'urls': [{'url': url}], 'settle': -1}), 'verify.settle must be at least 0, got -1.0'),
        (dict(nginx={'bin': NGINX, 'config': lab.p + 'nginx.conf', 'reload_timeout': -5}),
         'nginx.reload_timeout must be at least 1, got -5'),
        (dict(verify={'urls': [{'url': url + '\r\nX-Evil: 1'}]}), 'verify.urls[0].url must not contain blanks, CR, LF'),
        (dict(verify={'urls': [{'url': url, 'host': 'app.test\r\nX: 1'}]}),
         'verify.urls[0].host must not contain blanks, CR, LF'),
        (dict(verify={'urls': [{'url': 'ftp://x/'}]}), 'verify.urls[0].url must be an http:// or https:// URL'),
        (dict(nginx={'bin': NGINX, 'config': lab.p + 'nginx.conf\x00'}), 'nginx.config contains a NUL byte'),
        (dict(changes=[lab.change(path=lab.app + '\x00')]), 'changes[0].path contains a NUL byte'),
    ]
    for extra, msg in cases:
        args = lab.args([lab.change()])
        args.update(extra)
        r = run_change(tmp_path, args)
        assert r['failed'] is True and r['changed'] is False and r['msg'].startswith(msg), (extra, r['msg'])
    # a file nginx does not read (outside the include tree, or a link out of it)
    stray = str(tmp_path / 'stray.conf')
    with open(stray, 'w') as f:
        f.write('server {\n    listen 1;\n}\n')
    os.symlink(stray, lab.p + 'conf.d/link.conf.off')
    for path in (stray, lab.p + 'conf.d/link.conf.off'):
        r = run_change(tmp_path, lab.args([{'path': path, 'scope': 'server', 'directive': 'listen', 'args': ['2']}]))
        assert r['failed'] is True and r['changed'] is False, r
        assert r['msg'] == 'changes[0]: %s is not a file nginx reads: it is not in the include tree of %snginx.conf%s' % (
            path, lab.p, ' (it resolves to %s)' % stray if path != stray else ''), r['msg']
    assert lab.state() == before
