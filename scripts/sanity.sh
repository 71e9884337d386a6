#!/usr/bin/env bash
# ansible-test sanity for the collection, in local mode (no Docker here).
# ansible-test needs the tree at .../ansible_collections/badgateway/nginx, so the
# tracked files are copied to a staging tree in the cache first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

# ansible-test bootstraps pip in its venvs with a script from a host these
# machines cannot reach; the stand-in installs pip from ensurepip and PyPI.
pip_version=24.2  # ansible_test/_internal/python_requirements.py get_venv_packages() of ansible-core 2.19
mkdir -p "$HOME/.ansible/test/cache"
standin="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
cmp -s "$ROOT/scripts/get_pip_standin.py" "$standin" 2>/dev/null || cp "$ROOT/scripts/get_pip_standin.py" "$standin"

stage="$BADGATEWAY_CACHE/sanity/ansible_collections/badgateway/nginx"
rm -rf "$stage"
mkdir -p "$stage"
# only what git tracks (or would track): the same files a clean clone has
(cd "$ROOT" && git ls-files -co --exclude-standard -z) |
    rsync -a --from0 --files-from=- "$ROOT/" "$stage/"
cd "$stage"
ansible-test sanity --local --python 3.11 --requirements --color no "$@" 2>&1 |
    { grep -v -e "^WARNING: Location 'file:///opt/" -e '^Looking in ' -e '^Collecting ' \
              -e '^  Downloading ' -e '^Processing /opt' -e '━━' || true; }
