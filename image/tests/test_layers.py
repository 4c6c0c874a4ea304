"""A multi-layer image built here (OCI layout, oci-archive, docker-archive):
whiteouts, an opaque directory, mode and owner changes, hard links, devices,
xattrs; the container run with the real oci-run sees the final tree; writes land
in the bundle's upper dir; the layer store is shared and never changes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import OCI_RUN_IMAGE, mounts_under, tree_digest
from imagebuild import Image, busybox_entries, sha256, write_docker_archive, write_oci_archive, write_oci_layout

CHECK_SCRIPT = r"""
set -e
echo "keep=$(cat /data/keep.txt)"
test ! -e /data/gone.txt && echo gone=absent
echo "olddir=$(ls /olddir | sort | tr '\n' ' ')"
echo "mode=$(stat -c '%a %u %g' /modes/f)"
echo "datamode=$(stat -c '%a' /data)"
echo "hl=$(cat /hl/orig) $(cat /hl/link) $(stat -c '%h' /hl/link) $(stat -c '%i' /hl/orig) $(stat -c '%i' /hl/link)"
echo "link=$(readlink /data/link) $(cat /data/link)"
echo "dev=$(stat -c '%F %t %T' /devs/null)"
echo "motd=$(cat /etc/motd)"
test ! -e /newdir/ghost && echo ghost=absent
echo "user=$(id -u):$(id -g) cwd=$(pwd) host=$(hostname) foo=$FOO"
echo new > /data/new.txt
rm /data/keep.txt
"""


def layers():
    l1 = busybox_entries(extra_passwd="app:x:1000:1000:app:/home/app:/bin/sh\n") + [
        {"name": "data", "type": "dir"},
        {"name": "data/keep.txt", "type": "file", "data": b"kept"},
        {"name": "data/gone.txt", "type": "file", "data": b"bye"},
        {"name": "olddir", "type": "dir"},
        {"name": "olddir/a", "type": "file", "data": b"a"},
        {"name": "olddir/sub", "type": "dir"},
        {"name": "olddir/sub/b", "type": "file", "data": b"b"},
        {"name": "modes", "type": "dir"},
        {"name": "modes/f", "type": "file", "data": b"f", "mode": 0o644},
        {"name": "hl", "type": "dir"},
        {"name": "hl/orig", "type": "file", "data": b"one"},
        {"name": "devs", "type": "dir"},
        {"name": "devs/null", "type": "char", "major": 1, "minor": 3, "mode": 0o666},
    ]
    l2 = [
        {"name": "data/.wh.gone.txt", "type": "file"},
        {"name": "olddir", "type": "dir"},
        {"name": "olddir/.wh..wh..opq", "type": "file"},
        {"name": "olddir/new", "type": "file", "data": b"n"},
        {"name": "modes/f", "type": "file", "data": b"f", "mode": 0o4750, "uid": 1000, "gid": 50},
        {"name": "hl/orig", "type": "file", "data": b"two", "xattrs": {"user.test": "yes"}},
        {"name": "hl/link", "type": "hardlink", "target": "hl/orig"},
    ]
    l3 = [
        {"name": "data", "type": "dir", "mode": 0o777},
        {"name": "data/link", "type": "symlink", "target": "keep.txt"},
        {"name": "etc/motd", "type": "file", "data": b"hello"},
        {"name": "workdir", "type": "dir"},
        {"name": "newdir", "type": "dir"},
        {"name": "newdir/.wh.ghost", "type": "file"},
    ]
    return [l1, l2, l3]


def multi_image():
    return Image(layers(), config={"Cmd": ["/bin/sh", "-c", CHECK_SCRIPT], "Env": ["FOO=from-image"],
                                   "WorkingDir": "/workdir", "User": "app:staff",
                                   "Labels": {"org.example.l": "v"}, "StopSignal": "SIGTERM",
                                   "ExposedPorts": {"8080/tcp": {}}},
                 compression=["none", "gzip", "zstd"])


def expect_final(out: str):
    assert "keep=kept" in out
    assert "gone=absent" in out
    assert "olddir=new " in out.splitlines()
    assert "mode=4750 1000 50" in out
    assert "datamode=777" in out
    hl = next(l for l in out.splitlines() if l.startswith("hl="))
    a, b, n, i1, i2 = hl[len("hl="):].split()
    assert (a, b, n) == ("two", "two", "2") and i1 == i2, hl
    assert "link=keep.txt kept" in out
    assert "dev=character special file 1 3" in out
    assert "motd=hello" in out
    assert "ghost=absent" in out
    assert "user=1000:50 cwd=/workdir host=imgtest foo=override" in out


@pytest.mark.parametrize("fmt", ["oci-layout", "oci-archive", "docker-archive"])
def test_multilayer_container_sees_final_tree(env, fmt):
    img = multi_image()
    src = env.work / "src"
    if fmt == "oci-layout":
        write_oci_layout(src, {"localhost/multi:1": img})
    elif fmt == "oci-archive":
        write_oci_archive(env.work / "multi.tar", {"localhost/multi:1": img}, env.work)
        src = env.work / "multi.tar"
    else:
        # docker archives carry uncompressed layers
        img = Image(layers(), config=json.loads(img.config)["config"])
        write_docker_archive(env.work / "multi.tar", {"localhost/multi:1": img})
        src = env.work / "multi.tar"
    b1 = env.work / "b1"
    env.create(src, b1, "--hostname", "imgtest", "--env", "FOO=override")
    cfg = json.loads((b1 / "config.json").read_text())
    assert cfg["process"]["user"] == {"uid": 1000, "gid": 50}
    assert cfg["process"]["cwd"] == "/workdir"
    assert "HOME=/home/app" in cfg["process"]["env"]
    assert cfg["annotations"]["org.example.l"] == "v"
    assert cfg["annotations"]["org.opencontainers.image.exposedPorts"] == "8080/tcp"
    assert cfg["annotations"]["org.opencontainers.image.stopSignal"] == "SIGTERM"
    assert str(b1 / "rootfs") in mounts_under(b1)

    store_before = tree_digest(env.store / "layers")
    layer_dirs = sorted((env.store / "layers").iterdir())
    assert len(layer_dirs) == 3

    rc, out = env.run(b1)
    assert rc == 0, out
    expect_final(out)

    # Writes went to the upper dir: a new file and a whiteout for the deleted one.
    upper = b1 / "overlay" / "upper"
    assert (upper / "data" / "new.txt").read_text() == "new\n"
    wh = (upper / "data" / "keep.txt").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0
    assert tree_digest(env.store / "layers") == store_before

    # A second bundle shares the same layer directories and sees a fresh tree.
    b2 = env.work / "b2"
    env.create(src, b2, "--hostname", "imgtest", "--env", "FOO=override")
    assert sorted((env.store / "layers").iterdir()) == layer_dirs
    rc, out = env.run(b2)
    assert rc == 0, out
    expect_final(out)
    assert tree_digest(env.store / "layers") == store_before

    env.image("remove", b1)
    assert not b1.exists() and not mounts_under(b1)
    records = list((env.store / "bundles").iterdir())
    assert len(records) == 1 and json.loads(records[0].read_text())["bundle"] == str(b2)
    # b2 still uses every layer: gc keeps them.
    env.image("gc")
    assert sorted((env.store / "layers").iterdir()) == layer_dirs
    env.image("remove", b2)
    r = env.image("gc")
    assert r.stdout.count("removed layer") == 3
    assert list((env.store / "layers").iterdir()) == []


def test_layer_store_contents_are_overlay_format(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    env.create(src, env.work / "b")
    diff_ids = json.loads(multi_image().config)["rootfs"]["diff_ids"]
    l1, l2, l3 = (env.store / "layers" / d[7:] / "diff" for d in diff_ids)
    wh = (l2 / "data" / "gone.txt").lstat()
    assert stat.S_ISCHR(wh.st_mode) and wh.st_rdev == 0 and wh.st_uid == 0
    assert os.getxattr(l2 / "olddir", "trusted.overlay.opaque") == b"y"
    assert os.getxattr(l2 / "hl" / "orig", "user.test") == b"yes"
    assert (l2 / "hl" / "orig").stat().st_ino == (l2 / "hl" / "link").stat().st_ino
    st = (l2 / "modes" / "f").stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o4750, 1000, 50)
    assert os.readlink(l3 / "data" / "link") == "keep.txt"
    assert stat.S_IMODE((l3 / "data").stat().st_mode) == 0o777
    assert (l1 / "devs" / "null").stat().st_rdev == os.makedev(1, 3)
    assert not list((env.store / "tmp").iterdir())
    env.image("remove", env.work / "b")


def test_copy_fallback_when_overlay_is_unusable(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    b = env.work / "b"
    r = env.image("create", src, b, "--hostname", "imgtest", "--env", "FOO=override",
                  env={"OCI_RUN_IMAGE_NO_OVERLAY": "1"})
    assert "overlayfs is unusable" in r.stderr and "copying" in r.stderr
    assert "(copy)" in r.stdout
    assert not mounts_under(b)
    rc, out = env.run(b)
    assert rc == 0, out
    expect_final(out)
    env.image("remove", b)
    assert not b.exists()


def test_explicit_copy_storage_and_args_override(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    b = env.work / "b"
    env.create(src, b, "--storage", "copy", cmd=["/bin/sh", "-c", "echo args-ok; cat /etc/motd"])
    assert not mounts_under(b)
    rc, out = env.run(b)
    assert rc == 0 and "args-ok" in out and "hello" in out, out
    env.image("remove", b)


def test_select_by_reference_and_index(env):
    a = Image([busybox_entries() + [{"name": "which", "type": "file", "data": b"A"}]],
              config={"Cmd": ["cat", "/which"]})
    bimg = Image([busybox_entries() + [{"name": "which", "type": "file", "data": b"B"}]],
                 config={"Cmd": ["cat", "/which"]})
    src = write_oci_layout(env.work / "src", {"localhost/a:1": a, "localhost/b:2": bimg})
    r = env.image("create", src, env.work / "x", check=False)
    assert r.returncode != 0 and "choose one with --image or --index" in r.stderr
    assert not (env.work / "x").exists()
    env.create(src, env.work / "b1", "--image", "b:2")
    env.create(src, env.work / "b2", "--index", "0")
    assert env.run(env.work / "b1")[1] == "B"
    assert env.run(env.work / "b2")[1] == "A"
    r = env.image("create", src, env.work / "x", "--image", "c:3", check=False)
    assert r.returncode != 0 and "no image named c:3" in r.stderr
    lst = env.image("list").stdout.split("\n\n")[0]
    assert str(env.work / "b1") in lst and "b:2" in lst and str(env.work / "b2") in lst
    env.image("create", "--quiet", "--index", "1", src, env.work / "b3", "--args", "/bin/echo", "via-args")
    assert env.run(env.work / "b3")[1] == "via-args\n"
    for b in ("b1", "b2", "b3"):
        env.image("remove", env.work / b)


def test_progress_only_on_a_terminal(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    r = env.image("create", src, env.work / "b1")
    assert "unpacking layer" not in r.stderr and r.stderr == ""
    # Under a pty (script(1)) the progress line appears.
    cmd = f"{OCI_RUN_IMAGE} --store {env.work / 'store2'} create {src} {env.work / 'b2'}"
    out = subprocess.run(["script", "-qec", cmd, "/dev/null"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout
    assert "unpacking layer 3/3" in out.stdout and "3 layers ready" in out.stdout
    for b in ("b1", "b2"):
        env.image("remove", env.work / b)


def test_remove_refuses_foreign_dirs(env):
    d = env.work / "plain"
    d.mkdir()
    r = env.image("remove", d, check=False)
    assert r.returncode != 0 and "not a bundle made by oci-run-image" in r.stderr
    assert d.exists()


def test_gc_forgets_bundles_deleted_by_hand(env):
    src = write_oci_layout(env.work / "src", {"m": multi_image()})
    b = env.work / "b"
    env.create(src, b, "--storage", "copy")
    subprocess.run(["rm", "-rf", str(b)], check=True)
    r = env.image("gc")
    assert "forgot bundle" in r.stdout and r.stdout.count("removed layer") == 3


def test_repeated_layer(env):
    """The same (here: empty) layer twice in one image, as build tools often make."""
    img = Image([busybox_entries(), [], [{"name": "x", "type": "file", "data": b"x"}], []],
                config={"Cmd": ["cat", "/x"]})
    assert img.layers[1]["tar"] == img.layers[3]["tar"]
    src = write_oci_layout(env.work / "src", {"m": img})
    b = env.work / "b"
    r = env.image("create", src, b)
    assert "(overlay)" in r.stdout, r.stderr
    assert len(list((env.store / "layers").iterdir())) == 3
    assert env.run(b) == (0, "x")
    env.image("remove", b)
