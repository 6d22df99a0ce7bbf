"""A generator of distinct drill playbooks, and their Ansible equivalents, for lint benches.

Every playbook differs (names, steps, variables, templates, tags, conditions), so no
analysis can be served from a cache keyed on content: the bench measures the work.
"""

from __future__ import annotations

import random
from pathlib import Path

INVENTORY_YAML = """all:
  children:
    gateway:
      hosts:
        gw[1:4]: {connection: local, address: 127.0.0.1}
      vars: {lab_port: 18080}
"""
INVENTORY_INI = "[gateway]\ngw[1:4] ansible_connection=local\n[gateway:vars]\nlab_port=18080\n"
WORDS = ("order", "price", "ledger", "quote", "risk", "match", "book", "feed", "clear", "route")


def _step(rng: random.Random, n: int, var: str) -> tuple[str, str]:
    """One drillctl step and the same step as an Ansible task (YAML lines, indented)."""
    name = f"{rng.choice(WORDS)} step {n} {rng.randrange(10**6)}"
    kind = rng.choice(("command", "shell", "http", "wait_for", "assert", "pause"))
    tags = f"    tags: [{rng.choice(WORDS)}]\n" if rng.random() < 0.3 else ""
    when = f"    when: {var} | length > {rng.randrange(5)}\n" if rng.random() < 0.3 else ""
    if kind == "command":
        body = f'    command: "echo {{{{ {var} }}}} {n}"\n'
        task = f'    ansible.builtin.command: "echo {{{{ {var} }}}} {n}"\n'
    elif kind == "shell":
        body = f'    shell: "test -n {{{{ {var} | quote }}}} && echo {n}"\n'
        task = f'    ansible.builtin.shell: "test -n {{{{ {var} | quote }}}} && echo {n}"\n'
    elif kind == "http":
        url = f"http://127.0.0.1:{{{{ lab_port }}}}/{rng.choice(WORDS)}/{n}"
        body = f'    http: {{url: "{url}", status: 200}}\n'
        task = f'    ansible.builtin.uri: {{url: "{url}", status_code: 200}}\n'
    elif kind == "wait_for":
        body = f"    wait_for: {{port: {1024 + n}, timeout: {rng.randrange(1, 30)}s}}\n"
        task = f"    ansible.builtin.wait_for: {{port: {1024 + n}, timeout: 5}}\n"
    elif kind == "assert":
        body = f"    assert: {{that: [\"{var} != '{n}'\"]}}\n"
        task = f"    ansible.builtin.assert: {{that: [\"{var} != '{n}'\"]}}\n"
    else:
        body = f"    pause: {rng.randrange(1, 900)}ms\n"
        task = "    ansible.builtin.pause: {seconds: 1}\n"
    return (f"  - name: {name}\n{body}{tags}{when}", f"  - name: {name}\n{task}{tags}{when}")


def write_corpus(directory: Path, count: int, seed: int) -> tuple[list[Path], list[Path]]:
    """`count` distinct drillctl playbooks and their Ansible twins under `directory`."""
    rng = random.Random(seed)
    (directory / "inventory.yml").write_text(INVENTORY_YAML)
    (directory / "inventory.ini").write_text(INVENTORY_INI)
    ours, theirs = [], []
    for i in range(count):
        var = f"{rng.choice(WORDS)}_{i}"
        phases: dict[str, list[str]] = {}
        tasks = []
        n = 0
        for phase in ("prepare", "deploy", "rollback", "verify", "cleanup"):
            for _ in range(rng.randrange(1, 6)):
                n += 1
                step, task = _step(rng, n, var)
                phases.setdefault(phase, []).append(step)
                tasks.append(task)
        head = (
            f"drill: {rng.choice(WORDS)} drill {i}\ncomponent: {rng.choice(WORDS)}-{i}\n"
            f"rollback_type: {rng.randrange(1, 5)}\nhosts: gateway\n"
            f'vars: {{{var}: "v{rng.randrange(10**6)}"}}\n'
        )
        text = head + "".join(f"{p}:\n" + "".join(s) for p, s in phases.items())
        path = directory / f"drill-{i:04d}.yml"
        path.write_text(text)
        ours.append(path)
        play = (
            f"- name: {rng.choice(WORDS)} drill {i}\n  hosts: gateway\n  gather_facts: false\n"
            f'  vars: {{{var}: "v{rng.randrange(10**6)}"}}\n  tasks:\n'
            + "".join("  " + line + "\n" for t in tasks for line in t.rstrip("\n").split("\n"))
        )
        twin = directory / f"ansible-{i:04d}.yml"
        twin.write_text(play)
        theirs.append(twin)
    return ours, theirs
