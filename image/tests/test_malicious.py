"""Hostile or broken images: each one fails with a clear error, and leaves no
bundle, no layer, nothing in the store's tmp/ and nothing outside."""

from __future__ import annotations

import json

import pytest

from imagebuild import Image, busybox_entries, layer_tar, sha256, write_docker_archive, write_oci_layout


def assert_nothing_left(env, bundle):
    assert not bundle.exists(), "partial bundle left behind"
    for sub in ("layers", "chains", "bundles", "tmp"):
        d = env.store / sub
        assert not d.exists() or not list(d.iterdir()), f"store/{sub} not empty: {list(d.iterdir())}"


def fails(env, src, pattern, *extra):
    b = env.work / "bundle"
    r = env.image("create", *extra, src, b, check=False)
    assert r.returncode != 0, r.stdout
    assert pattern in r.stderr, r.stderr
    assert r.stderr.startswith("oci-run-image: ") and r.stderr.count("oci-run-image:") == 1, r.stderr
    assert_nothing_left(env, b)
    return r.stderr


def one_layer(env, entries):
    return write_oci_layout(env.work / "src", {"bad": Image([entries])})


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "./../escape"])
def test_path_traversal(env, name):
    src = one_layer(env, [{"name": "a", "type": "dir"}, {"name": name, "type": "file", "data": b"x"}])
    fails(env, src, 'escapes the layer ("..")')
    assert not (env.work / "escape").exists() and not (env.store / "escape").exists()


def test_absolute_path(env):
    src = one_layer(env, [{"name": "/abs-escape", "type": "file", "data": b"x"}])
    fails(env, src, "has an absolute path")


@pytest.mark.parametrize("target", ["ABS", "../../../..", "."])
def test_symlink_then_write(env, target):
    outside = env.work / "outside"
    outside.mkdir()
    t = str(outside) if target == "ABS" else target
    src = one_layer(env, [{"name": "esc", "type": "symlink", "target": t},
                          {"name": "esc/pwned", "type": "file", "data": b"x"}])
    fails(env, src, 'parent "esc" is a symlink or not a directory')
    assert list(outside.iterdir()) == []


def test_hardlink_outside(env):
    src = one_layer(env, [{"name": "h", "type": "hardlink", "target": "../../../../etc/passwd"}])
    fails(env, src, "escapes the layer")


def test_hardlink_through_symlink(env):
    src = one_layer(env, [{"name": "etc", "type": "symlink", "target": "/etc"},
                          {"name": "h", "type": "hardlink", "target": "etc/passwd"}])
    fails(env, src, 'parent "etc" is a symlink')


def test_wrong_layer_digest(env):
    good = busybox_entries()
    evil = layer_tar(good + [{"name": "extra", "type": "file", "data": b"evil"}])
    img = Image([good])
    # The blob named by the manifest holds other content.
    src = write_oci_layout(env.work / "src", {"bad": img}, blob_override=lambda h, d: evil if d == img.layers[0]["blob"] else d)
    fails(env, src, "blob digest mismatch")


def test_wrong_diff_id(env):
    img = Image([[{"name": "f", "type": "file", "data": b"x"}]])
    cfg = json.loads(img.config)
    cfg["rootfs"]["diff_ids"] = ["sha256:" + "0" * 64]
    img.config = json.dumps(cfg).encode()
    write_docker_archive(env.work / "d.tar", {"bad:1": img})
    fails(env, env.work / "d.tar", "diff_id mismatch")


def test_wrong_config_digest(env):
    img = Image([[{"name": "f", "type": "file", "data": b"x"}]])
    src = write_oci_layout(env.work / "src", {"bad": img},
                           blob_override=lambda h, d: d + b" " if d == img.config else d)
    fails(env, src, "digest mismatch")


@pytest.mark.parametrize("how", ["gzip", "none"])
def test_truncated_blob(env, how):
    img = Image([busybox_entries()], compression=[how])
    blob = img.layers[0]["blob"]
    src = write_oci_layout(env.work / "src", {"bad": img},
                           blob_override=lambda h, d: d[: len(d) // 2] if d == blob else d)
    err = fails(env, src, "layer 1")
    assert "runcated" in err or "mismatch" in err or "decompress" in err, err


def test_manifest_names_missing_layer(env):
    img = Image([[{"name": "f", "type": "file", "data": b"x"}]])
    src = write_oci_layout(env.work / "src", {"bad": img},
                           blob_override=lambda h, d: None if d == img.layers[0]["blob"] else d)
    fails(env, src, "manifest names a missing layer sha256:" + sha256(img.layers[0]["blob"]))


def test_docker_archive_missing_layer(env):
    import tarfile
    img = Image([[{"name": "f", "type": "file", "data": b"x"}]])
    full = env.work / "full.tar"
    write_docker_archive(full, {"bad:1": img})
    cut = env.work / "cut.tar"
    with tarfile.open(full) as tin, tarfile.open(cut, "w") as tout:
        for m in tin.getmembers():
            if not m.name.endswith("layer.tar"):
                tout.addfile(m, tin.extractfile(m))
    fails(env, cut, "manifest names a missing layer")


def test_second_layer_bad_keeps_only_verified_layers(env):
    """A failure in layer 2 leaves layer 1 (complete and verified) and nothing else."""
    l1 = busybox_entries()
    img = Image([l1, [{"name": "../x", "type": "file", "data": b"x"}]])
    src = write_oci_layout(env.work / "src", {"bad": img})
    r = env.image("create", src, env.work / "b", check=False)
    assert r.returncode != 0 and "escapes" in r.stderr
    assert not (env.work / "b").exists()
    assert [p.name for p in (env.store / "layers").iterdir()] == [sha256(img.layers[0]["tar"])]
    assert not list((env.store / "tmp").iterdir())


def flip_inside_gzip(blob: bytes) -> bytes:
    """One byte flipped in the middle of the deflate stream (header and trailer intact)."""
    data = bytearray(blob)
    data[len(data) // 2] ^= 0xFF
    return bytes(data)


def test_corrupted_gzip_layer_names_the_blob(env):
    """Issue #22.8: a byte flipped inside a gzip layer is reported as a corrupt layer,
    naming its blob, not as whatever the garbage it decodes to looks like."""
    img = Image([busybox_entries()], compression=["gzip"])
    blob = img.layers[0]["blob"]
    src = write_oci_layout(env.work / "src", {"bad": img},
                           blob_override=lambda h, d: flip_inside_gzip(d) if d == blob else d)
    err = fails(env, src, "the layer is corrupt")
    assert f"blobs/sha256/{sha256(blob)}" in err, err


def test_corrupted_gzip_layer_without_digest(env):
    """docker-archive style: no blob digest to compare, the decompressor's failure says it."""
    img = Image([busybox_entries()], compression=["gzip"])
    bad = flip_inside_gzip(img.layers[0]["blob"])
    img.layers[0]["blob"] = bad
    src = write_oci_layout(env.work / "src", {"bad": img})  # the manifest names the damaged blob
    err = fails(env, src, "the layer is corrupt")
    assert f"blobs/sha256/{sha256(bad)}" in err, err
