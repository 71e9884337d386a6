# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.badgateway.nginx`` importable from a plain checkout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ensure_importable():
    """Return a directory holding ansible_collections/badgateway/nginx (this checkout)."""
    parts = ROOT.split(os.sep)
    if len(parts) >= 4 and parts[-3] == 'ansible_collections':
        base = os.sep.join(parts[:-3])
    else:
        base = tempfile.mkdtemp(prefix='bgw-collections-')
        link_dir = os.path.join(base, 'ansible_collections', 'badgateway')
        os.makedirs(link_dir)
        os.symlink(ROOT, os.path.join(link_dir, 'nginx'))
    if base not in sys.path:
        sys.path.insert(0, base)
    return base


COLLECTIONS_BASE = _ensure_importable()


# the interpreter modules run with on this "node" (the controller itself): the system Python
NODE_PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable


def ansible_env(**settings):
    """The environment for running ansible against this checkout: this collection first on the
    collections path, the system Python for modules, no localhost or unparsed-inventory warnings;
    then the given settings."""
    env = dict(os.environ)
    paths = [COLLECTIONS_BASE] + [p for p in env.get('ANSIBLE_COLLECTIONS_PATH', '').split(':') if p]
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': ':'.join(paths),
        'ANSIBLE_PYTHON_INTERPRETER': NODE_PYTHON,
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
    })
    env.update(settings)
    return env


PLAIN_NGINX_MAIN = '''pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
%(http)s}
'''


def plain_nginx_main(directory, http_body):
    """A main nginx.conf for an nginx run as a plain process from directory (its pid, logs and temp paths
    there), with http_body (lines, each ending with a newline) inside the http block."""
    return PLAIN_NGINX_MAIN % {'d': directory, 'http': http_body}


def wait_port(port, host='127.0.0.1', tries=50, pause=0.1):
    """Wait until something accepts connections on host:port (an nginx just started); AssertionError if not."""
    for _i in range(tries):
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(pause)
    raise AssertionError('nothing listens on %s:%d after %.0f s' % (host, port, tries * pause))


def stop_process(proc, timeout=10):
    """SIGTERM a child process that still runs, SIGKILL it if it does not exit within timeout."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


_ISSUED_PORTS = set()


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 now, and not handed out before in this run: two calls in a row
    can get the same port from the kernel, and the second listener of a lab then fails to bind."""
    while True:
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _ISSUED_PORTS:
            _ISSUED_PORTS.add(port)
            return port


def write(tmp_path, files):
    """Write files ({relative name: str or bytes}) under tmp_path (a pathlib.Path); return tmp_path as a
    prefix ending with a slash."""
    for name, content in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(tmp_path) + '/'
