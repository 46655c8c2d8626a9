"""`@observe` and `observation()`: spans around functions and blocks, with input and output capture.

    @spanscope.observe                                   # kind "span", name = function qualname
    def plan(question: str) -> list[str]: ...

    @spanscope.observe(kind="generation", model="gpt-4o-mini", provider="openai")
    def ask(messages: list[dict]) -> str: ...

    with spanscope.observation("rerank", kind="rerank", input=query) as obs:
        ranked = rerank(query, docs)
        obs.update(output=ranked)

Sync and async functions, generators and async generators are supported; a generator's span stays
open until the stream is exhausted or closed and its output is the aggregated stream (strings
joined, other items as a list). Exceptions of the decorated function are recorded on the span and
re-raised unchanged. Failures inside spanscope are caught and counted, never raised.

Content keys: `input.value`/`output.value` (+ mime types) for every kind; generation spans use
`gen_ai.input.messages` when an argument is a chat message list, and `gen_ai.output.messages`
(+ usage, response model, finish reasons) for string results and OpenAI/Anthropic responses;
retrieval spans put a returned document list in `gen_ai.retrieval.documents` and a string query
in `gen_ai.retrieval.query.text`.

Per-function work (signature, names, kind attributes) is done once at decoration time; the call
path only starts the span, binds arguments, encodes small values with the C JSON encoder and ends.
"""

from __future__ import annotations

import functools
import inspect
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, Unpack, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import SpanKind

from .capture import JSON_MIME, MAX_ITEMS, TEXT_MIME, ArgBinder, to_json, truncate
from .diagnostics import internal_error
from .enrich import (
    REQUEST_PARAMETERS,
    Attributes,
    SpanUpdate,
    apply_update,
    attribute_value,
    kind_attributes,
    parse_kind,
)
from .messages import looks_like_documents, looks_like_messages, parse_completion
from .state import STATE

P = ParamSpec("P")
R = TypeVar("R")

_attach = otel_context.attach
_detach = otel_context.detach
_in_context = trace.set_span_in_context


# --- errors -----------------------------------------------------------------------------------------


def record_error(span: Span, exc: BaseException) -> None:
    """Mark `span` as failed by `exc`: status ERROR, `error.type`, an `exception` event. Never raises."""
    try:
        if not span.is_recording():
            return
        cls = type(exc)
        module = cls.__module__
        error_type = (
            cls.__qualname__ if module in ("builtins", "__main__") else f"{module}.{cls.__qualname__}"
        )
        try:
            message = str(exc)
        except Exception:
            message = "<str() failed>"
        overrides: Attributes | None = None
        if STATE.mask is not None:
            message = STATE.render_text(message)
            stack = STATE.render_text("".join(traceback.format_exception(exc)))
            overrides = {A.EXCEPTION_MESSAGE: message, A.EXCEPTION_STACKTRACE: stack}
        span.record_exception(exc, attributes=overrides, escaped=True)
        span.set_attribute(A.ERROR_TYPE, error_type)
        description = f"{cls.__qualname__}: {message}" if message else cls.__qualname__
        span.set_status(Status(StatusCode.ERROR, description[:1000]))
    except Exception as inner:
        internal_error("record error", inner)


def start_span(name: str, attributes: Attributes) -> tuple[Span, object]:
    """Start a span and make it current, for the helpers. Never raises: when spanscope is off or
    OpenTelemetry fails, returns the invalid (non-recording) span and no context token."""
    if not STATE.enabled:
        return trace.INVALID_SPAN, None
    try:
        span = STATE.tracer.start_span(name, attributes=attributes)
    except Exception as exc:
        internal_error("start span", exc)
        return trace.INVALID_SPAN, None
    try:
        return span, _attach(_in_context(span))
    except Exception as exc:
        internal_error("attach context", exc)
        span.end()
        return trace.INVALID_SPAN, None


def _close(span: Span, token: object) -> None:
    """Detach `token` (when there is one) and end `span`. Never raises."""
    if token is not None:
        try:
            _detach(token)  # type: ignore[arg-type]
        except Exception as exc:
            internal_error("detach context", exc)
    try:
        span.end()
    except Exception as exc:
        internal_error("end span", exc)


# --- the handle users get ---------------------------------------------------------------------------


class Observation:
    """A handle on a span: update its facts, score it, read its ids."""

    __slots__ = ("span",)

    def __init__(self, span: Span) -> None:
        self.span = span

    @property
    def trace_id(self) -> str | None:
        context = self.span.get_span_context()
        return format(context.trace_id, "032x") if context.is_valid else None

    @property
    def span_id(self) -> str | None:
        context = self.span.get_span_context()
        return format(context.span_id, "016x") if context.is_valid else None

    def update(self, **facts: Unpack[SpanUpdate]) -> None:
        """Set facts on the span; None means "leave as is".

        `usage` takes a provider usage object or dict (OpenAI, Anthropic) or use the token counts;
        `cost` is USD; `parameters` are request parameters (temperature, max_tokens, top_p, ...);
        `documents` are retrieved documents; content is captured subject to the capture settings
        and the mask. Other keys can be set with `attributes`."""
        apply_update(self.span, **facts)

    def set_error(self, error: BaseException | str) -> None:
        """Mark the span failed without raising (e.g. a handled error worth seeing)."""
        if isinstance(error, BaseException):
            record_error(self.span, error)
        else:
            try:
                self.span.set_status(Status(StatusCode.ERROR, str(error)[:1000]))
            except Exception as exc:
                internal_error("set_error", exc)

    def score(
        self, name: str, value: float | int | bool | str, *, comment: str | None = None, data_type: Any = None
    ) -> bool:
        """Attach a score to this span (see `spanscope.score`)."""
        from .scores import score

        trace_id = self.trace_id
        if trace_id is None:
            return False
        return score(
            name, value, trace_id=trace_id, span_id=self.span_id, comment=comment, data_type=data_type
        )


def get_current_observation() -> Observation:
    """The current span (ours or any instrumentation's) as an Observation."""
    return Observation(trace.get_current_span())


# --- observation(): the context manager ---------------------------------------------------------------


class ObservationScope:
    """`with observation(...) as obs:` (also `async with`); see `observation`."""

    __slots__ = ("_attributes", "_input", "_kind", "_name", "_observation", "_token")

    def __init__(self, name: str, kind: SpanKind, attributes: Attributes, input: Any) -> None:
        self._name = name
        self._kind = kind
        self._attributes = attributes
        self._input = input
        self._observation: Observation | None = None
        self._token: object = None

    def __enter__(self) -> Observation:
        span, self._token = start_span(self._name, self._attributes)
        self._observation = Observation(span)
        if self._input is not None and STATE.capture_input and span.is_recording():
            record_input(span, self._kind, self._input)
        return self._observation

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        observation = self._observation
        if observation is None:
            return
        self._observation = None
        if exc is not None and not isinstance(exc, GeneratorExit):
            record_error(observation.span, exc)
        _close(observation.span, self._token)
        self._token = None

    async def __aenter__(self) -> Observation:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def observation(
    name: str,
    *,
    kind: SpanKind | str = SpanKind.SPAN,
    input: Any = None,
    model: str | None = None,
    provider: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> ObservationScope:
    """A span around a block: `with observation("step", kind="tool", input=x) as obs: ...`.

    The block's exception, if any, is recorded on the span and propagates unchanged.
    """
    try:
        attrs = _static_attributes(name, kind, model, provider, attributes)
    except Exception as exc:
        internal_error("observation attributes", exc)
        attrs = {}
    return ObservationScope(name, parse_kind(kind), attrs, input)


# --- @observe -------------------------------------------------------------------------------------------


def _static_attributes(
    name: str,
    kind: SpanKind | str,
    model: str | None,
    provider: str | None,
    attributes: Mapping[str, Any] | None,
) -> Attributes:
    attrs = kind_attributes(kind, name)
    if model is not None:
        attrs[A.GEN_AI_REQUEST_MODEL] = str(model)
    if provider is not None:
        attrs[A.GEN_AI_PROVIDER_NAME] = str(provider)
    if attributes:
        for key, value in attributes.items():
            attrs[str(key)] = attribute_value(value)
    return attrs


def record_input(span: Span, kind: SpanKind, bound: Any) -> None:
    """Capture a call's input on `span` in the shape its kind calls for. Never raises."""
    try:
        state = STATE
        if kind is SpanKind.GENERATION:
            if looks_like_messages(bound):
                apply_update(span, input_messages=bound)
                return
            if isinstance(bound, dict):
                for value in bound.values():
                    if looks_like_messages(value):
                        # Arguments named like request parameters (temperature, max_tokens, ...)
                        # and a `model` argument become their gen_ai.request.* keys.
                        parameters = {key: val for key, val in bound.items() if key in REQUEST_PARAMETERS}
                        model = bound.get("model")
                        apply_update(
                            span,
                            input_messages=value,
                            parameters=parameters or None,
                            model=model if isinstance(model, str) else None,
                        )
                        return
        elif kind is SpanKind.RETRIEVAL:
            query = bound
            if isinstance(bound, dict):
                query = bound.get("query")
                if query is None and len(bound) == 1:
                    query = next(iter(bound.values()))
            if isinstance(query, str):
                span.set_attribute(A.GEN_AI_RETRIEVAL_QUERY, state.render_text(query))
        text, mime = state.render(bound)
        span.set_attributes({A.OI_INPUT_VALUE: text, A.OI_INPUT_MIME: mime})
    except Exception as exc:
        internal_error("capture input", exc)


def record_output(span: Span, kind: SpanKind, result: Any) -> None:
    """Capture a result on `span` in the shape its kind calls for. Never raises."""
    try:
        if kind is SpanKind.GENERATION:
            if isinstance(result, str) or looks_like_messages(result):
                apply_update(span, output_messages=result)
                return
            facts = parse_completion(result)
            if facts is not None:
                apply_update(span, **facts)
                return
        elif kind is SpanKind.RETRIEVAL and looks_like_documents(result):
            apply_update(span, documents=result)
            return
        text, mime = STATE.render(result)
        span.set_attributes({A.OI_OUTPUT_VALUE: text, A.OI_OUTPUT_MIME: mime})
    except Exception as exc:
        internal_error("capture output", exc)


class _Spec:
    """Everything about a decorated function that does not change between calls."""

    __slots__ = ("attributes", "binder", "capture_input", "capture_output", "kind", "name", "plain")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        kind: SpanKind | str,
        capture_input: bool | None,
        capture_output: bool | None,
        model: str | None,
        provider: str | None,
        attributes: Mapping[str, Any] | None,
    ) -> None:
        self.name = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "function"
        self.kind = parse_kind(kind)
        self.attributes = _static_attributes(self.name, self.kind, model, provider, attributes)
        self.binder = ArgBinder(fn)
        self.capture_input = capture_input
        self.capture_output = capture_output
        # Kinds whose content is plain input.value/output.value take the short path below.
        self.plain = self.kind not in (SpanKind.GENERATION, SpanKind.RETRIEVAL)

    def record_input(self, span: Span, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            state = STATE
            bound = self.binder.bind(args, kwargs, state.max_chars)
            if bound:  # a call without arguments has no input worth recording
                record_input(span, self.kind, bound)
        except Exception as exc:
            internal_error("capture input", exc)

    def record_output(self, span: Span, result: Any) -> None:
        try:
            state = STATE
            if self.plain and state.mask is None:
                if type(result) is str:
                    text = result if len(result) <= state.max_chars else truncate(result, state.max_chars)
                    span.set_attributes({A.OI_OUTPUT_VALUE: text, A.OI_OUTPUT_MIME: TEXT_MIME})
                else:
                    span.set_attributes(
                        {A.OI_OUTPUT_VALUE: to_json(result, state.max_chars), A.OI_OUTPUT_MIME: JSON_MIME}
                    )
            else:
                record_output(span, self.kind, result)
        except Exception as exc:
            internal_error("capture output", exc)

    def start(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Span, object] | None:
        """Start the span, make it current, record the input. None if spanscope is off or broken."""
        state = STATE
        if not state.enabled:
            return None
        attributes = self.attributes
        capture = self.capture_input
        deferred = False
        if state.capture_input if capture is None else capture:
            if self.plain and state.mask is None:
                # Short path: the input goes in with the span's first attributes (one pass).
                try:
                    bound = self.binder.bind(args, kwargs, state.max_chars)
                    if bound:
                        attributes = {
                            **attributes,
                            A.OI_INPUT_VALUE: to_json(bound, state.max_chars),
                            A.OI_INPUT_MIME: JSON_MIME,
                        }
                except Exception as exc:
                    internal_error("capture input", exc)
            else:
                deferred = True
        try:
            span = state.tracer.start_span(self.name, attributes=attributes)
        except Exception as exc:
            internal_error("start span", exc)
            return None
        try:
            token = _attach(_in_context(span))
        except Exception as exc:
            internal_error("attach context", exc)
            span.end()
            return None
        if deferred and span.is_recording():
            self.record_input(span, args, kwargs)
        return span, token

    def finish(self, span: Span, token: object, result: Any) -> None:
        """Record a non-None result (when output capture is on), leave the context, end the span."""
        if result is not None:
            capture = self.capture_output
            if (STATE.capture_output if capture is None else capture) and span.is_recording():
                self.record_output(span, result)
        _close(span, token)

    def want_output(self, span: Span) -> bool:
        capture = self.capture_output
        return (STATE.capture_output if capture is None else capture) and span.is_recording()


class _StreamOutput:
    """Aggregates yielded items: strings joined, anything else kept as a list (bounded)."""

    __slots__ = ("_all_str", "_chars", "_items", "_truncated")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._chars = 0
        self._all_str = True
        self._truncated = False

    def add(self, item: Any) -> None:
        if self._truncated:
            return
        if type(item) is str:
            self._chars += len(item)
        else:
            self._all_str = False
        self._items.append(item)
        if self._chars > STATE.max_chars or len(self._items) >= MAX_ITEMS:
            self._truncated = True

    def value(self) -> Any:
        if self._all_str:
            text = "".join(self._items)
            return text + A.SS_TRUNCATED_SUFFIX if self._truncated else text
        items = list(self._items)
        if self._truncated:
            items.append(A.SS_TRUNCATED_SUFFIX)
        return items


def _wrap_sync(fn: Callable[P, R], spec: _Spec) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = spec.start(args, kwargs)
        if started is None:
            return fn(*args, **kwargs)
        span, token = started
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            record_error(span, exc)
            _close(span, token)
            raise
        spec.finish(span, token, result)
        return result

    return wrapper


def _wrap_async(fn: Callable[P, Awaitable[R]], spec: _Spec) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = spec.start(args, kwargs)
        if started is None:
            return await fn(*args, **kwargs)
        span, token = started
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            record_error(span, exc)
            _close(span, token)
            raise
        spec.finish(span, token, result)
        return result

    return wrapper


def _finish_stream(spec: _Spec, span: Span, stream: _StreamOutput) -> None:
    try:
        if spec.want_output(span):
            spec.record_output(span, stream.value())
        span.end()
    except Exception as exc:
        internal_error("end stream span", exc)


def _wrap_generator(
    fn: Callable[P, Generator[Any, Any, Any]], spec: _Spec
) -> Callable[P, Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[Any, Any, Any]:
        started = spec.start(args, kwargs)
        if started is None:
            return (yield from fn(*args, **kwargs))
        span, token = started
        # The span is current only while the generator body runs, never across a yield.
        _detach(token)  # type: ignore[arg-type]
        span_context = _in_context(span)
        stream = _StreamOutput()
        try:
            inner = fn(*args, **kwargs)
        except BaseException as exc:
            record_error(span, exc)
            span.end()
            raise
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = _attach(span_context)
            try:
                if thrown is not None:
                    exc_in, thrown = thrown, None
                    item = inner.throw(exc_in)
                else:
                    item = inner.send(sent)
            except StopIteration as stop:
                _detach(token)
                _finish_stream(spec, span, stream)
                return stop.value
            except BaseException as exc:
                _detach(token)
                record_error(span, exc)
                _finish_stream(spec, span, stream)
                raise
            _detach(token)
            stream.add(item)
            try:
                sent = yield item
            except GeneratorExit:
                token = _attach(span_context)
                try:
                    inner.close()
                finally:
                    _detach(token)
                    _finish_stream(spec, span, stream)
                raise
            except BaseException as exc:
                thrown, sent = exc, None

    return wrapper


def _wrap_async_generator(
    fn: Callable[P, AsyncGenerator[Any, Any]], spec: _Spec
) -> Callable[P, AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
        started = spec.start(args, kwargs)
        if started is None:
            async for item in fn(*args, **kwargs):
                yield item
            return
        span, token = started
        _detach(token)  # type: ignore[arg-type]
        span_context = _in_context(span)
        stream = _StreamOutput()
        try:
            inner = fn(*args, **kwargs)
        except BaseException as exc:
            record_error(span, exc)
            span.end()
            raise
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = _attach(span_context)
            try:
                if thrown is not None:
                    exc_in, thrown = thrown, None
                    item = await inner.athrow(exc_in)
                else:
                    item = await inner.asend(sent)
            except StopAsyncIteration:
                _detach(token)
                _finish_stream(spec, span, stream)
                return
            except BaseException as exc:
                _detach(token)
                record_error(span, exc)
                _finish_stream(spec, span, stream)
                raise
            _detach(token)
            stream.add(item)
            try:
                sent = yield item
            except GeneratorExit:
                token = _attach(span_context)
                try:
                    await inner.aclose()
                finally:
                    _detach(token)
                    _finish_stream(spec, span, stream)
                raise
            except BaseException as exc:
                thrown, sent = exc, None

    return wrapper


def _decorate(
    fn: Any,
    name: str | None,
    kind: SpanKind | str,
    capture_input: bool | None,
    capture_output: bool | None,
    model: str | None,
    provider: str | None,
    attributes: Mapping[str, Any] | None,
) -> Any:
    if isinstance(fn, staticmethod | classmethod):
        return type(fn)(
            _decorate(fn.__func__, name, kind, capture_input, capture_output, model, provider, attributes)
        )
    try:
        spec = _Spec(fn, name, kind, capture_input, capture_output, model, provider, attributes)
        if inspect.isasyncgenfunction(fn):
            return _wrap_async_generator(fn, spec)
        if inspect.isgeneratorfunction(fn):
            return _wrap_generator(fn, spec)
        if inspect.iscoroutinefunction(fn):
            return _wrap_async(fn, spec)
        return _wrap_sync(fn, spec)
    except Exception as exc:
        internal_error("decorate", exc)
        return fn


@overload
def observe(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def observe(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    kind: SpanKind | str = SpanKind.SPAN,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    model: str | None = None,
    provider: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def observe(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    kind: SpanKind | str = SpanKind.SPAN,
    capture_input: bool | None = None,
    capture_output: bool | None = None,
    model: str | None = None,
    provider: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Trace every call of the decorated function as a span.

    `@observe` or `@observe(name=..., kind="generation"|"retrieval"|"tool"|"agent"|"chain"|...,
    capture_input=..., capture_output=..., model=..., provider=..., attributes={...})`.
    `capture_input`/`capture_output` default to the `init()` settings. Works on functions, methods,
    staticmethods/classmethods, coroutines, generators and async generators.
    """
    if fn is not None:
        return _decorate(fn, name, kind, capture_input, capture_output, model, provider, attributes)

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        return _decorate(func, name, kind, capture_input, capture_output, model, provider, attributes)

    return decorator
