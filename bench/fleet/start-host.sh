#!/bin/sh
# Main process of a bench_fleet.py host (see Containerfile). Waits for
# /var/lib/bench/host.env (SELF_IP, PEER_IP: written by bench_fleet.py once
# every container has its address), writes the nginx configuration, starts
# the backends, PHP-FPM and nginx, makes the requests that fill the error log
# with real 502/504 lines, writes /var/lib/bench/ready, then execs sshd.
set -eu
state=/var/lib/bench
i=0
while [ ! -s "$state/host.env" ]; do
    i=$((i + 1))
    [ "$i" -le 1200 ] || { echo "no $state/host.env after 120 s" >&2; exit 1; }
    sleep 0.1
done
. "$state/host.env"

# Module executions are counted by this interpreter wrapper (bench_fleet.py
# sets ansible_python_interpreter to it): one line per Python process that
# Ansible starts on this host.
cat > /usr/local/bin/bench-python3 <<'WRAP'
#!/bin/sh
echo "$$" >> /var/lib/bench/python-runs
exec /usr/bin/python3 "$@"
WRAP
chmod 0755 /usr/local/bin/bench-python3

cat > /etc/nginx/conf.d/upstreams.conf <<CONF
# Local backends: 8081 answers, 8082 answers after 3 s (proxy_read_timeout 1s: 504),
# 8089 has no listener (connection refused: 502).
upstream app_local { server 127.0.0.1:8081 max_fails=3; keepalive 8; }
upstream app_slow { server 127.0.0.1:8082; }
upstream app_dead { server 127.0.0.1:8089; }
# The next host of the fleet: 8081 answers there, 8084 has no listener,
# 8086 is dropped by its input firewall (connect timeout: 504).
upstream app_peer { server ${PEER_IP}:8081; server ${PEER_IP}:8084 backup; }
upstream app_peer_firewalled { server ${PEER_IP}:8086; }
# A unix socket that exists with no listener behind it (connect(): 111 refused).
upstream php_gone { server unix:/run/php/php-gone.sock; }
CONF

cat > /etc/nginx/conf.d/sites.conf <<'CONF'
log_format bench '$remote_addr [$time_local] "$request" $status $upstream_addr $upstream_status';
server {
    listen 80 default_server;
    server_name www.bench.test;
    root /srv/www;
    access_log /var/log/nginx/www.access.log bench;
    error_log /var/log/nginx/www.error.log warn;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    location / { proxy_pass http://app_local; }
    location /slow/ { proxy_pass http://app_slow; proxy_read_timeout 1s; }
    location /dead/ { proxy_pass http://app_dead; }
    location ~ \.php$ {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
        fastcgi_pass unix:/run/php/php8.2-fpm.sock;
    }
    location /legacy/ {
        include fastcgi_params;
        fastcgi_param SCRIPT_FILENAME /srv/www/index.php;
        fastcgi_pass php_gone;
    }
}
server {
    listen 8080;
    server_name api.bench.test;
    access_log /var/log/nginx/api.access.log bench;
    error_log /var/log/nginx/api.error.log warn;
    proxy_connect_timeout 1s;
    location / { proxy_pass http://app_peer; }
    location /orders/ { proxy_pass http://app_peer_firewalled; }
    location /reports/ { proxy_pass http://127.0.0.1:8083; proxy_read_timeout 2s; }
    location = /healthz { return 200 "ok\n"; }
}
CONF

# Input firewall: 8086 is dropped (the peer's app_peer_firewalled times out).
nft -f - <<'NFT' || echo "nft failed (no NET_ADMIN?)" >&2
table inet filter {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 8086 drop
    }
}
NFT

python3 /bench/backend.py 8081 >/dev/null 2>&1 &
python3 /bench/backend.py 8082 3 >/dev/null 2>&1 &
python3 /bench/backend.py 8086 >/dev/null 2>&1 &
# The refused unix socket: bound, never listened on, left behind.
mkdir -p /run/php
python3 -c 'import socket; s = socket.socket(socket.AF_UNIX); s.bind("/run/php/php-gone.sock")'
chmod 0666 /run/php/php-gone.sock
php-fpm8.2 --daemonize
nginx
ssh-keygen -A >/dev/null

# Requests that make nginx log real errors; the peer may still be starting, so
# its routes are asked last and again after a pause.
python3 - <<'PY'
import threading, time, urllib.request
def get(url):
    try:
        urllib.request.urlopen(url, timeout=10).read()
    except Exception:
        pass
paths = ['http://127.0.0.1/', 'http://127.0.0.1/index.php'] + ['http://127.0.0.1/dead/x'] * 5 \
    + ['http://127.0.0.1/legacy/a'] * 3 + ['http://127.0.0.1/slow/s'] * 2 + ['http://127.0.0.1:8080/reports/r'] * 2
time.sleep(1)
threads = [threading.Thread(target=get, args=(u,)) for u in paths]
for t in threads: t.start()
for t in threads: t.join()
time.sleep(3)
peer = ['http://127.0.0.1:8080/'] * 3 + ['http://127.0.0.1:8080/orders/o'] * 2
threads = [threading.Thread(target=get, args=(u,)) for u in peer]
for t in threads: t.start()
for t in threads: t.join()
PY
: > "$state/python-runs"
touch "$state/ready"
exec /usr/sbin/sshd -D -e
