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
import hashlib
import os
import re
import time


from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import describe
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_edit import (
    EditError,
    FileState,
    atomic_write,
    from_text,
    plan_edit,
    read_include_tree,
    record_shift,
    shift_line,
    tree_file,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._logs import redact_line
from ansible_collections.badgateway.nginx.plugins.module_utils import _php_fpm as php_fpm
from ansible_collections.badgateway.nginx.plugins.module_utils._redact import (
    redact_ini_text,
    redact_nginx_text,
)

from ansible_collections.badgateway.nginx.plugins.module_utils._journal import (
    Lock,
    TxnError,
    _check_private_dir,
    _write_private,
    discard_journal,
    journal_state,
    live_run,
    read_journal,
    restore,
    secure_dir,
    snapshot,
    verify_restored,
    write_journal,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._daemons import (
    Nginx, PhpFpm, aside_note, check_url, log_size, new_log_lines, redact_all, upstream_errors, url_hosts,
)
from ansible_collections.badgateway.nginx.plugins.module_utils._php_fpm_edit import plan_ini, pool_settings, socket_permissions

NGINX_KEYS = ('path', 'scope', 'server_name', 'listen', 'location', 'upstream', 'line',
              'directive', 'args', 'key', 'block', 'state', 'insert')
# pool settings php-fpm applies to its socket only when it creates it (not on a reload)
SOCKET_KEYS = ('listen.owner', 'listen.group', 'listen.mode')
# pool settings a reload cannot apply at all (the socket is inherited by the new master as it is):
# changing one restarts php-fpm (systemd only); nginx itself is never restarted
RESTART_KEYS = ('listen', 'listen.backlog')
FPM_KEYS = ('path', 'section', 'key', 'value', 'state')


# ---------------------------------------------------------------------------
# The transaction
# ---------------------------------------------------------------------------

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
