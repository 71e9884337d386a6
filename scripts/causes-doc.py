# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Write docs/causes.md from the cause registry (plugins/plugin_utils/_causes/).

    python scripts/causes-doc.py           write it
    python scripts/causes-doc.py --check   exit 1 when the file is not what the registry says
"""

import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, 'docs', 'causes.md')


def registry():
    """Import the registry from this checkout (through a temporary ansible_collections/badgateway/nginx link)."""
    base = tempfile.mkdtemp(prefix='bgw-causes-doc-')
    os.makedirs(os.path.join(base, 'ansible_collections', 'badgateway'))
    os.symlink(ROOT, os.path.join(base, 'ansible_collections', 'badgateway', 'nginx'))
    sys.path.insert(0, base)
    from ansible_collections.badgateway.nginx.plugins.plugin_utils import _causes
    return _causes


def main(argv):
    text = registry().render_markdown()
    if '--check' in argv:
        with open(DOC) as f:
            if f.read() != text:
                print('docs/causes.md is out of date: run python scripts/causes-doc.py')
                return 1
        return 0
    with open(DOC, 'w') as f:
        f.write(text)
    print('wrote %s' % DOC)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
