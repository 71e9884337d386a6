#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does badgateway.nginx.nginx_change drop requests while it changes and rolls back?

The script starts its own lab in a temporary directory: a Python http.server
backend (on a thread) and a real nginx master (plain process, run as root,
listening on 127.0.0.1 on free high ports) with two routes to the backend,
``/`` and ``/api/``.  Load threads send HTTP GETs to ``/`` (a route neither
change breaks) for the whole duration of each module run:

  a. a successful change: proxy_read_timeout of /api/ set to 120s (graceful
     reload, verify /api/ answers);
  b. a failing change: proxy_pass of /api/ pointed at a dead port, so the
     health check of /api/ answers 502 and the module rolls back.

It prints, per run: module result (changed / failed_step), wall time,
requests sent, requests failed (connection errors or status >= 500) and,
for (b), rollback_seconds from the module result.  Figures only; nothing
is asserted about timing.

Usage (as root, from the repository, with the test virtualenv):

    source scripts/env.sh
    python bench/bench_rollback.py [--threads 8] [--settle 1] [--keep]

--keep leaves the temporary directory (configs, error.log) for a look.
"""

from __future__ import absolute_import, division, print_function

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
NODE_PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        body = b'ok\n'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def collections_path():
    """A directory holding ansible_collections/badgateway/nginx -> this checkout."""
    parts = REPO.split(os.sep)
    if len(parts) >= 4 and parts[-3] == 'ansible_collections':
        return os.sep.join(parts[:-3])
    base = tempfile.mkdtemp(prefix='bgw-collections-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'badgateway'))
    os.symlink(REPO, os.path.join(base, 'ansible_collections', 'badgateway', 'nginx'))
    return base


class Load(object):
    """Threads doing GETs until stopped; counts sent and failed requests."""

    def __init__(self, port, threads):
        self.port = port
        self.n = threads
        self.sent = 0
        self.failed = 0
        self.errors = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def worker(self):
        while not self.stop.is_set():
            ok, why = False, None
            conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=5)
            try:
                conn.request('GET', '/', headers={'Host': 'app.test'})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status < 500
                why = 'HTTP %d' % resp.status
            except (OSError, http.client.HTTPException) as e:
                why = type(e).__name__
            finally:
                conn.close()
            with self.lock:
                self.sent += 1
                if not ok:
                    self.failed += 1
                    self.errors[why] = self.errors.get(why, 0) + 1

    def __enter__(self):
        for dummy in range(self.n):
            t = threading.Thread(target=self.worker, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def run_module(args, env):
    argv = [ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.nginx_change', '-a', json.dumps(args)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, check=False,
                          universal_newlines=True)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    if not m:
        raise SystemExit('no result from ansible (rc=%d): %s %s' % (proc.returncode, proc.stdout, proc.stderr))
    result = json.JSONDecoder().raw_decode(proc.stdout[m.end():])[0]
    result['failed'] = m.group(1) == 'FAILED!'
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--threads', type=int, default=8, help='load threads (default 8)')
    ap.add_argument('--settle', type=float, default=1.0, help='verify.settle of the module runs (default 1)')
    ap.add_argument('--keep', action='store_true', help='keep the temporary directory')
    opts = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root: nginx is started with "user root" and files keep their owners')
    if not os.path.exists(NGINX):
        raise SystemExit('nginx not found')

    tmp = tempfile.mkdtemp(prefix='bgw-bench-rollback-')
    np_, bp = free_port(), free_port()
    backend = ThreadingHTTPServer(('127.0.0.1', bp), Handler)
    backend.daemon_threads = True
    threading.Thread(target=backend.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
    os.makedirs(os.path.join(tmp, 'conf.d'))
    with open(os.path.join(tmp, 'nginx.conf'), 'w') as f:
        f.write('user root;\nworker_processes 2;\npid %s/nginx.pid;\nerror_log %s/error.log;\n'
                'events { worker_connections 1024; }\nhttp {\n    access_log off;\n    include conf.d/*.conf;\n}\n'
                % (tmp, tmp))
    app = os.path.join(tmp, 'conf.d', 'app.conf')
    with open(app, 'w') as f:
        f.write('server {\n    listen 127.0.0.1:%d;\n    server_name app.test;\n'
                '    location / {\n        proxy_pass http://127.0.0.1:%d;\n    }\n'
                '    location /api/ {\n        proxy_pass http://127.0.0.1:%d;\n        proxy_read_timeout 30s;\n    }\n}\n'
                % (np_, bp, bp))
    subprocess.run([NGINX, '-c', os.path.join(tmp, 'nginx.conf'), '-p', tmp + '/'], check=True)
    with open(os.path.join(tmp, 'nginx.pid')) as f:
        master = int(f.read())
    env = dict(os.environ)
    env.update({'ANSIBLE_COLLECTIONS_PATH': ':'.join([collections_path()] + [p for p in env.get('ANSIBLE_COLLECTIONS_PATH', '').split(':') if p]),
                'ANSIBLE_LOAD_CALLBACK_PLUGINS': '1', 'ANSIBLE_STDOUT_CALLBACK': 'ansible.builtin.minimal',
                'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_PYTHON_INTERPRETER': NODE_PYTHON,
                'ANSIBLE_LOCALHOST_WARNING': '0', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0'})
    base = {'nginx': {'bin': NGINX, 'config': os.path.join(tmp, 'nginx.conf'), 'prefix': tmp + '/'},
            'verify': {'urls': [{'url': 'http://127.0.0.1:%d/api/health' % np_, 'host': 'app.test'}],
                       'error_log': os.path.join(tmp, 'error.log'), 'settle': opts.settle},
            'journal_dir': os.path.join(tmp, 'journal')}
    loc = {'path': app, 'scope': 'location', 'server_name': 'app.test', 'location': '/api/'}
    runs = [
        ('a. successful change (proxy_read_timeout 120s)', dict(loc, directive='proxy_read_timeout', args=['120s'])),
        ('b. failing change (proxy_pass to a dead port -> 502 -> rollback)',
         dict(loc, directive='proxy_pass', args=['http://127.0.0.1:%d' % free_port()])),
    ]
    print('nginx %s master %d on 127.0.0.1:%d, backend :%d, %d load threads on / (Host app.test), settle %s s'
          % (subprocess.run([NGINX, '-v'], stderr=subprocess.PIPE, universal_newlines=True, check=False).stderr.strip().split('/')[-1],
             master, np_, bp, opts.threads, opts.settle))
    try:
        for title, change in runs:
            with Load(np_, opts.threads) as load:
                time.sleep(0.5)     # load running before the change
                start = time.time()
                r = run_module(dict(base, changes=[change]), env)
                wall = time.time() - start
                time.sleep(0.5)     # and after it
            print('\n%s' % title)
            print('  module: %s%s, wall %.2f s' % ('FAILED' if r['failed'] else 'ok',
                                                   ', failed_step %s' % r.get('failed_step') if r['failed'] else
                                                   ', changed %s' % r.get('changed'), wall))
            for s in r.get('steps', []):
                print('    %-9s %-5s %6.3f s  %s' % (s['name'], s['ok'], s['seconds'], (s['detail'] or '')[:110]))
            print('  requests sent:   %d' % load.sent)
            print('  requests failed: %d%s' % (load.failed, ' %s' % load.errors if load.errors else ''))
            if r['failed']:
                print('  rolled_back: %s, rollback_seconds: %s' % (r.get('rolled_back'), r.get('rollback_seconds')))
                print('  msg: %s' % r['msg'][:300])
    finally:
        try:
            os.kill(master, signal.SIGQUIT)
        except OSError:
            pass
        backend.shutdown()
        backend.server_close()
        if opts.keep:
            print('\nkept %s' % tmp)
        else:
            time.sleep(0.5)
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
