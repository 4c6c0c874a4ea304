#!/usr/bin/env python3
"""Benchmark oci-run side by side with crun and runc (issue: start-up faster than crun).

    tests/bench/bench.py [--runs 30] [--runtimes oci-run,crun,runc] [--chart bench.png] [--scale]

Everything runs as root inside one private mount namespace in which
/sys/fs/cgroup/unified/cgroup.controllers is covered by an empty file (crun 1.8
refuses this hybrid layout otherwise), so all runtimes see the same host. The
same busybox bundle (ociVersion 1.0.2, process /bin/true) is used by every
runtime; runs are interleaved and medians reported with the ratio to crun.
Runtimes that are not installed are skipped with a note. This is a report, not
a test: nothing here asserts timings.
"""
import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE, MS_BIND = 0x4000, 1 << 18, 4096


def private_mount_ns():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        sys.exit(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    ctl = b"/sys/fs/cgroup/unified/cgroup.controllers"
    if os.path.exists(ctl):
        empty = tempfile.NamedTemporaryFile(prefix="empty-controllers-", delete=False)
        empty.close()
        if libc.mount(empty.name.encode(), ctl, None, MS_BIND, None) != 0:
            sys.exit(f"cover {ctl.decode()}: {os.strerror(ctypes.get_errno())}")
        os.unlink(empty.name)


def run_timed(argv, cwd=None):
    """(seconds, rusage of that process). stderr goes to a file: a created
    container inherits the runtime's stdio, so a pipe would never see EOF."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} failed ({p.returncode}): {err.read().decode(errors='replace').strip()}")
    return dt, ru


class Runtime:
    def __init__(self, name, binary, work):
        self.name, self.binary = name, binary
        self.root = work / f"root-{name}"
        self.n = 0

    def argv(self, *args):
        return [self.binary, "--root", str(self.root), *args]

    def new_id(self):
        self.n += 1
        return f"bench-{self.name}-{os.getpid()}-{self.n}"

    def state(self, cid):
        r = subprocess.run(self.argv("state", cid), capture_output=True, text=True)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def cleanup(self):
        r = subprocess.run(self.argv("list", "-q"), capture_output=True, text=True)
        for cid in r.stdout.split():
            subprocess.run(self.argv("delete", "--force", cid), capture_output=True)


def make_bundle(work: Path, oci_run: str, name="bundle", mounts=0) -> Path:
    b = work / name
    env = dict(os.environ, OCI_RUN=oci_run)
    subprocess.run([str(REPO / "tests" / "make-bundle.sh"), str(b), "/bin/true"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    cfg = json.loads((b / "config.json").read_text())
    cfg["ociVersion"] = "1.0.2"
    if mounts:
        src = work / "bind-src"
        src.mkdir(exist_ok=True)
        for i in range(mounts):
            cfg["mounts"].append({"destination": f"/mnt/m{i}", "type": "bind", "source": str(src),
                                  "options": ["bind", "ro"]})
    (b / "config.json").write_text(json.dumps(cfg))
    return b


def measure_round(rt, bundle, results):
    """One interleaved round: run, then create/start/state/kill/delete separately."""
    cid = rt.new_id()
    dt, ru = run_timed(rt.argv("run", "-b", str(bundle), cid))
    results.setdefault("run", []).append(dt)
    results.setdefault("faults", []).append(ru.ru_minflt + ru.ru_majflt)
    results.setdefault("rss_kb", []).append(peak_rss_kb(rt, bundle))
    cid = rt.new_id()
    for op, argv in (("create", rt.argv("create", "-b", str(bundle), cid)), ("start", rt.argv("start", cid))):
        dt, _ = run_timed(argv)
        results.setdefault(op, []).append(dt)
    deadline = time.time() + 5
    while rt.state(cid).get("status") not in ("stopped", None) and time.time() < deadline:
        time.sleep(0.005)
    for op, argv in (("state", rt.argv("state", cid)),):
        dt, _ = run_timed(argv)
        results.setdefault(op, []).append(dt)
    # kill needs a live container: a second one that sleeps is not worth the noise;
    # time kill on a created container instead (every runtime supports it).
    kid = rt.new_id()
    run_timed(rt.argv("create", "-b", str(bundle), kid))
    dt, _ = run_timed(rt.argv("kill", kid, "KILL"))
    results.setdefault("kill", []).append(dt)
    deadline = time.time() + 5
    while rt.state(kid).get("status") not in ("stopped", None) and time.time() < deadline:
        time.sleep(0.005)
    run_timed(rt.argv("delete", kid))
    dt, _ = run_timed(rt.argv("delete", cid))
    results.setdefault("delete", []).append(dt)


def peak_rss_kb(rt, bundle):
    """Peak RSS of one `run` through GNU time: a fork from this (large) Python
    process would carry Python's own high-water mark into ru_maxrss."""
    with tempfile.NamedTemporaryFile(mode="r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *rt.argv("run", "-b", str(bundle), rt.new_id())],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(out.read().split()[-1])


def parallel_rate(rt, bundle, per_loop=20):
    def loop():
        for _ in range(per_loop):
            run_timed(rt.argv("run", "-b", str(bundle), rt.new_id()))
    t0 = time.perf_counter()
    ts = [threading.Thread(target=loop) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return 2 * per_loop / (time.perf_counter() - t0)


def syscall_count(rt, bundle, work):
    out = work / f"strace-{rt.name}.txt"
    subprocess.run(["strace", "-f", "-c", "-o", str(out), *rt.argv("run", "-b", str(bundle), rt.new_id())],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    m = re.search(r"^\S+\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total$", out.read_text(), re.M)
    return int(m.group(1)) if m else None


def smallest_memory(rt, bundle, work):
    """Smallest memory.limit (MiB) under which `run` of /bin/true still succeeds."""
    cfg = json.loads((bundle / "config.json").read_text())
    lo, hi, best = 1, 64, None
    while lo <= hi:
        mid = (lo + hi) // 2
        b = work / f"mem-{rt.name}-{mid}"
        shutil.copytree(bundle, b, symlinks=True)
        c = dict(cfg)
        c["linux"] = dict(cfg["linux"])
        c["linux"]["resources"] = dict(cfg["linux"].get("resources", {}))
        c["linux"]["resources"]["memory"] = {"limit": mid * 1024 * 1024, "swap": mid * 1024 * 1024}
        (b / "config.json").write_text(json.dumps(c))
        try:
            run_timed(rt.argv("run", "-b", str(b), rt.new_id()))
            best, hi = mid, mid - 1
        except RuntimeError:
            lo = mid + 1
        finally:
            rt.cleanup()
            shutil.rmtree(b, ignore_errors=True)
    return best


def table(rows, names):
    base = "crun" if "crun" in names else names[0]
    head = "| metric | " + " | ".join(names) + " | " + " | ".join(f"{n}/{base}" for n in names if n != base) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(names) - 1)]
    for metric, unit, vals in rows:
        cells = []
        for n in names:
            v = vals.get(n)
            cells.append("n/a" if v is None else (f"{v:.1f}{unit}" if isinstance(v, float) else f"{v}{unit}"))
        ratios = []
        for n in names:
            if n == base:
                continue
            a, b = vals.get(n), vals.get(base)
            ratios.append(f"{a / b:.2f}x" if a and b else "n/a")
        lines.append(f"| {metric} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


def chart(path, names, vals):
    data = Path(tempfile.mkstemp(suffix=".dat")[1])
    data.write_text("".join(f'"{n}" {vals[n]:.3f}\n' for n in names if vals.get(n)))
    script = (f"set terminal pngcairo size 640,400; set output '{path}'; set style fill solid; "
              f"set boxwidth 0.6; set ylabel 'ms per run of /bin/true (median)'; set yrange [0:*]; "
              f"set title 'oci-run vs crun vs runc'; plot '{data}' using 0:2:xtic(1) with boxes notitle, "
              f"'' using 0:2:(sprintf('%.1f',$2)) with labels offset 0,1 notitle")
    subprocess.run(["gnuplot", "-e", script], check=True)
    data.unlink()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--runtimes", default="oci-run,crun,runc")
    ap.add_argument("--oci-run", default=str(REPO / "build" / "oci-run"))
    ap.add_argument("--chart", help="write a PNG bar chart of the run medians (gnuplot)")
    ap.add_argument("--scale", action="store_true", help="also: 0/100/1000 bind mounts, 500 containers present, list of 500")
    ap.add_argument("--no-memory", action="store_true", help="skip the smallest-memory bisection")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    # `timeout` or Ctrl-C must still reach the cleanup below (containers,
    # cgroups, state dirs of every runtime measured).
    def stop(signum, _frame):
        raise SystemExit(f"bench: stopped by signal {signum}; cleaning up")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    private_mount_ns()
    work = Path(tempfile.mkdtemp(prefix="oci-run-bench-"))
    rts = []
    for name in args.runtimes.split(","):
        binary = args.oci_run if name == "oci-run" else shutil.which(name)
        if not binary or not os.path.exists(binary):
            print(f"note: {name} is not installed; skipped")
            continue
        rts.append(Runtime(name, binary, work))
    names = [r.name for r in rts]
    try:
        bundle = make_bundle(work, args.oci_run)
        results = {r.name: {} for r in rts}
        for rt in rts:  # warm caches
            measure_round(rt, bundle, {})
        for _ in range(args.runs):
            for rt in rts:
                measure_round(rt, bundle, results[rt.name])
        med = lambda rt, k: statistics.median(results[rt][k]) if results[rt].get(k) else None
        rows = [(f"{op} (ms)", "", {n: med(n, op) * 1000 for n in names}) for op in
                ("run", "create", "start", "state", "kill", "delete")]
        rows.append(("containers/s, 2 parallel loops", "", {r.name: parallel_rate(r, bundle) for r in rts}))
        rows.append(("page faults per run (runtime process)", "", {n: int(med(n, "faults")) for n in names}))
        rows.append(("peak RSS of the runtime (KiB)", "", {n: int(med(n, "rss_kb")) for n in names}))
        rows.append(("syscalls of one run", "", {r.name: syscall_count(r, bundle, work) for r in rts}))
        if not args.no_memory:
            rows.append(("smallest memory limit that starts (MiB)", "",
                         {r.name: smallest_memory(r, bundle, work) for r in rts}))
        print(f"\n{args.runs} interleaved rounds; medians\n")
        print(table(rows, names))
        if args.chart:
            chart(args.chart, names, rows[0][2])
            print(f"\nchart: {args.chart}")
        if args.scale:
            print("\nHow cost grows (median ms of `run`, 10 rounds each):\n")
            srows = []
            for mounts in (0, 100, 1000):
                b = make_bundle(work, args.oci_run, f"bundle-m{mounts}", mounts)
                vals = {}
                for rt in rts:
                    ts = [run_timed(rt.argv("run", "-b", str(b), rt.new_id()))[0] for _ in range(10)]
                    vals[rt.name] = statistics.median(ts) * 1000
                srows.append((f"run with {mounts} bind mounts", "", vals))
            for present in (0, 500):
                vals, lists = {}, {}
                for rt in rts:
                    ids = [rt.new_id() for _ in range(present)]
                    for cid in ids:
                        run_timed(rt.argv("create", "-b", str(bundle), cid))
                    ts = [run_timed(rt.argv("run", "-b", str(bundle), rt.new_id()))[0] for _ in range(10)]
                    vals[rt.name] = statistics.median(ts) * 1000
                    if present:
                        lists[rt.name] = statistics.median(
                            [run_timed(rt.argv("list"))[0] for _ in range(5)]) * 1000
                    rt.cleanup()
                srows.append((f"run with {present} containers present", "", vals))
                if present:
                    srows.append((f"list with {present} containers", "", lists))
            print(table(srows, names))
    finally:
        for rt in rts:
            rt.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print("\nbench: done")


if __name__ == "__main__":
    main()
