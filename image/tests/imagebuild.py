"""Build container images for the tests with tarfile + hashlib: layer tars
(plain, gzip, zstd), an OCI image layout, an oci-archive and a docker-archive.

A layer is a list of entries; each entry is a dict with `name`, `type`
('file', 'dir', 'symlink', 'hardlink', 'char', 'fifo'), and optionally `data`,
`mode`, `uid`, `gid`, `target`, `major`, `minor`, `xattrs`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

BUSYBOX = "/bin/busybox"
APPLETS = ["sh", "cat", "ls", "stat", "test", "echo", "rm", "id", "hostname", "env",
           "readlink", "mkdir", "true", "printf", "sort", "wc"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def layer_tar(entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o755 if e["type"] == "dir" else 0o644)
            ti.uid = e.get("uid", 0)
            ti.gid = e.get("gid", 0)
            ti.mtime = e.get("mtime", 1700000000)
            if e.get("xattrs"):
                ti.pax_headers = {f"SCHILY.xattr.{k}": v for k, v in e["xattrs"].items()}
            data = None
            t = e["type"]
            if t == "file":
                ti.type = tarfile.REGTYPE
                data = e.get("data", b"")
                ti.size = len(data)
            elif t == "dir":
                ti.type = tarfile.DIRTYPE
            elif t == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = e["target"]
            elif t == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = e["target"]
            elif t == "char":
                ti.type = tarfile.CHRTYPE
                ti.devmajor, ti.devminor = e.get("major", 0), e.get("minor", 0)
            elif t == "fifo":
                ti.type = tarfile.FIFOTYPE
            else:
                raise ValueError(t)
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def compress(tar: bytes, how: str) -> bytes:
    if how == "none":
        return tar
    if how == "gzip":
        return gzip.compress(tar, mtime=0)
    if how == "zstd":
        return subprocess.run(["zstd", "-q", "-c"], input=tar, stdout=subprocess.PIPE, check=True).stdout
    raise ValueError(how)


MEDIA = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def busybox_entries(extra_passwd: str = "") -> list:
    data = Path(BUSYBOX).read_bytes()
    es = [{"name": d, "type": "dir"} for d in ["bin", "etc", "proc", "sys", "dev", "root", "run", "var"]]
    es.append({"name": "tmp", "type": "dir", "mode": 0o1777})
    es.append({"name": "bin/busybox", "type": "file", "data": data, "mode": 0o755})
    es += [{"name": f"bin/{a}", "type": "symlink", "target": "busybox"} for a in APPLETS]
    es.append({"name": "etc/passwd", "type": "file",
               "data": ("root:x:0:0:root:/root:/bin/sh\n"
                        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" + extra_passwd).encode()})
    es.append({"name": "etc/group", "type": "file",
               "data": b"root:x:0:\nstaff:x:50:app\nnogroup:x:65534:\n"})
    return es


class Image:
    """An image: config + layers (each: blob bytes, diff tar bytes, media type)."""

    def __init__(self, layers, config=None, compression=None):
        self.layers = []
        for i, entries in enumerate(layers):
            how = (compression or ["none"] * len(layers))[i]
            tar = entries if isinstance(entries, bytes) else layer_tar(entries)
            self.layers.append({"tar": tar, "blob": compress(tar, how), "media": MEDIA[how]})
        cfg = {"architecture": "amd64", "os": "linux",
               "config": config or {"Cmd": ["/bin/sh"]},
               "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha256(l["tar"]) for l in self.layers]}}
        self.config = json.dumps(cfg).encode()

    def manifest(self):
        return json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + sha256(self.config), "size": len(self.config)},
            "layers": [{"mediaType": l["media"], "digest": "sha256:" + sha256(l["blob"]), "size": len(l["blob"])}
                       for l in self.layers],
        }).encode()


def write_oci_layout(path: Path, images: dict, blob_override=None) -> Path:
    """images: {ref name: Image}. blob_override(hex, data) -> data or None (omit)."""
    blobs = path / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    manifests = []

    def put(data: bytes):
        h = sha256(data)
        if blob_override:
            data = blob_override(h, data)
            if data is None:
                return h
        (blobs / h).write_bytes(data)
        return h

    for ref, img in images.items():
        for l in img.layers:
            put(l["blob"])
        put(img.config)
        m = img.manifest()
        h = put(m)
        manifests.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "digest": "sha256:" + h, "size": len(m),
                          "annotations": {"org.opencontainers.image.ref.name": ref}})
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return path


def tar_dir(src: Path, out: Path) -> Path:
    with tarfile.open(out, "w") as tf:
        for p in sorted(src.rglob("*")):
            tf.add(p, arcname=str(p.relative_to(src)), recursive=False)
    return out


def write_oci_archive(out: Path, images: dict, work: Path, **kw) -> Path:
    d = work / (out.name + ".d")
    write_oci_layout(d, images, **kw)
    tar_dir(d, out)
    shutil.rmtree(d)
    return out


def write_docker_archive(out: Path, images: dict) -> Path:
    """The docker save layout: <hex>/layer.tar, <hex>.json, manifest.json."""
    with tarfile.open(out, "w") as tf:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        manifest = []
        for ref, img in images.items():
            layers = []
            for l in img.layers:
                h = sha256(l["tar"])
                add(f"{h}/layer.tar", l["tar"])
                layers.append(f"{h}/layer.tar")
            ch = sha256(img.config)
            add(f"{ch}.json", img.config)
            manifest.append({"Config": f"{ch}.json", "RepoTags": [ref], "Layers": layers})
        add("manifest.json", json.dumps(manifest).encode())
    return out
