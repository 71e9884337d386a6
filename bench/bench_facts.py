#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark of badgateway.nginx.nginx_facts' config parsing.

For each size N (number of server blocks) this script generates a valid,
realistic nginx configuration spread over include files, then times on the
same files:

  a. crossplane.parse(main) with its default options (the baseline),
  b. nginx_facts: read_config_tree() (node side, reads the files) and
     build_facts() (controller side, parses them), separately and together,
  c. nginx -t -c main -p dir (wall time of the child process),
  and, for information, nginx -T + split_dump (the module's primary node path).

Times are the best of --repeat runs.  Peak memory is measured in separate
runs (tracemalloc slows Python down, so it never overlaps a timed run);
nginx's peak RSS comes from wait4() on its own process.

The script checks that build_facts (and crossplane) found exactly the
servers, locations and upstreams the generator wrote and exits 1 if not.
Targets (nginx_facts <= 1.2x crossplane.parse, nginx_facts faster than
nginx -t) are reported, not enforced.

Run with the virtualenv python that has crossplane:  python bench/bench_facts.py
"""

from __future__ import absolute_import, division, print_function

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import pwd
import grp
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SERVERS_PER_FILE = 10
SERVERS_PER_UPSTREAM = 20
TARGET_VS_CROSSPLANE = 1.2

EXIT_OK, EXIT_MISMATCH, EXIT_SETUP = 0, 1, 2


class SetupError(Exception):
    """Something the benchmark needs is missing or broken (exit 2)."""


# --- imports ------------------------------------------------------------------

def import_code():
    """Import crossplane and the collection's code; return (crossplane, nginx_cli, facts_builder, tmpdir)."""
    try:
        import crossplane
    except ImportError as e:
        raise SetupError('crossplane is not importable by %s (%s).\n'
                         'Run this script with the virtualenv python that has it '
                         '(e.g. $HOME/.cache/badgateway/venv/bin/python, see requirements/), '
                         'or: %s -m pip install crossplane==0.5.8' % (sys.executable, e, sys.executable))
    parts = REPO.split(os.sep)
    tmp = None
    if len(parts) >= 4 and parts[-3] == 'ansible_collections':
        base = os.sep.join(parts[:-3])
    else:
        tmp = base = tempfile.mkdtemp(prefix='bgw-bench-import-')
        link_dir = os.path.join(base, 'ansible_collections', 'badgateway')
        os.makedirs(link_dir)
        os.symlink(REPO, os.path.join(link_dir, 'nginx'))
    sys.path.insert(0, base)
    from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_cli as nginx_cli
    from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_facts as facts_builder
    return crossplane, nginx_cli, facts_builder, tmp


# --- config generator -----------------------------------------------------------

FASTCGI_PARAMS = '''\
fastcgi_param  QUERY_STRING       $query_string;
fastcgi_param  REQUEST_METHOD     $request_method;
fastcgi_param  CONTENT_TYPE       $content_type;
fastcgi_param  CONTENT_LENGTH     $content_length;

fastcgi_param  SCRIPT_NAME        $fastcgi_script_name;
fastcgi_param  REQUEST_URI        $request_uri;
fastcgi_param  DOCUMENT_URI       $document_uri;
fastcgi_param  DOCUMENT_ROOT      $document_root;
fastcgi_param  SERVER_PROTOCOL    $server_protocol;
fastcgi_param  REQUEST_SCHEME     $scheme;
fastcgi_param  HTTPS              $https if_not_empty;

fastcgi_param  GATEWAY_INTERFACE  CGI/1.1;
fastcgi_param  SERVER_SOFTWARE    nginx/$nginx_version;

fastcgi_param  REMOTE_ADDR        $remote_addr;
fastcgi_param  REMOTE_PORT        $remote_port;
fastcgi_param  SERVER_ADDR        $server_addr;
fastcgi_param  SERVER_PORT        $server_port;
fastcgi_param  SERVER_NAME        $server_name;

# PHP only, required if PHP was built with --enable-force-cgi-redirect
fastcgi_param  REDIRECT_STATUS    200;
'''

MIME_TYPES = '''\
types {
    text/html                                        html htm shtml;
    text/css                                         css;
    text/xml                                         xml;
    image/gif                                        gif;
    image/jpeg                                       jpeg jpg;
    application/javascript                           js;
    text/plain                                       txt;
    image/png                                        png;
    image/svg+xml                                    svg svgz;
    image/webp                                       webp;
    image/x-icon                                     ico;
    font/woff                                        woff;
    font/woff2                                       woff2;
    application/json                                 json;
    application/pdf                                  pdf;
    application/zip                                  zip;
    application/octet-stream                         bin exe dll;
    video/mp4                                        mp4;
}
'''

PROXY_SNIPPET = '''\
# common reverse-proxy settings, included from locations
proxy_http_version 1.1;
proxy_set_header Host $host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header Upgrade $http_upgrade;
proxy_set_header Connection $connection_upgrade;
proxy_buffering on;
proxy_buffer_size 8k;
proxy_buffers 16 8k;
proxy_busy_buffers_size 16k;
'''

MAPS = '''\
# websocket upgrade
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}

map $request_method $bench_is_write {
    default 0;
    POST    1;
    PUT     1;
    PATCH   1;
    DELETE  1;
}
'''


def _run_user():
    """user/group for the 'user' directive that exist here (only matters when nginx runs as root)."""
    for name in ('www-data', 'nginx', 'nobody'):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        try:
            group = grp.getgrgid(pw.pw_gid).gr_name
        except KeyError:
            group = name
        return name, group
    pw = pwd.getpwuid(os.getuid())
    return pw.pw_name, grp.getgrgid(pw.pw_gid).gr_name


def make_certificate(directory):
    """Create one self-signed certificate for all ssl servers; return (crt, key) or None."""
    openssl = shutil.which('openssl')
    if not openssl:
        return None
    crt = os.path.join(directory, 'bench.crt')
    key = os.path.join(directory, 'bench.key')
    proc = subprocess.run([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                           '-nodes', '-keyout', key, '-out', crt, '-days', '3650', '-subj', '/CN=bench.test'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    if proc.returncode != 0:
        raise SetupError('openssl could not create a test certificate: %s' % proc.stderr.strip()[-500:])
    return crt, key


def _upstream_block(k, rng):
    """One upstream block; returns (text, number of server lines)."""
    name = 'app_%04d' % k
    port = 8000 + k % 1000
    count = rng.randint(2, 4)
    method = ('', 'least_conn', '', 'hash $request_uri consistent', '')[k % 5]
    lines = ['upstream %s {' % name]
    if method:
        lines.append('    %s;' % method)
    for j in range(count):
        ip = '10.%d.%d.%d' % (k // 250 % 250, k % 250, j + 1)
        if j == 1 and k % 3 == 0:
            lines.append('    server unix:/run/app/%s.sock max_fails=2 fail_timeout=5s;' % name)
        elif j == count - 1 and count > 2 and not method.startswith('hash'):
            lines.append('    server %s:%d backup;' % (ip, port))
        else:
            opts = []
            if j == 0:
                opts.append('weight=%d' % rng.randint(1, 5))
            opts.append('max_fails=%d' % rng.randint(1, 3))
            if rng.random() < 0.5:
                opts.append('fail_timeout=%ds' % rng.choice((5, 10, 30)))
            lines.append('    server %s:%d %s;' % (ip, port, ' '.join(opts)))
    if k % 4 != 3:
        lines.append('    keepalive %d;' % rng.choice((8, 16, 32, 64)))
        lines.append('    keepalive_timeout 60s;')
    lines.append('}')
    return '\n'.join(lines) + '\n', count


def _server_block(i, n_upstreams, ssl_every, rng):
    """One server block; returns (text, number of location blocks)."""
    sid = 's%05d' % i
    api_port = 9000 + i % 1000
    ssl = bool(ssl_every) and i % ssl_every == ssl_every - 1
    out = ['# %s: generated virtual host' % sid, 'server {']
    if ssl:
        out.append('    listen 8443 ssl http2;')
        if i % 2 == 0:
            out.append('    listen [::]:8443 ssl http2;')
    else:
        out.append('    listen 8080%s;' % (' default_server' if i == 0 else ''))
        if i % 2 == 0:
            out.append('    listen [::]:8080%s;' % (' default_server' if i == 0 else ''))
    out.append('    server_name %s.bench.test www.%s.bench.test;' % (sid, sid))
    if ssl:
        out.append('    ssl_certificate certs/bench.crt;')
        out.append('    ssl_certificate_key certs/bench.key;')
    out.append('    root /var/www/%s/public;' % sid)
    out.append('    index index.php index.html;')
    out.append('    client_max_body_size %dm;' % rng.choice((1, 8, 16, 64)))
    if i % 3 == 0:
        out.append('    proxy_set_header X-Site-ID "%s";' % sid)
        out.append('    proxy_set_header X-Forwarded-Host $host;')
    if i % 7 == 0:
        out.append('    proxy_read_timeout %ds;' % rng.choice((45, 90, 120)))
    out.append('')
    locations = 0
    nested_in_api = i % 2 == 0

    # location /
    locations += 1
    out.append('    location / {')
    out.append('        include snippets/proxy.conf;')
    out.append('        proxy_pass http://app_%04d;' % (i // SERVERS_PER_UPSTREAM % n_upstreams))
    if not nested_in_api:
        locations += 1
        out.append('')
        out.append('        location /static/ {')
        out.append('            root /var/www/%s;' % sid)
        out.append('            expires 7d;')
        out.append('            try_files $uri =404;')
        out.append('        }')
    out.append('    }')
    out.append('')

    # location /api/
    locations += 1
    out.append('    location /api/ {')
    out.append('        include snippets/proxy.conf;')
    out.append('        proxy_set_header X-Api-Version "1";')
    out.append('        proxy_connect_timeout %ss;' % rng.choice((1, 2, 3, 5)))
    out.append('        proxy_send_timeout %ds;' % rng.choice((10, 15, 30)))
    out.append('        proxy_read_timeout %s;' % rng.choice(('30s', '1m30s', '120', '2m')))
    out.append('        proxy_pass http://127.0.0.1:%d;' % api_port)
    if nested_in_api:
        locations += 1
        out.append('')
        out.append('        location /api/v2/ {')
        out.append('            proxy_read_timeout 5m;')
        out.append('            proxy_pass http://127.0.0.1:%d/v2/;' % (api_port + 1000))
        out.append('        }')
    out.append('    }')
    out.append('')

    # PHP
    locations += 1
    out.append('    location ~ \\.php$ {')
    out.append('        try_files $uri =404;')
    out.append('        include fastcgi_params;')
    out.append('        fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;')
    out.append('        fastcgi_param APP_ENV "production";')
    out.append('        fastcgi_index index.php;')
    out.append('        fastcgi_pass unix:/run/php/php8.2-fpm.sock;')
    out.append('        fastcgi_read_timeout %ds;' % rng.choice((60, 120, 300)))
    out.append('        fastcgi_buffers 16 16k;')
    out.append('        fastcgi_buffer_size 32k;')
    out.append('    }')

    if i % 5 == 0:
        locations += 1
        out.append('')
        out.append('    location = /healthz {')
        out.append('        access_log off;')
        out.append('        return 200 "ok\\n";')
        out.append('    }')
    out.append('}')
    return '\n'.join(out) + '\n', locations


def generate(root, n_servers, ssl_every, cert, seed=20260522):
    """Write the configuration under root; return what was written (the expected counts)."""
    import random
    rng = random.Random(seed + n_servers)
    if not cert:
        ssl_every = 0
    n_upstreams = max(1, n_servers // SERVERS_PER_UPSTREAM)
    n_files = (n_servers + SERVERS_PER_FILE - 1) // SERVERS_PER_FILE
    for d in ('conf.d', 'snippets', 'sites-enabled', 'certs', 'logs', 'run', 'temp'):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    written = []

    def write(rel, text):
        with open(os.path.join(root, rel), 'w') as f:
            f.write(text)
        written.append(rel)

    user, group = _run_user()
    hash_max = 1024
    while hash_max < 4 * n_servers:
        hash_max *= 2
    write('nginx.conf', '''\
# nginx.conf generated by bench/bench_facts.py ({n} server blocks)
user {user} {group};
worker_processes auto;
worker_rlimit_nofile 65535;
pid run/nginx.pid;
error_log logs/error.log warn;

events {{
    worker_connections 4096;
    multi_accept on;
}}

http {{
    include mime.types;
    default_type application/octet-stream;

    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    server_tokens off;
    client_max_body_size 1m;

    server_names_hash_bucket_size 128;
    server_names_hash_max_size {hash_max};
    proxy_headers_hash_bucket_size 128;
    proxy_headers_hash_max_size 1024;

    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    '"$http_user_agent" rt=$request_time urt=$upstream_response_time';
    access_log off;

    client_body_temp_path temp/client_body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;

    proxy_connect_timeout 5s;
    proxy_read_timeout 30s;
    proxy_set_header Host $host;
    proxy_set_header X-Request-ID $request_id;

    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;

    gzip on;
    gzip_types text/plain text/css application/json application/javascript;

    include conf.d/*.conf;
    include sites-enabled/*;
}}
'''.format(n=n_servers, user=user, group=group, hash_max=hash_max))
    write('mime.types', MIME_TYPES)
    write('fastcgi_params', FASTCGI_PARAMS)
    write('snippets/proxy.conf', PROXY_SNIPPET)
    write('conf.d/maps.conf', MAPS)
    parts, upstream_servers = ['# upstream pools generated by bench/bench_facts.py\n'], 0
    for k in range(n_upstreams):
        text, count = _upstream_block(k, rng)
        parts.append(text)
        upstream_servers += count
    write('conf.d/upstreams.conf', '\n'.join(parts))
    locations = 0
    for f in range(n_files):
        parts = ['# site file %04d generated by bench/bench_facts.py\n' % f]
        for i in range(f * SERVERS_PER_FILE, min(n_servers, (f + 1) * SERVERS_PER_FILE)):
            text, count = _server_block(i, n_upstreams, ssl_every, rng)
            parts.append(text)
            locations += count
        write('sites-enabled/site-%04d.conf' % f, '\n'.join(parts))
    if ssl_every:
        shutil.copy(cert[0], os.path.join(root, 'certs', 'bench.crt'))
        shutil.copy(cert[1], os.path.join(root, 'certs', 'bench.key'))
    size = lines = 0
    for rel in written:
        with open(os.path.join(root, rel), 'rb') as fh:
            data = fh.read()
        size += len(data)
        lines += data.count(b'\n')
    return {
        'servers': n_servers, 'locations': locations, 'upstreams': n_upstreams,
        'upstream_servers': upstream_servers, 'files': len(written),
        'file_set': set(os.path.join(root, rel) for rel in written),
        'bytes': size, 'lines': lines,
        'ssl_servers': (n_servers // ssl_every if ssl_every else 0),
    }


# --- measuring helpers ------------------------------------------------------------

def run_child(argv):
    """Run argv; return (rc, stdout bytes, stderr text, wall seconds, ru_maxrss KiB of that child)."""
    env = dict(os.environ, LC_ALL='C', LANG='C')
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, close_fds=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read().decode('utf-8', 'replace'), wall, usage.ru_maxrss


def timed(func, *args):
    gc.collect()
    t0 = time.perf_counter()
    result = func(*args)
    return time.perf_counter() - t0, result


def traced_peak(func, *args):
    """Peak bytes traced by tracemalloc while func runs (the result is freed afterwards)."""
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = func(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def make_raw(files, main, root):
    return {
        'files': [{'path': p, 'content': t} for p, t in files],
        'config': main, 'conf_prefix': root + '/', 'prefix': root + '/',
        'build': {}, 'valid': True, 'validation': {'errors': [], 'warnings': []},
        'warnings': [], 'source': 'files',
    }


def crossplane_counts(payload):
    """servers (http server blocks), locations and upstreams over every parsed file (each file parsed once)."""
    counts = {'servers': 0, 'locations': 0, 'upstreams': 0}

    def walk(stmts):
        for st in stmts:
            d = st['directive']
            if 'block' in st:
                if d == 'server':
                    counts['servers'] += 1
                elif d == 'location':
                    counts['locations'] += 1
                elif d == 'upstream':
                    counts['upstreams'] += 1
                walk(st['block'])
    for conf in payload['config']:
        walk(conf['parsed'])
    counts['files'] = len(payload['config'])
    return counts


def profile_build(build_facts, raw, limit):
    prof = cProfile.Profile()
    gc.collect()
    prof.enable()
    build_facts(raw)
    prof.disable()
    for order in ('cumulative', 'tottime'):
        stream = io.StringIO()
        pstats.Stats(prof, stream=stream).strip_dirs().sort_stats(order).print_stats(limit)
        print('--- cProfile of build_facts, top %d by %s ---' % (limit, order))
        text = stream.getvalue()
        start = text.find('   ncalls')
        print((text[start:] if start >= 0 else text).rstrip())
        print()


# --- one size -----------------------------------------------------------------------

def bench_size(n, args, mods, cert, workdir):
    crossplane, nc, cfg = mods
    root = os.path.join(workdir, 'servers-%d' % n)
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    root = os.path.realpath(root)
    main = os.path.join(root, 'nginx.conf')
    t0 = time.perf_counter()
    expected = generate(root, n, args.ssl_every, cert)
    gen_seconds = time.perf_counter() - t0

    loadavg = os.getloadavg()
    res = {'servers_requested': n, 'loadavg_before': loadavg, 'dir': root, 'generate_seconds': gen_seconds,
           'config_bytes': expected['bytes'], 'config_lines': expected['lines'],
           'ssl_servers': expected['ssl_servers'], 'expected': {k: v for k, v in expected.items() if k != 'file_set'}}
    times = {'crossplane_parse': [], 'read_config_tree': [], 'build_facts': [], 'read_plus_build': []}
    if not args.skip_nginx:
        times.update({'nginx_t': [], 'nginx_T': [], 'split_dump': []})
    nginx_rss = {'nginx_t': 0, 'nginx_T': 0}
    problems, notes = [], []
    facts = payload = dump_files = None

    for rep in range(args.repeat):
        # a. crossplane baseline
        seconds, payload = timed(crossplane.parse, main)
        times['crossplane_parse'].append(seconds)
        if rep == 0:
            if payload['status'] != 'ok' or payload['errors']:
                raise SetupError('crossplane.parse reported errors on the generated config: %s'
                                 % json.dumps(payload['errors'][:5]))
            res['crossplane_counts'] = crossplane_counts(payload)
        del payload
        payload = None

        # b. nginx_facts: node-side read, controller-side build
        gc.collect()
        t0 = time.perf_counter()
        files, errors, warnings = nc.read_config_tree(main, root + '/', nc.DEFAULT_MAX_FILE_SIZE)
        t1 = time.perf_counter()
        raw = make_raw(files, main, root)
        gc.collect()
        t2 = time.perf_counter()
        facts = cfg.build_facts(raw)
        t3 = time.perf_counter()
        times['read_config_tree'].append(t1 - t0)
        times['build_facts'].append(t3 - t2)
        times['read_plus_build'].append((t1 - t0) + (t3 - t2))
        if rep == 0:
            if errors or warnings:
                problems.append('read_config_tree errors=%r warnings=%r' % (errors[:3], warnings[:3]))
            res['read_files'] = [p for p, _t in files]
            res['facts_counts'] = dict(facts['counts'])
            res['facts_upstream_servers'] = sum(len(u['servers']) for u in facts['upstreams'].values())
            res['facts_check'] = check_facts(facts)
            # what Ansible moves around: the module's return (raw) and the facts
            res['raw_json_bytes'] = len(json.dumps(raw))
            res['verbose_json_bytes'] = len(json.dumps(facts))
            # what the action stores (compact, the default): its cost, its size, and that it is exact
            c0 = time.perf_counter()
            small = cfg.compact(facts)
            c1 = time.perf_counter()
            res['facts_json_bytes'] = len(json.dumps(small))
            stored = json.loads(json.dumps(small))
            c2 = time.perf_counter()
            back = cfg.expand(stored)
            c3 = time.perf_counter()
            res['compact_s'], res['expand_s'] = c1 - c0, c3 - c2
            if back != json.loads(json.dumps(facts)):
                problems.append('expand(compact(facts)) differs from the facts')
            del small, stored, back
        del facts, raw, files
        facts = None

        # c. nginx -t (and nginx -T + split_dump, the module's primary node path)
        if not args.skip_nginx:
            rc, _out, err, wall, rss = run_child([args.nginx, '-t', '-c', main, '-p', root + '/'])
            if rc != 0:
                raise SetupError('nginx -t rejected the generated config (rc=%d):\n%s' % (rc, err.strip()[-2000:]))
            times['nginx_t'].append(wall)
            nginx_rss['nginx_t'] = max(nginx_rss['nginx_t'], rss)
            if rep == 0:
                res['nginx_t_stderr'] = err.strip()
            rc, out, err, wall, rss = run_child([args.nginx, '-T', '-c', main, '-p', root + '/'])
            if rc != 0:
                raise SetupError('nginx -T failed (rc=%d):\n%s' % (rc, err.strip()[-2000:]))
            times['nginx_T'].append(wall)
            nginx_rss['nginx_T'] = max(nginx_rss['nginx_T'], rss)
            seconds, dump = timed(nc.split_dump, out)
            times['split_dump'].append(seconds)
            if rep == 0:
                dump_files = [p for p, _d in dump]
                res['dump_matches_read'] = compare_dump(dump, main, root, nc)
            del dump, out

    res['times'] = times
    res['loadavg_after_timing'] = os.getloadavg()
    t_mem = time.perf_counter()
    res['best'] = {k: min(v) for k, v in times.items() if v}
    res['nginx_maxrss_kib'] = nginx_rss if not args.skip_nginx else None

    # memory: separate runs under tracemalloc
    if not args.no_memory:
        files, _e, _w = nc.read_config_tree(main, root + '/', nc.DEFAULT_MAX_FILE_SIZE)
        raw = make_raw(files, main, root)
        del files
        res['tracemalloc_peak'] = {
            'crossplane_parse': traced_peak(crossplane.parse, main),
            'read_config_tree': traced_peak(nc.read_config_tree, main, root + '/', nc.DEFAULT_MAX_FILE_SIZE),
            'build_facts': traced_peak(cfg.build_facts, raw),
            'read_plus_build': traced_peak(
                lambda: cfg.build_facts(make_raw(nc.read_config_tree(main, root + '/')[0], main, root))),
        }
        del raw
        res['memory_runs_seconds'] = time.perf_counter() - t_mem

    # verification against what was generated
    fc, xc = res['facts_counts'], res['crossplane_counts']
    for key in ('servers', 'locations', 'upstreams', 'files'):
        if fc[key] != expected[key]:
            problems.append('build_facts found %d %s, the generator wrote %d' % (fc[key], key, expected[key]))
        if xc[key] != expected[key]:
            problems.append('crossplane.parse found %d %s, the generator wrote %d' % (xc[key], key, expected[key]))
    if res['facts_upstream_servers'] != expected['upstream_servers']:
        problems.append('build_facts found %d upstream servers, the generator wrote %d'
                        % (res['facts_upstream_servers'], expected['upstream_servers']))
    if set(res['read_files']) != expected['file_set']:
        problems.append('read_config_tree read %s; the generator wrote %s' % (
            sorted(set(res['read_files']) ^ expected['file_set'])[:5], 'a different set'))
    problems.extend(res['facts_check'])
    if dump_files is not None and res['dump_matches_read'] is not True:
        notes.append('nginx -T dump differs from read_config_tree: %s' % res['dump_matches_read'])
    res['problems'] = problems
    res['notes'] = notes
    del res['read_files']

    if args.profile:
        files, _e, _w = nc.read_config_tree(main, root + '/', nc.DEFAULT_MAX_FILE_SIZE)
        res['_profile_raw'] = make_raw(files, main, root)
    return res


def check_facts(facts):
    """Spot checks of what build_facts computed (structure the generator guarantees)."""
    problems = []
    kinds = {}
    for srv in facts['servers']:
        for loc in srv['locations']:
            p = loc.get('pass')
            key = (loc['modifier'], p['target']['kind'] if p else None)
            kinds[key] = kinds.get(key, 0) + 1
            if loc['match'] == '/' and (not p or p['target']['kind'] != 'upstream'):
                problems.append('%s:%s: location / should proxy to an upstream, got %r'
                                % (loc['file'], loc['line'], p and p['target']))
            if loc['match'] == '/api/' and p:
                hdr = {h['name'] for h in loc.get('headers', {}).get('sent', []) if not h.get('implicit')}
                if 'X-Api-Version' not in hdr or 'X-Forwarded-For' not in hdr:
                    problems.append('%s:%s: /api/ headers should hold the snippet plus X-Api-Version, got %r'
                                    % (loc['file'], loc['line'], sorted(hdr)))
            if loc['modifier'] == '~' and (not p or p['target']['kind'] != 'unix'):
                problems.append('%s:%s: php location should fastcgi_pass to a unix socket'
                                % (loc['file'], loc['line']))
            if len(problems) > 5:
                return problems
    return problems


def compare_dump(dump, main, root, nc):
    """True if nginx -T's files (paths, order, content) equal read_config_tree's, else a description."""
    files, _e, _w = nc.read_config_tree(main, root + '/', nc.DEFAULT_MAX_FILE_SIZE)
    dpaths = [p for p, _d in dump]
    rpaths = [p for p, _t in files]
    if dpaths != rpaths:
        if sorted(dpaths) == sorted(rpaths):
            return 'same %d files in a different order (first difference at index %d: -T %s, read %s)' % (
                len(dpaths), next(i for i, (a, b) in enumerate(zip(dpaths, rpaths)) if a != b),
                *next((a, b) for a, b in zip(dpaths, rpaths) if a != b))
        return '-T has %d files, read_config_tree %d; only in -T: %s; only in read: %s' % (
            len(dpaths), len(rpaths), sorted(set(dpaths) - set(rpaths))[:3], sorted(set(rpaths) - set(dpaths))[:3])
    for (p, d), (_p, t) in zip(dump, files):
        if d.decode('utf-8') != t:
            return 'content of %s differs' % p
    return True


# --- output --------------------------------------------------------------------------

def fmt_s(v):
    return '%.4f' % v


def fmt_mib(nbytes):
    return '%.1f MiB' % (nbytes / 1048576.0)


def print_table(res, args):
    e = res['expected']
    fc = res['facts_counts']
    b = res['best']
    print()
    print('=== %d servers: %d files, %d servers, %d locations, %d upstreams (%d upstream servers), '
          '%d ssl servers; %d lines, %d bytes of config ===' % (
              res['servers_requested'], fc['files'], fc['servers'], fc['locations'], fc['upstreams'],
              res['facts_upstream_servers'], res['ssl_servers'], res['config_lines'], res['config_bytes']))
    print('generated in %.3f s under %s; expected %d files, %d servers, %d locations, %d upstreams' % (
        res['generate_seconds'], res['dir'], e['files'], e['servers'], e['locations'], e['upstreams']))
    mem = res.get('tracemalloc_peak') or {}
    rss = res.get('nginx_maxrss_kib') or {}
    rows = [
        ('a  crossplane.parse(main)', 'crossplane_parse', mem.get('crossplane_parse'), None),
        ('b1 read_config_tree (node)', 'read_config_tree', mem.get('read_config_tree'), None),
        ('b2 build_facts (controller)', 'build_facts', mem.get('build_facts'), None),
        ('b  read_config_tree + build_facts', 'read_plus_build', mem.get('read_plus_build'), None),
        ('c  nginx -t', 'nginx_t', None, rss.get('nginx_t')),
        ('i  nginx -T (info)', 'nginx_T', None, rss.get('nginx_T')),
        ('i  split_dump of -T output (info)', 'split_dump', None, None),
    ]
    print('%-36s %10s   %-30s %s' % ('step', 'best s', 'all runs (s)', 'peak memory'))
    for label, key, peak, maxrss in rows:
        if key not in b:
            continue
        runs = ' '.join(fmt_s(t) for t in res['times'][key])
        if peak is not None:
            m = 'tracemalloc peak %s' % fmt_mib(peak)
        elif maxrss is not None:
            m = 'ru_maxrss %s (%d KiB)' % (fmt_mib(maxrss * 1024), maxrss)
        else:
            m = '-'
        print('%-36s %10s   %-30s %s' % (label, fmt_s(b[key]), runs, m))
    cp = b['crossplane_parse']
    print('ratios:')
    print('  build_facts / crossplane.parse                      = %.3f' % (b['build_facts'] / cp))
    print('  (read_config_tree + build_facts) / crossplane.parse = %.3f' % (b['read_plus_build'] / cp))
    if 'nginx_t' in b:
        print('  build_facts / nginx -t                              = %.3f' % (b['build_facts'] / b['nginx_t']))
        print('  (read_config_tree + build_facts) / nginx -t         = %.3f' % (b['read_plus_build'] / b['nginx_t']))
    print('targets (reported, not enforced):')
    for label, key in (('build_facts', 'build_facts'), ('read_config_tree + build_facts', 'read_plus_build')):
        r = b[key] / cp
        print('  %-31s <= %.1fx crossplane.parse : %s (%.3fx)' % (
            label, TARGET_VS_CROSSPLANE, 'MET' if r <= TARGET_VS_CROSSPLANE else 'NOT MET', r))
        if 'nginx_t' in b:
            print('  %-31s  < nginx -t              : %s (%.4f s vs %.4f s)' % (
                label, 'MET' if b[key] < b['nginx_t'] else 'NOT MET', b[key], b['nginx_t']))
    print('verification: build_facts %s; crossplane found %d servers, %d locations, %d upstreams in %d files' % (
        'OK (counts match the generator, spot checks pass)' if not res['problems'] else 'FAILED (see PROBLEM lines)',
        res['crossplane_counts']['servers'], res['crossplane_counts']['locations'],
        res['crossplane_counts']['upstreams'], res['crossplane_counts']['files']))
    print('JSON sizes: module return (files) %d bytes, ansible_facts.nginx %d bytes compact (%.2fx the config), '
          '%d bytes verbose (%.2fx); compact() %.3f s, expand() %.3f s, exact round trip: %s' % (
              res['raw_json_bytes'], res['facts_json_bytes'], res['facts_json_bytes'] / float(res['config_bytes']),
              res['verbose_json_bytes'], res['verbose_json_bytes'] / float(res['config_bytes']),
              res['compact_s'], res['expand_s'],
              'no' if any('expand(compact' in p for p in res['problems']) else 'yes'))
    print('load average (1/5/15 min) before: %s, after the timed runs: %s  (other work on the machine skews times)' % (
        ' '.join('%.2f' % x for x in res['loadavg_before']), ' '.join('%.2f' % x for x in res['loadavg_after_timing'])))
    if 'dump_matches_read' in res:
        print('nginx -T dump vs read_config_tree: %s' % (
            'same files, order and content' if res['dump_matches_read'] is True else res['dump_matches_read']))
    if res.get('nginx_t_stderr'):
        lines = res['nginx_t_stderr'].splitlines()
        print('nginx -t said: %s' % ' | '.join(lines[:4]) + (' | ... (%d lines)' % len(lines) if len(lines) > 4 else ''))
    for p in res['problems']:
        print('PROBLEM: %s' % p)
    for n in res['notes']:
        print('NOTE: %s' % n)
    sys.stdout.flush()


def code_ids():
    """Short sha256 of the benchmarked files (they change while the collection is developed)."""
    ids = {}
    for rel in ('plugins/module_utils/_nginx_cli.py', 'plugins/module_utils/_nginx_facts.py'):
        with open(os.path.join(REPO, rel), 'rb') as f:
            ids[rel] = hashlib.sha256(f.read()).hexdigest()[:12]
    return ids


def nginx_version(binary):
    try:
        rc, _o, err, _w, _r = run_child([binary, '-v'])
    except OSError as e:
        raise SetupError('cannot run %s: %s' % (binary, e))
    return err.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--servers', type=int, nargs='+', default=[1000, 10000], metavar='N',
                        help='sizes to benchmark, in server blocks (default: 1000 10000)')
    parser.add_argument('--repeat', type=int, default=3, help='timed runs per step; the best is reported (default 3)')
    parser.add_argument('--keep', metavar='DIR', help='generate the trees under DIR/servers-N and keep them')
    parser.add_argument('--json', action='store_true', help='also print one JSON line with all figures')
    parser.add_argument('--nginx', default=shutil.which('nginx') or '/usr/sbin/nginx',
                        help='nginx binary (default: nginx in PATH, else /usr/sbin/nginx)')
    parser.add_argument('--skip-nginx', action='store_true', help='do not run nginx -t / -T')
    parser.add_argument('--ssl-every', type=int, default=4, metavar='K',
                        help='every K-th server listens with ssl and a (shared) self-signed certificate; '
                             '0 disables ssl (default 4)')
    parser.add_argument('--no-memory', action='store_true', help='skip the tracemalloc runs')
    parser.add_argument('--profile', action='store_true',
                        help='after timing, run build_facts once under cProfile and print the top functions')
    parser.add_argument('--profile-limit', type=int, default=15)
    args = parser.parse_args(argv)
    if args.repeat < 1 or any(n < 1 for n in args.servers) or args.ssl_every < 0:
        parser.error('--repeat and --servers must be >= 1, --ssl-every >= 0')

    cleanup = []
    started = time.perf_counter()
    try:
        crossplane, nc, cfg, import_tmp = import_code()
        if import_tmp:
            cleanup.append(import_tmp)
        if not args.skip_nginx:
            if not (os.path.isfile(args.nginx) and os.access(args.nginx, os.X_OK)):
                raise SetupError('nginx binary %s not found; use --nginx PATH or --skip-nginx' % args.nginx)
            nver = nginx_version(args.nginx)
        else:
            nver = None
        if args.keep:
            workdir = os.path.abspath(args.keep)
            os.makedirs(workdir, exist_ok=True)
        else:
            workdir = tempfile.mkdtemp(prefix='bgw-bench-')
            cleanup.append(workdir)
        certdir = tempfile.mkdtemp(prefix='bgw-bench-cert-')
        cleanup.append(certdir)
        cert = make_certificate(certdir) if args.ssl_every else None
        if args.ssl_every and not cert:
            print('note: openssl not found, generating no ssl servers')

        print('bench_facts: python %s (%s), crossplane %s, %s, %d CPUs, %s' % (
            platform.python_version(), sys.executable, getattr(crossplane, '__version__', '?'),
            nver or 'nginx skipped', os.cpu_count() or 0, platform.platform()))
        ids = code_ids()
        print('code: %s' % ', '.join('%s sha256:%s' % (os.path.basename(k), v) for k, v in sorted(ids.items())))
        print('repeat=%d (best run reported), %s, memory %s' % (
            args.repeat, 'ssl on every %d-th server' % args.ssl_every if cert else 'no ssl servers',
            'measured in separate runs' if not args.no_memory else 'skipped'))
        results = []
        failed = False
        for n in args.servers:
            t0 = time.perf_counter()
            res = bench_size(n, args, (crossplane, nc, cfg), cert, workdir)
            res['wall_seconds'] = time.perf_counter() - t0
            print_table(res, args)
            print('(this size took %.1f s of wall time in total%s)' % (
                res['wall_seconds'], ', of which %.1f s for the tracemalloc runs' % res['memory_runs_seconds']
                if 'memory_runs_seconds' in res else ''))
            if res['problems']:
                failed = True
            raw = res.pop('_profile_raw', None)
            if raw is not None:
                print()
                profile_build(cfg.build_facts, raw, args.profile_limit)
                del raw
            results.append(res)
        total = time.perf_counter() - started
        print()
        print('total wall time %.1f s' % total)
        if args.keep:
            print('generated trees kept under %s' % workdir)
        if args.json:
            print(json.dumps({
                'bench': 'nginx_facts', 'python': platform.python_version(),
                'crossplane': getattr(crossplane, '__version__', None), 'nginx': nver,
                'cpus': os.cpu_count(), 'code_sha256': ids, 'repeat': args.repeat, 'ssl_every': args.ssl_every if cert else 0,
                'target_vs_crossplane': TARGET_VS_CROSSPLANE, 'total_seconds': total,
                'results': results,
            }, sort_keys=True))
        if failed:
            print('FAILED: build_facts did not find what the generator wrote (see PROBLEM lines)', file=sys.stderr)
            return EXIT_MISMATCH
        return EXIT_OK
    except SetupError as e:
        print('bench_facts: error: %s' % e, file=sys.stderr)
        return EXIT_SETUP
    finally:
        for d in cleanup:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
