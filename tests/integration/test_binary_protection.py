"""CVE-2019-5736 class: no process a container can reach runs from the host's
writable oci-run binary.

The container init and every exec child are clones of the oci-run process, so
their /proc/PID/exe is the file oci-run runs from. create, run and exec
therefore re-execute themselves from a read-only bind clone of the binary (or,
where that is not permitted, a sealed memfd copy); see docs/binary-protection.md.

Every test runs a COPY of the runtime binary (a failing test never corrupts the
build) and checks the copy's sha256 afterwards. The attacks, each with both
protections (`bind`: the default; `memfd`: forced by OCI_RUN_TEST_SELF_EXE):
  * exec of an image file `#!/proc/self/exe`: the container's pid 1 finds the
    process, keeps an fd on its exe and writes through it once it has exited;
  * the same interpreter as the entrypoint of a second container that joins
    the first one's pid namespace (no exec);
  * a container with CAP_SYS_PTRACE in the pid namespace of a created (not yet
    started) container opens /proc/1/exe of its waiting init, writes after start.
The interpreter line makes the evil process log to a FIFO (`--log=/tmp/fifo`),
so it waits in open() until the attacker has its fd: the attacks are
deterministic, not races.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import OCI_RUN, wait_for

METHODS = ["bind", "memfd"]

# Shell for the attacker, with fd 3 on the runtime binary: both ways busybox sh
# has to open it for writing (in subshells: a failed `exec` redirection ends
# the shell), and a write through what it got.
TRY_WRITE = r"""
try_write() {
  readlink /proc/self/fd/3 | sed 's/^/FD3 /'
  ( exec 4>>/proc/self/fd/3 && echo OPENED-FOR-WRITE append && printf 'PWNED\n' >&4 && echo WROTE append ) 2>/dev/null
  ( exec 4<>/proc/self/fd/3 && echo OPENED-FOR-WRITE rw && printf 'PWNED\n' >&4 && echo WROTE rw ) 2>/dev/null
  echo ATTACK-DONE
}
"""

# Finds the process running `/bin/evil` (the pattern is split so that this
# script's own command line does not match), keeps its exe open on fd 3 and
# lets it go by reading the FIFO it is blocked on.
FIND_EVIL = r"""
pat='/bin/e''vil'
pid=
while [ -z "$pid" ]; do
  for p in /proc/[0-9]*; do
    case "$(tr '\0' ' ' < $p/cmdline 2>/dev/null)" in *"$pat"*) pid=${p#/proc/}; break;; esac
  done
  [ -n "$pid" ] || sleep 0.02
done
exec 3< /proc/$pid/exe && echo GOT-FD
cat /tmp/fifo > /dev/null
"""

WAIT_GO = "while [ ! -e /tmp/go ]; do sleep 0.02; done\n"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class BinaryCopy(type(Path())):
    sha: str

    def assert_unchanged(self) -> None:
        assert sha256(self) == self.sha, f"the runtime binary {self} was modified"


@pytest.fixture
def binary_copy():
    """A copy of the runtime in a temp dir (readable and runnable by anyone)."""
    d = Path(tempfile.mkdtemp(prefix="oci-binprot-"))
    os.chmod(d, 0o755)
    copy = BinaryCopy(d / "oci-run")
    shutil.copy2(OCI_RUN, copy)
    os.chmod(copy, 0o755)
    copy.sha = sha256(copy)
    try:
        yield copy
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=METHODS)
def method(request, monkeypatch):
    if request.param == "memfd":
        monkeypatch.setenv("OCI_RUN_TEST_SELF_EXE", "memfd")
    else:
        monkeypatch.delenv("OCI_RUN_TEST_SELF_EXE", raising=False)
    return request.param


@pytest.fixture
def prot_runtime(runtime, binary_copy):
    """The runtime running the copy. Once an attack is through, tests go back to
    the build's binary (rt.binary = OCI_RUN): an attack that worked may have
    broken the copy."""
    runtime.binary = str(binary_copy)
    return runtime


def plant_evil(bundle) -> None:
    """/bin/evil: `#!/proc/self/exe`; its log is a FIFO, so it waits in open()."""
    evil = bundle.rootfs / "bin" / "evil"
    evil.write_text("#!/proc/self/exe --log=/tmp/fifo\n")
    evil.chmod(0o755)
    os.mkfifo(bundle.rootfs / "tmp" / "fifo", 0o600)


def runtime_is_dynamic() -> bool:
    with open(OCI_RUN, "rb") as f:
        return b"/lib64/ld-linux" in f.read(4096)  # PT_INTERP, near the start


# The sanitizer build is dynamically linked: its libraries are not in the
# busybox rootfs, so the kernel cannot run it as the interpreter there.
needs_static_runtime = pytest.mark.skipif(
    runtime_is_dynamic(), reason="runs the runtime inside a busybox container: needs the static build"
)


def check_attack(out: str, method: str, binary: BinaryCopy) -> None:
    binary.assert_unchanged()
    assert "GOT-FD" in out, f"the attack did not get going:\n{out}"
    assert "ATTACK-DONE" in out, f"the attacker did not finish:\n{out}"
    assert "WROTE" not in out, f"the attacker wrote through its fd on the runtime's exe:\n{out}"
    if method == "bind":
        # The read-only clone: not even an open for writing.
        assert "OPENED-FOR-WRITE" not in out, f"the runtime's exe could be opened for writing:\n{out}"


def use_rootfs_of(bundle, other) -> None:
    with bundle.edit() as c:
        c["root"]["path"] = str(other.rootfs)


def join_pid_ns(bundle, pid: int) -> None:
    with bundle.edit() as c:
        nss = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
        nss.append({"type": "pid", "path": f"/proc/{pid}/ns/pid"})
        c["linux"]["namespaces"] = nss


def wait_exec_of_busybox(pid: int) -> None:
    """Until the container process has exec'd its program (busybox sh)."""

    def done():
        try:
            return os.readlink(f"/proc/{pid}/exe").endswith("/bin/busybox")
        except OSError:
            return True

    wait_for(done, what=f"pid {pid} to exec its process")


# --------------------------------------------------------------------------- attacks


@needs_static_runtime
def test_exec_of_proc_self_exe_script(prot_runtime, bundle, binary_copy, method):
    """(a) `exec` of `#!/proc/self/exe`; the container's pid 1 keeps an fd on it."""
    rt = prot_runtime
    plant_evil(bundle)
    bundle.set_script(TRY_WRITE + FIND_EVIL + WAIT_GO + "try_write\n")
    cid = rt.new_id()
    rt.create(bundle, cid)
    rt.start(cid)
    r = rt.cmd("exec", cid, "/bin/evil", timeout=20)  # returns once the attacker freed it
    (bundle.rootfs / "tmp" / "go").touch()
    rt.binary = OCI_RUN
    rt.wait_status(cid, "stopped", timeout=20)
    rt.delete(cid)
    check_attack(bundle.stdout(), method, binary_copy)
    assert r.returncode != 0  # evil is oci-run with an unknown command


@needs_static_runtime
def test_second_container_in_pid_ns_with_evil_entrypoint(prot_runtime, bundle, make_extra_bundle, binary_copy, method):
    """(b) No exec: a second container joins the first one's pid namespace,
    entrypoint /bin/evil."""
    rt = prot_runtime
    plant_evil(bundle)
    bundle.set_script(TRY_WRITE + FIND_EVIL + WAIT_GO + "try_write\n")
    c1 = rt.new_id("attacker")
    rt.create(bundle, c1)
    rt.start(c1)
    pid1 = rt.state(c1)["pid"]

    evil = make_extra_bundle("/bin/evil")
    use_rootfs_of(evil, bundle)
    join_pid_ns(evil, pid1)
    c2 = rt.new_id("evil")
    rt.create(evil, c2)
    rt.start(c2)
    rt.wait_status(c2, "stopped", timeout=20)
    (bundle.rootfs / "tmp" / "go").touch()
    rt.binary = OCI_RUN
    rt.wait_status(c1, "stopped", timeout=20)
    rt.delete(c2)
    rt.delete(c1)
    check_attack(bundle.stdout(), method, binary_copy)


def test_ptrace_capable_container_opens_waiting_init(prot_runtime, bundle, make_extra_bundle, binary_copy, method):
    """(c) A container with CAP_SYS_PTRACE in the pid namespace of a created
    container opens /proc/1/exe of its waiting init, and writes after start."""
    rt = prot_runtime
    bundle.set_script("while [ ! -e /tmp/done ]; do sleep 0.05; done")
    target = rt.new_id("target")
    rt.create(bundle, target)
    tpid = rt.state(target)["pid"]

    attacker = make_extra_bundle()
    use_rootfs_of(attacker, bundle)
    join_pid_ns(attacker, tpid)
    attacker.set_script(TRY_WRITE + "exec 3< /proc/1/exe && echo GOT-FD\ntouch /tmp/got\n" + WAIT_GO + "try_write\n")
    with attacker.edit() as c:
        for k in ("bounding", "effective", "permitted"):
            c["process"]["capabilities"].setdefault(k, []).append("CAP_SYS_PTRACE")
    a = rt.new_id("attacker")
    rt.create(attacker, a)
    rt.start(a)
    wait_for(lambda: (bundle.rootfs / "tmp" / "got").exists() or rt.status(a) == "stopped", what="the attacker's fd")
    rt.start(target)
    wait_exec_of_busybox(tpid)
    (bundle.rootfs / "tmp" / "go").touch()
    rt.binary = OCI_RUN
    rt.wait_status(a, "stopped", timeout=20)
    (bundle.rootfs / "tmp" / "done").touch()
    rt.wait_status(target, "stopped", timeout=20)
    rt.delete(a)
    rt.delete(target)
    check_attack(attacker.stdout(), method, binary_copy)


# --------------------------------------------------------------------------- the mechanism


@contextlib.contextmanager
def blocked_runtime(argv_tail, binary: Path, user: str | None = None, extra_fds=()):
    """Runs `binary --log=FIFO ARGV_TAIL...` and yields (pid, argv, env) while it
    waits in open() of its log FIFO (after any re-execution, before anything else)."""
    d = Path(tempfile.mkdtemp(prefix="oci-binprot-fifo-"))
    os.chmod(d, 0o755)
    fifo = d / "log"
    os.mkfifo(fifo, 0o666)
    os.chmod(fifo, 0o666)
    argv = [str(binary), "--root", str(d / "state"), f"--log={fifo}", *argv_tail]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "OCI_RUN_TEST_SELF_EXE")}
    env["BINPROT_MARK"] = "1"
    pre = []
    if user:
        pre = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--"]
        env["HOME"] = "/"
    p = subprocess.Popen(
        pre + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, pass_fds=extra_fds,
    )
    try:
        # setpriv execs the runtime: wait until the pid runs it and is blocked.
        def in_openat():
            try:
                cmd = Path(f"/proc/{p.pid}/cmdline").read_bytes().split(b"\0")[:-1]
                call = Path(f"/proc/{p.pid}/syscall").read_text()
            except OSError:
                return False
            return cmd == [a.encode() for a in argv] and call.startswith("257 ")  # openat

        def blocked():
            if not in_openat():
                return False
            time.sleep(0.05)
            return in_openat()

        wait_for(blocked, what="the runtime to block on its log FIFO")
        yield p.pid, argv, env
    finally:
        with contextlib.suppress(OSError):
            with open(fifo, "rb", buffering=0) as f:  # let it go
                f.read()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(d, ignore_errors=True)


def environ_of(pid: int) -> dict:
    env = {}
    for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if b"=" in item:
            k, v = item.split(b"=", 1)
            env[k.decode()] = v.decode()
    return env


def fds_of(pid: int) -> set[int]:
    return {int(n) for n in os.listdir(f"/proc/{pid}/fd")}


def assert_not_writable(pid: int) -> None:
    with pytest.raises(OSError) as e:
        os.open(f"/proc/{pid}/exe", os.O_WRONLY | os.O_APPEND)
    assert e.value.errno in (errno.EROFS, errno.EPERM, errno.ETXTBSY), e.value


@pytest.mark.parametrize("cmd", ["create", "run", "exec"])
def test_spawning_commands_run_from_a_read_only_clone(binary_copy, cmd, monkeypatch):
    monkeypatch.delenv("OCI_RUN_TEST_SELF_EXE", raising=False)
    r, w = os.pipe()
    try:
        os.set_inheritable(w, True)
        with blocked_runtime([cmd, "x"], binary_copy, extra_fds=(w,)) as (pid, argv, env):
            assert os.stat(f"/proc/{pid}/exe").st_ino == os.stat(binary_copy).st_ino  # the same file...
            assert os.statvfs(f"/proc/{pid}/exe").f_flag & os.ST_RDONLY  # ...on a read-only mount
            assert_not_writable(pid)
            # Same argv, environment and inherited fds; nothing of the runtime's own.
            assert fds_of(pid) == {0, 1, 2, w}
            got = environ_of(pid)
            got.pop("_OCI_RUN_SELF_EXE_REEXEC", None)
            assert got == env
            # The clone is detached: in no mount table.
            assert str(binary_copy.parent) not in Path(f"/proc/{pid}/mountinfo").read_text()
    finally:
        os.close(r)
        os.close(w)


def test_memfd_copy_is_sealed(binary_copy, monkeypatch):
    monkeypatch.setenv("OCI_RUN_TEST_SELF_EXE", "memfd")
    with blocked_runtime(["run", "x"], binary_copy) as (pid, argv, env):
        assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:oci-run")
        assert os.stat(f"/proc/{pid}/exe").st_ino != os.stat(binary_copy).st_ino
        assert fds_of(pid) == {0, 1, 2}
        # A write-open of a sealed memfd may succeed; no write does.
        try:
            fd = os.open(f"/proc/{pid}/exe", os.O_WRONLY | os.O_APPEND)
        except OSError as e:
            assert e.errno in (errno.EPERM, errno.ETXTBSY, errno.EACCES), e
        else:
            try:
                with pytest.raises(OSError) as e:
                    os.write(fd, b"PWNED")
                assert e.value.errno == errno.EPERM
            finally:
                os.close(fd)


def test_other_commands_are_not_re_executed(binary_copy, monkeypatch):
    monkeypatch.delenv("OCI_RUN_TEST_SELF_EXE", raising=False)
    with blocked_runtime(["state", "x"], binary_copy) as (pid, argv, env):
        assert os.readlink(f"/proc/{pid}/exe") == str(binary_copy)


def test_unprivileged_user_gets_a_sealed_memfd_copy(binary_copy, monkeypatch):
    """Rootless: open_tree(OPEN_TREE_CLONE) needs CAP_SYS_ADMIN, so the copy is a memfd."""
    monkeypatch.delenv("OCI_RUN_TEST_SELF_EXE", raising=False)
    nobody = pwd.getpwnam("nobody").pw_uid
    with blocked_runtime(["run", "x"], binary_copy, user=str(nobody)) as (pid, argv, env):
        assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:oci-run")
        assert fds_of(pid) == {0, 1, 2}
        with open(f"/proc/{pid}/status") as f:
            assert any(l.split()[1:2] == [str(nobody)] for l in f if l.startswith("Uid:"))


def test_binary_on_a_read_only_mount_is_run_as_is(binary_copy, monkeypatch):
    """Already protected (the cheap deployment in docs/binary-protection.md): no re-execution."""
    monkeypatch.delenv("OCI_RUN_TEST_SELF_EXE", raising=False)
    subprocess.run(["mount", "--bind", str(binary_copy), str(binary_copy)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(binary_copy)], check=True)
        with blocked_runtime(["run", "x"], binary_copy) as (pid, argv, env):
            assert os.readlink(f"/proc/{pid}/exe") == str(binary_copy)
            assert "_OCI_RUN_SELF_EXE_REEXEC" not in environ_of(pid)
            assert_not_writable(pid)
    finally:
        subprocess.run(["umount", str(binary_copy)], check=True)
