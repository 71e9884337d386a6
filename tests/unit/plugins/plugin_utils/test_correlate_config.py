# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A broken file must not blind the diagnosis; files changed since the last reload are said.

Facts come from real config text through build_facts (one included file left with an
unterminated block, as an editor leaves it), with the nginx -t line the node recorded for it
and the node's ``loaded`` record (WP-C's shape: master pid, last reload, files changed since).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.badgateway.nginx.plugins.plugin_utils import _correlate as dx
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_facts import build_facts

MAIN = 'events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n}\n'
APP = 'server {\n    listen 80;\n    location /dead/ {\n        proxy_pass http://127.0.0.1:9003;\n    }\n}\n'
# the colleague's half-finished edit: 5 lines, the server block never closed
HALF = 'server {\n    listen 81;\n    location / {\n        proxy_pass http://127.0.0.1:9004;\n    }\n'
NGINX_T = {'level': 'emerg', 'message': 'unexpected end of file, expecting "}"',
           'file': '/etc/nginx/conf.d/half.conf', 'line': 6}
LOADED = {'master_pid': 4242, 'reloaded_at': 1796200000.0,
          'changed': [{'file': '/etc/nginx/conf.d/half.conf', 'mtime': 1796200500.0}], 'note': None}


def facts(loaded=None, validation_errors=(NGINX_T,)):
    raw = {'files': [{'path': '/etc/nginx/nginx.conf', 'content': MAIN},
                     {'path': '/etc/nginx/conf.d/app.conf', 'content': APP},
                     {'path': '/etc/nginx/conf.d/half.conf', 'content': HALF}],
           'config': '/etc/nginx/nginx.conf', 'conf_prefix': '/etc/nginx/', 'valid': False,
           'validation': {'errors': list(validation_errors), 'warnings': []}}
    if loaded is not None:
        raw['loaded'] = loaded
    return build_facts(raw)


def checks():
    return {'addresses': ['127.0.0.1'], 'listeners': {'tcp': [], 'unix': []},
            'probes': [{'kind': 'tcp', 'host': '127.0.0.1', 'port': 9003, 'result': 'refused', 'tls': None},
                       {'kind': 'tcp', 'host': '127.0.0.1', 'port': 9004, 'result': 'refused', 'tls': None}],
            'sockets': {}, 'error_logs': {}, 'firewall': None, 'php_fpm': None, 'resources': None, 'http': []}


def test_broken_file_is_config_invalid_at_nginx_line_and_the_rest_is_diagnosed():
    f = facts()
    assert f['valid'] is False and f['validation']['errors'] == [NGINX_T]   # deduplicated
    found = dx.diagnose('web1', f, checks())
    invalid = [x for x in found if x['id'] == 'config_invalid']
    assert len(invalid) == 1
    assert invalid[0]['summary'] == ('nginx -t fails: /etc/nginx/conf.d/half.conf:6: '
                                     'unexpected end of file, expecting "}"')
    assert invalid[0]['severity'] == 'critical'
    down = sorted((x['target'] or {}).get('port') for x in found if x['id'] == 'upstream_down')
    # both routes are diagnosed, the one in the broken file too (it parsed up to the end)
    assert down == [9003, 9004]


def test_a_broken_file_nginx_t_did_not_name_gets_its_own_finding():
    other = {'level': 'emerg', 'message': 'unknown directive "foo"', 'file': '/etc/nginx/nginx.conf', 'line': 1}
    found = dx.diagnose('web1', facts(validation_errors=[other]), checks())
    assert [x['summary'] for x in found if x['id'] == 'config_invalid'] == [
        'nginx -t fails: /etc/nginx/nginx.conf:1: unknown directive "foo"',
        'the configuration does not parse: /etc/nginx/conf.d/half.conf:6: unexpected end of file, expecting "}"']


def test_files_changed_since_the_last_reload_are_config_not_loaded():
    f = facts(loaded=LOADED)
    assert f['loaded'] == LOADED   # copied unchanged from the node
    found = [x for x in dx.diagnose('web1', f, checks()) if x['id'] == 'config_not_loaded']
    assert len(found) == 1
    assert found[0]['severity'] == 'warning' and found[0]['fix']['role'] is None
    assert found[0]['summary'] == ('files on disk changed after the running nginx last loaded its config: '
                                   '/etc/nginx/conf.d/half.conf; the facts describe a config that is not live')
    assert found[0]['evidence'] == {'loaded': LOADED}
    # nothing changed since the reload, or no record: no finding
    quiet = dict(LOADED, changed=[])
    assert not [x for x in dx.diagnose('web1', facts(loaded=quiet), checks()) if x['id'] == 'config_not_loaded']
    assert facts()['loaded'] is None
