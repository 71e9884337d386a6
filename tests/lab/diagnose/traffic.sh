#!/usr/bin/env bash
# Real requests that make nginx write the log lines the diagnosis reads.
#   traffic.sh proxy|backend|healthy
set -u
case "${1:-}" in
proxy)
    for port in 8001 8002 8005 8006 8007 8009 8010 8011 8012; do
        for i in 1 2; do
            curl -s -o /dev/null --max-time 8 "http://127.0.0.1:$port/x?token=secret$i"
        done
    done
    # both workers mark both members failed, then answer "no live upstreams"
    for i in 1 2 3 4 5 6; do
        curl -s -o /dev/null --max-time 5 "http://127.0.0.1:8013/pool?token=secret$i"
    done
    for port in 8003 8004; do
        curl -s -o /dev/null --max-time 5 "http://127.0.0.1:$port/index.php"
    done
    # twelve at once against one PHP-FPM child with no backlog
    for _ in $(seq 1 12); do
        curl -s -o /dev/null --max-time 10 "http://127.0.0.1:8008/sleep.php" &
    done
    wait
    ;;
backend)
    # forty at once through an nginx with 16 worker connections
    for _ in $(seq 1 40); do
        curl -s -o /dev/null --max-time 10 "http://127.0.0.1:8100/" &
    done
    wait
    ;;
healthy)
    for path in / /index.php; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:8001$path")
        [ "$code" = 200 ] || { echo "healthy: $path answered $code" >&2; exit 1; }
    done
    ;;
*)
    echo "usage: $0 proxy|backend|healthy" >&2
    exit 2
    ;;
esac
exit 0
