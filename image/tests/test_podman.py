"""Archives made by a real tool: `podman save` (docker-archive and oci-archive) of
a busybox image made with `podman import`. podman runs with its own
containers.conf / storage.conf and storage under the test's work dir, and is
reset at the end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest

from imagebuild import APPLETS, BUSYBOX

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("podman") is None, reason="podman not installed")]


@pytest.fixture
def podman(env):
    p = env.work / "podman"
    for d in ("cni", "tmp", "volumes", "root", "runroot"):
        (p / d).mkdir(parents=True)
    (p / "containers.conf").write_text(f"""
[containers]
log_driver = "k8s-file"
[network]
network_backend = "cni"
network_config_dir = "{p}/cni"
cni_plugin_dirs = ["/usr/lib/cni"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{p}/events.log"
tmp_dir = "{p}/tmp"
volume_path = "{p}/volumes"
lock_type = "file"
""")
    (p / "storage.conf").write_text(f"""
[storage]
driver = "overlay"
runroot = "{p}/runroot"
graphroot = "{p}/root"
""")
    penv = dict(os.environ, CONTAINERS_CONF=str(p / "containers.conf"),
                CONTAINERS_STORAGE_CONF=str(p / "storage.conf"))

    def run(*args):
        r = subprocess.run(["podman", *map(str, args)], env=penv, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"podman {args}: {r.stderr}"
        return r.stdout

    try:
        yield run
    finally:
        subprocess.run(["podman", "system", "reset", "-f"], env=penv, capture_output=True, timeout=300)


def busybox_rootfs_tar(work):
    r = work / "rootfs"
    for d in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "run", "var", "usr/bin"):
        (r / d).mkdir(parents=True)
    os.chmod(r / "tmp", 0o1777)
    shutil.copy(BUSYBOX, r / "bin" / "busybox")
    for a in APPLETS:
        os.symlink("busybox", r / "bin" / a)
    (r / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (r / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    out = work / "busybox-rootfs.tar"
    subprocess.run(["tar", "--numeric-owner", "--owner=0", "--group=0", "-C", str(r), "-cf", str(out), "."], check=True)
    return out


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive"])
def test_podman_saved_busybox_runs(env, podman, fmt):
    podman("import", "--change", 'CMD ["/bin/sh", "-c", "echo from-podman-image; id -u"]',
           "--change", "ENV=GREETING=hello-podman", "--change", "LABEL=org.example.made-by=podman",
           busybox_rootfs_tar(env.work), "localhost/busybox:test")
    archive = env.work / f"busybox-{fmt}.tar"
    podman("save", "--format", fmt, "-o", archive, "localhost/busybox:test")
    names = tarfile.open(archive).getnames()
    assert ("manifest.json" in names) if fmt == "docker-archive" else ("index.json" in names)

    b = env.work / "bundle"
    env.create(archive, b, "--image", "localhost/busybox:test")
    cfg = json.loads((b / "config.json").read_text())
    assert cfg["process"]["args"] == ["/bin/sh", "-c", "echo from-podman-image; id -u"]
    assert "GREETING=hello-podman" in cfg["process"]["env"]
    assert cfg["annotations"]["org.example.made-by"] == "podman"
    rc, out = env.run(b)
    assert rc == 0 and out == "from-podman-image\n0\n", out

    # The same archive again: the layer is reused, not unpacked a second time.
    layers = list((env.store / "layers").iterdir())
    b2 = env.work / "bundle2"
    env.create(archive, b2, "--index", "0", cmd=["/bin/sh", "-c", "echo $GREETING"])
    assert list((env.store / "layers").iterdir()) == layers
    rc, out = env.run(b2)
    assert rc == 0 and out == "hello-podman\n", out
    env.image("remove", b)
    env.image("remove", b2)
    env.image("gc")
    assert not list((env.store / "layers").iterdir())
