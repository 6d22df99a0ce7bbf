"""Acceptance: nothing waits forever on an SSH host that dies, vanishes or stops answering.

A killed per-connection sshd (found through the test's own sshd's process tree), a host
whose packets are dropped (an sshd in a network namespace, iptables DROP), and Ctrl-C
during such a hang: the step ends within its timeout plus the documented grace, the
faults on the other hosts are reverted, and the exit code is the documented one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from runner.connections.ssh import GRACE_S
from runner.inventory.patterns import select_hosts
from runner.lab.ssh_lab import SshLab
from tests.conftest import REPO, child_env, drillctl_argv, events
from tests.lab.netns import netns_pair
from tests.lab.netns_sshd import NamespacedSshd, netns_sshd
from tests.lab.processes import children, kill_all, kill_session

pytestmark = pytest.mark.integration

__all__ = ["netns_pair", "netns_sshd"]

LOST = "127.0.0.3"
STEP_TIMEOUT_S = 6.0


def start_drillctl(*args: str, netns: str | None = None) -> subprocess.Popen[str]:
    argv = drillctl_argv(*args)
    if netns is not None:
        argv = ["ip", "netns", "exec", netns, *argv]  # execs in place: the pid is drillctl's
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(what: str, ready: Callable[[], bool], proc: subprocess.Popen[str]) -> float:
    """Poll until `ready`; the time it became true. Fails if drillctl ended first."""
    deadline = time.monotonic() + 60
    while not ready():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"drillctl ended before {what}: rc {proc.returncode}\n{out}\n{err}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return time.monotonic()


def finish(proc: subprocess.Popen[str], within: float) -> tuple[int, str, str, float]:
    """Wait for drillctl to end within `within` seconds: rc, stdout, stderr, when it ended."""
    try:
        out, err = proc.communicate(timeout=within)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"drillctl still ran {within:g}s later\n{out}\n{err}")
    return proc.returncode, out, err, time.monotonic()


def host_results(run_dir: Path, step: str) -> dict[str, dict[str, Any]]:
    return {
        e["host"]: e for e in events(run_dir) if e["event"] == "host_result" and e["step"] == step
    }


def lab_inventory(lab: SshLab, path: Path) -> Path:
    data = yaml.safe_load(lab.inventory.read_text())
    data["all"]["vars"]["connect_timeout"] = 2  # a host that is gone is found out quickly
    path.write_text(yaml.safe_dump(data))
    return path


def mark_fault(directory: Path) -> str:
    """A custom fault leaving a file per host; its revert removes it."""
    f = f"{directory}/fault-{{{{ inventory_hostname }}}}"
    return (
        f"fault: {{kind: custom, name: mark, inject: 'touch {f}', revert: 'rm -f {f}', "
        f"check: 'test -e {f}'}}"
    )


# -- a killed sshd -----------------------------------------------------------------------


@pytest.mark.parametrize("listener_too", [False, True], ids=["session", "host-down"])
def test_a_killed_session_sshd_mid_step_ends_that_host_unreachable_and_reverts_the_others(
    make_ssh_lab: Any, tmp_path: Path, listener_too: bool
) -> None:
    lab = make_ssh_lab(3)
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: lost session\nrollback_type: 2\nhosts: gateway\ninject:\n"
        f"  - name: mark\n    {mark_fault(tmp_path)}\n"
        "  - name: hang\n"
        f"    shell: 'touch {tmp_path}/hang-{{{{ inventory_hostname }}}}; sleep 40'\n"
        f"    timeout: {STEP_TIMEOUT_S:g}s\n"
        "verify:\n  - name: the fault is gone\n"
        f"    shell: 'test ! -e {tmp_path}/fault-{{{{ inventory_hostname }}}}'\n"
        f"cleanup:\n  - shell: 'touch {tmp_path}/clean-{{{{ inventory_hostname }}}}'\n"
    )
    out = tmp_path / "run"
    inv = lab_inventory(lab, tmp_path / "inv.yml")
    proc = start_drillctl("run", str(playbook), "-i", str(inv), "--out", str(out))
    orphans: list[int] = []
    try:
        wait_until("the hang step", (tmp_path / f"hang-{LOST}").exists, proc)
        listener = int((lab.root / LOST / "sshd.pid").read_text())
        sessions = children(listener)
        assert len(sessions) == 1, f"expected drillctl's one session, found {sessions}"
        if listener_too:
            os.kill(listener, signal.SIGTERM)  # sessions outlive it; new connections fail
        killed = time.monotonic()
        orphans = kill_session(sessions[0])
        rc, stdout, stderr, ended = finish(proc, within=60)
    finally:
        kill_all(orphans)
    hang = host_results(out, "hang")
    assert hang[LOST]["status"] == "unreachable", hang[LOST]
    assert "connection lost" in hang[LOST]["msg"]
    # The lost host ended at once; the others at their timeout, within the grace.
    lost_end = hang[LOST]["mono"] - killed  # the journal's clock is this machine's monotonic
    assert lost_end < 2.0, f"the lost host's step ended {lost_end:.1f}s after the kill"
    for host in lab.addresses:
        if host != LOST:
            assert hang[host]["status"] == "failed" and "timed out" in hang[host]["msg"]
            assert STEP_TIMEOUT_S - 0.5 < hang[host]["duration_s"] < STEP_TIMEOUT_S + GRACE_S
            assert not (tmp_path / f"fault-{host}").exists(), "a reachable host kept its fault"
            assert (tmp_path / f"clean-{host}").exists(), "cleanup skipped a reachable host"
    assert ended - killed < STEP_TIMEOUT_S + GRACE_S + 20, "the run did not end in its bounds"
    assert "Traceback" not in stderr
    if listener_too:
        # The host is gone: its fault cannot be reverted, which is said with the command.
        assert (tmp_path / f"fault-{LOST}").exists()
        failed = [e for e in events(out) if e["event"] == "fault_revert_failed"]
        assert failed and "unreachable" in failed[0]["detail"]
        assert "FAULT NOT REVERTED" in stdout + stderr
        assert rc == 1, stdout + stderr  # a fault that could not be reverted fails the drill
    else:
        # The session died, the host did not: the next step reconnects and reverts there.
        assert not (tmp_path / f"fault-{LOST}").exists()
        assert (tmp_path / f"clean-{LOST}").exists()
        result = json.loads((out / "result.json").read_text())
        assert result["trigger"]["kind"] == "step_failed"
        assert rc == 0, stdout + stderr  # the failed inject was rolled back and verified


def test_a_killed_session_sshd_mid_probe_fails_samples_and_the_probe_lives_on(
    make_ssh_lab: Any, tmp_path: Path
) -> None:
    lab = make_ssh_lab(1)
    host = lab.addresses[0]
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: lost under a probe\nrollback_type: 2\nhosts: gateway\n"
        "probes:\n  busy:\n    command: 'sleep 0.3'\n    every: 100ms\n"
        f"deploy:\n  - name: wait\n    pause: {STEP_TIMEOUT_S:g}s\n"
    )
    out = tmp_path / "run"
    inv = lab_inventory(lab, tmp_path / "inv.yml")
    proc = start_drillctl("run", str(playbook), "-i", str(inv), "--out", str(out))
    orphans: list[int] = []
    try:
        listener = int((lab.root / host / "sshd.pid").read_text())
        wait_until("a probe session", lambda: bool(children(listener)), proc)
        time.sleep(1.0)  # samples are under way, one in flight at almost every moment
        killed = time.monotonic()
        orphans = kill_session(children(listener)[0])
        rc, stdout, stderr, ended = finish(proc, within=60)
    finally:
        kill_all(orphans)
    assert "Traceback" not in stderr
    samples = [
        row
        for e in events(out)
        if e["event"] == "probe_samples"
        for row in e["rows"]  # t, ok, latency_ms, error
    ]
    lost = [r for r in samples if not r[1] and killed - 0.5 < r[0] < killed + 3]
    assert lost, "no failed sample when the session died"
    assert any("connection lost" in r[3] or "ssh to" in r[3] for r in lost), lost
    after = [r for r in samples if r[0] > killed + 3]
    assert after and all(r[1] for r in after[-3:]), "the probe did not carry on after the loss"
    assert ended - killed < STEP_TIMEOUT_S + 15
    assert rc in (0, 1), stdout + stderr


# -- a black-holed host -----------------------------------------------------------------


def netns_setup(tmp_path: Path, sshd: NamespacedSshd, step_timeout: float) -> tuple[Path, Path]:
    """A drill on two hosts: `gone` (the namespaced sshd) and `here` (the controller)."""
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  vars:\n    connect_timeout: 2\n  hosts:\n"
        + sshd.inventory_lines("gone")
        + "    here:\n      connection: local\n"
    )
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: black hole\nrollback_type: 2\nhosts: all\ninject:\n"
        f"  - name: mark\n    hosts: here\n    {mark_fault(tmp_path)}\n"
        "  - name: hang\n    hosts: gone\n"
        f"    shell: 'touch {tmp_path}/hang-{{{{ inventory_hostname }}}}; sleep 40'\n"
        f"    timeout: {step_timeout:g}s\n"
        f"rollback:\n  - shell: 'touch {tmp_path}/rolled-{{{{ inventory_hostname }}}}'\n"
        f"cleanup:\n  - shell: 'touch {tmp_path}/clean-{{{{ inventory_hostname }}}}'\n"
    )
    return inv, playbook


def test_dropped_packets_mid_step_end_the_step_within_timeout_plus_grace(
    netns_sshd: NamespacedSshd, tmp_path: Path
) -> None:
    inv, playbook = netns_setup(tmp_path, netns_sshd, STEP_TIMEOUT_S)
    out = tmp_path / "run"
    proc = start_drillctl(
        "run", str(playbook), "-i", str(inv), "--out", str(out), netns=netns_sshd.pair.peer
    )
    wait_until("the hang step", (tmp_path / "hang-gone").exists, proc)
    netns_sshd.drop_everything()
    rc, stdout, stderr, _ = finish(proc, within=STEP_TIMEOUT_S + GRACE_S + 40)
    hang = host_results(out, "hang")
    assert hang["gone"]["status"] == "unreachable", hang["gone"]
    assert "no answer" in hang["gone"]["msg"]
    assert hang["gone"]["duration_s"] < STEP_TIMEOUT_S + GRACE_S, hang["gone"]
    assert not (tmp_path / "fault-here").exists(), "the reachable host kept its fault"
    for phase in ("rollback", "cleanup"):
        results = [e for e in events(out) if e["event"] == "host_result" and e["phase"] == phase]
        assert {e["host"]: e["status"] for e in results} == {"here": "ok", "gone": "unreachable"}
        assert max(e["duration_s"] for e in results) < 3 * 2 + 2  # 3 connects of 2 s
    assert (tmp_path / "rolled-here").exists() and (tmp_path / "clean-here").exists()
    assert "Traceback" not in stderr
    assert rc == 3, stdout + stderr  # every failure was an unreachable host


def test_ctrl_c_during_a_black_hole_hang_takes_effect_within_two_seconds(
    netns_sshd: NamespacedSshd, tmp_path: Path
) -> None:
    inv, playbook = netns_setup(tmp_path, netns_sshd, 120)
    out = tmp_path / "run"
    proc = start_drillctl(
        "run", str(playbook), "-i", str(inv), "--out", str(out), netns=netns_sshd.pair.peer
    )
    wait_until("the hang step", (tmp_path / "hang-gone").exists, proc)
    netns_sshd.drop_everything()
    time.sleep(1.0)  # the host is silent now; drillctl is waiting on it
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    stopped = wait_until("the hang step to stop", lambda: "gone" in safe_results(out), proc)
    assert stopped - sent < 2.0, f"the step took {stopped - sent:.2f}s to stop after SIGINT"
    rc, stdout, stderr, ended = finish(proc, within=40)
    assert safe_results(out)["gone"]["status"] == "interrupted"
    assert not (tmp_path / "fault-here").exists(), "the interrupt left a fault in place"
    assert (tmp_path / "rolled-here").exists() and (tmp_path / "clean-here").exists()
    assert "Traceback" not in stderr
    assert rc == 130, stdout + stderr


def safe_results(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The hang step's host results so far (the journal may be mid-write)."""
    try:
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
    except OSError:
        return {}
    found = {}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event["event"] == "host_result" and event["step"] == "hang":
            found[event["host"]] = event
    return found


def test_ctrl_c_while_connecting_to_a_black_hole_exits_within_two_seconds(
    netns_sshd: NamespacedSshd, tmp_path: Path
) -> None:
    inv, playbook = netns_setup(tmp_path, netns_sshd, STEP_TIMEOUT_S)
    inv.write_text(inv.read_text().replace("connect_timeout: 2", "connect_timeout: 30"))
    netns_sshd.drop_everything()  # the host is gone before the run starts
    out = tmp_path / "run"
    proc = start_drillctl(
        "run", str(playbook), "-i", str(inv), "--out", str(out), netns=netns_sshd.pair.peer
    )
    time.sleep(3.0)  # started, and waiting for the TCP handshake that never completes
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    rc, stdout, stderr, ended = finish(proc, within=30)
    assert ended - sent < 2.0, f"drillctl took {ended - sent:.2f}s to stop after SIGINT"
    assert rc == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert not (tmp_path / "hang-here").exists() and not (tmp_path / "fault-here").exists()


def test_dropped_packets_mid_probe_fail_samples_and_the_run_still_ends_in_bounds(
    netns_sshd: NamespacedSshd, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  vars:\n    connect_timeout: 2\n  hosts:\n" + netns_sshd.inventory_lines("gone")
    )
    pause = 8.0
    playbook = tmp_path / "drill.yml"
    playbook.write_text(
        "drill: black hole under a probe\nrollback_type: 2\nhosts: all\n"
        "probes:\n  alive:\n    command: 'sleep 0.2'\n    every: 200ms\n"
        f"deploy:\n  - name: wait\n    pause: {pause:g}s\n"
    )
    out = tmp_path / "run"
    proc = start_drillctl(
        "run", str(playbook), "-i", str(inv), "--out", str(out), netns=netns_sshd.pair.peer
    )
    started = wait_until(
        "the pause", lambda: any(e["event"] == "step_started" for e in safe_events(out)), proc
    )
    time.sleep(1.5)  # healthy samples first
    netns_sshd.drop_everything()
    dropped = time.monotonic()
    rc, stdout, stderr, ended = finish(proc, within=pause + GRACE_S + 30)
    assert "Traceback" not in stderr
    samples = [row for e in events(out) if e["event"] == "probe_samples" for row in e["rows"]]
    assert any(r[1] for r in samples if r[0] < dropped), "no healthy sample before the drop"
    # A sample takes 0.2 s: the one in flight when the packets stopped, and every later one,
    # failed, each within its 1 s timeout plus the grace.
    lost = [r for r in samples if r[0] > dropped - 0.5 and not r[1]]
    assert lost, "no failed sample on a black-holed host"
    assert not any(r[1] for r in samples if r[0] > dropped), "a sample passed after the drop"
    assert all("no answer" in r[3] or "Timeout" in r[3] or "timed out" in r[3] for r in lost)
    assert all(r[2] is None or r[2] < (1 + GRACE_S) * 1000 for r in lost), lost
    # The probe never held the run: it ended soon after the pause, the in-flight sample
    # bounded by the grace.
    assert ended - started < pause + GRACE_S + 10, f"{ended - started:.1f}s"
    assert rc == 1, stdout + stderr  # the service never came back: not a pass


def safe_events(run_dir: Path) -> list[dict[str, Any]]:
    """The journal's complete lines so far (it may be mid-write)."""
    try:
        lines = (run_dir / "journal.jsonl").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_cancel_ends_a_command_that_ignores_sigterm_within_the_bound(
    ssh_hosts: SshLab, tmp_path: Path
) -> None:
    from runner.connections.base import CANCEL_BOUND_S, CancelToken, CommandSpec
    from runner.connections.ssh import SshConnection
    from runner.inventory import load_inventory

    host = select_hosts(load_inventory(str(ssh_hosts.inventory)), "all")[0]
    conn = SshConnection(host)
    pidfile = tmp_path / "stubborn.pid"
    cancel = CancelToken()
    threading.Timer(0.7, cancel.cancel, ("interrupted by SIGINT",)).start()
    try:
        result = conn.run(
            CommandSpec(shell=f"echo $$ > {pidfile}; trap '' TERM; sleep 30"),
            timeout=None,
            cancel=cancel,
        )
    finally:
        conn.close()
    assert result.cancelled and result.rc == -9
    assert cancel.cancelled_at is not None
    took = time.monotonic() - cancel.cancelled_at
    assert took < CANCEL_BOUND_S, f"took {took:.2f}s after the cancel"
    group = int(pidfile.read_text())  # the shell leads the command's process group
    time.sleep(0.5)
    left = [
        d.name
        for d in Path("/proc").iterdir()
        if d.name.isdigit() and process_group(int(d.name)) == group
    ]
    assert not left, f"processes of the cancelled command survive: {left}"


def process_group(pid: int) -> int | None:
    """The process group of a live process; None once it is gone or a zombie (dead, only
    waiting for its parent to read its status)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return None if fields[0] == "Z" else int(fields[2])
