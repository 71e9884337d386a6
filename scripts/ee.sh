#!/usr/bin/env bash
# Build the execution environment (EE) of badgateway.nginx with ansible-builder and podman,
# unless its tag exists already. Prints the image name on the last line of stdout; progress
# and the build time go to stderr, the build log to $BADGATEWAY_CACHE/logs/ee-build.log.
#
#   scripts/ee.sh                           build what is missing (~1.5 min cold, ~1 s warm)
#   BADGATEWAY_EE_REBUILD=1 scripts/ee.sh   build again from nothing (no layer cache: fresh
#                                           Debian and PyPI packages; the tag moves to it)
#   BADGATEWAY_REBUILD=1 does the same (it also makes scripts/build-image.sh, and so
#   scripts/setup.sh and scripts/test.sh, rebuild the base and test-host images)
#
# The tag is localhost/badgateway-ee:<first 12 hex digits of a sha256 over its inputs>:
# meta/execution-environment.yml, requirements/dev.txt, this script, the id of the base
# image, and the collection's files that go into the image (galaxy.yml, README.md, COPYING,
# meta/, plugins/, roles/, playbooks/; no __pycache__). They are read once, into a staging
# copy that is both hashed and built, so the tag names what is in the image even while the
# working tree changes. Any change gives a new tag and a build; podman's layer cache keeps
# the apt and pip layers when only the collection changed (about 30 s then).
#
# What is built (see the comments of meta/execution-environment.yml): the local debootstrap
# base (no registry), ansible-core and ansible-runner at the pins of requirements/dev.txt,
# meta/ee-requirements.txt, and the collection tarball built from this checkout. pip inside
# the build gets this machine's pip settings (index, extra index, trusted hosts, proxy, CA
# bundle, timeout; taken from `pip config list` and PIP_* variables, local file:// indexes
# left out) and requirements/dev.txt as constraints, through a read-only bind mount of a
# generated directory at /etc/xdg/pip: not part of the build context, not stored in the image,
# and only the names of the settings are printed.
#
# Needs scripts/setup.sh (venv with ansible-builder, podman settings, base image). Concurrent
# runs wait for each other (flock).
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/env.sh disable=SC1091  # followed under shellcheck -x
source "$SCRIPTS/env.sh"

EE_REPO=localhost/badgateway-ee
LABEL=org.badgateway.ee.inputs   # on the image: the hash its tag carries

log() { printf 'ee: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (podman is used rootful)"
[ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF is missing: run scripts/setup.sh"
for tool in podman ansible-builder ansible-galaxy python; do
    command -v "$tool" >/dev/null || die "$tool not found: run scripts/setup.sh, then source scripts/env.sh"
done
podman image exists "$BADGATEWAY_BASE_IMAGE" ||
    die "base image $BADGATEWAY_BASE_IMAGE is missing: run scripts/build-image.sh (or scripts/setup.sh)"

root="$BADGATEWAY_ROOT"
requirements="$root/requirements/dev.txt"
logdir="$BADGATEWAY_CACHE/logs"
mkdir -p "$logdir" "$BADGATEWAY_CACHE/tmp"

exec 7>"$BADGATEWAY_CACHE/ee.lock"
flock 7

# Everything is read once, into a staging directory: the tag is the hash of what is built.
stage="$(mktemp -d "$BADGATEWAY_CACHE/tmp/ee.XXXXXX")"
# shellcheck disable=SC2064
trap "rm -rf '$stage'" EXIT
mkdir -p "$stage/src" "$stage/collection"

# The collection's files that go into the image, one per line, sorted.
files="$(cd "$root" && find galaxy.yml README.md COPYING meta plugins roles playbooks -type f \
    ! -path '*/__pycache__/*' ! -name '*.pyc' | LC_ALL=C sort)"
if printf '%s\n' "$files" | grep -q '[[:space:]]'; then
    die "a collection file name holds a blank: $(printf '%s\n' "$files" | grep '[[:space:]]' | head -n 1)"
fi
printf '%s\n' "$files" | tar -C "$root" -cf - -T - | tar -C "$stage/src" -xf -
cp "$requirements" "$stage/dev.txt"
requirements="$stage/dev.txt"
ee_file="$stage/src/meta/execution-environment.yml"

inputs="$(
    cd "$stage/src"
    # shellcheck disable=SC2086  # no blanks in the list (checked above)
    sha256sum ../dev.txt $files
    sha256sum <"$SCRIPTS/ee.sh"  # by content only: CI clones into another directory each time
    podman image inspect --format '{{.Id}}' "$BADGATEWAY_BASE_IMAGE"
)"
tag="$EE_REPO:$(printf '%s\n' "$inputs" | sha256sum | cut -c1-12)"

# The EE's ansible-core and ansible-runner are the ones every other suite tests with.
for pkg in ansible-core ansible-runner; do
    pin="$(sed -n "s/^$pkg==\([^ #]*\).*/\1/p" "$requirements" | head -n 1)"
    [ -n "$pin" ] || die "requirements/dev.txt pins no $pkg"
    grep -Eq "^ +package_pip: $pkg==${pin//./\\.}\$" "$ee_file" ||
        die "meta/execution-environment.yml must pin $pkg==$pin (the pin of requirements/dev.txt)"
done

rebuild="${BADGATEWAY_EE_REBUILD:-${BADGATEWAY_REBUILD:-}}"
if [ -z "$rebuild" ] && podman image exists "$tag"; then
    log "$tag exists (same inputs): build skipped (0s)"
    echo "$tag"
    exit 0
fi
start=$SECONDS

# 1. The collection tarball, built from the staged copy.
if ! ansible-galaxy collection build "$stage/src" --output-path "$stage/collection" \
        >"$logdir/ee-collection-build.log" 2>&1; then
    cat "$logdir/ee-collection-build.log" >&2
    die "ansible-galaxy collection build failed"
fi
mv "$stage"/collection/badgateway-nginx-*.tar.gz "$stage/collection/badgateway-nginx.tar.gz"

# 2. The EE definition in the collection's layout (see meta/execution-environment.yml).
mkdir -p "$stage/meta"
cp "$ee_file" "$stage/execution-environment.yml"
cp "$stage/src/meta/ee-requirements.txt" "$stage/meta/ee-requirements.txt"

# 3. pip's settings for the build: this machine's, plus requirements/dev.txt as constraints.
pipdir="$stage/pip"
mkdir -m 0700 "$pipdir"
taken="$(python - "$pipdir" "$requirements" <<'PY'
import ast
import os
import re
import shutil
import subprocess
import sys

pipdir, requirements = sys.argv[1:3]
MOUNT = '/etc/xdg/pip'  # where the build sees pipdir (read-only bind mount)
URLS = ('index-url', 'extra-index-url')
KEEP = URLS + ('trusted-host', 'proxy', 'cert', 'timeout', 'retries')
ALIAS = {'default-timeout': 'timeout', 'index': 'index-url', 'extra-index': 'extra-index-url'}

out = subprocess.run([sys.executable, '-m', 'pip', 'config', 'list'], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, universal_newlines=True, check=False).stdout
files, env = {}, {}
for line in out.splitlines():  # SECTION.KEY=repr(VALUE), one per line
    name, sep, value = line.partition('=')
    section, dot, key = name.rpartition('.')
    if not (sep and dot):
        continue
    try:
        value = ast.literal_eval(value)
    except (SyntaxError, ValueError):
        continue
    key = ALIAS.get(key, key)
    if key in KEEP and section in (':env:', 'global', 'install', 'download'):
        (env if section == ':env:' else files)[key] = value
settings = dict(files, **env)  # PIP_* variables win over configuration files, as in pip

conf = {}
for key in URLS:
    urls = [u for u in settings.get(key, '').split() if u.startswith(('http://', 'https://'))]
    if urls:
        conf[key] = ' '.join(urls)
for key in ('trusted-host', 'proxy', 'timeout', 'retries'):
    if settings.get(key):
        conf[key] = settings[key]
cert = settings.get('cert')
if cert and os.path.isfile(cert):
    shutil.copyfile(cert, os.path.join(pipdir, 'ca.pem'))
    conf['cert'] = MOUNT + '/ca.pem'

# requirements/dev.txt as constraints: name==version lines, extras dropped (pip refuses them).
pins = []
with open(requirements) as f:
    for line in f:
        line = line.split('#', 1)[0].strip()
        if line:
            pins.append(re.sub(r'\[[^\]]*\]', '', line))
with open(os.path.join(pipdir, 'constraints.txt'), 'w') as f:
    f.write('\n'.join(pins) + '\n')

with open(os.path.join(pipdir, 'pip.conf'), 'w') as f:
    f.write('[global]\n')
    for key, value in sorted(conf.items()):
        f.write('%s = %s\n' % (key, value))
    f.write('constraint = %s/constraints.txt\ndisable-pip-version-check = true\n' % MOUNT)
print(' '.join(sorted(conf)) or 'none (pip defaults)')
PY
)" || die "could not write pip's settings for the build"
chmod -R go-rwx "$pipdir"
log "pip settings of this machine passed to the build: $taken; constraints: requirements/dev.txt"

# 4. ansible-builder: generates the Containerfile and context, runs podman build.
no_cache=()
[ -z "$rebuild" ] || no_cache=(--no-cache)
log "building $tag with ansible-builder $(ansible-builder --version)${no_cache:+ without layer cache} (log: $logdir/ee-build.log)"
if ! ansible-builder build --container-runtime podman --verbosity 3 "${no_cache[@]}" \
        --file "$stage/execution-environment.yml" --context "$stage/context" --tag "$tag" \
        --extra-build-cli-args "--pull=never --network=host --volume=$pipdir:/etc/xdg/pip:ro --label=$LABEL=${tag##*:}" \
        >"$logdir/ee-build.log" 2>&1; then
    cp "$stage/context/Containerfile" "$logdir/ee-Containerfile" 2>/dev/null || true
    tail -n 40 "$logdir/ee-build.log" >&2
    die "ansible-builder build failed (full log: $logdir/ee-build.log, Containerfile: $logdir/ee-Containerfile)"
fi
cp "$stage/context/Containerfile" "$logdir/ee-Containerfile"
podman image exists "$tag" || die "ansible-builder reported success but $tag does not exist"
log "built $tag in $((SECONDS - start))s"

# Drop EE images of older inputs; podman refuses (and we skip) those that containers still
# use. The untagged images of the intermediate stages stay: they are podman's layer cache.
podman images --noheading --format '{{.Repository}}:{{.Tag}}' "$EE_REPO" |
    while read -r old; do
        [ "$old" = "$tag" ] && continue
        if podman rmi "$old" >/dev/null 2>&1; then log "removed old image $old"; fi
    done

echo "$tag"
