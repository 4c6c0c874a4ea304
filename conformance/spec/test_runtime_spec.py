"""runtime-spec 1.3 rules that the runtime-tools validation suite cannot check
on this host, or checks wrongly (see docs/spec-conformance.md).

Each test names the spec rule it proves. The fixtures (bundle, runtime, the
leak check after every test) come from tests/integration/conftest.py.
"""
import json
import os
import re
import time
from pathlib import Path

import pytest

ANNOTATIONS = {"org.example.conformance": "yes", "second": "2"}
ALL_PHASES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


# --------------------------------------------------------------------------- helpers


def log_hook(log: Path, phase: str, extra: str = "") -> dict:
    """A hook run with the host's /bin/sh: appends `phase <stdin>` as one line to log."""
    return {
        "path": "/bin/sh",
        "args": ["sh", "-c", f's=$(cat); printf "%s %s\\n" {phase} "$s" >> {log}; {extra}'],
        "env": ["PATH=/usr/bin:/bin"],
    }


def read_log(log: Path) -> list[tuple[str, dict]]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        phase, text = line.split(" ", 1)
        out.append((phase, json.loads(text)))
    return out


def phases(log: Path) -> list[str]:
    return [p for p, _ in read_log(log)]


def all_hooks(bundle, hookdir: Path) -> Path:
    """Every hook kind, one each. startContainer runs inside the container, so it
    uses the container's /bin/sh and writes through a bind mount of hookdir."""
    log = hookdir / "log"
    with bundle.edit() as c:
        c["annotations"] = dict(ANNOTATIONS)
        c["hooks"] = {p: [log_hook(log, p)] for p in ALL_PHASES if p != "startContainer"}
        c["hooks"]["startContainer"] = [log_hook(Path("/hooklog/log"), "startContainer")]
        c["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(hookdir),
                            "options": ["rbind", "rw"]})
    return log


def assert_state_shape(st: dict):
    """The state object of runtime.md: the required properties with the right types."""
    for k, t in (("ociVersion", str), ("id", str), ("status", str), ("bundle", str)):
        assert isinstance(st.get(k), t), f"state.{k} missing or not a {t.__name__}: {st}"
    assert os.path.isabs(st["bundle"])
    if st["status"] in ("created", "running"):
        assert isinstance(st.get("pid"), int) and st["pid"] > 0, st
    if "annotations" in st:
        assert isinstance(st["annotations"], dict)


@pytest.fixture
def hookdir(tmp_path):
    d = tmp_path / "hooklog"
    d.mkdir()
    return d


def has_v1_controller(controller: str) -> bool:
    """A v1 hierarchy of `controller` is mounted (a pure cgroup2 host has none)."""
    return (Path("/sys/fs/cgroup") / controller / "cgroup.procs").exists()


needs_v1_pids = pytest.mark.skipif(not has_v1_controller("pids"),
                                   reason="needs the cgroup v1 pids controller (a cgroup v1 or hybrid host)")


def v1_cgroup_dir(pid: int, controller: str) -> Path:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    pytest.fail(f"process {pid} is in no v1 {controller} cgroup")


# --------------------------------------------------------------------------- hooks


def test_hooks_run_in_lifecycle_order_with_the_state_on_stdin(bundle, runtime, hookdir):
    """config.md 'Hooks MUST be called in the listed order' + runtime.md lifecycle
    steps 3-5, 7, 9, 13; every hook receives the state (runtime.md State) on stdin."""
    log = all_hooks(bundle, hookdir)
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    st = runtime.state(cid)
    # create runs exactly the three create-time hooks
    assert phases(log) == ["prestart", "createRuntime", "createContainer"]
    runtime.start(cid)
    # startContainer before the program, poststart before `start` returned
    assert phases(log) == ALL_PHASES[:5]
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    assert phases(log) == ALL_PHASES[:5]  # poststop only at delete
    runtime.delete(cid)
    entries = read_log(log)
    assert [p for p, _ in entries] == ALL_PHASES  # each exactly once, in order
    by = dict(entries)
    for phase, s in entries:
        assert_state_shape(s)
        assert s["id"] == cid, phase
        assert s["bundle"] == str(bundle.path), phase
        assert s.get("annotations") == ANNOTATIONS, phase
    # status per hook (runtime.md State): the create-time hooks and startContainer
    # run while the container is `created`, poststart once the program runs,
    # poststop after it exited.
    for phase in ("prestart", "createRuntime", "createContainer", "startContainer"):
        assert by[phase]["status"] == "created", phase
    # runtime-namespace hooks get the pid as the runtime sees it. (createContainer
    # and startContainer run in the container's namespaces, where the spec wants
    # the pid as the container sees it; oci-run, like runc, passes the host pid:
    # see docs/spec-conformance.md.)
    for phase in ("prestart", "createRuntime"):
        assert by[phase]["pid"] == st["pid"], phase
    assert by["poststart"]["status"] == "running"
    assert by["poststart"]["pid"] == st["pid"]
    assert by["poststop"]["status"] == "stopped"


def test_prestart_runs_after_namespaces_and_before_pivot_root(bundle, runtime, hookdir):
    """config.md prestart/createRuntime: called after the container's namespaces
    and mounts exist, before pivot_root and before the user program."""
    out = hookdir / "probe"
    script = (
        's=$(cat); pid=$(printf "%s" "$s" | sed -n "s/.*\\"pid\\":\\([0-9]*\\).*/\\1/p"); '
        f'{{ echo "pid=$pid"; echo "mnt=$(readlink /proc/$pid/ns/mnt)"; echo "uts=$(readlink /proc/$pid/ns/uts)"; '
        f'test -e /proc/$pid/root/etc/debian_version && echo root=host || echo root=other; echo "exe=$(readlink /proc/$pid/exe)"; '
        f'echo "procmounts=$(grep -c " {bundle.rootfs}/proc " /proc/$pid/mountinfo)"; }} > {out}'
    )
    with bundle.edit() as c:
        c["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["PATH=/usr/bin:/bin"]}]}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    seen = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert seen["pid"] == str(pid)  # the container process already exists
    assert seen["mnt"] and seen["mnt"] != os.readlink("/proc/self/ns/mnt")  # in its own mount ns
    assert seen["uts"] and seen["uts"] != os.readlink("/proc/self/ns/uts")
    assert seen["mnt"] == os.readlink(f"/proc/{pid}/ns/mnt")  # the ns it keeps
    assert seen["root"] == "host"  # no pivot_root yet: its / is still the host's
    assert int(seen["procmounts"]) >= 1  # config mounts already made on the rootfs
    assert not seen["exe"].startswith(str(bundle.rootfs))  # the user program is not running
    # after create, the root has been pivoted into the rootfs
    assert not os.path.exists(f"/proc/{pid}/root/etc/debian_version")
    assert os.path.exists(f"/proc/{pid}/root/bin/busybox")
    runtime.delete(cid, force=True)


@pytest.mark.parametrize("phase", ["prestart", "createRuntime", "createContainer"])
def test_create_time_hook_failure_leaves_nothing(bundle, runtime, hookdir, phase):
    """runtime.md lifecycle 3-5: a failing hook is an error, the container is
    stopped and destroyed (step 12): `create` fails, the program never ran, and
    afterwards the container does not exist (state errors, nothing leaked)."""
    ran = hookdir / "program-ran"
    mark = hookdir / "after"
    with bundle.edit() as c:
        c["hooks"] = {phase: [log_hook(hookdir / "log", phase, extra="exit 7"),
                              log_hook(hookdir / "log", "second", extra=f"touch {mark}")]}
        c["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(hookdir),
                            "options": ["rbind", "rw"]})
    bundle.set_script("touch /hooklog/program-ran")
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    assert f"{phase} hook #0" in r.stderr and "exit status 7" in r.stderr, r.stderr
    assert not mark.exists(), "hooks after the failing one must not run"
    assert not ran.exists()
    st = runtime.cmd("state", cid)
    assert st.returncode != 0 and "does not exist" in st.stderr, st
    assert cid not in runtime.list_ids()
    # the id is free again
    bundle.set_args("true")
    with bundle.edit() as c:
        c["hooks"] = {}
    runtime.create(bundle, cid)
    runtime.delete(cid, force=True)


def test_start_container_hook_failure_is_an_error_and_stops(bundle, runtime, hookdir):
    """runtime.md lifecycle 7: a failing startContainer hook is an error and the
    program does not run."""
    with bundle.edit() as c:
        c["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 5"]}]}
        c["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(hookdir),
                            "options": ["rbind", "rw"]})
    bundle.set_script("touch /hooklog/program-ran")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0 and "startContainer hook #0" in r.stderr, r
    runtime.wait_status(cid, "stopped")
    assert not (hookdir / "program-ran").exists()
    runtime.delete(cid)


def test_poststart_failure_is_an_error_and_stops_the_container(bundle, runtime, hookdir):
    """runtime.md lifecycle 9 (1.3): a failing poststart hook MUST generate an error
    and stop the container; later poststart hooks do not run. The poststop hooks
    still run when the container is deleted."""
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"poststart": [log_hook(log, "poststart0", extra="exit 3"), log_hook(log, "poststart1")],
                      "poststop": [log_hook(log, "poststop")]}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0
    assert "poststart hook #0" in r.stderr and "exit status 3" in r.stderr, r
    runtime.wait_status(cid, "stopped", timeout=5)
    assert phases(log) == ["poststart0"]
    runtime.delete(cid)
    assert phases(log) == ["poststart0", "poststop"]
    assert runtime.cmd("state", cid).returncode != 0


def test_poststop_failure_warns_and_delete_succeeds(bundle, runtime, hookdir):
    """runtime.md lifecycle 13: a failing poststop hook is a warning; the remaining
    hooks run and `delete` succeeds."""
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"poststop": [log_hook(log, "poststop0", extra="echo bad-hook >&2; exit 4"),
                                   log_hook(log, "poststop1")]}
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    r = runtime.delete(cid)
    assert r.returncode == 0
    assert "poststop hook #0" in r.stderr and "bad-hook" in r.stderr, r  # the warning
    assert phases(log) == ["poststop0", "poststop1"]
    assert runtime.cmd("state", cid).returncode != 0
    assert cid not in runtime.list_ids()


def test_hooks_come_from_create_not_from_the_edited_config(bundle, runtime, hookdir):
    """runtime.md lifecycle 2 / create: changes to config.json after create have no
    effect (here: the start- and delete-time hooks)."""
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"poststart": [log_hook(log, "original-poststart")],
                      "poststop": [log_hook(log, "original-poststop")]}
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    with bundle.edit() as c:
        c["hooks"] = {"poststart": [log_hook(log, "edited")], "poststop": [log_hook(log, "edited")]}
        c["process"]["args"] = ["false"]
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    assert phases(log) == ["original-poststart", "original-poststop"]


# --------------------------------------------------------------------------- operations


def test_state_of_unknown_and_missing_id_fails(runtime):
    """runtime.md Query State: error without an id and for an unknown container."""
    assert runtime.cmd("state").returncode != 0
    r = runtime.cmd("state", "no-such-container-xyz")
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_create_requires_a_unique_id(bundle, runtime):
    """runtime.md Create: a duplicate id is an error and the first container is untouched."""
    cid = runtime.new_id()
    bundle.set_args("sleep", "1000")
    runtime.create(bundle, cid)
    before = runtime.state(cid)
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    assert runtime.state(cid) == before
    runtime.delete(cid, force=True)


def test_create_does_not_run_the_program(bundle, runtime, hookdir):
    """runtime.md Create: process.args MUST NOT be applied until start."""
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(hookdir),
                            "options": ["rbind", "rw"]})
    bundle.set_script("touch /hooklog/ran")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    time.sleep(0.3)
    assert not (hookdir / "ran").exists()
    assert runtime.status(cid) == "created"
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    assert (hookdir / "ran").exists()
    runtime.delete(cid)


def test_start_without_process_fails(bundle, runtime):
    """runtime.md Start: MUST generate an error if process was not set (create is
    accepted: process is the one property create need not apply)."""
    with bundle.edit() as c:
        del c["process"]
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    assert runtime.status(cid) == "created"
    r = runtime.start(cid, check=False)
    assert r.returncode != 0 and "process" in r.stderr, r
    assert runtime.status(cid) == "created"  # no effect
    runtime.delete(cid, force=True)


def test_start_twice_fails_without_effect(bundle, runtime):
    """runtime.md Start: starting a container that is not `created` is an error
    with no effect on it."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    before = runtime.state(cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0
    assert runtime.state(cid) == before
    runtime.delete(cid, force=True)


def test_kill_stopped_container_fails_without_effect(bundle, runtime):
    """runtime.md Kill: signalling a container that is neither created nor running
    MUST be an error and have no effect."""
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    before = runtime.wait_status(cid, "stopped")
    for sig in ("KILL", "TERM"):
        r = runtime.kill(cid, sig, check=False)
        assert r.returncode != 0, r
        assert "not running" in r.stderr, r
    assert runtime.state(cid) == before
    runtime.delete(cid)


def test_kill_without_id_fails(runtime):
    """runtime.md Kill: an error when no container id is given (the runtime-tools
    form `kill TERM` names no existing container)."""
    assert runtime.cmd("kill").returncode != 0
    assert runtime.cmd("kill", "TERM").returncode != 0


def test_kill_created_container(bundle, runtime):
    """runtime.md Kill: a `created` container can be signalled."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def test_delete_running_container_fails_without_effect(bundle, runtime):
    """runtime.md Delete: deleting a container that is not stopped is an error with no effect."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    before = runtime.state(cid)
    r = runtime.delete(cid, check=False)
    assert r.returncode != 0
    assert runtime.state(cid) == before
    runtime.delete(cid, force=True)


def test_delete_created_container_succeeds_like_the_engines(bundle, runtime):
    """Deliberate deviation (docs/spec-conformance.md): the spec says deleting a
    `created` container is an error; runc, crun and containerd expect it to work."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.delete(cid)
    assert runtime.cmd("state", cid).returncode != 0


def test_delete_without_id_fails(runtime):
    """runtime.md Delete: an error without an id."""
    assert runtime.cmd("delete").returncode != 0


def test_state_follows_the_lifecycle(bundle, runtime):
    """runtime.md State: created -> running -> stopped, pid present while
    created/running, annotations reported as configured."""
    with bundle.edit() as c:
        c["annotations"] = dict(ANNOTATIONS)
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    st = runtime.state(cid)
    assert_state_shape(st)
    assert st["status"] == "created" and st["id"] == cid and st["bundle"] == str(bundle.path)
    assert st["annotations"] == ANNOTATIONS
    runtime.start(cid)
    st2 = runtime.state(cid)
    assert st2["status"] == "running" and st2["pid"] == st["pid"]
    runtime.kill(cid, "KILL")
    st3 = runtime.wait_status(cid, "stopped")
    assert_state_shape(st3)
    runtime.delete(cid)


def test_pid_file_is_the_bare_pid(bundle, runtime, tmp_path):
    """--pid-file (runc CLI, used by every engine): only the digits of state.pid,
    no newline."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    pid_file = tmp_path / "container.pid"
    runtime.create(bundle, cid, pid_file=pid_file)
    text = pid_file.read_bytes()
    assert re.fullmatch(rb"[1-9][0-9]*", text), text
    assert int(text) == runtime.state(cid)["pid"]
    runtime.delete(cid, force=True)


# --------------------------------------------------------------------------- process and resources


def test_rlimits_seen_by_a_plain_process(bundle, runtime):
    """config.md process.rlimits, read from /proc/self/limits by busybox (a Go
    program such as runtimetest raises its own soft NOFILE)."""
    limits = [("RLIMIT_NOFILE", 3000, 4000, "Max open files"),
              ("RLIMIT_CORE", 1024, 2048, "Max core file size"),
              ("RLIMIT_STACK", 4194304, 8388608, "Max stack size"),
              ("RLIMIT_CPU", 100, 200, "Max cpu time"),
              ("RLIMIT_FSIZE", 1 << 30, 1 << 31, "Max file size"),
              ("RLIMIT_AS", 1 << 30, 1 << 30, "Max address space")]
    with bundle.edit() as c:
        c["process"]["rlimits"] = [{"type": t, "soft": s, "hard": h} for t, s, h, _ in limits]
    out = runtime.script_output(bundle, "cat /proc/self/limits")
    rows = {}
    for line in out.splitlines()[1:]:
        m = re.match(r"(.+?)\s{2,}(\S+)\s+(\S+)", line)
        if m:
            rows[m.group(1).strip()] = (m.group(2), m.group(3))
    for _, soft, hard, name in limits:
        assert rows.get(name) == (str(soft), str(hard)), (name, rows.get(name), out)


def test_rlimit_above_the_runtimes_hard_limit_is_an_error(bundle, runtime):
    """runtime.md Create: a property that cannot be applied is an error (root here
    lacks CAP_SYS_RESOURCE, so a hard limit cannot be raised)."""
    hard = int(Path("/proc/sys/fs/nr_open").read_text())
    cur = [l for l in Path("/proc/self/limits").read_text().splitlines() if l.startswith("Max open files")][0]
    if cur.split()[4] == "unlimited" or int(cur.split()[4]) >= hard:
        pytest.skip("the runtime's NOFILE hard limit cannot be exceeded")
    with bundle.edit() as c:
        c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": hard, "hard": hard}]
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    if r.returncode == 0:  # the runtime may hold CAP_SYS_RESOURCE after all
        runtime.delete(cid, force=True)
        pytest.skip("this runtime can raise its hard NOFILE limit")
    assert "RLIMIT_NOFILE" in r.stderr, r


@needs_v1_pids
@pytest.mark.parametrize("limit,expected", [(1000, "1000"), (-1, "max"), (0, "0")])
def test_pids_limit_in_the_v1_pids_cgroup(bundle, runtime, limit, expected):
    """config-linux.md linux.resources.pids.limit: pids.max of the container's v1
    pids cgroup (runtime-tools compares two pointers here and always fails)."""
    with bundle.edit() as c:
        c["linux"].setdefault("resources", {})["pids"] = {"limit": limit}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    d = v1_cgroup_dir(runtime.state(cid)["pid"], "pids")
    assert (d / "pids.max").read_text().strip() == expected
    runtime.delete(cid, force=True)
    assert not d.exists()


@needs_v1_pids
def test_pids_limit_absent_sets_nothing(bundle, runtime):
    """runtime-spec 1.3: pids.limit is optional; without it pids.max stays max."""
    with bundle.edit() as c:
        c["linux"].setdefault("resources", {})["pids"] = {}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    d = v1_cgroup_dir(runtime.state(cid)["pid"], "pids")
    assert (d / "pids.max").read_text().strip() == "max"
    runtime.delete(cid, force=True)


# --------------------------------------------------------------------------- refused fields


REJECTED = {
    "process.apparmorProfile": (lambda c: c["process"].__setitem__("apparmorProfile", "acme_secure_profile"),
                                "AppArmor is not enabled"),
    "process.selinuxLabel": (lambda c: c["process"].__setitem__("selinuxLabel", "system_u:system_r:svirt_lxc_net_t:s0"),
                             "SELinux is not enabled"),
    "linux.mountLabel": (lambda c: c["linux"].__setitem__("mountLabel", "system_u:object_r:svirt_sandbox_file_t:s0"),
                         "SELinux is not enabled"),
    "linux.memoryPolicy": (lambda c: c["linux"].__setitem__("memoryPolicy", {"mode": "MPOL_LOCAL"}), "not supported"),
    "linux.intelRdt": (lambda c: c["linux"].__setitem__("intelRdt", {"closID": "x"}), "not supported"),
    "linux.netDevices": (lambda c: c["linux"].__setitem__("netDevices", {"dummy0": {}}), "not supported"),
}


def test_scheduler_io_priority_and_personality_are_applied(bundle, runtime):
    """config.md process.scheduler and process.ioPriority, config-linux.md
    linux.personality: seen from inside the container (sched policy and nice in
    /proc/self/stat, the I/O priority through ioprio_get, the personality
    through uname -m) and in an exec'd process (personality only: the
    scheduler and I/O priority are the exec process's own fields)."""
    with bundle.edit() as c:
        c["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 7}
        c["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
        c["linux"]["personality"] = {"domain": "LINUX32"}
    bundle.set_args("sh", "-c", "cut -d' ' -f19,41 /proc/self/stat; uname -m; exec sleep 1000")
    cid = runtime.new_id()
    bundle.reset_output()
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    runtime.start(cid)
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    # ioprio_get(IOPRIO_WHO_PROCESS, pid): class << 13 | data
    for _ in range(500):  # until the shell has exec'd sleep (bounded, not timed)
        if open(f"/proc/{pid}/comm").read().strip() == "sleep":
            break
        time.sleep(0.01)
    prio = libc.syscall(252, 1, pid)  # SYS_ioprio_get on x86_64
    r = runtime.cmd("exec", cid, "uname", "-m")
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    lines = bundle.stdout().split("\n")
    nice, policy = lines[0].split()
    assert (nice, policy) == ("7", "3"), lines  # SCHED_BATCH is 3
    assert lines[1] in ("i686", "i386"), lines
    assert prio == (2 << 13) | 6, prio
    assert r.returncode == 0 and r.stdout.strip() in ("i686", "i386"), r


def test_exec_cpu_affinity_applies_to_exec_not_init(bundle, runtime):
    """config.md process.execCPUAffinity: not applicable to the init (accepted,
    not applied); an exec'd process ends on the `final` CPUs."""
    with bundle.edit() as c:
        c["process"]["execCPUAffinity"] = {"initial": "0", "final": "0"}
    bundle.set_args("sh", "-c", "grep Cpus_allowed_list /proc/self/status; exec sleep 1000")
    bundle.reset_output()
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.cmd("exec", cid, "grep", "Cpus_allowed_list", "/proc/self/status")
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    assert r.returncode == 0 and r.stdout.split() == ["Cpus_allowed_list:", "0"], r
    with open("/proc/self/status") as f:
        ours = [l.split()[1] for l in f if l.startswith("Cpus_allowed_list")][0]
    assert bundle.stdout().split() == ["Cpus_allowed_list:", ours]


def test_idmapped_bind_mount_with_its_own_mapping(bundle, runtime, tmp_path):
    """config.md mounts[].uidMappings/gidMappings with "idmap" (no user
    namespace needed): a file owned by 0 on disk shows as the mapped host id."""
    src = tmp_path / "idm"
    src.mkdir()
    (src / "f").write_text("x")
    maps = [{"containerID": 0, "hostID": 1234, "size": 1}]
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/idm", "type": "bind", "source": str(src),
                            "options": ["rbind", "idmap"], "uidMappings": maps, "gidMappings": maps})
    out = runtime.script_output(bundle, "stat -c %u:%g /idm/f")
    assert out.strip() == "1234:1234"


@pytest.mark.parametrize("field", sorted(REJECTED))
def test_unsupported_field_is_refused_with_a_clear_error(bundle, runtime, field):
    """runtime.md Create: a property the runtime cannot apply MUST be an error and
    no container may be created. The message names the field."""
    edit, why = REJECTED[field]
    with bundle.edit() as c:
        edit(c)
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    name = field.split("[]")[-1].split(" ")[0].lstrip(".") or field
    assert name.split(".")[-1] in r.stderr and why in r.stderr, r
    assert runtime.cmd("state", cid).returncode != 0


# --------------------------------------------------------------------------- fields with no other end-to-end test


def test_time_namespace_offsets(bundle, runtime):
    """config-linux.md linux.timeOffsets with a new time namespace."""
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "time"})
        c["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 5}, "boottime": {"secs": 100}}
    out = runtime.script_output(bundle, "cat /proc/self/timens_offsets")
    rows = {l.split()[0]: l.split()[1:] for l in out.splitlines() if l.strip()}
    assert rows == {"monotonic": ["86400", "5"], "boottime": ["100", "0"]}, out


def test_user_namespace_mappings(bundle, runtime):
    """config-linux.md linux.uidMappings/gidMappings with a new user namespace."""
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "user"})
        # container root stays host root: pytest's 0700 temp dirs must stay traversable
        c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1},
                                     {"containerID": 1, "hostID": 100000, "size": 1000}]
        c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1},
                                     {"containerID": 1, "hostID": 200000, "size": 2000}]
    out = runtime.script_output(bundle, "cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user")
    lines = out.splitlines()
    assert [l.split() for l in lines[:4]] == [["0", "0", "1"], ["1", "100000", "1000"],
                                               ["0", "0", "1"], ["1", "200000", "2000"]], out
    assert lines[4] != os.readlink("/proc/self/ns/user")


def test_recursive_read_only_mount(bundle, runtime, tmp_path, tracker):
    """config.md Linux mount options: rro makes an rbind mount and its submounts read-only."""
    import subprocess
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "rro-sub", str(src / "sub")], check=True)
    tracker.host_mounts.append(str(src / "sub"))
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/rro", "type": "bind", "source": str(src), "options": ["rbind", "rro"]})
    out = runtime.script_output(bundle, "touch /rro/a 2>/dev/null && echo top-rw; touch /rro/sub/b 2>/dev/null && echo sub-rw; echo done")
    assert out.split() == ["done"], out
    subprocess.run(["umount", str(src / "sub")], check=True)
    tracker.host_mounts.remove(str(src / "sub"))


def test_console_size(bundle, runtime, tmp_path):
    """config.md process.consoleSize: the size of the pty given to the console socket."""
    import fcntl
    import socket
    import struct
    import tempfile
    import termios
    import threading
    sock_path = os.path.join(tempfile.mkdtemp(prefix="oci-sock-"), "c.sock")
    with bundle.edit() as c:
        c["process"]["terminal"] = True
        c["process"]["consoleSize"] = {"height": 37, "width": 101}
        c["process"]["args"] = ["sleep", "1000"]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(20)
    got = {}

    def accept():
        try:
            conn, _ = srv.accept()
            with conn:
                got["fds"] = socket.recv_fds(conn, 4096, 4)[1]
        except Exception as e:  # noqa: BLE001
            got["error"] = e

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    cid = runtime.new_id()
    try:
        runtime.create(bundle, cid, "--console-socket", sock_path)
        t.join(timeout=20)
        assert len(got.get("fds", [])) == 1, got
        master = got["fds"][0]
        try:
            rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(master, termios.TIOCGWINSZ, b"\0" * 8))
            assert (rows, cols) == (37, 101)
        finally:
            os.close(master)
        runtime.delete(cid, force=True)
    finally:
        srv.close()
        os.unlink(sock_path)
        os.rmdir(os.path.dirname(sock_path))


def test_unified_files_on_the_hybrid_host(bundle, runtime):
    """config-linux.md linux.resources.unified: written to the container's cgroup2
    directory (on this hybrid host the cgroup2 mount is /sys/fs/cgroup/unified)."""
    if not Path("/sys/fs/cgroup/unified/cgroup.controllers").exists():
        pytest.skip("no hybrid cgroup2 mount at /sys/fs/cgroup/unified")
    with bundle.edit() as c:
        c["linux"].setdefault("resources", {})["unified"] = {"cgroup.max.descendants": "3"}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    line = [l for l in Path(f"/proc/{pid}/cgroup").read_text().splitlines() if l.startswith("0::")][0]
    d = Path("/sys/fs/cgroup/unified") / line[3:].lstrip("/")
    assert (d / "cgroup.max.descendants").read_text().strip() == "3"
    runtime.delete(cid, force=True)


def test_rdma_without_the_controller_is_refused(bundle, runtime):
    """runtime.md Create: linux.resources.rdma cannot be applied without an rdma
    controller: an error naming the field, no container."""
    v2 = next((p for p in (Path("/sys/fs/cgroup/unified/cgroup.controllers"), Path("/sys/fs/cgroup/cgroup.controllers"))
               if p.exists()), None)
    if os.path.exists("/sys/fs/cgroup/rdma") or (v2 is not None and "rdma" in v2.read_text().split()):
        pytest.skip("this host has an rdma controller")
    with bundle.edit() as c:
        c["linux"].setdefault("resources", {})["rdma"] = {"mlx5_1": {"hcaHandles": 3}}
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0 and "linux.resources.rdma" in r.stderr, r
    assert runtime.cmd("state", cid).returncode != 0
