"""The btrfs backend on a loop-mounted btrfs image file that the test creates and
removes: layers applied into read-only chain subvolumes, each bundle rootfs a
writable snapshot of the top one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest

from conftest import tree_digest
from imagebuild import write_oci_layout
from test_layers import expect_final, multi_image

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("mkfs.btrfs") is None, reason="btrfs-progs not installed")]


@pytest.fixture
def btrfs(env):
    img = env.work / "btrfs.img"
    mnt = env.work / "mnt"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(512 << 20)
    subprocess.run(["mkfs.btrfs", "-q", str(img)], check=True, capture_output=True)
    loop = subprocess.run(["losetup", "-f", "--show", str(img)], check=True, capture_output=True,
                          text=True).stdout.strip()
    try:
        subprocess.run(["mount", "-t", "btrfs", loop, str(mnt)], check=True)
        try:
            yield mnt
        finally:
            # Bundles first (their rootfs may be overlay-mounted in other tests).
            if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", loop], capture_output=True)
        img.unlink(missing_ok=True)
    # The kernel lets go of an autocleared loop device asynchronously.
    for _ in range(100):
        if str(img) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout:
            break
        time.sleep(0.1)
    assert str(img) not in subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout


def subvol_ro(path):
    out = subprocess.run(["btrfs", "property", "get", "-ts", str(path), "ro"], capture_output=True, text=True)
    return out.stdout.strip()


def test_btrfs_snapshots(env, btrfs):
    env.store = btrfs / "store"
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    b1 = btrfs / "b1"
    r = env.image("create", src, b1, "--hostname", "imgtest", "--env", "FOO=override")
    assert "(btrfs)" in r.stdout
    assert os.stat(b1 / "rootfs").st_ino == 256, "rootfs is not a subvolume"
    chains = sorted(p.name for p in (env.store / "chains").iterdir())
    assert len(chains) == 3
    for c in chains:
        assert os.stat(env.store / "chains" / c).st_ino == 256
        assert subvol_ro(env.store / "chains" / c) == "ro=true"
    assert subvol_ro(b1 / "rootfs") == "ro=false"
    rec = json.loads((b1 / "oci-run-image.json").read_text())
    assert rec["storage"] == "btrfs" and sorted(rec["chains"]) == chains

    before = tree_digest(env.store)
    rc, out = env.run(b1)
    assert rc == 0, out
    expect_final(out)
    assert (b1 / "rootfs" / "data" / "new.txt").read_text() == "new\n"
    assert not (b1 / "rootfs" / "data" / "keep.txt").exists()
    assert tree_digest(env.store) == before

    b2 = btrfs / "b2"
    env.create(src, b2, "--hostname", "imgtest", "--env", "FOO=override")
    assert sorted(p.name for p in (env.store / "chains").iterdir()) == chains
    rc, out = env.run(b2)
    assert rc == 0, out
    expect_final(out)

    env.image("remove", b1)
    env.image("remove", b2)
    assert not b1.exists() and not b2.exists()
    r = env.image("gc")
    assert r.stdout.count("removed chain") == 3 and r.stdout.count("removed layer") == 3
    assert not list((env.store / "chains").iterdir())
    subvols = subprocess.run(["btrfs", "subvolume", "list", str(btrfs)], capture_output=True, text=True).stdout
    assert subvols.strip() == "", subvols


def test_overlay_and_copy_on_btrfs_when_asked(env, btrfs):
    env.store = btrfs / "store"
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    for storage in ("overlay", "copy"):
        b = btrfs / storage
        r = env.image("create", "--storage", storage, src, b, "--hostname", "imgtest", "--env", "FOO=override")
        assert f"({storage})" in r.stdout
        rc, out = env.run(b)
        assert rc == 0, out
        expect_final(out)
        env.image("remove", b)
    assert not list((env.store / "chains").iterdir())


def test_btrfs_refused_off_btrfs(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    r = env.image("create", "--storage", "btrfs", src, env.work / "b", check=False)
    assert r.returncode != 0 and "on the same btrfs file system" in r.stderr
    assert not (env.work / "b").exists()
