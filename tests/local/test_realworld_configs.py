# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The facts of the real-world corpus compared with what the real nginx does with it.

The corpus (tests/unit/fixtures/configs/realworld) runs in the controller's nginx as a plain
process with its own prefix and free ports; unix sockets the corpus names are served by this
test. ``nginx -T`` must accept the corpus; live requests show which location serves each URI
(each answers a distinct body) and which socket a route reaches, and the facts that
badgateway.nginx.nginx_facts returns through Ansible must say the same. The tokenizer's
errors are compared with ``nginx -t``'s own message and line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.client
import http.server
import importlib.util
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading

import pytest

from conftest import ansible_env, free_port, plain_nginx_main, wait_port
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import expand

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), 'unit', 'fixtures', 'configs', 'realworld')
SITES = ('nextcloud.conf', 'magento.conf', 'mastodon.conf', 'discourse.conf', 'gitlab.conf',
         'proxy-manager.conf', 'jitsi.conf', 'wordpress.conf')
SOCKETS = ('mastodon-web', 'mastodon-streaming', 'discourse', 'gitlab-workhorse')

pytestmark = pytest.mark.skipif(not os.path.exists(NGINX), reason='nginx binary not installed')


def run_module(module, args):
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.%s' % module,
                           '-a', json.dumps(args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          check=False, universal_newlines=True)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', proc.stdout, re.M)
    assert m, (proc.stdout, proc.stderr)
    result = json.loads(proc.stdout[m.end():])
    result['failed'] = m.group(1) == 'FAILED!'
    assert 'Traceback' not in json.dumps(result), result
    if 'nginx' in (result.get('ansible_facts') or {}):  # stored compact: the tests read the verbose form
        result['ansible_facts']['nginx'] = expand(result['ansible_facts']['nginx'])
    return result


class _Handler(http.server.BaseHTTPRequestHandler):
    def _answer(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps({'backend': self.server.name, 'method': self.command, 'path': self.path,
                           'headers': [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def address_string(self):
        return 'unix'

    def log_message(self, *args):
        pass


class _UnixHTTP(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def _install(tmp, sites, ports, run=None):
    """The corpus under tmp/realworld with free ports and its sockets under run; the main config."""
    os.makedirs(os.path.join(tmp, 'realworld'))
    run = run or os.path.join(tmp, 'run')
    with open(os.path.join(tmp, 'fastcgi_params'), 'w') as f:
        f.write('fastcgi_param QUERY_STRING $query_string;\n')
    for name in os.listdir(CORPUS):
        if not name.endswith('.conf'):
            continue
        with open(os.path.join(CORPUS, name)) as f:
            text = f.read().replace('/run/realworld/', run.rstrip('/') + '/')
        text = re.sub(r'\b(81\d\d)\b', lambda m: str(ports.setdefault(m.group(1), free_port())), text)
        text = re.sub(r'listen (\d+);', r'listen 127.0.0.1:\1;', text)
        with open(os.path.join(tmp, 'realworld', name), 'w') as f:
            f.write(text)
    main = os.path.join(tmp, 'nginx.conf')
    with open(main, 'w') as f:
        f.write(plain_nginx_main(tmp, '    proxy_headers_hash_bucket_size 128;\n'
                                 + ''.join('    include realworld/%s;\n' % s for s in sites)))
    return main


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp('realworld'))
    # nginx's workers (nobody when the test runs as root) must reach the sockets: a directory
    # they can traverse (pytest's own are 0700)
    run = tempfile.mkdtemp(prefix='bgw-realworld-')
    os.chmod(run, 0o755)
    ports = {}
    main = _install(tmp, SITES, ports, run)
    servers = []
    for name in SOCKETS:
        path = os.path.join(run, name + '.sock')
        srv = _UnixHTTP(path, _Handler)
        os.chmod(path, 0o777)
        srv.name = name
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
    dump = subprocess.run([NGINX, '-T', '-c', main, '-p', tmp + '/'], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    nginx = subprocess.Popen([NGINX, '-c', main, '-p', tmp + '/', '-g', 'daemon off;'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_port(ports['8101'], tries=100, pause=0.05)
        facts = run_module('nginx_facts', {'config': main, 'prefix': tmp + '/'})
        yield {'tmp': tmp, 'run': run + '/', 'main': main, 'ports': ports, 'dump': dump, 'facts': facts}
    finally:
        nginx.terminate()
        nginx.wait(10)
        for srv in servers:
            srv.shutdown()
            srv.server_close()
        shutil.rmtree(run)


def request(port, path, host, method='GET'):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
    conn.request(method, path, body=b'x' if method == 'POST' else None, headers={'Host': host})
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    return resp.status, body


def server_of(facts, name):
    return [s for s in facts['servers'] if name in s['server_name']][0]


def select_location(server, uri):
    """nginx's choice (ngx_http_core_find_location) from the facts: exact, longest prefix, ^~ stops,
    else the first regex in file order, else the longest prefix."""
    locs = [loc for loc in server['locations'] if not loc['parents'] and loc['modifier'] != '@']
    for loc in locs:
        if loc['modifier'] == '=' and loc['match'] == uri:
            return loc
    prefixes = [loc for loc in locs if loc['modifier'] in ('', '^~') and uri.startswith(loc['match'])]
    best = max(prefixes, key=lambda loc: len(loc['match'])) if prefixes else None
    if best is not None and best['modifier'] == '^~':
        return best
    for loc in locs:
        if loc['modifier'] in ('~', '~*'):
            if re.search(loc['match'], uri, re.I if loc['modifier'] == '~*' else 0):
                return loc
    return best


def body_line(tmp, filename, body):
    with open(os.path.join(tmp, 'realworld', filename)) as f:
        for number, text in enumerate(f, 1):
            if 'return 200 "%s"' % body in text:
                return number
    raise AssertionError(body)


def test_nginx_accepts_the_corpus_and_the_facts_read_it(corpus):
    assert corpus['dump'].returncode == 0, corpus['dump'].stderr
    facts = corpus['facts']
    assert not facts['failed'], facts
    n = facts['ansible_facts']['nginx']
    assert n['valid'] is True and n['source'] == 'nginx -T'
    assert n['counts']['servers'] == 9


@pytest.mark.parametrize('site, filename, uri, body', [
    ('cloud.example.com', 'nextcloud.conf', '/favicon.ico', 'favicon-exact'),
    ('cloud.example.com', 'nextcloud.conf', '/robots.txt', 'robots-exact'),
    ('cloud.example.com', 'nextcloud.conf', '/README.md', 'docs-regex'),
    ('cloud.example.com', 'nextcloud.conf', '/LICENSE', 'docs-regex'),
    ('cloud.example.com', 'nextcloud.conf', '/.well-known/a.md', 'well-known-prefix'),
    ('cloud.example.com', 'nextcloud.conf', '/config/x', 'private-regex'),
    ('cloud.example.com', 'nextcloud.conf', '/index.html', 'root-prefix'),
    ('shop.example.com', 'magento-include.conf', '/SETUP/x', 'setup-regex'),
    ('shop.example.com', 'magento-include.conf', '/static/a.php', 'static-prefix'),
    ('shop.example.com', 'magento-include.conf', '/app/etc/env', 'denied-regex'),
    ('shop.example.com', 'magento-include.conf', '/catalog', 'magento-root'),
    ('blog.example.com', 'wordpress.conf', '/logo.PNG', 'static-regex'),
    ('blog.example.com', 'wordpress.conf', '/.git/config', 'dotfile-regex'),
    ('blog.example.com', 'wordpress.conf', '/about', 'wordpress-root'),
])
def test_the_location_that_serves_is_the_one_the_facts_choose(corpus, site, filename, uri, body):
    port = corpus['ports'][{'cloud.example.com': '8101', 'shop.example.com': '8102', 'blog.example.com': '8109'}[site]]
    status, answer = request(port, uri, site)
    assert (status, answer) == (200, body)
    chosen = select_location(server_of(corpus['facts']['ansible_facts']['nginx'], site), uri)
    assert chosen is not None
    assert (os.path.basename(chosen['file']), chosen['line']) == (filename, body_line(corpus['tmp'], filename, body) - 1)


def member_path(facts, upstream):
    return facts['upstreams'][upstream]['servers'][0]['target']['path']


def test_unix_sockets_and_upstream_names_are_the_ones_nginx_reaches(corpus):
    n = corpus['facts']['ansible_facts']['nginx']
    run = corpus['run']
    social = server_of(n, 'social.example.com')
    port = corpus['ports']['8103']
    # try_files falls back to @proxy, which passes to "Backend" (declared "backend")
    status, answer = request(port, '/about/more', 'social.example.com')
    assert status == 200 and json.loads(answer)['backend'] == 'mastodon-web'
    proxy = [loc for loc in social['locations'] if loc['match'] == '@proxy'][0]['pass']['target']
    assert member_path(n, proxy['upstream']) == run + 'mastodon-web.sock'
    status, answer = request(port, '/api/v1/streaming/user', 'social.example.com')
    assert status == 200 and json.loads(answer)['backend'] == 'mastodon-streaming'
    assert member_path(n, 'streaming') == run + 'mastodon-streaming.sock'
    # proxy_pass http://unix:///...sock: -> the socket nginx connects to
    status, answer = request(corpus['ports']['8104'], '/t/1', 'forum.example.com')
    assert status == 200 and json.loads(answer)['backend'] == 'discourse'
    forum = server_of(n, 'forum.example.com')['locations'][0]['pass']['target']
    assert (forum['kind'], forum['path']) == ('unix', run + 'discourse.sock')


def test_headers_nginx_sends_are_the_facts_headers(corpus):
    n = corpus['facts']['ansible_facts']['nginx']
    status, answer = request(corpus['ports']['8104'], '/t/1', 'forum.example.com')
    got = json.loads(answer)['headers']
    sent = server_of(n, 'forum.example.com')['locations'][0]['headers']['sent']
    # a header set twice is sent twice, and nginx's implicit Connection close is sent with them
    assert [v for k, v in got if k == 'X-Forwarded-For'] == ['127.0.0.1', '127.0.0.1']
    assert [e['name'] for e in sent if e['name'] == 'X-Forwarded-For'] == ['X-Forwarded-For', 'X-Forwarded-For']
    assert [v for k, v in got if k.lower() == 'connection'] == ['close']
    assert [(e['value'], e['implicit']) for e in sent if e['name'] == 'Connection'] == [('close', True)]
    assert [v for k, v in got if k == 'Host'] == ['forum.example.com']


def test_pass_inside_limit_except_serves_the_other_methods(corpus):
    n = corpus['facts']['ansible_facts']['nginx']
    port = corpus['ports']['8105']
    status, dummy = request(port, '/uploads/a.png', 'git.example.com')
    assert status == 404   # GET is allowed: static files, nothing proxied
    status, answer = request(port, '/uploads/a.png', 'git.example.com', method='POST')
    assert status == 200 and json.loads(answer)['backend'] == 'gitlab-workhorse'
    uploads = [loc for loc in server_of(n, 'git.example.com')['locations'] if loc['match'] == '/uploads/'][0]
    assert uploads['pass']['within'] == 'limit_except'
    assert member_path(n, uploads['pass']['target']['upstream']) == corpus['run'] + 'gitlab-workhorse.sock'


def test_variables_and_a_brace_inside_a_word(corpus):
    n = corpus['facts']['ansible_facts']['nginx']
    status, answer = request(corpus['ports']['8106'], '/q?x=1', 'app.example.com')
    assert (status, answer) == (200, 'npm-backend /q?x=1')
    t = server_of(n, 'app.example.com')['locations'][0]['pass']['target']
    assert (t['kind'], t['scheme'], t['host'], t['port'], t['uri']) == ('variable', None, None, None, '$request_uri')
    assert request(corpus['ports']['8108'], '/brace', 'meet.example.com') == (200, 'a}b')
    brace = [loc for loc in server_of(n, 'meet.example.com')['locations'] if loc['match'] == '/brace']
    assert [loc['modifier'] for loc in brace] == ['=']


def test_broken_include_facts_name_the_line_nginx_names(tmp_path):
    tmp = str(tmp_path)
    main = _install(tmp, SITES + ('mastodon-broken.conf',), {})
    proc = subprocess.run([NGINX, '-t', '-c', main, '-p', tmp + '/'], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, check=False)
    broken = os.path.join(tmp, 'realworld', 'mastodon-broken.conf')
    assert proc.returncode == 1
    assert 'unexpected end of file, expecting "}" in %s:12' % broken in proc.stderr
    r = run_module('nginx_facts', {'config': main, 'prefix': tmp + '/'})
    assert not r['failed'], r
    n = r['ansible_facts']['nginx']
    assert n['valid'] is False and n['source'] == 'files'
    assert [(e['file'], e['line'], e['message']) for e in n['validation']['errors']] == [
        (broken, 12, 'unexpected end of file, expecting "}"')]
    assert n['counts']['servers'] == 10


def _recorded():
    path = os.path.join(os.path.dirname(HERE), 'unit', 'plugins', 'module_utils', 'test_nginx_syntax.py')
    spec = importlib.util.spec_from_file_location('recorded_nginx_syntax', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tokenizer_errors_are_nginx_t_errors(tmp_path):
    mod = _recorded()
    conf = str(tmp_path / 'nginx.conf')
    checked = 0
    for text, line, message in mod.RECORDED:
        head = mod.HEAD.replace('/tmp/x', str(tmp_path))
        with open(conf, 'w') as f:
            f.write(head + text)
        proc = subprocess.run([NGINX, '-t', '-q', '-c', conf, '-p', str(tmp_path) + '/'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, check=False)
        m = re.search(r'\[emerg\] (?:\d+#\d+: )?(.*) in %s:(\d+)' % re.escape(conf), proc.stderr)
        got = (int(m.group(2)), m.group(1)) if m else (None, None)
        assert got == (line, message), (text[:60], proc.stderr)
        dummy, dummy, problem = mod.syn.parse(head + text)
        assert ((problem.line, problem.message) if problem else (None, None)) == got
        checked += 1
    assert checked == len(mod.RECORDED) > 20
