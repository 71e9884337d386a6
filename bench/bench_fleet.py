#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet benchmark: badgateway.nginx.facts / .diagnose side by side with `ansible -m setup`.

Part 1 (fleet): starts N podman containers (bench/fleet/Containerfile: sshd as the main
process, nginx, PHP-FPM, python backends, failing routes, an error log with real 502/504
lines), reaches them over SSH with ControlPersist and pipelining, and runs `ansible all -m
setup`, the facts playbook and the diagnose playbook with the same forks, alternating, for
--pairs rounds. Per run: wall time, controller CPU (user+sys of the ansible process tree
from wait4(), plus the CPU of the ssh ControlPersist masters, which are not in that tree),
peak controller memory, Python executions per host (counted on the hosts), task results per
host (callback) and facts bytes per host (jsonfile fact cache of the run).

Part 2 (correlate): the controller-side correlation and report of the nginx_report action
plugin, timed alone on the evidence recorded by part 1, multiplied to 1,000 / 10,000 hosts
(distinct names and addresses), one fresh process per size.

    source scripts/env.sh
    python bench/bench_fleet.py                       # 24 hosts, 3 pairs, then correlation
    python bench/bench_fleet.py --hosts 4 --pairs 1 --json /tmp/fleet.json
    python bench/bench_fleet.py --correlate-only      # on the evidence of the last fleet run

Exit codes: 0 done, 1 a run failed (non-zero rc, hosts missing), 2 something it needs is missing.
"""

from __future__ import absolute_import, division, print_function

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH_DIR)
FLEET_DIR = os.path.join(BENCH_DIR, 'fleet')
CONTAINERFILE = os.path.join(FLEET_DIR, 'Containerfile')
CACHE = os.environ.get('BADGATEWAY_CACHE') or os.path.expanduser('~/.cache/badgateway')
DEFAULT_EVIDENCE = os.path.join(CACHE, 'bench', 'fleet-evidence.json')
IMAGE_REPO = 'localhost/badgateway-benchfleet'
BASE_IMAGE = 'localhost/badgateway-base:bookworm-minbase'
IMAGE_LABEL = 'org.badgateway.benchimage=fleet'
CONTAINER_LABEL = 'org.badgateway.bench'
INTERPRETER = '/usr/local/bin/bench-python3'
KINDS = ('setup', 'facts', 'diagnose')


class Missing(Exception):
    """Something the benchmark needs is not there (exit 2)."""


def log(msg):
    sys.stderr.write('bench_fleet: %s\n' % msg)
    sys.stderr.flush()


# --- environment -------------------------------------------------------------------------------

def collections_path():
    """The ANSIBLE_COLLECTIONS_PATH entry that holds badgateway.nginx as this checkout."""
    paths = [p for p in (os.environ.get('ANSIBLE_COLLECTIONS_PATH') or '').split(os.pathsep) if p]
    paths.append(os.path.join(CACHE, 'collections'))
    for base in paths:
        link = os.path.join(base, 'ansible_collections', 'badgateway', 'nginx')
        if os.path.isdir(link) and os.path.realpath(link) == os.path.realpath(ROOT):
            return base
    raise Missing('no entry of ANSIBLE_COLLECTIONS_PATH (nor %s/collections) holds '
                  'ansible_collections/badgateway/nginx -> %s: run scripts/setup.sh, then '
                  'source scripts/env.sh' % (CACHE, ROOT))


def require_tools(names):
    for name in names:
        if not shutil.which(name):
            raise Missing('%s not found in PATH (source scripts/env.sh; scripts/setup.sh installs it)' % name)


def run_quiet(argv, **kwargs):
    check = kwargs.pop('check', False)
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=check,
                          **kwargs)


def image_tag():
    with open(CONTAINERFILE, 'rb') as f:
        return '%s:%s' % (IMAGE_REPO, hashlib.sha256(f.read()).hexdigest()[:12])


def ensure_image():
    tag = image_tag()
    if run_quiet(['podman', 'image', 'exists', tag]).returncode == 0:
        return tag
    if run_quiet(['podman', 'image', 'exists', BASE_IMAGE]).returncode != 0:
        raise Missing('base image %s is missing: run scripts/build-image.sh (or scripts/setup.sh)' % BASE_IMAGE)
    log('building %s (about 40 s)' % tag)
    build_log = os.path.join(tempfile.gettempdir(), 'bench-fleet-build.log')
    with open(build_log, 'w') as out:
        rc = subprocess.call(['podman', 'build', '--pull=never', '--network=host', '--layers=false',
                              '--label', IMAGE_LABEL, '--tag', tag, '--file', CONTAINERFILE, FLEET_DIR],
                             stdout=out, stderr=subprocess.STDOUT)
    if rc != 0:
        raise Missing('podman build failed (log: %s)' % build_log)
    return tag


# --- the fleet ---------------------------------------------------------------------------------

class Fleet:
    """N containers reached over SSH; removes every one it started in close()."""

    def __init__(self, image, count, workdir):
        self.image = image
        self.count = count
        self.workdir = workdir
        self.run_id = '%d-%d' % (os.getpid(), int(time.time()))
        self.names = []
        self.hosts = []  # [{'name', 'container', 'ip', 'state'}]
        self.key = os.path.join(workdir, 'id_ed25519')
        self.control_dir = os.path.join(workdir, 'cp')

    def start(self):
        os.makedirs(self.control_dir, mode=0o700)
        if run_quiet(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bench_fleet', '-f', self.key]).returncode:
            raise Missing('ssh-keygen failed')
        os.chmod(self.key + '.pub', 0o644)
        specs = []
        for i in range(self.count):
            name = 'fleet%02d' % (i + 1) if self.count < 100 else 'fleet%04d' % (i + 1)
            state = os.path.join(self.workdir, 'state', name)
            os.makedirs(state)
            specs.append({'name': name, 'container': 'bgbench-%s-%s' % (self.run_id, name), 'state': state})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(self._run_container, specs))
        for spec in specs:
            out = run_quiet(['podman', 'inspect', '-f', '{{.NetworkSettings.IPAddress}}', spec['container']])
            spec['ip'] = out.stdout.strip()
            if out.returncode or not spec['ip']:
                raise RuntimeError('no address for %s: %s' % (spec['container'], out.stderr.strip()))
        self.hosts = specs
        for i, spec in enumerate(specs):
            peer = specs[(i + 1) % len(specs)]
            with open(os.path.join(spec['state'], 'host.env.tmp'), 'w') as f:
                f.write('SELF_IP=%s\nPEER_IP=%s\n' % (spec['ip'], peer['ip']))
            os.rename(os.path.join(spec['state'], 'host.env.tmp'), os.path.join(spec['state'], 'host.env'))
        self._wait_ready()

    def _run_container(self, spec):
        self.names.append(spec['container'])  # before the run: close() removes it even if run fails
        argv = ['podman', 'run', '--detach', '--name', spec['container'], '--hostname', spec['name'],
                '--label', '%s=%s' % (CONTAINER_LABEL, self.run_id), '--stop-timeout', '2',
                '--cap-add', 'NET_ADMIN',
                '--volume', '%s:/bench:ro' % FLEET_DIR,
                '--volume', '%s:/var/lib/bench' % spec['state'],
                '--volume', '%s.pub:/root/.ssh/authorized_keys:ro' % self.key,
                self.image]
        out = run_quiet(argv)
        if out.returncode:
            raise RuntimeError('podman run %s failed: %s' % (spec['container'], out.stderr.strip()))

    def _wait_ready(self, timeout=240):
        deadline = time.time() + timeout
        waiting = list(self.hosts)
        while waiting and time.time() < deadline:
            waiting = [h for h in waiting if not os.path.exists(os.path.join(h['state'], 'ready'))]
            if waiting:
                time.sleep(0.5)
        if waiting:
            raise RuntimeError('hosts not ready after %d s: %s (podman logs %s)' % (
                timeout, ', '.join(h['name'] for h in waiting), waiting[0]['container']))

    def python_runs(self):
        """{host: number of Python processes Ansible started there so far} (the interpreter wrapper's lines)."""
        counts = {}
        for h in self.hosts:
            try:
                with open(os.path.join(h['state'], 'python-runs')) as f:
                    counts[h['name']] = sum(1 for line in f if line.strip())
            except OSError:
                counts[h['name']] = 0
        return counts

    def error_log_502_lines(self):
        """Per host: lines of the two error logs nginx wrote, refused connects and timeouts among them."""
        counts = {}
        for h in self.hosts:
            out = run_quiet(['podman', 'exec', h['container'], 'sh', '-c',
                             'cat /var/log/nginx/www.error.log /var/log/nginx/api.error.log'])
            lines = out.stdout.splitlines()
            counts[h['name']] = {
                'error_lines': len(lines),
                'refused': sum('(111: Connection refused)' in x for x in lines),
                'timed_out': sum('timed out' in x for x in lines),
            }
        return counts

    def config_bytes(self, cache_dir):
        """Bytes of the configuration files nginx read on the first host (their list from its facts)."""
        h = self.hosts[0]
        facts = cached_facts(cache_dir).get(h['name'], ({}, 0))[0]
        files = (facts.get('nginx') or {}).get('files') or []
        files = [f if isinstance(f, str) else f.get('path') for f in files]
        if not files:
            return None
        out = run_quiet(['podman', 'exec', h['container'], 'stat', '-c', '%s'] + [f for f in files if f])
        if out.returncode:
            return None
        return {'host': h['name'], 'files': len(files), 'bytes': sum(int(x) for x in out.stdout.split())}

    def close(self):
        self._stop_control_masters()
        names = list(self.names)
        if names:
            for i in range(0, len(names), 32):
                run_quiet(['podman', 'rm', '--force', '--time', '0'] + names[i:i + 32])
            left = run_quiet(['podman', 'ps', '-a', '-q', '--filter', 'label=%s=%s' % (CONTAINER_LABEL, self.run_id)])
            if left.stdout.strip():
                log('WARNING: containers left: %s' % left.stdout.split())
            self.names = []

    def _stop_control_masters(self):
        for pid in control_master_pids(self.control_dir):
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


def control_master_pids(control_dir):
    """ssh ControlPersist masters of this run: ssh processes whose command line names our ControlPath dir."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        # a master that went to the background renames itself "ssh: CONTROLPATH [mux]"
        if argv and argv[0].split(b' ')[0] in (b'ssh', b'ssh:', b'/usr/bin/ssh') \
                and any(control_dir.encode() in a for a in argv):
            pids.append(int(entry))
    return pids


def cpu_seconds_of(pids):
    """utime+stime of the given processes (from /proc/PID/stat)."""
    tick = os.sysconf('SC_CLK_TCK')
    total = {}
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total[pid] = (int(fields[11]) + int(fields[12])) / float(tick)
        except (OSError, IndexError, ValueError):
            pass
    return total


# --- ansible -----------------------------------------------------------------------------------

def write_ansible_files(fleet, workdir, forks):
    inventory = os.path.join(workdir, 'inventory.ini')
    with open(inventory, 'w') as f:
        f.write('[fleet]\n')
        for h in fleet.hosts:
            f.write('%s ansible_host=%s\n' % (h['name'], h['ip']))
        f.write('\n[fleet:vars]\nansible_user=root\nansible_ssh_private_key_file=%s\n'
                'ansible_python_interpreter=%s\n' % (fleet.key, INTERPRETER))
    cfg = os.path.join(workdir, 'ansible.cfg')
    with open(cfg, 'w') as f:
        f.write('[defaults]\n'
                'inventory = %s\n'
                'forks = %d\n'
                'host_key_checking = False\n'
                'retry_files_enabled = False\n'
                'gathering = explicit\n'
                'fact_caching = jsonfile\n'
                'fact_caching_timeout = 0\n'
                'callback_plugins = %s\n'
                'callbacks_enabled = bench_count\n'
                'bin_ansible_callbacks = True\n'
                '\n[ssh_connection]\n'
                'ssh_args = -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null '
                '-o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o LogLevel=ERROR\n'
                'control_path_dir = %s\n'
                'pipelining = True\n' % (inventory, forks, os.path.join(FLEET_DIR, 'callback_plugins'),
                                         fleet.control_dir))
    env = dict(os.environ)
    for key in list(env):
        if key.startswith('ANSIBLE_') and key != 'ANSIBLE_COLLECTIONS_PATH':
            del env[key]  # the generated ansible.cfg says everything
    env.update(ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR='1',
               ANSIBLE_FORCE_COLOR='0', PYTHONUNBUFFERED='1')
    return env


def command_for(kind, workdir, run_dir):
    if kind == 'setup':
        return ['ansible', 'all', '-m', 'ansible.builtin.setup']
    if kind == 'facts':
        return ['ansible-playbook', 'badgateway.nginx.facts']
    return ['ansible-playbook', 'badgateway.nginx.diagnose', '-e', 'report_dir=%s' % os.path.join(run_dir, 'report')]


class TreeSampler(threading.Thread):
    """Samples the process tree under one pid: peak of the summed Pss and Rss (from smaps_rollup)."""

    def __init__(self, pid, interval=0.2):
        super(TreeSampler, self).__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.stop = threading.Event()
        self.peak_pss_kb = 0
        self.peak_rss_kb = 0
        self.peak_processes = 0
        self.samples = 0

    def tree(self):
        children = {}
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/stat' % entry) as f:
                    ppid = int(f.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
        found, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, ()))
        return found

    @staticmethod
    def memory_kb(pid):
        pss = rss = 0
        try:
            with open('/proc/%d/smaps_rollup' % pid) as f:
                for line in f:
                    if line.startswith('Pss:'):
                        pss = int(line.split()[1])
                    elif line.startswith('Rss:'):
                        rss = int(line.split()[1])
        except OSError:
            pass
        return pss, rss

    def run(self):
        while not self.stop.is_set():
            pids = self.tree()
            pss = rss = 0
            for pid in pids:
                p, r = self.memory_kb(pid)
                pss += p
                rss += r
            self.samples += 1
            self.peak_pss_kb = max(self.peak_pss_kb, pss)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_processes = max(self.peak_processes, len(pids))
            self.stop.wait(self.interval)


def cached_facts(cache_dir):
    """{host: (facts, file bytes)} from a jsonfile fact cache: ansible-core 2.19 names the files
    s<schema>_<host> and stores {"__payload__": "<facts as JSON>"}; older ones <host> and the facts."""
    found = {}
    for entry in os.listdir(cache_dir):
        path = os.path.join(cache_dir, entry)
        try:
            with open(path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        host = entry
        if isinstance(data, dict) and set(data) == set(['__payload__']):
            data = json.loads(data['__payload__'])
            host = entry.split('_', 1)[1] if re.match(r's\d+_', entry) else entry
        found[host] = (data, os.path.getsize(path))
    return found


def facts_sizes(cache_dir, hosts):
    """{host: bytes} of json.dumps of ansible_facts.nginx and of all facts, from the jsonfile cache."""
    sizes = {}
    cache = cached_facts(cache_dir)
    for h in hosts:
        if h not in cache:
            continue
        facts, file_bytes = cache[h]
        nginx = facts.get('nginx', facts.get('ansible_nginx'))
        sizes[h] = {
            'cache_file_bytes': file_bytes,
            'all_facts_bytes': len(json.dumps(facts, separators=(',', ':'))),
            'nginx_bytes': len(json.dumps(nginx, separators=(',', ':'))) if nginx is not None else 0,
        }
    return sizes


def run_phases(path, start, end):
    """[[label, seconds], ...] of one run from the callback's timeline: 'startup' (until the callback was loaded),
    'play NAME', 'after the last result of NAME' (from the play's last task result to the next play or the end:
    the strategy's work for every host after it, such as a role's implicit role_complete), 'task NAME' (each
    until the next play or task starts), 'exit' (after the end of the run)."""
    try:
        with open(path) as f:
            marks = json.load(f)
    except (OSError, ValueError):
        return []
    phases = [['startup', marks[0][0] - start]]
    plays = [i for i, m in enumerate(marks) if m[1] in ('play', 'end')]
    starts = [i for i, m in enumerate(marks) if m[1] in ('play', 'task', 'end')]
    for i, mark in enumerate(marks[:-1]):
        if mark[1] == 'play':
            following = min(j for j in plays if j > i)
            phases.append(['play ' + mark[2], marks[following][0] - mark[0]])
            results = [m[0] for m in marks[i:following] if m[1] == 'result']
            if results:  # what the strategy does for the hosts after their last result (implicit meta tasks)
                phases.append(['after the last result of ' + mark[2], marks[following][0] - results[-1]])
        elif mark[1] == 'task':
            phases.append(['task ' + mark[2], marks[min(j for j in starts if j > i)][0] - mark[0]])
    phases.append(['exit', end - marks[-1][0]])
    return phases


def print_phases(runs):
    """The median seconds of each play (and of the tasks of every play but the longest) of each kind."""
    print('  where the time goes (median s of the rounds; a task until the next one starts):')
    for kind in KINDS:
        rs = [r for r in runs if r['kind'] == kind and r.get('phases')]
        if not rs:
            continue
        labels = []
        for label, _seconds in rs[0]['phases']:
            if label not in labels:
                labels.append(label)
        med = dict((label, median([sum(v for k, v in r['phases'] if k == label) for r in rs])) for label in labels)
        longest_play = max((label for label in labels if label.startswith('play ')), key=med.get, default=None)
        parts, in_longest = [], False
        for label in labels:
            if label.startswith('play '):
                in_longest = label == longest_play
            if label.startswith('task ') and in_longest:
                continue
            parts.append('%s %.2f' % (label, med[label]))
        print('    %-9s %s' % (kind, '; '.join(parts)))


def run_one(kind, index, fleet, env, workdir):
    run_dir = os.path.join(workdir, 'runs', '%02d-%s' % (index, kind))
    cache_dir = os.path.join(run_dir, 'facts-cache')
    os.makedirs(cache_dir)
    run_env = dict(env, ANSIBLE_CACHE_PLUGIN_CONNECTION=cache_dir,
                   BENCH_COUNT_FILE=os.path.join(run_dir, 'task-results.json'),
                   BENCH_TIMELINE_FILE=os.path.join(run_dir, 'timeline.json'))
    argv = command_for(kind, workdir, run_dir)
    before_python = fleet.python_runs()
    masters = control_master_pids(fleet.control_dir)
    masters_cpu_before = cpu_seconds_of(masters)
    with open(os.path.join(run_dir, 'output.log'), 'w') as out:
        start = time.monotonic()
        proc = subprocess.Popen(argv, cwd=workdir, env=run_env, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.terminate()  # interrupted: do not leave ansible running against removed hosts
            proc.wait()
            raise
        wall = time.monotonic() - start
        sampler.stop.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    masters_after = cpu_seconds_of(control_master_pids(fleet.control_dir))
    masters_cpu = sum(v - masters_cpu_before.get(pid, 0.0) for pid, v in masters_after.items())
    after_python = fleet.python_runs()
    try:
        with open(os.path.join(run_dir, 'task-results.json')) as f:
            task_results = json.load(f)
    except (OSError, ValueError):
        task_results = {}
    names = [h['name'] for h in fleet.hosts]
    sizes = facts_sizes(cache_dir, names)
    phases = run_phases(os.path.join(run_dir, 'timeline.json'), start, start + wall)
    result = {
        'kind': kind, 'index': index, 'argv': argv, 'rc': proc.returncode, 'wall_s': wall,
        'cpu_user_s': usage.ru_utime, 'cpu_sys_s': usage.ru_stime, 'cpu_s': usage.ru_utime + usage.ru_stime,
        'ssh_masters_cpu_s': masters_cpu, 'ssh_masters': len(masters_after),
        'maxrss_largest_process_kb': usage.ru_maxrss,
        'tree_peak_pss_kb': sampler.peak_pss_kb, 'tree_peak_rss_kb': sampler.peak_rss_kb,
        'tree_peak_processes': sampler.peak_processes, 'memory_samples': sampler.samples,
        'python_runs_per_host': dict((n, after_python.get(n, 0) - before_python.get(n, 0)) for n in names),
        'task_results_per_host': dict((n, sum((task_results.get(n) or {}).values())) for n in names),
        'task_results_by_status': task_results,
        'facts_sizes': sizes, 'run_dir': run_dir, 'phases': phases,
    }
    if proc.returncode != 0:
        with open(os.path.join(run_dir, 'output.log')) as f:
            tail = f.read()[-3000:]
        log('%s run %d exited %d; end of its output:\n%s' % (kind, index, proc.returncode, tail))
    return result


def warm_up(env, workdir, fleet):
    """One untimed `ansible -m ping`: checks the SSH path and opens the ControlPersist masters."""
    out = run_quiet(['ansible', 'all', '-m', 'ansible.builtin.ping', '-o'], cwd=workdir, env=dict(
        env, ANSIBLE_CACHE_PLUGIN_CONNECTION=os.path.join(workdir, 'warmup-cache'),
        BENCH_COUNT_FILE=os.path.join(workdir, 'warmup-results.json')))
    if out.returncode:
        raise RuntimeError('ansible -m ping failed:\n%s%s' % (out.stdout[-3000:], out.stderr[-3000:]))
    return len(control_master_pids(fleet.control_dir))


# --- summary -----------------------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else float('nan')


def summarize(runs, hosts):
    by_kind = dict((k, [r for r in runs if r['kind'] == k]) for k in KINDS)
    summary = {}
    for kind, rs in by_kind.items():
        nginx_bytes = [s['nginx_bytes'] for r in rs for s in r['facts_sizes'].values()]
        all_bytes = [s['all_facts_bytes'] for r in rs for s in r['facts_sizes'].values()]
        summary[kind] = {
            'runs': len(rs), 'failed_runs': sum(1 for r in rs if r['rc'] != 0),
            'wall_s': [r['wall_s'] for r in rs], 'median_wall_s': median([r['wall_s'] for r in rs]),
            'cpu_s': [r['cpu_s'] for r in rs], 'median_cpu_s': median([r['cpu_s'] for r in rs]),
            'median_cpu_with_ssh_masters_s': median([r['cpu_s'] + r['ssh_masters_cpu_s'] for r in rs]),
            'peak_tree_pss_mb': max(r['tree_peak_pss_kb'] for r in rs) / 1024.0 if rs else 0,
            'peak_tree_rss_mb': max(r['tree_peak_rss_kb'] for r in rs) / 1024.0 if rs else 0,
            'maxrss_largest_process_mb': max(r['maxrss_largest_process_kb'] for r in rs) / 1024.0 if rs else 0,
            'python_runs_per_host': sorted(set(v for r in rs for v in r['python_runs_per_host'].values())),
            'task_results_per_host': sorted(set(v for r in rs for v in r['task_results_per_host'].values())),
            'median_nginx_facts_bytes_per_host': median(nginx_bytes),
            'median_all_facts_bytes_per_host': median(all_bytes),
            'hosts_with_facts_in_cache': sorted(set(len(r['facts_sizes']) for r in rs)),
        }
    base = summary['setup']
    for kind in ('facts', 'diagnose'):
        s = summary[kind]
        s['wall_ratio_vs_setup'] = s['median_wall_s'] / base['median_wall_s'] if base['median_wall_s'] else None
        s['cpu_ratio_vs_setup'] = s['median_cpu_s'] / base['median_cpu_s'] if base['median_cpu_s'] else None
        s['cpu_with_ssh_masters_ratio_vs_setup'] = (
            s['median_cpu_with_ssh_masters_s'] / base['median_cpu_with_ssh_masters_s']
            if base['median_cpu_with_ssh_masters_s'] else None)
    return summary


def print_fleet_summary(summary, meta):
    print('fleet: %(hosts)d hosts over SSH (ControlPersist 60s, pipelining), forks %(forks)d, %(pairs)d rounds '
          'of setup/facts/diagnose, load average before %(load_before)s, after %(load_after)s' % meta)
    print('%-9s %9s %9s %7s %7s %10s %10s %12s %12s %14s %14s' % (
        'run', 'wall_med', 'cpu_med', 'wall_x', 'cpu_x', 'pss_peak', 'rss_peak', 'py_runs/host', 'tasks/host',
        'nginx_facts_B', 'all_facts_B'))
    for kind in KINDS:
        s = summary[kind]
        print('%-9s %8.2fs %8.2fs %7s %7s %8.0fMB %8.0fMB %12s %12s %14.0f %14.0f' % (
            kind, s['median_wall_s'], s['median_cpu_s'], _ratio(s.get('wall_ratio_vs_setup', 1.0)),
            _ratio(s.get('cpu_ratio_vs_setup', 1.0)), s['peak_tree_pss_mb'], s['peak_tree_rss_mb'],
            ','.join(map(str, s['python_runs_per_host'])), ','.join(map(str, s['task_results_per_host'])),
            s['median_nginx_facts_bytes_per_host'], s['median_all_facts_bytes_per_host']))
    print('  wall_x / cpu_x: median against `ansible -m setup`; cpu: user+sys of the ansible process tree '
          '(wait4); with the ssh ControlPersist masters added: facts %s, diagnose %s' % (
              '%.2fx' % summary['facts']['cpu_with_ssh_masters_ratio_vs_setup'],
              '%.2fx' % summary['diagnose']['cpu_with_ssh_masters_ratio_vs_setup']))
    print('  pss_peak / rss_peak: peak of the summed Pss / Rss of the ansible process tree (sampled every 0.2 s); '
          'largest single process (wait4 ru_maxrss): setup %.0fMB, facts %.0fMB, diagnose %.0fMB' % tuple(
              summary[k]['maxrss_largest_process_mb'] for k in KINDS))
    print('  py_runs/host: Python processes Ansible started per host (counted on the host by the interpreter '
          'wrapper); tasks/host: task results per host (callback)')
    print('  nginx_facts_B: JSON bytes of ansible_facts.nginx per host (median, jsonfile fact cache of the run); '
          'all_facts_B: all facts the run cached for the host')


# --- part 2: correlation and report alone ------------------------------------------------------

def save_evidence(path, fleet, runs):
    diagnose_runs = [r for r in runs if r['kind'] == 'diagnose' and r['rc'] == 0]
    if not diagnose_runs:
        return None
    cache_dir = os.path.join(diagnose_runs[-1]['run_dir'], 'facts-cache')
    hosts = {}
    cache = cached_facts(cache_dir)
    for h in fleet.hosts:
        facts = cache[h['name']][0]
        hosts[h['name']] = {'nginx': facts.get('nginx'), 'nginx_diagnosis': facts.get('nginx_diagnosis')}
    evidence = {'addresses': dict((h['name'], h['ip']) for h in fleet.hosts), 'hosts': hosts,
                'recorded': time.strftime('%Y-%m-%dT%H:%M:%S'), 'source': cache_dir}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + '.tmp', 'w') as f:
        json.dump(evidence, f)
    os.rename(path + '.tmp', path)
    return path


def address_for(n):
    """The n-th synthetic host address (n >= 0): 10.128.0.1 upwards, never .0 or .255."""
    n = (n // 254) * 256 + n % 254 + 1
    return '10.%d.%d.%d' % (128 + (n >> 16), (n >> 8) & 255, n & 255)


def multiplied_hostvars(evidence, size):
    """{name: {'ansible_facts': {...}}} of `size` hosts: copies of the recorded ones, each copy with its
    own names and addresses (the recorded addresses rewritten wherever they occur: checks, upstream
    servers, probe results), so that every peer lookup finds a different host."""
    originals = sorted(evidence['hosts'])
    addresses = evidence['addresses']
    pattern = re.compile(r'(?<![\d.])(%s)(?![\d])' % '|'.join(re.escape(addresses[n]) for n in originals))
    texts = dict((n, json.dumps(evidence['hosts'][n])) for n in originals)
    index_of = dict((addresses[n], i) for i, n in enumerate(originals))
    hostvars = {}
    copies = int(math.ceil(size / float(len(originals))))
    for copy in range(copies):
        mapping = dict((ip, address_for(copy * len(originals) + i)) for ip, i in index_of.items())
        for n in originals:
            if len(hostvars) >= size:
                break
            facts = json.loads(pattern.sub(lambda m: mapping[m.group(1)], texts[n]))
            facts['nginx_diagnosis']['host'] = name = 'c%05d-%s' % (copy, n)
            hostvars[name] = {'ansible_facts': facts}
    return hostvars


def correlate_and_report(hostvars, names, report_dir):
    """The body of the nginx_report action plugin, the very functions it calls (plugin_utils/_fleet_report):
    the evidence read from hostvars (compact facts expanded), the correlation of every host with the
    checks of all the others, the report, its console lines, then report.json and report.html."""
    from ansible_collections.badgateway.nginx.plugins.plugin_utils import _fleet_report as fleet
    from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import console_lines, lines_by_host
    times = {}
    c0 = time.process_time()
    t0 = time.perf_counter()
    report = fleet.fleet_report(hostvars, names, time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'bench_fleet',
                                timings=times)  # index_s, correlate_s, build_report_s
    t1 = time.perf_counter()
    lines = lines_by_host(report)
    summary = console_lines(lines)
    t2 = time.perf_counter()
    paths = fleet.write_report(report_dir, report, timings=times)  # write_s
    # reading the evidence from hostvars (compact facts expanded) is what fleet_report spent besides the rest
    times['evidence_s'] = (t1 - t0) - times['index_s'] - times['correlate_s'] - times['build_report_s']
    times['build_report_s'] += t2 - t1
    times.update(total_s=time.perf_counter() - t0, total_cpu_s=time.process_time() - c0)
    return times, {'findings': sum(len(h['findings']) for h in report['hosts'].values()), 'hosts': len(report['hosts']),
                   'summary_lines': len(summary), 'host_lines': sum(len(v) for v in lines.values()),
                   'report_json_bytes': os.path.getsize(paths[0]), 'report_html_bytes': os.path.getsize(paths[1])}


def vm_kb(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def correlate_child(evidence_path, size, report_dir):
    """Runs in a fresh process (one per size); prints one JSON line."""
    sys.path.insert(0, collections_path())
    t0 = time.perf_counter()
    with open(evidence_path) as f:
        evidence = json.load(f)
    hostvars = multiplied_hostvars(evidence, size)
    del evidence
    build_s = time.perf_counter() - t0
    rss_input_kb = vm_kb('VmRSS')
    times, counts = correlate_and_report(hostvars, sorted(hostvars), report_dir)
    out = dict(size=size, build_input_s=build_s, rss_after_input_mb=rss_input_kb / 1024.0,
               peak_rss_mb=vm_kb('VmHWM') / 1024.0, **times)
    out.update(counts)
    print(json.dumps(out))


def run_correlate_size(evidence_path, size, workdir, timeout):
    argv = [sys.executable, os.path.abspath(__file__), '--correlate-child', str(size), '--evidence', evidence_path,
            '--report-dir', os.path.join(workdir, 'report-%d' % size)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, universal_newlines=True)
    try:
        stdout = proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {'size': size, 'timed_out_after_s': timeout}
    if proc.returncode:
        raise RuntimeError('correlation of %d hosts failed (rc %d)' % (size, proc.returncode))
    return json.loads(stdout.strip().splitlines()[-1])


def correlate_part(evidence_path, sizes, budget, workdir):
    """Times 1,000 and 2,000 hosts (and the sizes asked for), fits a power law, runs a larger size only
    when the fit predicts it within the budget, else prints the fitted estimate, labelled as such."""
    with open(evidence_path) as f:
        recorded = len(json.load(f)['hosts'])
    print('correlation and report alone (nginx_report body) on %d recorded hosts multiplied; '
          'one fresh process per size, load average %s' % (recorded, load_average()))
    print('%7s %9s %9s %9s %9s %9s %9s %9s %10s %10s %9s' % (
        'hosts', 'total_s', 'cpu_s', 'evid_s', 'correl_s', 'report_s', 'write_s', 'input_s', 'input_MB', 'peak_MB',
        'findings'))
    results = []
    measured = []
    for size in sorted(set([1000, 2000] + sizes)):
        est = estimate(measured, size)
        mem = estimate_memory_mb(measured, size)
        if mem is not None and mem > available_mb() / 2:
            results.append({'size': size, 'estimated_peak_mb': mem, 'measured': False})
            print('%7d  not run: ESTIMATED peak %.0f MB (linear from %d hosts) > half of MemAvailable' % (
                size, mem, measured[-1]['size']))
            continue
        if est is not None and est > budget:
            results.append({'size': size, 'estimated_total_s': est, 'measured': False})
            print('%7d  not run: ESTIMATED %.0f s > budget %d s (--correlate-budget): power law fitted to the wall '
                  'times of %s hosts (exponent %.2f, at least 1); a term that grows faster but is still small there '
                  'is not in the estimate' % (size, est, budget, ' and '.join(str(m['size']) for m in measured[-2:]),
                                              exponent(measured)))
            continue
        r = run_correlate_size(evidence_path, size, workdir, timeout=max(budget * 3, 60))
        if 'timed_out_after_s' in r:
            results.append(r)
            print('%7d  timed out after %d s' % (size, r['timed_out_after_s']))
            continue
        r['measured'] = True
        measured.append(r)
        results.append(r)
        print('%7d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %10.0f %10.0f %9d' % (
            size, r['total_s'], r['total_cpu_s'], r['evidence_s'], r['index_s'] + r['correlate_s'], r['build_report_s'],
            r['write_s'],
            r['build_input_s'], r['rss_after_input_mb'], r['peak_rss_mb'], r['findings']))
    if len(measured) >= 2:
        print('  growth: total wall ~ hosts^%.2f, cpu ~ hosts^%.2f between %d and %d hosts (1.0 = linear, '
              '2.0 = quadratic)' % (exponent(measured), exponent(measured, 'total_cpu_s'), measured[-2]['size'],
                                    measured[-1]['size']))
    print('  total_s = evid_s (the evidence read from hostvars, compact facts expanded) + correl_s (index + '
          'diagnose() per host) + report_s (build_report, console and host lines) '
          '+ write_s (report.json + render_html + report.html); input_s / input_MB: building the multiplied '
          'hostvars (not part of total_s); peak_MB: VmHWM of the process')
    return results


def exponent(measured, key='total_s'):
    if len(measured) < 2:
        return float('nan')
    a, b = measured[-2], measured[-1]
    return math.log(b[key] / a[key]) / math.log(float(b['size']) / a['size'])


def estimate_memory_mb(measured, size):
    if not measured:
        return None
    return measured[-1]['peak_rss_mb'] * float(size) / measured[-1]['size']


def available_mb():
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) / 1024.0
    return float('inf')


def estimate(measured, size):
    if len(measured) < 2:
        return None
    last = measured[-1]
    return last['total_s'] * (float(size) / last['size']) ** max(exponent(measured), 1.0)


def load_average():
    return '%.2f %.2f %.2f' % os.getloadavg()


# --- main --------------------------------------------------------------------------------------

def _ratio(value):
    return '-' if value is None else '%.2fx' % value


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--hosts', type=int, default=24, help='test hosts to start (default 24)')
    p.add_argument('--forks', type=int, help='ansible forks (default: --hosts)')
    p.add_argument('--pairs', type=int, default=3, help='rounds of setup, facts, diagnose (default 3)')
    p.add_argument('--json', metavar='PATH', help='write every raw figure as JSON to PATH')
    p.add_argument('--evidence', metavar='PATH', default=DEFAULT_EVIDENCE,
                   help='recorded diagnose evidence: written by the fleet part, read by the correlation '
                        '(default %(default)s)')
    p.add_argument('--correlate-only', action='store_true', help='skip the fleet part, use --evidence')
    p.add_argument('--no-correlate', action='store_true', help='skip the correlation part')
    p.add_argument('--correlate-sizes', default='1000,10000',
                   help='host counts for the correlation part (1000 and 2000 always run; default %(default)s)')
    p.add_argument('--correlate-budget', type=int, default=180,
                   help='seconds: a size whose estimate from the smaller ones exceeds this is not run, '
                        'its estimate is printed (default %(default)s)')
    p.add_argument('--keep', action='store_true', help='keep the temporary directory (runs, logs, caches)')
    p.add_argument('--no-bytecode-cache', action='store_true',
                   help="do not compile the collection's bytecode for the runs (see bytecode_cache)")
    p.add_argument('--correlate-child', type=int, help=argparse.SUPPRESS)
    p.add_argument('--report-dir', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.hosts < 2:
        p.error('--hosts must be at least 2 (each host passes to the next one)')
    if args.pairs < 1:
        p.error('--pairs must be at least 1')
    try:
        args.sizes = [int(x) for x in args.correlate_sizes.split(',') if x.strip()]
    except ValueError:
        p.error('--correlate-sizes must be comma-separated integers, got %r' % args.correlate_sizes)
    if any(s < 1 for s in args.sizes):
        p.error('--correlate-sizes must be positive')
    return args


def bytecode_cache(env, workdir, enabled):
    """Let the ansible runs keep the collection's bytecode, as an installed collection keeps its __pycache__.

    A collection that ansible-galaxy installed gets its .pyc files written on first use and read by every
    later import: by each fork that loads an action plugin, the facts parser or the correlator. A machine
    that sets PYTHONDONTWRITEBYTECODE (this kind of machine does) compiles the collection's source in every
    fork instead, which ansible-core's own modules (compiled when pip installed them) never pay. With
    enabled, the bytecode is compiled once into <workdir>/pycache (PYTHONPYCACHEPREFIX, nothing is written
    into the checkout); without, the runs see the environment as it is. Returns what the summary says."""
    if not enabled:
        return 'as the environment has it (PYTHONDONTWRITEBYTECODE=%s)' % os.environ.get('PYTHONDONTWRITEBYTECODE', '')
    env.pop('PYTHONDONTWRITEBYTECODE', None)
    env['PYTHONPYCACHEPREFIX'] = os.path.join(workdir, 'pycache')
    plugins = os.path.join(collections_path(), 'ansible_collections', 'badgateway', 'nginx', 'plugins')
    subprocess.run([sys.executable, '-m', 'compileall', '-q', plugins], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return 'compiled once into the run directory (PYTHONPYCACHEPREFIX), as an installed collection keeps it'


def fleet_part(args, workdir, raw):
    require_tools(['podman', 'ansible', 'ansible-playbook', 'ssh', 'ssh-keygen'])
    collections_path()
    if not os.environ.get('CONTAINERS_CONF') and os.path.exists(os.path.join(CACHE, 'containers.conf')):
        os.environ['CONTAINERS_CONF'] = os.path.join(CACHE, 'containers.conf')
    image = ensure_image()
    forks = args.forks or args.hosts
    fleet = Fleet(image, args.hosts, workdir)
    try:
        log('starting %d hosts from %s' % (args.hosts, image))
        t0 = time.monotonic()
        fleet.start()
        raw['fleet_start_s'] = time.monotonic() - t0
        log('hosts ready in %.0f s' % raw['fleet_start_s'])
        env = write_ansible_files(fleet, workdir, forks)
        raw['bytecode'] = bytecode_cache(env, workdir, not args.no_bytecode_cache)
        raw['ssh_masters_after_warmup'] = warm_up(env, workdir, fleet)
        raw['error_logs'] = fleet.error_log_502_lines()
        meta = dict(hosts=args.hosts, forks=forks, pairs=args.pairs, load_before=load_average())
        runs = []
        raw.update(meta=meta, runs=runs)  # filled as the runs end: an interrupted run keeps what it measured
        index = 0
        for pair in range(args.pairs):
            for kind in KINDS:
                index += 1
                r = run_one(kind, index, fleet, env, workdir)
                log('round %d %-8s wall %.2fs cpu %.2fs rc %d' % (pair + 1, kind, r['wall_s'], r['cpu_s'], r['rc']))
                runs.append(r)
        meta['load_after'] = load_average()
        raw['hosts'] = [dict(name=h['name'], ip=h['ip']) for h in fleet.hosts]
        summary = summarize(runs, fleet.hosts)
        raw['summary'] = summary
        print_fleet_summary(summary, meta)
        print_phases(runs)
        print("  the collection's bytecode: %s" % raw['bytecode'])
        lines = raw['error_logs']
        print('  error logs before the runs (per host, min-max): %s lines, %s "111: Connection refused", '
              '%s "timed out"' % tuple('%d-%d' % (min(v[k] for v in lines.values()), max(v[k] for v in lines.values()))
                                       for k in ('error_lines', 'refused', 'timed_out')))
        facts_runs = [r for r in runs if r['kind'] == 'facts' and r['rc'] == 0]
        if facts_runs:
            raw['config'] = fleet.config_bytes(os.path.join(facts_runs[0]['run_dir'], 'facts-cache'))
            if raw['config']:
                print('  configuration nginx read on %(host)s: %(files)d files, %(bytes)d bytes' % raw['config'])
        raw['evidence'] = save_evidence(args.evidence, fleet, runs)
        failed = [r for r in runs if r['rc'] != 0]
        missing = [r for r in runs if r['kind'] != 'setup' and len(r['facts_sizes']) != args.hosts]
        return 1 if failed or missing else 0
    finally:
        fleet.close()


def main(argv=None):
    args = parse_args(argv)
    if args.correlate_child:
        correlate_child(args.evidence, args.correlate_child, args.report_dir)
        return 0

    def on_signal(signum, _frame):
        raise KeyboardInterrupt('signal %d' % signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    workdir = tempfile.mkdtemp(prefix='bgfleet-')  # short: ssh ControlPath sockets live under it
    raw = {'argv': sys.argv, 'started': time.strftime('%Y-%m-%dT%H:%M:%S'), 'cpus': os.cpu_count()}
    rc = 0
    try:
        if not args.correlate_only:
            rc = fleet_part(args, workdir, raw)
        if not args.no_correlate:
            if not os.path.exists(args.evidence):
                raise Missing('no recorded evidence at %s: run the fleet part first (without --correlate-only)'
                              % args.evidence)
            raw['correlation'] = correlate_part(args.evidence, args.sizes, args.correlate_budget, workdir)
    except Missing as e:
        log('ERROR: %s' % e)
        rc = 2
    except KeyboardInterrupt:
        log('interrupted: containers removed')
        rc = 130
    except RuntimeError as e:
        log('ERROR: %s' % e)
        rc = 1
    finally:
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(raw, f, indent=1, sort_keys=True, default=str)
            log('raw figures: %s' % args.json)
        if args.keep:
            log('kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return rc


if __name__ == '__main__':
    sys.exit(main())
