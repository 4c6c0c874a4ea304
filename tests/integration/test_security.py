"""Regression tests for the known container-escape classes (issue 6).

Each test attempts the escape from a hostile rootfs/config or from inside a
container and asserts (a) the attack had no effect on the host and (b) the
container still works (or create fails with a clear error).  Only outcomes are
asserted, never timings.

Already covered elsewhere (not repeated here):
  * absolute symlink as a mount destination, '..' destinations:
    test_rootfs.py::test_symlink_mount_destination_stays_in_rootfs,
    test_rootfs.py::test_dotdot_mount_destination_stays_in_rootfs
  * /proc/self/fd of init with/without --preserve-fds and extra create fds:
    test_process.py::test_preserve_fds, test_process.py::test_no_fd_leak;
    of exec: test_exec.py (ls /proc/self/fd, --preserve-fds)
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import OCI_RUN, parse_mountinfo, run_container


# --------------------------------------------------------------------------- helpers


def host_mountinfo() -> str:
    with open("/proc/self/mountinfo") as f:
        return f.read()


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def snapshot(d: Path) -> dict:
    """Every entry below d (no symlink following) -> (type, content)."""
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_symlink():
            out[str(p)] = ("l", os.readlink(p))
        elif p.is_dir():
            out[str(p)] = ("d", None)
        else:
            out[str(p)] = ("f", p.read_bytes())
    return out


def rel_to_root(rootfs: Path, host_path: Path) -> str:
    """A relative symlink text from rootfs/<x> that climbs far above / and then
    names host_path: ../../../../../../../../host_path."""
    return "../" * 12 + str(host_path).lstrip("/")


# --------------------------------------------------------------------------- 1. malicious rootfs


@pytest.mark.parametrize("inroot", [False, True], ids=["dangling-inside", "resolvable-inside"])
@pytest.mark.parametrize("kind", ["tmpfs", "bind"])
@pytest.mark.parametrize("link", ["relative", "absolute-parent", "relative-parent"])
def test_symlinked_mount_destination_stays_in_rootfs(bundle, runtime, tmp_path, kind, link, inroot):
    """A mount destination that is (or has a parent that is) a symlink climbing
    out of the rootfs lands inside the rootfs; the host target is untouched.
    When the link's in-root resolution does not exist, oci-run refuses (it does
    not create directories through a dangling symlink); when it exists, the
    mount must appear there, inside the container."""
    hostdir = tmp_path / "hostdir"
    (hostdir / "sub").mkdir(parents=True)
    (hostdir / "hostfile").write_text("host\n")
    (hostdir / "sub" / "hostfile2").write_text("host2\n")
    before = snapshot(hostdir)
    if link == "relative":
        os.symlink(rel_to_root(bundle.rootfs, hostdir / "sub"), bundle.rootfs / "evil")
        dest = "/evil"
    elif link == "absolute-parent":
        os.symlink(str(hostdir), bundle.rootfs / "evil")
        dest = "/evil/sub"
    else:
        os.symlink(rel_to_root(bundle.rootfs, hostdir), bundle.rootfs / "evil")
        dest = "/evil/sub"
    # where the destination resolves to when the rootfs is the root
    inside = str(hostdir / "sub")
    if inroot:
        (bundle.rootfs / inside.lstrip("/")).mkdir(parents=True)
    if kind == "tmpfs":
        m = {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}
    else:
        src = bundle.path / "bindsrc"
        src.mkdir()
        (src / "from-bundle").write_text("bundle\n")
        m = {"destination": dest, "type": "bind", "source": str(src), "options": ["rbind", "rw"]}
    with bundle.edit() as c:
        c["mounts"].append(m)
    r, out = run_container(
        runtime, bundle, f"cat /proc/self/mountinfo; echo ===; ls -A {dest}/; echo x > {dest}/written && echo written-ok"
    )
    if out is None:
        assert not inroot, f"create failed although the destination resolves inside:\n{r}"
        assert r.stderr.strip(), "create failed without saying why"
    else:
        mi, _, rest = out.partition("===\n")
        targets = {mm["target"] for mm in parse_mountinfo(mi)}
        assert inside in targets or dest in targets, f"mount for {dest} not inside the container: {sorted(targets)}"
        assert "hostfile" not in rest, out
        assert "written-ok" in rest, out
        if kind == "bind":
            assert "from-bundle" in rest, out
            assert (bundle.path / "bindsrc" / "written").exists()
    assert snapshot(hostdir) == before, "the host directory was changed"
    assert str(hostdir) not in host_mountinfo()


# --------------------------------------------------------------------------- 2. symlink-swap race


def test_symlink_swap_race_never_reaches_host(bundle, runtime, tmp_path):
    """A host thread flips rootfs/race between a directory and a symlink to a
    host directory while containers with a tmpfs on /race/sub are created."""
    hostdir = tmp_path / "race-host"
    hostdir.mkdir()
    (hostdir / "keep").write_text("k\n")
    before = snapshot(hostdir)
    race = bundle.rootfs / "race"
    race.mkdir()
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
        c["mounts"].append({"destination": "/race/sub2", "type": "bind", "source": str(bundle.path / "bsrc"),
                            "options": ["rbind"]})
    (bundle.path / "bsrc").mkdir()
    bundle.set_script("grep -c ' /race/sub\\| /.*/sub ' /proc/self/mountinfo; ls /")

    stop = threading.Event()
    flips = [0]

    libc = ctypes.CDLL(None, use_errno=True)
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    swap = bundle.rootfs / "race.swap"
    os.symlink(str(hostdir), swap)

    def flipper():
        # atomically exchange rootfs/race (dir) and rootfs/race.swap (symlink to the host dir)
        a, b = bytes(race), bytes(swap)
        while not stop.is_set():
            if libc.renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
                flips[0] += 1

    t = threading.Thread(target=flipper, daemon=True)
    t.start()
    created = 0
    try:
        for _ in range(30):
            cid = runtime.new_id()
            bundle.reset_output()
            r = runtime.create(bundle, cid, check=False)
            if r.returncode != 0:
                assert r.stderr.strip(), "create failed without saying why"
                continue
            created += 1
            runtime.start(cid)
            runtime.wait_status(cid, "stopped")
            runtime.delete(cid)
            assert snapshot(hostdir) == before, f"host directory changed after {created} containers"
            assert str(hostdir) not in host_mountinfo()
    finally:
        stop.set()
        t.join(timeout=10)
    assert flips[0] > 0, "the flipper never ran"
    assert snapshot(hostdir) == before
    assert str(hostdir) not in host_mountinfo()
    # The container still works once the race is over.
    if race.is_symlink():  # leave the directory at /race
        libc.renameat2(AT_FDCWD, bytes(race), AT_FDCWD, bytes(swap), RENAME_EXCHANGE)
    assert race.is_dir() and not race.is_symlink()
    r, out = run_container(runtime, bundle, "grep ' /race/sub ' /proc/self/mountinfo >/dev/null && echo mounted")
    assert out is not None and out.strip() == "mounted", f"{r}\n{out}"


# --------------------------------------------------------------------------- 3. /proc/<pid>/exe


ATTACK = r"""#!/bin/sh
# Loop over /proc/*/exe: open for reading (a handle that could later be
# reopened for writing through /proc/self/fd) and for writing.
att=0; wr=0; hit=0; rd=0
while [ ! -e /stop-attack ]; do
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    att=$((att+1))
    t=$(readlink "$d/exe" 2>/dev/null)
    case "$t" in *oci-run*) hit=$((hit+1)); echo "TARGET $p $t" >> /attack.log;; esac
    if (exec 3<"$d/exe"; t3=$(readlink /proc/self/fd/3); case "$t3" in *busybox*) exit 1;; esac;
        echo "RDOPEN $p $t3" >> /attack.log; : 3>>/proc/self/fd/3 && echo "REOPEN-W $p" >> /attack.log) 2>/dev/null; then
      rd=$((rd+1))
    fi
    if (: >>"$d/exe") 2>/dev/null; then wr=$((wr+1)); echo "WROPEN $p $t" >> /attack.log; fi
  done
  echo "$att $wr $hit $rd" > /attack.counts.new; mv /attack.counts.new /attack.counts
done
echo done > /attack.done
"""


def _attack_counts(rootfs: Path):
    text = (rootfs / "attack.counts").read_text().split()
    return tuple(int(x) for x in text)


def _install_attack(bundle) -> None:
    p = bundle.rootfs / "attack.sh"
    p.write_text(ATTACK)
    p.chmod(0o755)


def _finish_attack(bundle, runtime, cid, sha_before):
    from conftest import wait_for

    (bundle.rootfs / "stop-attack").write_text("")
    wait_for(lambda: (bundle.rootfs / "attack.done").exists(), what="the attack loop to finish")
    att, wr, hit, rd = _attack_counts(bundle.rootfs)
    log = (bundle.rootfs / "attack.log").read_text() if (bundle.rootfs / "attack.log").exists() else ""
    assert att > 0, "the attack loop never ran"
    assert wr == 0, f"opened a /proc/<pid>/exe for writing {wr} times:\n{log}"
    assert rd == 0, f"got a handle on a non-container executable {rd} times:\n{log}"
    assert hit == 0, f"saw the runtime binary through /proc/<pid>/exe:\n{log}"
    assert sha256(OCI_RUN) == sha_before, "the runtime binary changed"


def _wait_attack_running(bundle):
    from conftest import wait_for

    wait_for(lambda: (bundle.rootfs / "attack.counts").exists(), what="the attack loop to start")


@pytest.mark.parametrize("pidns", ["container", "host"])
def test_proc_exe_during_exec(bundle, runtime, pidns):
    """While `exec` runs (its child is the runtime binary in the container's pid
    namespace until execve), the container's processes cannot open or even
    name /proc/<pid>/exe of the runtime."""
    sha_before = sha256(OCI_RUN)
    _install_attack(bundle)
    if pidns == "host":
        with bundle.edit() as c:
            c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
    bundle.set_args("/attack.sh")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    _wait_attack_running(bundle)
    for i in range(25):
        r = runtime.cmd("exec", cid, "sh", "-c", f"echo exec-{i}")
        assert r.returncode == 0 and r.stdout.strip() == f"exec-{i}", str(r)
    _finish_attack(bundle, runtime, cid, sha_before)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def test_proc_exe_during_start(bundle, make_extra_bundle, runtime):
    """A second container in the first one's pid namespace runs the attack while
    the first is `created` (its init is the runtime binary waiting for start)
    and while it is started."""
    sha_before = sha256(OCI_RUN)
    victim = bundle
    victim.set_script("echo started; exec sleep 60")
    vid = runtime.new_id("victim")
    runtime.create(victim, vid)
    vpid = runtime.state(vid)["pid"]

    attacker = make_extra_bundle("/attack.sh")
    _install_attack(attacker)
    with attacker.edit() as c:
        for n in c["linux"]["namespaces"]:
            if n["type"] == "pid":
                n["path"] = f"/proc/{vpid}/ns/pid"
    aid = runtime.new_id("attacker")
    runtime.create(attacker, aid)
    runtime.start(aid)
    _wait_attack_running(attacker)
    # let at least one full pass see the waiting init
    first = _attack_counts(attacker.rootfs)[0]
    from conftest import wait_for

    wait_for(lambda: _attack_counts(attacker.rootfs)[0] > first + 2, what="an attack pass")
    runtime.start(vid)
    wait_for(lambda: victim.stdout().strip() == "started", what="the victim to start")
    _finish_attack(attacker, runtime, aid, sha_before)
    runtime.wait_status(aid, "stopped")
    runtime.delete(aid)
    runtime.kill(vid, "KILL")
    runtime.wait_status(vid, "stopped")
    runtime.delete(vid)


# --------------------------------------------------------------------------- 4. fds / cwd (CVE-2024-21626)


def _create_with_host_fds(runtime, bundle, cid, hostdir: Path, *extra):
    """`create` with host directory fds 3..9 open (as a careless caller would)."""
    redirs = " ".join(f'{n}<"{hostdir}"' for n in range(3, 10))
    argv = [OCI_RUN, "--root", str(runtime.root), "create", "--bundle", str(bundle.path), *extra, cid]
    runtime.tracker.ids.add(cid)
    with open(bundle.stdout_path, "ab") as fo, open(bundle.stderr_path, "ab") as fe:
        return subprocess.run(["sh", "-c", f'exec "$@" {redirs}', "sh", *argv],
                              stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, timeout=20)


CWD_PROBE = "pwd; readlink /proc/self/cwd; ls -A; ls /proc/self/fd | tr '\\n' ' '; echo; : > ./cwd-marker && echo marker-ok"


def _check_cwd_output(out: str, hostdir: Path, rootfs: Path, allowed_fds: set[int]):
    lines = out.splitlines()
    assert len(lines) >= 4, out
    assert not lines[0].startswith("(unreachable)") and lines[0].startswith("/"), out
    assert not lines[1].startswith(str(hostdir)), out
    assert "host-secret" not in out, out
    fds = {int(x) for x in lines[-2].split()} if lines[-1] == "marker-ok" else {int(x) for x in lines[3].split()}
    # `ls` opens one directory fd of its own
    assert fds - allowed_fds - {max(fds)} == set(), out


@pytest.mark.parametrize("fd", [3, 4, 5, 6, 7, 8, 9, 10, 12, 15])
def test_cwd_through_leaked_fd_init(bundle, runtime, tmp_path, fd):
    """process.cwd = /proc/self/fd/N with host directory fds open in `create`:
    create fails or the process's cwd is inside the container."""
    hostdir = tmp_path / "hostcwd"
    hostdir.mkdir()
    (hostdir / "host-secret").write_text("s\n")
    before = snapshot(hostdir)
    with bundle.edit() as c:
        c["process"]["cwd"] = f"/proc/self/fd/{fd}"
    bundle.set_script(CWD_PROBE)
    cid = runtime.new_id()
    r = _create_with_host_fds(runtime, bundle, cid, hostdir)
    if r.returncode == 0:
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
        _check_cwd_output(bundle.stdout(), hostdir, bundle.rootfs, {0, 1, 2})
    else:
        assert bundle.stderr().strip(), "create failed without saying why"
    assert snapshot(hostdir) == before, "a file appeared in the host directory"
    # the container still works with a sane cwd
    with bundle.edit() as c:
        c["process"]["cwd"] = "/"
    r2, out = run_container(runtime, bundle, "pwd")
    assert out is not None and out.strip() == "/", f"{r2}\n{out}"


@pytest.mark.parametrize("preserve", [0, 2])
def test_cwd_through_leaked_fd_exec(bundle, runtime, tmp_path, preserve):
    """`exec --cwd /proc/self/fd/N` for every small N, with host directory fds
    open in the exec caller: fails cleanly or stays inside the container."""
    hostdir = tmp_path / "hostcwd"
    hostdir.mkdir()
    (hostdir / "host-secret").write_text("s\n")
    before = snapshot(hostdir)
    bundle.set_args("sleep", "60")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    redirs = " ".join(f'{n}<"{hostdir}"' for n in range(3, 10))
    allowed = {0, 1, 2} | set(range(3, 3 + preserve))
    for fd in list(range(3, 16)):
        argv = [OCI_RUN, "--root", str(runtime.root), "exec", "--preserve-fds", str(preserve),
                "--cwd", f"/proc/self/fd/{fd}", cid, "sh", "-c", CWD_PROBE]
        r = subprocess.run(["sh", "-c", f'exec "$@" {redirs}', "sh", *argv], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=20)
        if fd < 3 + preserve:
            # even a host directory the caller passed on explicitly is no cwd:
            # the runtime checks that the cwd is inside the container's root
            assert r.returncode != 0 and "outside the container" in r.stderr, f"fd {fd}: {r}"
            continue
        if r.returncode != 0:
            assert r.stderr.strip(), f"fd {fd}: exec failed without saying why"
            continue
        _check_cwd_output(r.stdout, hostdir, bundle.rootfs, allowed)
        assert snapshot(hostdir) == before, f"fd {fd}: a file appeared in the host directory"
    r = runtime.cmd("exec", cid, "sh", "-c", "echo alive")
    assert r.returncode == 0 and r.stdout.strip() == "alive", str(r)
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


# --------------------------------------------------------------------------- 5. /proc redirection


SYSCTL_KEY = "kernel.msgmax"
SYSCTL_FILE = "/proc/sys/kernel/msgmax"


def _host_sysctl() -> str:
    with open(SYSCTL_FILE) as f:
        return f.read()


@pytest.fixture
def host_sysctl_guard():
    before = _host_sysctl()
    yield before
    after = _host_sysctl()
    if after != before:
        with open(SYSCTL_FILE, "w") as f:
            f.write(before)
        pytest.fail(f"host {SYSCTL_KEY} changed from {before!r} to {after!r}")


def test_sysctl_refused_on_fake_proc_sys(bundle, runtime, host_sysctl_guard):
    """A bind mount of a plain directory over /proc/sys: the sysctl write must be
    refused (not on procfs) and the decoy file stays unchanged."""
    decoy = bundle.path / "fakesys"
    (decoy / "kernel").mkdir(parents=True)
    (decoy / "kernel" / "msgmax").write_text("decoy\n")
    new = str(int(host_sysctl_guard) + 1)
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/proc/sys", "type": "bind", "source": str(decoy), "options": ["rbind", "rw"]})
        c["linux"]["sysctl"] = {SYSCTL_KEY: new}
        c["linux"]["readonlyPaths"] = [p for p in c["linux"].get("readonlyPaths", []) if not p.startswith("/proc/sys")]
    r, out = run_container(runtime, bundle, "cat /proc/sys/kernel/msgmax")
    assert out is None, f"create wrote a sysctl into a non-procfs file: {out}"
    # Refused as a mount inside /proc (issue 15) before the verified sysctl
    # write (which refuses it too: "not on procfs") is reached.
    assert '"/proc/sys" cannot be mounted because it is inside /proc' in r.stderr, r.stderr
    assert (decoy / "kernel" / "msgmax").read_text() == "decoy\n"
    # still works without the decoy
    with bundle.edit() as c:
        c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/proc/sys"]
    r, out = run_container(runtime, bundle, "cat /proc/sys/kernel/msgmax")
    assert out is not None and out.strip() == new, f"{r}\n{out}"


def test_sysctl_refused_on_tmpfs_over_proc(bundle, runtime, host_sysctl_guard):
    """A tmpfs mounted over /proc after procfs: no sysctl file there -> clear error."""
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/proc", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
        c["linux"]["sysctl"] = {SYSCTL_KEY: str(int(host_sysctl_guard) + 2)}
    r, out = run_container(runtime, bundle, "true")
    assert out is None and r.stderr.strip(), f"{r}\n{out}"


def test_sysctl_with_proc_symlinked(bundle, runtime, host_sysctl_guard, tmp_path):
    """rootfs/proc is a symlink to a host directory (absolute): procfs is mounted
    inside the rootfs and the sysctl either goes to the container's procfs or
    is refused; the host directory is untouched."""
    hostdir = tmp_path / "fakeproc"
    (hostdir / "sys" / "kernel").mkdir(parents=True)
    (hostdir / "sys" / "kernel" / "msgmax").write_text("decoy\n")
    before = snapshot(hostdir)
    (bundle.rootfs / "proc").rmdir()
    os.symlink(str(hostdir), bundle.rootfs / "proc")
    with bundle.edit() as c:
        c["linux"]["sysctl"] = {SYSCTL_KEY: str(int(host_sysctl_guard) + 3)}
    r, out = run_container(runtime, bundle, "cat /proc/sys/kernel/msgmax")
    if out is None:
        assert r.stderr.strip()
    assert snapshot(hostdir) == before
    assert str(hostdir) not in host_mountinfo()


REDIRECT_FILE = "/proc/sys/kernel/msgmnb"  # the host's (ipc namespace) value


def test_sysctl_refused_on_procfs_file_bound_over_it(bundle, runtime, host_sysctl_guard):
    """The CVE-2025-52881 shape: a *procfs* file bound over the sysctl target
    (here the host's kernel.msgmnb over the container's kernel.msgmax). The
    filesystem type is right, so only the mount crossing gives it away: the
    write is refused and the host's msgmnb keeps its value."""
    with open(REDIRECT_FILE) as f:
        host_msgmnb = f.read()
    new = str(int(host_msgmnb) + 7)
    with bundle.edit() as c:
        c["mounts"].append({"destination": SYSCTL_FILE, "type": "bind", "source": REDIRECT_FILE,
                            "options": ["bind", "rw"]})
        c["linux"]["sysctl"] = {SYSCTL_KEY: new}
    try:
        r, out = run_container(runtime, bundle, "true")
    finally:
        with open(REDIRECT_FILE) as f:
            after = f.read()
        if after != host_msgmnb:
            with open(REDIRECT_FILE, "w") as f:
                f.write(host_msgmnb)
    assert after == host_msgmnb, "the sysctl write reached the host's msgmnb"
    assert out is None, f"create wrote through a procfs file mounted over {SYSCTL_FILE}"
    # Refused as a mount inside /proc (issue 15) before the verified sysctl
    # write ("not on procfs directly: a mount point is in the way") is reached.
    assert f'"{SYSCTL_FILE}" cannot be mounted because it is inside /proc' in r.stderr, r.stderr


def test_oom_score_adj_and_sysctl_through_verified_writes(bundle, runtime, host_sysctl_guard):
    """Both procfs writes of create (the runtime's /proc/<pid>/oom_score_adj,
    the container's /proc/sys) still work through the verified helper."""
    with open("/proc/self/oom_score_adj") as f:
        want = max(int(f.read()), 0) + 321
    new = str(int(host_sysctl_guard) + 5)
    with bundle.edit() as c:
        c["process"]["oomScoreAdj"] = want
        c["linux"]["sysctl"] = {SYSCTL_KEY: new}
    r, out = run_container(runtime, bundle, "cat /proc/self/oom_score_adj /proc/sys/kernel/msgmax")
    assert out is not None, r.stderr
    assert out.split() == [str(want), new]


# --------------------------------------------------------------------------- 6. maskedPaths


@pytest.mark.parametrize("link", ["absolute", "relative"])
def test_masked_path_symlink_to_host_file(bundle, runtime, tmp_path, link):
    """maskedPaths entry that is a symlink to a host file: /dev/null is never
    bound over the host file; the mask lands on the in-root resolution."""
    hostfile = tmp_path / "host-passwd"
    hostfile.write_text("root:x:0:0\n")
    target = str(hostfile) if link == "absolute" else rel_to_root(bundle.rootfs, hostfile)
    os.symlink(target, bundle.rootfs / "etc" / "shadow-link")
    # the in-root resolution exists, so a mask really happens
    inroot = bundle.rootfs / str(hostfile).lstrip("/")
    inroot.parent.mkdir(parents=True)
    inroot.write_text("in-root-copy\n")
    with bundle.edit() as c:
        c["linux"]["maskedPaths"] = list(c["linux"].get("maskedPaths", [])) + ["/etc/shadow-link"]
    r, out = run_container(runtime, bundle, f"cat /etc/shadow-link; echo ===; cat {hostfile}; echo end")
    assert out is not None, str(r)
    assert out == "===\nend\n", out  # both names show the (empty) null device
    assert hostfile.read_text() == "root:x:0:0\n"
    with open(hostfile, "a") as f:
        f.write("more\n")
    assert hostfile.read_text() == "root:x:0:0\nmore\n"
    assert inroot.read_text() == "in-root-copy\n"
    assert str(hostfile) not in host_mountinfo()


# --------------------------------------------------------------------------- 7. issue 15, round 2

RUNC = "/usr/sbin/runc"
needs_runc = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason=f"{RUNC} (runc 1.1.5) not installed")


def runc_create(bundle, tmp_path, *extra) -> subprocess.CompletedProcess:
    """`runc create` of the same bundle (its own --root), always deleted again:
    the baseline a refusal of oci-run is compared with."""
    root = tmp_path / "runc-root"
    cid = f"oci-it-runc-{os.getpid()}-{threading.get_ident() % 100000}"
    try:
        return subprocess.run([RUNC, "--root", str(root), "create", "--bundle", str(bundle.path), *extra, cid],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    finally:
        subprocess.run([RUNC, "--root", str(root), "delete", "--force", cid], capture_output=True, timeout=20)


@pytest.mark.parametrize("field", ["uid", "gid", "additionalGids"])
def test_config_uid_gid_above_int32_refused(bundle, runtime, field):
    """process.user.* = 4294967295 is setresuid(-1), "no change": it ran as root.
    Refused in validation, naming the field, as runc refuses it."""
    with bundle.edit() as c:
        user = c["process"].setdefault("user", {"uid": 0, "gid": 0})
        user["uid"], user["gid"] = 1000, 1000
        if field == "additionalGids":
            user["additionalGids"] = [4294967295]
        else:
            user[field] = 4294967295
    r, out = run_container(runtime, bundle, "id")
    assert out is None, f"a container with {field} 4294967295 ran: {out}"
    want = "additionalGids[0]" if field == "additionalGids" else field
    assert f"process.user.{want}: must be between 0 and 2147483647, got 4294967295" in r.stderr, r.stderr


def test_exec_uid_gid_above_int32_refused(bundle, runtime, tmp_path):
    """exec -u 4294967295, -u 1000:4294967295, --additional-gids 4294967295 and
    exec --process with such a uid fail with the field named; nothing runs."""
    bundle.set_args("sleep", "60")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    proc_json = tmp_path / "process.json"
    proc_json.write_text(json.dumps({"args": ["id"], "cwd": "/", "user": {"uid": 4294967295, "gid": 0}}))
    cases = [
        (["-u", "4294967295"], "user.uid"),
        (["-u", "1000:4294967295"], "user.gid"),
        (["-u", "1000:1000", "--additional-gids", "5,4294967295"], "user.additionalGids[1]"),
        (["--process", str(proc_json)], "user.uid"),
    ]
    for flags, field in cases:
        args = [*flags, cid] if flags[0] == "--process" else [*flags, cid, "id"]
        r = runtime.cmd("exec", *args)
        assert r.returncode != 0, f"exec {flags} ran: {r.stdout!r}"
        assert f"{field}: must be between 0 and 2147483647, got 4294967295" in r.stderr, f"{flags}: {r}"
        assert "uid=" not in r.stdout, str(r)
    r = runtime.cmd("exec", "-u", "2147483647:2147483647", cid, "id")
    assert r.returncode == 0 and "uid=2147483647" in r.stdout, str(r)
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


@contextlib.contextmanager
def _host_value_guard(path: str):
    before = _read(path)
    try:
        yield before
    finally:
        after = _read(path)
        if after != before:
            with open(path, "w") as f:
                f.write(before)
    assert after == before, f"the host's {path} changed from {before!r} to {after!r}"


@pytest.mark.parametrize("ns,key,proc", [
    ("network", "net.unix.max_dgram_qlen", "/proc/sys/net/unix/max_dgram_qlen"),
    ("ipc", "kernel.msgmax", "/proc/sys/kernel/msgmax"),
    ("uts", "kernel.domainname", "/proc/sys/kernel/domainname"),
])
def test_sysctl_refused_in_joined_host_namespace(bundle, runtime, ns, key, proc):
    """A namespace joined by path that is the runtime's own (the host's) takes
    no linux.sysctl: refused before any side effect, the host value unchanged,
    nothing left behind (the leak check)."""
    host_ns_file = {"network": "net", "ipc": "ipc", "uts": "uts"}[ns]
    with _host_value_guard(proc) as before:
        new = "oci-it-dom" if ns == "uts" else str(int(before) + 3)
        with bundle.edit() as c:
            for n in c["linux"]["namespaces"]:
                if n["type"] == ns:
                    n["path"] = f"/proc/{os.getpid()}/ns/{host_ns_file}"
            c["linux"]["sysctl"] = {key: new}
            c.pop("hostname", None)
        r, out = run_container(runtime, bundle, "true")
        assert out is None, f"create accepted sysctl {key} in the host's {ns} namespace"
        assert f'linux.sysctl."{key}": not allowed in host {ns} namespace' in r.stderr, r.stderr


@needs_runc
def test_sysctl_host_netns_refused_like_runc(bundle, runtime, tmp_path):
    """Differential: runc 1.1.5 refuses the same bundle with the same words."""
    with _host_value_guard("/proc/sys/net/unix/max_dgram_qlen") as before:
        with bundle.edit() as c:
            for n in c["linux"]["namespaces"]:
                if n["type"] == "network":
                    n["path"] = f"/proc/{os.getpid()}/ns/net"
            c["linux"]["sysctl"] = {"net.unix.max_dgram_qlen": str(int(before) + 7)}
        rc = runc_create(bundle, tmp_path)
        r, out = run_container(runtime, bundle, "true")
    assert rc.returncode != 0 and "not allowed in host network namespace" in rc.stderr, rc.stderr
    assert out is None and r.returncode == rc.returncode
    assert "not allowed in host network namespace" in r.stderr, r.stderr


def test_sysctl_own_namespace_still_written(bundle, runtime):
    """The container's own (new) network namespace still takes net.* sysctls."""
    with bundle.edit() as c:
        c["linux"]["sysctl"] = {"net.unix.max_dgram_qlen": "17"}
    r, out = run_container(runtime, bundle, "cat /proc/sys/net/unix/max_dgram_qlen")
    assert out is not None and out.strip() == "17", str(r)


SECCOMP_DENY_SYSLOG = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
    "syscalls": [{"names": ["syslog"], "action": "SCMP_ACT_ERRNO"}],
}


def test_exec_uses_config_recorded_at_create(bundle, runtime):
    """exec never re-reads the bundle's config.json: with linux.seccomp and
    personality removed (and the process changed) after create, an exec'd
    process is still filtered (Seccomp: 2), still linux32, and takes the
    process defaults (env) of the config create used."""
    with bundle.edit() as c:
        c["linux"]["seccomp"] = SECCOMP_DENY_SYSLOG
        c["linux"]["personality"] = {"domain": "LINUX32"}
        c["process"]["env"] = list(c["process"]["env"]) + ["OCI_IT_CREATED=yes"]
    bundle.set_args("sleep", "60")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    with bundle.edit() as c:
        del c["linux"]["seccomp"]
        del c["linux"]["personality"]
        c["process"]["env"] = [e for e in c["process"]["env"] if not e.startswith("OCI_IT_CREATED")]
    r = runtime.cmd("exec", cid, "sh", "-c", "grep '^Seccomp:' /proc/self/status; uname -m; echo env=$OCI_IT_CREATED")
    assert r.returncode == 0, str(r)
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["Seccomp:", "2"], r.stdout
    assert lines[1] in ("i686", "armv7l", "armv8l"), r.stdout
    assert lines[2] == "env=yes", r.stdout
    # a broken bundle config.json does not matter either
    bundle.config_path.write_text("{not json")
    r = runtime.cmd("exec", cid, "true")
    assert r.returncode == 0, str(r)
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


@pytest.mark.parametrize("how", ["direct", "symlink", "nested-symlink"])
def test_mount_destination_inside_proc_refused(bundle, runtime, how):
    """Destinations inside /proc (runc's rule), also through a rootfs symlink
    resolved in the root (mnt -> /proc), are refused before they are mounted."""
    if how == "direct":
        dest, resolved = "/proc/sys", "/proc/sys"
    elif how == "symlink":
        os.symlink("/proc", bundle.rootfs / "mnt2")
        dest, resolved = "/mnt2/sys", "/proc/sys"
    else:
        os.symlink("../proc/sys", bundle.rootfs / "mnt2")
        dest, resolved = "/mnt2/kernel", "/proc/sys/kernel"
    with bundle.edit() as c:
        c["mounts"].append({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    r, out = run_container(runtime, bundle, "true")
    assert out is None, f"a mount on {dest} ({resolved}) was accepted"
    assert f'"{resolved}" cannot be mounted because it is inside /proc' in r.stderr, r.stderr


def test_mount_on_proc_must_be_procfs(bundle, runtime, tmp_path):
    """/proc itself takes only a procfs: a tmpfs there, or a bind of a plain
    directory, is refused."""
    src = tmp_path / "notproc"
    src.mkdir()
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/proc", "type": "bind", "source": str(src), "options": ["rbind"]})
    r, out = run_container(runtime, bundle, "true")
    assert out is None and '"/proc" cannot be mounted because it is not of type proc' in r.stderr, str(r)


def test_mount_proc_allow_list(bundle, runtime, tmp_path):
    """runc's allow list (lxcfs): a bind over /proc/uptime works."""
    fake = tmp_path / "uptime"
    fake.write_text("12345.00 1.00\n")
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/proc/uptime", "type": "bind", "source": str(fake), "options": ["bind", "ro"]})
    r, out = run_container(runtime, bundle, "cat /proc/uptime")
    assert out is not None and out.strip() == "12345.00 1.00", str(r)


@needs_runc
def test_mount_inside_proc_refused_like_runc(bundle, runtime, tmp_path):
    """Differential: runc 1.1.5 refuses a bind mount on /proc/sys the same way."""
    src = tmp_path / "fakesys"
    src.mkdir()
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/proc/sys", "type": "bind", "source": str(src), "options": ["rbind"]})
    rc = runc_create(bundle, tmp_path)
    r, out = run_container(runtime, bundle, "true")
    assert rc.returncode != 0 and "cannot be mounted because it is inside /proc" in rc.stderr, rc.stderr
    assert out is None and r.returncode == rc.returncode
    assert "cannot be mounted because it is inside /proc" in r.stderr, r.stderr


UNSHARE_PROC = ("unshare -mrpf sh -c 'mount -t proc none /proc && echo MOUNTED' 2>/dev/null; echo rc=$?; "
                "unshare -r true 2>/dev/null && echo userns=yes")


@pytest.mark.parametrize("no_pivot", [False, True], ids=["pivot", "no-pivot"])
def test_no_pivot_hides_host_proc(bundle, runtime, no_pivot):
    """With --no-pivot the host's full /proc (and /sys) must not stay mounted in
    the container's mount namespace: else a process that makes a user
    namespace mounts a fresh procfs without maskedPaths/readonlyPaths."""
    if "unshare" not in subprocess.run([str(bundle.rootfs / "bin" / "busybox"), "--list"],
                                       capture_output=True, text=True).stdout.split():
        pytest.skip("the bundle's busybox has no unshare applet")
    # Not root: mapping uid 0 into a new user namespace needs CAP_SETFCAP,
    # which the container lacks; uid 1000 maps itself.
    with bundle.edit() as c:
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
    extra = ("--no-pivot",) if no_pivot else ()
    r, out = run_container(runtime, bundle, UNSHARE_PROC, *extra)
    assert out is not None, str(r)
    if "userns=yes" not in out:
        pytest.skip(f"user namespaces are not available in the container here: {out!r}")
    assert "MOUNTED" not in out, f"a fresh procfs could be mounted (no_pivot={no_pivot}):\n{out}"
    assert "rc=0" not in out, out


def test_no_pivot_container_still_sees_its_own_proc_and_sys(bundle, runtime):
    """The detach of the host's procfs/sysfs leaves the container's own."""
    r, out = run_container(runtime, bundle, "grep -c . /proc/self/status >/dev/null && ls /sys/kernel >/dev/null "
                           "&& echo ok; grep -c ' - proc ' /proc/self/mountinfo", "--no-pivot")
    assert out is not None and out.split()[0] == "ok", str(r)
