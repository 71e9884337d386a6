"""Smoke tests of the test infrastructure (scenario `facts`).

How these tests reach the hosts:

* Molecule runs pytest with ``--connection=ansible --ansible-inventory=...``
  and sets ``MOLECULE_INVENTORY_FILE``. Its podman inventory uses
  ``ansible_connection: podman``, which testinfra's ansible backend does not
  map to a native backend: it would run *every* command as a separate
  ``ansible`` call (seconds each). So commands go through ``podman exec``
  instead (``podman://<container>``; molecule names each container after its
  platform, i.e. the inventory hostname), and only Ansible modules (facts) go
  through the ansible backend.
* ``testinfra_hosts`` makes every test that takes the ``host`` fixture run once
  per inventory host; the ``proxy`` / ``backend`` fixtures give one host each.
"""

import os
import uuid

import pytest
import testinfra
import testinfra.utils.ansible_runner

if "MOLECULE_INVENTORY_FILE" not in os.environ:
    # collected by a plain `pytest` run outside molecule: nothing to test
    pytest.skip("runs under `molecule verify` only", allow_module_level=True)

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)


def podman_spec(name):
    """testinfra host spec that runs commands with `podman exec` in `name`."""
    container = RUNNER.get_variables(name).get("ansible_host", name)
    return f"podman://{container}"


def ansible_host(name):
    """testinfra host that runs Ansible modules on `name` (e.g. setup)."""
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def facts(name):
    """Ansible facts of inventory host `name`, as a playbook would see them."""
    result = ansible_host(name).ansible("setup", "gather_subset=!all,network", check=False)
    return result["ansible_facts"]


testinfra_hosts = [podman_spec(name) for name in RUNNER.get_hosts("all")]


@pytest.fixture(scope="module")
def proxy():
    return testinfra.get_host(podman_spec("proxy"))


@pytest.fixture(scope="module")
def backend():
    return testinfra.get_host(podman_spec("backend"))


@pytest.fixture(scope="module")
def backend_ip():
    return facts("backend")["ansible_default_ipv4"]["address"]


def test_both_hosts_in_inventory():
    assert sorted(RUNNER.get_hosts("all")) == ["backend", "proxy"]


def test_systemd_is_pid1_and_booted(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), state


def test_nginx_running_and_listening_on_80(host):
    nginx = host.service("nginx")
    assert nginx.is_running
    assert nginx.is_enabled
    assert host.process.filter(comm="nginx", user="root"), "no nginx master"
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_php_fpm_running_on_proxy(proxy):
    fpm = proxy.service("php8.2-fpm")
    assert fpm.is_running
    assert fpm.is_enabled
    assert proxy.socket("unix:///run/php/php8.2-fpm.sock").is_listening


def test_proxy_reaches_backend_over_tcp_80(proxy, backend, backend_ip):
    token = uuid.uuid4().hex
    code = proxy.check_output(
        "curl -sS --max-time 5 -o /dev/null -w '%%{http_code}' http://%s/?smoke=%s",
        backend_ip,
        token,
    )
    assert code == "200"
    # The request really arrived at the backend's nginx, from the proxy.
    proxy_ip = facts("proxy")["ansible_default_ipv4"]["address"]
    log = backend.file("/var/log/nginx/access.log").content_string
    lines = [line for line in log.splitlines() if token in line]
    assert lines, "request not in the backend's access log"
    assert lines[0].split()[0] == proxy_ip
