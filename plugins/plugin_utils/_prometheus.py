# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""A report's findings in the Prometheus text exposition format, for node_exporter's textfile collector.

``exposition(report, kind)`` is the text, ``write_textfile(directory, text)`` puts it in
``<directory>/badgateway_nginx.prom`` atomically (a temporary file in the same directory whose name does not
end in ``.prom``, then a rename), as the textfile collector requires: it reads every ``*.prom`` file of its
directory at each scrape and must never see half of one.

Which series exist (docs/report.md, "Prometheus textfile"):

* per host, always (0 included), so that every host has a stable series for ``for:`` clauses and graphs:
  ``badgateway_nginx_host_diagnosed{host}`` (0: not diagnosed) and ``badgateway_nginx_host_findings{host}``;
* per host, cause and severity, only where there are findings: ``badgateway_nginx_findings{host,cause,severity}``.
  A zero for every cause and severity of the registry on every host would be 16 series per host (15 causes,
  ``firewall_block`` with two severities: critical when confirmed, warning when not): at 10,000 hosts 160,000
  lines, about 17 MB, nearly all 0, parsed by node_exporter at every scrape and kept by Prometheus as active
  series, where this file is about 2 MB (27,000 lines, for 7,600 findings). An alert on the presence of a
  series resolves at the first scrape after the file lost it (Prometheus marks the series stale);
* fleet totals, always: ``badgateway_nginx_hosts``, ``badgateway_nginx_hosts_not_diagnosed``,
  ``badgateway_nginx_hosts_with_findings{severity}`` (critical, warning, info);
* ``badgateway_nginx_last_run_timestamp_seconds{report}``: the report's ``generated`` time.

An audit's report (its findings are latent risks, not failures) has the same series named
``badgateway_nginx_audit_*`` in its own file, ``badgateway_nginx_audit.prom``: a scheduled audit and a scheduled
diagnosis feed one textfile directory side by side, and an alert on failures never fires for a latent risk.

Families in that order, samples sorted by their labels: the same report gives the same bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import os
import tempfile
import time

FILENAME = 'badgateway_nginx.prom'
PREFIX = 'badgateway_nginx_'
KINDS = ('diagnosis', 'audit', 'remediation')
# the audit's own file and series (latent risks, not failures)
AUDIT_FILENAME = 'badgateway_nginx_audit.prom'
AUDIT_PREFIX = 'badgateway_nginx_audit_'
SEVERITIES = ('critical', 'warning', 'info')
SEVERITY_ORDER = dict((s, i) for i, s in enumerate(SEVERITIES))
MODE = 0o644  # node_exporter reads the file as its own user


class PrometheusError(Exception):
    """The textfile cannot be made or written."""


def escape_label(value):
    """A label value as the text format writes it between double quotes: backslash, double quote and line
    feed escaped; anything that is not valid UTF-8 (a lone surrogate) replaced."""
    text = value if isinstance(value, str) else str(value)
    text = text.encode('utf-8', 'replace').decode('utf-8')
    return text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _sample(name, labels, value, prefix=PREFIX):
    inner = ','.join('%s="%s"' % (k, escape_label(v)) for k, v in labels)
    return '%s%s%s %d' % (prefix, name, '{%s}' % inner if inner else '', value)


def _family(name, text, samples, prefix=PREFIX):
    return ['# HELP %s%s %s' % (prefix, name, text), '# TYPE %s%s gauge' % (prefix, name)] + samples


def _epoch(generated):
    """Unix seconds of the report's generated field (%Y-%m-%dT%H:%M:%SZ, UTC); now if it is not one."""
    try:
        return calendar.timegm(time.strptime(str(generated), '%Y-%m-%dT%H:%M:%SZ'))
    except ValueError:
        return int(time.time())


def exposition(report, kind='diagnosis'):
    """The text exposition of a report dict (build_report's): see the module docstring for the series."""
    if kind not in KINDS:
        raise PrometheusError('report kind %r is not one of %s' % (kind, ', '.join(KINDS)))
    hosts = sorted(((str(name), h) for name, h in (report.get('hosts') or {}).items()), key=lambda x: x[0])
    findings, host_findings, diagnosed = [], [], []
    with_severity = dict((s, 0) for s in SEVERITIES)
    not_diagnosed = 0
    for name, h in hosts:
        counts = {}
        for f in h.get('findings') or []:
            key = (str(f.get('id')), str(f.get('severity')))
            counts[key] = counts.get(key, 0) + 1
        for cause, severity in sorted(counts, key=lambda k: (k[0], SEVERITY_ORDER.get(k[1], len(SEVERITIES)), k[1])):
            findings.append(_sample('findings', (('host', name), ('cause', cause), ('severity', severity)),
                                    counts[(cause, severity)]))
        for severity in set(s for _c, s in counts):
            if severity in with_severity:
                with_severity[severity] += 1
        host_findings.append(_sample('host_findings', (('host', name),), sum(counts.values())))
        is_diagnosed = h.get('nginx') is not None
        not_diagnosed += 0 if is_diagnosed else 1
        diagnosed.append(_sample('host_diagnosed', (('host', name),), 1 if is_diagnosed else 0))
    lines = []
    lines += _family('findings', 'Findings of one cause and severity on one host in the last report; only the '
                     'causes found are listed (docs/causes.md).', findings)
    lines += _family('host_findings', 'Findings of the host in the last report (0 included).', host_findings)
    lines += _family('host_diagnosed', '1 if the host left evidence for the last report, 0 if it was not diagnosed '
                     '(unreachable or failed).', diagnosed)
    lines += _family('hosts', 'Hosts in the last report.', [_sample('hosts', (), len(hosts))])
    lines += _family('hosts_not_diagnosed', 'Hosts of the last report that were not diagnosed.',
                     [_sample('hosts_not_diagnosed', (), not_diagnosed)])
    lines += _family('hosts_with_findings', 'Hosts of the last report with at least one finding of the severity.',
                     [_sample('hosts_with_findings', (('severity', s),), with_severity[s]) for s in SEVERITIES])
    lines += _family('last_run_timestamp_seconds', 'Unix time the last report was made (badgateway.nginx.nginx_report).',
                     [_sample('last_run_timestamp_seconds', (('report', kind),), _epoch(report.get('generated')))])
    text = '\n'.join(lines) + '\n'
    if kind == 'audit':  # the same families under the audit's own names
        text = '\n'.join(_audit_line(line) for line in text.split('\n'))
    return text


def _audit_line(line):
    for lead in ('# HELP ', '# TYPE ', ''):
        if line.startswith(lead + PREFIX):
            return lead + AUDIT_PREFIX + line[len(lead) + len(PREFIX):]
    return line


def filename(kind):
    """The textfile a report of this kind is written to."""
    return AUDIT_FILENAME if kind == 'audit' else FILENAME


def write_textfile(directory, text, name=FILENAME):
    """Write text to <directory>/<name> (badgateway_nginx.prom; mode 0644) atomically; return its path.

    The directory must exist (it is node_exporter's --collector.textfile.directory). The temporary file is
    .badgateway_nginx.prom.*.tmp in the same directory, so that the collector (it reads *.prom) never sees it
    and the rename replaces the old file in one step.
    """
    directory = os.path.expanduser(str(directory))
    if not os.path.isdir(directory):
        raise PrometheusError('prometheus_dir %s is not an existing directory: create it (it is the directory '
                              "node_exporter's --collector.textfile.directory reads)" % directory)
    path = os.path.join(directory, name)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp', dir=directory)
        with os.fdopen(fd, 'wb') as f:
            os.fchmod(f.fileno(), MODE)
            f.write(text.encode('utf-8'))
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        tmp = None
    except OSError as e:
        raise PrometheusError('cannot write %s: %s' % (path, e.strerror or e))
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path
