# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make ``ansible_collections.badgateway.nginx`` importable from a plain checkout."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ensure_importable():
    """Return a directory holding ansible_collections/badgateway/nginx (this checkout)."""
    parts = ROOT.split(os.sep)
    if len(parts) >= 4 and parts[-3] == 'ansible_collections':
        base = os.sep.join(parts[:-3])
    else:
        base = tempfile.mkdtemp(prefix='bgw-collections-')
        link_dir = os.path.join(base, 'ansible_collections', 'badgateway')
        os.makedirs(link_dir)
        os.symlink(ROOT, os.path.join(link_dir, 'nginx'))
    if base not in sys.path:
        sys.path.insert(0, base)
    return base


COLLECTIONS_BASE = _ensure_importable()
