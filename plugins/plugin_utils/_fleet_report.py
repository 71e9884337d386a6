# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The fleet's diagnosis, from the evidence its hosts left in hostvars to report.json and report.html.

This is the body of the ``nginx_report`` action, kept callable on its own so that the fleet benchmark
times the very code the action runs (``bench/bench_fleet.py --correlate-only``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_facts as nginx_facts
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _input_shape as shape
from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import claimed_targets, diagnose, index_peers
from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import build_report, render_html

NOT_DIAGNOSED = 'not diagnosed (unreachable or failed)'


class ReportError(Exception):
    """A host's evidence cannot be correlated, or the report cannot be written."""


def _url_claim(url):
    """An HTTP check's host:port is a service somebody uses: not a candidate for a mismatch."""
    try:
        parts = urlsplit(url or '')
        port = parts.port or (443 if parts.scheme == 'https' else 80)
    except ValueError:
        return set()
    return set([(parts.hostname, port)]) if parts.hostname else set()


_SHAPE_HINT = ' (the fact badgateway.nginx.nginx_diagnose sets)'
_DIAGNOSIS = shape.Dict({'checks': shape.CHECKS, 'note': shape.SCALAR}, required=('checks',))
_FACTS = shape.Dict(shape.FACTS.keys, required=('servers',))


def _checked(name, value, kind, label):
    """value, or a ReportError naming the host and the field when it does not have the shape kind."""
    try:
        shape.check(value, kind, label)
    except shape.InputError as e:
        raise ReportError('host %s: %s%s' % (name, e, _SHAPE_HINT))
    return value


def host_vars(hostvars, name):
    """One host's variables as they are stored. From Ansible's hostvars that is HostVars.raw_get: the facts a
    module returned are data, not templates, and templating every fact of every host on access (what
    hostvars[name] does) costs more than the correlation itself. A plain dict (the benchmark's) is read as is."""
    raw_get = getattr(hostvars, 'raw_get', None)
    if raw_get is None:
        return hostvars.get(name) or {}
    found = raw_get(name) if name in hostvars else None
    return found if isinstance(found, Mapping) else {}


def evidence(hostvars, names):
    """{name: (verbose facts or None, nginx_diagnosis)} of every host in names that left a diagnosis."""
    diagnosed = {}
    for name in names:
        host = host_vars(hostvars, name)
        facts = host.get('ansible_facts') or {}
        d = facts.get('nginx_diagnosis') or host.get('nginx_diagnosis')
        if d:
            _checked(name, d, _DIAGNOSIS, 'nginx_diagnosis')
            verbose = None
            if d.get('nginx') and facts.get('nginx') is not None:
                try:
                    verbose = nginx_facts.expand(facts['nginx'])
                except nginx_facts.CompactError as e:
                    raise ReportError('host %s: %s' % (name, e))
                _checked(name, verbose, _FACTS, 'ansible_facts.nginx')
            diagnosed[name] = (verbose, d)
    return diagnosed


def correlate(diagnosed, timings=None, audit=False):
    """{name: findings}: every host judged with the checks of all the others (one address index); with audit,
    the latent risks of the audit instead."""
    t0 = time.perf_counter()
    peers = dict((name, d['checks']) for name, (_f, d) in diagnosed.items())
    peer_index = index_peers(peers)
    claimed = claimed_targets(f for f, _d in diagnosed.values() if f)
    for check_list in (d['checks'].get('http') or [] for _f, d in diagnosed.values()):
        for check in check_list:
            claimed.update(_url_claim(check.get('url')))
    t1 = time.perf_counter()
    findings = {}
    for name, (facts, d) in diagnosed.items():
        try:
            findings[name] = diagnose(name, facts, d['checks'], peers, claimed, peer_index, audit=audit) \
                if facts is not None else []
        except (AttributeError, KeyError, TypeError, ValueError) as e:  # a shape _check_diagnosis does not describe
            raise ReportError('nginx_diagnosis of host %s is malformed (%s: %s): gather it again with '
                              'badgateway.nginx.nginx_diagnose' % (name, type(e).__name__, e))
    if timings is not None:
        timings.update(index_s=t1 - t0, correlate_s=time.perf_counter() - t1)
    return findings


def fleet_report(hostvars, names, generated, title, remediation=False, timings=None, audit=False):
    """The report dict of the hosts in names, from their hostvars (the nginx_report action's result)."""
    diagnosed = evidence(hostvars, names)
    findings = correlate(diagnosed, timings, audit=audit)
    t0 = time.perf_counter()
    hosts = {}
    for name, (_facts, d) in diagnosed.items():
        hosts[name] = {'findings': findings[name], 'nginx': d.get('nginx'), 'note': d.get('note')}
        if remediation:
            hosts[name]['remediation'] = host_vars(hostvars, name).get('remediate_record') or {}
    for name in names:
        hosts.setdefault(name, {'findings': [], 'nginx': None, 'note': NOT_DIAGNOSED})
    report = build_report(hosts, generated, title)
    if timings is not None:
        timings['build_report_s'] = time.perf_counter() - t0
    return report


def _write(path, text):
    tmp = '%s.%d.tmp' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def write_report(directory, report, timings=None):
    """report.json and report.html in directory (made 0700 if missing, files 0600); returns their paths."""
    t0 = time.perf_counter()
    directory = os.path.expanduser(directory)
    paths = [os.path.join(directory, 'report.json'), os.path.join(directory, 'report.html')]
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        _write(paths[0], json.dumps(report, indent=2, sort_keys=True, default=str) + '\n')
        _write(paths[1], render_html(report))
    except OSError as e:
        raise ReportError('cannot write the report to %s: %s' % (directory, e.strerror or e))
    if timings is not None:
        timings['write_s'] = time.perf_counter() - t0
    return paths
