"""Write a run's per-drill reports (`report.md`, `junit.xml`, `report.html`) beside its result."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.report import html, junit, markdown
from runner.secrets import SecretMask

RENDERERS: tuple[tuple[str, Callable[[dict[str, Any]], str]], ...] = (
    ("report.md", markdown.render),
    ("junit.xml", junit.render),
    ("report.html", html.render),
)


def _write_atomic(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never half of it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_reports(run_dir: Path, result: dict[str, Any], mask: SecretMask) -> list[Path]:
    """Render every report of one run into `run_dir`, secrets masked; returns the paths."""
    # Mask the data before rendering as well as the text after: escaping (`&amp;`, `\_`) or
    # truncation could otherwise hide a secret from the final text pass.
    masked = mask.mask_value(result)
    paths = []
    for name, render in RENDERERS:
        path = Path(run_dir) / name
        _write_atomic(path, mask.mask(render(masked)))
        paths.append(path)
    return paths
