"""Container lifecycle: create -> start -> stopped -> deleted, state, pid file,
kill, delete, run (foreground / detached / --keep)."""

import datetime
import json
import os
import re
import signal
import time

import pytest

from conftest import wait_for

RFC3339_NANO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{1,9})(Z|[+-]\d\d:\d\d)$")


def parse_rfc3339(text: str) -> datetime.datetime:
    m = RFC3339_NANO.match(text)
    assert m, f"not RFC 3339 with fractional seconds: {text!r}"
    frac = m.group(1)
    base = text[: text.index(".")]
    tz = m.group(2)
    tz = "+00:00" if tz == "Z" else tz
    micro = int((frac + "000000")[:6])
    dt = datetime.datetime.fromisoformat(base + tz)
    return dt.replace(microsecond=micro)


def test_state_transitions(bundle, runtime, tmp_path):
    """created (process waits, pid file) -> running -> stopped -> deleted."""
    # Runs until the test releases it: a loaded (ASan) run may take longer
    # than any fixed sleep between `start` and the checks of the running state.
    bundle.set_script("echo started > /started; echo out-line; echo err-line >&2;"
                      " while [ ! -e /release ]; do sleep 0.02; done; exit 0")
    cid = runtime.new_id()
    pid_file = tmp_path / "pidfile"

    before = datetime.datetime.now(datetime.timezone.utc)
    runtime.create(bundle, cid, pid_file=pid_file)

    # pid file: digits only, no newline, equal to state pid
    raw = pid_file.read_bytes()
    assert re.fullmatch(rb"[0-9]+", raw), f"pid file content {raw!r} is not digits only"
    pid = int(raw)

    st = runtime.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert st["pid"] == pid
    assert st["pid"] > 0 and os.path.exists(f"/proc/{pid}")
    assert st["bundle"] == str(bundle.path)
    assert st["rootfs"] == str(bundle.rootfs)
    assert isinstance(st["ociVersion"], str) and st["ociVersion"].startswith("1.")
    assert "owner" in st
    created = parse_rfc3339(st["created"])
    assert before - datetime.timedelta(seconds=5) <= created <= datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=5)

    # the user process has not run yet
    time.sleep(0.3)
    assert not (bundle.rootfs / "started").exists(), "user process ran before start"
    assert runtime.status(cid) == "created"

    runtime.start(cid)
    st = runtime.state(cid)
    assert st["status"] in ("running", "stopped")
    assert st["status"] == "running", f"expected running right after start, got {st}"
    assert st["pid"] == pid, "start must exec in the created process, not a new one"
    # start returns only after the exec: the process image is busybox now
    exe = os.readlink(f"/proc/{pid}/exe")
    assert exe.endswith("/bin/busybox"), f"/proc/{pid}/exe is {exe!r} right after start"
    assert st["created"] == runtime.state(cid)["created"]

    (bundle.rootfs / "release").touch()
    st = runtime.wait_status(cid, "stopped")
    assert st["pid"] == 0
    assert (bundle.rootfs / "started").read_text() == "started\n"
    assert bundle.stdout() == "out-line\n"
    assert bundle.stderr() == "err-line\n"
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(") ")[1][0] in "ZX"

    runtime.delete(cid)
    r = runtime.cmd("state", cid)
    assert r.returncode != 0
    assert "container does not exist" in r.stderr
    assert runtime.list_ids() == []


def test_start_running_container_fails(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    pid = runtime.state(cid)["pid"]
    r = runtime.start(cid, check=False)
    assert r.returncode != 0, f"second start succeeded:\n{r}"
    assert r.stderr.strip(), "no error message"
    st = runtime.state(cid)
    assert st["status"] == "running" and st["pid"] == pid


def test_start_stopped_container_fails(bundle, runtime):
    bundle.set_args("true")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    r = runtime.start(cid, check=False)
    assert r.returncode != 0, f"start of a stopped container succeeded:\n{r}"
    assert r.stderr.strip()
    assert runtime.status(cid) == "stopped"


def test_delete_created_container(bundle, runtime):
    bundle.set_script("echo ran > /ran")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    runtime.delete(cid)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().rsplit(") ", 1)[1][0] in "ZX",
             what="created process to go away")
    assert not (bundle.rootfs / "ran").exists(), "deleting a created container ran its process"
    assert runtime.list_ids() == []


def test_delete_running_fails_then_force(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.delete(cid, check=False)
    assert r.returncode != 0, f"plain delete of a running container succeeded:\n{r}"
    assert r.stderr.strip()
    assert runtime.status(cid) == "running"
    runtime.delete(cid, force=True)
    assert runtime.cmd("state", cid).returncode != 0
    assert runtime.list_ids() == []


def test_delete_force_created(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.delete(cid, force=True)
    assert runtime.list_ids() == []


TRAP_TERM = (
    "trap 'echo got-term; exit 3' TERM; echo ready; "
    "i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; echo timeout"
)


def wait_output(bundle, text, timeout=10.0):
    wait_for(lambda: text in bundle.stdout(), timeout=timeout, what=f"{text!r} in container stdout (have {bundle.stdout()!r})")


def test_kill_default_term(bundle, runtime):
    bundle.set_script(TRAP_TERM)
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    wait_output(bundle, "ready")
    runtime.kill(cid)  # TERM by default
    runtime.wait_status(cid, "stopped")
    assert "got-term" in bundle.stdout()
    assert "timeout" not in bundle.stdout()


@pytest.mark.parametrize("sig", ["USR1", "SIGUSR1", "10"])
def test_kill_signal_forms(bundle, runtime, sig):
    bundle.set_script(
        "trap 'echo got-usr1; exit 4' USR1; trap 'echo got-term; exit 3' TERM; echo ready; "
        "i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"
    )
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    wait_output(bundle, "ready")
    runtime.kill(cid, sig)
    runtime.wait_status(cid, "stopped")
    assert "got-usr1" in bundle.stdout()
    assert "got-term" not in bundle.stdout()


def test_kill_sigkill_stops(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.kill(cid, "KILL")
    st = runtime.wait_status(cid, "stopped")
    assert st["pid"] == 0


def test_kill_created_container(bundle, runtime):
    """A created container can be killed; it becomes stopped without running."""
    bundle.set_script("echo ran > /ran; sleep 30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    assert not (bundle.rootfs / "ran").exists()


def test_kill_all(bundle, runtime):
    """--all signals every process of the container, not only init."""
    bundle.set_script(
        "trap '' USR1; "
        "(trap 'echo child-usr1; exit 0' USR1; echo child-ready; i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done) & "
        "i=0; while [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done"
    )
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    wait_output(bundle, "child-ready")
    r = runtime.cmd("kill", "--all", cid, "USR1")
    assert r.returncode == 0, str(r)
    wait_output(bundle, "child-usr1")
    assert runtime.status(cid) == "running", "init ignores USR1 and must still run"
    r = runtime.cmd("kill", "-a", cid, "KILL")
    assert r.returncode == 0, str(r)
    runtime.wait_status(cid, "stopped")


def test_kill_stopped_container_fails(bundle, runtime):
    bundle.set_args("true")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    r = runtime.kill(cid, "KILL", check=False)
    assert r.returncode != 0
    assert "container not running" in r.stderr, str(r)


# ----------------------------------------------------------------------------- run


def test_run_exit_code(bundle, runtime):
    bundle.set_script("echo hello-run; exit 42")
    cid = runtime.new_id()
    r = runtime.run(bundle, cid)
    assert r.returncode == 42, str(r)
    assert bundle.stdout() == "hello-run\n"
    # run deletes the container
    assert runtime.list_ids() == []
    assert "container does not exist" in runtime.cmd("state", cid).stderr


def test_run_exit_zero(bundle, runtime):
    bundle.set_args("true")
    r = runtime.run(bundle, runtime.new_id())
    assert r.returncode == 0, str(r)


def test_run_killed_exit_code(bundle, runtime):
    """A container killed by SIGKILL makes `run` exit 128+9."""
    bundle.set_script("echo ready; exec sleep 30")
    cid = runtime.new_id()
    p = runtime.popen_run(bundle, cid)
    wait_output(bundle, "ready")
    runtime.wait_status(cid, "running")
    runtime.kill(cid, "KILL")
    rc = p.wait(timeout=10)
    assert rc == 137, f"run exited {rc}; stderr: {bundle.stderr()!r}"
    wait_for(lambda: runtime.list_ids() == [], what="run to delete the container")


def test_run_forwards_signals(bundle, runtime):
    """Signals sent to a foreground `run` reach the container process."""
    bundle.set_script(TRAP_TERM)
    cid = runtime.new_id()
    p = runtime.popen_run(bundle, cid)
    wait_output(bundle, "ready")
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=10)
    assert "got-term" in bundle.stdout(), bundle.stdout()
    assert rc == 3, f"run exited {rc}; stderr: {bundle.stderr()!r}"


def test_run_detach(bundle, runtime):
    bundle.set_script("echo detached-ok; exec sleep 30")
    cid = runtime.new_id()
    t0 = time.monotonic()
    r = runtime.run(bundle, cid, "--detach")
    assert r.returncode == 0, str(r)
    assert time.monotonic() - t0 < 10
    st = runtime.state(cid)
    assert st["status"] == "running"
    wait_output(bundle, "detached-ok")
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def test_run_detach_pid_file(bundle, runtime, tmp_path):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    pf = tmp_path / "run.pid"
    r = runtime.run(bundle, cid, "-d", "--pid-file", str(pf))
    assert r.returncode == 0, str(r)
    raw = pf.read_bytes()
    assert re.fullmatch(rb"[0-9]+", raw), raw
    assert int(raw) == runtime.state(cid)["pid"]


def test_run_keep(bundle, runtime):
    bundle.set_script("exit 5")
    cid = runtime.new_id()
    r = runtime.run(bundle, cid, "--keep")
    assert r.returncode == 5, str(r)
    st = runtime.state(cid)
    assert st["status"] == "stopped"
    runtime.delete(cid)


def test_create_relative_bundle(bundle, runtime):
    """--bundle is resolved against the caller's cwd; state shows the absolute path."""
    cid = runtime.new_id()
    r = runtime.cmd("create", "-b", bundle.path.name, cid, cwd=str(bundle.path.parent))
    assert r.returncode == 0, str(r)
    assert runtime.state(cid)["bundle"] == str(bundle.path)


def test_create_bundle_defaults_to_cwd(bundle, runtime):
    cid = runtime.new_id()
    r = runtime.cmd("create", cid, cwd=str(bundle.path))
    assert r.returncode == 0, str(r)
    assert runtime.state(cid)["bundle"] == str(bundle.path)


def test_state_annotations(bundle, runtime):
    with bundle.edit() as c:
        c["annotations"] = {"org.example.key": "value-1"}
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    st = runtime.state(cid)
    assert st.get("annotations") == {"org.example.key": "value-1"}


def test_two_containers_independent(make_extra_bundle, runtime):
    b1 = make_extra_bundle("sleep", "30")
    b2 = make_extra_bundle("sleep", "30")
    c1, c2 = runtime.new_id("a"), runtime.new_id("b")
    runtime.create(b1, c1)
    runtime.create(b2, c2)
    runtime.start(c2)
    assert runtime.status(c1) == "created"
    assert runtime.status(c2) == "running"
    runtime.kill(c2, "KILL")
    runtime.wait_status(c2, "stopped")
    assert runtime.status(c1) == "created"
    runtime.delete(c2)
    assert runtime.list_ids() == [c1]
    json.dumps(runtime.state(c1))


def test_container_killed_from_host(bundle, runtime):
    """A container whose process dies behind the runtime's back is stopped and deletable."""
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    pid = runtime.state(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    st = runtime.wait_status(cid, "stopped")
    assert st["pid"] == 0
    runtime.delete(cid)
    assert runtime.list_ids() == []


def test_pid_file_relative_to_cwd(bundle, runtime, tmp_path):
    cid = runtime.new_id()
    r = runtime.cmd("create", "--bundle", str(bundle.path), "--pid-file", "rel.pid", cid, cwd=str(tmp_path))
    assert r.returncode == 0, str(r)
    raw = (tmp_path / "rel.pid").read_bytes()
    assert re.fullmatch(rb"[0-9]+", raw), raw
    assert int(raw) == runtime.state(cid)["pid"]


@pytest.mark.parametrize("flag", ["--no-new-keyring", "--no-pivot"])
def test_create_flags_accepted(bundle, runtime, flag):
    out = runtime.script_output(bundle, "echo flag-ok", flag)
    assert out == "flag-ok\n"


@pytest.mark.parametrize("cid", ["Abc_1.2-3+x", "a" * 64, "0"])
def test_valid_unusual_ids(bundle, runtime, cid):
    runtime.tracker.ids.add(cid + "")
    runtime.create(bundle, cid)
    assert runtime.state(cid)["id"] == cid
    assert runtime.list_ids() == [cid]
    runtime.delete(cid)
