"""Load: many sequential and parallel container lifecycles, and many
containers at once. Every oci-run command must succeed and nothing may be left
behind (state dirs, mounts, cgroups, processes, zombies, open fds). The
figures are printed ([stress] lines) so they can be quoted; time is measured,
never asserted."""

from __future__ import annotations

import os
import threading
import time

from conftest import own_fds, report, zombies

SEQUENTIAL_CYCLES = int(os.environ.get("OCI_STRESS_CYCLES", "1000"))
PARALLEL_LOOPS = 2
PARALLEL_CYCLES = int(os.environ.get("OCI_STRESS_PARALLEL_CYCLES", "500"))
AT_ONCE = int(os.environ.get("OCI_STRESS_AT_ONCE", "200"))


def cycle(stress, bundle, tag: str) -> bool:
    """run -d (container runs `true`), wait until stopped, delete."""
    cid = stress.new_id(tag)
    if stress.oci("run", "--detach", "--bundle", bundle.path, cid, container_stdio=True).returncode != 0:
        stress.oci("delete", "--force", cid)
        return False
    ok = stress.wait_stopped(cid)
    return stress.oci("delete", cid).returncode == 0 and ok


def finish(stress, name, cycles, ok, t0, bundles, zombies_before, fds_before):
    wall = time.monotonic() - t0
    left = stress.settle(bundles, zombies_before)
    fds_after = own_fds()
    left += [f"test-process fd: {f}" for f in sorted(fds_after - fds_before)]
    report(f"{name}: cycles={cycles} ok={ok} oci-run-commands={stress.ops} "
           f"failures={len(stress.failures)} leftovers={len(left)} wall={wall:.1f}s "
           f"({wall / max(cycles, 1) * 1000:.1f} ms/cycle)")
    assert not stress.failures, "failed oci-run commands:\n  " + "\n  ".join(stress.failures[:20])
    assert ok == cycles
    assert not left, "left behind:\n  " + "\n  ".join(left[:50])


def test_sequential_run_delete(stress, bundle):
    bundle.set_args("true")
    z0, f0 = zombies(), own_fds()
    t0 = time.monotonic()
    ok = sum(cycle(stress, bundle, "seq") for _ in range(SEQUENTIAL_CYCLES))
    finish(stress, "sequential run/delete", SEQUENTIAL_CYCLES, ok, t0, [bundle.path], z0, f0)


def test_parallel_run_delete(stress, make_extra_bundle):
    bundles = [make_extra_bundle("true") for _ in range(PARALLEL_LOOPS)]
    z0, f0 = zombies(), own_fds()
    oks = [0] * PARALLEL_LOOPS
    errors: list[BaseException] = []

    def loop(i):
        try:
            for _ in range(PARALLEL_CYCLES):
                oks[i] += cycle(stress, bundles[i], f"par{i}")
        except BaseException as e:  # surfaced below
            errors.append(e)

    t0 = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(PARALLEL_LOOPS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    finish(stress, f"{PARALLEL_LOOPS} parallel loops run/delete", PARALLEL_LOOPS * PARALLEL_CYCLES,
           sum(oks), t0, [b.path for b in bundles], z0, f0)


def test_many_running_at_once(stress, bundle):
    bundle.set_args("sleep", "100000")
    z0, f0 = zombies(), own_fds()
    t0 = time.monotonic()
    ids = []
    for _ in range(AT_ONCE):
        cid = stress.new_id("many")
        ids.append(cid)
        if stress.oci("create", "--bundle", bundle.path, cid, container_stdio=True).returncode == 0:
            stress.oci("start", cid)
    t_up = time.monotonic() - t0
    running = 0
    bad_fds = []
    for cid in ids:
        st = stress.state(cid)
        if st and st.get("status") == "running":
            running += 1
            # The container's process holds its stdio and nothing of the runtime.
            try:
                fds = sorted(int(f) for f in os.listdir(f"/proc/{st['pid']}/fd"))
            except OSError as e:
                fds = [f"error {e}"]
            if fds != [0, 1, 2]:
                bad_fds.append(f"{cid} pid {st['pid']}: fds {fds}")
    listed = stress.oci("list", "-q").stdout.split()
    report(f"{AT_ONCE} at once: running={running} listed={len(listed)} "
           f"up-in={t_up:.1f}s container-fd-leaks={len(bad_fds)}")
    # Half stopped with kill + delete, half with delete --force.
    for n, cid in enumerate(ids):
        if n % 2 == 0:
            stress.oci("kill", cid, "KILL")
    for n, cid in enumerate(ids):
        if n % 2 == 0:
            stress.wait_stopped(cid)
            stress.oci("delete", cid)
        else:
            stress.oci("delete", "--force", cid)
    assert running == AT_ONCE
    assert sorted(listed) == sorted(ids)
    assert not bad_fds, bad_fds
    finish(stress, f"{AT_ONCE} running at once, then deleted", AT_ONCE, running, t0, [bundle.path], z0, f0)
