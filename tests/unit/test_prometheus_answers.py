"""How a Prometheus answer is judged: comparators on every series or any, no data, NaN; and
every answer that is not a usable one (refused, slow, an error status, error JSON, a range
vector) is unknown, never healthy. Served by a local HTTP server speaking Prometheus' and
Alertmanager's JSON, so each shape is tested on its own (the real servers are in
tests/integration/monitoring)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import runner.measure.prometheus
from runner.measure.probes import prometheus_check
from runner.measure.prometheus import AlertState, Unanswered, alert_state, instant_query, judge
from runner.measure.specs import PromExpect
from tests.conftest import free_port


def vector(*values: str) -> list[dict[str, Any]]:
    return [
        {"metric": {"__name__": "lab_up", "instance": f"i{n}"}, "value": [1.0, v]}
        for n, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    ("op", "value", "seen", "ok"),
    [
        ("==", 1, "1", True),
        ("==", 1, "0", False),
        ("!=", 0, "1", True),
        ("!=", 0, "0", False),
        (">", 0.5, "0.6", True),
        (">", 0.5, "0.5", False),
        (">=", 0.5, "0.5", True),
        (">=", 0.5, "0.4", False),
        ("<", 2, "1.9", True),
        ("<", 2, "2", False),
        ("<=", 2, "2", True),
        ("<=", 2, "2.1", False),
        (">=", 0, "NaN", False),  # NaN satisfies no comparator
        ("!=", 0, "NaN", False),
        ("<", 1e9, "+Inf", False),
        (">", 1e9, "+Inf", True),
    ],
)
def test_each_comparator_judges_both_sides_of_its_threshold(
    op: str, value: float, seen: str, ok: bool
) -> None:
    assert judge("vector", vector(seen), PromExpect(op, float(value))).ok is ok


def test_every_series_must_satisfy_it_unless_any_one_may() -> None:
    mixed = vector("1", "0", "1")
    every = judge("vector", mixed, PromExpect(">=", 1.0))
    assert every.ok is False and 'instance="i1"} 0' in every.detail
    assert judge("vector", mixed, PromExpect(">=", 1.0, "any")).ok is True
    assert judge("vector", vector("0", "0"), PromExpect(">=", 1.0, "any")).ok is False
    assert judge("vector", vector("1", "1"), PromExpect(">=", 1.0)).ok is True


def test_no_series_is_unhealthy_or_unknown_as_the_probe_says() -> None:
    assert judge("vector", [], PromExpect(">=", 1.0)).ok is False
    assert judge("vector", [], PromExpect(">=", 1.0, no_data="unknown")).ok is None


def test_a_scalar_is_one_series_and_a_range_vector_cannot_be_judged() -> None:
    assert judge("scalar", [1.0, "3"], PromExpect("==", 3.0)).ok is True
    assert judge("scalar", [1.0, "2"], PromExpect("==", 3.0)).ok is False
    with pytest.raises(Unanswered, match="returned a matrix"):
        judge("matrix", [{"metric": {}, "values": [[1.0, "1"]]}], PromExpect("==", 1.0))
    with pytest.raises(Unanswered, match="not a number"):
        judge("vector", vector("one"), PromExpect("==", 1.0))


class Fake:
    """What the local server answers: (status, body, delay) per path."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, str, float]] = {}
        self.queries: list[str] = []


@pytest.fixture
def fake() -> Iterator[tuple[Fake, str]]:
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            state.queries.append(query)
            status, body, delay = state.answers.get(path, (404, "{}", 0.0))
            time.sleep(delay)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def ok_body(data: Any) -> str:
    return json.dumps({"status": "success", "data": data})


def test_a_query_is_sent_with_prometheus_own_timeout_and_judged(fake: tuple[Fake, str]) -> None:
    state, url = fake
    body = ok_body({"resultType": "vector", "result": vector("1")})
    state.answers["/api/v1/query"] = (200, body, 0.0)
    assert instant_query(url, 'lab_up{job="lab"}', 2.0) == ("vector", vector("1"))
    assert "timeout=2000ms" in state.queries[-1] and "lab_up%7Bjob" in state.queries[-1]
    ok, error, latency = prometheus_check({"url": url, "query": "up"}, PromExpect("==", 1.0), 2.0)
    assert (ok, error) == (True, "") and latency is not None


@pytest.mark.parametrize(
    ("status", "body", "delay", "why"),
    [
        (400, '{"status":"error","errorType":"bad_data","error":"parse error"}', 0, "parse error"),
        (503, "Service Unavailable", 0, "status 503, not JSON"),
        (200, '{"status":"error","error":"query timed out"}', 0, "query timed out"),
        (200, ok_body({"resultType": "vector", "result": vector("1")}), 1.5, "timed out"),
        (200, ok_body({"resultType": "string", "result": [1, "x"]}), 0, "returned a string"),
        # An error status is no answer even when a `data` field comes with it, ...
        (
            200,
            json.dumps(
                {
                    "status": "error",
                    "error": "partial",
                    "data": {"resultType": "vector", "result": vector("1")},
                }
            ),
            0,
            "no success in the answer: partial",
        ),
        # ... nor is a success without its data, nor JSON that is not Prometheus' envelope.
        (200, '{"status": "success"}', 0, "no success in the answer"),
        (200, "[1, 2]", 0, "no success in the answer"),
    ],
)
def test_an_answer_that_cannot_be_judged_is_unknown_never_healthy(
    fake: tuple[Fake, str], status: int, body: str, delay: float, why: str
) -> None:
    state, url = fake
    state.answers["/api/v1/query"] = (status, body, delay)
    ok, error, latency = prometheus_check({"url": url, "query": "up"}, PromExpect("==", 1.0), 0.5)
    assert ok is None and latency is None
    assert error.startswith("unknown: ") and why in error, error


def test_a_refused_connection_is_unknown_within_the_timeout() -> None:
    started = time.monotonic()
    url = f"http://127.0.0.1:{free_port()}"
    ok, error, _ = prometheus_check({"url": url, "query": "up"}, PromExpect("==", 1.0), 1.0)
    assert ok is None and "refused" in error.lower()
    assert time.monotonic() - started < 1.5


def test_an_alert_fires_only_in_state_firing_in_prometheus(fake: tuple[Fake, str]) -> None:
    state, url = fake

    def alerts(*pairs: tuple[str, str]) -> str:
        return ok_body({"alerts": [{"labels": {"alertname": n}, "state": s} for n, s in pairs]})

    state.answers["/api/v1/alerts"] = (200, alerts(("LabDown", "pending"), ("Other", "firing")), 0)
    assert alert_state("prometheus", url, "LabDown", 1.0).firing is False
    state.answers["/api/v1/alerts"] = (200, alerts(("LabDown", "firing")), 0)
    firing = alert_state("prometheus", url, "LabDown", 1.0)
    assert firing.firing is True and 'alertname="LabDown"' in firing.detail
    state.answers["/api/v1/alerts"] = (500, '{"status":"error","error":"boom"}', 0)
    with pytest.raises(Unanswered, match="boom"):
        alert_state("prometheus", url, "LabDown", 1.0)


def test_an_alert_fires_only_while_active_in_alertmanager(fake: tuple[Fake, str]) -> None:
    state, url = fake

    def alerts(*pairs: tuple[str, str]) -> str:
        return json.dumps([{"labels": {"alertname": n}, "status": {"state": s}} for n, s in pairs])

    state.answers["/api/v2/alerts"] = (200, alerts(("LabDown", "suppressed")), 0)
    assert alert_state("alertmanager", url, "LabDown", 1.0).firing is False
    state.answers["/api/v2/alerts"] = (200, alerts(("LabDown", "active")), 0)
    assert alert_state("alertmanager", url, "LabDown", 1.0).firing is True
    assert "active=true" in state.queries[-1] and "silenced=false" in state.queries[-1]
    state.answers["/api/v2/alerts"] = (200, '{"not": "a list"}', 0)
    with pytest.raises(Unanswered, match="not a list"):
        alert_state("alertmanager", url, "LabDown", 1.0)


def test_the_detail_names_three_series_and_counts_the_rest() -> None:
    def detail(n: int) -> str:
        return judge("vector", vector(*["0"] * n), PromExpect(">=", 1.0)).detail

    assert detail(3) == (
        'expected all series >= 1: {__name__="lab_up",instance="i0"} 0, '
        '{__name__="lab_up",instance="i1"} 0, {__name__="lab_up",instance="i2"} 0'
    )
    assert detail(4).endswith('instance="i2"} 0 (+1 more)')
    assert detail(5).endswith(" (+2 more)")
    assert judge("scalar", [1.0, "0"], PromExpect(">=", 1.0)).detail.endswith(">= 1: scalar 0")


def test_a_sample_value_must_be_a_time_and_value_pair() -> None:
    for value in ("12", [1.0], [1.0, "1", "2"]):
        with pytest.raises(Unanswered, match=r"a sample value is not \[time, value\]"):
            judge("scalar", value, PromExpect("==", 1.0))


def test_a_series_without_labels_is_shown_as_braces() -> None:
    result = [{"metric": {}, "value": [1.0, "0"]}]
    assert judge("vector", result, PromExpect("==", 1.0)).detail.endswith("== 1: {} 0")


def test_the_query_goes_as_query_with_a_timeout_of_at_least_1ms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, dict[str, str], float]] = []

    def api_get(url: str, path: str, params: dict[str, str], timeout: float) -> Any:
        asked.append((path, params, timeout))
        return {"status": "success", "data": {"resultType": "vector", "result": []}}

    monkeypatch.setattr(runner.measure.prometheus, "_api_get", api_get)
    assert instant_query("http://prom", "up", 0.0001) == ("vector", [])
    assert instant_query("http://prom", "up", 2.5) == ("vector", [])
    assert asked == [
        ("/api/v1/query", {"query": "up", "timeout": "1ms"}, 0.0001),
        ("/api/v1/query", {"query": "up", "timeout": "2500ms"}, 2.5),
    ]


def test_an_answer_without_a_result_type_is_no_answer(fake: tuple[Fake, str]) -> None:
    state, url = fake
    state.answers["/api/v1/query"] = (200, ok_body({"result": vector("1")}), 0.0)
    with pytest.raises(Unanswered, match=r"^the query answer has no resultType$"):
        instant_query(url, "up", 1.0)


def test_alertmanager_is_asked_for_alerts_neither_silenced_nor_inhibited(
    fake: tuple[Fake, str],
) -> None:
    state, url = fake
    state.answers["/api/v2/alerts"] = (200, "[]", 0)
    assert alert_state("alertmanager", url, "LabDown", 1.0) == AlertState(False, "")
    assert sorted(state.queries[-1].split("&")) == [
        "active=true",
        "inhibited=false",
        "silenced=false",
    ]


# Each message below is what a probe sample's error, or an alert poll's, says: the evidence
# of why a sample was unknown. They are checked word for word.


def test_an_error_status_names_the_endpoint_and_prometheus_reason(fake: tuple[Fake, str]) -> None:
    state, url = fake
    # A base URL with a path prefix ending in X and a trailing slash: both kept as written.
    base = url + "/X/"
    query = "/X/api/v1/query"
    state.answers[query] = (400, '{"status":"error","error":"parse error"}', 0.0)
    with pytest.raises(Unanswered, match=rf"^{url}{query}: status 400: parse error$"):
        instant_query(base, "up", 1.0)
    # Without an `error` field, or with a body that is not an object: the status alone.
    for body in ('{"status":"error"}', "[1]"):
        state.answers[query] = (400, body, 0.0)
        with pytest.raises(Unanswered, match=rf"^{url}{query}: status 400$"):
            instant_query(base, "up", 1.0)


@pytest.mark.parametrize("status", [299, 300])
def test_only_a_2xx_status_is_an_answer(fake: tuple[Fake, str], status: int) -> None:
    state, url = fake
    state.answers["/api/v1/query"] = (status, ok_body({"resultType": "vector", "result": []}), 0)
    if status < 300:
        assert instant_query(url, "up", 1.0) == ("vector", [])
    else:
        with pytest.raises(Unanswered, match=rf"^{url}/api/v1/query: status 300$"):
            instant_query(url, "up", 1.0)


@pytest.mark.parametrize("body", ['{"status": "success"}', "[1, 2]"])
def test_an_answer_without_success_says_so_and_nothing_else(
    fake: tuple[Fake, str], body: str
) -> None:
    state, url = fake
    state.answers["/api/v1/query"] = (200, body, 0.0)
    with pytest.raises(Unanswered, match=rf"^{url}: no success in the answer$"):
        instant_query(url, "up", 1.0)


def test_a_prometheus_alerts_answer_that_is_not_usable_names_the_server(
    fake: tuple[Fake, str],
) -> None:
    state, url = fake
    state.answers["/api/v1/alerts"] = (200, '{"status":"error","error":"boom"}', 0.0)
    with pytest.raises(Unanswered, match=rf"^{url}: no success in the answer: boom$"):
        alert_state("prometheus", url, "LabDown", 1.0)
    state.answers["/api/v1/alerts"] = (200, ok_body([]), 0.0)
    with pytest.raises(Unanswered, match=rf"^{url}: the alerts answer is not a list of alerts$"):
        alert_state("prometheus", url, "LabDown", 1.0)


@pytest.mark.parametrize(("source", "path"), [("prometheus", "/v1/"), ("alertmanager", "/v2/")])
def test_an_alert_poll_ends_at_its_timeout(fake: tuple[Fake, str], source: str, path: str) -> None:
    state, url = fake
    body = ok_body({"alerts": []}) if source == "prometheus" else "[]"
    state.answers[f"/api{path}alerts"] = (200, body, 1.5)
    started = time.monotonic()
    with pytest.raises(Unanswered, match="timed out"):
        alert_state(source, url, "LabDown", 0.3)
    assert time.monotonic() - started < 1.4


def test_every_firing_alert_is_named_in_the_detail(fake: tuple[Fake, str]) -> None:
    state, url = fake
    alerts = [{"labels": {"alertname": "LabDown", "i": n}, "state": "firing"} for n in "ab"]
    state.answers["/api/v1/alerts"] = (200, ok_body({"alerts": alerts}), 0.0)
    assert alert_state("prometheus", url, "LabDown", 1.0).detail == (
        'alert LabDown firing in prometheus: {alertname="LabDown",i="a"}, '
        '{alertname="LabDown",i="b"}'
    )


def test_the_messages_of_a_result_that_cannot_be_judged_quote_it() -> None:
    with pytest.raises(Unanswered, match=r"^a series is not an object: 7$"):
        judge("vector", [7], PromExpect("==", 1.0))
    with pytest.raises(Unanswered, match=r"^a sample value is not \[time, value\]: 12$"):
        judge("scalar", "12", PromExpect("==", 1.0))
    with pytest.raises(Unanswered, match=r"^a sample value is not a number: one$"):
        judge("scalar", [1.0, "one"], PromExpect("==", 1.0))


def test_no_series_says_so_whether_unhealthy_or_unknown() -> None:
    for no_data in ("unhealthy", "unknown"):
        expect = PromExpect(">=", 1.0, no_data=no_data)
        assert judge("vector", [], expect).detail == "no data: the query returned no series"


def test_labels_that_are_not_an_object_are_shown_as_braces() -> None:
    result = [{"metric": "lab_up", "value": [1.0, "0"]}]
    assert judge("vector", result, PromExpect("==", 1.0)).detail.endswith("== 1: {} 0")
