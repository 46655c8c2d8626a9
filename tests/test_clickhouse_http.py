"""clickhouse-connect's real HTTP client against tests/clickhouse_http.py (chDB behind ClickHouse HTTP).

These pin down the protocol details spanscope's storage relies on when it talks to a ClickHouse
server: Native inserts with and without compression, JSONEachRow raw inserts deduplicated by
token, server-side query parameters, settings as URL parameters, errors, and durability across
restarts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.compression import get_compressor
from clickhouse_connect.driver.exceptions import DatabaseError
from clickhouse_connect.driver.summary import QuerySummary

from tests.clickhouse_http_fixture import ServerHandle, start_clickhouse_http

UTC = dt.UTC
COLUMNS = ["id", "attrs", "scores", "kind", "ts"]
EPOCH = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerHandle]:
    with start_clickhouse_http(tmp_path_factory.mktemp("clickhouse_http")) as srv:
        yield srv


@pytest.fixture
def client(server: ServerHandle) -> Iterator[Any]:
    c = server.client()
    yield c
    c.close()


def create_table(client: Any, database: str = "spanscope") -> str:
    """A fresh MergeTree table with the column types spanscope uses; dedup window enabled."""
    name = f"{database}.t_{uuid.uuid4().hex[:12]}"
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE {name} (id UInt32, attrs Map(String, String), scores Array(Float64), "
        "kind LowCardinality(String), ts DateTime64(6, 'UTC')) "
        "ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100"
    )
    return name


def make_rows(start: int, count: int) -> list[list[Any]]:
    return [
        [
            i,
            {"model": f"m{i % 7}", "i": str(i)},
            [i / 4, -float(i)],
            f"kind{i % 3}",
            EPOCH + dt.timedelta(seconds=i, microseconds=i % 1_000_000),
        ]
        for i in range(start, start + count)
    ]


def as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fetch_all(client: Any, table: str) -> list[list[Any]]:
    rows = client.query(f"SELECT {', '.join(COLUMNS)} FROM {table} ORDER BY id").result_rows
    return [[r[0], dict(r[1]), list(r[2]), r[3], as_utc(r[4])] for r in rows]


def count(client: Any, table: str) -> int:
    return int(client.command(f"SELECT count() FROM {table}"))


def http(
    server: ServerHandle,
    query: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, dict[str, str], bytes]:
    """A bare HTTP request, to check protocol details the client hides."""
    url = f"http://127.0.0.1:{server.port}/?" + urllib.parse.urlencode({"query": query})
    req = urllib.request.Request(
        url, data=body if method == "POST" else None, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def test_ping_and_handshake(server: ServerHandle, client: Any) -> None:
    for path in ("/ping", "/"):
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as resp:
            assert resp.read() == b"Ok.\n"
    assert client.server_version.split(".")[0].isdigit()
    assert str(client.server_tz) == "UTC"
    assert client.command("SELECT 1") == 1
    assert client.command("SELECT 'a', 2") == ["a", "2"]
    status, headers, body = http(server, "SELECT number FROM system.numbers LIMIT 3")
    assert (status, body) == (200, b"0\n1\n2\n")
    assert headers["X-ClickHouse-Format"] == "TabSeparated"
    assert headers["X-ClickHouse-Timezone"] == "UTC"
    assert json.loads(headers["X-ClickHouse-Summary"])["read_rows"] == "3"
    assert "Content-Encoding" not in headers


@pytest.mark.parametrize(
    ("compress", "encoding"), [(True, "lz4"), (False, None), ("zstd", "zstd"), ("gzip", "gzip")]
)
def test_native_insert_round_trip(server: ServerHandle, compress: bool | str, encoding: str | None) -> None:
    client = server.client(compress=compress)
    try:
        assert getattr(client, "write_compression", None) == encoding
        table = create_table(client)
        rows = make_rows(0, 3000)
        summary = client.insert(table, rows, column_names=COLUMNS)
        assert summary.written_rows == 3000
        columns = [list(col) for col in zip(*make_rows(3000, 2000), strict=True)]
        client.insert(table, columns, column_names=COLUMNS, column_oriented=True)
        assert fetch_all(client, table) == [
            [r[0], r[1], r[2], r[3], r[4]] for r in rows + make_rows(3000, 2000)
        ]
        types = client.query(f"SELECT {', '.join(COLUMNS)} FROM {table} LIMIT 1").column_types
        assert [t.name for t in types] == [
            "UInt32",
            "Map(String, String)",
            "Array(Float64)",
            "LowCardinality(String)",
            "DateTime64(6, 'UTC')",
        ]
    finally:
        client.close()


def test_request_body_content_encodings(server: ServerHandle, client: Any) -> None:
    table = create_table(client)
    lz4 = get_compressor("lz4")
    zstd = get_compressor("zstd")
    encoders = {
        # one lz4 frame per block, as clickhouse-connect sends them
        "lz4": lambda b: bytes(lz4.compress_block(b[:20])) + bytes(lz4.compress_block(b[20:])),
        "zstd": lambda b: bytes(zstd.compress_block(b)),
        "gzip": gzip.compress,
        "deflate": zlib.compress,
    }
    for n, (name, encode) in enumerate(encoders.items()):
        payload = f'{{"id": {n}, "kind": "{name}", "attrs": {{"k": "v"}}, "scores": [1.5]}}\n'.encode()
        status, headers, body = http(
            server, f"INSERT INTO {table} FORMAT JSONEachRow", encode(payload), {"Content-Encoding": name}
        )
        assert status == 200, body
        assert json.loads(headers["X-ClickHouse-Summary"])["written_rows"] == "1"
    assert client.query(f"SELECT id, kind FROM {table} ORDER BY id").result_rows == [
        (0, "lz4"),
        (1, "zstd"),
        (2, "gzip"),
        (3, "deflate"),
    ]
    status, headers, body = http(
        server, f"INSERT INTO {table} FORMAT JSONEachRow", b"not lz4", {"Content-Encoding": "lz4"}
    )
    assert status == 500
    assert headers["X-ClickHouse-Exception-Code"] == "271"
    assert body.startswith(b"Code: 271. DB::Exception:")


def test_raw_insert_json_each_row_deduplicates_by_token(client: Any) -> None:
    table = create_table(client)
    # "extra" is not a column: accepted or refused per input_format_skip_unknown_fields
    payload = b"".join(
        json.dumps({"id": i, "kind": "k", "ts": "2024-05-01 12:00:00.000001", "extra": 1}).encode() + b"\n"
        for i in range(2)
    )
    settings = {"async_insert": 0, "input_format_skip_unknown_fields": 1}

    def insert(token: str, compression: str | None = None) -> QuerySummary:
        block = gzip.compress(payload) if compression == "gzip" else payload
        return client.raw_insert(
            table,
            None,
            block,
            fmt="JSONEachRow",
            compression=compression,
            settings={**settings, "insert_deduplication_token": token},
        )

    assert insert("batch-1").written_rows == 2
    insert("batch-1")
    assert count(client, table) == 2
    insert("batch-2")
    assert count(client, table) == 4
    insert("batch-3", compression="gzip")
    insert("batch-3", compression="gzip")
    assert count(client, table) == 6
    (stamps,) = client.query(f"SELECT groupUniqArray(ts) FROM {table}").result_rows[0]
    assert [as_utc(s) for s in stamps] == [dt.datetime(2024, 5, 1, 12, 0, 0, 1, tzinfo=UTC)]
    with pytest.raises(DatabaseError, match="extra"):  # URL settings reach the insert
        client.raw_insert(
            table,
            None,
            payload,
            fmt="JSONEachRow",
            settings={"input_format_skip_unknown_fields": 0, "insert_deduplication_token": "batch-4"},
        )


def test_server_side_query_parameters(client: Any) -> None:
    table = create_table(client)
    tricky = 'a\tb\'c\\d\n"e" {x:String}'
    client.insert(
        table, [[i, {}, [], tricky if i % 2 else "plain", EPOCH] for i in range(6)], column_names=COLUMNS
    )
    result = client.query(
        f"SELECT id FROM {table} WHERE kind = {{x:String}} AND id >= {{n:UInt32}} ORDER BY id",
        parameters={"x": tricky, "n": 2},
    )
    assert result.result_rows == [(3,), (5,)]
    assert client.command("SELECT {a:Array(String)}", parameters={"a": ["x", "y'z"]}) == "['x','y\\'z']"
    big = "é" * 5000  # over the URL limit: the client switches to a multipart form body
    assert client.query(
        "SELECT length({p:String}), {p:String} = {q:String}", parameters={"p": big, "q": big}
    ).result_rows == [(10000, 1)]


def test_settings_and_database_are_per_request(server: ServerHandle, client: Any) -> None:
    assert client.command("SELECT getSetting('max_result_rows')", settings={"max_result_rows": 7}) == 7
    assert client.command("SELECT getSetting('max_result_rows')") == 0
    table = create_table(client, database="other_db")
    client.insert(table, make_rows(0, 3), column_names=COLUMNS)
    scoped = server.client(database="other_db")
    try:
        assert scoped.command(f"SELECT count() FROM {table.split('.')[1]}") == 3
        assert client.command("SELECT currentDatabase()") == "default"
    finally:
        scoped.close()


def test_command_result_shapes(client: Any) -> None:
    table = create_table(client)
    assert isinstance(
        client.command(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS note String"), QuerySummary
    )
    assert client.command(f"SELECT id FROM {table}") == ""  # empty result set, not a summary
    assert client.command(f"EXISTS TABLE {table}") == 1
    assert client.command("SELECT 1 FORMAT JSONEachRow") == '{"1":1}'


def test_errors_surface_as_database_error(server: ServerHandle, client: Any) -> None:
    with pytest.raises(DatabaseError, match="UNKNOWN_TABLE") as info:
        client.query("SELECT * FROM spanscope.no_such_table")
    assert info.value.code == 60
    with pytest.raises(DatabaseError, match="SYNTAX_ERROR") as info:
        client.command("SELEC 1")
    assert info.value.code == 62
    with pytest.raises(DatabaseError, match="UNKNOWN_SETTING"):
        client.command("SELECT 1", settings={"no_such_setting_xyz": 1})
    table = create_table(client)
    with pytest.raises(DatabaseError, match=r"CANNOT_PARSE|INCORRECT_DATA"):
        client.raw_insert(table, None, b'{"id": "not a number"}\n', fmt="JSONEachRow")
    status, headers, body = http(server, f"DROP TABLE {table}", method="GET")
    assert (status, headers["X-ClickHouse-Exception-Code"]) == (500, "164"), body  # GET is readonly
    assert count(client, table) == 0


def test_password_is_enforced(tmp_path: Path) -> None:
    with start_clickhouse_http(tmp_path, password="s3cret") as srv:
        good = srv.client()
        assert good.command("SELECT 1") == 1
        good.close()
        assert srv.url == f"http://default:s3cret@127.0.0.1:{srv.port}/spanscope"
        with pytest.raises(DatabaseError, match="AUTHENTICATION_FAILED") as info:
            srv.client(password="wrong")
        assert info.value.code == 516


def test_restart_keeps_data(tmp_path: Path) -> None:
    with start_clickhouse_http(tmp_path) as srv:
        port = srv.port
        assert srv.url == f"http://default:@127.0.0.1:{port}/spanscope"
        c = srv.client()
        table = create_table(c)
        c.insert(table, make_rows(0, 1500), column_names=COLUMNS)
        c.close()
        assert srv.stop() == 0, srv.log_tail()  # SIGTERM: drained and exited cleanly
        assert not srv.running
        srv.start()
        assert srv.port == port
        c = srv.client()
        assert fetch_all(c, table) == make_rows(0, 1500)
        c.insert(table, make_rows(1500, 500), column_names=COLUMNS)
        c.close()
        srv.kill()
        srv.start()
        c = srv.client()
        assert count(c, table) == 2000
        c.close()


def test_concurrent_clients(server: ServerHandle, client: Any) -> None:
    table = create_table(client)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        c = server.client()
        try:
            for batch in range(5):
                c.insert(table, make_rows(worker * 10_000 + batch * 100, 100), column_names=COLUMNS)
                assert count(c, table) >= (batch + 1) * 100
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert count(client, table) == 8 * 5 * 100
