"""runc behaviours oci-run matches on purpose (issue #16, README "runc
behaviours matched on purpose"). Where runc runs the same scenario, the test
runs it with both runtimes on the same bundle and compares exit codes and
output (runc: RUNC, default /usr/sbin/runc, 1.1.5)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CGROUP_ROOT, run_container, wait_for


def both(runtime, runc, bundle, script, *extra):
    """run_container with oci-run, then with runc, on the same bundle:
    {name: (create exit code, stdout or None)}."""
    out = {}
    for name, rt in (("oci-run", runtime), ("runc", runc)):
        r, stdout = run_container(rt, bundle, script, *extra)
        out[name] = (r.returncode, stdout, r.stderr)
    return out


def assert_same(out):
    (rc1, o1, e1), (rc2, o2, e2) = out["oci-run"], out["runc"]
    assert (rc1, o1) == (rc2, o2), f"oci-run: exit {rc1} {o1!r} {e1!r}\nrunc: exit {rc2} {o2!r} {e2!r}"


# --------------------------------------------------------------- 1: ambient caps

RUNC_SPEC_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]


def test_ambient_caps_that_cannot_be_raised_are_skipped(bundle, runtime, runc):
    """`runc spec` lists ambient capabilities and no inheritable set: the
    kernel refuses to raise them, runc skips them and runs the container."""
    with bundle.edit() as c:
        c["process"]["capabilities"] = {k: list(RUNC_SPEC_CAPS) for k in ("bounding", "effective", "permitted", "ambient")}
    out = both(runtime, runc, bundle, "grep ^Cap /proc/self/status")
    assert out["oci-run"][0] == 0, out["oci-run"]
    assert "CapAmb:\t0000000000000000" in out["oci-run"][1]
    assert_same(out)


def test_ambient_caps_in_the_inheritable_set_are_raised(bundle, runtime, runc):
    with bundle.edit() as c:
        c["process"]["capabilities"] = {k: list(RUNC_SPEC_CAPS) for k in
                                        ("bounding", "effective", "permitted", "inheritable", "ambient")}
    out = both(runtime, runc, bundle, "grep ^CapAmb /proc/self/status")
    assert out["oci-run"][1].strip() == "CapAmb:\t0000000020000420"
    assert_same(out)


# --------------------------------------------------------------- 2: loopback

LO_SCRIPT = (
    "ip -o link show lo | grep -o '<[^>]*>'; "
    "(sleep 5 | nc -l -p 4000 > /tmp/got &); "
    "i=0; until echo hello | nc -w1 127.0.0.1 4000 2>/dev/null; do "
    "i=$((i+1)); [ $i -ge 20 ] && { echo unreachable; break; }; sleep 0.1; done; "
    "i=0; until [ -s /tmp/got ] || [ $i -ge 20 ]; do i=$((i+1)); sleep 0.05; done; cat /tmp/got"
)


def test_lo_is_up_in_a_new_network_namespace(bundle, runtime, runc):
    with bundle.edit() as c:
        assert any(n["type"] == "network" and not n.get("path") for n in c["linux"]["namespaces"])
    out = both(runtime, runc, bundle, LO_SCRIPT)
    assert out["oci-run"][0] == 0, out["oci-run"]
    assert "UP" in out["oci-run"][1] and "hello" in out["oci-run"][1], out["oci-run"]
    assert_same(out)


def test_lo_of_a_joined_network_namespace_is_left_alone(bundle, runtime, runc, host_proc):
    p = host_proc("unshare", "--net", "sleep", "60")
    path = f"/proc/{p.pid}/ns/net"
    wait_for(lambda: os.readlink(path) != os.readlink("/proc/self/ns/net"), what="the helper's netns")
    with bundle.edit() as c:
        for n in c["linux"]["namespaces"]:
            if n["type"] == "network":
                n["path"] = path
    out = both(runtime, runc, bundle, "ip -o link show lo | grep -o '<[^>]*>'")
    assert out["oci-run"][1].strip() == "<LOOPBACK>", out["oci-run"]
    assert_same(out)


# --------------------------------------------------------------- 4: SIGPIPE


def test_hooks_that_do_not_read_their_stdin_do_not_kill_the_runtime(bundle, runtime, runc, tmp_path):
    """/bin/true exits before the runtime writes the state: the write fails
    with EPIPE (and raises SIGPIPE). Many such hooks make the race certain;
    a last hook records that every hook ran and `delete`/`start` exit 0."""
    marks = {}
    for name in ("oci-run", "runc"):
        marks[name] = tmp_path / f"{name}.marks"
    rc = {}
    for name, rt in (("oci-run", runtime), ("runc", runc)):
        mark = marks[name]
        with bundle.edit() as c:
            c["process"]["args"] = ["true"]
            c["hooks"] = {
                phase: [{"path": "/bin/true"}] * 40
                + [{"path": "/bin/sh", "args": ["sh", "-c", f"echo {phase} >> {mark}"]}]
                for phase in ("poststart", "poststop")
            }
        cid = rt.new_id()
        rt.create(bundle, cid)
        rc[name] = [rt.start(cid, check=False).returncode]
        rt.wait_status(cid, "stopped")
        rc[name].append(rt.delete(cid, check=False).returncode)
    for name in rc:
        assert rc[name] == [0, 0], (name, rc[name])
        assert marks[name].read_text().split() == ["poststart", "poststop"], name


# --------------------------------------------------------------- 5: frozen cgroup

FREEZER = CGROUP_ROOT / "freezer"


@pytest.fixture
def frozen_cgroup(test_id):
    """A pre-created, FROZEN v1 freezer cgroup (cgroupsPath /<name>)."""
    if not (FREEZER / "freezer.state").exists() and not (FREEZER / "cgroup.procs").exists():
        pytest.skip("needs the cgroup v1 freezer hierarchy")
    name = f"{test_id}-frozen"
    d = FREEZER / name
    d.mkdir()
    (d / "freezer.state").write_text("FROZEN")
    yield name
    with contextlib.suppress(OSError):
        (d / "freezer.state").write_text("THAWED")


def _remove_cgroup_everywhere(name):
    for h in CGROUP_ROOT.iterdir():
        d = h / name
        if d.is_dir() and not h.is_symlink():
            for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(str(p))):
                with contextlib.suppress(OSError):
                    sub.rmdir()
            with contextlib.suppress(OSError):
                d.rmdir()


def test_a_frozen_cgroup_fails_create_at_once(bundle, runtime, runc, frozen_cgroup):
    with bundle.edit() as c:
        c["linux"]["cgroupsPath"] = "/" + frozen_cgroup
    results = {}
    try:
        for name, rt in (("oci-run", runtime), ("runc", runc)):
            cid = rt.new_id()
            t0 = time.monotonic()
            r = rt.create(bundle, cid, check=False, timeout=8)
            results[name] = (r.returncode, r.stderr, time.monotonic() - t0)
            assert rt.list_ids() == [], f"{name} left a container behind"
    finally:
        with contextlib.suppress(OSError):
            (FREEZER / frozen_cgroup / "freezer.state").write_text("THAWED")
        for rt in (runtime, runc):
            for cid in list(rt.tracker.ids):
                subprocess.run([rt.binary, "--root", str(rt.root), "delete", "--force", cid],
                               capture_output=True, timeout=10)
        _remove_cgroup_everywhere(frozen_cgroup)
    for name, (rc, err, took) in results.items():
        assert rc == 1, (name, rc, err)
        assert "container's cgroup unexpectedly frozen" in err, (name, err)
        assert took < 5, (name, took)


# --------------------------------------------------------------- 6: OOM event (v1)

MEMORY = CGROUP_ROOT / "memory"


def test_events_reports_oom_on_cgroup_v1(bundle, runtime, runc):
    if not (MEMORY / "memory.oom_control").exists():
        pytest.skip("needs the cgroup v1 memory controller")
    results = {}
    for name, rt in (("oci-run", runtime), ("runc", runc)):
        with bundle.edit() as c:
            c["linux"]["resources"] = {"memory": {"limit": 16 * 1024 * 1024}}
            # wait for the go signal, then eat memory until the OOM killer comes
            c["process"]["args"] = ["sh", "-c", "read x < /tmp/go; tail /dev/zero"]
        (bundle.rootfs / "tmp" / "go").unlink(missing_ok=True)
        os.mkfifo(bundle.rootfs / "tmp" / "go")
        cid = rt.new_id()
        rt.create(bundle, cid)
        rt.start(cid)
        ev = subprocess.Popen([rt.binary, "--root", str(rt.root), "events", cid],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rt.tracker.popens.append(ev)
        try:
            time.sleep(0.5)  # events has registered the eventfd
            with open(bundle.rootfs / "tmp" / "go", "w") as f:
                f.write("go\n")
            # `events` also prints a stats line every 5 s: skip those.
            line = ""
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                ready, _, _ = select.select([ev.stdout], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                got = ev.stdout.readline().decode()
                if not got:
                    break
                if json.loads(got).get("type") != "stats":
                    line = got
                    break
        finally:
            rt.kill(cid, "KILL", check=False)
            rt.wait_status(cid, "stopped")
            ev.kill()
            ev.wait()
            rt.delete(cid)
            (bundle.rootfs / "tmp" / "go").unlink(missing_ok=True)
        results[name] = line
    for name, line in results.items():
        assert line, f"{name}: no oom event within 15 s"
        assert json.loads(line) == {"type": "oom", "id": json.loads(line)["id"]}, (name, line)


# --------------------------------------------------------------- 8: bind sources, user namespace



def test_bind_sources_are_opened_on_the_host_side(bundle, runtime, runc, tmp_path, searchable):
    """A source below a 0700 root-owned directory: host root reaches it, the
    container's root (host uid 100000) could not."""
    if not Path("/proc/self/ns/user").exists():
        pytest.skip("no user namespaces")
    secret = tmp_path / "private"
    secret.mkdir()
    (secret / "data").mkdir()
    (secret / "data" / "file").write_text("visible\n")
    (secret / "single").write_text("one file\n")
    os.chmod(secret, 0o700)
    (bundle.rootfs / "mnt" / "data").mkdir(parents=True)
    (bundle.rootfs / "mnt" / "single").write_text("")
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "user"})
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        c["mounts"] = [m for m in c["mounts"] if m["type"] not in ("cgroup", "cgroup2")]
        c["mounts"] += [
            {"destination": "/mnt/data", "type": "bind", "source": str(secret / "data"), "options": ["rbind", "ro"]},
            {"destination": "/mnt/single", "type": "none", "source": str(secret / "single"), "options": ["bind"]},
        ]
    out = both(runtime, runc, bundle, "cat /mnt/data/file /mnt/single; touch /mnt/data/x 2>/dev/null || echo ro")
    assert out["oci-run"][0] == 0, out["oci-run"]
    assert out["oci-run"][1] == "visible\none file\nro\n"
    assert_same(out)


# --------------------------------------------------------------- 9: update --memory -1 (v1)


def test_update_memory_unlimited_after_memory_and_swap_limits(bundle, runtime, runc):
    if not (MEMORY / "memory.memsw.limit_in_bytes").exists():
        pytest.skip("needs cgroup v1 memory with swap accounting (memory.memsw.*)")
    results = {}
    for name, rt in (("oci-run", runtime), ("runc", runc)):
        with bundle.edit() as c:
            c["linux"]["resources"] = {"memory": {"limit": 100 * 2**20, "swap": 200 * 2**20}}
            c["process"]["args"] = ["sleep", "60"]
        cid = rt.new_id()
        rt.create(bundle, cid)
        pid = rt.state(cid)["pid"]
        try:
            r = rt.cmd("update", "--memory", "-1", cid)
            cg = None
            for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
                _, ctrls, path = line.split(":", 2)
                if "memory" in ctrls.split(","):
                    cg = MEMORY / path.lstrip("/")
            files = tuple((cg / f).read_text().strip() for f in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"))
            results[name] = (r.returncode, files, r.stderr)
        finally:
            rt.kill(cid, "KILL", check=False)
            rt.wait_status(cid, "stopped")
            rt.delete(cid)
    assert results["oci-run"][0] == 0, results["oci-run"]
    assert results["oci-run"][:2] == results["runc"][:2], results


# --------------------------------------------------------------- 10: read-only /dev

RO_DEV_SCRIPT = (
    "touch /dev/x 2>/dev/null && echo writable || echo read-only; "
    "test -c /dev/null && echo null; test -d /dev/pts && echo pts; test -d /dev/shm && echo shm; "
    "echo hi > /dev/null && echo null-writable; "
    "awk '$2==\"/dev\" {print $4}' /proc/mounts | tr , '\\n' | grep -x ro"
)


def test_read_only_dev_tmpfs_is_populated_then_remounted(bundle, runtime, runc):
    with bundle.edit() as c:
        for m in c["mounts"]:
            if m["destination"] == "/dev":
                m["options"] = [*m.get("options", []), "ro"]
    out = both(runtime, runc, bundle, RO_DEV_SCRIPT)
    assert out["oci-run"][0] == 0, out["oci-run"]
    assert out["oci-run"][1] == "read-only\nnull\npts\nshm\nnull-writable\nro\n"
    assert_same(out)


# --------------------------------------------------------------- 11: empty cpuset parent (v1)

CPUSET = CGROUP_ROOT / "cpuset"


def test_empty_cpuset_parent_is_filled_from_its_ancestors(bundle, runtime, runc, test_id):
    if not (CPUSET / "cpuset.cpus").exists():
        pytest.skip("needs the cgroup v1 cpuset controller")
    parent = f"{test_id}-cpuset-parent"
    top = CPUSET / parent
    top.mkdir()
    try:
        (top / "cgroup.clone_children").write_text("0")
        (top / "middle").mkdir()
        for d in (top, top / "middle"):
            assert (d / "cpuset.cpus").read_text().strip() == "", "a new cpuset cgroup starts empty"
        out = {}
        for name, rt in (("oci-run", runtime), ("runc", runc)):
            with bundle.edit() as c:
                c["linux"]["cgroupsPath"] = f"/{parent}/middle/{name}-{test_id}"
            r, stdout = run_container(rt, bundle, "cat /proc/self/status | grep -E '^(Cpus|Mems)_allowed_list'")
            out[name] = (r.returncode, stdout, r.stderr)
        host = (CPUSET / "cpuset.cpus").read_text().strip()
        assert out["oci-run"][0] == 0, out["oci-run"]
        assert f"Cpus_allowed_list:\t{host}" in out["oci-run"][1]
        assert_same(out)
        assert (top / "middle" / "cpuset.cpus").read_text().strip() == host
    finally:
        _remove_cgroup_everywhere(parent)
