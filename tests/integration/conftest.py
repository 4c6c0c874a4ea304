"""Fixtures for the oci-run integration tests.

Every test gets
  * `bundle`  - a fresh busybox bundle (tests/make-bundle.sh) with helpers to
                edit config.json and read what the container wrote;
  * `runtime` - an oci-run wrapper with a PRIVATE state root (--root) so tests
                never see each other's containers;
and, automatically, a teardown that force-deletes whatever is left in that root
and then fails the test if anything leaked: state directories, mounts under the
bundle, processes of the container, or cgroup directories named after it.

The container's stdio is the stdio of `create`/`run`, so those commands always
write to files in the bundle (never to pipes, which the container would keep
open).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAKE_BUNDLE = REPO / "tests" / "make-bundle.sh"
OCI_RUN = os.environ.get("OCI_RUN", str(REPO / "build" / "oci-run"))
# The reference runtime for differential tests (ENGINES.md: runc 1.1.5).
RUNC = os.environ.get("RUNC", "/usr/sbin/runc")

CMD_TIMEOUT = 10  # seconds for one oci-run command
TEARDOWN_TIMEOUT = 5  # seconds for one oci-run command during cleanup
CGROUP_ROOT = Path("/sys/fs/cgroup")

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def pytest_collection_modifyitems(config, items):
    # Everything here creates real containers.
    for item in items:
        item.add_marker(needs_root)


# --------------------------------------------------------------------------- utils


def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def proc_starttime(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # comm may contain spaces/parens: split after the last ')'
    rest = data[data.rfind(")") + 2 :].split()
    state = rest[0]
    if state in ("Z", "X"):
        return None
    return rest[19]


def ns_inode(path: str) -> str:
    """'net:[4026531840]' -> '4026531840'."""
    link = os.readlink(path)
    m = re.fullmatch(r"\w+:\[(\d+)\]", link)
    assert m, f"unexpected ns link {link!r} for {path}"
    return m.group(1)


def parse_mountinfo(text: str) -> list[dict]:
    """Parse /proc/PID/mountinfo text into dicts."""
    mounts = []
    for line in text.splitlines():
        if " - " not in line:
            continue
        left, right = line.split(" - ", 1)
        lf = left.split()
        rf = right.split()
        if len(lf) < 6 or len(rf) < 2:
            continue
        mounts.append(
            {
                "id": lf[0],
                "parent": lf[1],
                "root": lf[3],
                "target": lf[4].replace("\\040", " "),
                "opts": set(lf[5].split(",")),
                "optional": lf[6:],
                "fstype": rf[0],
                "source": rf[1],
                "super": set(rf[2].split(",")) if len(rf) > 2 else set(),
            }
        )
    return mounts


def mounts_at(mounts: list[dict], target: str) -> list[dict]:
    return [m for m in mounts if m["target"] == target]


def last_mount_at(mounts: list[dict], target: str) -> dict:
    found = mounts_at(mounts, target)
    assert found, f"no mount at {target}; mounts: {[m['target'] for m in mounts]}"
    return found[-1]


CAPS = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_RAW": 13,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_ADMIN": 21,
    "CAP_MKNOD": 27,
    "CAP_AUDIT_WRITE": 29,
    "CAP_SETFCAP": 31,
}


def cap_mask(names) -> int:
    mask = 0
    for n in names:
        mask |= 1 << CAPS[n]
    return mask


def status_fields(text: str) -> dict:
    """Parse /proc/self/status-like 'Key:\tvalue' lines."""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


# --------------------------------------------------------------------------- bundle


class Bundle:
    """An OCI bundle made by tests/make-bundle.sh."""

    def __init__(self, path: Path):
        self.path = path
        self.rootfs = path / "rootfs"
        self.config_path = path / "config.json"
        self.stdout_path = path / "stdout.txt"
        self.stderr_path = path / "stderr.txt"

    # config.json
    def load(self) -> dict:
        with open(self.config_path) as f:
            return json.load(f)

    def save(self, config: dict) -> None:
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)

    @contextlib.contextmanager
    def edit(self):
        """with bundle.edit() as c: c['process']['args'] = [...]"""
        config = self.load()
        yield config
        self.save(config)

    def set_args(self, *args: str) -> None:
        with self.edit() as c:
            c["process"]["args"] = list(args)

    def set_script(self, script: str) -> None:
        self.set_args("sh", "-c", script)

    # container output
    def stdout(self) -> str:
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def reset_output(self) -> None:
        for p in (self.stdout_path, self.stderr_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


_TEMPLATE: dict = {}


def make_bundle(path: Path, *cmd: str) -> Bundle:
    """A copy of a session-wide bundle made once by tests/make-bundle.sh
    (running the script for every test costs ~2 s)."""
    if "error" in _TEMPLATE:  # fail fast: make-bundle.sh already failed once
        pytest.fail(_TEMPLATE["error"], pytrace=False)
    template = _TEMPLATE.get("path")
    if template is None:
        if not (os.path.isfile(OCI_RUN) and os.access(OCI_RUN, os.X_OK)):
            _TEMPLATE["error"] = f"OCI_RUN={OCI_RUN} is not an executable file"
            pytest.fail(_TEMPLATE["error"], pytrace=False)
        tdir = Path(tempfile.mkdtemp(prefix="oci-it-template-"))
        _TEMPLATE["dir"] = tdir
        try:
            template = _run_make_bundle(tdir / "bundle", "true").path
        except BaseException as e:  # pytest.fail raises an outcome exception
            _TEMPLATE["error"] = f"template bundle: {e}"
            raise
        _TEMPLATE["path"] = template
    shutil.copytree(template, path, symlinks=True)
    b = Bundle(path)
    if cmd:
        b.set_args(*cmd)
    return b


def _run_make_bundle(path: Path, *cmd: str) -> Bundle:
    if not MAKE_BUNDLE.exists():
        pytest.fail(f"{MAKE_BUNDLE} is missing")
    env = dict(os.environ, OCI_RUN=OCI_RUN)
    r = subprocess.run(
        ["bash", str(MAKE_BUNDLE), str(path), *cmd],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    if r.returncode != 0:
        pytest.fail(f"make-bundle.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return Bundle(path)


# --------------------------------------------------------------------------- runtime


class Result(subprocess.CompletedProcess):
    def __str__(self):
        return (
            f"$ {' '.join(map(str, self.args))}\n"
            f"exit={self.returncode}\nstdout={self.stdout!r}\nstderr={self.stderr!r}"
        )


class Runtime:
    """Runs oci-run with a private --root."""

    def __init__(self, tracker: "Tracker", root: Path, base_id: str):
        self.tracker = tracker
        self.root = root
        self.base_id = base_id
        self.binary = OCI_RUN
        self._n = 0
        self._out_dir = Path(tempfile.mkdtemp(prefix="oci-out-", dir=root.parent))

    # ids
    def new_id(self, tag: str = "") -> str:
        self._n += 1
        cid = f"{self.base_id}-{self._n}{('-' + tag) if tag else ''}"
        self.tracker.ids.add(cid)
        return cid

    # raw invocation
    def cmd(self, *args, global_args=(), timeout=CMD_TIMEOUT, stdout=None, stderr=None, cwd=None, env=None) -> Result:
        """Run `oci-run --root R [global_args] args...`.

        Output goes to files (never pipes) unless explicit file objects are given.
        """
        argv = [self.binary, "--root", str(self.root), *map(str, global_args), *map(str, args)]
        self._n += 1
        out_p = self._out_dir / f"{self._n}.out"
        err_p = self._out_dir / f"{self._n}.err"
        own_out = stdout is None
        own_err = stderr is None
        fo = open(out_p, "w+b") if own_out else stdout
        fe = open(err_p, "w+b") if own_err else stderr
        try:
            try:
                proc = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=fo,
                    stderr=fe,
                    timeout=timeout,
                    cwd=cwd,
                    env=env,
                )
                rc = proc.returncode
            except subprocess.TimeoutExpired:
                pytest.fail(f"oci-run timed out after {timeout}s: {' '.join(argv)}")
            out = out_p.read_text(errors="replace") if own_out else ""
            err = err_p.read_text(errors="replace") if own_err else ""
        finally:
            if own_out:
                fo.close()
            if own_err:
                fe.close()
        return Result(argv, rc, out, err)

    def _bundle_stdio(self, bundle: Bundle):
        fo = open(bundle.stdout_path, "ab")
        fe = open(bundle.stderr_path, "ab")
        return fo, fe

    def _stderr_since(self, bundle: Bundle, offset: int) -> str:
        with open(bundle.stderr_path, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    # lifecycle
    def create(self, bundle: Bundle, cid: str, *extra, check=True, pid_file=None, timeout=CMD_TIMEOUT) -> Result:
        """`create --bundle B [--pid-file F] extra... ID`, container stdio -> bundle files."""
        self.tracker.ids.add(cid)
        args = ["create", "--bundle", str(bundle.path)]
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        args += [*extra, cid]
        fo, fe = self._bundle_stdio(bundle)
        try:
            err_off = fe.tell()
            r = self.cmd(*args, stdout=fo, stderr=fe, timeout=timeout)
        finally:
            fo.close()
            fe.close()
        r.stderr = self._stderr_since(bundle, err_off)
        if check:
            assert r.returncode == 0, f"create failed:\n{r}"
            self.tracker.note_pid(self.state(cid).get("pid"))
        return r

    def run(self, bundle: Bundle, cid: str, *extra, timeout=CMD_TIMEOUT) -> Result:
        """`run --bundle B extra... ID` in the foreground, stdio -> bundle files."""
        self.tracker.ids.add(cid)
        fo, fe = self._bundle_stdio(bundle)
        try:
            err_off = fe.tell()
            r = self.cmd("run", "--bundle", str(bundle.path), *extra, cid, stdout=fo, stderr=fe, timeout=timeout)
        finally:
            fo.close()
            fe.close()
        r.stderr = self._stderr_since(bundle, err_off)
        return r

    def popen_run(self, bundle: Bundle, cid: str, *extra) -> subprocess.Popen:
        """Start `run` in the foreground as a child we can signal."""
        self.tracker.ids.add(cid)
        fo, fe = self._bundle_stdio(bundle)
        try:
            p = subprocess.Popen(
                [self.binary, "--root", str(self.root), "run", "--bundle", str(bundle.path), *extra, cid],
                stdin=subprocess.DEVNULL,
                stdout=fo,
                stderr=fe,
            )
        finally:
            fo.close()
            fe.close()
        self.tracker.popens.append(p)
        return p

    def start(self, cid: str, check=True) -> Result:
        r = self.cmd("start", cid)
        if check:
            assert r.returncode == 0, f"start failed:\n{r}"
        return r

    def state(self, cid: str) -> dict:
        r = self.cmd("state", cid)
        assert r.returncode == 0, f"state failed:\n{r}"
        try:
            st = json.loads(r.stdout)
        except json.JSONDecodeError as e:
            pytest.fail(f"state output is not JSON ({e}):\n{r}")
        if isinstance(st, dict) and st.get("pid"):
            self.tracker.note_pid(st["pid"])
        return st

    def status(self, cid: str) -> str:
        return self.state(cid)["status"]

    def wait_status(self, cid: str, status: str, timeout=10.0) -> dict:
        last = {}

        def check():
            nonlocal last
            last = self.state(cid)
            return last if last.get("status") == status else None

        deadline = time.monotonic() + timeout
        while True:
            st = check()
            if st:
                return st
            if time.monotonic() >= deadline:
                pytest.fail(f"container {cid} did not become {status!r} in {timeout}s; last state {last}")
            time.sleep(0.02)

    def kill(self, cid: str, *sig, check=True) -> Result:
        r = self.cmd("kill", cid, *sig)
        if check:
            assert r.returncode == 0, f"kill failed:\n{r}"
        return r

    def delete(self, cid: str, force=False, check=True) -> Result:
        r = self.cmd("delete", *(["--force"] if force else []), cid)
        if check:
            assert r.returncode == 0, f"delete failed:\n{r}"
        return r

    def list_ids(self) -> list[str]:
        r = self.cmd("list", "-q")
        assert r.returncode == 0, f"list -q failed:\n{r}"
        return [l for l in r.stdout.splitlines() if l.strip()]

    # convenience
    def run_to_completion(self, bundle: Bundle, cid: str | None = None, *create_extra, timeout=10.0) -> str:
        """create + start + wait stopped + delete; return the container's stdout."""
        cid = cid or self.new_id()
        bundle.reset_output()
        self.create(bundle, cid, *create_extra)
        self.start(cid)
        self.wait_status(cid, "stopped", timeout=timeout)
        self.delete(cid)
        return bundle.stdout()

    def script_output(self, bundle: Bundle, script: str, *create_extra, timeout=10.0) -> str:
        bundle.set_script(script)
        return self.run_to_completion(bundle, None, *create_extra, timeout=timeout)


# --------------------------------------------------------------------------- leak tracking


class Tracker:
    """What one test created, for the teardown leak check."""

    def __init__(self):
        self.roots: list[Path] = []
        self.bundles: list[Path] = []
        self.ids: set[str] = set()
        self.pids: dict[int, str] = {}  # pid -> starttime
        self.popens: list[subprocess.Popen] = []
        self.host_procs: list[subprocess.Popen] = []
        self.host_mounts: list[str] = []
        self.root_binary: dict[Path, str] = {}  # a state root of another runtime (runc)

    def note_pid(self, pid):
        if isinstance(pid, int) and pid > 0:
            st = proc_starttime(pid)
            if st is not None:
                self.pids.setdefault(pid, st)


def _cgroup_name_matches(name: str, cid: str) -> bool:
    """A cgroup directory named after the container: the id itself, or the id as a
    delimited part of the name (e.g. 'oci-run-<id>.scope') when the id is long
    enough not to match by chance."""
    if name == cid:
        return True
    if len(cid) < 8:
        return False
    return re.fullmatch(rf"(?:.*[-_.:@])?{re.escape(cid)}(?:[-_.:@].*)?", name) is not None


def _cgroup_dirs_for(ids: set[str], maxdepth=4) -> list[Path]:
    ids = {i for i in ids if i}
    found = []
    if not ids:
        return found

    def walk(d: Path, depth: int):
        try:
            entries = list(os.scandir(d))
        except OSError:
            return
        for e in entries:
            try:
                if not e.is_dir(follow_symlinks=False):
                    continue
            except OSError:
                continue
            if any(_cgroup_name_matches(e.name, i) for i in ids):
                found.append(Path(e.path))
            elif depth < maxdepth:
                walk(Path(e.path), depth + 1)

    try:
        ctrls = [Path(e.path) for e in os.scandir(CGROUP_ROOT) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for c in ctrls:
        walk(c, 1)
        # cgroup2 under unified, also walk it (it is a controller dir above)
    return found


def _leaked_procs(tracker: Tracker) -> dict[int, str]:
    bundles = [str(b) for b in tracker.bundles]
    ids = {i for i in tracker.ids if i}
    roots = [str(r) for r in tracker.roots]
    leaked = {}
    me = os.getpid()
    for e in os.scandir("/proc"):
        if not e.name.isdigit():
            continue
        pid = int(e.name)
        if pid == me:
            continue
        st = proc_starttime(pid)
        if st is None:
            continue
        why = None
        if tracker.pids.get(pid) == st:
            why = "container pid seen in state/pid-file"
        if why is None:
            for what in ("root", "cwd"):
                try:
                    target = os.readlink(f"/proc/{pid}/{what}")
                except OSError:
                    continue
                if any(target == b or target.startswith(b + "/") for b in bundles):
                    why = f"/proc/{pid}/{what} -> {target}"
                    break
        if why is None and ids:
            try:
                with open(f"/proc/{pid}/cgroup") as f:
                    cg = f.read()
            except OSError:
                cg = ""
            for line in cg.splitlines():
                path = line.split(":", 2)[-1]
                comps = path.split("/")
                if any(i in comps for i in ids):
                    why = f"in cgroup {path}"
                    break
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            cmd = "?"
        if why is None and any(f" {r} " in f" {cmd} " for r in roots):
            # e.g. a container init that never exec'd, or a hung oci-run
            why = "oci-run process of this test's state root"
        if why is not None:
            leaked[pid] = f"{why} ({cmd})"
    return leaked


def _leaked_mounts(tracker: Tracker) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        for b in tracker.bundles:
            if str(b) in line:
                out.append(line)
                break
    return out


def _leftover_state(tracker: Tracker) -> list[str]:
    out = []
    for root in tracker.roots:
        if root.is_dir():
            for e in os.scandir(root):
                if e.is_dir(follow_symlinks=False):
                    out.append(e.path)
    return out


def _check_leaks(tracker: Tracker) -> list[str]:
    problems = []
    for d in _leftover_state(tracker):
        problems.append(f"state dir left: {d}")
    for line in _leaked_mounts(tracker):
        problems.append(f"mount left: {line}")
    for pid, why in _leaked_procs(tracker).items():
        problems.append(f"process left: pid {pid}: {why}")
    for d in _cgroup_dirs_for(tracker.ids):
        problems.append(f"cgroup left: {d}")
    return problems


def _force_cleanup(tracker: Tracker) -> None:
    for pid in _leaked_procs(tracker):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    for line in reversed(_leaked_mounts(tracker)):
        m = parse_mountinfo(line)
        if m:
            subprocess.run(["umount", "-l", m[0]["target"]], capture_output=True, timeout=10)
    for d in sorted(_cgroup_dirs_for(tracker.ids), key=lambda p: -len(str(p))):
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(str(p))):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            d.rmdir()
    for d in _leftover_state(tracker):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _template_cleanup():
    yield
    if "dir" in _TEMPLATE:
        shutil.rmtree(_TEMPLATE["dir"], ignore_errors=True)


@pytest.fixture
def tracker():
    return Tracker()


@pytest.fixture
def test_id(request):
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    name = name.removeprefix("test_")[:40].strip("-.")
    return f"it-{name}-{os.getpid()}"


@pytest.fixture
def bundle(tmp_path, tracker):
    """A busybox bundle whose default command is `true`."""
    path = tmp_path / "bundle"
    b = make_bundle(path, "true")
    tracker.bundles.append(path.resolve())
    return b


@pytest.fixture
def make_extra_bundle(tmp_path, tracker):
    """Factory for more bundles in the same test."""
    n = [0]

    def make(*cmd: str) -> Bundle:
        n[0] += 1
        path = tmp_path / f"bundle{n[0]}"
        b = make_bundle(path, *(cmd or ("true",)))
        tracker.bundles.append(path.resolve())
        return b

    return make


@pytest.fixture
def runtime(tmp_path, tracker, test_id):
    root = tmp_path / "state"
    root.mkdir()
    tracker.roots.append(root)
    return Runtime(tracker, root, test_id)


@pytest.fixture
def runc(tmp_path, tracker, test_id):
    """The same wrapper around runc (RUNC, default /usr/sbin/runc), with a
    private root of its own, for tests that compare oci-run with runc."""
    if not (os.path.isfile(RUNC) and os.access(RUNC, os.X_OK)):
        pytest.skip(f"no runc at {RUNC} to compare with")
    root = tmp_path / "runc-state"
    root.mkdir()
    tracker.roots.append(root)
    tracker.root_binary[root] = RUNC
    r = Runtime(tracker, root, test_id + "-runc")
    r.binary = RUNC
    return r


@pytest.fixture
def host_proc(tracker):
    """Start a helper process on the host (e.g. `unshare --net sleep 30`)."""

    def start(*argv: str) -> subprocess.Popen:
        p = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tracker.host_procs.append(p)
        return p

    return start


@pytest.fixture(autouse=True)
def leak_check(request, tracker):
    yield
    # Stop foreground `run`s and helper processes first.
    for p in tracker.popens + tracker.host_procs:
        if p.poll() is None:
            with contextlib.suppress(OSError):
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
    # Force-delete every container in each private root.
    for root in tracker.roots:
        ids = set()
        if root.is_dir():
            ids.update(e.name for e in os.scandir(root) if e.is_dir(follow_symlinks=False))
        binary = tracker.root_binary.get(root, OCI_RUN)
        with contextlib.suppress(Exception):
            r = subprocess.run(
                [binary, "--root", str(root), "list", "-q"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TEARDOWN_TIMEOUT,
            )
            if r.returncode == 0:
                ids.update(l.strip() for l in r.stdout.splitlines() if l.strip())
        for cid in ids:
            with contextlib.suppress(Exception):
                subprocess.run(
                    [binary, "--root", str(root), "delete", "--force", cid],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=TEARDOWN_TIMEOUT,
                )
    for m in reversed(tracker.host_mounts):
        subprocess.run(["umount", "-l", m], capture_output=True, timeout=10)
    # Give the kernel a moment to reap and remove cgroups.
    deadline = time.monotonic() + 5
    problems = _check_leaks(tracker)
    while problems and time.monotonic() < deadline:
        time.sleep(0.05)
        problems = _check_leaks(tracker)
    if problems:
        _force_cleanup(tracker)
        pytest.fail("left behind after force-delete:\n  " + "\n  ".join(problems), pytrace=False)


def run_container(runtime, bundle, script, *extra):
    """create (with `extra` args) + start + wait + delete a container running
    `script`; (create result, its stdout) or (result, None) if create failed."""
    bundle.reset_output()
    bundle.set_script(script)
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, *extra, check=False)
    if r.returncode != 0:
        return r, None
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid)
    return r, bundle.stdout()


# --------------------------------------------------------------------------- misc helpers as fixtures


@pytest.fixture
def host_ns():
    """Inode numbers of the test process's own namespaces (what a container inherits)."""
    out = {}
    for ns in ("pid", "net", "ipc", "uts", "mnt", "cgroup", "user", "time"):
        with contextlib.suppress(OSError):
            out[ns] = ns_inode(f"/proc/self/ns/{ns}")
    return out


def deep(config: dict) -> dict:
    return copy.deepcopy(config)


@pytest.fixture
def searchable(tmp_path):
    """A container root mapped to an unprivileged host uid must be able to walk
    down to the bundle and to sources under tmp_path (pytest makes its temp
    dirs 0700): o+x on every ancestor for the test, restored afterwards."""
    changed = []
    p = tmp_path
    while p != p.parent:
        mode = p.stat().st_mode & 0o7777
        if not mode & 0o001:
            os.chmod(p, mode | 0o001)
            changed.append((p, mode))
        p = p.parent
    yield
    for p, mode in changed:
        os.chmod(p, mode)
