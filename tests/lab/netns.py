"""Network namespaces for network-fault tests: a target and a peer joined by a veth pair.

Both ends live in namespaces the test made, so their addresses exist nowhere else: no
route of the machine changes and no packet leaves it. Teardown deletes both namespaces,
and with them the veth pair, every rule and every process the test started in them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

# A threaded echo server: busybox `nc -ll` has a backlog so short that quick connection
# attempts time out even with no fault in place, which would blur a loss measurement.
_ECHO = """\
import socketserver, sys
class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line)
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address, daemon_threads, request_queue_size = True, True, 128
Server(("0.0.0.0", int(sys.argv[1])), Echo).serve_forever()
"""
# Tries `attempts` TCP connects (optionally an echo round trip each), prints how many worked.
_PROBE = """\
import socket, sys
host, port, attempts, timeout, echo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
float(sys.argv[4]), sys.argv[5] == "1"
ok = 0
for _ in range(attempts):
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            if echo:
                s.sendall(b"ping\\n")
                if s.recv(16) != b"ping\\n":
                    continue
            ok += 1
    except OSError:
        pass
print(ok)
"""


@dataclass
class NetnsPair:
    """Namespaces `target` (10.250.0.1) and `peer` (10.250.0.2), a veth pair between them."""

    target: str
    peer: str
    target_ip: str = "10.250.0.1"
    peer_ip: str = "10.250.0.2"
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def sh(self, ns: str, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a shell script inside `ns`, as a fault's `shell` op runs on its host."""
        return subprocess.run(
            ["ip", "netns", "exec", ns, "/bin/sh", "-c", script],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def echo_server(self, ns: str, port: int) -> None:
        """A TCP echo server in `ns`, listening before this returns."""
        argv = ["ip", "netns", "exec", ns, sys.executable, "-c", _ECHO, str(port)]
        self.servers.append(
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, start_new_session=True)
        )
        deadline = time.monotonic() + 5
        while f":{port:04X} " not in self.sh(ns, "cat /proc/net/tcp").stdout:
            if time.monotonic() > deadline:
                raise RuntimeError(f"echo server on port {port} in {ns} did not start")
            time.sleep(0.05)

    def connects(
        self, ns: str, host: str, port: int, attempts: int, timeout: float, echo: bool = False
    ) -> int:
        """How many of `attempts` connections from inside `ns` succeeded."""
        argv = [sys.executable, "-c", _PROBE, host, str(port), str(attempts), str(timeout)]
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, *argv, "1" if echo else "0"],
            capture_output=True,
            text=True,
            timeout=attempts * (timeout + 1) + 10,
            check=True,
        )
        return int(proc.stdout.strip())

    def state(self, ns: str) -> str:
        """The rules of `ns`: see `netfilter_state`."""
        return netfilter_state(self.sh(ns, STATE_SCRIPT).stdout)


STATE_SCRIPT = "iptables-save; ip6tables-save; tc qdisc show"


def kernel_has_netem() -> bool:
    """Whether a netem qdisc can be added here: built in, loaded or loadable.

    /proc/modules alone is the wrong test: a built-in sch_netem is not listed there, and a
    loadable one is listed only once something loaded it. Adding a qdisc in a throwaway
    network namespace loads the module if it can and touches nothing of the machine.
    """
    done = subprocess.run(
        ["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode == 0


def netfilter_state(saved: str) -> str:
    """The iptables rules (v4, v6) and qdiscs in the output of STATE_SCRIPT.

    Tables and chain policies are left out: the first iptables call in a namespace creates
    the empty filter table, which stays after its last rule is deleted, and changes nothing.
    """
    lines = saved.splitlines()
    return "\n".join(line for line in lines if line.startswith(("-A ", "-N ", "qdisc ")))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def netns_pair() -> Iterator[NetnsPair]:
    """Two fresh namespaces linked by veth; removed at teardown, whatever happened."""
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None:
        pytest.skip("network namespace tests need root, iproute2 and iptables")
    suffix = uuid.uuid4().hex[:8]
    pair = NetnsPair(f"drillctl-t-{suffix}", f"drillctl-p-{suffix}")
    veth_t, veth_p = f"dct{suffix}", f"dcp{suffix}"
    try:
        for ns in (pair.target, pair.peer):
            _ip("netns", "add", ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        # Created inside the target namespace, so the root namespace never holds either end.
        _ip("-n", pair.target, "link", "add", veth_t, "type", "veth", "peer", "name", veth_p)
        _ip("-n", pair.target, "link", "set", veth_p, "netns", pair.peer)
        for ns, dev, ip in (
            (pair.target, veth_t, pair.target_ip),
            (pair.peer, veth_p, pair.peer_ip),
        ):
            _ip("-n", ns, "addr", "add", f"{ip}/30", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        yield pair
    finally:
        for server in pair.servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        for ns in (pair.target, pair.peer):
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", ns)
