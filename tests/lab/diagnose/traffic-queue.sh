#!/usr/bin/env bash
# Requests that queue for a free PHP-FPM child (queue.yml): run on the proxy.
set -u
# six 2 s requests at once on two children: they wait up to 4 s and all answer 200
for _ in $(seq 1 6); do
    curl -s -o /dev/null --max-time 20 "http://127.0.0.1:8015/wait.php" &
done
wait
# four 2 s requests at once on one child with fastcgi_read_timeout 3s: the first answers, the three
# queued behind it time out (504)
for _ in $(seq 1 4); do
    curl -s -o /dev/null --max-time 20 "http://127.0.0.1:8016/wait.php" &
done
wait
exit 0
