"""The raw floor: one paramiko connection per host, `exec_command("true")` in a loop.

No journal, no templating, no result objects: what any paramiko-based runner cannot beat
on this machine. Hosts run in `--forks` threads; exit status 1 if any exec failed.
"""

from __future__ import annotations

import argparse
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import paramiko


def run_host(target: str, known: paramiko.HostKeys, args: argparse.Namespace) -> int:
    """Connect once, run `true` `args.steps` times; return how many execs failed.

    `target` is an address (on --port) or `address:port`."""
    address, _, given = target.partition(":")
    port = int(given) if given else args.port
    sock = socket.create_connection((address, port), timeout=30)
    # Without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to every exec.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = paramiko.SSHClient()
    name = address if port == 22 else f"[{address}]:{port}"
    for kind, key in (known.lookup(name) or {}).items():
        client.get_host_keys().add(name, kind, key)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        address,
        port=port,
        username=args.user,
        key_filename=args.key,
        sock=sock,
        allow_agent=False,
        look_for_keys=False,
    )
    transport = client.get_transport()
    assert transport is not None
    failed = 0
    try:
        for _ in range(args.steps):
            channel = transport.open_session()
            channel.exec_command("true")
            failed += channel.recv_exit_status() != 0
            channel.close()
    finally:
        client.close()
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("addresses", nargs="+", help="ADDRESS (on --port) or ADDRESS:PORT")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--user", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--known-hosts", required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--forks", type=int, default=10)
    args = p.parse_args(argv)
    # Parsed once: SSHClient.load_host_keys per host would parse the whole file per host,
    # O(hosts x known_hosts lines) under the GIL (~6 ms per host at 200 entries).
    known = paramiko.HostKeys(args.known_hosts)
    with ThreadPoolExecutor(max_workers=args.forks) as pool:
        failed = sum(pool.map(lambda a: run_host(a, known, args), args.addresses))
    if failed:
        print(f"raw floor: {failed} exec(s) failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
