#!/usr/bin/env python3
"""Run the opencontainers/runtime-tools validation suite against oci-run.

    RUNTIME_TOOLS_DIR=/path/to/built/runtime-tools conformance/run-runtime-tools.py [PROGRAM...]

The runtime-tools tree is built by the user from its own repository (its
README: `make runtimetest validation-executables`); this project never vendors
or builds it. Without RUNTIME_TOOLS_DIR the runner says so and exits 0.

Each program runs alone, with a per-program timeout, with oci-run behind a
wrapper that adds a private --root, and a private TMPDIR. The TAP output is
classified here (Debian's `prove` cannot parse the suite's YAML blocks; see
../shared/CONFORMANCE.md), everything the program left behind is cleaned up,
and a per-program table with totals is written to stdout and to --report.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Programs that cannot pass here or are broken in the suite (CONFORMANCE.md §4-§7).
EXPECTED = {
    "linux_cgroups_blkio": ("E", "v1 blkio has no CFQ weight files on this kernel"),
    "linux_cgroups_relative_blkio": ("E", "v1 blkio has no CFQ weight files on this kernel"),
    "linux_cgroups_hugetlb": ("E", "hugetlb lives on the cgroup2 mount; the suite reads only v1"),
    "linux_cgroups_relative_hugetlb": ("E", "hugetlb lives on the cgroup2 mount; the suite reads only v1"),
    "linux_cgroups_network": ("E", "net_cls/net_prio are not mounted here"),
    "linux_cgroups_relative_network": ("E", "net_cls/net_prio are not mounted here"),
    "linux_cgroups_memory": ("E", "kernel 6.18 ignores memory.kmem.limit_in_bytes: the `kernel` lines fail"),
    "linux_cgroups_relative_memory": ("E", "kernel 6.18 ignores memory.kmem.limit_in_bytes: the `kernel` lines fail"),
    "linux_process_apparmor_profile": ("E", "AppArmor is not enabled in this kernel"),
    "process_capabilities": ("E", "CAP_SYS_RESOURCE is not in root's bounding set here"),
    "hooks": ("S", "expected text lacks ' called'; reads output after the bundle is removed"),
    "prestart": ("S", "follows the pre-1.0.2 lifecycle (prestart after start)"),
    "poststart_fail": ("S", "encodes the pre-1.3 rule; spec 1.3 requires an error and a stopped container"),
    "delete_resources": ("S", "compares two *int64 pointers for pids.limit (1 not ok)"),
    "linux_cgroups_pids": ("S", "compares two *int64 pointers for pids.limit (1 not ok)"),
    "linux_cgroups_relative_pids": ("S", "compares two *int64 pointers for pids.limit (1 not ok)"),
    "misc_props": ("S", "unknown-annotation case never copies /runtimetest into the bundle"),
    "process_rlimits": ("S", "runtimetest (Go) raises its own NOFILE soft limit (1 not ok)"),
    "pidfile": ("S", "kills an already stopped container and counts the (correct) failure"),
    "start": ("S", "asserts start succeeds without a process; the spec says it MUST fail"),
    "delete": ("D", "delete of a created container succeeds, as runc and containerd require"),
    "linux_mount_label": ("D", "SELinux is not enabled: mountLabel is rejected, not ignored"),
}

PASS_STATUSES = {"PASS", "NOASSERT", "NOTAP-EXIT0"}

PLAN = re.compile(r"^1\.\.(\d+)")
TEST = re.compile(r"^(ok|not ok)\b")
NOT_OK = re.compile(r"^\s*not ok\b")
# An error in a program's output, in either form the suite prints: a YAML-ish
# `error: ...` line, or the JSON that tap-go's YAML() writes ("error": ...).
ERROR = re.compile(r'^\s*(?:error\s*:|"error"\s*:)')
BLOCK_START = re.compile(r"^\s*---\s*$")
BLOCK_END = re.compile(r"^\s*\.\.\.\s*$")


def unattached_errors(lines: list[str]) -> list[str]:
    """Error lines that belong to no TAP test line.

    A diagnostic block next to a test line (after it: util.SpecErrorOK; before
    it: util.RuntimeInsideValidate) explains that test: an `ok` whose block
    holds the error it expected ("start without an ID MUST fail") is a pass, a
    `not ok` fails anyway. An error anywhere else -- a diagnostic printed with
    no assertion (hooks, prestart, poststart_fail), or a bare `error:` line --
    is a failure of the program."""
    out: list[str] = []
    n = len(lines)
    k = 0

    def neighbour(idx: int, step: int) -> str | None:
        while 0 <= idx < n:
            if lines[idx].strip():
                return lines[idx]
            idx += step
        return None

    while k < n:
        line = lines[k]
        if BLOCK_START.match(line):
            end = k + 1
            while end < n and not BLOCK_END.match(lines[end]):
                end += 1
            errs = [l for l in lines[k + 1:end] if ERROR.match(l)]
            if errs:
                before, after = neighbour(k - 1, -1), neighbour(end + 1, 1)
                attached = any(x is not None and TEST.match(x) for x in (before, after))
                if not attached:
                    out += errs
            k = end + 1
            continue
        if ERROR.match(line):
            out.append(line)
        k += 1
    return out


def classify(out: str, rc: int, timed_out: bool) -> tuple[str, int, int]:
    """Returns (status, ok count, not-ok count) over the top-level TAP lines.

    A run fails (status not in PASS_STATUSES) on a timeout, a non-zero exit, any
    `not ok` (nested ones too), an error that no passing test line owns (see
    unattached_errors), or a TAP plan that its test lines do not match."""
    if timed_out:
        return "TIMEOUT", 0, 0
    lines = out.splitlines()
    ok = sum(1 for l in lines if TEST.match(l) and l.startswith("ok"))
    notok_top = sum(1 for l in lines if l.startswith("not ok"))
    # Nested TAP (inside YAML blocks) is indented; any "not ok" counts as a failure.
    notok_any = sum(1 for l in lines if NOT_OK.match(l))
    plans = [int(m.group(1)) for l in lines if (m := PLAN.match(l))]
    errors = unattached_errors(lines)
    if not plans and ok == 0 and notok_top == 0:
        if rc != 0:
            return "FAIL-NOTAP", 0, 0
        if errors:
            return "FAIL-DIAG", 0, 0
        return "NOTAP-EXIT0", 0, 0
    if notok_any or rc != 0:
        return "FAIL", ok, max(notok_top, notok_any)
    if errors:
        return "FAIL-DIAG", ok, 0
    if plans and all(p == 0 for p in plans) and ok == 0:
        return "NOASSERT", 0, 0
    # Each TAP document's plan must match its own top-level test lines.
    docs, cur = [], None
    for l in lines:
        m = PLAN.match(l)
        if m:
            if cur is not None and cur["tests"] and cur["plan"] is not None:
                docs.append(cur)
                cur = None
            if cur is None:
                cur = {"plan": int(m.group(1)), "tests": 0}
            else:
                cur["plan"] = int(m.group(1))
                docs.append(cur)
                cur = None
            continue
        if TEST.match(l):
            if cur is None:
                cur = {"plan": None, "tests": 0}
            cur["tests"] += 1
    if cur is not None:
        docs.append(cur)
    for d in docs:
        if d["plan"] is not None and d["plan"] != d["tests"]:
            return "FAIL", ok, 0
    return "PASS", ok, 0


def summarize(statuses: list[str]) -> tuple[str, int]:
    """One program's result over its runs: (status, runs passed). A program
    passes only if every run passed; one that passed some runs is FLAKY."""
    passed = sum(1 for s in statuses if s in PASS_STATUSES)
    if passed == len(statuses):
        return statuses[0], passed
    if passed == 0:
        return next(s for s in statuses if s not in PASS_STATUSES), passed
    return "FLAKY", passed


def write_wrapper(dir_: Path, oci_run: Path, root: Path) -> Path:
    w = dir_ / "oci-run"
    w.write_text(f'#!/bin/sh\nexec "{oci_run}" --root "{root}" "$@"\n')
    w.chmod(0o755)
    return w


def cleanup(oci_run: Path, root: Path, tmpdir: Path) -> list[str]:
    """Remove everything a program may have left; return what was found."""
    found = []
    if root.exists():
        r = subprocess.run([str(oci_run), "--root", str(root), "list", "-q"], capture_output=True, text=True)
        for cid in r.stdout.split():
            found.append(f"container {cid}")
            subprocess.run([str(oci_run), "--root", str(root), "delete", "--force", cid], capture_output=True)
    for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
        mp = line.split()[4]
        if mp.startswith(str(tmpdir) + "/"):
            found.append(f"mount {mp}")
            subprocess.run(["umount", "-l", mp], capture_output=True)
    for name in ("cgrouptest", "testdir"):
        for ctrl in Path("/sys/fs/cgroup").iterdir():
            d = ctrl / name
            if d.is_dir():
                found.append(f"cgroup {d}")
                for sub in sorted(d.rglob("*"), key=lambda p: -len(p.parts)):
                    if sub.is_dir():
                        try:
                            sub.rmdir()
                        except OSError:
                            pass
                try:
                    d.rmdir()
                except OSError:
                    pass
    for child in tmpdir.iterdir():
        shutil.rmtree(child, ignore_errors=True)
    return found


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("programs", nargs="*", help="program names (default: all)")
    ap.add_argument("--oci-run", default=os.environ.get("OCI_RUN", str(REPO / "build" / "oci-run")))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("CONFORMANCE_TIMEOUT", "60")))
    ap.add_argument("--report", default=str(REPO / "build" / "runtime-tools-report.md"))
    ap.add_argument("--logs", help="keep each program's raw output in this directory")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each program N times; it passes only if every run passes, the report gives "
                         "its pass rate (a program that passes some runs is FLAKY, counted as failing)")
    args = ap.parse_args()

    rt = os.environ.get("RUNTIME_TOOLS_DIR")
    if not rt:
        print("RUNTIME_TOOLS_DIR is not set: build runtime-tools by its README "
              "(make runtimetest validation-executables) and point RUNTIME_TOOLS_DIR at it. Nothing run.")
        return 0
    rt = Path(rt).resolve()
    oci_run = Path(args.oci_run).resolve()
    if os.geteuid() != 0:
        print("the validation suite must run as root", file=sys.stderr)
        return 1
    progs = sorted(p for p in (rt / "validation").glob("*/*.t"))
    if args.programs:
        progs = [p for p in progs if p.stem in args.programs]
    if not progs:
        print(f"no validation programs under {rt}/validation (run its `make validation-executables`)",
              file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="oci-run-conformance-"))
    work.chmod(0o755)  # uid 1000 must traverse bundles (linux_uid_mappings)
    root, tmpdir, bindir = work / "state", work / "tmp", work / "bin"
    for d in (tmpdir, bindir):
        d.mkdir()
    tmpdir.chmod(0o1777)
    wrapper = write_wrapper(bindir, oci_run, root)
    logs = Path(args.logs) if args.logs else None
    if logs:
        logs.mkdir(parents=True, exist_ok=True)

    rows = []
    try:
        for prog in progs:
            name = prog.stem
            statuses, oks, notoks, left, dt = [], 0, 0, [], 0.0
            for run in range(args.repeat):
                env = dict(os.environ, RUNTIME=str(wrapper), TMPDIR=str(tmpdir))
                t0 = time.monotonic()
                p = subprocess.Popen([str(prog)], cwd=rt, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
                timed_out = False
                try:
                    out, _ = p.communicate(timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    out, _ = p.communicate()
                    timed_out = True
                dt += time.monotonic() - t0
                text = out.decode(errors="replace")
                status, ok, notok = classify(text, p.returncode, timed_out)
                statuses.append(status)
                oks, notoks = max(oks, ok), max(notoks, notok)
                left += [x for x in cleanup(oci_run, root, tmpdir) if x not in left]
                if logs:
                    suffix = f".{run + 1}" if args.repeat > 1 else ""
                    (logs / f"{name}{suffix}.log").write_text(text)
            status, runs_passed = summarize(statuses)
            rate = f"{runs_passed}/{args.repeat}"
            cls, why = EXPECTED.get(name, ("T", ""))
            rows.append((name, status, oks, notoks, dt / args.repeat, cls, why, left, rate))
            mark = "pass" if status in PASS_STATUSES else "FAIL"
            print(f"{mark:4} {name:40} {status:12} ok={oks:<4} not_ok={notoks:<3} {dt / args.repeat:5.1f}s"
                  + (f" runs passed {rate} ({', '.join(statuses)})" if args.repeat > 1 else "")
                  + (f"  [{cls}: {why}]" if cls != "T" and mark == "FAIL" else "")
                  + (f"  left behind: {', '.join(left)}" if left else ""), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    passed = sum(1 for r in rows if r[1] in PASS_STATUSES)
    failed = len(rows) - passed
    unexpected = [r for r in rows if r[1] not in PASS_STATUSES and r[5] == "T"]
    lines = ["| program | result | runs passed | ok | not ok | time | class | note |",
             "|---|---|---|---|---|---|---|---|"]
    for name, status, ok, notok, dt, cls, why, left, rate in rows:
        note = why if status not in PASS_STATUSES else ""
        if left:
            note += (" " if note else "") + "left behind: " + ", ".join(left)
        lines.append(f"| {name} | {status} | {rate} | {ok} | {notok} | {dt:.1f}s | {cls} | {note} |")
    lines.append("")
    lines.append(f"Totals: {passed} passed, {failed} failed of {len(rows)}; "
                 f"failing targets (class T): {', '.join(r[0] for r in unexpected) or 'none'}")
    Path(args.report).parent.mkdir(parents=True, exist_ok=True)
    Path(args.report).write_text("\n".join(lines) + "\n")
    print(f"\nreport: {args.report}")
    print(f"runtime-tools: {passed} passed, {failed} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
