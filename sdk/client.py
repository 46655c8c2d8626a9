"""`init()`: wire the SDK to OpenTelemetry and the collector; `flush()`, `shutdown()`.

Provider cooperation, in order:
1. `init(tracer_provider=tp)`: our processors are added to `tp`, nothing global is touched.
2. The global provider is already an OTel SDK `TracerProvider` (the application or another tool set
   it up): our processors are added to it, so its spans and ours share one pipeline and nest.
3. Otherwise we create a `TracerProvider` with our resource and sampler and make it global, so
   other instrumentations in the process (e.g. opentelemetry-instrumentation-openai-v2) nest
   under `@observe` spans.
In cases 1 and 2 the provider's sampler stays as the application set it (use
`spanscope.make_sampler` there); our resource attributes are added at export time when missing.

Export: OTLP/HTTP protobuf, gzip, to `{endpoint}/v1/traces`, `Authorization: Bearer <api_key>`
when a key is set, behind a bounded batch processor with a short export timeout. The collector
being down never blocks or breaks the application: spans beyond the queue are dropped and
counted (`stats()`), and at exit we stop trying after the first failure.

Environment: SPANSCOPE_ENDPOINT, SPANSCOPE_API_KEY, SPANSCOPE_PROJECT, SPANSCOPE_ENVIRONMENT,
SPANSCOPE_RELEASE, SPANSCOPE_SAMPLE_RATE, SPANSCOPE_ENABLED (false/0 turns tracing off),
SPANSCOPE_CAPTURE_CONTENT (false/0 turns input/output capture off), OTEL_SERVICE_NAME.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from weakref import WeakSet

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.types import AttributeValue
from spanscope.schemas import attributes as A

from .capture import DEFAULT_MAX_CHARS
from .diagnostics import internal_error, log_once
from .export import GuardedExporter, SpanscopeSpanProcessor
from .propagation import PropagatedAttributesProcessor
from .sampling import make_sampler
from .scores import ScoreSender, get_sender, set_sender
from .state import SDK_VERSION, STATE, TRACER_NAME

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"
TRACES_PATH = "/v1/traces"


@dataclass
class Client:
    """What `init()` set up; returned for inspection and tests."""

    tracer_provider: TracerProvider | None
    processor: SpanscopeSpanProcessor | None
    endpoint: str
    owns_provider: bool
    is_global: bool
    resource_attributes: dict[str, AttributeValue] = field(default_factory=dict)


_lock = threading.RLock()
_client: Client | None = None
_with_propagation: WeakSet[TracerProvider] = WeakSet()
_hooks_installed = False


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() not in ("0", "false", "no", "off")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        log_once(f"env:{name}", "spanscope: %s=%r is not a number; using %s", name, raw, default)
        return default


def get_client() -> Client | None:
    return _client


def _resource_attributes(
    service_name: str | None, project: str | None, environment: str | None, release: str | None
) -> dict[str, AttributeValue]:
    attrs: dict[str, AttributeValue] = {}
    if service_name:
        attrs[A.SERVICE_NAME] = service_name
    if release:
        attrs[A.SERVICE_VERSION] = release
    if environment:
        attrs[A.DEPLOYMENT_ENVIRONMENT] = environment
    if project:
        attrs[A.SS_PROJECT] = project
    return attrs


def _default_exporter(
    endpoint: str, api_key: str | None, timeout_s: float, headers: Mapping[str, str] | None
) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    all_headers = dict(headers or {})
    if api_key:
        all_headers["Authorization"] = f"Bearer {api_key}"
    return OTLPSpanExporter(
        endpoint=endpoint + TRACES_PATH,
        headers=all_headers,
        timeout=timeout_s,
        compression=Compression.Gzip,
    )


def _choose_provider(
    tracer_provider: TracerProvider | None,
    resource_attrs: dict[str, AttributeValue],
    sample_rate: float | None,
    set_global: bool,
) -> tuple[TracerProvider, bool, bool]:
    """(provider, we created it, it is the global one)."""
    if tracer_provider is not None:
        if sample_rate is not None:
            log_once(
                "init:sampler", "spanscope: sample_rate ignored; the given tracer_provider keeps its sampler"
            )
        return tracer_provider, False, trace.get_tracer_provider() is tracer_provider
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if sample_rate is not None and sample_rate < 1.0:
            log_once(
                "init:sampler",
                "spanscope: sample_rate ignored; the application's TracerProvider keeps its sampler "
                "(give it spanscope.make_sampler(rate))",
            )
        return current, False, True
    provider = TracerProvider(
        resource=Resource.create(resource_attrs),
        sampler=make_sampler(1.0 if sample_rate is None else sample_rate),
    )
    is_global = False
    if set_global:
        trace.set_tracer_provider(provider)
        is_global = trace.get_tracer_provider() is provider
        if not is_global:
            log_once(
                "init:global",
                "spanscope: a non-SDK global TracerProvider is set; spanscope exports its own spans only",
            )
    return provider, True, is_global


def init(
    *,
    endpoint: str | None = None,
    api_key: str | None = None,
    project: str | None = None,
    service: str | None = None,
    environment: str | None = None,
    release: str | None = None,
    sample_rate: float | None = None,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    mask: Callable[[str], str] | None = None,
    max_value_chars: int = DEFAULT_MAX_CHARS,
    tracer_provider: TracerProvider | None = None,
    exporter: SpanExporter | None = None,
    headers: Mapping[str, str] | None = None,
    set_global: bool = True,
    enabled: bool | None = None,
    max_queue_size: int = 2048,
    max_export_batch_size: int = 512,
    schedule_delay_millis: float = 1000,
    export_timeout_s: float = 5.0,
) -> Client:
    """Set up tracing to the spanscope collector. Call once at start-up; calling again replaces the
    previous exporter and settings. Never raises for a bad environment: problems are logged once.

    endpoint: collector base URL (SPANSCOPE_ENDPOINT, default http://127.0.0.1:4318).
    api_key: sent as `Authorization: Bearer ...` with spans and scores (SPANSCOPE_API_KEY).
    project, service, environment, release: resource attributes `spanscope.project`,
        `service.name`, `deployment.environment.name`, `service.version`.
    sample_rate: share of traces kept (0..1), whole traces (SPANSCOPE_SAMPLE_RATE, default 1).
    capture_input / capture_output: record function inputs/outputs (default on; the environment
        variable SPANSCOPE_CAPTURE_CONTENT=false turns both off).
    mask: `str -> str` applied to every captured text (see `spanscope.sdk.redact`).
    max_value_chars: longer captured values are cut and marked.
    tracer_provider: use this provider instead of the global one.
    exporter: export spans with this exporter instead of OTLP/HTTP (tests, custom pipelines).
    enabled: False makes every decorator a pass-through (SPANSCOPE_ENABLED).
    max_queue_size, max_export_batch_size, schedule_delay_millis, export_timeout_s: the batch
        processor's bounds; the queue bounds memory when the collector is down.
    """
    global _client
    with _lock:
        previous = _client
        if previous is not None:
            _close_client(previous, timeout_s=1.0, retire=True)
        endpoint = (endpoint or os.environ.get("SPANSCOPE_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        if endpoint.endswith(TRACES_PATH):  # accept the full traces URL too
            endpoint = endpoint[: -len(TRACES_PATH)]
        api_key = api_key or os.environ.get("SPANSCOPE_API_KEY") or None
        project = project or os.environ.get("SPANSCOPE_PROJECT") or None
        environment = environment or os.environ.get("SPANSCOPE_ENVIRONMENT") or None
        release = release or os.environ.get("SPANSCOPE_RELEASE") or None
        service = service or os.environ.get("OTEL_SERVICE_NAME") or None
        if sample_rate is None and os.environ.get("SPANSCOPE_SAMPLE_RATE"):
            sample_rate = _env_float("SPANSCOPE_SAMPLE_RATE", 1.0)
        if enabled is None:
            enabled = _env_bool("SPANSCOPE_ENABLED", True)
        capture_default = _env_bool("SPANSCOPE_CAPTURE_CONTENT", True)

        STATE.capture_input = capture_default if capture_input is None else bool(capture_input)
        STATE.capture_output = capture_default if capture_output is None else bool(capture_output)
        STATE.mask = mask
        STATE.max_chars = max(16, int(max_value_chars))
        STATE.enabled = bool(enabled)
        resource_attrs = _resource_attributes(service, project, environment, release)

        if not enabled:
            STATE.tracer = trace.get_tracer(TRACER_NAME, SDK_VERSION)
            set_sender(None)
            _client = Client(None, None, endpoint, False, False, resource_attrs)
            return _client

        processor: SpanscopeSpanProcessor | None = None
        provider: TracerProvider | None = None
        owns = is_global = False
        try:
            provider, owns, is_global = _choose_provider(
                tracer_provider, resource_attrs, sample_rate, set_global
            )
            span_exporter = exporter or _default_exporter(endpoint, api_key, export_timeout_s, headers)
            guard = GuardedExporter(
                span_exporter,
                resource_attributes=None if owns else resource_attrs,
                target=endpoint + TRACES_PATH if exporter is None else "",
            )
            processor = SpanscopeSpanProcessor(
                guard,
                max_queue_size=max_queue_size,
                schedule_delay_millis=schedule_delay_millis,
                max_export_batch_size=max_export_batch_size,
                export_timeout_millis=export_timeout_s * 1000,
            )
            if provider not in _with_propagation:
                provider.add_span_processor(PropagatedAttributesProcessor())
                _with_propagation.add(provider)
            provider.add_span_processor(processor)
            STATE.tracer = provider.get_tracer(TRACER_NAME, SDK_VERSION)
        except Exception as exc:
            internal_error("init", exc)
            STATE.tracer = trace.get_tracer(TRACER_NAME, SDK_VERSION)

        set_sender(ScoreSender(endpoint, api_key, timeout_s=export_timeout_s))
        _client = Client(provider, processor, endpoint, owns, is_global, resource_attrs)
        _install_hooks()
        return _client


def flush(timeout_s: float = 5.0) -> bool:
    """Send everything queued (spans and scores) now; True if all of it went out within the time."""
    ok = True
    client = _client
    try:
        if client is not None and client.processor is not None:
            ok = client.processor.flush(timeout_s) and ok
        sender = get_sender()
        if sender is not None:
            ok = sender.flush(timeout_s) and ok
    except Exception as exc:
        internal_error("flush", exc)
        return False
    return ok


def _close_client(client: Client, timeout_s: float, retire: bool = False) -> None:
    sender = get_sender()
    if sender is not None:
        try:
            sender.close(timeout_s)
        except Exception as exc:
            internal_error("score shutdown", exc)
        set_sender(None)
    if client.processor is not None:
        client.processor.retired = retire
        try:
            client.processor.shutdown()
        except Exception as exc:
            internal_error("shutdown", exc)


def shutdown(timeout_s: float = 5.0) -> None:
    """Flush and stop spanscope's exporter and score sender; later spans and scores are dropped
    (and counted). The TracerProvider itself is left to its owner. Called automatically at exit."""
    global _client
    with _lock:
        client = _client
        if client is None:
            return
        _close_client(client, timeout_s)
        STATE.tracer = trace.get_tracer(TRACER_NAME, SDK_VERSION)
        _client = None


def _at_exit() -> None:
    with contextlib.suppress(Exception):
        shutdown(timeout_s=2.0)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.RLock()  # another thread of the parent may have held it at fork time
    sender = get_sender()
    if sender is not None:
        sender.after_fork()


def _install_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)
