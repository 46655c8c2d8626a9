"""Model fallback chains with retries, recorded so the fallback rate can be measured.

    ask = spanscope.fallback(
        [("gpt-4o", call_openai), ("claude-sonnet-4", call_anthropic)],
        retries=2, backoff=0.5, transient=(TimeoutError, RateLimitError),
        degraded=lambda question: "Our assistant is busy, please retry.",
    )
    answer = ask(question)              # or: await ask.acall(question)

Each option is called with the same arguments. A transient error (an instance of `transient`, or
an exception carrying an HTTP status 408/429/5xx/529 as `status_code`/`status`) is retried on the
same option with exponential backoff and jitter, up to `retries` times; any other `Exception`, or
running out of retries, moves on to the next option. When every option failed, `degraded` (a
non-LLM path) is called if given, otherwise the last error is raised unchanged.

Spans: one logical call span (kind generation, `name`) with `gen_ai.request.model` and
`spanscope.fallback.requested_model` = the first option's model, and at the end
`spanscope.fallback.attempts` (calls made, retries included), `spanscope.fallback.used` (served by an
option other than the first, or by the degraded path), `spanscope.fallback.degraded`,
`spanscope.fallback.served_attempt` (1-based option that served) and `gen_ai.response.model` (its
model). Under it, one generation span per call: `spanscope.fallback.attempt` (1-based option),
`spanscope.fallback.retry` (0-based), `gen_ai.request.model`, status ERROR when it failed; plus a
`<name>.degraded` span when the degraded path ran.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Span
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import SpanKind

from .diagnostics import internal_error
from .enrich import Attributes, apply_update, kind_attributes
from .messages import parse_completion
from .observe import _close, record_error, record_input, record_output, start_span
from .state import STATE

TRANSIENT_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})


# Attributes an attempt sets that describe the logical call rather than one attempt.
_CALL_IDENTITY = (A.GEN_AI_PROMPT_NAME, A.GEN_AI_PROMPT_VERSION, A.OI_PROMPT_TEMPLATE_VERSION)


@dataclass(frozen=True)
class Attempt:
    """One option of a fallback chain: a callable and, when known, its model and provider."""

    fn: Callable[..., Any]
    model: str | None = None
    provider: str | None = None


AttemptLike = (
    Attempt | tuple[str, Callable[..., Any]] | tuple[str, Callable[..., Any], str] | Callable[..., Any]
)


def _as_attempt(option: AttemptLike) -> Attempt:
    if isinstance(option, Attempt):
        return option
    if isinstance(option, tuple):
        if len(option) == 2:
            return Attempt(fn=option[1], model=option[0])
        if len(option) == 3:
            return Attempt(fn=option[1], model=option[0], provider=option[2])
        raise TypeError("a fallback option tuple is (model, callable) or (model, callable, provider)")
    if callable(option):
        return Attempt(fn=option)
    raise TypeError(f"a fallback option must be callable, got {type(option).__name__}")


def _status_of(exc: BaseException) -> int | None:
    for holder in (exc, getattr(exc, "response", None)):
        for name in ("status_code", "status"):
            value = getattr(holder, name, None)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


class Fallback:
    """A callable fallback chain; see the module docstring. Build it with `fallback(...)`."""

    def __init__(
        self,
        attempts: Sequence[AttemptLike],
        *,
        name: str = "fallback",
        retries: int = 1,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        jitter: float = 0.5,
        transient: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError),
        is_transient: Callable[[BaseException], bool] | None = None,
        degraded: Callable[..., Any] | None = None,
        fallback_on: tuple[type[BaseException], ...] = (Exception,),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = [_as_attempt(option) for option in attempts]
        if not self.attempts:
            raise ValueError("fallback needs at least one option")
        if retries < 0 or backoff < 0 or max_backoff < 0 or not 0 <= jitter <= 1:
            raise ValueError("retries, backoff and max_backoff must be >= 0 and jitter within [0, 1]")
        self.name = name
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.jitter = jitter
        self.transient = transient
        self.is_transient_fn = is_transient
        self.degraded = degraded
        self.fallback_on = fallback_on
        self.sleep = sleep
        self._requested = self.attempts[0].model
        self._wrapper_attrs = kind_attributes(SpanKind.GENERATION)
        if self._requested is not None:
            self._wrapper_attrs[A.GEN_AI_REQUEST_MODEL] = self._requested
            self._wrapper_attrs[A.SS_FALLBACK_REQUESTED_MODEL] = self._requested
        if self.attempts[0].provider is not None:
            self._wrapper_attrs[A.GEN_AI_PROVIDER_NAME] = self.attempts[0].provider

    # -- decisions ------------------------------------------------------------------------------------

    def is_transient(self, exc: BaseException) -> bool:
        if self.is_transient_fn is not None:
            try:
                return bool(self.is_transient_fn(exc))
            except Exception as inner:
                internal_error("fallback is_transient", inner)
                return False
        if isinstance(exc, self.transient):
            return True
        return _status_of(exc) in TRANSIENT_STATUS

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (0-based): exponential, capped, jittered."""
        base = min(self.max_backoff, self.backoff * (2**retry))
        return max(0.0, base * random.uniform(1.0 - self.jitter, 1.0 + self.jitter))

    # -- spans ----------------------------------------------------------------------------------------

    def _start_wrapper(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Span, object]:
        span, token = start_span(self.name, self._wrapper_attrs)
        if STATE.capture_input and span.is_recording():
            value: Any = args[0] if len(args) == 1 and not kwargs else {"args": list(args), **kwargs}
            record_input(span, SpanKind.GENERATION, value)
        return span, token

    def _start_attempt(self, index: int, retry: int) -> tuple[Span, object]:
        option = self.attempts[index]
        attrs: Attributes = dict(kind_attributes(SpanKind.GENERATION))
        attrs[A.SS_FALLBACK_ATTEMPT] = index + 1
        attrs[A.SS_FALLBACK_RETRY] = retry
        if option.model is not None:
            attrs[A.GEN_AI_REQUEST_MODEL] = option.model
        if option.provider is not None:
            attrs[A.GEN_AI_PROVIDER_NAME] = option.provider
        label = option.model or getattr(option.fn, "__name__", None) or f"option {index + 1}"
        return start_span(f"chat {label}", attrs)

    @staticmethod
    def _attempt_succeeded(span: Span, result: Any) -> None:
        try:
            facts = parse_completion(result)
            if facts is not None:  # usage and response model belong on the call that used them
                facts.pop("output_messages", None)
                apply_update(span, **facts)
        except Exception as exc:
            internal_error("fallback attempt result", exc)

    @staticmethod
    def _end_attempt(wrapper: Span, attempt: Span, token: object) -> None:
        """Ends an attempt; the prompt it used also names the logical call, so per-prompt stats
        count each call once (on the wrapper) whichever attempt served it."""
        _close(attempt, token)
        try:
            seen = getattr(attempt, "attributes", None) or {}
            if wrapper.is_recording():
                for key in _CALL_IDENTITY:
                    if key in seen:
                        wrapper.set_attribute(key, seen[key])
        except Exception as exc:
            internal_error("fallback prompt", exc)

    def _finish_wrapper(
        self, span: Span, token: object, calls: int, served: int | None, degraded: bool, result: Any
    ) -> None:
        try:
            attrs: Attributes = {
                A.SS_FALLBACK_ATTEMPTS: calls,
                A.SS_FALLBACK_USED: degraded or (served is not None and served > 0),
                A.SS_FALLBACK_DEGRADED: degraded,
            }
            if served is not None:
                attrs[A.SS_FALLBACK_SERVED_ATTEMPT] = served + 1
                option = self.attempts[served]
                if option.model is not None:
                    attrs[A.GEN_AI_RESPONSE_MODEL] = option.model
                if option.provider is not None:
                    attrs[A.GEN_AI_PROVIDER_NAME] = option.provider
            if span.is_recording():
                span.set_attributes(attrs)
                if result is not None and STATE.capture_output:
                    facts = parse_completion(result)
                    if facts is None:
                        record_output(span, SpanKind.GENERATION, result)
                    else:  # content only: tokens and cost are counted once, on the attempt span
                        apply_update(span, output_messages=facts["output_messages"])
        except Exception as exc:
            internal_error("fallback finish", exc)
        _close(span, token)

    def _start_degraded(self) -> tuple[Span, object]:
        attrs = dict(kind_attributes(SpanKind.SPAN))
        attrs[A.SS_FALLBACK_DEGRADED] = True
        return start_span(f"{self.name}.degraded", attrs)

    # -- running --------------------------------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the chain synchronously with these arguments."""
        span, token = self._start_wrapper(args, kwargs)
        calls = 0
        finished = False
        last_error: BaseException | None = None
        try:
            for index, option in enumerate(self.attempts):
                for retry in range(self.retries + 1):
                    calls += 1
                    attempt_span, attempt_token = self._start_attempt(index, retry)
                    try:
                        result = option.fn(*args, **kwargs)
                    except self.fallback_on as exc:
                        record_error(attempt_span, exc)
                        self._end_attempt(span, attempt_span, attempt_token)
                        last_error = exc
                        if retry < self.retries and self.is_transient(exc):
                            self.sleep(self.delay(retry))
                            continue
                        break
                    except BaseException as exc:
                        record_error(attempt_span, exc)
                        self._end_attempt(span, attempt_span, attempt_token)
                        raise
                    self._attempt_succeeded(attempt_span, result)
                    self._end_attempt(span, attempt_span, attempt_token)
                    finished = True
                    self._finish_wrapper(span, token, calls, index, False, result)
                    return result
            if self.degraded is None:
                assert last_error is not None
                raise last_error
            degraded_span, degraded_token = self._start_degraded()
            try:
                result = self.degraded(*args, **kwargs)
            except BaseException as exc:
                record_error(degraded_span, exc)
                _close(degraded_span, degraded_token)
                raise
            _close(degraded_span, degraded_token)
            finished = True
            self._finish_wrapper(span, token, calls, None, True, result)
            return result
        except BaseException as exc:
            if not finished:
                record_error(span, exc)
                self._finish_wrapper(span, token, calls, None, False, None)
            raise

    async def acall(self, *args: Any, **kwargs: Any) -> Any:
        """Run the chain in async code; options may be coroutine functions or plain callables."""
        span, token = self._start_wrapper(args, kwargs)
        calls = 0
        finished = False
        last_error: BaseException | None = None
        try:
            for index, option in enumerate(self.attempts):
                for retry in range(self.retries + 1):
                    calls += 1
                    attempt_span, attempt_token = self._start_attempt(index, retry)
                    try:
                        result = option.fn(*args, **kwargs)
                        if inspect.isawaitable(result):
                            result = await result
                    except self.fallback_on as exc:
                        record_error(attempt_span, exc)
                        self._end_attempt(span, attempt_span, attempt_token)
                        last_error = exc
                        if retry < self.retries and self.is_transient(exc):
                            await asyncio.sleep(self.delay(retry))
                            continue
                        break
                    except BaseException as exc:
                        record_error(attempt_span, exc)
                        self._end_attempt(span, attempt_span, attempt_token)
                        raise
                    self._attempt_succeeded(attempt_span, result)
                    self._end_attempt(span, attempt_span, attempt_token)
                    finished = True
                    self._finish_wrapper(span, token, calls, index, False, result)
                    return result
            if self.degraded is None:
                assert last_error is not None
                raise last_error
            degraded_span, degraded_token = self._start_degraded()
            try:
                result = self.degraded(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            except BaseException as exc:
                record_error(degraded_span, exc)
                _close(degraded_span, degraded_token)
                raise
            _close(degraded_span, degraded_token)
            finished = True
            self._finish_wrapper(span, token, calls, None, True, result)
            return result
        except BaseException as exc:
            if not finished:
                record_error(span, exc)
                self._finish_wrapper(span, token, calls, None, False, None)
            raise


def fallback(
    attempts: Sequence[AttemptLike],
    *,
    name: str = "fallback",
    retries: int = 1,
    backoff: float = 0.5,
    max_backoff: float = 8.0,
    jitter: float = 0.5,
    transient: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError),
    is_transient: Callable[[BaseException], bool] | None = None,
    degraded: Callable[..., Any] | None = None,
    fallback_on: tuple[type[BaseException], ...] = (Exception,),
    sleep: Callable[[float], None] = time.sleep,
) -> Fallback:
    """Build a fallback chain (see the module docstring). Options are `(model, callable)`,
    `(model, callable, provider)`, `Attempt(...)` or bare callables; all take the same arguments.

    retries: extra calls of the same option on a transient error (0 = none).
    backoff, max_backoff, jitter: the delay before retry k is min(max_backoff, backoff·2^k) scaled
        by a random factor in [1 − jitter, 1 + jitter].
    transient / is_transient: which errors are retried; other errors move to the next option.
    degraded: called with the same arguments when every option failed (non-LLM path).
    fallback_on: errors that trigger a fallback at all; anything else propagates at once.
    sleep: the sync sleep function (tests can pass a recorder); `acall` uses asyncio.sleep.
    """
    return Fallback(
        attempts,
        name=name,
        retries=retries,
        backoff=backoff,
        max_backoff=max_backoff,
        jitter=jitter,
        transient=transient,
        is_transient=is_transient,
        degraded=degraded,
        fallback_on=fallback_on,
        sleep=sleep,
    )
