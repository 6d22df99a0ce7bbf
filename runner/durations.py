"""Durations as drill authors write them: `500ms`, `90s`, `5m`, `1h30m`, or a number of seconds."""

from __future__ import annotations

import math
import re
from typing import Any

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
DURATION_PATTERN = r"^\s*(\d+(\.\d+)?(ms|s|m|h|d))+\s*$|^\s*\d+(\.\d+)?\s*$"
# The JSON-schema fragment of a duration argument, for every schema that takes one (playbook,
# actions, faults, probes): here, below them all, so none has to import another for it.
DURATION_SCHEMA: dict[str, Any] = {
    "type": ["string", "number"],
    "pattern": r"^\s*((\d+(\.\d+)?(ms|s|m|h|d))+|\d+(\.\d+)?)\s*$",
    "x-pattern-hint": "expected a duration like 500ms, 90s, 5m or 1h30m",
    "minimum": 0,
}


def schema_refuses(value: object) -> bool:
    """Whether DURATION_SCHEMA refuses `value` (a wrong type, a malformed string), so the
    schema has reported it, located. A value it accepts that `parse_duration` still refuses
    (NaN, 400 digits, `99999999999999999999999d`) is for the caller to report: dropping it
    would leave an objective or a timeout silently unset."""
    if isinstance(value, str):
        return re.search(DURATION_SCHEMA["pattern"], value) is None
    return isinstance(value, bool) or not isinstance(value, (int, float))


def parse_duration(value: object) -> float:
    """Return seconds for a duration value; raise ValueError with a readable reason."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 90s or 5m, got {value!r}")
    if isinstance(value, int) and abs(value) > 10**15:
        raise ValueError(f"duration is too large: {str(value)[:20]}… seconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite duration, got {value!r}")
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a duration like 90s or 5m, got {type(value).__name__}")
    text = value.strip()
    if re.fullmatch(r"[-+]?\d+(\.\d+)?", text):
        return parse_duration(float(text))
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.replace(" ", ""):
        raise ValueError(f"expected a duration like 500ms, 90s, 5m or 1h30m, got {value!r}")
    total = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(total) or total > 10**15:
        raise ValueError(f"duration is too large: {value[:20]!r}")
    return total


def format_duration(seconds: float | None) -> str:
    """Short human form: 0.42s, 12.3s, 4m05s."""
    if seconds is None:
        return "n/a"
    if round(seconds, 2) < 10:
        return f"{seconds:.2f}s"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
