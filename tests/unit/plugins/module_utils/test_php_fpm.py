# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests of module_utils/_php_fpm against material recorded from Debian 12's php8.2-fpm.

Fixtures (tests/unit/fixtures/phpfpm/, see its README.md): Debian's real
/etc/php/8.2/fpm tree, extra pool files whose effective configuration was
dumped by the real ``php-fpm8.2 -tt``, recorded ``php-fpm8.2 -t`` outputs
with the configurations that produced them, and a /proc snapshot of two
running masters and their children.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as fpm
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import NginxError

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'fixtures', 'phpfpm')
DEBIAN = os.path.join(FIXTURES, 'debian-8.2')
RECORDED = os.path.join(FIXTURES, 'fpm-t')
TREE = os.path.join(RECORDED, 'tree')
MAIN = '/etc/php/8.2/fpm/php-fpm.conf'
POOL_D = '/etc/php/8.2/fpm/pool.d'


def recorded(name):
    with open(os.path.join(RECORDED, name)) as f:
        return f.read()


def write(root, path, text):
    local = os.path.join(str(root), path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(local)):
        os.makedirs(os.path.dirname(local))
    with open(local, 'wb') as f:
        f.write(text if isinstance(text, bytes) else text.encode('utf-8'))
    return local


def pool(result, name):
    return [p for p in result['pools'] if p['name'] == name][0]


def mini(tmp_path, pools, main_extra=''):
    """A small tree: a global section that includes pool.d/*.conf, and the given files."""
    write(tmp_path, '/etc/php/8.2/fpm/php-fpm.conf',
          '[global]\npid = /run/php/php8.2-fpm.pid\nerror_log = /var/log/php8.2-fpm.log\n%s'
          'include=/etc/php/8.2/fpm/pool.d/*.conf\n' % main_extra)
    for name, text in pools.items():
        write(tmp_path, POOL_D + '/' + name, text)
    return fpm.parse_config(MAIN, root=str(tmp_path))


WWW = '[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = static\npm.max_children = 3\n'


@pytest.fixture
def multi(tmp_path):
    """Debian's tree plus api.conf, shop.conf and zz-www-override.conf (recorded: fpm-t/multi-tt.stderr)."""
    shutil.copytree(DEBIAN, str(tmp_path), dirs_exist_ok=True)
    shutil.copytree(os.path.join(FIXTURES, 'multi-8.2'), str(tmp_path), dirs_exist_ok=True)
    return fpm.parse_config(MAIN, root=str(tmp_path))


def parse_dump(text):
    """The sections of a recorded ``php-fpm -tt`` dump: {name: {key: [values, newest first]}}."""
    sections, current = {}, None
    for line in text.splitlines():
        m = re.match(r'^\[[^\]]*\] NOTICE: (?:\t(?P<key>\S+) = (?P<value>.*)|\[(?P<section>.*)\])$', line)
        if not m:
            continue
        if m.group('section') is not None:
            current = sections.setdefault(m.group('section'), {})
        elif current is not None:
            current.setdefault(m.group('key'), []).append(m.group('value'))
    return sections


def assert_matches_dump(result, dump):
    """Our effective pool values are the ones the real php-fpm dumped."""
    pools = dict((p['name'], p) for p in result['pools'])
    assert sorted(pools) == sorted(k for k in dump if k != 'global')
    for name, d in dump.items():
        if name == 'global':
            continue
        p = pools[name]

        def undef(value):
            return None if value == 'undefined' else value

        assert p['listen'] == d['listen'][0]
        assert p['user'] == undef(d['user'][0])
        assert p['group'] == undef(d['group'][0])
        assert p['listen_owner'] == undef(d['listen.owner'][0])
        assert p['listen_group'] == undef(d['listen.group'][0])
        if d['listen.mode'][0] == 'undefined':
            assert p['defaults']['listen_mode'] == '0660'
        else:
            assert p['listen_mode'] == d['listen.mode'][0]
        assert p['pm'] == d['pm'][0]
        for key, field in (('pm.max_children', 'max_children'), ('pm.start_servers', 'start_servers'),
                           ('pm.min_spare_servers', 'min_spare_servers'), ('pm.max_spare_servers', 'max_spare_servers'),
                           ('pm.max_requests', 'max_requests'), ('pm.process_idle_timeout', 'process_idle_timeout_seconds')):
            assert p[field] == int(d[key][0]), (name, key)
        assert '%ds' % p['request_terminate_timeout_seconds'] == d['request_terminate_timeout'][0]
        assert '%ds' % p['request_slowlog_timeout_seconds'] == d['request_slowlog_timeout'][0]
        assert p['slowlog'] == undef(d['slowlog'][0])
        assert p['access_log'] == undef(d['access.log'][0])
        arrays = dict((k, v) for k, v in d.items() if '[' in k)
        ours = dict((k, v) for k, v in p['settings'].items() if '[' in k)
        assert sorted(ours) == sorted(arrays)
        for key, values in arrays.items():
            # the dump lists newest first; php-fpm applies the first definition
            if ours[key]['value'] != fpm.REDACTED:
                assert ours[key]['value'] == values[-1], key


# --- Debian's real tree -----------------------------------------------------------

def test_debian_real_tree():
    result = fpm.parse_config(MAIN, root=DEBIAN)
    assert result['errors'] == [] and result['warnings'] == []
    assert result['version'] == '8.2'
    assert result['prefix'] == '/usr'
    assert result['files'] == [MAIN, POOL_D + '/www.conf']
    g = result['global']
    assert g['pid'] == {'value': '/run/php/php8.2-fpm.pid', 'file': MAIN, 'line': 19, 'path': '/run/php/php8.2-fpm.pid'}
    assert g['error_log']['value'] == '/var/log/php8.2-fpm.log' and g['error_log']['line'] == 26
    assert g['log_level'] == {'value': 'notice', 'file': None, 'line': None, 'default': True}
    assert g['include'] == [{'value': POOL_D + '/*.conf', 'path': POOL_D + '/*.conf', 'file': MAIN, 'line': 145,
                             'section': 'global', 'files': [POOL_D + '/www.conf']}]
    [www] = result['pools']
    assert (www['name'], www['file'], www['line']) == ('www', POOL_D + '/www.conf', 4)
    assert www['settings']['listen'] == {'value': '/run/php/php8.2-fpm.sock', 'file': POOL_D + '/www.conf', 'line': 41}
    assert www['listen'] == '/run/php/php8.2-fpm.sock'
    assert (www['listen_kind'], www['listen_path'], www['listen_host'], www['listen_port']) == \
        ('unix', '/run/php/php8.2-fpm.sock', None, None)
    assert (www['user'], www['group']) == ('www-data', 'www-data')
    assert (www['listen_owner'], www['listen_group']) == ('www-data', 'www-data')
    assert (www['listen_mode'], www['listen_mode_int']) == ('0660', 0o660)
    assert www['defaults']['listen_mode'] == '0660'  # commented out in www.conf: php-fpm's default
    assert (www['pm'], www['max_children'], www['start_servers'], www['min_spare_servers'], www['max_spare_servers']) == \
        ('dynamic', 5, 2, 1, 3)
    assert www['max_requests'] == 0
    assert (www['request_terminate_timeout'], www['request_terminate_timeout_seconds']) == ('0', 0)
    assert www['max_execution_time'] is None and www['memory_limit'] is None
    assert www['slowlog'] is None and www['listen_acl_users'] == []
    assert sorted(www['settings']) == ['group', 'listen', 'listen.group', 'listen.owner', 'pm', 'pm.max_children',
                                       'pm.max_spare_servers', 'pm.min_spare_servers', 'pm.start_servers', 'user']


def test_debian_tree_matches_php_fpm_dump():
    dump = parse_dump(recorded('debian-tt.stderr'))
    assert_matches_dump(fpm.parse_config(MAIN, root=DEBIAN), dump)


def test_multi_tree_matches_php_fpm_dump(multi):
    assert multi['errors'] == []
    assert_matches_dump(multi, parse_dump(recorded('multi-tt.stderr')))
    # same pool order as php-fpm (include files sorted)
    assert [p['name'] for p in multi['pools']] == ['api', 'shop', 'www']


def test_second_pool_tcp_and_terminate_timeout(multi):
    api = pool(multi, 'api')
    assert api['file'] == POOL_D + '/api.conf' and api['line'] == 2
    assert (api['listen_kind'], api['listen_host'], api['listen_port'], api['listen_path']) == ('tcp', '127.0.0.1', 9001, None)
    assert api['listen_allowed_clients'] == ['127.0.0.1']
    assert (api['request_terminate_timeout'], api['request_terminate_timeout_seconds']) == ('30s', 30)
    assert (api['request_slowlog_timeout'], api['request_slowlog_timeout_seconds']) == ('5s', 5)
    assert (api['pm'], api['max_children'], api['start_servers'], api['max_requests']) == ('ondemand', 8, 0, 500)
    # recorded with a FastCGI request: ini_get('max_execution_time') = 25, memory_limit = 256M
    assert (api['max_execution_time'], api['max_execution_time_source']) == (25, 'php_admin_value')
    assert (api['memory_limit'], api['memory_limit_bytes']) == ('256M', 256 * 1024 * 1024)


def test_dollar_pool_expansion(multi):
    api, shop = pool(multi, 'api'), pool(multi, 'shop')
    assert api['slowlog'] == '/var/log/php8.2-fpm-api.slow.log'
    assert api['settings']['php_value[session.save_path]']['value'] == '/var/lib/php/sessions/api'
    assert api['settings']['php_admin_value[error_log]']['value'] == '/var/log/php8.2-fpm-api.error.log'
    assert shop['listen'] == shop['listen_path'] == '/run/php/shop.sock'


def test_pool_split_across_files(multi):
    www = pool(multi, 'www')
    assert www['sections'] == [{'file': POOL_D + '/www.conf', 'line': 4},
                               {'file': POOL_D + '/zz-www-override.conf', 'line': 2}]
    assert (www['file'], www['line']) == (POOL_D + '/www.conf', 4)
    assert www['max_children'] == 12
    assert www['settings']['pm.max_children'] == {'value': '12', 'file': POOL_D + '/zz-www-override.conf', 'line': 3}
    assert www['max_spare_servers'] == 4 and www['min_spare_servers'] == 1
    assert www['settings']['listen']['file'] == POOL_D + '/www.conf'
    assert (www['request_terminate_timeout'], www['request_terminate_timeout_seconds']) == ('1m', 60)
    assert www['memory_limit'] == '192M'  # recorded: ini_get('memory_limit') = 192M
    assert www['max_execution_time'] is None  # php.ini's 30 applies (recorded)


def test_first_php_value_wins_and_is_reported(multi):
    shop = pool(multi, 'shop')
    # recorded: ini_get('max_execution_time') = 90 although 120 comes later
    assert (shop['max_execution_time'], shop['max_execution_time_source']) == (90, 'php_value')
    assert shop['settings']['php_value[max_execution_time]']['line'] == 10
    assert shop['settings']['php_value[display_errors]']['value'] == '0'  # php_flag off
    assert multi['warnings'] == [{'level': 'warning', 'file': POOL_D + '/shop.conf', 'line': 11,
                                  'message': 'php_value[max_execution_time] is defined again in pool shop; '
                                             'PHP-FPM keeps the first definition (%s/shop.conf:10)' % POOL_D}]


def test_socket_owner_defaults(multi):
    shop = pool(multi, 'shop')
    # recorded: /run/php/shop.sock was srw-rw---- root root
    assert shop['listen_owner'] is None and shop['listen_group'] is None
    assert 'master process' in shop['defaults']['listen_owner']
    assert 'master process' in shop['defaults']['listen_group']
    assert (shop['listen_mode'], shop['listen_mode_int']) == ('0660', 0o660)
    assert 'listen_mode' not in shop['defaults']


def test_secrets_redacted(multi):
    api = pool(multi, 'api')
    s = api['settings']
    assert s['env[DB_PASSWORD]']['value'] == fpm.REDACTED
    assert s['php_admin_value[newrelic.license]']['value'] == fpm.REDACTED
    assert s['php_value[redis.session.key_prefix]']['value'] == fpm.REDACTED
    assert api['php']['newrelic.license']['value'] == fpm.REDACTED
    assert s['env[PATH]']['value'] == '/usr/local/bin:/usr/bin:/bin'
    assert s['php_admin_value[memory_limit]']['value'] == '256M'
    text = json.dumps(multi)
    assert 's3cr3t-api' not in text and '0123456789abcdef' not in text


# --- include handling ----------------------------------------------------------

def test_glob_without_match_is_fine(tmp_path):
    result = mini(tmp_path, {'www.conf': WWW + 'include = /etc/php/8.2/fpm/extra/*.conf\n'})
    os.makedirs(os.path.join(str(tmp_path), 'etc/php/8.2/fpm/extra'))
    result = fpm.parse_config(MAIN, root=str(tmp_path))
    assert result['errors'] == []
    assert result['warnings'] == [{'level': 'warning', 'file': POOL_D + '/www.conf', 'line': 7,
                                   'message': "Nothing matches the include pattern '/etc/php/8.2/fpm/extra/*.conf'"}]
    assert pool(result, 'www')['max_children'] == 3


def test_glob_in_missing_directory_is_fatal(tmp_path):
    # recorded: "Unable to globalize '/tmp/rec/absent-dir/*.conf' (ret=2)": php-fpm refuses to start
    result = mini(tmp_path, {'www.conf': WWW + 'include = /etc/php/8.2/fpm/absent/*.conf\n'})
    assert [(e['level'], e['file'], e['line']) for e in result['errors']] == [('error', POOL_D + '/www.conf', 7)]
    assert "Unable to globalize '/etc/php/8.2/fpm/absent/*.conf'" in result['errors'][0]['message']


def test_missing_explicit_include(tmp_path):
    result = mini(tmp_path, {'www.conf': WWW + 'include = /etc/php/8.2/fpm/custom.conf\n'})
    [error] = result['errors']
    assert (error['level'], error['file'], error['line']) == ('warning', POOL_D + '/www.conf', 7)
    assert 'included file /etc/php/8.2/fpm/custom.conf does not exist' in error['message']
    assert 'php-fpm only warns' in error['message']
    assert pool(result, 'www')['listen'] == '/run/php/php8.2-fpm.sock'


def test_relative_include_is_under_the_prefix(tmp_path):
    # official docker image layout: include=etc/php-fpm.d/*.conf with prefix /usr/local
    write(tmp_path, '/usr/local/etc/php-fpm.conf', '[global]\ninclude=etc/php-fpm.d/*.conf\n')
    write(tmp_path, '/usr/local/etc/php-fpm.d/www.conf', WWW.replace('/run/php/php8.2-fpm.sock', '127.0.0.1:9000'))
    write(tmp_path, '/usr/local/etc/php-fpm.d/zz-docker.conf', '[global]\ndaemonize = no\n\n[www]\nlisten = 9000\n')
    result = fpm.parse_config('/usr/local/etc/php-fpm.conf', root=str(tmp_path))
    assert result['prefix'] == '/usr/local' and result['errors'] == []
    assert result['global']['include'][0]['path'] == '/usr/local/etc/php-fpm.d/*.conf'
    www = pool(result, 'www')
    assert (www['listen'], www['listen_kind'], www['listen_port'], www['listen_all_addresses']) == ('9000', 'tcp', 9000, True)
    assert www['settings']['listen']['file'] == '/usr/local/etc/php-fpm.d/zz-docker.conf'
    assert result['global']['settings']['daemonize']['value'] == ''  # "no"
    # a distribution package: relative to /usr (checked with the real php-fpm8.2)
    result = mini(tmp_path, {}, main_extra='include = relpool.d/*.conf\n')
    assert result['global']['include'][0]['path'] == '/usr/relpool.d/*.conf'


def test_keys_after_an_include_belong_to_its_last_pool(tmp_path):
    # checked with php-fpm8.2 -tt: pm.max_children = 9 went to the included pool
    os.makedirs(os.path.join(str(tmp_path), POOL_D.lstrip('/')))
    write(tmp_path, '/etc/php/8.2/fpm/inc/a.conf', WWW.replace('[www]', '[inc]').replace('php8.2-fpm', 'inc'))
    result = mini(tmp_path, {}, main_extra='[www]\nuser = www-data\nlisten = /run/php/w.sock\npm = static\npm.max_children = 1\n'
                                           'include = /etc/php/8.2/fpm/inc/a.conf\npm.max_children = 9\n[global]\n')
    assert result['errors'] == []
    assert pool(result, 'inc')['max_children'] == 9
    assert pool(result, 'www')['max_children'] == 1


def test_include_depth_and_loops(tmp_path):
    for i in range(1, 6):
        write(tmp_path, '/d/%d.conf' % i, 'include = /d/%d.conf\n' % (i + 1))
    write(tmp_path, '/d/6.conf', WWW)
    # recorded: 2.conf (5 files) is accepted, 1.conf (6 files) fails
    assert fpm.parse_config('/d/2.conf', root=str(tmp_path))['errors'] == []
    errors = fpm.parse_config('/d/1.conf', root=str(tmp_path))['errors']
    assert [(e['file'], e['line']) for e in errors if 'recursively' in e['message']] == [('/d/5.conf', 1)]
    # recorded (fpm-t/includeloop.stderr): a glob that matches the main file
    result = fpm.parse_config('/tmp/rec/nodir/php-fpm.conf', root=TREE)
    assert any('include loop' in e['message'] for e in result['errors'])


# --- bad input -----------------------------------------------------------------------

def test_binary_file(tmp_path):
    result = mini(tmp_path, {'www.conf': WWW, 'zz.conf': b'\x7fELF\x02\x01\x01\x03\x00\x00\x00\nlisten = x\n'})
    [error] = result['errors']
    assert (error['level'], error['file'], error['line']) == ('error', MAIN, 4)
    assert error['message'] == '%s/zz.conf is a binary file (NUL byte on line 1), not a PHP-FPM config' % POOL_D
    assert pool(result, 'www')['max_children'] == 3


def test_huge_file(tmp_path):
    write(tmp_path, MAIN, '[global]\ninclude=%s/*.conf\n' % POOL_D)
    write(tmp_path, POOL_D + '/www.conf', WWW + ';' + 'x' * 5000 + '\n')
    result = fpm.parse_config(MAIN, root=str(tmp_path), max_file_size=4096)
    assert 'larger than max_file_size (4096)' in result['errors'][0]['message']
    assert result['errors'][-1]['message'].startswith('No pool defined')


def test_main_config_missing_or_directory(tmp_path):
    result = fpm.parse_config('/etc/php/8.2/fpm/php-fpm.conf', root=str(tmp_path))
    assert result['pools'] == [] and result['files'] == []
    assert result['errors'] == [{'level': 'error', 'file': MAIN, 'line': None,
                                 'message': "failed to open configuration file '%s': No such file or directory (2)" % MAIN}]
    os.makedirs(os.path.join(str(tmp_path), 'etc/php/8.2/fpm/php-fpm.conf'))
    assert 'Is a directory' in fpm.parse_config(MAIN, root=str(tmp_path))['errors'][0]['message']


def test_not_utf8(tmp_path):
    result = mini(tmp_path, {'www.conf': WWW.encode() + b'; caf\xe9\n'})
    assert result['errors'] == []
    assert result['warnings'][0]['message'].endswith('www.conf:7: bytes that are not UTF-8 were replaced with U+FFFD')


# Each recorded php-fpm -t failure, parsed from the same files: the error php-fpm
# names (file, line, message) is ours too.
RECORDED_FAILURES = [
    ('syntax', 'error', 'pool.d/www.conf', 10, "syntax error, unexpected '='"),
    ('hash', 'error', 'pool.d/www.conf', 2, 'value is NULL for a ZEND_INI_PARSER_ENTRY'),
    ('badnum', 'error', 'pool.d/www.conf', 5,
     "unable to parse value for entry 'pm.max_children': is not a valid number (greater or equal than zero)"),
    ('badtime', 'error', 'pool.d/www.conf', 6,
     "unable to parse value for entry 'request_terminate_timeout': unknown suffix used in time value"),
    ('nomax', 'error', 'pool.d/www.conf', 1, '[pool www] pm.max_children must be a positive value'),
    ('duplisten', 'error', 'pool.d/www.conf', 6, "[pool api] unable to set listen address as it's already used in another pool 'www'"),
    ('nouser', 'error', 'pool.d/www.conf', 2, "[pool www] cannot get uid for user 'nosuchuser'"),
    ('nodir2', 'error', 'pool.d/www.conf', 6, "Unable to globalize '/tmp/rec/absent-dir/*.conf' (ret=2): directory /tmp/rec/absent-dir does not exist"),
    ('missinginc', 'warning', 'pool.d/www.conf', 6, None),
]


@pytest.mark.parametrize('name,level,file,line,message', RECORDED_FAILURES)
def test_recorded_failures(name, level, file, line, message):
    result = fpm.parse_config('/tmp/rec/%s/php-fpm.conf' % name, root=TREE)
    first = result['errors'][0]
    assert (first['level'], first['file'], first['line']) == (level, '/tmp/rec/%s/%s' % (name, file), line)
    if message:
        assert first['message'] == message
    stderr = recorded({'nodir2': 'nodir'}.get(name, name) + '.stderr')
    rc = int(recorded({'nodir2': 'nodir'}.get(name, name) + '.rc'))
    assert (rc == 0) == (level == 'warning')
    if message and not message.startswith('syntax'):
        # php-fpm's own words (ours add the directory for the glob case)
        assert message.split(':')[0].split(' (')[0] in stderr


# --- one line ---------------------------------------------------------------------------

# value as written -> value php-fpm8.2 -tt printed for it
VALUES = [
    ('foo   bar  ; c', 'foo   bar'),
    ('"foo" bar', 'foobar'),
    ('"foo"bar', 'foobar'),
    ("'x' \"y\"", 'xy'),
    ('"x\\"y\\\\z\\$w\\n"', 'x"y\\z$w\\n'),
    ('YES', '1'),
    ('Null', ''),
    ('off', ''),
    ('yesterday', 'yesterday'),
    ('a{b}c:d,e/f@g', 'a{b}c:d,e/f@g'),
    ('"a;b"', 'a;b'),
    ('0660', '0660'),
    ('[::1]:9000', '[::1]:9000'),
    ('9000 ; comment', '9000'),
    ('"/run/php/a b.sock" ; x', '/run/php/a b.sock'),
    ("'/run/$pool.sock'", '/run/$pool.sock'),  # $pool is php-fpm's, expanded later
    ('5 # comment', '5 # comment'),  # then: "is not a valid number"
]


@pytest.mark.parametrize('written,value', VALUES)
def test_values_like_php_fpm(written, value):
    assert fpm.parse_line('php_value[x] = %s' % written) == ('entry', 'php_value', 'x', value)


def test_parse_line_shapes():
    assert fpm.parse_line('; comment') is None
    assert fpm.parse_line('   ') is None
    assert fpm.parse_line('[www]') == ('section', 'www')
    assert fpm.parse_line('[ api ]') == ('section', ' api ')  # php-fpm keeps the blanks
    assert fpm.parse_line('   listen    =    /a/c.sock   ') == ('entry', 'listen', None, '/a/c.sock')
    assert fpm.parse_line('listen=/a/b.sock') == ('entry', 'listen', None, '/a/b.sock')
    assert fpm.parse_line('listen = /x\r\n') == ('entry', 'listen', None, '/x')
    assert fpm.parse_line('# listen on the socket') == ('error', 'value is NULL for a ZEND_INI_PARSER_ENTRY')
    assert fpm.parse_line('#log_level = debug') == ('entry', '#log_level', None, 'debug')
    assert fpm.parse_line('php_value[sendmail_path] = /usr/sbin/sendmail -f a=b') == ('error', "syntax error, unexpected '='")
    assert fpm.parse_line('[www2')[0] == 'error'
    assert fpm.parse_line('php_value[] = 1') == ('entry', 'php_value', '', '1')
    assert fpm.parse_line('listen = "unterminated')[0] == 'error'


def test_entries_in_context(tmp_path):
    text = (WWW + '#log_level = debug\nListen.Owner = nginx\n[WWW]\npm.max_children = 7\n'
            'php_admin_flag[log_errors] = on\nfoo[bar] = 1\nphp_value[] = 1\n[global]\nlisten = /x\n'
            'error_log = /var/log/$pool.log\n')
    result = mini(tmp_path, {'www.conf': text})
    messages = [(e['line'], e['message']) for e in result['errors']]
    assert messages == [(7, "unknown entry '#log_level'"), (12, "unknown directive 'foo'"),
                        (13, "You must provide a key for field 'php_value'"), (15, "unknown entry 'listen'"),
                        (16, "Can't use '$pool' when the pool is not defined")]
    www = pool(result, 'www')
    assert www['max_children'] == 7 and len(www['sections']) == 2  # [WWW] is [www]
    assert www['listen_owner'] == 'nginx'
    assert www['settings']['php_admin_value[log_errors]']['value'] == '1'


def test_listen_forms():
    assert fpm.parse_listen('127.0.0.1:9000') == {'listen_kind': 'tcp', 'listen_host': '127.0.0.1', 'listen_port': 9000,
                                                  'listen_path': None, 'listen_all_addresses': False}
    assert fpm.parse_listen('9000')['listen_all_addresses'] is True
    assert fpm.parse_listen('[::1]:9000')['listen_host'] == '::1'
    assert fpm.parse_listen('localhost:9001')['listen_host'] == 'localhost'
    assert fpm.parse_listen('*:9101')['listen_all_addresses'] is False  # php-fpm 8.2 bound [::1] for it
    assert fpm.parse_listen('/run/php/php8.2-fpm.sock')['listen_kind'] == 'unix'


def test_relative_listen_and_slowlog_use_the_pool_prefix(tmp_path):
    os.makedirs(os.path.join(str(tmp_path), 'srv/app'))
    result = mini(tmp_path, {'www.conf': WWW.replace('/run/php/php8.2-fpm.sock', 'run/app.sock') +
                             'prefix = /srv/app\nslowlog = log/$pool.slow\n'})
    www = pool(result, 'www')
    assert (www['listen'], www['slowlog'], www['prefix']) == ('/srv/app/run/app.sock', '/srv/app/log/www.slow', '/srv/app')
    assert result['errors'] == []


def test_time_values():
    assert fpm.parse_time('30s') == (30, None)
    assert fpm.parse_time('2m') == (120, None)
    assert fpm.parse_time('1h') == (3600, None)
    assert fpm.parse_time('1d') == (86400, None)
    assert fpm.parse_time('45') == (45, None)
    assert fpm.parse_time('0') == (0, None)
    assert fpm.parse_time('30x') == (None, 'unknown suffix used in time value')
    assert fpm.parse_time('') == (None, 'invalid time value')


def test_listen_owner_group_and_acl_defaults(tmp_path):
    # checked on a running php-fpm8.2: owner only -> group = owner's primary group;
    # acl_users set -> "ACL set, listen.owner = 'nobody' is ignored"
    result = mini(tmp_path, {
        'a.conf': WWW.replace('[www]', '[a]').replace('php8.2-fpm', 'a') + 'listen.owner = www-data\n',
        'e.conf': WWW.replace('[www]', '[e]').replace('php8.2-fpm', 'e') + 'listen.owner = nobody\nlisten.acl_users = www-data, nginx\n',
    })
    a, e = pool(result, 'a'), pool(result, 'e')
    assert a['listen_owner'] == 'www-data' and a['listen_group'] is None
    assert a['defaults']['listen_group'] == 'primary group of listen.owner www-data'
    assert e['listen_owner'] is None and e['listen_acl_users'] == ['www-data', 'nginx']
    assert result['warnings'] == [{'level': 'warning', 'file': POOL_D + '/e.conf', 'line': 7,
                                   'message': "[pool e] ACL set, listen.owner = 'nobody' is ignored"}]


def test_dynamic_checks_and_start_servers_default(tmp_path):
    base = '[www]\nuser = www-data\nlisten = /run/php/x.sock\npm = dynamic\npm.max_children = 5\n'
    result = mini(tmp_path, {'www.conf': base + 'pm.min_spare_servers = 1\npm.max_spare_servers = 4\n'})
    www = pool(result, 'www')
    assert result['errors'] == [] and www['start_servers'] == 2
    assert www['defaults']['start_servers'].endswith('= 2')
    result = mini(tmp_path, {'www.conf': base + 'pm.min_spare_servers = 1\npm.max_spare_servers = 6\n'})
    assert result['errors'][0]['message'] == ('[pool www] pm.min_spare_servers(1) and pm.max_spare_servers(6) '
                                              'cannot be greater than pm.max_children(5)')


# --- find_configs, fpm_binary -----------------------------------------------------------

def test_find_configs(tmp_path):
    assert fpm.find_configs(str(tmp_path)) == []
    for path in ('/etc/php/8.2/fpm/php-fpm.conf', '/etc/php/7.4/fpm/php-fpm.conf', '/etc/php-fpm.conf',
                 '/etc/opt/remi/php81/php-fpm.conf', '/usr/local/etc/php-fpm.conf', '/opt/plesk/php/8.3/etc/php-fpm.conf',
                 '/etc/php/8.1/cli/php.ini', '/etc/php-fpm.d/www.conf'):
        write(tmp_path, path, '[global]\n')
    os.makedirs(os.path.join(str(tmp_path), 'etc/php/8.0/fpm/php-fpm.conf'))  # a directory is not a config
    assert fpm.find_configs(str(tmp_path)) == [
        '/etc/opt/remi/php81/php-fpm.conf', '/etc/php-fpm.conf', '/etc/php/7.4/fpm/php-fpm.conf',
        '/etc/php/8.2/fpm/php-fpm.conf', '/opt/plesk/php/8.3/etc/php-fpm.conf', '/usr/local/etc/php-fpm.conf']
    assert [fpm.version_from_path(p) for p in fpm.find_configs(str(tmp_path))] == ['8.1', None, '7.4', '8.2', '8.3', None]
    assert fpm.guess_prefix('/etc/opt/remi/php81/php-fpm.conf') == '/opt/remi/php81/root/usr'


def test_fpm_binary(tmp_path):
    assert fpm.fpm_binary('8.2', root=str(tmp_path), environ_path='') is None
    for name in ('/usr/sbin/php-fpm8.2', '/usr/sbin/php-fpm7.4', '/usr/sbin/php-fpm8.10'):
        os.chmod(write(tmp_path, name, '#!/bin/sh\n'), 0o755)
    write(tmp_path, '/usr/sbin/php-fpm8.3', 'not executable')
    assert fpm.fpm_binary('8.2', root=str(tmp_path), environ_path='') == '/usr/sbin/php-fpm8.2'
    assert fpm.fpm_binary(None, root=str(tmp_path), environ_path='') == '/usr/sbin/php-fpm8.10'
    assert fpm.fpm_binary('8.3', root=str(tmp_path), environ_path='') is None
    os.chmod(write(tmp_path, '/usr/local/sbin/php-fpm', '#!/bin/sh\n'), 0o755)
    assert fpm.fpm_binary(None, root=str(tmp_path), environ_path='') == '/usr/local/sbin/php-fpm'
    assert fpm.fpm_binary('8.3', root=str(tmp_path), environ_path='') == '/usr/local/sbin/php-fpm'
    os.chmod(write(tmp_path, '/opt/remi/php81/root/usr/sbin/php-fpm', '#!/bin/sh\n'), 0o755)
    assert fpm.fpm_binary('8.1', root=str(tmp_path), environ_path='') == '/opt/remi/php81/root/usr/sbin/php-fpm'


# --- php-fpm -t -----------------------------------------------------------------------

def fake_run(name):
    calls = []

    def run(argv, timeout):
        calls.append((argv, timeout))
        return int(recorded(name + '.rc')), b'', recorded(name + '.stderr')
    return run, calls


def test_test_config_valid():
    run, calls = fake_run('debian')
    result = fpm.test_config('/usr/sbin/php-fpm8.2', MAIN, run=run)
    assert calls == [(['/usr/sbin/php-fpm8.2', '-t', '-y', MAIN], 20)]
    assert (result['valid'], result['exit_status'], result['errors'], result['warnings']) == (True, 0, [], [])
    assert result['success_line'] is True
    assert 'configuration file /etc/php/8.2/fpm/php-fpm.conf test is successful' in result['output']


def test_test_config_value_is_null():
    result = fpm.test_config('php-fpm8.2', '/tmp/rec/hash/php-fpm.conf', run=fake_run('hash')[0])
    assert (result['valid'], result['exit_status']) == (False, 78)
    assert result['errors'][0] == {'level': 'error', 'file': '/tmp/rec/hash/pool.d/www.conf', 'line': 2, 'pool': None,
                                   'message': 'value is NULL for a ZEND_INI_PARSER_ENTRY'}
    assert result['errors'][1]['message'] == ('Unable to include /tmp/rec/hash/pool.d/www.conf from '
                                              '/tmp/rec/hash/php-fpm.conf at line 2')
    assert (result['errors'][1]['file'], result['errors'][1]['line']) == ('/tmp/rec/hash/php-fpm.conf', 2)
    assert result['errors'][2] == {'level': 'error', 'file': '/tmp/rec/hash/php-fpm.conf', 'line': None, 'pool': None,
                                   'message': "failed to load configuration file '/tmp/rec/hash/php-fpm.conf'"}
    assert result['errors'][3]['message'] == 'FPM initialization failed'


def test_test_output_other_recordings():
    errors, warnings, ok = fpm.parse_test_output(recorded('syntax.stderr'))
    assert not ok and errors[0] == {'level': 'error', 'file': None, 'line': None, 'pool': None,
                                    'message': "syntax error, unexpected '=' in Unknown on line 1"}
    errors, warnings, ok = fpm.parse_test_output(recorded('nomax.stderr'))
    assert errors[0] == {'level': 'alert', 'file': None, 'line': None, 'pool': 'www',
                         'message': '[pool www] pm.max_children must be a positive value'}
    errors, warnings, ok = fpm.parse_test_output(recorded('missinginc.stderr'))
    assert ok and errors == []
    assert warnings == [{'level': 'warning', 'file': '/tmp/rec/missinginc/pool.d/www.conf', 'line': 6, 'pool': None,
                         'message': "Nothing matches the include pattern '/tmp/rec/missing.conf' from "
                                    "/tmp/rec/missinginc/pool.d/www.conf at line 6."}]
    errors, warnings, ok = fpm.parse_test_output(recorded('noconf.stderr'))
    assert errors[0]['file'] == '/tmp/rec/nonexistent.conf'
    assert errors[0]['message'] == "failed to open configuration file '/tmp/rec/nonexistent.conf': No such file or directory (2)"
    errors, warnings, ok = fpm.parse_test_output(recorded('nodir.stderr'))
    assert (errors[0]['file'], errors[0]['line']) == ('/tmp/rec/nodir2/pool.d/www.conf', 6)
    errors, warnings, ok = fpm.parse_test_output(recorded('nouser.stderr'))
    assert errors[0]['pool'] == 'www' and errors[0]['message'] == "[pool www] cannot get uid for user 'nosuchuser'"
    errors, warnings, ok = fpm.parse_test_output(recorded('includeloop.stderr'))
    assert errors[0]['message'] == 'failed to include more than 5 files recursively'


def test_test_config_cannot_run():
    def run(argv, timeout):
        raise NginxError('php-fpm8.2 did not finish within 20 seconds')
    result = fpm.test_config('php-fpm8.2', MAIN, run=run)
    assert (result['valid'], result['exit_status']) == (False, None)
    assert result['errors'][0]['message'] == 'php-fpm8.2 did not finish within 20 seconds'
    result = fpm.test_config('/nonexistent/php-fpm', MAIN)  # the real run(): OSError becomes an error entry
    assert result['valid'] is False and result['errors'][0]['message'].startswith('cannot run /nonexistent/php-fpm')


def test_default_prefix_from_help():
    def run(argv, timeout):
        assert argv == ['php-fpm8.2', '-h']
        return 0, recorded('help.stdout').encode(), ''
    assert fpm.default_prefix('php-fpm8.2', run=run) == '/usr'


# --- /proc ---------------------------------------------------------------------------------

def test_pool_processes_recorded_proc():
    names = {0: 'root', 33: 'www-data'}
    result = fpm.pool_processes(os.path.join(FIXTURES, 'proc'), user_name=names.get)
    assert result['errors'] == []
    assert result['master'] == [
        {'pid': 699, 'config': '/etc/php/8.2/fpm/php-fpm.conf', 'rss_kb': 21572, 'uid': 0, 'user': 'root',
         'version': '8.2', 'pools': ['shop', 'www', 'api']},
        {'pid': 724, 'config': '/tmp/lab/r/php-fpm.conf', 'rss_kb': 6848, 'uid': 0, 'user': 'root',
         'version': '8.2', 'pools': ['noown', 'dup']},
    ]
    assert result['pools']['shop'] == {'children': 4, 'pids': [700, 701, 702, 703], 'rss_kb_total': 29196,
                                       'rss_kb_avg': 7299, 'rss_kb_max': 9636, 'users': ['www-data'], 'masters': [699]}
    assert result['pools']['www'] == {'children': 2, 'pids': [704, 705], 'rss_kb_total': 16152, 'rss_kb_avg': 8076,
                                      'rss_kb_max': 9632, 'users': ['www-data'], 'masters': [699]}
    assert result['pools']['api']['children'] == 1 and result['pools']['api']['rss_kb_max'] == 10052
    assert result['pools']['dup']['pids'] == [726, 727]
    assert sorted(result['pools']) == ['api', 'dup', 'noown', 'shop', 'www']  # nginx and systemd are not php-fpm


def test_pool_processes_odd_trees(tmp_path):
    assert fpm.pool_processes(str(tmp_path / 'absent'))['errors'][0]['message'].startswith('cannot list ')
    write(tmp_path, '/10/cmdline', b'/usr/sbin/php-fpm8.1\x00--nodaemonize\x00--fpm-config\x00/etc/php/8.1/fpm/php-fpm.conf\x00')
    write(tmp_path, '/10/status', 'Name:\tphp-fpm8.1\nPPid:\t1\nUid:\t0\t0\t0\t0\nVmRSS:\t   100 kB\n')
    write(tmp_path, '/11/cmdline', b'php-fpm: pool www\x00\x00\x00')  # vanished before its status was read
    write(tmp_path, '/12/cmdline', b'')  # kernel thread
    result = fpm.pool_processes(str(tmp_path), user_name=str)
    assert result['master'] == [{'pid': 10, 'config': '/etc/php/8.1/fpm/php-fpm.conf', 'rss_kb': 100, 'uid': 0,
                                 'user': '0', 'version': '8.1', 'pools': []}]
    assert result['pools'] == {}


def test_memory_bytes():
    assert fpm.memory_bytes('128M') == 128 * 1024 * 1024
    assert fpm.memory_bytes('1G') == 1024 ** 3
    assert fpm.memory_bytes('-1') == -1
    assert fpm.memory_bytes('lots') is None
