"""Shared bench harness: contenders side by side, in random interleaved order, honestly.

Every repetition runs every contender once, in an order shuffled per repetition (seeded
and printed), so neither a warm cache nor a drifting machine favours whoever goes first.
Each contender runs at least 5 times; the figures are medians with min and max, printed
with the load average before and after, and written to bench/results/NAME.json and into
bench/README.md between `<!-- bench:NAME -->` markers, so the README quotes the bench's own
output, never a typed-in number.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
MIN_REPEAT = 5


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds and, when the contender reports it, its own figure."""

    wall_s: float
    inner_s: float | None = None


@dataclass
class Contender:
    key: str
    label: str
    run: Callable[[int], Run]  # repetition number → one timed run
    runs: list[Run] = field(default_factory=list)

    def median(self, inner: bool = False) -> float:
        values = [r.inner_s if inner else r.wall_s for r in self.runs]
        return statistics.median(v for v in values if v is not None)

    def spread(self, inner: bool = False) -> tuple[float, float]:
        values = [v for r in self.runs if (v := r.inner_s if inner else r.wall_s) is not None]
        return min(values), max(values)


def timed(argv: Sequence[str], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> Run:
    """Wall time of one whole process; a failure stops the bench (no silent bad figure)."""
    started = time.perf_counter()
    done = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{argv[0]} {' '.join(argv[1:3])}… failed (exit {done.returncode}):\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return Run(took)


def child_env() -> dict[str, str]:
    """The environment of a drillctl child: the repository's runner, compiled (see precompile)."""
    precompile()
    path = [str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, path)), "NO_COLOR": "1"}


def precompile() -> None:
    """Compile runner/ to bytecode once, as `pip install` does for every contender's package.

    With PYTHONDONTWRITEBYTECODE set (as on shared CI machines) a checkout is never compiled,
    and every drillctl process would compile ~250 modules from source (~0.8 s): a cost no
    installed drillctl, ansible or pyinfra pays. The .pyc files go to runner's __pycache__
    folders (git-ignored); Python checks them against each source's mtime, so a stale one
    is never used.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "runner")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def source_digest(root: Path = REPO / "runner") -> str:
    """SHA-256 over every file under `root` (its path and bytes), bytecode caches left out:
    which drillctl the bench's children import."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class SourceGuard:
    """Stops a bench as soon as runner/ is not what its first run imported.

    Every drillctl child imports runner/ from the working tree afresh. A tree edited, stashed
    or checked out while a bench runs gives figures of two versions of the code under one
    table: the 1,000-host scale bench once published a 443 MB peak that was the previous
    version's, beside four runs of the current one at 140 MB.
    """

    def __init__(self, root: Path = REPO / "runner") -> None:
        self.root = root
        self.digest = source_digest(root)

    def check(self) -> None:
        """Raise SystemExit (nothing published) when runner/ changed since the start."""
        if source_digest(self.root) != self.digest:
            raise SystemExit(
                f"{self.root} changed while the bench ran: its figures would mix two versions "
                "of the code, so none are published. Run the bench again on a tree nobody "
                "edits until it ends."
            )


def interleave(contenders: Sequence[Contender], repeat: int, seed: int | None = None) -> int:
    """Run all contenders `repeat` times, each repetition in a fresh random order."""
    repeat = max(repeat, MIN_REPEAT)
    seed = random.randrange(2**32) if seed is None else seed
    rng = random.Random(seed)
    guard = SourceGuard()
    print(f"seed {seed}; {repeat} repetitions; load average {_load()}", flush=True)
    for rep in range(1, repeat + 1):
        order = rng.sample(list(contenders), len(contenders))
        for contender in order:
            guard.check()
            run = contender.run(rep)
            contender.runs.append(run)
            inner = f"  (own figure {run.inner_s:.3f}s)" if run.inner_s is not None else ""
            print(f"  rep {rep}/{repeat}  {contender.label:<40} {run.wall_s:8.3f}s{inner}")
    guard.check()  # a change during the last run counts too
    return seed


@dataclass(frozen=True)
class Target:
    """One ratio the issue sets: `numerator / denominator` compared with `limit`."""

    label: str
    numerator: str
    denominator: str
    limit: float
    at_most: bool = True  # False: the ratio must be at least `limit`
    inner: bool = False  # compare the contenders' own figures instead of wall time


@dataclass(frozen=True)
class Limit:
    """An absolute target: the median wall time of one contender, at most `seconds`."""

    label: str
    key: str
    seconds: float


def report(
    name: str,
    title: str,
    contenders: Sequence[Contender],
    targets: Sequence[Target],
    seed: int,
    limits: Sequence[Limit] = (),
) -> bool:
    """Print the table and the targets; write results JSON and the README section."""
    by_key = {c.key: c for c in contenders}
    lines = [
        f"{title}",
        "",
        "| contender | median s | min s | max s | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in contenders:
        lo, hi = c.spread()
        lines.append(f"| {c.label} | {c.median():.3f} | {lo:.3f} | {hi:.3f} | {len(c.runs)} |")
    lines += ["", "| ratio | measured | target | |", "|---|---:|---|---|"]
    all_hold = True
    figures = []
    for t in targets:
        num = by_key[t.numerator].median(t.inner)
        den = by_key[t.denominator].median(t.inner)
        ratio = num / den
        holds = ratio <= t.limit if t.at_most else ratio >= t.limit
        all_hold &= holds
        sign = "≤" if t.at_most else "≥"
        verdict = "holds" if holds else "**missed**"
        lines.append(f"| {t.label} | {ratio:.2f}x | {sign} {t.limit:g}x | {verdict} |")
        figures.append(
            {
                "target": t.label,
                "ratio": round(ratio, 4),
                "limit": t.limit,
                "at_most": t.at_most,
                "holds": holds,
            }
        )
    for limit in limits:
        median = by_key[limit.key].median()
        holds = median <= limit.seconds
        all_hold &= holds
        verdict = "holds" if holds else "**missed**"
        lines.append(f"| {limit.label} | {median:.2f}s | ≤ {limit.seconds:g}s | {verdict} |")
        figures.append(
            {
                "target": limit.label,
                "seconds": round(median, 4),
                "limit_s": limit.seconds,
                "holds": holds,
            }
        )
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines += [
        "",
        f"{when}; {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}; load average at the end {_load()}; seed {seed}; "
        "contenders in random order per repetition.",
    ]
    text = "\n".join(lines)
    print("\n" + text)
    publish(
        name,
        text,
        {
            "bench": name,
            "when": when,
            "seed": seed,
            "load_average": os.getloadavg(),
            "contenders": {
                c.key: {
                    "label": c.label,
                    "wall_s": [r.wall_s for r in c.runs],
                    "inner_s": [r.inner_s for r in c.runs],
                }
                for c in contenders
            },
            "targets": figures,
        },
    )
    return all_hold


def publish(name: str, text: str, figures: dict[str, object]) -> None:
    """Write bench/results/NAME.json and the README section NAME from one run's figures."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    _update_readme(name, text)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> str:
    """Cores and interpreter, for the line under every published table."""
    return f"{os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}"


def load() -> str:
    """The load average (1, 5, 15 minutes), printable."""
    return _load()


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _update_readme(name: str, text: str) -> None:
    readme = BENCH / "README.md"
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    body = readme.read_text()
    block = f"{start}\n{text}\n{end}"
    if start in body and end in body:
        before, rest = body.split(start, 1)
        body = before + block + rest.split(end, 1)[1]
    else:
        body = body.rstrip("\n") + f"\n\n## Latest `{name}` figures\n\n{block}\n"
    readme.write_text(body)
