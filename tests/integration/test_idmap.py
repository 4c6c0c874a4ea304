"""Idmapped bind mounts: mounts[].uidMappings/gidMappings, "idmap", "ridmap".

A host directory holds files owned (on disk) by 0 and by 1000. The container
runs in a user namespace mapping 0..65535 to host 100000..165535, so without an
idmapped mount neither owner is mapped inside (both show as 65534)."""
import json
import os
from pathlib import Path

import pytest

from conftest import run_container

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

USERNS = [{"containerID": 0, "hostID": 100000, "size": 65536}]



@pytest.fixture
def source(tmp_path):
    src = tmp_path / "idmapsrc"
    src.mkdir()
    os.chmod(src, 0o755)
    for name, owner in (("f0", 0), ("f1000", 1000)):
        (src / name).write_text(name)
        os.chown(src / name, owner, owner)
    return src


def _userns(c):
    c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "user"] + [{"type": "user"}]
    c["linux"]["uidMappings"] = USERNS
    c["linux"]["gidMappings"] = USERNS
    # cgroup v1 hierarchies cannot be mounted from a user namespace
    c["mounts"] = [m for m in c["mounts"] if m["type"] not in ("cgroup", "cgroup2")]


def _bind(dest, src, *opts, maps=None):
    m = {"destination": dest, "type": "bind", "source": str(src), "options": ["bind", *opts]}
    if maps is not None:
        m["uidMappings"] = maps
        m["gidMappings"] = maps
    return m


def test_idmapped_bind_mounts_show_mapped_owners(bundle, runtime, source, searchable):
    """/plain: no idmap; /own: "idmap" with the container's mapping (on-disk ids
    look the same inside); /explicit: uidMappings 1000 -> host 100000 (on-disk
    1000 is the container's root). A file root creates through /own is owned
    by 0 on disk."""
    explicit = [{"containerID": 1000, "hostID": 100000, "size": 1}]
    for d in ("plain", "own", "explicit"):  # host root's rootfs: not writable by the container's root
        (bundle.rootfs / d).mkdir()
    with bundle.edit() as c:
        _userns(c)
        c["mounts"] += [_bind("/plain", source), _bind("/own", source, "idmap"),
                        _bind("/explicit", source, "ridmap", maps=explicit)]
    r, out = run_container(runtime, bundle,
                  "for d in plain own explicit; do echo $d $(stat -c %u:%g /$d/f0 /$d/f1000); done;"
                  " id -u; touch /own/new && echo touched")
    assert out is not None, r.stderr
    lines = out.split("\n")
    assert lines[0] == "plain 65534:65534 65534:65534", out
    assert lines[1] == "own 0:0 1000:1000", out
    assert lines[2] == "explicit 65534:65534 0:0", out
    assert lines[3:5] == ["0", "touched"], out
    st = (source / "new").stat()
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_idmap_source_filesystem_without_support(bundle, runtime, tmp_path):
    """sysfs cannot be idmapped: a clear error naming the mount, nothing left."""
    maps = [{"containerID": 0, "hostID": 1000, "size": 1}]
    with bundle.edit() as c:
        c["mounts"].append(_bind("/idm", "/sys/kernel", "idmap", maps=maps))
    r, out = run_container(runtime, bundle, "true")
    assert out is None
    idx = len(bundle.load()["mounts"]) - 1
    assert f"mounts[{idx}]: idmap /sys/kernel: mount_setattr MOUNT_ATTR_IDMAP: " in r.stderr, r.stderr
    assert "does not support idmapped mounts" in r.stderr, r.stderr


@pytest.mark.parametrize("case", ["tmpfs", "no-userns"])
def test_idmap_invalid_combinations(bundle, runtime, tmp_path, case):
    """config.md: mappings/idmap on a non-bind mount are refused (this runtime
    does idmapped bind mounts only); "idmap" without mappings needs the
    container's user namespace. Refused at parse time, naming the field."""
    with bundle.edit() as c:
        if case == "tmpfs":
            c["mounts"].append({"destination": "/idm", "type": "tmpfs", "source": "tmpfs",
                                "options": ["idmap"]})
            want = "an idmapped mount must be a bind mount"
        else:
            c["mounts"].append(_bind("/idm", tmp_path, "idmap"))
            want = "\"idmap\" without uidMappings/gidMappings takes the container's user namespace mapping"
        idx = len(c["mounts"]) - 1
    r, out = run_container(runtime, bundle, "true")
    assert out is None
    assert f"config.json: mounts[{idx}].options: {want}" in r.stderr, r.stderr


def test_features_report_idmap(runtime):
    f = json.loads(runtime.cmd("features").stdout)
    assert f["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    assert "idmap" in f["mountOptions"] and "ridmap" in f["mountOptions"]
