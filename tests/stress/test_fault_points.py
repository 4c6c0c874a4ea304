"""oci-run killed (SIGKILL) at deterministic points of create, start and
delete, through the test-only OCI_RUN_FAULT knob (runtime/util/fault.hpp), and
at random times with OCI_RUN_FAULT_DELAY_US. After each kill: `state` tells the
truth (or fails with a clear error, never a crash), `list` works, the
operation can be retried or the container killed, and `delete --force` leaves
no state dir, cgroup, mount or process (tests/integration/conftest.py's leak
checks; the per-test leak check runs as well)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from conftest import it

CREATE_POINTS = ["create:after-state-dir", "create:cgroup-planned", "create:after-cgroup", "create:after-clone",
                 "create:after-hooks", "create:after-save"]
START_POINTS = ["start:before-fifo-write", "start:after-fifo-write", "start:before-poststart"]
DELETE_POINTS = ["delete:after-kill", "delete:after-cgroup", "delete:before-remove"]


def fault_env(point=None, delay_us=None):
    env = dict(os.environ)
    env.pop("OCI_RUN_FAULT", None)
    env.pop("OCI_RUN_FAULT_DELAY_US", None)
    if point:
        env["OCI_RUN_FAULT"] = point
    if delay_us:
        env["OCI_RUN_FAULT_DELAY_US"] = str(delay_us)
    return env


def faulty(runtime, bundle, point, *args):
    """Run `oci-run args...` with the fault point set, container stdio to the
    bundle's files; return the Result."""
    with open(bundle.stdout_path, "ab") as fo, open(bundle.stderr_path, "ab") as fe:
        return runtime.cmd(*args, stdout=fo, stderr=fe, env=fault_env(point))


def assert_killed(r, point):
    assert r.returncode == -signal.SIGKILL, f"{point}: expected death by SIGKILL:\n{r}"


def state_or_error(runtime, cid):
    """`state`: a status, or None with a clear error; never a crash."""
    r = runtime.cmd("state", cid)
    assert r.returncode >= 0, f"state crashed:\n{r}"
    if r.returncode != 0:
        assert r.stderr.strip(), f"state failed without a message:\n{r}"
        return None
    st = it.json.loads(r.stdout)
    if st.get("pid"):
        runtime.tracker.note_pid(st["pid"])
    return st


def assert_list_works(runtime):
    r = runtime.cmd("list")
    assert r.returncode == 0, f"list failed:\n{r}"
    assert runtime.cmd("list", "-q").returncode == 0


def assert_clean(runtime, cid):
    assert runtime.cmd("state", cid).returncode != 0
    assert not (runtime.root / cid).exists()
    assert cid not in runtime.list_ids()
    # pid 1 reaps orphaned container inits asynchronously: let it finish.
    deadline = time.monotonic() + 10
    left = it._check_leaks(runtime.tracker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = it._check_leaks(runtime.tracker)
    assert not left, left


@pytest.mark.parametrize("point", CREATE_POINTS)
def test_killed_during_create(bundle, runtime, point):
    bundle.set_args("sleep", "100000")
    # A hook makes the hooks stage real (create:after-hooks sits after it).
    with bundle.edit() as c:
        c["hooks"] = {"createRuntime": [{"path": "/bin/true"}]}
    cid = runtime.new_id("fc")
    r = faulty(runtime, bundle, point, "create", "--bundle", bundle.path, cid)
    assert_killed(r, point)
    st = state_or_error(runtime, cid)
    assert st is not None, "the state dir exists: state must describe it"
    if point == "create:after-save":
        # Everything but the pid file was done: a complete, created container.
        assert st["status"] == "created" and st["pid"] > 0, st
        assert cid in runtime.list_ids()
    else:
        assert st["status"] in ("creating", "stopped"), st
    assert_list_works(runtime)
    # The container never got as far as running: start must not run it.
    if point != "create:after-save":
        r = runtime.start(cid, check=False)
        assert r.returncode > 0 and r.stderr.strip(), r
    runtime.delete(cid, force=True)
    assert_clean(runtime, cid)
    # The id is free again.
    runtime.create(bundle, cid)
    runtime.delete(cid, force=True)
    assert_clean(runtime, cid)


@pytest.mark.parametrize("point", START_POINTS)
@pytest.mark.parametrize("then", ["retry", "kill"])
def test_killed_during_start(bundle, runtime, point, then):
    bundle.set_args("sleep", "100000")
    cid = runtime.new_id("fs")
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    r = faulty(runtime, bundle, point, "start", cid)
    assert_killed(r, point)
    st = state_or_error(runtime, cid)
    assert st is not None
    released = point != "start:before-fifo-write"
    if released:
        # The init was released: it may still be on its way to exec (then it
        # is rightly "created" for a moment), but it must end up "running".
        assert st["status"] in ("created", "running"), (point, st)
        st = runtime.wait_status(cid, "running", timeout=30)
    else:
        assert st["status"] == "created", (point, st)
    assert st["pid"] == pid
    assert runtime.list_ids() == [cid]
    assert_list_works(runtime)
    if then == "retry":
        r = runtime.start(cid, check=False)
        if released:
            assert r.returncode > 0 and "running" in r.stderr, r
        else:
            assert r.returncode == 0, r
        assert runtime.status(cid) == "running"
        runtime.kill(cid, "KILL")
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
    else:
        runtime.kill(cid, "KILL")
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
    assert_clean(runtime, cid)


@pytest.mark.parametrize("point", DELETE_POINTS)
@pytest.mark.parametrize("started", [False, True], ids=["created", "running"])
def test_killed_during_delete(bundle, runtime, point, started):
    bundle.set_args("sleep", "100000")
    cid = runtime.new_id("fd")
    runtime.create(bundle, cid)
    if started:
        runtime.start(cid)
    r = faulty(runtime, bundle, point, "delete", "--force", cid)
    assert_killed(r, point)
    st = state_or_error(runtime, cid)
    # The process was killed before every delete point.
    assert st is not None and st["status"] == "stopped" and st["pid"] == 0, st
    assert_list_works(runtime)
    assert runtime.start(cid, check=False).returncode > 0
    runtime.delete(cid, force=True)
    assert_clean(runtime, cid)


@pytest.mark.parametrize("seed", range(12))
def test_killed_at_random_time(bundle, runtime, seed):
    """create, start and delete --force with random delays at every fault
    point, one of them SIGKILLed from here at a random time; then `state` and
    `list` work and `delete --force` cleans up. No timing is asserted."""
    rnd = random.Random(seed)
    bundle.set_args("sleep", "100000")
    cid = runtime.new_id("fr")
    victim = rnd.choice(["create", "start", "delete"])
    env = fault_env(delay_us=20000)
    for op in ["create", "start", "delete"]:
        args = {"create": ["create", "--bundle", str(bundle.path), cid], "start": ["start", cid],
                "delete": ["delete", "--force", cid]}[op]
        with open(bundle.stdout_path, "ab") as fo, open(bundle.stderr_path, "ab") as fe:
            p = subprocess.Popen([runtime.binary, "--root", str(runtime.root), *args],
                                 stdin=subprocess.DEVNULL, stdout=fo, stderr=fe, env=env)
        runtime.tracker.popens.append(p)
        if op == victim:
            time.sleep(rnd.uniform(0, 0.08))
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        if op == victim:
            break
        assert p.returncode == 0, (op, p.returncode)
    state_or_error(runtime, cid)
    assert_list_works(runtime)
    runtime.delete(cid, force=True)
    assert_clean(runtime, cid)
