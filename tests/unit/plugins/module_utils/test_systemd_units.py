# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding and confirming the service behind an upstream_down, on recorded systemctl output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _systemd_units as svc

# systemd 252 (Debian 12), recorded in the test-host image
LIST_UNITS = u"""\
dbus.service                         loaded    active   running D-Bus System Message Bus
getty@tty1.service                   masked    inactive dead    getty@tty1.service
labapp@app-8090.service              loaded    failed   failed  lab application app-8090
labapp@app-8091.service              loaded    inactive dead    lab application app-8091
nginx.service                        loaded    active   running A high performance web server
plymouth-start.service               not-found inactive dead    plymouth-start.service
\u25cf broken.service                     loaded    failed   failed  a failed unit with its bullet
rescue.service                       loaded    inactive dead    Rescue Shell
"""

SHOW = """\
ExecStart={ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /opt/labapp/labapp.py ${MODE} ${PORT} ${ADDRESS} ; \
ignore_errors=no ; start_time=[Wed 2026-12-02 01:12:59 UTC] ; stop_time=[Wed 2026-12-02 01:13:00 UTC] ; pid=8091 ; \
code=killed ; status=9/KILL }
Environment=
EnvironmentFiles=/etc/labapp/app-8090.env (ignore_errors=no)
Id=labapp@app-8090.service
LoadState=loaded
ActiveState=failed
SubState=failed
FragmentPath=/etc/systemd/system/labapp@.service
NeedDaemonReload=no

ExecStart={ path=/usr/bin/python3 ; argv[]=/usr/bin/python3 /opt/labapp/labapp.py ${MODE} ${PORT} ${ADDRESS} ; \
ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
Environment=
EnvironmentFiles=/etc/labapp/app-8091.env (ignore_errors=no)
EnvironmentFiles=/etc/labapp/common.env (ignore_errors=yes)
Id=labapp@app-8091.service
LoadState=loaded
ActiveState=inactive
SubState=dead
FragmentPath=/etc/systemd/system/labapp@.service
NeedDaemonReload=no

ExecStart={ path=/usr/sbin/php-fpm8.2 ; argv[]=/usr/sbin/php-fpm8.2 --nodaemonize --fpm-config \
/etc/php/8.2/fpm/php-fpm.conf ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; \
status=0/0 }
Environment=
Id=php8.2-fpm.service
LoadState=loaded
ActiveState=active
SubState=running
FragmentPath=/lib/systemd/system/php8.2-fpm.service
NeedDaemonReload=no

ExecStart={ path=/usr/bin/api ; argv[]=/usr/bin/api --listen 127.0.0.1:18090 ; ignore_errors=no ; \
start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }
Environment=LANG=C "API_SOCKET=/run/api/api.sock"
Id=api.service
LoadState=loaded
ActiveState=inactive
SubState=dead
FragmentPath=/etc/systemd/system/api.service
NeedDaemonReload=yes

Environment=
Id=nosuch.service
LoadState=not-found
ActiveState=inactive
SubState=dead
FragmentPath=
NeedDaemonReload=no
"""

ENV_FILES = {
    '/etc/labapp/app-8090.env': 'MODE=ok\nPORT=8090\nADDRESS=0.0.0.0\n',
    '/etc/labapp/app-8091.env': 'MODE=ok\nPORT=8091\nADDRESS=0.0.0.0\n',
    '/etc/labapp/common.env': 'LABAPP_DELAY=3\n',
}


class Runner(object):
    """Recorded systemctl: answers by the subcommand, remembers every argv."""

    def __init__(self, list_units=LIST_UNITS, show=SHOW, rc=0):
        self.calls = []
        self.list_units, self.show, self.rc = list_units, show, rc

    def __call__(self, argv, timeout):
        assert isinstance(argv, list)
        self.calls.append(argv)
        if argv[:2] == ['systemctl', 'list-units']:
            return self.rc, self.list_units.encode('utf-8'), ''
        if argv[:2] == ['systemctl', 'show']:
            wanted = argv[argv.index('--') + 1:]
            blocks = [b for b in self.show.split('\n\n') if any('Id=%s\n' % u in b + '\n' for u in wanted)]
            return self.rc, '\n\n'.join(blocks).encode('utf-8'), 'boom' if self.rc else ''
        raise AssertionError('unexpected command %r' % argv)


def read(path):
    return ENV_FILES.get(path)


# --- parsing -------------------------------------------------------------------------------

def test_parse_list_units_keeps_state_columns_and_drops_the_bullet():
    units = svc.parse_list_units(LIST_UNITS)
    by_name = dict((u['unit'], u) for u in units)
    assert by_name['labapp@app-8090.service'] == {'unit': 'labapp@app-8090.service', 'load': 'loaded',
                                                  'active': 'failed', 'sub': 'failed'}
    assert by_name['broken.service']['active'] == 'failed'
    assert by_name['plymouth-start.service']['load'] == 'not-found'


def test_stopped_units_are_loaded_and_inactive_or_failed():
    run = Runner()
    assert svc.stopped_units(run) == ['labapp@app-8090.service', 'labapp@app-8091.service', 'broken.service',
                                      'rescue.service']
    assert run.calls == [['systemctl', 'list-units', '--all', '--type=service', '--plain', '--no-legend',
                          '--no-pager']]


def test_stopped_units_failure_is_a_clear_error():
    with pytest.raises(svc.ServiceError, match='list-units failed'):
        svc.stopped_units(Runner(rc=1))


def test_parse_show_blocks_and_repeated_environment_files():
    blocks = svc.parse_show(SHOW)
    assert [b['Id'] for b in blocks] == ['labapp@app-8090.service', 'labapp@app-8091.service', 'php8.2-fpm.service',
                                         'api.service', 'nosuch.service']
    assert svc.environment_files(blocks[1]['EnvironmentFiles']) == ['/etc/labapp/app-8091.env',
                                                                    '/etc/labapp/common.env']
    assert svc.environment_files('-/etc/default/x (ignore_errors=yes)') == ['/etc/default/x']


def test_exec_argvs_leave_out_pid_and_times():
    block = svc.parse_show(SHOW)[0]
    argvs = svc.exec_argvs(block['ExecStart'])
    assert argvs == ['/usr/bin/python3 /opt/labapp/labapp.py ${MODE} ${PORT} ${ADDRESS}']
    # pid=8091 is in the property, but not in the command line
    assert not svc.mentions_port(argvs[0], 8091)


def test_exec_argvs_several_commands():
    value = ('{ path=/a ; argv[]=/a --port 1 ; ignore_errors=no ; pid=0 } ; '
             '{ path=/b ; argv[]=/b --port 2 ; ignore_errors=yes ; pid=0 }')
    assert svc.exec_argvs(value) == ['/a --port 1', '/b --port 2']


# --- matching ----------------------------------------------------------------------------------

@pytest.mark.parametrize('text,port,expected', [
    ('PORT=8090', 8090, True),
    ('--listen 0.0.0.0:8090', 8090, True),
    ('--listen 127.0.0.1:18090', 8090, False),
    ('--listen 127.0.0.1:80901', 8090, False),
    ('8090', 8090, True),
    ('PORT=809', 8090, False),
    ('', 8090, False),
    (None, 8090, False),
])
def test_mentions_port_as_a_whole_number(text, port, expected):
    assert svc.mentions_port(text, port) is expected


@pytest.mark.parametrize('text,expected', [
    ('listen=/run/api/api.sock', True),
    ('"API_SOCKET=/run/api/api.sock"', True),
    ('--socket /run/api/api.sock --x', True),
    ('/run/api/api.sock2', False),
    ('/run/api/api.sock.old', False),
    ('/run/api/api.sock/x', False),
    ('/var/run/api/api.sock', False),
])
def test_mentions_path_not_as_part_of_a_longer_path(text, expected):
    assert svc.mentions_path(text, '/run/api/api.sock') is expected


def test_unit_matches_says_where():
    blocks = dict((b['Id'], b) for b in svc.parse_show(SHOW))
    assert svc.unit_matches(blocks['labapp@app-8090.service'], port=8090, read=read) == [
        'EnvironmentFile /etc/labapp/app-8090.env']
    assert svc.unit_matches(blocks['labapp@app-8090.service'], port=8091, read=read) == []
    assert svc.unit_matches(blocks['api.service'], port=18090, read=read) == ['ExecStart']
    assert svc.unit_matches(blocks['api.service'], path='/run/api/api.sock', read=read) == ['Environment']


# --- candidates ----------------------------------------------------------------------------------

def candidates(port=None, path=None, stopped=None, wanted=(), templates=(), pools=(), run=None):
    run = run or Runner()
    stopped = svc.stopped_units(run) if stopped is None else stopped
    return svc.find_candidates(run, port, path, read=read, stopped=stopped, wanted=list(wanted),
                               templates=list(templates), pools=list(pools)), run


def test_failed_unit_found_by_its_environment_file():
    (found, units), run = candidates(port=8090)
    assert [c['unit'] for c in found] == ['labapp@app-8090.service']
    assert found[0]['active_state'] == 'failed'
    assert found[0]['matched'] == ['EnvironmentFile /etc/labapp/app-8090.env']
    # ONE systemctl show for every unit
    shows = [c for c in run.calls if c[:2] == ['systemctl', 'show']]
    assert len(shows) == 1
    assert shows[0][-4:] == ['labapp@app-8090.service', 'labapp@app-8091.service', 'broken.service',
                             'rescue.service']
    for prop in ('Id', 'ExecStart', 'EnvironmentFiles', 'Environment', 'ActiveState', 'SubState', 'FragmentPath'):
        assert prop in shows[0]


def test_enabled_template_instance_not_in_list_units():
    (found, _units), _run = candidates(port=8091, stopped=[], wanted=['labapp@app-8091.service'])
    assert [c['unit'] for c in found] == ['labapp@app-8091.service']
    assert found[0]['active_state'] == 'inactive'


def test_names_are_deduplicated_before_show():
    (_found, _units), run = candidates(port=8091, stopped=['labapp@app-8091.service'],
                                       wanted=['labapp@app-8091.service'], templates=['labapp@app-8091.service'])
    show = [c for c in run.calls if c[:2] == ['systemctl', 'show']][0]
    assert show.count('labapp@app-8091.service') == 1


def test_unknown_port_has_no_candidate_and_the_message_says_to_set_name():
    (found, units), _run = candidates(port=9999)
    assert found == []
    msg = svc.ambiguity_message('port 9999', found, len(units))
    assert 'no stopped systemd service names port 9999' in msg
    assert 'set name' in msg and 'backend_service_units' in msg


def test_several_candidates_are_listed():
    show = SHOW.replace('LABAPP_DELAY', 'X')
    ENV_FILES['/etc/labapp/common.env'] = 'OTHER_PORT=8090\n'
    try:
        (found, _units), _run = candidates(port=8090, run=Runner(show=show))
    finally:
        ENV_FILES['/etc/labapp/common.env'] = 'LABAPP_DELAY=3\n'
    assert [c['unit'] for c in found] == ['labapp@app-8090.service', 'labapp@app-8091.service']
    msg = svc.ambiguity_message('port 8090', found, 4)
    assert msg.startswith('2 services could be the one for port 8090: labapp@app-8090.service (failed, ')
    assert 'set name' in msg


def test_active_units_are_not_candidates_by_their_text():
    (found, _units), _run = candidates(port=8090, stopped=[], wanted=['php8.2-fpm.service'])
    assert found == []


def test_php_fpm_pool_names_its_unit_in_any_state():
    pools = [{'config': '/etc/php/8.2/fpm/php-fpm.conf', 'pool': 'www', 'file': '/etc/php/8.2/fpm/pool.d/www.conf',
              'line': 4, 'units': ['php8.2-fpm.service']}]
    (found, _units), run = candidates(path='/run/php/php8.2-fpm.sock', stopped=[], pools=pools)
    assert found == [{'unit': 'php8.2-fpm.service', 'active_state': 'active', 'sub_state': 'running',
                      'matched': ['PHP-FPM pool www (/etc/php/8.2/fpm/pool.d/www.conf:4)']}]
    assert run.calls[-1][-1] == 'php8.2-fpm.service'


def test_not_found_units_are_ignored():
    (found, _units), _run = candidates(port=8090, stopped=['nosuch.service'])
    assert found == []


@pytest.mark.parametrize('config,unit', [
    ('/etc/php/8.2/fpm/php-fpm.conf', 'php8.2-fpm.service'),
    ('/etc/php-fpm.conf', 'php-fpm.service'),
    ('/etc/opt/remi/php81/php-fpm.conf', 'php81-php-fpm.service'),
])
def test_fpm_unit_names(config, unit):
    assert svc.fpm_unit_names(config)[0] == unit


def test_describe_unit_refuses_unknown_units():
    with pytest.raises(svc.ServiceError, match='nosuch.service cannot be used: its load state is not-found'):
        svc.describe_unit(Runner(), 'nosuch.service')
    assert svc.describe_unit(Runner(), 'api.service')['NeedDaemonReload'] == 'yes'


@pytest.mark.parametrize('name,expected', [
    ('labapp@app-8090', 'labapp@app-8090.service'),
    ('php8.2-fpm', 'php8.2-fpm.service'),
    ('php8.2-fpm.service', 'php8.2-fpm.service'),
    ('api.socket', 'api.socket'),
])
def test_unit_name(name, expected):
    assert svc.unit_name(name) == expected


@pytest.mark.parametrize('name', ['', 'a b', '--now', 'x;rm', '../x'])
def test_unit_name_rejects_what_is_not_a_unit(name):
    with pytest.raises(svc.ServiceError, match='is not a systemd unit name'):
        svc.unit_name(name)


# --- the file system sources -----------------------------------------------------------------------

def test_wanted_instances(tmp_path):
    wants = tmp_path / 'multi-user.target.wants'
    wants.mkdir()
    for name in ('labapp@app-8090.service', 'nginx.service', 'getty@.service'):
        os.symlink('/etc/systemd/system/x', str(wants / name))
    req = tmp_path / 'x.target.requires'
    req.mkdir()
    os.symlink('/x', str(req / 'db@main.service'))
    assert svc.wanted_instances(str(tmp_path)) == ['db@main.service', 'labapp@app-8090.service']


def test_template_instances_from_environment_files(tmp_path):
    units = tmp_path / 'units'
    units.mkdir()
    envdir = tmp_path / 'labapp'
    envdir.mkdir()
    (units / 'labapp@.service').write_text(u'[Service]\nEnvironmentFile=-%s/%%i.env\nExecStart=/x\n' % envdir)
    (units / 'other@.service').write_text(u'[Service]\nEnvironmentFile=/etc/%%n/%%i.env\n')
    (units / 'plain.service').write_text(u'[Service]\nEnvironmentFile=%s/%%i.env\n' % envdir)
    for name in ('app-8090.env', 'app-8091.env', 'notes.txt'):
        (envdir / name).write_text(u'PORT=1\n')
    assert svc.template_instances([str(units)]) == ['labapp@app-8090.service', 'labapp@app-8091.service']


def test_read_small_refuses_big_and_binary_files(tmp_path):
    big = tmp_path / 'big'
    big.write_bytes(b'x' * 100)
    binary = tmp_path / 'bin'
    binary.write_bytes(b'PORT=1\x00')
    assert svc.read_small(str(big), limit=10) is None
    assert svc.read_small(str(binary)) is None
    assert svc.read_small(str(tmp_path / 'missing')) is None
    assert svc.read_small(str(big)) == 'x' * 100


# --- listeners ----------------------------------------------------------------------------------------

TABLE = {
    'tcp': [
        {'family': 'ipv4', 'address': '127.0.0.1', 'port': 8092, 'pids': [7], 'process': 'python3',
         'unit': 'labapp@app-8092.service', 'user': 'root'},
        {'family': 'ipv4', 'address': '0.0.0.0', 'port': 8090, 'pids': [5, 6], 'process': 'python3',
         'unit': 'labapp@app-8090.service', 'user': 'root'},
        {'family': 'ipv6', 'address': '::', 'port': 80, 'pids': [9], 'process': 'nginx', 'unit': 'nginx.service',
         'user': 'root'},
    ],
    'unix': [{'path': '/run/php/php8.2-fpm.sock', 'pids': [3], 'process': 'php-fpm8.2', 'unit': 'php8.2-fpm.service',
              'user': 'root'}],
}


@pytest.mark.parametrize('port,address,expected', [
    (8090, None, 8090),
    (8090, '10.88.0.3', 8090),         # wildcard listener
    (8092, None, 8092),
    (8092, '127.0.0.1', 8092),
    (8092, 'localhost', 8092),
    (8092, '10.88.0.3', None),         # only at 127.0.0.1
    (80, '10.88.0.3', 80),             # [::] accepts IPv4 too
    (8091, None, None),
])
def test_find_listener_tcp(port, address, expected):
    found = svc.find_listener(port=port, address=address, table=TABLE)
    assert (found['port'] if found else None) == expected


def test_find_listener_unix_and_summary():
    found = svc.find_listener(path='/run/php/php8.2-fpm.sock', table=TABLE)
    assert svc.listener_summary(found) == {'pid': 3, 'pids': [3], 'process': 'php-fpm8.2', 'unit': 'php8.2-fpm.service',
                                           'user': 'root', 'set_aside': [], 'path': '/run/php/php8.2-fpm.sock'}
    assert svc.find_listener(path='/run/php/other.sock', table=TABLE) is None
    assert svc.listener_summary(svc.find_listener(port=8090, table=TABLE))['pid'] == 5


def test_other_addresses_explain_a_miss():
    assert svc.other_addresses(8092, TABLE) == ['127.0.0.1']


def test_wait_listening_polls_until_the_listener_appears():
    tables = [{'tcp': [], 'unix': []}, {'tcp': [], 'unix': []}, TABLE]
    now = [0.0]
    sleeps = []

    def sleep(s):
        sleeps.append(s)
        now[0] += s

    found, _table = svc.wait_listening(port=8090, timeout=5, clock=lambda: now[0], sleep=sleep,
                                       listeners=lambda: tables.pop(0) if len(tables) > 1 else tables[0])
    assert found['port'] == 8090
    assert len(sleeps) == 2


def test_wait_listening_gives_up_after_the_timeout():
    now = [0.0]

    def sleep(s):
        now[0] += s

    found, table = svc.wait_listening(port=8091, timeout=2, interval=0.5, clock=lambda: now[0], sleep=sleep,
                                      listeners=lambda: TABLE)
    assert found is None and table is TABLE
    assert now[0] == 2.0


def test_journal_tail_without_journalctl_is_empty():
    def run(argv, timeout):
        raise AssertionError('must not run')

    assert svc.journal_tail(run, 'x.service', which=lambda name: None) == []


def test_journal_tail_keeps_the_last_lines_short():
    def run(argv, timeout):
        assert argv == ['journalctl', '-u', 'x.service', '-n', '20', '--no-pager', '-o', 'short-iso']
        return 0, ('-- Boot 1 --\n' + '\n'.join('line %d %s' % (i, 'y' * 400) for i in range(25))).encode(), ''

    lines = svc.journal_tail(run, 'x.service', which=lambda name: '/usr/bin/journalctl')
    assert len(lines) == 20 and lines[0].startswith('line 5 ') and len(lines[0]) == 300


def test_target_text():
    assert svc.target_text(port=8090) == 'port 8090'
    assert svc.target_text(port=8090, address='10.88.0.3') == '10.88.0.3:8090'
    assert svc.target_text(port=8090, address='::1') == '[::1]:8090'
    assert svc.target_text(path='/run/x.sock') == '/run/x.sock'
