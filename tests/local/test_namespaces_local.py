# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host that also runs daemons in other namespaces, through Ansible, with real processes.

Beside the host's nginx (a plain process, tests/local/test_nginx_change_local.Lab) a second nginx
master runs with another config in its own pid and mount namespaces (``unshare --pid --mount
--fork --mount-proc``), sharing the host's network namespace like a container on the host network:
its TCP port is in the host's /proc/net/tcp, and its unix socket is bound on a tmpfs that only its
mount namespace sees, under a directory that exists (empty) on the host too.  The php-fpm test adds
a podman container of the test image (systemd, nginx and php-fpm in the container's namespaces).

Every process and container started here is removed, also when a test fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from conftest import ansible_env, free_port
from test_modules_local import ANSIBLE, NGINX, write
from test_nginx_change_local import Lab, get, run_change, workers

from ansible_collections.badgateway.nginx.plugins.module_utils import _daemons as daemons
from ansible_collections.badgateway.nginx.plugins.module_utils import _journal as journal
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm

UNSHARE = shutil.which('unshare')
PODMAN = shutil.which('podman')
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = [
    pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed'),
    pytest.mark.skipif(os.geteuid() != 0, reason='starts nginx as root and makes namespaces'),
    pytest.mark.skipif(UNSHARE is None, reason='unshare (util-linux) not installed'),
]

FOREIGN_CONF = ('user root;\nworker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n'
                'events {{ worker_connections 64; }}\nhttp {{\n    access_log off;\n    server {{\n'
                '        listen 127.0.0.1:{port};\n        listen unix:{sock};\n        return 200 foreign;\n'
                '    }}\n}}\n')


def titled(title_start, needle):
    """Pids whose title starts with title_start and holds needle."""
    return [p for p in procfs.pids() if (procfs.cmdline(p) or '').startswith(title_start)
            and needle in (procfs.cmdline(p) or '')]


class ForeignNginx(object):
    """An nginx master in its own pid and mount namespaces (the host's network namespace)."""

    def __init__(self, tmp_path):
        self.dir = str(tmp_path / 'foreign')
        self.sockdir = str(tmp_path / 'sockets')
        os.makedirs(self.sockdir)
        self.sock = self.sockdir + '/app.sock'
        self.port = free_port()
        self.prefix = write(tmp_path / 'foreign', {
            'nginx.conf': FOREIGN_CONF.format(d=self.dir, port=self.port, sock=self.sock)})
        self.conf = self.prefix + 'nginx.conf'
        script = 'mount -t tmpfs bgw-foreign "$0" && exec "$1" -c "$2" -p "$3" -g "daemon off;"'
        self.proc = subprocess.Popen([UNSHARE, '--pid', '--mount', '--fork', '--mount-proc', '/bin/sh', '-c', script,
                                      self.sockdir, NGINX, self.conf, self.prefix], start_new_session=True)
        self.master = None
        deadline = time.time() + 10
        while time.time() < deadline:
            found = titled('nginx: master process', self.conf)
            if found and len(procfs.children_titled(found[0])) == 2 and get(self.port)[0] == 200:
                self.master = found[0]
                break
            time.sleep(0.05)
        assert self.master, 'the foreign nginx did not start'
        assert procfs.foreign_reason(self.master) == 'other pid namespace'

    def workers(self):
        return procfs.children_titled(self.master)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # unshare and the master (init of its pid namespace)
        except OSError:
            pass
        self.proc.wait(10)


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()
        for pid in titled('nginx: ', str(tmp_path) + '/nginx.conf'):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture
def foreign(tmp_path):
    f = ForeignNginx(tmp_path)
    try:
        yield f
    finally:
        f.stop()


def run_raw(tmp_path, module, args, name=None):
    """Run a module of this collection through Ansible; name: under another name in ANSIBLE_LIBRARY, so that
    no action plugin runs (nginx_facts' raw node-side result)."""
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1', ANSIBLE_REMOTE_TMP=str(tmp_path / 'ansible-tmp'),
                      ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'))
    if name:
        lib = tmp_path / 'library'
        lib.mkdir(exist_ok=True)
        if not (lib / (name + '.py')).exists():
            os.symlink(os.path.join(ROOT, 'plugins', 'modules', module + '.py'), str(lib / (name + '.py')))
        env['ANSIBLE_LIBRARY'] = str(lib)
        module = name
    else:
        module = 'badgateway.nginx.' + module
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', module, '-a', json.dumps(args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                          universal_newlines=True)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    try:
        result = json.JSONDecoder().raw_decode(proc.stdout[m.end():])[0]
    except (AttributeError, ValueError):
        raise AssertionError('no JSON from ansible (rc=%s): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    result['failed'] = m.group(1) == 'FAILED!'
    assert 'Traceback' not in json.dumps(result) and 'module_stderr' not in result, result
    return result


def loaded(tmp_path, lab):
    r = run_raw(tmp_path, 'nginx_facts', {'nginx_bin': NGINX, 'config': lab.p + 'nginx.conf', 'prefix': lab.p},
                name='bgw_nginx_facts_raw')
    assert not r['failed'], r
    return r['nginx_raw']['loaded']


def reload_and_wait(lab):
    old = workers(lab.master)
    os.kill(lab.master, signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        now = workers(lab.master)
        if now and not now & old:
            return now
        time.sleep(0.05)
    raise AssertionError('no new worker generation after SIGHUP')


def test_facts_tell_files_changed_after_the_running_nginx_loaded_them(lab, foreign, tmp_path):
    state = loaded(tmp_path, lab)
    assert state['master_pid'] == lab.master, state
    assert state['changed'] == [] and state['note'] is None, state
    assert abs(state['reloaded_at'] - time.time()) < 120
    assert {'pid': foreign.master, 'comm': 'nginx', 'reason': 'other pid namespace'} in state['set_aside'], state
    # the same at every gathering, so that facts (and a fact cache, and Molecule's idempotence) stay stable
    assert [loaded(tmp_path, lab) for _i in range(3)] == [state] * 3

    time.sleep(0.1)
    with open(lab.other, 'a') as f:
        f.write('# edited after nginx loaded this file\n')
    state = loaded(tmp_path, lab)
    assert [c['file'] for c in state['changed']] == [lab.other], state
    assert state['changed'][0]['mtime'] == os.stat(lab.other).st_mtime

    reload_and_wait(lab)
    state = loaded(tmp_path, lab)
    assert state['master_pid'] == lab.master and state['changed'] == [], state

    # a reload that fails keeps the old workers and so the old time: the edit stays "not loaded"
    time.sleep(0.1)
    with open(lab.other, 'a') as f:
        f.write('this is not nginx syntax\n')
    before = workers(lab.master)
    os.kill(lab.master, signal.SIGHUP)
    time.sleep(1)
    assert workers(lab.master) == before
    state = loaded(tmp_path, lab)
    assert [c['file'] for c in state['changed']] == [lab.other], state


def test_facts_without_our_master_say_so(lab, foreign, tmp_path):
    os.kill(lab.master, signal.SIGTERM)
    deadline = time.time() + 10
    while time.time() < deadline and procfs.alive(lab.master):
        time.sleep(0.05)
    state = loaded(tmp_path, lab)
    assert state['master_pid'] is None and state['reloaded_at'] is None and state['changed'] == [], state
    assert state['note'].startswith('nginx is not running'), state


def test_probe_keeps_listeners_to_our_namespaces(lab, foreign, tmp_path):
    r = run_raw(tmp_path, 'nginx_probe', {'resources': True, 'php_fpm': False, 'firewall': False})
    assert not r['failed'], r
    table = r['checks']['listeners'] if 'checks' in r else r['listeners']
    ours = [x for x in table['tcp'] if x['port'] == lab.np]
    assert len(ours) == 1 and lab.master in ours[0]['pids'] and ours[0]['process'] == 'nginx', ours
    theirs = [x for x in table['tcp'] if x['port'] == foreign.port]
    # the port is in our network namespace's table, but its processes are not named as its owner
    assert len(theirs) == 1 and theirs[0]['pids'] == [] and theirs[0]['process'] is None, theirs
    assert foreign.master in [a['pid'] for a in theirs[0]['set_aside']]
    assert set(a['reason'] for a in theirs[0]['set_aside']) == {'other pid namespace'}
    # its unix socket path is on a tmpfs of its own mount namespace: not a listener on our path
    assert foreign.sock not in [x['path'] for x in table['unix']]
    assert not os.path.exists(foreign.sock)
    aside = [(a['pid'], a['reason'], a['listener']) for a in table['set_aside']]
    assert (foreign.master, 'other mount namespace', foreign.sock) in aside, aside
    assert (foreign.master, 'other pid namespace', '127.0.0.1:%d' % foreign.port) in aside, aside
    checks = r['checks'] if 'checks' in r else r
    nginx_pids = [p['pid'] for p in checks['resources']['nginx_files']]
    assert lab.master in nginx_pids and foreign.master not in nginx_pids
    assert not set(nginx_pids) & foreign.workers()


def test_backend_service_does_not_take_a_foreign_socket_for_ours(lab, foreign, tmp_path):
    # before: the foreign nginx's socket counted as "already listening" (changed=false, its pid named)
    r = run_raw(tmp_path, 'backend_service', {'socket': foreign.sock, 'timeout': 1})
    assert r['failed'] and r.get('listener') is None, r
    # a TCP port of our network namespace held by the foreign processes does listen, with no owner named
    r = run_raw(tmp_path, 'backend_service', {'port': foreign.port, 'address': '127.0.0.1'})
    assert not r['failed'] and r['changed'] is False, r
    assert r['listener']['pid'] is None and r['unit'] is None, r
    assert foreign.master in [a['pid'] for a in r['listener']['set_aside']], r


def kill_our_nginx(lab):
    """SIGKILL our master (its pid file stays behind) and its workers."""
    ours = workers(lab.master)
    for pid in [lab.master] + sorted(ours):
        os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 5
    while time.time() < deadline and any(procfs.alive(p) for p in [lab.master] + sorted(ours)):
        time.sleep(0.05)


def change_without_our_master(lab, foreign, tmp_path, pid_file_text):
    """Our master is gone; the pid file holds pid_file_text (None: no pid file). nginx_change runs; the
    foreign master must not be signalled and every file must stay as it was."""
    kill_our_nginx(lab)
    pid_file = str(tmp_path / 'nginx.pid')
    if pid_file_text is None:
        os.unlink(pid_file)
    else:
        with open(pid_file, 'w') as f:
            f.write(pid_file_text)
    before_files = lab.state()
    before_workers = foreign.workers()
    assert len(before_workers) == 2
    r = run_change(tmp_path, lab.args([lab.change()]))
    time.sleep(0.5)  # a SIGHUP would have spawned new workers by now
    assert foreign.workers() == before_workers, 'the foreign nginx was signalled'
    assert r['failed'], r
    assert lab.state() == before_files
    return r


def test_change_with_a_dead_pid_in_the_pid_file(lab, foreign, tmp_path):
    # before: the pid file's master is gone, so "the only other master" (the foreign one) was reloaded
    master = lab.master
    r = change_without_our_master(lab, foreign, tmp_path, '%d\n' % master)
    assert 'no nginx master of %snginx.conf runs in our pid and mount namespaces' % lab.p in r['msg'], r['msg']
    assert 'pid file %s/nginx.pid names %d, which is not running' % (tmp_path, master) in r['msg'], r['msg']
    assert '%d (other pid namespace)' % foreign.master in r['msg'], r['msg']
    assert 'nothing was signalled' in r['msg']
    # found before any file was written: no apply, no rollback
    assert [st['name'] for st in r['steps']][-1] == 'daemons', r['steps']
    assert 'no file was changed' in r['msg'], r['msg']


def test_change_with_the_foreign_master_in_the_pid_file(lab, foreign, tmp_path):
    r = change_without_our_master(lab, foreign, tmp_path, '%d\n' % foreign.master)
    assert 'names %d, which is a master in another pid namespace' % foreign.master in r['msg'], r['msg']


def test_change_without_a_pid_file_and_without_our_master(lab, foreign, tmp_path):
    # nginx does not run here: the change is not loaded by anybody, and the foreign master is left alone;
    # the verification fails (nothing answers) and the files are put back
    r = change_without_our_master(lab, foreign, tmp_path, None)
    reload_step = [s for s in r['steps'] if s['name'] == 'reload'][0]
    assert reload_step['detail'].startswith('nginx is not running; nothing to reload (masters set aside: '), r
    assert '%d (other pid namespace)' % foreign.master in reload_step['detail']


def test_change_reloads_our_master_beside_the_foreign_one(lab, foreign, tmp_path):
    before = workers(lab.master)
    theirs = foreign.workers()
    r = run_change(tmp_path, lab.args([lab.change()]))
    assert not r['failed'] and r['changed'], r
    now = workers(lab.master)
    assert now and not now & before
    assert foreign.workers() == theirs


# --- php-fpm masters of a container -----------------------------------------------------------

def podman_image():
    name = os.environ.get('BADGATEWAY_IMAGE')
    if not name:
        import hashlib
        with open(os.path.join(ROOT, 'tests', 'testhost', 'Containerfile'), 'rb') as f:
            name = 'localhost/badgateway-testhost:%s' % hashlib.sha256(f.read()).hexdigest()[:12]
    return name


@pytest.fixture
def container():
    if PODMAN is None or subprocess.call([PODMAN, 'image', 'exists', podman_image()]) != 0:
        pytest.skip('podman or the test image %s is not there (scripts/build-image.sh)' % podman_image())
    name = 'bgw-ns-%s' % uuid.uuid4().hex[:6]
    subprocess.run([PODMAN, 'run', '-d', '--name', name, '--stop-timeout', '1', podman_image(), '/sbin/init'],
                   check=True, stdout=subprocess.PIPE)
    try:
        conmon = subprocess.run([PODMAN, 'inspect', '-f', '{{.State.Pid}}', name], check=True,
                                stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
        init = int(conmon)
        deadline = time.time() + 60
        masters = []
        while time.time() < deadline:
            ns = procfs.namespaces(init)['pid']
            masters = [m for m in procfs.titled('php-fpm: master process')
                       if procfs.namespaces(m)['pid'] == ns]
            if masters and [m for m in procfs.titled('nginx: master process')
                            if procfs.namespaces(m)['pid'] == ns]:
                break
            time.sleep(0.2)
        assert masters, 'php-fpm did not start in the container'
        yield {'name': name, 'init': init, 'fpm_masters': masters}
    finally:
        subprocess.run([PODMAN, 'rm', '-f', '-t', '0', name], check=False, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)


def test_php_fpm_masters_of_a_container_are_set_aside(container, tmp_path):
    fpm_master = container['fpm_masters'][0]
    assert procfs.foreign_reason(fpm_master) == 'other pid namespace'
    # before: "php-fpm: master process" anywhere in /proc was ours (one master: signalled; several: an error)
    fpm = daemons.PhpFpm({})
    assert fpm.master() is None
    assert fpm_master in [a['pid'] for a in fpm.set_aside]
    detail = fpm.reload()
    assert detail.startswith('php-fpm is not running; nothing to reload (masters set aside: '), detail
    assert '%d (other pid namespace)' % fpm_master in detail, detail
    pid_file = tmp_path / 'php-fpm.pid'
    pid_file.write_text('%d\n' % fpm_master)
    with pytest.raises(journal.TxnError) as e:
        daemons.PhpFpm({'pid_file': str(pid_file)}).master()
    assert 'names %d, which is a master in another pid namespace' % fpm_master in str(e.value)
    processes = php_fpm.pool_processes()
    assert fpm_master not in [m['pid'] for m in processes['master']]
    entry = [a for a in processes['set_aside'] if a['pid'] == fpm_master][0]
    assert entry['reason'] == 'other pid namespace' and entry['config'] == '/etc/php/8.2/fpm/php-fpm.conf'
    assert entry['pools'] == ['www'], entry
    # the same through Ansible, with the container's nginx master beside ours in nginx_probe's view
    r = run_raw(tmp_path, 'nginx_probe', {'php_fpm': True, 'firewall': False, 'resources': True})
    assert not r['failed'], r
    checks = r['checks'] if 'checks' in r else r
    assert fpm_master in [a['pid'] for a in checks['php_fpm']['processes']['set_aside']]
    assert fpm_master not in [m['pid'] for m in checks['php_fpm']['processes']['master']]
    assert not [p for p in checks['resources']['nginx_files'] if procfs.foreign_reason(p['pid'])]
