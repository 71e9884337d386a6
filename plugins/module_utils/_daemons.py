# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The nginx and PHP-FPM masters a change reloads: which one is ours, how to test, reload and confirm it.

Standard library only.  The master is found from the pid file, the configuration and our pid and
mount namespaces (the masters of containers on the same host are set aside, never signalled); a
reload is ``systemctl reload`` of the unit the master runs in, else a signal, and is confirmed by a
new generation of workers and no new [emerg]/[alert] line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import time

from urllib.parse import urlsplit

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    find_nginx,
    parse_version,
    resolve_paths,
    run,
    test_config,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import (
    EditError,
    from_text,
    parse as parse_nginx,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._logs import (
    classify_error_line,
    redact_line,
)
from ansible_collections.badgateway.nginx.plugins.module_utils import _http as http
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm

from ansible_collections.badgateway.nginx.plugins.module_utils._journal import TxnError

MAX_LOG_LINES = 50
MAX_LOG_BYTES = 1024 * 1024

#: the options that say which nginx or PHP-FPM master a change reloads and how long the reload may take
#: (nginx_change's nginx and php_fpm; the nginx one takes prefix as well); Daemon reads them
DAEMON_OPTIONS = {'bin': {'type': 'path'}, 'config': {'type': 'path'}, 'pid_file': {'type': 'path'},
                  'service': {'type': 'str'}, 'reload_timeout': {'type': 'int', 'default': 10}}


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
        self.reload_timeout = params.get('reload_timeout') or DAEMON_OPTIONS['reload_timeout']['default']
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
