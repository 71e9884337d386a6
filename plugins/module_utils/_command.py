# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""The one command runner of the node-side code.

Standard library only.  ``run(argv, timeout)`` runs an argument list (never a shell string) and
returns ``(rc, stdout bytes, stderr text)``; a command that cannot start or does not finish in time
raises ``CommandError``.  ``UserError`` is the base of every error whose message is meant for the
user (no traceback): the modules catch it and fail with its text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import selectors
import shlex
import signal
import subprocess
import time


class UserError(Exception):
    """An error with a message meant for the user (no traceback)."""


class CommandError(UserError):
    """A command could not start, or did not finish in time."""


# after the command itself exited, how long what it started may keep its stdout/stderr open
PIPE_GRACE = 1.0


def _kill_group(proc):
    """SIGKILL the process group the command leads (it runs in a session of its own)."""
    for kill in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            kill()
        except OSError:
            pass


def _quote(argv):
    return ' '.join(shlex.quote(a) for a in argv)


def _read_output(proc, deadline):
    """Read stdout and stderr until both end, the deadline passes (returns None), or the command
    has exited and what it left behind holds the pipes for PIPE_GRACE seconds (returns what came)."""
    chunks = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
    selector = selectors.DefaultSelector()
    try:
        for fd in chunks:
            selector.register(fd, selectors.EVENT_READ)
        exited_at = None
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                return None
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at >= PIPE_GRACE:
                break
            for key, _events in selector.select(min(deadline - now, 0.2)):
                data = os.read(key.fd, 65536)
                if data:
                    chunks[key.fd].append(data)
                else:
                    selector.unregister(key.fd)
    finally:
        selector.close()
    return b''.join(chunks[proc.stdout.fileno()]), b''.join(chunks[proc.stderr.fileno()])


def search_path(extra_dirs=(), environ_path=None):
    """The directories an executable is looked up in: PATH (or environ_path), then extra_dirs, each once."""
    dirs = []
    for d in (environ_path if environ_path is not None else os.environ.get('PATH', '')).split(os.pathsep):
        if d and d not in dirs:
            dirs.append(d)
    for d in extra_dirs:
        if d not in dirs:
            dirs.append(d)
    return dirs


def which(name, extra_dirs=(), environ_path=None):
    """Path of the executable name in search_path(extra_dirs, environ_path), or None."""
    for d in search_path(extra_dirs, environ_path):
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def run(argv, timeout):
    """Run argv (a list, no shell); return (rc, stdout bytes, stderr text).

    The one command runner of the node code.  The command runs in a session (so a process group)
    of its own, and at the timeout the whole group is killed.  Once the command itself has exited,
    processes it started may hold its stdout/stderr open for PIPE_GRACE seconds; then the output
    read so far is returned and they are left alone (a daemon an init script started stays up).
    Raises CommandError when the command cannot start or does not finish in time.
    """
    if any(isinstance(a, str) and '\x00' in a for a in argv):
        raise CommandError('cannot run %s: an argument contains a NUL byte' % argv[0].replace('\x00', '\\0'))
    env = dict(os.environ)
    env['LC_ALL'] = 'C'
    env['LANG'] = 'C'
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env, close_fds=True, start_new_session=True)
    except (OSError, ValueError) as e:
        raise CommandError('cannot run %s: %s' % (argv[0], getattr(e, 'strerror', None) or e))
    deadline = time.monotonic() + timeout
    try:
        output = _read_output(proc, deadline)
        if output is not None:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                output = None
        if output is None:
            _kill_group(proc)
            proc.wait()
    finally:
        proc.stdout.close()
        proc.stderr.close()
    if output is None:
        raise CommandError('%s did not finish within %s seconds' % (_quote(argv), timeout))
    return proc.returncode, output[0], output[1].decode('utf-8', 'replace')
