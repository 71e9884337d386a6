#!/usr/bin/env bash
# The demo: on a fresh Debian 12 machine (root), set up what is missing, start the lab
# (podman containers: a proxy broken in every way of the 502/504 catalog, a backend behind
# nftables and iptables whose own nginx runs out of worker connections, and a healthy proxy),
# send real requests, diagnose every host, print the summary and write the report; then
# remediate the lab (every change a transaction that rolls itself back) and write the
# before/after report.
#   bash scripts/demo.sh          start a fresh lab, diagnose it (report/report.html), remediate it
#                                 (report/remediation/report.html)
#   bash scripts/demo.sh facts    also print what nginx proxies where, with file:line
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
logs="$BADGATEWAY_CACHE/logs"
echo "demo: starting a fresh lab (containers bgw-lab-proxy, bgw-lab-backend, bgw-lab-healthy)"
# a lab remediated by an earlier demo is not broken any more: start from new containers
ansible-playbook -i "$inventory" tests/lab/down.yml >"$logs/lab-down.log" 2>&1 || {
    tail -n 30 "$logs/lab-down.log"; echo "demo: the old lab could not be removed"; exit 1; }
ansible-playbook -i "$inventory" tests/lab/up.yml >"$logs/lab-up.log" 2>&1 || {
    tail -n 60 "$logs/lab-up.log"; echo "demo: the lab did not start (log: $logs/lab-up.log)"; exit 1; }
echo "demo: sending requests, so that nginx writes real error-log lines"
ansible-playbook -i "$inventory" tests/lab/traffic.yml >"$logs/lab-traffic.log" 2>&1 || {
    tail -n 30 "$logs/lab-traffic.log"; echo "demo: the requests failed"; exit 1; }
if [ "${1:-}" = facts ]; then
    ansible-playbook -i "$inventory" -l lab badgateway.nginx.facts
fi
echo "demo: diagnosing every host"
ansible-playbook -i "$inventory" -l lab badgateway.nginx.diagnose -e report_dir="$ROOT/report"
echo "demo: report: $ROOT/report/report.html (and report.json)"
echo "demo: remediating every host (diagnose, fix with automatic rollback, diagnose again)"
ansible-playbook -i "$inventory" -l lab badgateway.nginx.remediate -e report_dir="$ROOT/report/remediation"
echo "demo: before/after report: $ROOT/report/remediation/report.html (and report.json)"
echo "demo: remove the lab with: bash scripts/demo.sh down"
