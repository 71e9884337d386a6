# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fact caching of ``ansible_facts.nginx`` with a real cache: ``ansible.builtin.jsonfile`` and
``community.general.redis`` (a real ``redis-server`` started here as a plain child process on a free
127.0.0.1 port, in a temporary directory, never the system service).

Run 1: the collection's facts playbook against the controller's real nginx binary (``nginx -T`` of a
configuration written here), with the cache plugin configured; then the cache itself is read (the
redis key, the jsonfile file). Run 2: a later play, ``gather_facts: false``, whose inventory makes the
same host unreachable (ssh to a closed port), reads ``hostvars[host]['ansible_facts']['nginx']`` only
through the public filter ``badgateway.nginx.nginx_summary`` and must succeed without an unreachable
host. The same play with the empty cache must fail, saying that the facts are missing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ansible_env, free_port, plain_nginx_main, write, stop_process

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
REDIS_SERVER = shutil.which('redis-server') or '/usr/bin/redis-server'
BIN = os.path.dirname(sys.executable)
HOST = 'web1'  # the inventory name: the cache is keyed by it

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')

# listen port, upstream members and a direct pass target; nothing listens on them: nginx -T does not bind
LISTEN, APP1, APP2, API = 18291, 18292, 18293, 18294
HTTP_BODY = '''    upstream app_pool {
        server 127.0.0.1:%(app1)d;
        server 127.0.0.1:%(app2)d backup;
    }
    server {
        listen 127.0.0.1:%(listen)d;
        server_name cache.example.test;
        location / {
            proxy_pass http://app_pool;
        }
        location /api/ {
            proxy_pass http://127.0.0.1:%(api)d;
            proxy_read_timeout 42s;
        }
    }
''' % {'listen': LISTEN, 'app1': APP1, 'app2': APP2, 'api': API}
# where each of them is in nginx.conf: the first line that contains the text
WHERE = {'upstream': 'upstream app_pool {', 'app1': 'server 127.0.0.1:%d;' % APP1, 'app2': 'backup;',
         'server': 'server {', 'loc_root': 'location / {', 'pass_root': 'proxy_pass http://app_pool;',
         'loc_api': 'location /api/ {', 'pass_api': 'proxy_pass http://127.0.0.1:%d;' % API,
         'read_api': 'proxy_read_timeout 42s;'}


LATER_PLAY = '''- name: A later play that only reads the cached nginx facts
  hosts: %(host)s
  gather_facts: false
  tasks:
    - name: The nginx facts come from the cache
      ansible.builtin.assert:
        that: "'nginx' in hostvars[inventory_hostname]['ansible_facts']"
        fail_msg: "no cached nginx facts for {{ inventory_hostname }}"
        quiet: true

    - name: Write their summary on the controller
      ansible.builtin.copy:
        dest: "%(out)s"
        mode: "0600"
        content: "{{ hostvars[inventory_hostname]['ansible_facts']['nginx'] | badgateway.nginx.nginx_summary | to_json }}"
      delegate_to: localhost
'''


class Redis(object):
    """redis-server as a plain child process: a free 127.0.0.1 port, a temporary directory, no
    persistence; killed at teardown."""

    def __init__(self, directory):
        import redis  # requirements/dev.txt (# Fact cache)

        if not os.path.exists(REDIS_SERVER):
            pytest.fail('redis-server is not installed (scripts/setup.sh installs the Debian package)')
        self.dir = directory
        self.port = free_port()
        self.proc = subprocess.Popen(
            [REDIS_SERVER, '--bind', '127.0.0.1', '--port', str(self.port), '--dir', str(directory),
             '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--protected-mode', 'yes',
             '--logfile', str(directory / 'redis.log')],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.client = redis.Redis(host='127.0.0.1', port=self.port, db=0, socket_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                break
            except redis.exceptions.ConnectionError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError('redis-server did not start: %s' % self.log())
                time.sleep(0.05)
        # really the server asked for: no RDB snapshots, no AOF
        assert self.client.config_get('save') == {'save': ''}
        assert self.client.config_get('appendonly') == {'appendonly': 'no'}

    def log(self):
        try:
            return (self.dir / 'redis.log').read_text()
        except OSError:
            return '(no log)'

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def cache(request, tmp_path):
    """The cache plugin of the parameter: its ansible settings, and a reader of what it holds for HOST
    (the stored record, decoded; None when there is none)."""
    if request.param == 'ansible.builtin.jsonfile':
        directory = tmp_path / 'jsonfile-cache'

        def stored():
            # ansible-core 2.19 keys the entry s<schema>_<host> (earlier versions: <host>), no prefix set
            names = [f.name for f in directory.iterdir()] if directory.exists() else []
            if not names:
                return None
            assert len(names) == 1 and re.fullmatch(r'(s\d+_)?' + HOST, names[0]), names
            return (directory / names[0]).read_bytes()

        yield {'settings': {'ANSIBLE_CACHE_PLUGIN': request.param, 'ANSIBLE_CACHE_PLUGIN_CONNECTION': str(directory)},
               'stored': stored}
        return

    server_dir = tmp_path / 'redis'
    server_dir.mkdir()
    server = Redis(server_dir)
    try:
        def stored():
            # community.general.redis: the value under <prefix><key> (prefix: ansible_facts by default),
            # the key in the sorted set ansible_cache_keys; ansible-core 2.19 makes the key s<schema>_<host>
            members = [m.decode() for m in server.client.zrange('ansible_cache_keys', 0, -1)]
            all_keys = sorted(k.decode() for k in server.client.keys('*'))
            if not members:
                assert all_keys == [], all_keys
                return None
            assert len(members) == 1 and re.fullmatch(r'(s\d+_)?' + HOST, members[0]), members
            assert all_keys == sorted(['ansible_cache_keys', 'ansible_facts' + members[0]]), all_keys
            ttl = server.client.ttl('ansible_facts' + members[0])
            assert 0 < ttl <= 86400, ttl  # the plugin's default timeout: a day
            return server.client.get('ansible_facts' + members[0])

        yield {'settings': {'ANSIBLE_CACHE_PLUGIN': request.param,
                            'ANSIBLE_CACHE_PLUGIN_CONNECTION': '127.0.0.1:%d:0' % server.port},
               'stored': stored, 'server': server}
    finally:
        server.stop()
    assert server.proc.returncode == 0, server.log()  # a clean shutdown on SIGTERM
    assert not (server_dir / 'dump.rdb').exists()  # and nothing persisted


def decode(record):
    """The facts of one cache record: ansible-core 2.19 wraps them as {"__payload__": "<json>"}."""
    data = json.loads(record)
    if set(data) == {'__payload__'}:
        data = json.loads(data['__payload__'])
    return data


def playbook(argv, env):
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook')] + argv, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, env=env, universal_newlines=True, check=False)
    recap = re.search(r'^%s\s+:\s+ok=(\d+)\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)' % HOST,
                      proc.stdout, re.M)
    assert recap, proc.stdout
    ok, unreachable, failed = (int(v) for v in recap.groups())
    return proc, {'ok': ok, 'unreachable': unreachable, 'failed': failed}


@pytest.mark.parametrize('cache', ['ansible.builtin.jsonfile', 'community.general.redis'], indirect=True)
def test_later_play_reads_nginx_facts_from_the_cache(tmp_path, cache):
    p = write(tmp_path, {'nginx.conf': plain_nginx_main(tmp_path, HTTP_BODY)})
    conf = p + 'nginx.conf'
    out = tmp_path / 'summary.json'
    later = tmp_path / 'later.yml'
    later.write_text(LATER_PLAY % {'host': HOST, 'out': out})
    # run 1: the host through the local connection; run 2: the same host by ssh to a port nothing listens on
    reachable = tmp_path / 'reachable.yml'
    reachable.write_text('all:\n  hosts:\n    %s:\n      ansible_connection: local\n' % HOST)
    unreachable = tmp_path / 'unreachable.yml'
    unreachable.write_text('all:\n  hosts:\n    %s:\n      ansible_connection: ssh\n      ansible_host: 127.0.0.1\n'
                           '      ansible_port: %d\n      ansible_user: nobody\n' % (HOST, free_port()))
    env = ansible_env(ANSIBLE_NOCOLOR='1', ANSIBLE_TIMEOUT='5', ANSIBLE_SSH_RETRIES='0', **cache['settings'])

    # the run-2 inventory really cannot reach the host
    ping = subprocess.run([os.path.join(BIN, 'ansible'), HOST, '-i', str(unreachable), '-m', 'ansible.builtin.ping'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True,
                          check=False)
    assert ping.returncode == 4 and '%s | UNREACHABLE!' % HOST in ping.stdout, ping.stdout

    # negative control: the later play with the cache still empty fails, and says why
    assert cache['stored']() is None
    proc, recap = playbook(['-i', str(unreachable), str(later)], env)
    assert proc.returncode == 2, proc.stdout
    assert recap == {'ok': 0, 'unreachable': 0, 'failed': 1}, proc.stdout
    assert 'no cached nginx facts for %s' % HOST in proc.stdout
    assert not out.exists()

    # run 1: the facts playbook against the real nginx, with the cache configured
    proc, recap = playbook(['badgateway.nginx.facts', '-i', str(reachable), '-e', 'nginx_facts_config=%s' % conf,
                            '-e', 'nginx_facts_prefix=%s' % p], env)
    assert proc.returncode == 0 and recap['unreachable'] == 0 and recap['failed'] == 0, proc.stdout

    # the cache server really holds them
    record = cache['stored']()
    assert record is not None
    cached = decode(record)
    assert set(cached) == {'nginx'}, sorted(cached)  # the module's facts, nothing else
    from ansible_collections.badgateway.nginx.plugins.filter.nginx_summary import nginx_summary
    cached_summary = nginx_summary(cached['nginx'])
    assert cached_summary[0].startswith('nginx ') and ', valid (nginx -T), config %s, ' % conf in cached_summary[0]

    # run 2: a later play that cannot reach the host reads the facts from the cache
    proc, recap = playbook(['-i', str(unreachable), str(later)], env)
    assert proc.returncode == 0, proc.stdout
    assert recap == {'ok': 2, 'unreachable': 0, 'failed': 0}, proc.stdout
    assert 'UNREACHABLE' not in proc.stdout
    summary = json.loads(out.read_text())
    assert summary == cached_summary  # exactly what the cache holds
    lines = (tmp_path / 'nginx.conf').read_text().splitlines()
    at = {k: '%s:%d' % (conf, next(n for n, text in enumerate(lines, 1) if v in text)) for k, v in WHERE.items()}
    assert 'server cache.example.test (127.0.0.1:%d) %s' % (LISTEN, at['server']) in summary
    assert ('  location /api/ %s -> proxy_pass http://127.0.0.1:%d (%s), read timeout 42s (%s)'
            % (at['loc_api'], API, at['pass_api'], at['read_api'])) in summary
    assert ('  location / %s -> proxy_pass upstream app_pool [127.0.0.1:%d, 127.0.0.1:%d] (%s), read timeout 60s'
            ' (default)' % (at['loc_root'], APP1, APP2, at['pass_root'])) in summary
    assert summary[-3:] == ['upstream app_pool %s' % (at['upstream']),
                            '  server 127.0.0.1:%d %s' % (APP1, at['app1']),
                            '  server 127.0.0.1:%d backup %s' % (APP2, at['app2'])], summary
