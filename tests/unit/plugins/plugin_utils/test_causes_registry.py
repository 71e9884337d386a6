# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The cause registry is the one home of every cause: the tables, choices and documents that list
causes elsewhere are derived from it or checked against it here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes as registry
from ansible_collections.badgateway.nginx.plugins.plugin_utils import _remediation as rx

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


def read(*parts):
    with open(os.path.join(ROOT, *parts)) as f:
        return f.read()


def test_every_cause_module_follows_the_contract():
    causes = registry.causes()
    assert len(causes) == len(set(c.ID for c in causes)) >= 15
    stages = [s[0] for s in registry.STAGES]
    for c in causes:
        assert c.SEVERITY in registry.SEVERITIES
        assert (c.FIX_ROLE is None) == bool(c.NOT_FIXABLE), c.ID
        assert c.STEPS and all(step[0] in stages for step in c.STEPS), c.ID
        if c.FIX_ROLE:
            assert os.path.isdir(os.path.join(ROOT, 'roles', c.FIX_ROLE)), c.ID
            # a cause the diagnosis decides is fixed by the remediate role; an audit-only risk may name a role
            # people run on their own (proxy_headers)
            assert c.FIX_ROLE in rx.ROLE_ORDER or not registry.diagnosed(c), c.ID


def test_docs_causes_md_is_generated_from_the_registry():
    assert read('docs', 'causes.md') == registry.render_markdown(), 'run: python scripts/causes-doc.py'


def test_the_triage_is_derived_from_the_registry():
    findings = [{'id': c.ID, 'summary': c.ID} for c in registry.causes()]
    t = rx.triage(findings)
    for c in registry.causes():
        if c.FIX_ROLE in rx.ROLE_ORDER:
            assert [f['id'] for f in t['roles'][c.FIX_ROLE]].count(c.ID) == 1
        elif c.FIX_ROLE:
            assert {'id': c.ID, 'summary': c.ID,
                    'reason': 'fixed by the role badgateway.nginx.%s, run on its own' % c.FIX_ROLE} in t['reported']
        else:
            assert {'id': c.ID, 'summary': c.ID, 'reason': c.NOT_FIXABLE} in t['reported']


def test_the_remediate_role_accepts_exactly_the_registry_ids():
    spec = yaml.safe_load(read('roles', 'remediate', 'meta', 'argument_specs.yml'))['argument_specs']['main']['options']
    for option in ('remediate_include', 'remediate_exclude'):
        assert spec[option]['choices'] == registry.ids(), option


def _listed(text):
    return set(re.findall(r'\b[a-z]+(?:_[a-z]+)+\b', text)) & set(registry.ids())


def test_the_documents_that_list_the_unfixable_causes_list_all_of_them():
    unfixable = set(registry.not_fixable())
    triage_doc = read('plugins', 'filter', 'remediation_triage.py').split('no role changes', 1)[1].split('with the reason')[0]
    assert _listed(triage_doc) == unfixable
    remediate_doc = read('roles', 'remediate', 'meta', 'argument_specs.yml').split('cannot be fixed on the', 1)[1]
    assert _listed(remediate_doc.split('are reported')[0]) == unfixable


def test_the_correlator_severity_and_role_come_from_the_cause():
    from ansible_collections.badgateway.nginx.plugins.plugin_utils._correlate import Correlator
    ctx = Correlator('web1', {}, {})
    for c in registry.causes():
        f = ctx.add(c.ID, None, 's', {})
        assert f['severity'] == c.SEVERITY
        assert f['fix']['role'] == (('badgateway.nginx.' + c.FIX_ROLE) if c.FIX_ROLE else None)


def test_the_node_log_kinds_point_at_registry_causes():
    """The node cannot import the registry (plugin_utils stays on the controller); the catalog id its log
    tables give each kind must still be a cause of the registry, or None for a kind with no cause of its own."""
    from ansible_collections.badgateway.nginx.plugins.module_utils import _logs as logs
    ids = set(registry.ids())
    for table in (logs.NGINX_KINDS, logs.FPM_KINDS):
        assert set(table.values()) - {None} <= ids, set(table.values()) - ids
