"""Alert rules, states and history in ClickHouse (tables of migration 0010).

Rules and states are versioned rows: a change is an insert, a read takes the latest version per key
with argMax, so concurrent collectors and unmerged parts never show a stale or deleted rule.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from spanscope.collector.storage import Storage
from spanscope.schemas.alerts import AlertEvent, AlertGroupState, AlertRule, AlertRuleIn

MAX_EVENTS = 1000


def _now_version() -> int:
    return time.time_ns() // 1000


def _ts(dt: datetime | float | None) -> str | None:
    if dt is None:
        return None
    value = dt.timestamp() if isinstance(dt, datetime) else dt
    return f"{value:.3f}"


def _utc(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


@dataclass
class GroupState:
    """What the evaluator remembers of one rule and group between runs (and across restarts)."""

    state: str = "ok"
    value: float | None = None
    samples: int = 0
    since: float = 0.0
    notified: bool = False
    last_notified_at: float | None = None

    def view(self, group_key: str) -> AlertGroupState:
        return AlertGroupState(
            group_key=group_key,
            state="firing" if self.state == "firing" else "ok",
            value=self.value,
            samples=self.samples,
            since=datetime.fromtimestamp(self.since, UTC) if self.since else None,
            last_notified_at=datetime.fromtimestamp(self.last_notified_at, UTC) if self.last_notified_at else None,
        )


class AlertStore:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    # ------------------------------------------------------------------ rules

    def rules(self, project: str | None = None, rule_id: str | None = None) -> list[AlertRule]:
        """Current rules of one project (or of all projects), without deleted ones, by id."""
        where = ["1"]
        params: dict[str, Any] = {}
        if project is not None:
            where.append("project_id = {project:String}")
            params["project"] = project
        if rule_id is not None:
            where.append("rule_id = {rule_id:String}")
            params["rule_id"] = rule_id
        rows = self.storage.query(
            "SELECT project_id, rule_id, max(version) AS v, argMax(deleted, version) AS del, "
            "argMax(source, version), argMax(spec, version), argMax(updated_at, version) "
            f"FROM {self.storage.table('alert_rules')} WHERE {' AND '.join(where)} "
            "GROUP BY project_id, rule_id HAVING del = 0 ORDER BY project_id, rule_id",
            params,
        )
        out = []
        for project_id, rid, version, _, source, spec, updated in rows:
            data = orjson.loads(spec)
            data.update(rule_id=rid, project_id=project_id, source=source, version=int(version))
            data["updated_at"] = _utc(updated)
            out.append(AlertRule.model_validate(data))
        return out

    def rule(self, project: str, rule_id: str) -> AlertRule | None:
        found = self.rules(project, rule_id)
        return found[0] if found else None

    def save_rule(self, project: str, rule_id: str, spec: AlertRuleIn, source: str) -> AlertRule:
        body = spec.model_dump(mode="json", exclude={"rule_id"})
        version = _now_version()
        row = {
            "project_id": project,
            "rule_id": rule_id,
            "version": version,
            "deleted": 0,
            "source": source,
            "name": spec.name,
            "enabled": int(spec.enabled),
            "spec": orjson.dumps(body).decode(),
            "updated_at": _ts(version / 1e6),
        }
        self.storage.insert_json_rows("alert_rules", orjson.dumps(row))
        return AlertRule.model_validate(
            {
                **body,
                "rule_id": rule_id,
                "project_id": project,
                "source": source,
                "version": version,
                "updated_at": datetime.fromtimestamp(version / 1e6, UTC),
            }
        )

    def delete_rule(self, project: str, rule: AlertRule) -> None:
        row = {
            "project_id": project,
            "rule_id": rule.rule_id,
            "version": _now_version(),
            "deleted": 1,
            "source": rule.source,
            "name": rule.name,
            "enabled": 0,
            "spec": orjson.dumps(rule.spec().model_dump(mode="json", exclude={"rule_id"})).decode(),
        }
        self.storage.insert_json_rows("alert_rules", orjson.dumps(row))

    # ------------------------------------------------------------------ states

    def states(self, project: str | None = None) -> dict[tuple[str, str, str], GroupState]:
        where = "project_id = {project:String}" if project is not None else "1"
        rows = self.storage.query(
            "SELECT project_id, rule_id, group_key, argMax(tuple(state, value, samples, since, notified, "
            "last_notified_at), version) FROM "
            f"{self.storage.table('alert_state')} WHERE {where} GROUP BY project_id, rule_id, group_key",
            {"project": project} if project is not None else {},
        )
        out = {}
        for project_id, rid, group_key, (state, value, samples, since, notified, last) in rows:
            since_dt, last_dt = _utc(since), _utc(last)
            out[(project_id, rid, group_key)] = GroupState(
                state=state,
                value=value,
                samples=int(samples),
                since=since_dt.timestamp() if since_dt else 0.0,
                notified=bool(notified),
                last_notified_at=last_dt.timestamp() if last_dt else None,
            )
        return out

    def save_states(self, rows: list[tuple[str, str, str, GroupState]]) -> None:
        if not rows:
            return
        version = _now_version()
        lines = [
            orjson.dumps(
                {
                    "project_id": project,
                    "rule_id": rid,
                    "group_key": group_key,
                    "version": version,
                    "state": s.state,
                    "value": s.value,
                    "samples": s.samples,
                    "since": _ts(s.since),
                    "notified": int(s.notified),
                    "last_notified_at": _ts(s.last_notified_at),
                }
            )
            for project, rid, group_key, s in rows
        ]
        self.storage.insert_json_rows("alert_state", b"\n".join(lines))

    # ------------------------------------------------------------------ history

    def add_events(self, project: str, events: list[AlertEvent]) -> None:
        if not events:
            return
        lines = []
        for e in events:
            row = e.model_dump(mode="json")
            row.update(project_id=project, time=_ts(e.time))
            lines.append(orjson.dumps(row))
        self.storage.insert_json_rows("alert_events", b"\n".join(lines))

    def events(
        self,
        project: str,
        start: datetime,
        end: datetime,
        rule_id: str | None = None,
        event: str | None = None,
        limit: int = 200,
    ) -> list[AlertEvent]:
        conds = [
            "project_id = {project:String}",
            "time >= {start:DateTime64(3, 'UTC')}",
            "time < {end:DateTime64(3, 'UTC')}",
        ]
        params: dict[str, Any] = {"project": project, "start": start, "end": end, "limit": min(limit, MAX_EVENTS)}
        if rule_id:
            conds.append("rule_id = {rule_id:String}")
            params["rule_id"] = rule_id
        if event:
            conds.append("event = {event:String}")
            params["event"] = event
        rows = self.storage.query_dicts(
            "SELECT event_id, time, rule_id, rule_name, group_key, event, value, threshold, samples, message, "
            "dedup_key, delivery, webhook_url, http_status, attempts, error "
            f"FROM {self.storage.table('alert_events')} WHERE {' AND '.join(conds)} "
            "ORDER BY time DESC, event_id LIMIT {limit:UInt32}",
            params,
        )
        return [AlertEvent.model_validate({**r, "time": _utc(r["time"])}) for r in rows]


def new_event(**fields: Any) -> AlertEvent:
    return AlertEvent(event_id=uuid.uuid4().hex, time=datetime.now(UTC), **fields)
