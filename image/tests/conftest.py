"""Fixtures for the oci-run-image tests.

`env` gives every test a private work dir, layer store and oci-run state root,
and at teardown (pass or fail) deletes the containers it started, unmounts
everything mounted under the work dir, and removes it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OCI_RUN = os.environ.get("OCI_RUN", str(REPO / "build" / "oci-run"))
OCI_RUN_IMAGE = os.environ.get("OCI_RUN_IMAGE", str(REPO / "build" / "oci-run-image"))
TIMEOUT = 120


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: podman archives, loop-mounted btrfs")


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        for item in items:
            item.add_marker(pytest.mark.skip(reason="needs root"))


def mounts_under(path: Path):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == str(path) or mp.startswith(str(path) + "/"):
                out.append(mp)
    return out


class Env:
    def __init__(self, work: Path):
        self.work = work
        self.store = work / "store"
        self.state = work / "state"
        self.ids = []

    def image(self, *args, check=True, env=None, input=None):
        e = dict(os.environ)
        e.pop("OCI_RUN_IMAGE_STORE", None)
        e.update(env or {})
        r = subprocess.run([OCI_RUN_IMAGE, "--store", str(self.store), *map(str, args)],
                           capture_output=True, text=True, timeout=TIMEOUT, env=e, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"oci-run-image {args} failed ({r.returncode}): {r.stderr}")
        return r

    def create(self, source, bundle, *extra, cmd=(), **kw):
        tail = ["--", *cmd] if cmd else []
        return self.image("create", "--quiet", *extra, source, bundle, *tail, **kw)

    def run(self, bundle: Path):
        """Run the bundle's process with the real oci-run; returns (rc, stdout)."""
        cid = "img-" + uuid.uuid4().hex[:12]
        self.ids.append(cid)
        out = self.work / (cid + ".out")
        with open(out, "wb") as o:
            r = subprocess.run([OCI_RUN, "--root", str(self.state), "run", "--bundle", str(bundle), cid],
                               stdin=subprocess.DEVNULL, stdout=o, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        subprocess.run([OCI_RUN, "--root", str(self.state), "delete", "--force", cid],
                       capture_output=True, timeout=TIMEOUT)
        return r.returncode, out.read_text()

    def cleanup(self):
        for cid in self.ids:
            subprocess.run([OCI_RUN, "--root", str(self.state), "delete", "--force", cid],
                           capture_output=True, timeout=TIMEOUT)
        for mp in sorted(mounts_under(self.work), key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
        # btrfs subvolumes and loop devices are removed by the tests that make them.
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def env():
    work = Path(tempfile.mkdtemp(prefix="oci-run-image-test-"))
    e = Env(work)
    try:
        yield e
    finally:
        e.cleanup()
    assert not mounts_under(work), "mounts left behind"


def tree_digest(path: Path) -> dict:
    """Path -> (type, mode, uid, gid, size/target/rdev, content hash) of every entry."""
    import hashlib
    out = {}
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            p = Path(root) / n
            st = p.lstat()
            rel = str(p.relative_to(path))
            if p.is_symlink():
                extra = os.readlink(p)
            elif p.is_file():
                extra = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                extra = st.st_rdev
            xattrs = tuple(sorted((a, os.getxattr(p, a, follow_symlinks=False))
                                  for a in os.listxattr(p, follow_symlinks=False)))
            out[rel] = (st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns if not p.is_dir() else 0, extra, xattrs)
    return out
