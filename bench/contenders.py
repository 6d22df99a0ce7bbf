"""The contenders: for one run each writes its inputs and says how to start it.

Every contender gets the same workload (`steps` trivial commands on every host, `forks`
hosts at once) against the same lab hosts, with host keys checked against the lab's
known_hosts and the lab's user key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # `runner` without an install, for the lab helpers


@dataclass(frozen=True)
class Target:
    """The lab hosts and the workload every contender runs."""

    addresses: tuple[str, ...]
    port: int
    user: str
    key: Path
    known_hosts: Path
    steps: int
    forks: int


@dataclass(frozen=True)
class Invocation:
    """How to start one run, and what to read or close after it."""

    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    result_json: Path | None = None  # drillctl's result.json: the drill's own duration
    control_dir: Path | None = None  # ssh ControlMaster sockets left behind (ansible)


Builder = Callable[[Target, Path], Invocation]


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", **extra}


# -- drillctl ----------------------------------------------------------------------------
def drillctl(t: Target, work: Path) -> Invocation:
    hosts = "".join(f"        {a}:\n" for a in t.addresses)
    (work / "inventory.yml").write_text(
        "all:\n"
        "  vars:\n"
        "    connection: ssh\n"
        f"    port: {t.port}\n"
        f"    user: {t.user}\n"
        f"    ssh_key_file: {t.key}\n"
        f"    known_hosts: {t.known_hosts}\n"
        "  children:\n"
        "    gateway:\n"
        "      hosts:\n"
        f"{hosts}"
    )
    steps = "".join(f'  - name: step {i}\n    command: "true"\n' for i in range(1, t.steps + 1))
    (work / "fanout.yml").write_text(
        "drill: fan-out benchmark\n"
        "component: bench\n"
        "rollback_type: 2\n"
        "hosts: gateway\n"
        f"forks: {t.forks}\n"
        "rollback_when: failure\n"
        f"deploy:\n{steps}"
    )
    out = work / "run"
    argv = [sys.executable, "-m", "runner", "run", str(work / "fanout.yml")]
    argv += ["-i", str(work / "inventory.yml"), "--out", str(out)]
    # Every run is recorded, as a user's would be, into one history for the whole bench
    # (not the repository's drills/history.db).
    env = _env(DRILLCTL_HISTORY=str(work.parent / "history.db"))
    return Invocation(argv, REPO, env, result_json=out / "result.json")


# -- raw paramiko floor ------------------------------------------------------------------
def raw(t: Target, work: Path) -> Invocation:
    argv = [sys.executable, str(BENCH / "raw_floor.py"), *t.addresses]
    argv += ["--port", str(t.port), "--user", t.user, "--key", str(t.key)]
    argv += ["--known-hosts", str(t.known_hosts), "--steps", str(t.steps)]
    argv += ["--forks", str(t.forks)]
    return Invocation(argv, work, _env())


def raw_lockstep(t: Target, work: Path) -> Invocation:
    invocation = raw(t, work)
    return Invocation([*invocation.argv, "--lockstep"], invocation.cwd, invocation.env)


# -- ansible-playbook --------------------------------------------------------------------
def _ansible(t: Target, work: Path, module: str) -> Invocation:
    hosts = "".join(f"{a}\n" for a in t.addresses)
    (work / "inventory.ini").write_text(
        f"[gateway]\n{hosts}\n"
        "[gateway:vars]\n"
        f"ansible_port={t.port}\n"
        f"ansible_user={t.user}\n"
        f"ansible_ssh_private_key_file={t.key}\n"
        "ansible_python_interpreter=/usr/bin/python3\n"
    )
    tasks = "".join(
        f'    - name: step {i}\n      {module}: "true"\n' for i in range(1, t.steps + 1)
    )
    (work / "play.yml").write_text(f"- hosts: gateway\n  gather_facts: false\n  tasks:\n{tasks}")
    control = work / "cp"
    control.mkdir()
    # Ansible's default ssh_args, plus the lab's known_hosts with strict checking.
    ssh_args = (
        "-C -o ControlMaster=auto -o ControlPersist=60s "
        f"-o UserKnownHostsFile={t.known_hosts} -o StrictHostKeyChecking=yes"
    )
    (work / "ansible.cfg").write_text(
        "[defaults]\n"
        f"forks = {t.forks}\n"
        "host_key_checking = True\n"
        f"inventory = {work / 'inventory.ini'}\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
        f"ssh_args = {ssh_args}\n"
        f"control_path_dir = {control}\n"
        "control_path = %(directory)s/%%h-%%p\n"
    )
    env = _env(
        ANSIBLE_CONFIG=str(work / "ansible.cfg"),
        ANSIBLE_HOME=str(work / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
    )
    argv = [str(VENV / "bin" / "ansible-playbook"), str(work / "play.yml")]
    return Invocation(argv, work, env, control_dir=control)


def ansible(t: Target, work: Path) -> Invocation:
    return _ansible(t, work, "ansible.builtin.command")


def ansible_raw(t: Target, work: Path) -> Invocation:
    return _ansible(t, work, "ansible.builtin.raw")


def close_control_masters(control_dir: Path) -> None:
    """Stop the ControlPersist masters a run left (they would outlive it by 60 s)."""
    for sock in control_dir.iterdir():
        subprocess.run(
            ["ssh", "-S", str(sock), "-O", "exit", "bench"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )


# -- pyinfra -----------------------------------------------------------------------------
def pyinfra(t: Target, work: Path) -> Invocation:
    data = {
        "ssh_port": t.port,
        "ssh_user": t.user,
        "ssh_key": str(t.key),
        "ssh_known_hosts_file": str(t.known_hosts),
        "ssh_strict_host_key_checking": "yes",
        "ssh_allow_agent": False,
        "ssh_look_for_keys": False,
    }
    (work / "inventory.py").write_text(f"gateway = ({list(t.addresses)!r}, {data!r})\n")
    ops = "".join(
        f'server.shell(name="step {i}", commands=["true"])\n' for i in range(1, t.steps + 1)
    )
    (work / "deploy.py").write_text(f"from pyinfra.operations import server\n\n{ops}")
    argv = [str(VENV / "bin" / "pyinfra"), "inventory.py", "deploy.py", "-y"]
    argv += ["--parallel", str(t.forks)]
    return Invocation(argv, work, _env())


# -- the registry ------------------------------------------------------------------------
@dataclass(frozen=True)
class Contender:
    key: str  # for --only
    label: str
    build: Builder
    package: str | None = None  # PyPI package installed into bench/.venv on first use
    executable: str | None = None  # what the package must provide in bench/.venv/bin
    needs: tuple[str, ...] = ()  # programs needed on PATH


CONTENDERS = (
    Contender("drillctl", "drillctl", drillctl),
    Contender(
        "ansible",
        "ansible-playbook command",
        ansible,
        "ansible-core",
        "ansible-playbook",
        ("ssh",),
    ),
    Contender(
        "ansible-raw",
        "ansible-playbook raw",
        ansible_raw,
        "ansible-core",
        "ansible-playbook",
        ("ssh",),
    ),
    Contender("pyinfra", "pyinfra", pyinfra, "pyinfra", "pyinfra"),
    Contender("raw", "raw paramiko floor", raw),
    Contender("raw-lockstep", "raw floor, step by step", raw_lockstep),
)


def ensure_available(contender: Contender, log: Path) -> str | None:
    """Install the contender's package into bench/.venv if needed; None, or why it cannot run."""
    missing = [p for p in contender.needs if shutil.which(p) is None]
    if missing:
        return f"needs {', '.join(missing)} on PATH"
    if contender.executable is None or (VENV / "bin" / contender.executable).exists():
        return None
    with log.open("ab") as out:
        if not (VENV / "bin" / "python").exists():
            made = subprocess.run(
                [sys.executable, "-m", "venv", str(VENV)], stdout=out, stderr=out, check=False
            )
            if made.returncode != 0:
                return f"could not create {VENV}: {_last_line(log)}"
        print(f"installing {contender.package} into {VENV} (first use) …", flush=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        done = subprocess.run([*pip, str(contender.package)], stdout=out, stderr=out, check=False)
    if done.returncode != 0 or not (VENV / "bin" / contender.executable).exists():
        return f"pip install {contender.package} failed: {_last_line(log)}"
    return None


def versions(contenders: Sequence[Contender]) -> str:
    """The installed version of each packaged contender, e.g. "ansible-core 2.19.14": a
    ratio against another program means little without which release it was."""
    found = []
    for package in dict.fromkeys(c.package for c in contenders if c.package):
        ran = subprocess.run(
            [str(VENV / "bin" / "python"), "-m", "pip", "show", str(package)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        line = next((x for x in ran.stdout.splitlines() if x.startswith("Version:")), "")
        found.append(f"{package} {line.split(':', 1)[1].strip() if line else 'unknown'}")
    return ", ".join(found)


def _last_line(log: Path) -> str:
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"
