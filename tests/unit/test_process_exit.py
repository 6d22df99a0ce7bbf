"""Leaving without the interpreter's teardown loses no output, no exit hook and no thread."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import child_env


def _buffered_env() -> dict[str, str]:
    """The child's streams buffered, as a user's are: what is not flushed would be lost."""
    return {k: v for k, v in child_env().items() if k != "PYTHONUNBUFFERED"}


def _child(body: str, tmp_path: Path) -> subprocess.CompletedProcess[bytes]:
    script = tmp_path / "child.py"
    script.write_text(f"from runner.cli.process_exit import exit_now\n{body}\n")
    return subprocess.run(
        [sys.executable, str(script)],
        env=_buffered_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )


def test_buffered_output_on_both_streams_reaches_a_pipe_before_the_exit(tmp_path: Path) -> None:
    # Far more than one buffer, the last line without a newline: all of it must arrive.
    proc = _child(
        "import sys\n"
        "sys.stdout.write('x' * 1_000_000)\n"
        "sys.stdout.write('end')\n"
        "sys.stderr.write('warned')\n"
        "exit_now(3)",
        tmp_path,
    )
    assert proc.returncode == 3
    assert proc.stdout == b"x" * 1_000_000 + b"end"
    assert proc.stderr == b"warned"


def test_exit_hooks_run_and_what_they_print_arrives(tmp_path: Path) -> None:
    proc = _child(
        "import atexit, sys\natexit.register(lambda: print('hook ran', end=''))\nexit_now(0)",
        tmp_path,
    )
    assert (proc.returncode, proc.stdout) == (0, b"hook ran")


def test_a_running_non_daemon_thread_is_waited_for(tmp_path: Path) -> None:
    done = tmp_path / "done"
    proc = _child(
        "import threading, time\n"
        "from pathlib import Path\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        f"    Path({str(done)!r}).write_text('finished')\n"
        "    print('thread done', flush=True)\n"
        "threading.Thread(target=work).start()\n"
        "exit_now(1)",
        tmp_path,
    )
    assert proc.returncode == 1
    assert done.read_text() == "finished"
    assert proc.stdout == b"thread done\n"


def test_a_daemon_thread_does_not_hold_the_exit(tmp_path: Path) -> None:
    # Daemon threads end with the process either way (every one of ours has a deadline).
    proc = _child(
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "print('left', end='')\n"
        "exit_now(0)",
        tmp_path,
    )
    assert (proc.returncode, proc.stdout) == (0, b"left")


def test_a_closed_stdout_pipe_exits_as_the_interpreter_would(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(
        "import sys\n"
        "from runner.cli.process_exit import exit_now\n"
        "sys.stdin.readline()\n"
        "sys.stdout.write('y' * 100)\n"
        "exit_now(0)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=_buffered_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader went away (`drillctl ... | head -0`)
    proc.stdin.write(b"go\n")  # only now does the child write, into the buffer
    proc.stdin.close()
    err = proc.stderr.read()
    proc.stderr.close()
    # Not 0: CPython's own exit status when it cannot flush stdout.
    assert proc.wait(timeout=60) == 120, err


def test_a_profiler_running_the_program_still_writes_its_findings(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text("from runner.cli.process_exit import exit_now\nexit_now(0)\n")
    found = tmp_path / "profile.out"
    proc = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(found), str(script)],
        env=_buffered_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert found.stat().st_size > 0
