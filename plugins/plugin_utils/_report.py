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


def console_lines(report):
    lines = []
    for name, host in report['hosts'].items():
        lines.extend(host_lines(name, host))
    return lines


def _remediation_html(r):
    e = html.escape
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
        if h.get('remediation') is not None:
            parts.extend(_remediation_html(h['remediation']))
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
