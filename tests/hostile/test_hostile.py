# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile and broken input against every module and filter (cases.py), each case classified
(harness.classify): only "clear error" and "correct" pass.

The selected cases run once, in parallel (HOSTILE_WORKERS, default 4: they wait on processes), at
the first test; the totals by outcome are printed at the end.  A case in cases.XFAIL is a strict
xfail: it turns red when its defect is fixed, and then it must be un-marked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import concurrent.futures
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import cases as case_table
import harness

CASES = case_table.all_cases()
BY_ID = dict((c['id'], c) for c in CASES)

pytestmark = pytest.mark.skipif(not os.path.exists(harness.NGINX), reason='nginx binary not installed')


def _firewall_state():
    """The controller's firewall rules as text (nft, then iptables), to prove no case touched them."""
    for argv in (['nft', 'list', 'ruleset'], ['iptables-save'], ['ip6tables-save']):
        if shutil.which(argv[0]):
            proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
            if proc.returncode == 0:
                yield argv[0], [l for l in proc.stdout.decode('utf-8', 'replace').splitlines() if not l.startswith('#')]


@pytest.fixture(scope='session')
def outcomes(request):
    selected = [item.callspec.params['case_id'] for item in request.session.items
                if getattr(item, 'callspec', None) and 'case_id' in item.callspec.params]
    # the slow ones (a whole ansible run each) first, so that the quick ones fill the other workers
    selected.sort(key=lambda cid: BY_ID[cid]['kind'] != 'action')
    base = tempfile.mkdtemp(prefix='bgw-hostile-')
    firewall_before = list(_firewall_state())
    workers = int(os.environ.get('HOSTILE_WORKERS', '4'))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(selected, pool.map(lambda cid: harness.run_case(BY_ID[cid], base), selected)))
    results['__firewall__'] = firewall_before == list(_firewall_state())
    shutil.rmtree(base, ignore_errors=True)
    yield results
    _print_totals(request.config, selected, results)
    if os.environ.get('HOSTILE_RESULTS'):
        with open(os.environ['HOSTILE_RESULTS'], 'w') as f:
            json.dump([results[cid] for cid in selected], f, indent=1)


def _print_totals(config, selected, results):
    """Totals by outcome, the slowest cases and every bad one, on the terminal (not captured)."""
    totals = collections.Counter(results[cid]['outcome'] for cid in selected)
    lines = ['hostile cases: %d: %s' % (len(selected), ', '.join('%d %s' % (totals[o], o) for o in harness.OUTCOMES))]
    per_target = collections.Counter()
    for cid in selected:
        per_target[BY_ID[cid]['target']] += results[cid]['seconds']
    lines.append('seconds by target: %s' % ', '.join('%s %.0f' % kv for kv in per_target.most_common()))
    slowest = sorted(selected, key=lambda cid: -results[cid]['seconds'])[:5]
    lines.append('slowest: %s' % ', '.join('%s %.1fs' % (c, results[c]['seconds']) for c in slowest))
    for cid in selected:
        r = results[cid]
        if r['outcome'] not in harness.GOOD:
            lines.append('  %s%s: %s: %s' % (cid, ' (xfail)' if BY_ID[cid].get('xfail') else '', r['outcome'],
                                             r['detail'][:300].replace('\n', ' ')))
    reporter = config.pluginmanager.getplugin('terminalreporter')
    capture = config.pluginmanager.getplugin('capturemanager')
    if reporter and capture:
        with capture.global_and_fixture_disabled():
            reporter.write_line('')
            for line in lines:
                reporter.write_line(line)


def _param(case):
    marks = [pytest.mark.xfail(strict=True, reason=case['xfail'])] if case.get('xfail') else []
    return pytest.param(case['id'], id=case['id'], marks=marks)


@pytest.mark.parametrize('case_id', [_param(c) for c in CASES])
def test_hostile_case(outcomes, case_id):
    r = outcomes[case_id]
    assert r['outcome'] in harness.GOOD, '%s: %s' % (r['outcome'], r['detail'])


def test_no_case_touched_the_firewall(outcomes):
    assert outcomes['__firewall__'], 'the controller firewall rules changed during the hostile cases'


def test_table_covers_every_module_and_filter():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    modules = set(f[:-3] for f in os.listdir(os.path.join(root, 'plugins/modules')) if f.endswith('.py'))
    filters = set(f[:-3] for f in os.listdir(os.path.join(root, 'plugins/filter')) if f.endswith('.py'))
    covered = set(c['target'] for c in CASES)
    assert modules - covered == set() and filters - covered == set()
