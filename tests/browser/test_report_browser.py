# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html of 10,000 hosts in a real browser: headless Chromium loads the file and the checks read the DOM it
built (--dump-dom, parsed with html.parser) and the pixels it painted (--screenshot, decoded here).

The fleet is synthetic (report_fleet.py: the registry's causes in a realistic mix, findings shaped as the
correlator records them) and goes through the collection's build_report and render_html; every expected number
and order is computed here from the input hosts. The load times are measured and printed (run with -s, or see
the report of scripts/test.sh browser); only the timeout bounds them. Skipped when chromium is not installed
(scripts/setup.sh installs the Debian package).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import zlib
from html.parser import HTMLParser

import pytest

from ansible_collections.badgateway.nginx.plugins.plugin_utils._report import build_report, render_html

import report_fleet

HOSTS = 10000
TIMEOUT = 300  # seconds for one Chromium run; the times printed are what it took
WINDOW = (1280, 2000)
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
SEV = {'critical': 0, 'warning': 1, 'info': 2}
CRITICAL_RGB, WARNING_RGB = (0xc6, 0x28, 0x28), (0xf9, 0xc7, 0x4f)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason='chromium is not installed: scripts/setup.sh installs the Debian package chromium')


def chromium(url, *args):
    """Run headless Chromium on url with a fresh profile; (stdout, seconds). The whole process group is killed
    at the timeout."""
    profile = tempfile.mkdtemp(prefix='bgw-chromium-')
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--user-data-dir=%s' % profile] + list(args) + [url]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail('chromium did not finish loading %s within %d s' % (url, TIMEOUT))
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, err.decode('utf-8', 'replace')[-3000:]
    return out, seconds


class Node(object):
    __slots__ = ('tag', 'attrs', 'children', 'parent')

    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.children, self.parent = tag, dict(attrs), [], parent

    def text(self):
        return ''.join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def all(self, tag, **attrs):
        want = dict((k.rstrip('_').replace('_', '-'), v) for k, v in attrs.items())
        return [n for n in self.iter() if n.tag == tag and all(
            v in (n.attrs.get(k) or '').split() if k == 'class' else n.attrs.get(k) == v for k, v in want.items())]

    def one(self, tag, **attrs):
        found = self.all(tag, **attrs)
        assert len(found) == 1, '%d <%s %r>' % (len(found), tag, attrs)
        return found[0]

    def kids(self, tag):
        return [c for c in self.children if isinstance(c, Node) and c.tag == tag]


VOID = frozenset(('area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'))


class DomBuilder(HTMLParser):
    """The tree of a serialized DOM; every non-void element closed by its own end tag."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.root = self.cur = Node('#document', [], None)
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
        if self.cur.tag != tag:
            self.errors.append('</%s> while <%s> is open' % (tag, self.cur.tag))
            n = self.cur
            while n.parent is not None and n.tag != tag:
                n = n.parent
            if n.parent is None:
                return
            self.cur = n
        self.cur = self.cur.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(text):
    b = DomBuilder()
    b.feed(text)
    b.close()
    assert b.errors == [] and b.cur is b.root
    return b.root


def rows(table):
    """The <tr> of a table: Chromium's DOM has them in a <tbody> the HTML did not write."""
    return list(table.all('tr'))


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG (what Chromium's --screenshot writes)."""
    with open(path, 'rb') as f:
        data = f.read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            header = struct.unpack('>IIBBBBB', chunk)
        elif kind == b'IDAT':
            idat.append(chunk)
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(b''.join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    out = []
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return width, height, out


# --- the fleet and what it must show ---------------------------------------------------------------------------

@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    hosts = report_fleet.synthetic_hosts(HOSTS)
    report = build_report(hosts, '2026-12-03T08:00:00Z', 'nginx 502/504 diagnosis: %d hosts' % HOSTS)
    t0 = time.perf_counter()
    page = render_html(report)
    render_s = time.perf_counter() - t0
    path = tmp_path_factory.mktemp('report') / 'report.html'
    path.write_text(page, encoding='utf-8')
    size = path.stat().st_size
    print('\nreport.html: %d hosts, %d findings, %d bytes (%.0f bytes/host), render_html %.2f s' % (
        HOSTS, report['totals']['findings'], size, size / float(HOSTS), render_s))
    return {'hosts': hosts, 'path': str(path), 'bytes': size}


def expected_order(hosts):
    def key(name):
        fs = hosts[name]['findings']
        rank = min(SEV[f['severity']] for f in fs) if fs else (4 if hosts[name]['nginx'] is None else 5)
        return (rank, -len(fs), name)
    return sorted(hosts, key=key)


def expected_causes(hosts):
    table = {}
    for name, h in hosts.items():
        for f in h['findings']:
            row = table.setdefault((f['id'], f['severity']), [set(), 0])
            row[0].add(name)
            row[1] += 1
    return sorted(((k[0], k[1], len(v[0]), v[1]) for k, v in table.items()),
                  key=lambda r: (SEV[r[1]], -r[2], -r[3], r[0]))


@pytest.fixture(scope='module')
def dom(fleet):
    _out, empty_s = chromium('file://' + os.path.join(os.path.dirname(os.path.abspath(__file__)), 'empty.html'),
                             '--dump-dom')
    out, seconds = chromium('file://' + fleet['path'], '--dump-dom')
    print('chromium --dump-dom: %d hosts (%d bytes) loaded and serialized in %.1f s (DOM %d bytes); '
          'an empty page takes %.1f s; load average %.1f' % (HOSTS, fleet['bytes'], seconds, len(out), empty_s,
                                                             os.getloadavg()[0]))
    t0 = time.perf_counter()
    tree = parse(out.decode('utf-8'))
    print('html.parser read the DOM in %.1f s' % (time.perf_counter() - t0))
    return tree


def test_chromium_shows_the_overview_with_the_counts_of_the_input(dom, fleet):
    hosts = fleet['hosts']
    got = dict((tr.attrs['data-count'], int(tr.one('td').text())) for tr in rows(dom.one('table', id='overview-counts')))
    with_findings = [h for h in hosts.values() if h['findings']]
    assert got == {
        'hosts': HOSTS,
        'diagnosed': sum(1 for h in hosts.values() if h['nginx'] is not None),
        'without_nginx': sum(1 for h in hosts.values() if h['nginx'] is False),
        'not_diagnosed': sum(1 for h in hosts.values() if h['nginx'] is None),
        'hosts_with_findings': len(with_findings),
        'findings': sum(len(h['findings']) for h in with_findings),
    }
    by_sev = dict((tr.attrs['data-rank'], int(tr.all('td')[1].text())) for tr in rows(dom.one('table', id='by-severity'))[1:])
    worst = [min(SEV[f['severity']] for f in h['findings']) for h in with_findings]
    assert by_sev['critical'] == worst.count(0) and by_sev['warning'] == worst.count(1) and by_sev['info'] == worst.count(2)
    assert by_sev['healthy'] == sum(1 for h in hosts.values() if not h['findings'] and h['nginx'] is not None)


def test_chromium_shows_the_cause_table_worst_first(dom, fleet):
    table = rows(dom.one('table', id='cause-table'))
    got = [(tds[0].text(), tds[1].text(), int(tds[2].text()), int(tds[3].text())) for tds in (tr.all('td') for tr in table[1:])]
    want = expected_causes(fleet['hosts'])
    assert got == want
    assert len(set(r[0] for r in got)) >= 12  # the mix covers the registry, not one cause
    chart = dom.one('svg', id='cause-chart')
    assert [(g.attrs['data-cause'], g.attrs['data-severity'], int(g.all('text')[1].text())) for g in chart.all('g')] == [
        r[:3] for r in want]


def test_chromium_has_one_closed_details_per_host_worst_first_and_the_top_100(dom, fleet):
    hosts = fleet['hosts']
    blocks = dom.one('section', id='hosts').all('details', class_='host')
    assert len(blocks) == HOSTS
    assert [b.attrs['id'] for b in blocks] == ['host-' + n for n in expected_order(hosts)]
    assert not [b for b in blocks if 'open' in b.attrs]
    assert dom.all('script') == []
    attention = [n for n in expected_order(hosts) if hosts[n]['findings'] or hosts[n]['nginx'] is None]
    worst = rows(dom.one('table', id='worst-table'))[1:]
    assert [tr.attrs['data-host'] for tr in worst] == attention[:100]
    assert int(dom.one('p', id='worst-rest').attrs['data-rest']) == len(attention) - 100


def test_chromium_paints_the_overview_and_its_charts(fleet, tmp_path):
    shot = tmp_path / 'report.png'
    _out, seconds = chromium('file://' + fleet['path'], '--hide-scrollbars', '--window-size=%d,%d' % WINDOW,
                             '--screenshot=%s' % shot)
    width, height, pixels = png_pixels(str(shot))
    print('chromium --screenshot %dx%d: %d hosts loaded and painted in %.1f s; load average %.1f' % (
        width, height, HOSTS, seconds, os.getloadavg()[0]))
    assert (width, height) == WINDOW
    top = pixels[:height // 2]
    colours = {}
    for line in top:
        for px in line:
            colours[px] = colours.get(px, 0) + 1
    # the first screen holds the severity bar and the cause chart: wide red and yellow bars drawn from inline
    # SVG and the inline style sheet (a CSP that blocked the styles would leave them black or unpainted)
    assert colours.get(CRITICAL_RGB, 0) > 5000, sorted(colours.items(), key=lambda kv: -kv[1])[:8]
    assert colours.get(WARNING_RGB, 0) > 2000, sorted(colours.items(), key=lambda kv: -kv[1])[:8]
