"""@observe, observation() and span updates, recorded through the SDK's real export pipeline."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
import spanscope.sdk as spanscope
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import OPENINFERENCE_KIND, OTEL_OPERATION, SpanKind
from spanscope.sdk.state import STATE
from spanscope.sdk.testing import SpanRecorder, record_spans


@pytest.fixture
def recorder() -> Iterator[SpanRecorder]:
    spanscope.reset_stats()
    with record_spans() as rec:
        yield rec


# --- plain functions ------------------------------------------------------------------------------


def test_a_decorated_function_records_its_arguments_and_result(recorder: SpanRecorder) -> None:
    @spanscope.observe
    def add(a: int, b: int = 2) -> int:
        return a + b

    assert add(1, b=3) == 4
    span = recorder.span("test_a_decorated_function_records_its_arguments_and_result.<locals>.add")
    assert json.loads(span.attributes[A.OI_INPUT_VALUE]) == {"a": 1, "b": 3}
    assert span.attributes[A.OI_INPUT_MIME] == "application/json"
    assert span.attributes[A.OI_OUTPUT_VALUE] == "4"
    assert span.attributes[A.SS_SPAN_KIND] == "span"
    assert span.status.status_code is StatusCode.UNSET


def test_a_string_result_is_recorded_as_plain_text(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="shout")
    def shout(text: str) -> str:
        return text.upper()

    shout("hi")
    span = recorder.span("shout")
    assert span.attributes[A.OI_OUTPUT_VALUE] == "HI"
    assert span.attributes[A.OI_OUTPUT_MIME] == "text/plain"


def test_methods_leave_self_out_of_the_input(recorder: SpanRecorder) -> None:
    class Bot:
        @spanscope.observe(name="answer")
        def answer(self, question: str) -> str:
            return "yes"

        @spanscope.observe(name="build")
        @classmethod
        def build(cls, size: int) -> int:
            return size

        @spanscope.observe(name="helper")
        @staticmethod
        def helper(x: int) -> int:
            return x * 2

    assert Bot().answer("ok?") == "yes"
    assert Bot.build(3) == 3
    assert Bot.helper(4) == 8
    assert json.loads(recorder.span("answer").attributes[A.OI_INPUT_VALUE]) == {"question": "ok?"}
    assert json.loads(recorder.span("build").attributes[A.OI_INPUT_VALUE]) == {"size": 3}
    assert json.loads(recorder.span("helper").attributes[A.OI_INPUT_VALUE]) == {"x": 4}


def test_extra_positional_arguments_are_recorded_under_the_varargs_name(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="total")
    def total(first: int, *rest: int, scale: int = 1) -> int:
        return (first + sum(rest)) * scale

    total(1, 2, 3, scale=2)
    assert json.loads(recorder.span("total").attributes[A.OI_INPUT_VALUE]) == {
        "first": 1,
        "rest": [2, 3],
        "scale": 2,
    }


def test_the_exception_of_the_function_propagates_as_the_same_object_with_its_traceback(
    recorder: SpanRecorder,
) -> None:
    error = ValueError("bad input")

    @spanscope.observe(name="fails")
    def fails() -> None:
        raise error

    with pytest.raises(ValueError) as caught:
        fails()
    assert caught.value is error
    frames = [frame.name for frame in traceback.extract_tb(caught.value.__traceback__)]
    assert frames[-1] == "fails"  # the original raising frame is still the innermost one


def test_a_failed_call_is_recorded_with_status_error_type_and_exception_event(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="fails")
    def fails() -> None:
        raise KeyError("missing")

    with pytest.raises(KeyError):
        fails()
    span = recorder.span("fails")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.ERROR_TYPE] == "KeyError"
    event = next(event for event in span.events if event.name == A.EXCEPTION_EVENT)
    assert event.attributes[A.EXCEPTION_TYPE] == "KeyError"
    assert "missing" in event.attributes[A.EXCEPTION_MESSAGE]


def test_nested_calls_make_parent_and_child_spans(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="inner")
    def inner() -> int:
        return 1

    @spanscope.observe(name="outer")
    def outer() -> int:
        return inner() + 1

    outer()
    parent, child = recorder.span("outer"), recorder.span("inner")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id
    assert child.context.trace_id == parent.context.trace_id


# --- async, generators ----------------------------------------------------------------------------


def test_async_functions_nest_across_asyncio_tasks(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="fetch")
    async def fetch(i: int) -> int:
        await asyncio.sleep(0)
        return i

    @spanscope.observe(name="gather")
    async def gather() -> list[int]:
        return list(await asyncio.gather(*(fetch(i) for i in range(3))))

    assert asyncio.run(gather()) == [0, 1, 2]
    spans = recorder.spans()
    root = next(span for span in spans if span.name == "gather")
    children = [span for span in spans if span.name == "fetch"]
    assert len(children) == 3
    assert all(
        child.parent is not None and child.parent.span_id == root.context.span_id for child in children
    )
    assert root.attributes[A.OI_OUTPUT_VALUE] == "[0,1,2]"


def test_threads_nest_when_the_callable_carries_the_context(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="work")
    def work(i: int) -> int:
        return i

    @spanscope.observe(name="fan_out")
    def fan_out() -> list[int]:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(spanscope.with_current_context(work), range(2)))

    fan_out()
    root = recorder.span("fan_out")
    workers = [span for span in recorder.spans() if span.name == "work"]
    assert len(workers) == 2
    assert all(span.parent is not None and span.parent.span_id == root.context.span_id for span in workers)


def test_a_generator_span_stays_open_until_the_stream_is_exhausted(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="stream")
    def stream() -> Iterator[str]:
        yield "Hel"
        yield "lo"

    it = stream()
    assert next(it) == "Hel"
    assert [span.name for span in recorder.spans()] == []
    assert list(it) == ["lo"]
    span = recorder.span("stream")
    assert span.attributes[A.OI_OUTPUT_VALUE] == "Hello"


def test_spans_created_inside_a_generator_nest_under_it(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="step")
    def step(i: int) -> int:
        return i

    @spanscope.observe(name="numbers")
    def numbers() -> Iterator[int]:
        for i in range(2):
            yield step(i)

    @spanscope.observe(name="consumer")
    def consumer() -> list[int]:
        return list(numbers())

    assert consumer() == [0, 1]
    gen_span, consumer_span = recorder.span("numbers"), recorder.span("consumer")
    steps = [span for span in recorder.spans() if span.name == "step"]
    assert gen_span.parent is not None and gen_span.parent.span_id == consumer_span.context.span_id
    assert all(s.parent is not None and s.parent.span_id == gen_span.context.span_id for s in steps)
    assert gen_span.attributes[A.OI_OUTPUT_VALUE] == "[0,1]"


def test_a_generator_closed_early_ends_its_span_with_the_partial_output(recorder: SpanRecorder) -> None:
    closed = threading.Event()

    @spanscope.observe(name="endless")
    def endless() -> Iterator[str]:
        try:
            while True:
                yield "x"
        finally:
            closed.set()

    it = endless()
    next(it)
    next(it)
    it.close()
    assert closed.is_set()
    span = recorder.span("endless")
    assert span.attributes[A.OI_OUTPUT_VALUE] == "xx"
    assert span.status.status_code is StatusCode.UNSET


def test_a_generator_return_value_and_sent_values_pass_through(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="echo")
    def echo() -> Any:
        received = yield "ready"
        yield f"got {received}"
        return "done"

    it = echo()
    assert next(it) == "ready"
    assert it.send("ping") == "got ping"
    with pytest.raises(StopIteration) as stop:
        next(it)
    assert stop.value.value == "done"


def test_an_async_generator_aggregates_its_items(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="tokens")
    async def tokens() -> AsyncIterator[dict[str, int]]:
        for i in range(3):
            yield {"i": i}

    async def consume() -> list[dict[str, int]]:
        return [item async for item in tokens()]

    assert asyncio.run(consume()) == [{"i": 0}, {"i": 1}, {"i": 2}]
    span = recorder.span("tokens")
    assert json.loads(span.attributes[A.OI_OUTPUT_VALUE]) == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_an_error_inside_a_generator_is_recorded_and_raised(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="broken")
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(broken())
    span = recorder.span("broken")
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes[A.OI_OUTPUT_VALUE] == "[1]"


# --- kinds and content shapes ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(SpanKind))
def test_every_kind_is_emitted_with_our_openinference_and_otel_keys(
    recorder: SpanRecorder, kind: SpanKind
) -> None:
    @spanscope.observe(name="step", kind=kind)
    def step() -> None:
        return None

    step()
    attrs = recorder.span("step").attributes
    assert attrs[A.SS_SPAN_KIND] == kind.value
    if kind is not SpanKind.SPAN:
        assert attrs[A.OI_SPAN_KIND] == OPENINFERENCE_KIND[kind]
    assert attrs.get(A.GEN_AI_OPERATION_NAME) == OTEL_OPERATION[kind]


def test_a_generation_records_chat_messages_in_the_otel_genai_shape(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="chat", kind="generation", model="gpt-4o-mini", provider="openai")
    def chat(messages: list[dict[str, str]], temperature: float = 0.0) -> str:
        return "Paris."

    chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}])
    attrs = recorder.span("chat").attributes
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]},
    ]
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Paris."}]}
    ]


def test_a_generation_maps_model_and_parameter_arguments_to_request_keys(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="chat", kind="generation")
    def chat(messages: list[dict[str, str]], model: str, temperature: float, max_tokens: int = 64) -> str:
        return "ok"

    chat([{"role": "user", "content": "hi"}], model="gpt-4o", temperature=0.3)
    attrs = recorder.span("chat").attributes
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o"
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert A.GEN_AI_REQUEST_MAX_TOKENS not in attrs  # defaults are not bound, only what was passed


def test_a_generation_returning_a_provider_response_records_usage_and_response_model(
    recorder: SpanRecorder,
) -> None:
    response = SimpleNamespace(
        id="chatcmpl-1",
        model="gpt-4o-mini-2024-07-18",
        choices=[
            SimpleNamespace(message={"role": "assistant", "content": "Hi!"}, finish_reason="stop"),
        ],
        usage=SimpleNamespace(
            prompt_tokens=12,
            completion_tokens=3,
            total_tokens=15,
            prompt_tokens_details=SimpleNamespace(cached_tokens=4),
            completion_tokens_details=None,
        ),
    )

    @spanscope.observe(name="llm", kind="generation", model="gpt-4o-mini")
    def llm(prompt: str) -> Any:
        return response

    llm("hello")
    attrs = recorder.span("llm").attributes
    assert attrs[A.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[A.GEN_AI_RESPONSE_ID] == "chatcmpl-1"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 12
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
    assert attrs[A.GEN_AI_USAGE_CACHE_READ] == 4
    assert tuple(attrs[A.GEN_AI_RESPONSE_FINISH_REASONS]) == ("stop",)
    assert json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]["parts"] == [{"type": "text", "content": "Hi!"}]


def test_a_retrieval_records_the_query_and_the_documents(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="search", kind="retrieval")
    def search(query: str) -> list[dict[str, Any]]:
        return [{"id": "d1", "score": 0.9, "content": "Paris is the capital."}, {"page_content": "Lyon"}]

    search("capital of France")
    attrs = recorder.span("search").attributes
    assert attrs[A.GEN_AI_RETRIEVAL_QUERY] == "capital of France"
    assert json.loads(attrs[A.GEN_AI_RETRIEVAL_DOCUMENTS]) == [
        {"id": "d1", "content": "Paris is the capital.", "score": 0.9},
        {"content": "Lyon"},
    ]


# --- updates ---------------------------------------------------------------------------------------


def test_update_current_span_sets_model_usage_cost_and_prompt(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="call", kind="generation")
    def call() -> None:
        spanscope.update_current_span(
            model="claude-sonnet-4",
            provider="anthropic",
            usage={"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90},
            cost=0.0021,
            parameters={"temperature": 0.2, "max_tokens": 256, "stop": "END", "logit_bias": {"1": 2}},
            prompt_name="answer",
            prompt_version=3,
        )

    call()
    attrs = recorder.span("call").attributes
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "claude-sonnet-4"
    assert attrs[A.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs[A.GEN_AI_USAGE_INPUT_TOKENS] == 100  # Anthropic's uncached + cached, as OTel counts
    assert attrs[A.GEN_AI_USAGE_CACHE_READ] == 90
    assert attrs[A.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert attrs[A.GEN_AI_USAGE_COST] == pytest.approx(0.0021)
    assert attrs[A.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[A.GEN_AI_REQUEST_MAX_TOKENS] == 256
    assert tuple(attrs[A.GEN_AI_REQUEST_STOP_SEQUENCES]) == ("END",)
    assert json.loads(attrs[A.OI_LLM_INVOCATION_PARAMETERS]) == {"logit_bias": {"1": 2}}
    assert attrs[A.GEN_AI_PROMPT_NAME] == "answer"
    assert attrs[A.GEN_AI_PROMPT_VERSION] == "3"


def test_session_user_tags_and_metadata_use_the_agreed_keys(recorder: SpanRecorder) -> None:
    with spanscope.observation("turn") as obs:
        obs.update(session_id="s-1", user_id="u-7", tags=["beta", "eu"], metadata={"plan": "pro", "seats": 3})
    attrs = recorder.span("turn").attributes
    assert attrs[A.GEN_AI_CONVERSATION_ID] == "s-1"
    assert attrs[A.SESSION_ID] == "s-1"
    assert attrs[A.USER_ID] == "u-7"
    assert tuple(attrs[A.SS_TAGS]) == ("beta", "eu")
    assert attrs[A.SS_METADATA_PREFIX + "plan"] == "pro"
    assert attrs[A.SS_METADATA_PREFIX + "seats"] == 3


def test_propagated_attributes_reach_every_span_in_the_block_including_other_instrumentations(
    recorder: SpanRecorder,
) -> None:
    other = recorder.provider.get_tracer("some.instrumentation")

    @spanscope.observe(name="handler")
    def handler() -> None:
        with (
            spanscope.propagate_attributes(session_id="s-9", tags=["vip"]),
            other.start_as_current_span("http.call"),
        ):
            pass

    handler()
    for name in ("handler", "http.call"):
        attrs = recorder.span(name).attributes
        assert attrs[A.GEN_AI_CONVERSATION_ID] == "s-9"
        assert tuple(attrs[A.SS_TAGS]) == ("vip",)


def test_the_context_manager_records_input_updates_and_errors(recorder: SpanRecorder) -> None:
    with (
        pytest.raises(ZeroDivisionError),
        spanscope.observation("rerank", kind="rerank", input={"q": "x"}) as obs,
    ):
        obs.update(output=["b", "a"])
        _ = 1 / 0
    span = recorder.span("rerank")
    assert json.loads(span.attributes[A.OI_INPUT_VALUE]) == {"q": "x"}
    assert json.loads(span.attributes[A.OI_OUTPUT_VALUE]) == ["b", "a"]
    assert span.attributes[A.OI_SPAN_KIND] == "RERANKER"
    assert span.status.status_code is StatusCode.ERROR


def test_current_ids_are_hex_inside_a_span_and_none_outside(recorder: SpanRecorder) -> None:
    assert spanscope.get_current_trace_id() is None
    with spanscope.observation("block") as obs:
        trace_id, span_id = spanscope.get_current_trace_id(), spanscope.get_current_span_id()
    assert trace_id == obs.trace_id and len(trace_id or "") == 32
    assert span_id == obs.span_id and len(span_id or "") == 16
    assert int(trace_id or "0", 16) == recorder.span("block").context.trace_id


# --- switches --------------------------------------------------------------------------------------


def test_capture_can_be_turned_off_per_function(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="secret", capture_input=False, capture_output=False)
    def secret(password: str) -> str:
        return password

    secret("hunter2")
    attrs = recorder.span("secret").attributes
    assert A.OI_INPUT_VALUE not in attrs and A.OI_OUTPUT_VALUE not in attrs


def test_capture_can_be_turned_off_for_the_whole_process() -> None:
    with record_spans(capture_input=False, capture_output=False) as rec:

        @spanscope.observe(name="f")
        def f(x: int) -> int:
            return x

        f(1)
        attrs = rec.span("f").attributes
    assert A.OI_INPUT_VALUE not in attrs and A.OI_OUTPUT_VALUE not in attrs


def test_a_disabled_sdk_creates_no_spans_and_calls_through() -> None:
    with record_spans(enabled=False) as rec:

        @spanscope.observe(name="f")
        def f(x: int) -> int:
            return x + 1

        assert f(1) == 2
        with spanscope.observation("block") as obs:
            obs.update(output="x")
        assert rec.spans() == []


# --- never raising into the app -------------------------------------------------------------------


def test_values_that_cannot_be_serialised_do_not_break_the_call(recorder: SpanRecorder) -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr for you")

    @spanscope.observe(name="takes_hostile")
    def takes_hostile(thing: Any) -> Any:
        return thing

    thing = Hostile()
    assert takes_hostile(thing) is thing
    assert "Hostile" in recorder.span("takes_hostile").attributes[A.OI_INPUT_VALUE]


def test_a_failing_tracer_is_counted_and_logged_once_and_the_function_still_runs(
    recorder: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenTracer:
        def start_span(self, *args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("tracer exploded")

    @spanscope.observe(name="f")
    def f(x: int) -> int:
        return x * 2

    good = STATE.tracer
    STATE.tracer = BrokenTracer()
    try:
        with caplog.at_level(logging.WARNING, logger="spanscope.sdk"):
            assert [f(1), f(2), f(3)] == [2, 4, 6]
    finally:
        STATE.tracer = good
    assert spanscope.stats()["internal_errors"] == 3
    assert len([r for r in caplog.records if "tracer exploded" in r.getMessage()]) == 1


def test_a_misspelt_update_key_is_logged_and_the_rest_still_applies(
    recorder: SpanRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    @spanscope.observe(name="call", kind="generation")
    def call() -> None:
        spanscope.update_current_span(modle="gpt-4o", provider="openai")  # type: ignore[call-arg]

    with caplog.at_level("WARNING", logger="spanscope.sdk"):
        call()
    assert recorder.span("call").attributes[A.GEN_AI_PROVIDER_NAME] == "openai"
    assert A.GEN_AI_REQUEST_MODEL not in recorder.span("call").attributes
    assert any("modle" in r.getMessage() for r in caplog.records)


def test_update_outside_any_span_is_a_no_op() -> None:
    assert trace.get_current_span() is trace.INVALID_SPAN
    spanscope.update_current_span(model="x", output={"a": 1})
