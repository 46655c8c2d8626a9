"""Scores API: the SDK's payload is stored and read back; malformed scores are refused whole."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api_support import BASE, get, iso, start_client, trace_id

TID = trace_id(1, "scores")
# Recent (scores expire retention_days after their timestamp), with microseconds.
STAMP = iso(BASE + 0.123456)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    yield from start_client(tmp_path_factory.mktemp("api-scores"))


def post(client: TestClient, project: str, scores: list[dict[str, Any]]) -> Any:
    return client.post("/api/scores", params={"project": project}, json={"scores": scores})


def sdk_score(**overrides: Any) -> dict[str, Any]:
    """Exactly what `spanscope.score()` sends."""
    score = {
        "trace_id": TID,
        "span_id": "00f067aa0ba902b7",
        "name": "helpfulness",
        "value": 0.8,
        "string_value": None,
        "data_type": "numeric",
        "source": "sdk",
        "comment": "looks right",
        "timestamp": STAMP,
    }
    score.update(overrides)
    return score


def test_the_sdk_payload_is_stored_and_read_back(client: TestClient) -> None:
    r = post(client, "sdk", [sdk_score()])
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 1
    (score,) = get(client, f"/api/traces/{TID}/scores", project="sdk")["scores"]
    assert score["score_id"] == r.json()["score_ids"][0]
    assert (score["name"], score["value"], score["span_id"], score["source"]) == (
        "helpfulness",
        0.8,
        "00f067aa0ba902b7",
        "sdk",
    )
    assert score["comment"] == "looks right"
    assert score["timestamp"] == STAMP


def test_boolean_and_categorical_scores_keep_their_type(client: TestClient) -> None:
    scores = [
        sdk_score(name="thumbs_up", value=1.0, string_value="true", data_type="boolean", span_id=None),
        sdk_score(name="label", value=None, string_value="off-topic", data_type="categorical"),
    ]
    assert post(client, "typed", scores).status_code == 200
    got = {s["name"]: s for s in get(client, f"/api/traces/{TID}/scores", project="typed")["scores"]}
    assert (got["thumbs_up"]["value"], got["thumbs_up"]["string_value"], got["thumbs_up"]["span_id"]) == (
        1.0,
        "true",
        None,
    )
    assert (got["label"]["value"], got["label"]["string_value"]) == (None, "off-topic")


def test_a_retried_batch_is_stored_once(client: TestClient) -> None:
    batch = [sdk_score(name="retry"), sdk_score(name="retry2")]
    assert post(client, "retry", batch).status_code == 200
    assert post(client, "retry", batch).status_code == 200
    assert len(get(client, f"/api/traces/{TID}/scores", project="retry")["scores"]) == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"trace_id": "xyz"}, "trace_id"),
        ({"trace_id": "0" * 32}, "trace_id"),
        ({"span_id": "123"}, "span_id"),
        ({"name": "  "}, "name"),
        ({"value": None}, "numeric score needs a value"),
        ({"data_type": "boolean", "value": 0.5}, "0 or 1"),
        ({"data_type": "categorical", "value": None, "string_value": None}, "string_value"),
        ({"data_type": "stars"}, "data_type"),
        ({"source": "robot"}, "source"),
        ({"timestamp": "last tuesday"}, "timestamp"),
    ],
)
def test_a_malformed_score_is_422_naming_the_problem_and_nothing_is_stored(
    client: TestClient, bad: dict[str, Any], field: str
) -> None:
    r = post(client, "bad", [sdk_score(name="good"), sdk_score(**bad)])
    assert r.status_code == 422
    assert field in r.text
    assert get(client, f"/api/traces/{TID}/scores", project="bad")["scores"] == []


def test_an_empty_batch_is_422(client: TestClient) -> None:
    assert post(client, "bad", []).status_code == 422


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    r = client.post("/api/scores", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422


def test_scores_are_confined_to_their_project(client: TestClient) -> None:
    assert post(client, "mine", [sdk_score()]).status_code == 200
    assert get(client, f"/api/traces/{TID}/scores", project="theirs")["scores"] == []


def test_reading_scores_of_a_malformed_trace_id_is_400(client: TestClient) -> None:
    get(client, "/api/traces/nope/scores", expect=400)
