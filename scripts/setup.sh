#!/usr/bin/env bash
# One-stop, idempotent setup of the test tooling on a Debian 12 machine (root).
# A cold run installs Debian packages, the venv, containers.podman and builds
# the test-host image (a few minutes); a re-run checks and returns in seconds.
# Everything is cached in $HOME/.cache/badgateway ($BADGATEWAY_CACHE).
#
#   scripts/setup.sh          then:  source scripts/env.sh
set -euo pipefail

SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
# shellcheck source=scripts/env.sh
source "$SCRIPTS/env.sh"

# The `ansible` release whose wheel we take containers.podman from (Galaxy is
# unreachable). ansible 12.x is the line for ansible-core 2.19; 12.3.0 ships
# containers.podman 1.18.0.
ANSIBLE_BUNDLE_VERSION=12.3.0
PODMAN_COLLECTION_VERSION=1.18.0
# community.general from the same wheel: its redis cache plugin
# (tests/local/test_fact_cache_local.py, docs/fact-cache.md).
GENERAL_COLLECTION_VERSION=11.4.2

APT_PACKAGES=(
    podman runc conmon netavark aardvark-dns iptables  # rootful podman, runc for cgroup v1 hybrid
    debootstrap                                        # base image without a registry
    nginx-light                                        # controller-side `nginx -t` and benchmarks
    redis-server                                       # a plain child process of the tests, never a service
    prometheus-node-exporter                           # a plain child process of tests/local, never a service
    prometheus                                         # for promtool (alert rules checked and tested), never a service
    chromium                                           # headless: tests/browser loads report.html
    shellcheck rsync git ca-certificates iproute2 curl
    python3                                            # /usr/bin/python3: the module interpreter of tests/local
)

start=$SECONDS
log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$BADGATEWAY_CACHE/logs"
exec 9>"$BADGATEWAY_CACHE/setup.lock"
flock 9

# --- 1. Debian packages ------------------------------------------------------
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    APT_PACKAGES+=(python3-venv)
fi
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [ "$status" = installed ] || missing+=("$pkg")
done

nginx_preinstalled=no
command -v nginx >/dev/null && nginx_preinstalled=yes
# the same for redis-server (port 6379 stays free)
redis_preinstalled=no
command -v redis-server >/dev/null && redis_preinstalled=yes
# and for node_exporter and prometheus (ports 9100 and 9090 stay free)
prometheus_preinstalled=()
for bin in prometheus-node-exporter prometheus; do
    command -v "$bin" >/dev/null && prometheus_preinstalled+=("$bin")
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    # Keep package scripts from starting services (nginx would take port 80).
    policy_rc_d_tmp=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_rc_d_tmp=yes
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    aptlog="$BADGATEWAY_CACHE/logs/apt.log"
    if ! { apt-get update -q &&
           DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
               "${missing[@]}"; } >"$aptlog" 2>&1; then
        tail -n 40 "$aptlog" >&2
        die "apt-get failed (full log: $aptlog)"
    fi
    if [ "$policy_rc_d_tmp" = yes ]; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi

# nginx on the controller is a tool, not a service: never enabled, and the
# master that a package install may have started is stopped (port 80 stays
# free). Only an nginx that this run installed is killed.
if [ -e /etc/init.d/nginx ]; then
    if ls /etc/rc[2-5].d/S*nginx >/dev/null 2>&1; then
        update-rc.d nginx disable >/dev/null 2>&1 || true
    fi
    if [ -e /etc/systemd/system/multi-user.target.wants/nginx.service ]; then
        deb-systemd-helper disable nginx.service >/dev/null 2>&1 ||
            rm -f /etc/systemd/system/multi-user.target.wants/nginx.service
    fi
fi
if [ "$nginx_preinstalled" = no ] && [ -s /run/nginx.pid ]; then
    pid="$(cat /run/nginx.pid)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = nginx ]; then
        log "stopping the nginx (pid $pid) that the package install started"
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi
# redis-server likewise: a tool the tests start on a free port, not a service on 6379.
if [ -e /etc/init.d/redis-server ] && ls /etc/rc[2-5].d/S*redis-server >/dev/null 2>&1; then
    update-rc.d redis-server disable >/dev/null 2>&1 || true
fi
if [ -e /etc/systemd/system/multi-user.target.wants/redis-server.service ]; then
    deb-systemd-helper disable redis-server.service >/dev/null 2>&1 ||
        rm -f /etc/systemd/system/multi-user.target.wants/redis-server.service
fi
if [ "$redis_preinstalled" = no ] && [ -s /run/redis/redis-server.pid ]; then
    pid="$(cat /run/redis/redis-server.pid)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = redis-server ]; then
        log "stopping the redis-server (pid $pid) that the package install started"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
fi

# node_exporter and prometheus likewise: tools the tests start as child processes on
# free ports, not services. Only a daemon of a package this run installed is stopped.
for svc in prometheus-node-exporter prometheus; do
    if [ -e "/etc/init.d/$svc" ] && ls /etc/rc[2-5].d/S*"$svc" >/dev/null 2>&1; then
        update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
    if [ -e "/etc/systemd/system/multi-user.target.wants/$svc.service" ]; then
        deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 ||
            rm -f "/etc/systemd/system/multi-user.target.wants/$svc.service"
    fi
    case " ${prometheus_preinstalled[*]:-} " in *" $svc "*) continue ;; esac
    pidfile="/run/prometheus/$svc.pid"
    if [ -s "$pidfile" ]; then
        pid="$(cat "$pidfile")"
        if [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "/usr/bin/$svc" ]; then
            log "stopping the $svc (pid $pid) that the package install started"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
done

# --- 2. podman settings (see shared TESTHOSTS.md) ------------------------------
hard_nofile="$(ulimit -Hn)"
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
conf="[containers]
default_ulimits = [\"nofile=$hard_nofile:$hard_nofile\", \"nproc=16384:16384\"]
[engine]
runtime = \"runc\""
if [ ! -f "$CONTAINERS_CONF" ] || [ "$(cat "$CONTAINERS_CONF")" != "$conf" ]; then
    printf '%s\n' "$conf" >"$CONTAINERS_CONF"
    log "wrote $CONTAINERS_CONF"
fi

# --- 3. Python virtualenv ----------------------------------------------------------
req="$BADGATEWAY_ROOT/requirements/dev.txt"
stamp="$BADGATEWAY_VENV/.badgateway-requirements.sha256"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"
if ! "$BADGATEWAY_VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating virtualenv $BADGATEWAY_VENV"
    rm -rf "$BADGATEWAY_VENV"
    python3 -m venv "$BADGATEWAY_VENV"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$req_sum" ]; then
    log "installing requirements/dev.txt into the virtualenv"
    piplog="$BADGATEWAY_CACHE/logs/pip.log"
    if ! "$BADGATEWAY_VENV/bin/python" -m pip install --disable-pip-version-check \
            -q -r "$req" >"$piplog" 2>&1; then
        tail -n 40 "$piplog" >&2
        die "pip install failed (full log: $piplog)"
    fi
    printf '%s\n' "$req_sum" >"$stamp"
fi

# --- 4. Ansible collections (no Galaxy: containers.podman from the ansible wheel)
# and community.general (redis cache plugin) from the same wheel,
# downloaded once for whichever of them is missing or from another bundle.
colroot="$ANSIBLE_COLLECTIONS_PATH/ansible_collections"
bundled=("containers/podman=$PODMAN_COLLECTION_VERSION" "community/general=$GENERAL_COLLECTION_VERSION")
stale=()
for entry in "${bundled[@]}"; do
    [ "$(cat "$colroot/${entry%%=*}/.badgateway-source" 2>/dev/null)" = "ansible==$ANSIBLE_BUNDLE_VERSION" ] ||
        stale+=("$entry")
done
if [ "${#stale[@]}" -gt 0 ]; then
    dl="$(mktemp -d "$BADGATEWAY_CACHE/ansible-wheel.XXXXXX")"
    "$BADGATEWAY_VENV/bin/python" -m pip download --disable-pip-version-check -q \
        --no-deps --only-binary=:all: -d "$dl" "ansible==$ANSIBLE_BUNDLE_VERSION" \
        >"$BADGATEWAY_CACHE/logs/pip-download.log" 2>&1 ||
        { tail -n 20 "$BADGATEWAY_CACHE/logs/pip-download.log" >&2; die "pip download ansible failed"; }
    for entry in "${stale[@]}"; do
        col="${entry%%=*}"
        col_dir="$colroot/$col"
        log "extracting ${col/\//.} from ansible==$ANSIBLE_BUNDLE_VERSION"
        mkdir -p "$(dirname "$col_dir")"
        rm -rf "$col_dir" "$col_dir.new"
        "$BADGATEWAY_VENV/bin/python" - "$dl" "$col_dir.new" "$col" "${entry#*=}" <<'PY'
import glob, json, os, sys, zipfile
dl, dest, col, want = sys.argv[1:5]
prefix = "ansible_collections/%s/" % col
(wheel,) = glob.glob(os.path.join(dl, "ansible-*.whl"))
with zipfile.ZipFile(wheel) as zf:
    for info in zf.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        target = os.path.join(dest, info.filename[len(prefix):])
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with zf.open(info) as src, open(target, "wb") as out:
            out.write(src.read())
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            os.chmod(target, mode)
with open(os.path.join(dest, "MANIFEST.json")) as fh:
    got = json.load(fh)["collection_info"]["version"]
if got != want:
    sys.exit(f"{col.replace('/', '.')} in {os.path.basename(wheel)} is {got}, expected {want}")
PY
        mv "$col_dir.new" "$col_dir"
        printf 'ansible==%s\n' "$ANSIBLE_BUNDLE_VERSION" >"$col_dir/.badgateway-source"
    done
    rm -rf "$dl"
fi

# This repo is the collection badgateway.nginx: point the collections path at
# the current checkout (CI clones anew into another directory).
mkdir -p "$colroot/badgateway"
link="$colroot/badgateway/nginx"
if [ "$(readlink "$link" 2>/dev/null)" != "$BADGATEWAY_ROOT" ]; then
    [ -L "$link" ] || rm -rf "$link"
    ln -sfn "$BADGATEWAY_ROOT" "$link"
fi

# --- 5. Test-host image ------------------------------------------------------------
image="$("$SCRIPTS/build-image.sh")"
[ "$image" = "$BADGATEWAY_IMAGE" ] || die "build-image.sh printed '$image', expected '$BADGATEWAY_IMAGE'"

log "ready in $((SECONDS - start))s: venv $BADGATEWAY_VENV, image $image"
log "next: source scripts/env.sh"
