# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-side checks against real sockets, processes and users of this machine."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.server
import os
import shutil
import socket
import tempfile
import threading

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _host_checks as probe

ROOT = os.geteuid() == 0


@pytest.fixture
def tcp_server():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(('127.0.0.1', 0))
    srv.listen(5)
    yield srv
    srv.close()


@pytest.fixture
def tcp6_server():
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.bind(('::1', 0))
    srv.listen(5)
    yield srv
    srv.close()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_tcp_listeners_from_proc_with_owner(tcp_server, tcp6_server):
    found = probe.listeners()
    port = tcp_server.getsockname()[1]
    mine = [x for x in found['tcp'] if x['port'] == port]
    assert len(mine) == 1
    assert (mine[0]['family'], mine[0]['address']) == ('ipv4', '127.0.0.1')
    assert os.getpid() in mine[0]['pids']
    assert mine[0]['process'] and mine[0]['user'] == 'root' if ROOT else True
    port6 = tcp6_server.getsockname()[1]
    mine6 = [x for x in found['tcp'] if x['port'] == port6]
    assert (mine6[0]['family'], mine6[0]['address']) == ('ipv6', '::1')
    assert os.getpid() in mine6[0]['pids']


def test_unix_listeners(tmp_path):
    path = str(tmp_path / 'app.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    try:
        mine = [x for x in probe.listeners()['unix'] if x['path'] == path]
        assert len(mine) == 1 and os.getpid() in mine[0]['pids']
    finally:
        srv.close()
    assert not [x for x in probe.listeners()['unix'] if x['path'] == path]


def test_probe_tcp_ok_refused_unresolvable(tcp_server):
    ok = probe.probe_tcp('127.0.0.1', tcp_server.getsockname()[1], 2)
    assert ok['result'] == 'ok' and ok['latency_ms'] is not None
    assert ok['tls'] is False  # a plain TCP listener that never answers a ClientHello
    refused = probe.probe_tcp('127.0.0.1', free_port(), 2)
    assert (refused['result'], refused['errno'], refused['error']) == ('refused', 111, 'Connection refused')
    bad = probe.probe_tcp('no-such-host.invalid', 80, 2)
    assert bad['result'] == 'unresolvable'


def test_probe_unix_results(tmp_path):
    missing = probe.probe_unix(str(tmp_path / 'nope.sock'))
    assert (missing['result'], missing['errno']) == ('no_such_file', 2)
    stale = str(tmp_path / 'stale.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()  # the file stays, nobody listens: nginx logs (111: Connection refused)
    assert probe.probe_unix(stale)['result'] == 'refused'
    # a listener whose backlog is full and that never accepts: EAGAIN, nginx's "(11: Resource temporarily unavailable)"
    busy = str(tmp_path / 'busy.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(busy)
    srv.listen(0)
    held = []
    try:
        results = []
        for _i in range(4):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.setblocking(False)
            try:
                c.connect(busy)
                results.append('ok')
            except (BlockingIOError, OSError):
                results.append('eagain')
            held.append(c)
        assert 'eagain' in results
        assert probe.probe_unix(busy, timeout=1)['result'] == 'unavailable'
    finally:
        for c in held:
            c.close()
        srv.close()


@pytest.mark.skipif(not ROOT, reason='needs root to switch users')
def test_socket_access_for_another_user():
    nobody = probe.identity_of('nobody')
    assert nobody['uid'] == 65534
    # pytest's own tmp_path sits in a 0700 directory that nobody cannot search: use /tmp
    sockdir = tempfile.mkdtemp(prefix='bgw-sock-', dir='/tmp')
    os.chmod(sockdir, 0o755)
    path = os.path.join(sockdir, 'fpm.sock')
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)  # nobody accepts: a full backlog would answer EAGAIN, like an exhausted PHP-FPM pool
    try:
        os.chmod(path, 0o660)
        access = probe.socket_access(path, nobody)
        assert access['exists'] and access['is_socket'] and access['can_connect'] is False
        assert (access['owner'], access['group'], access['mode']) == ('root', 'root', '0660')
        assert access['reason'] == 'socket %s (root:root 0660) is not writable by nobody (groups nogroup)' % path
        result = probe.probe_unix(path, identity=nobody)
        assert result['result'] == 'ok'  # root itself can connect
        assert result['as_user'] == {'user': 'nobody', 'result': 'permission_denied'}

        os.chmod(path, 0o666)
        assert probe.socket_access(path, nobody)['can_connect'] is True
        assert probe.probe_unix(path, identity=nobody)['as_user']['result'] == 'ok'

        os.chmod(sockdir, 0o700)  # the socket is fine, its directory is not
        access = probe.socket_access(path, nobody)
        assert access['can_connect'] is False
        assert access['reason'].startswith('directory %s (root:root 0700) has no search permission' % sockdir)
        assert probe.probe_unix(path, identity=nobody)['as_user']['result'] == 'permission_denied'
    finally:
        srv.close()
        shutil.rmtree(sockdir)
    assert probe.identity_of('no-such-user-here') is None


def test_resources_and_process_files():
    mem = probe.memory()
    assert mem['total_kb'] > 0 and 0 < mem['available_kb'] <= mem['total_kb']
    ld = probe.load()
    assert ld['cores'] >= 1 and ld['load1'] >= 0
    disks = probe.disk_free(['/var/log/nginx/error.log', '/tmp/does/not/exist'])
    assert disks and disks[0]['total_bytes'] > 0 and 0 <= disks[0]['used_percent'] <= 100
    me = probe.process_files(name=probe.process_info(os.getpid())['name'])
    mine = [p for p in me if p['pid'] == os.getpid()]
    assert mine and mine[0]['open_files'] > 0 and mine[0]['limit_soft'] > 0


class _Handler(http.server.BaseHTTPRequestHandler):
    def version_string(self):
        return 'cloudflare'

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(502)
        self.send_header('CF-RAY', '8a1b2c3d4e5f-AMS')
        self.end_headers()
        self.wfile.write(b'bad gateway')

    def log_message(self, *args):
        pass


def test_http_check_tells_who_answered():
    srv = http.server.HTTPServer(('127.0.0.1', 0), _Handler)
    t = threading.Thread(target=srv.serve_forever)
    t.daemon = True
    t.start()
    try:
        r = probe.http_check('http://127.0.0.1:%d/x?a=1' % srv.server_address[1], host='shop.lab')
    finally:
        srv.shutdown()
        srv.server_close()
    assert (r['status'], r['server'], r['from_nginx']) == (502, 'cloudflare', False)
    assert r['headers']['CF-RAY'] == '8a1b2c3d4e5f-AMS'
    refused = probe.http_check('http://127.0.0.1:%d/' % free_port())
    assert refused['status'] is None and 'refused' in refused['error'].lower()
    assert probe.http_check('ftp://x/')['error'] == 'not an http(s) URL: ftp://x/'


def test_probe_tcp_tells_a_tls_port(tmp_path):
    """A real TLS server (openssl s_server) is recognised: proxy_pass http:// to it is a protocol mismatch."""
    import subprocess
    import time
    key, cert = str(tmp_path / 'k.pem'), str(tmp_path / 'c.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '1', '-subj', '/CN=lab'], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    srv = subprocess.Popen(['openssl', 's_server', '-accept', '127.0.0.1:%d' % port, '-cert', cert, '-key', key,
                            '-www', '-quiet'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _i in range(50):
            r = probe.probe_tcp('127.0.0.1', port, 2)
            if r['result'] == 'ok':
                break
            time.sleep(0.1)
        assert (r['result'], r['tls']) == ('ok', True)
    finally:
        srv.kill()
        srv.wait()
