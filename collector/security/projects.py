"""Project settings (retention) and the storage a project uses.

Every row that expires carries `retention_days` and its table's TTL reads it, so a project's
retention is applied twice: new rows get the project's value at ingest, and a change rewrites the
column of the project's existing rows (an ALTER … UPDATE mutation that runs in the background and
re-evaluates the TTL of the parts it touches).
"""

from __future__ import annotations

import logging
import threading

from spanscope.collector.storage import Storage
from spanscope.schemas.security import ProjectSettings, ProjectUsage, TableUsage

log = logging.getLogger("spanscope.projects")


class ProjectStore:
    """Retention per project (the `projects` table), cached: ingest asks for it on every request."""

    def __init__(self, storage: Storage, default_retention_days: int) -> None:
        self.storage = storage
        self.default_retention_days = default_retention_days
        self._retention: dict[str, int] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Reads every project's settings (called once storage is migrated)."""
        rows = self.storage.query(
            f"SELECT project_id, argMax(retention_days, updated_at) FROM {self.storage.table('projects')} "
            "GROUP BY project_id"
        )
        with self._lock:
            self._retention = {str(p): int(d) for p, d in rows}

    def start(self) -> None:
        try:
            self.load()
        except Exception:
            log.exception("reading project settings failed; using the default retention until restart")

    def stop(self) -> None:
        return None

    def retention_days(self, project: str) -> int:
        return self._retention.get(project, self.default_retention_days)

    def settings(self, project: str) -> ProjectSettings:
        return ProjectSettings(project=project, retention_days=self.retention_days(project))

    def known(self) -> list[str]:
        """Projects that have settings, keys or spans (spans: the last 400 days of the daily rollup)."""
        rows = self.storage.query(
            f"SELECT project_id FROM {self.storage.table('projects')} "
            f"UNION DISTINCT SELECT project_id FROM {self.storage.table('api_keys')} WHERE project_id != '*' "
            f"UNION DISTINCT SELECT DISTINCT project_id FROM {self.storage.table('rollup_day')} "
            "WHERE day >= today() - 400"
        )
        return sorted({str(r[0]) for r in rows} | set(self._retention))

    def set_retention(self, project: str, days: int) -> ProjectSettings:
        """Stores the setting, then moves the project's existing rows to it (background mutations)."""
        self.storage.query(
            f"INSERT INTO {self.storage.table('projects')} (project_id, retention_days) "
            "VALUES ({p:String}, {d:UInt16})",
            {"p": project, "d": days},
        )
        with self._lock:
            self._retention[project] = days
        for table in self._tables_with("retention_days"):
            self.storage.command(
                f"ALTER TABLE {self.storage.mutation_target(table)} UPDATE retention_days = {{d:UInt16}} "
                "WHERE project_id = {p:String} AND retention_days != {d:UInt16}",
                {"p": project, "d": days},
            )
        return self.settings(project)

    def _tables_with(self, column: str) -> list[str]:
        """Tables (not views) of the database with both `project_id` and `column`, so tables other
        parts of spanscope add later are covered without a list to keep up to date."""
        rows = self.storage.query(
            "SELECT c.table, groupUniqArray(c.name) FROM system.columns AS c INNER JOIN system.tables AS t "
            "ON c.database = t.database AND c.table = t.name "
            "WHERE c.database = {db:String} AND c.name IN ('project_id', {col:String}) "
            "AND t.engine LIKE '%MergeTree' GROUP BY c.table ORDER BY c.table",
            {"db": self.storage.database, "col": column},
        )
        need = {"project_id", column}
        return [str(t) for t, names in rows if need <= set(names)]

    def usage(self, project: str) -> ProjectUsage:
        """Rows per table (exact) and compressed bytes (the table's size times the project's share)."""
        sizes: dict[str, tuple[int, int]] = {
            str(t): (int(rows), int(b))
            for t, rows, b in self.storage.query(
                "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts "
                "WHERE database = {db:String} AND active GROUP BY table",
                {"db": self.storage.database},
            )
        }
        tables: list[TableUsage] = []
        for table in self._tables_with("project_id"):
            total_rows, total_bytes = sizes.get(table, (0, 0))
            if not total_rows:
                continue
            rows = int(
                self.storage.query(
                    f"SELECT count() FROM {self.storage.table(table)} WHERE project_id = {{p:String}}",
                    {"p": project},
                )[0][0]
            )
            if rows:
                share = min(rows, total_rows) / total_rows
                tables.append(TableUsage(table=table, rows=rows, bytes_on_disk=round(total_bytes * share)))
        return ProjectUsage(
            project=project,
            retention_days=self.retention_days(project),
            rows=sum(t.rows for t in tables),
            bytes_on_disk=sum(t.bytes_on_disk for t in tables),
            tables=tables,
        )
