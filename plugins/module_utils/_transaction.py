# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""One change of nginx and PHP-FPM configuration files as one transaction.

Node-side, Python standard library only.  The steps: lock, recover a
journal left by a killed run, plan every edit in memory, journal the
original bytes/owner/mode, apply (temp file + rename), validate
(``nginx -t``, ``php-fpm -t``), graceful reload (confirmed: a new worker
generation and no new [emerg]/[alert] line), verify (URLs answer without
5xx, no upstream error for their hosts in the error log), commit (delete
the journal).  A failure after the journal was written restores every file
byte for byte with its owner and mode and reloads again.

Everything here raises TxnError (a message for the user) or returns data;
the module turns that into fail_json/exit_json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import errno
import fcntl
import hashlib
import json
import os
import re
import signal
import stat
import time

from urllib.parse import urlsplit

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    describe,
    find_nginx,
    parse_version,
    resolve_paths,
    run,
    test_config,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import (
    EditError,
    FileState,
    atomic_write,
    from_text,
    parse as parse_nginx,
    plan_edit,
    read_include_tree,
    record_shift,
    shift_line,
    tree_file,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._logs import (
    classify_error_line,
    redact_line,
)
from ansible_collections.badgateway.nginx.plugins.module_utils import _http as http
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm
from ansible_collections.badgateway.nginx.plugins.module_utils._redact import (
    redact_ini_text,
    redact_nginx_text,
)

NGINX_KEYS = ('path', 'scope', 'server_name', 'listen', 'location', 'upstream', 'line',
              'directive', 'args', 'key', 'block', 'state', 'insert')
# pool settings php-fpm applies to its socket only when it creates it (not on a reload)
SOCKET_KEYS = ('listen.owner', 'listen.group', 'listen.mode')
# pool settings a reload cannot apply at all (the socket is inherited by the new master as it is):
# changing one restarts php-fpm (systemd only); nginx itself is never restarted
RESTART_KEYS = ('listen', 'listen.backlog')
FPM_KEYS = ('path', 'section', 'key', 'value', 'state')
MANIFEST = 'manifest.json'
TXN_DIR = 'txn'
LOCK = 'lock'
MAX_LOG_LINES = 50
MAX_LOG_BYTES = 1024 * 1024


class TxnError(Exception):
    """An error with a message meant for the user."""


# ---------------------------------------------------------------------------
# PHP-FPM pool ini editing
# ---------------------------------------------------------------------------

INI_KEY = re.compile(r'^[A-Za-z0-9_.\-]+(?:\[[A-Za-z0-9_.\-]*\])?$')
INI_SECTION = re.compile(r'^[A-Za-z0-9_.\-$]+$')
SECTION_LINE = re.compile(r'^[ \t]*\[(?P<name>[^\]\r\n]*)\][ \t]*(?:[;#].*)?\r?$')
SETTING_LINE = re.compile(r'^(?P<lead>[ \t]*)(?P<key>[^=;#\[\s][^=\r]*?)[ \t]*=(?P<sp>[ \t]*)(?P<rest>[^\r]*?)\r?$')


def _split_lines(text):
    """Lines with their line ends; the last one may have none."""
    return re.findall(r'[^\n]*\n|[^\n]+$', text)


def _value_span(rest):
    """(start, end) of the value inside rest: a trailing ';comment' and blanks are not part of it."""
    if rest[:1] in ('"', "'"):
        end = rest.find(rest[0], 1)
        if end > 0:
            return 0, end + 1
    cut = len(rest)
    m = re.search(r'[ \t];', rest)
    if m:
        cut = m.start()
    elif rest.startswith(';'):
        cut = 0
    return 0, len(rest[:cut].rstrip(' \t'))


def _unquote(value):
    if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
        return value[1:-1]
    return value


def plan_ini(data, section, key, value=None, state='present', path='<pool>'):
    """Plan one ``key = value`` edit in one [section] of a PHP-FPM ini file.

    data is bytes; returns {after (bytes), action (added, replaced, removed,
    none), line}.  Every byte outside the edited value (or line) stays the
    same.  Raises TxnError, and then nothing must change.
    """
    if b'\x00' in data:
        raise TxnError('%s is a binary file, not a PHP-FPM config' % path)
    if not section or not INI_SECTION.match(section):
        raise TxnError('invalid section name %r: letters, digits, _ . - and $ only' % (section,))
    if not key or not INI_KEY.match(key):
        raise TxnError('invalid key %r: letters, digits, _ . - and an optional [name] only' % (key,))
    if state not in ('present', 'absent'):
        raise TxnError('state must be present or absent')
    if state == 'present':
        if value is None:
            raise TxnError('value is required with state=present')
        value = str(value)
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise TxnError('value %r contains a newline or control character' % value)
        if value != value.strip() or value == '':
            raise TxnError('value %r is empty or has leading/trailing blanks' % value)
        if ';' in value and not (value[0] == value[-1] and value[0] in '"\''):
            raise TxnError('value %r contains ";", which starts a comment in an ini file; quote it' % value)
    text = data.decode('latin-1')
    wkey = key.encode('utf-8').decode('latin-1')
    lines = _split_lines(text)
    sections = []       # [name, header index, [setting indexes]]
    current = None
    for i, ln in enumerate(lines):
        body = ln.rstrip('\n')
        stripped = body.strip(' \t\r')
        if not stripped or stripped[0] in ';#':
            continue
        m = SECTION_LINE.match(body)
        if m:
            current = [m.group('name').strip(), i, []]
            sections.append(current)
            continue
        m = SETTING_LINE.match(body)
        if m and current is not None:
            current[2].append(i)
    found = [s for s in sections if s[0] == section]
    if not found:
        names = ', '.join('[%s]' % s[0] for s in sections) or 'none'
        raise TxnError('no [%s] section in %s (sections: %s)' % (section, path, names))
    if len(found) > 1:
        raise TxnError('section [%s] appears %d times in %s (lines %s); refusing to guess'
                       % (section, len(found), path, ', '.join(str(s[1] + 1) for s in found)))
    name, header, settings = found[0]
    same = [i for i in settings if SETTING_LINE.match(lines[i].rstrip('\n')).group('key') == wkey]
    if state == 'absent':
        if not same:
            return {'after': data, 'action': 'none', 'line': None}
        out = [ln for i, ln in enumerate(lines) if i not in same]
        return {'after': ''.join(out).encode('latin-1'), 'action': 'removed', 'line': same[0] + 1}
    wvalue = value.encode('utf-8').decode('latin-1')
    if len(same) > 1:
        raise TxnError('%s is set %d times in [%s] of %s (lines %s); refusing to guess which one to change'
                       % (key, len(same), section, path, ', '.join(str(i + 1) for i in same)))
    if same:
        i = same[0]
        ln = lines[i]
        body = ln.rstrip('\n')
        m = SETTING_LINE.match(body)
        rest = m.group('rest')
        start, end = _value_span(rest)
        old = rest[start:end]
        if old == wvalue or _unquote(old) == _unquote(wvalue):
            return {'after': data, 'action': 'none', 'line': i + 1}
        base = m.start('rest')
        if start == end and m.group('sp') == '':
            new_body = body[:base] + ' ' + wvalue + body[base:]
        else:
            new_body = body[:base + start] + wvalue + body[base + end:]
        lines[i] = new_body + ln[len(body):]
        return {'after': ''.join(lines).encode('latin-1'), 'action': 'replaced', 'line': i + 1}
    anchor = settings[-1] if settings else header
    anchor_line = lines[anchor]
    if anchor_line.endswith('\r\n'):
        eol = '\r\n'
    elif anchor_line.endswith('\n'):
        eol = '\n'
    else:
        eol = '\r\n' if text.count('\r\n') * 2 > text.count('\n') > 0 else '\n'
        lines[anchor] = anchor_line + eol
    lead = ''
    if settings:
        lead = SETTING_LINE.match(lines[anchor].rstrip('\n')).group('lead')
    lines.insert(anchor + 1, '%s%s = %s%s' % (lead, wkey, wvalue, eol))
    return {'after': ''.join(lines).encode('latin-1'), 'action': 'added', 'line': anchor + 2}


def pool_settings(data, section):
    """The plain ``key = value`` settings of one [section] of a PHP-FPM ini file (values unquoted)."""
    text = data.decode('latin-1')
    current = None
    out = {}
    for ln in _split_lines(text):
        body = ln.rstrip('\n')
        stripped = body.strip(' \t\r')
        if not stripped or stripped[0] in ';#':
            continue
        m = SECTION_LINE.match(body)
        if m:
            current = m.group('name').strip()
            continue
        m = SETTING_LINE.match(body)
        if m and current == section:
            rest = m.group('rest')
            start, end = _value_span(rest)
            out[m.group('key')] = _unquote(rest[start:end])
    return out


def socket_permissions(settings):
    """(socket path, uid or -1, gid or -1, mode) php-fpm would give the pool's unix socket, or None."""
    import grp
    import pwd
    listen = settings.get('listen') or ''
    if not listen.startswith('/'):
        return None
    uid = gid = -1
    try:
        if settings.get('listen.owner'):
            uid = pwd.getpwnam(settings['listen.owner']).pw_uid
        if settings.get('listen.group'):
            gid = grp.getgrnam(settings['listen.group']).gr_gid
    except KeyError as e:
        raise TxnError('unknown user or group for the socket %s: %s' % (listen, e))
    try:
        mode = int(settings.get('listen.mode') or '0660', 8)
    except ValueError:
        raise TxnError('listen.mode %r is not an octal mode' % settings.get('listen.mode'))
    return listen, uid, gid, mode


# ---------------------------------------------------------------------------
# Journal
# ---------------------------------------------------------------------------

def _fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_private(path, data):
    """Write bytes to a new 0600 file and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)


LOCK_MARK = b'badgateway-nginx journal lock\n'
# the names the journal creates in its directory (anything else there was not made by it)
OWN_NAMES = frozenset((LOCK, 'last-commit', TXN_DIR, 'failed'))
TXN_NAME = re.compile(r'^(?:manifest\.json(?:\.tmp)?|f\d{3,}\.orig)$')


def _check_private_dir(path, what):
    """lstat of path when it is a real directory of this user, private; else TxnError (nothing changed)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        raise TxnError('cannot use the %s %s: %s' % (what, path, e.strerror or e))
    if stat.S_ISLNK(st.st_mode):
        raise TxnError('the %s %s is a symbolic link; refusing to use it' % (what, path))
    if not stat.S_ISDIR(st.st_mode):
        raise TxnError('the %s %s is not a directory' % (what, path))
    if st.st_uid != os.geteuid():
        raise TxnError('the %s %s belongs to uid %d, not to uid %d running this; refusing to use it'
                       % (what, path, st.st_uid, os.geteuid()))
    if st.st_mode & 0o077:
        raise TxnError('the %s %s has mode %04o: group or others may use it; it must be 0700 (not changed)'
                       % (what, path, st.st_mode & 0o7777))
    return st


def _lock_marked(journal_dir):
    try:
        with open(os.path.join(journal_dir, LOCK), 'rb') as f:
            return f.read(len(LOCK_MARK)) == LOCK_MARK
    except (IOError, OSError):
        return False


def _legacy_journal(journal_dir, names):
    """A journal directory of badgateway.nginx 0.1 (lock holding a pid or nothing, last-commit, txn)."""
    if not set(names) <= OWN_NAMES:
        return False
    if LOCK not in names:
        return not names
    try:
        with open(os.path.join(journal_dir, LOCK), 'rb') as f:
            content = f.read(64)
    except (IOError, OSError):
        return False
    return re.match(br'^\d*\n?$', content) is not None


def journal_state(path):
    """'missing' or 'ours' for a journal directory, or TxnError when it is not one badgateway.nginx may use."""
    if not os.path.isabs(path):
        raise TxnError('journal_dir must be an absolute path, got %r' % path)
    if not os.path.lexists(path):
        return 'missing'
    _check_private_dir(path, 'journal directory')
    if _lock_marked(path):
        return 'ours'
    try:
        names = os.listdir(path)
    except OSError as e:
        raise TxnError('cannot list the journal directory %s: %s' % (path, e.strerror or e))
    if _legacy_journal(path, names):
        return 'legacy'
    raise TxnError('the journal directory %s was not created by badgateway.nginx (no marked %s in it, and it holds '
                   '%s); refusing to use it: choose a new directory for journal_dir'
                   % (path, LOCK, ', '.join(sorted(names)[:10]) or 'nothing'))


def secure_dir(path):
    """The journal's own directory: create it (0700, with its marked lock file), or check it is one it made.

    An existing directory is never chmodded and nothing in it that the journal did not create is touched."""
    state = journal_state(path)
    if state == 'missing':
        parent = os.path.dirname(path.rstrip('/')) or '/'
        try:
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            os.mkdir(path, 0o700)
        except OSError as e:
            if e.errno == errno.EEXIST:  # another run made it just now
                return secure_dir(path)
            raise TxnError('cannot create the journal directory %s: %s' % (path, e.strerror or e))
        os.chmod(path, 0o700)  # it is ours: the umask must not widen it
        _check_private_dir(path, 'journal directory')
    if state != 'ours':
        fd = os.open(os.path.join(path, LOCK), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.pwrite(fd, LOCK_MARK, 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(path)


def snapshot(path):
    """The original state of one file: bytes, owner, mode, and whether it existed."""
    try:
        st = os.stat(path)
    except OSError as e:
        if e.errno == errno.ENOENT:
            return {'path': path, 'existed': False, 'data': b'', 'uid': None, 'gid': None, 'mode': None}
        raise TxnError('cannot stat %s: %s' % (path, e.strerror or e))
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as e:
        raise TxnError('cannot read %s: %s' % (path, e.strerror or e))
    return {'path': path, 'existed': True, 'data': data, 'uid': st.st_uid, 'gid': st.st_gid,
            'mode': st.st_mode & 0o7777}


def write_journal(journal_dir, snapshots, meta):
    """Write every snapshot to journal_dir/txn, fsynced, then the manifest last (atomic rename)."""
    secure_dir(journal_dir)
    txn = os.path.join(journal_dir, TXN_DIR)
    discard_journal(journal_dir)
    os.mkdir(txn, 0o700)
    os.chmod(txn, 0o700)  # made just now
    files = []
    for n, snap in enumerate(snapshots):
        name = 'f%03d.orig' % n
        _write_private(os.path.join(txn, name), snap['data'])
        files.append({'path': snap['path'], 'existed': snap['existed'], 'uid': snap['uid'], 'gid': snap['gid'],
                      'mode': snap['mode'], 'size': len(snap['data']), 'sha256': hashlib.sha256(snap['data']).hexdigest(),
                      'data': name})
    manifest = dict(meta, version=1, files=files)
    tmp = os.path.join(txn, MANIFEST + '.tmp')
    _write_private(tmp, json.dumps(manifest, sort_keys=True).encode('utf-8'))
    _fsync_dir(txn)
    os.rename(tmp, os.path.join(txn, MANIFEST))
    _fsync_dir(txn)
    _fsync_dir(journal_dir)
    return os.path.join(txn, MANIFEST)


def read_journal(journal_dir, cleanup=True):
    """The journal of an earlier run, or None.

    Returns {manifest, snapshots}; files without a manifest (a run killed
    while writing its journal, before it touched any file) are removed and
    None is returned.  A manifest whose data does not match its checksums
    raises TxnError (the journal is kept for a human to look at).
    """
    txn = os.path.join(journal_dir, TXN_DIR)
    if not os.path.lexists(txn):
        return None
    _check_private_dir(txn, 'journal')
    mpath = os.path.join(txn, MANIFEST)
    if not os.path.exists(mpath):
        if cleanup:
            discard_journal(journal_dir)
        return None
    try:
        with open(mpath, 'rb') as f:
            manifest = json.loads(f.read().decode('utf-8'))
    except (IOError, OSError, ValueError) as e:
        raise TxnError('the journal manifest %s cannot be read (%s); it was kept, restore the files it names by hand'
                       % (mpath, e))
    snaps = []
    for entry in manifest.get('files', []):
        dpath = os.path.join(txn, os.path.basename(entry['data']))
        try:
            with open(dpath, 'rb') as f:
                data = f.read()
        except (IOError, OSError) as e:
            raise TxnError('journal file %s for %s cannot be read: %s' % (dpath, entry['path'], e.strerror or e))
        if hashlib.sha256(data).hexdigest() != entry['sha256']:
            raise TxnError('journal file %s for %s does not match its checksum; the journal was kept'
                           % (dpath, entry['path']))
        snaps.append({'path': entry['path'], 'existed': entry['existed'], 'data': data, 'uid': entry['uid'],
                      'gid': entry['gid'], 'mode': entry['mode']})
    return {'manifest': manifest, 'snapshots': snaps}


def discard_journal(journal_dir):
    """Delete the journal's own files in journal_dir/txn, then the directory; anything else there is kept
    (and then TxnError says so)."""
    txn = os.path.join(journal_dir, TXN_DIR)
    if not os.path.lexists(txn):
        return
    _check_private_dir(txn, 'journal')
    mpath = os.path.join(txn, MANIFEST)
    if os.path.lexists(mpath):  # the manifest goes first: a partly deleted journal is never trusted
        os.unlink(mpath)
        _fsync_dir(txn)
    foreign = []
    for name in os.listdir(txn):
        full = os.path.join(txn, name)
        if TXN_NAME.match(name) and stat.S_ISREG(os.lstat(full).st_mode):
            os.unlink(full)
        else:
            foreign.append(name)
    if foreign:
        raise TxnError('the journal %s holds %s, which the journal did not create; kept them and the directory'
                       % (txn, ', '.join(sorted(foreign)[:10])))
    os.rmdir(txn)
    _fsync_dir(journal_dir)


def restore(snapshots):
    """Put every file back byte for byte with owner and mode; delete files that did not exist.

    Returns a list of problems (empty when every file is back and reads back equal).
    """
    problems = []
    for snap in snapshots:
        path = snap['path']
        try:
            if not snap['existed']:
                if os.path.lexists(path):
                    os.unlink(path)
                continue
            current = None
            try:
                st = os.stat(path)
                with open(path, 'rb') as f:
                    current = f.read()
            except (IOError, OSError):
                st = None
            if (current != snap['data'] or st is None
                    or (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (snap['uid'], snap['gid'], snap['mode'])):
                atomic_write(path, snap['data'], FileState(snap['uid'], snap['gid'], snap['mode']))
            with open(path, 'rb') as f:
                if f.read() != snap['data']:
                    problems.append('%s does not read back as the original after restoring it' % path)
        except (EditError, IOError, OSError) as e:
            problems.append('%s: %s' % (path, getattr(e, 'strerror', None) or e))
    return problems


class Lock(object):
    """An exclusive flock on journal_dir/lock, with the holder's pid written in it."""

    def __init__(self, journal_dir):
        self.path = os.path.join(journal_dir, LOCK)
        self.fd = None

    def acquire(self, timeout, sleep=time.sleep, clock=time.time):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as e:
            raise TxnError('cannot open the lock %s: %s' % (self.path, e.strerror or e))
        os.fchmod(fd, 0o600)
        deadline = clock() + max(0, timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise TxnError('cannot lock %s: %s' % (self.path, e.strerror or e))
            if clock() >= deadline:
                holder = lock_holder(fd)
                os.close(fd)
                raise TxnError('another run (pid %s) holds the lock on this host (%s); waited %s s (lock_timeout)'
                               % (holder, self.path, timeout))
            sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, LOCK_MARK + ('%d\n' % os.getpid()).encode('ascii'), 0)
        self.fd = fd

    def release(self):
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, len(LOCK_MARK))
            except OSError:
                pass
            os.close(self.fd)
            self.fd = None


def lock_holder(fd):
    """The pid written in a lock file (after the mark), or 'unknown'."""
    try:
        raw = os.pread(fd, 128, 0)
    except (OSError, AttributeError):
        return 'unknown'
    if raw.startswith(LOCK_MARK):
        raw = raw[len(LOCK_MARK):]
    return raw.decode('ascii', 'replace').strip() or 'unknown'


def live_run(journal_dir):
    """The pid (or 'unknown') of a run that holds the lock now, or None; never creates or changes a file."""
    try:
        fd = os.open(os.path.join(journal_dir, LOCK), os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except (IOError, OSError) as e:
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return lock_holder(fd)
            return None
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

def our_masters(title, proc='/proc'):
    """(running masters of our pid and mount namespaces, [{pid, comm, reason}] of the ones set aside).

    On a host that runs containers their masters are in this /proc too; they
    are never ours to signal.
    """
    return procfs.split_ours([m for m in procfs.titled(title, proc) if procfs.alive(m, proc)], proc)


def read_pid_file(path):
    """The pid a pid file names, or None (no file, empty, not a positive number)."""
    try:
        with open(path) as f:
            pid = int(f.read().strip() or 0)
    except (IOError, OSError, ValueError):
        return None
    return pid if pid > 0 else None


def pid_state(pid, title, proc='/proc'):
    """Why pid is not a master of our namespaces with that title (a phrase), or None when it is one."""
    if not procfs.alive(pid, proc):
        return 'is not running'
    cmd = procfs.cmdline(pid, proc) or ''
    if not cmd.startswith(title):
        # its name only: the command line of an unrelated process may hold a secret
        return 'is not a master (it is %s)' % (procfs.comm(pid, proc) or 'unknown')
    reason = procfs.foreign_reason(pid, proc)
    if reason:
        return 'is a master in an' + reason  # 'is a master in another pid namespace'
    return None


def pid_from_file(path, title, proc='/proc'):
    """The pid in path when that process runs, has the given title and is of our namespaces, else None."""
    pid = read_pid_file(path)
    if pid and pid_state(pid, title, proc) is None:
        return pid
    return None


def describe_set_aside(aside):
    """'555 (other pid namespace), 777 (runs /srv/x.conf)'."""
    return ', '.join('%d (%s)' % (a['pid'], a['reason']) for a in aside)


def aside_note(aside):
    return ' (masters set aside: %s)' % describe_set_aside(aside) if aside else ''


def _same_path(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def pick_master(kind, named, pid_file, mine, aside, what, title, proc):
    """The master of this daemon, by pid file, config and namespace; never by being the only one.

    named: the pid the pid file names (or None); mine: the masters of our
    namespaces that run this config.  The pid file's master when it is one of
    them; else the single one of them (the pid file is missing or stale); a
    stale pid file with none of them, or several of them, is a TxnError that
    says what was set aside; no pid file and none of them: None (not running).
    """
    if named and named in mine:
        return named
    stale = None
    if named:
        stale = pid_state(named, title, proc) or 'runs another configuration'
    if len(mine) == 1:
        return mine[0]
    others = ('; %d other master(s) set aside: %s' % (len(aside), describe_set_aside(aside))) if aside else ''
    of = ' of %s' % what if what else ''
    if len(mine) > 1:
        raise TxnError('%d %s masters%s run in our pid and mount namespaces (pids %s)%s; set %s.pid_file or %s.config'
                       % (len(mine), kind, of, ', '.join(str(m) for m in mine), others, kind.replace('-', '_'),
                          kind.replace('-', '_')))
    if stale:
        raise TxnError('no %s master%s runs in our pid and mount namespaces (pid file %s names %d, which %s)%s; '
                       'nothing was signalled' % (kind, of, pid_file, named, stale, others))
    return None


def systemd_unit(pid, proc='/proc'):
    """The .service unit a process runs in (from its cgroup), or None."""
    text = procfs.text(pid, 'cgroup', proc)
    for line in (text or '').splitlines():
        m = re.search(r'/([^/]+\.service)(?:/|$)', line.split(':', 2)[-1])
        if m:
            return m.group(1)
    return None


def systemd_running(root='/'):
    return os.path.isdir(os.path.join(root, 'run/systemd/system'))


class Daemon(object):
    """What nginx and php-fpm share: their settings, and the systemd unit that reloads them."""

    def __init__(self, params, timeout=30, proc='/proc'):
        params = params or {}
        self.params = params
        self.bin = params.get('bin')
        self.config = params.get('config')
        self.service = params.get('service')
        self.pid_file = params.get('pid_file')
        self.reload_timeout = params.get('reload_timeout') or 10
        self.timeout = timeout
        self.proc = proc
        self.set_aside = []  # masters of other namespaces or configurations the last master() set aside

    @staticmethod
    def own_unit(unit):
        raise NotImplementedError

    def unit(self, master):
        """The systemd unit to reload with (the one given, or the master's own), or None without systemd."""
        if not systemd_running():
            return None
        if self.service:
            return self.service
        if master and self.proc == '/proc':
            found = systemd_unit(master, self.proc)
            if found and self.own_unit(found):
                return found
        return None


# ---------------------------------------------------------------------------
# nginx
# ---------------------------------------------------------------------------

class Nginx(Daemon):
    """The nginx instance the transaction validates and reloads."""

    TITLE = 'nginx: master process'

    def __init__(self, params, timeout=30, proc='/proc'):
        Daemon.__init__(self, params, timeout, proc)
        self.prefix = self.params.get('prefix')
        self._paths = None
        self._info = None

    @staticmethod
    def own_unit(unit):
        return unit.startswith('nginx')

    def binary(self):
        self.bin = find_nginx(self.bin)
        return self.bin

    def paths(self):
        """(prefix, main config, pid file, error log) as this nginx resolves them."""
        if self._paths is None:
            info = {'paths': {}}
            if not (self.config and self.prefix):
                info = self.build_paths()
            prefix, conf, dummy = resolve_paths(info, self.config, self.prefix)
            pid_file = self.pid_file
            error_log = None
            try:
                with open(conf, 'rb') as f:
                    root, dummy = parse_nginx(f.read().decode('latin-1'), conf)
                for stmt in root.children:
                    if stmt.name == 'pid' and stmt.values and not pid_file:
                        pid_file = from_text(stmt.values[0])
                    if stmt.name == 'error_log' and stmt.values and error_log is None:
                        value = from_text(stmt.values[0])
                        if value != 'stderr' and not value.startswith(('syslog:', 'memory:')):
                            error_log = value
            except (IOError, OSError, EditError):
                pass
            pid_file = pid_file or info['paths'].get('pid_path') or '/run/nginx.pid'
            error_log = error_log or info['paths'].get('error_log_path') or 'logs/error.log'
            if not os.path.isabs(pid_file):
                pid_file = os.path.join(prefix, pid_file)
            if not os.path.isabs(error_log):
                error_log = os.path.join(prefix, error_log)
            self._paths = (prefix, conf, pid_file, error_log)
        return self._paths

    def test(self):
        """Run nginx -t; return (ok, errors, warnings)."""
        rc, errors, warnings, dummy = test_config(self.binary(), self.config, self.prefix, self.timeout)
        return rc == 0, errors, warnings

    def build_paths(self):
        """The paths this nginx binary was built with (``nginx -V``), read once."""
        if self._info is None:
            rc, out, err = run([self.binary(), '-V'], self.timeout)
            self._info = parse_version(err + out.decode('utf-8', 'replace'))
        return self._info

    def master_config(self, pid):
        """The main config file a master runs: its title's -c (relative to its -p prefix) or the build's."""
        args = (procfs.cmdline(pid, self.proc) or '')[len(self.TITLE):].split()[1:]
        given = {'-c': None, '-p': None}
        i = 0
        while i < len(args):
            flag = args[i][:2]
            if flag in given:
                if len(args[i]) > 2:
                    given[flag] = args[i][2:]
                elif i + 1 < len(args):
                    given[flag] = args[i + 1]
                    i += 1
            i += 1
        conf, prefix = given['-c'], given['-p']
        if conf and os.path.isabs(conf):
            return conf
        info = {'paths': {}} if (conf and prefix) else self.build_paths()
        return resolve_paths(info, conf, prefix)[1]

    def master(self):
        """The running master of this nginx, or None when it does not run.

        It is the master the pid file names when that one runs this config in
        our pid and mount namespaces, else the single master there that runs
        this config.  Masters of other namespaces (containers) and of other
        configurations are set aside (self.set_aside); a stale pid file with
        no master of this config is a TxnError, so that another nginx is
        never signalled.
        """
        prefix, conf, pid_file, dummy = self.paths()
        ours, aside = our_masters(self.TITLE, self.proc)
        mine = []
        for pid in ours:
            try:
                config = self.master_config(pid)
            except UserError:
                config = None  # this build's default cannot be read: only a title's -c is known
            if config and _same_path(config, conf):
                mine.append(pid)
            else:
                aside.append(procfs.set_aside_entry(pid, 'runs %s' % (config or 'an unknown configuration'),
                                                    self.proc))
        self.set_aside = aside
        return pick_master('nginx', read_pid_file(pid_file), pid_file, mine, aside, conf, self.TITLE, self.proc)

    def reload(self, error_log, sleep=time.sleep, clock=time.time, strict=True):
        """Graceful reload, confirmed; returns a detail string, raises TxnError when it did not take effect.

        strict: a new [emerg]/[alert] line fails at once.  Not strict (putting
        back a known-good config): only a new worker generation counts, since
        the master may still be logging the failure of the reload before.
        """
        master = self.master()
        if not master:
            return 'nginx is not running; nothing to reload%s' % aside_note(self.set_aside)
        before = procfs.children_titled(master, proc=self.proc)
        offset = log_size(error_log)
        unit = self.unit(master)
        if unit:
            rc, out, err = run(['systemctl', 'reload', unit], self.timeout)
            if rc != 0:
                raise TxnError('systemctl reload %s failed (rc=%d): %s' % (unit, rc, err.strip()[-300:]))
            how = 'systemctl reload %s' % unit
        else:
            try:
                os.kill(master, signal.SIGHUP)
            except OSError as e:
                raise TxnError('cannot send SIGHUP to the nginx master %d: %s' % (master, e.strerror or e))
            how = 'SIGHUP to master %d' % master
        start = clock()
        deadline = start + self.reload_timeout
        while True:
            bad = rejections(error_log, offset)
            if bad and strict:
                raise TxnError('the nginx master rejected the new configuration (%s): %s'
                               % (how, redact_line(bad[0], client=False)))
            if not procfs.alive(master, self.proc):
                raise TxnError('the nginx master %d exited after the reload (%s)' % (master, how))
            now_workers = procfs.children_titled(master, proc=self.proc)
            fresh = now_workers - before
            # the new generation serves once the old one stopped accepting (gone or shutting down)
            if before and fresh and not now_workers & before:
                # one more look at the log: the master writes [emerg] before it could spawn
                bad = rejections(error_log, offset)
                if bad and strict:
                    raise TxnError('the nginx master rejected the new configuration (%s): %s'
                                   % (how, redact_line(bad[0], client=False)))
                return '%s; new workers %s (old %s)' % (how, sorted(fresh), sorted(before))
            if not before and clock() - start >= 1:
                return '%s; no worker processes to compare, no [emerg] in %s' % (how, error_log)
            if clock() >= deadline:
                if bad:
                    raise TxnError('the nginx master rejected the configuration (%s): %s'
                                   % (how, redact_line(bad[-1], client=False)))
                raise TxnError('no new nginx worker generation under master %d within %s s after %s; the master '
                               'kept the old configuration' % (master, self.reload_timeout, how))
            sleep(0.05)


# ---------------------------------------------------------------------------
# PHP-FPM
# ---------------------------------------------------------------------------

class PhpFpm(Daemon):
    TITLE = 'php-fpm: master process'

    @staticmethod
    def own_unit(unit):
        return 'php' in unit

    def binary(self):
        if self.bin:
            if os.path.isfile(self.bin) and os.access(self.bin, os.X_OK):
                return self.bin
            raise TxnError('php-fpm binary %s does not exist or is not executable' % self.bin)
        found = php_fpm.fpm_binary()
        if not found:
            raise TxnError('no php-fpm binary found in PATH or the sbin directories; set php_fpm.bin')
        self.bin = found
        return found

    def test(self):
        argv = [self.binary(), '-t']
        if self.config:
            argv += ['-y', self.config]
        try:
            rc, out, err = run(argv, self.timeout)
        except UserError as e:
            return False, [{'level': 'error', 'file': None, 'line': None, 'pool': None, 'message': str(e)}], []
        output = '\n'.join(p for p in (err, out.decode('utf-8', 'replace')) if p.strip())
        errors, warnings, dummy = php_fpm.parse_test_output(output)
        if rc != 0 and not errors:
            errors.append({'level': 'error', 'file': None, 'line': None, 'pool': None,
                           'message': 'php-fpm -t failed (rc=%d): %s' % (rc, output.strip()[-500:] or 'no output')})
        return rc == 0, errors, warnings

    def master_config(self, pid):
        """The config file a php-fpm master runs, from its title 'php-fpm: master process (CONFIG)'."""
        m = re.match(r'^php-fpm: master process \((.*)\)\s*$', procfs.cmdline(pid, self.proc) or '')
        return m.group(1) if m else None

    def master(self):
        """The running php-fpm master of this config and our namespaces (as Nginx.master), or None."""
        ours, aside = our_masters(self.TITLE, self.proc)
        mine = []
        for pid in ours:
            config = self.master_config(pid)
            if self.config and config and not _same_path(config, self.config):
                aside.append(procfs.set_aside_entry(pid, 'runs %s' % config, self.proc))
            else:
                mine.append(pid)
        self.set_aside = aside
        named = read_pid_file(self.pid_file) if self.pid_file else None
        return pick_master('php-fpm', named, self.pid_file, mine, aside, self.config,
                           self.TITLE, self.proc)

    def reload(self, sleep=time.sleep, clock=time.time, restart=False):
        master = self.master()
        before = procfs.children_titled(master, 'php-fpm: pool ', self.proc) if master else set()
        unit = self.unit(master)
        if restart:
            if not unit:
                raise TxnError('listen or listen.backlog changed, which php-fpm applies only when it starts; this host has '
                               'no systemd unit for php-fpm to restart it with (restart php-fpm yourself)')
            rc, out, err = run(['systemctl', 'restart', unit], self.timeout)
            if rc != 0:
                raise TxnError('systemctl restart %s failed (rc=%d): %s' % (unit, rc, err.strip()[-300:]))
            deadline = clock() + self.reload_timeout
            while clock() < deadline:
                pid = self.master()
                if pid and pid != master and procfs.children_titled(pid, 'php-fpm: pool ', self.proc):
                    return 'systemctl restart %s (listen settings); php-fpm master %d runs' % (unit, pid)
                sleep(0.1)
            raise TxnError('no php-fpm master with pool children runs after systemctl restart %s' % unit)
        if unit:
            rc, out, err = run(['systemctl', 'reload', unit], self.timeout)
            if rc != 0:
                raise TxnError('systemctl reload %s failed (rc=%d): %s' % (unit, rc, err.strip()[-300:]))
            how = 'systemctl reload %s' % unit
        elif master:
            try:
                os.kill(master, signal.SIGUSR2)
            except OSError as e:
                raise TxnError('cannot send SIGUSR2 to the php-fpm master %d: %s' % (master, e.strerror or e))
            how = 'SIGUSR2 to master %d' % master
        else:
            return 'php-fpm is not running; nothing to reload%s' % aside_note(self.set_aside)
        if not master:
            return how
        deadline = clock() + self.reload_timeout
        while clock() < deadline:
            sleep(0.1)
            pid = master if procfs.alive(master, self.proc) else None
            if pid is None:
                try:
                    pid = self.master()
                except TxnError:
                    pid = None
            if pid and (not before or procfs.children_titled(pid, 'php-fpm: pool ', self.proc) - before):
                return '%s; php-fpm master %d runs' % (how, pid)
        if self.master():
            return '%s; php-fpm master runs (no new pool children seen)' % how
        raise TxnError('no php-fpm master runs after %s' % how)


# ---------------------------------------------------------------------------
# Logs and verification
# ---------------------------------------------------------------------------

def rejections(error_log, offset):
    """The [emerg] and [alert] lines nginx wrote after offset: how a master says it rejected a reload."""
    return [ln for ln in new_log_lines(error_log, offset) if re.search(r'\[(emerg|alert)\]', ln)]


def log_size(path):
    try:
        return os.stat(path).st_size
    except (OSError, TypeError):
        return 0


def new_log_lines(path, offset, limit=MAX_LOG_BYTES):
    """Lines written to path after offset (from the start when it shrank: rotated)."""
    if not path:
        return []
    try:
        with open(path, 'rb') as f:
            size = os.fstat(f.fileno()).st_size
            if size < offset:
                offset = 0
            start = max(offset, size - limit)
            f.seek(start)
            data = f.read(size - start)
    except (IOError, OSError):
        return []
    text = data.decode('utf-8', 'replace')
    lines = text.split('\n')
    if start > offset and lines:
        lines = lines[1:]      # a partial first line
    return [ln.rstrip('\r') for ln in lines if ln.strip()]


def check_url(item, default_timeout=5):
    """GET one URL; return {url, host, status, error}."""
    answer = http.get(item['url'], timeout=item.get('timeout') or default_timeout, host=item.get('host'),
                      user_agent='badgateway.nginx.nginx_change')
    return {'url': item['url'], 'host': item.get('host'), 'status': answer['status'], 'error': answer['error']}


def url_hosts(urls):
    hosts = set()
    for item in urls:
        if item.get('host'):
            hosts.add(item['host'].lower())
        parts = urlsplit(item['url'])
        if parts.netloc:
            hosts.add(parts.netloc.rsplit('@', 1)[-1].lower())
    return hosts


def upstream_errors(lines, hosts):
    bad = []
    for ln in lines:
        rec = classify_error_line(ln)
        if not rec or not rec.get('host'):
            continue
        if rec['host'].strip('"').lower() in hosts:
            bad.append(ln)
    return bad


def redact_all(lines):
    return [redact_line(ln, query=True, client=False) for ln in lines[-MAX_LOG_LINES:]]


# ---------------------------------------------------------------------------
# The transaction
# ---------------------------------------------------------------------------

def verify_restored(snap):
    """{path, sha256, problem} after a restore: the file on disk read back against its journal entry."""
    path = snap['path']
    want = hashlib.sha256(snap['data']).hexdigest()
    out = {'path': path, 'sha256': want, 'problem': None}
    if not snap['existed']:
        if os.path.lexists(path):
            out['problem'] = 'still exists, though it did not before'
        return out
    try:
        st = os.stat(path)
        with open(path, 'rb') as f:
            got = hashlib.sha256(f.read()).hexdigest()
    except (IOError, OSError) as e:
        out['problem'] = 'cannot read it back: %s' % (e.strerror or e)
        return out
    if got != want:
        out['problem'] = 'reads back with sha256 %s, not %s' % (got, want)
    elif (st.st_uid, st.st_gid, st.st_mode & 0o7777) != (snap['uid'], snap['gid'], snap['mode']):
        out['problem'] = 'owner/mode %d:%d %04o, not %d:%d %04o' % (
            st.st_uid, st.st_gid, st.st_mode & 0o7777, snap['uid'], snap['gid'], snap['mode'])
    return out


FAILED_DIR = 'failed'
FAILED_NAME = re.compile(r'^\d{8}T\d{6}-\d+-\d{2}-[A-Za-z0-9._-]*$')
KEEP_FAILED = 50


def redacted_text(data, kinds):
    text = data.decode('latin-1')
    if 'fpm' in kinds and 'nginx' not in kinds:
        out = redact_ini_text(text, lambda key: php_fpm._secret(key.strip()))
    else:
        out = redact_nginx_text(text)
    return from_text(out)


def failing_summary(shown, before, after, kinds):
    """A unified diff of a file before the run and as it failed, secret values hidden."""
    return ''.join(difflib.unified_diff(
        redacted_text(before, kinds).splitlines(True), redacted_text(after, kinds).splitlines(True),
        '%s (before)' % shown, '%s (failing)' % shown))


def keep_failing_versions(journal_dir, files, changed):
    """Keep the failing content of each changed file on the node (journal_dir/failed, 0600) and return
    {path as given: {saved, sha256, diff}}: the saved copy's path, and a diff with secret values hidden."""
    out = {}
    stamp = '%s-%d' % (time.strftime('%Y%m%dT%H%M%S'), os.getpid())
    folder = os.path.join(journal_dir, FAILED_DIR)
    problem = None
    try:
        if not os.path.lexists(folder):
            os.mkdir(folder, 0o700)
            os.chmod(folder, 0o700)
        _check_private_dir(folder, 'failing-version directory')
    except (TxnError, OSError) as e:
        problem = str(e)
    for n, p in enumerate(changed):
        entry = files[p]
        item = {'saved': None, 'sha256': hashlib.sha256(entry['after']).hexdigest(), 'diff': None}
        try:
            item['diff'] = failing_summary(entry['shown'], entry['snap']['data'], entry['after'], entry['kinds'])
        except Exception as e:  # pylint: disable=broad-except
            item['diff'] = None
            item['error'] = 'no diff: %s: %s' % (type(e).__name__, e)
        if problem is None:
            name = '%s-%02d-%s' % (stamp, n, re.sub(r'[^A-Za-z0-9._-]', '_', os.path.basename(p)))
            try:
                _write_private(os.path.join(folder, name), entry['after'])
                item['saved'] = os.path.join(folder, name)
            except (IOError, OSError) as e:
                try:
                    os.unlink(os.path.join(folder, name))
                except OSError:
                    pass
                item['error'] = 'not saved: %s' % (e.strerror or e)
        else:
            item['error'] = 'not saved: %s' % problem
        out[entry['shown']] = item
    if problem is None:
        _prune_failed(folder)
    return out


def _prune_failed(folder):
    try:
        names = sorted(n for n in os.listdir(folder) if FAILED_NAME.match(n))
        for name in names[:-KEEP_FAILED]:
            os.unlink(os.path.join(folder, name))
    except OSError:
        pass


class StepFailed(Exception):
    def __init__(self, step, why):
        Exception.__init__(self, '%s failed: %s' % (step, why))
        self.step = step
        self.why = why


class Transaction(object):
    """One run: params as the module's argument_spec gives them."""

    def __init__(self, params, check_mode=False, diff=False, sleep=time.sleep, clock=time.time):
        self.p = params
        self.check_mode = check_mode
        self.want_diff = diff
        self.sleep = sleep
        self.clock = clock
        self.steps = []
        self.result = {'changed': False, 'steps': self.steps, 'changes': [], 'recovered': None}
        timeout = params.get('timeout') or 30
        self.nginx = Nginx(params.get('nginx'), timeout)
        self.fpm = PhpFpm(params.get('php_fpm'), timeout)
        self.journal_dir = params.get('journal_dir') or '/var/lib/badgateway-nginx'
        self.verify = params.get('verify') or {}
        self.lock = None
        self._socket_pools = []
        self._socket_snaps = []
        self._fpm_restart = False
        self._nginx_tree = None
        self._fpm_tree = None
        # reload: false (nginx_directive): journal, apply, validate and commit only
        self.edit_only = params.get('reload') is False

    # --- helpers
    def step(self, name, func):
        start = self.clock()
        try:
            detail = func()
        except (TxnError, UserError, EditError) as e:
            self.steps.append({'name': name, 'ok': False, 'seconds': round(self.clock() - start, 3), 'detail': str(e)})
            raise StepFailed(name, str(e))
        except (IOError, OSError) as e:
            why = '%s%s' % (getattr(e, 'strerror', None) or e, (' (%s)' % e.filename) if getattr(e, 'filename', None) else '')
            self.steps.append({'name': name, 'ok': False, 'seconds': round(self.clock() - start, 3), 'detail': why})
            raise StepFailed(name, why)
        except (StepFailed, TxnFailure):
            raise
        except Exception as e:  # pylint: disable=broad-except
            why = 'unexpected %s: %s' % (type(e).__name__, e)
            self.steps.append({'name': name, 'ok': False, 'seconds': round(self.clock() - start, 3), 'detail': why})
            raise StepFailed(name, why)
        self.steps.append({'name': name, 'ok': True, 'seconds': round(self.clock() - start, 3), 'detail': detail})
        return detail

    def error_log(self):
        if self.verify.get('error_log'):
            return self.verify['error_log']
        try:
            return self.nginx.paths()[3]
        except (UserError, TxnError):
            return None

    # --- which files may be edited
    def _tree_file(self, kind, path, n):
        """(real path, include contexts or None) of a file the daemon reads, else TxnError naming changes[n]."""
        try:
            if kind == 'nginx':
                if self._nginx_tree is None:
                    try:
                        prefix, main = self.nginx.paths()[:2]
                    except (UserError, TxnError) as e:
                        raise TxnError('cannot work out the main nginx config to check that nginx reads it (set '
                                       'nginx.config): %s' % e)
                    conf_prefix = os.path.dirname(main) + '/'
                    self._nginx_tree = (main, read_include_tree(main, conf_prefix))
                main, tree = self._nginx_tree
                return tree_file(path, main, tree=tree)
            return self._fpm_tree_file(path), None
        except (EditError, TxnError) as e:
            raise TxnError('changes[%d]: %s' % (n, e))

    def _fpm_tree_file(self, path):
        if self._fpm_tree is None:
            configs = [self.fpm.config] if self.fpm.config else php_fpm.find_configs()
            if not configs:
                raise TxnError('no php-fpm main config found to check that php-fpm reads %s; set php_fpm.config' % path)
            tree = {}
            for config in configs:
                if not os.path.isfile(config):
                    raise TxnError('php_fpm.config %s does not exist or is not a regular file' % config)
                for name in php_fpm.parse_config(config)['files']:
                    tree.setdefault(os.path.realpath(name), config)
            self._fpm_tree = (configs, tree)
        configs, tree = self._fpm_tree
        real = os.path.realpath(path)
        if real not in tree:
            raise TxnError('%s is not a file php-fpm reads: it is not in the include tree of %s%s'
                           % (path, ' or '.join(configs),
                              ' (it resolves to %s)' % real if real != os.path.abspath(path) else ''))
        return real

    # --- planning
    def plan(self):
        files = {}      # real path -> {'snap', 'after', 'kinds', 'shown'}
        order = []
        changes = []
        for n, ch in enumerate(self.p.get('changes') or []):
            kind = ch.get('kind') or 'nginx'
            allowed = NGINX_KEYS if kind == 'nginx' else FPM_KEYS if kind == 'fpm' else None
            if allowed is None:
                raise TxnError('changes[%d]: kind must be nginx or fpm, not %r' % (n, kind))
            unknown = sorted(k for k in ch if k != 'kind' and k not in allowed)
            if unknown:
                raise TxnError('changes[%d] (kind %s): unknown key(s) %s; allowed: %s'
                               % (n, kind, ', '.join(unknown), ', '.join(allowed)))
            path = ch.get('path')
            if not path or not isinstance(path, str) or not os.path.isabs(path):
                raise TxnError('changes[%d]: path must be an absolute path, got %r' % (n, path))
            if '\x00' in path:
                raise TxnError('changes[%d]: path contains a NUL byte' % n)
            if not os.path.isfile(path):
                raise TxnError('changes[%d]: %s does not exist or is not a regular file' % (n, path))
            # only a file the daemon reads; a symbolic link is followed to the file it reads through it
            real, contexts = self._tree_file(kind, path, n)
            if real not in files:
                snap = snapshot(real)
                files[real] = {'snap': snap, 'after': snap['data'], 'kinds': set(), 'shown': path, 'shifts': [],
                               'contexts': contexts}
                order.append(real)
            entry = files[real]
            try:
                if kind == 'nginx':
                    spec = dict((k, ch.get(k)) for k in NGINX_KEYS if k != 'path')
                    if spec.get('line') is not None:
                        # lines are those of the file before this transaction: follow earlier edits' moves
                        spec['line'] = shift_line(int(spec['line']), entry['shifts'])
                    if spec.get('args') is not None and not isinstance(spec['args'], list):
                        raise TxnError('args must be a list')
                    plan = plan_edit(entry['after'], spec, path, entry['contexts'])
                    what = ch.get('directive') or (ch.get('block') or '').split(None, 1)[:1]
                    what = what if isinstance(what, str) else (what[0] if what else '')
                else:
                    plan = plan_ini(entry['after'], ch.get('section'), ch.get('key'), ch.get('value'),
                                    ch.get('state') or 'present', path)
                    if ch.get('key') in SOCKET_KEYS and plan['after'] != entry['after']:
                        self._socket_pools.append((real, ch.get('section')))
                    if ch.get('key') in RESTART_KEYS and plan['after'] != entry['after']:
                        self._fpm_restart = True
                    what = '[%s] %s' % (ch.get('section'), ch.get('key'))
            except (EditError, TxnError) as e:
                raise TxnError('changes[%d] (%s): %s' % (n, path, e))
            except (TypeError, ValueError) as e:
                raise TxnError('changes[%d] (%s): invalid value: %s' % (n, path, e))
            action = plan['action'] if plan['after'] != entry['after'] else 'none'
            if action != 'none':
                entry['kinds'].add(kind)
                shift = record_shift(action, plan['line'], entry['after'], plan['after'])
                if shift:
                    entry['shifts'].append(shift)
            entry['after'] = plan['after']
            changes.append({'kind': kind, 'path': path, 'what': what, 'action': action, 'line': plan['line']})
        return files, order, changes

    # --- the run
    def run(self):
        """Returns the result dict, or raises TxnFailure with the result."""
        try:
            if not self.check_mode:
                self.step('lock', self._lock)
            return self._run()
        except StepFailed as e:
            raise TxnFailure(str(e), self.result)
        finally:
            if self.lock:
                self.lock.release()

    def _lock(self):
        secure_dir(self.journal_dir)
        self.lock = Lock(self.journal_dir)
        start = self.clock()
        self.lock.acquire(self.p.get('lock_timeout', 60), self.sleep, self.clock)
        return 'locked %s after %.1f s' % (self.lock.path, self.clock() - start)

    def _run(self):
        self._recover()
        if self.p.get('recover_only'):
            self.result['changed'] = bool(self.result['recovered'])
            return self.result
        try:
            files, order, changes = self.plan()
        except (TxnError, IOError, OSError) as e:
            self.steps.append({'name': 'plan', 'ok': False, 'seconds': 0, 'detail': str(e)})
            raise TxnFailure(str(e), self.result)
        changed = [p for p in order if files[p]['after'] != files[p]['snap']['data']]
        self.result['changes'] = [{'kind': c['kind'], 'path': c['path'], 'what': c['what'], 'action': c['action'],
                                   'line': c['line']} for c in changes]
        # how the lines of each changed file moved, for callers that planned more changes on the old lines
        self.result['shifts'] = dict((files[p]['shown'], files[p]['shifts']) for p in order if files[p]['shifts'])
        self.steps.append({'name': 'plan', 'ok': True, 'seconds': 0,
                           'detail': '%d change(s), %d file(s) to write' % (len(changes), len(changed))})
        if not changed:
            return self.result
        self.result['changed'] = True
        if self.want_diff:
            self.result['diff'] = [{'before_header': files[p]['shown'], 'after_header': files[p]['shown'],
                                    'before': from_text(files[p]['snap']['data'].decode('latin-1')),
                                    'after': from_text(files[p]['after'].decode('latin-1'))} for p in changed]
        if self.check_mode:
            return self.result
        kinds = set()
        for p in changed:
            kinds |= files[p]['kinds']
        snaps = [files[p]['snap'] for p in changed]
        if self.edit_only:
            return self._edit(files, changed, snaps, kinds)
        try:
            # a stale pid file or a master of another namespace is found before any file is written
            self.step('daemons', lambda: self._masters(kinds))
        except StepFailed as e:
            raise TxnFailure('%s; no file was changed' % e, self.result)
        try:
            self.step('journal', lambda: 'wrote %s' % write_journal(self.journal_dir, snaps, self._meta(kinds)))
        except StepFailed as e:
            try:
                discard_journal(self.journal_dir)
            except (TxnError, OSError):
                pass
            raise TxnFailure('%s; no file was changed' % e, self.result)
        failure_at = None
        reloaded = {'nginx': False, 'fpm': False}
        try:
            self.step('apply', lambda: self._apply(files, changed))
            self.step('validate', lambda: self._validate(kinds))
            self.step('reload', lambda: '; '.join(x for x in (self._reload(kinds, reloaded), self._sockets(files)) if x))
            self.step('verify', self._verify)
        except StepFailed as e:
            failure_at = self.clock()
            self._rollback(e, files, changed, snaps, kinds, failure_at)
        self.step('commit', self._commit)
        return self.result

    def _edit(self, files, changed, snaps, kinds):
        """The steps of an edit that is not reloaded (reload: false): journal, apply, validate, commit.

        On a failure every file is put back byte for byte and the journal is deleted; nothing was
        reloaded, so nothing is reloaded again, and last-commit is not written (the running nginx
        has not loaded the edit).
        """
        try:
            self.step('journal', lambda: 'wrote %s' % write_journal(self.journal_dir, snaps, self._meta(kinds)))
        except StepFailed as e:
            self._discard([])
            raise TxnFailure('%s; no file was changed' % e, self.result)
        try:
            self.step('apply', lambda: self._apply(files, changed))
            if self.p.get('validate', True):
                self.step('validate', lambda: self._validate(kinds))
        except StepFailed as e:
            self.result.update(rolled_back=False, failed_step=e.step)
            problems = restore(snaps)
            checked = [verify_restored(snap) for snap in snaps]
            problems += ['%s: %s' % (f['path'], f['problem']) for f in checked if f['problem']]
            self.result['rollback'] = {'restored': not problems, 'files': checked, 'validated': None, 'reloaded': None,
                                       'routes_ok': None}
            if problems:
                raise TxnFailure('%s; RESTORING THE ORIGINAL FILES FAILED: %s. The journal in %s was kept; the next run '
                                 'restores it (recover_only: true)' % (e, '; '.join(problems), self.journal_dir), self.result)
            self.result['rolled_back'] = True
            self._discard([])
            raise TxnFailure('%s; every file was restored (%d, each read back equal to its journal sha256, owner and mode)'
                             % (e, len(snaps)), self.result)
        self.step('commit', lambda: self._discard([]) or 'journal deleted (not reloaded: reload is false)')
        return self.result

    def _masters(self, kinds):
        """Which master each reload will signal (raises TxnError when none of this config and namespace can be told)."""
        found = []
        for kind, daemon, name in (('fpm', self.fpm, 'php-fpm'), ('nginx', self.nginx, 'nginx')):
            if kind in kinds:
                master = daemon.master()
                found.append('%s master %s%s' % (name, master or 'not running', aside_note(daemon.set_aside)))
        return '; '.join(found)

    def _commit(self):
        discard_journal(self.journal_dir)
        # the diagnosis reads only log lines written after this (nginx_probe's last_change)
        _write_private(os.path.join(self.journal_dir, 'last-commit'), ('%.3f\n' % time.time()).encode())
        return 'journal deleted'

    def _sockets(self, files):
        """php-fpm applies listen.owner/group/mode when it creates a socket, not on a reload: give the live
        socket what the changed pool says (what a restart would do), without restarting the pool."""
        done = []
        for real, section in self._socket_pools:
            perms = socket_permissions(pool_settings(files[real]['after'], section))
            if not perms:
                continue
            path, uid, gid, mode = perms
            try:
                st = os.lstat(path)
            except OSError:
                done.append('%s not there (php-fpm creates it with the new settings)' % path)
                continue
            self._socket_snaps.append((path, st.st_uid, st.st_gid, st.st_mode & 0o7777))
            os.chown(path, uid, gid)
            os.chmod(path, mode)
            done.append('socket %s given %s:%s %04o' % (path, uid, gid, mode))
        return '; '.join(done)

    def _restore_sockets(self):
        for path, uid, gid, mode in reversed(self._socket_snaps):
            try:
                os.chown(path, uid, gid)
                os.chmod(path, mode)
            except OSError:
                pass

    def _meta(self, kinds):
        return {'pid': os.getpid(), 'started': time.time(), 'kinds': sorted(kinds), 'fpm_restart': self._fpm_restart,
                'nginx': dict((k, v) for k, v in (self.p.get('nginx') or {}).items()),
                'php_fpm': dict((k, v) for k, v in (self.p.get('php_fpm') or {}).items()),
                'verify': {'error_log': self.verify.get('error_log')}}

    def _apply(self, files, changed):
        for p in changed:
            snap = files[p]['snap']
            atomic_write(p, files[p]['after'], FileState(snap['uid'], snap['gid'], snap['mode']))
        return 'wrote %s' % ', '.join(files[p]['shown'] for p in changed)

    def _validate(self, kinds, nginx=None, fpm=None):
        nginx = nginx or self.nginx
        fpm = fpm or self.fpm
        done = []
        if 'fpm' in kinds:
            ok, errors, dummy = fpm.test()
            if not ok:
                raise TxnError('php-fpm -t: %s' % describe(errors[0]))
            done.append('php-fpm -t ok')
        if 'nginx' in kinds:
            ok, errors, warnings = nginx.test()
            self.result['validation'] = {'errors': errors, 'warnings': warnings}
            if not ok:
                raise TxnError('nginx -t: %s' % describe(errors[0]))
            done.append('nginx -t ok')
        return '; '.join(done)

    def _reload(self, kinds, reloaded, nginx=None, fpm=None, error_log=None, strict=True):
        nginx = nginx or self.nginx
        fpm = fpm or self.fpm
        done = []
        if 'fpm' in kinds:
            reloaded['fpm'] = True
            done.append(fpm.reload(self.sleep, self.clock, restart=self._fpm_restart))
        if 'nginx' in kinds:
            log = error_log or self.error_log()
            self._log_offset = log_size(log)
            reloaded['nginx'] = True
            done.append(nginx.reload(log, self.sleep, self.clock, strict))
        return '; '.join(done)

    def _verify(self):
        settle = self.verify.get('settle')
        settle = 1 if settle is None else settle
        urls = self.verify.get('urls') or []
        log = self.error_log()
        offset = getattr(self, '_log_offset', None)
        if offset is None:
            offset = log_size(log)
        self.sleep(settle)
        problems = []
        answers = []
        for item in urls:
            r = check_url(item)
            answers.append(r)
            if r['error']:
                problems.append('%s%s: %s' % (item['url'], ' (Host %s)' % item['host'] if item.get('host') else '', r['error']))
            elif r['status'] >= 500:
                problems.append('%s%s answered %s' % (item['url'], ' (Host %s)' % item['host'] if item.get('host') else '',
                                                      r['status']))
        self.result['verify'] = answers
        lines = new_log_lines(log, offset) if log else []
        self._new_lines = lines
        if urls and log:
            bad = upstream_errors(lines, url_hosts(urls))
            if bad:
                problems.append('%d upstream error line(s) for the verified hosts in %s: %s'
                                % (len(bad), log, redact_line(bad[0], query=True, client=False)))
        if problems:
            raise TxnError('; '.join(problems))
        return 'settled %s s; %s' % (settle, ', '.join('%s %s' % (a['url'], a['status']) for a in answers) or 'no URLs')

    def _rollback(self, failure, files, changed, snaps, kinds, failure_at):
        log = self.error_log()
        offset = getattr(self, '_log_offset', None)
        lines = getattr(self, '_new_lines', None)
        if lines is None:
            lines = new_log_lines(log, offset) if (log and offset is not None) else []
        rollback = {'restored': False, 'files': [], 'validated': False, 'reloaded': False, 'routes_ok': None}
        self.result.update({
            'rolled_back': False, 'failed_step': failure.step, 'rollback': rollback,
            'failing_version': keep_failing_versions(self.journal_dir, files, changed),
            'log_lines': redact_all(lines),
        })
        start = self.clock()
        problems = restore(snaps)
        rollback['files'] = [verify_restored(snap) for snap in snaps]
        problems += ['%s: %s' % (f['path'], f['problem']) for f in rollback['files'] if f['problem']]
        if problems:
            self.steps.append({'name': 'rollback', 'ok': False, 'seconds': round(self.clock() - start, 3),
                               'detail': '; '.join(problems)})
            raise TxnFailure('%s; RESTORING THE ORIGINAL FILES FAILED: %s. The journal in %s was kept; the next run '
                             'restores it (recover_only: true)' % (failure, '; '.join(problems), self.journal_dir),
                             self.result)
        rollback['restored'] = True
        self.result['rolled_back'] = True
        restored = 'every file was restored (%d, each read back equal to its journal sha256, owner and mode)' % len(snaps)
        detail = ['restored %d file(s), sha256 verified' % len(snaps)]
        self._restore_sockets()
        try:
            detail.append(self._validate(kinds))
            rollback['validated'] = True
            detail.append(self._reload(kinds, {}, strict=False))
        except (TxnError, UserError) as e:
            self.steps.append({'name': 'rollback', 'ok': False, 'seconds': round(self.clock() - start, 3),
                               'detail': '; '.join(detail + [str(e)])})
            self.result['rollback_seconds'] = round(self.clock() - failure_at, 3)
            self._discard(detail)
            bad = self._rollback_routes(rollback)
            raise TxnFailure('%s; %s, BUT THE RESTORED CONFIGURATION DID NOT %s: %s%s'
                             % (failure, restored, 'RELOAD' if rollback['validated'] else 'VALIDATE', e,
                                '; and the verified routes fail: %s' % '; '.join(bad) if bad else ''), self.result)
        master = None
        if 'nginx' in kinds:
            try:
                master = self.nginx.master()
            except (TxnError, UserError):
                master = None
            self.result['rollback_check_master'] = master
        rollback['reloaded'] = master is not None if 'nginx' in kinds else True
        self.result['rollback_seconds'] = round(self.clock() - failure_at, 3)
        self.steps.append({'name': 'rollback', 'ok': True, 'seconds': round(self.clock() - start, 3),
                           'detail': '; '.join(d for d in detail if d)})
        bad = self._rollback_routes(rollback)
        urls = self.verify.get('urls') or []
        after = self.result['rollback_check']
        self._discard(detail)
        if 'nginx' in kinds and master is None:
            what = 'nginx does not run: nothing was reloaded'
        else:
            done = ('nginx reloaded' if 'nginx' in kinds else '', 'php-fpm reloaded' if 'fpm' in kinds else '')
            what = ' and '.join(x for x in done if x)
        if bad:
            raise TxnFailure('%s; %s, %s, BUT THE RESTORED CONFIGURATION DOES NOT SERVE: %s'
                             % (failure, restored, what, '; '.join(bad)), self.result)
        routes = ('the verified routes answer (%s)' % ', '.join(str(a['status']) for a in after)) if urls \
            else 'no routes checked (verify.urls is empty)'
        raise TxnFailure('%s; %s, %s, %s' % (failure, restored, what, routes), self.result)

    def _rollback_routes(self, rollback):
        """Does nginx serve the verified routes after the rollback? The failures, as text."""
        urls = self.verify.get('urls') or []
        after = [check_url(item) for item in urls]
        self.result['rollback_check'] = after
        bad = ['%s%s %s' % (a['url'], ' (Host %s)' % a['host'] if a.get('host') else '',
                            a['error'] or 'answered %s' % a['status'])
               for a in after if a['error'] or (a['status'] or 0) >= 500]
        rollback['routes_ok'] = (not bad) if urls else None
        return bad

    def _discard(self, detail):
        try:
            discard_journal(self.journal_dir)
        except (TxnError, OSError) as e:
            detail.append(str(e))
            self.result.setdefault('warnings', []).append('the journal was not deleted: %s' % e)

    def _recover(self):
        start = self.clock()
        try:
            if self.check_mode:
                if journal_state(self.journal_dir) == 'missing':
                    self.steps.append({'name': 'recover', 'ok': True, 'seconds': round(self.clock() - start, 3),
                                       'detail': 'no journal directory %s' % self.journal_dir})
                    return
                holder = live_run(self.journal_dir)
                if holder is not None:
                    # a live run's journal is its own, in progress: nothing to recover
                    self.steps.append({'name': 'recover', 'ok': True, 'seconds': round(self.clock() - start, 3),
                                       'detail': 'a run (pid %s) holds the lock now: its journal is in progress, not '
                                                 'left over' % holder})
                    return
            journal = read_journal(self.journal_dir, cleanup=not self.check_mode)
        except TxnError as e:
            self.steps.append({'name': 'recover', 'ok': False, 'seconds': round(self.clock() - start, 3), 'detail': str(e)})
            raise TxnFailure('recovery failed: %s' % e, self.result)
        if journal is None:
            self.steps.append({'name': 'recover', 'ok': True, 'seconds': round(self.clock() - start, 3),
                               'detail': 'no journal from an earlier run'})
            return
        m = journal['manifest']
        snaps = journal['snapshots']
        info = {'pid': m.get('pid'), 'started': m.get('started'), 'files': [s['path'] for s in snaps],
                'restored': False, 'reloaded': False}
        self.result['recovered'] = info
        if self.check_mode:
            info['pending'] = True
            self.steps.append({'name': 'recover', 'ok': True, 'seconds': 0,
                               'detail': 'a journal of an earlier run (pid %s) would be restored' % m.get('pid')})
            return
        problems = restore(snaps)
        if problems:
            self.steps.append({'name': 'recover', 'ok': False, 'seconds': round(self.clock() - start, 3),
                               'detail': '; '.join(problems)})
            raise TxnFailure('recovery of the journal left by run pid %s FAILED: %s; the journal in %s was kept'
                             % (m.get('pid'), '; '.join(problems), self.journal_dir), self.result)
        info['restored'] = True
        kinds = set(m.get('kinds') or ['nginx'])
        self._fpm_restart = bool(m.get('fpm_restart'))
        nginx = Nginx(dict(self.p.get('nginx') or {}, **(m.get('nginx') or {})), self.nginx.timeout)
        fpm = PhpFpm(dict(self.p.get('php_fpm') or {}, **(m.get('php_fpm') or {})), self.fpm.timeout)
        log = (m.get('verify') or {}).get('error_log') or self.verify.get('error_log')
        if not log and 'nginx' in kinds:
            try:
                log = nginx.paths()[3]
            except (UserError, TxnError):
                log = None
        try:
            detail = [self._validate(kinds, nginx, fpm), self._reload(kinds, {}, nginx, fpm, log, strict=False)]
        except (TxnError, UserError) as e:
            self._discard([])
            self.steps.append({'name': 'recover', 'ok': False, 'seconds': round(self.clock() - start, 3),
                               'detail': str(e)})
            raise TxnFailure('recovery: the files of the interrupted run (pid %s) were restored byte for byte, but '
                             'the restored configuration did not validate or reload: %s' % (m.get('pid'), e), self.result)
        info['reloaded'] = True
        self._log_offset = None
        self._discard([])
        self.steps.append({'name': 'recover', 'ok': True, 'seconds': round(self.clock() - start, 3),
                           'detail': 'restored %s from the run pid %s; %s' % (
                               ', '.join(info['files']), m.get('pid'), '; '.join(d for d in detail if d))})


class TxnFailure(Exception):
    def __init__(self, msg, result):
        Exception.__init__(self, msg)
        self.msg = msg
        self.result = result
