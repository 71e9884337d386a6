# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A colleague's half-finished edit must not blind the diagnosis.

nginx runs (a plain process, no systemd) with a good configuration that includes conf.d/*.conf.
Then one included file is left with an unterminated block, as an editor would leave it, while
nginx keeps serving the configuration it last loaded. The diagnose playbook must still diagnose
every route that parses (the dead route is upstream_down), name the broken file at the file:line
that nginx -t itself prints (config_invalid), and say that the files on disk are not the ones the
running nginx loaded (config_not_loaded).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import ansible_env, free_port, plain_nginx_main, wait_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'
pytestmark = pytest.mark.skipif(not os.path.exists(NGINX) or os.geteuid() != 0,
                                reason='needs nginx and root')

APP = '''server {
    listen 127.0.0.1:%(listen)d;
    location /dead/ {
        proxy_pass http://127.0.0.1:%(dead)d;
    }
}
'''

# what the colleague was writing when they left: the second server block is not closed
HALF = '''server {
    listen 127.0.0.1:%(other)d;
    location / {
        return 200 "half\\n";
    }
}

server {
    listen 127.0.0.1:%(other2)d;
    location /new/ {
        proxy_pass http://127.0.0.1:%(dead)d;
    }
'''


@pytest.fixture
def half_edited(tmp_path):
    ports = {'listen': free_port(), 'dead': free_port(), 'other': free_port(), 'other2': free_port(),
             'd': str(tmp_path)}
    (tmp_path / 'conf.d').mkdir()
    conf = tmp_path / 'nginx.conf'
    conf.write_text(plain_nginx_main(tmp_path, '    include %s/conf.d/*.conf;\n' % tmp_path))
    (tmp_path / 'conf.d' / 'app.conf').write_text(APP % ports)
    half = tmp_path / 'conf.d' / 'half.conf'
    half.write_text((HALF % ports) + '}\n')  # the version nginx loaded was complete
    proc = subprocess.Popen([NGINX, '-p', str(tmp_path) + '/', '-c', str(conf), '-g', 'daemon off; master_process on;'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(ports['listen'])
        time.sleep(1.1)  # the edit comes later than the start, in whole seconds of mtime too
        half.write_text(HALF % ports)  # and now it is broken on disk
        try:
            urllib.request.urlopen('http://127.0.0.1:%d/dead/x' % ports['listen'], timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 502
        test = subprocess.run([NGINX, '-t', '-p', str(tmp_path) + '/', '-c', str(conf)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        assert test.returncode != 0
        m = re.search(r'\[emerg\] (?:\d+#\d+: )?(.*) in (\S+):(\d+)', test.stdout)
        assert m, test.stdout
        yield dict(ports, conf=str(conf), prefix=str(tmp_path) + '/', half=str(half),
                   nginx_error=(m.group(1), m.group(2), int(m.group(3))))
    finally:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(10)


def test_diagnosis_survives_a_broken_include(half_edited, tmp_path):
    report_dir = tmp_path / 'report'
    env = ansible_env(ANSIBLE_NOCOLOR='1')
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), 'badgateway.nginx.diagnose',
            '-i', 'localhost,', '-c', 'local', '-e', 'report_dir=%s' % report_dir,
            '-e', 'nginx_diagnose_config=%s' % half_edited['conf'], '-e', 'nginx_diagnose_prefix=%s' % half_edited['prefix'],
            '-e', 'nginx_diagnose_php_fpm=false']
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True,
                          check=False)
    assert proc.returncode == 0, proc.stdout
    report = json.loads((report_dir / 'report.json').read_text())
    findings = report['hosts']['localhost']['findings']
    by_id = {}
    for f in findings:
        by_id.setdefault(f['id'], []).append(f)

    # the route in the good file is diagnosed as usual
    down = [f for f in by_id.get('upstream_down', []) if f['location']['match'] == '/dead/']
    assert len(down) == 1, findings
    assert down[0]['target']['text'] == '127.0.0.1:%d' % half_edited['dead']

    # the broken file is named where nginx -t names it, with nginx's own message
    message, nginx_file, nginx_line = half_edited['nginx_error']
    assert nginx_file == half_edited['half']
    invalid = by_id.get('config_invalid') or []
    assert len(invalid) == 1, findings
    assert '%s:%d' % (nginx_file, nginx_line) in invalid[0]['summary']
    assert message in invalid[0]['summary']

    # and the running nginx did not load what is on disk now
    stale = by_id.get('config_not_loaded') or []
    assert len(stale) == 1, findings
    assert half_edited['half'] in json.dumps(stale[0])
    assert os.path.join(half_edited['prefix'], 'conf.d', 'app.conf') not in json.dumps(stale[0]['evidence'])
