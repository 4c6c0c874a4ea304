"""containerd 1.6.20 (through containerd-shim-runc-v2, driven by ctr) with
`ctr run --runc-binary oci-run --runc-root <dir>`.

The `containerd` session fixture (conftest.py) runs a daemon of our own on a
socket under the work directory, imports the podman-built image, and at the
end removes tasks, containers, images and the namespace, stops the daemon by
its pid and checks that oci-run left no state, cgroup or mount behind.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time

from conftest import (CMD_TIMEOUT, IMAGE, OCI_RUN, find_cgroup_dirs, pid_alive, proc_cgroup, read_oom_event,
                      processes_matching, run, wait_for)

LOOP = "trap 'exit 0' TERM; while true; do sleep 1; done"


def read(path) -> str:
    with open(path) as f:
        return f.read().strip()


def test_run_rm_output_and_exit_code(containerd):
    c = containerd
    r = c.ctr("run", "--rm", *c.run_opts, IMAGE, "rm1", "sh", "-c", "echo hello $(id -u); exit 4",
              check=False)
    assert r.returncode == 4, r
    assert r.stdout.strip() == "hello 0", r
    assert "rm1" not in c.ids("container")
    assert not (c.runc_root / c.ns / "rm1").exists()


def test_run_options(containerd):
    """cwd, env, read-only rootfs, capabilities, seccomp from ctr run flags;
    memory and cpu limits in the container's cgroup."""
    c = containerd
    script = ('pwd; echo "$A"; touch /x 2>&1; '
              "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status")
    r = c.ctr("run", "--rm", *c.run_opts, "--cwd", "/tmp", "--env", "A=x y", "--read-only",
              "--cap-drop", "CAP_NET_RAW", "--seccomp", IMAGE, "opt1", "sh", "-c", script)
    lines = r.stdout.splitlines()
    assert lines[:2] == ["/tmp", "x y"], r
    assert "Read-only file system" in lines[2], r
    f = dict(line.split(":\t") for line in lines[3:])
    assert not int(f["CapEff"], 16) & (1 << 13), r  # CAP_NET_RAW dropped
    assert int(f["CapEff"], 16) & (1 << 0), r  # CAP_CHOWN kept
    assert f["NoNewPrivs"] == "1" and f["Seccomp"] == "2", r

    c.ctr("run", "-d", *c.run_opts, "--memory-limit", str(64 * 1024 * 1024), "--cpu-quota", "20000",
          "--cpu-period", "100000", "--cpu-shares", "256", IMAGE, "opt2", "sleep", "1000")
    try:
        wait_for(lambda: c.task_status("opt2") == "RUNNING", what="task to run")
        pid = c.task_pid("opt2")
        assert read(proc_cgroup(pid, "memory") / "memory.limit_in_bytes") == str(64 * 1024 * 1024)
        cpu = proc_cgroup(pid, "cpu")
        assert read(cpu / "cpu.cfs_quota_us") == "20000"
        assert read(cpu / "cpu.cfs_period_us") == "100000"
        assert read(cpu / "cpu.shares") == "256"
        c.ctr("task", "delete", "-f", "opt2")
    finally:
        if c.task_status("opt2") is not None:
            c.ctr("task", "delete", "-f", "opt2", check=False)
        c.ctr("container", "rm", "opt2", check=False)
    assert not find_cgroup_dirs("opt2", c.ns)


def test_run_missing_executable(containerd):
    c = containerd
    r = c.ctr("run", "--rm", *c.run_opts, IMAGE, "miss1", "no-such-command", check=False)
    assert r.returncode != 0, r
    # the shim takes the last error line of oci-run's log.json
    assert "OCI runtime create failed" in r.stderr, r
    assert "executable file not found in $PATH" in r.stderr, r
    c.ctr("container", "rm", "miss1", check=False)
    assert not (c.runc_root / c.ns / "miss1").exists()


def test_detached_task(containerd):
    c = containerd
    cid = "task1"
    c.ctr("run", "-d", *c.run_opts, IMAGE, cid, "sh", "-c", LOOP)
    try:
        wait_for(lambda: c.task_status(cid) == "RUNNING", what="task to run")
        pid = c.task_pid(cid)
        assert pid_alive(pid)
        assert (c.runc_root / c.ns / cid).is_dir(), "oci-run state lives under --runc-root/<ns>"
        cg = proc_cgroup(pid, "memory")
        assert cg.parts[-2:] == (c.ns, cid), cg

        # exec, plain: output, exit code, same pid namespace
        r = c.ctr("task", "exec", "--fifo-dir", c.fifo, "--exec-id", "e1", cid,
                  "sh", "-c", "id -u; cat /proc/1/cmdline | tr '\\0' ' '")
        lines = r.stdout.splitlines()
        assert lines[0] == "0" and lines[1].startswith("sh -c trap"), r
        r = c.ctr("task", "exec", "--fifo-dir", c.fifo, "--exec-id", "e2", cid, "sh", "-c", "exit 6",
                  check=False)
        assert r.returncode == 6, r
        r = c.ctr("task", "exec", "--fifo-dir", c.fifo, "--exec-id", "e3", cid, "no-such-command",
                  check=False)
        assert r.returncode != 0 and "executable file not found in $PATH" in r.stderr, r

        r = c.ctr("task", "exec", "--fifo-dir", c.fifo, "--exec-id", "e5", "--user", "65534",
                  "--cwd", "/tmp", cid, "sh", "-c", "id -u; pwd")
        assert r.stdout.split() == ["65534", "/tmp"], r

        # exec -t: ctr passes only process.terminal (no --tty); needs a pty of its own
        cmd = shlex.join(c.ctr_argv("task", "exec", "-t", "--fifo-dir", c.fifo, "--exec-id", "e4",
                                    cid, "sh", "-c", "tty; echo tty-ok"))
        r = run(["script", "-qec", cmd, "/dev/null"])
        assert re.search(r"/dev/pts/\d+\r?$", r.stdout, re.M), r
        assert "tty-ok" in r.stdout, r

        # a detached exec that stays, so that ps and kill --all see two processes
        c.ctr("task", "exec", "-d", "--fifo-dir", c.fifo, "--exec-id", "bg", cid, "sleep", "1000")

        def ps_pids():
            out = c.ctr("task", "ps", cid).stdout.splitlines()[1:]
            return [int(line.split()[0]) for line in out if line.strip()]
        pids = wait_for(lambda: (lambda p: p if len(p) >= 3 else None)(ps_pids()),
                        what="init, its sleep and the exec'd sleep in task ps")
        assert pid in pids, pids
        sleeper = [p for p in pids if open(f"/proc/{p}/cmdline").read() == "sleep\x001000\x00"]
        assert len(sleeper) == 1, pids

        # pause / resume: task status and the freezer cgroup
        freezer = proc_cgroup(pid, "freezer")
        c.ctr("task", "pause", cid)
        assert c.task_status(cid) == "PAUSED"
        assert read(freezer / "freezer.state") == "FROZEN"
        c.ctr("task", "resume", cid)
        assert c.task_status(cid) == "RUNNING"
        assert read(freezer / "freezer.state") == "THAWED"

        # metrics: the shim reads the container's cgroup
        m = json.loads(c.ctr("task", "metrics", "--format", "json", cid).stdout)
        assert m["pids"]["current"] >= 2, m["pids"]  # init and the exec'd sleep
        assert m["cpu"]["usage"]["total"] > 0, m["cpu"]
        assert m["memory"]["usage"]["usage"] > 0, m["memory"]

        # kill --all: every process of the container, the exec too
        c.ctr("task", "kill", "-a", "-s", "SIGKILL", cid)
        wait_for(lambda: c.task_status(cid) == "STOPPED", what="task to stop")
        assert not pid_alive(pid)
        assert not pid_alive(sleeper[0]), "kill --all missed the exec'd process"
        c.ctr("task", "delete", cid)
        assert c.task_status(cid) is None
        c.ctr("container", "rm", cid)
    finally:
        if c.task_status(cid) is not None:
            c.ctr("task", "delete", "-f", cid, check=False)
        c.ctr("container", "rm", cid, check=False)
    assert not (c.runc_root / c.ns / cid).exists()
    assert not find_cgroup_dirs(cid, c.ns)


def test_sigterm_stop_and_plain_delete(containerd):
    """`t kill` (SIGTERM, numeric 15 to oci-run), then a plain `t delete`:
    the shim calls `delete ID` and then `delete --force ID` on the id it just
    deleted, which must succeed too."""
    c = containerd
    cid = "task2"
    c.ctr("run", "-d", *c.run_opts, IMAGE, cid, "sh", "-c", LOOP)
    try:
        wait_for(lambda: c.task_status(cid) == "RUNNING", what="task to run")
        pid = c.task_pid(cid)
        c.ctr("task", "kill", cid)  # SIGTERM, caught by the trap
        wait_for(lambda: c.task_status(cid) == "STOPPED", what="task to stop")
        assert not pid_alive(pid)
        c.ctr("task", "delete", cid)
        assert c.task_status(cid) is None
    finally:
        if c.task_status(cid) is not None:
            c.ctr("task", "delete", "-f", cid, check=False)
        c.ctr("container", "rm", cid, check=False)
    assert not (c.runc_root / c.ns / cid).exists()
    assert not find_cgroup_dirs(cid, c.ns)


def test_run_tty(containerd, tmux, work):
    c = containerd
    cid = "tty1"
    rc_file = work / "ctr-tty.rc"
    cmd = shlex.join(c.ctr_argv("run", "--rm", "-t", *c.run_opts, IMAGE, cid, "sh"))
    tmux.start(f"{cmd}; echo $? > {rc_file}", cols=100, rows=30)
    tmux.wait_screen(r"^/ #", "the container shell's prompt")
    tmux.send("stty size; tty; echo typed-$((6*7))")
    screen = tmux.wait_screen(r"^typed-42$", "the typed command's output")
    assert re.search(r"^30 100$", screen, re.M), screen
    assert re.search(r"^/dev/pts/0$", screen, re.M), screen
    tmux.send("exit 3")
    wait_for(lambda: rc_file.exists() and rc_file.read_text().strip(), what="ctr run -t to exit",
             timeout=CMD_TIMEOUT)
    assert rc_file.read_text().strip() == "3"
    assert not (c.runc_root / c.ns / cid).exists()


def test_delete_force_of_running_task(containerd):
    c = containerd
    cid = "task3"
    c.ctr("run", "-d", *c.run_opts, IMAGE, cid, "sleep", "1000")
    wait_for(lambda: c.task_status(cid) == "RUNNING", what="task to run")
    pid = c.task_pid(cid)
    c.ctr("task", "delete", "-f", cid)
    assert not pid_alive(pid)
    c.ctr("container", "rm", cid)
    assert not (c.runc_root / c.ns / cid).exists()
    assert not find_cgroup_dirs(cid, c.ns)


def test_shim_killed_running_task(containerd):
    """SIGKILL the shim of a running task: containerd runs the shim binary's
    cleanup, which calls `delete --force` on the running container."""
    c = containerd
    cid = "task4"
    c.ctr("run", "-d", *c.run_opts, IMAGE, cid, "sleep", "1000")
    try:
        wait_for(lambda: c.task_status(cid) == "RUNNING", what="task to run")
        pid = c.task_pid(cid)
        shims = [p for p in processes_matching(f"-address {c.sock}")
                 if f"-id {cid} " in open(f"/proc/{p}/cmdline").read().replace("\0", " ") + " "]
        assert len(shims) == 1, shims
        os.kill(shims[0], 9)
        wait_for(lambda: not pid_alive(pid), what="containerd to clean up after the dead shim")
        wait_for(lambda: not (c.runc_root / c.ns / cid).exists(), what="oci-run state to go")
    finally:
        if c.task_status(cid) is not None:
            c.ctr("task", "delete", "-f", cid, check=False)
        c.ctr("container", "rm", cid, check=False)
    assert not find_cgroup_dirs(cid, c.ns)


def test_two_tasks_in_one_parent(containerd):
    """Issue #16 item 3: the first task of a namespace makes the namespace's
    cgroup (/<namespace>/<id>); with a second task running there, deleting the
    first must succeed at once (runc and crun leave the shared parent), and the
    second keeps running."""
    import pytest

    from conftest import cgroup_hierarchies, remove_cgroup_tree
    c = containerd
    # Left empty by earlier tests: removed, so that the first task makes it.
    stayed = [s for h in cgroup_hierarchies() for s in remove_cgroup_tree(h / c.ns)]
    if stayed:
        pytest.skip(f"the namespace's cgroup is in use: {stayed}")
    first, second = "shared1", "shared2"
    try:
        for cid in (first, second):
            c.ctr("run", "-d", *c.run_opts, IMAGE, cid, "sleep", "1000")
            wait_for(lambda: c.task_status(cid) == "RUNNING", what=f"task {cid} to run")
        pid2 = c.task_pid(second)
        c.ctr("task", "kill", "-s", "KILL", first)
        wait_for(lambda: c.task_status(first) == "STOPPED", what="the first task to stop")
        r = c.ctr("task", "delete", first, check=False)
        assert r.returncode == 0, r
        r = c.ctr("container", "rm", first, check=False)
        assert r.returncode == 0, r
        assert not (c.runc_root / c.ns / first).exists()
        assert not find_cgroup_dirs(first, c.ns)
        assert pid_alive(pid2)
        assert c.task_status(second) == "RUNNING"
    finally:
        for cid in (first, second):
            if c.task_status(cid) is not None:
                c.ctr("task", "delete", "-f", cid, check=False)
            c.ctr("container", "rm", cid, check=False)
    assert not (c.runc_root / c.ns / second).exists()
    assert not find_cgroup_dirs(second, c.ns)


# A new network namespace gets `lo` up (runc, crun): 127.0.0.1 answers. The
# image has no nc link, but busybox is multi-call.
LOOPBACK_PROBE = (
    "ip -o link show lo | grep -o '<[^>]*>'; "
    "(sleep 5 | busybox nc -l -p 4000 > /tmp/got &); "
    "i=0; until echo hello | busybox nc -w1 127.0.0.1 4000 2>/dev/null; do "
    "i=$((i+1)); [ $i -ge 20 ] && { echo unreachable; break; }; sleep 0.1; done; "
    "i=0; until [ -s /tmp/got ] || [ $i -ge 20 ]; do i=$((i+1)); sleep 0.05; done; cat /tmp/got"
)


def test_own_network_namespace_has_loopback_up(containerd):
    c = containerd
    r = c.ctr("run", "--rm", *c.run_opts, IMAGE, "lo1", "sh", "-c", LOOPBACK_PROBE)
    lines = r.stdout.splitlines()
    assert "UP" in lines[0].strip("<>").split(","), r
    assert lines[-1] == "hello", r
    assert not find_cgroup_dirs("lo1", c.ns)


def test_oom_event(containerd):
    """A task that outgrows its memory limit: `oci-run events` on it reports
    the OOM (cgroup v1: on the eventfd notification, as runc)."""
    c = containerd
    cid = "oom1"
    c.ctr("run", "-d", *c.run_opts, "--memory-limit", str(16 * 2**20), IMAGE, cid, "sh", "-c",
          "while [ ! -e /tmp/go ]; do sleep 0.1; done; tail /dev/zero")
    events = None
    try:
        wait_for(lambda: c.task_status(cid) == "RUNNING", what="task to run")
        events = subprocess.Popen([OCI_RUN, "--root", str(c.runc_root / c.ns), "events", cid],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        time.sleep(0.5)  # events has registered for the notification
        c.ctr("task", "exec", "--fifo-dir", str(c.fifo), "--exec-id", "go", cid, "mkdir", "/tmp/go")
        oom = read_oom_event(events)
        assert oom == {"type": "oom", "id": cid}
        wait_for(lambda: c.task_status(cid) == "STOPPED", what="the OOM-killed task to stop")
    finally:
        if events is not None:
            events.kill()
            events.wait()
        if c.task_status(cid) is not None:
            c.ctr("task", "delete", "-f", cid, check=False)
        c.ctr("container", "rm", cid, check=False)
    assert not (c.runc_root / c.ns / cid).exists()
    assert not find_cgroup_dirs(cid, c.ns)
