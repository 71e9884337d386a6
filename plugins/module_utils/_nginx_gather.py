# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!
"""Node side of the facts: the configuration as the running nginx reads it, in one pass.

Standard library only.  ``collect()`` finds the binary, reads ``nginx -V``, dumps the configuration
with ``nginx -T`` (or, when that fails, reads the files while following includes the way nginx
does), keeps ``nginx -t``'s messages, and says whether the files on disk are what the running
master loaded.  The modules nginx_facts and nginx_probe (for the diagnosis) both use it; the
controller, or the node itself, turns the result into facts with module_utils/_nginx_facts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.badgateway.nginx.plugins.module_utils._command import UserError, run
from ansible_collections.badgateway.nginx.plugins.module_utils._nginx_cli import (
    NginxError,
    check_content,
    find_nginx,
    nginx_argv,
    parse_test_output,
    parse_version,
    read_config_tree,
    resolve_paths,
    split_dump,
)
from ansible_collections.badgateway.nginx.plugins.module_utils import _procfs as procfs
from ansible_collections.badgateway.nginx.plugins.module_utils._daemons import Nginx
from ansible_collections.badgateway.nginx.plugins.module_utils._journal import TxnError


def file_mtime(path):
    """When a config file last changed: its own mtime, or its symlink's when the link is newer (a site
    enabled by a new link after the reload is a change too), or None when it cannot be read."""
    times = []
    for stat in (os.stat, os.lstat):
        try:
            times.append(stat(path).st_mtime)
        except OSError:
            pass
    return max(times) if times else None


def loaded_state(binary, version, config, prefix, paths, timeout, proc='/proc'):
    """Whether the files on disk are what the running nginx loaded.

    The master is found as nginx_change finds it (pid file, config and our
    pid and mount namespaces; masters of containers set aside).  The time of
    its last successful start or reload is the start time of the newest
    generation of its workers (the oldest worker that is not shutting down):
    a reload that succeeds starts new workers after the master has read the
    files, one that fails keeps the old workers, so their start time stays
    that of the last configuration loaded.  Without workers it is the
    master's start time.  A file whose mtime is later was changed after nginx
    loaded it.  Times come from /proc: a start time is known to a clock tick
    and the boot time to 10 ms, so a file counts as changed only when its
    mtime is later by more than that (a file written just before the reload,
    and read by it, is never reported; one written within that margin after
    it is not either).
    """
    margin = 1.0 / os.sysconf('SC_CLK_TCK') + 0.01
    state = {'master_pid': None, 'reloaded_at': None, 'changed': [], 'note': None, 'set_aside': []}
    nginx = Nginx({'bin': binary, 'config': config, 'prefix': prefix}, timeout, proc)
    nginx._info = version  # pylint: disable=protected-access
    try:
        master = nginx.master()
    except (TxnError, UserError) as e:
        master = None
        state['note'] = str(e)
    state['set_aside'] = nginx.set_aside
    if not master:
        state['note'] = state['note'] or 'nginx is not running: no master of %s runs in our namespaces' % config
        return state
    state['master_pid'] = master
    ticks = dict((pid, procfs.start_time(pid, proc, 0)) for pid in procfs.children_titled(master, proc=proc))
    ticks = dict((pid, t) for pid, t in ticks.items() if t is not None)
    newest = min(ticks, key=ticks.get) if ticks else master  # the oldest worker of the newest generation
    loaded = procfs.start_time(newest, proc)  # to 10 ms: for the comparison
    if loaded is None:
        state['note'] = 'the start time of the nginx master %d cannot be read' % master
        return state
    # reported from the kernel's whole-second boot time: the same value at every gathering (facts stay stable)
    state['reloaded_at'] = procfs.start_time(newest, proc, procfs.btime(proc)) or round(loaded, 1)
    for path in paths:
        mtime = file_mtime(path)
        if mtime is not None and mtime > loaded + margin:
            state['changed'].append({'file': path, 'mtime': mtime})
    return state


def collect(params):
    """Everything the controller needs, in one module run on the node."""
    binary = find_nginx(params['nginx_bin'])
    timeout = params['timeout']
    rc, out, err = run([binary, '-V'], timeout)
    if rc != 0:
        raise NginxError('%s -V failed (rc=%d): %s' % (binary, rc, err.strip()[-500:]))
    version = parse_version(err + out.decode('utf-8', 'replace'))
    prefix, config, conf_prefix = resolve_paths(version, params['config'], params['prefix'])
    if not os.path.exists(config):
        raise NginxError('nginx config %s does not exist' % config)
    if not os.access(config, os.R_OK):
        raise NginxError('nginx config %s is not readable by this user (use become)' % config)

    rc, out, err = run(nginx_argv(binary, '-T', params['config'], params['prefix']), timeout)
    errors, warnings = parse_test_output(err)
    if rc < 0 or rc > 128:
        errors.append({'level': 'crit', 'file': None, 'line': None,
                       'message': 'nginx -T was killed by signal %d (an include loop makes nginx crash)'
                                  % (-rc if rc < 0 else rc - 128)})
    result = {
        'binary': binary,
        'build': version,
        'prefix': prefix,
        'config': config,
        'conf_prefix': conf_prefix,
        'valid': rc == 0,
        'validation': {'rc': rc, 'errors': errors, 'warnings': warnings},
        'warnings': [],
    }
    files = []
    if rc == 0 and out:
        result['source'] = 'nginx -T'
        for path, data in split_dump(out):
            text, warning = check_content(path, data, params['max_file_size'])
            if warning:
                result['warnings'].append(warning)
            files.append({'path': path, 'content': text})
    else:
        result['source'] = 'files'
        tree, read_errors, read_warnings = read_config_tree(config, conf_prefix, params['max_file_size'])
        result['warnings'].extend(read_warnings)
        known = set((e['file'], e['line'], e['message']) for e in errors)
        for e in read_errors:
            if (e['file'], e['line'], e['message']) not in known:
                errors.append(e)
        if rc == 0:
            result['valid'] = True
        files = [{'path': p, 'content': t} for p, t in tree]
    if rc != 0 and not errors:
        errors.append({'level': 'emerg', 'file': None, 'line': None,
                       'message': 'nginx -T failed (rc=%d): %s' % (rc, err.strip()[-500:] or 'no output')})
    result['files'] = files
    result['loaded'] = loaded_state(binary, version, config, prefix, [f['path'] for f in files], timeout)
    return result
