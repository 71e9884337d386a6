# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one hostile case in a throwaway nginx tree and classify what happened.

A case runs a module directly (the standard module contract: ``python -m <module> args.json``),
an action through ``ansible localhost -m`` (the controller half is part of what is judged), or a
filter in-process.  Every file of the case's directory is hashed with owner and mode before and
after; the output is searched for tracebacks, Python exception names and the planted secret.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

from conftest import COLLECTIONS_BASE, ansible_env, free_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')
SECRET = 's3cr3t-planted'
CASE_TIMEOUT = 40

# outcomes; the first two are the only good ones
CLEAR_ERROR = 'clear error'
CORRECT = 'correct'
PYTHON_ERROR = 'python error'
WRONGLY_ACCEPTED = 'wrongly accepted'
WRONGLY_REFUSED = 'wrongly refused'
UNCLEAR_ERROR = 'error not naming the option or file'
UNINTENDED_CHANGE = 'unintended change'
HANG = 'hang'
SECRET_SHOWN = 'secret in output'
OUTCOMES = (CLEAR_ERROR, CORRECT, PYTHON_ERROR, WRONGLY_ACCEPTED, WRONGLY_REFUSED, UNCLEAR_ERROR,
            UNINTENDED_CHANGE, HANG, SECRET_SHOWN)
GOOD = (CLEAR_ERROR, CORRECT)

PY_ERROR = re.compile(
    r'Traceback \(most recent call last\)|\b(?:KeyError|TypeError|AttributeError|ValueError|IndexError|NameError|'
    r'UnicodeDecodeError|UnicodeEncodeError|UnicodeError|IsADirectoryError|NotADirectoryError|FileNotFoundError|'
    r'PermissionError|RecursionError|ZeroDivisionError|AssertionError|OverflowError|StopIteration)\b|'
    r'object has no attribute|object is not (?:subscriptable|iterable|callable)|embedded null|'
    r'unhashable type|takes \d+ positional|(?:^|: )\'[^\' ]+\'$')

APP_CONF = '''upstream app_backend {
    server 127.0.0.1:%(backend_port)d;
}
server {
    listen 127.0.0.1:%(port)d;
    server_name app.test;
    location / {
        proxy_set_header Authorization "Bearer %(secret)s";
        proxy_read_timeout 30s;
        proxy_pass http://app_backend;
    }
}
'''

MAIN_CONF = '''pid %(tree)s/run/nginx.pid;
error_log %(tree)s/run/error.log;
events {}
http {
    access_log off;
    client_body_temp_path %(tree)s/run/client_body;
    proxy_temp_path %(tree)s/run/proxy;
    fastcgi_temp_path %(tree)s/run/fastcgi;
    uwsgi_temp_path %(tree)s/run/uwsgi;
    scgi_temp_path %(tree)s/run/scgi;
%(extra)s    include conf.d/*.conf;
}
'''

# written only for the cases that ask for them (by name in the case's "setup")
EXTRA_FILES = {
    # nginx -t fails at the unknown directive before it would open the FIFO: the direct-read path
    'fifo_include': ('fifo-include.conf', lambda v: MAIN_CONF.replace('events {}', 'unknown_directive_xyz;\nevents {}')
                     % dict(v, extra='    include special/fifo;\n')),
    'broken_main': ('broken.conf', lambda v: MAIN_CONF.replace('events {}', 'unknown_directive_xyz;\nevents {}')
                    % dict(v, extra='')),
    'huge': ('special/huge.conf', lambda v: '# padding\n' * (2 * 1024 * 1024)),
    'wrapper_child': ('bin/nginx-child-holds-pipes', lambda v: '#!/bin/sh\n(sleep 30) &\nexec %s "$@"\n' % NGINX),
    'wrapper_hang': ('bin/nginx-hangs', lambda v: '#!/bin/sh\n(sleep 30) &\nsleep 30\n'),
    # Debian's sites-enabled/app -> ../sites-available/app (the link itself is made in Sandbox)
    'symlinked_site': ('sites-available/site.conf', lambda v: 'server {\n    listen 127.0.0.1:%d;\n    server_name site.test;\n'
                       '    location / {\n        proxy_pass http://127.0.0.1:%d;\n    }\n}\n'
                       % (v['port'], v['backend_port'])),
}


class Sandbox(object):
    """A case directory: tree/ (an nginx prefix with a planted secret), outside/ (files nginx never
    reads), run/ (what nginx writes itself: not judged)."""

    def __init__(self, base, setup=()):
        self.root = tempfile.mkdtemp(prefix='case-', dir=base)
        self.tree = os.path.join(self.root, 'tree')
        self.outside = os.path.join(self.root, 'outside')
        self.port, self.backend_port = free_port(), free_port()
        values = dict(tree=self.tree, port=self.port, backend_port=self.backend_port, secret=SECRET, extra='')
        self.values = values
        for d in ('conf.d', 'special/dir', 'run', 'bin'):
            os.makedirs(os.path.join(self.tree, d))
        os.makedirs(self.outside)
        self._write('nginx.conf', MAIN_CONF % values)
        self._write('conf.d/app.conf', APP_CONF % values)
        self._write('special/binary.conf', b'server {\x00\x01\x02}\n')
        os.mkfifo(os.path.join(self.tree, 'special/fifo'))
        os.symlink('../conf.d/app.conf', os.path.join(self.tree, 'special/link.conf'))
        with open(os.path.join(self.outside, 'other.conf'), 'w') as f:
            f.write('server {\n    listen 127.0.0.1:9;\n}\n')
        os.symlink(os.path.join(self.outside, 'other.conf'), os.path.join(self.tree, 'conf.d/escape.conf.off'))
        for name in (n for n in setup if n in EXTRA_FILES):
            path, make = EXTRA_FILES[name]
            os.makedirs(os.path.dirname(os.path.join(self.tree, path)), exist_ok=True)
            self._write(path, make(values))
            if path.startswith('bin/'):
                os.chmod(os.path.join(self.tree, path), 0o755)
        if 'symlinked_site' in setup:
            os.symlink('../sites-available/site.conf', os.path.join(self.tree, 'conf.d/site.conf'))
        if 'journal_like' in setup:
            os.makedirs(os.path.join(self.outside, 'txn', 'subdir'))
            with open(os.path.join(self.outside, 'txn', 'keep.txt'), 'w') as f:
                f.write('not a journal\n')
        self.places = dict(values, root=self.root, outside=self.outside, nginx=NGINX)

    def _write(self, rel, content):
        path = os.path.join(self.tree, rel)
        with open(path, 'wb') as f:
            f.write(content if isinstance(content, bytes) else content.encode())

    def expand(self, value):
        """Fill {tree}, {outside}, {root}, {port}, {nginx} ... into every string of value."""
        if isinstance(value, str):
            return re.sub(r'\{(\w+)\}', lambda m: str(self.places.get(m.group(1), m.group(0))), value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return dict((k, self.expand(v)) for k, v in value.items())
        return value

    def snapshot(self):
        """{relative path: (type, mode, uid, gid, content hash or link target)} of the case directory,
        without run/ (nginx's own pid, log and temp files)."""
        state = {}
        for top, dirs, files in os.walk(self.root):
            rel_top = os.path.relpath(top, self.root)
            if rel_top in ('tree/run', 'out') or rel_top.startswith(('tree/run/', 'out/')):
                dirs[:] = []
                continue
            for name in dirs + files:
                path = os.path.join(top, name)
                if os.path.relpath(path, self.root) in ('out', 'tree/run'):
                    continue
                st = os.lstat(path)
                if stat.S_ISREG(st.st_mode):
                    with open(path, 'rb') as f:
                        content = hashlib.sha256(f.read()).hexdigest()
                elif stat.S_ISLNK(st.st_mode):
                    content = os.readlink(path)
                else:
                    content = None
                state[os.path.relpath(path, self.root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                           st.st_uid, st.st_gid, content)
        return state


def changes_between(before, after):
    return sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))


def _run_bounded(argv, env, cwd, timeout):
    """(rc, stdout, stderr, hung) of argv in a session of its own, the whole group killed at the timeout."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=cwd, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            out, err = b'', b''
        hung = True
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'), hung


def _last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith('{'):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def run_module(box, module, args, check=False):
    """The module run directly, as Ansible runs a module on a node (args file as argv[1])."""
    out_dir = os.path.join(box.root, 'out')
    os.makedirs(out_dir, exist_ok=True)
    args = dict(args, _ansible_check_mode=check, _ansible_remote_tmp=out_dir, _ansible_tmpdir=out_dir,
                _ansible_keep_remote_files=False)
    args_file = os.path.join(out_dir, 'args.json')
    with open(args_file, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_BASE, HOME=out_dir)
    rc, out, err, hung = _run_bounded(
        [sys.executable, '-m', 'ansible_collections.badgateway.nginx.plugins.modules.%s' % module, args_file],
        env, box.root, CASE_TIMEOUT)
    return _last_json(out), out + err, hung


def run_action(box, module, args, check=False, extra_vars=None):
    """The module through Ansible (action plugin and module), ad hoc against localhost."""
    out_dir = os.path.join(box.root, 'out')
    os.makedirs(out_dir, exist_ok=True)
    env = ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.minimal',
                      ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=out_dir, ANSIBLE_REMOTE_TEMP=out_dir,
                      HOME=out_dir)
    argv = [ANSIBLE, 'localhost', '-c', 'local', '-m', 'badgateway.nginx.%s' % module, '-a', json.dumps(args)]
    if extra_vars is not None:
        argv += ['-e', json.dumps(extra_vars)]
    if check:
        argv.append('--check')
    rc, out, err, hung = _run_bounded(argv, env, box.root, CASE_TIMEOUT + 20)
    m = re.search(r'^localhost \| ([A-Z!]+) => ', out, re.M)
    result = None
    if m:
        try:
            result = json.loads(out[m.end():])
            result['failed'] = m.group(1) != 'SUCCESS'
        except ValueError:
            result = None
    return result, out + err, hung


def run_filter(box, name, args, kwargs):
    """A filter called in-process: {'failed': True, 'msg': ...} for an AnsibleError, the exception
    class and message in the output for anything else."""
    from ansible.errors import AnsibleError
    import importlib
    mod = importlib.import_module('ansible_collections.badgateway.nginx.plugins.filter.%s' % name)
    func = mod.FilterModule().filters()[name]
    try:
        value = func(*args, **kwargs)
        result = {'failed': False, 'value': value}
        text = json.dumps(value, default=str)
    except AnsibleError as e:
        result = {'failed': True, 'msg': str(e)}
        text = str(e)
    except Exception as e:  # pylint: disable=broad-except  # what is being judged
        result = {'failed': True, 'msg': '%s: %s' % (type(e).__name__, e)}
        text = 'Traceback (most recent call last): %s: %s' % (type(e).__name__, e)
    return result, text, False


def classify(case, result, text, hung, changed_files, box):
    """One outcome for the case, the first that applies: a hang, the secret shown, a Python error,
    an unintended change, a wrong acceptance, an error that names neither option nor file, a wrong
    refusal; else a clear error or correct."""
    if hung:
        return HANG, 'no answer within the case timeout'
    if SECRET in text and not case.get('secret_by_design'):
        return SECRET_SHOWN, 'the planted secret is in the output'
    if result is None:
        return PYTHON_ERROR, 'no JSON result: %s' % text[-800:]
    msg = str(result.get('msg') or '')
    failed = bool(result.get('failed'))
    blob = msg + ' ' + str(result.get('module_stderr') or '') + ' ' + str(result.get('exception') or '')
    if 'Traceback' in text or result.get('module_stderr') or (failed and PY_ERROR.search(blob)):
        return PYTHON_ERROR, msg or text[-800:]
    if case['expect'] == 'error' and not failed:
        also = ' and changed %s' % ', '.join(changed_files) if changed_files else ''
        return WRONGLY_ACCEPTED, 'succeeded%s: %s' % (also, json.dumps(result, default=str)[:600])
    for link in case.get('still_links', ()):
        if not os.path.islink(box.expand(link)):
            return UNINTENDED_CHANGE, '%s is no longer a symlink' % link
    may_change = not failed and not case.get('check') and case.get('may_change')
    if changed_files and not may_change:
        return UNINTENDED_CHANGE, 'changed: %s' % ', '.join(changed_files)
    if failed:
        names = [box.expand(n) for n in case.get('names') or []]
        if names and not any(n in msg for n in names):
            return UNCLEAR_ERROR, 'msg names none of %s: %s' % (names, msg[:600])
        if case['expect'] == 'ok':
            return WRONGLY_REFUSED, msg[:600]
        return CLEAR_ERROR, msg[:300]
    return CORRECT, ''


def run_case(case, base):
    try:
        return _run_case(case, base)
    except Exception as e:  # pylint: disable=broad-except  # one broken case must not hide the others
        return {'id': case['id'], 'outcome': 'harness error', 'detail': '%s: %s' % (type(e).__name__, e), 'seconds': 0}


def _run_case(case, base):
    box = Sandbox(base, case.get('setup', ()))
    before = box.snapshot()
    args = box.expand(case.get('args', {}))
    started = time.monotonic()
    if case['kind'] == 'module':
        result, text, hung = run_module(box, case['target'], args, case.get('check', False))
    elif case['kind'] == 'action':
        result, text, hung = run_action(box, case['target'], args, case.get('check', False),
                                        box.expand(case.get('extra_vars')) if case.get('extra_vars') else None)
    else:
        result, text, hung = run_filter(box, case['target'], box.expand(case.get('fargs', [])),
                                        box.expand(case.get('fkwargs', {})))
    elapsed = time.monotonic() - started
    changed_files = changes_between(before, box.snapshot())
    outcome, detail = classify(case, result, text, hung, changed_files, box)
    shutil.rmtree(box.root, ignore_errors=True)
    return {'id': case['id'], 'outcome': outcome, 'detail': detail, 'seconds': round(elapsed, 2)}
