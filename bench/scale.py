"""Scale bench: drillctl on 1,000 SSH hosts x 5 steps, beside the raw paramiko floor.

Not a test. Starts sshd on many loopback addresses and ports (bench/sshd_fleet.py: 16 hosts
per sshd, throwaway keys, strict host-key checking against a generated known_hosts), then
runs a 5-step drill over the first 100, 300 and 1,000 hosts, and the raw floor
(bench/raw_floor.py) over the same hosts, interleaved in random order. Prints wall time,
time per host (is it linear?), peak RSS (target: at most 400 MB) and whether every host was
reached. Stops every sshd it started, by process id.

    python bench/scale.py                                 # 127.0.0.101.. x 8 ports = 1,000
    python bench/scale.py --quick                         # smoke: 16/32/48 hosts, once
    python bench/scale.py --first-address 127.0.3.1 --addresses 250 --ports-per-address 4
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import FrameType

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import sshd_fleet  # noqa: E402
from harness import (  # noqa: E402
    MIN_REPEAT,
    REPO,
    SourceGuard,
    child_env,
    load,
    machine,
    now,
    publish,
)

RSS_LIMIT_MB = 400.0
LINEAR_TAIL = 1.5  # the last segment's ms/host may exceed the first's by this factor


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    rss_mb: float
    reached: int  # hosts on which every step ran ok
    drill_s: float | None = None  # drillctl's own duration_s
    failure: str | None = None


def _inventory(work: Path, fleet: sshd_fleet.Fleet, hosts: Sequence[sshd_fleet.Host]) -> Path:
    lines = [
        "all:",
        "  vars:",
        "    connection: ssh",
        f"    user: {fleet.user}",
        f"    ssh_key_file: {fleet.user_key}",
        f"    known_hosts: {fleet.known_hosts}",
        "  children:",
        "    fleet:",
        "      hosts:",
        *(f"        {h.name}: {{address: {h.address}, port: {h.port}}}" for h in hosts),
    ]
    path = work / f"inventory-{len(hosts)}.yml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _playbook(work: Path, steps: int, forks: int) -> Path:
    body = "".join(f'  - name: step {i}\n    command: "true"\n' for i in range(1, steps + 1))
    path = work / "scale.yml"
    path.write_text(
        "drill: scale benchmark\ncomponent: bench\nrollback_type: 2\nhosts: fleet\n"
        f"forks: {forks}\nrollback_when: failure\ndeploy:\n{body}"
    )
    return path


def _measure(argv: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """Exit code, wall s, CPU s (user+sys) and peak RSS MB of one child process."""
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _tail(log: Path) -> str:
    return " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])


def run_drillctl(
    work: Path, inventory: Path, playbook: Path, hosts: int, steps: int, env: dict[str, str], n: int
) -> Sample:
    out = work / f"run-{hosts}-{n}"
    argv = [sys.executable, "-m", "runner", "run", str(playbook), "-i", str(inventory)]
    argv += ["--out", str(out)]
    rc, wall, cpu, rss = _measure(argv, env, work / f"drillctl-{hosts}-{n}.log")
    try:
        result = json.loads((out / "result.json").read_text())
    except (OSError, ValueError) as exc:
        return Sample(wall, cpu, rss, 0, failure=f"exit {rc}, no result.json ({exc})")
    ok: dict[str, int] = {}
    for step in result.get("steps", []):
        if step.get("status") == "ok":
            ok[step["host"]] = ok.get(step["host"], 0) + 1
    reached = sum(1 for count in ok.values() if count == steps)
    failure = None
    if rc != 0 or result.get("status") != "passed" or reached != hosts:
        failure = f"exit {rc}, {result.get('status')}: {reached}/{hosts} hosts reached"
    shutil.rmtree(out, ignore_errors=True)  # 1,000 hosts' evidence per run adds up
    return Sample(wall, cpu, rss, reached, float(result["duration_s"]), failure)


def run_raw(
    work: Path,
    fleet: sshd_fleet.Fleet,
    hosts: Sequence[sshd_fleet.Host],
    args: argparse.Namespace,
    n: int,
) -> Sample:
    argv = [sys.executable, str(BENCH / "raw_floor.py"), *(f"{h.address}:{h.port}" for h in hosts)]
    argv += ["--user", fleet.user, "--key", str(fleet.user_key)]
    argv += ["--known-hosts", str(fleet.known_hosts), "--steps", str(args.steps)]
    argv += ["--forks", str(args.forks)]
    log = work / f"raw-{len(hosts)}-{n}.log"
    rc, wall, cpu, rss = _measure(argv, {**os.environ}, log)
    if rc != 0:
        return Sample(wall, cpu, rss, 0, failure=f"exit {rc}: {_tail(log)}")
    return Sample(wall, cpu, rss, len(hosts))


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R²."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, 1.0 - ss_res / ss_tot if ss_tot else 1.0


def _median(samples: Sequence[Sample], attr: str) -> float | None:
    values = [getattr(s, attr) for s in samples if getattr(s, attr) is not None]
    return statistics.median(values) if values else None


def _f(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def report(
    args: argparse.Namespace,
    results: dict[tuple[str, int], list[Sample]],
    seed: int,
    load_before: str,
    source: str,
) -> tuple[str, bool]:
    sizes = args.sizes
    lines = [
        f"{max(sizes)} SSH hosts x {args.steps} steps, forks {args.forks}, "
        f"{args.repeat} repetitions, medians (bench/scale.py)",
        "",
        "| hosts | drillctl wall s | min s | max s | ms/host | drill s | CPU s | peak RSS MB "
        "| hosts reached | raw floor wall s | drillctl / raw |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    walls: list[tuple[float, float]] = []
    every_host = True
    for size in sizes:
        d, r = results[("drillctl", size)], results[("raw", size)]
        ok = [s for s in d if s.failure is None]
        wall = _median(ok, "wall_s")
        raw_wall = _median([s for s in r if s.failure is None], "wall_s")
        reached = min((s.reached for s in d), default=0)
        every_host &= reached == size and len(ok) == len(d)
        if wall is not None:
            walls.append((float(size), wall))
        lo = min((s.wall_s for s in ok), default=None)
        hi = max((s.wall_s for s in ok), default=None)
        ratio = None if wall is None or not raw_wall else wall / raw_wall
        lines.append(
            f"| {size} | {_f(wall)} | {_f(lo)} | {_f(hi)} "
            f"| {_f(None if wall is None else wall * 1000 / size, '.1f')} "
            f"| {_f(_median(ok, 'drill_s'))} | {_f(_median(ok, 'cpu_s'))} "
            f"| {_f(_median(d, 'rss_mb'), '.1f')} | {reached}/{size} in every run "
            f"({len(ok)}/{len(d)} runs passed) | {_f(raw_wall)} | {_f(ratio)} |"
        )
    lines.append("")
    holds = every_host
    lines.append(f"- every host reached in every run: {'holds' if every_host else '**missed**'}")
    if len(walls) >= 3:
        xs, ys = [x for x, _ in walls], [y for _, y in walls]
        slope, intercept, r2 = linear_fit(xs, ys)
        first = (ys[1] - ys[0]) / (xs[1] - xs[0])
        last = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        linear = last <= LINEAR_TAIL * first
        holds &= linear
        lines.append(
            f"- time linear in hosts: wall ≈ {intercept:.2f} s + {slope * 1000:.1f} ms/host "
            f"(R² = {r2:.3f}); {first * 1000:.1f} ms/host from {xs[0]:g} to {xs[1]:g} hosts, "
            f"{last * 1000:.1f} ms/host from {xs[-2]:g} to {xs[-1]:g} (at most {LINEAR_TAIL:g}x "
            f"the first): {'holds' if linear else '**missed**'}"
        )
    largest = results[("drillctl", max(sizes))]
    rss = max((s.rss_mb for s in largest), default=None)
    if rss is not None:
        fits = rss <= RSS_LIMIT_MB
        holds &= fits
        lines.append(
            f"- peak RSS at {max(sizes)} hosts (largest run): {rss:.1f} MB, target ≤ "
            f"{RSS_LIMIT_MB:g} MB: {'holds' if fits else '**missed**'}"
        )
    failures = [f"{k[0]} {k[1]}: {s.failure}" for k, v in results.items() for s in v if s.failure]
    lines += [f"- failed run: {f}" for f in failures[:5]]
    lines += [
        "",
        f"{now()}; {machine()}; load average {load_before} before, {load()} after; seed {seed}; "
        f"runs in random order per repetition; {len(args.fleet_hosts)} hosts on "
        f"{args.addresses} addresses from {args.first_address} x ports {args.ports_text}, "
        f"{args.sshd_count} sshd processes; runner/ sha256 {source[:12]}, unchanged over "
        "every run.",
    ]
    return "\n".join(lines), holds


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--first-address", default="127.0.0.101", help="first loopback address")
    p.add_argument("--addresses", type=int, default=125, help="consecutive addresses (125)")
    p.add_argument("--port-base", type=int, help="first port (default: a random free range)")
    p.add_argument("--ports-per-address", type=int, default=8, help="ports per address (8)")
    p.add_argument("--sizes", default="100,300,1000", help="host counts to run (100,300,1000)")
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--forks", type=int, default=50, help="hosts at once (50)")
    p.add_argument("--repeat", type=int, default=MIN_REPEAT)
    p.add_argument("--seed", type=int)
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--quick", action="store_true", help="smoke: 16/32/48 hosts, once, unpublished")
    args = p.parse_args(argv)
    args.sizes = sorted(int(n) for n in args.sizes.split(","))
    args.repeat = max(args.repeat, MIN_REPEAT)
    if args.quick:
        args.sizes, args.repeat, args.addresses, args.ports_per_address = [16, 32, 48], 1, 6, 8
    total = args.addresses * args.ports_per_address
    if max(args.sizes) > total:
        p.error(f"--sizes up to {max(args.sizes)} need that many hosts; the fleet has {total}")
    return args


def _free_ports(args: argparse.Namespace) -> tuple[int, ...]:
    """The given port range, or a random one that is free on every planned address."""
    tries = 1 if args.port_base else 20
    for _ in range(tries):
        base = args.port_base or random.randrange(20000, 60000 - args.ports_per_address)
        ports = tuple(range(base, base + args.ports_per_address))
        hosts = sshd_fleet.plan_hosts(args.first_address, args.addresses, ports)
        taken = sshd_fleet.check_free(hosts)
        if not taken:
            return ports
    raise SystemExit(f"ports taken, e.g. {taken[0]}; choose another --port-base")


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # stop the fleet on SIGTERM too
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the bench's own check_free
    ports = _free_ports(args)
    args.ports_text = f"{ports[0]} to {ports[-1]}" if len(ports) > 1 else str(ports[0])
    args.fleet_hosts = sshd_fleet.plan_hosts(args.first_address, args.addresses, ports)
    args.sshd_count = -(-len(args.fleet_hosts) // sshd_fleet.SOCKETS_PER_SSHD)
    work = Path(tempfile.mkdtemp(prefix="drillctl-scale-"))
    fleet: sshd_fleet.Fleet | None = None
    try:
        started = time.perf_counter()
        fleet = sshd_fleet.start(work / "fleet", args.fleet_hosts, max_sessions=64)
        print(
            f"{len(fleet.hosts)} hosts up on {len(fleet.processes)} sshd in "
            f"{time.perf_counter() - started:.1f}s (pids {fleet.pids[0]}…{fleet.pids[-1]}); "
            f"work dir {work}",
            flush=True,
        )
        env = {**child_env(), "DRILLCTL_HISTORY": str(work / "history.db")}
        playbook = _playbook(work, args.steps, args.forks)
        inventories = {n: _inventory(work, fleet, fleet.hosts[:n]) for n in args.sizes}
        seed = random.randrange(2**32) if args.seed is None else args.seed
        rng = random.Random(seed)
        load_before = load()
        print(f"seed {seed}; {args.repeat} repetitions; load average {load_before}", flush=True)
        results: dict[tuple[str, int], list[Sample]] = {
            (kind, n): [] for kind in ("drillctl", "raw") for n in args.sizes
        }
        guard = SourceGuard()
        for rep in range(1, args.repeat + 1):
            for kind, n in rng.sample(list(results), len(results)):
                guard.check()
                if kind == "drillctl":
                    sample = run_drillctl(work, inventories[n], playbook, n, args.steps, env, rep)
                else:
                    sample = run_raw(work, fleet, fleet.hosts[:n], args, rep)
                results[(kind, n)].append(sample)
                drill = f" drill {sample.drill_s:.2f}s" if sample.drill_s is not None else ""
                failed = f"  FAILED {sample.failure}" if sample.failure else ""
                print(
                    f"  rep {rep}/{args.repeat} {kind:<8} {n:>5} hosts  wall {sample.wall_s:7.2f}s"
                    f"{drill}  cpu {sample.cpu_s:6.2f}s  rss {sample.rss_mb:6.1f}MB  "
                    f"reached {sample.reached}/{n}{failed}",
                    flush=True,
                )
        guard.check()  # a change during the last run counts too
        text, holds = report(args, results, seed, load_before, guard.digest)
        print("\n" + text)
        if args.quick:
            return 0 if holds else 1
        publish(
            "scale",
            text,
            {
                "bench": "scale",
                "when": now(),
                "seed": seed,
                "runner_sha256": guard.digest,
                "load_average": os.getloadavg(),
                "steps": args.steps,
                "forks": args.forks,
                "hosts": len(fleet.hosts),
                "sshd_processes": len(fleet.processes),
                "runs": {
                    f"{kind}-{n}": [asdict(s) for s in samples]
                    for (kind, n), samples in results.items()
                },
                "holds": holds,
            },
        )
        return 0 if holds else 1
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the fleet", file=sys.stderr)
        return 130
    finally:
        if fleet is not None:
            print(f"stopped {fleet.stop()} sshd processes this bench started")
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
