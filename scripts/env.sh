# shellcheck shell=bash
# Environment for the test tooling of badgateway.nginx. Source it, from any
# directory:   source /path/to/repo/scripts/env.sh
# It only sets variables (no side effects), so sourcing it twice is harmless.
# Works under `set -euo pipefail` and without it.
#
# Exports:
#   BADGATEWAY_ROOT           repo (= collection) root
#   BADGATEWAY_CACHE          $HOME/.cache/badgateway (kept between CI runs)
#   BADGATEWAY_VENV           virtualenv with requirements/dev.txt
#   PATH                      venv bin first
#   CONTAINERS_CONF           podman settings this machine needs (runc, ulimits)
#   ANSIBLE_COLLECTIONS_PATH  containers.podman + badgateway.nginx (symlink)
#   BADGATEWAY_BASE_IMAGE     debootstrap'ed bookworm minbase image
#   BADGATEWAY_IMAGE          test-host image, tagged from the Containerfile hash
#   MOLECULE_GLOB             molecule/*/molecule.yml (run molecule from the root)
#   ANSIBLE_HOST_KEY_CHECKING=False, and under CI: no colour

BADGATEWAY_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
export BADGATEWAY_ROOT
export BADGATEWAY_CACHE="${BADGATEWAY_CACHE:-$HOME/.cache/badgateway}"
export BADGATEWAY_VENV="${BADGATEWAY_VENV:-$BADGATEWAY_CACHE/venv}"

case ":${PATH:-}:" in
    *":$BADGATEWAY_VENV/bin:"*) ;;
    *) export PATH="$BADGATEWAY_VENV/bin${PATH:+:$PATH}" ;;
esac

export CONTAINERS_CONF="$BADGATEWAY_CACHE/containers.conf"
export ANSIBLE_COLLECTIONS_PATH="$BADGATEWAY_CACHE/collections"

# The base image tag is fixed: tests/testhost/Containerfile names it in FROM.
export BADGATEWAY_BASE_IMAGE="localhost/badgateway-base:bookworm-minbase"
# Same computation as scripts/build-image.sh (which sources this file).
BADGATEWAY_IMAGE="localhost/badgateway-testhost:$(sha256sum "$BADGATEWAY_ROOT/tests/testhost/Containerfile" | cut -c1-12)"
export BADGATEWAY_IMAGE

# Scenarios live in molecule/<name>/ (relative to the repo root, where molecule
# must be run). Setting the glob also stops molecule from looking in
# extensions/molecule/ once galaxy.yml exists, and silences its warning.
export MOLECULE_GLOB="molecule/*/molecule.yml"

export ANSIBLE_HOST_KEY_CHECKING=False
if [ -n "${CI:-}" ]; then
    export ANSIBLE_FORCE_COLOR=0
    export ANSIBLE_NOCOLOR=1
    export PY_COLORS=0
    export NO_COLOR=1
fi
