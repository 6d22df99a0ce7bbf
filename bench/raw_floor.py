"""The raw floor: one paramiko connection per host, `exec_command("true")` in a loop.

No journal, no templating, no result objects: what any paramiko-based runner cannot beat
on this machine. Hosts run in `--forks` threads; exit status 1 if any exec failed.

With `--lockstep`, the same loop keeps the two things a drill's steps must do and a free
loop does not, and nothing else: every host finishes a step before any host starts the
next (a step's failures are judged across its hosts before the next one runs, as
ansible-playbook and pyinfra do too), and each exec runs the program rather than bash's
builtin, behind drillctl's command line (announce the process group on stderr, so a
timeout can kill it, then `exec` the program) with the command's stdin closed.
"""

from __future__ import annotations

import argparse
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import paramiko

# drillctl's command line for `command: "true"` (runner.connections.remote_process).
LOCKSTEP_COMMAND = "printf 'drillctl-pgid %s\\n' $$ >&2; exec true"


def connect(target: str, known: paramiko.HostKeys, args: argparse.Namespace) -> paramiko.SSHClient:
    """One strict-host-key connection; `target` is an address (on --port) or `address:port`."""
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
    return client


def run_one(client: paramiko.SSHClient, command: str, close_stdin: bool) -> int:
    """One exec on the connection: 1 if it failed, else 0."""
    transport = client.get_transport()
    assert transport is not None
    channel = transport.open_session()
    channel.exec_command(command)
    if close_stdin:
        channel.shutdown_write()
    failed = int(channel.recv_exit_status() != 0)
    channel.close()
    return failed


def run_host(target: str, known: paramiko.HostKeys, args: argparse.Namespace) -> int:
    """Connect once, run `true` `args.steps` times; return how many execs failed."""
    client = connect(target, known, args)
    try:
        return sum(run_one(client, "true", False) for _ in range(args.steps))
    finally:
        client.close()


def run_lockstep(addresses: list[str], known: paramiko.HostKeys, args: argparse.Namespace) -> int:
    """Connect to every host, then run each step on all of them before the next step."""
    with ThreadPoolExecutor(max_workers=args.forks) as pool:
        clients = list(pool.map(lambda a: connect(a, known, args), addresses))
        try:
            failed = 0
            for _ in range(args.steps):
                step = pool.map(lambda c: run_one(c, LOCKSTEP_COMMAND, True), clients)
                failed += sum(step)
            return failed
        finally:
            for client in clients:
                client.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("addresses", nargs="+", help="ADDRESS (on --port) or ADDRESS:PORT")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--user", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--known-hosts", required=True)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--forks", type=int, default=10)
    p.add_argument(
        "--lockstep",
        action="store_true",
        help="step by step across the hosts, with drillctl's command line (see above)",
    )
    args = p.parse_args(argv)
    # Parsed once: SSHClient.load_host_keys per host would parse the whole file per host,
    # O(hosts x known_hosts lines) under the GIL (~6 ms per host at 200 entries).
    known = paramiko.HostKeys(args.known_hosts)
    if args.lockstep:
        failed = run_lockstep(args.addresses, known, args)
    else:
        with ThreadPoolExecutor(max_workers=args.forks) as pool:
            failed = sum(pool.map(lambda a: run_host(a, known, args), args.addresses))
    if failed:
        print(f"raw floor: {failed} exec(s) failed", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
