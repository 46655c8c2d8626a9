"""Alerts: rules (create, edit, delete, test now) and their history (`spanscope.alert_*`)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from spanscope.collector.alerts.deliver import post_webhook
from spanscope.collector.alerts.service import AlertService, notification
from spanscope.collector.api.deps import admin_project_of, blocking, collector_of, project_of, resolve_range
from spanscope.schemas.alerts import (
    AlertEventList,
    AlertRule,
    AlertRuleIn,
    AlertRuleList,
    AlertTestResult,
    EventType,
)

router = APIRouter(prefix="/api/alerts", tags=["alerts"])

RuleIdPath = Annotated[str, "the rule's id"]


def alerts_of(request: Request) -> AlertService:
    """The collector's alert service once storage is ready (503 before, like other reads)."""
    c = collector_of(request)
    service = next((s for s in c.services if isinstance(s, AlertService)), None)
    if service is None:
        raise HTTPException(503, "alerts are not enabled in this collector")
    if not c.storage_ready.is_set() or not service.started:
        raise HTTPException(503, "alerts are not ready yet: storage is starting", headers={"Retry-After": "2"})
    return service


Alerts = Annotated[AlertService, Depends(alerts_of)]


def _existing(service: AlertService, project: str, rule_id: str) -> AlertRule:
    rule = service.store.rule(project, rule_id)
    if rule is None:
        raise HTTPException(404, f"no alert rule {rule_id!r} in project {project!r}")
    return rule


def _editable(service: AlertService, rule: AlertRule) -> None:
    if rule.source == "file":
        raise HTTPException(
            409, f"rule {rule.rule_id!r} is managed by the alerts file {service.config.file}; edit the file instead"
        )


@router.get("/rules", summary="Alert rules with the groups now firing")
async def list_rules(project: Annotated[str, Depends(project_of)], alerts: Alerts) -> AlertRuleList:
    rules = await blocking(lambda: alerts.store.rules(project))
    return AlertRuleList(
        rules=[alerts.annotate(r) for r in rules],
        file=str(alerts.config.file) if alerts.config.file else None,
        file_error=alerts.file_error,
    )


@router.get("/rules/{rule_id}", summary="One alert rule")
async def get_rule(rule_id: RuleIdPath, project: Annotated[str, Depends(project_of)], alerts: Alerts) -> AlertRule:
    return alerts.annotate(await blocking(lambda: _existing(alerts, project, rule_id)))


@router.post(
    "/rules",
    status_code=201,
    summary="Create an alert rule",
    description="A metric rule needs `metric`, `window`, `operator` and `threshold`; a drift rule `drift.signal`. "
    "Unknown metrics, bad windows and webhook URLs that are not http(s) are refused with 422.",
)
async def create_rule(
    body: AlertRuleIn, project: Annotated[str, Depends(admin_project_of)], alerts: Alerts
) -> AlertRule:
    rule_id = body.rule_id or uuid.uuid4().hex[:12]

    def create() -> AlertRule:
        if alerts.store.rule(project, rule_id) is not None:
            raise HTTPException(409, f"alert rule {rule_id!r} exists; PUT /api/alerts/rules/{rule_id} changes it")
        return alerts.store.save_rule(project, rule_id, body.model_copy(update={"rule_id": rule_id}), "api")

    return alerts.annotate(await blocking(create))


@router.put(
    "/rules/{rule_id}",
    summary="Replace an alert rule (or create it with this id)",
    description="An omitted `secret` keeps the rule's current one; an empty string removes it.",
)
async def put_rule(
    rule_id: RuleIdPath,
    body: AlertRuleIn,
    project: Annotated[str, Depends(admin_project_of)],
    alerts: Alerts,
) -> AlertRule:
    if body.rule_id is not None and body.rule_id != rule_id:
        raise HTTPException(400, f"the body's rule_id {body.rule_id!r} differs from the path's {rule_id!r}")
    checked = AlertRuleIn.model_validate({**body.model_dump(), "rule_id": rule_id})

    def put() -> AlertRule:
        old = alerts.store.rule(project, rule_id)
        spec = checked
        if old is not None:
            _editable(alerts, old)
            if spec.secret is None and old.secret:
                spec = spec.model_copy(update={"secret": old.secret})
        if spec.secret == "":
            spec = spec.model_copy(update={"secret": None})
        return alerts.store.save_rule(project, rule_id, spec, "api")

    return alerts.annotate(await blocking(put))


@router.delete("/rules/{rule_id}", status_code=204, summary="Delete an alert rule (its history stays)")
async def delete_rule(
    rule_id: RuleIdPath, project: Annotated[str, Depends(admin_project_of)], alerts: Alerts
) -> Response:
    def delete() -> None:
        rule = _existing(alerts, project, rule_id)
        _editable(alerts, rule)
        alerts.store.delete_rule(project, rule)
        alerts.forget(project, rule_id)

    await blocking(delete)
    return Response(status_code=204)


@router.post(
    "/rules/{rule_id}/test",
    summary="Evaluate a rule now, without changing its state",
    description="With `notify=true` a notification with status `test` is posted to each of the rule's "
    "webhooks (one attempt each) and the outcomes are returned.",
)
async def test_rule(
    rule_id: RuleIdPath,
    project: Annotated[str, Depends(admin_project_of)],
    alerts: Alerts,
    notify: Annotated[bool, Query(description="also post a test notification to the webhooks")] = False,
) -> AlertTestResult:
    def run() -> AlertTestResult:
        rule = _existing(alerts, project, rule_id)
        now = time.time()
        ev = alerts.evaluate(rule, now)
        deliveries = []
        if notify and rule.webhooks:
            first = ev.groups[0] if ev.groups else None
            if first is not None:
                note = notification(rule, first, "test", now, now)
                with alerts.dispatcher.client() as client:
                    deliveries = [post_webhook(client, url, note, rule.secret, 0, 0.0) for url in rule.webhooks]
        return AlertTestResult(
            rule_id=rule.rule_id,
            evaluated_at=datetime.fromtimestamp(now, UTC),
            window_start=ev.window.start,
            window_end=ev.window.end,
            groups=ev.groups,
            deliveries=deliveries,
        )

    return await blocking(run)


@router.get("/events", summary="Alert history: state changes and webhook deliveries, newest first")
async def list_events(
    project: Annotated[str, Depends(project_of)],
    alerts: Alerts,
    rule_id: Annotated[str | None, Query(max_length=100)] = None,
    event: Annotated[EventType | None, Query(description="only this kind of event")] = None,
    start: Annotated[str | None, Query(description="ISO-8601 or unix seconds; default: end minus range")] = None,
    end: Annotated[str | None, Query(description="ISO-8601 or unix seconds; default: now")] = None,
    range: Annotated[str | None, Query(description="relative range ending at `end`; default 7d")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> AlertEventList:
    tr = resolve_range(start, end, range, default_s=7 * 86400)
    events = await blocking(lambda: alerts.store.events(project, tr.start, tr.end, rule_id, event, limit))
    return AlertEventList(events=events)
