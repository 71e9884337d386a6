# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Data-driven correlator cases: correlate_cases/<cause>.yml, one list of cases per cause.

A case gives the input as it was recorded and the findings expected of it:

- ``nginx``: ``files`` ({path: text}, the first is the main nginx.conf), optional ``errors`` (what
  ``nginx -t`` said, as nginx_facts records it) and ``loaded`` (the node's reload record); the facts
  are built from it with the real parser (build_facts). Or ``facts``: recorded facts (null: no nginx).
- ``checks``: what nginx_probe returned. Log text goes through the node's own code: ``error_logs``
  ({path: recorded lines}) and ``php_fpm.logs`` are written to files and read with nginx_probe.read_log
  (the real classifiers and grouping); ``php_fpm.files`` ({path: text}) are parsed with
  _php_fpm.parse_config; ``firewall: {recorded: <dir>}`` replays a recording of
  tests/unit/fixtures/firewall through _firewall.collect; ``resources.meminfo`` is /proc/meminfo
  text read by _host_checks.memory, ``resources.kernel_log`` kernel log lines grouped as
  nginx_probe's kernel_oom does; ``mac`` holds ``selinux`` and ``apparmor`` (their recorded state) and
  ``audit_log`` / ``kernel_log`` lines, read with nginx_probe's MAC classifier and grouped into their
  ``denials`` as nginx_probe.mac does. Everything else (listeners, probes, sockets, http, keepalive...) is recorded data.
- ``peers``: {inventory name: checks of the same shape}; ``claimed``: [[address, port]] of the fleet.
- ``expect``: the findings, compared as a multiset on id, severity and target text; ``confirmed`` when
  given exactly; ``evidence`` and ``fix`` (fix vars) as a subset (lists element by element, same length;
  a null value: the key is absent or null).
- ``xfail``: a reason; the case records what the correlator should do and does not do yet (strict).
- ``audit: true``: the input is judged as the audit judges it (the latent risks; registry.AUDIT_STAGES).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest
import yaml

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry
from ansible_collections.badgateway.nginx.plugins.module_utils import _firewall as firewall
from ansible_collections.badgateway.nginx.plugins.module_utils._command import CommandError
from ansible_collections.badgateway.nginx.plugins.module_utils import _host_checks as host_checks
from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as log_reader
from ansible_collections.badgateway.nginx.plugins.module_utils import _mac as mac_reader
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import build_facts
from ansible_collections.badgateway.nginx.plugins.modules import nginx_probe
from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import diagnose

HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, 'correlate_cases')
FIREWALL_FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)), 'fixtures', 'firewall')

# every cause the correlator can report (docs/causes.md); each needs a firing case in <cause>.yml
# every cause of the registry needs a firing case (a new cause module without one fails here)
CAUSES = tuple(registry.ids())

# nginx_probe's defaults (log_lines, log_since, redaction); no journal: no last change
PROBE_PARAMS = {'log_lines': 5000, 'log_since': 0, 'redact_query': True, 'redact_client': False, '_last_change': None}
CASE_KEYS = {'name', 'nginx', 'facts', 'checks', 'peers', 'claimed', 'expect', 'host', 'xfail', 'audit'}
EXPECT_KEYS = {'id', 'severity', 'target', 'confirmed', 'evidence', 'fix'}


def correlate(inputs):
    """The one call into the correlator: every case goes through here."""
    return diagnose(inputs['host'], inputs['facts'], inputs['checks'], peers=inputs['peers'], claimed=inputs['claimed'],
                    audit=inputs['audit'])


# --- loading -----------------------------------------------------------------------

def load_cases():
    cases = []
    for name in sorted(os.listdir(CASES_DIR)):
        if not name.endswith('.yml'):
            continue
        with open(os.path.join(CASES_DIR, name)) as f:
            data = yaml.safe_load(f)
        assert isinstance(data, list) and data, '%s: a list of cases' % name
        for case in data:
            cases.append((name, case))
    return cases


CASES = load_cases()


# --- building the inputs from the recorded data ------------------------------------------

def _write(root, path, text):
    local = os.path.join(str(root), path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(local)):
        os.makedirs(os.path.dirname(local))
    with open(local, 'w') as f:
        f.write(text)
    return local


def facts_of(case):
    if 'facts' in case:
        return case['facts']
    nginx = case['nginx']
    files = [{'path': p, 'content': t} for p, t in nginx['files'].items()]
    errors = nginx.get('errors') or []
    raw = {'files': files, 'config': files[0]['path'], 'conf_prefix': os.path.dirname(files[0]['path']) + '/',
           'valid': not errors, 'validation': {'errors': errors, 'warnings': []}}
    if 'loaded' in nginx:
        raw['loaded'] = nginx['loaded']
    return build_facts(raw)


class RecordedRun:
    """_firewall's run(argv, timeout), answering from a recording's commands.json."""

    def __init__(self, scenario):
        directory = os.path.join(FIREWALL_FIXTURES, scenario)
        with open(os.path.join(directory, 'commands.json')) as f:
            calls = json.load(f)['calls']
        self.answers = {}
        for call in calls:
            if call.get('missing'):
                self.answers[tuple(call['argv'])] = None
            else:
                with open(os.path.join(directory, call['stdout']), 'rb') as f:
                    self.answers[tuple(call['argv'])] = (call['rc'], f.read(), call['stderr'])

    def __call__(self, argv, timeout):
        answer = self.answers[tuple(argv)]
        if answer is None:
            raise CommandError('cannot run %s: No such file or directory' % argv[0])
        return answer


def firewall_of(spec):
    if isinstance(spec, dict) and set(spec) == {'recorded'}:
        return firewall.collect(run=RecordedRun(spec['recorded']))
    return spec


def php_fpm_of(spec, root):
    """nginx_probe.php_fpm() on a tree of recorded files: parse every main config, read the log each names."""
    if spec is None:
        return None
    files = spec.get('files') or {}
    for path, text in files.items():
        _write(root, path, text)
    mains = spec.get('configs') or list(files)[:1]
    configs = [php_fpm.parse_config(path, root=str(root)) for path in mains]
    texts = dict(spec.get('logs') or {})
    logs = {}
    for cfg in configs:
        log = ((cfg.get('global') or {}).get('error_log') or {}).get('value')
        if log in texts and log not in logs:
            local = _write(root, log, texts.pop(log))
            logs[log] = nginx_probe.read_log(local, log_reader.classify_fpm_line, log_reader.fpm_time, PROBE_PARAMS,
                                             ('kind', 'pool'), epochs_of=('max_children',))
    assert not texts, 'PHP-FPM logs no config names as its error_log: %s' % sorted(texts)
    return {'configs': configs, 'processes': spec.get('processes') or {}, 'logs': logs}


def resources_of(spec, root):
    if spec is None:
        return None
    res = {'memory': None, 'load': None, 'disks': [], 'nginx_files': [], 'oom': []}
    for key, value in spec.items():
        if key == 'meminfo':
            _write(root, '/proc/meminfo', value)
            res['memory'] = host_checks.memory(proc=os.path.join(str(root), 'proc'))
        elif key == 'kernel_log':
            local = _write(root, '/var/log/kern.log', value)
            groups = nginx_probe.read_log(local, log_reader.classify_kernel_line, log_reader.line_time, PROBE_PARAMS,
                                          ('kind', 'process'))['groups']
            res['oom'] = [g for g in groups if g.get('kind') == 'oom_kill']
        else:
            res[key] = value
    return res


def mac_of(spec, root):
    """nginx_probe.mac() on recorded state and log lines."""
    if spec is None:
        return None
    groups, logs = [], {}
    for key, path in (('audit_log', '/var/log/audit/audit.log'), ('kernel_log', '/var/log/kern.log')):
        if key in spec:
            found = nginx_probe.read_log(_write(root, path, spec[key]), nginx_probe.nginx_denial, mac_reader.audit_time,
                                         PROBE_PARAMS, mac_reader.DENIAL_KEY)
            groups.extend(found['groups'])
            logs[path] = found['info']
    return nginx_probe.mac_result(spec.get('selinux'), spec.get('apparmor'), groups, logs)


def checks_of(spec, root):
    spec = dict(spec or {})
    checks = {'addresses': spec.pop('addresses', ['127.0.0.1', '::1']),
              'listeners': spec.pop('listeners', {'tcp': [], 'unix': []}),
              'probes': spec.pop('probes', []), 'sockets': spec.pop('sockets', {}), 'http': spec.pop('http', []),
              'keepalive': spec.pop('keepalive', [])}
    checks['error_logs'] = {}
    for path, text in (spec.pop('error_logs', None) or {}).items():
        local = _write(root, path, text)
        checks['error_logs'][path] = nginx_probe.read_log(local, log_reader.classify_error_line, log_reader.nginx_time,
                                                          PROBE_PARAMS)
    checks['firewall'] = firewall_of(spec.pop('firewall', None))
    checks['php_fpm'] = php_fpm_of(spec.pop('php_fpm', None), root)
    checks['resources'] = resources_of(spec.pop('resources', None), root)
    checks['mac'] = mac_of(spec.pop('mac', None), root)
    for recorded in ('identity', 'headers'):
        if recorded in spec:
            checks[recorded] = spec.pop(recorded)
    assert not spec, 'unknown checks keys: %s' % sorted(spec)
    return checks


def inputs_of(case, tmp_path):
    unknown = set(case) - CASE_KEYS
    assert not unknown, 'unknown case keys: %s' % sorted(unknown)
    peers = {}
    for name, spec in (case.get('peers') or {}).items():
        peers[name] = checks_of(spec, tmp_path / ('peer-%s' % name))
    return {'host': case.get('host', 'web1'), 'facts': facts_of(case), 'checks': checks_of(case.get('checks'), tmp_path / 'node'),
            'peers': peers, 'claimed': set(tuple(c) for c in case.get('claimed') or ()), 'audit': bool(case.get('audit'))}


# --- comparing -------------------------------------------------------------------------

def subset(expected, actual, where):
    """expected is a part of actual: dict keys a subset (null: absent or null), lists element by element,
    scalars equal."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), '%s: expected a dict, got %r' % (where, actual)
        for key, value in expected.items():
            if value is None and key not in actual:
                continue  # null: absent or null
            assert key in actual, '%s: no key %r (has %s)' % (where, key, sorted(actual))
            subset(value, actual[key], '%s.%s' % (where, key))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), \
            '%s: expected %d item(s), got %r' % (where, len(expected), actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            subset(e, a, '%s[%d]' % (where, i))
    else:
        assert type(expected) is type(actual) or (isinstance(expected, (int, float)) and not isinstance(expected, bool)
                                                  and isinstance(actual, (int, float)) and not isinstance(actual, bool)), \
            '%s: expected %r, got %r' % (where, expected, actual)
        assert expected == actual, '%s: expected %r, got %r' % (where, expected, actual)


def shown(findings):
    return [{'id': f['id'], 'severity': f['severity'], 'target': (f['target'] or {}).get('text'),
             'confirmed': f.get('confirmed'), 'summary': f['summary']} for f in findings]


def params():
    """One test per case; a case with ``xfail: reason`` records what the correlator should do and does not yet."""
    return [pytest.param(source, case, id='%s:%s' % (source, case.get('name')),
                         marks=[pytest.mark.xfail(reason=case['xfail'], strict=True)] if case.get('xfail') else [])
            for source, case in CASES]


def check_finding(found, expected):
    """AssertionError unless the finding is what expected says (confirmed, evidence and fix vars)."""
    where = '%s %s' % (expected['id'], expected.get('target'))
    if 'confirmed' in expected:
        assert found.get('confirmed') is expected['confirmed'], '%s: confirmed %r' % (where, found.get('confirmed'))
    subset(expected.get('evidence') or {}, found['evidence'], '%s: evidence' % where)
    subset(expected.get('fix') or {}, found['fix']['vars'], '%s: fix' % where)


@pytest.mark.parametrize('source, case', params())
def test_case(source, case, tmp_path):
    findings = correlate(inputs_of(case, tmp_path))
    expected = case['expect']
    for e in expected:
        assert not set(e) - EXPECT_KEYS, 'unknown expect keys: %s' % sorted(set(e) - EXPECT_KEYS)
    key = [(f['id'], f['severity'], (f['target'] or {}).get('text')) for f in findings]
    assert sorted(key, key=repr) == sorted([(e['id'], e['severity'], e.get('target')) for e in expected], key=repr), \
        json.dumps(shown(findings), indent=1)
    # findings with the same id and target (two config_invalid) pair with the expectations in any order
    unused = list(range(len(findings)))
    for e in expected:
        same = [i for i in unused if key[i] == (e['id'], e['severity'], e.get('target'))]
        errors = []
        for i in same:
            try:
                check_finding(findings[i], e)
            except AssertionError as error:
                errors.append(str(error))
                continue
            unused.remove(i)
            break
        else:
            raise AssertionError(errors[0] if len(errors) == 1 else errors)


def test_every_case_file_is_a_cause_and_names_are_unique():
    names = {}
    for source, case in CASES:
        assert source[:-len('.yml')] in CAUSES, '%s is not a cause' % source
        assert case.get('name') and 'expect' in case, '%s: a case needs a name and expect' % source
        names.setdefault(source, []).append(case['name'])
    for source, listed in names.items():
        assert len(listed) == len(set(listed)), '%s: duplicate case names' % source


@pytest.mark.parametrize('cause', CAUSES)
def test_every_cause_has_a_firing_case(cause):
    firing = [case['name'] for source, case in CASES if source == cause + '.yml' and not case.get('xfail')
              and any(e['id'] == cause for e in case['expect'])]
    assert firing, 'no case of %s.yml expects a %s finding' % (cause, cause)


def test_firewall_block_fires_confirmed_and_unconfirmed():
    seen = set(e.get('confirmed') for source, case in CASES if source == 'firewall_block.yml' and not case.get('xfail')
               for e in case['expect'] if e['id'] == 'firewall_block')
    assert {True, False} <= seen
