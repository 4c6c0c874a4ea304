"""oci-run-network: the network hook (createRuntime setup, poststop teardown).

NETWORK SAFETY: nothing here touches the network namespace pytest runs in. Each
test makes its own namespaces, held by helper processes (`unshare --net sleep`)
and gone when those die:
  * "host": where oci-run and the hook run (every oci-run command goes through
    `nsenter --net=`), with the bridge, the container veths and the rules;
  * "upstream": plays the internet, linked to "host" by a veth pair
    (198.51.100.1 upstream, 198.51.100.2 host; host's default route via upstream).
Containers get 192.0.2.0/24 (network "default") or 203.0.113.0/30 ("tiny").
Only TEST-NET addresses are used, and only inside those namespaces.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import OCI_RUN, wait_for

HOOK = os.environ.get("OCI_RUN_NETWORK", str(Path(OCI_RUN).resolve().parent / "oci-run-network"))

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.access(HOOK, os.X_OK), reason=f"{HOOK} is not built"),
]

UPSTREAM_IP = "198.51.100.1"
HOST_IP = "198.51.100.2"
SUBNET = "192.0.2.0/24"
GATEWAY = "192.0.2.1"

CONFIG = f"""\
networks:
  - name: default
    bridge: ocit0
    subnet: {SUBNET}
    dns: [192.0.2.53]
  - name: tiny
    bridge: ocit1
    subnet: 203.0.113.0/30
"""

# A tiny HTTP server answering with the client's address (runs in "upstream").
CLIENT_ADDR_SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer((sys.argv[1], int(sys.argv[2])), H)
print("ready", flush=True)
s.serve_forever()
"""

# UDP echo "udp:<client address>:<payload>" (busybox has no UDP server applet, so this
# runs with the host's python inside the container's network namespace).
UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(2048)
    s.sendto(b"udp:" + addr[0].encode() + b":" + data, addr)
"""

UDP_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
for _ in range(5):
    s.sendto(b"hello", (sys.argv[1], int(sys.argv[2])))
    try:
        print(s.recvfrom(2048)[0].decode())
        break
    except socket.timeout:
        pass
else:
    sys.exit("no UDP answer")
"""


# Binds (proto, addr, port) and reports "ok" or the errno name.
BIND = r"""
import errno, socket, sys
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
try:
    s.bind((addr, port))
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"""

# Holds (proto, addr, port) bound (tcp: listening) until killed.
HOLD = r"""
import socket, sys, time
proto, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
if proto == "tcp":
    s.listen()
print("ready", flush=True)
time.sleep(3600)
"""


# --------------------------------------------------------------------------- namespaces


class Netns:
    """A network namespace held by `unshare --net sleep`; gone when the helper dies."""

    def __init__(self):
        own = os.readlink("/proc/self/ns/net")
        self.proc = subprocess.Popen(
            ["unshare", "--net", "--", "sleep", "3600"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.pid = self.proc.pid
        self.path = f"/proc/{self.pid}/ns/net"

        def ready():
            with contextlib.suppress(OSError):
                return os.readlink(self.path) != own
            return False

        wait_for(ready, timeout=5, what="a new network namespace")

    def argv(self, *argv) -> list[str]:
        return ["nsenter", f"--net={self.path}", "--", *map(str, argv)]

    def run(self, *argv, check=True, timeout=15, env=None) -> subprocess.CompletedProcess:
        r = subprocess.run(self.argv(*argv), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout, env=env)
        if check:
            assert r.returncode == 0, f"{' '.join(map(str, argv))}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class Lab:
    def __init__(self, tmp_path: Path, runtime):
        self.tmp = tmp_path
        self.runtime = runtime
        self.config = tmp_path / "networks.yaml"
        self.config.write_text(CONFIG)
        self.state = tmp_path / "netstate"
        # The "host's" resolv.conf the hook reads (not the real one).
        self.host_resolv = tmp_path / "host-resolv.conf"
        self.host_resolv.write_text(f"nameserver {UPSTREAM_IP}\n")
        self.procs: list[subprocess.Popen] = []
        self.host = Netns()
        self.upstream = Netns()
        h, u = self.host, self.upstream
        h.run("ip", "link", "set", "lo", "up")
        u.run("ip", "link", "set", "lo", "up")
        h.run("ip", "link", "add", "uplink", "type", "veth", "peer", "name", "eth0", "netns", str(u.pid))
        h.run("ip", "addr", "add", f"{HOST_IP}/24", "dev", "uplink")
        h.run("ip", "link", "set", "uplink", "up")
        u.run("ip", "addr", "add", f"{UPSTREAM_IP}/24", "dev", "eth0")
        u.run("ip", "link", "set", "eth0", "up")
        h.run("ip", "route", "add", "default", "via", UPSTREAM_IP)
        # Every oci-run command of this test runs in "host".
        wrapper = tmp_path / "oci-run-in-host"
        wrapper.write_text(f'#!/bin/sh\nexec nsenter --net={h.path} -- {OCI_RUN} "$@"\n')
        wrapper.chmod(0o755)
        runtime.binary = str(wrapper)

    # -- the hook
    @property
    def env(self) -> list[str]:
        return [f"OCI_RUN_NETWORK_CONFIG={self.config}", f"OCI_RUN_NETWORK_STATE={self.state}",
                f"OCI_RUN_NETWORK_RESOLV_CONF={self.host_resolv}"]

    def cli(self, *args, check=True) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        env.update(e.split("=", 1) for e in self.env)
        return self.host.run(HOOK, *args, check=check, env=env)

    def leases(self) -> list[dict]:
        return json.loads(self.cli("list", "--json").stdout)["leases"]

    def lease(self, cid) -> dict:
        found = [l for l in self.leases() if l["id"] == cid]
        assert found, f"no lease for {cid}: {self.leases()}"
        return found[0]

    def attach(self, bundle, *, network=None, ip=None, ports=None, script=None, hooks=True):
        with bundle.edit() as c:
            if hooks:
                hook = lambda mode: [{"path": HOOK, "args": ["oci-run-network", mode], "env": self.env, "timeout": 30}]
                c.setdefault("hooks", {})["createRuntime"] = hook("setup")
                c["hooks"]["poststop"] = hook("teardown")
            ann = c.setdefault("annotations", {})
            if network:
                ann["org.oci-run.network"] = network
            if ip:
                ann["org.oci-run.network.ip"] = ip
            if ports:
                ann["org.oci-run.network.ports"] = ports
            # busybox ping needs a raw socket.
            for kind in ("bounding", "effective", "permitted"):
                caps = c["process"]["capabilities"].setdefault(kind, [])
                if "CAP_NET_RAW" not in caps:
                    caps.append("CAP_NET_RAW")
            c["process"]["args"] = ["sh", "-c", script or "sleep 300"]

    def start_container(self, bundle, tag="", **kw) -> str:
        self.attach(bundle, **kw)
        cid = self.runtime.new_id(tag)
        self.runtime.create(bundle, cid, timeout=20)
        self.runtime.start(cid)
        return cid

    def exec(self, cid, *argv, check=True, timeout=15):
        r = self.runtime.cmd("exec", cid, *argv, timeout=timeout)
        if check:
            assert r.returncode == 0, f"exec in {cid} failed:\n{r}"
        return r

    def popen(self, ns_argv: list[str]) -> subprocess.Popen:
        """A server started with `ns_argv`, which prints 'ready' once it listens."""
        p = subprocess.Popen(ns_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        self.procs.append(p)
        line = p.stdout.readline()
        assert line.strip() == "ready", f"server did not start: {line!r} {p.stderr.read() if p.poll() is not None else ''}"
        return p

    # -- what is in "host"
    def links(self) -> list[str]:
        out = self.host.run("ip", "-o", "link", "show").stdout
        return sorted(re.findall(r"^\d+: ([^:@]+)", out, re.M))

    def rules(self) -> list[str]:
        out = self.host.run("iptables-save").stdout
        return [l for l in out.splitlines() if l and not l.startswith("#")]

    def our_rules(self) -> list[str]:
        return [l for l in self.rules() if "oci-run" in l or "OCI-RUN" in l]

    def state_files(self) -> list[str]:
        if not self.state.exists():
            return []
        return sorted(str(p.relative_to(self.state)) for p in self.state.rglob("*") if p.name != "lock")

    def ip_forward(self) -> str:
        return self.host.run("cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()

    def holders(self) -> list[int]:
        """Port holder processes (`oci-run-network hold-ports`) in "host"."""
        own = os.readlink(self.host.path)
        found = []
        for e in os.scandir("/proc"):
            if not e.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                with open(f"/proc/{e.name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if argv[:2] == [b"oci-run-network", b"hold-ports"] and os.readlink(f"/proc/{e.name}/ns/net") == own:
                    found.append(int(e.name))
        return found

    def bind(self, proto: str, addr: str, port: int) -> str:
        """Binds addr:port in "host": "ok" or the errno name."""
        return self.host.run("python3", "-c", BIND, proto, addr, str(port)).stdout.strip()

    def assert_clean(self):
        """Nothing of the hook's is left in "host" or the state directory (ip_forward is
        never lowered again: it stays as the hook or anyone else set it)."""
        assert self.links() == ["lo", "uplink"], self.links()
        assert self.our_rules() == [], "\n".join(self.our_rules())
        assert self.state_files() == [], self.state_files()
        assert self.holders() == [], self.holders()

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        # Delete the containers from inside "host" (their poststop hooks clean up there).
        root = self.runtime.root
        if root.is_dir():
            for e in os.scandir(root):
                if e.is_dir(follow_symlinks=False):
                    with contextlib.suppress(Exception):
                        self.runtime.cmd("delete", "--force", e.name, timeout=15)
        with contextlib.suppress(Exception):
            for l in self.leases():
                self.cli("cleanup", l["id"], check=False)
        self.upstream.close()
        self.host.close()


@pytest.fixture
def lab(tmp_path, runtime):
    lab = None
    try:
        lab = Lab(tmp_path, runtime)
        yield lab
    finally:
        if lab is not None:
            lab.close()


# busybox 1.35's static wget crashes with -T: bound it with `timeout` instead.
def wget(ns: Netns, url: str, check=True) -> subprocess.CompletedProcess:
    return ns.run("timeout", "10", "busybox", "wget", "-q", "-O", "-", url, check=check, timeout=15)


def cwget(lab: "Lab", cid: str, url: str) -> str:
    """wget in the container."""
    return lab.exec(cid, "timeout", "10", "wget", "-q", "-O", "-", url).stdout.strip()


def httpd_script(text: str, port: int = 80) -> str:
    return f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p {port} -h /www"


def wait_listening(lab: Lab, cid: str, port: int):
    wait_for(lambda: f":{port} " in lab.exec(cid, "netstat", "-ltn").stdout, timeout=5, what=f"port {port} in {cid}")


# --------------------------------------------------------------------------- tests


def test_two_containers_get_addresses_and_reach_each_other(lab, make_extra_bundle):
    a = lab.start_container(make_extra_bundle(), "a")
    b = lab.start_container(make_extra_bundle(), "b")
    ip_a, ip_b = lab.lease(a)["ip"], lab.lease(b)["ip"]
    assert ip_a != ip_b
    for ip in (ip_a, ip_b):
        assert ip.startswith("192.0.2.") and ip != GATEWAY

    # Inside: lo and eth0 up, the address, the default route through the gateway.
    out = lab.exec(a, "ip", "-4", "addr").stdout
    assert f"inet {ip_a}/24" in out and "inet 127.0.0.1/8" in out
    assert re.search(r"^\d+: eth0@\S+ <[^>]*\bUP\b", lab.exec(a, "ip", "link").stdout, re.M)
    assert f"default via {GATEWAY} dev eth0" in lab.exec(a, "ip", "route").stdout

    lab.exec(a, "ping", "-c", "1", "-W", "3", ip_b)
    lab.exec(b, "ping", "-c", "1", "-W", "3", ip_a)
    lab.exec(a, "ping", "-c", "1", "-W", "3", GATEWAY)
    lab.exec(a, "ping", "-c", "1", "-W", "3", "127.0.0.1")
    # "host" reaches them on the bridge, forwarding is on there, and DNS is reported.
    assert lab.ip_forward() == "1"
    lab.host.run("busybox", "ping", "-c", "1", "-W", "3", ip_b)
    networks = json.loads(lab.cli("list", "--json").stdout)["networks"]
    default = [n for n in networks if n["name"] == "default"][0]
    assert default["dns"] == ["192.0.2.53"] and default["leases"] == 2
    assert "192.0.2.53" in lab.cli("list").stdout

    lab.runtime.delete(a, force=True)
    lab.runtime.delete(b, force=True)
    lab.assert_clean()


def test_container_reaches_upstream_through_masquerade(lab, bundle):
    lab.popen(lab.upstream.argv("python3", "-c", CLIENT_ADDR_SERVER, UPSTREAM_IP, "8000"))
    cid = lab.start_container(bundle)
    # The server sees the "host" namespace's address, not the container's.
    assert cwget(lab, cid, f"http://{UPSTREAM_IP}:8000/") == HOST_IP
    lab.exec(cid, "ping", "-c", "1", "-W", "3", UPSTREAM_IP)
    assert any("MASQUERADE" in l and SUBNET in l for l in lab.our_rules())


def test_published_ports_from_upstream_and_from_host(lab, bundle):
    cid = lab.start_container(bundle, ports="8080:80/tcp,5353:53/udp", script=httpd_script("hello-from-container"))
    wait_listening(lab, cid, 80)
    ip = lab.lease(cid)["ip"]

    # From upstream, through the host's address (DNAT in PREROUTING).
    assert wget(lab.upstream, f"http://{HOST_IP}:8080/").stdout.strip() == "hello-from-container"
    # From "host" itself: its own address, the gateway and localhost (OUTPUT DNAT,
    # route_localnet + masquerade of 127.0.0.0/8 onto the bridge).
    for url in (f"http://{HOST_IP}:8080/", f"http://{GATEWAY}:8080/", "http://127.0.0.1:8080/"):
        assert wget(lab.host, url).stdout.strip() == "hello-from-container", url
    # From the container itself through the host's address (hairpin).
    assert cwget(lab, cid, f"http://{HOST_IP}:8080/") == "hello-from-container"

    # UDP: an echo server in the container's network namespace answers upstream on 5353.
    pid = lab.runtime.state(cid)["pid"]
    lab.popen(["nsenter", f"--net=/proc/{pid}/ns/net", "--", "python3", "-c", UDP_ECHO, "53"])
    out = lab.upstream.run("python3", "-c", UDP_CLIENT, HOST_IP, "5353").stdout.strip()
    # Not masqueraded on the way in: the container sees upstream's address.
    assert out == f"udp:{UPSTREAM_IP}:hello"

    lease = lab.lease(cid)
    assert lease["ports"] == ["8080:80/tcp", "5353:53/udp"] and lease["alive"]
    dnat = [l for l in lab.our_rules() if "DNAT --to-destination" in l]
    assert len(dnat) == 2 and all(f'oci-run:id={cid}' in l for l in dnat)


def test_delete_leaves_nothing(lab, bundle):
    before_links = lab.links()
    cid = lab.start_container(bundle, ports="8080:80/tcp")
    lease = lab.lease(cid)
    assert lease["veth"] in lab.links()
    assert "ocit0" in lab.links()
    assert any(f"oci-run:id={cid}" in l for l in lab.our_rules())
    assert lab.state_files()
    lab.runtime.kill(cid, "KILL")
    lab.runtime.wait_status(cid, "stopped")
    lab.runtime.delete(cid)
    assert lab.links() == before_links
    lab.assert_clean()
    # Teardown is idempotent: again (and `cleanup`) change nothing and succeed.
    state = json.dumps({"ociVersion": "1.0.2", "id": cid, "status": "stopped", "pid": 0, "bundle": str(bundle.path)})
    env = {e.split("=", 1)[0]: e.split("=", 1)[1] for e in lab.env}
    r = subprocess.run(lab.host.argv(HOOK, "teardown"), input=state, capture_output=True, text=True, env=env,
                       timeout=15)
    assert r.returncode == 0, r.stderr
    lab.cli("cleanup", cid)
    lab.assert_clean()


def test_fifty_create_delete_cycles_leak_nothing(lab, bundle):
    lab.attach(bundle, ports="8080:80/tcp")
    rt = lab.runtime

    def cycle(i):
        cid = rt.new_id(f"c{i}")
        rt.create(bundle, cid, timeout=20)
        rt.delete(cid, force=True)

    cycle(0)  # iptables-nft makes its (empty) built-in tables on first use: baseline after
    links, rules, leases = lab.links(), lab.rules(), lab.state_files()
    # No time bound here: speed is the benchmark's business, and a loaded
    # machine under ASan is slow. Each command has its own timeout.
    for i in range(1, 51):
        cycle(i)
    assert lab.links() == links
    assert lab.rules() == rules
    assert lab.state_files() == leases == []
    lab.assert_clean()


def test_create_failing_after_the_network_hook_leaves_nothing(lab, bundle):
    """A createContainer hook fails after oci-run-network set up the veth,
    address lease and NAT rules: create fails, and its poststop teardown
    removes all of it."""
    lab.attach(bundle, ports="8081:80/tcp", script="true")
    lab.runtime.run(bundle, lab.runtime.new_id("warm"), timeout=20)  # iptables makes its built-in tables on first use
    links, rules = lab.links(), lab.rules()
    with bundle.edit() as c:
        c["hooks"]["createContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]
    cid = lab.runtime.new_id()
    r = lab.runtime.create(bundle, cid, check=False, timeout=20)
    assert r.returncode != 0 and "createContainer hook #0" in r.stderr, r
    assert lab.links() == links
    assert lab.rules() == rules
    assert lab.state_files() == []
    lab.assert_clean()


def test_bad_yaml_fails_create_and_leaves_nothing(lab, bundle):
    lab.config.write_text("networks:\n  - name: default\n    bridge: [oops\n")
    lab.attach(bundle)
    cid = lab.runtime.new_id()
    r = lab.runtime.create(bundle, cid, check=False, timeout=20)
    assert r.returncode != 0
    assert "invalid YAML at line" in r.stderr and str(lab.config) in r.stderr, r.stderr
    assert lab.runtime.list_ids() == []
    lab.assert_clean()


def test_unknown_network_fails_create(lab, bundle):
    lab.attach(bundle, network="nope")
    r = lab.runtime.create(bundle, lab.runtime.new_id(), check=False, timeout=20)
    assert r.returncode != 0 and 'unknown network "nope"' in r.stderr, r.stderr
    lab.assert_clean()


def test_exhausted_subnet(lab, make_extra_bundle):
    first = lab.start_container(make_extra_bundle(), "first", network="tiny")
    assert lab.lease(first)["ip"] == "203.0.113.2"  # .1 is the gateway: a /30 has room for one
    links, rules, files = lab.links(), lab.rules(), lab.state_files()

    b = make_extra_bundle()
    lab.attach(b, network="tiny")
    r = lab.runtime.create(b, lab.runtime.new_id("second"), check=False, timeout=20)
    assert r.returncode != 0
    assert 'network "tiny" (203.0.113.0/30) has no free address' in r.stderr, r.stderr
    # The failed setup undid itself; the first container is untouched and still works.
    assert (lab.links(), lab.rules(), lab.state_files()) == (links, rules, files)
    lab.exec(first, "ping", "-c", "1", "-W", "3", "203.0.113.1")

    lab.runtime.delete(first, force=True)
    lab.assert_clean()


def test_stale_lease_is_reclaimed_when_addresses_run_out(lab, make_extra_bundle):
    first = lab.start_container(make_extra_bundle(), "first", network="tiny")
    # The container dies without its poststop hook (e.g. the runtime crashed): its lease stays.
    pid = lab.runtime.state(first)["pid"]
    os.kill(pid, signal.SIGKILL)
    lab.runtime.wait_status(first, "stopped")
    lease = lab.lease(first)
    assert not lease["alive"]
    second = lab.start_container(make_extra_bundle(), "second", network="tiny")
    assert lab.lease(second)["ip"] == "203.0.113.2"
    assert [l["id"] for l in lab.leases()] == [second]
    lab.exec(second, "ping", "-c", "1", "-W", "3", "203.0.113.1")
    # The first one's teardown at delete now finds no lease and changes nothing.
    lab.runtime.delete(first)
    assert [l["id"] for l in lab.leases()] == [second]
    lab.runtime.delete(second, force=True)
    lab.assert_clean()


def test_taken_static_address(lab, make_extra_bundle):
    a = lab.start_container(make_extra_bundle(), "a", ip="192.0.2.50")
    assert lab.lease(a)["ip"] == "192.0.2.50" and lab.lease(a)["static"]
    assert "inet 192.0.2.50/24" in lab.exec(a, "ip", "-4", "addr").stdout
    links, rules, files = lab.links(), lab.rules(), lab.state_files()

    b = make_extra_bundle()
    lab.attach(b, ip="192.0.2.50")
    r = lab.runtime.create(b, lab.runtime.new_id("b"), check=False, timeout=20)
    assert r.returncode != 0
    assert f"static address 192.0.2.50 of network \"default\" (192.0.2.0/24) is already leased to container {a}" \
        in r.stderr, r.stderr
    assert (lab.links(), lab.rules(), lab.state_files()) == (links, rules, files)

    # Outside the subnet: refused as well.
    lab.attach(b, ip="198.51.100.9")
    r = lab.runtime.create(b, lab.runtime.new_id("c"), check=False, timeout=20)
    assert r.returncode != 0 and "is not a host address of network" in r.stderr, r.stderr
    assert (lab.links(), lab.rules(), lab.state_files()) == (links, rules, files)

    lab.runtime.delete(a, force=True)
    lab.assert_clean()


def test_port_already_mapped(lab, make_extra_bundle):
    a = lab.start_container(make_extra_bundle(), "a", ports="8080:80/tcp")
    links, rules, files = lab.links(), lab.rules(), lab.state_files()

    b = make_extra_bundle()
    lab.attach(b, network="tiny", ports="9090:90/tcp,8080:81/tcp")
    r = lab.runtime.create(b, lab.runtime.new_id("b"), check=False, timeout=20)
    assert r.returncode != 0
    assert f'host port 8080/tcp is already mapped to container {a} (network "default")' in r.stderr, r.stderr
    assert (lab.links(), lab.rules(), lab.state_files()) == (links, rules, files)
    # Same port number over UDP is another port.
    c = lab.start_container(b, "c", network="tiny", ports="8080:80/udp")
    assert lab.lease(c)["ports"] == ["8080:80/udp"]

    lab.runtime.delete(c, force=True)
    lab.runtime.delete(a, force=True)
    lab.assert_clean()


def test_failure_late_in_setup_rolls_back_everything(lab, bundle):
    # An interface named like the bridge that is not a bridge: setup fails after the
    # lease and forwarding were recorded, and must undo them.
    lab.host.run("ip", "link", "add", "ocit0", "type", "veth", "peer", "name", "ocit0p")
    lab.attach(bundle)
    r = lab.runtime.create(bundle, lab.runtime.new_id(), check=False, timeout=20)
    assert r.returncode != 0 and "interface ocit0 exists and is not a bridge" in r.stderr, r.stderr
    assert lab.links() == ["lo", "ocit0", "ocit0p", "uplink"]
    assert lab.our_rules() == [] and lab.state_files() == [] and lab.ip_forward() == "0"


def test_spec_network_flag(tmp_path):
    d = tmp_path / "b"
    d.mkdir()
    r = subprocess.run([OCI_RUN, "spec", "--network", "web", "-b", str(d)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    c = json.loads((d / "config.json").read_text())
    hook = str(Path(OCI_RUN).resolve().parent / "oci-run-network")
    assert c["annotations"]["org.oci-run.network"] == "web"
    assert {"type": "network"} in c["linux"]["namespaces"]
    assert [(h["path"], h["args"]) for h in c["hooks"]["createRuntime"]] == [(hook, ["oci-run-network", "setup"])]
    assert [(h["path"], h["args"]) for h in c["hooks"]["poststop"]] == [(hook, ["oci-run-network", "teardown"])]
    r = subprocess.run([OCI_RUN, "spec", "--network", "../x", "-b", str(tmp_path)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode != 0 and "not a network name" in r.stderr


def test_ip_forward_is_never_lowered(lab, make_extra_bundle):
    """Issue #22.1: other users of the host (another state directory, podman, ...) rely
    on forwarding: deleting the last container must not turn it off."""
    assert lab.ip_forward() == "0"
    a = lab.start_container(make_extra_bundle(), "a")
    assert lab.ip_forward() == "1"
    lab.runtime.delete(a, force=True)
    lab.assert_clean()
    assert lab.ip_forward() == "1"
    # Someone else's setting of 1 stays as well through a whole setup/teardown cycle.
    b = lab.start_container(make_extra_bundle(), "b", network="tiny")
    lab.runtime.delete(b, force=True)
    lab.assert_clean()
    assert lab.ip_forward() == "1"


def test_published_port_in_use_on_the_host_is_refused_then_reserved(lab, make_extra_bundle):
    """Issue #22.2: a port a host process uses is refused at create ("address already
    in use", naming it), TCP and UDP, on any address the mapping covers; a published
    port is then reserved for the container's life and free again after delete."""
    b = make_extra_bundle()
    for proto, addr, port in (("tcp", "127.0.0.1", 18085), ("udp", HOST_IP, 18086)):
        squatter = lab.popen(lab.host.argv("python3", "-c", HOLD, proto, addr, str(port)))
        lab.attach(b, ports=f"18090:90/tcp,{port}:80/{proto}")
        r = lab.runtime.create(b, lab.runtime.new_id(proto), check=False, timeout=20)
        assert r.returncode != 0
        assert f"host port {port}/{proto} is already in use" in r.stderr, r.stderr
        assert "address already in use" in r.stderr.lower(), r.stderr
        assert lab.runtime.list_ids() == []
        lab.assert_clean()
        squatter.kill()
        squatter.wait(timeout=5)

    cid = lab.start_container(b, "c", ports="18085:80/tcp,18086:53/udp")
    holders = lab.holders()
    assert holders == [lab.lease(cid)["port_holder"]], holders
    # While it runs no host process can take them, on any address.
    for proto, port in (("tcp", 18085), ("udp", 18086)):
        for addr in ("127.0.0.1", HOST_IP, "0.0.0.0"):
            assert lab.bind(proto, addr, port) == "EADDRINUSE", (proto, addr, port)
    assert lab.bind("tcp", "127.0.0.1", 18086) == "ok"  # the other protocol is another port
    lab.runtime.delete(cid, force=True)
    lab.assert_clean()
    for proto, port in (("tcp", 18085), ("udp", 18086)):
        assert lab.bind(proto, "127.0.0.1", port) == "ok"


def test_port_holder_goes_with_the_container_after_kill_9(lab, bundle):
    """The holder is tied to the container's process: SIGKILL of the container (and of
    every oci-run process: there is none left running here) frees the port, no teardown
    needed; delete then finds nothing to kill."""
    cid = lab.start_container(bundle, ports="18087:80/tcp")
    holder = lab.lease(cid)["port_holder"]
    assert lab.holders() == [holder]
    assert lab.bind("tcp", "0.0.0.0", 18087) == "EADDRINUSE"
    os.kill(lab.runtime.state(cid)["pid"], signal.SIGKILL)
    wait_for(lambda: lab.holders() == [], timeout=5, what="the port holder to exit")
    assert lab.bind("tcp", "0.0.0.0", 18087) == "ok"
    lab.runtime.wait_status(cid, "stopped")
    lab.runtime.delete(cid)
    lab.assert_clean()


def test_networks_are_isolated_unless_connected(lab, make_extra_bundle):
    """Issue #22.4: containers on two networks do not reach each other (rules dropping
    forwarding between the bridges, removed with the networks); `isolate: false` in the
    YAML connects a network. Both still reach upstream and their own gateway."""
    def pair():
        a = lab.start_container(make_extra_bundle(), "a")
        b = lab.start_container(make_extra_bundle(), "b", network="tiny", ports="8088:80/tcp",
                                script=httpd_script("from-b"))
        return a, b, lab.lease(a)["ip"], lab.lease(b)["ip"]

    def reaches(cid, ip) -> bool:
        return lab.exec(cid, "ping", "-c", "1", "-W", "1", ip, check=False).returncode == 0

    a, b, ip_a, ip_b = pair()
    assert not reaches(a, ip_b) and not reaches(b, ip_a)
    for cid, gw in ((a, GATEWAY), (b, "203.0.113.1")):
        assert reaches(cid, gw) and reaches(cid, UPSTREAM_IP)
    assert any("OCI-RUN-ISOLATION" in l for l in lab.our_rules())
    # Published ports stay reachable from other networks (through the host's address).
    wait_listening(lab, b, 80)
    assert cwget(lab, a, f"http://{HOST_IP}:8088/") == "from-b"
    lab.runtime.delete(a, force=True)
    lab.runtime.delete(b, force=True)
    lab.assert_clean()

    lab.config.write_text(CONFIG + "    isolate: false\n")
    a, b, ip_a, ip_b = pair()
    assert reaches(a, ip_b) and reaches(b, ip_a)
    lab.runtime.delete(a, force=True)
    lab.runtime.delete(b, force=True)
    lab.assert_clean()


def test_rules_go_through_the_nft_backend(lab, bundle):
    """Issue #22.6: Debian 12's iptables is iptables-nft; the hook drives it through
    iptables-restore, says so in `list`, and these tests run on it."""
    assert "(nf_tables)" in lab.host.run("iptables", "-V").stdout, "the tests expect iptables-nft"
    fw = json.loads(lab.cli("list", "--json").stdout)["firewall"]
    assert fw["backend"] == "nf_tables" and fw["iptables"].startswith("iptables-restore v"), fw
    assert "firewall: iptables-restore v" in lab.cli("list").stdout
    cid = lab.start_container(bundle, ports="8080:80/tcp")
    nft = lab.host.run("iptables-nft-save").stdout
    assert f"oci-run:id={cid}" in nft and ":OCI-RUN-FORWARD" in nft
    lab.runtime.delete(cid, force=True)
    lab.assert_clean()


def test_resolv_conf_and_hosts(lab, make_extra_bundle):
    """Issue #22.3: the container gets /etc/resolv.conf (the host's without loopback
    nameservers, or the network's dns and dns_search) and /etc/hosts with its name and
    address, bind-mounted by the hook; the bundle's own files are left alone."""
    lab.host_resolv.write_text("# the host's\nnameserver 127.0.0.53\nnameserver 198.51.100.1\nnameserver ::1\n"
                               "search corp.example\noptions ndots:2 edns0\n")
    lab.config.write_text(CONFIG.replace("    dns: [192.0.2.53]\n",
                                         "    dns: [192.0.2.53]\n    dns_search: [svc.example, example.org]\n"))
    b = make_extra_bundle()
    with b.edit() as c:
        c["hostname"] = "web1"
    etc = b.path / "rootfs" / "etc"
    (etc / "hosts").write_text("# the image's\n")
    # "tiny" has no dns settings: the host's, loopback servers dropped.
    cid = lab.start_container(b, "t", network="tiny")
    resolv = lab.exec(cid, "cat", "/etc/resolv.conf").stdout
    assert re.findall(r"^nameserver (\S+)$", resolv, re.M) == ["198.51.100.1"], resolv
    assert re.findall(r"^search (.*)$", resolv, re.M) == ["corp.example"], resolv
    assert "options ndots:2 edns0" in resolv
    hosts = lab.exec(cid, "cat", "/etc/hosts").stdout
    ip = lab.lease(cid)["ip"]
    assert re.search(rf"^{re.escape(ip)}\s+web1\s+{re.escape(cid)}$", hosts, re.M), hosts
    assert re.search(r"^127\.0\.0\.1\s+localhost$", hosts, re.M), hosts
    lab.exec(cid, "ping", "-c", "1", "-W", "3", "web1")  # resolved through /etc/hosts
    # "default" has dns and dns_search: they replace the host's.
    a = lab.start_container(make_extra_bundle(), "a")
    resolv = lab.exec(a, "cat", "/etc/resolv.conf").stdout
    assert re.findall(r"^nameserver (\S+)$", resolv, re.M) == ["192.0.2.53"], resolv
    assert re.findall(r"^search (.*)$", resolv, re.M) == ["svc.example example.org"], resolv
    assert re.search(rf"^{re.escape(lab.lease(a)['ip'])}\s+oci-run\s+{re.escape(a)}$",  # the spec's hostname
                     lab.exec(a, "cat", "/etc/hosts").stdout, re.M)
    # Mounted, not written into the image.
    assert (etc / "hosts").read_text() == "# the image's\n"
    assert (etc / "resolv.conf").read_text() == ""
    lab.runtime.delete(cid, force=True)
    lab.runtime.delete(a, force=True)
    lab.assert_clean()
