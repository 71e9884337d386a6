# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Controller-side model of an nginx configuration.

Takes what the ``nginx_facts`` module collected on the node (the files of
the configuration as text, in the order nginx read them) and turns it into
the ``ansible_facts.nginx`` structure: files are parsed with nginx's own
syntax rules (module_utils/_nginx_syntax, the tokenizer of ngx_conf_file.c;
crossplane is only a test oracle), ``include`` directives are resolved
against the collected files the way nginx resolves them (relative to the conf prefix, globs sorted), and
every location's effective upstream settings are computed with nginx's
inheritance rules (http -> server -> location, array directives such as
``proxy_set_header`` replaced as a whole by a level that sets any).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import json
import re
import time
import uuid

from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_syntax
from ansible_collections.badgateway.nginx.plugins.module_utils import _redact as _redact_rule


class ConfigError(Exception):
    """The configuration cannot be turned into trustworthy facts."""


PASS_DIRECTIVES = {
    'proxy_pass': 'proxy',
    'fastcgi_pass': 'fastcgi',
    'uwsgi_pass': 'uwsgi',
    'scgi_pass': 'scgi',
    'grpc_pass': 'grpc',
    'memcached_pass': 'memcached',
}

DEFAULT_SCHEME = {
    'proxy': 'http', 'fastcgi': 'fastcgi', 'uwsgi': 'uwsgi', 'scgi': 'scgi',
    'grpc': 'grpc', 'memcached': 'memcached',
}
DEFAULT_PORT = {'http': 80, 'https': 443, 'grpc': 80, 'grpcs': 443}

TIMEOUT_KINDS = ('connect', 'send', 'read')
BUFFER_DEFAULTS = {
    'proxy': (('buffer_size', '4k'), ('buffers', '8 4k'), ('busy_buffers_size', '8k'), ('buffering', 'on')),
    'fastcgi': (('buffer_size', '4k'), ('buffers', '8 4k'), ('busy_buffers_size', '8k'), ('buffering', 'on')),
    'uwsgi': (('buffer_size', '4k'), ('buffers', '8 4k'), ('busy_buffers_size', '8k'), ('buffering', 'on')),
    'scgi': (('buffer_size', '4k'), ('buffers', '8 4k'), ('busy_buffers_size', '8k'), ('buffering', 'on')),
    'grpc': (('buffer_size', '4k'),),
    'memcached': (('buffer_size', '4k'),),
}
# array directives: a level that sets any replaces the whole inherited set
# (HEADER_DEFAULTS: what ngx_http_proxy_headers adds to any set, nginx 1.22; the others there are
# empty, which means not sent, or body framing nginx computes per request)
HEADER_DIRECTIVE = {'proxy': 'proxy_set_header', 'grpc': 'grpc_set_header'}
PARAM_DIRECTIVE = {'fastcgi': 'fastcgi_param', 'uwsgi': 'uwsgi_param', 'scgi': 'scgi_param'}
HEADER_DEFAULTS = {
    'proxy': (('Host', '$proxy_host'), ('Connection', 'close')),
    'grpc': (),
}

# one rule for the facts and the node (nginx_change's failing-version summary)
SECRET_NAME = _redact_rule.SECRET_NAME
ONLY_VARIABLES = _redact_rule.ONLY_VARIABLES
REDACTED = _redact_rule.REDACTED

TIME_UNITS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'M': 2592000, 'y': 31536000}
TIME_PART = re.compile(r'(\d+)(ms|s|m|h|d|w|M|y)?')
SIZE = re.compile(r'^(\d+)([kKmMgG]?)$')
URI_VARIABLE = re.compile(r'\$\{?(?:request_uri|uri|document_uri|is_args|args|query_string)\b')
IPV4 = re.compile(r'^\d{1,3}(?:\.\d{1,3}){3}$')


def parse_time(value):
    """nginx time ("60", "1m30s", "500ms") in seconds, or None."""
    value = value.replace(' ', '')
    if not value:
        return None
    total, pos = 0.0, 0
    while pos < len(value):
        m = TIME_PART.match(value, pos)
        if not m or m.end() == pos:
            return None
        total += int(m.group(1)) * TIME_UNITS[m.group(2) or 's']
        pos = m.end()
    return total


def parse_size(value):
    """nginx size ("4k", "1m", "512") in bytes, or None."""
    m = SIZE.match(value.strip())
    if not m:
        return None
    return int(m.group(1)) * {'': 1, 'k': 1024, 'm': 1024 ** 2, 'g': 1024 ** 3}[m.group(2).lower()]


# --- parsing ---------------------------------------------------------------

def _prepare_if_args(args):
    if args and args[0].startswith('(') and args[-1].endswith(')'):
        args[0] = args[0][1:].lstrip()
        args[-1] = args[-1][:-1].rstrip()
        start = int(not args[0])
        end = len(args) - int(not args[-1])
        args[:] = args[start:end]


def _statements(children):
    """The parser's statements as {directive, line, args, block} dicts (values unquoted, unescaped)."""
    out = []
    for s in children:
        args = [t.value for t in s.words[1:]]
        st = {'directive': s.name, 'line': s.line, 'args': args}
        if s.children is not None:
            if s.name == 'if':
                _prepare_if_args(args)
            st['block'] = _statements(s.children)
        out.append(st)
    return out


def parse_text(path, text):
    """Parse one file's text with nginx's own syntax rules (module_utils/_nginx_syntax).

    Returns (statements, error): statements are dicts (directive, line,
    args, optional block); error is None or {file, line, message} with
    nginx's message and line for the first syntax error, in which case the
    statements hold what was parsed before it (blocks still open there end
    at the error).
    """
    root, dummy, problem = _nginx_syntax.parse(text)
    error = None
    if problem is not None:
        error = {'file': path, 'line': problem.line, 'message': problem.message}
    return _statements(root.children), error


def _glob_regex(pattern):
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == '*':
            out.append('[^/]*')
        elif c == '?':
            out.append('[^/]')
        elif c == '[':
            j = pattern.find(']', i + 2 if i + 1 < n and pattern[i + 1] in '!^' else i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body[:1] in ('!', '^'):
                    body = '^' + body[1:]
                out.append('[' + body.replace('\\', '\\\\') + ']')
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile(''.join(out) + r'\Z')


def _join(prefix, path):
    if path.startswith('/'):
        return path
    return prefix.rstrip('/') + '/' + path


class Config:
    """The collected files and their parsed statements, with include expansion."""

    def __init__(self, files, conf_prefix):
        self.texts = {}
        self.order = []
        for f in files:
            if f['path'] not in self.texts:
                self.order.append(f['path'])
            self.texts[f['path']] = f['content']
        self.conf_prefix = conf_prefix
        self.parsed = {}
        self.errors = []
        self._globs = {}

    def statements(self, path):
        stmts = self.parsed.get(path)
        if stmts is None:
            stmts, error = parse_text(path, self.texts[path])
            if error:
                self.errors.append(error)
            self.parsed[path] = stmts
        return stmts

    def resolve(self, pattern):
        full = _join(self.conf_prefix, pattern)
        if any(c in full for c in '*?['):
            names = self._globs.get(full)
            if names is None:
                rx = _glob_regex(full)
                names = self._globs[full] = sorted(p for p in self.order if rx.match(p))
            return names
        return [full] if full in self.texts else []

    def expand(self, stmts, path, stack=()):
        """Yield (stmt, file) with include directives replaced by the included statements."""
        for st in stmts:
            if st['directive'] == 'include' and len(st['args']) == 1 and 'block' not in st:
                for name in self.resolve(st['args'][0]):
                    if name == path or name in stack:
                        chain = ' -> '.join(list(stack) + [path, name])
                        raise ConfigError('include loop: %s (at %s:%d)' % (chain, path, st['line']))
                    yield from self.expand(self.statements(name), name, stack + (path,))
            else:
                yield st, path


# --- effective settings ------------------------------------------------------

class Scope:
    __slots__ = ('kind', 'parent', 'directives')

    def __init__(self, kind, parent=None):
        self.kind = kind
        self.parent = parent
        self.directives = {}

    def add(self, st, path):
        self.directives.setdefault(st['directive'], []).append((st['args'], path, st['line']))

    def find(self, name):
        scope = self
        while scope is not None:
            found = scope.directives.get(name)
            if found is not None:
                return scope, found
            scope = scope.parent
        return None, None


def _value(scope, entry, **extra):
    args, path, line = entry
    item = {'value': ' '.join(args), 'file': path, 'line': line, 'scope': scope.kind, 'default': False}
    item.update(extra)
    return item


def _default(value, **extra):
    item = {'value': value, 'file': None, 'line': None, 'scope': 'default', 'default': True}
    item.update(extra)
    return item


def effective_scalar(scope, name, default=None, kind=None):
    where, entries = scope.find(name)
    if where is None:
        if default is None:
            return None
        extra = {}
        if kind == 'time':
            extra['seconds'] = parse_time(default)
        elif kind == 'size':
            extra['bytes'] = parse_size(default)
        return _default(default, **extra)
    entry = entries[0]
    extra = {}
    if kind == 'time':
        extra['seconds'] = parse_time(' '.join(entry[0]))
    elif kind == 'size':
        extra['bytes'] = parse_size(entry[0][0]) if entry[0] else None
    return _value(where, entry, **extra)


_redact = _redact_rule.redact_value


def effective_array(scope, name, implicit):
    """What an array directive (proxy_set_header, fastcgi_param...) makes nginx send.

    ``sent`` lists every entry in the order nginx sends it: the entries of
    the nearest level that sets any (that level replaces the inherited set
    as a whole), each as often as it is written there, then nginx's implicit
    ones (``Host $proxy_host``, ``Connection close`` for proxy_pass) that no
    entry names (header names compare case-insensitively), marked
    ``implicit``.  default is true when no level sets the directive.
    """
    where, entries = scope.find(name)
    sent = []
    if where is not None:
        for args, path, line in entries:
            if not args:
                continue
            value = args[1] if len(args) > 1 else ''
            sent.append({'name': args[0], 'value': _redact(args[0], value), 'file': path, 'line': line,
                         'implicit': False})
    named = set(e['name'].lower() for e in sent)
    for key, value in implicit:
        if key.lower() not in named:
            sent.append({'name': key, 'value': value, 'file': None, 'line': None, 'implicit': True})
    if where is None:
        return {'default': True, 'scope': 'default', 'file': None, 'line': None, 'sent': sent}
    first = entries[0]
    return {'default': False, 'scope': where.kind, 'file': first[1], 'line': first[2], 'sent': sent}


# --- targets -------------------------------------------------------------------

def _split_hostport(hostport):
    """'[::1]:8080' -> ('::1', 8080); 'a:80' -> ('a', 80); 'a' -> ('a', None)."""
    if hostport.startswith('['):
        end = hostport.find(']')
        host = hostport[1:end] if end > 0 else hostport[1:]
        rest = hostport[end + 1:] if end > 0 else ''
        port = rest[1:] if rest.startswith(':') else ''
    elif hostport.count(':') == 1:
        host, port = hostport.split(':')
    else:
        host, port = hostport, ''
    if port.isdigit():
        return host, int(port)
    if port:
        return host + ':' + port, None
    return host, None


def _static_hostport(hostport):
    """Host and port of an address with variables, each None where a variable stands."""
    if hostport.startswith('['):
        end = hostport.find(']')
        host = hostport[1:end] if end > 0 else hostport[1:]
        port = hostport[end + 2:] if end > 0 and hostport[end + 1:end + 2] == ':' else ''
    elif hostport.count(':') == 1:
        host, port = hostport.split(':')
    else:
        host, port = hostport, ''
    return (host if host and '$' not in host else None), (int(port) if port.isdigit() else None)


SCHEME = re.compile(r'^([^/:]*)://')
SLASHES = re.compile(r'/{2,}')


def _unix_path(sock):
    """The socket file a unix: address names: nginx passes the path as written, the kernel reads
    repeated slashes as one, so unix:///run/app.sock is /run/app.sock."""
    return SLASHES.sub('/', sock)


def _upstream_name(host, upstream_names):
    """The declared name of the upstream host names, or None (nginx compares them case-insensitively)."""
    if not upstream_names:
        return None
    if isinstance(upstream_names, dict):
        return upstream_names.get(host.lower())
    return host if host in upstream_names else None


def parse_target(module, raw, upstream_names):
    """Normalise a *_pass argument or an upstream server address.

    upstream_names maps the lower-cased name of every upstream block to the
    name as declared.  With variables, scheme, host and port are given as far
    as they are written out (None where a variable decides).
    """
    target = {
        'raw': raw, 'kind': None, 'scheme': None, 'host': None, 'port': None,
        'path': None, 'upstream': None, 'uri': None, 'variables': '$' in raw,
        'needs_resolver': False,
    }
    rest = raw
    m = None if rest.startswith('unix:') else SCHEME.match(rest)
    if m:
        scheme = m.group(1)
        target['scheme'] = None if '$' in scheme else scheme.lower()
        rest = rest[m.end():]
    else:
        target['scheme'] = DEFAULT_SCHEME.get(module, module)
    if rest.startswith('unix:'):
        target['kind'] = 'unix'
        sock = rest[5:]
        if module == 'proxy' or m:
            # http://unix:/path/to.sock:/uri
            idx = sock.find(':')
            if idx >= 0:
                target['uri'] = sock[idx + 1:] or None
                sock = sock[:idx]
        target['path'] = _unix_path(sock)
        return target
    slash = rest.find('/')
    hostport, uri = (rest[:slash], rest[slash:]) if slash >= 0 else (rest, None)
    uri_var = URI_VARIABLE.search(hostport)
    if uri_var and uri_var.start() > 0:
        # "http://backend$request_uri": the variable is the URI, not the host
        hostport, uri = hostport[:uri_var.start()], hostport[uri_var.start():] + (uri or '')
    target['uri'] = uri
    if '$' in hostport or target['scheme'] is None:
        # nginx builds the address at run time: only what is written out is known
        target['kind'] = 'variable'
        host, port = _static_hostport(hostport)
        target['host'], target['port'] = host, port
        target['needs_resolver'] = not (host and (IPV4.match(host) or ':' in host))
        return target
    host, port = _split_hostport(hostport)
    target['host'] = host
    upstream = _upstream_name(host, upstream_names) if port is None else None
    if upstream is not None:
        target['kind'] = 'upstream'
        target['upstream'] = upstream
        return target
    target['kind'] = 'tcp'
    target['port'] = port if port is not None else DEFAULT_PORT.get(target['scheme'])
    if target['variables'] and not IPV4.match(host) and ':' not in host:
        # with variables in proxy_pass nginx resolves names at run time
        target['needs_resolver'] = True
    return target


def location_match(args):
    """(modifier, match) of a location's arguments, as ngx_http_core_location reads them.

    With two arguments the first is the modifier.  With one, a leading "="
    is an exact match, "^~" a prefix match that stops the regex search, "~*"
    a case-insensitive and "~" a case-sensitive regex, written against the
    pattern or not ("~/(.*\\.md|LICENSE)", "=/favicon.ico"); "@" names the
    location and stays part of its name.
    """
    if len(args) >= 2:
        return args[0], args[1]
    arg = args[0] if args else ''
    for modifier in ('=', '^~', '~*', '~'):
        if arg.startswith(modifier):
            return modifier, arg[len(modifier):]
    if arg.startswith('@'):
        return '@', arg
    return '', arg


def parse_listen(args, path, line):
    addr = args[0] if args else '80'
    item = {'raw': ' '.join(args), 'address': None, 'port': None, 'unix': None, 'ipv6': False,
            'ssl': False, 'http2': False, 'quic': False, 'proxy_protocol': False,
            'default_server': False, 'file': path, 'line': line, 'default': False}
    if addr.startswith('unix:'):
        item['unix'] = addr[5:]
    elif addr.isdigit():
        item['address'], item['port'] = '*', int(addr)
    else:
        host, port = _split_hostport(addr)
        item['address'] = host
        item['ipv6'] = addr.startswith('[')
        item['port'] = port if port is not None else 80
    for flag in args[1:]:
        if flag in ('ssl', 'http2', 'quic', 'proxy_protocol'):
            item[flag] = True
        elif flag in ('default_server', 'default'):
            item['default_server'] = True
    return item


def parse_upstream_server(args, path, line, upstream_names):
    address = args[0] if args else ''
    item = {'address': address, 'args': list(args), 'target': parse_target('proxy', address, ()), 'weight': 1,
            'max_fails': 1, 'fail_timeout': '10s', 'max_conns': 0, 'backup': False,
            'down': False, 'resolve': False, 'file': path, 'line': line}
    # an upstream member never names another upstream
    if item['target']['kind'] == 'upstream':
        item['target']['kind'] = 'tcp'
    if item['target']['kind'] == 'tcp' and item['target']['port'] is None:
        item['target']['port'] = 80
    item['target']['upstream'] = None
    for arg in args[1:]:
        key, _sep, value = arg.partition('=')
        if key in ('weight', 'max_fails', 'max_conns') and value.isdigit():
            item[key] = int(value)
        elif key == 'fail_timeout':
            item[key] = value
        elif key in ('backup', 'down', 'resolve'):
            item[key] = True
    item['fail_timeout_seconds'] = parse_time(item['fail_timeout'])
    return item


# --- the builder -----------------------------------------------------------------

def _default_log(build, key, fallback, prefix):
    path = build.get('paths', {}).get(key) or fallback
    if path not in ('stderr',) and not path.startswith('/') and not path.startswith('syslog:'):
        path = prefix.rstrip('/') + '/' + path
    return path


def validation_errors(validation, syntax_errors):
    """nginx -t's errors, then the syntax error of every file that has one (nginx -t names only the first).

    A syntax error is {level: emerg, message, file, line} with nginx's
    message and line, left out where nginx -t printed the same."""
    errors = list(validation.get('errors') or [])
    seen = set((e.get('file'), e.get('line'), e.get('message')) for e in errors)
    for e in syntax_errors:
        key = (e['file'], e['line'], e['message'])
        if key not in seen:
            seen.add(key)
            errors.append({'level': 'emerg', 'message': e['message'], 'file': e['file'], 'line': e['line']})
    return errors


class FactsBuilder:

    def __init__(self, raw):
        self.raw = raw
        self.config = Config(raw.get('files') or [], raw.get('conf_prefix') or '/')
        self.upstream_names = {}  # lower-cased name -> name as declared
        self.error_logs = []
        self.access_logs = []
        self.location_count = 0

    # collection of logs from any level
    def _log(self, st, path, context):
        args = st['args']
        if st['directive'] == 'error_log':
            self.error_logs.append({'path': args[0] if args else None,
                                    'level': args[1] if len(args) > 1 else 'error',
                                    'context': context, 'file': path, 'line': st['line']})
        else:
            self.access_logs.append({'path': args[0] if args else None,
                                     'format': args[1] if len(args) > 1 else ('combined' if args and args[0] != 'off' else None),
                                     'context': context, 'file': path, 'line': st['line']})

    def _collect(self, stmts, path, scope, context):
        """Record the directives of one block; return its child blocks."""
        children = []
        for st, fpath in self.config.expand(stmts, path):
            if 'block' in st:
                children.append((st, fpath))
                continue
            scope.add(st, fpath)
            if st['directive'] in ('error_log', 'access_log'):
                self._log(st, fpath, context)
        return children

    def build(self):
        cfg = self.config
        main_path = self.raw.get('config')
        if main_path not in cfg.texts:
            if not cfg.order:
                raise ConfigError('no configuration files were read')
            main_path = cfg.order[0]
        main = Scope('main')
        blocks = self._collect(cfg.statements(main_path), main_path, main, 'main')
        http_blocks = []
        events = Scope('events', None)
        for st, path in blocks:
            if st['directive'] == 'events':
                self._collect(st['block'], path, events, 'events')
            elif st['directive'] == 'http':
                http_blocks.append((st, path))

        servers, upstreams = [], {}
        http_scope = Scope('http', None)
        http_children = []
        for st, path in http_blocks:
            http_children.extend(self._collect(st['block'], path, http_scope, 'http'))
        # upstream names first: proxy_pass http://name refers to them wherever they are
        for st, path in http_children:
            if st['directive'] == 'upstream' and st['args']:
                self.upstream_names.setdefault(st['args'][0].lower(), st['args'][0])
        for st, path in http_children:
            if st['directive'] == 'upstream' and st['args']:
                upstreams[st['args'][0]] = self._upstream(st, path)
            elif st['directive'] == 'server':
                servers.append(self._server(st, path, http_scope))

        build = self.raw.get('build') or {}
        prefix = self.raw.get('prefix') or '/'
        paths = build.get('paths', {})
        facts = {
            'version': build.get('version'),
            # identifies this gathering: line moves recorded by later changes apply to these facts only
            'gathered': {'at': round(time.time(), 3), 'id': uuid.uuid4().hex[:12]},
            'binary': self.raw.get('binary'),
            'build': {k: build.get(k) for k in ('product', 'built_with', 'configure_arguments', 'modules')},
            'prefix': prefix,
            'config': self.raw.get('config'),
            'conf_prefix': self.raw.get('conf_prefix'),
            'source': self.raw.get('source'),
            'files': list(cfg.order),
            'valid': bool(self.raw.get('valid')) and not cfg.errors,
            'validation': {
                'errors': validation_errors(self.raw.get('validation') or {}, cfg.errors),
                'warnings': (self.raw.get('validation') or {}).get('warnings', []),
            },
            # what the running nginx loaded, as the node saw it (master pid, last reload, files changed since)
            'loaded': self.raw.get('loaded'),
            'user': self._user(main, paths),
            'worker_processes': effective_scalar(main, 'worker_processes', '1'),
            'worker_connections': effective_scalar(events, 'worker_connections', '512'),
            'worker_rlimit_nofile': effective_scalar(main, 'worker_rlimit_nofile') or _default(None),
            'pid': effective_scalar(main, 'pid', paths.get('pid_path') or 'logs/nginx.pid'),
            'load_module': [{'value': ' '.join(a), 'file': p, 'line': line}
                            for a, p, line in main.directives.get('load_module', [])],
            'error_log': self.error_logs or [{'path': _default_log(build, 'error_log_path', 'logs/error.log', prefix),
                                              'level': 'error', 'context': 'main', 'file': None, 'line': None,
                                              'default': True}],
            'access_log': self.access_logs,
            'resolver': self._resolver(http_scope),
            'servers': servers,
            'upstreams': upstreams,
            'counts': {'files': len(cfg.order), 'servers': len(servers),
                       'locations': self.location_count, 'upstreams': len(upstreams)},
            'warnings': list(self.raw.get('warnings') or []),
        }
        if not self.access_logs and http_blocks:
            facts['access_log'] = [{'path': _default_log(build, 'http_log_path', 'logs/access.log', prefix),
                                    'format': 'combined', 'context': 'http', 'file': None, 'line': None,
                                    'default': True}]
        return facts

    def _user(self, main, paths):
        where, entries = main.find('user')
        if where is None:
            name = paths.get('user') or 'nobody'
            return {'name': name, 'group': paths.get('group') or ('nogroup' if name == 'nobody' else name),
                    'file': None, 'line': None, 'default': True}
        args, path, line = entries[0]
        return {'name': args[0] if args else None,
                'group': args[1] if len(args) > 1 else (args[0] if args else None),
                'file': path, 'line': line, 'default': False}

    @staticmethod
    def _resolver(scope):
        where, entries = scope.find('resolver')
        if where is None:
            return None
        args, path, line = entries[0]
        addresses = [a for a in args if '=' not in a]
        options = dict(a.split('=', 1) for a in args if '=' in a)
        return {'value': ' '.join(args), 'addresses': addresses, 'valid': options.get('valid'),
                'ipv6': options.get('ipv6', 'on') != 'off', 'file': path, 'line': line,
                'scope': where.kind, 'default': False}

    def _upstream(self, st, path):
        scope = Scope('upstream')
        self._collect(st['block'], path, scope, 'upstream')
        servers = [parse_upstream_server(a, p, line, self.upstream_names)
                   for a, p, line in scope.directives.get('server', [])]
        balancing = 'round_robin'
        for method in ('least_conn', 'ip_hash', 'hash', 'random', 'least_time'):
            if method in scope.directives:
                balancing = method
        keepalive = scope.directives.get('keepalive')
        return {
            'name': st['args'][0], 'file': path, 'line': st['line'], 'servers': servers,
            'balancing': balancing,
            'keepalive': _value(scope, keepalive[0]) if keepalive else None,
            # how long nginx keeps an idle cached connection (nginx's default: 60s); null when not set
            'keepalive_timeout': effective_scalar(scope, 'keepalive_timeout', None, 'time'),
        }

    def _server(self, st, path, http_scope):
        scope = Scope('server', http_scope)
        children = self._collect(st['block'], path, scope, 'server')
        listens = [parse_listen(a, p, line) for a, p, line in scope.directives.get('listen', [])]
        if not listens:
            item = parse_listen(['80'], None, None)
            item['default'] = True
            listens = [item]
        names = []
        for args, _p, _l in scope.directives.get('server_name', []):
            names.extend(args)
        server = {
            'file': path, 'line': st['line'], 'listen': listens,
            'server_name': names or [''],
            'locations': [],
        }
        for child, cpath in children:
            if child['directive'] == 'location':
                self._location(child, cpath, scope, server['locations'], [])
        return server

    def _location(self, st, path, parent_scope, out, parents):
        self.location_count += 1
        modifier, match = location_match(st['args'])
        scope = Scope('location', parent_scope)
        children = self._collect(st['block'], path, scope, 'location')
        loc = {'match': match, 'modifier': modifier, 'file': path, 'line': st['line'],
               'parents': list(parents), 'pass': None}
        pass_found = None
        for directive in PASS_DIRECTIVES:
            entries = scope.directives.get(directive)
            if entries:
                pass_found = (directive, entries[0], None)
                break
        if pass_found is None:
            pass_found = self._conditional_pass(children)
        out.append(loc)
        if pass_found is not None:
            directive, (pargs, ppath, pline), within = pass_found
            module = PASS_DIRECTIVES[directive]
            raw = pargs[0] if pargs else ''
            loc['pass'] = {
                'directive': directive, 'module': module, 'file': ppath, 'line': pline,
                'condition': ' '.join(within['args']) if within else None,
                'within': within['directive'] if within else None,
                'target': parse_target(module, raw, self.upstream_names),
            }
            self._settings(loc, scope, module)
        for child, cpath in children:
            if child['directive'] == 'location':
                self._location(child, cpath, scope, out, parents + [match])

    def _conditional_pass(self, children):
        """A pass inside "if" or "limit_except" within the location: nginx proxies with it when the
        condition holds (if) or for the methods the block does not allow (limit_except)."""
        for child, cpath in children:
            if child['directive'] not in ('if', 'limit_except'):
                continue
            for sub, spath in self.config.expand(child['block'], cpath):
                if sub['directive'] in PASS_DIRECTIVES and 'block' not in sub:
                    return sub['directive'], (sub['args'], spath, sub['line']), child
        return None

    @staticmethod
    def _settings(loc, scope, module):
        loc['timeouts'] = {
            kind: effective_scalar(scope, '%s_%s_timeout' % (module, kind), '60s', 'time')
            for kind in TIMEOUT_KINDS
        }
        if module in HEADER_DIRECTIVE:
            loc['headers'] = effective_array(scope, HEADER_DIRECTIVE[module], HEADER_DEFAULTS[module])
        if module in PARAM_DIRECTIVE:
            loc['params'] = effective_array(scope, PARAM_DIRECTIVE[module], ())
        if module == 'proxy':
            loc['http_version'] = effective_scalar(scope, 'proxy_http_version', '1.0')
        loc['buffers'] = {
            name: effective_scalar(scope, '%s_%s' % (module, name), default,
                                   'size' if name.endswith('_size') else None)
            for name, default in BUFFER_DEFAULTS[module]
        }
        loc['resolver'] = FactsBuilder._resolver(scope)


def build_facts(raw):
    """Turn the node's raw collection into ansible_facts.nginx (raises ConfigError).

    The cyclic garbage collector is paused while the facts are built: the
    builder allocates hundreds of thousands of small containers and no cycles,
    and the collector's passes over them cost 12-19% of the time on large
    configurations (bench/bench_facts.py).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return FactsBuilder(raw).build()
    finally:
        if enabled:
            gc.enable()


# --- what the node must look at, from the facts -----------------------------------------------
# (the node builds the facts with this same code to find its own targets and logs, and the
# controller builds them again from the raw configuration it returns)

def target_key(target):
    """A hashable key for a normalised target (facts) or a log 'upstream' field."""
    if target.get('kind') == 'unix':
        return ('unix', target.get('path'))
    if target.get('kind') == 'upstream':
        return ('upstream', target.get('upstream'))
    return ('tcp', (target.get('host') or '').strip('[]'), target.get('port'))


def routes_by_target(facts):
    """target key -> [route], a route being where nginx passes to it (server, location, pass)."""
    routes = {}
    if not facts:
        return routes
    upstreams = facts.get('upstreams') or {}
    for server in facts.get('servers') or []:
        for loc in server.get('locations') or []:
            p = loc.get('pass')
            if not p:
                continue
            route = {'server': {'name': (server.get('server_name') or [''])[0], 'file': server.get('file'),
                                'line': server.get('line')},
                     'location': {'match': loc.get('match'), 'modifier': loc.get('modifier'),
                                  'file': loc.get('file'), 'line': loc.get('line')},
                     'pass': {'directive': p.get('directive'), 'file': p.get('file'), 'line': p.get('line'),
                              'raw': p['target'].get('raw')},
                     'settings': loc, 'upstream': None}
            key = target_key(p['target'])
            routes.setdefault(key, []).append(route)
            if key[0] == 'upstream' and key[1] in upstreams:
                up = upstreams[key[1]]
                for member in up.get('servers') or []:
                    member_route = dict(route)
                    member_route['upstream'] = {'name': key[1], 'file': up.get('file'), 'line': up.get('line'),
                                                'member': member.get('address'), 'member_file': member.get('file'),
                                                'member_line': member.get('line')}
                    routes.setdefault(target_key(member['target']), []).append(member_route)
    return routes


def probe_targets(facts):
    """What the node must probe: every pass target and every upstream member (tcp and unix).

    A TCP target carries connect_timeout: the longest time nginx waits to connect to it on any of its routes
    (proxy_connect_timeout and its kin, 60 s by default); a probe need not wait longer than nginx does."""
    tcp, unix = {}, []
    for key, routes in routes_by_target(facts).items():
        if key[0] == 'tcp' and key[1] and key[2]:
            waits = [((r['settings'].get('timeouts') or {}).get('connect') or {}).get('seconds') for r in routes]
            waits = [w for w in waits if w]
            target = tcp.setdefault((key[1], key[2]), {'host': key[1], 'port': key[2], 'connect_timeout': None})
            if waits:
                target['connect_timeout'] = max(waits + [target['connect_timeout'] or 0])
        elif key[0] == 'unix' and key[1] not in unix:
            unix.append(key[1])
    return list(tcp.values()), unix


# nginx keeps an idle cached upstream connection this long when the upstream sets no keepalive_timeout
KEEPALIVE_TIMEOUT_DEFAULT = 60.0


def reuses_connections(loc):
    """Whether nginx keeps the connections of this proxy_pass location alive: HTTP/1.1 and a Connection header
    other than nginx's own "close" (the usual `proxy_set_header Connection ""`, or a variable)."""
    if (loc.get('pass') or {}).get('module') != 'proxy' or (loc.get('http_version') or {}).get('value') != '1.1':
        return False
    sent = ((loc.get('headers') or {}).get('sent')) or []
    connection = [e.get('value') for e in sent if (e.get('name') or '').lower() == 'connection']
    return bool(connection) and connection[0] != 'close'


def keepalive_members(facts):
    """The TCP members of every upstream with `keepalive` that some proxy_pass location reaches with its
    connections kept alive: [{host, port, upstream, keepalive_timeout (seconds nginx keeps an idle one)}]."""
    found = []
    upstreams = (facts or {}).get('upstreams') or {}
    for key, routes in sorted(routes_by_target(facts).items(), key=lambda kv: str(kv[0])):
        if key[0] != 'tcp' or not key[1] or not key[2]:
            continue
        for route in routes:
            name = (route.get('upstream') or {}).get('name')
            up = upstreams.get(name) or {}
            if not up.get('keepalive') or not reuses_connections(route['settings']):
                continue
            idle = (up.get('keepalive_timeout') or {}).get('seconds')
            found.append({'host': key[1], 'port': key[2], 'upstream': name,
                          'keepalive_timeout': idle if idle is not None else KEEPALIVE_TIMEOUT_DEFAULT})
            break
    return found


# at most this many backend requests for the header probe (header_probe), one per route
HEADER_PROBE_MAX = 64


def header_probe_targets(facts):
    """One request per proxy_pass route to a TCP backend (the route's member when it passes to an upstream),
    to measure the response header the backend sends against the route's proxy_buffer_size: [{url, host,
    target: {host, port}, location: {match, file, line}}] with the location's own path (a prefix location) or /."""
    found, seen = [], set()
    for key, routes in sorted(routes_by_target(facts).items(), key=lambda kv: str(kv[0])):
        if key[0] != 'tcp' or not key[1] or not key[2]:
            continue
        for route in routes:
            loc = route['settings']
            p = loc.get('pass') or {}
            if p.get('module') != 'proxy' or str(p.get('target', {}).get('raw') or '').startswith('https'):
                continue
            match = loc.get('match') or ''
            path = match if (loc.get('modifier') or '') in ('', '^~', '=') and match.startswith('/') else '/'
            host = '[%s]' % key[1] if ':' in key[1] else key[1]
            url = 'http://%s:%d%s' % (host, key[2], path)
            if url in seen:
                continue
            seen.add(url)
            names = [n for n in route['server'].get('name', '').split() if n and n != '_' and '*' not in n
                     and not n.startswith(('~', '.'))]
            found.append({'url': url, 'host': names[0] if names else None, 'target': {'host': key[1], 'port': key[2]},
                          'location': {'match': match, 'file': loc.get('file'), 'line': loc.get('line')}})
    return found[:HEADER_PROBE_MAX]


NOT_FILES = ('stderr', '/dev/stderr', '/dev/null')


def error_log_paths(facts):
    paths = []
    for log in (facts or {}).get('error_log') or []:
        path = log.get('path')
        if not path or path in NOT_FILES or path.startswith(('syslog:', 'memory:')) or not path.startswith('/'):
            continue
        if path not in paths:
            paths.append(path)
    return paths


# --- the compact form -------------------------------------------------------------------------
# ansible_facts.nginx as the controller stores it: exact (expand(compact(f)) == f), smaller than the
# configuration it describes, and still carrying file:line for every value.
# - every "file" is an index into "files";
# - a listen, pass target or upstream member that this module's own parser rebuilds from what was
#   written (the listen arguments, the *_pass argument, the server line) keeps only that; any other
#   is kept whole;
# - fields that hold their default are left out (a location's modifier, parents and pass, a pass's
#   condition, a setting's file and line when nginx's default applies...);
# - every distinct setting (a timeout, a buffer, the headers or params nginx sends) is written once
#   in "values" (most used first) and every distinct header or param line once in "entries"; a
#   location lists the indices of its settings in "settings", in the order setting_keys() gives for
#   its module: what a location inherits is referenced, not copied.

COMPACT_FORMAT = 'compact/2'
# compact/2 writes as rows (lists in a fixed order) the records compact/1 wrote as dicts; expand() reads both
_READABLE_FORMATS = ('compact/1', COMPACT_FORMAT)
_SETTINGS = ('timeouts', 'buffers', 'headers', 'params', 'http_version', 'resolver')
_NESTED_SETTINGS = ('timeouts', 'buffers')
_AT = {'file': None, 'line': None}
_NO_PARENTS = []  # the default of a location's parents; never handed out (_with gives a new list)
_LOCATION_DEFAULTS = {'modifier': '', 'parents': _NO_PARENTS, 'pass': None}
_PASS_DEFAULTS = {'condition': None, 'within': None}
_ENTRY_DEFAULTS = dict(_AT, implicit=False)
_COMPACT_KEYS = ('format', 'values', 'entries')
_UNITS = (('seconds', parse_time), ('bytes', parse_size))  # computed from the value: "value@seconds": "5s"


def _map_files(obj, convert):
    """A copy of obj with every "file" value passed through convert."""
    if isinstance(obj, dict):
        return dict((k, convert(v) if k == 'file' else _map_files(v, convert)) for k, v in obj.items())
    if isinstance(obj, list):
        return [_map_files(v, convert) for v in obj]
    return obj


def _without(record, defaults):
    return dict((k, v) for k, v in record.items() if k not in defaults or v != defaults[k])


def _with(record, defaults):
    full = dict(defaults)
    full.update(record)
    if full.get('parents') is _NO_PARENTS:
        full['parents'] = []
    return full


def _upstream_names_of(facts):
    names = {}
    for name in facts.get('upstreams') or {}:
        names.setdefault(name.lower(), name)
    return names


def setting_keys(module):
    """The settings the facts give a location that passes with module, in the order the compact form lists them."""
    keys = ['timeouts.' + kind for kind in TIMEOUT_KINDS]
    if module in HEADER_DIRECTIVE:
        keys.append('headers')
    if module in PARAM_DIRECTIVE:
        keys.append('params')
    if module == 'proxy':
        keys.append('http_version')
    keys.extend('buffers.' + name for name, _default in BUFFER_DEFAULTS[module])
    keys.append('resolver')
    return keys


def _setting_at(loc, key):
    outer, _dot, inner = key.partition('.')
    return loc[outer][inner] if inner else loc[outer]


def _listen_of(item, server):
    if 'port' in item:  # kept whole
        return item
    listen = parse_listen(item['raw'].split(), item.get('file', server.get('file')), item.get('line'))
    listen['default'] = item.get('default', False)
    return listen


def _location_of(loc, server, values, names, at, path_of):
    settings = loc.pop('settings', None)
    loc = _with(loc, _LOCATION_DEFAULTS)
    loc.setdefault('file', server.get('file'))
    if loc['pass']:
        p = loc['pass']
        p = _with(at(_row_record(p, _PASS_ROW, 'passes') if isinstance(p, list) else p),
                  _PASS_DEFAULTS)
        p.setdefault('module', PASS_DIRECTIVES.get(p.get('directive')))
        p.setdefault('file', loc['file'])
        if not isinstance(p['target'], dict):
            p['target'] = parse_target(p['module'], p['target'], names)
        loc['pass'] = p
    if isinstance(settings, list):
        for key, n in zip(setting_keys(loc['pass']['module']), settings):
            outer, _dot, inner = key.partition('.')
            if inner:
                loc.setdefault(outer, {})[inner] = values[n]
            else:
                loc[outer] = values[n]
    elif settings:  # kept as it was (not the shape the builder makes)
        loc.update(_map_files(settings, path_of))
    return loc


# compact/2 rows. A value: [payload, file, line(, kind(, scope))], kind '' for "value", "s" for "value@seconds",
# "b" for "value@bytes", "h" for "sent" (indices into entries), scope left out when it is "location". An entry:
# [name, value, file, line(, implicit)]. A pass: [directive, line, target]. A listen: [raw, line]. A location:
# [match, line, pass or null, settings or null(, {its other fields})]. A record of another shape stays a dict.
_VALUE_KINDS = (('value', ''), ('value@seconds', 's'), ('value@bytes', 'b'), ('sent', 'h'))
_VALUE_KEY = dict((tag, key) for key, tag in _VALUE_KINDS)
_VALUE_ROW_KEYS = frozenset(key for key, _tag in _VALUE_KINDS) | frozenset(('file', 'line', 'scope'))
_ENTRY_ROW_KEYS = frozenset(('name', 'value', 'file', 'line', 'implicit'))
_PASS_ROW = ('directive', 'line', 'target')
_LISTEN_ROW = ('raw', 'line')
_LOCATION_ROW_KEYS = ('match', 'line', 'pass', 'settings')


def _value_row(value):
    if isinstance(value, list):  # would read as a row
        return {'as_list': value}
    if not isinstance(value, dict) or not set(value) <= _VALUE_ROW_KEYS:
        return value
    kinds = [(key, tag) for key, tag in _VALUE_KINDS if key in value]
    if len(kinds) != 1:
        return value
    key, tag = kinds[0]
    row = [value[key], value.get('file'), value.get('line')]
    if tag or 'scope' in value:
        row.append(tag)
    if 'scope' in value:
        row.append(value['scope'])
    return row


def _row_value(row):
    if not 3 <= len(row) <= 5 or (len(row) > 3 and row[3] not in _VALUE_KEY):
        raise ValueError('a row of values is not [payload, file, line(, kind(, scope))]')
    value = {_VALUE_KEY[row[3] if len(row) > 3 else '']: row[0], 'file': row[1], 'line': row[2]}
    if len(row) > 4:
        value['scope'] = row[4]
    return value


def _entry_row(entry):
    if not set(entry) <= _ENTRY_ROW_KEYS or 'name' not in entry or 'value' not in entry:
        return entry
    row = [entry['name'], entry['value'], entry.get('file'), entry.get('line')]
    return row + [True] if entry.get('implicit') else row


def _row_entry(row):
    if not 4 <= len(row) <= 5:
        raise ValueError('a row of entries is not [name, value, file, line(, implicit)]')
    return {'name': row[0], 'value': row[1], 'file': row[2], 'line': row[3], 'implicit': len(row) > 4 and row[4]}


def _location_row(loc):
    if 'match' not in loc or 'line' not in loc:
        return loc
    row = [loc.get(key) for key in _LOCATION_ROW_KEYS]
    rest = dict((k, v) for k, v in loc.items() if k not in _LOCATION_ROW_KEYS)
    return row + [rest] if rest else row


def _row_location(row):
    if not 4 <= len(row) <= 5 or (len(row) > 4 and not isinstance(row[4], dict)):
        raise ValueError('a row of locations is not [match, line, pass, settings(, fields)]')
    loc = dict(row[4]) if len(row) > 4 else {}
    loc.update((key, v) for key, v in zip(_LOCATION_ROW_KEYS, row) if v is not None or key in ('match', 'line'))
    return loc


def _row_record(row, keys, what):
    if len(row) != len(keys):
        raise ValueError('a row of %s is not [%s]' % (what, ', '.join(keys)))
    return dict(zip(keys, row))


def _member_of(member, names):
    return member if 'target' in member else parse_upstream_server(member['args'], member.get('file'),
                                                                   member.get('line'), names)


_KEY = json.JSONEncoder(sort_keys=True, separators=(',', ':')).encode  # one encoder, not one per value


class _Interned:
    """Distinct values, each kept once (as made by a function of it), and the index of each."""

    def __init__(self, make):
        self.items, self.index, self.make = [], {}, make

    def add(self, value):
        key = _KEY(value)
        n = self.index.get(key)
        if n is None:
            n = self.index[key] = len(self.items)
            self.items.append(self.make(value))
        return n


class _Compactor:
    """Works on the verbose facts as they are (nothing is copied twice): each record is compared with
    what the parser rebuilds from it in the verbose domain, and only what is written out is mapped
    to file indices."""

    def __init__(self, names, to_index):
        self.names, self.to_index = names, to_index
        self.values, self.entries = _Interned(self._setting), _Interned(self._entry)

    def files(self, value):
        return _map_files(value, self.to_index)

    def _entry(self, entry):
        return _entry_row(self.files(_without(entry, _ENTRY_DEFAULTS)))

    def _setting(self, value):
        if not isinstance(value, dict):
            return _value_row(value)
        value = self.files(_without(value, _AT))
        if value.get('default') == (value.get('scope') == 'default'):
            del value['default']
        if value.get('scope') == 'location':
            del value['scope']
        for unit, parse in _UNITS:
            if unit in value and isinstance(value.get('value'), str) and parse(value['value']) == value[unit]:
                value['value@' + unit] = value.pop('value')
                del value[unit]
        if isinstance(value.get('sent'), list):
            value['sent'] = [self.entries.add(e) for e in value['sent']]
        return _value_row(value)

    def server(self, server):
        out = self.files(dict((k, v) for k, v in server.items() if k not in ('listen', 'locations')))
        out['listen'] = [self.listen(item, server) for item in server.get('listen') or []]
        out['locations'] = [self.location(loc, server) for loc in server.get('locations') or []]
        return out

    def location(self, loc, server):
        p = loc.get('pass')
        module = p.get('module') if p else None
        keys = setting_keys(module) if module in BUFFER_DEFAULTS else ()
        present = [k for k in _SETTINGS if k in loc]
        out = self.files(dict((k, v) for k, v in loc.items() if k not in _SETTINGS and k != 'pass'))
        if p:
            short = self.files(dict((k, v) for k, v in p.items() if k != 'target'))
            target = p['target']
            short['target'] = (target['raw'] if parse_target(module, target.get('raw') or '', self.names) == target
                               else self.files(target))
            if module == PASS_DIRECTIVES.get(p.get('directive')):
                del short['module']
            if p.get('file') == loc.get('file'):
                del short['file']
            out['pass'] = _without(short, _PASS_DEFAULTS)
            if set(out['pass']) == set(_PASS_ROW):
                out['pass'] = [out['pass'][k] for k in _PASS_ROW]
        if keys and sorted(present) == sorted(set(k.split('.')[0] for k in keys)) and all(
                not isinstance(loc[k], dict) or k not in _NESTED_SETTINGS
                or sorted(loc[k]) == sorted(n.split('.')[1] for n in keys if n.startswith(k + '.')) for k in present):
            out['settings'] = [self.values.add(_setting_at(loc, key)) for key in keys]
        elif present:  # not the shape the builder makes: kept as it is
            out['settings'] = self.files(dict((k, loc[k]) for k in present))
        if loc.get('file') == server.get('file'):
            out.pop('file', None)
        return _without(out, _LOCATION_DEFAULTS)

    def listen(self, item, server):
        short = {'raw': item['raw'], 'line': item['line']}
        if item['file'] != server.get('file'):
            short['file'] = item['file']
        if item['default']:
            short['default'] = True
        if _listen_of(short, server) != item:
            return self.files(item)
        if 'file' in short:
            short['file'] = self.to_index(short['file'])
        return [short[k] for k in _LISTEN_ROW] if set(short) == set(_LISTEN_ROW) else short

    def upstream(self, upstream):
        out = self.files(dict((k, v) for k, v in upstream.items() if k != 'servers'))
        out['servers'] = [self.member(m) for m in upstream.get('servers') or []]
        return out

    def member(self, member):
        short = {'args': member['args'], 'file': member['file'], 'line': member['line']}
        if _member_of(short, self.names) != member:
            return self.files(member)
        return dict(short, args=list(short['args']), file=self.to_index(short['file']))

    def ordered(self, servers):
        """values most referenced first (small indices), the servers' references renumbered to match."""
        uses = [0] * len(self.values.items)
        for server in servers:
            for loc in server['locations']:
                for n in loc.get('settings') if isinstance(loc.get('settings'), list) else ():
                    uses[n] += 1
        order = sorted(range(len(uses)), key=lambda n: (-uses[n], n))
        number = dict((old, new) for new, old in enumerate(order))
        for server in servers:
            for loc in server['locations']:
                if isinstance(loc.get('settings'), list):
                    loc['settings'] = [number[n] for n in loc['settings']]
        return [self.values.items[n] for n in order]


def compact(facts):
    """The compact form of verbose facts (compact facts, or None, are returned as they are)."""
    if not facts or facts.get('format') == COMPACT_FORMAT:
        return facts
    files = facts.get('files') or []
    index = dict((path, n) for n, path in enumerate(files))
    work = _Compactor(_upstream_names_of(facts), lambda v: index.get(v, v) if isinstance(v, str) else v)
    out = {}
    for key, value in facts.items():
        if key == 'files':
            out[key] = list(files)
        elif key == 'servers' and isinstance(value, list):
            out[key] = [work.server(server) for server in value]
        elif key == 'upstreams' and isinstance(value, dict):
            out[key] = dict((name, work.upstream(up)) for name, up in value.items())
        else:
            out[key] = work.files(value)
    out.update(format=COMPACT_FORMAT, values=work.ordered(out.get('servers') or []), entries=work.entries.items)
    for server in out.get('servers') or []:
        server['locations'] = [_location_row(loc) for loc in server['locations']]
    return out


class CompactError(ValueError):
    """Compact facts that compact() did not write (edited, truncated, or from a newer format)."""


def expand(facts):
    """The verbose facts of compact ones (verbose facts, or None, are returned as they are).

    Locations that inherit the same setting share one object: treat the result as read-only.
    Raises CompactError when the compact form is malformed."""
    if not isinstance(facts, dict) or 'format' not in facts:
        return facts
    if facts['format'] not in _READABLE_FORMATS:
        raise CompactError('ansible_facts.nginx has format %r; this collection reads %r (gather the facts '
                           'again)' % (facts['format'], COMPACT_FORMAT))
    try:
        return _expand(facts)
    except KeyError as e:
        raise CompactError('ansible_facts.nginx (compact) is malformed (field %s is missing): gather the facts again' % e)
    except IndexError:
        raise CompactError('ansible_facts.nginx (compact) is malformed (an index points outside its table): '
                           'gather the facts again')
    except (AttributeError, TypeError, ValueError) as e:
        raise CompactError('ansible_facts.nginx (compact) is malformed (%s): gather the facts again' % e)


def _expand(facts):
    files = facts.get('files') or []
    path_of = at_index(files)

    def at(record):
        """A copy of record with its own "file" a path (its lists are those of the compact facts)."""
        record = dict(record)
        if 'file' in record:
            record['file'] = path_of(record['file'])
        return record

    entries = [_with(at(_row_entry(e) if isinstance(e, list) else e), _ENTRY_DEFAULTS)
               for e in facts.get('entries') or []]
    values = []
    for value in facts.get('values') or []:
        if isinstance(value, list):
            value = _row_value(value)
        elif isinstance(value, dict) and set(value) == {'as_list'}:
            value = value['as_list']
        elif isinstance(value, dict):
            value = dict(value)
        if isinstance(value, dict):
            value = _with(at(value), _AT)
            value.setdefault('scope', 'location')
            value.setdefault('default', value.get('scope') == 'default')
            for unit, parse in _UNITS:
                if 'value@' + unit in value:
                    value['value'] = value.pop('value@' + unit)
                    value[unit] = parse(value['value'])
            if isinstance(value.get('sent'), list):
                value['sent'] = [entries[n] for n in value['sent']]
        values.append(value)
    out = dict((k, _map_files(v, path_of)) for k, v in facts.items()
               if k not in _COMPACT_KEYS + ('files', 'servers', 'upstreams'))
    out['files'] = list(files)
    for key, kind in (('servers', list), ('upstreams', dict)):
        if key in facts and not isinstance(facts[key], kind):
            raise TypeError('%s is a %s, not a %s' % (key, type(facts[key]).__name__, kind.__name__))
    names = _upstream_names_of(facts)
    if isinstance(facts.get('servers'), list):
        servers = []
        for server in facts['servers']:
            server = at(server)
            server['listen'] = [_listen_of(at(_row_record(item, _LISTEN_ROW, 'listens') if isinstance(item, list)
                                              else item), server) for item in server.get('listen') or []]
            server['locations'] = [_location_of(at(_row_location(loc) if isinstance(loc, list) else loc), server,
                                                values, names, at, path_of) for loc in server.get('locations') or []]
            servers.append(server)
        out['servers'] = servers
    if isinstance(facts.get('upstreams'), dict):
        upstreams = {}
        for name, upstream in facts['upstreams'].items():
            upstream = at(upstream)
            for setting in ('keepalive', 'keepalive_timeout'):
                if isinstance(upstream.get(setting), dict):
                    upstream[setting] = at(upstream[setting])
            upstream['servers'] = [_member_of(at(m), names) for m in upstream.get('servers') or []]
            upstreams[name] = upstream
        out['upstreams'] = upstreams
    return out


def at_index(files):
    """The function that turns an index into files into the path (anything else it returns as it is)."""
    def path_of(value):
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(files):
            return files[value]
        return value
    return path_of
