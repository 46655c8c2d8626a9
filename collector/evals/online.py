"""Online evaluators: every span the flusher stores is checked by the evaluators configured for its
project, and the results are inserted into `scores` with source `evaluator`.

The flusher hands over its JSONEachRow payloads after each insert (`on_stored`); they go onto a
bounded queue (dropped and counted when full: evaluation never slows ingestion) and worker threads
evaluate them. Score inserts carry a token made from the payload and the configuration, and score
ids are derived from (span, evaluator, configuration), so a batch replayed after a crash or a retried
insert stores nothing twice.

GenAI content sent as OTLP log records may reach the collector after its span. A generation stored
without output is therefore held for `content_wait_s` and its input/output are read back from
`spans` before it is evaluated; content later than that is not evaluated.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
from spanscope.collector.config import Settings, env_float
from spanscope.collector.evals.config import ConfigError, ProjectConfig, file_path, load_file, read_stored
from spanscope.collector.evals.evaluators import TIMEOUT_PREFIX, config_fingerprint, evaluate_one, matches
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.storage import Storage
from spanscope.schemas.evals import EvalRecord, EvalResult, EvaluatorConfig, EvaluatorsDocument

log = logging.getLogger("spanscope.evals")

REFRESH_S = 30.0  # stored configuration is re-read this often (several collectors may share it)
INSERT_ATTEMPTS = 4
MAX_QUEUE_BYTES = 64 << 20  # stored payloads waiting for evaluation, beyond which they are dropped
_STOP = object()
_CONTENT_KINDS = frozenset({"generation", "embedding"})


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def record_of(row: dict[str, Any]) -> EvalRecord:
    """A stored `spans` row as the evaluators see it."""
    attrs = row.get("attributes")
    ttft = _float(row.get("ttft_ms"))
    return EvalRecord(
        project_id=str(row.get("project_id") or ""),
        trace_id=str(row.get("trace_id") or ""),
        span_id=str(row.get("span_id") or ""),
        span_name=str(row.get("name") or ""),
        kind=str(row.get("kind") or ""),
        model=str(row.get("model") or ""),
        prompt_name=str(row.get("prompt_name") or ""),
        prompt_version=str(row.get("prompt_version") or ""),
        input=str(row.get("input") or ""),
        output=str(row.get("output") or ""),
        latency_ms=_float(row.get("duration_ms")),
        ttft_ms=ttft if ttft else None,
        status=str(row.get("status") or ""),
        attributes={str(k): str(v) for k, v in attrs.items()} if isinstance(attrs, dict) else {},
    )


def _sampled(config: EvaluatorConfig, record: EvalRecord) -> bool:
    """Deterministic per (span, evaluator), so a replayed span gets the same decision."""
    if config.sample_rate >= 1.0:
        return True
    digest = hashlib.blake2b(f"{record.span_id}:{config.name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < config.sample_rate


def _reads_text(config: EvaluatorConfig) -> bool:
    return config.type != "latency_slo"


def outcome_of(result: EvalResult | None) -> str:
    if result is None:
        return "skipped"
    if result.error is None:
        return "scored"
    return "timeout" if result.error.startswith(TIMEOUT_PREFIX) else "error"


class OnlineEvaluators:
    """Background service: start() after migrations, stop() before storage closes."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        metrics: CollectorMetrics,
        *,
        workers: int = 2,
        max_queue: int = 1000,
        content_wait_s: float | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.metrics = metrics
        self.workers = workers
        self.content_wait_s = (
            content_wait_s
            if content_wait_s is not None
            else env_float("SPANSCOPE_EVAL_CONTENT_WAIT_S", 3.0)
        )
        self._queue: queue.Queue[Any] = queue.Queue(max_queue)
        self._queued_bytes = 0  # of the payloads in _queue (a request's rows can be megabytes)
        self._configs: dict[str, ProjectConfig] = {}
        self._file: tuple[str, EvaluatorsDocument] | None = None
        self._lock = threading.Lock()
        self._waiting: list[tuple[float, dict[str, Any]]] = []
        self._waiting_cond = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._refreshed = 0.0
        self.file_error = ""

    # ------------------------------------------------------------------ configuration

    def load_file(self) -> None:
        """Reads SPANSCOPE_EVALUATORS_FILE; a broken file is logged and leaves evaluators off."""
        path = file_path(self.settings.extra)
        if path is None:
            return
        try:
            project, doc = load_file(path)
        except ConfigError as exc:
            self.file_error = str(exc)
            log.error("evaluators file not used: %s", exc)
            return
        self._file = (project or self.settings.project, doc)
        log.info("evaluators file %s: %d evaluator(s)", path, len(doc.evaluators))

    def refresh(self) -> None:
        """Rebuilds every project's configuration from the stored copies and the file."""
        stored = read_stored(self.storage)
        configs: dict[str, ProjectConfig] = {}
        if self._file is not None:
            configs[self._file[0]] = ProjectConfig(self._file[1], "file")
        for project, (doc, updated) in stored.items():
            if doc is not None:
                configs[project] = ProjectConfig(doc, "api", updated)
        with self._lock:
            self._configs = configs
            self._refreshed = time.monotonic()

    def config_of(self, project: str) -> ProjectConfig:
        with self._lock:
            return self._configs.get(project) or ProjectConfig()

    def set_stored(self, project: str, doc: EvaluatorsDocument | None) -> None:
        """Applies a configuration the API just stored (None: back to the file's, if any)."""
        with self._lock:
            if doc is not None:
                self._configs[project] = ProjectConfig(doc, "api", time.strftime("%Y-%m-%d %H:%M:%S"))
            elif self._file is not None and self._file[0] == project:
                self._configs[project] = ProjectConfig(self._file[1], "file")
            else:
                self._configs.pop(project, None)

    def problems(self) -> list[str]:
        """Shown by /readyz as warnings: evaluation is optional, ingestion goes on without it."""
        return [f"evaluators file not used: {self.file_error}"] if self.file_error else []

    def _any_active(self) -> bool:
        with self._lock:
            return any(c.active for c in self._configs.values())

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.load_file()
        try:
            self.refresh()
        except Exception as exc:
            log.warning("reading stored evaluator configuration failed: %s", exc)
            if self._file is not None:
                self._configs = {self._file[0]: ProjectConfig(self._file[1], "file")}
        self._started = True
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"spanscope-evals-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        t = threading.Thread(target=self._wait_for_content, name="spanscope-evals-content", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        with self._waiting_cond:
            self._waiting_cond.notify_all()
        for _ in range(self.workers):
            try:
                self._queue.put(_STOP, timeout=0.5)
            except queue.Full:
                break
        deadline = time.monotonic() + timeout_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ intake

    def on_stored(self, payloads: list[bytes]) -> None:
        """Called by the flusher after each insert; never blocks it."""
        if self._started and not self._any_active():
            return
        for payload in payloads:
            try:
                if self._queued_bytes + len(payload) > MAX_QUEUE_BYTES:
                    raise queue.Full
                self._queue.put_nowait(payload)
                with self._lock:
                    self._queued_bytes += len(payload)
            except queue.Full:
                self.metrics.evaluation_dropped.labels("queue_full").inc(payload.count(b"\n") + 1)

    def pending(self) -> int:
        with self._waiting_cond:
            return self._queue.qsize() + len(self._waiting)

    # ------------------------------------------------------------------ work

    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._queue.get()
            if item is _STOP:
                return
            with self._lock:
                self._queued_bytes -= len(item)
            try:
                if time.monotonic() - self._refreshed > REFRESH_S:
                    self._refresh_quietly()
                self.process(item)
            except Exception:
                log.exception("evaluating a batch of spans failed")

    def _refresh_quietly(self) -> None:
        try:
            self.refresh()
        except Exception as exc:
            self._refreshed = time.monotonic()  # try again after REFRESH_S, not on every batch
            log.warning("re-reading evaluator configuration failed: %s", exc)

    def process(self, payload: bytes) -> None:
        """Evaluates one stored payload; generations still without output wait for their content."""
        ready: list[dict[str, Any]] = []
        due = time.monotonic() + self.content_wait_s
        for line in payload.split(b"\n"):
            if not line.strip():
                continue
            row = orjson.loads(line)
            config = self.config_of(str(row.get("project_id") or ""))
            if not config.active:
                continue
            if (
                self.content_wait_s > 0
                and not row.get("output")
                and row.get("kind") in _CONTENT_KINDS
                and any(_reads_text(c) for c in config.active)
            ):
                with self._waiting_cond:
                    self._waiting.append((due, row))
                    self._waiting_cond.notify()
                continue
            ready.append(row)
        if ready:
            self._evaluate_and_store(ready, payload)

    def _wait_for_content(self) -> None:
        while not self._stop.is_set():
            with self._waiting_cond:
                now = time.monotonic()
                due = [row for t, row in self._waiting if t <= now]
                self._waiting = [(t, row) for t, row in self._waiting if t > now]
                if not due:
                    nxt = min((t for t, _ in self._waiting), default=now + 1.0)
                    self._waiting_cond.wait(max(0.05, nxt - now))
                    continue
            try:
                self._fill_content(due)
            except Exception as exc:
                log.warning("reading late content failed, evaluating what was stored: %s", exc)
            try:
                key = b"".join(orjson.dumps([r.get("trace_id"), r.get("span_id")]) for r in due)
                self._evaluate_and_store(due, b"late:" + key)
            except Exception:
                log.exception("evaluating spans that waited for content failed")

    def _fill_content(self, rows: list[dict[str, Any]]) -> None:
        """Input/output of these spans as stored now (content may have been attached meanwhile)."""
        by_project: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_project.setdefault(str(r.get("project_id") or ""), []).append(r)
        for project, group in by_project.items():
            starts = [float(r.get("start_time") or 0) for r in group]
            lo, hi = int(min(starts) * 1e6), int(max(starts) * 1e6) + 1
            found = self.storage.query(
                f"SELECT trace_id, span_id, input, output FROM {self.storage.table('spans')} "
                "WHERE project_id = {project:String} "
                "AND start_time >= fromUnixTimestamp64Micro({lo:Int64}) "
                "AND start_time < fromUnixTimestamp64Micro({hi:Int64}) "
                "AND toStartOfHour(start_time) >= toStartOfHour(fromUnixTimestamp64Micro({lo:Int64})) "
                "AND toStartOfHour(start_time) <= toStartOfHour(fromUnixTimestamp64Micro({hi:Int64})) "
                "AND trace_id IN {traces:Array(String)} AND span_id IN {spans:Array(String)}",
                {
                    "project": project,
                    "lo": lo,
                    "hi": hi,
                    "traces": sorted({str(r["trace_id"]) for r in group}),
                    "spans": sorted({str(r["span_id"]) for r in group}),
                },
            )
            content = {(t, s): (i, o) for t, s, i, o in found}
            for r in group:
                got = content.get((r["trace_id"], r["span_id"]))
                if got:
                    r["input"] = r.get("input") or got[0]
                    r["output"] = r.get("output") or got[1]

    def _evaluate_and_store(self, rows: Iterable[dict[str, Any]], key: bytes) -> None:
        lines: list[bytes] = []
        fingerprints: set[str] = set()
        now = f"{time.time():.6f}"
        for row in rows:
            record = record_of(row)
            config = self.config_of(record.project_id)
            fingerprint = config_fingerprint(config.document.evaluators, config.document.schemas)
            fingerprints.add(fingerprint)
            for ev in config.active:
                if not matches(ev, record) or not _sampled(ev, record):
                    continue
                result = evaluate_one(ev, record, config.document.schemas)
                self.metrics.evaluations.labels(ev.name, outcome_of(result)).inc()
                if result is None:
                    continue
                lines.append(self._score_row(record, ev, result, fingerprint, now, row.get("retention_days")))
        if not lines:
            return
        token = hashlib.blake2b(key + b"\0" + ",".join(sorted(fingerprints)).encode(), digest_size=16).hexdigest()
        self._insert(b"\n".join(lines), f"evals-{token}", len(lines))

    def _score_row(
        self,
        record: EvalRecord,
        ev: EvaluatorConfig,
        result: EvalResult,
        fingerprint: str,
        now: str,
        retention: Any,
    ) -> bytes:
        score_id = hashlib.blake2b(
            f"{record.project_id}\0{record.trace_id}\0{record.span_id}\0{ev.name}\0{fingerprint}".encode(),
            digest_size=16,
        ).hexdigest()
        comment = f"error: {result.error}" if result.error else (result.comment or "")
        return orjson.dumps(
            {
                "project_id": record.project_id,
                "score_id": score_id,
                "trace_id": record.trace_id,
                "span_id": record.span_id,
                "name": ev.name,
                "value": result.value if not result.error else None,
                "string_value": (result.string_value or "") if not result.error else "",
                "data_type": result.data_type,
                "source": "evaluator",
                "comment": comment[:10_000],
                "author": f"evaluator:{ev.type}",
                "timestamp": now,
                "retention_days": int(retention or self.settings.retention_days),
            }
        )

    def _insert(self, payload: bytes, token: str, rows: int) -> None:
        delay = 0.5
        for attempt in range(INSERT_ATTEMPTS):
            try:
                self.storage.insert_json_rows("scores", payload, dedup_token=token)
                return
            except Exception as exc:
                self.storage.reset()
                if attempt == INSERT_ATTEMPTS - 1 or self._stop.is_set():
                    log.warning("dropping %d evaluator scores: %s", rows, str(exc).splitlines()[0][:300])
                    self.metrics.evaluation_dropped.labels("insert_failed").inc(rows)
                    return
                self._stop.wait(delay)
                delay *= 2
