"""The fallback helper: chains of models, retries with backoff, degraded paths, and their spans."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import spanscope.sdk as spanscope
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from spanscope.schemas import attributes as A
from spanscope.sdk.testing import SpanRecorder, record_spans


@pytest.fixture
def recorder() -> Iterator[SpanRecorder]:
    spanscope.reset_stats()
    with record_spans() as rec:
        yield rec


class RateLimited(Exception):
    status_code = 429


class BadRequest(Exception):
    status_code = 400


def _fails(error: BaseException) -> Any:
    def call(prompt: str) -> str:
        raise error

    return call


def _answers(text: str) -> Any:
    def call(prompt: str) -> str:
        return text

    return call


def _attempts(recorder: SpanRecorder) -> list[ReadableSpan]:
    spans = [span for span in recorder.spans() if A.SS_FALLBACK_ATTEMPT in (span.attributes or {})]
    return sorted(spans, key=lambda span: span.start_time or 0)


def test_the_first_option_serving_is_not_a_fallback(recorder: SpanRecorder) -> None:
    ask = spanscope.fallback([("gpt-4o", _answers("A")), ("claude", _answers("B"))])
    assert ask("q") == "A"
    call = recorder.span("fallback")
    assert call.attributes[A.SS_FALLBACK_USED] is False
    assert call.attributes[A.SS_FALLBACK_ATTEMPTS] == 1
    assert call.attributes[A.SS_FALLBACK_SERVED_ATTEMPT] == 1
    assert call.attributes[A.SS_FALLBACK_REQUESTED_MODEL] == "gpt-4o"
    assert call.attributes[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o"
    (attempt,) = _attempts(recorder)
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert attempt.attributes[A.SS_SPAN_KIND] == "generation"


def test_a_failing_first_model_falls_back_to_the_next_and_records_requested_vs_served(
    recorder: SpanRecorder,
) -> None:
    ask = spanscope.fallback([("gpt-4o", _fails(BadRequest("context too long"))), ("claude", _answers("B"))])
    assert ask("q") == "B"
    call = recorder.span("fallback")
    assert call.attributes[A.SS_FALLBACK_USED] is True
    assert call.attributes[A.SS_FALLBACK_ATTEMPTS] == 2
    assert call.attributes[A.SS_FALLBACK_SERVED_ATTEMPT] == 2
    assert call.attributes[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert call.attributes[A.GEN_AI_RESPONSE_MODEL] == "claude"
    assert call.attributes[A.SS_FALLBACK_DEGRADED] is False
    first, second = _attempts(recorder)
    assert (first.attributes[A.SS_FALLBACK_ATTEMPT], second.attributes[A.SS_FALLBACK_ATTEMPT]) == (1, 2)
    assert first.status.status_code is StatusCode.ERROR
    assert second.status.status_code is StatusCode.UNSET
    assert second.attributes[A.GEN_AI_REQUEST_MODEL] == "claude"


def test_transient_errors_are_retried_on_the_same_option_with_growing_backoff(recorder: SpanRecorder) -> None:
    calls = {"n": 0}

    def flaky(prompt: str) -> str:
        calls["n"] += 1
        if calls["n"] < 3:
            raise RateLimited("slow down")
        return "ok"

    sleeps: list[float] = []
    ask = spanscope.fallback([("gpt-4o", flaky)], retries=3, backoff=0.1, jitter=0.2, sleep=sleeps.append)
    assert ask("q") == "ok"
    assert len(sleeps) == 2
    assert 0.08 <= sleeps[0] <= 0.12 and 0.16 <= sleeps[1] <= 0.24
    retries = [span.attributes[A.SS_FALLBACK_RETRY] for span in _attempts(recorder)]
    assert retries == [0, 1, 2]
    call = recorder.span("fallback")
    assert call.attributes[A.SS_FALLBACK_USED] is False  # the requested model served, after retries
    assert call.attributes[A.SS_FALLBACK_ATTEMPTS] == 3


def test_non_transient_errors_are_not_retried(recorder: SpanRecorder) -> None:
    sleeps: list[float] = []
    ask = spanscope.fallback(
        [("a", _fails(BadRequest("no"))), ("b", _answers("B"))], retries=3, sleep=sleeps.append
    )
    assert ask("q") == "B"
    assert sleeps == []
    assert [span.attributes[A.SS_FALLBACK_ATTEMPT] for span in _attempts(recorder)] == [1, 2]


def test_the_backoff_is_capped(recorder: SpanRecorder) -> None:
    chain = spanscope.fallback([_answers("x")], backoff=1.0, max_backoff=3.0, jitter=0.0)
    assert [chain.delay(retry) for retry in range(4)] == [1.0, 2.0, 3.0, 3.0]


def test_the_degraded_path_serves_when_every_model_fails(recorder: SpanRecorder) -> None:
    ask = spanscope.fallback(
        [("a", _fails(TimeoutError())), ("b", _fails(ConnectionError()))],
        retries=0,
        degraded=lambda prompt: "Sorry, try again later.",
    )
    assert ask("q") == "Sorry, try again later."
    call = recorder.span("fallback")
    assert call.attributes[A.SS_FALLBACK_DEGRADED] is True
    assert call.attributes[A.SS_FALLBACK_USED] is True
    assert A.SS_FALLBACK_SERVED_ATTEMPT not in call.attributes
    degraded = recorder.span("fallback.degraded")
    assert degraded.parent is not None and degraded.parent.span_id == call.context.span_id


def test_when_everything_fails_the_last_error_is_raised_unchanged(recorder: SpanRecorder) -> None:
    last = ConnectionError("all down")
    ask = spanscope.fallback([("a", _fails(TimeoutError())), ("b", _fails(last))], retries=0)
    with pytest.raises(ConnectionError) as caught:
        ask("q")
    assert caught.value is last
    call = recorder.span("fallback")
    assert call.status.status_code is StatusCode.ERROR
    assert call.attributes[A.SS_FALLBACK_ATTEMPTS] == 2


def test_errors_outside_fallback_on_propagate_at_once(recorder: SpanRecorder) -> None:
    class Stop(BaseException):
        pass

    second_called = []
    ask = spanscope.fallback([("a", _fails(Stop())), ("b", lambda p: second_called.append(p))])
    with pytest.raises(Stop):
        ask("q")
    assert second_called == []


def test_the_async_chain_awaits_coroutine_options(recorder: SpanRecorder) -> None:
    async def down(prompt: str) -> str:
        raise TimeoutError

    async def up(prompt: str) -> str:
        await asyncio.sleep(0)
        return f"answer to {prompt}"

    ask = spanscope.fallback([("a", down), ("b", up)], retries=1, backoff=0.0)
    assert asyncio.run(ask.acall("q")) == "answer to q"
    call = recorder.span("fallback")
    assert call.attributes[A.SS_FALLBACK_ATTEMPTS] == 3  # a, a (retry), b
    assert call.attributes[A.SS_FALLBACK_SERVED_ATTEMPT] == 2


def test_usage_from_the_serving_response_lands_on_its_attempt_span(recorder: SpanRecorder) -> None:
    response = {
        "model": "claude-3-5-sonnet-20241022",
        "type": "message",
        "role": "assistant",
        "content": [{"type": "text", "text": "Hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 7, "output_tokens": 2},
    }
    ask = spanscope.fallback([("claude", lambda prompt: response)])
    ask("q")
    (attempt,) = _attempts(recorder)
    assert attempt.attributes[A.GEN_AI_USAGE_INPUT_TOKENS] == 7
    assert attempt.attributes[A.GEN_AI_RESPONSE_MODEL] == "claude-3-5-sonnet-20241022"
    call = recorder.span("fallback")
    assert A.GEN_AI_USAGE_INPUT_TOKENS not in call.attributes  # tokens are counted once, on the attempt


def test_a_chain_needs_at_least_one_option() -> None:
    with pytest.raises(ValueError):
        spanscope.fallback([])


def test_the_prompt_an_attempt_used_names_the_logical_call(recorder: SpanRecorder) -> None:
    def with_prompt(version: str, fail: bool) -> Any:
        def call(prompt: str) -> str:
            spanscope.update_current_span(prompt_name="support-answer", prompt_version=version)
            if fail:
                raise RateLimited("slow down")
            return "ok"

        return call

    ask = spanscope.fallback([("gpt-4o", with_prompt("v1", True)), ("claude", with_prompt("v2", False))], retries=0)
    assert ask("q") == "ok"
    call = recorder.span("fallback")
    assert call.attributes[A.GEN_AI_PROMPT_NAME] == "support-answer"
    assert call.attributes[A.GEN_AI_PROMPT_VERSION] == "v2"


def test_an_async_chain_also_names_the_logical_call_by_its_prompt(recorder: SpanRecorder) -> None:
    async def call(prompt: str) -> str:
        spanscope.update_current_span(prompt_name="summary", prompt_version="3")
        return "ok"

    ask = spanscope.fallback([("gpt-4o", call)])
    assert asyncio.run(ask.acall("q")) == "ok"
    assert recorder.span("fallback").attributes[A.GEN_AI_PROMPT_VERSION] == "3"
