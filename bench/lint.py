"""`drillctl lint` at pull-request scale, against `ansible-playbook --syntax-check`.

Not a test. Generates N distinct playbooks (bench/corpus.py: no two alike, so nothing is
served from a cache) and their Ansible twins, then times whole processes side by side in
random interleaved order (bench/harness.py): drillctl linting all N in one call,
ansible-playbook --syntax-check of the N twins in one call, and `python -c pass` as the
floor. Targets: 200 playbooks in at most 1.5 s and at most 0.75x ansible-playbook.

    python bench/lint.py                      # 200 playbooks, 5 repetitions
    python bench/lint.py --count 50 --repeat 7 --seed 1
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import write_corpus
from harness import Contender, Limit, Target, child_env, interleave, report, timed


def ansible_playbook() -> str:
    venv = Path(__file__).resolve().parent / ".venv" / "bin" / "ansible-playbook"
    found = str(venv) if venv.exists() else shutil.which("ansible-playbook")
    if found is None:
        raise SystemExit("ansible-playbook is missing: pip install ansible-core")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    env = child_env()
    with tempfile.TemporaryDirectory(prefix="drillctl-lint-bench-") as tmp:
        work = Path(tmp)
        ours, theirs = write_corpus(work, args.count, seed=args.seed or 2026)
        ansible = ansible_playbook()
        ansible_env = {**env, "ANSIBLE_HOME": str(work / "ansible-home")}
        contenders = [
            Contender(
                "drillctl",
                f"drillctl lint ({args.count} playbooks)",
                lambda _: timed(
                    [
                        sys.executable,
                        "-m",
                        "runner",
                        "lint",
                        "-i",
                        str(work / "inventory.yml"),
                        *map(str, ours),
                    ],
                    env=env,
                ),
            ),
            Contender(
                "ansible",
                f"ansible-playbook --syntax-check ({args.count})",
                lambda _: timed(
                    [
                        ansible,
                        "--syntax-check",
                        "-i",
                        str(work / "inventory.ini"),
                        *map(str, theirs),
                    ],
                    env=ansible_env,
                ),
            ),
            Contender("floor", "python -c pass", lambda _: timed([sys.executable, "-c", "pass"])),
        ]
        seed = interleave(contenders, args.repeat, args.seed)
    ok = report(
        "lint",
        f"Lint of {args.count} distinct playbooks in one call (bench/lint.py)",
        contenders,
        [Target("drillctl / ansible-playbook --syntax-check", "drillctl", "ansible", 0.75)],
        seed,
        [Limit(f"drillctl lint of {args.count} playbooks", "drillctl", 1.5)],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
