"""The collector's FastAPI application: OTLP/HTTP ingest, health, metrics and the query API."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import orjson
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from google.rpc import status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from spanscope.collector import otlp
from spanscope.collector.alerts.service import AlertService
from spanscope.collector.api import alerts as alerts_api
from spanscope.collector.api import cost as cost_api
from spanscope.collector.api import datasets as datasets_api
from spanscope.collector.api import drift as drift_api
from spanscope.collector.api import evalruns as evalruns_api
from spanscope.collector.api import evaluators as evaluators_api
from spanscope.collector.api import filters as filters_api
from spanscope.collector.api import hard_examples as hard_examples_api
from spanscope.collector.api import keys as keys_api
from spanscope.collector.api import metrics as metrics_api
from spanscope.collector.api import projects as projects_api
from spanscope.collector.api import prompts as prompts_api
from spanscope.collector.api import redaction as redaction_api
from spanscope.collector.api import scores as scores_api
from spanscope.collector.api import sessions as sessions_api
from spanscope.collector.api import sql as sql_api
from spanscope.collector.api import traces as traces_api
from spanscope.collector.api.deps import collector_of
from spanscope.collector.config import Settings
from spanscope.collector.evals.online import OnlineEvaluators
from spanscope.collector.flusher import Flusher
from spanscope.collector.ingest import Ingestor, IngestResult, Overloaded
from spanscope.collector.metrics import CollectorMetrics
from spanscope.collector.pricing import PriceTable
from spanscope.collector.security.auth import WWW_AUTHENTICATE, Authenticator, AuthError, require_all_projects
from spanscope.collector.security.keys import KeyStore, configured_keys
from spanscope.collector.security.projects import ProjectStore
from spanscope.collector.security.redaction import RedactionRefresher
from spanscope.collector.storage import Storage
from spanscope.collector.wal import WalFullError, WriteAheadLog
from starlette.concurrency import run_in_threadpool

log = logging.getLogger("spanscope.collector")

RPC_INVALID_ARGUMENT = 3
RPC_PERMISSION_DENIED = 7
RPC_UNAUTHENTICATED = 16
RPC_RESOURCE_EXHAUSTED = 8
RPC_UNAVAILABLE = 14


class Service(Protocol):
    """A background part (evaluators, alert rules…) started once storage is migrated."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class Collector:
    """Everything one running collector owns; built by the app's lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = CollectorMetrics()
        self.prices = PriceTable.load(settings.price_file)
        self.storage = Storage(settings.clickhouse_url, settings.data_dir, settings.cluster)
        self.wal = WriteAheadLog(
            settings.data_dir / "wal",
            segment_bytes=settings.wal_segment_bytes,
            max_backlog_bytes=settings.wal_max_backlog_bytes,
        )
        self.ingestor = Ingestor(settings, self.wal, self.metrics, self.prices)
        self.projects = ProjectStore(self.storage, settings.retention_days)
        self.ingestor.retention_of = self.projects.retention_days
        self.keys = KeyStore(self.storage, configured_keys(settings))
        self.auth = Authenticator(settings.auth_enabled, self.keys, settings.project)
        self.flusher = Flusher(
            self.storage,
            self.wal,
            self.metrics,
            batch_max_rows=settings.batch_max_rows,
            batch_max_bytes=settings.batch_max_bytes,
            interval_s=settings.batch_interval_s,
        )
        # Background parts started after migrations, stopped before storage closes, in list order.
        self.services: list[Service] = []
        self.services.append(self.projects)
        self.services.append(self.keys)
        self.services.append(RedactionRefresher(self.storage, self.ingestor.redaction))
        self.services.append(AlertService(self.storage, settings, self.metrics))
        self.evaluators = OnlineEvaluators(settings, self.storage, self.metrics)
        self.services.append(self.evaluators)
        self.flusher.on_stored = self.evaluators.on_stored
        self.storage_ready = threading.Event()
        self.storage_error = ""
        self._running = False
        self._init_thread = threading.Thread(target=self._init_storage, name="spanscope-init", daemon=True)

    def start(self) -> None:
        self._init_thread.start()

    def _init_storage(self) -> None:
        """Migrates, restores pending content, then starts the flusher; retries while storage is down."""
        delay = 0.5
        while True:
            try:
                self.storage.migrate()
                rows = self.storage.query_dicts(
                    "SELECT trace_id, span_id, input, output, finish_reasons "
                    f"FROM {self.storage.table('span_content')} "
                    "WHERE time > now64(6) - INTERVAL 30 MINUTE ORDER BY time DESC LIMIT 100000"
                )
                self.ingestor.restore_pending(rows)
                break
            except Exception as exc:
                self.storage_error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                log.warning("storage not ready, retrying in %.1fs: %s", delay, self.storage_error)
                self.storage.reset()
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
        self.storage_error = ""
        self.flusher.start()
        self._running = True
        for service in self.services:  # before readiness: an API that needs a service never sees it unstarted
            try:
                service.start()
            except Exception:
                log.exception("starting %s failed", type(service).__name__)
        self.storage_ready.set()

    def stop(self) -> None:
        if self._running:
            for service in reversed(self.services):
                try:
                    service.stop()
                except Exception:
                    log.exception("stopping %s failed", type(service).__name__)
            self.flusher.stop()
        self.ingestor.close()
        self.wal.close()
        self.storage.close()


def _otlp_error(
    mtype: str | None, status: int, message: str, rpc_code: int, retry_after: int | None = None
) -> Response:
    headers = {"Retry-After": str(retry_after)} if retry_after else None
    if mtype == otlp.PROTOBUF:
        body = status_pb2.Status(code=rpc_code, message=message).SerializeToString()
        return Response(body, status_code=status, media_type=otlp.PROTOBUF, headers=headers)
    return JSONResponse({"code": rpc_code, "message": message}, status_code=status, headers=headers)


def _partial(mtype: str, result: IngestResult, signal: str) -> Response:
    responses: dict[str, Any] = {
        "traces": (ExportTraceServiceResponse, "rejected_spans", "rejectedSpans"),
        "logs": (ExportLogsServiceResponse, "rejected_log_records", "rejectedLogRecords"),
        "metrics": (ExportMetricsServiceResponse, "rejected_data_points", "rejectedDataPoints"),
    }
    cls, field, camel = responses[signal]
    if mtype == otlp.PROTOBUF:
        msg = cls()
        if result.rejected:
            setattr(msg.partial_success, field, result.rejected)
            msg.partial_success.error_message = result.message
        return Response(msg.SerializeToString(), media_type=otlp.PROTOBUF)
    body: dict[str, Any] = {}
    if result.rejected:
        body["partialSuccess"] = {camel: str(result.rejected), "errorMessage": result.message}
    return Response(orjson.dumps(body), media_type=otlp.JSON)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        collector = Collector(settings)
        app.state.collector = collector
        collector.start()
        try:
            yield
        finally:
            collector.stop()

    app = FastAPI(
        title="spanscope collector",
        version="0.1.0",
        description="OTLP/HTTP ingest for LLM traces and the spanscope query API.",
        lifespan=lifespan,
    )

    async def _ingest(request: Request, signal: str) -> Response:
        c = collector_of(request)
        mtype: str | None = None
        with contextlib.suppress(otlp.PayloadError):  # only to shape an auth error; checked below
            mtype = otlp.media_type(request.headers.get("content-type"))
        try:
            project, from_resource = (
                await run_in_threadpool(c.auth.ingest_project, request.headers) if c.auth.enabled else (None, True)
            )
        except AuthError as exc:
            c.metrics.requests.labels(signal, str(exc.status)).inc()
            code = {401: RPC_UNAUTHENTICATED, 403: RPC_PERMISSION_DENIED}.get(exc.status, RPC_UNAVAILABLE)
            response = _otlp_error(mtype, exc.status, str(exc), code, 2 if exc.status == 503 else None)
            if exc.status == 401:
                response.headers.update(WWW_AUTHENTICATE)
            return response
        try:
            mtype = otlp.media_type(request.headers.get("content-type"))
            declared = int(request.headers.get("content-length") or 0)
            if declared > settings.max_body_bytes:
                raise otlp.PayloadError(
                    f"body of {declared} bytes exceeds the limit of {settings.max_body_bytes}", 413
                )
            body = await _read_limited(request, settings.max_body_bytes)
            enc = request.headers.get("content-encoding")
            if signal == "traces":
                result = await c.ingestor.traces(
                    body, mtype, enc, project_id=project, project_from_resource=from_resource
                )
            elif signal == "logs":
                result = await c.ingestor.logs(body, mtype, enc, project_id=project)
            else:
                raw = otlp.decompress(body, enc, settings.max_body_bytes)
                points = otlp.count_metric_points(raw, mtype)
                c.metrics.metric_points.inc(points)
                result = IngestResult(points, 0)
        except otlp.PayloadError as exc:
            c.metrics.requests.labels(signal, str(exc.status)).inc()
            return _otlp_error(mtype, exc.status, str(exc), RPC_INVALID_ARGUMENT)
        except Overloaded as exc:
            c.metrics.requests.labels(signal, str(exc.status)).inc()
            code = RPC_UNAVAILABLE if exc.status == 503 else RPC_RESOURCE_EXHAUSTED
            return _otlp_error(mtype, exc.status, str(exc), code, exc.retry_after)
        except WalFullError as exc:
            c.metrics.requests.labels(signal, "503").inc()
            return _otlp_error(mtype, 503, str(exc), RPC_UNAVAILABLE, 5)
        c.metrics.requests.labels(signal, "200").inc()
        return _partial(mtype, result, signal)

    @app.post("/v1/traces", tags=["otlp"], summary="OTLP/HTTP trace export (protobuf or JSON)")
    async def v1_traces(request: Request) -> Response:
        return await _ingest(request, "traces")

    @app.post("/v1/logs", tags=["otlp"], summary="OTLP/HTTP logs: GenAI content events are attached to spans")
    async def v1_logs(request: Request) -> Response:
        return await _ingest(request, "logs")

    @app.post("/v1/metrics", tags=["otlp"], summary="OTLP/HTTP metrics: accepted and counted")
    async def v1_metrics(request: Request) -> Response:
        return await _ingest(request, "metrics")

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz(request: Request) -> Response:
        c = collector_of(request)
        problems = []
        if not c.storage_ready.is_set():
            problems.append(f"storage not initialised: {c.storage_error or 'starting'}")
        elif not c.flusher.healthy:
            problems.append(f"storage inserts failing: {c.flusher.last_error}")
        if c.wal.backlog_bytes >= c.wal.max_backlog_bytes:
            problems.append("write-ahead log backlog full")
        body = {
            "status": "ready" if not problems else "not ready",
            "problems": problems,
            # Problems of background services (an invalid alerts file…) that must not stop ingest.
            "warnings": [w for s in c.services for w in getattr(s, "problems", list)()],
            "backlog_bytes": c.wal.backlog_bytes,
            "storage": "embedded chDB" if c.storage.embedded else "ClickHouse server",
        }
        return JSONResponse(body, status_code=200 if not problems else 503)

    # Open like /healthz: counters of the collector itself, no project's data, and scrapers often
    # carry no credentials.
    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        c = collector_of(request)
        c.metrics.queue_depth.set(c.wal.backlog_bytes)
        return Response(generate_latest(c.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Raw SQL reads every project, so with auth on it needs the instance admin key.
    app.include_router(sql_api.router, dependencies=[Depends(require_all_projects)])
    app.include_router(metrics_api.router)
    app.include_router(traces_api.router)
    app.include_router(scores_api.router)
    app.include_router(evaluators_api.router)
    app.include_router(sessions_api.router)
    app.include_router(filters_api.router)
    app.include_router(prompts_api.router)
    app.include_router(cost_api.router)
    app.include_router(drift_api.router)
    app.include_router(keys_api.router)
    app.include_router(projects_api.router)
    app.include_router(alerts_api.router)
    app.include_router(redaction_api.router)
    app.include_router(datasets_api.router)
    app.include_router(hard_examples_api.router)
    app.include_router(evalruns_api.router)
    return app


async def _read_limited(request: Request, limit: int) -> bytes:
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise otlp.PayloadError(f"body exceeds the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)
