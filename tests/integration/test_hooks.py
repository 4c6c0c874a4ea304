"""OCI hooks: timing, namespaces, stdin state, env, timeout and failure rules."""
import json
import os
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

HOST_PHASES = ("prestart", "createRuntime", "poststart", "poststop")


def host_hook(log, phase, extra="", timeout=None, env=None):
    """A hook run with the host's /bin/sh that appends 'phase <state json> <mntns>' to log."""
    h = {"path": "/bin/sh",
         "args": ["sh", "-c", f'read -r s; echo "{phase} $s $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts)" >> {log}; {extra}']}
    h["env"] = env if env is not None else ["PATH=/usr/bin:/bin"]
    if timeout:
        h["timeout"] = timeout
    return h


def read_log(log):
    entries = []
    if not os.path.exists(log):
        return entries
    for line in open(log).read().splitlines():
        phase, rest = line.split(" ", 1)
        state_text, mnt, uts = rest.rsplit(" ", 2)
        entries.append((phase, json.loads(state_text), mnt, uts))
    return entries


@pytest.fixture
def hookdir(tmp_path):
    d = tmp_path / "hooklog"
    d.mkdir()
    return d


def with_all_hooks(bundle, hookdir):
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {p: [host_hook(log, p)] for p in ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
        # startContainer runs inside the container: its path is the container's /bin/sh,
        # and it writes through a bind mount of the log dir.
        c["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c",
            'read -r s; echo "startContainer $s $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/uts)" >> /hooklog/log']}]
        c["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(hookdir), "options": ["rbind", "rw"]})
    return log


def test_hook_order_state_and_namespaces(bundle, runtime, hookdir):
    log = with_all_hooks(bundle, hookdir)
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    pid = runtime.state(cid)["pid"]
    assert [e[0] for e in read_log(log)] == ["prestart", "createRuntime", "createContainer"]
    runtime.start(cid)
    # poststart has run before start returned
    assert [e[0] for e in read_log(log)][3:] == ["startContainer", "poststart"]
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    entries = read_log(log)
    assert [e[0] for e in entries] == ["prestart", "createRuntime", "createContainer", "startContainer",
                                       "poststart", "poststop"]
    host_mnt = os.readlink("/proc/self/ns/mnt")
    host_uts = os.readlink("/proc/self/ns/uts")
    by = {e[0]: e for e in entries}
    for phase in ("prestart", "createRuntime", "createContainer", "startContainer"):
        assert by[phase][1]["status"] == "created", phase
        assert by[phase][1]["pid"] == pid, phase
        assert by[phase][1]["id"] == cid and by[phase][1]["bundle"] == str(bundle.path)
    assert by["poststart"][1]["status"] == "running"
    assert by["poststop"][1]["status"] == "stopped"
    for phase in HOST_PHASES:
        assert by[phase][2] == host_mnt and by[phase][3] == host_uts, phase
    # createContainer: the container's mount namespace; startContainer: inside the container.
    assert by["createContainer"][2] != host_mnt
    assert by["createContainer"][3] != host_uts
    assert by["startContainer"][2] == by["createContainer"][2]


def test_hook_env_and_args_exact(bundle, runtime, hookdir):
    out = hookdir / "env"
    with bundle.edit() as c:
        c["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["my-argv0", "-c", f'echo "$0|$(env | sort | tr "\\n" " ")" > {out}'],
                                         "env": ["ONLY=this", "PATH=/bin"]}]}
    runtime.run_to_completion(bundle)
    text = out.read_text().strip()
    argv0, env = text.split("|")
    assert argv0 == "my-argv0"
    names = {kv.split("=", 1)[0] for kv in env.split()}
    assert {"ONLY", "PATH"} <= names
    # nothing of the runtime's environment; only what sh itself adds
    assert names - {"ONLY", "PATH"} <= {"PWD", "SHLVL", "_"}, names


def test_hook_timeout_kills_and_fails_create(bundle, runtime, hookdir):
    with bundle.edit() as c:
        c["hooks"] = {"createRuntime": [host_hook(hookdir / "log", "createRuntime", extra="sleep 30", timeout=1)]}
    cid = runtime.new_id()
    t0 = time.monotonic()
    r = runtime.create(bundle, cid, check=False)
    assert time.monotonic() - t0 < 10
    assert r.returncode != 0
    assert "createRuntime hook #0 (/bin/sh) failed: timed out after 1s" in r.stderr
    assert cid not in runtime.list_ids()


@pytest.mark.parametrize("phase", ["prestart", "createRuntime", "createContainer"])
def test_create_time_hook_failure_fails_create(bundle, runtime, hookdir, phase):
    with bundle.edit() as c:
        c["hooks"] = {phase: [host_hook(hookdir / "log", phase, extra="echo broken-hook; exit 3")]}
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    assert f"{phase} hook #0 (/bin/sh) failed: exit status 3: broken-hook" in r.stderr
    assert cid not in runtime.list_ids()


@pytest.mark.parametrize("phase", ["prestart", "createRuntime", "createContainer"])
def test_failed_create_runs_poststop_after_the_hooks_began(bundle, runtime, hookdir, phase):
    """A create that fails once prestart/createRuntime began continues at
    delete: poststop runs (state "stopped", init gone) so that what the earlier
    hooks set up -- a network hook's veth and NAT rules -- is undone."""
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"prestart": [host_hook(log, "prestart")], "poststop": [host_hook(log, "poststop")]}
        c["hooks"].setdefault(phase, []).append(host_hook(log, phase, extra="exit 3"))
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0 and f"{phase} hook" in r.stderr, r
    entries = read_log(log)
    assert [e[0] for e in entries][-1] == "poststop", entries
    stop_state = entries[-1][1]
    assert stop_state["id"] == cid and stop_state["status"] == "stopped"
    assert not os.path.exists(f"/proc/{stop_state['pid']}") or \
        open(f"/proc/{stop_state['pid']}/stat").read().split()[2] == "Z"
    assert cid not in runtime.list_ids()


def test_failed_create_before_the_hooks_runs_no_poststop(bundle, runtime, hookdir):
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"poststop": [host_hook(log, "poststop")]}
        c["process"]["args"] = ["/no/such/binary"]
        c["process"]["cwd"] = "/no-such-dir-is-fine"
        c["linux"]["sysctl"] = {"no.such.sysctl": "1"}
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    assert read_log(log) == []


def test_start_container_hook_failure_fails_start(bundle, runtime):
    with bundle.edit() as c:
        c["hooks"] = {"startContainer": [{"path": "/bin/false"}]}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0
    assert "startContainer hook #0 (/bin/false) failed: exit status 1" in r.stderr
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def test_poststart_failure_is_an_error_and_stops_container(bundle, runtime):
    with bundle.edit() as c:
        c["hooks"] = {"poststart": [{"path": "/bin/false"}]}
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0
    assert "poststart hook #0 (/bin/false) failed" in r.stderr
    runtime.wait_status(cid, "stopped", timeout=5)
    runtime.delete(cid)


def test_poststop_failure_warns_and_later_hooks_still_run(bundle, runtime, hookdir, tmp_path):
    log = hookdir / "log"
    with bundle.edit() as c:
        c["hooks"] = {"poststop": [{"path": "/bin/false"}, host_hook(log, "poststop")]}
    bundle.set_args("true")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    logf = tmp_path / "log.json"
    r = runtime.cmd("delete", cid, global_args=("--log", logf, "--log-format", "json"))
    assert r.returncode == 0, r
    assert [e[0] for e in read_log(log)] == ["poststop"]
    lines = [json.loads(l) for l in logf.read_text().splitlines()]
    assert any(l["level"] == "warning" and "poststop hook #0 (/bin/false) failed" in l["msg"] for l in lines)
    assert not any(l["level"] == "error" for l in lines)
