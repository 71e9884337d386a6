# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side reading and classification of nginx, PHP-FPM and kernel logs.

Everything here runs on the managed node and uses the Python standard
library only.  ``read_tail`` reads the recent end of a log file backwards in
blocks (never the whole file); the ``classify_*`` functions turn one log line
into a record that names the evidence kind and the catalog cause it points at
(see docs/causes.md: upstream_down, socket_permission, firewall_block, ...);
``summarize`` groups records and ``redact_line`` hides query strings and
client addresses in the raw lines that are reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import errno as errno_mod
import os
import re
import stat
import time

BLOCK_SIZE = 64 * 1024
REDACTED = 'REDACTED'

MONTHS = {
    'jan': 1, 'feb': 2, 'mar': 3, 'apr': 4, 'may': 5, 'jun': 6,
    'jul': 7, 'aug': 8, 'sep': 9, 'oct': 10, 'nov': 11, 'dec': 12,
}

# ---------------------------------------------------------------------------
# Reading the end of a file
# ---------------------------------------------------------------------------


class _Shrunk(Exception):
    """The file became shorter than its size at fstat time while being read."""


def _os_error_message(path, exc):
    code = getattr(exc, 'errno', None)
    reason = getattr(exc, 'strerror', None) or str(exc)
    if code == errno_mod.ENOENT:
        return '%s does not exist' % path
    if code in (errno_mod.EACCES, errno_mod.EPERM):
        return 'cannot read %s: permission denied (%s)' % (path, reason)
    if code == errno_mod.EISDIR:
        return '%s is a directory, not a log file' % path
    return 'cannot read %s: %s' % (path, reason)


def _decode(raw, max_line):
    """Return (text, truncated) for the bytes of one line."""
    if len(raw) <= max_line:
        return raw.decode('utf-8', 'replace'), False
    text = raw[:max_line * 4].decode('utf-8', 'replace')
    if len(text) > max_line or len(raw) > max_line * 4:
        return text[:max_line], True
    return text, False


class _TailScan(object):
    """One backwards pass over an open file (state of read_tail)."""

    def __init__(self, max_lines, since, max_line, time_parser):
        self.max_lines = max_lines
        self.since = since
        self.max_line = max_line
        self.time_parser = time_parser if since is not None else None
        self.out = []             # newest first
        self.untimed = 0          # lines without a timestamp since the last timed one
        self.binary_lines = 0
        self.long_lines = 0
        self.nul_padded = 0

    def emit(self, raw):
        """Take one line (bytes, newest first); return a stop reason or None."""
        if raw.endswith(b'\r'):
            raw = raw[:-1]
        if b'\0' in raw:
            # copytruncate leaves a run of NUL bytes in front of the first line
            # written after the truncation: keep that line, drop the padding
            stripped = raw.lstrip(b'\0')
            if stripped and b'\0' not in stripped:
                raw = stripped
                self.nul_padded += 1
            else:
                self.binary_lines += 1
                return None
        text, cut = _decode(raw, self.max_line)
        if cut:
            self.long_lines += 1
        if self.time_parser is not None:
            try:
                stamp = self.time_parser(text)
            except Exception:  # pylint: disable=broad-except
                stamp = None
            if stamp is None:
                self.untimed += 1
            elif stamp < self.since:
                # lines without a timestamp right after an old line belong to it
                if self.untimed:
                    del self.out[-self.untimed:]
                return 'since'
            else:
                self.untimed = 0
        self.out.append(text)
        if len(self.out) >= self.max_lines:
            return 'max_lines'
        return None


def _scan_backwards(f, size, max_bytes, scan):
    """Read f from size down; return (stop_reason, bytes_read, nothing_left)."""
    pos = size
    parts = []          # pieces of the current (oldest, unfinished) line, newest piece first
    at_end = True       # the current piece follows the last newline of the file
    bytes_read = 0
    while True:
        if pos <= 0:
            seg = b''.join(reversed(parts))
            if seg or not at_end:
                stopped = scan.emit(seg)
                if stopped:
                    return stopped, bytes_read, True
            return 'start', bytes_read, True
        want = min(BLOCK_SIZE, pos, max_bytes - bytes_read)
        if want <= 0:
            return 'max_bytes', bytes_read, False
        f.seek(pos - want)
        chunk = f.read(want)
        if len(chunk) < want:
            raise _Shrunk()
        pos -= want
        bytes_read += want
        if want == BLOCK_SIZE and chunk.count(b'\0') == want:
            # a hole of NUL bytes (copytruncate, or a crash): what lies before
            # it is not log text; the line after it is complete
            seg = b''.join(reversed(parts))
            if seg:
                stopped = scan.emit(seg)
                if stopped:
                    return stopped, bytes_read, False
            return 'hole', bytes_read, False
        end = len(chunk)
        while True:
            i = chunk.rfind(b'\n', 0, end)
            if i < 0:
                if end:
                    parts.append(chunk[:end])
                break
            seg = chunk[i + 1:end]
            if parts:
                seg += b''.join(reversed(parts))
                parts = []
            stopped = None
            if seg or not at_end:
                stopped = scan.emit(seg)
            at_end = False
            end = i
            if stopped:
                return stopped, bytes_read, pos == 0 and end == 0


def read_tail(path, max_lines=2000, since=None, max_bytes=8 * 1024 * 1024, max_line=8192, time_parser=None):
    """Read the last lines of a log file, backwards in blocks, never the whole file.

    Returns ``(lines, info)``: ``lines`` in file order (str, without line
    ends; CRLF is accepted), ``info`` a dict with ``path``, ``size``,
    ``bytes_read``, ``lines``, ``binary_lines`` (lines holding a NUL byte,
    not returned), ``long_lines`` (lines cut to ``max_line`` characters),
    ``nul_padded`` (lines returned without the NUL run that copytruncate left
    in front of them), ``complete`` (True when the window reached the start
    of the file or ``since``), ``stopped`` (start, since, max_lines,
    max_bytes, hole, error) and ``error`` (None or a message).  Never raises
    for a missing, unreadable or non-regular file.
    """
    info = {
        'path': path, 'size': None, 'bytes_read': 0, 'lines': 0, 'binary_lines': 0,
        'long_lines': 0, 'nul_padded': 0, 'complete': False, 'stopped': None, 'error': None,
    }
    if max_lines is None or max_lines <= 0:
        max_lines = 0
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0)
    try:
        fd = os.open(path, flags)
    except (OSError, IOError) as exc:
        info['error'] = _os_error_message(path, exc)
        info['stopped'] = 'error'
        return [], info
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            info['error'] = '%s is a directory, not a log file' % path
        elif not stat.S_ISREG(st.st_mode):
            info['error'] = ('%s is not a regular file (a pipe, socket or device such as /dev/stderr): '
                             'its lines go to another process or the journal' % path)
        if info['error']:
            info['stopped'] = 'error'
            os.close(fd)
            return [], info
        f = os.fdopen(fd, 'rb')
    except (OSError, IOError) as exc:
        os.close(fd)
        info['error'] = _os_error_message(path, exc)
        info['stopped'] = 'error'
        return [], info

    scan = None
    with f:
        for dummy in range(3):
            scan = _TailScan(max_lines, since, max_line, time_parser)
            try:
                size = os.fstat(f.fileno()).st_size
                info['size'] = size
                if max_lines == 0:
                    stopped, bytes_read, nothing_left = 'max_lines', 0, size == 0
                else:
                    stopped, bytes_read, nothing_left = _scan_backwards(f, size, max_bytes, scan)
            except _Shrunk:
                continue
            except (OSError, IOError) as exc:
                info['error'] = _os_error_message(path, exc)
                info['stopped'] = 'error'
                return [], info
            info['bytes_read'] = bytes_read
            info['stopped'] = stopped
            info['complete'] = stopped in ('start', 'since') or (stopped == 'max_lines' and nothing_left)
            break
        else:
            info['error'] = '%s shrank while it was read (rotated or truncated); read it again' % path
            info['stopped'] = 'error'
            return [], info
    lines = scan.out[::-1]
    info['lines'] = len(lines)
    info['binary_lines'] = scan.binary_lines
    info['long_lines'] = scan.long_lines
    info['nul_padded'] = scan.nul_padded
    return lines, info


# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------

NGINX_TIME = re.compile(r'^\s*(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)(?=\s)')
FPM_TIME = re.compile(r'^\s*\[(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\]')
# "Nov 22 08:17:43 host prog[123]: " (optional <PRI>, host may be missing)
SYSLOG_PREFIX = re.compile(
    r'^\s*(?:<\d{1,3}>)?(?P<time>(?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d))'
    r' (?:(?P<host>[^\s:\[]+) )?(?P<prog>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ')
# "2026-11-22T08:17:43.123456+01:00 host prog[123]: " (rsyslog on Debian 12, journalctl -o short-iso)
ISO_PREFIX = re.compile(
    r'^\s*(?P<time>(?P<y>\d{4})-(?P<mo>\d\d)-(?P<d>\d\d)[T ](?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?P<frac>\.\d+)?'
    r'(?P<tz>Z|[+-]\d\d:?\d\d)?)(?: (?:(?P<host>[^\s:\[]+) )?(?P<prog>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: )?')
# "[Sat Nov 22 08:17:43.123456 2026]" (Apache 2.4) or "[Sat Nov 22 08:17:43 2026]" (dmesg -T, Apache 2.2)
CTIME_PREFIX = re.compile(
    r'^\s*\[(?P<time>[A-Z][a-z]{2} (?P<mon>[A-Z][a-z]{2}) {1,2}(?P<day>\d{1,2}) (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)'
    r'(?P<frac>\.\d+)? (?P<y>\d{4}))\] ')
# "[  450.980219] " (dmesg: seconds since boot)
DMESG_STAMP = re.compile(r'^\s*\[\s*(\d+)\.(\d+)\] ')


def _local_epoch(year, month, day, hour, minute, second, frac=0.0):
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    try:
        return time.mktime((year, month, day, hour, minute, second, 0, 0, -1)) + frac
    except (OverflowError, ValueError):
        return None


def _stamp_epoch(line, stamp, epoch_of):
    """epoch_of(match) when the regex stamp matches at the start of line, else None."""
    m = stamp.match(line) if line else None
    return epoch_of(m) if m else None


def _nginx_epoch(m):
    y, mo, d, h, mi, s = (int(x) for x in m.groups())
    return _local_epoch(y, mo, d, h, mi, s)


def _fpm_epoch(m):
    month = MONTHS.get(m.group(2).lower())
    if month is None:
        return None
    frac = float('0.' + m.group(7)) if m.group(7) else 0.0
    return _local_epoch(int(m.group(3)), month, int(m.group(1)), int(m.group(4)), int(m.group(5)), int(m.group(6)), frac)


def nginx_time(line):
    """Epoch (float, local time) of an nginx error-log line ``2026/11/22 08:17:43 [error] ...``, or None."""
    return _stamp_epoch(line, NGINX_TIME, _nginx_epoch)


def fpm_time(line):
    """Epoch of a PHP-FPM log line ``[22-Nov-2026 08:17:43] ...`` (also ``[22-Nov-2026 08:17:43.123456]``), or None."""
    return _stamp_epoch(line, FPM_TIME, _fpm_epoch)


def _syslog_epoch(m, now=None):
    month = MONTHS.get(m.group('mon').lower())
    if month is None:
        return None
    now = time.time() if now is None else now
    year = time.localtime(now).tm_year
    stamp = _local_epoch(year, month, int(m.group('day')), int(m.group('h')), int(m.group('m')), int(m.group('s')))
    if stamp is not None and stamp > now + 86400:
        stamp = _local_epoch(year - 1, month, int(m.group('day')), int(m.group('h')), int(m.group('m')), int(m.group('s')))
    return stamp


def _iso_epoch(m):
    y, mo, d = int(m.group('y')), int(m.group('mo')), int(m.group('d'))
    h, mi, s = int(m.group('h')), int(m.group('m')), int(m.group('s'))
    frac = float(m.group('frac')) if m.group('frac') else 0.0
    tz = m.group('tz')
    if not tz:
        return _local_epoch(y, mo, d, h, mi, s, frac)
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60):
        return None
    offset = 0
    if tz != 'Z':
        sign = -1 if tz[0] == '-' else 1
        digits = tz[1:].replace(':', '')
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset + frac


def _prefix_time(line):
    """(time as written, epoch) of whatever timestamp prefix the line has, or (None, None)."""
    m = NGINX_TIME.match(line)
    if m:
        return line[m.start(1):m.end(6)], _nginx_epoch(m)
    m = FPM_TIME.match(line)
    if m:
        return line[m.start(1):m.end(7) if m.group(7) else m.end(6)], _fpm_epoch(m)
    m = SYSLOG_PREFIX.match(line)
    if m:
        return m.group('time'), _syslog_epoch(m)
    m = ISO_PREFIX.match(line)
    if m:
        return m.group('time'), _iso_epoch(m)
    m = CTIME_PREFIX.match(line)
    if m:
        month = MONTHS.get(m.group('mon').lower())
        frac = float(m.group('frac')) if m.group('frac') else 0.0
        epoch = None
        if month:
            epoch = _local_epoch(int(m.group('y')), month, int(m.group('day')), int(m.group('h')),
                                 int(m.group('m')), int(m.group('s')), frac)
        return m.group('time'), epoch
    return None, None


def line_time(line):
    """Epoch of a line in any format known here (nginx, PHP-FPM, syslog, RFC 3339, Apache/ctime), or None."""
    if not line:
        return None
    return _prefix_time(line)[1]


def boot_time(stat_path='/proc/stat'):
    """Epoch at which the kernel booted: the ``btime`` line of /proc/stat, or None."""
    try:
        with open(stat_path) as f:
            for row in f:
                if row.startswith('btime '):
                    return float(row.split()[1])
    except (IOError, OSError, ValueError, IndexError):
        return None
    return None


def dmesg_time(line, boot):
    """Epoch of a dmesg line ``[  450.980219] ...`` (seconds since boot), given the boot epoch; else None.

    The kernel stamps its ring buffer with a clock that stops while the host is
    suspended, so on a host that was suspended after boot the result is earlier
    than the real time by the time spent suspended (the same as what
    ``dmesg --time-format iso`` prints): a line can then fall out of a window
    too early, never stay in it too long.
    """
    if boot is None:
        return None
    return _stamp_epoch(line, DMESG_STAMP, lambda m: boot + int(m.group(1)) + float('0.' + m.group(2)))


def kernel_time(line, boot=None):
    """Epoch of a kernel log line: its syslog / RFC 3339 / ctime prefix, else its dmesg stamp (needs boot)."""
    stamp = line_time(line)
    if stamp is None:
        stamp = dmesg_time(line, boot)
    return stamp


# ---------------------------------------------------------------------------
# nginx error log
# ---------------------------------------------------------------------------

LEVELS = 'emerg|alert|crit|error|warn|notice|info|debug'
NGINX_HEAD = re.compile(
    r'(?P<time>\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )?\[(?P<level>' + LEVELS + r')\] '
    r'(?:(?P<pid>\d+)#(?P<tid>\d+): )?(?:\*(?P<conn>\d+) )?')
FIELD_KEY = re.compile(
    r', (client|server|request|subrequest|upstream|host|referrer|resolver|login|'
    r'bytes from/to client|bytes from/to upstream): ?')
FIELD_START = re.compile(r', (?:client|resolver): ')
ERRNO = re.compile(r'\((\d+): ([^()]*)\)')
REST_BLANK = re.compile(r'\s*$')
MAX_FIELD_STARTS = 5
PHASE = re.compile(r' while ([A-Za-z][A-Za-z0-9 /_-]{2,60})$')

RE_STDERR = re.compile(r'FastCGI sent in stderr: "(.*)', re.S)
RE_MEMORY = re.compile(r'Allowed memory size of (\d+) bytes exhausted')
RE_WORKER_CONNECTIONS = re.compile(r'(?<!\d)(\d+) worker_connections are not enough')
RE_BIND = re.compile(r'bind\(([^)]*)\) failed')
RE_NO_RESOLVER = re.compile(r'no resolver defined to resolve (\S+)')
RE_NOT_RESOLVED = re.compile(r'(?<!\S)(\S+) could not be resolved')
RE_HOST_NOT_FOUND = re.compile(r'host not found in (upstream|resolver) "?([^"\s]+)"?')
RE_CONNECT_UNIX = re.compile(r'connect\(\) to unix:(.+?) failed \(')
RE_CONNECT = re.compile(r'connect\(\) (?:to (\S+) )?failed \(')
RE_IO_FAILED = re.compile(r'\b(?:recv|readv|writev|send|sendfile|sendmsg|recvmsg|read|write|SSL_read|SSL_write|SSL_shutdown)'
                          r'\(\) failed \(')
RE_SSL = re.compile(r'SSL_do_handshake\(\) failed|peer closed connection in SSL handshake|upstream SSL certificate|'
                    r'SSL_connect\(\) failed')
RE_FASTCGI_RECORD = re.compile(r'upstream sent (?:unexpected|unsupported|invalid) FastCGI|FastCGI record|'
                               r'upstream sent unexpected FastCGI')
RE_UPSTREAM_ADDR = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$')

_ERRNO_WORDS = (
    ('connection refused', 'refused'), ('no such file', 'noent'), ('not a directory', 'noent'),
    ('permission denied', 'perm'), ('operation not permitted', 'perm'),
    ('temporarily unavailable', 'eagain'), ('would block', 'eagain'),
    ('timed out', 'timeout'), ('no route', 'noroute'), ('host is down', 'noroute'),
    ('unreachable', 'unreach'), ('reset by peer', 'reset'), ('broken pipe', 'reset'),
    ('too many open files', 'emfile'), ('assign requested address', 'addrnotavail'),
)
_LINUX_ERRNO = {
    111: 'refused', 2: 'noent', 20: 'noent', 13: 'perm', 1: 'perm', 11: 'eagain', 110: 'timeout',
    113: 'noroute', 112: 'noroute', 101: 'unreach', 104: 'reset', 32: 'reset', 24: 'emfile', 23: 'emfile',
    99: 'addrnotavail',
}

# The kind of a failed connect() to a unix socket, of a failed connect() over TCP and of a failed read or
# write on the upstream connection, by the class of its errno (_errno_class); NGINX_KINDS names the cause.
_UNIX_KINDS = {'noent': 'socket_missing', 'refused': 'socket_refused', 'perm': 'socket_permission',
               'eagain': 'socket_eagain'}
_TCP_KINDS = {'refused': 'connect_refused', 'timeout': 'connect_timeout', 'noroute': 'connect_no_route',
              'unreach': 'connect_unreachable', 'perm': 'connect_denied'}
_IO_KINDS = {'reset': 'reset', 'refused': 'connect_refused', 'timeout': 'read_timeout', 'noroute': 'connect_no_route',
             'unreach': 'connect_unreachable'}

#: the kinds of a failure on an upstream connection nginx had already used: what a keepalive race looks like
REUSE_FAILURE_KINDS = ('premature_close', 'reset')


def _kinds_by_cause(kinds):
    """{kind: cause} from the kinds of each cause."""
    return {kind: cause for cause, names in kinds.items() for kind in names}


#: every kind classify_error_line can return, by the catalog id it points at (None: no cause of its own)
NGINX_KINDS = _kinds_by_cause({
    'upstream_down': ('connect_refused', 'socket_missing', 'socket_refused', 'connect_failed'),
    'socket_permission': ('socket_permission',),
    'pool_exhausted': ('socket_eagain',),
    'firewall_block': ('connect_timeout', 'connect_no_route', 'connect_unreachable', 'connect_denied'),
    'upstream_timeout': ('read_timeout',),
    'backend_crash': ('premature_close', 'reset', 'io_error', 'php_memory'),
    'header_too_big': ('too_big_header',),
    'protocol_mismatch': ('invalid_header', 'no_valid_http', 'ssl_handshake', 'fastcgi_record'),
    'no_live_upstreams': ('no_live_upstreams',),
    'dns_failure': ('no_resolver', 'resolve_failed', 'host_not_found'),
    'resource_limits': ('too_many_open_files', 'worker_connections', 'cannot_assign'),
    None: ('fastcgi_stderr', 'upstream_disabled'),
})


LOG_UPSTREAM = re.compile(r'^(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<rest>.*)$')


def log_upstream_key(upstream, upstream_names=()):
    """Key of the upstream named in an error-log line ("http://10.0.0.1:8080/x", "fastcgi://unix:/s:")."""
    if not upstream:
        return None
    m = LOG_UPSTREAM.match(upstream)
    rest = m.group('rest') if m else upstream
    scheme = m.group('scheme') if m else None
    if rest.startswith('unix:'):
        # nginx logs the path as written (unix:///run/x.sock); the facts name the file (/run/x.sock)
        return ('unix', re.sub('/{2,}', '/', rest[5:].split(':', 1)[0]))
    hostport = rest.split('/', 1)[0]
    if hostport.startswith('['):
        host, _sep, port = hostport[1:].partition(']')
        port = port.lstrip(':')
    elif hostport.count(':') == 1:
        host, port = hostport.split(':')
    else:
        host, port = hostport, ''
    if not port and host in upstream_names:
        return ('upstream', host)
    if port.isdigit():
        return ('tcp', host, int(port))
    return ('tcp', host, {'https': 443, 'grpcs': 443}.get(scheme, 80))


def _errno_class(number, text):
    low = (text or '').lower()
    for words, cls in _ERRNO_WORDS:
        if words in low:
            return cls
    return _LINUX_ERRNO.get(number)


def _closing_quote(s, j):
    """Index of the quote that closes a field value starting at j, or -1.

    nginx does not escape quotes: the value ends at a quote followed by the
    end of the line or by the next known field.  A quote written as ``\\"``
    is taken as part of the value when another closing quote follows.
    """
    first = -1
    while True:
        q = s.find('"', j)
        if q < 0:
            return first
        if REST_BLANK.match(s, q + 1) or FIELD_KEY.match(s, q + 1):
            slashes = 0
            while q - slashes - 1 >= j and s[q - slashes - 1] == '\\':
                slashes += 1
            if slashes % 2 == 0:
                return q
            if first < 0:
                first = q
        j = q + 1


def _parse_fields(s, start, strict):
    """Parse ``, key: value`` fields of s from start to the end.

    Returns (fields, spans) with spans[key] = (begin, end) of the value in s,
    or None when strict and the text does not parse to the end.
    """
    fields = {}
    spans = {}
    pos = start
    n = len(s)
    while pos < n:
        m = FIELD_KEY.match(s, pos)
        if not m:
            if strict and not REST_BLANK.match(s, pos):
                return None
            break
        key = m.group(1)
        vstart = m.end()
        if s.startswith('"', vstart):
            q = _closing_quote(s, vstart + 1)
            if q < 0:
                if strict:
                    return None
                begin, end, pos = vstart + 1, n, n
            else:
                begin, end, pos = vstart + 1, q, q + 1
        else:
            nxt = FIELD_KEY.search(s, vstart)
            end = nxt.start() if nxt else n
            begin, pos = vstart, end
            if strict and key == 'client' and (not s[begin:end].strip() or ' ' in s[begin:end].strip() or '"' in s[begin:end]):
                return None
        if key in fields:
            if strict:
                return None
            break
        fields[key] = s[begin:end].rstrip() if end == n else s[begin:end]
        spans[key] = (begin, begin + len(fields[key]))
    return fields, spans


def _split_fields(s):
    """Return (message, fields, spans, start) for the text of an nginx log entry."""
    candidates = []
    for m in FIELD_START.finditer(s):
        candidates.append(m.start())
        if len(candidates) >= MAX_FIELD_STARTS:
            break
    for start in candidates:
        parsed = _parse_fields(s, start, True)
        if parsed is not None:
            return s[:start], parsed[0], parsed[1], start
    if candidates:
        start = candidates[0]
        fields, spans = _parse_fields(s, start, False)
        return s[:start], fields, spans, start
    return s, {}, {}, None


def _split_upstream(value):
    """(scheme, peer) of an upstream field: ``http://10.0.0.5:8080/x`` -> ('http', '10.0.0.5:8080')."""
    if not value:
        return None, None
    m = RE_UPSTREAM_ADDR.match(value)
    if m:
        scheme, rest = m.group(1), m.group(2)
    else:
        scheme, rest = None, value
    if rest.startswith('unix:'):
        path = rest[5:]
        cut = path.find(':')
        if cut >= 0:
            path = path[:cut]
        return scheme, 'unix:' + path
    cut = rest.find('/')
    peer = rest if cut < 0 else rest[:cut]
    return scheme, (peer or None)


def _strip_port(name):
    if name and name.count(':') == 1:
        host, port = name.split(':')
        if port.isdigit():
            return host
    return name


def _match_nginx(msg, phase):
    """Return (kind, extra) for the message part of an nginx error line, or (None, None)."""
    extra = {}
    m = RE_STDERR.search(msg)
    if m:
        text = m.group(1)
        mem = RE_MEMORY.search(text)
        if mem:
            extra['value'] = int(mem.group(1))
            return 'php_memory', extra
        return 'fastcgi_stderr', extra

    m = ERRNO.search(msg)
    cls = None
    if m:
        extra['errno'] = int(m.group(1))
        extra['errtext'] = m.group(2).strip()
        cls = _errno_class(extra['errno'], extra['errtext'])
    upstream_phase = bool(phase) and 'upstream' in phase

    m = RE_WORKER_CONNECTIONS.search(msg) if 'worker_connections are not enough' in msg else None
    if m:
        extra['value'] = int(m.group(1))
        return 'worker_connections', extra
    if cls == 'emfile' or 'Too many open files' in msg:
        return 'too_many_open_files', extra
    if cls == 'addrnotavail':
        m = RE_BIND.search(msg)
        if m:
            extra['address'] = m.group(1)
        return 'cannot_assign', extra
    if 'no live upstreams' in msg:
        return 'no_live_upstreams', extra
    m = RE_NO_RESOLVER.search(msg)
    if m:
        extra['name'] = m.group(1).rstrip(',')
        return 'no_resolver', extra
    m = RE_NOT_RESOLVED.search(msg) if ' could not be resolved' in msg else None
    if m:
        extra['name'] = m.group(1)
        return 'resolve_failed', extra
    m = RE_HOST_NOT_FOUND.search(msg)
    if m:
        extra['name'] = _strip_port(m.group(2))
        return 'host_not_found', extra
    if phase == 'resolving':
        return 'resolve_failed', extra
    m = RE_CONNECT_UNIX.search(msg)
    if m:
        extra['socket'] = m.group(1)
        kind = _UNIX_KINDS.get(cls, 'connect_failed')
        return kind, extra
    if 'upstream timed out' in msg:
        if phase == 'connecting to upstream':
            return 'connect_timeout', extra
        return 'read_timeout', extra
    m = RE_CONNECT.search(msg)
    if m:
        if m.group(1):
            extra['address'] = m.group(1)
        return _TCP_KINDS.get(cls, 'connect_failed'), extra
    if 'upstream prematurely closed' in msg:
        return 'premature_close', extra
    if RE_SSL.search(msg) and upstream_phase:
        return 'ssl_handshake', extra
    if 'upstream sent too big header' in msg:
        return 'too_big_header', extra
    if 'upstream sent no valid HTTP/1.0 header' in msg:
        return 'no_valid_http', extra
    if RE_FASTCGI_RECORD.search(msg):
        return 'fastcgi_record', extra
    if 'upstream sent ' in msg:
        return 'invalid_header', extra
    if RE_IO_FAILED.search(msg) and upstream_phase:
        return _IO_KINDS.get(cls, 'io_error'), extra
    if phase == 'SSL handshaking to upstream':
        return 'ssl_handshake', extra
    if 'upstream server temporarily disabled' in msg:
        return 'upstream_disabled', extra
    return None, None


def _nginx_head(line):
    """Match the nginx prefix; return the match or None (other programs' lines)."""
    m = NGINX_HEAD.search(line)
    if not m:
        return None
    if m.group('time') is None and m.group('pid') is None and not line[:m.start()].endswith('nginx: '):
        return None
    return m


def classify_error_line(line):
    """Classify one nginx error-log line.

    Returns None for lines that are not about an upstream failure (start/stop
    notices, static files not found, access denied, client-side errors), or
    a dict: source ('nginx'), line (as given, without the line end), time
    (as written or None), epoch, level, pid (int or None), connection (the
    ``*N`` id as int, or None), kind, catalog, errno (int or None), errtext,
    message (the text before ``, client:``), phase (what nginx was doing:
    ``connecting to upstream``, ``reading response header from upstream``...),
    client, server, request, subrequest, upstream (as written), upstream_addr
    (scheme://peer, no URI), peer (host:port or unix:PATH), host, referrer,
    resolver, socket (unix socket path), name (DNS name), address (from
    ``connect() to ADDR`` or ``bind(ADDR)``), value (a number the line
    carries: worker_connections, PHP memory_limit bytes).
    """
    if not line:
        return None
    line = line.rstrip('\r\n')
    head = _nginx_head(line)
    if head is None:
        return None
    body = line[head.end():]
    message, fields = _split_fields(body)[:2]
    message = message.rstrip()
    phase = None
    m = PHASE.search(message)
    if m:
        phase = m.group(1)
    kind, extra = _match_nginx(message, phase)
    if kind is None:
        return None
    upstream = fields.get('upstream')
    scheme, peer = _split_upstream(upstream)
    if peer is None and extra.get('address') and kind.startswith('connect'):
        peer = extra['address']
    socket_path = extra.get('socket')
    if socket_path is None and peer and peer.startswith('unix:'):
        socket_path = peer[5:]
    stamp = head.group('time')
    if stamp:
        stamp, epoch = stamp.strip(), nginx_time(line[head.start():])
    else:
        stamp, epoch = _prefix_time(line)
    return {
        'source': 'nginx',
        'line': line,
        'time': stamp,
        'epoch': epoch,
        'level': head.group('level'),
        'pid': int(head.group('pid')) if head.group('pid') else None,
        'connection': int(head.group('conn')) if head.group('conn') else None,
        'kind': kind,
        'catalog': NGINX_KINDS[kind],
        'errno': extra.get('errno'),
        'errtext': extra.get('errtext'),
        'message': message,
        'phase': phase,
        'client': fields.get('client'),
        'server': fields.get('server'),
        'request': fields.get('request'),
        'subrequest': fields.get('subrequest'),
        'upstream': upstream,
        'upstream_addr': ('%s://%s' % (scheme, peer) if scheme and peer else peer),
        'peer': peer,
        'host': fields.get('host'),
        'referrer': fields.get('referrer'),
        'resolver': fields.get('resolver'),
        'socket': socket_path,
        'name': extra.get('name'),
        'address': extra.get('address'),
        'value': extra.get('value'),
    }


# ---------------------------------------------------------------------------
# PHP-FPM and kernel logs
# ---------------------------------------------------------------------------

FPM_LEVELS = 'DEBUG|NOTICE|WARNING|ERROR|ALERT|CRITICAL|EMERG|SYSTEM'


def _level_and_body(before, after):
    """A PHP-FPM message: its level between before and after, then a blank and the body."""
    return re.compile('^' + before + '(?P<level>' + FPM_LEVELS + ')' + after + ' (?P<body>.*)$')


FPM_FILE_LINE = _level_and_body(r'\s*\[[^\]]+\] ', ':')  # [22-Nov-2026 08:17:43] WARNING: ...
FPM_SYSLOG_BODY = _level_and_body(r'\[', r'\]')  # after the syslog prefix: [WARNING] ...
FPM_PLAIN_BODY = _level_and_body('', ':')  # on a terminal or in the journal: WARNING: ...
FPM_POOL = re.compile(r'^\[(?:pool )?([^\]]+)\] ')
RE_MAX_CHILDREN = re.compile(r'server reached (?:pm\.)?max_children setting \((\d+)\)')
# WARNING: [pool www] child 4242 exited on signal 11 (SIGSEGV - core dumped) after 12.5 seconds from start
RE_CHILD_SIGNAL = re.compile(r'''child\ \(?(?P<child>\d+)\)?\ exited\ on\ signal\ (?P<signal>\d+)
                                 \ \((?P<name>SIG[A-Z0-9]+)(?P<rest>[^)]*)\)
                                 (?:\ after\ (?P<seconds>[\d.]+)\ seconds?\ from\ start)?''', re.X)
# WARNING: [pool www] child 4242, script '/srv/index.php' (request: "GET /index.php") executing too slow (5.1 sec)
RE_SLOW = re.compile(r'''child\ (?P<child>\d+),\ script\ '(?P<script>.*)'\ \(request:\ "(?P<request>.*)"\)
                         \ (?P<what>executing\ too\ slow|execution\ timed\ out)\ \((?P<seconds>[\d.]+)\ sec\)''', re.X)
RE_CHILD_SAY = re.compile(r'unable to read what child say')
RE_BUSY = re.compile(r'seems busy \(.*\), spawning (\d+) children')
RE_SAID = re.compile(r'child (\d+) said into std(?:err|out): "(.*)"?$')
RE_LISTEN = re.compile(r"unable to bind listening socket for address '([^']*)'")

#: PHP-FPM kinds, by the catalog id they point at; signals 15 (SIGTERM) and 3 (SIGQUIT) are what FPM
#: itself sends (request_terminate_timeout, reload), so they are child_terminated, not a crash
FPM_KINDS = _kinds_by_cause({
    'pool_exhausted': ('max_children', 'busy'),
    'backend_crash': ('child_signal', 'child_io', 'php_memory'),
    None: ('child_terminated',),
    'upstream_timeout': ('slow', 'exec_timeout'),
    'upstream_down': ('listen_failed', 'fpm_init_failed'),
})


def _fpm_entry(line):
    """(level, body) of a PHP-FPM log line in file, syslog or plain form, or (None, None)."""
    m = FPM_FILE_LINE.match(line)
    if m:
        return m.group('level'), m.group('body')
    rest = None
    m = SYSLOG_PREFIX.match(line)
    if m:
        rest = line[m.end():]
    else:
        m = ISO_PREFIX.match(line)
        if m and m.group('prog'):
            rest = line[m.end():]
    if rest is None:
        rest = line.strip()
    m = FPM_SYSLOG_BODY.match(rest) or FPM_PLAIN_BODY.match(rest)
    if m:
        return m.group('level'), m.group('body')
    return None, None


#: the messages whose one number is the record's value: the max_children setting, the children spawned
_FPM_COUNTS = ((RE_MAX_CHILDREN, 'max_children'), (RE_BUSY, 'busy'))


def _fpm_match(body, rec):
    """Fill rec for a PHP-FPM message body; return the kind or None."""
    for regex, kind in _FPM_COUNTS:
        m = regex.search(body)
        if m:
            rec['value'] = int(m.group(1))
            return kind
    m = RE_CHILD_SIGNAL.search(body)
    if m:
        rec['child'] = int(m.group('child'))
        rec['signal'] = int(m.group('signal'))
        rec['signal_name'] = m.group('name')
        rec['core_dumped'] = 'core dumped' in m.group('rest')
        rec['value'] = float(m.group('seconds')) if m.group('seconds') else None
        return 'child_terminated' if rec['signal'] in (3, 15) else 'child_signal'
    m = RE_SLOW.search(body)
    if m:
        rec['child'] = int(m.group('child'))
        rec['script'] = m.group('script')
        rec['request'] = m.group('request')
        rec['value'] = float(m.group('seconds'))
        return 'slow' if m.group('what') == 'executing too slow' else 'exec_timeout'
    if RE_CHILD_SAY.search(body):
        return 'child_io'
    m = RE_SAID.search(body)
    if m:
        rec['child'] = int(m.group(1))
        mem = RE_MEMORY.search(m.group(2))
        if mem:
            rec['value'] = int(mem.group(1))
            return 'php_memory'
        return None
    m = RE_LISTEN.search(body)
    if m:
        rec['socket'] = m.group(1) if m.group(1).startswith('/') else None
        rec['address'] = m.group(1)
        return 'listen_failed'
    if 'FPM initialization failed' in body:
        return 'fpm_init_failed'
    return None


def classify_fpm_line(line):
    """Classify one PHP-FPM log line (``[22-Nov-2026 08:17:43] WARNING: [pool www] ...``, or its syslog form).

    Returns None (NOTICE lines, lines about nothing that makes a 502/504) or
    a dict: source ('php-fpm'), line, time, epoch, level, pool, kind,
    catalog, message (the text after the level and pool), child (pid or
    None), signal (int or None), signal_name, core_dumped, value (the
    max_children number, seconds for slow/exec_timeout/child_signal, children
    spawned for busy, memory_limit bytes for php_memory), script, request,
    socket, address.
    """
    if not line:
        return None
    line = line.rstrip('\r\n')
    level, body = _fpm_entry(line)
    if level is None or level in ('NOTICE', 'DEBUG'):
        return None
    pool = None
    m = FPM_POOL.match(body)
    if m:
        pool = m.group(1)
        body = body[m.end():]
    rec = {
        'source': 'php-fpm', 'line': line, 'time': None, 'epoch': None, 'level': level, 'pool': pool,
        'kind': None, 'catalog': None, 'message': body, 'child': None, 'signal': None, 'signal_name': None,
        'core_dumped': None, 'value': None, 'script': None, 'request': None, 'socket': None, 'address': None,
    }
    kind = _fpm_match(body, rec)
    if kind is None:
        return None
    rec['kind'] = kind
    rec['catalog'] = FPM_KINDS[kind]
    rec['time'], rec['epoch'] = _prefix_time(line)
    return rec


RE_OOM = re.compile(r'(Memory cgroup )?[Oo]ut of memory(?: \([^)]*\))?: Kill(?:ed)? process (\d+) \(([^)]*)\)'
                    r'(?:.*?total-vm:(\d+)kB, anon-rss:(\d+)kB)?')


def classify_kernel_line(line, boot=None):
    """Classify one kernel log line (dmesg, journal, kern.log, syslog).

    ``Out of memory: Killed process 1234 (php-fpm8.2) total-vm:...`` (also the
    older ``Kill process N (x) score S or sacrifice child`` and ``Memory
    cgroup out of memory: ...``) -> oom_kill / resource_limits.  Returns None
    or a dict: source ('kernel'), line, time, epoch, level (None), kind,
    catalog, message, pid, process, name (the process name as well), cgroup
    (bool), total_vm_kb, anon_rss_kb, value (anon_rss_kb).  A dmesg line
    (``[  450.980219] ...``, seconds since boot) gets its epoch from ``boot``
    (see boot_time and dmesg_time) and ``time`` in RFC 3339 form (UTC); without
    ``boot`` both are None.
    """
    if not line:
        return None
    line = line.rstrip('\r\n')
    m = RE_OOM.search(line)
    if not m:
        return None
    stamp, epoch = _prefix_time(line)
    if stamp is None:
        epoch = dmesg_time(line, boot)
        if epoch is not None:
            seconds, micro = divmod(int(round(epoch * 1000000)), 1000000)
            stamp = '%s.%06d+00:00' % (time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds)), micro)
    anon = int(m.group(5)) if m.group(5) else None
    return {
        'source': 'kernel', 'line': line, 'time': stamp, 'epoch': epoch, 'level': None,
        'kind': 'oom_kill', 'catalog': 'resource_limits', 'message': line[m.start():],
        'pid': int(m.group(2)), 'process': m.group(3), 'name': m.group(3), 'cgroup': bool(m.group(1)),
        'total_vm_kb': int(m.group(4)) if m.group(4) else None, 'anon_rss_kb': anon, 'value': anon,
    }


# ---------------------------------------------------------------------------
# Redaction and summaries
# ---------------------------------------------------------------------------

RE_CLIENT_LOOSE = re.compile(r'(\bclient: )([^,\s]+)')
RE_APACHE_CLIENT = re.compile(r'(\[(?:remote|client) )([^\]\s]+)(\])')
RE_QUOTED_LOOSE = re.compile(r'(\b(?:request|subrequest|upstream|referrer): ")([^"]*)(")')
RE_APACHE_REFERER = re.compile(r'(, referer: )(\S+)')


def _redact_query(value, request=False):
    """Replace the query string of a URL or request line with REDACTED."""
    q = value.find('?')
    if q < 0:
        return value
    end = len(value)
    if request:
        proto = value.rfind(' HTTP/')
        if proto > q:
            end = proto
    if end == q + 1:
        return value
    return value[:q + 1] + REDACTED + value[end:]


def redact_line(line, query=True, client=True):
    """Hide query strings (request, subrequest, upstream, referrer) and client addresses in a raw log line."""
    if not line or not (query or client):
        return line
    message, fields, spans, start = _split_fields(line)
    if start is not None and fields:
        edits = []
        for key, (begin, end) in spans.items():
            value = line[begin:end]
            if client and key == 'client':
                edits.append((begin, end, REDACTED))
            elif query and key in ('request', 'subrequest', 'upstream', 'referrer'):
                new = _redact_query(value, request=(key == 'request'))
                if new != value:
                    edits.append((begin, end, new))
        out = line
        for begin, end, new in sorted(edits, reverse=True):
            out = out[:begin] + new + out[end:]
        head = message
        tail = out[len(message):]
    else:
        head, tail = line, ''
    # what is left (PHP-FPM slow lines, unparsed text)
    if query:
        head = RE_QUOTED_LOOSE.sub(lambda m: m.group(1) + _redact_query(m.group(2), request=True) + m.group(3), head)
        head = RE_APACHE_REFERER.sub(lambda m: m.group(1) + _redact_query(m.group(2)), head)
    if client:
        head = RE_CLIENT_LOOSE.sub(lambda m: m.group(1) + REDACTED, head)
        head = RE_APACHE_CLIENT.sub(lambda m: m.group(1) + REDACTED + m.group(3), head)
    return head + tail


GROUP_FIELDS = ('kind', 'catalog', 'source', 'upstream', 'server', 'host', 'socket', 'name', 'pool', 'client', 'request')


def _group_value(rec, field):
    if field == 'upstream':
        value = rec.get('upstream_addr') or rec.get('upstream')
        if value is None and rec.get('source') == 'nginx':
            # DNS errors carry no upstream field: the name is the upstream
            value = rec.get('name')
        return value
    return rec.get(field)


def summarize(records, key=('kind', 'upstream', 'server'), samples=3, redact=False):
    """Group classified records (None entries are skipped).

    Returns a list of dicts, sorted by count (descending) then kind: kind,
    catalog, source, upstream (scheme://peer without the URI; for nginx DNS
    errors, which have no upstream field, the name), server,
    host, socket, name, pool, client, request (these from the newest record
    of the group that has one), any other field named in ``key``, count,
    first_seen / last_seen (time as written), first_epoch / last_epoch, and
    samples (up to ``samples`` raw lines, the newest, oldest first).  Records
    are ordered by epoch, then by their position in ``records``.  With
    ``redact``, samples go through redact_line, client becomes REDACTED and
    the request loses its query string.
    """
    groups = {}
    order = []
    for index, rec in enumerate(records or ()):
        if not rec:
            continue
        gkey = tuple(_group_value(rec, f) for f in key)
        if gkey not in groups:
            groups[gkey] = []
            order.append(gkey)
        epoch = rec.get('epoch')
        groups[gkey].append(((epoch if epoch is not None else float('-inf')), index, rec))
    result = []
    for gkey in order:
        items = sorted(groups[gkey], key=lambda item: (item[0], item[1]))
        recs = [item[2] for item in items]
        group = {}
        for field in GROUP_FIELDS + tuple(f for f in key if f not in GROUP_FIELDS):
            value = None
            for rec in reversed(recs):
                value = _group_value(rec, field)
                if value is not None:
                    break
            group[field] = value
        for field, value in zip(key, gkey):
            group[field] = value
        epochs = [r.get('epoch') for r in recs if r.get('epoch') is not None]
        group['count'] = len(recs)
        group['first_seen'] = recs[0].get('time')
        group['last_seen'] = recs[-1].get('time')
        group['first_epoch'] = min(epochs) if epochs else None
        group['last_epoch'] = max(epochs) if epochs else None
        lines = [r.get('line') for r in recs[-samples:]] if samples and samples > 0 else []
        if redact:
            lines = [redact_line(x) for x in lines]
            if group['client'] is not None:
                group['client'] = REDACTED
            if group['request'] is not None:
                group['request'] = _redact_query(group['request'], request=True)
        group['samples'] = lines
        result.append(group)
    result.sort(key=lambda g: (-g['count'], g['kind'] or '', repr(tuple(g.get(f) for f in key))))
    return result
