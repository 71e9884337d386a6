# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side helpers for PHP-FPM, the usual FastCGI upstream behind nginx.

Everything here runs on the managed node and uses the Python standard
library only: finding PHP-FPM's configuration files and binary, reading a
configuration the way PHP-FPM does (INI lines, ``include`` globs, pools
split across files, ``$pool``), applying PHP-FPM's defaults, listing the
running masters and pool children from ``/proc``, and running
``php-fpm -t``.

The parser mirrors what php-fpm 8.2 does, checked against the real binary
(``php-fpm8.2 -tt`` dumps the effective configuration):

* every line is parsed on its own (php-fpm hands each line to PHP's INI
  parser); ``;`` starts a comment, ``#`` does not (since PHP 7 a ``#`` line
  is an error: "value is NULL for a ZEND_INI_PARSER_ENTRY");
* an unquoted value ends at ``;``, loses its trailing blanks, and may not
  contain ``=``; ``yes``/``on``/``true`` become ``1`` and
  ``no``/``off``/``false``/``none``/``null`` become an empty string;
  quoted parts are concatenated (``"a" b`` is ``ab``);
* section names are compared without case; ``[global]`` switches back to
  the global section, any other name is a pool, and a pool named again
  (in the same or another file) is the same pool: later keys override;
* ``include`` is expanded at the line where it stands; a relative pattern
  is relative to the prefix (``-p``, default ``/usr``; ``/usr/local`` for
  the official docker images); the section that is current at the end of
  the included files stays current in the including file; a pattern that
  matches nothing only gives a warning, a pattern whose directory does not
  exist is fatal, and at most 5 files may be nested;
* ``php_value[...]``, ``php_admin_value[...]`` and ``env[...]`` defined
  twice keep their FIRST value, and a ``php_admin_value`` beats a
  ``php_value`` of the same name (checked with a FastCGI request);
* ``listen.owner``/``listen.group`` unset: the socket belongs to the user
  and group of the master process (root); ``listen.owner`` set without
  ``listen.group``: the group is the owner's primary group; ``listen.mode``
  unset: 0660; ``listen.acl_users``/``listen.acl_groups`` set: owner and
  group are ignored.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import grp
import os
import pwd
import re

from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run as _default_run, search_path
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import NginxError, check_content

DEFAULT_MAX_FILE_SIZE = 4 * 1024 * 1024
MAX_INCLUDE_DEPTH = 5  # php-fpm: "failed to include more than 5 files recursively"
REDACTED = '********'

# Main configuration files, by distribution (host paths, globbed, sorted).
CONFIG_PATTERNS = (
    '/etc/php/*/fpm/php-fpm.conf',              # Debian, Ubuntu (every version)
    '/etc/php-fpm.conf',                        # RHEL, Fedora, Amazon Linux (pools in /etc/php-fpm.d)
    '/etc/opt/remi/php*/php-fpm.conf',          # Remi's software collections
    '/usr/local/etc/php-fpm.conf',              # official docker images, FreeBSD
    '/opt/plesk/php/*/etc/php-fpm.conf',        # Plesk
    '/opt/cpanel/ea-php*/root/etc/php-fpm.conf',  # cPanel EasyApache
    '/etc/php*/php-fpm.conf',                   # Alpine (php82), Arch (/etc/php)
    '/etc/php*/fpm/php-fpm.conf',               # openSUSE (php8)
)

SEARCH_DIRS = ('/usr/sbin', '/usr/local/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin')


def _by_type(**names):
    """{directive: type} from the directive names of each type (a string of names, blank-separated)."""
    return {name: kind for kind, words in names.items() for name in words.split()}


#: the directives of [global], by the type of their value
GLOBAL_KEYS = _by_type(
    str='pid error_log syslog.ident syslog.facility events.mechanism',
    int='log_limit emergency_restart_threshold process.max process.priority rlimit_files',
    bool='log_buffering daemonize',
    time='emergency_restart_interval process_control_timeout systemd_interval',
    log_level='log_level',
    rlimit='rlimit_core',
)

#: the directives of a pool, by the type of their value
POOL_KEYS = _by_type(
    str=('prefix user group listen listen.acl_users listen.acl_groups listen.owner '
         'listen.group listen.mode listen.allowed_clients pm.status_path pm.status_listen '
         'ping.path ping.response access.log access.format slowlog chroot chdir '
         'security.limit_extensions apparmor_hat'),
    int=('listen.backlog listen.setfib process.priority pm.max_children pm.start_servers '
         'pm.min_spare_servers pm.max_spare_servers pm.max_spawn_rate pm.max_requests '
         'request_slowlog_trace_depth rlimit_files'),
    bool=('process.dumpable request_terminate_timeout_track_finished catch_workers_output '
          'decorate_workers_output clear_env'),
    time='pm.process_idle_timeout request_slowlog_timeout request_terminate_timeout',
    pm='pm',
    rlimit='rlimit_core',
)

# name[key] = value directives (names are case-sensitive in php-fpm)
ARRAY_KEYS = ('env', 'php_value', 'php_admin_value', 'php_flag', 'php_admin_flag', 'access.suppress_path')

TRUE_WORDS = ('true', 'on', 'yes')
FALSE_WORDS = ('false', 'off', 'no', 'none', 'null')
LOG_LEVELS = ('debug', 'notice', 'warning', 'warn', 'error', 'alert')

SECRET_NAME = re.compile(r'pass|pwd|(?:^|[._-])pw(?:$|[._-])|secret|token|key|licen[cs]e|credential|auth', re.I)
SAFE_ENV = ('PATH', 'TMP', 'TMPDIR', 'TEMP', 'HOSTNAME', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'USER')

_KEY = re.compile(r'^(?P<key>[^=\t;&|^$~(){}!"\[\]]+?)[ \t]*(?:\[(?P<offset>[^\]]*)\][ \t]*)?=[ \t]*(?P<value>.*)$')
_OPERATORS = '&|^~()!'

# "[22-Nov-2026 09:01:47] ERROR: message"  (the time stamp is absent when
# php-fpm logs to a terminal or to systemd; log_level=debug adds "pid N, func(), line N: ")
_TEST_LINE = re.compile(r'^(?:\[[^\]]*\]\s+)?(?P<level>DEBUG|NOTICE|WARNING|ERROR|ALERT|SYSERROR):\s+'
                        r'(?:pid \d+, [^,]*, line \d+: )?(?P<message>.*)$')
_PHP_LINE = re.compile(r'^PHP(?: (?P<kind>[A-Za-z ]+?))?:\s+(?P<message>.*)$')
_SUCCESS = re.compile(r'configuration file (?P<file>.+) test is successful')


# --- small helpers ----------------------------------------------------------

def _atoi(text):
    """C's atoi(): optional blanks and sign, then digits; anything else stops it."""
    m = re.match(r'\s*([-+]?\d+)', text or '')
    return int(m.group(1)) if m else 0


def parse_time(value):
    """Seconds for a PHP-FPM time value (``30``, ``30s``, ``5m``, ``1h``, ``1d``).

    Returns (seconds, error message or None), with php-fpm's own messages.
    """
    if value is None or value == '':
        return None, 'invalid time value'
    suffix = value[-1]
    if suffix in 'mhd':
        return _atoi(value[:-1]) * {'m': 60, 'h': 3600, 'd': 86400}[suffix], None
    if suffix == 's':
        return _atoi(value[:-1]), None
    if not suffix.isdigit():
        return None, 'unknown suffix used in time value'
    return _atoi(value), None


def _valid_int(value):
    body = value[1:] if value.startswith('-') else value
    return all(c.isdigit() for c in body)


def parse_listen(value):
    """Split a ``listen`` value the way php-fpm does.

    A value with a ``:`` or made of digits only is TCP; anything else is a
    unix socket path.  ``9000`` alone listens on all addresses (IPv6 and
    IPv4); ``[::1]:9000`` loses its brackets; ``*:9000`` is NOT a wildcard
    for php-fpm 8.2 (it resolves ``*`` as a host name), so it is reported
    as written.
    """
    info = {'listen_kind': None, 'listen_path': None, 'listen_host': None, 'listen_port': None,
            'listen_all_addresses': False}
    if not value:
        return info
    if ':' in value:
        host, _sep, port = value.rpartition(':')
        if host.startswith('[') and host.endswith(']'):
            host = host[1:-1]
        info.update(listen_kind='tcp', listen_host=host, listen_port=_atoi(port) if port.isdigit() else None)
    elif value.isdigit():
        info.update(listen_kind='tcp', listen_port=int(value), listen_all_addresses=True)
    else:
        info.update(listen_kind='unix', listen_path=value)
    return info


def memory_bytes(value):
    """Bytes for a PHP size (``128M``, ``1G``, ``-1``), or None when it is not one."""
    m = re.match(r'^\s*(-?\d+)\s*([kKmMgG]?)\s*$', value or '')
    if not m:
        return None
    number = int(m.group(1))
    if number < 0:
        return -1
    return number * {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[m.group(2).lower()]


def version_from_path(path):
    """PHP version named by a config or binary path ('8.2'), or None."""
    for pattern in (r'/etc/php/(\d+\.\d+)/', r'/opt/plesk/php/(\d+\.\d+)/', r'php-fpm(\d+\.\d+)$'):
        m = re.search(pattern, path)
        if m:
            return m.group(1)
    for pattern in (r'/remi/php(\d)(\d+)/', r'/ea-php(\d)(\d+)/', r'/etc/php(\d)(\d+)/', r'php-fpm(\d)(\d+)$'):
        m = re.search(pattern, path)
        if m:
            return '%s.%s' % (m.group(1), m.group(2))
    return None


def guess_prefix(config):
    """PHP-FPM's prefix (``-p``) for a config path, for relative includes and paths.

    The default is the prefix php-fpm was built with: /usr for distribution
    packages, /usr/local for the official docker images (whose php-fpm.conf
    has ``include=etc/php-fpm.d/*.conf``).
    """
    m = re.match(r'^/etc/opt/remi/(php\d+)/', config)
    if m:
        return '/opt/remi/%s/root/usr' % m.group(1)
    m = re.match(r'^(/opt/plesk/php/[^/]+)/', config)
    if m:
        return m.group(1)
    m = re.match(r'^(/opt/cpanel/ea-php\d+/root)/', config)
    if m:
        return m.group(1) + '/usr'
    if config.startswith('/usr/local/'):
        return '/usr/local'
    return '/usr'


def _full_path(value, prefix):
    """php-fpm's fpm_evaluate_full_path(): a relative path is under the prefix."""
    if not value or value.startswith('/'):
        return value
    return '%s/%s' % (prefix.rstrip('/'), value)


def _item(value, file, line, **extra):
    item = {'value': value, 'file': file, 'line': line}
    item.update(extra)
    return item


def _problem(level, file, line, message):
    return {'level': level, 'file': file, 'line': line, 'message': message}


# --- one INI line -------------------------------------------------------------

def _parse_value(text):
    """PHP's INI scanner on one value; returns (value, error or None)."""
    out = []
    i, n = 0, len(text)
    quoted = False
    expression = False
    while i < n:
        c = text[i]
        if c in ' \t':
            j = i
            while j < n and text[j] in ' \t':
                j += 1
            if j >= n or text[j] in ';"':
                i = j
                continue
            out.append(text[i:j])
            i = j
        elif c == ';':
            break
        elif c == '"':
            quoted = True
            j = i + 1
            buf = []
            while j < n and text[j] != '"':
                if text[j] == '\\' and j + 1 < n:
                    nxt = text[j + 1]
                    buf.append(nxt if nxt in '"\\$' else '\\' + nxt)
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if j >= n:
                return None, "syntax error, unexpected end of file, expecting TC_DOLLAR_CURLY or TC_QUOTED_STRING or '\"'"
            out.append(''.join(buf))
            i = j + 1
            while i < n and text[i] in ' \t':  # blanks after a closing quote are dropped
                i += 1
        elif c == "'":
            quoted = True
            j = text.find("'", i + 1)
            if j < 0:
                return None, "syntax error, unexpected '''"
            out.append(text[i + 1:j])
            i = j + 1
        elif c == '=':
            return None, "syntax error, unexpected '='"
        elif c in _OPERATORS:
            expression = True
            out.append(c)
            i += 1
        elif text.startswith('${', i):
            j = text.find('}', i)
            if j < 0:
                return None, "syntax error, unexpected end of file, expecting '}'"
            out.append(text[i:j + 1])  # expanded by php-fpm from its environment: kept as written
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t;"\'=' + _OPERATORS and not text.startswith('${', j):
                j += 1
            out.append(text[i:j])
            i = j
    value = ''.join(out)
    if not quoted and not expression:
        word = value.lower()
        if word in TRUE_WORDS:
            value = '1'
        elif word in FALSE_WORDS:
            value = ''
    return value, None


def parse_line(line):
    """Parse one line of a PHP-FPM config.

    Returns one of ``None`` (blank or comment), ``('section', name)``,
    ``('entry', key, offset or None, value)`` or ``('error', message)``.
    """
    s = line.rstrip('\r\n').lstrip(' \t')
    if not s.strip() or s.startswith(';'):
        return None
    if s.startswith('['):
        end = s.find(']')
        if end < 0:
            return ('error', "syntax error, unexpected end of file, expecting ']'")
        return ('section', s[1:end])
    m = _KEY.match(s)
    if not m:
        if '=' not in s and not any(c in s for c in '"[]$&|^~(){}!'):
            return ('error', 'value is NULL for a ZEND_INI_PARSER_ENTRY')
        eq = s.find('=')
        bad = [c for c in s[:eq if eq >= 0 else len(s)] if c in '"$&|^~(){}!\t']
        return ('error', "syntax error, unexpected '%s'" % (bad[0] if bad else '='))
    value, error = _parse_value(m.group('value'))
    if error:
        return ('error', error)
    offset = m.group('offset')
    return ('entry', m.group('key').strip(), offset.strip() if offset is not None else None, value)


# --- files ------------------------------------------------------------------------

class _Reader:
    """Maps host paths to files under root, and reads them with the limits."""

    def __init__(self, root, max_file_size):
        self.root = root or '/'
        self.max_file_size = max_file_size

    def local(self, path):
        if self.root == '/':
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def host(self, local):
        if self.root == '/':
            return local
        return '/' + os.path.relpath(local, self.root)

    def glob(self, pattern):
        if self.root == '/':
            return sorted(glob.glob(pattern))
        base = glob.escape(self.root.rstrip('/'))
        return sorted(self.host(p) for p in glob.glob(base + '/' + pattern.lstrip('/')))

    def read(self, path):
        """Return (text, warning); raise NginxError with a clear message."""
        local = self.local(path)
        try:
            with open(local, 'rb') as f:
                size = os.fstat(f.fileno()).st_size
                data = f.read(self.max_file_size + 1)
        except (IOError, OSError) as e:
            raise NginxError("failed to open configuration file '%s': %s (%d)" % (path, e.strerror or e, e.errno or 0))
        return check_content(path, data, self.max_file_size, size, 'a PHP-FPM config')


class _Accounts:
    """User and group names of the node (root '/': NSS via pwd/grp; else root's etc/passwd, etc/group)."""

    def __init__(self, reader):
        self.system = reader.root == '/'
        self.users = self.groups = None
        if not self.system:
            self.users = self._read(reader.local('/etc/passwd'))
            self.groups = self._read(reader.local('/etc/group'))

    @staticmethod
    def _read(path):
        try:
            with open(path, 'rb') as f:
                lines = f.read().decode('utf-8', 'replace').splitlines()
        except (IOError, OSError):
            return None
        return dict((p[0], p) for p in (ln.split(':') for ln in lines) if len(p) >= 4)

    def _known(self, name, lookup, names):
        """True, False, or None when it cannot be checked: a number, a name NSS knows (lookup, on the
        system itself), or one of names (read from the root's files; None when they could not be read)."""
        if name.isdigit():
            return True
        if self.system:
            try:
                lookup(name)
                return True
            except KeyError:
                return False
        return None if names is None else name in names

    def has_user(self, name):
        return self._known(name, pwd.getpwnam, self.users)

    def has_group(self, name):
        return self._known(name, grp.getgrnam, self.groups)


# --- the configuration ----------------------------------------------------------

def _new_pool(name, file, line):
    return {'name': name, 'file': file, 'line': line, 'sections': [{'file': file, 'line': line}],
            'settings': {}}


class _Parser:
    def __init__(self, reader, prefix):
        self.reader = reader
        self.prefix = prefix
        self.files = []
        self.errors = []
        self.warnings = []
        self.global_settings = {}
        self.includes = []
        self.pools = []
        self.by_name = {}
        self.current = None  # None: [global]; else the pool dict
        self.accounts = _Accounts(reader)

    def error(self, file, line, message, level='error'):
        self.errors.append(_problem(level, file, line, message))

    def warn(self, file, line, message):
        self.warnings.append(_problem('warning', file, line, message))

    def load(self, path, stack):
        try:
            text, warning = self.reader.read(path)
        except UserError as e:
            return str(e)
        if warning:
            self.warn(path, None, warning)
        self.files.append(path)
        lines = text.split('\n')
        for number, raw in enumerate(lines, 1):
            if number == len(lines) and not raw:
                break
            self.line(path, number, raw, stack)
        return None

    def line(self, path, number, raw, stack):
        parsed = parse_line(raw)
        if parsed is None:
            return
        if parsed[0] == 'error':
            self.error(path, number, parsed[1])
        elif parsed[0] == 'section':
            self.section(path, number, parsed[1])
        elif parsed[1] == 'include':
            self.include(path, number, parsed[3], stack)
        elif parsed[2] is not None:
            self.array(path, number, parsed[1], parsed[2], parsed[3])
        else:
            self.entry(path, number, parsed[1], parsed[3])

    def section(self, path, number, name):
        if name.lower() == 'global':
            self.current = None
            return
        pool = self.by_name.get(name.lower())
        if pool is None:
            pool = _new_pool(name, path, number)
            self.by_name[name.lower()] = pool
            self.pools.append(pool)
        else:
            pool['sections'].append({'file': path, 'line': number})
        self.current = pool

    def expand_pool(self, path, number, value):
        if '$pool' not in value:
            return value
        if self.current is None:
            self.error(path, number, "Can't use '$pool' when the pool is not defined")
            return value
        return value.replace('$pool', self.current['name'])

    def entry(self, path, number, key, value):
        lkey = key.lower()
        table = GLOBAL_KEYS if self.current is None else POOL_KEYS
        kind = table.get(lkey)
        if kind is None:
            self.error(path, number, "unknown entry '%s'" % key)
            return
        problem = None
        if kind == 'str':
            value = self.expand_pool(path, number, value)
        elif kind == 'int' and not _valid_int(value):
            problem = 'is not a valid number (greater or equal than zero)'
        elif kind == 'time':
            problem = parse_time(value)[1]
        elif kind == 'bool' and value not in ('1', ''):
            problem = 'invalid boolean value'
        elif kind == 'pm' and value.lower() not in ('static', 'dynamic', 'ondemand'):
            problem = 'invalid process manager (static, dynamic or ondemand)'
        elif kind == 'log_level' and value.lower() not in LOG_LEVELS:
            problem = "invalid value for 'log_level'"
        elif kind == 'rlimit' and value.lower() != 'unlimited' and (not _valid_int(value) or _atoi(value) < 0):
            problem = "must be greater than zero or 'unlimited'"
        if problem:
            self.error(path, number, "unable to parse value for entry '%s': %s" % (lkey, problem))
            return
        target = self.global_settings if self.current is None else self.current['settings']
        target[lkey] = _item(value, path, number)

    def array(self, path, number, name, key, value):
        if not key:
            self.error(path, number, "You must provide a key for field '%s'" % name)
            return
        if self.current is None:
            self.error(path, number, 'Array are not allowed in the global section')
            return
        if name not in ARRAY_KEYS:
            self.error(path, number, "unknown directive '%s'" % name)
            return
        if name == 'env' and not value:
            self.error(path, number, 'empty value')
            return
        if name in ('php_flag', 'php_admin_flag'):
            if value not in ('1', ''):
                self.error(path, number, "error while parsing '%s[%s]' : invalid boolean value" % (name, key))
                return
            value = '1' if value == '1' else '0'
            name = name.replace('flag', 'value')
        else:
            value = self.expand_pool(path, number, value)
        full = '%s[%s]' % (name, key)
        settings = self.current['settings']
        if name == 'access.suppress_path':
            settings.setdefault(name, _item([], path, number))['value'].append(value)
            return
        if full in settings:
            first = settings[full]
            self.warn(path, number, "%s is defined again in pool %s; PHP-FPM keeps the first definition (%s:%s)"
                      % (full, self.current['name'], first['file'], first['line']))
            return
        settings[full] = _item(value, path, number)

    def include(self, path, number, pattern, stack):
        pattern = self.expand_pool(path, number, pattern)
        full = _full_path(pattern, self.prefix)
        entry = {'value': pattern, 'path': full, 'file': path, 'line': number,
                 'section': 'global' if self.current is None else self.current['name'], 'files': []}
        self.includes.append(entry)
        if not full:
            self.error(path, number, 'include with an empty value')
            return
        parts = full.split('/')
        magic = [i for i, part in enumerate(parts) if glob.has_magic(part)]
        if magic:
            directory = '/'.join(parts[:magic[0]]) or '/'
            if not os.path.isdir(self.reader.local(directory)):
                self.error(path, number, "Unable to globalize '%s' (ret=2): directory %s does not exist" % (full, directory))
                return
            names = [p for p in self.reader.glob(full) if not os.path.isdir(self.reader.local(p))]
            if not names:
                self.warn(path, number, "Nothing matches the include pattern '%s'" % full)
                return
        else:
            local = self.reader.local(full)
            if not os.path.lexists(local):
                self.error(path, number, "included file %s does not exist (php-fpm only warns: "
                           "\"Nothing matches the include pattern '%s'\", and runs without it)" % (full, full),
                           level='warning')
                return
            if os.path.isdir(local):
                return
            names = [full]
        for name in names:
            entry['files'].append(name)
            if name in stack:
                self.error(path, number, 'include loop: %s -> %s' % (' -> '.join(stack), name))
                continue
            if len(stack) >= MAX_INCLUDE_DEPTH:
                self.error(path, number, 'failed to include more than %d files recursively (%s)'
                           % (MAX_INCLUDE_DEPTH, ' -> '.join(stack + (name,))))
                continue
            problem = self.load(name, stack + (name,))
            if problem:
                self.error(path, number, problem)


def _setting(pool, key):
    item = pool['settings'].get(key)
    return item['value'] if item else None


def _php_values(pool):
    """Effective php ini values of a pool: php_admin_value beats php_value."""
    values = {}
    for full, item in pool['settings'].items():
        for kind, admin in (('php_value[', False), ('php_admin_value[', True)):
            if full.startswith(kind):
                name = full[len(kind):-1]
                if admin or name not in values:
                    values[name] = {'value': item['value'], 'file': item['file'], 'line': item['line'], 'admin': admin}
    return values


def _finish_pool(pool, parser):
    """Convenience fields with php-fpm's defaults, and its start-up checks."""
    where = (pool['file'], pool['line'])
    name = pool['name']
    defaults = {}

    def fail(message, item=None):
        f, ln = (item['file'], item['line']) if item else where
        parser.error(f, ln, '[pool %s] %s' % (name, message))

    settings = pool['settings']
    prefix = _setting(pool, 'prefix')
    if prefix:
        prefix = _full_path(prefix, parser.prefix)
        if not os.path.isdir(parser.reader.local(prefix)):
            fail("the prefix '%s' does not exist or is not a directory" % prefix, settings['prefix'])
    pool['prefix'] = prefix
    pool_prefix = prefix or parser.prefix

    user = _setting(pool, 'user')
    if not user:
        fail('user has not been defined')
    accounts = parser.accounts
    for key, check, what in (('user', accounts.has_user, 'uid for user'), ('group', accounts.has_group, 'gid for group'),
                             ('listen.owner', accounts.has_user, 'uid for user'),
                             ('listen.group', accounts.has_group, 'gid for group')):
        value = _setting(pool, key)
        if value and check(value) is False:
            fail("cannot get %s '%s'" % (what, value), settings[key])
    pool['user'] = user
    pool['group'] = _setting(pool, 'group') or None
    if not pool['group']:
        defaults['group'] = 'primary group of user %s' % user if user else 'primary group of the pool user'

    listen = _setting(pool, 'listen')
    info = parse_listen(listen)
    if not listen:
        fail('no listen address have been defined!')
    elif info['listen_kind'] == 'unix' and not listen.startswith('/'):
        listen = _full_path(listen, pool_prefix)
        info = parse_listen(listen)
    pool['listen'] = listen or None
    pool.update(info)

    acl_users = _setting(pool, 'listen.acl_users')
    acl_groups = _setting(pool, 'listen.acl_groups')
    pool['listen_acl_users'] = [u.strip() for u in acl_users.split(',') if u.strip()] if acl_users else []
    pool['listen_acl_groups'] = [g.strip() for g in acl_groups.split(',') if g.strip()] if acl_groups else []
    owner = _setting(pool, 'listen.owner') or None
    group = _setting(pool, 'listen.group') or None
    if pool['listen_acl_users'] or pool['listen_acl_groups']:
        for key, value in (('listen.owner', owner), ('listen.group', group)):
            if value:
                item = settings[key]
                parser.warn(item['file'], item['line'], "[pool %s] ACL set, %s = '%s' is ignored" % (name, key, value))
        owner = group = None
        defaults['listen_owner'] = defaults['listen_group'] = 'ignored: listen.acl_users/listen.acl_groups are set (POSIX ACL on the socket)'
    else:
        if not owner:
            defaults['listen_owner'] = 'user of the master process (root when php-fpm starts as root)'
        if not group:
            defaults['listen_group'] = ('primary group of listen.owner %s' % owner) if owner else \
                'group of the master process (root when php-fpm starts as root)'
    pool['listen_owner'] = owner
    pool['listen_group'] = group
    mode = _setting(pool, 'listen.mode')
    if not mode:
        mode = '0660'
        defaults['listen_mode'] = '0660'
    pool['listen_mode'] = mode
    try:
        pool['listen_mode_int'] = int(mode, 8)
    except ValueError:
        pool['listen_mode_int'] = None
        item = settings['listen.mode']
        parser.warn(item['file'], item['line'], "[pool %s] listen.mode '%s' is not an octal mode" % (name, mode))
    clients = _setting(pool, 'listen.allowed_clients')
    pool['listen_allowed_clients'] = [c.strip() for c in clients.split(',') if c.strip()] if clients else []

    pm = (_setting(pool, 'pm') or '').lower() or None
    pool['pm'] = pm
    if pm is None:
        fail('the process manager is missing (static, dynamic or ondemand)')

    def number(key):
        value = _setting(pool, key)
        return _atoi(value) if value is not None else None

    max_children = number('pm.max_children')
    pool['max_children'] = max_children
    if max_children is None or max_children < 1:
        fail('pm.max_children must be a positive value', settings.get('pm.max_children'))
    start, low, high = number('pm.start_servers'), number('pm.min_spare_servers'), number('pm.max_spare_servers')
    if pm == 'dynamic' and max_children and max_children > 0:
        if not low or low <= 0:
            fail('pm.min_spare_servers(%d) must be a positive value' % (low or 0), settings.get('pm.min_spare_servers'))
        elif not high or high <= 0:
            fail('pm.max_spare_servers(%d) must be a positive value' % (high or 0), settings.get('pm.max_spare_servers'))
        elif low > max_children or high > max_children:
            fail('pm.min_spare_servers(%d) and pm.max_spare_servers(%d) cannot be greater than pm.max_children(%d)'
                 % (low, high, max_children))
        elif high < low:
            fail('pm.max_spare_servers(%d) must not be less than pm.min_spare_servers(%d)' % (high, low))
        elif not start or start <= 0:
            start = low + (high - low) // 2
            defaults['start_servers'] = 'min_spare_servers + (max_spare_servers - min_spare_servers) / 2 = %d' % start
        elif start < low or start > high:
            fail('pm.start_servers(%d) must not be less than pm.min_spare_servers(%d) and not greater than '
                 'pm.max_spare_servers(%d)' % (start, low, high), settings.get('pm.start_servers'))
    elif pm == 'ondemand':
        start = low = high = 0
    pool['start_servers'] = start or 0
    pool['min_spare_servers'] = low or 0
    pool['max_spare_servers'] = high or 0
    max_requests = number('pm.max_requests')
    if max_requests is None:
        max_requests = 0
        defaults['max_requests'] = '0 (children are never recycled)'
    pool['max_requests'] = max_requests
    idle = _setting(pool, 'pm.process_idle_timeout')
    pool['process_idle_timeout_seconds'] = parse_time(idle)[0] if idle else 10

    for key, field in (('request_terminate_timeout', 'request_terminate_timeout'),
                       ('request_slowlog_timeout', 'request_slowlog_timeout')):
        value = _setting(pool, key)
        if value is None:
            value = '0'
            defaults[field] = '0 (off)'
        pool[field] = value
        pool[field + '_seconds'] = parse_time(value)[0]
    slowlog = _setting(pool, 'slowlog') or None
    pool['slowlog'] = _full_path(slowlog, pool_prefix) if slowlog else None
    if pool['request_slowlog_timeout_seconds'] and not pool['slowlog']:
        fail("'slowlog' must be specified for use with 'request_slowlog_timeout'", settings.get('request_slowlog_timeout'))
    if pool['request_terminate_timeout_seconds'] and \
            (pool['request_slowlog_timeout_seconds'] or 0) > pool['request_terminate_timeout_seconds']:
        fail("'request_slowlog_timeout' (%d) can't be greater than 'request_terminate_timeout' (%d)"
             % (pool['request_slowlog_timeout_seconds'], pool['request_terminate_timeout_seconds']))

    access_log = _setting(pool, 'access.log') or None
    pool['access_log'] = _full_path(access_log, pool_prefix) if access_log else None
    pool['status_path'] = _setting(pool, 'pm.status_path') or None
    pool['ping_path'] = _setting(pool, 'ping.path') or None
    pool['chroot'] = _setting(pool, 'chroot') or None

    php = _php_values(pool)
    pool['php'] = php
    met = php.get('max_execution_time')
    pool['max_execution_time'] = _atoi(met['value']) if met and re.match(r'^\s*-?\d+\s*$', met['value']) else None
    pool['max_execution_time_source'] = ('php_admin_value' if met['admin'] else 'php_value') if met else None
    memory = php.get('memory_limit')
    pool['memory_limit'] = memory['value'] if memory else None
    pool['memory_limit_bytes'] = memory_bytes(memory['value']) if memory else None
    pool['defaults'] = defaults


def _secret(full):
    m = re.match(r'^(env|php_value|php_admin_value)\[(.*)\]$', full)
    if not m:
        return False
    if m.group(1) == 'env':
        return m.group(2) not in SAFE_ENV
    return bool(SECRET_NAME.search(m.group(2)))


def _redact(pool):
    for full, item in pool['settings'].items():
        if _secret(full):
            item['value'] = REDACTED
    for name, item in pool.get('php', {}).items():
        if SECRET_NAME.search(name):
            item['value'] = REDACTED


def _global_item(settings, key, default, resolve=None):
    item = settings.get(key)
    if item is None:
        item = _item(default, None, None, default=True)
    else:
        item = dict(item)
    if resolve:
        item['path'] = resolve(item['value'])
    return item


def parse_config(path, root='/', max_file_size=DEFAULT_MAX_FILE_SIZE, prefix=None):
    """Read a PHP-FPM configuration and every file it includes.

    path and every path in the result are host paths; files are read under
    root (tests point it at a temporary tree).  prefix is php-fpm's ``-p``
    (relative includes, listen sockets and logs are under it); by default it
    is guessed from the path (see guess_prefix()).  Never raises for bad
    input: problems are entries in ``errors`` (level ``error``: php-fpm
    would refuse the configuration; ``warning``: it would run, e.g. without
    a missing include) and ``warnings`` (notes).
    """
    prefix = prefix or guess_prefix(path)
    localstatedir = '/var' if prefix == '/usr' else prefix.rstrip('/') + '/var'
    parser = _Parser(_Reader(root, max_file_size), prefix)
    result = {'config': path, 'version': version_from_path(path), 'prefix': prefix,
              'global': {}, 'pools': [], 'files': parser.files, 'errors': parser.errors,
              'warnings': parser.warnings}
    try:
        problem = parser.load(path, (path,))
        if problem:
            parser.error(path, None, problem)
            return result
        for pool in parser.pools:
            _finish_pool(pool, parser)
        seen = {}
        for pool in parser.pools:
            if pool['listen']:
                other = seen.get(pool['listen'])
                if other:
                    parser.error(pool['file'], pool['line'], "[pool %s] unable to set listen address as it's already used in "
                                 "another pool '%s'" % (pool['name'], other))
                seen.setdefault(pool['listen'], pool['name'])
        if not parser.pools:
            parser.error(path, None, 'No pool defined. at least one pool section must be specified in config file')
    except Exception as e:  # pylint: disable=broad-except
        # a parser bug must not hide what was read so far
        parser.error(path, None, 'internal error while parsing: %s: %s' % (type(e).__name__, e))
    for pool in parser.pools:
        _redact(pool)
    settings = parser.global_settings

    def var_path(value):
        if value == 'syslog' or not value:
            return value
        return _full_path(value, localstatedir)

    result['global'] = {
        'pid': _global_item(settings, 'pid', None, var_path),
        'error_log': _global_item(settings, 'error_log', 'log/php-fpm.log', var_path),
        'log_level': _global_item(settings, 'log_level', 'notice'),
        'include': parser.includes,
        'settings': settings,
    }
    result['pools'] = parser.pools
    return result


def find_configs(root='/'):
    """Main PHP-FPM config files present under root, as sorted host paths."""
    reader = _Reader(root, 0)
    found = set()
    for pattern in CONFIG_PATTERNS:
        for path in reader.glob(pattern):
            if os.path.isfile(reader.local(path)):
                found.add(path)
    return sorted(found)


# --- binaries and php-fpm -t ------------------------------------------------------

def _version_key(path):
    version = version_from_path(path) or '0.0'
    return tuple(int(p) for p in version.split('.'))


def fpm_binary(version=None, root='/', environ_path=None):
    """Path of the php-fpm binary for a PHP version ('8.2'), or None.

    With a version: php-fpm8.2 (Debian), php-fpm82 (Alpine), the Remi,
    Plesk and cPanel locations, then a plain php-fpm (RHEL, docker images:
    one PHP per host).  Without: php-fpm, else the highest php-fpmX.Y.
    """
    reader = _Reader(root, 0)
    dirs = search_path(SEARCH_DIRS, environ_path)

    def usable(path):
        local = reader.local(path)
        return os.path.isfile(local) and os.access(local, os.X_OK)

    candidates = []
    if version:
        compact = version.replace('.', '')
        for d in dirs:
            candidates += [os.path.join(d, 'php-fpm' + version), os.path.join(d, 'php-fpm' + compact)]
        candidates += ['/opt/remi/php%s/root/usr/sbin/php-fpm' % compact, '/opt/plesk/php/%s/sbin/php-fpm' % version,
                       '/opt/cpanel/ea-php%s/root/usr/sbin/php-fpm' % compact]
    candidates += [os.path.join(d, 'php-fpm') for d in dirs]
    for path in candidates:
        if usable(path):
            return path
    if not version:
        versioned = []
        for d in dirs:
            versioned += [p for p in reader.glob(os.path.join(d, 'php-fpm[0-9]*')) if usable(p)]
        if versioned:
            return max(versioned, key=_version_key)  # the first found of the highest version
    return None


def parse_test_output(text):
    """Parse what ``php-fpm -t`` prints (on stderr) into (errors, warnings, success).

    Each item is {level, file, line, pool, message}; file, line and pool are
    None when php-fpm did not name them.  Note that php-fpm's "Unable to
    include X from F at line N" gives the line of the error inside X, not of
    the include in F (php-fpm does not restore its line counter).
    """
    errors, warnings = [], []
    success = False
    for raw in (text or '').splitlines():
        line = raw.rstrip()
        if not line:
            continue
        m = _TEST_LINE.match(line)
        if m:
            level, message = m.group('level').lower(), m.group('message')
        else:
            m = _PHP_LINE.match(line)
            if not m:
                continue
            kind = (m.group('kind') or '').lower()
            level = 'warning' if kind in ('warning', 'notice', 'deprecated') else 'error'
            message = m.group('message')
        if level == 'syserror':
            level = 'error'
        item = {'level': level, 'file': None, 'line': None, 'pool': None, 'message': message}
        place = re.match(r'^\[(?P<file>/[^\]]*?):(?P<line>\d+)\] (?P<rest>.*)$', message)
        if place:
            item.update(file=place.group('file'), line=int(place.group('line')), message=place.group('rest'))
        pool = re.match(r'^\[pool (?P<pool>[^\]]*)\] ', message)
        if pool:
            item['pool'] = pool.group('pool')
        origin = re.search(r" from (?P<file>/\S+) at line (?P<line>\d+)\.?$", message)
        if origin and not place:
            item.update(file=origin.group('file'), line=int(origin.group('line')))
        config = re.search(r"configuration file '(?P<file>[^']+)'", message)
        if config and not item['file']:
            item['file'] = config.group('file')
        done = _SUCCESS.search(message)
        if done:
            success = True
            continue
        if level in ('error', 'alert'):
            errors.append(item)
        elif level == 'warning':
            warnings.append(item)
    return errors, warnings, success


def test_config(binary, config, run=None, timeout=20):
    """Run ``php-fpm -t -y CONFIG`` (argument list, no shell) and parse it.

    Returns {valid, exit_status, errors, warnings, output}; valid is True
    when php-fpm exits 0 (it then prints "configuration file ... test is
    successful").  A binary that cannot be run or a timeout give
    valid=False, exit_status=None and one error.
    """
    run = run or _default_run
    argv = [binary, '-t', '-y', config]
    try:
        rc, out, err = run(argv, timeout)
    except UserError as e:
        return {'valid': False, 'exit_status': None, 'output': '', 'warnings': [],
                'errors': [{'level': 'error', 'file': None, 'line': None, 'pool': None, 'message': str(e)}]}
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    output = '\n'.join(part for part in (err or '', out or '') if part.strip())
    errors, warnings, success = parse_test_output(output)
    valid = rc == 0
    if not valid and not errors:
        errors.append({'level': 'error', 'file': None, 'line': None, 'pool': None,
                       'message': 'php-fpm -t exited with status %s' % rc})
    return {'valid': valid, 'exit_status': rc, 'errors': errors, 'warnings': warnings,
            'output': output, 'success_line': success}


# --- running processes ----------------------------------------------------------

def _user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except (KeyError, OverflowError):
        return str(uid)


def _config_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg in ('-y', '--fpm-config') and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith('--fpm-config='):
            return arg.split('=', 1)[1]
        if arg.startswith('-y') and len(arg) > 2:
            return arg[2:]
    return None


def pool_processes(proc='/proc', user_name=None):
    """Running PHP-FPM masters and pool children, from /proc.

    Returns {master: [{pid, config, rss_kb, uid, user, version, pools}],
    pools: {name: {children, pids, rss_kb_total, rss_kb_avg, rss_kb_max,
    users, masters}}, errors}.  Children are recognised by their title
    ``php-fpm: pool NAME``, masters by ``php-fpm: master process (CONFIG)``
    (or an untitled php-fpm* command line).  user_name maps a uid to a name
    (default: the node's passwd, else the number).

    Only processes of our pid and mount namespaces count: the masters of
    other namespaces (containers on this host) are in set_aside
    ([{pid, comm, reason, config, pools}], their pool children with them).
    """
    user_name = user_name or _user_name
    result = {'master': [], 'pools': {}, 'errors': [], 'set_aside': []}
    try:
        os.listdir(proc)
    except OSError as e:
        result['errors'].append({'level': 'error', 'file': proc, 'line': None,
                                 'message': 'cannot list %s: %s' % (proc, e.strerror or e)})
        return result
    entries = procfs.pids(proc)
    masters = {}
    children = []
    mine = procfs.own_namespaces(proc)
    aside = {}
    foreign_children = []
    for pid in entries:
        argv = procfs.argv(pid, proc)
        if not argv:
            continue
        title = argv[0] if len(argv) == 1 or not any(argv[1:]) else ' '.join(a for a in argv if a)
        kind = config = pool = None
        if title.startswith('php-fpm: master process'):
            kind = 'master'
            m = re.match(r'^php-fpm: master process \((.*)\)\s*$', title)
            config = m.group(1) if m else None
        elif title.startswith('php-fpm: pool '):
            kind = 'child'
            pool = title[len('php-fpm: pool '):]
        elif os.path.basename(argv[0]).startswith('php-fpm'):
            kind = 'master'
            config = _config_from_argv(argv)
        if kind is None:
            continue
        status = procfs.status(pid, proc)
        if status is None:
            continue  # the process ended while we looked, or is not ours to read
        reason = procfs.foreign_reason(pid, proc, mine=mine)
        if reason:
            if kind == 'master':
                aside[pid] = dict(procfs.set_aside_entry(pid, reason, proc), config=config, pools=[])
            else:
                foreign_children.append((pool, pid, _atoi(status.get('PPid', '0')), reason))
            continue
        rss = _atoi(status.get('VmRSS', '0').split()[0]) if status.get('VmRSS') else 0
        uids = status.get('Uid', '').split()
        uid = _atoi(uids[1] if len(uids) > 1 else uids[0]) if uids else None
        ppid = _atoi(status.get('PPid', '0'))
        if kind == 'master':
            name = status.get('Name', '')
            masters[pid] = {'pid': pid, 'config': config, 'rss_kb': rss, 'uid': uid,
                            'user': user_name(uid) if uid is not None else None,
                            'version': version_from_path(name) or version_from_path(argv[0]), 'pools': []}
        else:
            children.append((pool, pid, ppid, rss, uid))
    for pool, pid, ppid, reason in foreign_children:
        entry = aside.get(ppid) or aside.setdefault(pid, dict(procfs.set_aside_entry(pid, reason, proc),
                                                              config=None, pools=[]))
        if pool not in entry['pools']:
            entry['pools'].append(pool)
    for pool, pid, ppid, rss, uid in children:
        info = result['pools'].setdefault(pool, {'children': 0, 'pids': [], 'rss_kb_total': 0, 'rss_kb_avg': 0,
                                                 'rss_kb_max': 0, 'users': [], 'masters': []})
        info['children'] += 1
        info['pids'].append(pid)
        info['rss_kb_total'] += rss
        info['rss_kb_max'] = max(info['rss_kb_max'], rss)
        user = user_name(uid) if uid is not None else None
        if user is not None and user not in info['users']:
            info['users'].append(user)
        if ppid not in info['masters']:
            info['masters'].append(ppid)
        if ppid in masters and pool not in masters[ppid]['pools']:
            masters[ppid]['pools'].append(pool)
    for info in result['pools'].values():
        info['rss_kb_avg'] = int(info['rss_kb_total'] / info['children'] + 0.5)
    result['master'] = [masters[pid] for pid in sorted(masters)]
    result['set_aside'] = [aside[k] for k in sorted(aside)]
    return result


def default_prefix(binary, run=None, timeout=20):
    """The prefix php-fpm was built with, from ``php-fpm -h`` ("default: /usr"), or None."""
    run = run or _default_run
    try:
        _rc, out, err = run([binary, '-h'], timeout)
    except UserError:
        return None
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    m = re.search(r'prefix path to FastCGI process manager \(default: ([^)]+)\)', (out or '') + (err or ''), re.S)
    return m.group(1).strip() if m else None
