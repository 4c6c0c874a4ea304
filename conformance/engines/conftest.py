"""Fixtures for the end-to-end engine suites: podman (through conmon) and
containerd (through containerd-shim-runc-v2, driven by ctr) with oci-run as
their runtime.

Nothing here touches /etc: podman gets its own containers.conf and
storage.conf (CONTAINERS_CONF / CONTAINERS_STORAGE_CONF), containerd is a
daemon of our own with its own config.toml and socket under the work
directory. The busybox image is built locally from busybox-static; no
registry and no network are ever used (every podman container gets
--network none, every pod too).

Cleanup happens in the session fixtures' teardown, even when tests fail:
containers, pods, images, podman storage, the containerd namespace, the
daemon (by pid), shims that outlived it (by pid), the cgroups and /run
entries the suite caused, and the work directory. Then the teardown asserts
that oci-run left nothing behind for any container the suite created: no
state directory, no container cgroup, no mount, no process.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OCI_RUN = os.path.abspath(os.environ.get("OCI_RUN", str(REPO / "build" / "oci-run")))
# podman calls the runtime without --root, so it uses oci-run's default root.
OCI_RUN_DEFAULT_ROOT = Path("/run/oci-run")
CGROUP_ROOT = Path("/sys/fs/cgroup")
BUSYBOX = Path("/bin/busybox")
IMAGE = "localhost/busybox:test"

CMD_TIMEOUT = 120  # hang guard for one engine command, not an assertion on speed
SKIP_EXIT = 77  # ctest SKIP_RETURN_CODE when the machine cannot run the suite

TOOLS = ("podman", "conmon", "containerd", "ctr", "containerd-shim-runc-v2", "tmux", "script")
APPLETS = (
    "sh true false echo sleep cat ls id hostname ip ps kill env grep head tail wc "
    "stty tty mkdir test printf pwd trap"
).split()


def _missing() -> list[str]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not BUSYBOX.is_file():
        missing.append(str(BUSYBOX) + " (busybox-static)")
    if not (os.path.isfile(OCI_RUN) and os.access(OCI_RUN, os.X_OK)):
        missing.append(f"OCI_RUN={OCI_RUN}")
    if os.geteuid() != 0:
        missing.append("root")
    return missing


MISSING = _missing()


def pytest_collection_modifyitems(config, items):
    if MISSING:
        mark = pytest.mark.skip(reason="engine suite needs: " + ", ".join(MISSING))
        for item in items:
            item.add_marker(mark)


def pytest_sessionfinish(session, exitstatus):
    # Report "skipped" to ctest rather than a silent pass.
    if MISSING and exitstatus in (0, 5):
        session.exitstatus = SKIP_EXIT


# --------------------------------------------------------------------------- helpers


class Result(subprocess.CompletedProcess):
    def __str__(self):
        return (
            f"$ {shlex.join(map(str, self.args))}\n"
            f"exit={self.returncode}\nstdout={self.stdout!r}\nstderr={self.stderr!r}"
        )


def run(argv, *, env=None, check=True, timeout=CMD_TIMEOUT, input=None, cwd=None) -> Result:
    argv = [str(a) for a in argv]
    try:
        p = subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"command hung for {timeout}s: {shlex.join(argv)}\n"
                    f"stdout={e.stdout!r}\nstderr={e.stderr!r}")
    r = Result(p.args, p.returncode, p.stdout, p.stderr)
    if check and r.returncode != 0:
        pytest.fail(f"command failed:\n{r}", pytrace=False)
    return r


def wait_for(pred, timeout=30.0, interval=0.1, what="condition"):
    """Poll pred() until it is truthy. The timeout only guards against hangs."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def read_oom_event(events: subprocess.Popen, timeout: float = 30.0) -> dict | None:
    """The first {"type": "oom"} line that `oci-run events` prints within
    timeout seconds, decoded; None if none came (or events exited)."""
    import select
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([events.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return None
        line = events.stdout.readline()
        if not line:
            return None
        event = json.loads(line)
        if event.get("type") == "oom":
            return event
    return None


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return False
    return data[data.rfind(")") + 2 :].split()[0] not in ("Z", "X")


def ns_inode(pid: int, ns: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{ns}")


def proc_cgroup(pid: int, controller: str) -> Path:
    """Host path of pid's cgroup in the v1 hierarchy holding `controller`."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                for d in CGROUP_ROOT.iterdir():
                    if controller in d.name.split(","):
                        return d / path.lstrip("/")
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def cgroup_hierarchies() -> list[Path]:
    """Every mounted cgroup hierarchy directory (v1 controllers, name=systemd, unified)."""
    out = []
    for d in sorted(CGROUP_ROOT.iterdir()):
        if d.is_dir() and not d.is_symlink() and (d / "cgroup.procs").exists():
            out.append(d)
    return out


def find_cgroup_dirs(name: str, under: str = "") -> list[Path]:
    """Cgroup directories called `name` (below `under` in every hierarchy)."""
    found = []
    for h in cgroup_hierarchies():
        base = h / under.lstrip("/") if under else h
        if not base.is_dir():
            continue
        for dirpath, dirnames, _ in os.walk(base):
            if name in dirnames:
                found.append(Path(dirpath) / name)
    return found


def remove_cgroup_tree(path: Path) -> list[str]:
    """rmdir path and its empty children, deepest first; return what stayed."""
    stayed = []
    if not path.is_dir():
        return stayed
    for dirpath, _, _ in sorted(os.walk(path), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError as e:
            stayed.append(f"{dirpath}: {e.strerror}")
    return stayed


def mounts() -> list[tuple[str, str]]:
    """(source, target) of every mount in our mount namespace."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            out.append((right.split()[1], left.split()[4].replace("\\040", " ")))
    return out


def processes_matching(needle: str) -> list[int]:
    """Pids (not ours, not zombies) whose command line contains needle."""
    pids = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in cmd and pid_alive(int(d)):
            pids.append(int(d))
    return pids


def kill_and_reap(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def unmount_under(prefix: str) -> list[str]:
    """Lazily unmount everything at or below prefix; return what was there."""
    found = [t for _, t in mounts() if t == prefix or t.startswith(prefix.rstrip("/") + "/")]
    for t in sorted(found, key=len, reverse=True):
        subprocess.run(["umount", "-l", t], capture_output=True)
    return found


# --------------------------------------------------------------------------- image


@pytest.fixture(scope="session")
def work():
    """The suite's private scratch directory, removed at the end."""
    d = Path(tempfile.mkdtemp(prefix="oci-run-engines-"))
    yield d
    leftovers = unmount_under(str(d))
    shutil.rmtree(d, ignore_errors=True)
    assert not leftovers, f"mounts left under the work dir: {leftovers}"


@pytest.fixture(scope="session")
def rootfs_tar(work):
    """ENGINES.md §6.2: a busybox-static rootfs as a tar, numeric owner root."""
    r = work / "image" / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var", "usr/bin"):
        (r / d).mkdir(parents=True, exist_ok=True)
    os.chmod(r / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, r / "bin" / "busybox")
    for a in APPLETS:
        if a != "trap":
            os.symlink("busybox", r / "bin" / a)
    (r / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (r / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    tar = work / "image" / "busybox-rootfs.tar"
    run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", r, "-cf", tar, "."])
    return tar


# --------------------------------------------------------------------------- podman


class Podman:
    """podman with its own containers.conf/storage.conf and --runtime oci-run."""

    def __init__(self, work: Path):
        self.dir = work / "podman"
        for d in ("cni", "tmp", "volumes"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        self.events = self.dir / "events.log"
        self.conf = self.dir / "containers.conf"
        self.storage_conf = self.dir / "storage.conf"
        self.conf.write_text(f"""\
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_backend = "cni"
network_config_dir = "{self.dir}/cni"
cni_plugin_dirs = ["/usr/lib/cni"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{self.events}"
tmp_dir = "{self.dir}/tmp"
volume_path = "{self.dir}/volumes"
lock_type = "file"
conmon_path = ["/usr/bin/conmon"]
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "oci-run"]

[engine.runtimes]
oci-run = ["{OCI_RUN}"]
""")
        self.storage_conf.write_text(f"""\
[storage]
driver = "overlay"
runroot = "{self.dir}/runroot"
graphroot = "{self.dir}/root"
""")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTAINERS_", "XDG_"))}
        self.env.update(CONTAINERS_CONF=str(self.conf), CONTAINERS_STORAGE_CONF=str(self.storage_conf))
        self.argv0 = ["podman", "--runtime", OCI_RUN]

    def __call__(self, *args, check=True, timeout=CMD_TIMEOUT, input=None) -> Result:
        return run([*self.argv0, *args], env=self.env, check=check, timeout=timeout, input=input)

    def shell_command(self, *args) -> str:
        """A shell command line running podman with this environment."""
        env = [f"{k}={self.env[k]}" for k in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF")]
        return shlex.join(["env", *env, *self.argv0, *args])

    def inspect(self, name: str, fmt: str) -> str:
        return self("inspect", "-f", fmt, name).stdout.strip()

    def all_ids(self) -> set[str]:
        return set(self("ps", "-a", "-q", "--no-trunc").stdout.split())

    def event_ids(self) -> set[str]:
        """Every container and pod id podman logged an event for."""
        ids = set()
        with contextlib.suppress(FileNotFoundError):
            for line in self.events.read_text(errors="replace").splitlines():
                with contextlib.suppress(ValueError):
                    ev = json.loads(line)
                    if isinstance(ev, dict) and re.fullmatch(r"[0-9a-f]{64}", str(ev.get("ID", ""))):
                        ids.add(ev["ID"])
        return ids


@pytest.fixture(scope="session")
def podman(work, rootfs_tar):
    pre_libpod = {h for h in cgroup_hierarchies() if (h / "libpod_parent").is_dir()}
    p = Podman(work)
    problems: list[str] = []
    try:
        p("import", "--change", 'CMD ["/bin/sh"]', rootfs_tar, IMAGE)
        yield p
    finally:
        problems += _podman_cleanup(p, pre_libpod)
    assert not problems, "podman suite left things behind:\n  " + "\n  ".join(problems)


def _podman_cleanup(p: Podman, pre_libpod: set[Path]) -> list[str]:
    problems = []
    r = p("ps", "-a", "-q", check=False)
    if r.returncode == 0 and r.stdout.split():
        problems.append(f"containers left by the tests: {r.stdout.split()}")
    for argv in (("pod", "rm", "-f", "-a", "-t", "0"), ("rm", "-f", "-a", "-t", "0")):
        r = p(*argv, check=False)
        if r.returncode != 0:
            problems.append(f"podman {' '.join(argv)} failed: {r.stderr.strip()}")
    ids = p.event_ids()

    def ours():
        return [pid for cid in ids for pid in processes_matching(cid)]
    # conmon runs `podman container cleanup` as it exits: let those finish.
    with contextlib.suppress(pytest.fail.Exception):
        wait_for(lambda: not ours(), timeout=30, interval=0.5, what="conmon and cleanup processes")
    r = p("system", "reset", "-f", check=False)
    if r.returncode != 0:
        problems.append(f"podman system reset failed: {r.stderr.strip()}")
    # conmon of one of our containers still alive: a leak, but kill it (by pid).
    left = ours()
    if left:
        problems.append(f"processes still running for our containers: {left}")
        kill_and_reap(left)
    left = unmount_under(str(p.dir))
    if left:
        problems.append(f"mounts left under {p.dir}: {left}")
    shutil.rmtree(p.dir, ignore_errors=True)
    # What oci-run itself owns: state, container cgroups, mounts naming the id.
    for cid in ids:
        state = OCI_RUN_DEFAULT_ROOT / cid
        if state.exists():
            problems.append(f"oci-run state left: {state}")
            subprocess.run([OCI_RUN, "delete", "--force", cid], capture_output=True)
            shutil.rmtree(state, ignore_errors=True)
        for cg in find_cgroup_dirs(f"libpod-{cid}", "libpod_parent"):
            problems.append(f"container cgroup left: {cg}")
        for src, tgt in mounts():
            if cid in tgt or cid in src:
                problems.append(f"mount left: {src} on {tgt}")
    # libpod_parent (and its conmon/pod children) exist because of us; rmdir
    # only removes empty directories, so another user's cgroups are safe.
    for h in cgroup_hierarchies():
        lp = h / "libpod_parent"
        if h in pre_libpod:
            for cid in ids:  # only the pod cgroups we caused
                remove_cgroup_tree(lp / cid)
        elif lp.is_dir():
            # What stays is busy with someone else's containers: not ours to judge
            # (ours were checked above).
            remove_cgroup_tree(lp)
    return problems


# --------------------------------------------------------------------------- containerd


class Containerd:
    """A containerd daemon of our own; ctr runs containers with oci-run."""

    def __init__(self, work: Path):
        self.dir = work / "containerd"
        self.dir.mkdir(parents=True)
        self.sock = self.dir / "containerd.sock"
        self.ns = f"ocirun-eng-{os.getpid()}"
        self.runc_root = self.dir / "runc-root"
        self.fifo = self.dir / "fifo"
        self.log = self.dir / "log"
        self.config = self.dir / "config.toml"
        self.config.write_text(f"""\
version = 2
root = "{self.dir}/root"
state = "{self.dir}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{self.sock}.ttrpc"

[debug]
  level = "info"
""")
        self.proc: subprocess.Popen | None = None

    @property
    def run_opts(self) -> list[str]:
        return ["--fifo-dir", str(self.fifo), "--runc-binary", OCI_RUN,
                "--runc-root", str(self.runc_root)]

    def ctr_argv(self, *args) -> list[str]:
        return ["ctr", "-a", str(self.sock), "-n", self.ns, *map(str, args)]

    def ctr(self, *args, check=True, timeout=CMD_TIMEOUT, input=None) -> Result:
        return run(self.ctr_argv(*args), check=check, timeout=timeout, input=input)

    def start(self) -> None:
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["containerd", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

        def answers():
            if self.proc.poll() is not None:
                pytest.fail(f"containerd exited {self.proc.returncode}:\n{self.log.read_text()}")
            return self.ctr("version", check=False, timeout=10).returncode == 0
        wait_for(answers, what="containerd to answer")

    def task_status(self, cid: str) -> str | None:
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return f[2]
        return None

    def task_pid(self, cid: str) -> int:
        for line in self.ctr("task", "ls").stdout.splitlines()[1:]:
            f = line.split()
            if f and f[0] == cid:
                return int(f[1])
        raise AssertionError(f"no task {cid}")

    def ids(self, kind: str) -> list[str]:
        r = self.ctr(kind, "ls", "-q", check=False)
        return r.stdout.split() if r.returncode == 0 else []


@pytest.fixture(scope="session")
def oci_archive(podman, work):
    """The podman-built image as an OCI archive, for `ctr images import`."""
    path = work / "image" / "busybox-oci.tar"
    podman("save", "--format", "oci-archive", "-o", path, IMAGE)
    return path


@pytest.fixture(scope="session")
def containerd(work, oci_archive):
    run_containerd = Path("/run/containerd")
    pre_run = run_containerd.exists()
    pre_tmp = set(_shim_tmp_entries())
    pre_sockets = set(os.listdir(run_containerd / "s")) if (run_containerd / "s").is_dir() else set()
    c = Containerd(work)
    problems: list[str] = []
    try:
        c.start()
        c.ctr("images", "import", oci_archive)
        yield c
    finally:
        problems += _containerd_cleanup(c, run_containerd, pre_run, pre_sockets)
        for p in set(_shim_tmp_entries()) - pre_tmp:
            problems.append(f"shim temporary file left: {p}")
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    assert not problems, "containerd suite left things behind:\n  " + "\n  ".join(problems)


def _shim_tmp_entries() -> list[Path]:
    """What the shim puts in /tmp (XDG_RUNTIME_DIR unset): process JSON, pty sockets."""
    tmp = Path("/tmp")
    return [p for pat in ("runc-process*", "pty[0-9]*", "ctd-checkpoint*") for p in tmp.glob(pat)]


def _containerd_cleanup(c: Containerd, run_containerd: Path, pre_run: bool,
                        pre_sockets: set[str]) -> list[str]:
    problems = []
    daemon_up = c.proc is not None and c.proc.poll() is None
    if daemon_up:
        for t in c.ids("task"):
            problems.append(f"task left by a test: {t}")
            c.ctr("task", "kill", "-a", "-s", "SIGKILL", t, check=False)
            c.ctr("task", "delete", "-f", t, check=False)
        for cid in c.ids("container"):
            problems.append(f"container left by a test: {cid}")
            c.ctr("container", "rm", cid, check=False)
        for img in c.ids("image"):
            c.ctr("image", "rm", "--sync", img, check=False)
        for blob in c.ids("content"):
            c.ctr("content", "rm", blob, check=False)
        r = c.ctr("namespace", "rm", c.ns, check=False)
        if r.returncode != 0:
            problems.append(f"ctr namespace rm: {r.stderr.strip()}")
    if c.proc is not None:
        if c.proc.poll() is None:
            c.proc.terminate()  # our daemon, by its pid
            try:
                c.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                c.proc.kill()
                c.proc.wait()
    # Shims started for our socket that outlived the daemon.
    shims = processes_matching(f"-address {c.sock}")
    if shims:
        problems.append(f"shims still running: {shims}")
        kill_and_reap(shims)
    left = unmount_under(str(c.dir))
    if left:
        problems.append(f"mounts left under {c.dir}: {left}")
    ns_root = c.runc_root / c.ns
    if ns_root.is_dir():
        for entry in os.listdir(ns_root):
            problems.append(f"oci-run state left: {ns_root / entry}")
            subprocess.run([OCI_RUN, "--root", str(ns_root), "delete", "--force", entry],
                           capture_output=True)
    for h in cgroup_hierarchies():
        nsdir = h / c.ns
        if nsdir.is_dir():
            for cid in os.listdir(nsdir):
                if (nsdir / cid).is_dir():
                    problems.append(f"container cgroup left: {nsdir / cid}")
            problems += [f"cgroup not removable: {s}" for s in remove_cgroup_tree(nsdir)]
    # /run/containerd: shim sockets we caused, and the directories if we made them.
    sdir = run_containerd / "s"
    if sdir.is_dir():
        for name in set(os.listdir(sdir)) - pre_sockets:
            with contextlib.suppress(OSError):
                os.unlink(sdir / name)
    if not pre_run and run_containerd.is_dir():
        for dirpath, _, _ in sorted(os.walk(run_containerd), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
        if run_containerd.exists():
            problems.append(f"{run_containerd} not empty: {list(run_containerd.rglob('*'))}")
    shutil.rmtree(c.dir, ignore_errors=True)
    return problems


# --------------------------------------------------------------------------- tty


class Tmux:
    """A private tmux server (own socket name) with one window of a fixed size."""

    def __init__(self, work: Path, name: str):
        # The server's socket lives in the work dir (not /tmp/tmux-UID), so
        # nothing of it outlives the suite.
        self.socket = str(work / f"tmux-{name}.sock")
        self.session = name

    def tmux(self, *args, check=True) -> Result:
        return run(["tmux", "-S", self.socket, *args], check=check)

    def start(self, command: str, cols=120, rows=40) -> None:
        self.tmux("-f", "/dev/null", "new-session", "-d", "-s", self.session,
                  "-x", str(cols), "-y", str(rows), command)

    def send(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)
        self.tmux("send-keys", "-t", self.session, "Enter")

    def screen(self) -> str:
        r = self.tmux("capture-pane", "-p", "-t", self.session, check=False)
        return r.stdout if r.returncode == 0 else ""

    def wait_screen(self, pattern: str, what: str) -> str:
        rx = re.compile(pattern, re.M)
        seen = {"screen": ""}

        def matches():
            seen["screen"] = self.screen()
            return seen["screen"] if rx.search(seen["screen"]) else None
        try:
            return wait_for(matches, what=what)
        except BaseException:
            print(f"last tmux screen:\n{seen['screen']}")
            raise

    def kill(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)


@pytest.fixture
def tmux(work, request):
    t = Tmux(work, re.sub(r"\W", "_", request.node.name)[:40])
    yield t
    t.kill()
