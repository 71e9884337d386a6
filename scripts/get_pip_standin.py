# -*- coding: utf-8 -*-
"""Stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test creates its sanity-test virtualenvs without pip and bootstraps pip
with a script it fetches from its own file host, which these machines cannot
reach (only package registries are reachable).  scripts/sanity.sh copies this
file to ~/.ansible/test/cache/get_pip_<version>.py: it installs pip from the
interpreter's bundled wheel (ensurepip) and then the requested packages
(normally ``pip==<version>``) from the package index, like get-pip does.
"""

import subprocess
import sys


def main():
    args = sys.argv[1:]
    packages = [a for a in args if not a.startswith('-')]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'],
                          stdout=subprocess.DEVNULL)
    if packages:
        subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet',
                               '--disable-pip-version-check'] + packages)


if __name__ == '__main__':
    main()
