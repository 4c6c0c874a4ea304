"""A config without a mount namespace must never alter the caller's mount namespace
beyond the rootfs bind, which delete (or a failed create) removes again."""
import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def root_mount_line():
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[4] == "/":
            return line
    return ""


def mounts_under(path):
    p = str(path)
    return [l for l in open("/proc/self/mountinfo") if f" {p}" in l.split(" - ")[0]]


def test_no_namespaces_shares_everything_and_leaves_host_intact(bundle, runtime):
    before_root = root_mount_line()
    with bundle.edit() as c:
        c["linux"]["namespaces"] = []
        c["linux"].pop("uidMappings", None)
        c["linux"].pop("gidMappings", None)
        c.pop("hostname", None)
        c["linux"]["sysctl"] = {}
    out = runtime.script_output(bundle, "readlink /proc/self/ns/mnt; readlink /proc/self/ns/net")
    lines = out.split()
    assert lines[0] == os.readlink("/proc/self/ns/mnt")
    assert lines[1] == os.readlink("/proc/self/ns/net")
    assert root_mount_line() == before_root, "propagation of the host's / changed"
    assert mounts_under(bundle.path) == []


def test_no_mount_ns_failed_create_leaves_no_mounts(bundle, runtime):
    with bundle.edit() as c:
        c["linux"]["namespaces"] = [{"type": "pid"}]
        c.pop("hostname", None)
        c["linux"]["sysctl"] = {}
        c["process"]["args"] = ["no-such-binary"]
    cid = runtime.new_id()
    r = runtime.create(bundle, cid, check=False)
    assert r.returncode != 0
    assert "executable file not found" in r.stderr
    assert mounts_under(bundle.path) == []


def test_no_mount_ns_user_mount_on_rootfs_is_kept(bundle, runtime, tmp_path):
    """The rootfs is itself a mount point the user made: only our bind on top goes."""
    rootfs = bundle.path / "rootfs"
    os.system(f"mount --bind {rootfs} {rootfs}")
    try:
        with bundle.edit() as c:
            c["linux"]["namespaces"] = []
            c.pop("hostname", None)
            c["linux"]["sysctl"] = {}
        runtime.script_output(bundle, "true")
        left = mounts_under(rootfs)
        assert len(left) == 1, left  # exactly the user's own bind
    finally:
        os.system(f"umount {rootfs}")
