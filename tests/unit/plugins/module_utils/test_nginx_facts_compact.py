# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The compact form of ansible_facts.nginx: exact (expand(compact(f)) == f, through JSON as a fact cache
stores it), smaller, and malformed input is a clear CompactError."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_facts as cfg

from test_nginx_facts_realworld import SITES, corpus_raw

# Every record shape the builder makes: listen forms, pass modules and conditions, upstream members,
# resolvers, nested locations, locations and passes in other files than their server, quoted arguments.
EDGES = {
    '/etc/nginx/nginx.conf': '''
user www-data;
events { worker_connections 64; }
http {
    resolver 127.0.0.53 valid=30s;
    proxy_read_timeout 5s;
    proxy_set_header Host $host;
    upstream app { server 10.0.0.1:8000 weight=2 max_fails=3; server unix:/run/app.sock backup;
                   server backend.invalid resolve; server [::1]:9000 down fail_timeout=1m; keepalive 8; }
    upstream App2 { server 127.0.0.1; least_conn; }
    include /etc/nginx/sites/*.conf;
    server {
        listen 80 default_server;
        listen [::]:8080 ipv6only=on;
        listen unix:/run/nginx.sock;
        listen 127.0.0.1:8443 ssl http2 proxy_protocol;
        listen "8082 ssl";
        server_name a.test b.test;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
        location = /exact { proxy_pass http://127.0.0.1:9001/x; proxy_buffer_size 16k; }
        location ^~ /pre { proxy_pass https://app2; }
        location ~* \\.php$ { fastcgi_pass unix:/run/php/php-fpm.sock; fastcgi_param SCRIPT_FILENAME $request_filename;
                              fastcgi_read_timeout 300; include /etc/nginx/snippets/params.conf; }
        location @named { proxy_pass http://$backend$request_uri; }
        location /var { resolver 10.0.0.2; proxy_pass http://svc.example.test:8080; set $x 1; }
        location /grpc { grpc_pass grpc://127.0.0.1:50051; grpc_set_header X-A b; }
        location /uwsgi { uwsgi_pass 127.0.0.1:3031; }
        location /scgi { scgi_pass unix:///run//scgi.sock; }
        location /mc { memcached_pass 127.0.0.1:11211; }
        location /cond { if ($request_method = POST) { proxy_pass http://127.0.0.1:9002; } }
        location /limit { limit_except GET { proxy_pass http://127.0.0.1:9003; } }
        location /outer { location /outer/inner { proxy_pass http://unix:/run/u.sock:/api/; } }
        location /static { root /srv; }
    }
    server { server_name _; }
}
''',
    '/etc/nginx/sites/site.conf': '''
server {
    listen 81;
    include /etc/nginx/snippets/loc.conf;
    location /here { proxy_pass http://App2; proxy_connect_timeout 2s; }
}
''',
    '/etc/nginx/snippets/loc.conf': 'location /there { include /etc/nginx/snippets/pass.conf; }\n',
    '/etc/nginx/snippets/pass.conf': 'proxy_pass http://127.0.0.1:9004;\nproxy_read_timeout 1m;\n',
    '/etc/nginx/snippets/params.conf': 'fastcgi_param QUERY_STRING $query_string;\nfastcgi_param HTTPS $https if_not_empty;\n',
}


def edges_raw():
    return {'files': [{'path': p, 'content': t} for p, t in EDGES.items()], 'config': '/etc/nginx/nginx.conf',
            'conf_prefix': '/etc/nginx/', 'prefix': '/usr/share/nginx/', 'valid': True,
            'validation': {'errors': [], 'warnings': []}}


def server_named(facts, name):
    return [s for s in facts['servers'] if name in s['server_name']][0]


def as_stored(value):
    """What a fact cache gives back: the value through JSON."""
    return json.loads(json.dumps(value))


def configurations():
    yield 'edges', edges_raw()
    yield 'realworld corpus', corpus_raw()
    for site in SITES:
        yield site, corpus_raw(sites=(site,))


@pytest.mark.parametrize('name,raw', list(configurations()), ids=lambda v: v if isinstance(v, str) else '')
def test_expand_of_compact_is_the_verbose_facts(name, raw):
    verbose = as_stored(cfg.build_facts(raw))
    before = copy.deepcopy(verbose)
    small = as_stored(cfg.compact(verbose))
    assert verbose == before, 'compact() changed its input'
    assert small['format'] == cfg.COMPACT_FORMAT
    assert cfg.expand(small) == verbose
    assert len(json.dumps(small)) < len(json.dumps(verbose))


def test_the_edges_take_every_shortcut_and_every_fallback():
    """The edge configuration exercises what the compact form leaves out and what it keeps whole."""
    small = cfg.compact(cfg.build_facts(edges_raw()))
    main = server_named(small, 'a.test')
    listens = main['listen']
    assert ['80 default_server', 13] in listens  # a row [raw, line], rebuilt from its arguments
    quoted = [item for item in listens if isinstance(item, dict) and item['raw'] == '8082 ssl']  # kept whole
    assert quoted and quoted[0]['port'] == 80 and quoted[0]['ssl'] is False
    # a location is a row [match, line, pass, settings(, its other fields)]
    assert all(isinstance(loc, list) for loc in main['locations'])
    locations = dict((loc[0], loc) for loc in main['locations'])
    directive, line, target = locations['/'][2]  # a pass row: module, file, condition implied
    assert (directive, target) == ('proxy_pass', 'http://app') and isinstance(line, int)  # target rebuilt by parse_target
    assert len(locations['/']) == 4  # no file, modifier or parents of its own
    assert locations['/cond'][2]['within'] == 'if'  # a pass of another shape stays a dict
    assert locations['/outer/inner'][4] == {'parents': ['/outer']}
    assert locations['/static'][2] is None and locations['/static'][3] is None
    assert all(isinstance(n, int) for n in locations['/'][3])
    site = [s for s in small['servers'] if s['server_name'] == ['']][0]
    there = [loc for loc in site['locations'] if loc[0] == '/there'][0]
    assert small['files'][there[4]['file']] == '/etc/nginx/snippets/loc.conf'
    assert small['files'][there[2]['file']] == '/etc/nginx/snippets/pass.conf'
    members = small['upstreams']['app']['servers']
    assert members[0] == {'args': ['10.0.0.1:8000', 'weight=2', 'max_fails=3'], 'file': 0, 'line': 8}
    entries = [e[0] for e in small['entries']]  # rows [name, value, file, line(, implicit)]
    assert 'SCRIPT_FILENAME' in entries and 'HTTPS' in entries
    # every value a row, but a resolver's, which has fields of its own and stays a dict
    assert all(isinstance(v, list) or 'addresses' in v for v in small['values'] if v is not None)


def test_a_location_inheriting_a_setting_refers_to_one_value():
    small = cfg.compact(cfg.build_facts(edges_raw()))
    read = [n for n, v in enumerate(small['values']) if isinstance(v, list) and v[0] == '5s' and v[3] == 's']
    assert len(read) == 1  # proxy_read_timeout 5s at http level, inherited by many locations, written once
    assert small['values'][read[0]][4] == 'http'
    users = [loc for loc in server_named(small, 'a.test')['locations'] if read[0] in (loc[3] or [])]
    assert len(users) > 3


def test_the_compact_form_is_smaller_than_the_configuration_it_describes_grows_from():
    """The corpus: verbose facts are several times the configuration; compact ones a fraction of them."""
    raw = corpus_raw()
    config = sum(len(f['content'].encode()) for f in raw['files'])
    verbose = len(json.dumps(cfg.build_facts(raw), separators=(',', ':')))
    small = len(json.dumps(cfg.compact(cfg.build_facts(raw)), separators=(',', ':')))
    assert small * 3 < verbose
    assert small < 2 * config, (small, config)


def test_compact_and_expand_leave_the_other_form_alone():
    verbose = cfg.build_facts(edges_raw())
    small = cfg.compact(verbose)
    assert cfg.compact(small) is small
    assert cfg.expand(verbose) is verbose
    assert cfg.expand(None) is None and cfg.compact(None) is None
    assert cfg.expand({}) == {}


@pytest.mark.parametrize('damage', [
    lambda c: server_named(c, 'a.test')['locations'][0].__setitem__(3, [10 ** 6]),
    lambda c: server_named(c, 'a.test')['locations'][0].__setitem__(3, 'x'),
    lambda c: c.update(values=None) or server_named(c, 'a.test')['locations'][0].__setitem__(3, [0]),
    lambda c: server_named(c, 'a.test').update(listen=[{'line': 1}]),
    lambda c: server_named(c, 'a.test')['locations'][0][2].__setitem__(2, 7),
    lambda c: c['upstreams']['app'].update(servers=[{'file': 0}]),
    lambda c: c.update(entries=[]),
    lambda c: c.update(servers='all'),
    lambda c: c['values'].__setitem__(1, ['5s']),
    lambda c: c['values'].__setitem__(1, ['5s', 0, 1, 'minutes']),
    lambda c: c.__setitem__('entries', [['Host']]),
    lambda c: server_named(c, 'a.test')['locations'].__setitem__(0, ['/']),
    lambda c: server_named(c, 'a.test')['locations'][0].__setitem__(2, ['proxy_pass', 3]),
    lambda c: server_named(c, 'a.test').update(listen=[['80']]),
], ids=['index out of range', 'settings a string', 'values missing', 'listen without raw', 'target a number',
        'member without args', 'entries missing', 'servers a string', 'a value row too short', 'a value row of no kind',
        'an entry row too short', 'a location row too short', 'a pass row too short', 'a listen row too short'])
def test_malformed_compact_facts_are_a_clear_error(damage):
    small = as_stored(cfg.compact(cfg.build_facts(edges_raw())))
    damage(small)
    with pytest.raises(cfg.CompactError, match='malformed.*gather the facts again'):
        cfg.expand(small)


def test_an_unknown_format_is_named():
    with pytest.raises(cfg.CompactError, match="format 'compact/9'"):
        cfg.expand({'format': 'compact/9', 'servers': []})


def test_facts_of_the_earlier_compact_form_are_still_read():
    """A fact cache may hold facts an earlier release stored (format compact/1, records as dicts): recorded from
    that release's compact() on the edge configuration, they expand to today's verbose facts."""
    with open(os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'compact', 'edges-compact1.json')) as f:
        recorded = json.load(f)
    assert recorded['format'] == 'compact/1'
    verbose = as_stored(cfg.build_facts(edges_raw()))
    expanded = cfg.expand(recorded)
    assert expanded.pop('gathered').keys() == verbose.pop('gathered').keys()  # when and which run: not the same
    assert expanded == verbose
