# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults of the node that used to hang or traceback: the one command runner (_command.run)
and the direct-read path of the configuration (read_config_tree), run for real (real processes,
real FIFOs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import sys
import time

import pytest

from ansible_collections.badgateway.nginx.plugins.module_utils import _command as command
from ansible_collections.badgateway.nginx.plugins.module_utils import _nginx_cli as nc

PY = sys.executable


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(')')[-1].split()[0] != 'Z'
    except IOError:
        return False


def test_run_timeout_kills_the_whole_group_and_returns_in_time(tmp_path):
    """A child that starts a grandchild holding stdout/stderr: the timeout is the timeout."""
    pidfile = tmp_path / 'grandchild.pid'
    script = ('import os, subprocess, sys, time\n'
              'p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(100)"])\n'
              'open(%r, "w").write(str(p.pid))\n'
              'time.sleep(100)\n' % str(pidfile))
    start = time.monotonic()
    with pytest.raises(command.CommandError, match='did not finish within 2 seconds'):
        command.run([PY, '-c', script], 2)
    assert time.monotonic() - start < 8
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), 'the grandchild outlived the timeout'


def test_run_does_not_wait_for_a_grandchild_holding_the_pipes(tmp_path):
    """The main process exits at once, its child keeps stdout open for 100 s."""
    script = ('import subprocess, sys\n'
              'subprocess.Popen([sys.executable, "-c", "import time; time.sleep(100)"])\n'
              'sys.stdout.write("done\\n")\n')
    start = time.monotonic()
    try:
        rc, out, _err = command.run([PY, '-c', script], 30)
    except command.CommandError as e:
        rc, out = None, str(e)
    assert time.monotonic() - start < 8
    assert rc == 0 and out == b'done\n', (rc, out)


def test_run_normal_command_keeps_output_and_status():
    rc, out, err = command.run([PY, '-c', 'import sys; sys.stdout.write("o"); sys.stderr.write("e"); sys.exit(3)'], 10)
    assert (rc, out, err) == (3, b'o', 'e')


def test_run_nul_byte_in_argv_is_a_clear_error():
    with pytest.raises(command.CommandError, match='NUL'):
        command.run(['/bin/echo', 'a\x00b'], 5)


@pytest.mark.parametrize('kind', ['fifo', 'directory', 'socket'])
def test_read_config_tree_skips_non_regular_include_with_a_message(tmp_path, kind):
    special = tmp_path / 'special.conf'
    if kind == 'fifo':
        os.mkfifo(str(special))
    elif kind == 'directory':
        special.mkdir()
    else:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(special))
    main = tmp_path / 'nginx.conf'
    main.write_text('events {}\nhttp {\n    include %s;\n    include ok.conf;\n}\n' % special)
    (tmp_path / 'ok.conf').write_text('server { listen 1; }\n')
    start = time.monotonic()
    files, errors, _warnings = nc.read_config_tree(str(main), str(tmp_path) + '/')
    assert time.monotonic() - start < 3
    assert [p for p, _t in files] == [str(main), str(tmp_path / 'ok.conf')]
    assert len(errors) == 1 and errors[0]['file'] == str(main) and errors[0]['line'] == 3
    assert str(special) in errors[0]['message'] and 'not a regular file' in errors[0]['message']


def test_read_config_tree_main_fifo_is_a_clear_error(tmp_path):
    main = tmp_path / 'nginx.conf'
    os.mkfifo(str(main))
    with pytest.raises(nc.NginxError, match='not a regular file'):
        nc.read_config_tree(str(main), str(tmp_path) + '/')
    assert stat.S_ISFIFO(os.stat(str(main)).st_mode)


def test_read_config_tree_nul_byte_in_file_is_a_clear_error(tmp_path):
    main = tmp_path / 'nginx.conf'
    main.write_bytes(b'events {}\n\x00http {}\n')
    with pytest.raises(nc.NginxError, match='binary file'):
        nc.read_config_tree(str(main), str(tmp_path) + '/')
