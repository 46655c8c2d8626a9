"""Alerts: the rules with what is firing now, and the history of firings, resolutions and deliveries.

Rules are managed through the API, `spanscope alerts …` or the alerts file; this page reads
`/api/alerts/rules` and `/api/alerts/events` (over the sidebar's time range).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st
from pydantic import ValidationError
from spanscope.dashboard import api, filters, fmt, ui
from spanscope.schemas.alerts import AlertEventList, AlertRule, AlertRuleList
from spanscope.schemas.metrics import METRICS

ALL = "(all rules)"
EVENT_LABELS = {
    "firing": "🔴 firing",
    "resolved": "🟢 resolved",
    "delivered": "✉️ delivered",
    "delivery_failed": "⚠️ delivery failed",
}
EXAMPLE = """# SPANSCOPE_ALERTS_FILE=alerts.yaml
rules:
  - id: p95-latency
    name: p95 latency per model
    metric: latency_p95
    filters: {kind: generation}
    group_by: model
    window: 5m
    operator: ">"
    threshold: 2000
    min_samples: 20
    webhooks: [https://hooks.example.com/spanscope]
"""


def _fetch_rules() -> AlertRuleList:
    data = api.get_json("/api/alerts/rules")
    try:
        return AlertRuleList.model_validate(data)
    except ValidationError as exc:
        raise api.ApiError(f"/api/alerts/rules answered in an unexpected shape: {exc.errors()[0]['msg']}", 200) from exc


def _fetch_events(window: api.TimeWindow, rule_id: str | None) -> AlertEventList:
    params = [*window.params(), ("limit", 1000), ("rule_id", rule_id)]
    data = api.get_json("/api/alerts/events", params)
    try:
        return AlertEventList.model_validate(data)
    except ValidationError as exc:
        raise api.ApiError(
            f"/api/alerts/events answered in an unexpected shape: {exc.errors()[0]['msg']}", 200
        ) from exc


def condition(rule: AlertRule) -> str:
    if rule.kind == "drift" and rule.drift is not None:
        d = rule.drift
        return f"drift of {d.signal} " + (f"PSI > {d.psi_above:g}" if d.psi_above else f"≥ {d.min_status}")
    label = METRICS[rule.metric].label if rule.metric else "?"
    by = f" per {rule.group_by.value}" if rule.group_by else ""
    value = fmt.value(rule.threshold, METRICS[rule.metric].unit) if rule.metric else str(rule.threshold)
    return f"{label}{by} {rule.operator} {value}"


def state_of(rule: AlertRule) -> str:
    if not rule.enabled:
        return "⏸ disabled"
    if rule.last_error:
        return f"⚠️ error: {rule.last_error}"
    firing = [s.group_key or "all" for s in rule.states if s.state == "firing"]
    return f"🔴 firing ({', '.join(firing)})" if firing else "🟢 ok"


def render() -> None:
    ctx = filters.context()
    ui.page_title(
        "Alerts", f"{ctx.range_label} · rules on latency, cost, errors, fallbacks and drift, and their history"
    )
    listing = _fetch_rules()
    if listing.file_error:
        st.error(f"**The alerts file was not loaded.** {listing.file_error}", icon=":material/error:")
    rules = listing.rules
    if not rules:
        st.info(
            "No alert rules yet. Add one with `spanscope alerts add …`, `POST /api/alerts/rules`, or an alerts "
            "file (`SPANSCOPE_ALERTS_FILE`):",
            icon=":material/notifications:",
        )
        st.code(EXAMPLE, language="yaml")
        return

    rule_ids = [r.rule_id for r in rules]
    picked = filters.url_value("rule")
    if picked in rule_ids:
        st.session_state["al_rule"] = picked
    choice = st.selectbox("Rule", [ALL, *rule_ids], key="al_rule", format_func=lambda r: _rule_label(r, rules))
    rule_id = None if choice == ALL else str(choice)
    filters.page_param("rule", rule_id)
    events = _fetch_events(ctx.window, rule_id).events
    counts = Counter(e.event for e in events)

    firing = sum(1 for r in rules for s in r.states if s.state == "firing")
    cols = st.columns(4)
    cols[0].metric("Rules", f"{len(rules)}", help=f"{sum(r.enabled for r in rules)} enabled", border=True)
    cols[1].metric("Firing now", f"{firing}", help="rule and group pairs in the firing state", border=True)
    cols[2].metric("Notifications delivered", f"{counts['delivered']}", help=ctx.range_label, border=True)
    cols[3].metric("Delivery failures", f"{counts['delivery_failed']}", help=ctx.range_label, border=True)

    st.subheader("Rules")
    shown = [r for r in rules if rule_id is None or r.rule_id == rule_id]
    st.dataframe(
        pd.DataFrame(
            {
                "Rule": [r.rule_id for r in shown],
                "Name": [r.name for r in shown],
                "Condition": [condition(r) for r in shown],
                "Window": [r.window for r in shown],
                "Filters": [r.filters.describe() or "–" for r in shown],
                "State": [state_of(r) for r in shown],
                "Webhooks": [len(r.webhooks) for r in shown],
                "Cooldown": [r.cooldown for r in shown],
                "Source": [r.source for r in shown],
                "Last evaluated": [
                    fmt.when(r.last_evaluated_at, ctx.tz) if r.last_evaluated_at else "–" for r in shown
                ],
            }
        ),
        hide_index=True,
        width="stretch",
    )

    st.subheader("History")
    if not events:
        st.info(f"No alert events in this range ({ctx.range_label.lower()}).", icon=":material/history:")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Time": [fmt.when(e.time, ctx.tz) for e in events],
                "Rule": [e.rule_id for e in events],
                "Group": [e.group_key or "–" for e in events],
                "Event": [EVENT_LABELS.get(e.event, e.event) for e in events],
                "Delivery": [e.delivery or "–" for e in events],
                "Value": [e.value for e in events],
                "Webhook": [e.webhook_url or "–" for e in events],
                "Detail": [e.error or e.message for e in events],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        "Firing notifications repeat for a rule and group only after its cooldown; every notification carries a "
        "`dedup_key` (also in the `X-Spanscope-Dedup-Key` header) that stays the same on retries."
    )


def _rule_label(rule_id: str, rules: list[AlertRule]) -> str:
    if rule_id == ALL:
        return ALL
    rule = next((r for r in rules if r.rule_id == rule_id), None)
    return f"{rule_id} · {rule.name}" if rule else rule_id


if __name__ == "__main__":
    render()
