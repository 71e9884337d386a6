#!/usr/bin/env bash
# The test command of badgateway.nginx (README, .ci/run): sets up what is missing
# (idempotent, cached in ~/.cache/badgateway), then runs every suite:
#   unit     pytest tests/unit: parsers and model on recorded and generated text
#   local    pytest tests/local: the modules through Ansible against the controller's real nginx,
#            and the built collection tarball installed and read with ansible-doc
#   hostile  pytest tests/hostile: generated hostile inputs against every module and filter, each
#            classified (clear error and nothing changed, or correct), and the runner's hang faults
#   hosts    pytest tests/firewall tests/services: firewall_allow and backend_service (module and
#            role) on throwaway podman test hosts with real nftables/iptables and systemd
#   sanity   ansible-test sanity (local mode, no Docker)
#   lint     ansible-lint, production profile
#   browser  pytest tests/browser: a 10,000-host report.html loaded by headless Chromium (DOM checked)
#   ee       pytest tests/ee: the execution environment (scripts/ee.sh: ansible-builder, cached by a hash
#            of its inputs) run by ansible-runner with podman process isolation against bench hosts over SSH
#   molecule every Molecule scenario on real podman test hosts (systemd, nginx, PHP-FPM, firewall)
# Usage: scripts/test.sh [suite ...]     (default: all, in that order)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT" || exit 2

bash "$ROOT/scripts/setup.sh" || { echo "test: setup failed"; exit 1; }
# shellcheck source=scripts/env.sh
source "$ROOT/scripts/env.sh"

suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(unit local hostile hosts sanity lint browser ee molecule)

run_suite() {
    case "$1" in
        unit) python -m pytest -q -p no:cacheprovider tests/unit ;;
        local) python -m pytest -q -p no:cacheprovider tests/local ;;
        hostile) python -m pytest -q -p no:cacheprovider tests/hostile ;;
        hosts) python -m pytest -q -p no:cacheprovider tests/firewall tests/services ;;
        sanity) bash "$ROOT/scripts/sanity.sh" ;;
        lint) ansible-lint --offline --profile production ;;
        browser) python -m pytest -q -s -p no:cacheprovider tests/browser ;;
        ee) python -m pytest -q -p no:cacheprovider tests/ee ;;
        molecule) bash "$ROOT/scripts/molecule.sh" ;;
        *) echo "test: unknown suite $1"; return 2 ;;
    esac
}

passed=0
failed=0
failed_names=()
for suite in "${suites[@]}"; do
    start=$SECONDS
    echo "=== test: $suite"
    if run_suite "$suite"; then
        passed=$((passed + 1))
        echo "=== test: $suite passed ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failed_names+=("$suite")
        echo "=== test: $suite FAILED ($((SECONDS - start)) s)"
    fi
done
[ "$failed" -eq 0 ] || echo "failed suites: ${failed_names[*]}"
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
