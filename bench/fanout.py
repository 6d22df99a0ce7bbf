"""Side-by-side fan-out benchmark: drillctl, ansible-playbook, pyinfra and a raw paramiko floor.

Not a test. Brings up an SSH lab (one sshd per address, 127.0.0.2 upward) in a temporary
directory, runs every contender in its own process against it, interleaved per repetition
in a fresh random order (seed printed) to spread machine noise, and prints medians and the
issue's targets.

    python bench/fanout.py --quick                 # smoke: 3 hosts x 3 steps, once
    python bench/fanout.py                         # 10 hosts x 20 steps, forks 10, 5 repeats
    python bench/fanout.py --scale                 # drillctl (and raw) at 10/50/100/200 hosts x 5
    python bench/fanout.py --only drillctl,raw     # a subset

Wall time is the whole process (start-up included); CPU is the child's user+sys including
the processes it waited for; peak RSS is its largest process. "sshd CPU" is what the lab's
sshd processes spent serving the run (the server side, on the same two cores).
"""

from __future__ import annotations

import argparse
import ctypes
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
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType

from contenders import CONTENDERS, Contender, Invocation, Target, close_control_masters, versions
from contenders import ensure_available as _ensure_available
from harness import SourceGuard, load, machine, now, precompile, publish
from lab_server import clean_shell, sshd_cpu, sshd_pids, wait_sshd_idle

from runner.errors import TargetEnvironmentError
from runner.lab import ssh_lab

PR_SET_CHILD_SUBREAPER = 36
CORES = os.cpu_count() or 1

# The issue's targets (10 hosts x 20 steps; the --scale curve for memory and growth).
ANSIBLE_OVER_DRILLCTL = 30.0
PYINFRA_OVER_DRILLCTL = 2.5
DRILLCTL_OVER_RAW = 1.3
RSS_LIMIT_MB = 400.0
LINEAR_R2 = 0.98
LINEAR_TAIL = 1.5  # the last segment's slope may exceed the fitted slope by this factor


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    rss_mb: float
    sshd_cpu_s: float
    drill_s: float | None  # drillctl's own duration_s from result.json


@dataclass
class Series:
    """The repetitions of one contender at one size."""

    contender: Contender
    hosts: int
    steps: int
    samples: list[Sample] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def median(self, attr: str) -> float | None:
        values = [getattr(s, attr) for s in self.samples if getattr(s, attr) is not None]
        return statistics.median(values) if values else None


# -- children ------------------------------------------------------------------------------
def subreaper(on: bool) -> None:
    """Adopt orphaned grandchildren (ansible's ssh ControlPersist masters) to count their CPU.

    Only while a contender runs: the lab's sshd daemons must not become our children.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def reap_orphans(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.02)


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(inv: Invocation, lab_root: Path, log: Path) -> Sample:
    """Start one contender run and measure it; RuntimeError if it did not succeed."""
    pids = sshd_pids(lab_root)
    sshd_before, cpu_before = sshd_cpu(pids), cpu_of_children()
    subreaper(True)
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            inv.argv, cwd=inv.cwd, env=inv.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # Ctrl-C or SIGTERM: leave nothing running behind us
            _stop(proc)
            if inv.control_dir is not None:
                close_control_masters(inv.control_dir)
            subreaper(False)
            raise
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if inv.control_dir is not None:
        close_control_masters(inv.control_dir)
    reap_orphans()
    subreaper(False)
    wait_sshd_idle(pids)
    if proc.returncode != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        raise RuntimeError(f"exit {proc.returncode}: {tail} (log: {log})")
    drill_s = None
    if inv.result_json is not None:
        drill_s = float(json.loads(inv.result_json.read_text())["duration_s"])
    return Sample(
        wall_s=wall,
        cpu_s=cpu_of_children() - cpu_before,
        rss_mb=usage.ru_maxrss / 1024,
        sshd_cpu_s=sshd_cpu(pids) - sshd_before,
        drill_s=drill_s,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- rounds --------------------------------------------------------------------------------
def run_rounds(
    contenders: Sequence[Contender],
    target: Target,
    repeat: int,
    work: Path,
    lab_root: Path,
    seed: int,
) -> list[Series]:
    """Run every contender `repeat` times, interleaved, each repetition in a fresh random
    order (seeded; the seed is printed), so nobody always runs first on a warm machine."""
    hosts = len(target.addresses)
    series = [Series(c, hosts, target.steps) for c in contenders]
    rng = random.Random(seed)
    guard = SourceGuard()  # one version of runner/ under one table
    print(f"  order seed {seed}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for rep in range(1, repeat + 1):
        for s in rng.sample(series, len(series)):
            guard.check()
            run_dir = work / "runs" / f"{hosts}h-{s.contender.key}-{rep}"
            run_dir.mkdir(parents=True)
            inv = s.contender.build(target, run_dir)
            head = f"  {hosts:>3} hosts  rep {rep}/{repeat}  {s.contender.label:<26}"
            try:
                sample = run_once(inv, lab_root, run_dir / "output.log")
            except RuntimeError as exc:
                s.failures.append(str(exc))
                print(f"{head}FAILED {exc}", flush=True)
                continue
            s.samples.append(sample)
            drill = f"  drill {sample.drill_s:6.2f}s" if sample.drill_s is not None else ""
            print(
                f"{head}wall {sample.wall_s:6.2f}s  cpu {sample.cpu_s:6.2f}s  "
                f"rss {sample.rss_mb:6.1f}MB  sshd cpu {sample.sshd_cpu_s:6.2f}s{drill}",
                flush=True,
            )
    guard.check()  # a change during the last run counts too
    return series


def _fmt(value: float | None, spec: str = ".2f") -> str:
    return "—" if value is None else format(value, spec)


def table(series: Sequence[Series]) -> list[str]:
    """The medians of every contender, as a Markdown table."""
    lines = [
        "| contender | runs | wall s | min s | max s | drill s | CPU s | peak RSS MB "
        "| sshd CPU s | sshd ms/exec |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in series:
        sshd = s.median("sshd_cpu_s")
        per_exec = None if sshd is None else sshd * 1000 / (s.hosts * s.steps)
        runs = f"{len(s.samples)}/{len(s.samples) + len(s.failures)}"
        walls = [x.wall_s for x in s.samples]
        lo, hi = (min(walls), max(walls)) if walls else (None, None)
        lines.append(
            f"| {s.contender.label} | {runs} | {_fmt(s.median('wall_s'))} "
            f"| {_fmt(lo)} | {_fmt(hi)} "
            f"| {_fmt(s.median('drill_s'))} | {_fmt(s.median('cpu_s'))} "
            f"| {_fmt(s.median('rss_mb'), '.1f')} | {_fmt(sshd)} | {_fmt(per_exec, '.1f')} |"
        )
    return lines


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or bottom is None or bottom == 0 else top / bottom


@dataclass(frozen=True)
class Check:
    label: str
    value: float | None
    target: float | None  # None: shown, no target
    at_least: bool = False

    @property
    def holds(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    def row(self) -> str:
        sign = "≥" if self.at_least else "≤"
        target = "(none)" if self.target is None else f"{sign} {self.target:g}x"
        verdict = {None: "not measured" if self.target else "", True: "holds"}.get(
            self.holds, "**missed**"
        )
        return f"| {self.label} | {_fmt(self.value)}x | {target} | {verdict} |"


def checks(series: Sequence[Series]) -> list[Check]:
    """The issue's ratios of median wall time (whole processes), and four without a target."""
    wall = {s.contender.key: s.median("wall_s") for s in series}
    d = wall.get("drillctl")
    by_key = {s.contender.key: s for s in series}
    drill = by_key["drillctl"].median("drill_s") if "drillctl" in by_key else None
    return [
        Check(
            "ansible-playbook / drillctl",
            _ratio(wall.get("ansible"), d),
            ANSIBLE_OVER_DRILLCTL,
            True,
        ),
        Check("ansible-playbook raw / drillctl", _ratio(wall.get("ansible-raw"), d), None),
        Check("pyinfra / drillctl", _ratio(wall.get("pyinfra"), d), PYINFRA_OVER_DRILLCTL, True),
        Check("drillctl / raw paramiko floor", _ratio(d, wall.get("raw")), DRILLCTL_OVER_RAW),
        Check("drillctl's drill only / raw process", _ratio(drill, wall.get("raw")), None),
        Check(
            "raw floor, step by step / raw paramiko floor",
            _ratio(wall.get("raw-lockstep"), wall.get("raw")),
            None,
        ),
        Check("drillctl / raw floor, step by step", _ratio(d, wall.get("raw-lockstep")), None),
    ]


def ratio_lines(series: Sequence[Series]) -> list[str]:
    lines = ["| ratio of median wall times | measured | target | |", "|---|---:|---|---|"]
    lines += [c.row() for c in checks(series) if c.value is not None or c.target is not None]
    by_key = {s.contender.key: s for s in series}
    raw = by_key.get("raw")
    sshd = None if raw is None else raw.median("sshd_cpu_s")
    if raw is not None and sshd is not None:
        execs = raw.hosts * raw.steps
        lines += [
            "",
            f"sshd floor: {sshd * 1000 / execs:.1f} ms of sshd CPU per exec in the raw run; "
            f"{execs} execs on {CORES} cores cannot finish in less than {sshd / CORES:.2f} s "
            "of wall time, whatever the client does.",
        ]
    return lines


def figures_of(series: Sequence[Series]) -> dict[str, object]:
    return {
        s.contender.key: {
            "label": s.contender.label,
            "hosts": s.hosts,
            "steps": s.steps,
            "samples": [asdict(x) for x in s.samples],
            "failures": s.failures,
        }
        for s in series
    }


# -- the scale curve -----------------------------------------------------------------------
def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R²."""
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = my - slope * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, 1.0 - ss_res / ss_tot if ss_tot else 1.0


def print_curve(curve: Sequence[Series]) -> None:
    drill = [s for s in curve if s.contender.key == "drillctl" and s.samples]
    raw = {s.hosts: s.median("wall_s") for s in curve if s.contender.key == "raw"}
    if not drill:
        return
    print(f"\ndrillctl scale curve ({drill[0].steps} steps, medians):")
    print(
        f"{'hosts':>6} {'wall s':>8} {'ms/host':>8} {'drill s':>8} {'CPU s':>7} "
        f"{'peak RSS MB':>11} {'raw wall s':>10} {'drillctl/raw':>12}"
    )
    for s in drill:
        w = s.median("wall_s")
        per_host = None if w is None else w * 1000 / s.hosts
        print(
            f"{s.hosts:>6} {_fmt(w):>8} {_fmt(per_host, '.1f'):>8} "
            f"{_fmt(s.median('drill_s')):>8} {_fmt(s.median('cpu_s')):>7} "
            f"{_fmt(s.median('rss_mb'), '.1f'):>11} {_fmt(raw.get(s.hosts)):>10} "
            f"{_fmt(_ratio(w, raw.get(s.hosts))):>12}"
        )
    points = [(float(s.hosts), s.median("wall_s")) for s in drill]
    xs = [x for x, y in points if y is not None]
    ys = [y for _, y in points if y is not None]
    if len(xs) >= 3:
        slope, intercept, r2 = linear_fit(xs, ys)
        tail = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2])
        linear = r2 >= LINEAR_R2 and tail <= LINEAR_TAIL * slope
        print(
            f"linear fit: wall ≈ {intercept:.2f} s + {slope * 1000:.1f} ms/host, R² = {r2:.4f}; "
            f"last segment {tail * 1000:.1f} ms/host -> "
            f"{'linear: holds' if linear else 'NOT linear: MISSED'} "
            f"(R² ≥ {LINEAR_R2}, last segment ≤ {LINEAR_TAIL}x the fitted slope)"
        )
    largest = drill[-1]
    rss = largest.median("rss_mb")
    if rss is not None:
        verdict = "holds" if rss < RSS_LIMIT_MB else "MISSED"
        print(
            f"memory at {largest.hosts} hosts: {rss:.1f} MB peak RSS "
            f"(target < {RSS_LIMIT_MB:g} MB): {verdict}"
        )


# -- main ----------------------------------------------------------------------------------
def _target(lab: ssh_lab.SshLab, count: int, steps: int, forks: int) -> Target:
    return Target(
        lab.addresses[:count], lab.port, lab.user, lab.user_key, lab.known_hosts, steps, forks
    )


def _lab_up(root: Path, count: int, clean: bool, port: int | None) -> ssh_lab.SshLab:
    # Growing the lab needs the same port: up() without one picks a new port and starts
    # every sshd again, leaving the earlier ones running (their pidfiles overwritten).
    lab = ssh_lab.up(root, count, port=port)
    if clean:
        clean_shell(lab)
    return lab


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    keys = [c.key for c in CONTENDERS]
    p = argparse.ArgumentParser(
        description="Side-by-side fan-out benchmark (not a test).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"contenders: {', '.join(keys)}",
    )
    p.add_argument("--hosts", type=int, default=10, help="lab hosts (default 10)")
    p.add_argument("--steps", type=int, help="trivial steps per host (default 20; 5 with --scale)")
    p.add_argument("--repeat", type=int, default=5, help="repetitions; medians are reported")
    p.add_argument("--forks", type=int, default=10, help="hosts at once (default 10)")
    p.add_argument("--scale", action="store_true", help="run the growth curve over --sizes")
    p.add_argument("--sizes", default="10,50,100,200", help="host counts for --scale")
    p.add_argument("--quick", action="store_true", help="smoke run: 3 hosts x 3 steps, once")
    p.add_argument("--only", help=f"comma-separated subset of: {','.join(keys)}")
    p.add_argument(
        "--clean-shell",
        action="store_true",
        help="restart the lab's sshd with SetEnv SHLVL=1 so bash skips ~/.bashrc per exec",
    )
    p.add_argument("--port", type=int, help="the lab's port (default: a free one)")
    p.add_argument("--seed", type=int, help="seed of the contenders' order (default: random)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, inputs)")
    args = p.parse_args(argv)
    default = "drillctl,raw" if args.scale else ",".join(keys)
    args.only = [k.strip() for k in (args.only or default).split(",") if k.strip()]
    unknown = sorted(set(args.only) - set(keys))
    if unknown:
        p.error(f"unknown contender(s) {', '.join(unknown)}; choose from {', '.join(keys)}")
    args.sizes = sorted(int(n) for n in args.sizes.split(","))
    if args.quick:
        args.hosts, args.steps, args.repeat, args.sizes = 3, 3, 1, [3]
    if args.steps is None:
        args.steps = 5 if args.scale else 20
    if max([*args.sizes, args.hosts]) > 254 - ssh_lab.FIRST_ADDRESS:
        p.error("at most 252 hosts fit on 127.0.0.2..127.0.0.254")
    return args


def _available(chosen: Sequence[Contender], work: Path) -> list[Contender]:
    ready = []
    for c in chosen:
        why = _ensure_available(c, work / "install.log")
        if why is None:
            ready.append(c)
        else:
            print(f"skipping {c.label}: {why}", flush=True)
    return ready


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)  # tear the lab down on SIGTERM too
    work = Path(tempfile.mkdtemp(prefix="drillctl-fanout-"))
    lab_root = work / "lab"
    try:
        contenders = _available([c for c in CONTENDERS if c.key in args.only], work)
        if not contenders:
            print("nothing to run", file=sys.stderr)
            return 2
        shell = "clean shell (SHLVL=1)" if args.clean_shell else "user's shell as configured"
        seed = random.randrange(2**32) if args.seed is None else args.seed
        precompile()  # drillctl's bytecode, as an install has it (the others' are installed)
        print(
            f"fan-out bench: {CORES} cores, forks {args.forks}, {args.steps} steps, "
            f"repeat {args.repeat}, {shell}; work dir {work}",
            flush=True,
        )
        if args.scale:
            curve: list[Series] = []
            port: int | None = args.port
            for size in args.sizes:
                try:
                    lab = _lab_up(lab_root, size, args.clean_shell, port)
                    port = lab.port
                except (TargetEnvironmentError, subprocess.CalledProcessError, OSError) as exc:
                    print(f"could not start {size} sshd processes ({exc}); the curve stops here")
                    break
                target = _target(lab, size, args.steps, args.forks)
                curve += run_rounds(contenders, target, args.repeat, work, lab_root, seed)
            print_curve(curve)
        else:
            lab = _lab_up(lab_root, args.hosts, args.clean_shell, args.port)
            target = _target(lab, args.hosts, args.steps, args.forks)
            load_before = load()
            series = run_rounds(contenders, target, args.repeat, work, lab_root, seed)
            title = (
                f"{args.hosts} SSH hosts x {args.steps} steps, forks {args.forks}, "
                f"{args.repeat} repetitions, medians (bench/fanout.py)"
            )
            lines = [title, "", *table(series), "", *ratio_lines(series), ""]
            lines.append(
                f"{now()}; {machine()}; load average {load_before} before, {load()} after; "
                f"seed {seed}; contenders in random order per repetition; {shell}; "
                f"{versions(contenders) or 'no packaged contender'}."
            )
            text = "\n".join(lines)
            print("\n" + text)
            # Only a run of every contender, 5 times or more, is published: a subset or a
            # short run would quote ratios against contenders it did not measure.
            every = {c.key for c in contenders} == {c.key for c in CONTENDERS}
            if not args.quick and every and args.repeat >= 5:
                figures = {"bench": "fanout", "when": now(), "seed": seed, "hosts": args.hosts}
                figures |= {"steps": args.steps, "forks": args.forks, "load_average": load()}
                figures["checks"] = [asdict(c) | {"holds": c.holds} for c in checks(series)]
                figures["contenders"] = figures_of(series)
                publish("fanout", text, figures)
            held = [c.holds for c in checks(series) if c.target is not None]
            return 0 if all(h is not False for h in held) else 1
        return 0
    except KeyboardInterrupt:
        print("\ninterrupted: tearing the lab down", file=sys.stderr)
        return 130
    finally:
        stopped = ssh_lab.down(lab_root)
        reap_orphans(timeout=1.0)
        if args.keep:
            print(f"kept {work} (lab stopped: {stopped} sshd)")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
