"""100 local steps: drillctl's cost per step against a plain subprocess loop.

Not a test. A drill of N `command: "true"` steps on the local connection (no probes)
against a Python loop of N `subprocess.run(["true"])`. Each side reports its own time
without interpreter start-up (drillctl: `duration_s` of result.json; the loop: its own
clock), so the ratio is the cost per step. Random interleaved order (bench/harness.py).
Target: at most 1.5x the loop per step.

    python bench/local_steps.py --steps 100 --repeat 7
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Contender, Run, Target, child_env, interleave, report, timed

LOOP = """
import subprocess, sys, time
n = int(sys.argv[1])
started = time.perf_counter()
for _ in range(n):
    subprocess.run(["true"], check=True)
print(time.perf_counter() - started)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    env = {**child_env(), "DRILLCTL_HISTORY": "off"}
    with tempfile.TemporaryDirectory(prefix="drillctl-local-bench-") as tmp:
        work = Path(tmp)
        steps = "".join(f'  - name: step {i}\n    command: "true"\n' for i in range(args.steps))
        playbook = work / "local.yml"
        playbook.write_text(
            "drill: local steps\nrollback_type: 2\nrollback_when: failure\nhosts: all\n"
            f"deploy:\n{steps}"
        )
        inventory = work / "inventory.yml"
        inventory.write_text("all:\n  hosts:\n    box: {connection: local}\n")

        def drill(rep: int) -> Run:
            out = work / f"run-{rep}"
            argv = [sys.executable, "-m", "runner", "run", str(playbook), "-i", str(inventory)]
            whole = timed([*argv, "--out", str(out)], env=env)
            inner = json.loads((out / "result.json").read_text())["duration_s"]
            return Run(whole.wall_s, float(inner))

        def loop(_: int) -> Run:
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", LOOP, str(args.steps)],
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - started
            return Run(wall, float(done.stdout.strip()))

        contenders = [
            Contender("drillctl", f"drillctl run ({args.steps} local steps)", drill),
            Contender("loop", f"subprocess loop ({args.steps} x true)", loop),
        ]
        seed = interleave(contenders, args.repeat, args.seed)
    ok = report(
        "local_steps",
        f"{args.steps} local steps (bench/local_steps.py); ratio of the contenders' own times",
        contenders,
        [Target("drillctl / subprocess loop, per step", "drillctl", "loop", 1.5, inner=True)],
        seed,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
