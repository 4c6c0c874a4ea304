"""exec: a new process inside a running container."""
import json
import os
import subprocess
import socket
import threading

import pytest

from conftest import status_fields

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def running(bundle, runtime):
    """A created+started container running `sleep 1000`."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id("exec")
    runtime.create(bundle, cid)
    runtime.start(cid)
    return cid



def test_exec_output_and_exit_code(runtime, running):
    r = runtime.cmd("exec", running, "sh", "-c", "echo out; echo err >&2; exit 5")
    assert r.returncode == 5, r
    assert r.stdout == "out\n"
    assert r.stderr == "err\n"


def test_exec_user_cwd_env(runtime, running):
    # an existing cwd: exec does not create a missing one (test_exec_cwd_missing_fails)
    r = runtime.cmd("exec", "--user", "65534:65534", "--cwd", "/tmp", "-e", "A=1", "--env", "B=two",
                    running, "sh", "-c", 'id -u; id -g; pwd; echo "$A $B"')
    assert r.returncode == 0, r
    assert r.stdout.split("\n")[:4] == ["65534", "65534", "/tmp", "1 two"]


def test_exec_joins_every_namespace_and_cgroup(runtime, running):
    init = runtime.state(running)["pid"]
    r = runtime.cmd("exec", running, "sh", "-c",
                    "for n in mnt pid net ipc uts cgroup; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    for i, n in enumerate(["mnt", "pid", "net", "ipc", "uts", "cgroup"]):
        assert lines[i] == os.readlink(f"/proc/{init}/ns/{n}"), n
    with open(f"/proc/{init}/cgroup") as f:
        init_pids_line = [l for l in f.read().splitlines() if ":pids:" in l]
    # Inside a new cgroup namespace the container's cgroup shows as "/".
    assert any(":pids:/" in l for l in lines[6:]) and init_pids_line


def test_exec_process_file(runtime, running, tmp_path):
    proc = {"args": ["sh", "-c", "echo $X; id -u"], "env": ["X=from-file", "PATH=/bin"], "cwd": "/",
            "user": {"uid": 1, "gid": 1}}
    p = tmp_path / "process.json"
    p.write_text(json.dumps(proc))
    r = runtime.cmd("exec", "--process", p, running)
    assert r.returncode == 0, r
    assert r.stdout == "from-file\n1\n"


def test_exec_missing_executable(runtime, running):
    r = runtime.cmd("exec", running, "nosuchcmd")
    assert r.returncode != 0
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in r.stderr
    r = runtime.cmd("exec", running, "/bin/nope")
    assert r.returncode != 0
    assert "no such file or directory" in r.stderr


def test_exec_failure_reason_reaches_the_caller(runtime, running):
    """An executable that the kernel refuses (ENOEXEC) is reported by execve's
    own errno, from inside the container."""
    r = runtime.cmd("exec", running, "sh", "-c", "printf 'garbage' > /tmp/bad; chmod 755 /tmp/bad")
    assert r.returncode == 0, r
    r = runtime.cmd("exec", running, "/tmp/bad")
    assert r.returncode != 0
    assert "exec /tmp/bad: Exec format error" in r.stderr, r


def test_exec_detach_pid_file(runtime, running, tmp_path):
    pf = tmp_path / "exec.pid"
    r = runtime.cmd("exec", "-d", "--pid-file", pf, running, "sleep", "1000")
    assert r.returncode == 0, r
    text = pf.read_text()
    assert text.isdigit(), repr(text)
    pid = int(text)
    runtime.tracker.note_pid(pid)
    assert status_fields(open(f"/proc/{pid}/status").read())["Name"] == "sleep"
    r = runtime.cmd("ps", "--format", "json", running)
    if r.returncode == 0:  # ps arrives with the cgroup work
        assert pid in json.loads(r.stdout)


def test_exec_no_host_fd_leaks(runtime, running, tmp_path):
    leak = open(tmp_path / "leak", "w")
    try:
        r = runtime.cmd("exec", running, "ls", "/proc/self/fd", stdout=None)
        assert r.returncode == 0, r
        # 0-2 plus the directory fd ls itself opens
        assert sorted(int(x) for x in r.stdout.split()) == [0, 1, 2, 3]
    finally:
        leak.close()


def test_exec_preserve_fds(runtime, running, tmp_path):
    extra = tmp_path / "extra"
    extra.write_text("preserved-data")
    # fd 3 is passed on with --preserve-fds 1; fd 4 must not reach the container.
    script = (f'exec 3<"{extra}" 4<"{extra}"; exec "$0" --root "$1" exec --preserve-fds 1 "$2" '
              f'sh -c "cat /proc/self/fd/3; echo; ls /proc/self/fd"')
    p = subprocess.run(["bash", "-c", script, runtime.binary, str(runtime.root), running],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    assert p.returncode == 0, p
    out = p.stdout.decode().splitlines()
    assert out[0] == "preserved-data"
    # 0-3, plus the directory fd ls opens (4); a leaked fd 4 would push that to 5.
    assert out[1:] == ["0", "1", "2", "3", "4"], out


def test_exec_console_socket(runtime, running, tmp_path):
    path = str(tmp_path / "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    got = {}

    def accept():
        conn, _ = srv.accept()
        msg, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        got["name"], got["fds"] = msg, fds
        conn.close()

    t = threading.Thread(target=accept)
    t.start()
    r = runtime.cmd("exec", "-d", "-t", "--console-socket", path, running, "sh", "-c", "tty; sleep 2")
    t.join(10)
    srv.close()
    assert r.returncode == 0, r
    assert got.get("fds"), "no pty master received"
    master = got["fds"][0]
    try:
        data = b""
        import select
        while b"\n" not in data:
            ready, _, _ = select.select([master], [], [], 5)
            assert ready, f"no output on the pty, got {data!r}"
            data += os.read(master, 1024)
        assert data.startswith(b"/dev/pts/"), data
    finally:
        os.close(master)


def test_exec_into_stopped_container(bundle, runtime):
    bundle.set_args("true")
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    r = runtime.cmd("exec", cid, "true")
    assert r.returncode != 0
    assert "stopped" in r.stderr


def test_exec_unknown_container(runtime):
    r = runtime.cmd("exec", "no-such-container", "true")
    assert r.returncode != 0
    assert "container does not exist" in r.stderr


def _stat_ids(text: str) -> tuple[int, int, int]:
    """(pid, pgrp, session) from a /proc/PID/stat line."""
    rest = text[text.rfind(")") + 2 :].split()
    return int(text.split()[0]), int(rest[2]), int(rest[3])


def test_processes_lead_their_own_session(bundle, runtime):
    """Non-tty init and exec processes start a session and process group of
    their own (as runc's and crun's do). conmon's --timeout kills the
    container's process group; in the caller's group it killed conmon too."""
    bundle.set_args("sleep", "1000")
    cid = runtime.new_id("sid")
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.cmd("exec", cid, "sh", "-c",
                    'read a < /proc/1/stat; read b < /proc/$$/stat; echo "$a"; echo "$b"')
    assert r.returncode == 0, r
    init_line, exec_line = [l for l in r.stdout.splitlines() if l.strip()]
    assert _stat_ids(init_line) == (1, 1, 1), init_line
    pid, pgrp, session = _stat_ids(exec_line)
    assert pgrp == pid and session == pid, exec_line
    # and not the caller's: seen from the host, the init's session is its own pid
    host_pid = runtime.state(cid)["pid"]
    with open(f"/proc/{host_pid}/stat") as f:
        assert _stat_ids(f.read()) == (host_pid, host_pid, host_pid)


# --------------------------------------------------------------------------- process.execCPUAffinity


def _cpus_allowed(text: str) -> str:
    return status_fields(text)["Cpus_allowed_list"]


def _affinity_process(tmp_path, affinity):
    proc = {"args": ["cat", "/proc/self/status"], "env": ["PATH=/bin"], "cwd": "/",
            "execCPUAffinity": affinity}
    p = tmp_path / "process.json"
    p.write_text(json.dumps(proc))
    return p


def test_exec_cpu_affinity_final(runtime, running, tmp_path):
    """config.md execCPUAffinity.final: the exec'd process runs on those CPUs
    (seen from inside, after it joined the container's cgroup)."""
    p = _affinity_process(tmp_path, {"initial": "0", "final": "0"})
    r = runtime.cmd("exec", "--process", p, running)
    assert r.returncode == 0, r
    assert _cpus_allowed(r.stdout) == "0"


def test_exec_cpu_affinity_initial_only_leaves_the_kernel_choice(runtime, running, tmp_path):
    """Without final the runtime does not touch the mask after the cgroup join
    (runtime-spec: SHOULD NOT): the kernel decides. Since Linux 6.2 it keeps
    the mask set with sched_setaffinity (initial) within the cpuset; older
    kernels reset it to the cpuset's CPUs on the join."""
    r = runtime.cmd("exec", running, "cat", "/proc/self/status")
    assert r.returncode == 0, r
    plain = _cpus_allowed(r.stdout)
    p = _affinity_process(tmp_path, {"initial": "0"})
    r = runtime.cmd("exec", "--process", p, running)
    assert r.returncode == 0, r
    assert _cpus_allowed(r.stdout) in ("0", plain)


def test_exec_cpu_affinity_from_config_but_not_for_init(bundle, runtime):
    """execCPUAffinity in config.json: not applicable to the init (accepted,
    not applied), used by a plain `exec` (whose process starts from config.json's)."""
    with open("/proc/self/status") as f:
        ours = _cpus_allowed(f.read())
    with bundle.edit() as c:
        c["process"]["execCPUAffinity"] = {"final": "0"}
    bundle.set_args("sh", "-c", "cat /proc/self/status; exec sleep 1000")
    bundle.reset_output()
    cid = runtime.new_id("aff")
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.cmd("exec", cid, "cat", "/proc/self/status")
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    assert r.returncode == 0, r
    assert _cpus_allowed(r.stdout) == "0"
    if ours != "0":
        assert _cpus_allowed(bundle.stdout()) != "0"


@pytest.mark.parametrize("affinity,needle", [
    ({"final": "0-x"}, 'process.json: execCPUAffinity.final: "0-x" is not a CPU number or range'),
    ({"initial": "3-1"}, 'process.json: execCPUAffinity.initial: range "3-1" is reversed'),
    # well-formed but no such CPU: refused by the kernel, the child is killed
    ({"final": "8000"}, "process.execCPUAffinity.final: sched_setaffinity 8000 on pid "),
])
def test_exec_cpu_affinity_bad_list(runtime, running, tmp_path, affinity, needle):
    p = _affinity_process(tmp_path, affinity)
    r = runtime.cmd("exec", "--process", p, running)
    assert r.returncode != 0, r
    assert needle in r.stderr, r.stderr
    # nothing new left in the container: only the init (sleep) runs there
    r = runtime.cmd("exec", running, "ps", "-o", "comm")
    assert r.returncode == 0, r
    assert [l for l in r.stdout.split() if l not in ("COMMAND", "ps")] == ["sleep"], r.stdout


@pytest.mark.parametrize("flag,value,want", [
    ("--apparmor", "some-profile", "process.apparmorProfile: AppArmor is not enabled on this host"),
    ("--process-label", "system_u:system_r:container_t:s0", "process.selinuxLabel: SELinux is not enabled on this host"),
])
def test_exec_lsm_refused_without_the_lsm(runtime, running, flag, value, want):
    """This host has neither AppArmor nor SELinux: refused before anything runs."""
    if flag == "--apparmor" and os.path.exists("/sys/module/apparmor/parameters/enabled"):
        with open("/sys/module/apparmor/parameters/enabled") as f:
            if f.read().startswith("Y"):
                pytest.skip("AppArmor is enabled here")
    if flag == "--process-label" and os.path.isdir("/sys/fs/selinux/booleans"):
        pytest.skip("SELinux is enabled here")
    r = runtime.cmd("exec", flag, value, running, "true")
    assert r.returncode != 0 and want in r.stderr, r


# --------------------------------------------------------------------------- issue 15 item 7


def test_exec_cwd_missing_fails(bundle, runtime, running):
    """exec --cwd to a missing directory fails (as runc) instead of creating it
    as root before the switch to the exec user."""
    r = runtime.cmd("exec", "-u", "1000:1000", "--cwd", "/oci-it-missing/sub", running, "pwd")
    assert r.returncode != 0, f"exec into a missing cwd ran: {r}"
    assert "chdir to cwd /oci-it-missing/sub: No such file or directory" in r.stderr, str(r)
    assert not (bundle.rootfs / "oci-it-missing").exists(), "exec created the missing cwd"
    r = runtime.cmd("exec", "--cwd", "/tmp", running, "pwd")
    assert r.returncode == 0 and r.stdout.strip() == "/tmp", str(r)


@pytest.mark.parametrize("user", ["0:0", "1000:1000"])
def test_exec_cap_not_inheritable_or_ambient(runtime, running, user):
    """exec --cap X puts X in bounding, effective and permitted only (runc,
    CVE-2022-29162): never inheritable or ambient, so a non-root exec user
    does not keep it across its own execve."""
    bit = 1 << 21  # CAP_SYS_ADMIN, not in the bundle's capability sets
    r = runtime.cmd("exec", "-u", user, "--cap", "CAP_SYS_ADMIN", running, "cat", "/proc/self/status")
    assert r.returncode == 0, str(r)
    f = status_fields(r.stdout)
    assert int(f["CapInh"], 16) & bit == 0, f"CAP_SYS_ADMIN inheritable: {f['CapInh']}"
    assert int(f["CapAmb"], 16) & bit == 0, f"CAP_SYS_ADMIN ambient: {f['CapAmb']}"
    assert int(f["CapBnd"], 16) & bit, f"CAP_SYS_ADMIN not in bounding: {f['CapBnd']}"
    if user == "0:0":
        assert int(f["CapEff"], 16) & bit and int(f["CapPrm"], 16) & bit, str(f)


def test_exec_console_socket_without_tty_fails(runtime, running, tmp_path):
    """--console-socket without --tty (process.terminal false): a clear error,
    as runc's "cannot use console socket ...", not silently ignored."""
    r = runtime.cmd("exec", "--console-socket", str(tmp_path / "none.sock"), running, "true")
    assert r.returncode != 0, str(r)
    assert "cannot use a console socket when process.terminal is false" in r.stderr, str(r)
