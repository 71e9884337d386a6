#!/usr/bin/env bash
# Build the test-host image (and the debootstrap base it starts FROM) unless
# the tags exist already. Prints the image name on the last line of stdout;
# progress goes to stderr, build logs to $BADGATEWAY_CACHE/logs/.
#
#   scripts/build-image.sh            build what is missing
#   BADGATEWAY_REBUILD=1 scripts/...  rebuild both images (the tags move to the
#                                     new images; containers using the old ones
#                                     keep running, nothing is force-removed)
#
# Needs podman, runc, debootstrap and $CONTAINERS_CONF: run scripts/setup.sh
# once (it calls this script). Concurrent runs wait for each other (flock):
# the podman image store is shared by everyone on the machine.
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (podman is used rootful)"
[ -f "$CONTAINERS_CONF" ] || die "$CONTAINERS_CONF is missing: run scripts/setup.sh"
for tool in podman debootstrap; do
    command -v "$tool" >/dev/null || die "$tool not installed: run scripts/setup.sh"
done

containerfile="$BADGATEWAY_ROOT/tests/testhost/Containerfile"
logdir="$BADGATEWAY_CACHE/logs"
mkdir -p "$logdir"
# Every image made here carries this label, so that only ours are pruned.
LABEL=org.badgateway.testimage

exec 8>"$BADGATEWAY_CACHE/build-image.lock"
flock 8

# Debian mirror: the one this machine's apt uses for bookworm, else
# deb.debian.org. BADGATEWAY_DEBIAN_MIRROR overrides.
apt_uri_for_suite() {  # $1 = suite; prints the first http(s) URI serving it
    local suite="$1" f uri=""
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        uri="$(awk -v suite="$suite" '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""; enabled = "yes"
                for (i = 1; i <= NF; i++) {
                    line = $i
                    if (line ~ /^[ \t]*#/) continue
                    key = tolower(line); sub(/:.*/, "", key)
                    val = line; sub(/^[^:]*:[ \t]*/, "", val)
                    if (key == "types") types = val
                    else if (key == "uris") uris = val
                    else if (key == "suites") suites = val
                    else if (key == "enabled") enabled = tolower(val)
                }
                if (enabled == "no") next
                if ((" " types " ") !~ / deb /) next
                if ((" " suites " ") !~ (" " suite " ")) next
                n = split(uris, u, /[ \t]+/)
                for (j = 1; j <= n; j++) if (u[j] ~ /^https?:\/\//) { print u[j]; exit }
            }' "$f")"
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return 0; }
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        uri="$(awk -v suite="$suite" '
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                if ($(i + 1) == suite && $i ~ /^https?:\/\//) { print $i; exit }
            }' "$f")"
        [ -n "$uri" ] && { printf '%s\n' "${uri%/}"; return 0; }
    done
    return 1
}

build_base() {
    local mirror security rootfs start
    mirror="${BADGATEWAY_DEBIAN_MIRROR:-$(apt_uri_for_suite bookworm || echo http://deb.debian.org/debian)}"
    security="$(apt_uri_for_suite bookworm-security || true)"
    start=$SECONDS
    log "building $BADGATEWAY_BASE_IMAGE with debootstrap from $mirror (log: $logdir/debootstrap.log)"

    mkdir -p "$BADGATEWAY_CACHE/tmp"
    rootfs="$(mktemp -d "$BADGATEWAY_CACHE/tmp/rootfs.XXXXXX")"
    # shellcheck disable=SC2064
    trap "cleanup_rootfs '$rootfs'" EXIT

    if ! debootstrap --variant=minbase --components=main bookworm "$rootfs" "$mirror" \
            >"$logdir/debootstrap.log" 2>&1; then
        tail -n 40 "$logdir/debootstrap.log" >&2
        die "debootstrap failed (full log: $logdir/debootstrap.log)"
    fi

    {
        echo "deb $mirror bookworm main"
        echo "deb $mirror bookworm-updates main"
        [ -n "$security" ] && echo "deb $security bookworm-security main"
    } >"$rootfs/etc/apt/sources.list"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/var/log/bootstrap.log
    : >"$rootfs/etc/machine-id"

    tar --numeric-owner -C "$rootfs" -c . |
        podman import --quiet --message "debootstrap minbase bookworm from $mirror" \
            --change 'CMD ["/bin/bash"]' --change "LABEL $LABEL=base" \
            - "$BADGATEWAY_BASE_IMAGE" >/dev/null
    cleanup_rootfs "$rootfs"
    trap - EXIT
    log "base image ready in $((SECONDS - start))s"
}

cleanup_rootfs() {  # unmount whatever debootstrap may have left, then remove
    local rootfs="$1" mnt
    [ -d "$rootfs" ] || return 0
    awk -v root="$rootfs/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r mnt; do umount -l "$mnt" || true; done
    rm -rf --one-file-system "$rootfs"
}

build_testhost() {
    local start=$SECONDS
    log "building $BADGATEWAY_IMAGE (log: $logdir/podman-build.log)"
    if ! podman build --pull=never --network=host --layers=false \
            --label "$LABEL=testhost" --tag "$BADGATEWAY_IMAGE" --file "$containerfile" \
            "$(dirname "$containerfile")" >"$logdir/podman-build.log" 2>&1; then
        tail -n 40 "$logdir/podman-build.log" >&2
        die "podman build failed (full log: $logdir/podman-build.log)"
    fi
    log "test-host image ready in $((SECONDS - start))s"

    # Drop test-host images of older Containerfiles, and our untagged
    # leftovers; podman refuses (and we skip) those that containers still use.
    local old
    podman images --noheading --format '{{.Repository}}:{{.Tag}}' localhost/badgateway-testhost |
        while read -r old; do
            [ "$old" = "$BADGATEWAY_IMAGE" ] && continue
            if podman rmi "$old" >/dev/null 2>&1; then log "removed old image $old"; fi
        done
    podman image prune --force --filter "label=$LABEL" >/dev/null 2>&1 || true
}

if [ -n "${BADGATEWAY_REBUILD:-}" ]; then
    build_base
    build_testhost
elif ! podman image exists "$BADGATEWAY_IMAGE"; then
    podman image exists "$BADGATEWAY_BASE_IMAGE" || build_base
    build_testhost
fi

echo "$BADGATEWAY_IMAGE"
