"""Quarterly report benchmark: `drillctl quarterly` over a 10,000-run SQLite history.

Not a test. Generates synthetic runs (5 components, two quarters, realistic step lists) into
a temporary history with the store's own API, then times the whole `drillctl quarterly`
process (interpreter start-up included) for each format, side by side in random order with
the floor: a Python process that reads the quarter's rows from the same SQLite file and
writes them as JSON. Target: each report at most 2x the floor.

    python bench/quarterly.py                     # 10,000 runs, 5 repetitions
    python bench/quarterly.py --runs 50000 --repeat 3
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from harness import Contender, Target, child_env, interleave, report, timed  # noqa: E402

from runner.history import open_store  # noqa: E402
from runner.history.rows import RUN_COLUMNS  # noqa: E402

COMPONENTS = ("gateway", "orders-db", "pricing", "edge-network", "lab-service")
CAUSES = ("health: 3 consecutive failures", "error rate 0.25 over 5s", "smoke test failed")


def synthetic_run(n: int, rng: random.Random) -> dict[str, Any]:
    """One result.json-shaped run, in 2026Q3 (a third) or 2026Q4."""
    month = rng.choice((8, 10, 10, 11, 11, 12))
    started = f"2026-{month:02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00.000Z"
    status = rng.choices(("passed", "failed", "error", "interrupted"), (90, 6, 3, 1))[0]
    rolled_back = rng.random() < 0.95
    rto = None if rng.random() < 0.1 else round(rng.lognormvariate(3, 1), 3)
    lost = 0 if rng.random() < 0.98 else rng.randint(1, 5)
    steps = [
        {
            "phase": phase, "name": f"{phase} step {i}", "action": "command", "host": f"web{h}",
            "status": "ok", "started_at": started, "duration_s": round(rng.random(), 3),
            "rc": 0, "attempts": 1, "msg": "",
        }
        for phase in ("prepare", "deploy", "rollback", "verify", "cleanup")
        for i in range(2)
        for h in range(2)
    ]  # fmt: skip
    return {
        "schema_version": 1,
        "run_id": f"{started[:10].replace('-', '')}T{n:06d}Z-bench",
        "drill": "bench drill",
        "component": rng.choice(COMPONENTS),
        "playbook": "playbooks/bench.yml",
        "inventory": "inventories/bench.yml",
        "environment": "staging",
        "operator": "bench",
        "change_id": f"CHG-{n}",
        "status": status,
        "reason": status,
        "started_at": started,
        "ended_at": started,
        "duration_s": round(rng.uniform(5, 600), 3),
        "rollback_type": 2,
        "objectives": {"rto_s": 60.0, "rpo_s": 0.0},
        "budget_s": 300.0,
        "measured": {
            "time_to_detect_s": round(rng.uniform(0.1, 30), 3),
            "time_to_decide_s": round(rng.uniform(0, 120), 3),
            "time_to_rollback_s": round(rng.lognormvariate(2.5, 1), 3),
            "rto_s": rto,
            "downtime_s": rto,
            "lost_writes": lost,
            "rpo_s": 0.0 if lost == 0 else round(rng.uniform(0.1, 5), 3),
        },
        "verdicts": {
            "rto": None if rto is None else ("met" if rto <= 60 else "missed"),
            "rpo": "met" if lost == 0 else "missed",
            "budget": "met",
        },
        "rolled_back": rolled_back,
        "rollback_succeeded": (status != "failed") if rolled_back else None,
        "trigger": {"kind": "probe", "phase": "deploy", "detail": rng.choice(CAUSES)},
        "faults": [],
        "phases": [],
        "steps": steps,
    }


def generate(db: Path, runs: int) -> float:
    rng = random.Random(2026)
    started = time.perf_counter()
    with open_store(db) as store:
        store.record_many((synthetic_run(n, rng), None) for n in range(runs))
    return time.perf_counter() - started


# The floor reads exactly the columns the quarterly report reads (RUN_COLUMNS, given on
# its command line) for the same quarter, and writes them as JSON: nothing more, so the
# floor is not inflated to flatter the ratio.
FLOOR = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.row_factory = sqlite3.Row
sql = f"SELECT {sys.argv[3]} FROM runs WHERE started_at >= ? AND started_at < ?"
rows = [dict(r) for r in db.execute(sql, ("2026-10-01", "2027-01-01"))]
with open(sys.argv[2], "w") as out:
    json.dump(rows, out)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="drillctl-bench-quarterly-") as tmp:
        db = Path(tmp) / "history.db"
        took = generate(db, args.runs)
        size = db.stat().st_size / 1e6
        print(f"history: {args.runs} runs in {took:.1f}s ({size:.0f} MB SQLite)")

        def quarterly(fmt: str) -> Contender:
            argv = [sys.executable, "-m", "runner", "quarterly", "2026Q4", "--history", str(db)]
            argv += ["--format", fmt, "--out", str(Path(tmp) / f"q.{fmt}")]
            return Contender(
                fmt, f"drillctl quarterly --format {fmt}", lambda _: timed(argv, env=env)
            )

        columns = ", ".join(RUN_COLUMNS)
        floor = [sys.executable, "-c", FLOOR, str(db), str(Path(tmp) / "floor.json"), columns]
        contenders = [
            *(quarterly(fmt) for fmt in ("json", "md", "html")),
            Contender("floor", "SQLite rows of the quarter to JSON", lambda _: timed(floor)),
        ]
        seed = interleave(contenders, args.repeat, args.seed)
    ok = report(
        "quarterly",
        f"Quarterly report over {args.runs} runs (bench/quarterly.py)",
        contenders,
        [
            Target(f"quarterly {f} / SQLite-to-JSON floor", f, "floor", 2.0)
            for f in ("json", "md", "html")
        ],
        seed,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
