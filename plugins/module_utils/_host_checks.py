# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side checks: listeners, connect probes, unix socket access, resources.

Standard library only.  Listeners are read from /proc/net/{tcp,tcp6,unix}
(not from ``ss``/``netstat`` text) and mapped to their processes through
/proc/PID/fd (through _procfs).  /proc/net is the table of our own network
namespace; a socket in it held by a process of another pid or network
namespace (a container sharing the host network) is set aside, not named as
the owner, and a unix socket path bound in another mount namespace is not our
path (unless it is the same file, shared by a bind mount); a connect probe classifies the outcome the way nginx's error
log would name it; unix socket access is judged for a given user from the
socket's and every parent directory's owner, group and mode, and, when
running as root, confirmed by really connecting as that user.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import os
import pwd
import re
import socket
import ssl
import stat
import time

from ansible_collections.badgateway.nginx.plugins.module_utils import _http as http
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import NGINX_OPTIONS
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs

TCP_LISTEN = '0A'
UNIX_ACCEPTCON = 0x10000
UNIX_STREAM = 1

PROBE_RESULTS = {
    errno.ECONNREFUSED: 'refused',
    errno.ETIMEDOUT: 'timeout',
    errno.EHOSTUNREACH: 'no_route',
    errno.ENETUNREACH: 'unreachable',
    errno.ENOENT: 'no_such_file',
    errno.EACCES: 'permission_denied',
    errno.EPERM: 'permission_denied',
    errno.EAGAIN: 'unavailable',
    errno.ECONNRESET: 'reset',
    errno.EADDRNOTAVAIL: 'cannot_assign',
}


# The options of the evidence a host is asked for: one argument spec shared by the nginx_probe module and the
# nginx_diagnose action (which hands them to the module as they are); documented once, in the doc fragment
# badgateway.nginx.checks.
CHECK_OPTIONS = dict(
    NGINX_OPTIONS,
    log_lines=dict(type='int', default=5000),
    log_since=dict(type='int', default=0),
    redact_query=dict(type='bool', default=True),
    redact_client=dict(type='bool', default=False),
    php_fpm=dict(type='bool', default=True),
    firewall=dict(type='bool', default=True),
    resources=dict(type='bool', default=True),
    mac=dict(type='bool', default=True),
    keepalive_probe=dict(type='str', default='on_errors', choices=['on_errors', 'always', 'never']),
    header_probe=dict(type='bool', default=False),
    urls=dict(type='list', elements='dict', default=[], aliases=['http_checks'], options=dict(
        url=dict(type='str', required=True), host=dict(type='str'))),
    timeout=dict(type='float', default=3),
    journal_dir=dict(type='path', default='/var/lib/badgateway-nginx'),
)


def _hex_ipv4(text):
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(text)[::-1])


def _hex_ipv6(text):
    raw = bytes.fromhex(text)
    # four 32-bit words, each in host (little-endian) order
    return socket.inet_ntop(socket.AF_INET6, b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))


def socket_owners(proc='/proc'):
    """Map socket inode -> [pid, ...] by reading /proc/PID/fd links (every namespace)."""
    owners = {}
    for pid in procfs.pids(proc):
        for inode in procfs.socket_inodes(pid, proc):
            owners.setdefault(inode, []).append(pid)
    return owners


def process_info(pid, proc='/proc'):
    """Name, command line, user and systemd unit of a process (what can be read)."""
    info = {'pid': pid, 'name': procfs.comm(pid, proc), 'cmdline': None, 'user': None, 'unit': None}
    cmd = procfs.cmdline(pid, proc)
    info['cmdline'] = cmd[:512] if cmd is not None else None
    uid = procfs.owner_uid(pid, proc)
    if uid is not None:
        try:
            info['user'] = pwd.getpwuid(uid).pw_name
        except KeyError:
            info['user'] = str(uid)
    for line in (procfs.text(pid, 'cgroup', proc) or '').splitlines():
        path = line.split(':', 2)[-1]
        units = [part for part in path.split('/') if part.endswith(('.service', '.scope'))]
        if units:
            info['unit'] = units[-1]
            if units[-1].endswith('.service'):
                break
    return info


class Owners(object):
    """The processes holding each socket inode, split into ours and the ones set aside."""

    def __init__(self, proc='/proc', owners=None, cache=None):
        self.proc = proc
        self.owners = socket_owners(proc) if owners is None else owners
        self.cache = {} if cache is None else cache
        self.mine = procfs.own_namespaces(proc)
        self.set_aside = []

    def info(self, pid):
        if pid not in self.cache:
            self.cache[pid] = process_info(pid, self.proc)
        return self.cache[pid]

    def split(self, inode, listener, path=None):
        """(our processes, [{pid, comm, reason}] set aside) holding inode.

        TCP: a holder of another pid or network namespace is set aside (the
        socket is in our table, but it is not a process of this host's).  Unix
        (path given): a holder of another mount namespace bound that path in
        its own file tree, so it does not listen on ours unless the path is the
        same file in both; then, as for TCP, another pid namespace sets it aside.
        """
        ours, aside = [], []
        for pid in sorted(set(self.owners.get(inode, ()))):
            reason = None
            if path and procfs.foreign_reason(pid, self.proc, ('mnt',), self.mine) \
                    and procfs.same_file(pid, path, self.proc) is not True:
                reason = procfs.REASONS['mnt']
            reason = reason or procfs.foreign_reason(pid, self.proc, ('net', 'pid'), self.mine)
            if reason:
                entry = procfs.set_aside_entry(pid, reason, self.proc)
                aside.append(entry)
                self.set_aside.append(dict(entry, listener=listener))
            else:
                ours.append(self.info(pid))
        return ours, aside


def _main_process(procs):
    """The process a listener belongs to for a report: the parent-most (lowest pid)."""
    return procs[0] if procs else None


def tcp_listeners(proc='/proc', owners=None, cache=None):
    """Listening TCP sockets (IPv4 and IPv6) of our network namespace with their processes.

    owners: an Owners (or a map inode -> pids, as socket_owners gives).
    """
    owners = owners if isinstance(owners, Owners) else Owners(proc, owners, cache)
    found = []
    for name, family, convert in (('tcp', 'ipv4', _hex_ipv4), ('tcp6', 'ipv6', _hex_ipv6)):
        try:
            with open(os.path.join(proc, 'net', name)) as f:
                lines = f.readlines()[1:]
        except (IOError, OSError):
            continue
        for line in lines:
            parts = line.split()
            if len(parts) < 10 or parts[3] != TCP_LISTEN:
                continue
            addr, port = parts[1].split(':')
            address, port = convert(addr), int(port, 16)
            procs, aside = owners.split(parts[9], '%s:%d' % ('[%s]' % address if ':' in address else address, port))
            main = _main_process(procs)
            found.append({
                'family': family, 'address': address, 'port': port, 'inode': int(parts[9]),
                'pids': [p['pid'] for p in procs], 'process': main['name'] if main else None,
                'unit': main['unit'] if main else None, 'user': main['user'] if main else None,
                'set_aside': aside,
            })
    found.sort(key=lambda x: (x['port'], x['family'], x['address']))
    return found


def unix_listeners(proc='/proc', owners=None, cache=None):
    """Listening unix stream sockets with a path in our file tree, with their processes.

    A socket whose every holder bound its path in another mount namespace is
    left out (its holders are in owners.set_aside).
    """
    owners = owners if isinstance(owners, Owners) else Owners(proc, owners, cache)
    found = []
    try:
        with open(os.path.join(proc, 'net', 'unix')) as f:
            lines = f.readlines()[1:]
    except (IOError, OSError):
        return found
    for line in lines:
        parts = line.split(None, 7)
        if len(parts) < 8:
            continue
        flags, kind, inode, path = int(parts[3], 16), int(parts[4], 16), parts[6], parts[7].strip()
        if not (flags & UNIX_ACCEPTCON) or kind != UNIX_STREAM or not path.startswith('/'):
            continue
        procs, aside = owners.split(inode, path, path)
        if aside and not procs and all(a['reason'] == procfs.REASONS['mnt'] for a in aside):
            continue  # bound in another file tree: not a listener on our path
        main = _main_process(procs)
        found.append({'path': path, 'inode': int(inode), 'pids': [p['pid'] for p in procs],
                      'process': main['name'] if main else None, 'unit': main['unit'] if main else None,
                      'user': main['user'] if main else None, 'set_aside': aside})
    found.sort(key=lambda x: x['path'])
    return found


def listeners(proc='/proc'):
    """{tcp, unix, set_aside}: the listeners of our namespaces, and the processes of other namespaces
    that hold listening sockets in our table ({pid, comm, reason, listener}), which are not named as owners."""
    owners = Owners(proc)
    return {'tcp': tcp_listeners(proc, owners), 'unix': unix_listeners(proc, owners), 'set_aside': owners.set_aside}


def _classify_error(exc):
    code = getattr(exc, 'errno', None)
    if isinstance(exc, socket.timeout):
        return 'timeout', errno.ETIMEDOUT
    return PROBE_RESULTS.get(code, 'error'), code


def probe_tcp(host, port, timeout=3.0):
    """Connect to host:port, waiting at most timeout seconds (timeout_s); classify as ok, refused, timeout,
    no_route, unreachable, unresolvable..."""
    result = {'kind': 'tcp', 'host': host, 'port': port, 'address': None, 'result': None,
              'errno': None, 'error': None, 'latency_ms': None, 'tls': None, 'timeout_s': timeout}
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as e:
        result.update(result='unresolvable', error=str(e))
        return result
    family, socktype, proto, _canon, sockaddr = infos[0]
    result['address'] = sockaddr[0]
    sock = socket.socket(family, socktype, proto)
    sock.settimeout(timeout)
    start = time.time()
    try:
        sock.connect(sockaddr)
        result['result'] = 'ok'
    except (socket.error, OSError) as e:
        result['result'], result['errno'] = _classify_error(e)
        result['error'] = os.strerror(result['errno']) if result['errno'] else str(e)
    finally:
        result['latency_ms'] = round((time.time() - start) * 1000, 1)
        sock.close()
    if result['result'] == 'ok':
        result['tls'] = speaks_tls(family, sockaddr, timeout)
    return result


def speaks_tls(family, sockaddr, timeout):
    """True when a TLS handshake succeeds on the address (a TLS port), False when it does not."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(min(timeout, 1.0))
    try:
        sock.connect(sockaddr)
        with ctx.wrap_socket(sock, do_handshake_on_connect=False) as tls:
            tls.do_handshake()
        return True
    except (ssl.SSLError, socket.error, OSError, ValueError):
        return False
    finally:
        sock.close()


def _connect_unix(path, timeout):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        return 'ok', None
    except (socket.error, OSError) as e:
        return _classify_error(e)
    finally:
        sock.close()


def probe_unix(path, timeout=3.0, identity=None):
    """Connect to a unix socket, as this process and, when root, as `identity` too."""
    result = {'kind': 'unix', 'path': path, 'result': None, 'errno': None, 'error': None,
              'latency_ms': None, 'as_user': None}
    start = time.time()
    result['result'], result['errno'] = _connect_unix(path, timeout)
    result['latency_ms'] = round((time.time() - start) * 1000, 1)
    if result['errno']:
        result['error'] = os.strerror(result['errno'])
    if identity and os.geteuid() == 0 and identity.get('uid') not in (None, 0):
        result['as_user'] = connect_as(path, identity, timeout)
    return result


def connect_as(path, identity, timeout=3.0):
    """Really connect to a unix socket as another user (fork, drop privileges, connect)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        outcome = 'error'
        try:
            os.close(read_end)
            os.setgroups(identity.get('groups') or [identity['gid']])
            os.setgid(identity['gid'])
            os.setuid(identity['uid'])
            outcome = _connect_unix(path, timeout)[0]
        except BaseException:  # pylint: disable=broad-except
            pass
        finally:
            os.write(write_end, outcome.encode())
            os._exit(0)  # pylint: disable=protected-access
    os.close(write_end)
    chunks = []
    while True:
        chunk = os.read(read_end, 64)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return {'user': identity.get('user'), 'result': b''.join(chunks).decode() or 'error'}


def identity_of(user, group=None):
    """uid, primary gid and every group of a user name (or None when unknown)."""
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return None
    gid = pw.pw_gid
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            pass
    groups = sorted(set([gid, pw.pw_gid] + [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]))
    names = []
    for g in groups:
        try:
            names.append(grp.getgrgid(g).gr_name)
        except KeyError:
            names.append(str(g))
    return {'user': user, 'uid': pw.pw_uid, 'gid': gid, 'groups': groups, 'group_names': names}


def _name(getter, ident):
    try:
        return getter(ident)[0]
    except KeyError:
        return str(ident)


def _allowed(st, identity, bit_owner, bit_group, bit_other):
    if identity['uid'] == 0:
        return True
    if st.st_uid == identity['uid']:
        return bool(st.st_mode & bit_owner)
    if st.st_gid in identity['groups']:
        return bool(st.st_mode & bit_group)
    return bool(st.st_mode & bit_other)


def socket_access(path, identity):
    """Can `identity` connect to the unix socket at path? Judged from modes, with the reason."""
    result = {'path': path, 'exists': False, 'is_socket': False, 'owner': None, 'group': None,
              'mode': None, 'can_connect': False, 'reason': None, 'parents': []}
    if identity is None:
        result['reason'] = 'unknown user'
        return result
    # every directory on the way needs the search bit
    parts = os.path.dirname(path).split('/')
    for i in range(1, len(parts) + 1):
        d = '/'.join(parts[:i]) or '/'
        try:
            st = os.stat(d)
        except OSError as e:
            result['reason'] = '%s: %s' % (d, e.strerror)
            return result
        ok = _allowed(st, identity, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)
        result['parents'].append({'path': d, 'owner': _name(pwd.getpwuid, st.st_uid),
                                  'group': _name(grp.getgrgid, st.st_gid),
                                  'mode': '%04o' % stat.S_IMODE(st.st_mode), 'search': ok})
        if not ok and result['reason'] is None:
            result['reason'] = 'directory %s (%s:%s %04o) has no search permission for %s' % (
                d, _name(pwd.getpwuid, st.st_uid), _name(grp.getgrgid, st.st_gid), stat.S_IMODE(st.st_mode),
                identity['user'])
    try:
        st = os.stat(path)
    except OSError as e:
        if result['reason'] is None:
            result['reason'] = '%s: %s' % (path, e.strerror)
        return result
    result.update(exists=True, is_socket=stat.S_ISSOCK(st.st_mode), owner=_name(pwd.getpwuid, st.st_uid),
                  group=_name(grp.getgrgid, st.st_gid), mode='%04o' % stat.S_IMODE(st.st_mode))
    if not result['is_socket']:
        result['reason'] = result['reason'] or '%s is not a socket' % path
        return result
    writable = _allowed(st, identity, stat.S_IWUSR, stat.S_IWGRP, stat.S_IWOTH)
    if not writable and result['reason'] is None:
        result['reason'] = 'socket %s (%s:%s %s) is not writable by %s (groups %s)' % (
            path, result['owner'], result['group'], result['mode'], identity['user'],
            ','.join(identity['group_names']))
    result['can_connect'] = writable and all(p['search'] for p in result['parents'])
    return result


# --- resources -------------------------------------------------------------------

def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def memory(proc='/proc'):
    text = _read(os.path.join(proc, 'meminfo')) or ''
    values = {}
    for line in text.splitlines():
        m = re.match(r'^(\w+):\s+(\d+)\s*kB', line)
        if m:
            values[m.group(1)] = int(m.group(2))
    return {'total_kb': values.get('MemTotal'), 'available_kb': values.get('MemAvailable'),
            'swap_total_kb': values.get('SwapTotal'), 'swap_free_kb': values.get('SwapFree')}


def load(proc='/proc'):
    text = _read(os.path.join(proc, 'loadavg')) or ''
    parts = text.split()
    cores = os.cpu_count() or 1
    if len(parts) < 3:
        return {'load1': None, 'load5': None, 'load15': None, 'cores': cores}
    return {'load1': float(parts[0]), 'load5': float(parts[1]), 'load15': float(parts[2]), 'cores': cores}


def disk_free(paths):
    """Free space of the filesystems holding each path (or its nearest existing parent)."""
    seen = {}
    for path in paths:
        p = path
        while p and not os.path.exists(p):
            p = os.path.dirname(p)
        if not p:
            continue
        try:
            st = os.statvfs(p)
        except OSError:
            continue
        key = (st.f_fsid if hasattr(st, 'f_fsid') else p)
        entry = seen.setdefault(key, {'paths': [], 'free_bytes': st.f_bavail * st.f_frsize,
                                      'total_bytes': st.f_blocks * st.f_frsize,
                                      'free_inodes': st.f_favail})
        entry['paths'].append(path)
    result = []
    for entry in seen.values():
        total = entry['total_bytes'] or 1
        entry['used_percent'] = round(100.0 * (total - entry['free_bytes']) / total, 1)
        result.append(entry)
    return result


def process_files(name='nginx', proc='/proc'):
    """Open files against the limit for every process called `name` of our pid and mount namespaces."""
    found = []
    mine = procfs.own_namespaces(proc)
    for pid in procfs.pids(proc):
        if procfs.comm(pid, proc) != name or procfs.foreign_reason(pid, proc, mine=mine):
            continue
        cmdline = procfs.cmdline(pid, proc) or ''
        soft = hard = None
        for line in (procfs.text(pid, 'limits', proc) or '').splitlines():
            if line.startswith('Max open files'):
                fields = line.split()
                soft = None if fields[3] == 'unlimited' else int(fields[3])
                hard = None if fields[4] == 'unlimited' else int(fields[4])
        found.append({'pid': pid, 'cmdline': cmdline[:200], 'open_files': procfs.fd_count(pid, proc),
                      'limit_soft': soft, 'limit_hard': hard,
                      'role': 'master' if 'master' in cmdline else ('worker' if 'worker' in cmdline else 'other')})
    return found


def http_check(url, timeout=5.0, host=None):
    """One HTTP(S) request (no redirects followed): status, Server header, latency, and whether nginx answered."""
    result = http.get(url, timeout=timeout, host=host, user_agent='badgateway.nginx diagnose')
    server = (result['server'] or '').lower()
    result['from_nginx'] = server.startswith(('nginx', 'openresty')) if server else None
    return result


def local_addresses(proc='/proc'):
    """IPv4 and IPv6 addresses of this host (loopback included)."""
    found = set(['127.0.0.1', '::1'])
    text = _read(os.path.join(proc, 'net', 'fib_trie')) or ''
    last = None
    for line in text.splitlines():
        m = re.match(r'^\s*[|+`-]+\s*(\d+\.\d+\.\d+\.\d+)\s*$', line)
        if m:
            last = m.group(1)
        elif '/32 host LOCAL' in line and last:
            found.add(last)
    for line in (_read(os.path.join(proc, 'net', 'if_inet6')) or '').splitlines():
        parts = line.split()
        if parts and len(parts[0]) == 32:
            found.add(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(parts[0])))
    return sorted(found)
