# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the node's checks wait: the connect probes run at the same time, beside the local reads, each waiting
no longer than nginx would to connect. Real sockets on this machine; the probe itself is not replaced."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket
import threading

import pytest

from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe


def test_the_wait_is_nginx_connect_timeout_when_that_is_shorter():
    assert nginx_probe.connect_wait({'host': 'a', 'port': 1, 'connect_timeout': 1.0}, 3.0) == 1.0
    assert nginx_probe.connect_wait({'host': 'a', 'port': 1, 'connect_timeout': 60.0}, 3.0) == 3.0
    assert nginx_probe.connect_wait({'host': 'a', 'port': 1}, 3.0) == 3.0  # asked for in tcp_targets
    assert nginx_probe.connect_wait({'host': 'a', 'port': 1, 'connect_timeout': 0.0}, 3.0) == 3.0


def test_started_returns_what_the_function_returned_or_raises_what_it_raised():
    assert nginx_probe.Started(lambda a, b: a + b, 2, 3).result() == 5
    with pytest.raises(ValueError, match='broken'):
        nginx_probe.Started(lambda: int('broken')).result()


def bound(listening):
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    if listening:
        s.listen(4)
    return s


def test_connect_probes_overlap_and_keep_their_order(monkeypatch):
    """Every probe of a run is in flight at the same time (up to PROBES_AT_ONCE), and the results come back in
    the order of the targets: counted, not timed."""
    real = nginx_probe.probe.probe_tcp
    lock = threading.Lock()
    state = {'now': 0, 'most': 0}
    all_in = threading.Barrier(4, timeout=10)

    def probe_tcp(host, port, timeout):
        with lock:
            state['now'] += 1
            state['most'] = max(state['most'], state['now'])
        all_in.wait()  # returns only when the four probes are running together
        try:
            return real(host, port, timeout)
        finally:
            with lock:
                state['now'] -= 1
    monkeypatch.setattr(nginx_probe.probe, 'probe_tcp', probe_tcp)
    sockets = [bound(listening) for listening in (True, False, True, False)]  # not listening: refused
    ports = [s.getsockname()[1] for s in sockets]
    try:
        targets = [{'host': '127.0.0.1', 'port': p, 'connect_timeout': 1.0} for p in ports]
        found = nginx_probe.Started(nginx_probe.in_threads,
                                    lambda t: nginx_probe.probe.probe_tcp(t['host'], t['port'], t['connect_timeout']),
                                    targets, nginx_probe.PROBES_AT_ONCE).result()
    finally:
        for s in sockets:
            s.close()
    assert state['most'] == 4
    assert [(f['port'], f['result'], f['timeout_s']) for f in found] == [
        (ports[0], 'ok', 1.0), (ports[1], 'refused', 1.0), (ports[2], 'ok', 1.0), (ports[3], 'refused', 1.0)]
