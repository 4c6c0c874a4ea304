"""Root filesystem: mounts and their flags, /dev, linux.devices, masked and
read-only paths, root.readonly, rootfsPropagation, --no-pivot, and mount
destinations that must not escape the rootfs through symlinks."""

import os
import subprocess

import pytest

from conftest import last_mount_at, mounts_at, parse_mountinfo

FLAG_OPTS = {"ro", "nosuid", "nodev", "noexec"}


def inside_mounts(runtime, bundle, extra_script="", *create_extra):
    out = runtime.script_output(bundle, "cat /proc/self/mountinfo; echo ===; " + extra_script, *create_extra)
    mi, _, rest = out.partition("===\n")
    return parse_mountinfo(mi), rest


def test_config_mounts_present_with_flags(bundle, runtime):
    """Every mount of the default config is there, with its type and flags."""
    config = bundle.load()
    mounts, _ = inside_mounts(runtime, bundle)
    for m in config["mounts"]:
        dest = m["destination"]
        found = mounts_at(mounts, dest)
        assert found, f"config mount {dest} missing inside; have {[x['target'] for x in mounts]}"
        got = found[0] if m["type"] != "cgroup" else found[-1]
        if m["type"] == "cgroup":
            # v1 hybrid: a tmpfs with controller mounts below, or cgroup2
            assert got["fstype"] in ("cgroup", "cgroup2", "tmpfs"), got
        elif m["type"] != "bind":
            assert got["fstype"] == m["type"], f"{dest}: {got['fstype']} != {m['type']}"
        for opt in set(m.get("options", [])) & FLAG_OPTS:
            assert opt in got["opts"], f"{dest}: option {opt} missing in {got['opts']}"


def test_root_is_rootfs(bundle, runtime):
    (bundle.rootfs / "marker-root").write_text("in-rootfs\n")
    out = runtime.script_output(bundle, "cat /marker-root; ls /")
    assert out.splitlines()[0] == "in-rootfs"
    assert "work" not in out.split(), "host / is visible"


def test_sys_and_cgroup_readonly(bundle, runtime):
    _, rest = inside_mounts(
        runtime, bundle, "(mkdir /sys/fs/cgroup/oci-it-x) 2>&1; echo rc=$?; (echo 1 > /sys/kernel/profiling) 2>&1; echo rc=$?"
    )
    assert rest.count("Read-only file system") == 2, rest


def test_custom_tmpfs_options(bundle, runtime):
    with bundle.edit() as c:
        c["mounts"].append(
            {
                "destination": "/mnt/t",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=1777"],
            }
        )
    mounts, rest = inside_mounts(
        runtime,
        bundle,
        "printf '#!/bin/sh\\necho executed\\n' > /mnt/t/s.sh; chmod +x /mnt/t/s.sh; (/mnt/t/s.sh) 2>&1; echo exec-rc=$?; "
        "(dd if=/dev/zero of=/mnt/t/big bs=1024 count=2048) 2>&1 | grep -o 'No space left on device'; "
        "stat -c %a /mnt/t",
    )
    m = last_mount_at(mounts, "/mnt/t")
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= m["opts"], m
    assert "size=1024k" in m["super"], m
    assert "executed" not in rest and "Permission denied" in rest, rest
    assert "No space left on device" in rest, rest
    assert rest.split()[-1] == "1777"


def test_tmpfs_tmpcopyup(bundle, runtime):
    """podman's --tmpfs and --read-only mounts carry "tmpcopyup": the tmpfs
    starts with a copy of the rootfs directory it covers (owner, modes,
    symlinks), writes stay in the tmpfs, and "ro" still applies."""
    data = bundle.rootfs / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "file").write_text("from-the-image\n")
    os.chmod(data / "sub" / "file", 0o640)
    os.symlink("sub/file", data / "link")
    os.chown(data / "sub", 1000, 1001)
    os.chmod(data, 0o751)
    os.chown(data, 1234, 1235)
    ro = bundle.rootfs / "rodata"
    ro.mkdir()
    (ro / "f").write_text("ro-content\n")
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs",
                            "options": ["rw", "nosuid", "nodev", "tmpcopyup", "size=1m"]})
        c["mounts"].append({"destination": "/rodata", "type": "tmpfs", "source": "tmpfs",
                            "options": ["ro", "tmpcopyup"]})
    mounts, rest = inside_mounts(
        runtime,
        bundle,
        "cat /data/link; stat -c '%a %u:%g' /data /data/sub /data/sub/file; "
        "echo changed > /data/sub/file; cat /rodata/f; "
        "(echo x > /rodata/f) 2>&1 | grep -o 'Read-only file system'",
    )
    assert last_mount_at(mounts, "/data")["fstype"] == "tmpfs"
    assert "size=1024k" in last_mount_at(mounts, "/data")["super"]
    ro_mount = last_mount_at(mounts, "/rodata")
    assert ro_mount["fstype"] == "tmpfs" and "ro" in ro_mount["opts"], ro_mount
    assert rest.splitlines() == [
        "from-the-image",
        "751 1234:1235",
        "755 1000:1001",
        "640 0:0",
        "ro-content",
        "Read-only file system",
    ], rest
    # the write went to the tmpfs, not to the rootfs below it
    assert (data / "sub" / "file").read_text() == "from-the-image\n"


def test_bind_mount_ro(bundle, runtime, tmp_path):
    src = tmp_path / "hostsrc"
    src.mkdir()
    (src / "file").write_text("from-host\n")
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/mnt/b", "type": "bind", "source": str(src), "options": ["bind", "ro"]})
    mounts, rest = inside_mounts(runtime, bundle, "cat /mnt/b/file; (touch /mnt/b/new) 2>&1")
    m = last_mount_at(mounts, "/mnt/b")
    assert "ro" in m["opts"], m
    assert "from-host" in rest
    assert "Read-only file system" in rest
    assert sorted(os.listdir(src)) == ["file"]


def test_bind_mount_rw_writes_reach_host(bundle, runtime, tmp_path):
    src = tmp_path / "hostrw"
    src.mkdir()
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/data/rw", "type": "none", "source": str(src), "options": ["rbind", "rw"]})
    runtime.script_output(bundle, "echo written > /data/rw/out")
    assert (src / "out").read_text() == "written\n"


def test_bind_vs_rbind_submounts(bundle, runtime, tmp_path, tracker):
    src = tmp_path / "tree"
    sub = src / "sub"
    sub.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "oci-it-sub", str(sub)], check=True, timeout=10)
    tracker.host_mounts.append(str(sub))
    (sub / "f").write_text("submount\n")
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/mnt/bind", "type": "bind", "source": str(src), "options": ["bind"]})
        c["mounts"].append({"destination": "/mnt/rbind", "type": "bind", "source": str(src), "options": ["rbind"]})
    _, rest = inside_mounts(runtime, bundle, "cat /mnt/rbind/sub/f; echo; ls -A /mnt/bind/sub | wc -l")
    lines = rest.split()
    assert lines[0] == "submount", rest
    assert lines[-1] == "0", "a plain bind mount must not carry submounts"


def test_mount_order(bundle, runtime):
    """Mounts are made in config order: a later mount inside an earlier one is on top."""
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/mnt/outer", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
        c["mounts"].append({"destination": "/mnt/outer/inner", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]})
    mounts, _ = inside_mounts(runtime, bundle)
    outer = last_mount_at(mounts, "/mnt/outer")
    inner = last_mount_at(mounts, "/mnt/outer/inner")
    assert inner["parent"] == outer["id"]
    assert "size=2048k" in inner["super"]


def test_mount_destination_created(bundle, runtime):
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/a/b/c/d", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    mounts, _ = inside_mounts(runtime, bundle)
    assert last_mount_at(mounts, "/a/b/c/d")["fstype"] == "tmpfs"


def test_default_dev(bundle, runtime):
    script = (
        "for f in null zero full random urandom tty; do stat -c '%n %F %t:%T %a' /dev/$f; done; "
        "for l in ptmx fd stdin stdout stderr; do echo \"link /dev/$l $(readlink /dev/$l)\"; done; "
        "stat -c '%n %F' /dev/pts /dev/shm; "
        "echo x > /dev/null && echo null-ok; "
        "head -c 3 /dev/zero | od -An -tx1; "
        "(echo x > /dev/full) 2>&1 | grep -o 'No space left on device'; "
        "head -c 8 /dev/urandom | wc -c"
    )
    out = runtime.script_output(bundle, script)
    lines = out.splitlines()
    expect_nodes = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8", "urandom": "1:9", "tty": "5:0"}
    for name, mm in expect_nodes.items():
        assert f"/dev/{name} character special file {mm} 666" in lines, f"/dev/{name} wrong:\n{out}"
    assert "link /dev/ptmx pts/ptmx" in lines
    assert "link /dev/fd /proc/self/fd" in lines
    assert "link /dev/stdin /proc/self/fd/0" in lines
    assert "link /dev/stdout /proc/self/fd/1" in lines
    assert "link /dev/stderr /proc/self/fd/2" in lines
    assert "/dev/pts directory" in lines
    assert "/dev/shm directory" in lines
    assert "null-ok" in lines
    assert "00 00 00" in out
    assert "No space left on device" in out
    assert lines[-1] == "8"


def test_dev_has_no_host_devices(bundle, runtime):
    out = runtime.script_output(bundle, "ls /dev")
    names = set(out.split())
    assert not ({"vda", "sda", "kmsg", "mem", "port"} & names), names


def test_linux_devices(bundle, runtime):
    with bundle.edit() as c:
        c["linux"]["devices"] = [
            {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 65534, "gid": 100},
            {"path": "/dev/sub/myblk", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600, "uid": 0, "gid": 0},
            {"path": "/dev/myfifo", "type": "p", "fileMode": 0o620},
            {"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o666, "uid": 0, "gid": 0},
        ]
        c["linux"].setdefault("resources", {}).setdefault("devices", []).append(
            {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}
        )
    out = runtime.script_output(
        bundle,
        "stat -c '%n %F %t:%T %a %u %g' /dev/mydev /dev/sub/myblk; stat -c '%n %F %a' /dev/myfifo; "
        "echo x > /dev/mynull && echo mynull-writable",
    )
    lines = out.splitlines()
    assert "/dev/mydev character special file 1:3 640 65534 100" in lines, out
    assert "/dev/sub/myblk block special file 7:0 600 0 0" in lines, out
    assert "/dev/myfifo fifo 620" in lines, out
    assert "mynull-writable" in lines


def test_device_cgroup_denies_unlisted(bundle, runtime):
    """resources.devices deny-all: a node the config does not allow cannot be opened."""
    with bundle.edit() as c:
        c["process"]["capabilities"]["bounding"].append("CAP_MKNOD")
        for k in ("effective", "permitted"):
            c["process"]["capabilities"].setdefault(k, []).append("CAP_MKNOD")
    out = runtime.script_output(bundle, "mknod /tmp/mem c 1 1 && echo made; (head -c 1 /tmp/mem) 2>&1; echo rc=$?")
    assert "Operation not permitted" in out, out
    assert "rc=0" not in out


def test_masked_paths(bundle, runtime):
    (bundle.rootfs / "secretfile").write_text("secret-file\n")
    (bundle.rootfs / "secretdir").mkdir()
    (bundle.rootfs / "secretdir" / "inner").write_text("secret-inner\n")
    with bundle.edit() as c:
        c["linux"].setdefault("maskedPaths", [])
        c["linux"]["maskedPaths"] += ["/secretfile", "/secretdir", "/does/not/exist"]
        # a default masked /proc file that exists on this kernel
        proc_files = [p for p in c["linux"]["maskedPaths"] if p.startswith("/proc/") and os.path.isfile(p)]
    assert proc_files, "default maskedPaths has no /proc file that exists here"
    pf = proc_files[0]
    mounts, rest = inside_mounts(
        runtime,
        bundle,
        "cat /secretfile; echo cat-rc=$?; ls -A /secretdir; echo ls-done; "
        "(echo x > /secretdir/new) 2>&1; (echo x > /secretfile) 2>&1; echo end; "
        f"stat -c '%F %t:%T' /secretfile; stat -c '%t:%T' {pf}; wc -c < {pf}",
    )
    assert "secret" not in rest.replace("secretdir", "").replace("secretfile", ""), rest
    assert "cat-rc=0" in rest
    assert rest.split("ls-done")[0].split("cat-rc=0")[1].strip() == "", "masked dir is not empty"
    assert "Read-only file system" in rest.split("end")[0], rest
    assert "character special file 1:3" in rest
    assert rest.split()[-2:] == ["1:3", "0"], f"{pf} (default masked) not masked: {rest}"
    d = last_mount_at(mounts, "/secretdir")
    assert d["fstype"] == "tmpfs" and "ro" in d["opts"], d
    # the rootfs itself is untouched
    assert (bundle.rootfs / "secretfile").read_text() == "secret-file\n"
    assert os.listdir(bundle.rootfs / "secretdir") == ["inner"]


def test_readonly_paths(bundle, runtime):
    (bundle.rootfs / "rodir").mkdir()
    (bundle.rootfs / "rodir" / "f").write_text("orig\n")
    with bundle.edit() as c:
        c["linux"].setdefault("readonlyPaths", [])
        c["linux"]["readonlyPaths"] += ["/rodir", "/not/there"]
    mounts, rest = inside_mounts(
        runtime,
        bundle,
        "cat /rodir/f; (echo x > /rodir/f) 2>&1; (echo x > /rodir/new) 2>&1; "
        "(echo x > /proc/sys/kernel/hostname) 2>&1; echo end",
    )
    assert rest.startswith("orig\n"), rest
    assert rest.count("Read-only file system") == 3, rest
    assert "ro" in last_mount_at(mounts, "/rodir")["opts"]
    assert (bundle.rootfs / "rodir" / "f").read_text() == "orig\n"
    assert not (bundle.rootfs / "rodir" / "new").exists()


def test_root_readonly(bundle, runtime):
    with bundle.edit() as c:
        c["root"]["readonly"] = True
    mounts, rest = inside_mounts(
        runtime, bundle, "(touch /newfile) 2>&1; (touch /tmp/x) 2>&1; touch /dev/shm/ok && echo shm-ok; echo end"
    )
    assert rest.count("Read-only file system") == 2, rest
    assert "shm-ok" in rest
    assert "ro" in last_mount_at(mounts, "/")["opts"]
    assert not (bundle.rootfs / "newfile").exists()


def test_root_writable_by_default(bundle, runtime):
    runtime.script_output(bundle, "echo hi > /written")
    assert (bundle.rootfs / "written").read_text() == "hi\n"


@pytest.mark.parametrize("prop,tag", [("shared", "shared:"), ("private", None)])
def test_rootfs_propagation(bundle, runtime, prop, tag):
    with bundle.edit() as c:
        c["linux"]["rootfsPropagation"] = prop
    mounts, _ = inside_mounts(runtime, bundle)
    root = last_mount_at(mounts, "/")
    opt = " ".join(root["optional"])
    if tag:
        assert tag in opt, f"/ is not {prop}: {root}"
    else:
        assert "shared:" not in opt and "master:" not in opt, f"/ is not private: {root}"


def test_no_pivot(bundle, runtime):
    (bundle.rootfs / "marker-np").write_text("no-pivot\n")
    out = runtime.script_output(bundle, "cat /marker-np; ls /; echo x > /np-written", "--no-pivot")
    assert out.splitlines()[0] == "no-pivot"
    assert "work" not in out.split()
    assert (bundle.rootfs / "np-written").exists()


def test_symlink_mount_destination_stays_in_rootfs(bundle, runtime, tmp_path):
    """rootfs/evil -> /<host dir>: mounting on /evil must stay inside the rootfs."""
    hostdir = tmp_path / "hostdir"
    hostdir.mkdir()
    (hostdir / "hostfile").write_text("host\n")
    target = hostdir / "made-by-runtime"  # does not exist on the host: creating it would be an escape
    os.symlink(str(target), bundle.rootfs / "evil")
    with bundle.edit() as c:
        c["mounts"].append({"destination": "/evil", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    bundle.set_script("cat /proc/self/mountinfo; echo ===; ls -A /evil/; echo x > /evil/written && echo written-ok")
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    if r.returncode != 0:
        # refusing is acceptable; it must say why and leave nothing (autouse check)
        assert r.stderr.strip()
    else:
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
        out = bundle.stdout()
        mi, _, rest = out.partition("===\n")
        mounts = parse_mountinfo(mi)
        targets = {m["target"] for m in mounts if m["fstype"] == "tmpfs"}
        assert str(target) in targets or "/evil" in targets, f"tmpfs for /evil not inside the container: {targets}"
        assert "hostfile" not in rest
        assert "written-ok" in rest, out
    # the host directory was not touched
    assert sorted(os.listdir(hostdir)) == ["hostfile"]
    with open("/proc/self/mountinfo") as f:
        assert str(hostdir) not in f.read()


def test_dotdot_mount_destination_stays_in_rootfs(bundle, runtime, tmp_path):
    """A destination with '..' components is resolved inside the rootfs."""
    name = f"oci-it-dotdot-{os.getpid()}"
    with bundle.edit() as c:
        c["mounts"].append(
            {"destination": "/../../../../../../../tmp/" + name, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}
        )
    bundle.set_script("cat /proc/self/mountinfo")
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    if r.returncode == 0:
        runtime.start(cid)
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid)
        mounts = parse_mountinfo(bundle.stdout())
        assert mounts_at(mounts, "/tmp/" + name), "mount not inside the container"
    else:
        assert r.stderr.strip()
    assert not os.path.exists("/tmp/" + name), "the runtime created a directory on the host"
