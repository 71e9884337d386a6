# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnose and remediate playbooks under strategy free and in serial batches, on three hosts.

Each inventory host is a real nginx of its own on the controller (-c local, its own prefix, ports and
journal), broken the way test_remediate_local's is: /app/ passes to a port nothing listens on
(target_mismatch), /slow/ gives a 2 s application a 1 s read timeout (upstream_timeout). Under
strategy free a run_once task runs as soon as the first host reaches it; the playbooks correlate in a
play of their own, so the report must still hold every host's findings, and every host must be fixed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import ansible_env, plain_nginx_main, wait_port
from test_remediate_local import NGINX, free_block, serve, status

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0, reason='needs nginx and root')

HOSTS = ('n1', 'n2', 'n3')
SITE = '''    server {
        listen 127.0.0.1:%(listen)d;
        location /app/ {
            proxy_pass http://127.0.0.1:%(wrong)d;
        }
        location /slow/ {
            proxy_read_timeout 1s;
            proxy_pass http://127.0.0.1:%(slow)d;
        }
    }
'''


@pytest.fixture
def fleet(tmp_path):
    hosts, procs, servers = {}, [], []
    try:
        for name in HOSTS:
            d = tmp_path / name
            d.mkdir()
            base = free_block(4)
            h = {'dir': d, 'listen': base, 'app': base + 1, 'wrong': base + 2, 'slow': base + 3,
                 'conf': str(d / 'nginx.conf'), 'prefix': str(d) + '/'}
            (d / 'nginx.conf').write_text(plain_nginx_main(str(d), SITE % h))
            servers += [serve(h['app'], 0), serve(h['slow'], 2)]
            procs.append(subprocess.Popen([NGINX, '-p', h['prefix'], '-c', h['conf'], '-g', 'daemon off; master_process on;'],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            h['master'] = procs[-1].pid
            wait_port(h['listen'])
            h['url'] = 'http://127.0.0.1:%d' % h['listen']
            assert status(h['url'] + '/app/x') == 502 and status(h['url'] + '/slow/x') == 504
            hosts[name] = h
        inventory = {'all': {'hosts': dict(
            (name, {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                    'nginx_diagnose_config': h['conf'], 'nginx_diagnose_prefix': h['prefix'],
                    'nginx_transaction_journal_dir': str(h['dir'] / 'journal')})
            for name, h in hosts.items())}}
        (tmp_path / 'inventory.json').write_text(json.dumps(inventory))
        yield hosts
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(10)
        for s in servers:
            s.shutdown()


def run(tmp_path, playbook, strategy='linear', extra=None):
    env = ansible_env(ANSIBLE_NOCOLOR='1', ANSIBLE_STRATEGY=strategy, ANSIBLE_FORKS='5')
    report_dir = tmp_path / ('report-%s-%s' % (playbook, strategy))
    args = {'report_dir': str(report_dir), 'nginx_diagnose_php_fpm': False, 'nginx_diagnose_firewall': False,
            'remediate_settle': 1}
    args.update(extra or {})
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                           'badgateway.nginx.%s' % playbook, '-i', str(tmp_path / 'inventory.json'),
                           '-e', json.dumps(args)],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(str(report_dir / 'report.json')) as f:
        return proc.stdout, json.load(f)


# what ansible-core prints when a run_once task meets strategy free: the task then runs for every host,
# each time with whatever evidence the hosts that got there first left (the playbooks must never do this)
RUN_ONCE_UNDER_FREE = 'Using run_once with the free strategy is not currently supported'


def finding_ids(report, name):
    return sorted(f['id'] for f in report['hosts'][name]['findings'])


@pytest.mark.parametrize('strategy,extra', [('free', None), ('linear', {'diagnose_serial': 1})],
                         ids=['strategy free', 'serial 1'])
def test_diagnose_correlates_every_host(fleet, tmp_path, strategy, extra):
    out, report = run(tmp_path, 'diagnose', strategy, extra)
    assert RUN_ONCE_UNDER_FREE not in out
    assert sorted(report['hosts']) == list(HOSTS)
    for name in HOSTS:
        assert finding_ids(report, name) == ['target_mismatch', 'upstream_timeout'], (name, report['hosts'][name])
    if extra:  # three batches of one host, then the correlation of all three
        assert out.count('TASK [badgateway.nginx.nginx_diagnose : Diagnose nginx on this host]') == 3


@pytest.mark.parametrize('strategy,extra', [('free', None), ('linear', {'remediate_serial': 1})],
                         ids=['strategy free', 'serial 1'])
def test_remediate_fixes_every_host(fleet, tmp_path, strategy, extra):
    out, report = run(tmp_path, 'remediate', strategy, extra)
    assert RUN_ONCE_UNDER_FREE not in out
    for name, h in fleet.items():
        assert status(h['url'] + '/app/x') == 200 and status(h['url'] + '/slow/x') == 200, name
        os.kill(h['master'], 0)  # reloaded, not restarted
        rem = report['hosts'][name]['remediation']
        assert rem['rollback'] is None and rem['check_mode'] is False, (name, rem)
        assert sorted(rem['fixed']) == ['target_mismatch 127.0.0.1:%d' % h['wrong'],
                                        'upstream_timeout 127.0.0.1:%d' % h['slow']], (name, rem)
        assert report['hosts'][name]['findings'] == [], name
    if extra:  # the batches of one fixed every host; the second run (idempotence) is checked under free
        return
    out, report = run(tmp_path, 'remediate', strategy, extra)
    assert 'changed=0' in out and out.count('changed=0') == len(HOSTS), out[-3000:]
    assert all(report['hosts'][name]['remediation']['changes'] == [] for name in HOSTS)


def task_results(out, title):
    """The result lines ('ok: [n1]', 'skipping: [n1]', ...) under the TASK banner whose title ends with title."""
    lines, inside = [], False
    for line in out.splitlines():
        if line.startswith('TASK ['):
            inside = line.split(']')[0].endswith(title)
        elif inside and line.split(':')[0] in ('ok', 'skipping', 'changed', 'failed', 'fatal'):
            lines.append(line.split(' =>')[0].strip())
    return lines


KEEP_FINDINGS = "nginx_diagnose : Keep this host's findings as a fact"


@pytest.mark.parametrize('keep', [None, True], ids=['default', 'keep_findings=true'])
def test_diagnose_sets_the_findings_fact_only_when_asked(fleet, tmp_path, keep):
    """The diagnose playbook's last play: one skip for all hosts instead of a set_fact on each (nothing after
    the playbook reads nginx_diagnose_findings), a set_fact on every host with -e keep_findings=true."""
    out, report = run(tmp_path, 'diagnose', extra=None if keep is None else {'keep_findings': keep})
    results = task_results(out, KEEP_FINDINGS)
    if keep:
        assert sorted(results) == ['ok: [%s]' % name for name in HOSTS], results
    else:
        assert len(results) == 1 and results[0].startswith('skipping: ['), results
    for name in HOSTS:  # the report is the same either way
        assert finding_ids(report, name) == ['target_mismatch', 'upstream_timeout'], name
