"""Hypothesis strategies for playbooks: any shape (for the loader), and schema-valid ones
built from valid parts (so that every lint rule runs on them)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from runner.actions import ACTIONS
from runner.faults.registry import FAULTS
from runner.playbook.model import PHASES
from runner.playbook.step_schema import STEP_KEYWORDS
from tests.fuzz.strategies import DURATIONS, NAMES, expressions, host_patterns, templates, values


@st.composite
def steps(draw: st.DrawFn) -> dict[str, Any]:
    step: dict[str, Any] = {}
    action = draw(st.sampled_from(sorted(ACTIONS)))
    if action == "fault":
        kind = draw(st.sampled_from([*sorted(FAULTS), "{{ k }}", "bogus"]))
        step["fault"] = {"kind": kind, **draw(st.dictionaries(NAMES, values(1), max_size=3))}
        if kind in FAULTS and draw(st.booleans()):
            example = (FAULTS[kind].schema.get("examples") or [{}])[0]
            step["fault"].update(example if isinstance(example, dict) else {})
    else:
        step[action] = draw(st.one_of(templates(), values(2)))
    keywords = draw(st.lists(st.sampled_from(sorted(STEP_KEYWORDS)), max_size=3, unique=True))
    for keyword in keywords:
        step[keyword] = draw(st.one_of(values(1), host_patterns(), expressions()))
    if draw(st.integers(0, 6)) == 0:
        step[draw(st.sampled_from(sorted(ACTIONS)))] = draw(values(1))  # two actions
    return step


@st.composite
def playbooks(draw: st.DrawFn) -> dict[str, Any]:
    """A playbook-shaped mapping: mostly valid keys, values of any shape."""
    book: dict[str, Any] = {
        "drill": draw(st.one_of(st.text(max_size=10), values(0))),
        "rollback_type": draw(st.one_of(st.integers(0, 6), values(0))),
    }
    optional: dict[str, st.SearchStrategy[Any]] = {
        "objectives": st.fixed_dictionaries({}, optional={"rto": DURATIONS, "rpo": DURATIONS}),
        "hosts": host_patterns(),
        "vars": st.dictionaries(NAMES, values(2), max_size=4),
        "secrets": st.lists(st.one_of(NAMES, values(0)), max_size=3),
        "probes": st.dictionaries(
            NAMES,
            st.fixed_dictionaries(
                {},
                optional={
                    "http": st.fixed_dictionaries(
                        {"url": templates()}, optional={"timeout": DURATIONS}
                    ),
                    "every": DURATIONS,
                    "hosts": host_patterns(),
                },
            ),
            max_size=2,
        ),
        "triggers": st.lists(
            st.one_of(
                st.just("step_failed"),
                st.fixed_dictionaries(
                    {"probe": NAMES},
                    optional={
                        "consecutive_failures": st.integers(-1, 5),
                        "window": DURATIONS,
                        "error_rate": st.floats(-1, 2),
                        "latency_p": st.floats(-1, 200),
                        "above": DURATIONS,
                    },
                ),
                values(1),
            ),
            max_size=3,
        ),
        "decision": st.one_of(
            st.just("auto"),
            st.fixed_dictionaries({"manual": st.booleans()}, optional={"timeout": DURATIONS}),
        ),
        "rollback_when": st.sampled_from(["always", "failure", "never"]),
        "forks": st.one_of(st.integers(-1, 50), values(0)),
        "serial": st.one_of(st.integers(-1, 5), st.sampled_from(["30%", "x%", "0%"]), values(1)),
        "max_fail_percentage": st.one_of(st.floats(-10, 200), values(0)),
        "bogus_key": values(1),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), max_size=6, unique=True)):
        book[key] = draw(optional[key])
    for phase in draw(st.lists(st.sampled_from(PHASES), max_size=4, unique=True)):
        book[phase] = draw(st.one_of(st.lists(steps(), max_size=3), values(0), st.just("auto")))
    return book


# Playbooks that pass the schema, so that every lint rule runs on them (the rules run only
# on a playbook that loads): valid building blocks, combined at random.
_VALID_DURATIONS = st.sampled_from(["0s", "50ms", "1s", "2s", "30s", "5m", "2h", 0, 1.5, "{{ d }}"])
_VALID_STEPS: list[dict[str, Any]] = [
    {"shell": "./deploy.sh {{ v }}"},
    {"shell": "./deploy.sh {{ v | quote }}"},
    {"shell": {"cmd": "cat > f <<'EOF'\n{{ v }}\nEOF"}},
    {"command": "{{ v }} --help"},
    {"http": {"url": "http://127.0.0.1:1/{{ v }}", "headers": {"Authorization": "Bearer x"}}},
    {"assert": {"that": "v == '1'"}},
    {"pause": "1s"},
    {"release": {"path": "/srv/app", "version": "{{ v }}"}},
    {"docker.image": {"name": "app:current", "source": "app:{{ v }}"}},
    {"migrate": {"engine": "postgresql", "database": "postgresql://a:pw@db/x", "up": "x"}},
    {"wait_for": {"port": 8080, "timeout": "1s"}},
    {"fault": {"kind": "{{ k }}"}},
    {"fault": {"kind": "custom", "inject": "x", "revert": "true"}},
    {"fault": {"kind": "process.kill", "name": "gw", "restart": ":"}},
    {"fault": {"kind": "service.stop", "name": "gw.service"}},
]
for _kind, _fault in FAULTS.items():
    for _example in _fault.schema.get("examples", [])[:1]:
        if isinstance(_example, dict):
            _VALID_STEPS.append({"fault": {"kind": _kind, **_example}})


@st.composite
def valid_steps(draw: st.DrawFn) -> dict[str, Any]:
    step = dict(draw(st.sampled_from(_VALID_STEPS)))
    if draw(st.booleans()):
        step["hosts"] = draw(st.sampled_from(["gateway", "lab1", "gatway", "all:!all", "{{ h }}"]))
    if draw(st.integers(0, 3)) == 0:
        step["timeout"] = draw(_VALID_DURATIONS.filter(lambda d: d != "{{ d }}"))
    if draw(st.integers(0, 3)) == 0:
        step["register"] = "out"
    return step


@st.composite
def valid_playbooks(draw: st.DrawFn) -> dict[str, Any]:
    book: dict[str, Any] = {"drill": "fuzz", "rollback_type": draw(st.integers(1, 5))}
    book["vars"] = {"v": "1", "d": "1s", "k": "custom", "h": "gateway"}
    book["vars"] |= draw(
        st.dictionaries(
            st.sampled_from(["db_password", "api_token", "aws", "unused", "token_file"]),
            st.sampled_from(["hunter2", "AKIAIOSFODNN7EXAMPLE", "{{ v }}", "/run/x", 12]),
            max_size=2,
        )
    )
    if draw(st.booleans()):
        book["objectives"] = {"rto": draw(_VALID_DURATIONS.filter(lambda d: d != "{{ d }}"))}
    names = draw(st.lists(st.sampled_from(["health", "ledger"]), max_size=2, unique=True))
    book["probes"] = {
        name: {
            "http": {"url": "http://127.0.0.1:1/", "timeout": draw(_VALID_DURATIONS)},
            "every": draw(_VALID_DURATIONS),
            **(
                {"hosts": draw(st.sampled_from(["gateway", "nope"]))} if draw(st.booleans()) else {}
            ),
        }
        for name in names
    }
    book["triggers"] = draw(
        st.lists(
            st.one_of(
                st.just("step_failed"),
                st.builds(
                    lambda p, n: {"probe": p, "consecutive_failures": n},
                    st.sampled_from(["health", "ledger", "gone"]),
                    st.integers(1, 5),
                ),
                st.builds(
                    lambda p, r, w: {"probe": p, "error_rate": r, "window": w},
                    st.sampled_from(["health", "ledger"]),
                    st.sampled_from([0.1, 0.5, 1]),
                    st.sampled_from(["1s", "5s", "50ms"]),
                ),
            ),
            max_size=3,
        )
    )
    if draw(st.booleans()):
        book["decision"] = {"manual": True, "timeout": draw(st.sampled_from(["1s", "15m"]))}
    for phase in draw(st.lists(st.sampled_from(PHASES), max_size=5, unique=True)):
        book[phase] = draw(st.lists(valid_steps(), max_size=3))
    if draw(st.integers(0, 3)) == 0:
        book["rollback"] = "auto"
    return book
