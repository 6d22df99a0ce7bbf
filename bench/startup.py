"""Start-up cost: `drillctl --version` against `python -c pass`, and `drillctl lint` of one
playbook against `ansible-playbook --syntax-check` of the same steps.

Not a test. Whole processes, side by side in random interleaved order (bench/harness.py).
Targets: --version at most 3x the bare interpreter; lint of one playbook at most 0.5x
ansible-playbook --syntax-check.

    python bench/startup.py --repeat 9
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus
from harness import Contender, Target, child_env, interleave, report, timed
from lint import ansible_playbook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="drillctl-startup-bench-") as tmp:
        work = Path(tmp)
        [ours], [theirs] = write_corpus(work, 1, seed=args.seed or 7)
        ansible = ansible_playbook()
        contenders = [
            Contender("floor", "python -c pass", lambda _: timed([sys.executable, "-c", "pass"])),
            Contender(
                "version",
                "drillctl --version",
                lambda _: timed([sys.executable, "-m", "runner", "--version"], env=env),
            ),
            Contender(
                "lint1",
                "drillctl lint (1 playbook)",
                lambda _: timed(
                    [
                        sys.executable,
                        "-m",
                        "runner",
                        "lint",
                        "-i",
                        str(work / "inventory.yml"),
                        str(ours),
                    ],
                    env=env,
                ),
            ),
            Contender(
                "ansible1",
                "ansible-playbook --syntax-check (1)",
                lambda _: timed(
                    [ansible, "--syntax-check", "-i", str(work / "inventory.ini"), str(theirs)],
                    env={**env, "ANSIBLE_HOME": str(work / "ansible-home")},
                ),
            ),
        ]
        seed = interleave(contenders, args.repeat, args.seed)
    ok = report(
        "startup",
        "Start-up (bench/startup.py)",
        contenders,
        [
            Target("drillctl --version / python -c pass", "version", "floor", 3.0),
            Target("drillctl lint 1 / ansible-playbook --syntax-check 1", "lint1", "ansible1", 0.5),
        ],
        seed,
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
