# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_procfs and the namespace-aware lookups built on it, on recorded /proc trees.

A recorded tree has what the kernel shows: <pid>/stat, cmdline, comm, status, cgroup, fd/ links
and ns/{pid,mnt,net} links (dangling symlinks whose text is 'pid:[4026531836]'), and self/ for
the reading process.  The scenario with real daemons in their own namespaces is
tests/local/test_namespaces_local.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _daemons as daemons
from ansible_collections.badgateway.nginx.plugins.module_utils import _journal as journal
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as fpm
from ansible_collections.badgateway.nginx.plugins.module_utils import _host_checks as probe

HOST = {'pid': 'pid:[4026531836]', 'mnt': 'mnt:[4026531841]', 'net': 'net:[4026531840]'}
CONTAINER = {'pid': 'pid:[4026532301]', 'mnt': 'mnt:[4026532299]', 'net': 'net:[4026532304]'}
# unshare --pid --mount: own pid and mount namespaces, the host's network
HOSTNET = {'pid': 'pid:[4026532401]', 'mnt': 'mnt:[4026532400]', 'net': HOST['net']}


def make_proc(tmp_path, procs, uptime='1000.50 1900.00\n'):
    """procs: {pid: dict(ppid, title, state='S', ns=HOST, start=ticks, sockets=[inode], comm)}."""
    root = tmp_path / 'proc'
    root.mkdir()
    (root / 'uptime').write_text(uptime)
    (root / 'stat').write_text('cpu  1 2 3\nbtime 1767000000\n')
    self_ns = root / 'self' / 'ns'
    self_ns.mkdir(parents=True)
    for kind, link in HOST.items():
        os.symlink(link, str(self_ns / kind))
    for pid, p in procs.items():
        d = root / str(pid)
        (d / 'ns').mkdir(parents=True)
        title = p['title']
        comm = p.get('comm') or title.split(':')[0].split()[0]
        (d / 'cmdline').write_bytes(title.encode() + b'\x00' * 8)
        (d / 'comm').write_text(comm + '\n')
        fields = [p.get('state', 'S'), str(p['ppid'])] + ['0'] * 17 + [str(p.get('start', 1000))] + ['0'] * 5
        (d / 'stat').write_text('%d (%s) %s\n' % (pid, comm, ' '.join(fields)))
        (d / 'status').write_text('Name:\t%s\nPPid:\t%d\nUid:\t0\t0\t0\t0\nVmRSS:\t  1000 kB\n' % (comm, p['ppid']))
        (d / 'cgroup').write_text(p.get('cgroup', '0::/system.slice/%s.service\n' % comm))
        for kind, link in (p.get('ns') or HOST).items():
            os.symlink(link, str(d / 'ns' / kind))
        (d / 'fd').mkdir()
        for n, inode in enumerate(p.get('sockets') or []):
            os.symlink('socket:[%s]' % inode, str(d / 'fd' / str(n + 3)))
    return str(root)


# --- _procfs ----------------------------------------------------------------------------------

def test_stat_start_time_and_namespaces(tmp_path):
    proc = make_proc(tmp_path, {
        10: {'ppid': 1, 'title': 'nginx: master process nginx', 'start': 250},
        11: {'ppid': 10, 'title': 'nginx: worker process', 'start': 400, 'state': 'Z'},
        20: {'ppid': 1, 'title': 'nginx: master process nginx', 'ns': CONTAINER},
    })
    (tmp_path / 'proc' / '12').mkdir()
    (tmp_path / 'proc' / '12' / 'stat').write_text('12 (a) b) c) R 10 ' + '0 ' * 17 + '77 0 0\n')
    assert procfs.pids(proc) == [10, 11, 12, 20]
    assert procfs.stat(12, proc) == {'comm': 'a) b) c', 'state': 'R', 'ppid': 10, 'starttime': 77}
    assert procfs.children(10, proc) == [11, 12]
    assert procfs.alive(10, proc) and not procfs.alive(11, proc) and not procfs.alive(99, proc)
    boot = procfs.boot_time(proc, clock=lambda: 2000.0)
    assert boot == 999.5  # now minus the uptime
    tick = os.sysconf('SC_CLK_TCK')
    assert procfs.start_time(10, proc, boot) == pytest.approx(999.5 + 250.0 / tick)
    os.unlink(str(tmp_path / 'proc' / 'uptime'))
    assert procfs.boot_time(proc) == 1767000000.0  # btime, whole seconds
    assert procfs.own_namespaces(proc) == HOST
    assert procfs.foreign_reason(10, proc) is None
    assert procfs.foreign_reason(20, proc) == 'other pid namespace'
    assert procfs.foreign_reason(20, proc, kinds=('net',)) == 'other network namespace'
    # a namespace that cannot be read is unknown, and unknown never sets a process aside
    assert procfs.namespaces(12, proc) == {'pid': None, 'mnt': None, 'net': None}
    assert procfs.foreign_reason(12, proc) is None
    aside = [{'pid': 20, 'comm': 'nginx', 'reason': 'other pid namespace'}]
    assert procfs.split_ours([10, 12, 20], proc) == ([10, 12], aside)


def test_same_file_through_the_process_root(tmp_path):
    shared = tmp_path / 'shared.sock'
    shared.write_text('')
    proc = tmp_path / 'proc'
    (proc / '5').mkdir(parents=True)
    os.symlink('/', str(proc / '5' / 'root'))   # a process that sees our file tree
    assert procfs.same_file(5, str(shared), str(proc)) is True
    (proc / '6').mkdir()
    (proc / '6' / 'root').mkdir()               # a process with a file tree of its own
    assert procfs.same_file(6, str(shared), str(proc)) is False
    assert procfs.same_file(5, str(tmp_path / 'absent.sock'), str(proc)) is False


# --- daemon discovery -------------------------------------------------------------------------

def masters_tree(tmp_path, extra=None):
    procs = {
        100: {'ppid': 1, 'title': 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf'},
        101: {'ppid': 100, 'title': 'nginx: worker process'},
        # a container's nginx: same config path, in its own file tree
        200: {'ppid': 1, 'title': 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf', 'ns': CONTAINER},
        201: {'ppid': 200, 'title': 'nginx: worker process', 'ns': CONTAINER},
        # another nginx of this host, another config (relative -c: relative to its -p prefix)
        300: {'ppid': 1, 'title': 'nginx: master process nginx -p /srv/ -c conf/other.conf'},
        400: {'ppid': 1, 'title': 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)'},
        401: {'ppid': 400, 'title': 'php-fpm: pool www'},
        500: {'ppid': 1, 'title': 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 'ns': CONTAINER},
        501: {'ppid': 500, 'title': 'php-fpm: pool www', 'ns': CONTAINER},
        600: {'ppid': 1, 'title': 'php-fpm: master process (/etc/php/7.4/fpm/php-fpm.conf)', 'ns': HOSTNET},
        700: {'ppid': 1, 'title': 'php-fpm: master process (/srv/fpm/php-fpm.conf)', 'ns': CONTAINER},
    }
    procs.update(extra or {})
    return make_proc(tmp_path, procs)


def nginx(tmp_path, proc, pid_text, config='/etc/nginx/nginx.conf'):
    pid_file = tmp_path / 'nginx.pid'
    if pid_text is None:
        if pid_file.exists():
            pid_file.unlink()
    else:
        pid_file.write_text(pid_text)
    return daemons.Nginx({'config': config, 'prefix': '/etc/nginx/', 'pid_file': str(pid_file)}, proc=proc)


def test_nginx_master_by_pid_file_config_and_namespace(tmp_path):
    proc = masters_tree(tmp_path)
    n = nginx(tmp_path, proc, '100\n')
    assert n.master() == 100
    assert [(a['pid'], a['reason']) for a in n.set_aside] == [(200, 'other pid namespace'), (300, 'runs /srv/conf/other.conf')]
    assert procfs.children_titled(n.master(), proc=proc) == {101}
    # no pid file: the single master of this config in our namespaces (never the container's)
    assert nginx(tmp_path, proc, None).master() == 100
    assert nginx(tmp_path, proc, None, '/srv/conf/other.conf').master() == 300


@pytest.mark.parametrize('pid_text,why', [
    ('4242\n', 'names 4242, which is not running'),
    ('200\n', 'names 200, which is a master in another pid namespace'),
    ('401\n', 'names 401, which is not a master (it is php-fpm)'),
    ('300\n', 'names 300, which runs another configuration'),
])
def test_stale_pid_file_is_an_error_not_another_master(tmp_path, pid_text, why):
    # our master is gone: before, the only other master (or the one of the container) was reloaded
    proc = masters_tree(tmp_path)
    os.unlink(os.path.join(proc, '100', 'cmdline'))
    os.unlink(os.path.join(proc, '100', 'stat'))
    with pytest.raises(journal.TxnError) as e:
        nginx(tmp_path, proc, pid_text).master()
    msg = str(e.value)
    assert msg.startswith('no nginx master of /etc/nginx/nginx.conf runs in our pid and mount namespaces '
                          '(pid file %s names' % (tmp_path / 'nginx.pid')), msg
    assert why in msg and msg.endswith('; nothing was signalled')
    assert '2 other master(s) set aside: 200 (other pid namespace), 300 (runs /srv/conf/other.conf)' in msg
    # no pid file and no master of ours: not running (and nothing to signal)
    n = nginx(tmp_path, proc, None)
    assert n.master() is None and [a['pid'] for a in n.set_aside] == [200, 300]


def test_master_without_c_runs_the_builds_config(tmp_path):
    proc = make_proc(tmp_path, {7: {'ppid': 1, 'title': 'nginx: master process nginx -g daemon off;'}})
    n = nginx(tmp_path, proc, '7\n')
    n._info = {'paths': {'prefix': '/usr/share/nginx', 'conf_path': '/etc/nginx/nginx.conf'}}
    assert n.master() == 7
    n = nginx(tmp_path, proc, '7\n', '/opt/other.conf')
    n._info = {'paths': {'conf_path': '/etc/nginx/nginx.conf'}}
    with pytest.raises(journal.TxnError):
        n.master()


def test_php_fpm_master_keeps_to_our_namespaces(tmp_path):
    # the bug: "4 php-fpm masters run (pids ...)" when 3 of them were containers'
    proc = masters_tree(tmp_path)
    f = daemons.PhpFpm({}, proc=proc)
    assert f.master() == 400
    assert [(a['pid'], a['reason']) for a in f.set_aside] == [
        (500, 'other pid namespace'), (600, 'other pid namespace'), (700, 'other pid namespace')]
    assert daemons.PhpFpm({'config': '/etc/php/8.2/fpm/php-fpm.conf'}, proc=proc).master() == 400
    f = daemons.PhpFpm({'config': '/etc/php/7.4/fpm/php-fpm.conf'}, proc=proc)
    assert f.master() is None
    assert (400, 'runs /etc/php/8.2/fpm/php-fpm.conf') in [(a['pid'], a['reason']) for a in f.set_aside]
    pid_file = tmp_path / 'fpm.pid'
    pid_file.write_text('500\n')
    with pytest.raises(journal.TxnError) as e:
        daemons.PhpFpm({'pid_file': str(pid_file), 'config': '/srv/fpm/php-fpm.conf'}, proc=proc).master()
    assert 'pid file %s names 500, which is a master in another pid namespace' % pid_file in str(e.value)


def test_two_php_fpm_masters_of_ours_need_a_choice(tmp_path):
    proc = masters_tree(tmp_path, {410: {'ppid': 1, 'title': 'php-fpm: master process (/etc/php/8.3/fpm/php-fpm.conf)'}})
    with pytest.raises(journal.TxnError) as e:
        daemons.PhpFpm({}, proc=proc).master()
    assert str(e.value).startswith('2 php-fpm masters run in our pid and mount namespaces (pids 400, 410); 3 other '
                                   'master(s) set aside: 500 (other pid namespace)')
    assert str(e.value).endswith('set php_fpm.pid_file or php_fpm.config')


def test_pool_processes_set_containers_aside(tmp_path):
    proc = masters_tree(tmp_path)
    result = fpm.pool_processes(proc, user_name=str)
    assert [m['pid'] for m in result['master']] == [400]
    assert result['pools']['www']['pids'] == [401] and result['pools']['www']['masters'] == [400]
    assert result['set_aside'] == [
        {'pid': 500, 'comm': 'php-fpm', 'reason': 'other pid namespace', 'config': '/etc/php/8.2/fpm/php-fpm.conf',
         'pools': ['www']},
        {'pid': 600, 'comm': 'php-fpm', 'reason': 'other pid namespace', 'config': '/etc/php/7.4/fpm/php-fpm.conf',
         'pools': []},
        {'pid': 700, 'comm': 'php-fpm', 'reason': 'other pid namespace', 'config': '/srv/fpm/php-fpm.conf',
         'pools': []},
    ]


# --- listeners ----------------------------------------------------------------------------------

TCP = ('  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n'
       '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1001 1 0\n'
       '   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1002 1 0\n')
UNIX = ('Num       RefCount Protocol Flags    Type St Inode Path\n'
        '0000000000000000: 00000002 00000000 00010000 0001 01 2001 /run/php/php8.2-fpm.sock\n'
        '0000000000000000: 00000002 00000000 00010000 0001 01 2002 /run/php/app.sock\n')


def test_listeners_name_only_processes_of_ours(tmp_path):
    proc = make_proc(tmp_path, {
        10: {'ppid': 1, 'title': 'nginx: master process nginx', 'sockets': [1001]},
        # a container on the host network: its port is in our table
        20: {'ppid': 1, 'title': 'python3 -m http.server 8081', 'comm': 'python3', 'ns': HOSTNET, 'sockets': [1002]},
        30: {'ppid': 1, 'title': 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 'sockets': [2001]},
        # unshare --mount: /run/php/app.sock of its own file tree
        40: {'ppid': 1, 'title': 'php-fpm: master process (/x.conf)', 'ns': HOSTNET, 'sockets': [2002]},
    })
    (tmp_path / 'proc' / 'net').mkdir()
    (tmp_path / 'proc' / 'net' / 'tcp').write_text(TCP)
    (tmp_path / 'proc' / 'net' / 'unix').write_text(UNIX)
    os.makedirs(str(tmp_path / 'proc' / '40' / 'root'))
    table = probe.listeners(proc)
    by_port = dict((x['port'], x) for x in table['tcp'])
    assert by_port[8080]['pids'] == [10] and by_port[8080]['process'] == 'nginx' and by_port[8080]['set_aside'] == []
    assert by_port[8081]['pids'] == [] and by_port[8081]['process'] is None and by_port[8081]['unit'] is None
    assert by_port[8081]['set_aside'] == [{'pid': 20, 'comm': 'python3', 'reason': 'other pid namespace'}]
    assert [x['path'] for x in table['unix']] == ['/run/php/php8.2-fpm.sock']
    assert table['set_aside'] == [
        {'pid': 20, 'comm': 'python3', 'reason': 'other pid namespace', 'listener': '127.0.0.1:8081'},
        {'pid': 40, 'comm': 'php-fpm', 'reason': 'other mount namespace', 'listener': '/run/php/app.sock'},
    ]
    assert [p['pid'] for p in probe.process_files('nginx', proc)] == [10]
    assert [p['pid'] for p in probe.process_files('php-fpm', proc)] == [30]
