#!/usr/bin/env python3
"""Cost of the binary protection (docs/binary-protection.md) on `run` and `exec`.

    tests/bench/binary_protection.py [--rounds 40] [--oci-run build/oci-run]
        [--unprotected /work/main/build/oci-run] [--unsplit PATH]

Variants, interleaved in a shuffled order every round; wall and CPU time of one
`oci-run run` of /bin/true, of one `oci-run exec CID true` into a running
container (created by the plain build) and of start-up alone (`exec` into a
container that does not exist: the protection, then the lookup fails):
  ro-mount     the binary on a read-only bind mount: checked, not re-executed
  bind         default: re-executed from a detached read-only bind clone
  memfd        forced (OCI_RUN_TEST_SELF_EXE=memfd): a sealed memfd copy
  unprotected  --unprotected: a build without the protection, if given
  bind-41MB / memfd-41MB  --unsplit: the same build with its debug info in
Needs root. A report, not a test.
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def timed(argv, env, ok=True):
    """(wall seconds, CPU seconds of the process and the children it waited
    for). stderr goes to a file: a created container inherits the runtime's
    stdio, so a pipe would never see EOF."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if (p.returncode == 0) != ok:
            err.seek(0)
            raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {err.read().decode(errors='replace')}")
    return dt, ru.ru_utime + ru.ru_stime


def p90(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--oci-run", default=os.environ.get("OCI_RUN", str(REPO / "build" / "oci-run")))
    ap.add_argument("--unprotected", help="a build without the protection (e.g. the main branch before it)")
    ap.add_argument("--unsplit", help="the protected build with its debug info still in the binary")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root")

    work = Path(tempfile.mkdtemp(prefix="oci-binprot-bench-"))
    ro_dir = work / "ro"
    mounted = False
    root = work / "state"
    ids = []
    try:
        rw_dir = work / "rw"
        rw_dir.mkdir()
        ro_dir.mkdir()
        shutil.copy2(a.oci_run, rw_dir / "oci-run")
        shutil.copy2(a.oci_run, ro_dir / "oci-run")
        subprocess.run(["mount", "--bind", str(ro_dir), str(ro_dir)], check=True)
        mounted = True
        subprocess.run(["mount", "-o", "remount,bind,ro", str(ro_dir)], check=True)
        base_env = {k: v for k, v in os.environ.items() if k != "OCI_RUN_TEST_SELF_EXE"}
        memfd_env = dict(base_env, OCI_RUN_TEST_SELF_EXE="memfd")
        variants = {
            "ro-mount": (str(ro_dir / "oci-run"), base_env),
            "bind": (str(rw_dir / "oci-run"), base_env),
            "memfd": (str(rw_dir / "oci-run"), memfd_env),
        }
        if a.unprotected:
            shutil.copy2(a.unprotected, work / "oci-run-unprotected")
            variants["unprotected"] = (str(work / "oci-run-unprotected"), base_env)
        if a.unsplit:
            shutil.copy2(a.unsplit, work / "oci-run-unsplit")
            variants["bind-41MB"] = (str(work / "oci-run-unsplit"), base_env)
            variants["memfd-41MB"] = (str(work / "oci-run-unsplit"), memfd_env)

        bundle = work / "bundle"
        subprocess.run(["bash", str(REPO / "tests" / "make-bundle.sh"), str(bundle), "true"], check=True,
                       env=dict(os.environ, OCI_RUN=a.oci_run), stdout=subprocess.DEVNULL)
        sleeper = work / "sleeper"
        shutil.copytree(bundle, sleeper, symlinks=True)
        cfg = (sleeper / "config.json").read_text().replace('"true"', '"sleep", "3600"')
        (sleeper / "config.json").write_text(cfg)
        plain = str(rw_dir / "oci-run")
        g = ["--root", str(root)]
        ids.append("bench-sleeper")
        timed([plain, *g, "create", "--bundle", str(sleeper), "bench-sleeper"], base_env)
        timed([plain, *g, "start", "bench-sleeper"], base_env)

        ops = ("run", "exec", "startup")
        times = {(v, op): [] for v in variants for op in ops}
        n = 0
        for _ in range(3):  # warm-up: page cache, dentries
            for binary, env in variants.values():
                timed([binary, *g, "exec", "bench-sleeper", "true"], env)
        for _ in range(a.rounds):
            order = [(v, op) for v in variants for op in ops]
            random.shuffle(order)
            for v, op in order:
                binary, env = variants[v]
                if op == "run":
                    n += 1
                    cid = f"bench-{n}"
                    times[(v, op)].append(timed([binary, *g, "run", "--bundle", str(bundle), cid], env))
                elif op == "exec":
                    times[(v, op)].append(timed([binary, *g, "exec", "bench-sleeper", "true"], env))
                else:  # start-up and protection only: exec into a container that does not exist
                    times[(v, op)].append(timed([binary, *g, "exec", "no-such-container", "true"], env, ok=False))

        size = os.path.getsize(a.oci_run)
        print(f"{a.rounds} interleaved rounds; binary {size / 1e6:.1f} MB; "
              f"CPU {cpu_model()}, {os.cpu_count()} cores, kernel {os.uname().release}")
        print("wall ms: median / p90; cpu ms: median user+sys of the runtime and the children it reaped")
        print("| variant | run wall | run cpu | exec wall | exec cpu | start-up wall | start-up cpu |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for v in variants:
            cells = []
            for op in ops:
                wall = [w for w, _ in times[(v, op)]]
                cpu = [c for _, c in times[(v, op)]]
                cells.append(f"{statistics.median(wall) * 1e3:.1f} / {p90(wall) * 1e3:.1f}")
                cells.append(f"{statistics.median(cpu) * 1e3:.1f}")
            print(f"| {v} | " + " | ".join(cells) + " |")
    finally:
        for cid in ids:
            subprocess.run([str(work / "rw" / "oci-run"), "--root", str(root), "delete", "--force", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if mounted:
            subprocess.run(["umount", str(ro_dir)])
        shutil.rmtree(work, ignore_errors=True)


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "?"


if __name__ == "__main__":
    main()
