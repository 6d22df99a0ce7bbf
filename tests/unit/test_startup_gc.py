"""While a command loads the collector runs rarely; once it is loaded, as usual again."""

from __future__ import annotations

from tests.conftest import python_child


def _child(body: str) -> str:
    """Run `body` in a fresh interpreter (the collector's settings are per process)."""
    return python_child(f"import gc\nfrom runner.cli import startup_gc\n{body}\n").strip()


def test_loading_collects_rarely_and_loaded_restores_the_usual_thresholds() -> None:
    out = _child(
        "usual = gc.get_threshold()\n"
        "startup_gc.loading()\n"
        "during = gc.get_threshold()\n"
        "startup_gc.loaded()\n"
        "print(usual[0], during[0], gc.get_threshold() == usual, gc.get_freeze_count() > 0)",
    )
    usual, during, restored, frozen = out.split()
    assert int(during) > int(usual)
    assert (restored, frozen) == ("True", "True")


def test_a_cycle_made_after_loaded_is_still_collected() -> None:
    out = _child(
        "startup_gc.loading()\n"
        "startup_gc.loaded()\n"
        "import weakref\n"
        "class Node: pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "alive = weakref.ref(a)\n"
        "del a, b\n"
        "gc.collect()\n"
        "print(alive() is None)",
    )
    assert out == "True"


def test_loaded_without_loading_leaves_the_collector_alone() -> None:
    # An in-process caller (a test calling the CLI's functions) keeps its interpreter as it was.
    out = _child(
        "usual = gc.get_threshold()\n"
        "startup_gc.loaded()\n"
        "print(gc.get_threshold() == usual, gc.get_freeze_count())",
    )
    assert out == "True 0"


def test_the_lab_server_collects_as_usual_while_it_serves() -> None:
    # `lab serve` runs for a whole drill: start-up's rare collections must end before it
    # serves, or its latency would carry the loading batches for as long as it runs.
    out = _child(
        "usual = gc.get_threshold()\n"
        "startup_gc.loading()\n"
        "from runner.lab import service\n"
        "from runner.cli import lab\n"
        "seen = []\n"
        "service.serve = lambda config: seen.append(gc.get_threshold()) or 0\n"
        "import argparse\n"
        "p = argparse.ArgumentParser()\n"
        "lab.add_service_arguments(p, db_required=True)\n"
        "ns = p.parse_args(['--port', '18080', '--db', 'x.sqlite'])\n"
        "assert lab._serve(ns) == 0\n"
        "print(seen[0] == usual, usual[0] != startup_gc.LOADING_THRESHOLD)",
    )
    assert out == "True True"
