"""Faults that need no runtime support: races on one id, a container killed
from outside, oci-run itself killed in the middle of `create`, an unwritable or
full state root, a hook that hangs. After each: `state`/`list` tell the truth,
`delete` (--force) cleans up completely (the per-test leak check of
tests/integration/conftest.py then also finds nothing)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import it


def oci_argv(runtime, *args):
    return [runtime.binary, "--root", str(runtime.root), *map(str, args)]


def test_same_id_created_concurrently(bundle, runtime, tmp_path):
    """Ten oci-run processes create the same id at once: one wins."""
    bundle.set_args("sleep", "100000")
    cid = runtime.new_id("race")
    n = 10
    barrier = threading.Barrier(n)
    results = [None] * n

    def one(i):
        with open(tmp_path / f"err{i}", "w+b") as err:
            barrier.wait()
            p = subprocess.run(oci_argv(runtime, "create", "--bundle", bundle.path, cid),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, timeout=60)
            err.seek(0)
            results[i] = (p.returncode, err.read().decode(errors="replace"))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    for rc, err in losers:
        assert "container with id exists" in err and cid in err, (rc, err)
    st = runtime.state(cid)
    assert st["status"] == "created" and st["pid"] > 0
    assert runtime.list_ids() == [cid]
    runtime.start(cid)
    assert runtime.status(cid) == "running"
    runtime.delete(cid, force=True)
    assert runtime.list_ids() == []


def test_init_killed_from_outside(bundle, runtime):
    bundle.set_args("sleep", "100000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    pid = runtime.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    st = runtime.wait_status(cid, "stopped")
    assert st["pid"] == 0
    assert runtime.kill(cid, "TERM", check=False).returncode != 0
    runtime.delete(cid)  # not --force: a stopped container
    assert runtime.list_ids() == []
    assert runtime.cmd("state", cid).returncode != 0


@pytest.mark.parametrize("phase", ["prestart", "createRuntime"])
def test_oci_run_killed_during_create(bundle, runtime, tmp_path, phase):
    """SIGKILL to `oci-run create` while a create-time hook runs (the cgroup,
    the state dir and the container's init exist, state.json does not)."""
    bundle.set_args("sleep", "100000")
    marker = tmp_path / "hook-running"
    with bundle.edit() as c:
        c["hooks"] = {phase: [{"path": "/bin/sh",
                               "args": ["sh", "-c", f"touch {marker}; exec sleep 100000"]}]}
    cid = runtime.new_id("killed")
    with open(bundle.stderr_path, "ab") as err:
        p = subprocess.Popen(oci_argv(runtime, "create", "--bundle", bundle.path, cid),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                             start_new_session=True)
    runtime.tracker.popens.append(p)
    try:
        it.wait_for(marker.exists, timeout=30, what="the hook to run")
        hook_pids = [int(x) for x in subprocess.run(["pgrep", "-s", str(p.pid)], capture_output=True,
                                                     text=True).stdout.split() if int(x) != p.pid]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    finally:
        # The hook is a child of the killed oci-run in its session: ours to end.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
    # state tells the truth: the container never finished creating.
    r = runtime.cmd("state", cid)
    assert r.returncode == 0, r
    assert '"creating"' in r.stdout or '"stopped"' in r.stdout, r
    assert runtime.cmd("list").returncode == 0
    runtime.delete(cid, force=True)
    assert runtime.cmd("state", cid).returncode != 0
    assert not (runtime.root / cid).exists()
    # Nothing of it is left: no cgroup, no process (the container's init), no mount.
    def clean():
        return not it._cgroup_dirs_for({cid}) and not it._leaked_procs(runtime.tracker)
    deadline = time.monotonic() + 10
    while not clean() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not it._cgroup_dirs_for({cid}), "cgroup left after delete --force"
    leaked = {pid: why for pid, why in it._leaked_procs(runtime.tracker).items() if pid not in hook_pids}
    assert not leaked, leaked


@contextlib.contextmanager
def small_tmpfs(tmp_path, size="64k", ro=False):
    mnt = tmp_path / "tmpfs-root"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)], check=True)
    try:
        if ro:
            subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


def test_read_only_state_root(bundle, runtime, tmp_path):
    with small_tmpfs(tmp_path, ro=True) as mnt:
        runtime.tracker.roots.append(mnt)
        cid = runtime.new_id("ro")
        ro = it.Runtime(runtime.tracker, mnt, runtime.base_id)
        r = ro.create(bundle, cid, check=False)
        assert r.returncode != 0
        assert "Read-only file system" in r.stderr and str(mnt) in r.stderr, r
        assert os.listdir(mnt) == []
        assert not it._cgroup_dirs_for({cid})
        assert ro.list_ids() == []


def test_full_state_root(bundle, runtime, tmp_path):
    """A state root with no room for state.json: create fails with ENOSPC and
    leaves no state dir, cgroup or process behind."""
    bundle.set_args("sleep", "100000")
    with small_tmpfs(tmp_path, size="64k") as mnt:
        runtime.tracker.roots.append(mnt)
        fill = mnt / "filler"
        fd = os.open(fill, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        try:
            ro = it.Runtime(runtime.tracker, mnt, runtime.base_id)
            cid = runtime.new_id("full")
            r = ro.create(bundle, cid, check=False)
            assert r.returncode != 0
            assert "No space left on device" in r.stderr, r
            assert sorted(os.listdir(mnt)) == ["filler"]
            assert not it._cgroup_dirs_for({cid})
            assert ro.list_ids() == []
        finally:
            fill.unlink()
        # With room again the same id works.
        ro.create(bundle, cid)
        assert ro.status(cid) == "created"
        ro.delete(cid, force=True)
        assert os.listdir(mnt) == []


def test_hanging_hook_is_killed_at_timeout(bundle, runtime, tmp_path):
    """A createRuntime hook that ignores SIGTERM and hangs: create fails at the
    timeout, the hook process is gone, nothing is left."""
    pidfile = tmp_path / "hook.pid"
    with bundle.edit() as c:
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "timeout": 1,
                                         "args": ["sh", "-c", f"trap '' TERM; echo $$ > {pidfile}; "
                                                  "while :; do sleep 1; done"]}]}
    cid = runtime.new_id("hang")
    r = runtime.create(bundle, cid, check=False, timeout=60)
    assert r.returncode != 0
    assert "createRuntime hook #0 (/bin/sh) failed: timed out after 1s" in r.stderr, r
    hook_pid = int(pidfile.read_text())
    it.wait_for(lambda: it.proc_starttime(hook_pid) is None, timeout=10, what="the hook to be gone")
    assert cid not in runtime.list_ids()
    assert runtime.cmd("state", cid).returncode != 0
