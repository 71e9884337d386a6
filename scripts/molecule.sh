#!/usr/bin/env bash
# Run `molecule test` for the given scenarios (default: every molecule/*/
# scenario, in name order), one after the other, with the environment of
# scripts/env.sh. Stops at the first failing scenario and exits non-zero.
#
#   scripts/molecule.sh              all scenarios
#   scripts/molecule.sh facts ...    just these
#
# Needs scripts/setup.sh to have run (venv, collections, test-host image).
# Scenarios share container names (proxy, backend, ...): never run two of
# these at once on one machine.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$BADGATEWAY_ROOT"

log() { printf 'molecule.sh: %s\n' "$*"; }
die() { printf 'molecule.sh: ERROR: %s\n' "$*" >&2; exit 2; }

command -v molecule >/dev/null || die "molecule not found in $BADGATEWAY_VENV: run scripts/setup.sh"
[ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF missing: run scripts/setup.sh"
podman image exists "$BADGATEWAY_IMAGE" ||
    die "image $BADGATEWAY_IMAGE missing (Containerfile changed?): run scripts/setup.sh"

scenarios=("$@")
if [ "${#scenarios[@]}" -eq 0 ]; then
    for f in molecule/*/molecule.yml; do
        [ -e "$f" ] && scenarios+=("$(basename "$(dirname "$f")")")
    done
fi
[ "${#scenarios[@]}" -gt 0 ] || die "no scenario under molecule/"
for s in "${scenarios[@]}"; do
    [ -f "molecule/$s/molecule.yml" ] || die "no scenario '$s' (molecule/$s/molecule.yml)"
done

passed=0 failed=0 rc=0
summary=()
total_start=$SECONDS
for s in "${scenarios[@]}"; do
    log "=== scenario $s: molecule test -s $s"
    start=$SECONDS
    if molecule test -s "$s" </dev/null; then
        summary+=("$(printf '  %-24s passed  %4ds' "$s" $((SECONDS - start)))")
        passed=$((passed + 1))
    else
        rc=$?
        summary+=("$(printf '  %-24s FAILED  %4ds (exit %d)' "$s" $((SECONDS - start)) "$rc")")
        failed=$((failed + 1))
        break
    fi
done

log "=== summary ($((SECONDS - total_start))s)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -gt 0 ] && [ $((passed + failed)) -lt "${#scenarios[@]}" ]; then
    log "stopped at the first failure; not run: $(( ${#scenarios[@]} - passed - failed )) scenario(s)"
fi
echo "molecule: $passed passed, $failed failed"
exit "$rc"
