"""Differential tests: the same scenario on oci-run and on runc 1.1.5
(RUNC, default /usr/sbin/runc, with its own private --root), comparing exit
codes, output and files instead of hard-coding what oci-run prints.

runc's containers get ids from the same tracker, so the leak check covers
what runc leaves, too.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import time
from pathlib import Path

import pytest

from conftest import CMD_TIMEOUT, Runtime

RUNC = os.environ.get("RUNC", "/usr/sbin/runc")

pytestmark = pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason=f"runc not found at {RUNC}")


@pytest.fixture
def runc(tmp_path, tracker, test_id):
    """A Runtime that drives runc with a private --root; force-deletes its
    containers and removes the root at teardown (before the leak check)."""
    root = tmp_path / "runc-state"
    root.mkdir()
    r = Runtime(tracker, root, test_id + "-runc")
    r.binary = RUNC
    yield r
    for p in tracker.popens:
        if p.poll() is None and p.args and p.args[0] == RUNC:
            p.kill()
            p.wait(timeout=5)
    ls = subprocess.run([RUNC, "--root", str(root), "list", "-q"], capture_output=True, text=True, timeout=10)
    for cid in ls.stdout.split():
        subprocess.run([RUNC, "--root", str(root), "delete", "-f", cid], capture_output=True, timeout=10)


def both(runtime, runc):
    return (("oci-run", runtime), ("runc", runc))


def start_sleeper(rt, bundle) -> str:
    bundle.set_args("sleep", "1000")
    cid = rt.new_id()
    rt.create(bundle, cid)
    rt.start(cid)
    return cid


def stopped_container(rt, bundle) -> str:
    bundle.set_args("true")
    cid = rt.new_id()
    rt.create(bundle, cid)
    rt.start(cid)
    rt.wait_status(cid, "stopped")
    return cid


# ----------------------------------------------------------------------------- exit codes (#16, #17)


def exit_code_scenarios(rt, bundle, tmp: Path) -> dict[str, int]:
    """Runs each failure (and a few successes) on `rt`; name -> exit code."""
    codes = {}

    def rc(name, *args):
        codes[name] = rt.cmd(*args).returncode

    cid = start_sleeper(rt, bundle)
    rc("state missing", "state", "no-such-ctr")
    rc("start missing", "start", "no-such-ctr")
    rc("kill missing", "kill", "no-such-ctr")
    rc("delete missing", "delete", "no-such-ctr")
    rc("pause missing", "pause", "no-such-ctr")
    rc("ps missing", "ps", "no-such-ctr")
    rc("exec missing", "exec", "no-such-ctr", "true")
    rc("unknown command", "no-such-command")
    rc("list bad option", "list", "--no-such-option")
    rc("create duplicate", "create", "--bundle", bundle.path, cid)
    rc("start running", "start", cid)
    rc("delete running", "delete", cid)
    rc("resume running", "resume", cid)
    rc("kill bad signal", "kill", cid, "NOSUCHSIG")
    rc("kill 0 running", "kill", cid, "0")
    rc("update bad value", "update", "--memory", "abc", cid)
    rc("exec exit 7", "exec", cid, "sh", "-c", "exit 7")
    rc("exec missing binary", "exec", cid, "/no/such/binary")
    rc("exec -d missing binary", "exec", "-d", cid, "/no/such/binary")
    rc("exec bad pid-file dir", "exec", "--pid-file", tmp / "no-such-dir" / "pid", cid, "true")
    rc("exec bad user", "exec", "--user", "abc", cid, "true")
    rc("exec bad process file", "exec", "--process", tmp / "no-such-process.json", cid)
    rc("exec unknown option", "exec", "--no-such-option", cid, "true")
    rc("exec bad preserve-fds", "exec", "--preserve-fds", "abc", cid, "true")
    rc("exec no id", "exec")
    rc("pause", "pause", cid)
    rc("pause paused", "pause", cid)
    rc("exec paused", "exec", cid, "true")
    rc("resume", "resume", cid)
    rc("ps bad format", "ps", "--format", "bogus", cid)
    rc("kill KILL", "kill", cid, "KILL")
    rt.wait_status(cid, "stopped")
    rc("kill stopped", "kill", cid, "KILL")
    rc("kill 0 stopped", "kill", cid, "0")
    rc("kill -a 0 stopped", "kill", "--all", cid, "0")
    rc("kill -a KILL stopped", "kill", "--all", cid, "KILL")
    rc("ps stopped", "ps", cid)
    rc("exec stopped", "exec", cid, "true")
    rc("pause stopped", "pause", cid)
    rc("update stopped", "update", "--memory", "10m", cid)
    rc("start stopped", "start", cid)
    rc("delete stopped", "delete", cid)
    return codes


def test_exit_codes_match_runc(runtime, runc, make_extra_bundle, tmp_path):
    """runc exits 255 when `exec` itself fails (so a caller can tell it from
    the process's own exit 1), 1 for other command failures and bad flags, 3
    for an unknown command; `kill ID 0` and `kill -a` on a stopped container
    succeed."""
    got = {}
    for name, rt in both(runtime, runc):
        got[name] = exit_code_scenarios(rt, make_extra_bundle("true"), tmp_path)
    diff = {k: (got["oci-run"][k], got["runc"][k]) for k in got["runc"] if got["oci-run"][k] != got["runc"][k]}
    assert not diff, f"exit codes (oci-run, runc) differ: {diff}"
    # The scenarios do exercise what the issue names.
    assert got["runc"]["exec missing binary"] == 255 and got["runc"]["exec exit 7"] == 7
    assert got["runc"]["kill 0 running"] == 0 and got["runc"]["kill -a 0 stopped"] == 0


# ----------------------------------------------------------------------------- ps (#18)


def test_ps_of_stopped_container_like_runc(runtime, runc, make_extra_bundle):
    out = {}
    for name, rt in both(runtime, runc):
        cid = stopped_container(rt, make_extra_bundle())
        table = rt.cmd("ps", cid)
        js = rt.cmd("ps", "--format", "json", cid)
        out[name] = (table.returncode, table.stdout.splitlines()[:1], js.returncode, js.stdout.strip())
        rt.delete(cid)
    assert out["oci-run"] == out["runc"]
    assert out["runc"][0] == 0 and out["runc"][1][0].split()[:2] == ["UID", "PID"]


# ----------------------------------------------------------------------------- exec -g (#12)


def test_exec_repeated_additional_gids_like_runc(runtime, runc, make_extra_bundle):
    """Repeated -g appends (runc's form); oci-run also takes a comma list
    (runc does not)."""
    out = {}
    for name, rt in both(runtime, runc):
        cid = start_sleeper(rt, make_extra_bundle())
        r = rt.cmd("exec", "-g", "100", "-g", "65534", cid, "id", "-G")
        out[name] = (r.returncode, r.stdout)
        if rt is runtime:
            comma = rt.cmd("exec", "--additional-gids", "100,65534", cid, "id", "-G")
            assert (comma.returncode, comma.stdout) == out[name]
        rt.delete(cid, force=True)
    assert out["oci-run"] == out["runc"]
    assert out["runc"][1].split() == ["0", "100", "65534"]


# ----------------------------------------------------------------------------- terminal owner (#7)


def run_on_pty(argv, timeout=CMD_TIMEOUT) -> tuple[int, str]:
    """Run argv with a new pty as its stdio; (exit code, what it wrote)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.1)
            if r:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: every slave fd is closed
                    break
                if not data:
                    break
                out += data
            elif p.poll() is not None:
                break
        p.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        pytest.fail(f"timed out: {argv}")
    finally:
        os.close(master)
    return p.returncode, out.decode(errors="replace").replace("\r\n", "\n")


STAT_TTY = "stat -L -c %u:%g /proc/self/fd/0"


def test_terminal_owned_by_process_user_like_runc(runtime, runc, make_extra_bundle):
    """`run` and `exec -t` with process.user.uid 1000: the pty belongs to
    uid 1000 (its group stays tty), as runc does it."""
    out = {}
    for name, rt in both(runtime, runc):
        b = make_extra_bundle()
        with b.edit() as c:
            c["process"]["terminal"] = True
            c["process"]["user"] = {"uid": 1000, "gid": 1000}
            c["process"]["args"] = ["sh", "-c", STAT_TTY]
        cid = rt.new_id()
        rc, text = run_on_pty([rt.binary, "--root", str(rt.root), "run", "--bundle", str(b.path), cid])
        run_line = [l for l in text.splitlines() if ":" in l and "=" not in l]
        ecid = start_sleeper(rt, make_extra_bundle())
        erc, etext = run_on_pty([rt.binary, "--root", str(rt.root), "exec", "-t", "--user", "1000:1000",
                                 ecid, "sh", "-c", STAT_TTY])
        exec_line = [l for l in etext.splitlines() if ":" in l and "=" not in l]
        rt.delete(ecid, force=True)
        rt.delete(cid, force=True, check=False)
        out[name] = (rc, run_line, erc, exec_line)
    assert out["oci-run"] == out["runc"]
    assert out["runc"][1] and out["runc"][1][0].startswith("1000:")


# ----------------------------------------------------------------------------- spec (#20)


def test_spec_namespaces_like_runc(runtime, runc, tmp_path):
    """`spec` adds a cgroup namespace only on a unified (cgroup v2) host."""
    ns = {}
    for name, rt in both(runtime, runc):
        d = tmp_path / f"spec-{name}"
        d.mkdir()
        r = rt.cmd("spec", "--bundle", d)
        assert r.returncode == 0, r
        ns[name] = [n["type"] for n in json.loads((d / "config.json").read_text())["linux"]["namespaces"]]
    assert ns["oci-run"] == ns["runc"]


# ----------------------------------------------------------------------------- createContainer cwd (#19)


def test_create_container_hook_cwd_like_runc(runtime, runc, make_extra_bundle, tmp_path):
    """createContainer hooks run with the container's rootfs as cwd."""
    got = {}
    for name, rt in both(runtime, runc):
        b = make_extra_bundle()
        out = tmp_path / f"hook-cwd-{name}"
        with b.edit() as c:
            c.setdefault("hooks", {})["createContainer"] = [
                {"path": "/bin/sh", "args": ["sh", "-c", f"pwd > {out}"]}]
        cid = rt.new_id()
        rt.create(b, cid)
        rt.delete(cid, force=True)
        got[name] = out.read_text().strip() == os.path.realpath(b.rootfs)
    assert got == {"oci-run": True, "runc": True}


# ----------------------------------------------------------------------------- exec --cgroup (#15)


def v1_cgroups(pid) -> dict[str, str]:
    """controller list ("cpu,cpuacct") -> path, v1 hierarchies only."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f.read().splitlines():
            _, ctrls, path = line.split(":", 2)
            if ctrls:
                out[ctrls] = path
    return out


def hierarchy_dir(ctrls: str) -> Path:
    for name in (ctrls, *ctrls.split(",")):
        p = Path("/sys/fs/cgroup") / name
        if p.is_dir():
            return p
    pytest.skip(f"no mount for the {ctrls} hierarchy")


def test_exec_cgroup_controller_form_like_runc(runtime, runc, make_extra_bundle):
    """--cgroup CONTROLLER[,CONTROLLER]:PATH, repeatable; PATH alone for all;
    an unknown controller is an error (exit 255, named)."""
    got = {}
    for name, rt in both(runtime, runc):
        cid = start_sleeper(rt, make_extra_bundle())
        init_cg = v1_cgroups(rt.state(cid)["pid"])
        cpu = next(k for k in init_cg if "cpu" in k.split(","))
        mem = next(k for k in init_cg if k == "memory")
        made = []
        for ctrls, sub in ((cpu, "sub1"), (mem, "sub2")):
            d = hierarchy_dir(ctrls) / init_cg[ctrls].lstrip("/") / sub
            d.mkdir()
            made.append(d)
        try:
            r = rt.cmd("exec", "--cgroup", "cpu:sub1", "--cgroup", "memory:sub2", cid, "cat", "/proc/self/cgroup")
            assert r.returncode == 0, r
            after = {}
            for line in r.stdout.splitlines():
                _, ctrls, path = line.split(":", 2)
                if ctrls and ctrls in init_cg:
                    after[ctrls] = os.path.relpath(path, init_cg[ctrls])
            bad = rt.cmd("exec", "--cgroup", "nosuchctl:sub1", cid, "true")
            two_bare = rt.cmd("exec", "--cgroup", "sub1", "--cgroup", "sub2", cid, "true")
            got[name] = (after, bad.returncode, "unknown controller" in bad.stderr, two_bare.returncode)
        finally:
            rt.delete(cid, force=True)
            for d in made:
                with contextlib.suppress(OSError):
                    d.rmdir()
    assert got["oci-run"] == got["runc"]
    after = got["runc"][0]
    assert after[next(k for k in after if "cpu" in k.split(","))] == "sub1" and after["memory"] == "sub2"


# ----------------------------------------------------------------------------- --debug (#21)


def test_debug_log_like_runc(runtime, runc, make_extra_bundle, tmp_path):
    """`--debug --log F --log-format json run` writes JSON debug lines (runc
    ~30); oci-run's name each phase of create: namespaces, cgroup, mounts,
    hooks, start, delete."""
    lines = {}
    for name, rt in both(runtime, runc):
        b = make_extra_bundle()
        with b.edit() as c:
            c["hooks"] = {"createContainer": [{"path": "/bin/true"}], "poststop": [{"path": "/bin/true"}]}
        log = tmp_path / f"debug-{name}.json"
        with open(b.stdout_path, "ab") as fo, open(b.stderr_path, "ab") as fe:
            r = rt.cmd("--debug", "--log", log, "--log-format", "json", "run", "--bundle", b.path, rt.new_id(),
                       stdout=fo, stderr=fe)
        assert r.returncode == 0, (name, b.stderr())
        lines[name] = [json.loads(l) for l in log.read_text().splitlines()]
    for name, got in lines.items():
        assert len([l for l in got if l["level"] == "debug"]) >= 10, (name, got)
        assert all(l["level"] == "debug" for l in got), (name, got)
    text = "\n".join(l["msg"] for l in lines["oci-run"])
    for want in ("namespaces: ", "cgroup (", "init: mount proc proc on /proc", "createContainer hook #0",
                 "poststop hook #0", "start ", "delete "):
        assert want in text, f"{want!r} not in the debug log:\n{text}"


def test_debug_to_stderr_without_log(runtime, bundle):
    r = runtime.cmd("--debug", "run", "--bundle", bundle.path, runtime.new_id())
    assert r.returncode == 0, r
    assert "namespaces: " in r.stderr and "cgroup (" in r.stderr, r


# ----------------------------------------------------------------------------- startContainer + seccomp (#14)


@pytest.mark.parametrize("nnp", [True, False], ids=["nnp", "no-nnp"])
def test_start_container_hook_runs_under_seccomp_like_runc(runtime, runc, make_extra_bundle, nnp):
    """The startContainer hook runs under the container's seccomp filter,
    with or without noNewPrivileges."""
    got = {}
    for name, rt in both(runtime, runc):
        b = make_extra_bundle()
        with b.edit() as c:
            c["process"]["noNewPrivileges"] = nnp
            c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
            c["hooks"] = {"startContainer": [{"path": "/bin/sh", "args": [
                "sh", "-c", "mkdir /hook-dir 2>/dev/null; echo $? > /hook-rc"]}]}
        cid = rt.new_id()
        rt.create(b, cid)
        rt.start(cid)
        rt.wait_status(cid, "stopped")
        rt.delete(cid)
        got[name] = ((b.rootfs / "hook-rc").read_text().strip(), (b.rootfs / "hook-dir").exists())
    assert got["oci-run"] == got["runc"]
    assert got["runc"] == ("1", False)


# ----------------------------------------------------------------------------- seccomp ENOSYS (#13)

ENOSYS_PROBE = r"""
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  long nrs[] = {309 /* getcpu: older, not allowed */, 435 /* clone3 */, 450, 460};
  for (unsigned i = 0; i < sizeof nrs / sizeof *nrs; ++i) {
    errno = 0;
    long rc = syscall(nrs[i], 0, 0, 0, 0, 0, 0);
    printf("%ld=%d ", nrs[i], rc < 0 ? errno : 0);
  }
  printf("\n");
  return 0;
}
"""


def x86_64_syscalls() -> dict[str, int]:
    out = {}
    with open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("__NR_"):
                out[parts[1][5:]] = int(parts[2])
    return out


def test_seccomp_newer_syscalls_get_enosys_like_runc(runtime, runc, make_extra_bundle, tmp_path):
    """Default action errno: a syscall newer than every one the profile names
    gets ENOSYS (libc then falls back, clone3 -> clone); older unnamed ones the
    default errno."""
    if os.uname().machine != "x86_64" or not os.path.exists("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"):
        pytest.skip("x86_64 syscall table needed")
    src = tmp_path / "probe.c"
    src.write_text(ENOSYS_PROBE)
    probe = tmp_path / "probe"
    cc = subprocess.run(["cc", "-static", "-O1", "-o", probe, src], capture_output=True, text=True)
    if cc.returncode != 0:
        pytest.skip(f"cannot build a static probe: {cc.stderr}")
    # Everything up to pidfd_send_signal (424), but getcpu.
    allowed = sorted(n for n, nr in x86_64_syscalls().items() if nr < 424 and n != "getcpu")
    out = {}
    for name, rt in both(runtime, runc):
        for archs in (["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], []):
            b = make_extra_bundle()
            (b.rootfs / "probe").write_bytes(probe.read_bytes())
            (b.rootfs / "probe").chmod(0o755)
            with b.edit() as c:
                c["process"]["args"] = ["/probe"]
                c["process"]["noNewPrivileges"] = True
                c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": archs,
                                         "syscalls": [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]}
            rt.run_to_completion(b)
            out[name, len(archs)] = b.stdout().strip()
    assert out["oci-run", 3] == out["runc", 3] and out["oci-run", 0] == out["runc", 0]
    # runc builds its stub from the listed architectures: none listed, no stub.
    assert out["runc", 3] == "309=1 435=38 450=38 460=38"
    assert out["runc", 0] == "309=1 435=1 450=1 460=1"
