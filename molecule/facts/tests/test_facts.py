# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_facts against the real files of the lab hosts.

converge.yml ran badgateway.nginx.nginx_facts on each host and wrote the facts to
/var/tmp/nginx_facts.json (and, for a copy of the configuration with a missing
include, /var/tmp/nginx_facts_broken.json).  These tests read them back and
check every file:line against the files on the host, and the targets against
what really listens and answers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

import pytest

if 'MOLECULE_INVENTORY_FILE' not in os.environ:
    pytest.skip('runs under `molecule verify` only', allow_module_level=True)

FACTS = '/var/tmp/nginx_facts.json'


def load(host, path=FACTS):
    f = host.file(path)
    assert f.exists, path
    return json.loads(f.content_string)


LINES = {}


def lines_of(host, path):
    key = (host.backend.get_hostname(), path)
    if key not in LINES:
        LINES[key] = host.file(path).content_string.splitlines()
    return LINES[key]


def line_at(host, path, line):
    assert path and line, (path, line)
    lines = lines_of(host, path)
    assert 1 <= line <= len(lines), (path, line)
    return lines[line - 1]


def assert_directive_at(host, item, *words):
    """The real file has, at item's file:line, a line holding every word."""
    text = line_at(host, item['file'], item['line'])
    for word in words:
        assert word in text, '%s:%s is %r, expected %r' % (item['file'], item['line'], text, word)


def host_ip(host):
    return host.ansible('setup', 'gather_subset=network')['ansible_facts']['ansible_default_ipv4']['address']


@pytest.fixture(scope='module')
def backend_ip():
    import testinfra
    backend = testinfra.get_host('ansible://backend?ansible_inventory=%s' % os.environ['MOLECULE_INVENTORY_FILE'])
    return host_ip(backend)


def is_proxy(host):
    return host.backend.get_hostname() == 'proxy'


def test_files_are_the_files_nginx_reads(host):
    facts = load(host)
    dump = host.run('nginx -T')
    assert dump.rc == 0, dump.stderr
    read_by_nginx = re.findall(r'^# configuration file (.+):$', dump.stdout, re.M)
    assert facts['files'] == read_by_nginx
    assert facts['source'] == 'nginx -T' and facts['valid'] is True
    assert facts['validation'] == {'errors': [], 'warnings': []}
    assert facts['version'] == re.search(r'nginx/([\d.]+)', host.run('nginx -v').stderr).group(1)


def test_every_file_line_points_at_its_directive(host):
    facts = load(host)
    checked = 0
    for server in facts['servers']:
        assert_directive_at(host, server, 'server')
        for listen in server['listen']:
            if not listen['default']:
                assert_directive_at(host, listen, 'listen', listen['raw'])
                checked += 1
        for loc in server['locations']:
            assert_directive_at(host, loc, 'location', loc['match'])
            checked += 1
            if not loc['pass']:
                continue
            p = loc['pass']
            assert_directive_at(host, p, p['directive'], p['target']['raw'])
            for kind, value in loc['timeouts'].items():
                if not value['default']:
                    assert_directive_at(host, value, '%s_%s_timeout' % (p['module'], kind), value['value'])
                    checked += 1
            for group in ('headers', 'params'):
                for value in loc.get(group, {}).get('sent', []):
                    if value['file']:
                        assert_directive_at(host, value, value['name'])
                        checked += 1
    for name, up in facts['upstreams'].items():
        assert_directive_at(host, up, 'upstream', name)
        for member in up['servers']:
            assert_directive_at(host, member, 'server', member['address'])
            checked += 1
    for key in ('user', 'worker_processes', 'worker_connections', 'worker_rlimit_nofile'):
        if facts[key].get('file'):
            assert_directive_at(host, facts[key], key)
    for log in facts['error_log'] + facts['access_log']:
        if log.get('file'):
            assert_directive_at(host, log, log['path'])
    assert checked > (40 if is_proxy(host) else 4)


def test_proxy_globals(host):
    if not is_proxy(host):
        pytest.skip('proxy only')
    f = load(host)
    assert (f['user']['name'], f['user']['group'], f['user']['line']) == ('www-data', 'www-data', 2)
    assert f['worker_rlimit_nofile']['value'] == '8192'
    assert f['worker_connections']['value'] == '1024'
    assert f['error_log'][0]['path'] == '/var/log/nginx/error.log' and f['error_log'][0]['level'] == 'warn'
    assert f['access_log'][0]['format'] == 'upstream'
    assert f['counts'] == {'files': len(f['files']), 'servers': 2, 'locations': 7, 'upstreams': 1}
    # the Debian layout: sites-enabled entries are symlinks, nginx reports the link path
    assert '/etc/nginx/sites-enabled/shop.conf' in f['files']
    assert host.file('/etc/nginx/sites-enabled/shop.conf').is_symlink


def shop(facts):
    return [s for s in facts['servers'] if 'shop.lab' in s['server_name']][0]


def location(server, match):
    found = [loc for loc in server['locations'] if loc['match'] == match]
    assert len(found) == 1
    return found[0]


def test_upstream_block_and_its_members(host, backend_ip):
    if not is_proxy(host):
        pytest.skip('proxy only')
    f = load(host)
    up = f['upstreams']['app_backend']
    assert up['file'] == '/etc/nginx/conf.d/upstreams.conf'
    assert [(m['target']['host'], m['target']['port'], m['backup']) for m in up['servers']] == \
        [(backend_ip, 8080, False), (backend_ip, 8081, True)]
    assert (up['servers'][0]['max_fails'], up['servers'][0]['fail_timeout_seconds']) == (2, 5)
    assert up['keepalive']['value'] == '8'
    root = location(shop(f), '/')
    assert root['pass']['target']['kind'] == 'upstream' and root['pass']['target']['upstream'] == 'app_backend'


def test_inherited_timeouts(host):
    if not is_proxy(host):
        pytest.skip('proxy only')
    s = shop(load(host))
    root = location(s, '/')['timeouts']
    # read from http level in nginx.conf, connect from an http-level include, send from the server
    assert (root['read']['value'], root['read']['scope'], root['read']['file']) == ('30s', 'http', '/etc/nginx/nginx.conf')
    assert (root['connect']['seconds'], root['connect']['scope'], root['connect']['file']) == \
        (5, 'http', '/etc/nginx/conf.d/proxy-defaults.conf')
    assert (root['send']['seconds'], root['send']['scope']) == (20, 'server')
    api = location(s, '/api/')
    assert (api['timeouts']['read']['seconds'], api['timeouts']['read']['scope']) == (90, 'location')
    reports = location(s, '/api/reports/')
    assert reports['parents'] == ['/api/']
    assert reports['timeouts']['read']['seconds'] == 300
    php = location(s, '\\.php$')
    assert php['modifier'] == '~'
    assert (php['timeouts']['read']['seconds'], php['timeouts']['connect']['default']) == (60, True)
    assert php['timeouts']['connect']['seconds'] == 60


def test_headers_replaced_where_a_location_sets_any(host):
    if not is_proxy(host):
        pytest.skip('proxy only')
    s = shop(load(host))
    root = location(s, '/')['headers']
    assert (root['scope'], root['file']) == ('http', '/etc/nginx/nginx.conf')
    explicit = dict((e['name'], e) for e in root['sent'] if not e['implicit'])
    assert sorted(explicit) == ['Host', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Real-IP']
    assert explicit['Host']['value'] == '$host'
    # nginx adds its Connection close to any set that does not name Connection
    assert [(e['name'], e['value']) for e in root['sent'] if e['implicit']] == [('Connection', 'close')]
    ws = location(s, '/ws/')
    # nginx's all-or-nothing inheritance: /ws/ sends Upgrade and Connection only
    sent = dict((e['name'], e) for e in ws['headers']['sent'])
    assert sorted(n for n, e in sent.items() if not e['implicit']) == ['Connection', 'Upgrade']
    assert sent['Connection']['value'] == 'upgrade'
    assert (sent['Host']['value'], sent['Host']['implicit']) == ('$proxy_host', True)
    assert ws['http_version']['value'] == '1.1'
    assert ws['http_version']['file'] == '/etc/nginx/conf.d/proxy-defaults.conf'


def test_targets_are_real(host, backend_ip):
    if not is_proxy(host):
        pytest.skip('proxy only')
    s = shop(load(host))
    api = location(s, '/api/')['pass']['target']
    assert (api['kind'], api['host'], api['port'], api['uri']) == ('tcp', backend_ip, 8080, '/api/')
    # the backend that the facts name answers through the proxy
    out = host.run('curl -sS http://127.0.0.1/api/ping')
    assert out.rc == 0 and out.stdout.strip() == 'backend 8080 /api/ping'
    php = location(s, '\\.php$')['pass']
    assert php['directive'] == 'fastcgi_pass' and php['file'] == '/etc/nginx/sites-enabled/shop.conf'
    assert (php['target']['kind'], php['target']['path']) == ('unix', '/run/php/php8.2-fpm.sock')
    assert host.socket('unix://%s' % php['target']['path']).is_listening
    params = dict((e['name'], e) for e in location(s, '\\.php$')['params']['sent'])
    # Debian's snippets/fastcgi-php.conf includes fastcgi.conf: nested includes resolved
    assert params['SCRIPT_FILENAME']['file'] == '/etc/nginx/fastcgi.conf'
    assert params['SCRIPT_FILENAME']['value'] == '$document_root$fastcgi_script_name'
    out = host.run('curl -sS http://127.0.0.1/index.php')
    assert out.rc == 0 and out.stdout.startswith('php ok 8.2')


def test_variable_proxy_pass_with_resolver(host, backend_ip):
    if not is_proxy(host):
        pytest.skip('proxy only')
    f = load(host)
    dyn = [s for s in f['servers'] if s['server_name'] == ['dyn.lab']][0]
    assert dyn['listen'][0]['port'] == 8088
    loc = location(dyn, '/')
    t = loc['pass']['target']
    assert (t['kind'], t['raw'], t['needs_resolver']) == ('variable', 'http://$dyn_backend:8080', True)
    r = loc['resolver']
    assert (r['addresses'], r['valid'], r['ipv6'], r['scope']) == (['127.0.0.1'], '30s', False, 'server')
    assert_directive_at(host, r, 'resolver')
    assert f['resolver'] is None  # none at http level


def test_backend_facts(host):
    if is_proxy(host):
        pytest.skip('backend only')
    f = load(host)
    ports = sorted(lst['port'] for s in f['servers'] for lst in s['listen'])
    assert ports == [80, 80, 8080, 8080, 8081]
    for port in (8080, 8081):
        assert host.socket('tcp://0.0.0.0:%d' % port).is_listening
    assert all(loc['pass'] is None for s in f['servers'] for loc in s['locations'])
    assert f['upstreams'] == {}


def test_broken_config_still_gives_facts(host):
    """A copy of the config with a missing include: nginx -t fails, the files are read directly."""
    if not is_proxy(host):
        pytest.skip('proxy only')
    f = load(host, '/var/tmp/nginx_facts_broken.json')
    assert f['valid'] is False and f['source'] == 'files'
    err = f['validation']['errors'][0]
    assert err['file'] == '/etc/nginx-broken/nginx.conf'
    assert_directive_at(host, err, 'include', 'missing.conf')
    assert 'No such file or directory' in err['message']
    # the rest of the configuration is still there
    assert f['counts']['servers'] == 2
    assert location(shop(f), '/api/')['timeouts']['read']['seconds'] == 90
