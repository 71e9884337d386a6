# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract between the node and the correlator: nginx_probe's real output is the correlator's input.

A real nginx runs as a plain process with three routes: one to a port nothing listens on (a real request
makes nginx log the refusal), one to a listening TCP socket and one to a listening unix socket. nginx_probe
runs through Ansible with discover=true, as nginx_diagnose runs it; the controller builds the facts from
its nginx_raw and the correlator reads its checks. The refused route must be upstream_down, the others
nothing, and every key the correlator reads of the checks must be in the real output with the type the
correlator expects (the unit cases in tests/unit/plugins/plugin_utils/correlate_cases are written in
that shape).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import pytest

from conftest import ansible_env, free_port, plain_nginx_main, wait_port

from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import build_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import diagnose

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0, reason='needs nginx and root')

OPTIONAL = type(None)
NUMBER = (int, float)


class ListOf:
    """A list whose every element matches spec; nonempty: at least one element."""

    def __init__(self, spec, nonempty=False):
        self.spec, self.nonempty = spec, nonempty


class DictOf:
    """A dict whose every value matches spec (keys: paths, names)."""

    def __init__(self, spec, nonempty=False):
        self.spec, self.nonempty = spec, nonempty


GROUP = {'kind': str, 'catalog': (str, OPTIONAL), 'count': int, 'first_seen': (str, OPTIONAL),
         'last_seen': (str, OPTIONAL), 'first_epoch': NUMBER + (OPTIONAL,), 'last_epoch': NUMBER + (OPTIONAL,),
         'upstream': (str, OPTIONAL), 'server': (str, OPTIONAL), 'name': (str, OPTIONAL), 'samples': ListOf(str)}
FPM_GROUP = dict(GROUP, pool=(str, OPTIONAL))
# every key the correlator (plugins/plugin_utils/_correlate.py and _causes/) reads of one host's checks,
# with the type it expects; the lists the scenario below must fill are nonempty
CHECKS_CONTRACT = {
    'addresses': ListOf(str, nonempty=True),
    'listeners': {
        'tcp': ListOf({'address': str, 'port': int, 'process': (str, OPTIONAL)}, nonempty=True),
        'unix': ListOf({'path': str, 'process': (str, OPTIONAL)}, nonempty=True),
    },
    'probes': ListOf((
        {'kind': str, 'host': str, 'port': int, 'result': str, 'tls': (bool, OPTIONAL)},
        {'kind': str, 'path': str, 'result': str, 'as_user': ({'result': str}, OPTIONAL)},
    ), nonempty=True),
    'sockets': DictOf({'exists': bool, 'can_connect': bool, 'reason': (str, OPTIONAL), 'owner': (str, OPTIONAL),
                       'group': (str, OPTIONAL), 'mode': (str, OPTIONAL)}, nonempty=True),
    'error_logs': DictOf({'groups': ListOf(GROUP)}, nonempty=True),
    'firewall': {'errors': ListOf(str), 'active': ListOf(str), 'nft': (dict, OPTIONAL), 'iptables': dict,
                 'iptables_nft_tables': ListOf(str)},
    'php_fpm': {
        'configs': ListOf({'global': {'error_log': ({'value': (str, OPTIONAL)}, OPTIONAL)},
                           'pools': ListOf({'name': str, 'file': (str, OPTIONAL), 'listen_path': (str, OPTIONAL),
                                            'listen_port': (int, OPTIONAL), 'max_children': (int, str, OPTIONAL)})}),
        'processes': {'master': ListOf({'unit': (str, OPTIONAL)}), 'pools': DictOf(dict)},
        'logs': DictOf({'groups': ListOf(FPM_GROUP)}),
    },
    'resources': {
        'memory': {'total_kb': (int, OPTIONAL), 'available_kb': (int, OPTIONAL)},
        'disks': ListOf({'paths': ListOf(str, nonempty=True), 'used_percent': NUMBER}, nonempty=True),
        'nginx_files': ListOf({'pid': int, 'open_files': (int, OPTIONAL), 'limit_soft': (int, OPTIONAL)}, nonempty=True),
        'oom': ListOf(dict),
    },
    # null pieces on a host without SELinux / AppArmor (this machine's kernel has neither)
    'mac': {
        'selinux': ({'mode': (str, OPTIONAL), 'booleans': DictOf((bool, OPTIONAL)), 'denials': ListOf(GROUP)}, OPTIONAL),
        'apparmor': ({'enabled': bool, 'profiles': DictOf(str), 'denials': ListOf(GROUP)}, OPTIONAL),
        'logs': dict,
    },
    'http': ListOf({'url': str, 'status': (int, OPTIONAL), 'server': (str, OPTIONAL), 'from_nginx': (bool, OPTIONAL)},
                   nonempty=True),
}


def mismatches(value, spec, where='checks'):
    """Where value does not have the shape of spec: a list of 'path: problem'."""
    if isinstance(spec, tuple) and not all(isinstance(s, type) for s in spec):
        # alternatives, some of them shapes: the first that fits
        tried = [mismatches(value, s, where) for s in spec]
        return [] if any(not t for t in tried) else min(tried, key=len)
    if isinstance(spec, (type, tuple)):
        if isinstance(value, bool) and bool not in (spec if isinstance(spec, tuple) else (spec,)):
            return ['%s: %r is a bool' % (where, value)]
        return [] if isinstance(value, spec) else ['%s: %r is not %s' % (where, value, spec)]
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return ['%s: %r is not a dict' % (where, value)]
        found = []
        for key, sub in spec.items():
            if key not in value:
                found.append('%s.%s: missing' % (where, key))
            else:
                found.extend(mismatches(value[key], sub, '%s.%s' % (where, key)))
        return found
    kind = list if isinstance(spec, ListOf) else dict
    if not isinstance(value, kind):
        return ['%s: %r is not a %s' % (where, value, kind.__name__)]
    if spec.nonempty and not value:
        return ['%s: empty' % where]
    items = enumerate(value) if kind is list else sorted(value.items())
    found = []
    for key, item in items:
        found.extend(mismatches(item, spec.spec, '%s[%r]' % (where, key)))
    return found


@pytest.fixture
def scenario(tmp_path):
    listen, dead, alive = free_port(), free_port(), free_port()
    sock_dir = tempfile.mkdtemp(prefix='bgw-contract-')
    os.chmod(sock_dir, 0o755)
    sock_path = os.path.join(sock_dir, 'app.sock')
    conf = tmp_path / 'nginx.conf'
    conf.write_text(plain_nginx_main(str(tmp_path), (
        '    server {\n'
        '        listen 127.0.0.1:%(listen)d;\n'
        '        location /dead/ {\n            proxy_pass http://127.0.0.1:%(dead)d;\n        }\n'
        '        location /alive/ {\n            proxy_pass http://127.0.0.1:%(alive)d;\n        }\n'
        '        location /sock/ {\n            proxy_pass http://unix:%(sock)s:/;\n        }\n'
        '    }\n') % {'listen': listen, 'dead': dead, 'alive': alive, 'sock': sock_path}))
    backend = socket.socket()
    backend.bind(('127.0.0.1', alive))
    backend.listen(16)
    unix_backend = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix_backend.bind(sock_path)
    os.chmod(sock_path, 0o666)
    unix_backend.listen(16)
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(listen)
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen('http://127.0.0.1:%d/dead/x?key=hunter2' % listen, timeout=5)
        assert answer.value.code == 502
        yield {'conf': str(conf), 'prefix': str(tmp_path) + '/', 'listen': listen, 'dead': dead, 'alive': alive,
               'sock': sock_path, 'dir': tmp_path}
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)
        backend.close()
        unix_backend.close()
        shutil.rmtree(sock_dir, ignore_errors=True)


def run_probe(tmp_path, args):
    """nginx_probe through Ansible (-c local), as nginx_diagnose runs it; its result as JSON."""
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1', ANSIBLE_REMOTE_TMP=str(tmp_path / 'ansible-tmp'),
                      ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-local'))
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_probe', '-a', json.dumps(args)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False, universal_newlines=True)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    assert m and m.group(1) == 'SUCCESS', 'rc=%s: %s %s' % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:])
    return json.JSONDecoder().raw_decode(proc.stdout[m.end():])[0]


def test_the_real_probe_output_is_what_the_correlator_reads(scenario, tmp_path):
    result = run_probe(tmp_path, {
        'discover': True, 'nginx_bin': NGINX, 'config': scenario['conf'], 'prefix': scenario['prefix'],
        'journal_dir': str(tmp_path / 'journal'),
        'http_checks': [{'url': 'http://127.0.0.1:%d/dead/x' % scenario['listen']}],
    })
    checks = result['checks']
    assert mismatches(checks, CHECKS_CONTRACT) == []
    # what discover found in the configuration is what was probed
    assert sorted((p['kind'], p.get('host'), p.get('port'), p.get('path'), p['result']) for p in checks['probes']) == sorted([
        ('tcp', '127.0.0.1', scenario['dead'], None, 'refused'), ('tcp', '127.0.0.1', scenario['alive'], None, 'ok'),
        ('unix', None, None, scenario['sock'], 'ok')])
    log = os.path.join(str(scenario['dir']), 'error.log')
    assert [(g['kind'], g['count']) for g in checks['error_logs'][log]['groups']] == [('connect_refused', 1)]
    assert checks['sockets'][scenario['sock']]['can_connect'] is True
    assert (checks['http'][0]['status'], checks['http'][0]['from_nginx']) == (502, True)

    facts = build_facts(result['nginx_raw'])
    findings = diagnose('localhost', facts, checks)
    targeted = [(f['id'], f['target']['text']) for f in findings if f['target']]
    assert targeted == [('upstream_down', '127.0.0.1:%d' % scenario['dead'])], findings
    # a finding without a target is about the host (this machine's own memory or disks), never the routes
    assert all(f['id'] == 'resource_limits' for f in findings if not f['target']), findings
    f = findings[[x['target'] is not None for x in findings].index(True)]
    assert (f['location']['match'], f['pass']['file'], f['pass']['line']) == ('/dead/', scenario['conf'], 14)
    assert f['evidence']['probe']['result'] == 'refused' and f['evidence']['listening'] == []
    assert [(g['kind'], g['count'], g['log']) for g in f['evidence']['log']] == [('connect_refused', 1, log)]
    assert 'hunter2' not in json.dumps(checks)  # query strings are redacted by default
