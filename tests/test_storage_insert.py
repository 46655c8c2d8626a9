"""JSON rows into embedded storage: LowCardinality columns read as plain strings, table DEFAULTs kept."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from spanscope.collector.storage import JsonSource, Storage


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    s = Storage(None, tmp_path_factory.mktemp("insert"))
    s.migrate()
    try:
        yield s
    finally:
        s.close()


def _span(span_id: str, **extra: object) -> bytes:
    row = {
        "project_id": "p1",
        "trace_id": "ab" * 16,
        "span_id": span_id,
        "name": "chat",
        "kind": "generation",
        "start_time": "1795251433.091871",
        "end_time": "1795251434.000000",
        "finish_reasons": ["stop"],
        "attributes": {"k": "v"},
        **extra,
    }
    return orjson.dumps(row)


def test_a_key_a_row_omits_takes_the_table_default(storage: Storage) -> None:
    storage.insert_json_rows("spans", b"\n".join([_span("01" * 8), _span("02" * 8, retention_days=7)]), "t-default")
    got = storage.query(
        "SELECT span_id, retention_days, kind, finish_reasons, attributes, ingested_at > now() - 600 "
        "FROM spanscope.spans WHERE trace_id = {t:String} ORDER BY span_id",
        {"t": "ab" * 16},
    )
    assert got == [
        ("01" * 8, 30, "generation", ["stop"], {"k": "v"}, True),
        ("02" * 8, 7, "generation", ["stop"], {"k": "v"}, True),
    ]


def test_a_replayed_insert_with_the_same_token_is_stored_once(storage: Storage) -> None:
    payload = b"\n".join(_span(f"{i:016x}", trace_id="cd" * 16) for i in range(1, 4))
    storage.insert_json_rows("spans", payload, "t-replay")
    storage.insert_json_rows("spans", payload, "t-replay")
    assert storage.query("SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}", {"t": "cd" * 16}) == [(3,)]


def test_a_default_column_that_cannot_be_nullable_keeps_the_plain_insert(storage: Storage) -> None:
    storage.command(
        "CREATE TABLE spanscope.tags_default (id String, tags Array(String) DEFAULT ['none']) "
        "ENGINE = MergeTree ORDER BY id"
    )
    assert storage._json_source("tags_default") is None
    storage.insert_json_rows("tags_default", b'{"id": "a"}\n{"id": "b", "tags": ["x"]}')
    assert storage.query("SELECT id, tags FROM spanscope.tags_default ORDER BY id") == [("a", ["none"]), ("b", ["x"])]


def test_low_cardinality_columns_are_read_as_plain_strings() -> None:
    source = JsonSource.of(
        [
            ("kind", "LowCardinality(String)", "", ""),
            ("reasons", "Array(LowCardinality(String))", "", ""),
            ("attributes", "Map(LowCardinality(String), String)", "", ""),
            ("retention_days", "UInt16", "DEFAULT", "30"),
            ("day", "Date", "MATERIALIZED", "toDate(now())"),
        ]
    )
    assert source is not None
    assert source.structure == (
        "`kind` String, `reasons` Array(String), `attributes` Map(String, String), `retention_days` Nullable(UInt16)"
    )
    assert source.select == "`kind`, `reasons`, `attributes`, ifNull(`retention_days`, 30)"
    assert source.columns == "`kind`, `reasons`, `attributes`, `retention_days`"
