# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment, end to end, the way AWX runs it.

scripts/ee.sh builds (or reuses) the EE image of meta/execution-environment.yml; bench fleet
hosts (bench/bench_fleet.py: sshd, nginx, PHP-FPM, backends, a firewall rule and error logs
with real 502/504 lines) are started on podman's network; ansible-runner runs a playbook that
imports badgateway.nginx.diagnose with process isolation under podman in that image, reaching
the hosts over SSH with the key handed to it as env/ssh_key (an AWX machine credential).

What is checked, from real artifacts only: runner's status and events, the podman command it
ran, where the play ran (Python, ansible-core and the collection path inside the EE), that the
collection in the image is file for file this checkout, that every host was reached (the
hosts count the Python processes Ansible starts there), and report.json, written inside the
EE into the private data dir, with the findings the bench hosts are built to produce.

Needs root, podman and scripts/setup.sh (venv with ansible-builder and ansible-runner, the
podman settings of $CONTAINERS_CONF, the base image); a cold EE build takes a few minutes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, 'bench'))
import bench_fleet  # noqa: E402  (bench/ is not a package)

HOSTS = 2
IDENT = 'ee-diagnose-%d' % os.getpid()  # runner names its container after it: unique per run
EE_COLLECTIONS = '/usr/share/ansible/collections/ansible_collections'
EE_COLLECTION = EE_COLLECTIONS + '/badgateway/nginx'
# The collection's files that scripts/ee.sh hashes into the tag and puts into the image
# (galaxy.yml becomes MANIFEST.json and FILES.json there).
COLLECTION_PARTS = ('README.md', 'COPYING', 'meta', 'plugins', 'roles', 'playbooks')
SITES = '/etc/nginx/conf.d/sites.conf'

PLAYBOOK = '''---
- name: Record where the play runs and which badgateway.nginx it loads
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: List badgateway.nginx as ansible-galaxy finds it here
      ansible.builtin.command: ansible-galaxy collection list badgateway.nginx --format json
      register: ee_collection_list
      changed_when: false

    - name: Controller side of the run
      ansible.builtin.debug:
        msg:
          python: "{{ ansible_playbook_python }}"
          ansible: "{{ ansible_version.full }}"
          collections: "{{ ee_collection_list.stdout | from_json }}"

- name: Diagnose the fleet
  ansible.builtin.import_playbook: badgateway.nginx.diagnose
'''


def terminal(request, line):
    """A line in pytest's output even under -q and output capture (build and run times)."""
    reporter = request.config.pluginmanager.getplugin('terminalreporter')
    capture = request.config.pluginmanager.getplugin('capturemanager')
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


def dev_pin(name):
    with open(os.path.join(ROOT, 'requirements', 'dev.txt')) as f:
        for line in f:
            m = re.match(r'%s==(\S+)' % re.escape(name), line.strip())
            if m:
                return m.group(1)
    raise AssertionError('requirements/dev.txt pins no %s' % name)


def checkout_files():
    """{relative path: sha256} of the collection's files in this checkout (as scripts/ee.sh lists them)."""
    found = {}
    for part in COLLECTION_PARTS:
        path = os.path.join(ROOT, part)
        if os.path.isfile(path):
            paths = [path]
        else:
            paths = [os.path.join(d, f) for d, dirs, files in os.walk(path) for f in files
                     if '__pycache__' not in os.path.relpath(d, ROOT).split(os.sep) and not f.endswith('.pyc')]
        for p in paths:
            with open(p, 'rb') as f:
                found[os.path.relpath(p, ROOT)] = hashlib.sha256(f.read()).hexdigest()
    return found


# The checkout's collection files just before and just after scripts/ee.sh ran (see
# test_the_collection_in_the_ee_is_this_checkout).
SNAPSHOTS = {}


@pytest.fixture(scope='module')
def ee_image(request):
    assert os.geteuid() == 0, 'the ee suite runs podman rootful: run it as root'
    assert shutil.which('podman'), 'podman is not installed (scripts/setup.sh)'
    start = time.monotonic()
    SNAPSHOTS['before'] = checkout_files()
    proc = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'ee.sh')], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=1800, check=False)
    for line in proc.stderr.splitlines():
        if line.startswith('ee: '):
            terminal(request, line)
    SNAPSHOTS['after'] = checkout_files()
    assert proc.returncode == 0, 'scripts/ee.sh failed:\n%s' % proc.stderr[-4000:]
    tag = proc.stdout.strip().splitlines()[-1]
    assert re.match(r'^localhost/badgateway-ee:[0-9a-f]{12}$', tag), tag
    assert subprocess.call(['podman', 'image', 'exists', tag]) == 0, tag
    terminal(request, 'ee: scripts/ee.sh took %.0f s' % (time.monotonic() - start))
    return tag


@pytest.fixture(scope='module')
def fleet(request):
    image = bench_fleet.ensure_image()
    workdir = tempfile.mkdtemp(prefix='bgee-')  # short: bench_fleet keeps ssh sockets under it
    hosts = bench_fleet.Fleet(image, HOSTS, workdir)
    try:
        start = time.monotonic()
        hosts.start()
        terminal(request, 'ee: %d bench hosts ready in %.0f s' % (HOSTS, time.monotonic() - start))
        yield hosts
    finally:
        hosts.close()
        shutil.rmtree(workdir, ignore_errors=True)


def write_private_data_dir(pdd, fleet):
    """An ansible-runner private data dir, as AWX writes one for a job."""
    for sub in ('inventory', 'env', 'project'):
        os.makedirs(os.path.join(pdd, sub))
    with open(os.path.join(pdd, 'inventory', 'hosts'), 'w') as f:
        f.write('[fleet]\n')
        for h in fleet.hosts:
            f.write('%s ansible_host=%s\n' % (h['name'], h['ip']))
        # the bench hosts' interpreter wrapper counts the Python processes Ansible starts there
        f.write('\n[fleet:vars]\nansible_user=root\nansible_python_interpreter=%s\n' % bench_fleet.INTERPRETER)
    with open(fleet.key) as src, open(os.path.join(pdd, 'env', 'ssh_key'), 'w') as dst:
        dst.write(src.read())
    os.chmod(os.path.join(pdd, 'env', 'ssh_key'), 0o600)
    envvars = {
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_PIPELINING': 'True',
        'ANSIBLE_TIMEOUT': '30',
        'ANSIBLE_SSH_ARGS': '-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null '
                            '-o StrictHostKeyChecking=no -o LogLevel=ERROR',
    }
    for name, data in (('envvars', envvars), ('extravars', {'report_dir': '/runner/report'}),
                       ('settings', {'job_timeout': 600, 'idle_timeout': 300})):
        with open(os.path.join(pdd, 'env', name), 'w') as f:
            yaml.safe_dump(data, f)
    with open(os.path.join(pdd, 'project', 'ee_diagnose.yml'), 'w') as f:
        f.write(PLAYBOOK)


@pytest.fixture(scope='module')
def run(request, ee_image, fleet):
    pdd = os.path.join(fleet.workdir, 'runner')
    write_private_data_dir(pdd, fleet)
    # The EE joins the network the bench hosts are on, and reaches them by address.
    out = subprocess.run(['podman', 'inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}',
                          fleet.hosts[0]['container']], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    network = out.stdout.split()[0]
    python_runs_before = fleet.python_runs()
    argv = [os.path.join(BIN, 'ansible-runner'), 'run', pdd, '--playbook', 'ee_diagnose.yml', '--ident', IDENT,
            '--process-isolation', '--process-isolation-executable', 'podman', '--container-image', ee_image,
            # as AWX and ansible-navigator do: runner makes the artifact dirs 0700 for the
            # user it runs as (root here), the image's default user is 1000
            '--container-option=--user=root',
            '--container-option=--network=%s' % network]
    start = time.monotonic()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=900, check=False)
    wall = time.monotonic() - start
    terminal(request, 'ee: ansible-runner run (process isolation, podman, %s) took %.0f s, rc %d'
             % (ee_image, wall, proc.returncode))
    artifacts = os.path.join(pdd, 'artifacts', IDENT)
    events = []
    for path in glob.glob(os.path.join(artifacts, 'job_events', '*.json')):
        with open(path) as f:
            events.append(json.load(f))
    events.sort(key=lambda e: e.get('counter', 0))
    return {'rc': proc.returncode, 'output': proc.stdout, 'pdd': pdd, 'artifacts': artifacts, 'events': events,
            'network': network, 'python_runs_before': python_runs_before,
            'python_runs_after': fleet.python_runs()}


def read(path):
    with open(path) as f:
        return f.read().strip()


def ok_results(run, task):
    """{host: event_data.res} of the runner_on_ok events of a task."""
    return dict((e['event_data']['host'], e['event_data'].get('res') or {}) for e in run['events']
                if e.get('event') == 'runner_on_ok' and e['event_data'].get('task') == task)


def test_runner_reports_a_successful_run(run):
    assert run['rc'] == 0, run['output'][-6000:]
    assert read(os.path.join(run['artifacts'], 'status')) == 'successful'
    assert read(os.path.join(run['artifacts'], 'rc')) == '0'
    stats = [e for e in run['events'] if e.get('event') == 'playbook_on_stats']
    assert len(stats) == 1, [e.get('event') for e in run['events']]
    data = stats[0]['event_data']
    assert not data.get('failures') and not data.get('dark'), data
    assert sorted(data.get('ok') or {}) == sorted(['localhost'] + ['fleet%02d' % (i + 1) for i in range(HOSTS)])


def test_the_play_ran_inside_the_ee_container(run, ee_image):
    with open(os.path.join(run['artifacts'], 'command')) as f:
        command = json.load(f)['command']
    # ansible-runner ran podman with our image, on the bench hosts' network: not a local run
    assert os.path.basename(command[0]) == 'podman' and command[1] == 'run', command
    assert ee_image in command and '--network=%s' % run['network'] in command, command
    assert 'ansible-playbook' in ' '.join(command[command.index(ee_image) + 1:]), command
    (record,) = ok_results(run, 'Controller side of the run').values()
    msg = record['msg']
    assert msg['python'] == '/usr/bin/python3', msg  # Debian's Python in the image, not the venv's
    assert msg['ansible'] == dev_pin('ansible-core'), msg
    with open(os.path.join(ROOT, 'galaxy.yml')) as f:
        version = yaml.safe_load(f)['version']
    # badgateway.nginx is found once, where ansible-builder installed it: nothing of the host is mounted
    assert msg['collections'] == {EE_COLLECTIONS: {'badgateway.nginx': {'version': version}}}, msg


def test_the_collection_in_the_ee_is_this_checkout(ee_image):
    code = ('import hashlib, json, os\n'
            'root = %r\n'
            'print(json.dumps({os.path.relpath(os.path.join(d, f), root): '
            'hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest() '
            'for d, _s, fs in os.walk(root) for f in fs}))\n' % EE_COLLECTION)
    out = subprocess.run(['podman', 'run', '--rm', '--user', 'root', '--network', 'none', '--entrypoint', 'python3',
                          ee_image, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    in_image = json.loads(out.stdout)
    assert {'MANIFEST.json', 'FILES.json'} <= set(in_image), sorted(in_image)[:20]
    for name in ('MANIFEST.json', 'FILES.json'):
        del in_image[name]
    before, after = SNAPSHOTS['before'], SNAPSHOTS['after']
    assert len(after) > 50, len(after)
    # Strict for every file that stayed the same while scripts/ee.sh ran (all of them in CI); a
    # file someone edited meanwhile (a shared working tree) may be in the image in either version.
    edited = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    differ = sorted(p for p in set(before) | set(after) | set(in_image)
                    if in_image.get(p) not in (before.get(p), after.get(p)))
    assert not differ, 'the EE holds another badgateway.nginx than this checkout: %s%s' % (
        differ[:20], ' (edited while scripts/ee.sh ran: %s)' % edited[:20] if edited else '')


def test_every_host_was_diagnosed_over_ssh_from_the_ee(run, fleet):
    names = [h['name'] for h in fleet.hosts]
    diagnosed = ok_results(run, 'Diagnose nginx on this host')
    assert sorted(diagnosed) == sorted(names), sorted(diagnosed)
    for name in names:
        # the evidence the node side sent back over SSH, as AWX receives it in the job events
        diagnosis = (diagnosed[name].get('ansible_facts') or {}).get('nginx_diagnosis') or {}
        assert diagnosis.get('nginx') and diagnosis.get('checks'), (name, sorted(diagnosis))
    before, after = run['python_runs_before'], run['python_runs_after']
    for name in names:
        assert after[name] > before[name], 'no Python process was started on %s: %s -> %s' % (name, before, after)


def expected_findings(fleet):
    """{host: {(id, severity, target)}}: what bench/fleet/start-host.sh builds into every host, whose
    peer is the next host of the fleet (start-host.sh and Fleet.start)."""
    expected = {}
    for i, h in enumerate(fleet.hosts):
        peer = fleet.hosts[(i + 1) % len(fleet.hosts)]['ip']
        expected[h['name']] = {
            ('upstream_down', 'critical', '127.0.0.1:8089'),     # app_dead: no listener
            ('upstream_down', 'critical', '127.0.0.1:8083'),     # /reports/: no listener
            ('upstream_timeout', 'warning', '127.0.0.1:8082'),   # app_slow answers after 3 s, read timeout 1 s
            ('target_mismatch', 'critical', 'unix:/run/php/php-gone.sock'),  # bound, never listened on
            ('target_mismatch', 'critical', '%s:8084' % peer),   # app_peer's backup: nothing on the peer
            ('firewall_block', 'critical', '%s:8086' % peer),    # the peer's nftables drops 8086
        }
    return expected


def test_report_names_the_findings_the_bench_hosts_produce(run, fleet):
    report_dir = os.path.join(run['pdd'], 'report')  # /runner/report inside the EE
    with open(os.path.join(report_dir, 'report.json')) as f:
        report = json.load(f)
    assert os.path.getsize(os.path.join(report_dir, 'report.html')) > 1000
    assert report['schema'] == 'badgateway.nginx/report/v1'
    expected = expected_findings(fleet)
    assert sorted(report['hosts']) == sorted(expected)
    assert report['totals'] == {'hosts': HOSTS, 'hosts_with_findings': HOSTS,
                                'findings': sum(len(v) for v in expected.values())}, report['totals']
    by_ip = dict((h['ip'], h['name']) for h in fleet.hosts)
    for name, want in expected.items():
        host = report['hosts'][name]
        assert host['nginx'] is True, host
        got = set((f['id'], f['severity'], (f.get('target') or {}).get('text')) for f in host['findings'])
        assert got == want, '%s: missing %s, unexpected %s' % (name, sorted(want - got), sorted(got - want))
        for finding in host['findings']:
            assert finding['pass']['file'] == SITES, finding
            if finding['id'] == 'firewall_block':
                # proven on the peer: its rule, read there by the same run, is in the evidence
                assert finding['confirmed'] is True, finding
                peer = by_ip[finding['target']['host']]
                assert peer != name and ('on %s' % peer) in finding['summary'], finding['summary']
                assert 'tcp dport 8086 drop' in finding['summary'], finding['summary']
