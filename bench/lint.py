"""`drillctl lint` over 200 playbooks in one call: target under 2 s (median of 5).

Copies the repository's playbooks into a temp dir until there are 200 (each a real drill
with its default inventory), then times whole `python -m runner lint` processes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 2.0


def make_corpus(directory: Path, count: int) -> list[Path]:
    sources = sorted((REPO / "playbooks").glob("*.yml"))
    shutil.copytree(REPO / "inventories", directory / "inventories")
    (directory / "playbooks").mkdir()
    paths = []
    for i in range(count):
        source = sources[i % len(sources)]
        path = directory / "playbooks" / f"{i:03d}-{source.name}"
        path.write_text(source.read_text())
        paths.append(path)
    return paths


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drillctl-lint-bench-") as tmp:
        paths = make_corpus(Path(tmp), args.count)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "runner", "lint", *map(str, paths)],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(done.stdout[-2000:], done.stderr[-2000:])
                return 1
        median = statistics.median(times)
        verdict = "holds" if median < TARGET_S else "MISSED"
        runs = " ".join(f"{t:.2f}" for t in times)
        print(f"lint of {args.count} playbooks in one call: median {median:.2f}s ({runs})")
        print(f"target < {TARGET_S:g}s: {verdict}")
        return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
