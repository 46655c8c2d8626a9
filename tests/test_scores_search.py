"""Trace search by score: numeric range, categorical or boolean value, and source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, HOUR, get, insert, iso, span, span_id, start_client, trace_id

P = "score-search"
T = [trace_id(i, "score-search") for i in range(4)]
WINDOW = {"start": iso(BASE), "end": iso(BASE + HOUR)}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for c in start_client(tmp_path_factory.mktemp("scores-search")):
        insert(c, [span(P, t, span_id(i), BASE + 60 * (i + 1), name="answer") for i, t in enumerate(T)])
        scores = [
            {"trace_id": T[0], "name": "topic", "string_value": "billing", "data_type": "categorical"},
            {"trace_id": T[1], "name": "topic", "string_value": "refunds", "data_type": "categorical"},
            {"trace_id": T[0], "name": "user_feedback", "value": 0, "data_type": "boolean", "source": "human"},
            {"trace_id": T[2], "name": "user_feedback", "value": 1, "data_type": "boolean", "source": "human"},
            {
                "trace_id": T[1],
                "name": "json_valid",
                "value": 0,
                "data_type": "boolean",
                "source": "evaluator",
                "span_id": span_id(1),
            },
            {"trace_id": T[3], "name": "json_valid", "value": 1, "data_type": "boolean", "source": "sdk"},
            {"trace_id": T[2], "name": "relevance", "value": 0.35, "source": "evaluator"},
            {"trace_id": T[3], "name": "relevance", "value": 0.9, "source": "evaluator"},
        ]
        r = c.post("/api/scores", params={"project": P}, json={"scores": scores})
        assert r.status_code == 200, r.text
        yield c


def found(client: TestClient, **params: Any) -> set[int]:
    body = get(client, "/api/traces", project=P, **{**WINDOW, **params})
    return {T.index(item["trace_id"]) for item in body["items"]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"score_name": "topic", "score_value": "refunds"}, {1}),
        ({"score_name": "user_feedback", "score_value": "false"}, {0}),
        ({"score_name": "user_feedback", "max_score": 0}, {0}),
        ({"score_name": "relevance", "max_score": 0.5}, {2}),
        ({"score_name": "relevance", "min_score": 0.5, "max_score": 1}, {3}),
        ({"score_name": "json_valid", "score_source": "evaluator"}, {1}),
        ({"score_name": "json_valid", "score_source": "evaluator", "score_value": "true"}, set()),
        ({"score_name": "user_feedback", "score_source": "human"}, {0, 2}),
    ],
)
def test_traces_are_found_by_their_scores(client: TestClient, params: dict[str, Any], expected: set[int]) -> None:
    assert found(client, **params) == expected


def test_the_trace_list_shows_the_mean_of_numeric_and_boolean_scores(client: TestClient) -> None:
    body = get(client, "/api/traces", project=P, **WINDOW)
    by_id = {item["trace_id"]: item["scores"] for item in body["items"]}
    assert by_id[T[3]] == {"json_valid": 1.0, "relevance": 0.9}


@pytest.mark.parametrize(
    "params",
    [{"score_value": "refunds"}, {"score_source": "evaluator"}, {"score_name": "x", "score_source": "robot"}],
)
def test_score_filters_without_a_name_or_with_an_unknown_source_are_422(
    client: TestClient, params: dict[str, Any]
) -> None:
    r = client.get("/api/traces", params={"project": P, **WINDOW, **params})
    assert r.status_code == 422, r.text
