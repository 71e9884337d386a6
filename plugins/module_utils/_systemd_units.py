# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node-side helpers for bringing a stopped upstream service back (upstream_down).

Standard library only.  Works out which systemd unit should listen on a TCP
port or a unix socket, from what systemd knows and what the unit files and
their environment files say, starts it and waits until it really listens
(read from /proc/net through _host_checks' listener functions).

Every command is an argument list (never a shell string) run through a
``run(argv, timeout) -> (rc, stdout bytes, stderr text)`` callable, so that
the logic can be tested with recorded output.

Where candidates come from (with systemd):

* ``systemctl list-units --all --type=service``: loaded services that are
  inactive or failed;
* enabled template instances (symlinks in /etc/systemd/system/*.wants/),
  which list-units does not show while they were never started;
* instances of a template whose ``EnvironmentFile=`` names the instance
  (``/etc/app/%i.env``) and whose file exists: an instance that was never
  enabled nor started is still known by its environment file;
* for a socket or port PHP-FPM listens on: the php-fpm unit of the
  configuration that has the pool (in any state).

They are described by ONE ``systemctl show`` call; a unit matches when the
port (as a whole number) or the socket path appears in its ExecStart argv,
its Environment, or the content of its environment files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import os
import re
import socket
import time

from ansible_collections.badgateway.nginx.plugins.module_utils import _host_checks as probe
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm

SYSTEMD_RUN_DIR = '/run/systemd/system'
UNIT_DIRS = ('/etc/systemd/system', '/run/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system')
SHOW_PROPERTIES = ('Id', 'LoadState', 'ActiveState', 'SubState', 'FragmentPath', 'ExecStart',
                   'EnvironmentFiles', 'Environment', 'NeedDaemonReload')
STOPPED_STATES = ('inactive', 'failed')
MAX_ENV_FILE = 64 * 1024
MAX_UNIT_FILE = 256 * 1024
INSTANCE_CHARS = re.compile(r'^[A-Za-z0-9:_.\\-]+$')
UNIT_NAME = re.compile(r'^[A-Za-z0-9:_.\\@-]+$')
WILDCARDS = ('0.0.0.0', '::')
LOOPBACK_NAMES = ('localhost', 'localhost.localdomain', 'ip6-localhost')


class ServiceError(Exception):
    """An error with a message meant for the user (no traceback)."""

    def __init__(self, msg, **details):
        super(ServiceError, self).__init__(msg)
        self.msg = msg
        self.details = details


def has_systemd(run_dir=SYSTEMD_RUN_DIR):
    return os.path.isdir(run_dir)


def unit_name(name):
    """A unit name with its type suffix (``foo`` -> ``foo.service``)."""
    name = (name or '').strip()
    if not name or not UNIT_NAME.match(name) or name.startswith('-'):
        raise ServiceError('name %r is not a systemd unit name' % (name,))
    if not re.search(r'\.(service|socket|target|scope|timer|mount)$', name):
        name += '.service'
    return name


# --- systemctl output ----------------------------------------------------------------

def parse_list_units(text):
    """``systemctl list-units --plain --no-legend`` lines -> [{unit, load, active, sub}]."""
    units = []
    for line in text.splitlines():
        parts = line.strip().lstrip('\u25cf*').split(None, 4)
        if len(parts) < 4 or not parts[0].endswith('.service'):
            continue
        units.append({'unit': parts[0], 'load': parts[1], 'active': parts[2], 'sub': parts[3]})
    return units


def parse_show(text):
    """``systemctl show -p ... UNIT...`` output (blocks separated by blank lines) -> [dict]."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition('=')
        if not sep:
            continue
        if key in current and key in ('EnvironmentFiles', 'ExecStart', 'Environment'):
            current[key] += '\n' + value
        else:
            current[key] = value
    if current:
        blocks.append(current)
    return blocks


def exec_argvs(value):
    """The command lines of an ExecStart property (not its pid, times or status)."""
    return [m.group(1).strip() for m in re.finditer(r'argv\[\]=(.*?) ; ignore_errors=', value or '')]


def environment_files(value):
    """Paths of an EnvironmentFiles property (``/etc/x.env (ignore_errors=no)``, one per line)."""
    paths = []
    for line in (value or '').splitlines():
        path = re.sub(r'\s+\(ignore_errors=\w+\)\s*$', '', line.strip())
        if path.startswith('-'):
            path = path[1:]
        if path.startswith('/'):
            paths.append(path)
    return paths


def read_small(path, limit=MAX_ENV_FILE):
    """The text of a small file, or None (missing, unreadable, too big, binary)."""
    try:
        with open(path, 'rb') as f:
            data = f.read(limit + 1)
    except (IOError, OSError):
        return None
    if len(data) > limit or b'\x00' in data:
        return None
    return data.decode('utf-8', 'replace')


# --- matching --------------------------------------------------------------------------

def mentions_port(text, port):
    """True when the port appears in text as a whole number (8090 in PORT=8090, not in 18090)."""
    return bool(text) and re.search(r'(?<![0-9])%d(?![0-9])' % int(port), text) is not None


def mentions_path(text, path):
    """True when the socket path appears in text, not as the beginning of a longer path."""
    if not text or not path:
        return False
    return re.search(r'(?<![\w./-])%s(?![\w.-]|/[\w])' % re.escape(path), text) is not None


def unit_matches(show, port=None, path=None, read=read_small):
    """Where a unit names the port or socket: ['ExecStart', 'Environment', 'EnvironmentFile /x']."""
    def hit(text):
        return mentions_path(text, path) if path else mentions_port(text, port)

    where = []
    if any(hit(argv) for argv in exec_argvs(show.get('ExecStart'))):
        where.append('ExecStart')
    if hit(show.get('Environment')):
        where.append('Environment')
    for env in environment_files(show.get('EnvironmentFiles')):
        text = read(env)
        if text is not None and hit(text):
            where.append('EnvironmentFile %s' % env)
    return where


# --- where unit names come from ----------------------------------------------------------

def stopped_units(run):
    """Loaded services that are inactive or failed, from list-units."""
    rc, out, err = run(['systemctl', 'list-units', '--all', '--type=service', '--plain', '--no-legend',
                        '--no-pager'], 30)
    if rc != 0:
        raise ServiceError('systemctl list-units failed (rc %d): %s' % (rc, err.strip()[:500]))
    return [u['unit'] for u in parse_list_units(out.decode('utf-8', 'replace'))
            if u['load'] == 'loaded' and u['active'] in STOPPED_STATES]


def wanted_instances(etc='/etc/systemd/system'):
    """Enabled template instances: symlinks NAME@INSTANCE.service in *.wants/ and *.requires/."""
    found = set()
    for pattern in ('*.wants', '*.requires'):
        for d in glob.glob(os.path.join(etc, pattern)):
            try:
                names = os.listdir(d)
            except OSError:
                continue
            for name in names:
                if re.match(r'^[^@]+@[^@]+\.service$', name):
                    found.add(name)
    return sorted(found)


def template_instances(dirs=UNIT_DIRS):
    """Instances of templates whose EnvironmentFile names the instance, for each such file that exists.

    ``EnvironmentFile=/etc/labapp/%i.env`` in labapp@.service and a file
    /etc/labapp/app-8090.env give labapp@app-8090.service, even when that
    instance was never enabled nor started (systemd does not know it then).
    """
    found = set()
    seen = set()
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, '*@.service'))):
            name = os.path.basename(path)
            if name in seen:
                continue  # the first directory wins, as in systemd
            seen.add(name)
            text = read_small(path, MAX_UNIT_FILE)
            for line in (text or '').splitlines():
                m = re.match(r'^\s*EnvironmentFile\s*=\s*-?(\S+)\s*$', line)
                if not m or m.group(1).count('%i') != 1:
                    continue
                pattern = m.group(1)
                if '%' in pattern.replace('%i', ''):
                    continue  # other specifiers: not worth guessing
                before, after = pattern.split('%i')
                for env in glob.glob(glob.escape(before) + '*' + glob.escape(after)):
                    instance = env[len(before):len(env) - len(after)]
                    if instance and '/' not in instance and INSTANCE_CHARS.match(instance):
                        found.add(name.replace('@.service', '@%s.service' % instance))
    return sorted(found)


def fpm_pools(port=None, path=None):
    """PHP-FPM pools listening on the port or socket: [{config, pool, file, line, units}]."""
    found = []
    for config in php_fpm.find_configs():
        parsed = php_fpm.parse_config(config)
        for pool in parsed.get('pools') or []:
            if path and pool.get('listen_path') != path:
                continue
            if port and pool.get('listen_port') != port:
                continue
            found.append({'config': config, 'pool': pool.get('name'), 'file': pool.get('file'),
                          'line': pool.get('line'), 'units': fpm_unit_names(config)})
    return found


def fpm_unit_names(config):
    """The unit names a PHP-FPM configuration is usually run by, most likely first."""
    m = re.match(r'^/etc/php/(\d+\.\d+)/fpm/', config)
    if m:
        return ['php%s-fpm.service' % m.group(1)]
    m = re.match(r'^/etc/opt/remi/(php\d+)/', config)
    if m:
        return ['%s-php-fpm.service' % m.group(1)]
    m = re.match(r'^/opt/cpanel/(ea-php\d+)/', config)
    if m:
        return ['%s-php-fpm.service' % m.group(1)]
    m = re.match(r'^/opt/plesk/php/(\d+\.\d+)/', config)
    if m:
        return ['plesk-php%s-fpm.service' % m.group(1).replace('.', '')]
    return ['php-fpm.service']


def show_units(run, units):
    """One ``systemctl show`` for every unit -> {Id: properties}."""
    if not units:
        return {}
    argv = ['systemctl', 'show']
    for prop in SHOW_PROPERTIES:
        argv += ['-p', prop]
    argv += ['--'] + list(units)
    rc, out, err = run(argv, 60)
    if rc != 0:
        raise ServiceError('systemctl show failed (rc %d): %s' % (rc, err.strip()[:500]))
    shown = {}
    for block in parse_show(out.decode('utf-8', 'replace')):
        if block.get('Id'):
            shown.setdefault(block['Id'], block)
    return shown


def find_candidates(run, port=None, path=None, read=read_small, stopped=None, wanted=None, templates=None,
                    pools=None):
    """Units that should listen on the port or socket, and everything that was looked at.

    Returns (candidates, units): candidates is a list of {unit, active_state,
    sub_state, matched} sorted by unit; units maps every unit looked at to
    its properties.  The lists of names can be given (tests); by default they
    are read from the host.
    """
    stopped = stopped_units(run) if stopped is None else stopped
    wanted = wanted_instances() if wanted is None else wanted
    templates = template_instances() if templates is None else templates
    pools = fpm_pools(port, path) if pools is None else pools
    fpm_names = []
    for pool in pools:
        for name in pool['units']:
            if name not in fpm_names:
                fpm_names.append(name)
    names = []
    for name in list(stopped) + list(wanted) + list(templates) + fpm_names:
        if name not in names:
            names.append(name)
    units = show_units(run, names)
    candidates = {}
    for uid, show in sorted(units.items()):
        if show.get('LoadState') != 'loaded' or show.get('ActiveState') not in STOPPED_STATES:
            continue
        where = unit_matches(show, port, path, read)
        if where:
            candidates[uid] = {'unit': uid, 'active_state': show.get('ActiveState'),
                               'sub_state': show.get('SubState'), 'matched': where}
    for pool in pools:
        for name in pool['units']:
            show = units.get(name)
            if not show or show.get('LoadState') != 'loaded':
                continue
            cand = candidates.setdefault(name, {'unit': name, 'active_state': show.get('ActiveState'),
                                                'sub_state': show.get('SubState'), 'matched': []})
            cand['matched'].append('PHP-FPM pool %s (%s:%s)' % (pool['pool'], pool['file'], pool['line']))
            break  # the most likely unit of this configuration is enough
    return [candidates[k] for k in sorted(candidates)], units


def describe_unit(run, name):
    """The properties of one unit, or ServiceError when systemd does not know it."""
    shown = show_units(run, [name])
    show = shown.get(name) or (list(shown.values())[0] if shown else None)
    if not show or show.get('LoadState') not in ('loaded',):
        state = (show or {}).get('LoadState') or 'unknown'
        raise ServiceError('unit %s cannot be used: its load state is %s' % (name, state))
    return show


# --- listeners -----------------------------------------------------------------------------

def address_set(address):
    """The addresses a target address stands for (a name is resolved), or None for any."""
    if not address:
        return None
    if address.lower() in LOOPBACK_NAMES:
        return set(['127.0.0.1', '::1'])
    text = address.strip('[]')
    try:
        return set([str(ipaddress.ip_address(text))])
    except ValueError:
        pass
    try:
        return set(str(ipaddress.ip_address(info[4][0].split('%')[0]))
                   for info in socket.getaddrinfo(text, None, 0, socket.SOCK_STREAM))
    except (socket.gaierror, ValueError, OSError):
        return None


def _covers(listen_address, wanted):
    if wanted is None or listen_address in wanted or listen_address in WILDCARDS:
        return True
    # an IPv4-mapped listener (::ffff:a.b.c.d) stands for the IPv4 address
    if listen_address.startswith('::ffff:') and listen_address[7:] in wanted:
        return True
    return False


def find_listener(port=None, path=None, address=None, table=None, wanted=None):
    """The listener on the port (at the address, or a wildcard) or socket path, or None.

    The table is nginx_probe.listeners(): our network namespace's sockets,
    without the unix paths that processes of other mount namespaces bound in
    their own file trees; a TCP listener held only by processes of other pid
    namespaces is found, with no owner named and those processes in set_aside.
    """
    table = probe.listeners() if table is None else table
    if path:
        for item in table.get('unix') or []:
            if item['path'] == path:
                return item
        return None
    wanted = address_set(address) if wanted is None else wanted
    for item in table.get('tcp') or []:
        if item['port'] == port and _covers(item['address'], wanted):
            return item
    return None


def other_addresses(port, table):
    """Addresses where something listens on the port (to explain a miss)."""
    return sorted(set(item['address'] for item in table.get('tcp') or [] if item['port'] == port))


def wait_listening(port=None, path=None, address=None, timeout=15.0, interval=0.25, clock=time.time,
                   sleep=time.sleep, listeners=None):
    """Poll until something listens; return (listener or None, the last listener table)."""
    listeners = listeners or probe.listeners
    wanted = address_set(address) if not path else None
    deadline = clock() + timeout
    while True:
        table = listeners()
        found = find_listener(port, path, address, table, wanted)
        if found or clock() >= deadline:
            return found, table
        sleep(interval)


def listener_summary(item):
    if not item:
        return None
    summary = {'pid': item['pids'][0] if item.get('pids') else None, 'pids': item.get('pids') or [],
               'process': item.get('process'), 'unit': item.get('unit'), 'user': item.get('user'),
               'set_aside': item.get('set_aside') or []}
    if 'path' in item:
        summary['path'] = item['path']
    else:
        summary.update(address=item.get('address'), port=item.get('port'))
    return summary


# --- acting ----------------------------------------------------------------------------------

def journal_tail(run, unit, lines=20, which=None):
    """The last journal lines of a unit (empty when journalctl is absent or says nothing)."""
    from shutil import which as _which
    which = which or _which
    if not which('journalctl'):
        return []
    try:
        rc, out, _err = run(['journalctl', '-u', unit, '-n', str(lines), '--no-pager', '-o', 'short-iso'], 30)
    except Exception:  # pylint: disable=broad-except
        return []
    if rc != 0:
        return []
    return [line[:300] for line in out.decode('utf-8', 'replace').splitlines()
            if line.strip() and not line.startswith('-- ')][-lines:]


def unit_state(run, unit):
    show = show_units(run, [unit]).get(unit) or {}
    return {'active_state': show.get('ActiveState'), 'sub_state': show.get('SubState')}


def target_text(port=None, path=None, address=None):
    if path:
        return path
    if address:
        return '%s:%s' % ('[%s]' % address if ':' in address else address, port)
    return 'port %s' % port


def ambiguity_message(what, candidates, units_looked_at):
    if not candidates:
        return ('no stopped systemd service names %s (looked at %d unit(s): inactive or failed services, '
                'enabled template instances, templates with an instance environment file%s): '
                'set name (role variable backend_service_units, a map target -> unit)'
                % (what, units_looked_at, ', PHP-FPM pools' if what.startswith('/') else ''))
    listed = '; '.join('%s (%s, %s)' % (c['unit'], c['active_state'], ', '.join(c['matched'])) for c in candidates)
    return ('%d services could be the one for %s: %s; set name (role variable backend_service_units, '
            'a map target -> unit)' % (len(candidates), what, listed))
