"""Rootless containers: oci-run run by an ordinary user.

The module creates an unprivileged user (and removes it, its processes, its
subordinate id ranges and its files afterwards) and runs the runtime as that
user: the single-id mapping `spec --rootless` writes, a /etc/subuid range
through newuidmap/newgidmap, a network namespace of its own, masked and
read-only paths, writes outside the container's root, limits the user does not
have, cgroups only where delegated, and the state root under
$XDG_RUNTIME_DIR (or the per-user fallback).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import OCI_RUN, make_bundle, wait_for

SUBID_COUNT = 65536
CGROUP_PIDS = Path("/sys/fs/cgroup/pids")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates a user: needs root")


@dataclass
class User:
    name: str
    uid: int
    gid: int
    home: Path
    base: Path  # a dir the user owns: bundles, the runtime binary, XDG_RUNTIME_DIR
    binary: str
    xdg: Path
    subid_start: int


def _free_subid_start() -> int:
    end = 300000
    for f in ("/etc/subuid", "/etc/subgid"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f).read_text().splitlines():
                parts = line.split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    end = max(end, int(parts[1]) + int(parts[2]))
    return end


def _drop_subid_lines(name: str) -> None:
    for f in ("/etc/subuid", "/etc/subgid"):
        p = Path(f)
        with contextlib.suppress(FileNotFoundError):
            lines = p.read_text().splitlines(keepends=True)
            kept = [l for l in lines if not l.startswith(name + ":")]
            if kept != lines:
                p.write_text("".join(kept))


@pytest.fixture(scope="module")
def user():
    name = "ocirl" + secrets.token_hex(3)
    # No automatic subordinate ranges: the test adds its own, known one.
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", name],
                   check=True, capture_output=True)
    pw = pwd.getpwnam(name)
    start = _free_subid_start()
    for f in ("/etc/subuid", "/etc/subgid"):
        with open(f, "a") as fh:
            fh.write(f"{name}:{start}:{SUBID_COUNT}\n")
    base = Path(tempfile.mkdtemp(prefix="oci-rootless-"))
    os.chmod(base, 0o755)
    os.chown(base, pw.pw_uid, pw.pw_gid)
    binary = base / "oci-run"
    shutil.copy2(OCI_RUN, binary)
    os.chmod(binary, 0o755)
    xdg = base / "xdg"
    xdg.mkdir(mode=0o700)
    os.chown(xdg, pw.pw_uid, pw.pw_gid)
    u = User(name, pw.pw_uid, pw.pw_gid, Path(pw.pw_dir), base, str(binary), xdg, start)
    try:
        yield u
    finally:
        subprocess.run(["pkill", "-KILL", "-u", str(u.uid)], capture_output=True)
        wait_for(lambda: subprocess.run(["pgrep", "-u", str(u.uid)], capture_output=True).returncode != 0,
                 what="the test user's processes to exit")
        subprocess.run(["userdel", "-r", name], capture_output=True)
        _drop_subid_lines(name)
        shutil.rmtree(base, ignore_errors=True)
        for d in (Path(f"/tmp/oci-run-{u.uid}"), Path(f"/run/user/{u.uid}")):
            shutil.rmtree(d, ignore_errors=True)


def as_user(u: User, *argv, cwd=None, xdg: str | None = None, timeout=20, files: Path | None = None):
    """Run argv as the test user with a clean environment. With `files`, stdout
    and stderr go to files there (a created container keeps its stdio open)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(u.home), "USER": u.name,
           "XDG_RUNTIME_DIR": str(u.xdg) if xdg is None else xdg}
    kw = dict(cwd=cwd, env=env, user=u.uid, group=u.gid, extra_groups=[], timeout=timeout,
              stdin=subprocess.DEVNULL, text=True)
    if files is None:
        return subprocess.run(list(map(str, argv)), capture_output=True, **kw)
    files.mkdir(exist_ok=True)
    n = len(list(files.iterdir()))
    out_p, err_p = files / f"{n}.out", files / f"{n}.err"
    with open(out_p, "w") as out, open(err_p, "w") as err:
        r = subprocess.run(list(map(str, argv)), stdout=out, stderr=err, **kw)
    r.stdout, r.stderr = out_p.read_text(), err_p.read_text()
    return r


def rt(u: User, *args, **kw):
    return as_user(u, u.binary, *args, **kw)


class RootlessBundle:
    def __init__(self, u: User, name: str):
        self.u = u
        self.path = u.base / name
        make_bundle(self.path)
        (self.path / "config.json").unlink()
        subprocess.run(["chown", "-R", f"{u.uid}:{u.gid}", str(self.path)], check=True)
        r = rt(u, "spec", "--rootless", cwd=self.path)
        assert r.returncode == 0, r.stderr
        with self.edit() as c:
            c["process"]["terminal"] = False
            c["root"]["readonly"] = False
        self.out = self.path / "out"

    @contextlib.contextmanager
    def edit(self):
        p = self.path / "config.json"
        c = json.loads(p.read_text())
        yield c
        p.write_text(json.dumps(c, indent=1))

    def script(self, text: str):
        with self.edit() as c:
            c["process"]["args"] = ["sh", "-c", text]

    def run(self, cid: str, **kw):
        return rt(self.u, "run", cid, cwd=self.path, files=self.out, **kw)


@pytest.fixture
def rbundle(user, request):
    b = RootlessBundle(user, "b-" + re.sub(r"[^a-z0-9]+", "-", request.node.name.lower())[:40])
    try:
        yield b
    finally:
        leftover = list((user.xdg / "oci-run").glob("*")) if (user.xdg / "oci-run").exists() else []
        for d in leftover:
            rt(user, "delete", "--force", d.name)
        shutil.rmtree(b.path, ignore_errors=True)
        assert not leftover, f"containers left in the state root: {leftover}"


def state_ids(u: User) -> list[str]:
    root = u.xdg / "oci-run"
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def cgroup_dirs_named(cid: str) -> list[str]:
    out = []
    for h in Path("/sys/fs/cgroup").iterdir():
        if h.is_dir() and not h.is_symlink():
            out += [str(p) for p in h.rglob(cid) if p.is_dir()] if (h / cid).exists() else []
    return out


# --------------------------------------------------------------------------- tests


def test_spec_rootless_maps_the_calling_user(user, rbundle):
    c = json.loads((rbundle.path / "config.json").read_text())
    assert c["linux"]["uidMappings"] == [{"containerID": 0, "hostID": user.uid, "size": 1}]
    assert c["linux"]["gidMappings"] == [{"containerID": 0, "hostID": user.gid, "size": 1}]
    types = [n["type"] for n in c["linux"]["namespaces"]]
    assert "user" in types and "network" not in types and "cgroup" not in types


def test_single_mapping_ids_inside_and_on_host(user, rbundle):
    rbundle.script("id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; exec sleep 100")
    cid = "single"
    r = rt(user, "create", cid, cwd=rbundle.path, files=rbundle.out)
    assert r.returncode == 0, r.stderr
    assert (user.xdg / "oci-run" / cid).is_dir()  # state under $XDG_RUNTIME_DIR
    pid = json.loads(rt(user, "state", cid).stdout)["pid"]
    assert rt(user, "start", cid).returncode == 0
    wait_for(lambda: Path(f"/proc/{pid}/cmdline").read_text().startswith("sleep"), what="exec of sleep")
    st = os.stat(f"/proc/{pid}")
    assert (st.st_uid, st.st_gid) == (user.uid, user.gid)  # the user on the host
    text = (rbundle.out / "0.out").read_text()
    out = text.split("\n")
    why = text + (rbundle.out / "0.err").read_text()
    assert out[0:2] == ["0", "0"], why  # root in the container
    assert out[2].split() == ["0", str(user.uid), "1"], why
    assert out[3].split() == ["0", str(user.gid), "1"], why
    # exec, ps and kill as the user
    r = rt(user, "exec", cid, "id", "-u")
    assert (r.returncode, r.stdout.strip()) == (0, "0"), r.stderr
    r = rt(user, "ps", "--format", "json", cid)
    assert r.returncode == 0 and pid in json.loads(r.stdout), r
    lst = rt(user, "list", "--format", "json")
    assert [e["id"] for e in json.loads(lst.stdout)] == [cid]
    assert rt(user, "kill", cid, "KILL").returncode == 0
    wait_for(lambda: json.loads(rt(user, "state", cid).stdout)["status"] == "stopped", what="stopped")
    assert rt(user, "delete", cid).returncode == 0
    assert state_ids(user) == []


def test_masked_and_readonly_paths_still_applied(user, rbundle):
    rbundle.script(
        "echo kcore=$(cat /proc/kcore | wc -c); echo acpi=$(ls /proc/acpi | wc -l);"
        "echo x > /proc/sys/kernel/domainname 2>/dev/null && echo sys-writable || echo sys-ro;"
        "echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-ro")
    r = rbundle.run("masked")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["kcore=0", "acpi=0", "sys-ro", "sysrq-ro"]


def test_writes_outside_the_root_fail(user, rbundle):
    host_dir = Path(tempfile.mkdtemp(prefix="oci-rootless-host-"))  # root's, 0755
    try:
        os.chmod(host_dir, 0o755)
        (host_dir / "file").write_text("host\n")
        with rbundle.edit() as c:
            c["mounts"].append({"destination": "/host", "type": "none", "source": str(host_dir),
                                "options": ["rbind", "rw"]})
        rbundle.script(
            "touch /host/new 2>/dev/null && echo created || echo no-create;"
            "echo x >> /host/file 2>/dev/null && echo appended || echo no-append;"
            "touch /sys/kernel/x 2>/dev/null && echo sys || echo no-sys;"
            "touch /own 2>/dev/null && echo own-root-ok || echo own-root-fail")
        r = rbundle.run("outside")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["no-create", "no-append", "no-sys", "own-root-ok"]
        assert sorted(p.name for p in host_dir.iterdir()) == ["file"]
        assert (host_dir / "file").read_text() == "host\n"
    finally:
        shutil.rmtree(host_dir)


def test_subuid_range_through_newuidmap(user, rbundle):
    if not shutil.which("newuidmap") or not shutil.which("newgidmap"):
        pytest.fail("newuidmap/newgidmap missing: scripts/install-deps.sh installs the uidmap package")
    with rbundle.edit() as c:
        for key, own in (("uidMappings", user.uid), ("gidMappings", user.gid)):
            c["linux"][key] = [{"containerID": 0, "hostID": own, "size": 1},
                               {"containerID": 1, "hostID": user.subid_start, "size": SUBID_COUNT}]
        for s in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][s].append("CAP_CHOWN")
    rbundle.script("cat /proc/self/uid_map; touch /tmp/f && chown 1000:1000 /tmp/f && echo chowned")
    r = rbundle.run("range")
    assert r.returncode == 0, r.stderr
    lines = [l.split() for l in r.stdout.strip().split("\n")]
    assert lines[0] == ["0", str(user.uid), "1"]
    assert lines[1] == ["1", str(user.subid_start), str(SUBID_COUNT)]
    assert lines[2] == ["chowned"]
    st = os.stat(rbundle.path / "rootfs" / "tmp" / "f")
    assert (st.st_uid, st.st_gid) == (user.subid_start + 999, user.subid_start + 999)


def test_range_outside_subuid_is_refused_and_leaves_nothing(user, rbundle):
    with rbundle.edit() as c:
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": user.uid, "size": 1},
                                     {"containerID": 1, "hostID": 10, "size": 100}]
    r = rbundle.run("badrange")
    assert r.returncode != 0
    assert "linux.uidMappings" in r.stderr and "newuidmap" in r.stderr, r.stderr
    assert state_ids(user) == []


def test_own_network_namespace_has_only_lo(user, rbundle):
    with rbundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "network"})
        # With its own netns the user may mount a real sysfs (of that netns).
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys"]
        c["mounts"].append({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                            "options": ["nosuid", "noexec", "nodev", "ro"]})
    rbundle.script("ls /sys/class/net; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")
    r = rbundle.run("netns")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["lo", "lo"]


def test_sysfs_is_bound_without_an_own_netns(user, rbundle):
    with rbundle.edit() as c:
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys"]
        c["mounts"].append({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                            "options": ["nosuid", "noexec", "nodev", "ro"]})
    rbundle.script("ls /sys/class/net | wc -l; grep -c ' /sys/fs/cgroup/[a-z]* ro,' /proc/self/mountinfo;"
                   "grep -c ' /sys/fs/cgroup/[a-z]* rw,' /proc/self/mountinfo; true")
    r = rbundle.run("sysbind")
    assert r.returncode == 0, r.stderr
    n_net, n_ro, n_rw = map(int, r.stdout.split())
    assert n_net == len(os.listdir("/sys/class/net"))  # the host's sysfs, bound
    assert n_ro > 0 and n_rw == 0  # read-only all the way down


def test_cannot_raise_limits_it_does_not_have(user, rbundle):
    hard = int(as_user(user, "sh", "-c", "ulimit -Hn").stdout)
    with rbundle.edit() as c:
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard + 1, "soft": 64}]
    r = rbundle.run("rlimit")
    assert r.returncode != 0
    assert "RLIMIT_NOFILE" in r.stderr and "Operation not permitted" in r.stderr, r.stderr
    assert state_ids(user) == []
    # lowering works
    with rbundle.edit() as c:
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": hard - 1, "soft": 64}]
    rbundle.script("ulimit -Hn")
    r = rbundle.run("rlimit2")
    assert (r.returncode, r.stdout.strip()) == (0, str(hard - 1)), r.stderr


def test_additional_groups_need_a_gid_range(user, rbundle):
    with rbundle.edit() as c:
        c["process"]["user"]["additionalGids"] = [5]
    r = rbundle.run("groups")
    assert r.returncode != 0
    assert "additionalGids" in r.stderr and "setgroups" in r.stderr, r.stderr
    assert state_ids(user) == []


def test_resources_without_delegation_are_refused(user, rbundle):
    cid = "nodeleg" + secrets.token_hex(2)
    with rbundle.edit() as c:
        c["linux"]["resources"] = {"memory": {"limit": 64 << 20}}
    r = rbundle.run(cid)
    assert r.returncode != 0
    assert "linux.resources.memory" in r.stderr and "not delegated" in r.stderr, r.stderr
    assert state_ids(user) == []
    assert cgroup_dirs_named(cid) == []


def test_device_rules_are_left_out_without_privilege(user, rbundle):
    with rbundle.edit() as c:
        c["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    rbundle.script("echo ok > /dev/null && echo ok")
    r = rbundle.run("devrules")
    assert (r.returncode, r.stdout.strip()) == (0, "ok"), r.stderr


@pytest.fixture
def delegated_pids_cgroup(user):
    if not (CGROUP_PIDS / "cgroup.procs").exists():
        pytest.skip("no v1 pids hierarchy on this host")
    d = CGROUP_PIDS / ("ocirl-" + secrets.token_hex(3))
    d.mkdir()
    for p in [d, *d.iterdir()]:
        os.chown(p, user.uid, user.gid)
    try:
        yield d
    finally:
        for child in sorted(d.glob("*/"), reverse=True):
            if child.is_dir():
                with contextlib.suppress(OSError):
                    child.rmdir()
        d.rmdir()


def test_delegated_cgroup_is_used(user, rbundle, delegated_pids_cgroup):
    d = delegated_pids_cgroup
    with rbundle.edit() as c:
        c["linux"]["cgroupsPath"] = f"/{d.name}/c1"
        c["linux"]["resources"] = {"pids": {"limit": 10}}
    rbundle.script("grep pids /proc/self/cgroup; exec sleep 100")
    cid = "deleg"
    r = rt(user, "create", cid, cwd=rbundle.path, files=rbundle.out)
    assert r.returncode == 0, r.stderr
    pid = json.loads(rt(user, "state", cid).stdout)["pid"]
    assert (d / "c1" / "pids.max").read_text().strip() == "10"
    assert str(pid) in (d / "c1" / "cgroup.procs").read_text().split()
    assert rt(user, "start", cid).returncode == 0
    wait_for(lambda: (rbundle.out / "0.out").read_text().strip() != "", what="output")
    assert (rbundle.out / "0.out").read_text().strip().endswith(f":pids:/{d.name}/c1")
    r = rt(user, "delete", "--force", cid)
    assert r.returncode == 0, r.stderr
    assert not (d / "c1").exists()


def test_state_root_fallback_without_xdg(user, rbundle):
    run_user = Path(f"/run/user/{user.uid}")
    expected = (run_user if run_user.is_dir() else Path(f"/tmp/oci-run-{user.uid}"))
    expected = expected / "oci-run" if expected == run_user else expected
    rbundle.script("true")
    r = rt(user, "run", "fb", cwd=rbundle.path, files=rbundle.out, xdg="")
    assert r.returncode == 0, r.stderr
    assert expected.is_dir() and (expected.stat().st_mode & 0o777) == 0o700
    assert expected.stat().st_uid == user.uid and list(expected.iterdir()) == []
    shutil.rmtree(expected)


def test_foreign_fallback_state_root_is_refused(user, rbundle):
    if Path(f"/run/user/{user.uid}").is_dir():
        pytest.skip("/run/user/UID exists: the /tmp fallback is not used")
    planted = Path(f"/tmp/oci-run-{user.uid}")
    planted.mkdir(mode=0o777)  # made by root, not by the user
    try:
        rbundle.script("true")
        r = rt(user, "run", "planted", cwd=rbundle.path, files=rbundle.out, xdg="")
        assert r.returncode != 0
        assert str(planted) in r.stderr and "refusing" in r.stderr, r.stderr
        assert list(planted.iterdir()) == []
    finally:
        shutil.rmtree(planted)


# --------------------------------------------------------------------------- podman rootless


def test_podman_rootless_with_oci_run(user):
    """podman run by the user (its own user namespace from the subuid range,
    cgroupfs, no network: rootless networking is podman's, not the runtime's)
    runs, execs into, stops and removes containers through oci-run."""
    if os.environ.get("OCI_RUN_SANITIZED") == "1":
        pytest.skip("engines do not run the sanitizer build (see conformance/CMakeLists.txt)")
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.fail("podman/conmon missing: scripts/install-deps.sh installs them")
    pod = user.base / "podman"
    pod.mkdir()
    (pod / "containers.conf").write_text(f"""\
[containers]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{pod}/events.log"
lock_type = "file"
conmon_path = ["/usr/bin/conmon"]
runtime_supports_json = ["crun", "runc", "oci-run"]
[engine.runtimes]
oci-run = ["{user.binary}"]
""")
    (pod / "storage.conf").write_text(f"""\
[storage]
driver = "overlay"
runroot = "{pod}/runroot"
graphroot = "{pod}/root"
""")
    rootfs = user.base / "podman-rootfs"
    make_bundle(rootfs)
    tar = pod / "rootfs.tar"
    subprocess.run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", str(rootfs / "rootfs"),
                    "-cf", str(tar), "."], check=True)
    shutil.rmtree(rootfs)
    subprocess.run(["chown", "-R", f"{user.uid}:{user.gid}", str(pod)], check=True)
    env = ["env", f"CONTAINERS_CONF={pod}/containers.conf", f"CONTAINERS_STORAGE_CONF={pod}/storage.conf",
           "podman", "--runtime", user.binary]

    def podman(*args, timeout=60):
        r = as_user(user, *env, *args, cwd=pod, timeout=timeout)
        assert r.returncode == 0, f"podman {' '.join(args)}: {r.stdout}{r.stderr}"
        return r.stdout

    try:
        podman("import", "--change", 'CMD ["/bin/sh"]', str(tar), "localhost/oci-rootless:1")
        out = podman("run", "--rm", "--network", "none", "localhost/oci-rootless:1",
                     "sh", "-c", "id -u; cat /proc/self/uid_map").split("\n")
        assert out[0] == "0"
        maps = [l.split() for l in out[1:] if l.strip()]
        assert ["0", str(user.uid), "1"] in maps and ["1", str(user.subid_start), str(SUBID_COUNT)] in maps
        podman("run", "-d", "--name", "c1", "--network", "none", "localhost/oci-rootless:1", "sleep", "1000")
        assert podman("exec", "c1", "cat", "/proc/1/cmdline").replace("\0", " ").strip() == "sleep 1000"
        podman("stop", "-t", "1", "c1")
        podman("rm", "c1")
        out = podman("run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
                     "localhost/oci-rootless:1", "sh", "-c", "touch /tmp/x && echo tmpfs; touch /y 2>/dev/null || echo ro")
        assert out.split() == ["tmpfs", "ro"]
        assert podman("ps", "-a", "-q").strip() == ""
    finally:
        as_user(user, *env, "rm", "-a", "-f", cwd=pod, timeout=60)
        as_user(user, *env, "system", "reset", "-f", cwd=pod, timeout=60)
