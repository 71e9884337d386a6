# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The one way the node-side code writes and rolls back a file: lock, journal, snapshot, restore.

Standard library only.  A change first takes the lock of the journal directory (root only, 0700),
snapshots every file it will write (bytes, owner, mode, sha256), writes the journal (fsynced, the
manifest last), writes the files, and on any failure restores every file byte for byte and checks
each against its snapshot.  A journal a killed run left behind is what the next run restores
first.  Used by nginx_change, nginx_directive and firewall_allow.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time


from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import EditError, FileState, atomic_write

MANIFEST = 'manifest.json'
TXN_DIR = 'txn'
LOCK = 'lock'


class TxnError(UserError):
    """An error of a change, with a message meant for the user."""


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
