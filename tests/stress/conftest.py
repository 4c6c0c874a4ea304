"""Fixtures for the stress and fault suites: the integration fixtures
(tests/integration/conftest.py: bundle, runtime, per-test leak check...) plus a
`stress` helper that runs oci-run many times, possibly from several threads,
and checks for leftovers precisely: state dirs, mounts, cgroups, processes,
zombies and open fds.

The integration conftest is loaded under another module name so that both
directories can be collected in one pytest run.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

_IT = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
_spec = importlib.util.spec_from_file_location("oci_it_conftest", _IT)
it = importlib.util.module_from_spec(_spec)
sys.modules["oci_it_conftest"] = it
_spec.loader.exec_module(it)

# Re-export the integration fixtures (pytest finds fixtures by attribute).
bundle = it.bundle
make_extra_bundle = it.make_extra_bundle
runtime = it.runtime
tracker = it.tracker
test_id = it.test_id
leak_check = it.leak_check
host_proc = it.host_proc
_template_cleanup = it._template_cleanup
pytest_collection_modifyitems = it.pytest_collection_modifyitems

OCI_RUN = it.OCI_RUN
CGROUP_ROOT = Path("/sys/fs/cgroup")
OP_TIMEOUT = 60  # seconds: only a guard against a hung oci-run, never a measurement


def report(line: str) -> None:
    """Print a figure so it shows in the ctest/pytest output (-s) and in the log."""
    print(f"\n[stress] {line}", flush=True)
    log = os.environ.get("OCI_STRESS_REPORT")
    if log:
        with open(log, "a") as f:
            f.write(line + "\n")


def zombies() -> dict[int, int]:
    """pid -> ppid of every zombie on the host."""
    out = {}
    for e in os.scandir("/proc"):
        if not e.name.isdigit():
            continue
        try:
            with open(f"/proc/{e.name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        rest = data[data.rfind(")") + 2 :].split()
        if rest and rest[0] == "Z":
            out[int(e.name)] = int(rest[1])
    return out


def own_fds() -> set[str]:
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.add(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            pass
    return out


class Stress:
    """Runs oci-run against a private state root; thread-safe; counts every
    operation and every failure (with its output)."""

    def __init__(self, tracker, root: Path, prefix: str, workdir: Path):
        self.tracker = tracker
        self.root = root
        self.prefix = prefix
        self.workdir = workdir
        self.lock = threading.Lock()
        self.ops = 0
        self.failures: list[str] = []
        self.pids: set[int] = set()
        self._n = 0

    def new_id(self, tag: str) -> str:
        with self.lock:
            self._n += 1
            cid = f"{self.prefix}-{tag}-{self._n}"
            self.tracker.ids.add(cid)
            return cid

    def oci(self, *args, container_stdio=False) -> subprocess.CompletedProcess:
        """One oci-run command. For create/run (container_stdio) the container
        inherits stdout/stderr, so they go to a file, never to a pipe."""
        argv = [OCI_RUN, "--root", str(self.root), *map(str, args)]
        if container_stdio:
            with tempfile.TemporaryFile(dir=self.workdir) as err:
                try:
                    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=err, timeout=OP_TIMEOUT)
                    err.seek(0)
                    r = subprocess.CompletedProcess(argv, p.returncode, "", err.read().decode(errors="replace"))
                except subprocess.TimeoutExpired:
                    r = subprocess.CompletedProcess(argv, -999, "", f"timed out after {OP_TIMEOUT}s")
        else:
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                   timeout=OP_TIMEOUT)
            except subprocess.TimeoutExpired:
                r = subprocess.CompletedProcess(argv, -999, "", f"timed out after {OP_TIMEOUT}s")
        with self.lock:
            self.ops += 1
            if r.returncode != 0:
                self.failures.append(f"{' '.join(args)} -> exit {r.returncode}: {r.stderr.strip()[:300]}")
        return r

    def state(self, cid: str) -> dict | None:
        import json

        r = self.oci("state", cid)
        if r.returncode != 0:
            return None
        try:
            st = json.loads(r.stdout)
        except ValueError:
            with self.lock:
                self.failures.append(f"state {cid}: not JSON: {r.stdout[:200]!r}")
            return None
        if st.get("pid"):
            with self.lock:
                self.pids.add(st["pid"])
            self.tracker.note_pid(st["pid"])
        return st

    def wait_stopped(self, cid: str) -> bool:
        deadline = time.monotonic() + OP_TIMEOUT
        while time.monotonic() < deadline:
            st = self.state(cid)
            if st is None:
                return False
            if st.get("status") == "stopped":
                return True
            time.sleep(0.005)
        with self.lock:
            self.failures.append(f"{cid} did not stop within {OP_TIMEOUT}s")
        return False

    # ------------------------------------------------------------ leftovers

    def leftovers(self, bundles, zombies_before: dict[int, int]) -> list[str]:
        """Everything this run left behind; empty when clean."""
        out = []
        if self.root.is_dir():
            out += [f"state dir: {e.path}" for e in os.scandir(self.root)]
        r = self.oci("list", "-q")
        out += [f"listed: {l}" for l in r.stdout.split() if l]
        with open("/proc/self/mountinfo") as f:
            for line in f:
                if str(self.root) in line or any(str(b) in line for b in bundles):
                    out.append(f"mount: {line.strip()}")
        for ctrl in CGROUP_ROOT.iterdir():
            if not ctrl.is_dir():
                continue
            for dirpath, dirnames, _ in os.walk(ctrl):
                for d in dirnames:
                    if self.prefix in d:
                        out.append(f"cgroup: {dirpath}/{d}")
        me = os.getpid()
        for e in os.scandir("/proc"):
            if not e.name.isdigit() or int(e.name) == me:
                continue
            pid = int(e.name)
            try:
                with open(f"/proc/{pid}/cgroup") as f:
                    cg = f.read()
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if self.prefix in cg:
                out.append(f"process in container cgroup: {pid} ({cmd.strip()})")
            elif str(self.root) in cmd:
                out.append(f"oci-run process: {pid} ({cmd.strip()})")
            else:
                # an fd of any process into the state root (a runtime fd leak)
                try:
                    fds = os.listdir(f"/proc/{pid}/fd")
                except OSError:
                    fds = []
                for fd in fds:
                    try:
                        target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    except OSError:
                        continue
                    if target.startswith(str(self.root) + "/"):
                        out.append(f"open fd: pid {pid} fd {fd} -> {target}")
        # Zombies: new ones that are ours, or a container pid still unreaped.
        for pid, ppid in zombies().items():
            if pid in zombies_before:
                continue
            if ppid == me or pid in self.pids:
                out.append(f"zombie: pid {pid} (ppid {ppid})")
        return out

    def settle(self, bundles, zombies_before) -> list[str]:
        """Leftovers after letting the kernel finish reaping (pid 1 reaps the
        orphaned container inits asynchronously)."""
        deadline = time.monotonic() + 10
        left = self.leftovers(bundles, zombies_before)
        while left and time.monotonic() < deadline:
            time.sleep(0.1)
            left = self.leftovers(bundles, zombies_before)
        return left


@pytest.fixture
def stress(tmp_path, tracker):
    root = tmp_path / "state"
    root.mkdir()
    tracker.roots.append(root)
    work = tmp_path / "work"
    work.mkdir()
    return Stress(tracker, root, f"st{os.getpid()}", work)
