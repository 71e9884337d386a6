#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine (root), set up what is missing, start the
# lab (podman containers: a proxy with a multi-file nginx config and PHP-FPM, and a
# backend), and print what nginx proxies where on each host, with file:line.
#   bash scripts/demo.sh          start (or reuse) the lab and show the facts
#   bash scripts/demo.sh down     remove the lab containers
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
bash scripts/setup.sh
# shellcheck source=scripts/env.sh
source scripts/env.sh
export ANSIBLE_DISPLAY_SKIPPED_HOSTS=false
inventory=tests/lab/inventory.yml
if [ "${1:-}" = down ]; then
    exec ansible-playbook -i "$inventory" tests/lab/down.yml
fi
echo "demo: starting the lab (containers bgw-lab-proxy and bgw-lab-backend)"
ansible-playbook -i "$inventory" tests/lab/up.yml >"$BADGATEWAY_CACHE/logs/lab-up.log" 2>&1 || {
    tail -n 60 "$BADGATEWAY_CACHE/logs/lab-up.log"; echo "demo: the lab did not start"; exit 1; }
out="$ROOT/report/facts"
echo "demo: gathering nginx facts (facts as JSON in $out/)"
ansible-playbook -i "$inventory" -l lab badgateway.nginx.facts -e nginx_facts_dump_dir="$out"
echo "demo: remove the lab with: bash scripts/demo.sh down"
