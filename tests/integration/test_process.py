"""The container process: args/PATH lookup, env, cwd, user, umask, rlimits,
oomScoreAdj, sysctl, noNewPrivileges, capabilities, console socket,
--preserve-fds and fd hygiene."""

import array
import os
import re
import resource
import select
import socket
import subprocess
import threading
import time

import pytest

from conftest import OCI_RUN, cap_mask, status_fields, wait_for


def test_args_looked_up_in_container_path(bundle, runtime):
    tools = bundle.rootfs / "opt" / "tools"
    tools.mkdir(parents=True)
    (tools / "mytool").write_text("#!/bin/sh\necho mytool-ran \"$@\"\n")
    (tools / "mytool").chmod(0o755)
    with bundle.edit() as c:
        c["process"]["env"] = ["PATH=/opt/tools:/bin"]
        c["process"]["args"] = ["mytool", "a b", "c"]
    out = runtime.run_to_completion(bundle)
    assert out == "mytool-ran a b c\n"


def test_env_exact(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["env"] = ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c"]
        c["process"]["args"] = ["env"]
    out = runtime.run_to_completion(bundle)
    got = sorted(out.splitlines())
    assert got == sorted(["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY=", "MULTI=a=b=c", "HOME=/root"]), out


def test_env_home_kept_when_set(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["env"] = ["PATH=/bin", "HOME=/custom"]
        c["process"]["args"] = ["env"]
    out = runtime.run_to_completion(bundle)
    assert sorted(out.splitlines()) == ["HOME=/custom", "PATH=/bin"]


def test_env_home_of_user(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["env"] = ["PATH=/bin"]
        c["process"]["user"] = {"uid": 65534, "gid": 65534}
        c["process"]["args"] = ["env"]
    out = runtime.run_to_completion(bundle)
    assert "HOME=/nonexistent" in out.splitlines(), out


def test_cwd(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["cwd"] = "/work/sub/dir"
    out = runtime.script_output(bundle, "pwd; echo x > rel-file")
    assert out == "/work/sub/dir\n"
    assert (bundle.rootfs / "work" / "sub" / "dir" / "rel-file").exists()


def test_user_uid_gid_groups(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["user"] = {"uid": 65534, "gid": 65534, "additionalGids": [100, 1234]}
    out = runtime.script_output(bundle, "grep -E '^(Uid|Gid|Groups):' /proc/self/status; id -un; id -gn; echo x > /tmp/owned")
    st = status_fields(out)
    assert st["Uid"].split() == ["65534"] * 4
    assert st["Gid"].split() == ["65534"] * 4
    assert sorted(st["Groups"].split()) == ["100", "1234"]
    assert out.splitlines()[-2:] == ["nobody", "nogroup"]
    s = os.stat(bundle.rootfs / "tmp" / "owned")
    assert (s.st_uid, s.st_gid) == (65534, 65534)


def test_root_user_has_no_extra_groups(bundle, runtime):
    out = runtime.script_output(bundle, "grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    st = status_fields(out)
    assert st["Uid"].split() == ["0"] * 4
    assert st["Gid"].split() == ["0"] * 4
    assert st["Groups"].split() in ([], ["0"]), st["Groups"]


def test_umask(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["user"]["umask"] = 0o027
    out = runtime.script_output(bundle, "umask; touch /tmp/f; mkdir /tmp/d; stat -c %a /tmp/f /tmp/d")
    assert out.split() == ["0027", "640", "750"]


def test_rlimits(bundle, runtime):
    soft_h, hard_h = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = min(hard_h, 4096)
    soft = min(hard, 200)
    with bundle.edit() as c:
        c["process"]["rlimits"] = [
            {"type": "RLIMIT_NOFILE", "soft": soft, "hard": hard},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
            {"type": "RLIMIT_NPROC", "soft": 500, "hard": 1000},
        ]
    out = runtime.script_output(bundle, "ulimit -n; cat /proc/self/limits")
    lines = out.splitlines()
    assert lines[0] == str(soft)

    def limit(name):
        for l in lines:
            if l.startswith(name):
                return l[len(name):].split()[:2]
        pytest.fail(f"{name} not in /proc/self/limits:\n{out}")

    assert limit("Max open files") == [str(soft), str(hard)]
    assert limit("Max core file size") == ["0", "4096"]
    assert limit("Max processes") == ["500", "1000"]


def test_oom_score_adj(bundle, runtime):
    with open("/proc/self/oom_score_adj") as f:
        mine = int(f.read())
    want = max(mine, 0) + 123
    with bundle.edit() as c:
        c["process"]["oomScoreAdj"] = want
    out = runtime.script_output(bundle, "cat /proc/self/oom_score_adj")
    assert out.strip() == str(want)


def test_sysctl(bundle, runtime):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_fwd = f.read().strip()
    with bundle.edit() as c:
        c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1" if host_fwd == "0" else "0", "kernel.msgmax": "4321"}
    out = runtime.script_output(bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax")
    assert out.split() == ["1" if host_fwd == "0" else "0", "4321"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read().strip() == host_fwd, "sysctl leaked to the host"


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(bundle, runtime, nnp):
    with bundle.edit() as c:
        c["process"]["noNewPrivileges"] = nnp
    out = runtime.script_output(bundle, "grep NoNewPrivs /proc/self/status")
    assert status_fields(out)["NoNewPrivs"] == ("1" if nnp else "0")


def read_caps(out):
    st = status_fields(out)
    return {k: int(st[k], 16) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


CAP_SCRIPT = "grep ^Cap /proc/self/status"


def test_default_capabilities(bundle, runtime):
    caps = bundle.load()["process"]["capabilities"]
    got = read_caps(runtime.script_output(bundle, CAP_SCRIPT))
    assert got["CapBnd"] == cap_mask(caps["bounding"])
    # root: execve() gives permitted = effective = bounding | inheritable, limited
    # to the permitted set before exec when noNewPrivileges is set
    want_prm = cap_mask(caps["bounding"]) | cap_mask(caps.get("inheritable", []))
    if bundle.load()["process"].get("noNewPrivileges"):
        want_prm &= cap_mask(caps.get("permitted", []))
    assert got["CapPrm"] == want_prm
    assert got["CapEff"] == want_prm
    assert got["CapInh"] == cap_mask(caps.get("inheritable", []))
    # ambient can only hold caps that are also permitted and inheritable
    assert got["CapAmb"] == cap_mask(caps.get("ambient", [])) & cap_mask(caps.get("inheritable", [])) & cap_mask(
        caps.get("permitted", [])
    )


FIVE_SETS = {
    "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_SETUID"],
    "effective": ["CAP_KILL", "CAP_CHOWN"],
    "permitted": ["CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_KILL"],
}


@pytest.mark.parametrize("nnp", [True, False])
def test_capabilities_five_sets_root(bundle, runtime, nnp):
    with bundle.edit() as c:
        c["process"]["capabilities"] = FIVE_SETS
        c["process"]["noNewPrivileges"] = nnp
    got = read_caps(runtime.script_output(bundle, CAP_SCRIPT))
    assert got["CapBnd"] == cap_mask(FIVE_SETS["bounding"])
    assert got["CapInh"] == cap_mask(FIVE_SETS["inheritable"])
    assert got["CapAmb"] == cap_mask(FIVE_SETS["ambient"])
    # uid 0 across execve: P' = bounding | inheritable, E' = P'; with
    # no_new_privs P' cannot exceed the permitted set the runtime left
    want = cap_mask(FIVE_SETS["bounding"]) | cap_mask(FIVE_SETS["inheritable"])
    if nnp:
        want &= cap_mask(FIVE_SETS["permitted"])
    assert got["CapPrm"] == want and got["CapEff"] == want


def test_capabilities_five_sets_non_root(bundle, runtime):
    """For a non-root user only the ambient set survives execve into
    permitted/effective; the runtime must keep caps across setuid and raise ambient."""
    with bundle.edit() as c:
        c["process"]["capabilities"] = FIVE_SETS
        c["process"]["user"] = {"uid": 1000, "gid": 1000}
    got = read_caps(runtime.script_output(bundle, CAP_SCRIPT))
    assert got["CapBnd"] == cap_mask(FIVE_SETS["bounding"])
    assert got["CapInh"] == cap_mask(FIVE_SETS["inheritable"])
    assert got["CapAmb"] == cap_mask(FIVE_SETS["ambient"])
    assert got["CapPrm"] == cap_mask(FIVE_SETS["ambient"])
    assert got["CapEff"] == cap_mask(FIVE_SETS["ambient"])


def test_capability_enforced(make_extra_bundle, runtime):
    """Without CAP_CHOWN in the bounding set root cannot chown; with it, it can."""
    script = "touch /tmp/f; chown 65534 /tmp/f 2>&1; stat -c %u /tmp/f"
    b1 = make_extra_bundle()
    with b1.edit() as c:
        c["process"]["capabilities"] = {k: ["CAP_KILL"] for k in ("bounding", "effective", "permitted")}
    out = runtime.script_output(b1, script)
    assert "Operation not permitted" in out and out.split()[-1] == "0", out
    b2 = make_extra_bundle()
    with b2.edit() as c:
        c["process"]["capabilities"] = {k: ["CAP_KILL", "CAP_CHOWN"] for k in ("bounding", "effective", "permitted")}
    out = runtime.script_output(b2, script)
    assert out.split()[-1] == "65534", out


def test_no_capabilities_field(bundle, runtime):
    with bundle.edit() as c:
        del c["process"]["capabilities"]
    got = read_caps(runtime.script_output(bundle, CAP_SCRIPT))
    assert got["CapBnd"] == 0 and got["CapEff"] == 0 and got["CapPrm"] == 0


# ----------------------------------------------------------------------------- fds


def fd_listing(out: str) -> dict:
    """`ls -l /proc/self/fd` -> {fd: target}."""
    fds = {}
    for line in out.splitlines():
        if not line.startswith("l"):
            continue
        m = re.search(r" (\d+)(?: -> (.*))?$", line)
        if m:
            fds[int(m.group(1))] = m.group(2) or ""
    return fds


def create_with_fds(runtime, bundle, cid, fds: dict, *extra):
    """Run `create` with the given extra fds (number -> host file) open."""
    redirs = " ".join(f'{n}<"{path}"' for n, path in fds.items())
    argv = [OCI_RUN, "--root", str(runtime.root), "create", "--bundle", str(bundle.path), *extra, cid]
    runtime.tracker.ids.add(cid)
    with open(bundle.stdout_path, "ab") as fo, open(bundle.stderr_path, "ab") as fe:
        r = subprocess.run(
            ["sh", "-c", f'exec "$@" {redirs}', "sh", *argv],
            stdin=subprocess.DEVNULL,
            stdout=fo,
            stderr=fe,
            timeout=20,
        )
    assert r.returncode == 0, f"create failed: {bundle.stderr()}"


def test_preserve_fds(bundle, runtime, tmp_path):
    f3 = tmp_path / "three"
    f3.write_text("content-three\n")
    f4 = tmp_path / "four"
    f4.write_text("content-four\n")
    f5 = tmp_path / "five"
    f5.write_text("content-five\n")
    bundle.set_script("cat <&3; cat <&4; (cat <&5) 2>/dev/null || echo no-fd-5; exec ls -l /proc/self/fd")
    cid = runtime.new_id()
    create_with_fds(runtime, bundle, cid, {3: f3, 4: f4, 5: f5}, "--preserve-fds", "2")
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    out = bundle.stdout()
    assert out.startswith("content-three\ncontent-four\nno-fd-5\n"), out
    fds = fd_listing(out)
    # 0-2, the two preserved fds and the directory fd `ls` opened itself (5)
    assert sorted(fds) == [0, 1, 2, 3, 4, 5], out
    assert fds[3] == str(f3) and fds[4] == str(f4)


def test_no_fd_leak(bundle, runtime, tmp_path):
    """Without --preserve-fds only 0-2 reach the process, even if create had more open."""
    f3 = tmp_path / "leak3"
    f3.write_text("x\n")
    bundle.set_args("ls", "-l", "/proc/self/fd")
    cid = runtime.new_id()
    create_with_fds(runtime, bundle, cid, {3: f3, 4: f3, 7: f3})
    runtime.start(cid)
    runtime.wait_status(cid, "stopped")
    out = bundle.stdout()
    fds = fd_listing(out)
    # 0-2 and the directory fd `ls` opened itself (3)
    assert sorted(fds) == [0, 1, 2, 3], out
    assert str(f3) not in out


def test_stdio_is_create_stdio(bundle, runtime):
    bundle.set_args("ls", "-l", "/proc/self/fd")
    out = runtime.run_to_completion(bundle)
    fds = fd_listing(out)
    assert fds[1] == str(bundle.stdout_path)
    assert fds[2] == str(bundle.stderr_path)
    assert fds[0] == "/dev/null"


# ----------------------------------------------------------------------------- console


def test_console_socket(bundle, runtime, tmp_path):
    sockdir = tmp_path / "s"
    sockdir.mkdir()
    sock_path = str(sockdir / "console.sock")
    if len(sock_path) > 100:
        import tempfile

        sock_path = os.path.join(tempfile.mkdtemp(prefix="oci-sock-"), "c.sock")
    with bundle.edit() as c:
        c["process"]["terminal"] = True
        c["process"]["args"] = [
            "sh",
            "-c",
            "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-tty; tty; "
            "for i in 0 1 2; do readlink /proc/self/fd/$i; done; echo done-tty",
        ]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(20)
    received = {}

    def accept():
        try:
            conn, _ = srv.accept()
            conn.settimeout(20)
            with conn:
                msg, fds, flags, addr = socket.recv_fds(conn, 4096, 4)
                received["fds"] = fds
                received["msg"] = msg
        except Exception as e:  # noqa: BLE001
            received["error"] = e

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    cid = runtime.new_id()
    try:
        runtime.create(bundle, cid, "--console-socket", sock_path)
        t.join(timeout=20)
        assert "fds" in received, f"no fd received over the console socket: {received}"
        assert len(received["fds"]) == 1
        master = received["fds"][0]
        try:
            # it is a pty master
            assert os.readlink(f"/proc/self/fd/{master}") in ("/dev/ptmx", "/dev/pts/ptmx"), os.readlink(f"/proc/self/fd/{master}")
            runtime.start(cid)
            data = b""
            deadline = time.monotonic() + 10
            while b"done-tty" not in data and time.monotonic() < deadline:
                r, _, _ = select.select([master], [], [], 0.2)
                if r:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        break
                    if not chunk:
                        break
                    data += chunk
            text = data.decode(errors="replace").replace("\r", "")
            assert "all-tty" in text, text
            lines = text.splitlines()
            tty_line = lines[lines.index("all-tty") + 1]
            assert re.fullmatch(r"/dev/pts/\d+", tty_line), text
            assert lines[lines.index("all-tty") + 2 : lines.index("all-tty") + 5] == [tty_line] * 3, text
            runtime.wait_status(cid, "stopped")
        finally:
            for fd in received.get("fds", []):
                os.close(fd)
    finally:
        srv.close()
    # nothing of the container went to create's stdout
    assert bundle.stdout() == ""


def test_terminal_without_console_socket_fails(bundle, runtime):
    with bundle.edit() as c:
        c["process"]["terminal"] = True
    r = runtime.create(bundle, runtime.new_id(), check=False)
    assert r.returncode != 0
    assert "console" in r.stderr.lower(), r.stderr
