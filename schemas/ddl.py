"""Renders the numbered migrations for a single node or for a named cluster.

The SQL files are written for one node with database `spanscope`. For a cluster every MergeTree-family
table `T` becomes a replicated table `T_local` on each shard plus a Distributed table `T` over them,
so readers and writers keep using `T`. Materialized views run per shard: they read the `_local`
table an insert lands in and write the `_local` table of their target, so rollups
and trace summaries are computed where the spans are. Spans and tables keyed by trace are sharded by
`trace_id` (a trace, its summary and its content live on one shard); other tables by `project_id`.
Every DDL statement runs `ON CLUSTER`; data statements (`INSERT … SELECT` backfills) go through the
Distributed tables. Rendering is generic: a new migration needs nothing here unless it uses a
statement kind not handled below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_CREATE_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+)\s*(?=\()")
_CREATE_MV = re.compile(r"^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)\.(\w+)")
_CREATE_OTHER = re.compile(r"^CREATE (?:VIEW|DICTIONARY|DATABASE) IF NOT EXISTS [\w.]+")
_ALTER = re.compile(r"^ALTER TABLE (\w+)\.(\w+)\s+")
_DROP = re.compile(r"^DROP (TABLE|VIEW|DICTIONARY) IF EXISTS (\w+)\.(\w+)\s*$")
_ENGINE = re.compile(r"ENGINE = (\w*)MergeTree\b(?:\(([^()]*)\))?")
_TO = re.compile(r"\bTO (\w+)\.(\w+)")
_SOURCE = re.compile(r"\b(FROM|JOIN)\s+(\w+)\.(\w+)(\s+(?:AS\s+)?(?!(?:WHERE|GROUP|ORDER|LIMIT|SETTINGS|ON|USING|"
                     r"PREWHERE|FINAL|SAMPLE|ARRAY|LEFT|RIGHT|INNER|FULL|CROSS|JOIN|UNION|HAVING)\b)\w+)?",
                     re.I)
_COLUMN_ACTION = re.compile(r"^(?:ADD|DROP|MODIFY|RENAME|COMMENT) COLUMN\b", re.I)
LOCAL_SUFFIX = "_local"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def _split(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _sharding_key(columns: str) -> str:
    if re.search(r"(?:^|[(,])\s*trace_id\s+[A-Z]", columns, re.M):
        return "cityHash64(trace_id)"
    if re.search(r"(?:^|[(,])\s*project_id\s+[A-Z]", columns, re.M):
        return "cityHash64(project_id)"
    return "rand()"


class ClusterRenderer:
    """Rewrites single-node statements for `cluster`; remembers which tables are sharded, since
    later migrations alter them and views read them."""

    def __init__(self, database: str, cluster: str) -> None:
        self.database = database
        self.cluster = cluster
        self.on = f"ON CLUSTER '{cluster}'"
        self.sharded: set[str] = set()

    def statement(self, stmt: str) -> list[str]:
        for kind, handler in (
            (_CREATE_TABLE, self._table),
            (_CREATE_MV, self._view),
            (_ALTER, self._alter),
            (_DROP, self._drop),
        ):
            m = kind.match(stmt)
            if m:
                return handler(stmt, m)
        m = _CREATE_OTHER.match(stmt)
        if m:
            return [f"{m.group(0)} {self.on}{stmt[m.end():]}"]
        return [stmt]  # INSERT … SELECT and other data statements: through the Distributed tables

    def _table(self, stmt: str, m: re.Match[str]) -> list[str]:
        db, name = m.group(1), m.group(2)
        engine = _ENGINE.search(stmt)
        if engine is None:  # not a MergeTree (Null, Memory…): the same table on every node
            return [f"{m.group(0).rstrip()} {self.on}\n{stmt[m.end():]}"]
        local = name + LOCAL_SUFFIX
        path = f"'/clickhouse/tables/{{shard}}/{db}/{local}', '{{replica}}'"
        args = (engine.group(2) or "").strip()
        replicated = f"ENGINE = Replicated{engine.group(1)}MergeTree({path}{', ' + args if args else ''})"
        body = stmt[m.end() :]
        body = body.replace(engine.group(0), replicated, 1)
        self.sharded.add(name)
        columns = body[: body.find("ENGINE =")]
        return [
            f"CREATE TABLE IF NOT EXISTS {db}.{local} {self.on}\n{body}",
            f"CREATE TABLE IF NOT EXISTS {db}.{name} {self.on} AS {db}.{local}\n"
            f"ENGINE = Distributed('{self.cluster}', '{db}', '{local}', {_sharding_key(columns)})",
        ]

    def _local_ref(self, db: str, name: str) -> str:
        return f"{db}.{name}{LOCAL_SUFFIX}" if name in self.sharded else f"{db}.{name}"

    def _local_sources(self, query: str) -> str:
        """A view's query reading the `_local` tables of sharded sources."""

        def source(s: re.Match[str]) -> str:
            keyword, db, name, alias = s.group(1), s.group(2), s.group(3), s.group(4)
            if name not in self.sharded:
                return s.group(0)
            # The bare name stays usable as a qualifier (`spans.start_time`) through an alias.
            return f"{keyword} {db}.{name}{LOCAL_SUFFIX}{alias if alias else f' AS {name}'}"

        return _SOURCE.sub(source, query)

    def _view(self, stmt: str, m: re.Match[str]) -> list[str]:
        head, rest = m.group(0), stmt[m.end() :]
        rest = _TO.sub(lambda t: f"TO {self._local_ref(t.group(1), t.group(2))}", rest, count=1)
        return [f"{head} {self.on}{self._local_sources(rest)}"]

    def _alter(self, stmt: str, m: re.Match[str]) -> list[str]:
        db, name, actions = m.group(1), m.group(2), stmt[m.end() :]
        if name not in self.sharded:
            return [f"ALTER TABLE {db}.{name} {self.on} {actions}"]
        out = [f"ALTER TABLE {db}.{name}{LOCAL_SUFFIX} {self.on} {actions}"]
        if _COLUMN_ACTION.match(actions.strip()):  # the Distributed table mirrors the columns
            out.append(f"ALTER TABLE {db}.{name} {self.on} {actions}")
        return out

    def _drop(self, stmt: str, m: re.Match[str]) -> list[str]:
        kind, db, name = m.group(1), m.group(2), m.group(3)
        out = [f"DROP {kind} IF EXISTS {db}.{name} {self.on} SYNC"]
        if name in self.sharded:
            out.append(f"DROP {kind} IF EXISTS {db}.{name}{LOCAL_SUFFIX} {self.on} SYNC")
            self.sharded.discard(name)
        return out


def render(
    sql: str, database: str = "spanscope", cluster: str | None = None, renderer: ClusterRenderer | None = None
) -> list[str]:
    """One migration file as statements for `database`, optionally on `cluster` (pass the same
    `renderer` for consecutive files so later ones know the tables earlier ones sharded)."""
    sql = re.sub(r"\bspanscope\.", f"{database}.", sql)
    statements = _split(sql)
    if not cluster:
        return statements
    renderer = renderer or ClusterRenderer(database, cluster)
    return [out for stmt in statements for out in renderer.statement(stmt)]


def schema_migrations_ddl(database: str = "spanscope", cluster: str | None = None) -> str:
    """The table of applied versions. On a cluster it is one replicated table shared by every
    shard (no `{shard}` in its path), so a migration runs once whichever node a collector uses."""
    if not cluster:
        return (
            f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations "
            "(version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY version"
        )
    return (
        f"CREATE TABLE IF NOT EXISTS {database}.schema_migrations ON CLUSTER '{cluster}' "
        "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
        f"ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/{database}/schema_migrations', '{{shard}}-{{replica}}') "
        "ORDER BY version"
    )


def migrations(database: str = "spanscope", cluster: str | None = None) -> list[Migration]:
    """All shipped migrations in version order."""
    files = sorted(
        (f for f in resources.files("spanscope.schemas.migrations").iterdir() if f.name.endswith(".sql")),
        key=lambda f: f.name,
    )
    renderer = ClusterRenderer(database, cluster) if cluster else None
    result = []
    for f in files:
        version = int(f.name.split("_", 1)[0])
        result.append(Migration(version, f.name[:-4], render(f.read_text(), database, cluster, renderer)))
    return result
