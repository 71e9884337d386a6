#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Does a whole remediation drop requests on a route it does not break?

Starts the demo lab from fresh containers (tests/lab: a proxy broken in every way of the catalog, a
backend behind nftables and iptables, a healthy proxy), sends the real requests that make nginx
log the errors, then runs `ansible-playbook badgateway.nginx.remediate` against the lab while load
threads on this machine send HTTP GETs to routes the remediation does not break:

  - http://PROXY:80/        the proxy's default site (static), on the nginx that is reloaded
                             four times during the run (php_fpm_pool, upstream_target,
                             proxy_timeouts, proxy_buffers)
  - http://HEALTHY:8001/    the healthy proxy (nothing is changed there)

It prints the playbook's result and duration, and per route the requests sent and failed
(connection errors or a status >= 500), with the failures' times. Figures only; nothing asserted.

Usage (as root, from the repository, after scripts/setup.sh):

    source scripts/env.sh
    python bench/bench_remediate.py [--threads 4] [--keep]

--keep leaves the lab running afterwards (otherwise it is removed).
"""

from __future__ import absolute_import, division, print_function

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INVENTORY = os.path.join(REPO, 'tests', 'lab', 'inventory.yml')
BIN = os.path.dirname(sys.executable)


def playbook(*args):
    argv = [os.path.join(BIN, 'ansible-playbook'), '-i', INVENTORY] + list(args)
    start = time.time()
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, cwd=REPO,
                          check=False)
    return proc.returncode, proc.stdout, time.time() - start


def address(container):
    out = subprocess.run(['podman', 'inspect', '-f', '{{.NetworkSettings.IPAddress}}', container],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout.strip()
    if not out:
        raise SystemExit('no address for %s' % container)
    return out


class Load(object):
    def __init__(self, host, port, path, threads):
        self.host, self.port, self.path = host, port, path
        self.sent = 0
        self.failed = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run) for _i in range(threads)]

    def run(self):
        while not self.stop.is_set():
            when = time.time()
            ok = False
            why = ''
            try:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
                conn.request('GET', self.path)
                resp = conn.getresponse()
                resp.read()
                conn.close()
                ok = resp.status < 500
                why = str(resp.status)
            except (OSError, http.client.HTTPException) as e:
                why = '%s: %s' % (type(e).__name__, e)
            with self.lock:
                self.sent += 1
                if not ok:
                    self.failed.append((when, why))
            time.sleep(0.01)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    ap.add_argument('--threads', type=int, default=4, help='load threads per route (default 4)')
    ap.add_argument('--keep', action='store_true', help='leave the lab running')
    opts = ap.parse_args()
    print('starting a fresh lab ...')
    for step in ('tests/lab/down.yml', 'tests/lab/up.yml', 'tests/lab/traffic.yml'):
        rc, out, secs = playbook(step)
        if rc != 0:
            print(out[-3000:])
            raise SystemExit('%s failed' % step)
        print('  %s: %.0f s' % (step, secs))
    proxy, healthy = address('bgw-lab-proxy'), address('bgw-lab-healthy')
    routes = [Load(proxy, 80, '/', opts.threads), Load(healthy, 8001, '/', opts.threads)]
    print('load: %d threads on http://%s:80/ and %d on http://%s:8001/' % (opts.threads, proxy, opts.threads, healthy))
    for r in routes:
        r.__enter__()
    try:
        start = time.time()
        rc, out, secs = playbook('-l', 'lab', 'badgateway.nginx.remediate')
    finally:
        for r in routes:
            r.__exit__()
    recap = [ln for ln in out.splitlines() if ' : ok=' in ln]
    print('remediate playbook: rc=%d, %.1f s' % (rc, secs))
    for ln in recap:
        print('  ' + ln.strip())
    for r in routes:
        print('http://%s:%d%s: %d requests sent, %d failed' % (r.host, r.port, r.path, r.sent, len(r.failed)))
        for when, why in r.failed[:10]:
            print('  at +%.2f s: %s' % (when - start, why))
    if not opts.keep:
        playbook('tests/lab/down.yml')
    return 0 if rc == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
