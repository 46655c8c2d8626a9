"""Cluster mode: every migration rendered for a named cluster (ON CLUSTER, Replicated, Distributed).

No ClickHouse cluster runs here, so the rendered SQL is checked statement by statement, and then run
on embedded chDB with the cluster-only parts mapped to their single-node equivalents (Replicated
engines to plain ones, Distributed tables to Merge tables over the `_local` table) to show that the
rewritten views and backfills are valid SQL and that rows written to `spans_local` reach the rollups.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from spanscope.schemas.ddl import migrations, render, schema_migrations_ddl

CLUSTER = "analytics"
SINGLE = migrations()
CLUSTERED = migrations(cluster=CLUSTER)
IDS = [m.name for m in SINGLE]


def _tables(statements: list[str]) -> list[str]:
    return [
        m.group(1)
        for s in statements
        if (m := re.match(r"CREATE TABLE IF NOT EXISTS spanscope\.(\w+)\s*\(", s)) and "MergeTree" in s
    ]


@pytest.mark.parametrize("index", range(len(SINGLE)), ids=IDS)
def test_every_mergetree_table_becomes_a_replicated_local_table_and_a_distributed_table(index: int) -> None:
    clustered = "\n;\n".join(CLUSTERED[index].statements)
    for table in _tables(SINGLE[index].statements):
        local = re.search(
            rf"CREATE TABLE IF NOT EXISTS spanscope\.{table}_local ON CLUSTER '{CLUSTER}'.*?"
            rf"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/{{shard}}/spanscope/{table}_local', '{{replica}}'",
            clustered,
            re.S,
        )
        assert local, f"{table}: no replicated local table in\n{clustered}"
        dist = re.search(
            rf"CREATE TABLE IF NOT EXISTS spanscope\.{table} ON CLUSTER '{CLUSTER}' AS spanscope\.{table}_local\n"
            rf"ENGINE = Distributed\('{CLUSTER}', 'spanscope', '{table}_local', (cityHash64\(\w+\)|rand\(\))\)",
            clustered,
        )
        assert dist, f"{table}: no Distributed table in\n{clustered}"


@pytest.mark.parametrize("index", range(len(SINGLE)), ids=IDS)
def test_every_ddl_statement_runs_on_the_cluster_and_no_plain_mergetree_is_left(index: int) -> None:
    for stmt in CLUSTERED[index].statements:
        if stmt.startswith("INSERT"):
            continue
        assert f"ON CLUSTER '{CLUSTER}'" in stmt, stmt
        assert not re.search(r"ENGINE = (?!Replicated)\w*MergeTree", stmt), stmt


@pytest.mark.parametrize("index", range(len(SINGLE)), ids=IDS)
def test_materialized_views_read_and_write_local_tables(index: int) -> None:
    for stmt in CLUSTERED[index].statements:
        if stmt.startswith("CREATE MATERIALIZED VIEW"):
            assert re.search(r"\bTO spanscope\.\w+_local AS", stmt), stmt
            for source in re.findall(r"\bFROM spanscope\.(\w+)", stmt):
                assert source.endswith("_local"), stmt


def test_engine_arguments_are_kept_after_the_replication_path() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS spanscope.t (project_id String, v UInt64) "
        "ENGINE = ReplacingMergeTree(v) ORDER BY project_id"
    )
    local, dist = render(sql, cluster="c")
    path = "'/clickhouse/tables/{shard}/spanscope/t_local', '{replica}'"
    assert f"ENGINE = ReplicatedReplacingMergeTree({path}, v)" in local
    assert dist.endswith("ENGINE = Distributed('c', 'spanscope', 't_local', cityHash64(project_id))")


def test_spans_are_sharded_by_trace_so_a_trace_and_its_summary_share_a_shard() -> None:
    statements = "\n".join(s for m in CLUSTERED for s in m.statements)
    for table in ("spans", "trace_summary", "span_content"):
        assert f"'{table}_local', cityHash64(trace_id))" in statements
    assert f"DROP TABLE IF EXISTS spanscope.trace_index_local ON CLUSTER '{CLUSTER}' SYNC" in statements


def test_column_changes_reach_the_distributed_table_and_other_alters_only_the_local_one() -> None:
    sql = (
        "CREATE TABLE IF NOT EXISTS spanscope.t (trace_id String) ENGINE = MergeTree ORDER BY trace_id;\n"
        "ALTER TABLE spanscope.t ADD COLUMN IF NOT EXISTS n UInt8 DEFAULT 0;\n"
        "ALTER TABLE spanscope.t MODIFY TTL now() + INTERVAL 1 DAY"
    )
    out = render(sql, cluster="c")[2:]
    assert out == [
        "ALTER TABLE spanscope.t_local ON CLUSTER 'c' ADD COLUMN IF NOT EXISTS n UInt8 DEFAULT 0",
        "ALTER TABLE spanscope.t ON CLUSTER 'c' ADD COLUMN IF NOT EXISTS n UInt8 DEFAULT 0",
        "ALTER TABLE spanscope.t_local ON CLUSTER 'c' MODIFY TTL now() + INTERVAL 1 DAY",
    ]


def test_single_node_migrations_have_no_cluster_parts() -> None:
    text = "\n".join(s for m in SINGLE for s in m.statements)
    assert "ON CLUSTER" not in text and "Distributed" not in text and "_local" not in text


def test_applied_versions_are_one_table_shared_by_all_shards() -> None:
    ddl = schema_migrations_ddl("spanscope", CLUSTER)
    assert f"ON CLUSTER '{CLUSTER}'" in ddl and "{shard}/" not in ddl and "'{shard}-{replica}'" in ddl


def test_rendered_cluster_ddl_runs_and_local_spans_reach_the_rollups() -> None:
    script = textwrap.dedent(
        f"""
        import re, tempfile, time
        from chdb import session
        from spanscope.schemas.ddl import migrations
        s = session.Session(tempfile.mkdtemp())
        s.query("CREATE DATABASE IF NOT EXISTS spanscope")
        for m in migrations(cluster="{CLUSTER}"):
            for st in m.statements:
                st = st.replace(" ON CLUSTER '{CLUSTER}'", "")
                st = re.sub(r"Replicated(\\w*)MergeTree\\('[^']*', '[^']*'(?:, )?", r"\\1MergeTree(", st)
                st = st.replace("MergeTree()", "MergeTree")
                st = re.sub(r"Distributed\\('{CLUSTER}', '(\\w+)', '(\\w+)', [^\\n]+\\)$", r"Merge('\\1', '^\\2$')", st)
                st = re.sub(r"^INSERT INTO (\\w+)\\.(\\w+)", r"INSERT INTO \\1.\\2_local", st)
                s.query(st)
        now = int(time.time())
        s.query(
            "INSERT INTO spanscope.spans_local (project_id, trace_id, span_id, parent_span_id, name, kind, "
            "start_time, end_time, duration_ms, status) VALUES "
            f"('p', 't1', 's1', '', 'root', 'chain', {{now}}, {{now}}, 5, 'OK'), "
            f"('p', 't1', 's2', 's1', 'llm', 'generation', {{now}}, {{now}}, 3, 'ERROR')"
        )
        day = "SELECT sum(spans), sum(errors) FROM spanscope.rollup_day WHERE project_id = 'p'"
        print(s.query(day, "CSV").data(), end="")
        summary = "SELECT root_name, sum(spans) FROM spanscope.trace_summary WHERE trace_id = 't1' GROUP BY root_name"
        print(s.query(summary, "CSV").data(), end="")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == ["2,1", '"root",2']


def test_runtime_updates_go_to_the_local_tables_on_every_node() -> None:
    from spanscope.collector.storage import Storage

    url = "http://clickhouse:8123/spanscope"  # lazy: nothing connects until a query runs
    assert Storage(url, Path("unused")).mutation_target("spans") == "spanscope.spans"
    cluster = Storage(url, Path("unused"), cluster="prod")
    assert cluster.mutation_target("spans") == "spanscope.spans_local ON CLUSTER 'prod'"
    assert cluster.mutation_target("scores_local") == "spanscope.scores_local ON CLUSTER 'prod'"
