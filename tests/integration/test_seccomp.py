"""linux.seccomp: errno/kill/log/trap actions, argument filters, allow lists,
no_new_privs true and false, SCMP_ACT_NOTIFY with an agent on listenerPath,
exec, config errors and the features document."""

import array
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import select
import socket
import threading
import time

import pytest

SIGSYS = 31
PER_LINUX32 = 0x0008


def set_seccomp(bundle, seccomp, nnp=True, args=None):
    with bundle.edit() as c:
        c["linux"]["seccomp"] = seccomp
        c["process"]["noNewPrivileges"] = nnp
        if args is not None:
            c["process"]["args"] = list(args)


def deny(names, action="SCMP_ACT_ERRNO", errno_ret=None, args=None):
    rule = {"names": list(names), "action": action}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    if args:
        rule["args"] = args
    return rule


def allow_all(*rules, **extra):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **extra}


def run_script(runtime, bundle, script, timeout=10.0):
    """run in the foreground; return (exit code, stdout, stderr)."""
    bundle.set_script(script)
    bundle.reset_output()
    r = runtime.run(bundle, runtime.new_id(), timeout=timeout)
    return r.returncode, bundle.stdout(), bundle.stderr()


# ----------------------------------------------------------------------------- actions


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_errno_rule_with_chosen_errno(bundle, runtime, nnp):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], errno_ret=errno.ENOSYS)), nnp=nnp)
    rc, out, err = run_script(
        runtime, bundle, "mkdir /tmp/denied; echo mkdir=$?; echo hi > /tmp/file && cat /tmp/file; ls -d /tmp"
    )
    assert rc == 0, err
    assert out.splitlines() == ["mkdir=1", "hi", "/tmp"], out
    assert "Function not implemented" in err, err
    assert not (bundle.rootfs / "tmp" / "denied").exists()


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_default_errno_is_eperm(bundle, runtime, nnp):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"])), nnp=nnp)
    rc, out, err = run_script(runtime, bundle, "mkdir /tmp/denied; echo mkdir=$?")
    assert rc == 0 and out == "mkdir=1\n", (out, err)
    assert "Operation not permitted" in err, err


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"])
def test_kill_actions_end_the_process_with_sigsys(bundle, runtime, action):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], action=action)), args=["mkdir", "/tmp/x"])
    r = runtime.run(bundle, runtime.new_id())
    assert r.returncode == 128 + SIGSYS, f"{r}\nstderr: {bundle.stderr()!r}"
    assert not (bundle.rootfs / "tmp" / "x").exists()


def test_kill_in_a_child_leaves_the_shell_running(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], action="SCMP_ACT_KILL_PROCESS")))
    rc, out, _ = run_script(runtime, bundle, "mkdir /tmp/x; echo status=$?")
    assert rc == 0 and out == f"status={128 + SIGSYS}\n", out


def test_log_action_lets_the_call_through(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], action="SCMP_ACT_LOG")))
    rc, out, err = run_script(runtime, bundle, "mkdir /tmp/logged && echo made")
    assert rc == 0 and out == "made\n", err
    assert (bundle.rootfs / "tmp" / "logged").is_dir()


def test_flags_are_accepted(bundle, runtime):
    """Every flag this kernel knows (WAIT_KILLABLE_RECV without a listener is
    meaningless and dropped)."""
    features = json.loads(runtime.cmd("features").stdout)["linux"]["seccomp"]
    flags = features["supportedFlags"]
    assert "SECCOMP_FILTER_FLAG_TSYNC" in flags
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], errno_ret=errno.EACCES), flags=flags))
    rc, out, err = run_script(runtime, bundle, "mkdir /tmp/x; echo mkdir=$?")
    assert rc == 0 and out == "mkdir=1\n", err
    assert "Permission denied" in err


# ----------------------------------------------------------------------------- arguments


def test_arg_filter_equal(bundle, runtime):
    """personality(PER_LINUX32) is refused, personality(PER_LINUX) is not."""
    set_seccomp(bundle, allow_all(deny(["personality"], args=[{"index": 0, "value": PER_LINUX32, "op": "SCMP_CMP_EQ"}])))
    rc, out, err = run_script(runtime, bundle, "linux32 true; echo l32=$?; linux64 true; echo l64=$?")
    assert rc == 0, err
    assert out.splitlines() == ["l32=1", "l64=0"], (out, err)
    assert "Operation not permitted" in err


def test_arg_filter_masked_eq(bundle, runtime):
    # (arg0 & 0xff) == 8: PER_LINUX32 only.
    set_seccomp(
        bundle,
        allow_all(deny(["personality"], args=[{"index": 0, "value": 0xFF, "valueTwo": PER_LINUX32, "op": "SCMP_CMP_MASKED_EQ"}])),
    )
    rc, out, err = run_script(runtime, bundle, "linux32 true; echo l32=$?; linux64 true; echo l64=$?")
    assert out.splitlines() == ["l32=1", "l64=0"], (out, err)


def test_same_index_args_are_ored(bundle, runtime):
    set_seccomp(
        bundle,
        allow_all(
            deny(
                ["personality"],
                args=[
                    {"index": 0, "value": PER_LINUX32, "op": "SCMP_CMP_EQ"},
                    {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
                ],
            )
        ),
    )
    rc, out, err = run_script(runtime, bundle, "linux32 true; echo l32=$?; linux64 true; echo l64=$?; echo done")
    assert out.splitlines() == ["l32=1", "l64=1", "done"], (out, err)


def test_distinct_index_args_are_anded(bundle, runtime):
    """kill(pid, SIGUSR1) refused only for the one pid named in arg0."""
    set_seccomp(
        bundle,
        allow_all(
            deny(
                ["kill"],
                args=[
                    {"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},  # the container's init (sh)
                    {"index": 1, "value": 10, "op": "SCMP_CMP_EQ"},  # SIGUSR1
                ],
            )
        ),
    )
    script = (
        "trap 'echo got-usr1' USR1; "
        "kill -USR1 1; echo to-init=$?; "
        "sleep 5 & kill -USR1 $!; echo to-child=$?; wait $! ; "
        "kill -0 1; echo probe=$?"
    )
    rc, out, err = run_script(runtime, bundle, script)
    lines = out.splitlines()
    assert "to-init=1" in lines and "to-child=0" in lines and "probe=0" in lines, (out, err)
    assert "got-usr1" not in lines


# ----------------------------------------------------------------------------- allow lists


# What the init itself calls between loading a no_new_privs filter and execve:
# the filter is loaded before `start` (as runc does, so startContainer hooks
# run under it): signal setup, the ready message, closing the sync socket,
# the exec fifo read, the error report.
RUNTIME_AFTER_FILTER = ["rt_sigaction", "rt_sigprocmask", "sendto", "close", "read", "write"]

BUSYBOX_TRUE = [
    "execve", "arch_prctl", "brk", "mmap", "munmap", "mprotect", "readlink", "getrandom", "getuid",
    "geteuid", "prctl", "prlimit64", "rseq", "set_robust_list", "set_tid_address", "exit_group", "exit",
    "uname", *RUNTIME_AFTER_FILTER,
]


def test_default_errno_with_an_allow_list_runs_true(bundle, runtime):
    set_seccomp(
        bundle,
        {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": errno.ENOSYS,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": BUSYBOX_TRUE, "action": "SCMP_ACT_ALLOW"}],
        },
        nnp=True,
        args=["true"],
    )
    r = runtime.run(bundle, runtime.new_id())
    assert r.returncode == 0, f"{r}\nstderr: {bundle.stderr()!r}"
    # Something outside the list fails: `cat` needs openat(2).
    bundle.reset_output()
    bundle.set_args("cat", "/etc/passwd")
    r = runtime.run(bundle, runtime.new_id())
    assert bundle.stdout() == "", bundle.stdout()


def test_allow_list_without_execve_fails_start(bundle, runtime):
    """With no_new_privs the filter is in force for the runtime's execve. (write
    is allowed so that the error can reach `start` through the exec fifo.)"""
    set_seccomp(
        bundle,
        {"defaultAction": "SCMP_ACT_ERRNO",
         "syscalls": [{"names": ["exit_group", *RUNTIME_AFTER_FILTER], "action": "SCMP_ACT_ALLOW"}]},
        nnp=True,
        args=["true"],
    )
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    r = runtime.start(cid, check=False)
    assert r.returncode != 0
    assert "Operation not permitted" in r.stderr, r
    runtime.delete(cid, force=True)


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_profile_denying_getcwd_still_starts(bundle, runtime, nnp):
    with bundle.edit() as c:
        c["process"]["cwd"] = "/tmp/work"
    set_seccomp(bundle, allow_all(deny(["getcwd"])), nnp=nnp)
    rc, out, err = run_script(runtime, bundle, "echo started; /bin/pwd; echo pwd=$?")
    assert rc == 0, err
    assert out.splitlines()[0] == "started" and "pwd=1" in out.splitlines(), (out, err)


def test_unknown_syscall_names_are_ignored(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["no_such_syscall_at_all", "mkdir", "mkdirat"], errno_ret=errno.ENOSYS)))
    rc, out, err = run_script(runtime, bundle, "mkdir /tmp/x; echo mkdir=$?")
    assert rc == 0 and out == "mkdir=1\n", err
    r = runtime.cmd("--debug", "features")  # smoke: --debug does not break anything
    assert r.returncode == 0


def test_unknown_syscall_is_logged_with_debug(bundle, runtime, tmp_path):
    set_seccomp(bundle, allow_all(deny(["no_such_syscall_at_all"])))
    log = tmp_path / "debug.log"
    cid = runtime.new_id()
    r = runtime.cmd("create", "--bundle", bundle.path, cid, global_args=["--debug", "--log", log])
    assert r.returncode == 0, r
    runtime.delete(cid, force=True)
    assert "no_such_syscall_at_all" in log.read_text()


# ----------------------------------------------------------------------------- exec


def test_exec_is_filtered_too(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["mkdir", "mkdirat"], errno_ret=errno.ENOSYS)), args=["sleep", "1000"])
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    r = runtime.cmd("exec", cid, "sh", "-c", "mkdir /tmp/from-exec; echo mkdir=$?")
    assert r.returncode == 0 and r.stdout == "mkdir=1\n", r
    assert "Function not implemented" in r.stderr
    r = runtime.cmd("exec", "--no-new-privs", cid, "mkdir", "/tmp/from-exec-nnp")
    assert r.returncode != 0 and "Function not implemented" in r.stderr, r
    r = runtime.cmd("exec", cid, "cat", "/proc/self/status")
    fields = dict(l.split(":", 1) for l in r.stdout.splitlines() if ":" in l)
    assert fields["Seccomp"].strip() == "2", r.stdout
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)


def test_container_is_in_seccomp_filter_mode(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["mkdir"])))
    rc, out, _ = run_script(runtime, bundle, "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status")
    assert rc == 0
    fields = dict(l.split(":\t") for l in out.splitlines())
    assert fields == {"Seccomp": "2", "NoNewPrivs": "1"}, out


def test_no_seccomp_without_the_section(bundle, runtime):
    rc, out, _ = run_script(runtime, bundle, "grep '^Seccomp:' /proc/self/status")
    assert out.split() == ["Seccomp:", "0"]


# ----------------------------------------------------------------------------- config errors


def _create_fails(runtime, bundle, *words):
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0, r
    for w in words:
        assert w in r.stderr, r
    assert cid not in runtime.list_ids()
    return r


def test_unsupported_architecture_is_named(bundle, runtime):
    set_seccomp(bundle, allow_all(architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]))
    _create_fails(runtime, bundle, "linux.seccomp.architectures[1]", "SCMP_ARCH_VAX")


def test_notify_without_listener_path_fails_create(bundle, runtime):
    set_seccomp(bundle, allow_all(deny(["mkdir"], action="SCMP_ACT_NOTIFY")))
    _create_fails(runtime, bundle, "listenerPath", "SCMP_ACT_NOTIFY")


def test_listener_not_listening_fails_create(bundle, runtime, tmp_path):
    set_seccomp(bundle, allow_all(deny(["mkdir"], action="SCMP_ACT_NOTIFY"), listenerPath=str(tmp_path / "nobody.sock")))
    _create_fails(runtime, bundle, "seccomp listener", "nobody.sock")


def test_features_seccomp_section(runtime):
    r = runtime.cmd("features")
    assert r.returncode == 0, r
    s = json.loads(r.stdout)["linux"]["seccomp"]
    assert s["enabled"] is True
    for a in ("SCMP_ACT_ERRNO", "SCMP_ACT_ALLOW", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY"):
        assert a in s["actions"]
    assert sorted(s["operators"]) == sorted(
        ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]
    )
    if os.uname().machine == "x86_64":
        assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"} <= set(s["archs"])
    assert set(s["knownFlags"]) == {
        "SECCOMP_FILTER_FLAG_TSYNC",
        "SECCOMP_FILTER_FLAG_LOG",
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    }
    assert set(s["supportedFlags"]) <= set(s["knownFlags"])


# ----------------------------------------------------------------------------- SCMP_ACT_NOTIFY


class SeccompData(ctypes.Structure):
    _fields_ = [
        ("nr", ctypes.c_int32),
        ("arch", ctypes.c_uint32),
        ("instruction_pointer", ctypes.c_uint64),
        ("args", ctypes.c_uint64 * 6),
    ]


class SeccompNotif(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("pid", ctypes.c_uint32), ("flags", ctypes.c_uint32), ("data", SeccompData)]


class SeccompNotifResp(ctypes.Structure):
    _fields_ = [("id", ctypes.c_uint64), ("val", ctypes.c_int64), ("error", ctypes.c_int32), ("flags", ctypes.c_uint32)]


def _iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord("!") << 8) | nr


SECCOMP_IOCTL_NOTIF_RECV = _iowr(0, ctypes.sizeof(SeccompNotif))
SECCOMP_IOCTL_NOTIF_SEND = _iowr(1, ctypes.sizeof(SeccompNotifResp))
assert ctypes.sizeof(SeccompNotif) == 80 and ctypes.sizeof(SeccompNotifResp) == 24


class Agent:
    """A seccomp agent on a unix socket: takes each (fd, state) message and
    answers every notification with (val, error). Bounded: every wait times out."""

    def __init__(self, path, val=0, error=0, timeout=20.0):
        self.path = str(path)
        self.val, self.error = val, error
        self.deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.messages = []  # parsed JSON payloads
        self.fd_ok = []  # the fd that came with each message is a seccomp listener
        self.notified = []  # syscall numbers answered
        self.errors = []
        self.stop = threading.Event()
        self.fds = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _accept(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(5)
            fds = array.array("i")
            data = b""
            while True:  # one message, ended by EOF
                msg, anc, _flags, _addr = conn.recvmsg(65536, socket.CMSG_SPACE(4 * fds.itemsize))
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
                if not msg:
                    break
                data += msg
            self.messages.append(json.loads(data))
            for fd in fds:
                self.fd_ok.append(os.readlink(f"/proc/self/fd/{fd}") == "anon_inode:seccomp notify")
                self.fds.append(fd)

    def _answer(self, fd):
        req = SeccompNotif()
        fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req, True)
        self.notified.append(req.data.nr)
        resp = SeccompNotifResp(id=req.id, val=self.val, error=self.error, flags=0)
        with contextlib.suppress(FileNotFoundError):  # ENOENT: the caller died meanwhile
            fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp, True)

    def _run(self):
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                poller = select.poll()
                poller.register(self.sock.fileno(), select.POLLIN)
                for fd in self.fds:
                    poller.register(fd, select.POLLIN)
                for fd, ev in poller.poll(100):
                    if fd == self.sock.fileno():
                        self._accept()
                    elif ev & select.POLLIN:
                        self._answer(fd)
                    elif ev & (select.POLLHUP | select.POLLERR):
                        # the filter has no users left
                        self.fds.remove(fd)
                        os.close(fd)
        except Exception as e:  # reported by close()
            self.errors.append(repr(e))

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.sock.close()
        assert not self.errors, self.errors


@pytest.fixture
def agent_path(tmp_path):
    return tmp_path / "agent.sock"


def _notify_profile(path, metadata="agent-metadata"):
    return allow_all(
        deny(["mkdir", "mkdirat"], action="SCMP_ACT_NOTIFY"),
        listenerPath=str(path),
        listenerMetadata=metadata,
    )


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_notify_agent_fakes_success(bundle, runtime, agent_path, nnp):
    agent = Agent(agent_path, val=0, error=0)
    try:
        set_seccomp(bundle, _notify_profile(agent_path), nnp=nnp)
        bundle.set_script("mkdir /tmp/faked; echo mkdir=$?; test -d /tmp/faked; echo exists=$?")
        with bundle.edit() as c:
            c["annotations"] = {"org.example.test": "seccomp"}
        cid = runtime.new_id()
        bundle.reset_output()
        runtime.create(bundle, cid)
        pid = runtime.state(cid)["pid"]
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
    finally:
        agent.close()
    assert bundle.stdout().splitlines() == ["mkdir=0", "exists=1"], bundle.stderr()
    assert len(agent.messages) == 1 and agent.fd_ok == [True]
    m = agent.messages[0]
    assert m["fds"] == ["seccompFd"]
    assert m["pid"] == pid
    assert m["metadata"] == "agent-metadata"
    assert m["ociVersion"].startswith("1.")
    st = m["state"]
    assert st["id"] == cid and st["pid"] == pid and st["status"] == "creating"
    assert st["bundle"] == str(bundle.path)
    assert st["annotations"] == {"org.example.test": "seccomp"}
    assert agent.notified, "the agent never saw a notification"


def test_notify_agent_returns_an_errno(bundle, runtime, agent_path):
    agent = Agent(agent_path, val=0, error=-errno.EPERM)
    try:
        set_seccomp(bundle, _notify_profile(agent_path))
        rc, out, err = run_script(runtime, bundle, "mkdir /tmp/refused; echo mkdir=$?; echo ok > /tmp/f; cat /tmp/f")
    finally:
        agent.close()
    assert rc == 0 and out.splitlines() == ["mkdir=1", "ok"], (out, err)
    assert "Operation not permitted" in err
    assert not (bundle.rootfs / "tmp" / "refused").exists()


@pytest.mark.parametrize("join_net", [False, True], ids=["clone", "unshare-fork"])
def test_notify_in_a_new_user_namespace(bundle, runtime, agent_path, join_net):
    """The pid sent to the agent is the host pid, also when the init forks into
    the pid namespace after unsharing the user namespace (a joined namespace
    makes the plan take that path)."""
    agent = Agent(agent_path, val=0, error=-errno.EACCES)
    try:
        with bundle.edit() as c:
            ns = [n for n in c["linux"]["namespaces"] if n["type"] not in ("user", "network")]
            ns.append({"type": "user"})
            if join_net:
                ns.append({"type": "network", "path": f"/proc/{os.getpid()}/ns/net"})
                # sysfs needs the network namespace to belong to the user namespace
                c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys"]
            else:
                ns.append({"type": "network"})
            c["linux"]["namespaces"] = ns
            c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
            c["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]
        set_seccomp(bundle, _notify_profile(agent_path))
        bundle.set_script("mkdir /tmp/x; echo mkdir=$?; echo pid=$$")
        cid = runtime.new_id()
        bundle.reset_output()
        runtime.create(bundle, cid)
        pid = runtime.state(cid)["pid"]
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
    finally:
        agent.close()
    assert bundle.stdout() == "mkdir=1\npid=1\n", bundle.stderr()
    assert [m["pid"] for m in agent.messages] == [pid]
    assert [m["state"]["pid"] for m in agent.messages] == [pid]


def test_notify_with_every_flag(bundle, runtime, agent_path):
    """TSYNC with a listener needs TSYNC_ESRCH; WAIT_KILLABLE_RECV needs the
    listener (flags the runtime passes to seccomp(2) itself)."""
    flags = json.loads(runtime.cmd("features").stdout)["linux"]["seccomp"]["supportedFlags"]
    if os.uname().release.split(".")[:2] >= ["5", "19"]:
        assert "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" in flags
    agent = Agent(agent_path, val=0, error=-errno.EPERM)
    try:
        profile = _notify_profile(agent_path)
        profile["flags"] = flags
        set_seccomp(bundle, profile)
        rc, out, err = run_script(runtime, bundle, "mkdir /tmp/refused; echo mkdir=$?")
    finally:
        agent.close()
    assert rc == 0 and out == "mkdir=1\n", (out, err)
    assert agent.notified


def test_notify_for_exec(bundle, runtime, agent_path):
    agent = Agent(agent_path, val=0, error=-errno.EROFS)
    try:
        set_seccomp(bundle, _notify_profile(agent_path), args=["sleep", "1000"])
        cid = runtime.new_id()
        runtime.create(bundle, cid)
        runtime.start(cid)
        r = runtime.cmd("exec", cid, "sh", "-c", "mkdir /tmp/e; echo mkdir=$?")
        runtime.kill(cid, "KILL")
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
    finally:
        agent.close()
    assert r.stdout == "mkdir=1\n" and "Read-only file system" in r.stderr, r
    assert len(agent.messages) == 2 and agent.fd_ok == [True, True]
    exec_msg = agent.messages[1]
    assert exec_msg["state"]["status"] == "running"
    assert exec_msg["state"]["id"] == cid
    assert exec_msg["pid"] != exec_msg["state"]["pid"]


# ----------------------------------------------------------------------------- default profile


def test_default_profile_from_spec_blocks_mount_and_namespaces(bundle, runtime, tmp_path):
    """`oci-run spec --seccomp`: with CAP_SYS_ADMIN granted, mount and unshare
    still fail (the filter, not the capabilities); ordinary work, forks and
    pipes keep working."""
    gen = tmp_path / "gen"
    gen.mkdir()
    r = runtime.cmd("spec", "--seccomp", "-b", gen)
    assert r.returncode == 0, r
    profile = json.loads((gen / "config.json").read_text())["linux"]["seccomp"]
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    with bundle.edit() as c:
        for k in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"][k] = sorted(set(c["process"]["capabilities"].get(k, [])) | {"CAP_SYS_ADMIN"})
    script = ("grep CapEff /proc/self/status; unshare -n true; echo unshare=$?; mkdir -p /tmp/m; "
              "mount -t tmpfs t /tmp/m; echo mount=$?; echo data | cat > /tmp/f; cat /tmp/f; "
              "(echo sub) | tr a-z A-Z")
    # Control: without the profile both calls work with these capabilities.
    rc, out, err = run_script(runtime, bundle, script)
    assert rc == 0 and out.splitlines()[1:] == ["unshare=0", "mount=0", "data", "SUB"], (out, err)
    assert int(out.split()[1], 16) & (1 << 21), "CAP_SYS_ADMIN not granted"
    set_seccomp(bundle, profile)
    rc, out, err = run_script(runtime, bundle, script)
    assert rc == 0, err
    assert out.splitlines()[1:] == ["unshare=1", "mount=1", "data", "SUB"], (out, err)
    assert "unshare(0x40000000): Operation not permitted" in err, err
    assert "mount: permission denied" in err, err


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_profile_denying_close_range_still_runs_and_execs(bundle, runtime, nnp):
    """Profiles written before close_range(2) existed deny it (the runtime-tools
    default profile does); the runtime must not need it once the filter is in."""
    set_seccomp(bundle, allow_all(deny(["close_range"])), nnp=nnp, args=["sleep", "1000"])
    cid = runtime.new_id()
    runtime.create(bundle, cid)
    runtime.start(cid)
    assert runtime.status(cid) == "running"
    r = runtime.cmd("exec", cid, "echo", "from-exec")
    assert r.returncode == 0 and r.stdout == "from-exec\n", r
    runtime.kill(cid, "KILL")
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
