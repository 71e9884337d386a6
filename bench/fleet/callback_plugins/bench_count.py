# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Callback of bench/bench_fleet.py: counts the task results of every host.

Enabled by the environment bench_fleet.py gives ansible (ANSIBLE_CALLBACKS_ENABLED,
ANSIBLE_CALLBACK_PLUGINS); writes {host: {status: count}} as JSON to the file named
by BENCH_COUNT_FILE when the run ends. Results of run_once/delegated tasks are
counted for the host they were run for. With BENCH_TIMELINE_FILE it also writes when the
callback was loaded, each play and task started, each result came in (its status) and the run
ended: [[seconds, kind, name], ...]
(time.monotonic(), the clock bench_fleet.py measures the run with).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: bench_count
type: aggregate
short_description: count task results per host (bench_fleet.py only)
description: Writes the number of task results per host and status to $BENCH_COUNT_FILE.
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_count'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.counts = {}
        self.written = False
        self.timeline = [[time.monotonic(), 'loaded', '']]

    def v2_playbook_on_play_start(self, play):
        self.timeline.append([time.monotonic(), 'play', play.get_name()])

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.timeline.append([time.monotonic(), 'task', task.get_name()])

    def _count(self, result, status):
        self.timeline.append([time.monotonic(), 'result', status])
        host = self.counts.setdefault(result._host.get_name(), {})
        host[status] = host.get(status, 0) + 1

    def v2_runner_on_ok(self, result, *args, **kwargs):
        self._count(result, 'ok')

    def v2_runner_on_failed(self, result, *args, **kwargs):
        self._count(result, 'failed')

    def v2_runner_on_skipped(self, result, *args, **kwargs):
        self._count(result, 'skipped')

    def v2_runner_on_unreachable(self, result, *args, **kwargs):
        self._count(result, 'unreachable')

    def _write(self):
        path = os.environ.get('BENCH_COUNT_FILE')
        if path and not self.written:
            with open(path, 'w') as f:
                json.dump(self.counts, f, sort_keys=True)
            self.written = True
        timeline = os.environ.get('BENCH_TIMELINE_FILE')
        if timeline:
            with open(timeline, 'w') as f:
                json.dump(self.timeline + [[time.monotonic(), 'end', '']], f)

    def v2_playbook_on_stats(self, stats):
        self._write()
