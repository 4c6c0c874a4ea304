"""Bad input: a clear message on stderr, a non-zero exit, and nothing left
behind (the autouse leak check runs after each test)."""

import json
import os
import re
import shutil

import pytest

from conftest import wait_for


def assert_create_fails(runtime, bundle, *needles, cid=None, extra=()):
    cid = cid or runtime.new_id()
    r = runtime.create(bundle, cid, *extra, check=False)
    assert r.returncode != 0, f"create succeeded:\n{r}"
    assert r.stderr.strip(), "no error message on stderr"
    for n in needles:
        assert n in r.stderr, f"{n!r} not in stderr:\n{r.stderr}"
    assert runtime.list_ids() == [], "a failed create left a container"
    st = runtime.cmd("state", cid)
    assert st.returncode != 0
    return r


def test_malformed_json(bundle, runtime):
    bundle.config_path.write_text('{"ociVersion": "1.0.2", "process": ')
    assert_create_fails(runtime, bundle, "config.json")


def test_config_not_an_object(bundle, runtime):
    bundle.config_path.write_text("[1, 2, 3]")
    assert_create_fails(runtime, bundle, "config.json")


def test_missing_config(bundle, runtime):
    bundle.config_path.unlink()
    assert_create_fails(runtime, bundle, "config.json")


def test_missing_rootfs(bundle, runtime):
    shutil.rmtree(bundle.rootfs)
    assert_create_fails(runtime, bundle, "rootfs")


def test_invalid_oci_version(bundle, runtime):
    with bundle.edit() as c:
        c["ociVersion"] = "banana"
    assert_create_fails(runtime, bundle, "config.json", "ociVersion")


def test_unknown_namespace(bundle, runtime):
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "foo"})
        idx = len(c["linux"]["namespaces"]) - 1
    assert_create_fails(runtime, bundle, f'config.json: linux.namespaces[{idx}].type: unknown namespace type "foo"')


def test_duplicate_namespace(bundle, runtime):
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "pid"})
    r = assert_create_fails(runtime, bundle, "config.json", "linux.namespaces[")
    assert "pid" in r.stderr


def test_namespace_path_wrong_type(bundle, runtime, host_proc):
    p = host_proc("unshare", "--uts", "sleep", "30")
    wait_for(lambda: os.readlink(f"/proc/{p.pid}/ns/uts") != os.readlink("/proc/self/ns/uts"), what="unshare")
    path = f"/proc/{p.pid}/ns/uts"
    with bundle.edit() as c:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = path
    assert_create_fails(runtime, bundle, path)


def test_namespace_path_missing(bundle, runtime):
    with bundle.edit() as c:
        for ns in c["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = "/proc/999999999/ns/net"
    assert_create_fails(runtime, bundle, "/proc/999999999/ns/net")


def test_unknown_capability(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["capabilities"]["bounding"].append("CAP_FOO")
    assert_create_fails(runtime, bundle, "config.json", "CAP_FOO")


def test_unknown_rlimit(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["rlimits"].append({"type": "RLIMIT_FOO", "soft": 1, "hard": 1})
    assert_create_fails(runtime, bundle, "config.json", "RLIMIT_FOO")


def test_relative_mount_destination(bundle, runtime):
    with bundle.edit() as c:
        c["mounts"].append({"destination": "mnt/rel", "type": "tmpfs", "source": "tmpfs"})
        idx = len(c["mounts"]) - 1
    assert_create_fails(runtime, bundle, "config.json", f"mounts[{idx}].destination")


def test_missing_executable(bundle, runtime):
    bundle.set_args("no-such-cmd-xyz", "arg")
    assert_create_fails(runtime, bundle, 'exec: "no-such-cmd-xyz": executable file not found in $PATH')


def test_missing_absolute_executable(bundle, runtime):
    bundle.set_args("/no/such/binary")
    assert_create_fails(runtime, bundle, "/no/such/binary")


def test_executable_not_in_container_path(bundle, runtime):
    """The lookup uses the container's PATH, not the host's."""
    with bundle.edit() as c:
        c["process"]["env"] = ["PATH=/nonexistent"]
        c["process"]["args"] = ["sh", "-c", "true"]
    assert_create_fails(runtime, bundle, 'exec: "sh": executable file not found in $PATH')


def test_empty_args(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["args"] = []
    assert_create_fails(runtime, bundle, "args")


@pytest.mark.parametrize("bad_id", ["a/b", "..", ".", "", "x" * 1000, "../escape"])
def test_invalid_id(bundle, runtime, bad_id, tmp_path):
    before = set(os.listdir(tmp_path))
    r = runtime.cmd("create", "--bundle", str(bundle.path), bad_id)
    assert r.returncode != 0, f"create accepted id {bad_id!r}:\n{r}"
    assert r.stderr.strip()
    assert runtime.list_ids() == []
    assert not any(e.is_dir() for e in os.scandir(runtime.root))
    assert set(os.listdir(tmp_path)) - before <= {"stdout.txt", "stderr.txt"}, "something was created next to the root"


def test_duplicate_id(make_extra_bundle, runtime):
    b1 = make_extra_bundle("sleep", "30")
    b2 = make_extra_bundle("true")
    cid = runtime.new_id()
    runtime.create(b1, cid)
    st = runtime.state(cid)
    r = runtime.create(b2, cid, check=False)
    assert r.returncode != 0, f"duplicate create succeeded:\n{r}"
    assert r.stderr.strip()
    st2 = runtime.state(cid)
    assert st2["pid"] == st["pid"] and st2["bundle"] == str(b1.path) and st2["status"] == "created"
    assert runtime.list_ids() == [cid]


@pytest.mark.parametrize("verb", ["state", "start", "kill", "delete"])
def test_unknown_container(runtime, verb):
    r = runtime.cmd(verb, "no-such-container-xyz")
    assert r.returncode != 0
    assert "container does not exist" in r.stderr, str(r)


def test_delete_force_unknown_is_ok(runtime):
    r = runtime.cmd("delete", "--force", "no-such-container-xyz")
    assert r.returncode == 0, str(r)


def test_unknown_signal(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    for bad in ("FOO", "SIGFOO", "99999"):
        r = runtime.cmd("kill", cid, bad)
        assert r.returncode != 0, f"kill {bad} accepted:\n{r}"
        assert r.stderr.strip()
    assert runtime.status(cid) == "running"


def test_kill_stopped(bundle, runtime):
    bundle.set_args("true")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    r = runtime.cmd("kill", cid, "TERM")
    assert r.returncode != 0
    assert "container not running" in r.stderr, str(r)


def test_start_running(bundle, runtime):
    bundle.set_args("sleep", "30")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.cmd("start", cid)
    assert r.returncode != 0
    assert r.stderr.strip()
    assert runtime.status(cid) == "running"


def test_log_format_json_single_error_line(runtime, tmp_path):
    log = tmp_path / "log.json"
    r = runtime.cmd("state", "no-such-container-xyz", global_args=["--log", str(log), "--log-format", "json"])
    assert r.returncode != 0
    lines = [l for l in log.read_text().splitlines()]
    assert len(lines) == 1, f"expected exactly one log line, got {lines}"
    entry = json.loads(lines[0])
    assert entry["level"] == "error"
    assert "container does not exist" in entry["msg"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", entry["time"]), entry["time"]


def test_log_format_json_create_error(bundle, runtime, tmp_path):
    log = tmp_path / "create-log.json"
    with bundle.edit() as c:
        c["linux"]["namespaces"].append({"type": "foo"})
    cid = runtime.new_id()
    r = runtime.cmd(
        "create", "--bundle", str(bundle.path), cid, global_args=["--log", str(log), "--log-format", "json"]
    )
    assert r.returncode != 0
    errors = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
    errors = [e for e in errors if e.get("level") == "error"]
    assert len(errors) == 1, errors
    assert 'unknown namespace type "foo"' in errors[0]["msg"]


def test_log_text(runtime, tmp_path):
    log = tmp_path / "log.txt"
    r = runtime.cmd("state", "no-such-container-xyz", global_args=["--log", str(log)])
    assert r.returncode != 0
    assert "container does not exist" in log.read_text()


def test_systemd_cgroup_clear_error(bundle, runtime):
    cid = runtime.new_id()
    r = runtime.cmd("create", "--bundle", str(bundle.path), cid, global_args=["--systemd-cgroup"])
    assert r.returncode != 0
    assert "systemd" in r.stderr.lower(), str(r)
    assert runtime.list_ids() == []


def test_unknown_subcommand(runtime):
    r = runtime.cmd("frobnicate")
    assert r.returncode != 0
    assert "frobnicate" in r.stderr


def test_unknown_flag(runtime):
    r = runtime.cmd("create", "--no-such-flag", "x")
    assert r.returncode != 0
    assert "no-such-flag" in r.stderr


def test_create_missing_id(bundle, runtime):
    r = runtime.cmd("create", "--bundle", str(bundle.path))
    assert r.returncode != 0
    assert r.stderr.strip()


def test_missing_bundle_dir(runtime, tmp_path):
    cid = runtime.new_id()
    r = runtime.cmd("create", "--bundle", str(tmp_path / "nope"), cid)
    assert r.returncode != 0
    assert str(tmp_path / "nope") in r.stderr
    assert runtime.list_ids() == []


# --------------------------------------------------------------------------- issue 15 item 7

RUNC = "/usr/sbin/runc"


def test_log_into_missing_directory_fails(runtime, tmp_path):
    """--log into a missing directory is an error naming the file (as runc),
    not a silently dropped log."""
    log = tmp_path / "no-such-dir" / "oci.log"
    r = runtime.cmd("list", global_args=("--log", str(log)))
    assert r.returncode != 0, str(r)
    assert f"open log file {log}: No such file or directory" in r.stderr, str(r)
    if os.access(RUNC, os.X_OK):
        import subprocess
        rc = subprocess.run([RUNC, "--root", str(tmp_path / "runc-root"), "--log", str(log), "list"],
                            capture_output=True, text=True, timeout=10)
        assert rc.returncode == r.returncode, f"runc: {rc}"


def test_console_socket_without_terminal_fails(bundle, runtime, tmp_path):
    """create --console-socket with process.terminal false: a clear error,
    before anything is made (runc: "cannot use console socket if runc will
    not detach or allocate tty")."""
    with bundle.edit() as c:
        c["process"]["terminal"] = False
    assert_create_fails(runtime, bundle, "cannot use a console socket when process.terminal is false",
                        extra=("--console-socket", str(tmp_path / "none.sock")))


@pytest.mark.parametrize("field", ["hostname", "domainname"])
def test_long_hostname_refused_up_front(bundle, runtime, field):
    """A 300,000-char hostname was lost as "container init exited before it
    was ready": refused in validation (the kernel takes 64 bytes)."""
    with bundle.edit() as c:
        c[field] = "h" * 300000
    assert_create_fails(runtime, bundle, f"{field}: longer than 64 bytes (300000)")


def test_long_init_error_is_truncated_not_lost(bundle, runtime):
    """An init error longer than a sync message (a 300,000-char cwd) arrives
    cut, with a note, instead of "container init exited before it was ready"."""
    with bundle.edit() as c:
        c["process"]["cwd"] = "/" + "a" * 300000
    r = assert_create_fails(runtime, bundle, "chdir to cwd /aaaa", "bytes, truncated)")
    assert "exited before it was ready" not in r.stderr
    assert len(r.stderr) < 70000


def test_non_empty_cgroup_warns(bundle, make_extra_bundle, runtime):
    """A container whose cgroup already holds another container's processes:
    a warning, as runc 1.1 ("container's cgroup is not empty")."""
    first = runtime.new_id("first")
    path = f"/oci-it-shared-{first}"
    with bundle.edit() as c:
        c["linux"]["cgroupsPath"] = path
    bundle.set_args("sleep", "60")
    runtime.create(bundle, first)
    second_bundle = make_extra_bundle("sleep", "60")
    with second_bundle.edit() as c:
        c["linux"]["cgroupsPath"] = path
    second = runtime.new_id("second")
    r = runtime.create(second_bundle, second)
    assert "container's cgroup is not empty: 1 process(es) found" in r.stderr, str(r)
    runtime.delete(second, force=True, check=False)
    runtime.delete(first, force=True)
    # an empty cgroup: no warning
    third = runtime.new_id("third")
    r = runtime.create(second_bundle, third)
    assert "not empty" not in r.stderr, str(r)
    runtime.delete(third, force=True)
