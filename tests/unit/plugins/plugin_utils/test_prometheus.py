# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Prometheus textfile of a report (plugin_utils/_prometheus): its text read back with prometheus_client's
parser of the exposition format (never compared as strings), hostile host names through the escaping, the
series kept for 10,000 hosts, and the atomic write seen by a concurrent reader the way node_exporter reads it.

tests/local/test_prometheus_local.py scrapes the same file through a real node_exporter.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import stat
import threading

import pytest
import yaml

from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _prometheus as prometheus
from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import build_report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
GENERATED = '2026-12-03T08:00:00Z'
GENERATED_EPOCH = datetime.datetime(2026, 12, 3, 8, 0, 0, tzinfo=datetime.timezone.utc).timestamp()
FAMILIES = ['badgateway_nginx_findings', 'badgateway_nginx_host_findings', 'badgateway_nginx_host_diagnosed',
            'badgateway_nginx_hosts', 'badgateway_nginx_hosts_not_diagnosed', 'badgateway_nginx_hosts_with_findings',
            'badgateway_nginx_last_run_timestamp_seconds']
HOSTILE = [
    'we"b1', 'back\\slash', 'trailing\\', 'new\nline', 'two\n\nlines', '\\n literal', '} 1\nbadgateway_nginx_hosts 99',
    'x",severity="info', 'comma,equals=brace}', '# HELP not a comment', 'ünïcødé-主机', 'tab\there', 'cr\rhere',
    '\\"', '"', '\\',
]


def finding(cause, severity=None, target='127.0.0.1:9000'):
    return {'id': cause, 'severity': severity or registry.severity(cause), 'target': {'text': target}, 'summary': 's'}


def small_report():
    hosts = {
        'web1': {'nginx': True, 'findings': [finding('upstream_down', 'critical', '127.0.0.1:1'),
                                             finding('upstream_down', 'critical', '127.0.0.1:2'),
                                             finding('firewall_block', 'critical', '10.0.0.5:80'),
                                             finding('firewall_block', 'warning', '10.0.0.6:80'),
                                             finding('upstream_timeout', 'warning')]},
        'web2': {'nginx': True, 'findings': []},
        'db1': {'nginx': False, 'findings': []},  # an upstream host: diagnosed, without nginx
        'down1': {'nginx': None, 'findings': [], 'note': 'not diagnosed (unreachable or failed)'},
        'web3': {'nginx': True, 'findings': [finding('config_not_loaded', 'warning'), finding('not_nginx', 'info')]},
    }
    return build_report(hosts, GENERATED)


def parse(text):
    """{family name: (type, help, {(sample name, sorted label items): value})} from the exposition text."""
    out = {}
    for family in text_string_to_metric_families(text):
        assert family.name not in out, 'family %s appears twice' % family.name
        out[family.name] = (family.type, family.documentation,
                            dict(((s.name, tuple(sorted(s.labels.items()))), s.value) for s in family.samples))
    return out


def values(parsed, name):
    """{labels dict as sorted tuple: value} of one family."""
    return dict((labels, v) for (_n, labels), v in parsed[name][2].items())


def test_small_report_values():
    parsed = parse(prometheus.exposition(small_report()))
    assert list(parsed) == FAMILIES
    for name, (kind, doc, _samples) in parsed.items():
        assert kind == 'gauge' and doc, name
    assert values(parsed, 'badgateway_nginx_findings') == {
        (('cause', 'firewall_block'), ('host', 'web1'), ('severity', 'critical')): 1,
        (('cause', 'firewall_block'), ('host', 'web1'), ('severity', 'warning')): 1,
        (('cause', 'upstream_down'), ('host', 'web1'), ('severity', 'critical')): 2,
        (('cause', 'upstream_timeout'), ('host', 'web1'), ('severity', 'warning')): 1,
        (('cause', 'config_not_loaded'), ('host', 'web3'), ('severity', 'warning')): 1,
        (('cause', 'not_nginx'), ('host', 'web3'), ('severity', 'info')): 1,
    }
    assert values(parsed, 'badgateway_nginx_host_findings') == {
        (('host', 'db1'),): 0, (('host', 'down1'),): 0, (('host', 'web1'),): 5, (('host', 'web2'),): 0,
        (('host', 'web3'),): 2}
    assert values(parsed, 'badgateway_nginx_host_diagnosed') == {
        (('host', 'db1'),): 1, (('host', 'down1'),): 0, (('host', 'web1'),): 1, (('host', 'web2'),): 1,
        (('host', 'web3'),): 1}
    assert values(parsed, 'badgateway_nginx_hosts') == {(): 5}
    assert values(parsed, 'badgateway_nginx_hosts_not_diagnosed') == {(): 1}
    assert values(parsed, 'badgateway_nginx_hosts_with_findings') == {
        (('severity', 'critical'),): 1, (('severity', 'warning'),): 2, (('severity', 'info'),): 1}
    assert values(parsed, 'badgateway_nginx_last_run_timestamp_seconds') == {(('report', 'diagnosis'),): GENERATED_EPOCH}


@pytest.mark.parametrize('kind', ['diagnosis', 'audit', 'remediation'])
def test_kind_labels_the_run(kind):
    parsed = parse(prometheus.exposition(small_report(), kind))
    prefix = 'badgateway_nginx_audit_' if kind == 'audit' else 'badgateway_nginx_'
    assert values(parsed, prefix + 'last_run_timestamp_seconds') == {(('report', kind),): GENERATED_EPOCH}


def test_an_audit_has_its_own_series_and_file():
    """Latent risks never land in the diagnosis' series: every family of the audit is badgateway_nginx_audit_*,
    with the same samples as the diagnosis' of the same report, in badgateway_nginx_audit.prom."""
    diagnosis = parse(prometheus.exposition(small_report(), 'diagnosis'))
    audit = parse(prometheus.exposition(small_report(), 'audit'))
    assert sorted(audit) == sorted(name.replace('badgateway_nginx_', 'badgateway_nginx_audit_', 1) for name in diagnosis)
    for name in diagnosis:
        if name != 'badgateway_nginx_last_run_timestamp_seconds':
            assert values(audit, name.replace('badgateway_nginx_', 'badgateway_nginx_audit_', 1)) == values(diagnosis, name)
    assert prometheus.filename('audit') == 'badgateway_nginx_audit.prom'
    assert prometheus.filename('diagnosis') == prometheus.filename('remediation') == 'badgateway_nginx.prom'


def test_unknown_kind_is_an_error():
    with pytest.raises(prometheus.PrometheusError, match='report kind'):
        prometheus.exposition(small_report(), 'weekly')


def test_findings_match_the_report_per_host_and_cause():
    """Computed from the report dict itself: every finding counted once, under its host, id and severity."""
    report = small_report()
    expected = {}
    for name, h in report['hosts'].items():
        for f in h['findings']:
            key = (('cause', f['id']), ('host', name), ('severity', f['severity']))
            expected[key] = expected.get(key, 0) + 1
    assert values(parse(prometheus.exposition(report)), 'badgateway_nginx_findings') == expected


def test_same_report_same_bytes_whatever_the_order():
    a = small_report()
    b = dict(a, hosts=dict(reversed(list(a['hosts'].items()))))
    for h in b['hosts'].values():
        h['findings'] = list(reversed(h['findings']))
    assert prometheus.exposition(a) == prometheus.exposition(b)


def test_hostile_host_names_round_trip():
    hosts = dict((name, {'nginx': True, 'findings': [finding('upstream_down')] * (i % 3)})
                 for i, name in enumerate(HOSTILE))
    hosts['lone\udcffsurrogate'] = {'nginx': None, 'findings': []}
    text = prometheus.exposition(build_report(hosts, GENERATED))
    text.encode('utf-8')  # valid UTF-8 whatever the names
    parsed = parse(text)
    expected_names = sorted(HOSTILE + ['lone?surrogate'])
    assert sorted(dict(labels)['host'] for labels in values(parsed, 'badgateway_nginx_host_diagnosed')) == expected_names
    assert values(parsed, 'badgateway_nginx_hosts') == {(): len(HOSTILE) + 1}  # no name injected a sample
    found = values(parsed, 'badgateway_nginx_findings')
    assert found == dict(((('cause', 'upstream_down'), ('host', name), ('severity', 'critical')), i % 3)
                         for i, name in enumerate(HOSTILE) if i % 3)
    # one line per sample: no name broke out of its line
    samples = sum(len(f[2]) for f in parsed.values())
    assert len([line for line in text.split('\n') if line and not line.startswith('#')]) == samples


def test_hostile_cause_and_severity_are_escaped_too():
    report = build_report({'h': {'nginx': True, 'findings': [finding('a"b\\c\nd', 'x"y')]}}, GENERATED)
    found = values(parse(prometheus.exposition(report)), 'badgateway_nginx_findings')
    assert found == {(('cause', 'a"b\\c\nd'), ('host', 'h'), ('severity', 'x"y')): 1}


def fleet(n, every):
    """n hosts; every `every`-th has the findings of a few causes, some twice (two targets)."""
    causes = registry.ids()
    hosts = {}
    for i in range(n):
        picked = [causes[(i + k) % len(causes)] for k in range(3)] if i % every == 0 else []
        hosts['web-%05d.dc%d.example.com' % (i, i % 3)] = {
            'nginx': True if i % 50 else None,
            'findings': [finding(c, target='10.0.%d.%d:%d' % (i % 250, k, 8000 + j))
                         for k, c in enumerate(picked) for j in range(1 + k % 2)]}
    return build_report(hosts, GENERATED)


def test_ten_thousand_hosts_two_series_per_host_plus_the_findings():
    """The series kept for alerting: two per host (0 included), one per (host, cause, severity) found, not a zero
    for every cause of the registry on every host (see the module's docstring)."""
    report = fleet(10000, 4)
    text = prometheus.exposition(report)
    parsed = parse(text)
    pairs = sum(len(set((f['id'], f['severity']) for f in h['findings'])) for h in report['hosts'].values())
    assert pairs == 2500 * 3
    assert len(parsed['badgateway_nginx_findings'][2]) == pairs
    assert len(parsed['badgateway_nginx_host_findings'][2]) == len(parsed['badgateway_nginx_host_diagnosed'][2]) == 10000
    assert sum(len(f[2]) for f in parsed.values()) == 2 * 10000 + pairs + 1 + 1 + 3 + 1
    assert values(parsed, 'badgateway_nginx_hosts_not_diagnosed') == {(): 200}
    assert sum(values(parsed, 'badgateway_nginx_findings').values()) == report['totals']['findings']
    assert len(text.encode('utf-8')) < 2500000, len(text)


# --- the file ------------------------------------------------------------------------------------------------


def test_write_textfile_mode_and_content(tmp_path):
    old = os.umask(0o077)  # the mode must not depend on the umask of the controller
    try:
        path = prometheus.write_textfile(str(tmp_path), prometheus.exposition(small_report()))
    finally:
        os.umask(old)
    assert path == str(tmp_path / 'badgateway_nginx.prom')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(str(tmp_path))) == ['badgateway_nginx.prom']
    with open(path, encoding='utf-8') as f:
        assert values(parse(f.read()), 'badgateway_nginx_hosts') == {(): 5}


def test_write_textfile_replaces(tmp_path):
    prometheus.write_textfile(str(tmp_path), prometheus.exposition(small_report()))
    prometheus.write_textfile(str(tmp_path), prometheus.exposition(build_report({'only': {'nginx': True}}, GENERATED)))
    with open(str(tmp_path / 'badgateway_nginx.prom'), encoding='utf-8') as f:
        parsed = parse(f.read())
    assert values(parsed, 'badgateway_nginx_host_diagnosed') == {(('host', 'only'),): 1}
    assert values(parsed, 'badgateway_nginx_findings') == {}
    assert sorted(os.listdir(str(tmp_path))) == ['badgateway_nginx.prom']


def test_a_concurrent_reader_sees_a_whole_file_or_none(tmp_path):
    """What node_exporter does at each scrape: list *.prom, read each. While the file is rewritten again and
    again, every read is one whole version and no other *.prom file is ever listed: the temporary file (seen by a
    second thread that lists the directory without pause) is not named *.prom."""
    versions = [prometheus.exposition(fleet(3000, k)) for k in (2, 3)]
    assert versions[0] != versions[1]
    stop = threading.Event()
    seen = {'reads': 0, 'names': set(), 'bad': []}

    def reader():
        while not stop.is_set():
            # as node_exporter's textfile collector: every name that ends in .prom, hidden ones too
            for name in [n for n in os.listdir(str(tmp_path)) if n.endswith('.prom')]:
                seen['names'].add(name)
                try:
                    with open(str(tmp_path / name), encoding='utf-8') as f:
                        got = f.read()
                except OSError:
                    continue  # listed, then renamed away: node_exporter reports a scrape error for that
                seen['reads'] += 1
                if got not in versions:
                    seen['bad'].append(len(got))

    def lister():  # the directory as often as it can: the temporary file must show up, never as *.prom
        while not stop.is_set():
            seen['listed'].update(os.listdir(str(tmp_path)))

    seen['listed'] = set()
    threads = [threading.Thread(target=reader), threading.Thread(target=lister)]
    for thread in threads:
        thread.start()
    try:
        for i in range(200):
            prometheus.write_textfile(str(tmp_path), versions[i % 2])
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert seen['reads'] > 0
    assert seen['names'] == {'badgateway_nginx.prom'}
    temporary = seen['listed'] - set(['badgateway_nginx.prom'])
    assert temporary and not [n for n in temporary if n.endswith('.prom')], sorted(temporary)[:5]
    assert seen['bad'] == [], 'partial reads of %s bytes' % seen['bad'][:10]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(prometheus.PrometheusError) as e:
        prometheus.write_textfile(str(tmp_path / 'nope'), 'x 1\n')
    assert 'prometheus_dir %s is not an existing directory' % (tmp_path / 'nope') in str(e.value)
    assert not (tmp_path / 'nope').exists()  # not created: it is node_exporter's directory
    (tmp_path / 'file').write_text('')
    with pytest.raises(prometheus.PrometheusError, match='is not an existing directory'):
        prometheus.write_textfile(str(tmp_path / 'file'), 'x 1\n')


def test_failed_rename_leaves_no_temporary_file(tmp_path):
    (tmp_path / 'badgateway_nginx.prom').mkdir()
    (tmp_path / 'badgateway_nginx.prom' / 'keep').write_text('')
    with pytest.raises(prometheus.PrometheusError) as e:
        prometheus.write_textfile(str(tmp_path), 'x 1\n')
    assert str(e.value).startswith('cannot write %s: ' % (tmp_path / 'badgateway_nginx.prom')), str(e.value)
    assert sorted(os.listdir(str(tmp_path))) == ['badgateway_nginx.prom']
    assert os.listdir(str(tmp_path / 'badgateway_nginx.prom')) == ['keep']


# --- the example alert rules ---------------------------------------------------------------------------------


def test_alert_rules_file_names_only_metrics_the_textfile_has():
    """docs/prometheus/badgateway-nginx.rules.yml: rule groups of alerts, each with an expression and a summary,
    that use only metric names exposition() writes. promtool checks and tests the file for real in
    tests/local/test_prometheus_local.py."""
    import re

    with open(os.path.join(ROOT, 'docs', 'prometheus', 'badgateway-nginx.rules.yml')) as f:
        rules = yaml.safe_load(f)
    alerts = [r for g in rules['groups'] for r in g['rules']]
    assert all(g['name'] and g['rules'] for g in rules['groups'])
    names = set(r['alert'] for r in alerts)
    assert {'BadgatewayNginxCriticalFinding', 'BadgatewayNginxWarningFinding', 'BadgatewayNginxRunStale',
            'BadgatewayNginxHostNotDiagnosed'} <= names
    written = set(FAMILIES) | set(parse(prometheus.exposition(small_report(), 'audit')))
    for r in alerts:
        assert r['expr'] and r['annotations']['summary'] and r['labels']['severity'], r
        used = set(re.findall(r'\bbadgateway_nginx_[a-z_]+', r['expr']))
        assert used and used <= written, (r['alert'], used - written)
