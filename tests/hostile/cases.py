# -*- coding: utf-8 -*-
# Copyright (c) 2026, badgateway.nginx contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hostile-input case table, generated from every module's options and every filter.

Each module has valid base arguments (in its own throwaway tree) and a kind for each option; each
kind has hostile values with what must happen: ``error`` (failed, msg names the option or file,
nothing changed), ``ok`` (a documented success) or ``any`` (either of those, never a traceback,
hang, change on failure or the secret).  Hand-written cases add the faults the generator cannot
name (FIFOs, wrappers, files outside the tree).  To extend: add a value to KINDS, an option to
MODULES, or a case to SPECIAL.  XFAIL lists cases that still fail, with the defect and who owns it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

LONG = 'a' * 5000
NUL = 'x\x00y'

# kind -> [(label, value, expect)]
KINDS = {
    'config_path': [('nul', '{tree}/nginx.conf' + NUL, 'error'), ('fifo', '{tree}/special/fifo', 'error'),
                    ('directory', '{tree}/special/dir', 'error'), ('binary', '{tree}/special/binary.conf', 'error'),
                    ('missing', '{tree}/missing.conf', 'error'), ('long', '/' + LONG, 'error'),
                    ('dotdot', '{tree}/conf.d/../nginx.conf', 'ok'), ('wrong_type', {'a': 1}, 'error')],
    'prefix_path': [('nul', '{tree}/' + NUL, 'error'), ('long', '/' + LONG, 'any'), ('missing', '{tree}/nowhere/', 'any'),
                    ('fifo', '{tree}/special/fifo', 'any'), ('dotdot', '{tree}/conf.d/../', 'ok')],
    'bin_path': [('nul', '{nginx}' + NUL, 'error'), ('directory', '{tree}/special/dir', 'error'),
                 ('not_executable', '{tree}/nginx.conf', 'error'), ('missing', '{tree}/bin/none', 'error'),
                 ('fifo', '{tree}/special/fifo', 'error')],
    'path': [('nul', '{root}/out/p' + NUL, 'error'), ('long', '/' + LONG, 'any'), ('relative', 'relative/dir', 'any'),
             ('wrong_type', ['a'], 'any')],
    'log_path': [('nul', '{tree}/run/error.log' + NUL, 'error'), ('fifo', '{tree}/special/fifo', 'any'),
                 ('directory', '{tree}/special/dir', 'any'), ('binary', '{tree}/special/binary.conf', 'any'),
                 ('long', '/' + LONG, 'any')],
    'edit_path': [('nul', '{tree}/conf.d/app.conf' + NUL, 'error'), ('fifo', '{tree}/special/fifo', 'error'),
                  ('directory', '{tree}/special/dir', 'error'), ('binary', '{tree}/special/binary.conf', 'error'),
                  ('outside_tree', '{outside}/other.conf', 'error'),
                  ('symlink_out', '{tree}/conf.d/escape.conf.off', 'error'), ('relative', 'conf.d/app.conf', 'error'),
                  ('missing', '{tree}/conf.d/missing.conf', 'error')],
    'seconds_int': [('negative', -1, 'error'), ('zero', 0, 'error'), ('huge', 10 ** 12, 'any'),
                    ('text', 'abc', 'error'), ('wrong_type', [1], 'error')],
    'seconds_float': [('negative', -1, 'error'), ('zero', 0, 'error'), ('nan', 'nan', 'error'),
                      ('huge', 1e12, 'any'), ('text', 'abc', 'error')],
    'wait_float': [('negative', -1, 'error'), ('zero', 0, 'ok'), ('nan', 'nan', 'error'), ('text', 'abc', 'error')],
    'count': [('negative', -1, 'error'), ('huge', 10 ** 12, 'any'), ('text', 'abc', 'error')],
    'size': [('negative', -1, 'error'), ('zero', 0, 'error'), ('text', 'abc', 'error')],
    'port': [('negative', -1, 'error'), ('zero', 0, 'error'), ('too_big', 65536, 'error'), ('text', 'abc', 'error')],
    'line': [('negative', -1, 'error'), ('zero', 0, 'error'), ('huge', 10 ** 9, 'error'), ('text', 'x', 'error')],
    'one_line': [('nul', 'a' + NUL, 'error'), ('crlf', 'a\r\nX-Injected: 1', 'error'), ('long', LONG, 'any')],
    'text': [('nul', 'a' + NUL, 'any'), ('crlf', 'a\r\nb', 'any'), ('long', LONG, 'any'), ('wrong_type', {'a': 1}, 'any')],
    'name': [('nul', 'a' + NUL, 'error'), ('crlf', 'a\nb', 'error'), ('long', LONG, 'any')],
    'bool': [('text', 'maybe', 'error'), ('number', 7, 'error')],
    'choice': [('bogus', 'bogus', 'error'), ('empty', '', 'error'), ('wrong_type', ['a'], 'error')],
    'list': [('string', 'a,b', 'any'), ('none_item', [None], 'any'), ('dict_item', [{'a': 1}], 'any'), ('number', 5, 'any')],
    'dict': [('string', 'notadict', 'error'), ('list', [1, 2], 'error')],
    'raw': [('number', 5, 'any'), ('dict', {'a': 1}, 'any'), ('nul', '/' + NUL, 'any')],
}

NGINX_TREE = {'nginx_bin': '{nginx}', 'config': '{tree}/nginx.conf', 'prefix': '{tree}/'}
TREE_OPTIONS = {'nginx_bin': 'bin_path', 'config': 'config_path', 'prefix': 'prefix_path'}

# module -> base args, option kinds (dotted for nested options: changes.0.path), and how it runs
MODULES = {
    'nginx_validate': dict(base=dict(NGINX_TREE), options=dict(TREE_OPTIONS, fail_on_error='bool', timeout='seconds_int')),
    'nginx_facts': dict(base=dict(NGINX_TREE), secret_by_design=True,
                        options=dict(TREE_OPTIONS, max_file_size='size', timeout='seconds_int', verbose='bool')),
    'nginx_directive': dict(
        base=dict(NGINX_TREE, path='{tree}/conf.d/app.conf', scope='location', server_name='app.test', location='/',
                  directive='proxy_connect_timeout', args=['5s'], journal_dir='{root}/out/journal'),
        may_change=True, names=['{tree}/conf.d/app.conf'],
        options=dict(TREE_OPTIONS, path='edit_path', scope='choice', server_name='name', listen='text', location='raw',
                     upstream='text', line='line', directive='name', args='list', key='text', state='choice',
                     insert='choice', backup='bool', validate='bool', timeout='seconds_int', journal_dir='path',
                     lock_timeout='count')),
    'nginx_change': dict(
        base=dict(changes=[dict(path='{tree}/conf.d/app.conf', scope='location', server_name='app.test', location='/',
                                directive='proxy_connect_timeout', args=['5s'])],
                  nginx=dict(bin='{nginx}', config='{tree}/nginx.conf', prefix='{tree}/', pid_file='{tree}/run/nginx.pid'),
                  journal_dir='{root}/out/journal', timeout=10),
        check=True, names=['changes[0]', '{tree}/conf.d/app.conf'],
        options={'changes': 'list', 'changes.0.kind': 'choice', 'changes.0.path': 'edit_path', 'changes.0.scope': 'choice',
                 'changes.0.server_name': 'name', 'changes.0.line': 'line', 'changes.0.directive': 'name',
                 'changes.0.args': 'list', 'changes.0.location': 'raw', 'nginx': 'dict', 'nginx.bin': 'bin_path',
                 'nginx.config': 'config_path', 'nginx.prefix': 'prefix_path', 'nginx.pid_file': 'path',
                 'nginx.reload_timeout': 'seconds_int', 'verify': 'dict', 'verify.settle': 'wait_float',
                 'verify.error_log': 'log_path', 'journal_dir': 'path', 'lock_timeout': 'count',
                 'recover_only': 'bool', 'timeout': 'seconds_int'}),
    'nginx_probe': dict(
        base=dict(NGINX_TREE, tcp_targets=[dict(host='127.0.0.1', port='{backend_port}')], error_logs=['{tree}/run/error.log'],
                  journal_dir='{root}/out/journal', php_fpm=False, firewall=False, resources=False, timeout=1, discover=True),
        secret_by_design=True,
        options={'nginx_bin': 'bin_path', 'config': 'config_path', 'prefix': 'prefix_path', 'discover': 'bool',
                 'max_file_size': 'size', 'tcp_targets': 'list', 'tcp_targets.0.host': 'one_line', 'tcp_targets.0.port': 'port',
                 'unix_targets': 'list', 'unix_targets.0': 'log_path', 'nginx_user': 'name', 'nginx_group': 'name',
                 'error_logs': 'list', 'error_logs.0': 'log_path', 'log_lines': 'size', 'log_since': 'count',
                 'redact_query': 'bool', 'php_fpm': 'bool', 'mac': 'bool', 'urls': 'list', 'timeout': 'seconds_float',
                 'journal_dir': 'path'}),
    'firewall_allow': dict(
        base=dict(port=18080, sources=['127.0.0.1'], backup_dir='{root}/out/backup', journal_dir='{root}/out/journal',
                  timeout=5), check=True,
        options={'port': 'port', 'protocol': 'choice', 'direction': 'choice', 'sources': 'list',
                 'destinations': 'list', 'state': 'choice', 'backend': 'choice', 'persist': 'bool',
                 'comment': 'one_line', 'zone': 'name', 'backup_dir': 'path', 'journal_dir': 'path', 'restore': 'list',
                 'lock_timeout': 'count', 'timeout': 'seconds_int'}),
    'backend_service': dict(
        base=dict(port='{backend_port}', timeout=3), check=True, baseline='any',
        options={'port': 'port', 'address': 'name', 'name': 'name', 'timeout': 'seconds_int'}),
}


def _set(args, dotted, value):
    keys = dotted.split('.')
    node = args
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def generated_cases():
    for module, spec in sorted(MODULES.items()):
        common = dict(kind='module', target=module, check=spec.get('check', False), may_change=spec.get('may_change'),
                      secret_by_design=spec.get('secret_by_design', False))
        yield dict(common, id='%s/baseline' % module, args=copy.deepcopy(spec['base']),
                   expect=spec.get('baseline', 'ok'))
        for option, kind in sorted(spec['options'].items()):
            for label, value, expect in KINDS[kind]:
                args = copy.deepcopy(spec['base'])
                _set(args, option, value)
                leaf = [k for k in option.split('.') if not k.isdigit()][-1]
                names = [leaf] + spec.get('names', [])
                if isinstance(value, str) and '\x00' not in value and len(value) < 200:
                    names.append(value)  # or the file it names
                yield dict(common, id='%s/%s=%s' % (module, option, label), args=args, expect=expect, names=names)


def _tree_case(case_id, module, args, expect, kind='module', **more):
    return dict(dict(kind=kind, target=module, args=args, expect=expect, id=case_id), **more)


SPECIAL = [
    # hangs (defect 1): an included FIFO on the direct-read path, nginx_bin wrappers
    _tree_case('nginx_facts/fifo_include_direct_read', 'nginx_facts', dict(NGINX_TREE, config='{tree}/fifo-include.conf'),
               'ok', setup=('fifo_include',), secret_by_design=True),
    _tree_case('nginx_facts/wrapper_child_holds_pipes', 'nginx_facts',
               dict(NGINX_TREE, nginx_bin='{tree}/bin/nginx-child-holds-pipes', timeout=3), 'ok',
               setup=('wrapper_child',), secret_by_design=True),
    _tree_case('nginx_validate/wrapper_child_holds_pipes', 'nginx_validate',
               dict(NGINX_TREE, nginx_bin='{tree}/bin/nginx-child-holds-pipes', timeout=3), 'ok', setup=('wrapper_child',)),
    _tree_case('nginx_validate/wrapper_hangs', 'nginx_validate',
               dict(NGINX_TREE, nginx_bin='{tree}/bin/nginx-hangs', timeout=3), 'error', setup=('wrapper_hang',),
               names=['did not finish within 3 seconds']),
    _tree_case('nginx_facts/wrapper_hangs', 'nginx_facts',
               dict(NGINX_TREE, nginx_bin='{tree}/bin/nginx-hangs', timeout=3), 'error', setup=('wrapper_hang',),
               names=['did not finish within 3 seconds']),
    # files nginx_facts reads directly
    _tree_case('nginx_facts/huge_config', 'nginx_facts',
               dict(NGINX_TREE, config='{tree}/special/huge.conf', max_file_size=1024 * 1024), 'error',
               setup=('huge',), names=['huge.conf']),
    _tree_case('nginx_facts/broken_main_direct_read', 'nginx_facts', dict(NGINX_TREE, config='{tree}/broken.conf'), 'ok',
               setup=('broken_main',), secret_by_design=True),
    _tree_case('nginx_validate/broken_main', 'nginx_validate', dict(NGINX_TREE, config='{tree}/broken.conf'), 'error',
               setup=('broken_main',), names=['broken.conf']),
    # through Ansible: the controller half must redact the planted secret
    _tree_case('action/nginx_facts/secret_redacted', 'nginx_facts', dict(NGINX_TREE), 'ok', kind='action'),
    _tree_case('action/nginx_facts/fifo_include', 'nginx_facts', dict(NGINX_TREE, config='{tree}/fifo-include.conf'),
               'ok', kind='action', setup=('fifo_include',)),
    _tree_case('action/nginx_facts/config=nul', 'nginx_facts', dict(NGINX_TREE, config='{tree}/nginx.conf' + NUL),
               'error', kind='action', names=['config']),
    _tree_case('action/nginx_diagnose/secret_redacted', 'nginx_diagnose',
               dict(NGINX_TREE, journal_dir='{root}/out/journal', php_fpm=False, firewall=False, resources=False,
                    timeout=1), 'ok', kind='action'),
    _tree_case('action/nginx_diagnose/config=nul', 'nginx_diagnose',
               dict(NGINX_TREE, config='{tree}/nginx.conf' + NUL, journal_dir='{root}/out/journal'), 'error',
               kind='action', names=['config']),
    _tree_case('action/nginx_diagnose/timeout=negative', 'nginx_diagnose',
               dict(NGINX_TREE, timeout=-1, journal_dir='{root}/out/journal'), 'error', kind='action', names=['timeout']),
    _tree_case('action/nginx_diagnose/urls.host=crlf', 'nginx_diagnose',
               dict(NGINX_TREE, journal_dir='{root}/out/journal', php_fpm=False, firewall=False, resources=False,
                    urls=[dict(url='http://127.0.0.1:{port}/', host='a\r\nX-Injected: 1')]), 'error', kind='action',
               names=['host']),
    _tree_case('action/nginx_report/malformed_diagnosis', 'nginx_report', dict(hosts=['localhost']), 'any',
               kind='action', extra_vars={'nginx_diagnosis': {'nginx': True}}, names=['nginx_diagnosis', 'localhost']),
    _tree_case('action/nginx_report/prometheus_dir=nul', 'nginx_report',
               dict(hosts=['localhost'], prometheus_dir='{root}/out/p' + NUL), 'error', kind='action', names=['prometheus_dir']),
    _tree_case('action/nginx_report/report_dir=nul', 'nginx_report', dict(hosts=['localhost'], report_dir='{root}/out/r' + NUL),
               'error', kind='action', names=['report_dir']),
    _tree_case('action/nginx_report/report_dir=file', 'nginx_report', dict(hosts=['localhost'], report_dir='{tree}/nginx.conf'),
               'error', kind='action', names=['report_dir', 'nginx.conf']),
    # transactions that fail must not show the planted secret (failing_version) nor change a file
    _tree_case('nginx_change/invalid_directive_no_secret', 'nginx_change',
               dict(MODULES['nginx_change']['base'], changes=[dict(
                   path='{tree}/conf.d/app.conf', scope='location', server_name='app.test', location='/',
                   directive='proxy_connect_timeout', args=['not-a-time'])]), 'error', names=['app.conf']),
    _tree_case('nginx_change/journal_dir=existing_dir', 'nginx_change',
               dict(MODULES['nginx_change']['base'], journal_dir='{outside}'), 'any', setup=('journal_like',)),
    _tree_case('nginx_directive/symlinked_site_kept', 'nginx_directive',
               dict(MODULES['nginx_directive']['base'], path='{tree}/conf.d/site.conf', server_name='site.test'), 'ok',
               setup=('symlinked_site',), may_change=True, still_links=['{tree}/conf.d/site.conf']),
    _tree_case('nginx_directive/invalid_value_restored', 'nginx_directive',
               dict(MODULES['nginx_directive']['base'], args=['not-a-time']), 'error', may_change=True,
               names=['app.conf', 'proxy_connect_timeout']),
    _tree_case('nginx_directive/symlink_in_tree', 'nginx_directive',
               dict(MODULES['nginx_directive']['base'], path='{tree}/special/link.conf'), 'any', check=True),
    _tree_case('nginx_probe/urls.host=crlf', 'nginx_probe',
               dict(MODULES['nginx_probe']['base'], urls=[dict(url='http://127.0.0.1:{port}/', host='a\r\nX: 1')]),
               'error', names=['host']),
    _tree_case('nginx_probe/http_checks.url=crlf', 'nginx_probe',
               dict(MODULES['nginx_probe']['base'], http_checks=[dict(url='http://127.0.0.1:{port}/\r\nX: 1')]),
               'error', names=['url']),
    _tree_case('nginx_probe/unix_targets=nul', 'nginx_probe',
               dict(MODULES['nginx_probe']['base'], unix_targets=['/run/x' + NUL + '.sock']), 'error', names=['unix_targets']),
    _tree_case('backend_service/address=unresolvable', 'backend_service',
               dict(port='{backend_port}', address='l27.0.0.1', timeout=3), 'error', check=True, names=['address']),
    _tree_case('backend_service/socket=nul', 'backend_service', dict(socket='/run/x' + NUL, timeout=3), 'error',
               check=True, names=['socket']),
    _tree_case('firewall_allow/world_in_pieces', 'firewall_allow',
               dict(port=18080, sources=['0.0.0.0/1', '128.0.0.0/1'], backup_dir='{root}/out/backup'), 'error',
               check=True, names=['sources']),
    _tree_case('firewall_allow/ipv6_scope_id', 'firewall_allow',
               dict(port=18080, sources=['fe80::1%eth0'], backup_dir='{root}/out/backup'), 'error', check=True,
               names=['sources', 'fe80']),
    _tree_case('firewall_allow/timeout=zero', 'firewall_allow',
               dict(port=18080, sources=['127.0.0.1'], backup_dir='{root}/out/backup', timeout=0), 'error', check=True,
               names=['timeout']),
]

# filters: (filter, label, positional args, keyword args, expect)
_FINDINGS = [('none', None, 'any'), ('string', 'x', 'error'), ('number', 5, 'error'), ('none_item', [None], 'error'),
             ('number_item', [5], 'error'), ('id_none', [{'id': None}], 'any'), ('id_number', [{'id': 5}], 'any')]
_FACTS = [('none', None, 'any'), ('string', 'x', 'error'), ('list', [], 'error'), ('servers_none', {'servers': None}, 'any'),
          ('servers_item_none', {'servers': [None]}, 'error'), ('upstreams_string', {'servers': [], 'upstreams': 'x'}, 'error')]
PLAN_KINDS = ('proxy_timeouts', 'proxy_buffers', 'upstream_target', 'php_fpm_pool', 'proxy_headers')
GOOD_FACTS = {'servers': [], 'upstreams': {}, 'gathered': {'id': 'g'}}


# compact facts (format compact/1, which expand() still reads) that compact() did not write: edited, truncated, from a newer collection
_COMPACT = [('compact_format_unknown', {'format': 'compact/9', 'servers': []}, 'error'),
            ('compact_servers_string', {'format': 'compact/1', 'servers': 'x'}, 'error'),
            ('compact_settings_out_of_range', {'format': 'compact/1', 'values': [], 'servers': [
                {'listen': [], 'server_name': [''], 'locations': [
                    {'match': '/', 'pass': {'directive': 'proxy_pass', 'target': 'http://a'}, 'settings': [7]}]}]}, 'error'),
            ('compact_listen_without_raw', {'format': 'compact/1', 'servers': [
                {'listen': [{'line': 1}], 'server_name': [''], 'locations': []}]}, 'error'),
            ('compact_empty', {'format': 'compact/1', 'servers': []}, 'ok')]


def filter_cases():
    for kind in PLAN_KINDS:
        for label, value, expect in _FINDINGS:
            yield ('remediation_plan', '%s/findings=%s' % (kind, label), [value, kind, GOOD_FACTS], {}, expect)
        for label, value, expect in _FACTS:
            yield ('remediation_plan', '%s/facts=%s' % (kind, label), [[], kind, value], {}, expect)
        yield ('remediation_plan', '%s/options=string' % kind, [[], kind, GOOD_FACTS], {'options': 'x'}, 'error')
        yield ('remediation_plan', '%s/checks=string' % kind, [[], kind, GOOD_FACTS], {'checks': 'x'}, 'any')
    yield ('remediation_plan', 'kind=bogus', [[], 'bogus', GOOD_FACTS], {}, 'error')
    yield ('remediation_plan', 'kind=none', [[], None, GOOD_FACTS], {}, 'error')
    yield ('remediation_plan', 'php_fpm_pool/options.floor=text', [[], 'php_fpm_pool', GOOD_FACTS],
           {'options': {'floor': 'abc'}}, 'error')
    for label, value, expect in _FINDINGS:
        yield ('remediation_triage', 'findings=%s' % label, [value], {}, expect)
    yield ('remediation_triage', 'include=number', [[]], {'include': 5}, 'error')
    yield ('remediation_triage', 'exclude=string', [[]], {'exclude': 'x'}, 'any')
    for label, value, expect in [('none', None, 'error'), ('string', 'x', 'error'), ('servers_none', {'servers': None}, 'error'),
                                 ('servers_item_none', {'servers': [None]}, 'error'),
                                 ('listen_none', {'servers': [{'listen': None, 'server_name': [], 'locations': []}]}, 'error'),
                                 ('upstreams_string', {'servers': [], 'upstreams': 'x'}, 'error'),
                                 ('errors_item_none', {'servers': [], 'validation': {'errors': [None]}}, 'error'),
                                 ('empty', {'servers': []}, 'ok')] + _COMPACT:
        yield ('nginx_summary', 'facts=%s' % label, [value], {}, expect)
    for label, value, expect in [('none', None, 'error'), ('string', 'x', 'error'), ('verbose', {'servers': []}, 'ok')] + _COMPACT:
        yield ('nginx_verbose_facts', 'facts=%s' % label, [value], {}, expect)
    for step in ('service_plan', 'firewall_plan'):
        for label, value, expect in _FINDINGS:
            yield ('remediation_steps', '%s/findings=%s' % (step, label), [value, step, {'web1': {}}, 'web1'], {}, expect)
        yield ('remediation_steps', '%s/hostvars=string' % step, [[], step, 'x', 'web1'], {}, 'any')
    yield ('remediation_steps', 'step=bogus', [[], 'bogus'], {}, 'error')
    yield ('remediation_steps', 'firewall_result/input=string', ['x', 'firewall_result'], {}, 'error')
    part = {'label': 'a', 'changes': [{'path': '/x'}], 'verify': [{'url': 'http://127.0.0.1/'}], 'php_fpm': {}}
    for label, value, expect in [('none', None, 'any'), ('string', 'x', 'error'), ('item_none', [None], 'error'),
                                 ('changes_string', [dict(part, changes='x')], 'error'),
                                 ('verify_item_number', [dict(part, verify=[5])], 'error'), ('good', [part], 'ok')]:
        yield ('transaction_parts', 'parts=%s' % label, [value], {}, expect)
    for label, value, expect in [('string', 'x', 'error'), ('changes_none_item', {'changes': [None]}, 'error'),
                                 ('diff_string', {'diff': 'x'}, 'error'), ('empty', {}, 'ok')]:
        yield ('transaction_parts', 'result=%s' % label, [[part]], {'result': value}, expect)


def all_cases():
    cases = list(generated_cases()) + list(SPECIAL)
    for name, label, fargs, fkwargs, expect in filter_cases():
        cases.append(dict(kind='filter', target=name, id='filter/%s/%s' % (name, label), fargs=fargs, fkwargs=fkwargs,
                          expect=expect, names=[name, 'findings', 'facts', 'options', 'kind', 'include', 'exclude', 'parts',
                                                'result', 'step', 'hostvars', 'input']))
    for case in cases:
        case.setdefault('names', [])
        reason = XFAIL.get(case['id'])
        if reason:
            case['xfail'] = reason
    return cases


# case id -> the defect it still shows, and whose part fixes it (un-mark when it passes: strict xfail)
XFAIL = {
}
