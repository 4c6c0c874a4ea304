"""Namespaces: new when configured without a path, joined with a path, inherited
when absent. Compared by inode of /proc/self/ns/* inside vs. on the host."""

import os
import socket
import subprocess
import time

import pytest

from conftest import ns_inode, wait_for

NS_FILES = ("pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time")
CONFIG_TO_PROC = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup", "user": "user", "time": "time"}

PRINT_NS = "for n in " + " ".join(NS_FILES) + "; do echo $n $(readlink /proc/self/ns/$n); done"


def inside_ns(output: str) -> dict:
    out = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2:
            name, link = parts
            out[name] = link[link.index("[") + 1 : -1]
    return out


def set_namespaces(bundle, entries):
    with bundle.edit() as c:
        c["linux"]["namespaces"] = entries
        if not any(e["type"] == "uts" and not e.get("path") for e in entries):
            c.pop("hostname", None)
            c.pop("domainname", None)


def test_new_namespaces(bundle, runtime, host_ns):
    set_namespaces(bundle, [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")])
    got = inside_ns(runtime.script_output(bundle, PRINT_NS))
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup"):
        assert ns in got, f"no {ns} in container output {got}"
        assert got[ns] != host_ns[ns], f"{ns} namespace was not new"
    # user and time are not configured: inherited from the host
    assert got["user"] == host_ns["user"]
    if "time" in host_ns:
        assert got["time"] == host_ns["time"]


def test_inherited_when_absent(bundle, runtime, host_ns):
    set_namespaces(bundle, [{"type": "pid"}, {"type": "mount"}])
    got = inside_ns(runtime.script_output(bundle, PRINT_NS))
    for ns in ("net", "ipc", "uts", "cgroup", "user"):
        assert got[ns] == host_ns[ns], f"{ns} namespace should be the host's"
    assert got["pid"] != host_ns["pid"]
    assert got["mnt"] != host_ns["mnt"]


def test_pid_namespace_init_is_pid_1(bundle, runtime):
    out = runtime.script_output(bundle, "echo pid=$$; ls /proc | grep -c '^[0-9]'")
    lines = out.split()
    assert lines[0] == "pid=1"
    # only the shell and the grep/ls pipeline (a handful) are visible
    assert int(lines[1]) <= 4, out


def test_join_namespace_of_host_process(bundle, runtime, host_proc):
    p = host_proc("unshare", "--net", "--ipc", "--uts", "sleep", "30")
    target_net = f"/proc/{p.pid}/ns/net"
    host_net = ns_inode("/proc/self/ns/net")
    wait_for(lambda: ns_inode(target_net) != host_net, what="unshare to create its namespaces")
    want = {n: ns_inode(f"/proc/{p.pid}/ns/{n}") for n in ("net", "ipc")}
    set_namespaces(
        bundle,
        [
            {"type": "pid"},
            {"type": "mount"},
            {"type": "network", "path": f"/proc/{p.pid}/ns/net"},
            {"type": "ipc", "path": f"/proc/{p.pid}/ns/ipc"},
        ],
    )
    got = inside_ns(runtime.script_output(bundle, PRINT_NS))
    assert got["net"] == want["net"]
    assert got["ipc"] == want["ipc"]


def test_join_uts_namespace_sees_hostname(bundle, runtime, host_proc):
    # the helper sets its own hostname in a private uts namespace
    p = host_proc("unshare", "--uts", "sh", "-c", "hostname joined-uts-test && exec sleep 30")
    wait_for(lambda: ns_inode(f"/proc/{p.pid}/ns/uts") != ns_inode("/proc/self/ns/uts"), what="unshare --uts")
    time.sleep(0.2)
    set_namespaces(bundle, [{"type": "pid"}, {"type": "mount"}, {"type": "uts", "path": f"/proc/{p.pid}/ns/uts"}])
    out = runtime.script_output(bundle, "hostname; readlink /proc/self/ns/uts")
    host_uts = ns_inode(f"/proc/{p.pid}/ns/uts")
    assert out.split()[0] == "joined-uts-test"
    assert host_uts in out
    assert socket.gethostname() != "joined-uts-test"


def test_hostname_is_set_in_a_joined_uts_namespace(bundle, runtime, host_proc):
    """As runc: with uts joined by path, hostname is applied there (the
    runtime-tools linux_ns_path program does this); never on the host."""
    p = host_proc("unshare", "--uts", "sh", "-c", "hostname before && exec sleep 30")
    wait_for(lambda: ns_inode(f"/proc/{p.pid}/ns/uts") != ns_inode("/proc/self/ns/uts"), what="unshare --uts")
    set_namespaces(bundle, [{"type": "pid"}, {"type": "mount"}, {"type": "uts", "path": f"/proc/{p.pid}/ns/uts"}])
    with bundle.edit() as c:
        c["hostname"] = "set-by-oci-run"
    out = runtime.script_output(bundle, "hostname")
    assert out.split() == ["set-by-oci-run"]
    seen = subprocess.run(["nsenter", "-t", str(p.pid), "-u", "hostname"], capture_output=True, text=True)
    assert seen.stdout.strip() == "set-by-oci-run", seen
    assert socket.gethostname() != "set-by-oci-run"


def test_join_namespace_of_other_container(make_extra_bundle, runtime):
    b1 = make_extra_bundle("sleep", "30")
    c1 = runtime.new_id("first")
    runtime.create(b1, c1)
    runtime.start(c1)
    pid1 = runtime.state(c1)["pid"]
    want_net = ns_inode(f"/proc/{pid1}/ns/net")
    want_ipc = ns_inode(f"/proc/{pid1}/ns/ipc")

    b2 = make_extra_bundle("true")
    with b2.edit() as c:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = f"/proc/{pid1}/ns/net"
            if ns["type"] == "ipc":
                ns["path"] = f"/proc/{pid1}/ns/ipc"
    got = inside_ns(runtime.script_output(b2, PRINT_NS))
    assert got["net"] == want_net
    assert got["ipc"] == want_ipc
    assert got["pid"] != ns_inode(f"/proc/{pid1}/ns/pid"), "pid namespace was not configured with a path"


def test_network_namespace_has_only_lo(bundle, runtime):
    out = runtime.script_output(bundle, "ls /sys/class/net")
    assert out.split() == ["lo"]


def test_hostname_and_domainname(bundle, runtime):
    host_name = socket.gethostname()
    with bundle.edit() as c:
        c["hostname"] = "oci-it-host"
        c["domainname"] = "example.test"
    out = runtime.script_output(bundle, "hostname; cat /proc/sys/kernel/domainname")
    assert out.split() == ["oci-it-host", "example.test"]
    assert socket.gethostname() == host_name


def test_cgroup_namespace_root(bundle, runtime):
    """In a new cgroup namespace the container's own cgroup is '/'."""
    with bundle.edit() as c:
        if not any(n["type"] == "cgroup" for n in c["linux"]["namespaces"]):
            c["linux"]["namespaces"].append({"type": "cgroup"})
    out = runtime.script_output(bundle, "cat /proc/self/cgroup")
    lines = [l for l in out.splitlines() if l]
    assert lines
    for line in lines:
        assert line.split(":", 2)[2] == "/", f"cgroup path not '/' in a cgroup namespace: {out!r}"
