# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Diagnosis reports: report.json (schema badgateway.nginx/report/v1), a self-contained report.html,
and the short console summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import json

SCHEMA = 'badgateway.nginx/report/v1'
SEVERITY_ORDER = {'critical': 0, 'warning': 1, 'info': 2}

CSS = '''
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#1d2330;background:#f7f8fa}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .4em}
.meta{color:#5b6475;font-size:.9em}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5em 0}
th,td{border:1px solid #d9dde5;padding:.35em .6em;text-align:left;vertical-align:top;font-size:.92em}
th{background:#eef1f6}
.critical{color:#fff;background:#c62828}.warning{color:#1d2330;background:#f9c74f}.info{color:#fff;background:#4361ee}
.ok{color:#1b5e20;font-weight:600}
.sev{padding:.1em .45em;border-radius:3px;font-size:.8em;font-weight:600}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
pre{background:#fff;border:1px solid #d9dde5;padding:.6em;overflow:auto;max-height:30em}
details{margin:.2em 0}summary{cursor:pointer;color:#2a4d9b}
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
    out['totals'] = {'hosts': len(out['hosts']),
                     'hosts_with_findings': sum(1 for h in out['hosts'].values() if h['findings']),
                     'findings': sum(len(h['findings']) for h in out['hosts'].values())}
    return out


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
    if not host['findings']:
        return ['%s: no finding%s' % (name, ' (%s)' % host['note'] if host.get('note') else '')]
    lines = ['%s: %d finding(s)' % (name, len(host['findings']))]
    for f in host['findings']:
        place = _where(f.get('pass')) or _where(f.get('location')) or _where((f.get('upstream') or {}))
        target = (f.get('target') or {}).get('text')
        lines.append('  [%s] %s%s%s - %s' % (f.get('severity'), f['id'], ' ' + target if target else '',
                                             ' at %s' % place if place else '', f.get('summary')))
    return lines


def console_lines(report):
    lines = []
    for name, host in report['hosts'].items():
        lines.extend(host_lines(name, host))
    return lines


def render_html(report):
    e = html.escape
    hosts = sorted(report['hosts'].items(), key=lambda kv: (-len(kv[1]['findings']), kv[0]))
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<title>%s</title><style>%s</style></head><body>' % (e(report['title']), CSS),
             '<h1>%s</h1>' % e(report['title']),
             '<p class="meta">generated %s &middot; %d host(s), %d with findings, %d finding(s) &middot; schema %s</p>' % (
                 e(report['generated']), report['totals']['hosts'], report['totals']['hosts_with_findings'],
                 report['totals']['findings'], e(report['schema'])),
             '<table><tr><th>host</th><th>findings</th><th>causes</th></tr>']
    for name, h in hosts:
        causes = ', '.join(h['summary']['ids']) or '<span class="ok">healthy</span>'
        parts.append('<tr><td><a href="#host-%s">%s</a></td><td>%d</td><td>%s</td></tr>' % (
            e(name), e(name), len(h['findings']), causes if not h['summary']['ids'] else e(causes)))
    parts.append('</table>')
    for name, h in hosts:
        parts.append('<h2 id="host-%s">%s</h2>' % (e(name), e(name)))
        if h.get('note'):
            parts.append('<p class="meta">%s</p>' % e(h['note']))
        if not h['findings']:
            parts.append('<p class="ok">No finding.</p>')
            continue
        parts.append('<table><tr><th>severity</th><th>cause</th><th>target</th><th>where</th><th>summary and evidence</th>'
                     '<th>fix</th></tr>')
        for f in h['findings']:
            sev = f.get('severity') or 'info'
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
            parts.append('<tr><td><span class="sev %s">%s</span></td><td><code>%s</code></td><td><code>%s</code></td>'
                         '<td>%s</td><td>%s<details><summary>evidence</summary><pre>%s</pre></details></td>'
                         '<td>%s<pre>%s</pre></td></tr>' % (
                             e(sev), e(sev), e(f['id']), e((f.get('target') or {}).get('text') or ''),
                             '<br>'.join(e(w) for w in where), e(f.get('summary') or ''),
                             e(json.dumps(f.get('evidence'), indent=2, sort_keys=True, default=str)),
                             e(fix.get('role') or 'nothing to change on this host'),
                             e(json.dumps(fix.get('vars') or {}, indent=2, sort_keys=True))))
        parts.append('</table>')
    parts.append('</body></html>\n')
    return '\n'.join(parts)
