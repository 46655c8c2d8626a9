"""Sessions and filter options on real embedded storage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, HOUR, get, insert, iso, span, span_id, start_client, trace_id

P = "sessions"
WINDOW = {"start": iso(BASE), "end": iso(BASE + 3 * HOUR)}


def conversation(session: str, user: str, turns: int, start: float, cost: float) -> list[dict[str, Any]]:
    rows = []
    for turn in range(turns):
        tid = trace_id(turn, session)
        t = start + 60 * turn
        rows.append(
            span(
                P,
                tid,
                span_id(0),
                t,
                500.0,
                name="chat",
                session_id=session,
                user_id=user,
                input=f"question {turn}",
                output=f"answer {turn}",
                tags=[f"tier:{user}"],
            )
        )
        rows.append(
            span(
                P,
                tid,
                span_id(1),
                t + 0.1,
                300.0,
                parent=span_id(0),
                kind="generation",
                model="m1",
                cost_usd=cost,
                total_tokens=10,
                session_id=session,
                user_id=user,
                prompt_name="answer",
                prompt_version="3",
                release="v9",
            )
        )
    return rows


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for c in start_client(tmp_path_factory.mktemp("api-sessions")):
        insert(c, conversation("s-old", "ann", 2, BASE + 600, 0.01))
        insert(c, conversation("s-mid", "ben", 3, BASE + 1800, 0.02))
        insert(c, conversation("s-new", "ann", 1, BASE + 3600, 0.03))
        r = c.post(
            "/api/scores",
            params={"project": P},
            json={"scores": [{"trace_id": trace_id(0, "s-old"), "name": "csat", "value": 4}]},
        )
        assert r.status_code == 200
        yield c


def test_sessions_are_listed_most_recent_first_with_their_totals(client: TestClient) -> None:
    items = get(client, "/api/sessions", project=P, **WINDOW)["items"]
    assert [s["session_id"] for s in items] == ["s-new", "s-mid", "s-old"]
    mid = items[1]
    assert (mid["trace_count"], mid["span_count"], mid["users"], mid["total_tokens"]) == (3, 6, ["ben"], 30)
    assert mid["cost_usd"] == pytest.approx(0.06)
    assert mid["first_seen"] == iso(BASE + 1800)


def test_sessions_page_with_a_cursor(client: TestClient) -> None:
    first = get(client, "/api/sessions", project=P, limit=2, **WINDOW)
    second = get(client, "/api/sessions", project=P, limit=2, cursor=first["next_cursor"], **WINDOW)
    assert [s["session_id"] for s in first["items"] + second["items"]] == ["s-new", "s-mid", "s-old"]
    assert second["next_cursor"] is None


def test_sessions_filter_by_user(client: TestClient) -> None:
    items = get(client, "/api/sessions", project=P, user_id="ann", **WINDOW)["items"]
    assert [s["session_id"] for s in items] == ["s-new", "s-old"]


def test_a_session_lists_its_traces_oldest_first_with_full_messages(client: TestClient) -> None:
    body = get(client, "/api/sessions/s-mid", project=P)
    assert body["session"]["trace_count"] == 3
    assert [t["input"] for t in body["traces"]] == ["question 0", "question 1", "question 2"]
    assert [t["output"] for t in body["traces"]] == ["answer 0", "answer 1", "answer 2"]
    assert all(t["session_id"] == "s-mid" and t["span_count"] == 2 for t in body["traces"])


def test_an_unknown_session_is_404(client: TestClient) -> None:
    get(client, "/api/sessions/nope", expect=404, project=P)


def test_filter_options_list_the_values_seen_in_the_range(client: TestClient) -> None:
    body = get(client, "/api/filters", project=P, **WINDOW)
    assert body["services"] == ["svc"]
    assert body["kinds"] == ["generation", "span"]
    assert body["names"] == ["chat", "step"]
    assert body["models"] == ["m1"]
    assert body["prompt_versions"] == [{"prompt_name": "answer", "prompt_version": "3"}]
    assert body["score_names"] == ["csat"]
    assert body["tags"] == ["tier:ann", "tier:ben"]
    assert body["releases"] == ["v9"]


def test_filter_options_of_an_empty_range_are_empty(client: TestClient) -> None:
    body = get(client, "/api/filters", project=P, start=iso(BASE - 10 * HOUR), end=iso(BASE - 9 * HOUR))
    assert body["services"] == [] and body["tags"] == [] and body["models"] == []
