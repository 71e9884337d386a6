# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The diagnosis as Prometheus metrics, for real: Debian's node_exporter reads the textfile nginx_report writes.

``/usr/bin/prometheus-node-exporter`` (scripts/setup.sh installs the Debian package and leaves its service
disabled) runs here as a plain child process, as the unprivileged user ``prometheus`` (so that the file's mode
matters), on a free 127.0.0.1 port, with only its textfile collector, pointed at a temporary directory. The
diagnose playbook runs with ``-c local`` against the controller's nginx, started as a plain process with two
routes to ports nothing listens on (a real request to each makes nginx log the refused connection), plus three
inventory hosts with hostile names that are unreachable (not diagnosed). Then ``/metrics`` is scraped over HTTP
and parsed with prometheus_client's parser: the gauges must be report.json's findings per host, cause and
severity, node_exporter must have read the file without error. A second run, after one of the backends came up
and without the hostile hosts, must change the scrape: the file is replaced, not appended to.

promtool (Debian's prometheus package) checks and unit-tests the example alert rules of docs/prometheus.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest

from conftest import ansible_env, free_port, plain_nginx_main, wait_port, stop_process

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
NODE_EXPORTER = '/usr/bin/prometheus-node-exporter'
PROMTOOL = '/usr/bin/promtool'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
HOSTILE = ['we"b1\\x', 'new\nline} 1', 'ünï,cødé="主机"']

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0, reason='needs nginx and root')


def _parse(text):
    from prometheus_client.parser import text_string_to_metric_families  # requirements/dev.txt (# Prometheus)

    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


class NodeExporter(object):
    """node_exporter as a child process of the test, as user prometheus, textfile collector only."""

    def __init__(self, textfile_dir, log_path):
        if not os.path.exists(NODE_EXPORTER):
            pytest.fail('%s is not installed (scripts/setup.sh installs prometheus-node-exporter)' % NODE_EXPORTER)
        user = pwd.getpwnam('prometheus')  # the package's system user
        self.port = free_port()
        self.log_path = log_path

        def drop():
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)

        self.log = open(log_path, 'wb')
        self.proc = subprocess.Popen(
            [NODE_EXPORTER, '--web.listen-address=127.0.0.1:%d' % self.port, '--collector.disable-defaults',
             '--collector.textfile', '--collector.textfile.directory=%s' % textfile_dir,
             '--web.disable-exporter-metrics'],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=drop)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.scrape_text()
                break
            except (OSError, urllib.error.URLError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError('node_exporter did not start: %s' % self.read_log())
                time.sleep(0.05)
        with open('/proc/%d/status' % self.proc.pid) as f:
            uid_line = [line for line in f if line.startswith('Uid:')][0]
        assert int(uid_line.split()[1]) == user.pw_uid  # really not root: it reads the file as others would

    def scrape_text(self):
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % self.port, timeout=5) as r:
            assert r.status == 200
            return r.read().decode('utf-8')

    def scrape(self):
        return _parse(self.scrape_text())

    def read_log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def stop(self):
        stop_process(self.proc)
        self.log.close()


@pytest.fixture
def textfile_dir():
    """A directory node_exporter's user can read (pytest's tmp_path is 0700 root)."""
    d = tempfile.mkdtemp(prefix='bgw-textfile-')
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def node_exporter(textfile_dir, tmp_path):
    ne = NodeExporter(textfile_dir, str(tmp_path / 'node_exporter.log'))
    yield ne
    ne.stop()


@pytest.fixture
def plain_nginx(tmp_path):
    """nginx as a plain process: /a/ and /b/ pass to ports nothing listens on; one request to each."""
    listen, dead_a, dead_b = free_port(), free_port(), free_port()
    conf = tmp_path / 'nginx.conf'
    conf.write_text(plain_nginx_main(str(tmp_path), (
        '    server {\n        listen 127.0.0.1:%(listen)d;\n'
        '        location /a/ {\n            proxy_pass http://127.0.0.1:%(a)d;\n        }\n'
        '        location /b/ {\n            proxy_pass http://127.0.0.1:%(b)d;\n        }\n'
        '    }\n') % {'listen': listen, 'a': dead_a, 'b': dead_b}))
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(listen)
        for path in ('/a/x', '/b/x'):
            with pytest.raises(urllib.error.HTTPError) as e:
                urllib.request.urlopen('http://127.0.0.1:%d%s' % (listen, path), timeout=5)
            assert e.value.code == 502
        yield {'conf': str(conf), 'prefix': str(tmp_path) + '/', 'dead_b': dead_b}
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)


def write_inventory(path, hostile):
    """localhost with -c local, and unreachable hosts (ssh to a closed port) with the hostile names."""
    hosts = {'localhost': {'ansible_connection': 'local'}}
    for name in hostile:
        hosts[name] = {'ansible_host': '127.0.0.1', 'ansible_port': free_port(), 'ansible_connection': 'ssh'}
    path.write_text(json.dumps({'all': {'hosts': hosts}}))  # JSON is YAML
    return str(path)


def run_diagnose(nginx, inventory, report_dir, prometheus_dir):
    env = ansible_env(ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(BIN, 'ansible-playbook'), 'badgateway.nginx.diagnose', '-i', inventory,
            '-e', 'report_dir=%s' % report_dir, '-e', 'nginx_diagnose_prometheus_dir=%s' % prometheus_dir,
            '-e', 'nginx_diagnose_config=%s' % nginx['conf'], '-e', 'nginx_diagnose_prefix=%s' % nginx['prefix'],
            '-e', 'nginx_diagnose_php_fpm=false']
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True,
                          timeout=600, check=False)
    with open(os.path.join(report_dir, 'report.json')) as f:
        return proc, json.load(f)


def expected_findings(report):
    """{labels: count} of the findings gauge, from report.json."""
    out = {}
    for name, h in report['hosts'].items():
        for f in h['findings']:
            key = (('cause', f['id']), ('host', name), ('severity', f['severity']))
            out[key] = out.get(key, 0) + 1
    return out


def epoch(generated):
    return datetime.strptime(generated, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=timezone.utc).timestamp()


def test_node_exporter_scrapes_the_diagnosis(plain_nginx, node_exporter, textfile_dir, tmp_path):
    prom = os.path.join(textfile_dir, 'badgateway_nginx.prom')
    before = node_exporter.scrape()
    assert 'badgateway_nginx_findings' not in before and before['node_textfile_scrape_error'] == {(): 0}

    # run 1: two refused backends on localhost, three hostile names not diagnosed
    t0 = time.time()
    proc, report = run_diagnose(plain_nginx, write_inventory(tmp_path / 'inv1.yml', HOSTILE),
                                str(tmp_path / 'r1'), textfile_dir)
    assert proc.returncode == 4, proc.stdout  # the hostile hosts are unreachable
    assert re.search(r'^localhost +: ok=\d+ +changed=0 +unreachable=0 +failed=0 ', proc.stdout, re.M), proc.stdout
    assert 'report: %s, %s, %s' % (tmp_path / 'r1' / 'report.json', tmp_path / 'r1' / 'report.html', prom) in proc.stdout
    assert [(f['id'], f['severity']) for f in report['hosts']['localhost']['findings']] == [
        ('upstream_down', 'critical')] * 2
    got = node_exporter.scrape()
    assert got['node_textfile_scrape_error'] == {(): 0}, node_exporter.read_log()  # read as user prometheus
    assert os.stat(prom).st_mode & 0o777 == 0o644
    assert os.listdir(textfile_dir) == ['badgateway_nginx.prom']  # no temporary file left
    mtime1 = got['node_textfile_mtime_seconds'][(('file', prom),)]
    assert abs(mtime1 - os.stat(prom).st_mtime) < 1.0
    assert got['badgateway_nginx_findings'] == expected_findings(report)
    assert got['badgateway_nginx_findings'] == {(('cause', 'upstream_down'), ('host', 'localhost'),
                                                 ('severity', 'critical')): 2}
    diagnosed = dict((n, 0) for n in HOSTILE)
    diagnosed['localhost'] = 1
    assert got['badgateway_nginx_host_diagnosed'] == dict(((('host', n),), v) for n, v in diagnosed.items())
    assert got['badgateway_nginx_host_findings'] == dict(((('host', n),), 2 if n == 'localhost' else 0)
                                                         for n in diagnosed)
    assert got['badgateway_nginx_hosts'] == {(): 4}
    assert got['badgateway_nginx_hosts_not_diagnosed'] == {(): 3}
    assert got['badgateway_nginx_hosts_with_findings'] == {
        (('severity', 'critical'),): 1, (('severity', 'warning'),): 0, (('severity', 'info'),): 0}
    stamp1 = got['badgateway_nginx_last_run_timestamp_seconds'][(('report', 'diagnosis'),)]
    assert stamp1 == epoch(report['generated']) and t0 - 1 <= stamp1 <= time.time()

    # run 2: backend b listens now (its log line is history), no hostile hosts: another file, another scrape
    time.sleep(1.1)  # another second for the report's generated field
    backend = socket.socket()
    backend.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    backend.bind(('127.0.0.1', plain_nginx['dead_b']))
    backend.listen(16)
    try:
        proc, report2 = run_diagnose(plain_nginx, write_inventory(tmp_path / 'inv2.yml', []),
                                     str(tmp_path / 'r2'), textfile_dir)
    finally:
        backend.close()
    assert proc.returncode == 0, proc.stdout
    assert [f['id'] for f in report2['hosts']['localhost']['findings']] == ['upstream_down']
    got2 = node_exporter.scrape()
    assert got2['node_textfile_scrape_error'] == {(): 0}, node_exporter.read_log()
    assert got2['badgateway_nginx_findings'] == expected_findings(report2)
    assert got2['badgateway_nginx_findings'] == {(('cause', 'upstream_down'), ('host', 'localhost'),
                                                  ('severity', 'critical')): 1}
    assert got2['badgateway_nginx_host_diagnosed'] == {(('host', 'localhost'),): 1}  # the hostile hosts are gone
    assert got2['badgateway_nginx_hosts'] == {(): 1}
    assert got2['badgateway_nginx_last_run_timestamp_seconds'][(('report', 'diagnosis'),)] == epoch(report2['generated'])
    assert got2['badgateway_nginx_last_run_timestamp_seconds'][(('report', 'diagnosis'),)] > stamp1
    assert got2['node_textfile_mtime_seconds'][(('file', prom),)] > mtime1


def run_audit(nginx, inventory, report_dir, prometheus_dir, more=()):
    argv = [os.path.join(BIN, 'ansible-playbook'), 'badgateway.nginx.audit', '-i', inventory,
            '-e', 'report_dir=%s' % report_dir, '-e', 'prometheus_dir=%s' % prometheus_dir,
            '-e', 'nginx_diagnose_config=%s' % nginx['conf'], '-e', 'nginx_diagnose_prefix=%s' % nginx['prefix'],
            '-e', 'nginx_diagnose_php_fpm=false'] + list(more)
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=ansible_env(ANSIBLE_NOCOLOR='1'),
                          universal_newlines=True, timeout=600, check=False)
    with open(os.path.join(report_dir, 'report.json')) as f:
        return proc, json.load(f)


def test_a_scheduled_audit_and_diagnosis_share_the_directory(plain_nginx, node_exporter, textfile_dir, tmp_path):
    """The audit's latent risks in their own file and series, beside the diagnosis' failures, in one scrape."""
    inventory = write_inventory(tmp_path / 'inv.yml', [])
    proc, diagnosis = run_diagnose(plain_nginx, inventory, str(tmp_path / 'd'), textfile_dir)
    assert proc.returncode == 0, proc.stdout
    proc, audit = run_audit(plain_nginx, inventory, str(tmp_path / 'a'), textfile_dir)
    assert proc.returncode == 0, proc.stdout
    assert re.search(r'^localhost +: ok=\d+ +changed=0 +unreachable=0 +failed=0 ', proc.stdout, re.M), proc.stdout
    # the bare proxy_pass routes: no forwarding headers, HTTP/1.0; the refused backends are not the audit's
    assert [(f['id'], f['severity']) for f in audit['hosts']['localhost']['findings']] == [
        ('proxy_headers_missing', 'info')] * 2
    assert sorted(os.listdir(textfile_dir)) == ['badgateway_nginx.prom', 'badgateway_nginx_audit.prom']
    got = node_exporter.scrape()
    assert got['node_textfile_scrape_error'] == {(): 0}, node_exporter.read_log()
    assert got['badgateway_nginx_findings'] == expected_findings(diagnosis) == {
        (('cause', 'upstream_down'), ('host', 'localhost'), ('severity', 'critical')): 2}
    assert got['badgateway_nginx_audit_findings'] == expected_findings(audit) == {
        (('cause', 'proxy_headers_missing'), ('host', 'localhost'), ('severity', 'info')): 2}
    assert got['badgateway_nginx_audit_last_run_timestamp_seconds'] == {(('report', 'audit'),): epoch(audit['generated'])}
    assert got['badgateway_nginx_last_run_timestamp_seconds'] == {
        (('report', 'diagnosis'),): epoch(diagnosis['generated'])}

    # in check mode the same audit; audit_fail_on fails the host that has a risk of those severities
    with open(plain_nginx['conf'], 'rb') as f:
        conf = f.read()
    proc, again = run_audit(plain_nginx, inventory, str(tmp_path / 'c'), textfile_dir,
                            ['--check', '-e', '{"audit_fail_on": ["info"]}'])
    assert proc.returncode == 2 and 'localhost has latent risks of severity info' in proc.stdout, proc.stdout
    assert [f['summary'] for f in again['hosts']['localhost']['findings']] == \
        [f['summary'] for f in audit['hosts']['localhost']['findings']]
    with open(plain_nginx['conf'], 'rb') as f:
        assert f.read() == conf


def run_report_adhoc(tmp_path, args):
    """ansible localhost -m badgateway.nginx.nginx_report with a planted diagnosis of a host without nginx."""
    path = tmp_path / 'vars.json'
    path.write_text(json.dumps({'nginx_diagnosis': {'nginx': False, 'checks': {}}}))
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible'), '-i', 'localhost,', '-c', 'local', 'localhost',
                           '-m', 'badgateway.nginx.nginx_report', '-a', json.dumps(dict(args, hosts=['localhost'])),
                           '-e', '@%s' % path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, env=env, timeout=120, check=False)
    head, _sep, body = proc.stdout.partition(' => ')
    return head, json.loads(body), proc.stderr


@pytest.mark.parametrize('where', ['missing', 'file', 'nul'])
def test_bad_prometheus_dir_is_a_clear_failure(tmp_path, where):
    (tmp_path / 'file').write_text('')
    path = {'missing': str(tmp_path / 'nope'), 'file': str(tmp_path / 'file'), 'nul': str(tmp_path) + '/a\x00b'}[where]
    head, res, stderr = run_report_adhoc(tmp_path, {'prometheus_dir': path})
    assert head.endswith('FAILED!'), (head, res)
    if where == 'nul':
        assert res['msg'] == 'prometheus_dir must not contain a NUL byte', res
    else:
        assert res['msg'] == ("prometheus_dir %s is not an existing directory: create it (it is the directory "
                              "node_exporter's --collector.textfile.directory reads)" % path), res
    assert 'Traceback' not in stderr and not (tmp_path / 'nope').exists()
    assert sorted(os.listdir(str(tmp_path))) == ['file', 'vars.json']  # nothing written


def test_remediation_report_is_labelled_so(tmp_path, textfile_dir):
    head, res, _stderr = run_report_adhoc(tmp_path, {'prometheus_dir': textfile_dir, 'remediation': True})
    prom = os.path.join(textfile_dir, 'badgateway_nginx.prom')
    assert head.endswith('SUCCESS'), (head, res)
    assert res['files'] == [prom] and res['changed'] is False
    with open(prom) as f:
        got = _parse(f.read())
    assert list(got['badgateway_nginx_last_run_timestamp_seconds']) == [(('report', 'remediation'),)]
    assert got['badgateway_nginx_host_diagnosed'] == {(('host', 'localhost'),): 1}


def test_promtool_checks_and_tests_the_alert_rules():
    if not os.path.exists(PROMTOOL):
        pytest.fail('%s is not installed (scripts/setup.sh installs Debian\'s prometheus for it)' % PROMTOOL)
    here = os.path.join(ROOT, 'docs', 'prometheus')
    for argv in (['check', 'rules', 'badgateway-nginx.rules.yml'], ['test', 'rules', 'badgateway-nginx.rules.test.yml']):
        proc = subprocess.run([PROMTOOL] + argv, cwd=here, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=120, check=False)
        assert proc.returncode == 0 and 'SUCCESS' in proc.stdout, proc.stdout
