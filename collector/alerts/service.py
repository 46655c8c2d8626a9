"""The alert evaluator: a collector service that checks every enabled rule every few seconds.

Each rule and group moves ok → firing → ok. Entering firing notifies the rule's webhooks unless the
same rule and group notified within its cooldown (a flapping metric then notifies once); leaving it
notifies "resolved" when the firing was notified. States are persisted when they change, so a
restarted collector neither repeats a notification nor forgets a cooldown. Deliveries run on the
dispatcher's workers; evaluation never waits for a webhook.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spanscope.collector.alerts.deliver import Delivery, WebhookDispatcher
from spanscope.collector.alerts.evaluate import Evaluation, evaluate_metric, missing_group
from spanscope.collector.alerts.rulefile import AlertFileError, load_rules_file
from spanscope.collector.alerts.store import AlertStore, GroupState, new_event
from spanscope.collector.config import Settings, env_float, env_int
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.storage import Storage
from spanscope.schemas.alerts import (
    AlertEvent,
    AlertNotification,
    AlertRule,
    DeliveryResult,
    GroupEvaluation,
    NotificationRule,
    NotificationStatus,
)

log = logging.getLogger("spanscope.alerts")

StateKey = tuple[str, str, str]


@dataclass(frozen=True)
class AlertConfig:
    interval_s: float = 30.0
    # A drift report scans the baseline window too: drift rules run less often than metric rules.
    drift_interval_s: float = 300.0
    file: Path | None = None
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 3
    webhook_backoff_s: float = 0.5
    workers: int = 4
    queue_size: int = 1000

    @classmethod
    def from_env(cls) -> AlertConfig:
        path = os.environ.get("SPANSCOPE_ALERTS_FILE", "").strip()
        return cls(
            interval_s=env_float("SPANSCOPE_ALERT_INTERVAL_S", 30.0),
            drift_interval_s=env_float("SPANSCOPE_ALERT_DRIFT_INTERVAL_S", 300.0),
            file=Path(path) if path else None,
            webhook_timeout_s=env_float("SPANSCOPE_ALERT_WEBHOOK_TIMEOUT_S", 5.0),
            webhook_retries=env_int("SPANSCOPE_ALERT_WEBHOOK_RETRIES", 3),
            webhook_backoff_s=env_float("SPANSCOPE_ALERT_WEBHOOK_BACKOFF_S", 0.5),
        )


def dedup_key(project: str, rule_id: str, group_key: str, status: str, episode: float) -> str:
    """Same for every attempt of one notification, including after a restart."""
    raw = f"{project}\0{rule_id}\0{group_key}\0{status}\0{round(episode * 1000)}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def notification(
    rule: AlertRule, g: GroupEvaluation, status: NotificationStatus, episode: float, now: float
) -> AlertNotification:
    return AlertNotification(
        status=status,
        dedup_key=dedup_key(rule.project_id, rule.rule_id, g.group_key, status, episode),
        project=rule.project_id,
        rule=NotificationRule(
            id=rule.rule_id,
            name=rule.name,
            kind=rule.kind,
            metric=rule.metric.value if rule.metric else None,
            window=rule.window,
            operator=rule.operator,
            threshold=rule.threshold,
            group_by=rule.group_by.value if rule.group_by else None,
            filters={k: v for k, v in rule.filters.model_dump().items() if v},
            drift=rule.drift,
        ),
        group=g.group,
        group_key=g.group_key,
        value=g.value,
        samples=g.samples,
        message=g.detail,
        started_at=datetime.fromtimestamp(episode, UTC),
        evaluated_at=datetime.fromtimestamp(now, UTC),
    )


class AlertService:
    """start()/stop() like every collector service; the API reads and drives it too."""

    def __init__(
        self,
        storage: Storage,
        settings: Settings,
        metrics: CollectorMetrics,
        config: AlertConfig | None = None,
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.metrics = metrics
        self.config = config or AlertConfig.from_env()
        self.store = AlertStore(storage)
        self.dispatcher = WebhookDispatcher(
            self._delivered,
            workers=self.config.workers,
            queue_size=self.config.queue_size,
            timeout_s=self.config.webhook_timeout_s,
            retries=self.config.webhook_retries,
            backoff_s=self.config.webhook_backoff_s,
        )
        self.file_error: str | None = None
        self.last_evaluated: dict[tuple[str, str], float] = {}
        self.last_error: dict[tuple[str, str], str] = {}
        self._states: dict[StateKey, GroupState] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spanscope-alerts", daemon=True)
        self._prepared = False
        self.started = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._prepare()
        self.dispatcher.start()
        if self.config.interval_s > 0:
            self._thread.start()
        self.started = True

    def _prepare(self) -> bool:
        """Restores the persisted states and loads the alerts file; retried by the loop until it works."""
        if self._prepared:
            return True
        try:
            self._states = self.store.states()
            self.load_file()
        except Exception as exc:
            log.warning("alerts not started yet (retrying): %s", exc)
            return False
        self._prepared = True
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.dispatcher.stop()

    def problems(self) -> list[str]:
        return [f"alerts file: {self.file_error}"] if self.file_error else []

    def load_file(self) -> None:
        """Upserts the file's rules (source=file) and deletes file rules it no longer has. An invalid file
        changes nothing: the error is logged and reported by /readyz and GET /api/alerts/rules."""
        path = self.config.file
        if path is None:
            return
        try:
            rules = load_rules_file(path)
        except AlertFileError as exc:
            self.file_error = str(exc)
            log.error("alert rules not loaded: %s", exc)
            return
        self.file_error = None
        project = str(self.settings.project)
        current = {r.rule_id: r for r in self.store.rules(project)}
        wanted = set()
        for spec in rules:
            assert spec.rule_id is not None
            wanted.add(spec.rule_id)
            old = current.get(spec.rule_id)
            if old is not None and old.source == "file" and old.spec() == spec:
                continue
            if old is not None and old.source != "file":
                log.warning("alerts file %s takes over rule %r created through the API", path, spec.rule_id)
            self.store.save_rule(project, spec.rule_id, spec, "file")
        for rid, old in current.items():
            if old.source == "file" and rid not in wanted:
                self.store.delete_rule(project, old)
        log.info("loaded %d alert rule(s) from %s", len(rules), path)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if self._prepare():
                    self.evaluate_all()
            except Exception as exc:
                self.metrics.alert_evaluations.labels("error").inc()
                log.warning("alert evaluation failed: %s", exc)
            self._stop.wait(max(0.05, self.config.interval_s - (time.monotonic() - started)))

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, rule: AlertRule, now: float | None = None) -> Evaluation:
        """The rule's groups now, without changing any state."""
        if rule.kind == "drift":
            from spanscope.collector.alerts.drift import evaluate_drift

            return evaluate_drift(self.storage, rule, now)
        ev = evaluate_metric(self.storage, rule, now)
        seen = {g.group_key for g in ev.groups}
        with self._lock:
            known = [k[2] for k, s in self._states.items() if k[:2] == (rule.project_id, rule.rule_id)]
        extra = [missing_group(rule, gk) for gk in known if gk not in seen]
        if not ev.groups and rule.group_by is None:
            extra.append(missing_group(rule, ""))
        return Evaluation(ev.window, [*ev.groups, *extra])

    def evaluate_all(self, now: float | None = None) -> None:
        for rule in self.store.rules():
            if self._stop.is_set():
                return
            if not rule.enabled:
                continue
            key = (rule.project_id, rule.rule_id)
            last = self.last_evaluated.get(key)
            if rule.kind == "drift" and last is not None and time.time() - last < self.config.drift_interval_s:
                continue
            try:
                self.apply(rule, self.evaluate(rule, now), now)
                self.last_error.pop(key, None)
                self.metrics.alert_evaluations.labels("ok").inc()
            except Exception as exc:
                self.last_error[key] = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                self.metrics.alert_evaluations.labels("error").inc()
                log.warning("alert rule %s/%s failed: %s", rule.project_id, rule.rule_id, self.last_error[key])
            self.last_evaluated[key] = time.time()

    def apply(self, rule: AlertRule, ev: Evaluation, now: float | None = None) -> None:
        """Moves each group's state and queues the notifications that follow."""
        t = now if now is not None else time.time()
        changed: list[tuple[str, str, str, GroupState]] = []
        events: list[AlertEvent] = []
        outgoing: list[AlertNotification] = []
        with self._lock:
            for g in ev.groups:
                key = (rule.project_id, rule.rule_id, g.group_key)
                s = self._states.get(key)
                if s is None:
                    if not g.breached:
                        continue
                    s = GroupState()
                s.value, s.samples = g.value, g.samples
                if g.breached and s.state != "firing":
                    event, note = self._fire(rule, g, s, t)
                elif not g.breached and s.state == "firing":
                    event, note = self._resolve(rule, g, s, t)
                else:
                    continue
                self._states[key] = s
                changed.append((rule.project_id, rule.rule_id, g.group_key, s))
                events.append(event)
                if note is not None:
                    outgoing.append(note)
        # Notify first: a failing history insert must not swallow the notification (it is raised after).
        for note in outgoing:
            for url in rule.webhooks:
                ok = self.dispatcher.submit(Delivery(rule.project_id, rule.rule_id, rule.name, url, rule.secret, note))
                if not ok:
                    self.metrics.alert_notifications.labels("dropped").inc()
                    events.append(self._delivery_event(rule.rule_id, rule.name, note, url, None, "dropped"))
        self.store.save_states(changed)
        self.store.add_events(rule.project_id, events)

    def _fire(
        self, rule: AlertRule, g: GroupEvaluation, s: GroupState, t: float
    ) -> tuple[AlertEvent, AlertNotification | None]:
        s.state, s.since = "firing", t
        cooling = s.last_notified_at is not None and t - s.last_notified_at < rule.cooldown_s
        note = notification(rule, g, "firing", t, t)
        if cooling:
            delivery = "suppressed"
            self.metrics.alert_notifications.labels("suppressed").inc()
        elif not rule.webhooks:
            delivery = "no_webhooks"
        else:
            delivery = "queued"
        s.notified = delivery == "queued"
        if s.notified:
            s.last_notified_at = t
        return self._state_event(rule, g, "firing", note, delivery), note if s.notified else None

    def _resolve(
        self, rule: AlertRule, g: GroupEvaluation, s: GroupState, t: float
    ) -> tuple[AlertEvent, AlertNotification | None]:
        note = notification(rule, g, "resolved", s.since, t)
        send = s.notified and rule.notify_resolved and bool(rule.webhooks)
        delivery = "queued" if send else ("disabled" if s.notified and not rule.notify_resolved else "suppressed")
        s.state, s.since, s.notified = "ok", t, False
        return self._state_event(rule, g, "resolved", note, delivery), note if send else None

    @staticmethod
    def _state_event(
        rule: AlertRule, g: GroupEvaluation, event: str, note: AlertNotification, delivery: str
    ) -> AlertEvent:
        return new_event(
            rule_id=rule.rule_id,
            rule_name=rule.name,
            group_key=g.group_key,
            event=event,
            value=g.value,
            threshold=rule.threshold,
            samples=g.samples,
            message=g.detail,
            dedup_key=note.dedup_key,
            delivery=delivery,
        )

    @staticmethod
    def _delivery_event(
        rule_id: str,
        rule_name: str,
        note: AlertNotification,
        url: str,
        result: DeliveryResult | None,
        delivery: str,
    ) -> AlertEvent:
        return new_event(
            rule_id=rule_id,
            rule_name=rule_name,
            group_key=note.group_key,
            event="delivered" if result is not None and result.ok else "delivery_failed",
            value=note.value,
            threshold=note.rule.threshold,
            samples=note.samples,
            message=f"{note.status}: {note.message}",
            dedup_key=note.dedup_key,
            delivery=delivery,
            webhook_url=url,
            http_status=result.http_status if result else 0,
            attempts=result.attempts if result else 0,
            error=result.error if result else "the delivery queue was full",
        )

    def _delivered(self, d: Delivery, result: DeliveryResult) -> None:
        outcome = "delivered" if result.ok else "failed"
        self.metrics.alert_notifications.labels(outcome).inc()
        if not result.ok:
            log.warning("webhook %s failed after %d attempt(s): %s", d.url, result.attempts, result.error)
        self.store.add_events(
            d.project, [self._delivery_event(d.rule_id, d.rule_name, d.notification, d.url, result, outcome)]
        )

    # ------------------------------------------------------------------ for the API

    def forget(self, project: str, rule_id: str) -> None:
        with self._lock:
            for key in [k for k in self._states if k[:2] == (project, rule_id)]:
                del self._states[key]
        self.last_evaluated.pop((project, rule_id), None)
        self.last_error.pop((project, rule_id), None)

    def annotate(self, rule: AlertRule) -> AlertRule:
        """The rule as the API shows it: no secret, its groups' states, when it last ran and how."""
        key = (rule.project_id, rule.rule_id)
        with self._lock:
            states = [s.view(k[2]) for k, s in sorted(self._states.items()) if k[:2] == key and s.state == "firing"]
        last = self.last_evaluated.get(key)
        return rule.public().model_copy(
            update={
                "states": states,
                "last_evaluated_at": datetime.fromtimestamp(last, UTC) if last else None,
                "last_error": self.last_error.get(key),
            }
        )
