"""Configs the project did not write, run with oci-run AND runc (differential).

tests/fixtures/ holds config.json files exactly as their tools wrote them:

  runc-spec.json                      `runc spec` (runc 1.1.5)
  runc-spec-rootless.json             `runc spec --rootless` (written as root: ids 0)
  podman-4.3.1-run-network-none.json  `podman run --rm --network none IMG echo hi`,
                                      copied by a wrapper runtime that then ran runc
  containerd-1.6.20-ctr-run.json      `ctr run --rm IMG c1 echo hi` through
                                      containerd-shim-runc-v2, captured the same way

Each runs on the busybox rootfs of tests/make-bundle.sh. At test time only
what belongs to the capturing host is rewritten: root.path, bind sources
under the engine's state directories (made again in the test's tmp dir with
the same kind: file or directory), cgroupsPath (made unique per test) and,
since the tests have no terminal, process.terminal (false) and process.args
(a probe script). Everything else -- capabilities, rlimits, seccomp, masked
and read-only paths, mounts, devices, namespaces -- is the tool's own.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest

from conftest import CGROUP_ROOT, REPO, run_container

FIXTURES = REPO / "tests" / "fixtures"

# What each fixture's container shows; compared between oci-run and runc.
PROBE = (
    "echo uid=$(id -u) gid=$(id -g) groups=$(id -G); hostname; "
    "grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status; "
    "ip -o link show lo | grep -o '<[^>]*>'; "
    "echo nofile=$(ulimit -n); "
    "echo root-writable=$(touch /.probe 2>/dev/null && echo yes || echo no); "
    "echo null=$(echo x > /dev/null 2>&1 && echo ok || echo denied); "
    "echo kcore=$(wc -c < /proc/kcore 2>/dev/null); "
    "echo sysrq=$(echo x > /proc/sysrq-trigger 2>/dev/null && echo writable || echo ro); "
    "for p in /proc /dev /dev/pts /dev/shm /dev/mqueue /sys /run /etc/hosts /etc/hostname /run/.containerenv /sys/fs/cgroup; do "
    "  awk -v p=$p '$2==p {print p, $3}' /proc/mounts | tail -n 1; done; "
    "echo cgroup-mounts=$(grep -c ' /sys/fs/cgroup/' /proc/mounts); "
    "ls /dev | sort | tr '\\n' ' '; echo"
)


def load(name: str) -> dict:
    with open(FIXTURES / name) as f:
        return json.load(f)


def localize(config: dict, bundle, tmp_path: Path, cgroup_parent: str, cid_hint: str) -> dict:
    """Rewrite the capturing host's paths and ids (see the module docstring)."""
    c = json.loads(json.dumps(config))
    if c["root"]["path"] != "rootfs":
        c["root"]["path"] = str(bundle.rootfs)
    c["process"]["terminal"] = False
    c["process"]["args"] = ["sh", "-c", PROBE]
    host = tmp_path / "engine-files"
    host.mkdir(exist_ok=True)
    for i, m in enumerate(c.get("mounts", [])):
        src = m.get("source", "")
        if not src.startswith("/") or os.path.exists(src):
            continue
        if not (m.get("type") == "bind" or "bind" in m.get("options", []) or "rbind" in m.get("options", [])):
            continue
        local = host / f"{i}-{Path(src).name}"
        if m["destination"] in ("/dev/shm",):
            local.mkdir(exist_ok=True)
        else:
            local.write_text({"hosts": "127.0.0.1 localhost\n", "hostname": c.get("hostname", "") + "\n"}
                             .get(Path(src).name, ""))
        m["source"] = str(local)
    if c.get("linux", {}).get("cgroupsPath"):
        c["linux"]["cgroupsPath"] = f"/{cgroup_parent}/{cid_hint}"
    return c


def _remove_cgroup_everywhere(name: str) -> None:
    for h in CGROUP_ROOT.iterdir():
        d = h / name
        if h.is_symlink() or not d.is_dir():
            continue
        for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(str(p))):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            d.rmdir()


@pytest.mark.parametrize(
    "fixture",
    ["runc-spec.json", "runc-spec-rootless.json", "podman-4.3.1-run-network-none.json",
     "containerd-1.6.20-ctr-run.json"],
)
def test_foreign_config_runs_like_runc(fixture, bundle, runtime, runc, tmp_path, test_id):
    config = load(fixture)
    parent = f"{test_id}-parent"
    out = {}
    try:
        for name, rt in (("oci-run", runtime), ("runc", runc)):
            # The probe's write test must not see what the other run left.
            (bundle.rootfs / ".probe").unlink(missing_ok=True)
            bundle.save(localize(config, bundle, tmp_path, parent, f"{name}-{test_id}"))
            r, stdout = run_container(rt, bundle, PROBE)
            out[name] = (r.returncode, stdout, r.stderr)
    finally:
        _remove_cgroup_everywhere(parent)
    assert out["oci-run"][0] == 0, out["oci-run"]
    assert out["oci-run"][1], out["oci-run"]
    assert out["oci-run"][:2] == out["runc"][:2], (
        f"oci-run exit {out['oci-run'][0]}:\n{out['oci-run'][1]}{out['oci-run'][2]}\n"
        f"runc exit {out['runc'][0]}:\n{out['runc'][1]}{out['runc'][2]}")
