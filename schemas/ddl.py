"""Renders the numbered migrations for a single node or for a named cluster.

The SQL files are written for one node with database `spanscope`; a cluster gets the same files
with `ON CLUSTER` and Replicated engines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

_CREATE = re.compile(
    r"^(CREATE (?:TABLE|MATERIALIZED VIEW|DATABASE) IF NOT EXISTS [\w.]+|ALTER TABLE [\w.]+)", re.M
)
_ENGINE = re.compile(r"ENGINE = (\w*)MergeTree(?:\(\))?")
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS ([\w]+)\.([\w]+)")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def _split(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _replicated(path: str) -> Callable[[re.Match[str]], str]:
    return lambda m: f"ENGINE = Replicated{m.group(1)}MergeTree('{path}', '{{replica}}')"


def render(sql: str, database: str = "spanscope", cluster: str | None = None) -> list[str]:
    """One migration file as statements for `database`, optionally on `cluster`."""
    sql = re.sub(r"\bspanscope\.", f"{database}.", sql)
    statements = _split(sql)
    if not cluster:
        return statements
    out = []
    for stmt in statements:
        stmt = _CREATE.sub(lambda m: f"{m.group(1)} ON CLUSTER '{cluster}'", stmt, count=1)
        table = _TABLE.search(stmt)
        if table:
            path = f"/clickhouse/tables/{{shard}}/{table.group(1)}/{table.group(2)}"
            stmt = _ENGINE.sub(_replicated(path), stmt)
        out.append(stmt)
    return out


def migrations(database: str = "spanscope", cluster: str | None = None) -> list[Migration]:
    """All shipped migrations in version order."""
    files = sorted(
        (f for f in resources.files("spanscope.schemas.migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    result = []
    for f in files:
        version = int(f.name.split("_", 1)[0])
        result.append(Migration(version, f.name[:-4], render(f.read_text(), database, cluster)))
    return result
