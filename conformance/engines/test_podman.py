"""podman 4.3.1 (through conmon) with `--runtime oci-run`.

Every container runs with --network none. The `podman` session fixture
(conftest.py) builds the image, resets podman's private storage at the end
and checks that oci-run left no state, cgroup, mount or process behind.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from conftest import (IMAGE, OCI_RUN, OCI_RUN_DEFAULT_ROOT, find_cgroup_dirs, ns_inode, pid_alive, read_oom_event,
                      proc_cgroup, run, wait_for)

NONET = ("--network", "none")
# A container init that exits 0 on SIGTERM (pid 1 ignores signals it has no handler for).
TRAPPED_LOOP = 'trap "echo got-term; exit 0" TERM; echo started; while true; do sleep 1; done'


def read(path) -> str:
    with open(path) as f:
        return f.read().strip()


def test_run_rm_output_and_exit_code(podman):
    before = podman.all_ids()
    r = podman("run", "--rm", *NONET, IMAGE, "sh", "-c", "echo hello from $(hostname); exit 3", check=False)
    assert r.returncode == 3, r
    assert re.search(r"^hello from \S+$", r.stdout, re.M), r
    r = podman("run", "--rm", *NONET, IMAGE, "true", check=False)
    assert r.returncode == 0, r
    assert podman.all_ids() <= before, "run --rm left a container"


def test_run_rm_stdin(podman):
    r = podman("run", "--rm", "-i", *NONET, IMAGE, "sh", "-c", "read l; echo got:$l", input="abc\n")
    assert r.stdout.strip() == "got:abc", r


@pytest.mark.parametrize(
    "cmd, message",
    [
        ("no-such-command", "executable file not found in $PATH"),
        ("/no/such/file", "no such file or directory"),
    ],
)
def test_missing_executable_is_127(podman, cmd, message):
    before = podman.all_ids()
    r = podman("run", "--rm", *NONET, IMAGE, cmd, check=False)
    assert r.returncode == 127, r
    # podman found the runtime's message in its oci-log and classified it.
    assert message in r.stderr, r
    assert "OCI runtime attempted to invoke a command that was not found" in r.stderr, r
    assert podman.all_ids() <= before


def test_detached_lifecycle(podman):
    cid = podman("run", "-d", "--name", "life", *NONET, IMAGE, "sh", "-c", TRAPPED_LOOP).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", cid)
    try:
        pid = int(podman.inspect("life", "{{.State.Pid}}"))
        assert pid > 0 and pid_alive(pid)
        state = OCI_RUN_DEFAULT_ROOT / cid
        assert state.is_dir(), "oci-run keeps its state under its default root for podman"

        # exec: plain, --user, --workdir, -e
        assert podman("exec", "life", "id", "-u").stdout.strip() == "0"
        r = podman("exec", "--user", "65534:65534", "life", "id")
        assert r.stdout.strip().startswith("uid=65534(nobody) gid=65534(nogroup)"), r
        assert podman("exec", "--workdir", "/tmp", "life", "pwd").stdout.strip() == "/tmp"
        r = podman("exec", "-e", "FOO=bar baz", "life", "sh", "-c", 'echo "[$FOO]"')
        assert r.stdout.strip() == "[bar baz]", r
        r = podman("exec", "life", "sh", "-c", "exit 7", check=False)
        assert r.returncode == 7, r
        r = podman("exec", "life", "no-such-command", check=False)
        assert r.returncode == 127 and "executable file not found" in r.stderr, r
        # the exec'd process lives in the container's pid namespace and cgroup
        r = podman("exec", "life", "sh", "-c", "echo $$; cat /proc/1/cmdline | tr '\\0' ' '")
        lines = r.stdout.split("\n")
        assert lines[1].startswith("sh -c trap"), r
        # exec -t: a new pty inside the container
        r = podman("exec", "-t", "life", "tty")
        assert re.fullmatch(r"/dev/pts/\d+", r.stdout.strip()), r

        # logs and top need no runtime call, but see what the container did
        wait_for(lambda: "started" in podman("logs", "life").stdout, what="'started' in logs")
        r = podman("top", "life")
        assert re.search(r"sh -c trap", r.stdout), r

        # pause / unpause: podman status and the freezer cgroup
        freezer = proc_cgroup(pid, "freezer")
        assert freezer.name == f"libpod-{cid}", freezer
        podman("pause", "life")
        assert podman.inspect("life", "{{.State.Status}}") == "paused"
        assert read(freezer / "freezer.state") == "FROZEN"
        podman("unpause", "life")
        assert podman.inspect("life", "{{.State.Status}}") == "running"
        assert read(freezer / "freezer.state") == "THAWED"
        assert podman("exec", "life", "echo", "alive").stdout.strip() == "alive"

        # update: podman writes LinuxResources to a file, oci-run applies it
        podman("update", "--memory", "100m", "--memory-swap", "200m", "--cpus", "0.25",
               "--cpu-shares", "512", "life")
        mem = proc_cgroup(pid, "memory")
        cpu = proc_cgroup(pid, "cpu")
        assert read(mem / "memory.limit_in_bytes") == str(100 * 1024 * 1024)
        if (mem / "memory.memsw.limit_in_bytes").exists():
            assert read(mem / "memory.memsw.limit_in_bytes") == str(200 * 1024 * 1024)
        assert read(cpu / "cpu.cfs_quota_us") == "25000"
        assert read(cpu / "cpu.cfs_period_us") == "100000"
        assert read(cpu / "cpu.shares") == "512"
        # and the container sees the same limit
        r = podman("exec", "life", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
        assert r.stdout.strip() == str(100 * 1024 * 1024), r

        # stop: SIGTERM reaches the trap, the container exits 0
        podman("stop", "-t", "30", "life")
        assert podman.inspect("life", "{{.State.Status}}") == "exited"
        assert podman.inspect("life", "{{.State.ExitCode}}") == "0"
        assert "got-term" in podman("logs", "life").stdout
        assert not pid_alive(pid)
        assert not state.exists(), "stopped container was not deleted from oci-run's root"
        assert not find_cgroup_dirs(f"libpod-{cid}"), "container cgroup not removed"

        # restart from stopped: create + start again under the same id
        podman("start", "life")
        wait_for(lambda: podman.inspect("life", "{{.State.Status}}") == "running", what="restart")
        assert state.is_dir()
        podman("kill", "-s", "USR1", "life")  # no handler: pid 1 ignores it
        assert podman.inspect("life", "{{.State.Status}}") == "running"
        podman("kill", "life")  # SIGKILL
        wait_for(lambda: podman.inspect("life", "{{.State.Status}}") == "exited", what="kill")
        assert podman.inspect("life", "{{.State.ExitCode}}") == "137"
    finally:
        podman("rm", "-f", "-t", "0", "life", check=False)
    assert cid not in podman.all_ids()
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()
    assert not find_cgroup_dirs(f"libpod-{cid}")


def test_rm_force_running(podman):
    cid = podman("run", "-d", *NONET, IMAGE, "sleep", "1000").stdout.strip()
    pid = int(podman.inspect(cid, "{{.State.Pid}}"))
    podman("rm", "-f", "-t", "0", cid)
    assert not pid_alive(pid)
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()
    assert not find_cgroup_dirs(f"libpod-{cid}")


def test_resource_limits_visible_in_container(podman):
    script = ("cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max "
              "/sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us")
    r = podman("run", "--rm", *NONET, "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5",
               IMAGE, "sh", "-c", script)
    assert r.stdout.split() == [str(64 * 1024 * 1024), "50", "50000", "100000"], r


def test_pids_limit_enforced(podman):
    # An inner shell forks until the pids limit stops it (busybox sh then
    # exits); the outer one reads the count with builtins only.
    script = ("sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 100 & done'; "
              "read n < /sys/fs/cgroup/pids/pids.current; echo count=$n")
    r = podman("run", "--rm", *NONET, "--pids-limit", "8", IMAGE, "sh", "-c", script, check=False)
    m = re.search(r"^count=(\d+)$", r.stdout, re.M)
    assert m, r
    assert 1 < int(m.group(1)) <= 8, r
    assert "can't fork" in r.stderr, r


def test_run_interactive_tty(podman, tmux, work):
    rc_file = work / "podman-it.rc"
    cmd = podman.shell_command("run", "-it", "--rm", *NONET, IMAGE, "sh")
    tmux.start(f"{cmd}; echo $? > {rc_file}", cols=120, rows=40)
    tmux.wait_screen(r"^/ #", "the container shell's prompt")
    tmux.send("stty size; tty; echo typed-$((6*7))")
    screen = tmux.wait_screen(r"^typed-42$", "the typed command's output")
    assert re.search(r"^40 120$", screen, re.M), screen
    assert re.search(r"^/dev/pts/0$", screen, re.M), screen
    tmux.send("exit 5")
    wait_for(lambda: rc_file.exists() and rc_file.read_text().strip(), what="podman run -it to exit")
    assert rc_file.read_text().strip() == "5"


def test_pod_members_share_infra_namespaces(podman):
    before = podman.all_ids()
    podman("pod", "create", "--name", "pod1", "--network", "none")
    try:
        podman("pod", "start", "pod1")
        infra = podman("pod", "inspect", "-f", "{{.InfraContainerID}}", "pod1").stdout.strip()
        ipid = int(podman.inspect(infra, "{{.State.Pid}}"))
        podman("run", "-d", "--pod", "pod1", "--name", "member1", IMAGE, "sh", "-c", TRAPPED_LOOP)
        mpid = int(podman.inspect("member1", "{{.State.Pid}}"))
        for ns in ("net", "ipc", "uts"):
            assert ns_inode(mpid, ns) == ns_inode(ipid, ns), ns
        assert ns_inode(mpid, "net") != ns_inode(os.getpid(), "net")
        assert ns_inode(mpid, "mnt") != ns_inode(ipid, "mnt")
        # the uts namespace is the pod's: the member sees the pod's hostname
        r = podman("exec", "member1", "hostname")
        assert r.stdout.strip() == "pod1", r
        # a second member, run --rm, sees the same network namespace (only lo)
        r = podman("run", "--rm", "--pod", "pod1", IMAGE, "sh", "-c", "ls /sys/class/net")
        assert r.stdout.split() == ["lo"], r
        podman("pod", "stop", "-t", "10", "pod1")
        assert not pid_alive(mpid) and not pid_alive(ipid)
    finally:
        podman("pod", "rm", "-f", "-t", "0", "pod1", check=False)
    assert podman.all_ids() <= before


def test_restart_running(podman):
    """restart: kill 15, delete --force, then create and start under the same id."""
    cid = podman("run", "-d", "--name", "rs", *NONET, IMAGE, "sh", "-c", TRAPPED_LOOP).stdout.strip()
    try:
        pid1 = int(podman.inspect("rs", "{{.State.Pid}}"))
        podman("restart", "-t", "30", "rs")
        pid2 = int(podman.inspect("rs", "{{.State.Pid}}"))
        assert pid2 != pid1 and pid_alive(pid2) and not pid_alive(pid1)
        assert podman.inspect("rs", "{{.State.Status}}") == "running"
        assert (OCI_RUN_DEFAULT_ROOT / cid).is_dir()
        assert podman("exec", "rs", "echo", "again").stdout.strip() == "again"
    finally:
        podman("rm", "-f", "-t", "0", "rs", check=False)
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()
    assert not find_cgroup_dirs(f"libpod-{cid}")


def test_rm_after_conmon_died(podman):
    """When conmon dies podman never calls delete (ENGINES.md §4.4): `rm -f`
    only kills. oci-run must then report the container as stopped, and a
    later plain `delete ID` must remove its state and cgroup."""
    cid = podman("run", "-d", *NONET, IMAGE, "sleep", "1000").stdout.strip()
    try:
        pid = int(podman.inspect(cid, "{{.State.Pid}}"))
        conmon = int(podman.inspect(cid, "{{.State.ConmonPid}}"))
        assert conmon > 0 and pid_alive(conmon)
        os.kill(conmon, 9)
        wait_for(lambda: not pid_alive(conmon), what="conmon to die")
        assert pid_alive(pid), "the container outlives its conmon"
        podman("rm", "-f", "-t", "0", cid)
        wait_for(lambda: not pid_alive(pid), what="the container to be killed")
        assert cid not in podman.all_ids()
        assert (OCI_RUN_DEFAULT_ROOT / cid).is_dir(), "podman 4.3 makes no runtime call here"
        r = run([OCI_RUN, "state", cid])
        st = json.loads(r.stdout)
        assert (st["status"], st["pid"]) == ("stopped", 0), r
        assert cid in run([OCI_RUN, "list", "-q"]).stdout.split()
        run([OCI_RUN, "delete", cid])
    finally:
        podman("rm", "-f", "-t", "0", cid, check=False)
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()
    assert not find_cgroup_dirs(f"libpod-{cid}")


def test_systemd_cgroup_manager_fails_cleanly(podman):
    """No systemd here: podman passes --systemd-cgroup, oci-run must refuse it
    with one error line that podman can show, and leave nothing behind."""
    before = podman.all_ids()
    r = podman("--cgroup-manager", "systemd", "run", "--rm", *NONET, IMAGE, "true", check=False)
    assert r.returncode != 0, r
    assert "systemd" in r.stderr, r
    for cid in podman.all_ids() - before:
        podman("rm", "-f", "-t", "0", cid, check=False)
        assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()


def test_read_only_and_tmpfs_copy_up(podman):
    """--read-only and --tmpfs give tmpfs mounts with "tmpcopyup": the tmpfs
    starts with the image's files at that path."""
    r = podman("run", "--rm", *NONET, "--read-only", IMAGE, "sh", "-c",
               "touch /x 2>&1; touch /tmp/y && echo tmp-writable; stat -c %a /tmp")
    assert "Read-only file system" in r.stdout, r
    assert "tmp-writable" in r.stdout, r
    assert r.stdout.split()[-1] == "1777", r
    r = podman("run", "--rm", *NONET, "--tmpfs", "/etc:size=1m", IMAGE, "sh", "-c",
               "grep ' /etc ' /proc/mounts; grep ^nobody: /etc/passwd; echo x >> /etc/passwd && echo etc-writable")
    assert re.search(r"^tmpfs /etc tmpfs \S*size=1024k", r.stdout, re.M), r
    assert "nobody:x:65534:65534" in r.stdout, r
    assert "etc-writable" in r.stdout, r


def test_security_and_namespace_options(podman):
    r = podman("run", "--rm", *NONET, "--cap-drop", "all", "--cap-add", "net_bind_service",
               "--security-opt", "no-new-privileges", IMAGE, "sh", "-c",
               "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status")
    f = dict(line.split(":\t") for line in r.stdout.splitlines())
    assert f["CapEff"] == f["CapBnd"] == f"{1 << 10:016x}", r
    assert f["NoNewPrivs"] == "1", r
    assert f["Seccomp"] == "2", r  # podman's default profile, as a filter
    r = podman("run", "--rm", *NONET, "--uidmap", "0:100000:65536", "--gidmap", "0:100000:65536",
               IMAGE, "sh", "-c", "id -u; cat /proc/self/uid_map")
    assert r.stdout.split() == ["0", "0", "100000", "65536"], r
    r = podman("run", "--rm", *NONET, "--user", "65534", "--workdir", "/tmp", "-e", "A=b c",
               "--hostname", "hh", IMAGE, "sh", "-c", 'id -u; pwd; echo "$A"; hostname')
    assert r.stdout.splitlines() == ["65534", "/tmp", "b c", "hh"], r


def test_stop_pid_host_container(podman):
    """--pid host: podman stops with `kill --all ID 15`."""
    cid = podman("run", "-d", *NONET, "--pid", "host", IMAGE, "sh", "-c", TRAPPED_LOOP).stdout.strip()
    try:
        pid = int(podman.inspect(cid, "{{.State.Pid}}"))
        podman("stop", "-t", "30", cid)
        assert not pid_alive(pid)
        assert podman.inspect(cid, "{{.State.ExitCode}}") == "0"
    finally:
        podman("rm", "-f", "-t", "0", cid, check=False)
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()


def test_run_timeout_kills_the_container(podman):
    """`run --timeout`: conmon SIGKILLs the container's process group when the
    time is up. The container must lead its own group, or conmon kills itself
    and podman waits in vain for the exit file."""
    before = podman.all_ids()
    r = podman("run", "--rm", *NONET, "--timeout", "2", IMAGE, "sleep", "1000", check=False)
    # conmon reports the timeout as exit status -1
    assert r.returncode == 255, r
    assert "Exceeded conmon timeout" not in r.stderr, r
    wait_for(lambda: podman.all_ids() <= before, what="the timed-out container to be removed")


def test_two_containers_in_one_parent(podman):
    """Issue #16 item 3: the first container makes libpod_parent; with a second
    one running there, stopping and removing the first must succeed (runc and
    crun leave the shared parent), and the second keeps running."""
    from conftest import cgroup_hierarchies, remove_cgroup_tree
    # libpod_parent left empty by earlier tests goes, so that the first
    # container below is the one that makes it (podman makes it for conmon in
    # the v1 controllers; the runtime in name=systemd and cgroup2).
    for h in cgroup_hierarchies():
        remove_cgroup_tree(h / "libpod_parent")
    missing = [h / "libpod_parent" for h in cgroup_hierarchies() if not (h / "libpod_parent").exists()]
    if not missing:
        pytest.skip("libpod_parent is in use in every hierarchy (another podman's containers)")
    first = podman("run", "-d", *NONET, IMAGE, "sleep", "1000").stdout.strip()
    second = ""
    try:
        if not any(p.is_dir() for p in missing):
            pytest.skip("the first container did not make libpod_parent anywhere")
        second = podman("run", "-d", *NONET, IMAGE, "sleep", "1000").stdout.strip()
        pid2 = int(podman.inspect(second, "{{.State.Pid}}"))
        r = podman("stop", "-t", "0", first, check=False)
        assert r.returncode == 0, r
        r = podman("rm", first, check=False)
        assert r.returncode == 0, r
        assert not (OCI_RUN_DEFAULT_ROOT / first).exists()
        assert not find_cgroup_dirs(f"libpod-{first}")
        assert pid_alive(pid2)
        assert podman.inspect(second, "{{.State.Status}}") == "running"
        assert find_cgroup_dirs(f"libpod-{second}", "libpod_parent")
    finally:
        podman("rm", "-f", "-t", "0", first, check=False)
        if second:
            podman("rm", "-f", "-t", "0", second, check=False)
    assert not (OCI_RUN_DEFAULT_ROOT / second).exists()
    assert not find_cgroup_dirs(f"libpod-{second}")


# A new network namespace gets `lo` up (runc, crun): 127.0.0.1 answers. The
# image has no nc link, but busybox is multi-call.
LOOPBACK_PROBE = (
    "ip -o link show lo | grep -o '<[^>]*>'; "
    "(sleep 5 | busybox nc -l -p 4000 > /tmp/got &); "
    "i=0; until echo hello | busybox nc -w1 127.0.0.1 4000 2>/dev/null; do "
    "i=$((i+1)); [ $i -ge 20 ] && { echo unreachable; break; }; sleep 0.1; done; "
    "i=0; until [ -s /tmp/got ] || [ $i -ge 20 ]; do i=$((i+1)); sleep 0.05; done; cat /tmp/got"
)


def test_network_none_has_loopback_up(podman):
    r = podman("run", "--rm", *NONET, IMAGE, "sh", "-c", LOOPBACK_PROBE)
    lines = r.stdout.splitlines()
    assert "UP" in lines[0].strip("<>").split(","), r
    assert lines[-1] == "hello", r


def test_oom_event(podman):
    """A container that outgrows --memory: `oci-run events` on it reports the
    OOM (cgroup v1: on the eventfd notification, as runc)."""
    cid = podman("run", "-d", *NONET, "--memory", "16m", "--memory-swap", "16m", IMAGE, "sh", "-c",
                 "while [ ! -e /tmp/go ]; do sleep 0.1; done; tail /dev/zero").stdout.strip()
    events = subprocess.Popen([OCI_RUN, "events", cid], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # events has registered for the notification
        podman("exec", cid, "mkdir", "/tmp/go")
        oom = read_oom_event(events)
        assert oom == {"type": "oom", "id": cid}, events.stderr.read() if events.poll() is not None else ""
        podman("wait", cid, check=False)
        # conmon's `podman container cleanup` deletes it; do not race it with rm.
        wait_for(lambda: not (OCI_RUN_DEFAULT_ROOT / cid).exists(), what="podman's cleanup of the container")
    finally:
        events.kill()
        events.wait()
        podman("rm", "-f", "-t", "0", cid, check=False)
    assert not (OCI_RUN_DEFAULT_ROOT / cid).exists()
