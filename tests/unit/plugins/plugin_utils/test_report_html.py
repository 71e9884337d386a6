# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""report.html for a fleet: the overview, the cause table and chart, the worst hosts and one closed <details> per
host, read back with the standard library's html.parser into a tree (no substring guessing).

The fleets are reports made by build_report from findings shaped as the correlator records them; the expected
numbers and orders are written out by hand for the small fleet, and computed here from the input (not from the
renderer's helpers) for the generated ones. tests/browser loads a 10,000-host page in headless Chromium.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

from html.parser import HTMLParser
from urllib.parse import quote

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry
from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import build_report, render_html

GENERATED = '2026-12-03T08:00:00Z'
VOID = frozenset(('area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'param', 'source',
                  'track', 'wbr'))
# every element the page is made of: anything else in the parsed tree came from a value that was not escaped
ALLOWED_TAGS = frozenset(('html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'p', 'section', 'div',
                          'table', 'tr', 'th', 'td', 'span', 'strong', 'code', 'pre', 'details', 'summary', 'a', 'br',
                          'svg', 'g', 'rect', 'text'))


class Node(object):
    def __init__(self, tag, attrs, parent):
        self.tag = tag
        self.attr_list = attrs
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []

    def text(self):
        return ''.join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag, **attrs):
        want = dict((k.replace('_', '-').rstrip('-'), v) for k, v in attrs.items())
        return [n for n in self.iter() if n.tag == tag and all(
            (k == 'class' and v in (n.attrs.get('class') or '').split()) or (k != 'class' and n.attrs.get(k) == v)
            for k, v in want.items())]

    def find(self, tag, **attrs):
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, '%d <%s %r> elements, expected one' % (len(found), tag, attrs)
        return found[0]

    def elements(self, tag):
        """The child elements of that tag (not deeper)."""
        return [c for c in self.children if isinstance(c, Node) and c.tag == tag]


class TreeBuilder(HTMLParser):
    """A strict tree: every element must be closed by its own end tag (the renderer writes them all)."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.root = Node('#document', [], None)
        self.cur = self.root
        self.errors = []

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is self.root:
            self.errors.append('</%s> closes nothing' % tag)
            return
        if n is not self.cur:
            self.errors.append('<%s> left open by </%s>' % (self.cur.tag, tag))
        self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(page):
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.errors == []
    assert builder.cur is builder.root, 'unclosed <%s>' % builder.cur.tag
    return builder.root


# --- fleets ------------------------------------------------------------------------------------------------

def finding(host, cause, target='127.0.0.1:9003', severity=None, summary=None, conf='/etc/nginx/sites-enabled/app.conf',
            sample=None, confirmed=None):
    """A finding as the correlator records it (Diagnosis.add): severity and fix role from the registry."""
    route = {'server': {'name': 'app.example.com', 'file': conf, 'line': 1},
             'location': {'match': '/', 'modifier': '', 'file': conf, 'line': 3},
             'pass': {'directive': 'proxy_pass', 'file': conf, 'line': 4, 'raw': 'http://%s' % target},
             'upstream': None}
    line = sample or ('2026/12/02 01:10:50 [error] 1482#1482: *5 connect() failed (111: Connection refused) while '
                      'connecting to upstream, client: 127.0.0.1, server: app.example.com, request: "GET /?REDACTED '
                      'HTTP/1.1", upstream: "http://%s/", host: "%s"' % (target, host))
    f = {'id': cause, 'severity': severity or registry.severity(cause), 'host': host, 'server': route['server'],
         'location': route['location'], 'upstream': None, 'pass': route['pass'], 'routes': [route],
         'target': {'kind': 'tcp', 'host': target.rsplit(':', 1)[0], 'port': int(target.rsplit(':', 1)[1]), 'text': target},
         'evidence': {'probe': {'kind': 'tcp', 'result': 'refused'},
                      'log': [{'log': '/var/log/nginx/error.log', 'kind': 'connect_refused', 'catalog': cause, 'count': 3,
                               'first_seen': '2026/12/02 01:10:50', 'last_seen': '2026/12/02 01:12:00', 'samples': [line]}]},
         'summary': summary or '%s: %s' % (cause, target),
         'fix': {'role': registry.fix_role(cause), 'vars': {'target': target}}}
    if confirmed is not None:
        f['confirmed'] = confirmed
    return f


def small_fleet():
    """Ten hosts whose overview, cause table and order are written out in the tests below."""
    return {
        'a-crit2': {'nginx': True, 'findings': [finding('a-crit2', 'upstream_down', '127.0.0.1:9101'),
                                                finding('a-crit2', 'upstream_down', '127.0.0.1:9102')]},
        'b-crit1': {'nginx': True, 'findings': [finding('b-crit1', 'target_mismatch')]},
        'c-crit3': {'nginx': True, 'findings': [finding('c-crit3', 'upstream_timeout', '127.0.0.1:9004'),
                                                finding('c-crit3', 'upstream_down', '127.0.0.1:9005'),
                                                finding('c-crit3', 'header_too_big', '127.0.0.1:9006')]},
        'd-warn': {'nginx': True, 'findings': [finding('d-warn', 'upstream_timeout')]},
        'e-warn2': {'nginx': True, 'findings': [finding('e-warn2', 'pool_exhausted'),
                                                finding('e-warn2', 'firewall_block', '10.0.0.5:7080', severity='warning',
                                                        confirmed=False)]},
        'f-info': {'nginx': True, 'findings': [finding('f-info', 'not_nginx')]},
        'g-down': {'nginx': None, 'findings': [], 'note': 'not diagnosed (unreachable or failed)'},
        'h-ok': {'nginx': True, 'findings': []},
        'i-upstream': {'nginx': False, 'findings': [], 'note': 'no nginx on this host'},
        'aa-crit1': {'nginx': True, 'findings': [finding('aa-crit1', 'firewall_block', '10.0.0.6:7081', severity='critical',
                                                         confirmed=True)]},
    }


SMALL_ORDER = ['c-crit3', 'a-crit2', 'aa-crit1', 'b-crit1', 'e-warn2', 'd-warn', 'f-info', 'g-down', 'h-ok', 'i-upstream']
SMALL_CAUSES = [('upstream_down', 'critical', 2, 3), ('firewall_block', 'critical', 1, 1),
                ('target_mismatch', 'critical', 1, 1), ('upstream_timeout', 'warning', 2, 2),
                ('firewall_block', 'warning', 1, 1), ('header_too_big', 'warning', 1, 1),
                ('pool_exhausted', 'warning', 1, 1), ('not_nginx', 'info', 1, 1)]

CAUSE_MIX = ['upstream_down'] * 6 + ['target_mismatch'] * 3 + ['upstream_timeout'] * 4 + [
    'pool_exhausted', 'socket_permission', 'backend_crash', 'header_too_big', 'protocol_mismatch', 'dns_failure',
    'no_live_upstreams', 'firewall_block', 'not_nginx']


def bulk_fleet(n, seed=7):
    """n hosts: ~60% without finding, ~5% not diagnosed, the rest with 1-4 findings of the mix above. Each host
    is drawn from its own generator, so the first 1,000 hosts of a 10,000-host fleet are a 1,000-host fleet."""
    hosts = {}
    for i in range(n):
        rng = random.Random('%d-%d' % (seed, i))
        name = 'web-%05d.example.com' % i
        roll = rng.random()
        if roll < 0.05:
            hosts[name] = {'nginx': None, 'findings': [], 'note': 'not diagnosed (unreachable or failed)'}
        elif roll < 0.65:
            hosts[name] = {'nginx': True, 'findings': []}
        else:
            hosts[name] = {'nginx': True, 'findings': [
                finding(name, rng.choice(CAUSE_MIX), '10.%d.%d.%d:%d' % (i % 200, k, rng.randint(1, 254), rng.randint(3000, 9999)))
                for k in range(rng.choice((1, 1, 2, 3, 4)))]}
    return hosts


def page_of(hosts, title='fleet'):
    return parse(render_html(build_report(hosts, GENERATED, title)))


def counts(doc):
    return dict((tr.attrs['data-count'], int(tr.find('td').text())) for tr in doc.find('table', id='overview-counts').elements('tr'))


def cause_table(doc):
    rows = doc.find('table', id='cause-table').elements('tr')
    assert [th.text() for th in rows[0].elements('th')] == ['cause', 'severity', 'hosts', 'findings', 'what']
    return [(tds[0].text(), tds[1].text(), int(tds[2].text()), int(tds[3].text()))
            for tds in (tr.elements('td') for tr in rows[1:])]


def host_blocks(doc):
    return doc.find('section', id='hosts').find_all('details', class_='host')


# --- the small fleet, written out ----------------------------------------------------------------------------

def test_overview_numbers_are_those_of_the_input():
    doc = page_of(small_fleet())
    assert counts(doc) == {'hosts': 10, 'diagnosed': 9, 'without_nginx': 1, 'not_diagnosed': 1,
                           'hosts_with_findings': 7, 'findings': 11}
    by_sev = dict((tr.attrs['data-rank'], [td.text() for td in tr.elements('td')])
                  for tr in doc.find('table', id='by-severity').elements('tr')[1:])
    assert by_sev == {'critical': ['critical', '4', '5'], 'warning': ['warning', '2', '5'], 'info': ['info', '1', '1'],
                      'none': ['not diagnosed', '1', ''], 'healthy': ['no finding', '2', '']}
    # the stacked bar: one segment per non-empty group, widths in proportion to the hosts
    segments = doc.find('svg', id='severity-chart').find_all('rect')
    assert [r.attrs['data-rank'] for r in segments] == ['critical', 'warning', 'info', 'none', 'healthy']
    widths = [float(r.attrs['width']) for r in segments]
    assert abs(sum(widths) - float(doc.find('svg', id='severity-chart').attrs['width'])) < 0.1
    assert abs(widths[0] / widths[3] - 4.0) < 0.01


def test_cause_table_by_severity_then_host_count_and_the_chart_in_the_same_order():
    doc = page_of(small_fleet())
    assert cause_table(doc) == SMALL_CAUSES
    # the catalog's title of the cause is beside it
    first = doc.find('table', id='cause-table').elements('tr')[1]
    assert first.elements('td')[4].text() == registry.get('upstream_down').DOC['title']
    bars = doc.find('svg', id='cause-chart').find_all('g')
    assert [(g.attrs['data-cause'], g.attrs['data-severity']) for g in bars] == [r[:2] for r in SMALL_CAUSES]
    widths = [float(g.find('rect').attrs['width']) for g in bars]
    assert widths[0] == max(widths) and abs(widths[0] / widths[1] - 2.0) < 0.01
    # the label of an id seen with two severities says which; the number at the end of the bar is the host count
    labels = [g.find_all('text')[0].text() for g in bars]
    assert labels[1] == 'firewall_block (critical)' and labels[4] == 'firewall_block (warning)' and labels[0] == 'upstream_down'
    assert [int(g.find_all('text')[1].text()) for g in bars] == [r[2] for r in SMALL_CAUSES]


def test_worst_hosts_first_and_every_host_in_a_closed_details_block():
    doc = page_of(small_fleet())
    blocks = host_blocks(doc)
    assert [b.attrs['id'] for b in blocks] == ['host-' + n for n in SMALL_ORDER]
    assert all('open' not in b.attrs for b in blocks)
    assert [b.elements('summary')[0].find('strong').text() for b in blocks] == SMALL_ORDER
    assert [int(b.attrs['data-findings']) for b in blocks] == [3, 2, 1, 1, 2, 1, 1, 0, 0, 0]
    # the evidence inside is closed as well: nothing is laid out before a click
    assert all('open' not in d.attrs for d in doc.find_all('details'))
    # the findings of a host are in its block only, its note and "No finding." likewise
    c = blocks[0]
    assert [tr.elements('td')[1].text() for tr in c.find('table').elements('tr')[1:]] == [
        'upstream_down', 'header_too_big', 'upstream_timeout']  # build_report's order: severity, then id
    assert [p.text() for p in blocks[7].elements('p')] == [] and blocks[7].elements('summary')[0].text().endswith(
        'not diagnosed (unreachable or failed)')
    assert [p.text() for p in blocks[8].elements('p')] == ['No finding.']
    # the worst-hosts table: the hosts with findings or not diagnosed, linking to their block
    rows = doc.find('table', id='worst-table').elements('tr')[1:]
    assert [tr.attrs['data-host'] for tr in rows] == SMALL_ORDER[:8]
    assert [tr.find('a').attrs['href'] for tr in rows] == ['#host-' + n for n in SMALL_ORDER[:8]]
    assert [tr.elements('td')[1].text() for tr in rows] == ['critical'] * 4 + ['warning'] * 2 + ['info', 'not diagnosed']
    assert doc.find_all('p', id='worst-rest') == []


def test_self_contained_no_script_and_the_csp_forbids_scripts():
    page = render_html(build_report(small_fleet(), GENERATED))
    doc = parse(page)
    csp = [m for m in doc.find_all('meta') if (m.attrs.get('http-equiv') or '').lower() == 'content-security-policy']
    assert [m.attrs['content'] for m in csp] == ["default-src 'none'; style-src 'unsafe-inline'"]
    tags = set(n.tag for n in doc.iter()) - set(['#document'])
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for n in doc.iter():
        for key, value in n.attr_list:
            assert not key.startswith('on') and key not in ('src', 'srcset', 'action', 'formaction', 'style')
            if key == 'href':
                assert value.startswith('#')
    assert page.startswith('<!DOCTYPE html>') and '://' not in page.split('<body>', maxsplit=1)[0]


# --- hostile values ------------------------------------------------------------------------------------------

HOSTILE_NAME = 'evil"><script>alert(1)</script><img src=x onerror=alert(2)>'
HOSTILE_TEXT = '</pre></td></tr></table></details><iframe src="https://attacker.example/"></iframe><b onclick=x>'
HOSTILE_PATH = "/etc/nginx/sites-enabled/<svg onload=alert(3)>'.conf"
HOSTILE_ID = 'upstream_down"><script>alert(4)</script>'


def hostile_fleet():
    f = finding(HOSTILE_NAME, 'upstream_down', summary=HOSTILE_TEXT, conf=HOSTILE_PATH, sample=HOSTILE_TEXT)
    f['fix']['vars'] = {'to': HOSTILE_TEXT}
    g = finding('web2', 'upstream_timeout')
    g['id'] = HOSTILE_ID
    g['severity'] = 'critical" onmouseover="x'
    return {HOSTILE_NAME: {'nginx': True, 'findings': [f], 'note': HOSTILE_TEXT},
            'web2': {'nginx': True, 'findings': [g]},
            'web3': {'nginx': None, 'findings': [], 'note': HOSTILE_TEXT}}


def test_hostile_names_messages_paths_and_evidence_are_text_not_markup():
    page = render_html(build_report(hostile_fleet(), HOSTILE_TEXT, title=HOSTILE_NAME))
    doc = parse(page)
    tags = set(n.tag for n in doc.iter()) - set(['#document'])
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert not [k for n in doc.iter() for k, _v in n.attr_list if k.startswith('on') or k == 'src']
    # each value comes back exactly, as text or attribute value, where it belongs
    assert doc.find('head').find('title').text() == HOSTILE_NAME and doc.find('h1').text() == HOSTILE_NAME
    block = doc.find('details', id='host-' + HOSTILE_NAME)
    assert block.elements('summary')[0].find('strong').text() == HOSTILE_NAME
    assert block.elements('p')[0].text() == HOSTILE_TEXT  # the note
    cells = block.find('table').elements('tr')[1].elements('td')
    assert cells[3].text().count(HOSTILE_PATH) == 3  # server, location and pass lines of the route
    assert cells[4].children[0] == HOSTILE_TEXT  # the summary, then the evidence block
    assert HOSTILE_TEXT.replace('"', '\\"') in cells[4].find('pre').text()  # the log sample, inside the JSON
    assert '"to": "%s"' % HOSTILE_TEXT.replace('"', '\\"') in cells[5].find('pre').text()
    link = doc.find('tr', data_host=HOSTILE_NAME).find('a')
    assert link.attrs['href'] == '#host-' + quote(HOSTILE_NAME, safe='') and link.text() == HOSTILE_NAME
    # a hostile cause id and severity: a row of their own, a neutral class, the values intact
    row = doc.find('table', id='cause-table').find('tr', data_cause=HOSTILE_ID)
    assert row.attrs['data-severity'] == 'critical" onmouseover="x'
    assert row.elements('td')[0].text() == HOSTILE_ID
    assert row.elements('td')[1].find('span').attrs['class'] == 'sev other'
    assert doc.find('svg', id='cause-chart').find('g', data_cause=HOSTILE_ID).find('rect').attrs['class'] == 'bar other'
    assert doc.find('details', id='host-web3').elements('summary')[0].text().endswith(HOSTILE_TEXT)
    assert doc.find('body').elements('p')[0].text().startswith('generated ' + HOSTILE_TEXT)


# --- remediation, empty report -------------------------------------------------------------------------------

def test_remediation_overview_counts_the_records():
    fixed = finding('r1', 'upstream_down')
    left = finding('r2', 'upstream_timeout')
    hosts = {
        'r1': {'nginx': True, 'findings': [], 'remediation': {'before': [fixed], 'applied': [
            {'label': 'start backend', 'changed': True, 'changes': [{'path': '/etc/x'}]}]}},
        'r2': {'nginx': True, 'findings': [left], 'remediation': {'check_mode': True, 'before': [left]}},
        'r3': {'nginx': True, 'findings': [left], 'remediation': {'before': [left], 'failure': {'task': 'reload', 'msg': 'boom'}}},
        'r4': {'nginx': True, 'findings': []},
    }
    doc = page_of(hosts)
    got = dict((tr.attrs['data-count'], int(tr.find('td').text()))
               for tr in doc.find('table', id='remediation-counts').elements('tr'))
    assert got == {'remediated': 3, 'check_mode': 1, 'rolled_back': 1, 'before': 3, 'fixed': 1, 'remaining': 2, 'new': 0,
                   'not_seen_since': 0}
    summary = doc.find('details', id='host-r3').elements('summary')[0].text()
    assert summary.endswith('remediation: 0 fixed, 1 remaining, rolled back')
    assert [h.text() for h in doc.find('details', id='host-r1').find_all('h3')] == ['remediation']


def test_an_empty_report_still_renders():
    doc = page_of({})
    assert counts(doc) == {'hosts': 0, 'diagnosed': 0, 'without_nginx': 0, 'not_diagnosed': 0,
                           'hosts_with_findings': 0, 'findings': 0}
    assert doc.find_all('table', id='cause-table') == [] and host_blocks(doc) == []
    assert doc.find('section', id='causes').find('p').text() == 'No finding on any host.'


# --- generated fleets: computed expectations, the bounded list, the size -------------------------------------

def expected_order(hosts):
    sev = {'critical': 0, 'warning': 1, 'info': 2}

    def key(name):
        fs = hosts[name]['findings']
        if fs:
            rank = min(sev[f['severity']] for f in fs)
        else:
            rank = 4 if hosts[name]['nginx'] is None else 5
        return (rank, -len(fs), name)
    return sorted(hosts, key=key)


def test_a_generated_fleet_top_100_then_the_count_of_the_rest():
    hosts = bulk_fleet(600)
    doc = page_of(hosts)
    order = expected_order(hosts)
    blocks = host_blocks(doc)
    assert len(blocks) == 600 and [b.attrs['id'][len('host-'):] for b in blocks] == order
    attention = [n for n in order if hosts[n]['findings'] or hosts[n]['nginx'] is None]
    assert len(attention) > 150
    rows = doc.find('table', id='worst-table').elements('tr')[1:]
    assert [tr.attrs['data-host'] for tr in rows] == attention[:100]
    rest = doc.find('p', id='worst-rest')
    assert int(rest.attrs['data-rest']) == len(attention) - 100
    assert rest.text().startswith('and %d more host(s)' % (len(attention) - 100))
    # the cause table from the input
    table = {}
    for name, h in hosts.items():
        for f in h['findings']:
            row = table.setdefault((f['id'], f['severity']), [set(), 0])
            row[0].add(name)
            row[1] += 1
    want = sorted(((k[0], k[1], len(v[0]), v[1]) for k, v in table.items()),
                  key=lambda r: ({'critical': 0, 'warning': 1, 'info': 2}[r[1]], -r[2], -r[3], r[0]))
    assert cause_table(doc) == want
    assert counts(doc)['findings'] == sum(len(h['findings']) for h in hosts.values())
    assert counts(doc)['hosts_with_findings'] == sum(1 for h in hosts.values() if h['findings'])


def test_10000_hosts_stay_within_a_per_host_byte_bound_and_linear():
    small = render_html(build_report(bulk_fleet(1000), GENERATED)).encode('utf-8')
    big = render_html(build_report(bulk_fleet(10000), GENERATED)).encode('utf-8')
    per_host_small, per_host_big = len(small) / 1000.0, len(big) / 10000.0
    print('report.html: 1,000 hosts %d bytes (%.0f/host), 10,000 hosts %d bytes (%.0f/host)' % (
        len(small), per_host_small, len(big), per_host_big))
    # about 40% of the hosts have 1-4 findings each with a log sample, evidence and fix: ~2.5 kB per finding
    assert per_host_big < 4000
    # linear: ten times the hosts, at most ten times the bytes (plus the spread of the draw)
    assert per_host_big < per_host_small * 1.15
    assert big.count(b'<details class="host"') == 10000


def test_the_worst_hosts_carry_their_evidence_the_others_point_at_report_json(monkeypatch):
    """Evidence is most of the page: the worst EVIDENCE_HOSTS hosts carry it, every other host's findings are
    still listed (id, target, where, summary, fix) with a pointer to report.json."""
    from ansible_collections.badgateway.nginx.plugins.plugin_utils import _report
    monkeypatch.setattr(_report, 'EVIDENCE_HOSTS', 3)
    doc = page_of(small_fleet())
    blocks = host_blocks(doc)
    order = [b.attrs['id'][len('host-'):] for b in blocks]
    assert order == SMALL_ORDER
    for n, block in enumerate(blocks):
        findings = len(block.find_all('tr')) - 1 if block.find_all('table') else 0
        evidence = [d for d in block.find_all('details') if d is not block]
        pointer = [p for p in block.find_all('p', class_='meta') if 'report.json' in p.text()]
        if n < 3:
            assert len(evidence) == findings and not pointer, order[n]
        else:
            assert evidence == [], order[n]
            assert bool(pointer) == (findings > 0), order[n]
            if findings:
                assert '"%s"' % order[n] in pointer[0].text()
    assert int(blocks[4].attrs['data-findings']) == 2 and len(blocks[4].find_all('tr')) == 3
