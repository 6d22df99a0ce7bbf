"""Throwaway Prometheus and Pushgateway servers from Debian's packages, on 127.0.0.1.

Each test gets its own instance: its own port, data directory and configuration, never the
system service. Under CI=true a missing binary fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port


def require(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found is None:
        message = f"{binary} is missing (Debian: apt-get install {package})"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def _start(argv: list[str], url: str, ready_path: str, log: Path) -> Server:
    handle = log.open("wb")
    process = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{argv[0]} exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + ready_path, timeout=1):
                return Server(url, process, log)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{argv[0]} did not become ready: {log.read_text()[-2000:]}")


def _stop(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[Server]:
    binary = require("prometheus-pushgateway", "prometheus-pushgateway")
    port = free_port()
    # No persistence: the packaged default file is shared by every instance on the machine.
    argv = [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="]
    server = _start(argv, f"http://127.0.0.1:{port}", "/-/ready", tmp_path / "pushgateway.log")
    yield server
    _stop(server)


def start_alertmanager(workdir: Path) -> Server:
    """Alertmanager on a free port, without clustering (no shared port), routing every
    alert to a receiver that sends nothing."""
    binary = require("prometheus-alertmanager", "prometheus-alertmanager")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "alertmanager.yml"
    config.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
    argv = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.path={workdir / 'data'}",
        "--cluster.listen-address=",
    ]
    return _start(argv, f"http://127.0.0.1:{port}", "/-/ready", workdir / "alertmanager.log")


def start_prometheus(
    workdir: Path,
    scrape_targets: list[str],
    interval: str = "1s",
    rules: str = "",
    alertmanager: str = "",
) -> Server:
    """Prometheus scraping `scrape_targets` (host:port) every `interval`, evaluating `rules`
    (a rules file's YAML) as often and sending alerts to `alertmanager` (host:port), if any."""
    binary = require("prometheus", "prometheus")
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    targets = ", ".join(f'"{t}"' for t in scrape_targets)
    rule_files = ""
    if rules:
        (workdir / "rules.yml").write_text(rules)
        rule_files = f"rule_files: [{str(workdir / 'rules.yml')!r}]\n"
    if alertmanager:
        rule_files += (
            "alerting:\n  alertmanagers:\n    - static_configs:\n"
            f'        - targets: ["{alertmanager}"]\n'
        )
    config.write_text(
        f"global:\n  scrape_interval: {interval}\n  evaluation_interval: {interval}\n"
        + rule_files
        + f"scrape_configs:\n  - job_name: lab\n    static_configs:\n      - targets: [{targets}]\n"
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--web.listen-address=127.0.0.1:{port}",
        f"--storage.tsdb.path={workdir / 'data'}",
    ]
    return _start(argv, f"http://127.0.0.1:{port}", "/-/ready", workdir / "prometheus.log")


stop = _stop


# A lab service watched by Prometheus: scraped (and its rules evaluated) every 500 ms, with
# the alert a team would keep on it.
SCRAPE_S = 0.5
LAB_DOWN_RULES = """\
groups:
  - name: lab
    rules:
      - alert: LabDown
        expr: lab_up{job="lab"} == 0
        for: 0s
"""


@dataclass
class Monitored:
    lab_port: int  # free: the drill starts the lab service on it
    prometheus: Server


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Server]:
    server = start_alertmanager(tmp_path / "alertmanager")
    yield server
    _stop(server)


@pytest.fixture
def monitored(tmp_path: Path) -> Iterator[Monitored]:
    """A free port for the drill's lab service, and a Prometheus already scraping it."""
    lab_port = free_port()
    server = start_prometheus(
        tmp_path / "prometheus",
        [f"127.0.0.1:{lab_port}"],
        f"{SCRAPE_S * 1000:g}ms",
        LAB_DOWN_RULES,
    )
    try:
        yield Monitored(lab_port, server)
    finally:
        _stop(server)
