# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Facts of the real-world corpus (tests/unit/fixtures/configs/realworld), as nginx reads those files.

tests/local/test_realworld_configs.py runs the real nginx on the same files and checks with live
requests that the location and socket the facts name are the ones that serve.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_facts as cfg

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       'fixtures', 'configs')
CORPUS = os.path.join(CONFIGS, 'realworld')
SITES = ('nextcloud.conf', 'magento.conf', 'mastodon.conf', 'discourse.conf', 'gitlab.conf',
         'proxy-manager.conf', 'jitsi.conf', 'wordpress.conf')
PREFIX = CONFIGS + '/'


def main_conf(sites):
    return 'events {}\nhttp {\n%s}\n' % ''.join('    include realworld/%s;\n' % s for s in sites)


def corpus_raw(sites=SITES, validation=None):
    files = [{'path': PREFIX + 'nginx.conf', 'content': main_conf(sites)}]
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith('.conf'):
            with open(os.path.join(CORPUS, name)) as f:
                files.append({'path': os.path.join(CORPUS, name), 'content': f.read()})
    return {'files': files, 'config': PREFIX + 'nginx.conf', 'conf_prefix': PREFIX, 'prefix': PREFIX,
            'valid': validation is None, 'validation': validation or {'errors': [], 'warnings': []}}


@pytest.fixture(scope='module')
def facts():
    return cfg.build_facts(corpus_raw())


def server(facts, name):
    found = [s for s in facts['servers'] if name in s['server_name']]
    assert len(found) == 1, name
    return found[0]


def location(srv, match):
    found = [loc for loc in srv['locations'] if loc['match'] == match]
    assert len(found) == 1, (match, [loc['match'] for loc in srv['locations']])
    return found[0]


def test_the_corpus_parses_without_error(facts):
    assert facts['valid'] is True and facts['validation']['errors'] == []
    assert facts['counts']['servers'] == 9


@pytest.mark.parametrize('site, match, modifier', [
    ('cloud.example.com', '/favicon.ico', '='),
    ('cloud.example.com', '/robots.txt', '='),
    ('cloud.example.com', '/.well-known', '^~'),
    ('cloud.example.com', '/(.*\\.md|LICENSE)', '~'),
    ('cloud.example.com', '/', ''),
    ('shop.example.com', '^/setup($|/)', '~*'),
    ('shop.example.com', '/static/', '^~'),
    ('social.example.com', '@proxy', '@'),
    ('meet.example.com', '/xmpp-websocket', '='),
    ('blog.example.com', '\\.php$', '~*'),
])
def test_modifier_written_against_its_pattern(facts, site, match, modifier):
    assert location(server(facts, site), match)['modifier'] == modifier


def test_a_file_included_inside_a_server_block_gives_that_server_its_locations(facts):
    shop = server(facts, 'shop.example.com')
    php = location(shop, '(index|get|static|report|404|503|health_check)\\.php$')
    assert php['file'] == os.path.join(CORPUS, 'magento-include.conf')
    assert php['pass']['target']['kind'] == 'upstream' and php['pass']['target']['upstream'] == 'fastcgi_backend'
    assert php['timeouts']['read']['seconds'] == 600


def test_unix_socket_written_with_three_slashes(facts):
    member = facts['upstreams']['fastcgi_backend']['servers'][0]['target']
    assert (member['kind'], member['path']) == ('unix', '/run/realworld/magento-fpm.sock')
    forum = location(server(facts, 'forum.example.com'), '/')['pass']['target']
    assert (forum['kind'], forum['path'], forum['uri']) == ('unix', '/run/realworld/discourse.sock', None)
    wp = location(server(facts, 'blog.example.com'), '\\.php$')['pass']['target']
    assert (wp['kind'], wp['path']) == ('unix', '/run/realworld/wordpress-fpm.sock')


def test_upstream_names_match_case_insensitively(facts):
    social = server(facts, 'social.example.com')
    t = location(social, '@proxy')['pass']['target']
    assert (t['kind'], t['upstream']) == ('upstream', 'backend')
    assert location(social, '^/api/v1/streaming')['pass']['target']['upstream'] == 'streaming'
    git = location(server(facts, 'git.example.com'), '/')['pass']['target']
    assert (git['kind'], git['upstream']) == ('upstream', 'GitLab-Workhorse')
    assert 'GitLab-Workhorse' in facts['upstreams']


def test_pass_inside_limit_except_is_reported(facts):
    uploads = location(server(facts, 'git.example.com'), '/uploads/')
    p = uploads['pass']
    assert (p['directive'], p['within'], p['condition']) == ('proxy_pass', 'limit_except', 'GET HEAD')
    assert p['target']['upstream'] == 'GitLab-Workhorse'
    assert p['line'] == 21


def test_variables_in_scheme_and_host(facts):
    t = location(server(facts, 'app.example.com'), '/')['pass']['target']
    assert (t['kind'], t['scheme'], t['host'], t['port'], t['uri']) == ('variable', None, None, None, '$request_uri')
    assert t['needs_resolver'] is True
    g = location(server(facts, 'meet.example.com'), '/grpc.')['pass']['target']
    assert (g['kind'], g['scheme'], g['host'], g['port']) == ('variable', 'grpc', None, 19081)


def test_implicit_headers_and_duplicates(facts):
    h = location(server(facts, 'forum.example.com'), '/')['headers']
    assert [(e['name'], e['value'], e['implicit']) for e in h['sent']] == [
        ('Host', '$http_host', False), ('X-Request-Start', 't=${msec}', False),
        ('X-Forwarded-For', '$remote_addr', False), ('X-Forwarded-For', '$proxy_add_x_forwarded_for', False),
        ('Connection', 'close', True)]
    ws = location(server(facts, 'meet.example.com'), '/xmpp-websocket')['headers']
    assert [(e['name'], e['implicit']) for e in ws['sent']] == [('Upgrade', False), ('Connection', False),
                                                                ('Host', True)]
    params = location(server(facts, 'blog.example.com'), '\\.php$')['params']['sent']
    assert [(e['name'], e['value']) for e in params if e['name'] == 'HTTPS'] == [('HTTPS', 'off'), ('HTTPS', 'on')]


def test_brace_inside_a_word_is_part_of_it(facts):
    meet = server(facts, 'meet.example.com')
    assert [loc['match'] for loc in meet['locations']] == [
        '/xmpp-websocket', '^/colibri-ws/([a-zA-Z0-9-\\._]+)/(.*)', '/grpc.', '/brace']


def test_broken_include_keeps_the_rest_and_names_nginx_line():
    raw = corpus_raw(SITES + ('mastodon-broken.conf',))
    facts = cfg.build_facts(raw)
    assert facts['valid'] is False
    # nginx -t on this file says: unexpected end of file, expecting "}" in .../mastodon-broken.conf:12
    assert facts['validation']['errors'] == [{'level': 'emerg', 'message': 'unexpected end of file, expecting "}"',
                                              'file': os.path.join(CORPUS, 'mastodon-broken.conf'), 'line': 12}]
    assert facts['counts']['servers'] == 10
    broken = server(facts, 'social-next.example.com')
    assert location(broken, '@proxy')['pass']['target']['upstream'] == 'backend'


def test_nginx_t_own_line_is_not_repeated():
    path = os.path.join(CORPUS, 'mastodon-broken.conf')
    nginx_t = {'level': 'emerg', 'message': 'unexpected end of file, expecting "}"', 'file': path, 'line': 12}
    raw = corpus_raw(SITES + ('mastodon-broken.conf',), validation={'errors': [nginx_t], 'warnings': []})
    assert cfg.build_facts(raw)['validation']['errors'] == [nginx_t]


def test_crossplane_agrees_where_it_reads_as_nginx_does():
    """crossplane (public API) is the test oracle: same directives, arguments and lines on the corpus,
    except where it is known to differ from nginx (a "}" inside a word ends it there)."""
    crossplane = pytest.importorskip('crossplane')

    def ours(stmts):
        return [(s['directive'], s['line'], s['args'], ours(s['block']) if 'block' in s else None) for s in stmts]

    def theirs(stmts):
        return [(s['directive'], s['line'], s['args'], theirs(s['block']) if 'block' in s else None) for s in stmts]

    checked = 0
    for name in sorted(os.listdir(CORPUS)):
        if not name.endswith('.conf') or name in ('jitsi.conf', 'mastodon-broken.conf'):
            continue
        path = os.path.join(CORPUS, name)
        payload = crossplane.parse(path, single=True, comments=False, strict=False, check_ctx=False,
                                   check_args=False)
        assert payload['status'] == 'ok', payload['errors']
        with open(path) as f:
            stmts, error = cfg.parse_text(path, f.read())
        assert error is None
        assert ours(stmts) == theirs(payload['config'][0]['parsed']), name
        checked += 1
    assert checked == 8
    # where they differ, nginx is right (tests/local/test_realworld_configs.py serves a}b)
    stmts, error = cfg.parse_text('/x', 'return 200 a}b;\n')
    assert error is None and stmts[0]['args'] == ['200', 'a}b']
