"""Build `ProbeSpec` and `TriggerRule` from `probes:` and `triggers:`, once, at load time.

The schema has checked the shapes; this checks what a schema cannot say and reports it
located, so that lint and plan refuse it (exit 2) before anything runs: an interval below
`MIN_EVERY_S` (`every: 0s`), a timeout of 0, a read-back deadline shorter than one read,
a `pattern` without exactly one group, a trigger on an unknown or data probe, a window
shorter than its probe's interval, or a Prometheus probe's or alert trigger's URL that cannot
be requested (templated ones are checked once rendered, at plan) or empty query. Probe
intervals and timeouts are plain durations, not templates: the engine schedules them before
it renders anything.
"""

from __future__ import annotations

import re
from typing import Any

from runner.durations import format_duration, parse_duration, schema_refuses
from runner.errors import Diagnostic
from runner.measure.specs import (
    ALERT_SOURCES,
    CHECK_KINDS,
    COMPARATORS,
    DATA_CALL_KINDS,
    DEFAULT_ALERT_EVERY_S,
    DEFAULT_ALERT_TIMEOUT_S,
    DEFAULT_CHECK_TIMEOUT_S,
    DEFAULT_EVERY_S,
    DEFAULT_HEALTHY_AFTER,
    DEFAULT_LATENCY_ABOVE_S,
    DEFAULT_NO_DATA,
    DEFAULT_READ_DEADLINE_S,
    DEFAULT_READ_TIMEOUT_S,
    DEFAULT_TRIGGER_WINDOW_S,
    DEFAULT_WRITE_TIMEOUT_S,
    MIN_EVERY_S,
    NO_DATA,
    SERIES_MATCH,
    DataCall,
    DataProbe,
    ProbeSpec,
    PromExpect,
    ReadFormat,
    TriggerRule,
)
from runner.urls import url_problem, without_credentials
from runner.yamlpos import YamlDocument

Path = tuple[str | int, ...]
_DATA_CALL_KEYS = frozenset({*DATA_CALL_KINDS, "timeout", "format", "pattern", "deadline"})
_MISSING = object()


class ProbeLoader:
    """Collects located problems in `diags`; what cannot be built is left out."""

    def __init__(self, doc: YamlDocument) -> None:
        self.doc = doc
        self.diags: list[Diagnostic] = []

    def problem(self, path: Path, message: str, *, at_key: bool = False) -> None:
        self.diags.append(self.doc.diag(path, message, at_key=at_key))

    def seconds(self, path: Path, value: Any, default: float, *, minimum: float = 0.0) -> float:
        """A duration at `path`, or `default` when absent. A bad or too short one is
        reported, and building goes on with the default (the playbook is refused anyway)."""
        if value is None or value is _MISSING:
            return default
        where = ".".join(map(str, path))
        try:
            seconds = parse_duration(value)
        except (ValueError, OverflowError) as exc:
            if not schema_refuses(value):
                self.problem(path, f"{where}: {exc}")
            return default
        if seconds <= 0 or seconds < minimum:
            least = f"at least {_short(minimum)}" if minimum else "more than 0s"
            self.problem(path, f"{where}: {value!r} is too short; it must be {least}")
            return default
        return seconds

    # -- probes -------------------------------------------------------------------
    def probes(self, raw: Any) -> dict[str, ProbeSpec]:
        if not isinstance(raw, dict):
            return {}
        built = {}
        for name, spec in raw.items():
            if isinstance(spec, dict):
                probe = self.probe(str(name), spec)
                if probe is not None:
                    built[str(name)] = probe
        return built

    def probe(self, name: str, raw: dict[str, Any]) -> ProbeSpec | None:
        path: Path = ("probes", name)
        kinds = [k for k in (*CHECK_KINDS, "data") if k in raw]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            self.problem(
                path,
                f"probe {name}: give exactly one of http, tcp, command, prometheus or data "
                f"(found {found})",
            )
            return None
        kind = kinds[0]
        every = self.seconds(
            (*path, "every"), raw.get("every"), DEFAULT_EVERY_S, minimum=MIN_EVERY_S
        )
        healthy_after = raw.get("healthy_after", DEFAULT_HEALTHY_AFTER)
        if not isinstance(healthy_after, int) or isinstance(healthy_after, bool):
            healthy_after = DEFAULT_HEALTHY_AFTER  # the schema reports it
        healthy_after = max(1, healthy_after)
        hosts = raw.get("hosts") if isinstance(raw.get("hosts"), str) else None
        if kind == "data":
            data = self.data(path, raw["data"])
            if "timeout" in raw:
                self.problem(
                    (*path, "timeout"),
                    f"probe {name}: a data probe's timeouts belong to `data.write` and `data.read`",
                    at_key=True,
                )
            if data is None:
                return None
            return ProbeSpec(
                name, every, data.write.timeout_s, "data", None, healthy_after, hosts, data
            )
        timeout = self.check_timeout(path, kind, raw)
        expect = None
        if kind == "prometheus":
            expect = self.prometheus((*path, "prometheus"), raw[kind])
            if expect is None:
                return None
        return ProbeSpec(name, every, timeout, kind, raw[kind], healthy_after, hosts, None, expect)

    def prometheus(self, path: Path, raw: Any) -> PromExpect | None:
        """A Prometheus probe's URL, query and expectation, checked now: a bad URL, an empty
        query or an unknown comparator is bad input, not a probe that is unknown all drill."""
        if not isinstance(raw, dict):
            return None  # the schema reports it
        self.url((*path, "url"), raw.get("url"))
        query = raw.get("query")
        if isinstance(query, str) and not query.strip():
            self.problem((*path, "query"), "prometheus.query is empty: give a PromQL expression")
        expect = raw.get("expect")
        if not isinstance(expect, dict):
            return None  # the schema reports it
        op, value = expect.get("op"), expect.get("value")  # the schema names a bad op
        match, no_data = expect.get("match", "all"), raw.get("no_data", DEFAULT_NO_DATA)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            if isinstance(value, float):  # NaN: no value compares with it
                self.problem(
                    (*path, "expect", "value"),
                    "expect.value is NaN: no value compares with it; give a number",
                )
            return None
        if op not in COMPARATORS or match not in SERIES_MATCH or no_data not in NO_DATA:
            return None  # the schema reports it
        return PromExpect(str(op), float(value), str(match), str(no_data))

    def url(self, path: Path, url: Any) -> None:
        """A URL that is not a template must be requestable (templates are checked at plan)."""
        if not isinstance(url, str) or "{{" in url or "{%" in url:
            return
        problem = url_problem(url)
        if problem:
            self.problem(path, f"url {without_credentials(url)!r} {problem}")

    def check_timeout(self, path: Path, kind: str, raw: dict[str, Any]) -> float:
        own = raw[kind].get("timeout", _MISSING) if isinstance(raw[kind], dict) else _MISSING
        top = raw.get("timeout", _MISSING)
        if own is not _MISSING and top is not _MISSING:
            self.problem(
                (*path, "timeout"),
                f"probe {path[1]}: give the check's timeout once, here or as {kind}.timeout",
                at_key=True,
            )
        if own is not _MISSING:
            return self.seconds((*path, kind, "timeout"), own, DEFAULT_CHECK_TIMEOUT_S)
        return self.seconds((*path, "timeout"), top, DEFAULT_CHECK_TIMEOUT_S)

    def data(self, path: Path, raw: Any) -> DataProbe | None:
        if not isinstance(raw, dict):
            return None
        path = (*path, "data")
        write = self.call((*path, "write"), raw.get("write"), DEFAULT_WRITE_TIMEOUT_S)
        read_raw = raw.get("read")
        read = self.call((*path, "read"), read_raw, DEFAULT_READ_TIMEOUT_S)
        if write is None or read is None or not isinstance(read_raw, dict):
            return None
        read_format = self.read_format((*path, "read"), read_raw)
        deadline = self.seconds(
            (*path, "read", "deadline"), read_raw.get("deadline"), DEFAULT_READ_DEADLINE_S
        )
        if deadline < read.timeout_s:
            self.problem(
                (*path, "read", "deadline" if "deadline" in read_raw else "timeout"),
                f"the read-back deadline ({format_duration(deadline)}) is shorter than one "
                f"read's timeout ({format_duration(read.timeout_s)}); no read could finish",
            )
            return None
        if read_format is None:
            return None
        return DataProbe(write, read, read_format, deadline)

    def call(self, path: Path, raw: Any, default_timeout: float) -> DataCall | None:
        if not isinstance(raw, dict):
            return None
        kinds = [k for k in DATA_CALL_KINDS if k in raw]
        if not kinds and any(k not in _DATA_CALL_KEYS for k in raw):
            return None  # the schema reports the unknown key, which is the mistake
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "neither"
            self.problem(
                path, f"{'.'.join(map(str, path))}: give exactly one of shell or http ({found})"
            )
            return None
        kind = kinds[0]
        own = raw[kind].get("timeout", _MISSING) if isinstance(raw[kind], dict) else _MISSING
        if own is not _MISSING and "timeout" in raw:
            self.problem(
                (*path, "timeout"),
                f"{'.'.join(map(str, path))}: give the timeout once, here or as {kind}.timeout",
                at_key=True,
            )
        if own is not _MISSING:
            timeout = self.seconds((*path, kind, "timeout"), own, default_timeout)
        else:
            timeout = self.seconds((*path, "timeout"), raw.get("timeout"), default_timeout)
        return DataCall(kind, raw[kind], timeout)

    def read_format(self, path: Path, raw: dict[str, Any]) -> ReadFormat | None:
        pattern = raw.get("pattern")
        if pattern is None:
            kind = raw.get("format", "lines")
            return ReadFormat(kind if kind in ("lines", "json") else "lines")
        if "format" in raw:
            self.problem((*path, "pattern"), "give `format` or `pattern`, not both", at_key=True)
            return None
        if not isinstance(pattern, str):
            return None  # the schema reports it
        try:
            groups = re.compile(pattern).groups
        except re.error as exc:
            self.problem(
                (*path, "pattern"), f"pattern {pattern!r} is not a regular expression: {exc}"
            )
            return None
        if groups != 1:
            self.problem(
                (*path, "pattern"),
                f"pattern {pattern!r} has {groups} groups; it needs exactly one, around the "
                "sequence number (use (?:…) for the others)",
            )
            return None
        return ReadFormat("pattern", pattern)

    # -- triggers -----------------------------------------------------------------
    def triggers(
        self, raw: Any, probes: dict[str, ProbeSpec], declared: set[str]
    ) -> tuple[TriggerRule, ...]:
        """Rules of `triggers:`; `declared` names every probe written (even a broken one)."""
        if not isinstance(raw, list):
            return ()
        rules = []
        for index, item in enumerate(raw):
            rule = self.trigger(("triggers", index), item, probes, declared)
            if rule is not None:
                rules.append(rule)
        return tuple(rules)

    def trigger(
        self, path: Path, item: Any, probes: dict[str, ProbeSpec], declared: set[str]
    ) -> TriggerRule | None:
        if item == "step_failed":
            return TriggerRule("step_failed")
        if isinstance(item, dict) and "alert" in item:
            return self.alert(path, item)
        if not isinstance(item, dict) or not isinstance(item.get("probe"), str):
            return None  # the schema reports it
        probe = item["probe"]
        kinds = [k for k in ("consecutive_failures", "error_rate", "latency_p") if k in item]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            self.problem(
                path,
                "a trigger needs exactly one of consecutive_failures, error_rate or latency_p "
                f"(found {found})",
            )
            return None
        if probe not in declared:
            known = ", ".join(sorted(declared)) or "none"
            self.problem((*path, "probe"), f"trigger on unknown probe {probe!r} (probes: {known})")
            return None
        spec = probes.get(probe)
        if spec is not None and spec.is_data:
            self.problem(
                (*path, "probe"),
                f"probe {probe!r} is a data probe: it writes records and has no availability "
                "samples to trigger on",
            )
            return None
        kind = kinds[0]
        value = item[kind]
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return None  # the schema reports it
        if kind == "consecutive_failures":
            if not isinstance(value, int) or value < 1:
                return None  # the schema reports it
            return TriggerRule("consecutive_failures", probe, consecutive_failures=value)
        window = self.window(path, item, spec)
        if kind == "error_rate":
            if not 0 < value <= 1:
                return None
            return TriggerRule("error_rate", probe, error_rate=float(value), window_s=window)
        above = self.seconds((*path, "above"), item.get("above"), DEFAULT_LATENCY_ABOVE_S)
        if not 0 <= value <= 100:
            return None
        return TriggerRule("latency", probe, window_s=window, latency_p=float(value), above_s=above)

    def alert(self, path: Path, item: dict[str, Any]) -> TriggerRule | None:
        """`{alert: NAME, prometheus: URL}` or `{alert: NAME, alertmanager: URL}`."""
        name = item.get("alert")
        sources = [k for k in ALERT_SOURCES if k in item]
        if len(sources) != 1:
            found = ", ".join(sources) if sources else "neither"
            self.problem(
                path,
                "an alert trigger needs exactly one of prometheus or alertmanager, the URL "
                f"that evaluates the alert (found {found})",
            )
            return None
        if isinstance(name, str) and not name.strip():
            self.problem((*path, "alert"), "alert: give the alert's name (its alertname label)")
            return None
        source = sources[0]
        url = item[source]
        self.url((*path, source), url)
        every = self.seconds(
            (*path, "every"), item.get("every"), DEFAULT_ALERT_EVERY_S, minimum=MIN_EVERY_S
        )
        timeout = self.seconds((*path, "timeout"), item.get("timeout"), DEFAULT_ALERT_TIMEOUT_S)
        if not isinstance(name, str) or not isinstance(url, str):
            return None  # the schema reports it
        return TriggerRule(
            "alert", alert=name, source=source, url=url, every_s=every, timeout_s=timeout
        )

    def window(self, path: Path, item: dict[str, Any], spec: ProbeSpec | None) -> float:
        window = self.seconds((*path, "window"), item.get("window"), DEFAULT_TRIGGER_WINDOW_S)
        if spec is not None and window < spec.every_s:
            self.problem(
                (*path, "window"),
                f"window {format_duration(window)} is shorter than probe {spec.name}'s "
                f"interval ({format_duration(spec.every_s)}): it holds one sample at most, "
                "so one failure would be a 100% error rate",
            )
        return window


def _short(seconds: float) -> str:
    """50ms, 2s: a limit as a drill author writes it."""
    return f"{seconds * 1000:g}ms" if seconds < 1 else format_duration(seconds)


def load_probes(
    doc: YamlDocument, data: dict[str, Any]
) -> tuple[dict[str, ProbeSpec], tuple[TriggerRule, ...], list[Diagnostic]]:
    """The playbook's probes and triggers, and every problem found building them."""
    loader = ProbeLoader(doc)
    raw = data.get("probes")
    probes = loader.probes(raw)
    declared = set(map(str, raw)) if isinstance(raw, dict) else set()
    triggers = loader.triggers(data.get("triggers"), probes, declared)
    return probes, triggers, loader.diags
