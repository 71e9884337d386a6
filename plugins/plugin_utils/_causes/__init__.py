# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The cause registry: one module of this package per cause of the catalog.

A cause module holds everything about its cause, from evidence to fix, and declares it once:

* its docstring is its entry of docs/causes.md: a summary line, then one paragraph per heading of
  ``DOC_HEADINGS`` in that order (``Title: ...``, ``Evidence: ...``, ``Decided: ...``, ``Fix: ...``, markdown);
* ``CAUSE = Cause(__name__, __doc__, order=..., severity=..., signature=(...), fix_role=... or not_fixable=...)``
  holds the rest: its place in the catalog, critical, warning or info, the evidence kinds that point at it
  (log-line kinds of module_utils/_logs, probe results), and the remediation role (short name) that fixes it
  on the host or why no role changes it there;
* ``@CAUSE.step(stage, order)`` marks each function that decides it (see STAGES).

A ``Cause`` offers them as ``ID`` (the module's name), ``CATALOG_ORDER``, ``SEVERITY``, ``SIGNATURE``,
``FIX_ROLE``, ``NOT_FIXABLE``, ``DOC`` ({title, evidence, decided, fix}) and ``STEPS`` ((stage, order, function)).

The correlator (plugin_utils/_correlate) runs the steps of every cause stage by stage; every table
the rest of the collection needs (severities, fixing roles, the triage's choices, the catalog's
documentation) is derived here.  Adding a cause is adding one module to this package.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib
import os
import re
import sys

# (stage, scope, policy, skipped when this stage of the same target found something)
#   config     once per host, before the targets: what nginx -t and the parser say of the files
#   connect    per target: why a connection fails; the first step that finds something decides
#   queue      per target: what the backend's own log says while nginx may have logged nothing
#   transport  per target: the protocol spoken on the connection; the first finding decides
#   response   per target: failures after the connection; every step runs (skipped after transport)
#   host       once per host, after the targets: host-wide causes
#   audit      once per host, only in an audit (badgateway.nginx.audit): latent risks, judged from the
#              configuration and the node's measurements while nothing fails yet
STAGES = (
    ('config', 'host', 'all', None),
    ('connect', 'target', 'first', None),
    ('queue', 'target', 'all', None),
    ('transport', 'target', 'first', None),
    ('response', 'target', 'all', 'transport'),
    ('host', 'host', 'all', None),
    ('audit', 'host', 'all', None),
)
# the stages an audit runs (the config stage: what nginx -t says and whether the running nginx loaded the files)
AUDIT_STAGES = ('config', 'audit')
SEVERITIES = ('critical', 'warning', 'info')
# the headings of a cause module's docstring, in order, and the keys of its DOC
DOC_HEADINGS = ('title', 'evidence', 'decided', 'fix')

_LOADED = []


class RegistryError(Exception):
    """A cause module that does not follow the contract above."""


def _docstring(module_name, docstring):
    """The module's docstring; read from its source when Python dropped docstrings (python -OO)."""
    if docstring is not None:
        return docstring
    with open(sys.modules[module_name].__file__) as f:
        return ast.get_docstring(ast.parse(f.read())) or ''


def _doc_sections(cause_id, docstring):
    """{heading: text} of the paragraphs after the summary line, white space folded."""
    paragraphs = [' '.join(p.split()) for p in re.split(r'\n\s*\n', docstring.strip())][1:]
    found = [p.split(': ', 1) for p in paragraphs]
    headings = tuple(f[0].lower() for f in found)
    if headings != DOC_HEADINGS or any(len(f) != 2 or f[0] != f[0].capitalize() for f in found):
        raise RegistryError('cause %s: its docstring needs a summary line, then the paragraphs %s (got %s)'
                            % (cause_id, ', '.join('"%s: ..."' % h.capitalize() for h in DOC_HEADINGS),
                               ', '.join(repr(p[:20]) for p in paragraphs) or 'none'))
    return dict((heading.lower(), text) for heading, text in found)


class Cause(object):
    """One cause of the catalog, as its module declares it (see the contract above)."""

    def __init__(self, module_name, docstring, order, severity, signature, fix_role=None, not_fixable=None):
        self.ID = module_name.rsplit('.', 1)[-1]
        self.CATALOG_ORDER = order
        self.SEVERITY = severity
        self.SIGNATURE = tuple(signature)
        self.FIX_ROLE = fix_role
        self.NOT_FIXABLE = not_fixable
        self.DOC = _doc_sections(self.ID, _docstring(module_name, docstring))
        self.STEPS = ()

    def step(self, stage, order):
        """Decorator: the function decides the cause at this stage, in this order among the stage's steps."""
        def register(function):
            self.STEPS += ((stage, order, function),)
            return function
        return register


def _check(module):
    cause = getattr(module, 'CAUSE', None)
    if not isinstance(cause, Cause):
        raise RegistryError('cause module %s declares no CAUSE = Cause(...)' % module.__name__)
    if cause.SEVERITY not in SEVERITIES:
        raise RegistryError('cause %s: severity %r is not one of %s' % (cause.ID, cause.SEVERITY, ', '.join(SEVERITIES)))
    if bool(cause.FIX_ROLE) == bool(cause.NOT_FIXABLE):
        raise RegistryError('cause %s: exactly one of fix_role and not_fixable must be set' % cause.ID)
    stages = [s[0] for s in STAGES]
    if not cause.STEPS:
        raise RegistryError('cause %s: no function is marked @CAUSE.step(stage, order)' % cause.ID)
    for step in cause.STEPS:
        if step[0] not in stages or not callable(step[2]):
            raise RegistryError('cause %s: step %r is not (stage, order, function) with a known stage' % (cause.ID, step))
    return cause


def causes():
    """Every cause (its module's CAUSE), in catalog order (their ``order``, then id)."""
    if not _LOADED:
        here = os.path.dirname(os.path.abspath(__file__))
        found = []
        for name in sorted(os.listdir(here)):
            if name.endswith('.py') and not name.startswith('_'):
                found.append(_check(importlib.import_module('%s.%s' % (__name__, name[:-3]))))
        found.sort(key=lambda c: (c.CATALOG_ORDER, c.ID))
        _LOADED.extend(found)
    return list(_LOADED)


def ids():
    return [c.ID for c in causes()]


def diagnosed(cause):
    """Whether the diagnosis decides the cause (a step outside the audit stage)."""
    return any(step[0] != 'audit' for step in cause.STEPS)


def audited(cause):
    """Whether the audit reports the cause (a step of an audit stage)."""
    return any(step[0] in AUDIT_STAGES for step in cause.STEPS)


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


def _row(c):
    fixed = 'role `%s`' % c.FIX_ROLE if c.FIX_ROLE else 'reported, not changed'
    return '| [`%s`](#%s) | %s | %s | %s |' % (c.ID, c.ID, c.SEVERITY, _cell(c.DOC['title']), fixed)


def render_markdown():
    """docs/causes.md, generated from the registry (scripts/causes-doc.py writes it)."""
    from ansible_collections.badgateway.nginx.plugins.plugin_utils._causes import _catalog_text as text
    out = [text.HEADER.strip(), '',
           '| id | severity | cause | fixed by |', '|---|---|---|---|']
    for c in causes():
        if diagnosed(c):
            out.append(_row(c))
    out += ['', text.AUDIT.strip(), '', '| id | severity | latent risk | fixed by |', '|---|---|---|---|']
    for c in causes():
        if audited(c):
            out.append(_row(c))
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
