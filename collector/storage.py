"""ClickHouse access through clickhouse-connect: embedded chDB or a server, one set of SQL.

One client per thread: chDB handles serialise calls per client and HTTP clients with session ids
are not safe for concurrent queries, so each thread that touches storage gets its own client.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.binding import format_query_value
from clickhouse_connect.driver.client import Client
from spanscope.schemas.ddl import LOCAL_SUFFIX, migrations, schema_migrations_ddl

log = logging.getLogger("spanscope.storage")


MiB = 1 << 20

# Server-level caches of the embedded engine. ClickHouse sizes them for a dedicated server (marks,
# primary keys, skip-index marks and vector indexes up to 5 GiB each, within half of RAM), so inside
# the collector they would grow with the data it reads for as long as it runs. These caps bound the
# engine's share of the collector's memory (about 0.6 GiB at most, far less in practice); a ClickHouse
# server is configured on its own side.
ENGINE_CACHES: dict[str, int] = {
    "mark_cache_size": 128 * MiB,
    "primary_index_cache_size": 128 * MiB,
    "index_mark_cache_size": 64 * MiB,
    "uncompressed_cache_size": 0,
    "query_condition_cache_size": 32 * MiB,
    "compiled_expression_cache_size": 32 * MiB,
    "vector_similarity_index_cache_size": 64 * MiB,
    "text_index_tokens_cache_size": 32 * MiB,
    "text_index_header_cache_size": 32 * MiB,
    "text_index_postings_cache_size": 64 * MiB,
}


class StorageError(RuntimeError):
    """ClickHouse could not be reached or refused a statement."""


_LOW_CARDINALITY = re.compile(r"LowCardinality\((String|FixedString\(\d+\))\)")
# Types that cannot be wrapped in Nullable (a DEFAULT column of such a type keeps the plain insert).
_NOT_NULLABLE = ("Array(", "Map(", "Tuple(", "Nested(", "LowCardinality(", "Nullable(", "Object(", "JSON", "Variant(")


@dataclass(frozen=True, slots=True)
class JsonSource:
    """How the embedded engine reads JSON rows into a table through `file()`: LowCardinality columns
    are parsed as plain strings and converted a whole column at a time (parsing straight into
    LowCardinality goes through a per-value slow path that costs more than the rest of the insert),
    and a key a row omits still takes the table's DEFAULT expression."""

    columns: str
    select: str
    structure: str

    @classmethod
    def of(cls, rows: Sequence[tuple[str, str, str, str]]) -> JsonSource | None:
        """From (name, type, default_kind, default_expression) rows of system.columns."""
        names: list[str] = []
        exprs: list[str] = []
        fields: list[str] = []
        for name, ctype, kind, default in rows:
            if kind in ("MATERIALIZED", "ALIAS", "EPHEMERAL"):
                continue
            plain = _LOW_CARDINALITY.sub(r"\1", ctype)
            ident = f"`{name}`"
            if kind == "DEFAULT":
                if plain.startswith(_NOT_NULLABLE):
                    return None
                fields.append(f"{ident} Nullable({plain})")
                exprs.append(f"ifNull({ident}, {default})")
            else:
                fields.append(f"{ident} {plain}")
                exprs.append(ident)
            names.append(ident)
        return cls(", ".join(names), ", ".join(exprs), ", ".join(fields))


class Storage:
    """Thread-safe access to the spanscope database."""

    def __init__(self, clickhouse_url: str | None, data_dir: Path, cluster: str | None = None) -> None:
        self.url = clickhouse_url
        self.cluster = cluster
        self.embedded = not clickhouse_url
        self.chdb_path = (data_dir / "chdb").resolve()
        self.database = "spanscope"
        if clickhouse_url:
            parsed = urlparse(clickhouse_url)
            if parsed.scheme not in ("http", "https"):
                raise StorageError(f"SPANSCOPE_CLICKHOUSE_URL must be http(s)://…, got {clickhouse_url!r}")
            db = parsed.path.strip("/")
            if db:
                self.database = db
        else:
            self.chdb_path.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._clients: list[Client] = []
        self._lock = threading.Lock()
        self._json_sources: dict[str, JsonSource | None] = {}

    def _new_client(self, settings: dict[str, Any] | None = None) -> Client:
        if self.embedded:
            # Every handle passes the caps; the first one to open the engine applies them.
            return clickhouse_connect.get_client(
                interface="chdb", path=str(self.chdb_path), settings=settings, chdb_options=ENGINE_CACHES
            )
        parsed = urlparse(self.url or "")
        return clickhouse_connect.get_client(
            settings=settings,
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or (8443 if parsed.scheme == "https" else 8123),
            username=unquote(parsed.username or "default"),
            password=unquote(parsed.password or ""),
            secure=parsed.scheme == "https",
            autogenerate_session_id=False,
            connect_timeout=5,
            send_receive_timeout=60,
        )

    @property
    def client(self) -> Client:
        c: Client | None = getattr(self._local, "client", None)
        if c is None:
            try:
                c = self._new_client()
            except Exception as exc:  # connection refused, bad credentials, engine lock
                raise StorageError(f"cannot connect to ClickHouse: {exc}") from exc
            self._local.client = c
            with self._lock:
                self._clients.append(c)
        return c

    @property
    def readonly_client(self) -> Client:
        """A client of its own with readonly=2: user SQL can read and set limits, never write."""
        c: Client | None = getattr(self._local, "readonly", None)
        if c is None:
            try:
                c = self._new_client({"readonly": 2})
            except Exception as exc:
                raise StorageError(f"cannot connect to ClickHouse: {exc}") from exc
            self._local.readonly = c
            with self._lock:
                self._clients.append(c)
        return c

    def table(self, name: str) -> str:
        return f"{self.database}.{name}"

    def mutation_target(self, name: str) -> str:
        """Where an UPDATE or ALTER … UPDATE of table `name` must go: the table itself on one node; in
        cluster mode the shards' `_local` tables on every node (a Distributed table takes no mutations)."""
        if not self.cluster:
            return self.table(name)
        local = name if name.endswith(LOCAL_SUFFIX) else f"{name}{LOCAL_SUFFIX}"
        return f"{self.table(local)} ON CLUSTER '{self.cluster}'"

    def migrate(self) -> list[int]:
        """Applies pending migrations; safe to run at every start and from several collectors."""
        on_cluster = f" ON CLUSTER '{self.cluster}'" if self.cluster else ""
        c = self.client
        c.command(f"CREATE DATABASE IF NOT EXISTS {self.database}{on_cluster}")
        c.command(schema_migrations_ddl(self.database, self.cluster))
        done = {
            int(r[0]) for r in c.query(f"SELECT version FROM {self.database}.schema_migrations").result_rows
        }
        applied = []
        for m in migrations(self.database, self.cluster):
            if m.version in done:
                continue
            for stmt in m.statements:
                c.command(stmt)
            c.insert(
                f"{self.database}.schema_migrations", [[m.version, m.name]], column_names=["version", "name"]
            )
            applied.append(m.version)
            log.info("applied migration %s", m.name)
        self._json_sources.clear()
        return applied

    def insert_json_rows(self, table: str, payload: bytes | list[bytes], dedup_token: str | None = None) -> None:
        """Inserts newline-separated JSON rows, given whole or as chunks of whole rows (written out
        one by one, never joined: a flush batch is up to 128 MiB); the token makes a replayed batch
        a no-op."""
        chunks = [payload] if isinstance(payload, bytes) else payload
        settings: dict[str, Any] = {"async_insert": 0, "input_format_skip_unknown_fields": 1}
        if self.cluster:  # acknowledged only once every shard has its rows (and their dedup token)
            settings["distributed_foreground_insert"] = 1
        if dedup_token:
            settings["insert_deduplication_token"] = dedup_token
        source = self._json_source(table) if self.embedded else None
        if source is None:
            rows = (piece for chunk in chunks for piece in (chunk, b"\n"))
            self.client.raw_insert(self.table(table), None, rows, fmt="JSONEachRow", settings=settings)
            return
        fd, path = tempfile.mkstemp(suffix=".jsonl", dir=self.chdb_path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    f.write(chunk)
                    f.write(b"\n")
            self.client.command(
                f"INSERT INTO {self.table(table)} ({source.columns}) SELECT {source.select} "
                f"FROM file({format_query_value(path)}, 'JSONEachRow', {format_query_value(source.structure)})",
                settings=settings,
            )
        finally:
            os.unlink(path)

    def _json_source(self, table: str) -> JsonSource | None:
        if table not in self._json_sources:
            rows = self.query(
                "SELECT name, type, default_kind, default_expression FROM system.columns "
                "WHERE database = {db:String} AND table = {t:String} ORDER BY position",
                {"db": self.database, "t": table},
            )
            self._json_sources[table] = JsonSource.of([(str(a), str(b), str(c), str(d)) for a, b, c, d in rows])
        return self._json_sources[table]

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.client.query(sql, parameters=parameters or {}).result_rows]

    def query_dicts(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        res = self.client.query(sql, parameters=parameters or {})
        names = res.column_names
        return [dict(zip(names, row, strict=True)) for row in res.result_rows]

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        return self.client.command(sql, parameters=parameters or {})

    def patch_content(
        self,
        trace_ids: list[str],
        keys: list[str],
        inputs: list[str],
        outputs: list[str],
        finish_reasons: list[list[str]],
    ) -> None:
        """Fills empty content of stored spans (lightweight UPDATE: no part rewrite)."""
        pick = "{%s:Array(%s)}[indexOf({keys:Array(String)}, concat(trace_id, span_id))]"
        self.command(
            f"UPDATE {self.mutation_target('spans')} SET "
            f"input = if(input = '', {pick % ('inputs', 'String')}, input), "
            f"output = if(output = '', {pick % ('outputs', 'String')}, output), "
            f"finish_reasons = if(empty(finish_reasons), {pick % ('reasons', 'Array(String)')}, finish_reasons) "
            "WHERE trace_id IN {trace_ids:Array(String)} AND has({keys:Array(String)}, concat(trace_id, span_id))",
            {
                "trace_ids": trace_ids,
                "keys": keys,
                "inputs": inputs,
                "outputs": outputs,
                "reasons": finish_reasons,
            },
        )

    def reset(self) -> None:
        """Forgets this thread's client so the next call reconnects (after a failure)."""
        c = getattr(self._local, "client", None)
        self._local.client = None
        if c is not None and not self.embedded:
            try:
                c.close()
            except Exception:
                log.debug("closing a failed client", exc_info=True)

    def ping(self) -> bool:
        try:
            return self.client.command("SELECT 1") == 1
        except Exception:
            self.reset()
            return False

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.ping():
            if time.monotonic() > deadline:
                raise StorageError(f"ClickHouse at {self.url} did not answer within {timeout_s:.0f}s")
            time.sleep(0.5)

    def close(self) -> None:
        with self._lock:
            for c in self._clients:
                try:
                    c.close()
                except Exception:
                    log.debug("closing a ClickHouse client failed", exc_info=True)
            self._clients.clear()
        self._local = threading.local()


def columns_of(storage: Storage, table: str) -> Sequence[str]:
    rows = storage.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position",
        {"db": storage.database, "t": table},
    )
    return [r[0] for r in rows]
