# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
# PRIVATE: this module is internal to badgateway.nginx; its API may change without notice.
"""The one reader of /proc for the node-side code: processes and their namespaces.

Standard library only.  Every function takes ``proc`` (default ``/proc``) so
that a recorded tree can stand in for it; ``<proc>/self`` is the process that
reads (the module), whose namespaces are "ours".

A host that runs containers shows their processes in its /proc.  A process
is "ours" when its pid and mount namespaces (and, for sockets, its network
namespace) are the module's own, read from the ``ns/{pid,mnt,net}`` links.
A namespace that cannot be read (a recorded tree without the links, or a
process another user owns when the module is not root) is unknown, and an
unknown namespace never sets a process aside: only a proven difference does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

PROC = '/proc'
NAMESPACES = ('pid', 'mnt', 'net')
DAEMON_NAMESPACES = ('pid', 'mnt')
REASONS = {'pid': 'other pid namespace', 'mnt': 'other mount namespace', 'net': 'other network namespace'}


def _path(pid, proc, *names):
    return os.path.join(proc, str(pid), *names)


def _read_bytes(path, limit=None):
    try:
        with open(path, 'rb') as f:
            return f.read() if limit is None else f.read(limit)
    except (IOError, OSError):
        return None


def pids(proc=PROC):
    """Every pid in proc, sorted."""
    try:
        return sorted(int(e) for e in os.listdir(proc) if e.isdigit())
    except OSError:
        return []


def argv(pid, proc=PROC):
    """The command line as a list (empty arguments at the end dropped), or None."""
    raw = _read_bytes(_path(pid, proc, 'cmdline'))
    if raw is None:
        return None
    args = [a.decode('utf-8', 'replace') for a in raw.split(b'\x00')]
    while args and not args[-1]:
        args.pop()
    return args


def cmdline(pid, proc=PROC):
    """The command line (a process title such as 'nginx: master process ...') as one string, or None."""
    raw = _read_bytes(_path(pid, proc, 'cmdline'))
    if raw is None:
        return None
    return raw.replace(b'\x00', b' ').strip().decode('utf-8', 'replace')


def stat(pid, proc=PROC):
    """{comm, state, ppid, starttime (clock ticks after boot)} from <pid>/stat, or None."""
    raw = _read_bytes(_path(pid, proc, 'stat'))
    if raw is None:
        return None
    text = raw.decode('utf-8', 'replace')
    # pid (comm) state ppid ...; comm may hold spaces and parentheses: the last ')' ends it
    close = text.rfind(')')
    rest = text[close + 2:].split()
    info = {'comm': text[text.find('(') + 1:close], 'state': rest[0] if rest else None,
            'ppid': None, 'starttime': None}
    try:
        info['ppid'] = int(rest[1])
        info['starttime'] = int(rest[19])  # field 22 of stat: field 3 (state) is rest[0]
    except (IndexError, ValueError):
        pass
    return info


def ppid(pid, proc=PROC):
    info = stat(pid, proc)
    return info['ppid'] if info else None


def comm(pid, proc=PROC):
    """The process name (<pid>/comm, else the name in stat), or None."""
    raw = _read_bytes(_path(pid, proc, 'comm'))
    if raw is not None:
        return raw.decode('utf-8', 'replace').strip()
    info = stat(pid, proc)
    return info['comm'] if info else None


def alive(pid, proc=PROC):
    """True when the process exists and is neither a zombie nor dead."""
    if not pid:
        return False
    info = stat(pid, proc)
    return bool(info) and info['state'] not in ('Z', 'X')


def children(pid, proc=PROC):
    """Pids whose parent is pid, sorted."""
    return [p for p in pids(proc) if ppid(p, proc) == pid]


def children_titled(pid, prefix='nginx: worker process', proc=PROC):
    """Pids of pid's children whose title starts with prefix and that are not shutting down."""
    out = set()
    for child in children(pid, proc):
        title = cmdline(child, proc) or ''
        if title.startswith(prefix) and not title.endswith('is shutting down'):
            out.add(child)
    return out


def titled(title, proc=PROC):
    """Pids whose process title starts with title (e.g. 'nginx: master process'), in every namespace."""
    return [pid for pid in pids(proc) if (cmdline(pid, proc) or '').startswith(title)]


def boot_time(proc=PROC, clock=None):
    """The time the system booted (epoch seconds).

    From <proc>/uptime (time now minus the uptime, 10 ms resolution, and a few
    ms different at each reading); the ``btime`` line of <proc>/stat (whole
    seconds) when uptime cannot be read.
    """
    import time
    clock = clock or time.time
    raw = _read_bytes(os.path.join(proc, 'uptime'))
    try:
        return clock() - float(raw.split()[0])
    except (AttributeError, IndexError, ValueError):
        pass
    return btime(proc)


def btime(proc=PROC):
    """The ``btime`` line of <proc>/stat: the boot time in whole seconds, the same at every reading, or None."""
    for line in (_read_bytes(os.path.join(proc, 'stat')) or b'').decode('ascii', 'replace').splitlines():
        if line.startswith('btime '):
            try:
                return float(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def start_time(pid, proc=PROC, boot=None):
    """When the process started (epoch seconds, clock-tick resolution), or None."""
    info = stat(pid, proc)
    boot = boot_time(proc) if boot is None else boot
    if not info or info['starttime'] is None or boot is None:
        return None
    return boot + float(info['starttime']) / os.sysconf('SC_CLK_TCK')


def namespaces(pid, proc=PROC, kinds=NAMESPACES):
    """{kind: 'pid:[4026531836]' or None (cannot be read)} from the <pid>/ns links."""
    found = {}
    for kind in kinds:
        try:
            found[kind] = os.readlink(_path(pid, proc, 'ns', kind))
        except OSError:
            found[kind] = None
    return found


def own_namespaces(proc=PROC):
    """The namespaces of the reading process (<proc>/self): the ones the module, and so its nginx, runs in."""
    return namespaces('self', proc)


def foreign_reason(pid, proc=PROC, kinds=DAEMON_NAMESPACES, mine=None):
    """Why a process is not ours ('other pid namespace', ...), or None (same, or not known to differ)."""
    mine = own_namespaces(proc) if mine is None else mine
    theirs = namespaces(pid, proc, kinds)
    for kind in kinds:
        if mine.get(kind) and theirs.get(kind) and mine[kind] != theirs[kind]:
            return REASONS[kind]
    return None


def set_aside_entry(pid, reason, proc=PROC):
    return {'pid': pid, 'comm': comm(pid, proc), 'reason': reason}


def split_ours(candidates, proc=PROC, kinds=DAEMON_NAMESPACES, mine=None):
    """(ours, set_aside) of a list of pids; set_aside is [{pid, comm, reason}]."""
    mine = own_namespaces(proc) if mine is None else mine
    ours, aside = [], []
    for pid in candidates:
        reason = foreign_reason(pid, proc, kinds, mine)
        if reason:
            aside.append(set_aside_entry(pid, reason, proc))
        else:
            ours.append(pid)
    return ours, aside


def root(pid, proc=PROC):
    """The path of a process's root directory, through which its mount namespace's files are reached."""
    return _path(pid, proc, 'root')


def same_file(pid, path, proc=PROC):
    """True when path in the process's mount namespace is the file at path in ours (shared by a bind
    mount or a volume), False when it is another file or missing there, None when that cannot be told."""
    try:
        mine = os.stat(path)
    except OSError:
        return False
    try:
        theirs = os.stat(root(pid, proc) + path)
    except OSError as e:
        return None if e.errno in (errno.EPERM, errno.EACCES) else False  # not ours to look into
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


def socket_inodes(pid, proc=PROC):
    """The socket inodes (as strings) a process holds open, from its <pid>/fd links."""
    fd_dir = _path(pid, proc, 'fd')
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return []
    found = []
    for fd in fds:
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith('socket:['):
            found.append(target[8:-1])
    return found


def fd_count(pid, proc=PROC):
    try:
        return len(os.listdir(_path(pid, proc, 'fd')))
    except OSError:
        return None


def text(pid, name, proc=PROC):
    """The text of <pid>/<name> (status, cgroup, limits...), or None."""
    raw = _read_bytes(_path(pid, proc, name))
    return None if raw is None else raw.decode('utf-8', 'replace')


def status(pid, proc=PROC):
    """<pid>/status as {key: value}, or None."""
    raw = text(pid, 'status', proc)
    if raw is None:
        return None
    found = {}
    for line in raw.splitlines():
        key, _sep, value = line.partition(':')
        found[key] = value.strip()
    return found


def owner_uid(pid, proc=PROC):
    try:
        return os.stat(_path(pid, proc)).st_uid
    except OSError:
        return None
