# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The cause registry: one module of this package per cause of the catalog.

A cause module holds everything about its cause, from evidence to fix:

``ID``            the finding id (the module's name);
``SEVERITY``      critical, warning or info;
``SIGNATURE``     the evidence kinds that point at it (log-line kinds of module_utils/_logs, probe results);
``FIX_ROLE``      the remediation role (short name) that fixes it on the host, or None;
``NOT_FIXABLE``   why no role changes it on the host (when FIX_ROLE is None);
``DOC``           its entry of docs/causes.md: ``title``, ``evidence``, ``decided``, ``fix`` (markdown);
``STEPS``         how it is decided: ``(stage, order, function)`` tuples (see STAGES).

The correlator (plugin_utils/_correlate) runs the steps of every cause stage by stage; every table
the rest of the collection needs (severities, fixing roles, the triage's choices, the catalog's
documentation) is derived here.  Adding a cause is adding one module to this package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

# (stage, scope, policy, skipped when this stage of the same target found something)
#   config     once per host, before the targets: what nginx -t and the parser say of the files
#   connect    per target: why a connection fails; the first step that finds something decides
#   queue      per target: what the backend's own log says while nginx may have logged nothing
#   transport  per target: the protocol spoken on the connection; the first finding decides
#   response   per target: failures after the connection; every step runs (skipped after transport)
#   host       once per host, after the targets: host-wide causes
STAGES = (
    ('config', 'host', 'all', None),
    ('connect', 'target', 'first', None),
    ('queue', 'target', 'all', None),
    ('transport', 'target', 'first', None),
    ('response', 'target', 'all', 'transport'),
    ('host', 'host', 'all', None),
)
SEVERITIES = ('critical', 'warning', 'info')
REQUIRED = ('ID', 'SEVERITY', 'SIGNATURE', 'FIX_ROLE', 'NOT_FIXABLE', 'DOC', 'STEPS')

_LOADED = []


class RegistryError(Exception):
    """A cause module that does not follow the contract above."""


def _check(module):
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if missing:
        raise RegistryError('cause module %s lacks %s' % (module.__name__, ', '.join(missing)))
    if module.SEVERITY not in SEVERITIES:
        raise RegistryError('cause %s: severity %r is not one of %s' % (module.ID, module.SEVERITY, ', '.join(SEVERITIES)))
    if bool(module.FIX_ROLE) == bool(module.NOT_FIXABLE):
        raise RegistryError('cause %s: exactly one of FIX_ROLE and NOT_FIXABLE must be set' % module.ID)
    stages = [s[0] for s in STAGES]
    for step in module.STEPS:
        if step[0] not in stages or not callable(step[2]):
            raise RegistryError('cause %s: step %r is not (stage, order, function) with a known stage' % (module.ID, step))
    for key in ('title', 'evidence', 'decided', 'fix'):
        if not module.DOC.get(key):
            raise RegistryError('cause %s: DOC has no %s' % (module.ID, key))


def causes():
    """Every cause module, in catalog order (their ``CATALOG_ORDER``, then id)."""
    if not _LOADED:
        here = os.path.dirname(os.path.abspath(__file__))
        found = []
        for name in sorted(os.listdir(here)):
            if name.endswith('.py') and not name.startswith('_'):
                module = importlib.import_module('%s.%s' % (__name__, name[:-3]))
                if module.ID != name[:-3]:
                    raise RegistryError('cause module %s declares ID %r' % (name, module.ID))
                _check(module)
                found.append(module)
        found.sort(key=lambda m: (getattr(m, 'CATALOG_ORDER', 1000), m.ID))
        _LOADED.extend(found)
    return list(_LOADED)


def ids():
    return [c.ID for c in causes()]


def get(cause_id):
    for c in causes():
        if c.ID == cause_id:
            return c
    raise KeyError(cause_id)


def severity(cause_id):
    return get(cause_id).SEVERITY


def fix_role(cause_id):
    """The fully qualified role that fixes the cause, or None."""
    role = get(cause_id).FIX_ROLE
    return 'badgateway.nginx.%s' % role if role else None


def role_findings():
    """Short role name -> the ids of the causes it fixes."""
    roles = {}
    for c in causes():
        if c.FIX_ROLE:
            roles.setdefault(c.FIX_ROLE, []).append(c.ID)
    return dict((role, tuple(found)) for role, found in roles.items())


def not_fixable():
    """Id -> why it is reported and not changed on the host."""
    return dict((c.ID, c.NOT_FIXABLE) for c in causes() if c.NOT_FIXABLE)


def steps(stage):
    """[(order, cause id, function)] of one stage, in order."""
    found = []
    for c in causes():
        for step in c.STEPS:
            if step[0] == stage:
                found.append((step[1], c.ID, step[2]))
    return sorted(found, key=lambda s: (s[0], s[1]))


def _cell(text):
    return ' '.join(text.split()).replace('|', '\\|')


def render_markdown():
    """docs/causes.md, generated from the registry (scripts/causes-doc.py writes it)."""
    from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import _catalog_text as text
    out = [text.HEADER.strip(), '',
           '| id | severity | cause | fixed by |', '|---|---|---|---|']
    for c in causes():
        fixed = 'role `%s`' % c.FIX_ROLE if c.FIX_ROLE else 'reported, not changed'
        out.append('| [`%s`](#%s) | %s | %s | %s |' % (c.ID, c.ID, c.SEVERITY, _cell(c.DOC['title']), fixed))
    out.append('')
    for c in causes():
        out += ['## %s' % c.ID, '',
                '**%s** (%s). Evidence kinds: %s.' % (c.DOC['title'].rstrip('.').capitalize(), c.SEVERITY,
                                                      ', '.join('`%s`' % k for k in c.SIGNATURE) or 'none'), '',
                '**Evidence**: ' + ' '.join(c.DOC['evidence'].split()), '',
                '**How it is decided**: ' + ' '.join(c.DOC['decided'].split()), '',
                '**Fix**: ' + ' '.join(c.DOC['fix'].split()), '']
        if c.NOT_FIXABLE:
            out += ['**Reported, not changed on the host**: %s.' % c.NOT_FIXABLE.rstrip('.'), '']
    out.append(text.FOOTER.strip())
    return '\n'.join(out) + '\n'
