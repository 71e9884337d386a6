# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side helpers shared by the badgateway.nginx modules.

Everything here runs on the managed node and uses the Python standard
library only: finding the nginx binary, running it with an argument list
(never a shell string), parsing ``nginx -V`` and ``nginx -t`` output,
splitting an ``nginx -T`` dump into files, and, when ``nginx -T`` cannot
dump the configuration, reading the files directly while following
``include`` directives the way nginx does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import glob
import os
import re
import shlex
import stat

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_syntax as _syntax
from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run, which

SEARCH_DIRS = (
    '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/opt/nginx/sbin',
    '/usr/bin', '/usr/local/bin', '/sbin', '/bin',
)

DUMP_MARKER = re.compile(br'^# configuration file (?P<path>.+):\r?$', re.M)

# "nginx: [emerg] unknown directive "foo" in /etc/nginx/nginx.conf:12"
# "2026/11/22 08:17:43 [emerg] 4435#4435: open() "/x" failed (2: ...) in /etc/nginx/nginx.conf:3"
TEST_LINE = re.compile(
    r'^(?:nginx: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )'
    r'\[(?P<level>emerg|alert|crit|error|warn|notice|info|debug)\] '
    r'(?:\d+#\d+: )?'
    r'(?P<message>.*?)'
    r'(?: in (?P<file>/[^\n]*):(?P<line>\d+))?\s*$'
)
ERROR_LEVELS = ('emerg', 'alert', 'crit', 'error')

DEFAULT_MAX_FILE_SIZE = 16 * 1024 * 1024

# The argument spec of the options of the doc fragment badgateway.nginx.nginx_cli (which nginx a module runs:
# find_nginx, nginx_argv, resolve_paths; checked by _validate.nginx_paths_error), of its TIMEOUT variant
# (seconds each nginx command may take, at least 1: _validate.nginx_options_error) and of max_file_size.
NGINX_OPTIONS = dict(nginx_bin=dict(type='path'), config=dict(type='path'), prefix=dict(type='path'))
NGINX_TIMEOUT_OPTION = dict(type='int', default=30)
MAX_FILE_SIZE_OPTION = dict(type='int', default=DEFAULT_MAX_FILE_SIZE)


class NginxError(UserError):
    """nginx, its binary or its configuration cannot be used as asked (a message for the user)."""


def find_nginx(explicit=None, environ_path=None):
    """Return the path of the nginx binary, or raise NginxError."""
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise NginxError('nginx binary %s does not exist or is not executable' % explicit)
    found = which('nginx', SEARCH_DIRS, environ_path)
    if found:
        return found
    raise NginxError('nginx binary not found in PATH or %s; set nginx_bin' % ', '.join(SEARCH_DIRS))


def nginx_argv(binary, flag, config=None, prefix=None):
    argv = [binary, flag]
    if prefix:
        argv += ['-p', prefix]
    if config:
        argv += ['-c', config]
    return argv


def test_config(binary, config=None, prefix=None, timeout=30):
    """Run ``nginx -t``; return (rc, errors, warnings, argv), errors and warnings as parse_test_output gives them.

    A failure that printed no parsable message still gets one error, with the exit status or signal."""
    argv = nginx_argv(binary, '-t', config, prefix)
    rc, out, err = run(argv, timeout)
    errors, warnings = parse_test_output(err + out.decode('utf-8', 'replace'))
    if rc != 0 and not errors:
        reason = 'killed by signal %d' % -rc if rc < 0 else 'rc=%d' % rc
        errors.append({'level': 'emerg', 'file': None, 'line': None,
                       'message': 'nginx -t failed (%s): %s' % (reason, err.strip()[-500:] or 'no output')})
    return rc, errors, warnings, argv


def parse_version(text):
    """Parse ``nginx -V`` output (stderr) into a dict."""
    info = {'version': None, 'product': None, 'built_with': None,
            'configure_arguments': [], 'modules': [], 'paths': {}}
    for line in text.splitlines():
        if line.startswith('nginx version: '):
            product = line[len('nginx version: '):].strip()
            info['product'] = product
            m = re.search(r'/(\d+(?:\.\d+)+)', product)
            if m:
                info['version'] = m.group(1)
        elif line.startswith('built with '):
            info['built_with'] = line[len('built with '):].strip()
        elif line.startswith('configure arguments:'):
            raw = line[len('configure arguments:'):].strip()
            try:
                args = shlex.split(raw)
            except ValueError:
                args = raw.split()
            info['configure_arguments'] = args
            for a in args:
                if a.startswith('--') and '=' in a:
                    key, value = a[2:].split('=', 1)
                    if key in ('prefix', 'conf-path', 'error-log-path', 'http-log-path', 'pid-path',
                               'modules-path', 'user', 'group', 'sbin-path', 'lock-path'):
                        info['paths'][key.replace('-', '_')] = value
                    elif key in ('add-module', 'add-dynamic-module'):
                        info['modules'].append(os.path.basename(value.rstrip('/')))
                    elif key.startswith('with-') and key.endswith('_module'):
                        info['modules'].append(key[5:] + ('' if value == 'dynamic' else ''))
                elif a.startswith('--with-') and a.endswith('_module'):
                    info['modules'].append(a[7:])
    return info


def resolve_paths(version_info, config=None, prefix=None):
    """Work out prefix, main config path and conf prefix the way nginx does."""
    paths = version_info.get('paths', {})
    pfx = prefix or paths.get('prefix') or '/usr/local/nginx/'
    if not pfx.endswith('/'):
        pfx += '/'
    conf = config or paths.get('conf_path') or 'conf/nginx.conf'
    if not os.path.isabs(conf):
        conf = os.path.join(pfx, conf)
    conf_prefix = os.path.dirname(conf) + '/'
    return pfx, conf, conf_prefix


def parse_test_output(text):
    """Parse the stderr of ``nginx -t``/``-T`` into (errors, warnings).

    Each item is {level, message, file, line}; file and line are None when
    nginx did not name a place.
    """
    errors, warnings = [], []
    for raw in text.splitlines():
        m = TEST_LINE.match(raw.rstrip())
        if not m:
            continue
        item = {
            'level': m.group('level'),
            'message': m.group('message'),
            'file': m.group('file'),
            'line': int(m.group('line')) if m.group('line') else None,
        }
        if item['level'] in ERROR_LEVELS:
            errors.append(item)
        elif item['level'] in ('warn', 'notice'):
            warnings.append(item)
    return errors, warnings


def describe(item):
    where = ''
    if item.get('file'):
        where = '%s:%s: ' % (item['file'], item['line']) if item.get('line') else '%s: ' % item['file']
    return '%s%s' % (where, item['message'])


def check_content(path, data, max_file_size, size=None, what='an nginx config'):
    """Reject binary or oversized content; decode the rest.

    Returns (text, warning or None).  Bytes that are not UTF-8 are replaced
    (nginx itself reads bytes) and reported as a warning with their line.
    size is the file's real size when data holds only its beginning; what
    names the kind of file in the messages.
    """
    if len(data) > max_file_size:
        raise NginxError('%s is %d bytes, larger than max_file_size (%d): not read as %s'
                         % (path, max(size or 0, len(data)), max_file_size, what))
    nul = data.find(b'\x00')
    if nul >= 0:
        raise NginxError('%s is a binary file (NUL byte on line %d), not %s'
                         % (path, data.count(b'\n', 0, nul) + 1, what))
    try:
        return data.decode('utf-8'), None
    except UnicodeDecodeError as e:
        line = data.count(b'\n', 0, e.start) + 1
        return (data.decode('utf-8', 'replace'),
                '%s:%d: bytes that are not UTF-8 were replaced with U+FFFD' % (path, line))


def split_dump(data, is_file=os.path.isfile):
    """Split ``nginx -T`` stdout into an ordered list of (path, bytes).

    A marker line only counts when it names a file that exists, so a
    comment that looks like a marker inside a config file stays content.
    """
    files = []
    marks = [m for m in DUMP_MARKER.finditer(data)
             if is_file(m.group('path').decode('utf-8', 'surrogateescape'))]
    for i, m in enumerate(marks):
        start = m.end() + 1  # skip the newline after the marker
        end = marks[i + 1].start() if i + 1 < len(marks) else len(data)
        content = data[start:end]
        # nginx writes one line feed after each file's content
        if content.endswith(b'\n'):
            content = content[:-1]
        files.append((m.group('path').decode('utf-8', 'replace'), content))
    return files


# --- include directives, found with nginx's own syntax rules (_nginx_syntax) ---

def include_statements(text, path):
    """Yield (line, args) for each ``include`` directive, at any depth, in file order.

    A syntax error ends the file where nginx stops reading it: the includes
    before it are yielded, none after (the controller parses the same text
    and reports the error at nginx's file:line).  path names the file in
    messages only.
    """
    if 'include' not in text:
        return
    root, dummy, dummy = _syntax.parse(text)
    for stmt in _syntax.walk(root):
        if stmt.name == 'include' and stmt.children is None:
            yield stmt.line, stmt.values


def expand_include(pattern, conf_prefix):
    """Files an include pattern names, as nginx resolves them (sorted globs)."""
    full = pattern if os.path.isabs(pattern) else os.path.join(conf_prefix, pattern)
    if glob.has_magic(full):
        return sorted(glob.glob(full)), True
    return [full], False


class NotRegularFile(IOError):
    """A configuration path that names a FIFO, socket, device or directory."""


FILE_KINDS = ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISSOCK, 'a socket'),
              (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'))


def _raise_not_regular(path, mode):
    kind = next((name for test, name in FILE_KINDS if test(mode)), 'a special file')
    raise NotRegularFile('%s is %s, not a regular file: not read' % (path, kind))


def open_regular(path):
    """Open path for reading in binary mode, or raise NotRegularFile without ever blocking on it.

    Opened with O_NONBLOCK (a FIFO opens at once) and judged by fstat of what was opened (no race
    between a check and the open); a regular file reads as usual with O_NONBLOCK."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, 'O_NOCTTY', 0) | getattr(os, 'O_CLOEXEC', 0))
    except OSError as e:
        if e.errno == errno.ENXIO:  # a unix socket (or a device without its driver)
            _raise_not_regular(path, os.stat(path).st_mode)
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            _raise_not_regular(path, mode)
        return os.fdopen(fd, 'rb')
    except BaseException:
        os.close(fd)
        raise


def read_config_tree(main, conf_prefix, max_file_size=DEFAULT_MAX_FILE_SIZE):
    """Read the main config and every file it includes, recursively.

    Returns (files, errors, warnings): files is an ordered list of
    (path, text); errors are nginx-style {level, message, file, line} for
    includes that cannot be opened.  Raises NginxError for problems that
    make the whole configuration unreadable (main file missing, include
    loop, binary or oversized file).
    """
    if not os.path.exists(main):
        raise NginxError('nginx config %s does not exist' % main)
    files = []
    seen = {}
    done = set()
    errors, warnings = [], []

    def read(path):
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            # read what fstat announced plus one byte, and on if the file grew
            data = f.read(min(size, max_file_size) + 1)
            while len(data) <= max_file_size:
                more = f.read(max_file_size + 1 - len(data))
                if not more:
                    break
                data += more
        text, warning = check_content(path, data, max_file_size, size)
        if warning:
            warnings.append(warning)
        return text

    def walk(path, stack):
        text = seen[path]
        for line, args in include_statements(text, path):
            if len(args) != 1:
                continue
            names, globbed = expand_include(args[0], conf_prefix)
            for name in names:
                if name in stack:
                    chain = ' -> '.join(list(stack) + [name])
                    raise NginxError('include loop: %s (at %s:%d)' % (chain, path, line))
                if name in done:
                    continue
                try:
                    seen[name] = read(name)
                except NotRegularFile as e:
                    errors.append({'level': 'emerg', 'file': path, 'line': line, 'message': str(e)})
                    continue
                except (IOError, OSError) as e:
                    if globbed and not os.path.exists(name):
                        continue
                    errors.append({'level': 'emerg', 'file': path, 'line': line,
                                   'message': 'open() "%s" failed (%d: %s)' % (name, e.errno or 0, e.strerror)})
                    continue
                files.append((name, seen[name]))
                walk(name, stack + (name,))
        done.add(path)

    try:
        seen[main] = read(main)
    except NotRegularFile as e:
        raise NginxError('nginx config %s' % e)
    except (IOError, OSError) as e:
        raise NginxError('cannot read nginx config %s: %s' % (main, e.strerror or e))
    files.append((main, seen[main]))
    walk(main, (main,))
    return files, errors, warnings
