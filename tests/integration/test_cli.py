"""CLI surface: --version, --help, list (table / json / -q), spec, features."""

import json
import re
import shutil
import subprocess

import pytest

from conftest import OCI_RUN

SUBCOMMANDS = ("create", "start", "run", "state", "kill", "delete", "list", "spec", "features")


@pytest.mark.parametrize("flag", ["--version", "-v"])
def test_version(runtime, flag):
    r = runtime.cmd(flag)
    assert r.returncode == 0, str(r)
    assert "oci-run" in r.stdout
    assert re.search(r"\b\d+\.\d+\.\d+\b", r.stdout), r.stdout


def test_help(runtime):
    r = runtime.cmd("--help")
    assert r.returncode == 0, str(r)
    text = r.stdout + r.stderr
    for sub in SUBCOMMANDS:
        assert re.search(rf"\b{sub}\b", text), f"--help does not mention {sub}"


def test_no_arguments_fails(runtime):
    r = runtime.cmd()
    assert r.returncode != 0 or "create" in r.stdout + r.stderr


# ----------------------------------------------------------------------------- list


def test_list(make_extra_bundle, runtime):
    b1 = make_extra_bundle("sleep", "30")
    b2 = make_extra_bundle("sleep", "30")
    c_created, c_running = runtime.new_id("c"), runtime.new_id("r")
    runtime.create(b1, c_created)
    runtime.create(b2, c_running)
    runtime.start(c_running)
    pid_created = runtime.state(c_created)["pid"]
    pid_running = runtime.state(c_running)["pid"]

    # -q: ids only, one per line
    assert sorted(runtime.list_ids()) == sorted([c_created, c_running])
    r = runtime.cmd("list", "-q")
    assert sorted(r.stdout.split("\n")[:-1]) == sorted([c_created, c_running]), repr(r.stdout)

    # json
    r = runtime.cmd("list", "-f", "json")
    assert r.returncode == 0, str(r)
    entries = {e["id"]: e for e in json.loads(r.stdout)}
    assert set(entries) == {c_created, c_running}
    assert entries[c_created]["status"] == "created" and entries[c_created]["pid"] == pid_created
    assert entries[c_running]["status"] == "running" and entries[c_running]["pid"] == pid_running
    assert entries[c_created]["bundle"] == str(b1.path)
    assert entries[c_running]["bundle"] == str(b2.path)
    for e in entries.values():
        assert "created" in e and "owner" in e

    # table (default format and -f table)
    for args in (("list",), ("list", "-f", "table"), ("list", "--format", "table")):
        r = runtime.cmd(*args)
        assert r.returncode == 0, str(r)
        lines = r.stdout.splitlines()
        header = lines[0].split()
        for col in ("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"):
            assert col in header, lines[0]
        rows = {l.split()[0]: l.split() for l in lines[1:] if l.strip()}
        assert set(rows) == {c_created, c_running}, r.stdout
        assert rows[c_created][1:4] == [str(pid_created), "created", str(b1.path)]
        assert rows[c_running][1:4] == [str(pid_running), "running", str(b2.path)]

    # stopped containers are listed with pid 0
    runtime.kill(c_running, "KILL")
    runtime.wait_status(c_running, "stopped")
    entries = {e["id"]: e for e in json.loads(runtime.cmd("list", "-f", "json").stdout)}
    assert entries[c_running]["status"] == "stopped" and entries[c_running]["pid"] == 0


def test_list_empty(runtime):
    r = runtime.cmd("list", "-q")
    assert r.returncode == 0 and r.stdout == ""
    r = runtime.cmd("list", "-f", "json")
    assert r.returncode == 0
    assert json.loads(r.stdout) in ([], None)
    r = runtime.cmd("list")
    assert r.returncode == 0
    assert len([l for l in r.stdout.splitlines() if l.strip()]) <= 1


def test_list_root_missing(tmp_path):
    """A state root that does not exist yet lists as empty."""
    p = subprocess.run(
        [OCI_RUN, "--root", str(tmp_path / "no-such-root"), "list", "-q"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout == ""


# ----------------------------------------------------------------------------- spec


def test_spec_runs(bundle, runtime, tmp_path):
    """`spec` writes a config that runs once a rootfs is in place."""
    d = tmp_path / "specbundle"
    d.mkdir()
    r = runtime.cmd("spec", "-b", str(d))
    assert r.returncode == 0, str(r)
    config = json.loads((d / "config.json").read_text())
    assert config["ociVersion"].startswith("1.")
    assert config["root"]["path"] == "rootfs"
    assert config["process"]["args"]
    types = [n["type"] for n in config["linux"]["namespaces"]]
    for t in ("pid", "network", "ipc", "uts", "mount"):
        assert t in types
    shutil.copytree(bundle.rootfs, d / "rootfs", symlinks=True)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sh", "-c", "echo spec-ok"]
    (d / "config.json").write_text(json.dumps(config))
    runtime.tracker.bundles.append(d)
    out_f = d / "out"
    cid = runtime.new_id()
    with open(out_f, "wb") as fo:
        rr = runtime.cmd("run", "--bundle", str(d), cid, stdout=fo)
    assert rr.returncode == 0, f"{rr}\n{rr.stderr}"
    assert out_f.read_text() == "spec-ok\n"


def test_spec_in_cwd(runtime, tmp_path):
    d = tmp_path / "speccwd"
    d.mkdir()
    r = runtime.cmd("spec", cwd=str(d))
    assert r.returncode == 0, str(r)
    json.loads((d / "config.json").read_text())


def test_spec_rootless(runtime, tmp_path):
    d = tmp_path / "rootless"
    d.mkdir()
    r = runtime.cmd("spec", "--rootless", "-b", str(d))
    assert r.returncode == 0, str(r)
    config = json.loads((d / "config.json").read_text())
    types = [n["type"] for n in config["linux"]["namespaces"]]
    assert "user" in types
    assert config["linux"]["uidMappings"] and config["linux"]["gidMappings"]


# ----------------------------------------------------------------------------- features


def test_features(runtime):
    r = runtime.cmd("features")
    assert r.returncode == 0, str(r)
    f = json.loads(r.stdout)
    assert f["ociVersionMin"].startswith("1.")
    assert f["ociVersionMax"].startswith("1.")
    linux = f["linux"]
    for t in ("pid", "network", "ipc", "uts", "mount", "cgroup"):
        assert t in linux["namespaces"]
    assert "CAP_KILL" in linux["capabilities"] and "CAP_SYS_ADMIN" in linux["capabilities"]
    for opt in ("ro", "nosuid", "nodev", "noexec", "bind", "rbind"):
        assert opt in f["mountOptions"]


def test_debug_flag(runtime):
    r = runtime.cmd("list", "-q", global_args=["--debug"])
    assert r.returncode == 0, str(r)
    r = runtime.cmd("state", "no-such-container-xyz", global_args=["--debug"])
    assert r.returncode != 0 and "container does not exist" in r.stderr


def test_json_log_success_has_no_error(bundle, runtime, tmp_path):
    log = tmp_path / "ok.json"
    cid = runtime.new_id()
    r = runtime.cmd("create", "--bundle", str(bundle.path), cid, global_args=["--log", str(log), "--log-format", "json"])
    assert r.returncode == 0, str(r)
    text = log.read_text() if log.exists() else ""
    for line in text.splitlines():
        entry = json.loads(line)
        assert entry.get("level") != "error", line
    runtime.delete(cid, force=True)
