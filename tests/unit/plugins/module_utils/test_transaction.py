# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _daemons as daemons
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm_edit as fpm_edit
from ansible_collections.badgateway.nginx.plugins.module_utils import _journal as journal
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils import _transaction as nt

POOL = (b'; Start a new pool named www.\n'
        b'[www]\n'
        b'user = www-data\n'
        b'group = www-data\n'
        b'listen = /run/php/php8.2-fpm.sock\n'
        b'\n'
        b'pm = dynamic\n'
        b'pm.max_children   =   5   ; raised in 2025\n'
        b';pm.start_servers = 2\n'
        b'\n'
        b'[api]\n'
        b'user = api\n'
        b'pm.max_children = 3\n')


# --- the ini editor ------------------------------------------------------------

def test_replace_keeps_spacing_and_comment():
    r = fpm_edit.plan_ini(POOL, 'www', 'pm.max_children', '20')
    assert r['action'] == 'replaced' and r['line'] == 8
    assert r['after'] == POOL.replace(b'pm.max_children   =   5   ; raised', b'pm.max_children   =   20   ; raised')
    # the other pool's key of the same name is untouched
    assert r['after'].endswith(b'[api]\nuser = api\npm.max_children = 3\n')


def test_equal_value_is_no_change():
    r = fpm_edit.plan_ini(POOL, 'www', 'pm.max_children', '5')
    assert r == {'after': POOL, 'action': 'none', 'line': 8}
    r = fpm_edit.plan_ini(b'[www]\nlisten.owner = "www-data"\n', 'www', 'listen.owner', 'www-data')
    assert r['action'] == 'none'


def test_insert_after_last_setting_of_the_section():
    r = fpm_edit.plan_ini(POOL, 'www', 'listen.owner', 'www-data')
    assert r['action'] == 'added' and r['line'] == 9
    assert r['after'] == POOL.replace(b'; raised in 2025\n', b'; raised in 2025\nlisten.owner = www-data\n')
    # last section, file without a final newline
    r = fpm_edit.plan_ini(b'[www]\nuser = a', 'www', 'group', 'b')
    assert r['after'] == b'[www]\nuser = a\ngroup = b\n'
    # section without settings: right after its header
    r = fpm_edit.plan_ini(b'[www]\n; nothing\n[b]\nx = 1\n', 'www', 'pm', 'static')
    assert r['after'] == b'[www]\npm = static\n; nothing\n[b]\nx = 1\n'


def test_crlf_is_kept():
    data = POOL.replace(b'\n', b'\r\n')
    r = fpm_edit.plan_ini(data, 'www', 'pm.max_children', '7')
    assert r['after'] == data.replace(b'=   5   ;', b'=   7   ;')
    r = fpm_edit.plan_ini(data, 'api', 'group', 'api')
    assert r['after'] == data + b'group = api\r\n'
    assert b'\n' not in r['after'].replace(b'\r\n', b'')


def test_indented_settings_and_brackets_keys():
    data = b'[www]\n  user = a\n  php_admin_value[memory_limit] = 128M\n'
    r = fpm_edit.plan_ini(data, 'www', 'php_admin_value[memory_limit]', '256M')
    assert r['after'] == b'[www]\n  user = a\n  php_admin_value[memory_limit] = 256M\n'
    r = fpm_edit.plan_ini(data, 'www', 'env[PATH]', '/usr/bin')
    assert r['after'] == data + b'  env[PATH] = /usr/bin\n'


def test_absent_removes_the_line():
    r = fpm_edit.plan_ini(POOL, 'www', 'pm', state='absent')
    assert r['action'] == 'removed' and r['line'] == 7
    assert r['after'] == POOL.replace(b'pm = dynamic\n', b'')
    assert fpm_edit.plan_ini(POOL, 'www', 'nope', state='absent')['action'] == 'none'
    # a commented-out key is not a setting
    assert fpm_edit.plan_ini(POOL, 'www', 'pm.start_servers', state='absent')['action'] == 'none'


@pytest.mark.parametrize('data,section,key,value,message', [
    (POOL, 'nope', 'pm', 'static', 'no [nope] section in f (sections: [www], [api])'),
    (b'[www]\npm = a\npm = b\n', 'www', 'pm', 'static', 'pm is set 2 times in [www] of f (lines 2, 3)'),
    (b'[www]\npm = a\n[www]\n', 'www', 'pm', 'static', 'section [www] appears 2 times in f (lines 1, 3)'),
    (POOL, 'www', 'pm', 'a\nb', 'contains a newline or control character'),
    (POOL, 'www', 'pm', 'a ; b', 'contains ";"'),
    (POOL, 'www', 'pm x', 'a', 'invalid key'),
    (POOL, 'w]w', 'pm', 'a', 'invalid section name'),
    (POOL, 'www', 'pm', None, 'value is required'),
    (b'[www]\n\x00', 'www', 'pm', 'a', 'binary file'),
])
def test_refusals(data, section, key, value, message):
    with pytest.raises(journal.TxnError) as e:
        fpm_edit.plan_ini(data, section, key, value, path='f')
    assert message in str(e.value)


# --- journal and restore ------------------------------------------------------------

def make_files(tmp_path):
    a = tmp_path / 'a.conf'
    b = tmp_path / 'b.conf'
    a.write_bytes(b'server { listen 80; }\r\n')
    b.write_bytes(b'\xff\xfe binary-ish but no NUL')
    os.chown(str(a), 1234, 5678)
    os.chmod(str(a), 0o640)
    os.chmod(str(b), 0o604)
    return str(a), str(b)


@pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')
def test_journal_round_trip_and_restore(tmp_path):
    a, b = make_files(tmp_path)
    jdir = str(tmp_path / 'journal')
    new = str(tmp_path / 'new.conf')
    snaps = [journal.snapshot(a), journal.snapshot(b), journal.snapshot(new)]
    assert snaps[2]['existed'] is False
    manifest = journal.write_journal(jdir, snaps, {'pid': 42, 'kinds': ['nginx']})
    assert os.stat(jdir).st_mode & 0o7777 == 0o700
    txn = os.path.dirname(manifest)
    assert sorted(os.listdir(txn)) == ['f000.orig', 'f001.orig', 'f002.orig', 'manifest.json']
    assert all(os.stat(os.path.join(txn, n)).st_mode & 0o7777 == 0o600 for n in os.listdir(txn))
    # the run changes everything, even owners, and creates a file
    with open(a, 'wb') as f:
        f.write(b'broken')
    os.chown(a, 0, 0)
    os.chmod(a, 0o666)
    os.unlink(b)
    with open(new, 'wb') as f:
        f.write(b'x')
    j = journal.read_journal(jdir)
    assert j['manifest']['pid'] == 42 and [s['path'] for s in j['snapshots']] == [a, b, new]
    assert journal.restore(j['snapshots']) == []
    with open(a, 'rb') as f:
        assert f.read() == b'server { listen 80; }\r\n'
    st = os.stat(a)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 5678, 0o640)
    with open(b, 'rb') as f:
        assert f.read() == b'\xff\xfe binary-ish but no NUL'
    assert os.stat(b).st_mode & 0o7777 == 0o604
    assert not os.path.exists(new)
    journal.discard_journal(jdir)
    # the journal's directory keeps its marked lock file, the mark that the journal made the directory
    assert os.listdir(jdir) == ['lock'] and journal.read_journal(jdir) is None


def test_half_written_journal_is_not_trusted(tmp_path):
    a, dummy = make_files(tmp_path)
    jdir = str(tmp_path / 'journal')
    journal.write_journal(jdir, [journal.snapshot(a)], {'pid': 1})
    os.unlink(os.path.join(jdir, 'txn', 'manifest.json'))   # killed before the manifest's rename
    assert journal.read_journal(jdir) is None
    assert not os.path.exists(os.path.join(jdir, 'txn'))


def test_corrupt_journal_is_kept(tmp_path):
    a, dummy = make_files(tmp_path)
    jdir = str(tmp_path / 'journal')
    journal.write_journal(jdir, [journal.snapshot(a)], {'pid': 1})
    with open(os.path.join(jdir, 'txn', 'f000.orig'), 'ab') as f:
        f.write(b'x')
    with pytest.raises(journal.TxnError) as e:
        journal.read_journal(jdir)
    assert 'does not match its checksum' in str(e.value)
    assert os.path.exists(os.path.join(jdir, 'txn', 'manifest.json'))
    with open(os.path.join(jdir, 'txn', 'manifest.json')) as f:
        assert json.load(f)['files'][0]['path'] == a


def test_journal_dir_of_another_user_is_refused(tmp_path):
    d = tmp_path / 'j'
    journal.secure_dir(str(d))
    assert os.stat(str(d)).st_mode & 0o7777 == 0o700
    if os.geteuid() == 0:
        os.chown(str(d), 1234, 1234)
        with pytest.raises(journal.TxnError) as e:
            journal.secure_dir(str(d))
        assert 'belongs to uid 1234' in str(e.value)
    with pytest.raises(journal.TxnError):
        journal.secure_dir('relative/dir')


def test_an_existing_directory_is_never_chmodded_or_emptied(tmp_path):
    # an existing directory with other files: refused, mode and files untouched
    d = tmp_path / 'existing'
    (d / 'txn' / 'sub').mkdir(parents=True)
    (d / 'txn' / 'keep.txt').write_text('mine')
    (d / 'notes').write_text('mine')
    os.chmod(str(d), 0o700)
    with pytest.raises(journal.TxnError) as e:
        journal.secure_dir(str(d))
    assert 'was not created by badgateway.nginx' in str(e.value)
    with pytest.raises(journal.TxnError):
        journal.write_journal(str(d), [], {'pid': 1})
    assert sorted(os.listdir(str(d))) == ['notes', 'txn'] and sorted(os.listdir(str(d / 'txn'))) == ['keep.txt', 'sub']
    # group/other bits: refused, not chmodded
    w = tmp_path / 'wide'
    w.mkdir()
    os.chmod(str(w), 0o755)
    with pytest.raises(journal.TxnError) as e:
        journal.secure_dir(str(w))
    assert 'has mode 0755' in str(e.value) and os.stat(str(w)).st_mode & 0o7777 == 0o755
    assert os.listdir(str(w)) == []
    # a symbolic link: refused
    own = tmp_path / 'own'
    journal.secure_dir(str(own))
    os.symlink(str(own), str(tmp_path / 'link'))
    with pytest.raises(journal.TxnError) as e:
        journal.secure_dir(str(tmp_path / 'link'))
    assert 'is a symbolic link' in str(e.value)
    # the journal's own directory: a stranger in its txn/ is kept and named, no IsADirectoryError
    a = tmp_path / 'a.conf'
    a.write_bytes(b'x;\n')
    journal.write_journal(str(own), [journal.snapshot(str(a))], {'pid': 1})
    (own / 'txn' / 'sub').mkdir()
    with pytest.raises(journal.TxnError) as e:
        journal.discard_journal(str(own))
    assert 'holds sub, which the journal did not create' in str(e.value)
    assert os.listdir(str(own / 'txn')) == ['sub']
    # a 0.1 journal directory (an empty lock, last-commit) is taken over and marked
    old = tmp_path / 'old'
    old.mkdir()
    os.chmod(str(old), 0o700)
    (old / 'lock').write_bytes(b'')
    (old / 'last-commit').write_text('1.0\n')
    journal.secure_dir(str(old))
    assert (old / 'lock').read_bytes() == journal.LOCK_MARK and (old / 'last-commit').read_text() == '1.0\n'


def test_check_mode_sees_a_live_runs_journal_as_in_progress(tmp_path):
    a = tmp_path / 'a.conf'
    a.write_bytes(b'x;\n')
    jdir = str(tmp_path / 'j')
    lock = journal.Lock(jdir) if journal.secure_dir(jdir) is None else None
    lock.acquire(1)
    try:
        journal.write_journal(jdir, [journal.snapshot(str(a))], {'pid': os.getpid()})
        assert journal.live_run(jdir) == str(os.getpid())
        t = nt.Transaction({'journal_dir': jdir, 'recover_only': True}, check_mode=True)
        r = t.run()
        assert r['recovered'] is None, r
        assert 'holds the lock now: its journal is in progress, not left over' in r['steps'][-1]['detail']
    finally:
        lock.release()
    assert journal.live_run(jdir) is None
    r = nt.Transaction({'journal_dir': jdir, 'recover_only': True}, check_mode=True).run()
    assert r['recovered']['pending'] is True
    assert os.path.exists(os.path.join(jdir, 'txn', 'manifest.json'))


def test_lock_timeout_names_the_holder(tmp_path):
    jdir = str(tmp_path)
    first = journal.Lock(jdir)
    first.acquire(1)
    t = [0.0]

    def clock():
        return t[0]

    def sleep(s):
        t[0] += s
    second = journal.Lock(jdir)
    with pytest.raises(journal.TxnError) as e:
        second.acquire(1, sleep=sleep, clock=clock)
    assert str(e.value).startswith('another run (pid %d) holds the lock on this host' % os.getpid())
    first.release()
    second.acquire(0)
    second.release()


# --- processes, from a fake /proc ------------------------------------------------------

NAMESPACES = {'pid': 'pid:[4026531836]', 'mnt': 'mnt:[4026531841]', 'net': 'net:[4026531840]'}


def fake_proc(tmp_path, procs):
    root = tmp_path / 'proc'
    for pid, (ppid, title, state) in procs.items():
        d = root / str(pid)
        d.mkdir(parents=True)
        (d / 'cmdline').write_bytes(title.encode().replace(b' ', b'\x00') if title.startswith('/') else title.encode() + b'\x00' * 20)
        (d / 'stat').write_text('%d (nginx (x)) %s %d 1 1 0' % (pid, state, ppid))
        (d / 'cgroup').write_text('0::/system.slice/nginx.service\n')
        (d / 'ns').mkdir()
        for kind, link in NAMESPACES.items():  # the host's: see test_procfs_namespaces.py for containers
            os.symlink(link, str(d / 'ns' / kind))
    (root / 'self' / 'ns').mkdir(parents=True, exist_ok=True)
    for kind, link in NAMESPACES.items():
        os.symlink(link, str(root / 'self' / 'ns' / kind))
    return str(root)


def test_workers_masters_and_pid_file(tmp_path):
    proc = fake_proc(tmp_path, {
        100: (1, 'nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf', 'S'),
        101: (100, 'nginx: worker process', 'S'),
        102: (100, 'nginx: worker process is shutting down', 'S'),
        103: (100, 'nginx: cache manager process', 'S'),
        104: (100, 'nginx: worker process', 'Z'),
        200: (1, 'nginx: master process nginx -c /srv/other.conf', 'S'),
        201: (200, 'nginx: worker process', 'S'),
        300: (1, 'php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)', 'S'),
        301: (300, 'php-fpm: pool www', 'S'),
    })
    assert procfs.children_titled(100, proc=proc) == {101, 104}
    assert procfs.children_titled(300, 'php-fpm: pool ', proc) == {301}
    assert procfs.titled('nginx: master process', proc) == [100, 200]
    assert procfs.alive(101, proc) and not procfs.alive(104, proc) and not procfs.alive(999, proc)
    assert procfs.ppid(101, proc) == 100
    pid_file = tmp_path / 'nginx.pid'
    pid_file.write_text('200\n')
    assert daemons.pid_from_file(str(pid_file), 'nginx: master process', proc) == 200
    pid_file.write_text('201\n')      # a worker's pid: not a master
    assert daemons.pid_from_file(str(pid_file), 'nginx: master process', proc) is None
    assert daemons.systemd_unit(100, proc) == 'nginx.service'
    n = daemons.Nginx({'config': '/srv/other.conf', 'prefix': '/srv/', 'pid_file': str(tmp_path / 'missing.pid')},
                      proc=proc)
    assert n.master() == 200
    fpm = daemons.PhpFpm({}, proc=proc)
    assert fpm.master() == 300


def test_new_log_lines_and_upstream_errors(tmp_path):
    log = tmp_path / 'error.log'
    old = '2026/01/01 10:00:00 [error] 7#7: *1 connect() failed (111: Connection refused) while connecting to upstream, ' \
          'client: 10.0.0.1, server: a, request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:1/", host: "app.test"\n'
    log.write_text(old)
    offset = daemons.log_size(str(log))
    new = old.replace('*1', '*2').replace('GET / ', 'GET /x?token=s3cret ').replace('host: "app.test"', 'host: "app.test:8080"')
    other = old.replace('host: "app.test"', 'host: "other.test"')
    with open(str(log), 'a') as f:
        f.write(new + other + '2026/01/01 10:00:01 [notice] 7#7: signal process started\n')
    lines = daemons.new_log_lines(str(log), offset)
    assert len(lines) == 3 and lines[0] == new.rstrip('\n')
    hosts = daemons.url_hosts([{'url': 'http://127.0.0.1:8080/x', 'host': 'app.test:8080'}, {'url': 'http://a.test/'}])
    assert hosts == {'app.test:8080', '127.0.0.1:8080', 'a.test'}
    assert daemons.upstream_errors(lines, hosts) == [lines[0]]
    assert daemons.upstream_errors(lines, {'app.test'}) == []
    assert 's3cret' not in daemons.redact_all(lines)[0] and 'client: 10.0.0.1' in daemons.redact_all(lines)[0]
    # rotated: the file shrank, read from its start
    log.write_text('x\n')
    assert daemons.new_log_lines(str(log), offset) == ['x']


def test_plan_refuses_unknown_keys_and_relative_paths(tmp_path):
    conf = tmp_path / 'a.conf'
    conf.write_bytes(b'server {\n    listen 80;\n}\n')
    (tmp_path / 'nginx.conf').write_bytes(b'events {}\nhttp { include a.conf; }\n')
    nginx = {'config': str(tmp_path / 'nginx.conf'), 'prefix': str(tmp_path)}
    t = nt.Transaction({'changes': [{'kind': 'nginx', 'path': str(conf), 'section': 'www'}]})
    with pytest.raises(journal.TxnError) as e:
        t.plan()
    assert 'unknown key(s) section' in str(e.value)
    t = nt.Transaction({'changes': [{'kind': 'nginx', 'path': 'a.conf', 'directive': 'x', 'args': ['1']}]})
    with pytest.raises(journal.TxnError) as e:
        t.plan()
    assert 'path must be an absolute path' in str(e.value)
    # two edits of one file are planned one after the other
    t = nt.Transaction({'nginx': nginx, 'changes': [
        {'kind': 'nginx', 'path': str(conf), 'scope': 'server', 'directive': 'server_name', 'args': ['a']},
        {'kind': 'nginx', 'path': str(conf), 'scope': 'server', 'directive': 'server_name', 'args': ['b']}]})
    files, order, changes = t.plan()
    assert files[str(conf)]['after'] == b'server {\n    listen 80;\n    server_name b;\n}\n'
    assert [c['action'] for c in changes] == ['added', 'replaced']


def test_plan_edits_only_files_the_daemons_read(tmp_path):
    (tmp_path / 'nginx.conf').write_bytes(b'events {}\nhttp { include sites-enabled/*; }\n')
    (tmp_path / 'sites-available').mkdir()
    (tmp_path / 'sites-enabled').mkdir()
    (tmp_path / 'sites-available' / 'app').write_bytes(b'server {\n    listen 80;\n}\n')
    os.symlink('../sites-available/app', str(tmp_path / 'sites-enabled' / 'app'))
    (tmp_path / 'stray.conf').write_bytes(b'server {\n    listen 80;\n}\n')
    os.symlink(str(tmp_path / 'stray.conf'), str(tmp_path / 'sites-available' / 'out'))
    nginx = {'config': str(tmp_path / 'nginx.conf'), 'prefix': str(tmp_path)}
    change = {'kind': 'nginx', 'scope': 'server', 'directive': 'server_name', 'args': ['a']}
    for bad in ('stray.conf', 'sites-available/out'):
        t = nt.Transaction({'nginx': nginx, 'changes': [dict(change, path=str(tmp_path / bad))]})
        with pytest.raises(journal.TxnError) as e:
            t.plan()
        assert str(e.value).startswith('changes[0]: %s is not a file nginx reads' % (tmp_path / bad))
    # the link nginx includes: its target is the file planned (and written), the link stays
    link = str(tmp_path / 'sites-enabled' / 'app')
    files, order, changes = nt.Transaction({'nginx': nginx, 'changes': [dict(change, path=link)]}).plan()
    assert order == [str(tmp_path / 'sites-available' / 'app')] and files[order[0]]['shown'] == link
    # a pool file php-fpm does not read
    (tmp_path / 'php-fpm.conf').write_text('[global]\ninclude=%s/pool.d/*.conf\n' % tmp_path)
    (tmp_path / 'pool.d').mkdir()
    (tmp_path / 'pool.d' / 'www.conf').write_bytes(b'[www]\npm = static\n')
    (tmp_path / 'other.conf').write_bytes(b'[www]\npm = static\n')
    fpm = {'config': str(tmp_path / 'php-fpm.conf')}
    pool = {'kind': 'fpm', 'section': 'www', 'key': 'pm', 'value': 'dynamic'}
    t = nt.Transaction({'php_fpm': fpm, 'changes': [dict(pool, path=str(tmp_path / 'other.conf'))]})
    with pytest.raises(journal.TxnError) as e:
        t.plan()
    assert 'other.conf is not a file php-fpm reads: it is not in the include tree of %s' % fpm['config'] in str(e.value)
    files, order, changes = nt.Transaction({'php_fpm': fpm, 'changes': [
        dict(pool, path=str(tmp_path / 'pool.d' / 'www.conf'))]}).plan()
    assert changes[0]['action'] == 'replaced'


def test_pool_settings_and_the_socket_permissions_php_fpm_would_apply():
    data = (b'[www]\nlisten = /run/php/www.sock\n\n[locked]\nuser = www-data\nlisten = "/run/php/locked.sock"\n'
            b'listen.owner = www-data  ; the nginx user\nlisten.group = root\n;listen.mode = 0600\n')
    settings = fpm_edit.pool_settings(data, 'locked')
    assert settings == {'user': 'www-data', 'listen': '/run/php/locked.sock', 'listen.owner': 'www-data',
                        'listen.group': 'root'}
    import grp
    import pwd
    path, uid, gid, mode = fpm_edit.socket_permissions(settings)
    assert (path, uid, gid, mode) == ('/run/php/locked.sock', pwd.getpwnam('www-data').pw_uid, grp.getgrnam('root').gr_gid,
                                      0o660)
    assert fpm_edit.socket_permissions({'listen': '127.0.0.1:9000'}) is None
    with pytest.raises(journal.TxnError, match='unknown user or group'):
        fpm_edit.socket_permissions({'listen': '/run/x.sock', 'listen.owner': 'no-such-user-here'})
