# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Diagnosis reports: report.json (schema badgateway.nginx/report/v1), a self-contained report.html,
and the short console summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import html
import json
import re
from urllib.parse import quote

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry

SCHEMA = 'badgateway.nginx/report/v1'
SEVERITY_ORDER = {'critical': 0, 'warning': 1, 'info': 2}

CSS = '''
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#1d2330;background:#f7f8fa}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em}h3{font-size:1em;margin:1em 0 .3em}
.meta{color:#5b6475;font-size:.9em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5em 0}
table.narrow{width:auto;min-width:22em}
th,td{border:1px solid #d9dde5;padding:.35em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eef1f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.critical{color:#fff;background:#c62828}.warning{color:#1d2330;background:#f9c74f}.info{color:#fff;background:#4361ee}
.other{color:#fff;background:#7a7f8c}.none{color:#fff;background:#6d4c41}.healthy{color:#fff;background:#2e7d32}
.ok{color:#1b5e20;font-weight:600}
.sev{padding:.1em .45em;border-radius:3px;font-size:.8em;font-weight:600;white-space:nowrap}
.cols{display:flex;flex-wrap:wrap;gap:0 2em;align-items:flex-start}
svg.chart{display:block;max-width:100%;height:auto;background:#fff;border:1px solid #d9dde5;margin:.5em 0}
svg.chart text{font-size:12px;fill:#1d2330;font-family:ui-monospace,Menlo,Consolas,monospace}
.bar.critical{fill:#c62828}.bar.warning{fill:#f9c74f}.bar.info{fill:#4361ee}.bar.other{fill:#7a7f8c}
.bar.none{fill:#6d4c41}.bar.healthy{fill:#2e7d32}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#fff;border:1px solid #d9dde5;padding:.6em;overflow:auto;max-height:30em}
details{margin:.2em 0}summary{cursor:pointer;color:#2a4d9b}
details.host{background:#fff;border:1px solid #d9dde5;border-radius:3px;padding:.15em .6em;margin:.25em 0;
content-visibility:auto;contain-intrinsic-size:auto 2em}
details.host>summary{color:#1d2330}details.host>summary strong{color:#2a4d9b}
'''


def build_report(hosts, generated, title='nginx 502/504 diagnosis'):
    """hosts: {name: {'findings': [...], 'nginx': bool, 'note': str or None}} -> report dict."""
    out = {'schema': SCHEMA, 'title': title, 'generated': generated, 'hosts': {}}
    for name in sorted(hosts):
        h = hosts[name]
        findings = sorted(h.get('findings') or [], key=lambda f: (SEVERITY_ORDER.get(f.get('severity'), 3), f.get('id')))
        out['hosts'][name] = {
            'nginx': h.get('nginx'), 'note': h.get('note'), 'findings': findings,
            'summary': {'findings': len(findings), 'ids': sorted(set(f['id'] for f in findings)),
                        'critical': sum(1 for f in findings if f.get('severity') == 'critical')},
        }
        if h.get('remediation') is not None:
            out['hosts'][name]['remediation'] = remediation_entry(h['remediation'], findings)
    out['totals'] = {'hosts': len(out['hosts']),
                     'hosts_with_findings': sum(1 for h in out['hosts'].values() if h['findings']),
                     'findings': sum(len(h['findings']) for h in out['hosts'].values())}
    return out


def _finding_key(f):
    return (f.get('id'), (f.get('target') or {}).get('text'))


def remediation_entry(record, after):
    """Before/after of one host: what was fixed, what is left, what changed, any rollback."""
    record = record or {}
    before = record.get('before') or []
    after_keys = set(_finding_key(f) for f in after)
    before_keys = set(_finding_key(f) for f in before)
    applied = [a for a in record.get('applied') or [] if a.get('changed')]
    failure = record.get('failure') or {}
    # a finding some role changes something for; the others (reported, excluded) can only vanish from the
    # diagnosis after the change for want of new evidence, which is not a fix
    acted = set(_finding_key(f) for f in before if (f.get('fix') or {}).get('role')) - set(
        (x.get('id'), None) for x in record.get('reported') or [])
    excluded = set((x.get('id')) for x in record.get('excluded') or [])
    acted = set(k for k in acted if k[0] not in excluded)
    gone = before_keys - after_keys
    return {
        'check_mode': bool(record.get('check_mode')),
        'before': before,
        'fixed': ['%s %s' % k if k[1] else k[0] for k in sorted(gone & acted, key=str)],
        'not_seen_since': ['%s %s' % k if k[1] else k[0] for k in sorted(gone - acted, key=str)],
        'remaining': ['%s %s' % k if k[1] else k[0] for k in sorted(before_keys & after_keys, key=str)],
        'new': ['%s %s' % k if k[1] else k[0] for k in sorted(after_keys - before_keys, key=str)],
        'changes': applied,
        'services': record.get('services') or [],
        'firewall': record.get('firewall') or [],
        'reported': record.get('reported') or [],
        'excluded': record.get('excluded') or [],
        'rollback': failure or None,
    }


def remediation_lines(name, r):
    lines = []
    word = 'would change' if r['check_mode'] else 'changed'
    if r['check_mode']:
        lines.append('%s: %d finding(s); check mode: nothing was changed' % (name, len(r['before'])))
    else:
        lines.append('%s: %d finding(s) before, %d fixed, %d remaining%s' % (
            name, len(r['before']), len(r['fixed']), len(r['remaining']), ', %d new' % len(r['new']) if r['new'] else ''))
    for a in r['changes']:
        files = sorted(set(c.get('path') for c in a.get('changes') or [] if c.get('path')))
        lines.append('  %s %s: %s' % (word, a.get('label'), ', '.join(files)))
    for s in r['services']:
        if s.get('action') in ('started', 'restarted'):
            lines.append('  %s %s on %s for %s' % (
                word if r['check_mode'] else s['action'], s.get('unit'), s.get('host'), s.get('target')))
        elif s.get('action') in ('unresolved', 'skipped'):
            lines.append('  no service started for %s: %s' % (s.get('target'), s.get('skipped') or s.get('action')))
    for fw in r['firewall']:
        if fw.get('changed') or fw.get('skipped'):
            lines.append('  firewall on %s for %s: %s' % (fw.get('host'), fw.get('target'), fw.get('msg') or fw.get('skipped')))
    for item in r['reported']:
        lines.append('  not changed: %s - %s' % (item.get('id'), item.get('reason')))
    if r['rollback']:
        lines.append('  ROLLED BACK: %s: %s' % (r['rollback'].get('task'), r['rollback'].get('msg')))
    for item in r['remaining']:
        lines.append('  remaining: %s' % item)
    return lines


def _where(item):
    if not item or not item.get('file'):
        return ''
    return '%s:%s' % (item['file'], item.get('line'))


def _loc_text(f):
    loc = f.get('location') or {}
    if not loc:
        return ''
    return ('%s %s' % (loc.get('modifier') or '', loc.get('match') or '')).strip()


def host_lines(name, host):
    if host.get('remediation') is not None:
        return remediation_lines(name, host['remediation'])
    if not host['findings']:
        return ['%s: no finding%s' % (name, ' (%s)' % host['note'] if host.get('note') else '')]
    lines = ['%s: %d finding(s)' % (name, len(host['findings']))]
    for f in host['findings']:
        place = _where(f.get('pass')) or _where(f.get('location')) or _where((f.get('upstream') or {}))
        target = (f.get('target') or {}).get('text')
        lines.append('  [%s] %s%s%s - %s' % (f.get('severity'), f['id'], ' ' + target if target else '',
                                             ' at %s' % place if place else '', f.get('summary')))
    return lines


def lines_by_host(report):
    """{name: host_lines} of every host of the report, in the report's order."""
    return dict((name, host_lines(name, host)) for name, host in report['hosts'].items())


def console_lines(by_host):
    """The console summary: the lines of every host of lines_by_host(), one after the other."""
    return [line for lines in by_host.values() for line in lines]


def _remediation_html(r):
    e = _e
    out = ['<h3>remediation%s</h3>' % (' (check mode: nothing was changed)' if r['check_mode'] else '')]
    if r['rollback']:
        out.append('<p class="sev critical">rolled back: %s: %s</p>' % (
            e(r['rollback'].get('task') or ''), e(r['rollback'].get('msg') or '')))
        out.append('<details><summary>failing version and log lines</summary><pre>%s</pre></details>' % e(
            json.dumps({'failing_version': r['rollback'].get('failing_version'),
                        'log_lines': r['rollback'].get('log_lines')}, indent=2, sort_keys=True, default=str)))
    out.append('<table><tr><th>before</th><th>fixed</th><th>remaining</th><th>new</th><th>not seen since (not changed)</th></tr>')
    out.append('<tr><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr></table>' % (
        len(r['before']), '<br>'.join(e(x) for x in r['fixed']), '<br>'.join(e(x) for x in r['remaining']),
        '<br>'.join(e(x) for x in r['new']), '<br>'.join(e(x) for x in r['not_seen_since'])))
    for a in r['changes']:
        diffs = []
        for d in a.get('diff') or []:
            diffs.append(''.join(difflib.unified_diff(
                (d.get('before') or '').splitlines(True), (d.get('after') or '').splitlines(True),
                d.get('before_header') or '', d.get('after_header') or '')))
        out.append('<details open><summary>%s</summary><pre>%s</pre></details>' % (
            e(a.get('label') or 'change'), e(''.join(diffs) or json.dumps(a.get('changes'), indent=2, default=str))))
    for label, items in (('services', r['services']), ('firewall', r['firewall'])):
        if items:
            out.append('<details><summary>%s</summary><pre>%s</pre></details>' % (
                label, e(json.dumps(items, indent=2, sort_keys=True, default=str))))
    for item in r['reported']:
        out.append('<p class="meta">not changed: %s - %s</p>' % (e(item.get('id') or ''), e(item.get('reason') or '')))
    return out


# --- report.html -------------------------------------------------------------------------------------------
# One page for 1 or 10,000 hosts: the fleet overview first (counts, hosts by worst severity, causes by host
# count with an inline SVG chart, the worst hosts), then one closed <details> block per host, worst first, so
# the browser lays out one summary line per host until one is opened. No script, no external resource: the
# Content-Security-Policy below forbids both. Every value taken from the hosts goes through _e.

CSP = "default-src 'none'; style-src 'unsafe-inline'"
WORST_HOSTS = 100
# the rank of a host in the worst-first order: 0-2 the worst severity of its findings (3: a severity not in
# SEVERITY_ORDER), then the hosts without finding: not diagnosed (nginx null) before the diagnosed ones
RANK_LABELS = ('critical', 'warning', 'info', 'other', 'not diagnosed', 'no finding')
RANK_CLASSES = ('critical', 'warning', 'info', 'other', 'none', 'healthy')
RANK_NOT_DIAGNOSED = 4
RANK_HEALTHY = 5


def _text(value):
    return '' if value is None else (value if isinstance(value, str) else str(value))


def _e(value):
    """The HTML-escaped text of any value (None: empty); quotes too, so it is safe in attributes."""
    return html.escape(_text(value), quote=True)


def _pre(value):
    """value as indented JSON, escaped for the text of a <pre> (quotes left as they are: not an attribute)."""
    return html.escape(json.dumps(value, indent=2, sort_keys=True, default=str), quote=False)


def _sev_class(severity):
    return severity if severity in SEVERITY_ORDER else 'other'


def host_rank(host):
    """0-3 for a host with findings (its worst severity), 4 not diagnosed, 5 diagnosed without finding."""
    if host['findings']:
        return min(SEVERITY_ORDER.get(f.get('severity'), 3) for f in host['findings'])
    return RANK_NOT_DIAGNOSED if host.get('nginx') is None else RANK_HEALTHY


def worst_first(report):
    """[(rank, name, host)] of every host: worst severity, then most findings, then name."""
    ranked = [(host_rank(h), name, h) for name, h in report['hosts'].items()]
    ranked.sort(key=lambda r: (r[0], -len(r[2]['findings']), r[1]))
    return ranked


def cause_rows(report):
    """[(id, severity, hosts, findings)]: one row per cause id and severity seen (firewall_block is critical
    when confirmed, warning when not), worst severity first, then most hosts, most findings, id."""
    rows = {}
    for h in report['hosts'].values():
        seen = set()
        for f in h['findings']:
            key = (_text(f.get('id')), _text(f.get('severity')))
            row = rows.setdefault(key, [0, 0])
            row[1] += 1
            if key not in seen:
                seen.add(key)
                row[0] += 1
    return sorted(((k[0], k[1], v[0], v[1]) for k, v in rows.items()),
                  key=lambda r: (SEVERITY_ORDER.get(r[1], 3), -r[2], -r[3], r[0], r[1]))


def _cause_title(cause_id):
    """The catalog's title of the cause, escaped, its `code` spans as <code> (empty for an unknown id)."""
    try:
        title = registry.get(cause_id).DOC['title']
    except (KeyError, AttributeError, TypeError):
        return ''
    return re.sub(r'`([^`]+)`', r'<code>\1</code>', _e(title))


def _host_href(name):
    return '#host-' + _e(quote(_text(name), safe=''))


def _count_row(key, label, value):
    return '<tr data-count="%s"><th>%s</th><td class="n">%d</td></tr>' % (key, label, value)


def _overview_html(report, ranked):
    totals = report['totals']
    by_rank = [0] * len(RANK_LABELS)
    for rank, _name, _h in ranked:
        by_rank[rank] += 1
    findings_by_sev = {}
    for _rank, _name, h in ranked:
        for f in h['findings']:
            sev = _sev_class(f.get('severity'))
            findings_by_sev[sev] = findings_by_sev.get(sev, 0) + 1
    not_diagnosed = by_rank[RANK_NOT_DIAGNOSED]
    without_nginx = sum(1 for _r, _n, h in ranked if h.get('nginx') is False)
    out = ['<section id="overview"><h2>Fleet overview</h2><div class="cols">',
           '<table class="narrow" id="overview-counts">',
           _count_row('hosts', 'hosts in the report', totals['hosts']),
           _count_row('diagnosed', 'hosts diagnosed', len(ranked) - not_diagnosed),
           _count_row('without_nginx', '&nbsp;&nbsp;of which without nginx (upstream hosts)', without_nginx),
           _count_row('not_diagnosed', 'hosts not diagnosed (unreachable or failed)', not_diagnosed),
           _count_row('hosts_with_findings', 'hosts with findings', totals['hosts_with_findings']),
           _count_row('findings', 'findings', totals['findings']),
           '</table>',
           '<table class="narrow" id="by-severity"><tr><th>worst severity of the host</th><th>hosts</th>'
           '<th>findings of this severity</th></tr>']
    for rank, label in enumerate(RANK_LABELS):
        if rank == 3 and not by_rank[rank]:
            continue  # "other": only when a finding has a severity outside critical, warning, info
        cls = RANK_CLASSES[rank]
        nf = findings_by_sev.get(cls, 0) if rank <= 3 else 0
        out.append('<tr data-rank="%s"><td><span class="sev %s">%s</span></td><td class="n">%d</td><td class="n">%s</td></tr>' % (
            cls, cls, label, by_rank[rank], nf if rank <= 3 else ''))
    out.append('</table></div>')
    out.append(_severity_bar(by_rank, len(ranked)))
    out.append('</section>')
    rem = [h['remediation'] for _r, _n, h in ranked if h.get('remediation') is not None]
    if rem:
        out += ['<section id="remediation-overview"><h2>Remediation</h2><table class="narrow" id="remediation-counts">',
                _count_row('remediated', 'hosts with a remediation record', len(rem)),
                _count_row('check_mode', '&nbsp;&nbsp;of which in check mode (nothing changed)', sum(1 for r in rem if r['check_mode'])),
                _count_row('rolled_back', 'hosts rolled back', sum(1 for r in rem if r['rollback'])),
                _count_row('before', 'findings before', sum(len(r['before']) for r in rem)),
                _count_row('fixed', 'fixed', sum(len(r['fixed']) for r in rem)),
                _count_row('remaining', 'remaining', sum(len(r['remaining']) for r in rem)),
                _count_row('new', 'new', sum(len(r['new']) for r in rem)),
                _count_row('not_seen_since', 'not seen since (not changed)', sum(len(r['not_seen_since']) for r in rem)),
                '</table></section>']
    return out


def _severity_bar(by_rank, total):
    """One stacked bar: the share of the hosts per worst severity (the colours of the table beside it)."""
    width, height = 760, 26
    out = ['<svg id="severity-chart" class="chart" role="img" aria-labelledby="severity-chart-title" '
           'viewBox="0 0 %d %d" width="%d" height="%d">' % (width, height, width, height),
           '<title id="severity-chart-title">hosts by worst severity</title>']
    x = 0.0
    for rank, n in enumerate(by_rank):
        if not n:
            continue
        w = width * n / float(total)
        out.append('<rect class="bar %s" data-rank="%s" x="%.2f" y="0" width="%.2f" height="%d"><title>%s: %d host(s)</title></rect>' % (
            RANK_CLASSES[rank], RANK_CLASSES[rank], x, w, height, RANK_LABELS[rank], n))
        x += w
    out.append('</svg>')
    return '\n'.join(out)


def _cause_chart(rows):
    """Horizontal bars, one per row of the cause table, in its order: hosts per cause and severity."""
    width, label_w, bar_h, gap = 760, 250, 18, 6
    top = max(r[2] for r in rows)
    scale = (width - label_w - 70) / float(top)
    height = gap + len(rows) * (bar_h + gap)
    ids = [r[0] for r in rows]
    out = ['<svg id="cause-chart" class="chart" role="img" aria-labelledby="cause-chart-title" '
           'viewBox="0 0 %d %d" width="%d" height="%d">' % (width, height, width, height),
           '<title id="cause-chart-title">hosts per cause</title>']
    for i, (cause, sev, hosts, _findings) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        label = cause if len(cause) <= 30 else cause[:29] + '\u2026'
        if ids.count(cause) > 1:
            label += ' (%s)' % (sev if len(sev) <= 10 else sev[:9] + '\u2026')
        w = max(1.0, hosts * scale)
        out.append('<g data-cause="%s" data-severity="%s"><text x="%d" y="%d" text-anchor="end">%s</text>'
                   '<rect class="bar %s" x="%d" y="%d" width="%.1f" height="%d"><title>%s (%s): %d host(s)</title></rect>'
                   '<text x="%.1f" y="%d">%d</text></g>' % (
                       _e(cause), _e(sev), label_w - 8, y + 13, _e(label), _sev_class(sev), label_w, y, w, bar_h,
                       _e(cause), _e(sev), hosts, label_w + w + 6, y + 13, hosts))
    out.append('</svg>')
    return '\n'.join(out)


def _causes_html(rows):
    out = ['<section id="causes"><h2>Causes by host count</h2>']
    if not rows:
        return out + ['<p class="ok">No finding on any host.</p></section>']
    out.append('<table id="cause-table"><tr><th>cause</th><th>severity</th><th>hosts</th><th>findings</th><th>what</th></tr>')
    for cause, sev, hosts, findings in rows:
        out.append('<tr data-cause="%s" data-severity="%s"><td><code>%s</code></td><td><span class="sev %s">%s</span></td>'
                   '<td class="n">%d</td><td class="n">%d</td><td>%s</td></tr>' % (
                       _e(cause), _e(sev), _e(cause), _sev_class(sev), _e(sev), hosts, findings, _cause_title(cause)))
    out.append('</table>')
    out.append(_cause_chart(rows))
    out.append('</section>')
    return out


def _host_causes(h):
    return ', '.join(_text(i) for i in h['summary']['ids']) if h['findings'] else _text(h.get('note'))


def _worst_html(ranked):
    attention = [r for r in ranked if r[0] < RANK_HEALTHY]
    out = ['<section id="worst"><h2>Worst hosts</h2>']
    if not attention:
        return out + ['<p class="ok">Every host was diagnosed and has no finding.</p></section>']
    shown = attention[:WORST_HOSTS]
    out.append('<p class="meta">%s, by worst severity, then number of findings, then name; the not diagnosed '
               'ones after them.</p>' % ('all %d host(s) with findings or not diagnosed' % len(attention)
                                         if len(shown) == len(attention) else 'the first %d of %d host(s) with findings '
                                         'or not diagnosed' % (len(shown), len(attention))))
    out.append('<table id="worst-table"><tr><th>host</th><th>worst</th><th>findings</th><th>causes</th></tr>')
    for rank, name, h in shown:
        out.append('<tr data-host="%s"><td><a href="%s">%s</a></td><td><span class="sev %s">%s</span></td>'
                   '<td class="n">%d</td><td>%s</td></tr>' % (
                       _e(name), _host_href(name), _e(name), RANK_CLASSES[rank], RANK_LABELS[rank], len(h['findings']),
                       _e(_host_causes(h))))
    out.append('</table>')
    rest = len(attention) - len(shown)
    if rest:
        out.append('<p class="meta" id="worst-rest" data-rest="%d">and %d more host(s) with findings or not diagnosed: '
                   'see all hosts below.</p>' % (rest, rest))
    out.append('</section>')
    return out


#: the worst this many hosts carry their findings' evidence in report.html; the others point at
#: report.json, so that a page for 10,000 hosts stays a size a browser opens (the evidence is most of it)
EVIDENCE_HOSTS = 1000


def _finding_rows(findings, evidence=True):
    out = ['<table><tr><th>severity</th><th>cause</th><th>target</th><th>where</th><th>summary and evidence</th>'
           '<th>fix</th></tr>']
    for f in findings:
        sev = _text(f.get('severity')) or 'info'
        where = []
        if f.get('server') and f['server'].get('name') is not None:
            where.append('server %s %s' % (f['server'].get('name') or '_', _where(f['server'])))
        if f.get('location'):
            where.append('location %s %s' % (_loc_text(f), _where(f['location'])))
        if f.get('pass'):
            where.append('%s %s' % (f['pass'].get('directive'), _where(f['pass'])))
        if f.get('upstream'):
            where.append('upstream %s %s' % (f['upstream'].get('name'), _where(f['upstream'])))
        fix = f.get('fix') or {}
        shown = '<details><summary>evidence</summary><pre>%s</pre></details>' % _pre(f.get('evidence')) if evidence else ''
        out.append('<tr><td><span class="sev %s">%s</span></td><td><code>%s</code></td><td><code>%s</code></td>'
                   '<td>%s</td><td>%s%s</td><td>%s<pre>%s</pre></td></tr>' % (
                       _sev_class(sev), _e(sev), _e(f.get('id')), _e((f.get('target') or {}).get('text')),
                       '<br>'.join(_e(w) for w in where), _e(f.get('summary')), shown,
                       _e(fix.get('role') or 'nothing to change on this host'), _pre(fix.get('vars') or {})))
    out.append('</table>')
    return out


def _host_html(rank, name, h, evidence=True):
    """One closed <details> block: a summary line, and the findings laid out only when it is opened."""
    n = len(h['findings'])
    line = '%d finding(s): %s' % (n, _host_causes(h)) if n else _text(h.get('note'))
    r = h.get('remediation')
    if r is not None:
        line += ' \u00b7 remediation: %s' % ('check mode' if r['check_mode'] else '%d fixed, %d remaining%s' % (
            len(r['fixed']), len(r['remaining']), ', rolled back' if r['rollback'] else ''))
    out = ['<details class="host" id="host-%s" data-rank="%s" data-findings="%d">'
           '<summary><span class="sev %s">%s</span> <strong>%s</strong> <span class="meta">%s</span></summary>' % (
               _e(name), RANK_CLASSES[rank], n, RANK_CLASSES[rank], RANK_LABELS[rank], _e(name), _e(line))]
    if h.get('note') and n:
        out.append('<p class="meta">%s</p>' % _e(h['note']))
    if r is not None:
        out.extend(_remediation_html(r))
    if n:
        if not evidence:
            out.append('<p class="meta">The evidence of these findings is in report.json (hosts, %s, findings): '
                       'report.html carries it for the worst %d hosts.</p>' % (_e(json.dumps(name)), EVIDENCE_HOSTS))
        out.extend(_finding_rows(h['findings'], evidence))
    elif rank == RANK_HEALTHY:
        out.append('<p class="ok">No finding.</p>')
    out.append('</details>')
    return '\n'.join(out)


def render_html(report):
    """report.html: self-contained (inline CSS and SVG, no script, no network), linear in the hosts."""
    ranked = worst_first(report)
    rows = cause_rows(report)
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="%s">' % _e(CSP),
             '<meta name="referrer" content="no-referrer">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<title>%s</title><style>%s</style></head><body>' % (_e(report['title']), CSS),
             '<h1>%s</h1>' % _e(report['title']),
             '<p class="meta">generated %s &middot; %d host(s), %d with findings, %d finding(s) &middot; schema %s</p>' % (
                 _e(report['generated']), report['totals']['hosts'], report['totals']['hosts_with_findings'],
                 report['totals']['findings'], _e(report['schema']))]
    parts.extend(_overview_html(report, ranked))
    parts.extend(_causes_html(rows))
    parts.extend(_worst_html(ranked))
    parts.append('<section id="hosts"><h2>All hosts, worst first</h2>')
    parts.append('<p class="meta">%d host(s); open one for its findings, evidence and fix.</p>' % len(ranked))
    parts.extend(_host_html(rank, name, h, n < EVIDENCE_HOSTS) for n, (rank, name, h) in enumerate(ranked))
    parts.append('</section></body></html>\n')
    return '\n'.join(parts)
