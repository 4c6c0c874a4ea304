#!/usr/bin/env python3
"""Benchmark oci-run side by side with crun and runc (issue: start-up faster than crun).

    tests/bench/bench.py [--runs 30] [--runtimes oci-run,crun,runc] [--oci-run PATH]
                         [--chart docs/bench/bench.png] [--scale] [--no-memory]

Everything runs as root inside one private mount namespace in which
/sys/fs/cgroup/unified/cgroup.controllers is covered by an empty file (crun 1.8
refuses this hybrid layout otherwise), so all runtimes see the same host. The
same busybox bundle (ociVersion 1.0.2, process /bin/true) is used by every
runtime; runs are interleaved and medians reported with the ratio to crun,
times as "p50 (p10-p90)". `exec` runs /bin/true in a running container of
each runtime; containers/s is measured with 2 and with 8 parallel loops. The
machine (CPU model, CPUs, kernel) is printed above each table.
Runtimes that are not installed are skipped with a note. This is a report, not
a test: nothing here asserts timings.

The oci-run measured is --oci-run, else $OCI_RUN, else build/oci-run of this
checkout. --chart FILE.png (or .svg) draws the main table as one panel per
metric; with --scale a second chart FILE-scale.png draws how cost grows.
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
    def __init__(self, name, binary, work, prefix=None):
        self.name, self.binary = name, binary
        self.root = work / f"root-{name}"
        self.prefix = prefix or f"bench-{name}"  # ids name cgroups too: unique per Runtime
        self.n = 0

    def argv(self, *args):
        return [self.binary, "--root", str(self.root), *args]

    def new_id(self):
        self.n += 1
        return f"{self.prefix}-{os.getpid()}-{self.n}"

    def state(self, cid):
        r = subprocess.run(self.argv("state", cid), capture_output=True, text=True)
        return json.loads(r.stdout) if r.returncode == 0 else {}

    def cleanup(self):
        r = subprocess.run(self.argv("list", "-q"), capture_output=True, text=True)
        for cid in r.stdout.split():
            subprocess.run(self.argv("delete", "--force", cid), capture_output=True)


def make_bundle(work: Path, oci_run: str, name="bundle", mounts=0, args=("/bin/true",)) -> Path:
    b = work / name
    env = dict(os.environ, OCI_RUN=oci_run)
    subprocess.run([str(REPO / "tests" / "make-bundle.sh"), str(b), *args], check=True,
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


def measure_round(rt, bundle, results, sleeper=None):
    """One interleaved round: run, then create/start/state/kill/delete separately,
    then exec of /bin/true in the running container `sleeper` (if given)."""
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
    if sleeper:
        dt, _ = run_timed(rt.argv("exec", sleeper, "/bin/true"))
        results.setdefault("exec", []).append(dt)


def start_sleeper(rt, bundle):
    """A running container (sleep) of `rt` for the exec row; its id."""
    cid = rt.new_id()
    run_timed(rt.argv("create", "-b", str(bundle), cid))
    run_timed(rt.argv("start", cid))
    return cid


def percentiles(values):
    """(p10, p50, p90) of `values` (inclusive method: stays inside the data)."""
    if len(values) < 2:
        v = values[0]
        return v, v, v
    q = statistics.quantiles(values, n=10, method="inclusive")
    return q[0], statistics.median(values), q[8]


def peak_rss_kb(rt, bundle):
    """Peak RSS of one `run` through GNU time: a fork from this (large) Python
    process would carry Python's own high-water mark into ru_maxrss."""
    with tempfile.NamedTemporaryFile(mode="r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *rt.argv("run", "-b", str(bundle), rt.new_id())],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return int(out.read().split()[-1])


def parallel_rate(rts, bundle, rounds=3, per_loop=10, loops=2):
    """Containers per second with `loops` loops of `run` side by side;
    `rounds` interleaved rounds per runtime, median reported."""
    rates = {rt.name: [] for rt in rts}
    for _ in range(rounds):
        for rt in rts:
            def loop():
                for _ in range(per_loop):
                    run_timed(rt.argv("run", "-b", str(bundle), rt.new_id()))
            t0 = time.perf_counter()
            ts = [threading.Thread(target=loop) for _ in range(loops)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            rates[rt.name].append(loops * per_loop / (time.perf_counter() - t0))
    return {n: statistics.median(v) for n, v in rates.items()}


def syscall_count(rt, bundle, work):
    """Syscalls of one `run` (runtime and container, strace -f -c)."""
    out = work / f"strace-{rt.name}.txt"
    subprocess.run(["strace", "-f", "-c", "-o", str(out), *rt.argv("run", "-b", str(bundle), rt.new_id())],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    m = re.search(r"^\S+\s+\S+\s+\S+\s+(\d+)\s+(?:\d+\s+)?total$", out.read_text(), re.M)
    return int(m.group(1)) if m else None


def syscall_counts(rts, bundle, work, rounds=3):
    """Median of `rounds` interleaved counts (Go's runtime makes runc's vary)."""
    counts = {rt.name: [] for rt in rts}
    for _ in range(rounds):
        for rt in rts:
            c = syscall_count(rt, bundle, work)
            if c is not None:
                counts[rt.name].append(c)
    return {n: int(statistics.median(v)) if v else None for n, v in counts.items()}


def smallest_memory(rt, bundle, work, lo_kib=4, hi_kib=64 * 1024, tries=3):
    """Smallest memory limit (KiB, page granular) under which `run` of
    /bin/true still succeeds `tries` times in a row (near the edge a start
    succeeds or not from one run to the next); None if not even hi_kib does."""
    cfg = json.loads((bundle / "config.json").read_text())
    lo, hi, best = lo_kib // 4, hi_kib // 4, None  # in 4 KiB pages
    while lo <= hi:
        mid = (lo + hi) // 2
        b = work / f"mem-{rt.name}-{mid}"
        shutil.copytree(bundle, b, symlinks=True)
        c = dict(cfg)
        c["linux"] = dict(cfg["linux"])
        c["linux"]["resources"] = dict(cfg["linux"].get("resources", {}))
        c["linux"]["resources"]["memory"] = {"limit": mid * 4096, "swap": mid * 4096}
        (b / "config.json").write_text(json.dumps(c))
        try:
            for _ in range(tries):
                run_timed(rt.argv("run", "-b", str(b), rt.new_id()))
            best, hi = mid * 4, mid - 1
        except RuntimeError:
            lo = mid + 1
        finally:
            rt.cleanup()
            shutil.rmtree(b, ignore_errors=True)
    return best


def fmt(v):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)


def table(rows, names, spreads=None):
    """rows: (metric, unit, {runtime: value}); spreads: {metric: {runtime: (p10, p90)}}
    for the timed rows, shown next to the median as "p50 (p10-p90)"."""
    spreads = spreads or {}
    base = "crun" if "crun" in names else names[0]
    head = "| metric | " + " | ".join(names) + " | " + " | ".join(f"{n}/{base}" for n in names if n != base) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(names) - 1)]
    for metric, unit, vals in rows:
        cells = []
        for n in names:
            cell = fmt(vals.get(n)) + ("" if vals.get(n) is None else unit)
            sp = spreads.get(metric, {}).get(n)
            if sp and vals.get(n) is not None:
                cell += f" ({fmt(sp[0])}-{fmt(sp[1])})"
            cells.append(cell)
        ratios = []
        for n in names:
            if n == base:
                continue
            a, b = vals.get(n), vals.get(base)
            ratios.append(f"{a / b:.2f}x" if a and b and a > 0 and b > 0 else "n/a")
        lines.append(f"| {metric} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    return "\n".join(lines)


COLORS = {"oci-run": "#2e8b57", "crun": "#4169e1", "runc": "#ff8c00"}


def gp_terminal(path, width, height):
    if str(path).endswith(".svg"):
        return f"set terminal svg size {width},{height} dynamic font 'Sans,11' background '#ffffff'"
    return f"set terminal pngcairo size {width},{height} font 'Sans,10'"


def gp_quote(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def bar_panel(metric, names, vals, base):
    """gnuplot commands for one bar panel: one bar per runtime, value on top,
    ratio to the base runtime under the runtime's name."""
    shown = [n for n in names if vals.get(n) is not None]
    if not shown:
        return ""
    b = vals.get(base)

    def tic(n):
        a = vals[n]
        return n if n == base or not b or a <= 0 or b <= 0 else f"{n}\\n{a / b:.2f}x"
    xt = ", ".join(f'"{tic(n)}" {i}' for i, n in enumerate(shown))
    top = max(max(vals[n] for n in shown), 0)
    bottom = min(min(vals[n] for n in shown), 0)
    span = (top - bottom) or 1
    data = "".join(f'{i} {vals[n]} "{fmt(vals[n])}" {int(COLORS.get(n, "#888888")[1:], 16)}\n'
                   for i, n in enumerate(shown))
    return (f'set title "{gp_quote(metric)}"; set xtics ({xt}); set xrange [-0.6:{len(shown) - 0.4}]; '
            f"set yrange [{bottom - 0.1 * span if bottom < 0 else 0}:{top + 0.25 * span}]; "
            f"plot '-' using 1:2:4 with boxes lc rgb variable notitle, "
            f"'-' using 1:($2 > 0 ? $2 : 0):3 with labels offset 0,0.7 notitle\n{data}e\n{data}e\n")


def chart(path, title, names, rows, line_groups=()):
    """One panel per table row (bars; ratios to crun under the names) and,
    for line_groups [(panel title, x label, [(x, row index), ...])], one line
    panel per group first (x = mounts or containers, y = ms per run)."""
    base = "crun" if "crun" in names else names[0]
    grouped = {i for _, _, pts in line_groups for _, i in pts}
    bars = [r for i, r in enumerate(rows) if i not in grouped]
    panels = len(bars) + len(line_groups)
    cols = 4 if panels > 6 else 3
    nrows = (panels + cols - 1) // cols
    width, height = 330 * cols, 290 * nrows + 40
    gp = [gp_terminal(path, width, height), f"set output '{path}'",
          "set style fill solid 0.85 border -1", "set boxwidth 0.6", "set grid ytics lc rgb '#dddddd'",
          "set key off", "set tics nomirror", "set border 3", "set bmargin 4.5",
          f'set multiplot layout {nrows},{cols} title "{gp_quote(title)}" font ",13"']
    for ptitle, xlabel, pts in line_groups:
        xs = [x for x, _ in pts]
        top = max(rows[i][2].get(n) or 0 for _, i in pts for n in names)
        gp.append(f'set title "{gp_quote(ptitle)}"; set xtics ({", ".join(str(x) for x in xs)}); '
                  f'set xrange [{min(xs) - 0.05 * max(xs)}:{max(xs) * 1.05}]; set yrange [0:{top * 1.35 or 1}]; '
                  f'set xlabel "{gp_quote(xlabel)}" offset 0,0.5; set ylabel "ms per run" offset 1,0; '
                  f"set key top left horizontal reverse Left samplen 1.5")
        plots, data = [], ""
        for n in names:
            ys = [(x, rows[i][2].get(n)) for x, i in pts if rows[i][2].get(n) is not None]
            if not ys:
                continue
            plots.append(f"'-' using 1:2 with linespoints lw 2 pt 7 lc rgb '{COLORS.get(n, '#888888')}' "
                         f'title "{n}"')
            data += "".join(f"{x} {y}\n" for x, y in ys) + "e\n"
        gp.append("plot " + ", ".join(plots) + "\n" + data)
        gp.append('unset xlabel; unset ylabel; set key off')
    for metric, _unit, vals in bars:
        gp.append(bar_panel(metric, names, vals, base))
    gp.append("unset multiplot")
    script = Path(tempfile.mkstemp(suffix=".gp")[1])
    script.write_text("\n".join(gp) + "\n")
    try:
        subprocess.run(["gnuplot", str(script)], check=True)
    finally:
        script.unlink()


def scale_rows(rts, bundle, work, oci_run, rounds, present=500):
    """How cost grows. Every row is measured in the same interleaved rounds
    (round after round: each size, each runtime), so a burst of load on the
    machine hits all rows and runtimes alike:
    `run` with 0/100/1000 bind mounts; `run` with 0 containers present (an
    empty state root) and with `present` containers present (a second state
    root of that runtime holding `present` created containers); `list` of that
    second root."""
    bundles = {m: make_bundle(work, oci_run, f"bundle-m{m}", m) for m in (0, 100, 1000)}
    full = {rt.name: Runtime(rt.name, rt.binary, work / f"full-{rt.name}", f"bench-full-{rt.name}") for rt in rts}
    for f in full.values():
        f.root.parent.mkdir(parents=True, exist_ok=True)
    try:
        for i in range(present):  # interleaved too: the page cache and the load stay alike
            for rt in rts:
                f = full[rt.name]
                run_timed(f.argv("create", "-b", str(bundle), f.new_id()))
        keys = [f"m{m}" for m in bundles] + ["empty", "full", "list"]
        ts = {k: {rt.name: [] for rt in rts} for k in keys}
        for r in range(rounds + 1):  # round 0 warms up and is not counted
            for rt in rts:
                f = full[rt.name]
                got = {f"m{m}": run_timed(rt.argv("run", "-b", str(b), rt.new_id()))[0] for m, b in bundles.items()}
                got["empty"] = run_timed(rt.argv("run", "-b", str(bundle), rt.new_id()))[0]
                got["full"] = run_timed(f.argv("run", "-b", str(bundle), f.new_id()))[0]
                got["list"] = run_timed(f.argv("list"))[0]
                if r:
                    for k, v in got.items():
                        ts[k][rt.name].append(v)
    finally:
        for f in full.values():
            f.cleanup()
    med = {k: {n: statistics.median(v) * 1000 for n, v in per.items()} for k, per in ts.items()}
    rows = [(f"run with {m} bind mounts (ms)", "", med[f"m{m}"]) for m in bundles]
    rows.append(("run with 0 containers present (ms)", "", med["empty"]))
    rows.append((f"run with {present} containers present (ms)", "", med["full"]))
    rows.append((f"list with {present} containers (ms)", "", med["list"]))
    m0, m100, m1000 = med["m0"], med["m100"], med["m1000"]
    rows.append(("extra us per bind mount (0 -> 100)", "", {n: (m100[n] - m0[n]) * 1000 / 100 for n in m0}))
    rows.append(("extra us per bind mount (100 -> 1000)", "", {n: (m1000[n] - m100[n]) * 1000 / 900 for n in m0}))
    rows.append((f"extra us per container present (0 -> {present})", "",
                 {n: (med["full"][n] - med["empty"][n]) * 1000 / present for n in m0}))
    return rows


def machine():
    """CPU model, CPUs and kernel: the line naming the machine of a table."""
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    kvm = "with /dev/kvm" if os.path.exists("/dev/kvm") else "no /dev/kvm"
    return f"{model}, {os.cpu_count()} CPUs, Linux {os.uname().release}, {kvm}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--runtimes", default="oci-run,crun,runc")
    ap.add_argument("--oci-run", default=os.environ.get("OCI_RUN") or str(REPO / "build" / "oci-run"),
                    help="oci-run binary to measure (default: $OCI_RUN, else build/oci-run)")
    ap.add_argument("--chart", help="draw the table as a chart, FILE.png or FILE.svg (gnuplot); "
                    "with --scale also FILE-scale.png/.svg")
    ap.add_argument("--scale", action="store_true", help="also: 0/100/1000 bind mounts, 0/500 containers present, list of 500")
    ap.add_argument("--scale-runs", type=int, default=20, help="interleaved rounds of the --scale rows (default 20)")
    ap.add_argument("--scale-present", type=int, default=500, help="containers present for --scale (default 500)")
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
        sleep_bundle = make_bundle(work, args.oci_run, "bundle-sleep", args=("sleep", "100000"))
        sleepers = {rt.name: start_sleeper(rt, sleep_bundle) for rt in rts}
        results = {r.name: {} for r in rts}
        for rt in rts:  # warm caches
            measure_round(rt, bundle, {}, sleepers[rt.name])
        for _ in range(args.runs):
            for rt in rts:
                measure_round(rt, bundle, results[rt.name], sleepers[rt.name])
        for rt in rts:
            subprocess.run(rt.argv("delete", "--force", sleepers[rt.name]), capture_output=True)
        med = lambda rt, k: statistics.median(results[rt][k]) if results[rt].get(k) else None
        ops = ("run", "create", "start", "state", "kill", "delete", "exec")
        rows = [(f"{op} (ms)", "", {n: med(n, op) * 1000 for n in names if results[n].get(op)}) for op in ops]
        # p10/p90 next to every median: a median hides a tail (issue #17).
        spreads = {f"{op} (ms)": {n: tuple(v * 1000 for v in percentiles(results[n][op]))[::2]
                                  for n in names if results[n].get(op)} for op in ops}
        rows.append(("containers/s, 2 parallel loops", "", parallel_rate(rts, bundle)))
        rows.append(("containers/s, 8 parallel loops", "", parallel_rate(rts, bundle, per_loop=5, loops=8)))
        rows.append(("page faults per run (runtime process)", "", {n: int(med(n, "faults")) for n in names}))
        rows.append(("peak RSS of the runtime (KiB)", "", {n: int(med(n, "rss_kb")) for n in names}))
        rows.append(("syscalls of one run", "", syscall_counts(rts, bundle, work)))
        if not args.no_memory:
            rows.append(("smallest memory limit that starts (KiB)", "",
                         {r.name: smallest_memory(r, bundle, work) for r in rts}))
        print(f"\nmachine: {machine()}", flush=True)
        print(f"\n{args.runs} interleaved rounds; medians, for times p50 (p10-p90)\n", flush=True)
        print(table(rows, names, spreads), flush=True)
        if args.chart:
            chart(args.chart, f"oci-run vs crun vs runc: medians of {args.runs} interleaved rounds "
                  "(ratio to crun under each name)", names, rows)
            print(f"\nchart: {args.chart}", flush=True)
        if args.scale:
            print(f"\nHow cost grows (machine: {machine()}; medians of {args.scale_runs} interleaved rounds; "
                  "'containers present' = created containers in the runtime's state root):\n", flush=True)
            srows = scale_rows(rts, bundle, work, args.oci_run, args.scale_runs, args.scale_present)
            print(table(srows, names), flush=True)
            if args.chart:
                stem, dot, ext = args.chart.rpartition(".")
                spath = f"{stem}-scale.{ext}" if dot else f"{args.chart}-scale"
                chart(spath, f"How cost grows: medians of {args.scale_runs} interleaved rounds "
                      "(ratio to crun under each name)",
                      names, srows,
                      line_groups=[("run with N bind mounts", "bind mounts", [(0, 0), (100, 1), (1000, 2)]),
                                   ("run with N other containers present", "containers present",
                                    [(0, 3), (args.scale_present, 4)])])
                print(f"\nchart: {spath}", flush=True)
    finally:
        for rt in rts:
            rt.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    print("\nbench: done")


if __name__ == "__main__":
    main()
