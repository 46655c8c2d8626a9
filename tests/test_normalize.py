"""Convention normalisation: decoded OTLP spans into `spanscope.spans` rows.

Real third-party payloads first (what tests/fixtures/otlp/README.md says they must normalise to),
then each dialect's keys, kinds, content, cost, fallbacks, guardrails and the row contract.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any, cast

import orjson
import pytest
from spanscope.collector.normalize import (
    COLUMN_DEFAULTS,
    ContentPatch,
    NormalizeContext,
    content_from_logs,
    merge_content,
    normalize,
)
from spanscope.collector.otlp import (
    PROTOBUF,
    DecodedLog,
    DecodedSpan,
    Limits,
    SpanEvent,
    decode_logs,
    decode_traces,
)
from spanscope.collector.pricing import PriceTable
from spanscope.schemas import attributes as A

FIXTURES = Path(__file__).parent / "fixtures" / "otlp"
START_NS = 1_763_700_000_123_456_789  # 2025-11-21T04:40:00.123456789Z
RESOURCE = {"service.name": "svc", "service.version": "1.2.3", "deployment.environment.name": "prod"}
PRICES = PriceTable.load()
_ids = iter(range(1, 1 << 30))


# --- builders ---------------------------------------------------------------------------------------


def span(
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "op",
    events: list[SpanEvent] | None = None,
    status: int = 0,
    status_message: str = "",
    start_ns: int = START_NS,
    duration_ns: int = 250_000_000,
    trace_id: str = "0af7651916cd43dd8448eb211c80319c",
    parent: str = "",
    resource: dict[str, Any] | None = None,
) -> DecodedSpan:
    return DecodedSpan(
        trace_id=trace_id,
        span_id=f"{next(_ids):016x}",
        parent_span_id=parent,
        name=name,
        start_ns=start_ns,
        end_ns=start_ns + duration_ns,
        status_code=status,
        status_message=status_message,
        attributes=dict(attributes or {}),
        events=events or [],
        resource=resource if resource is not None else dict(RESOURCE),
        scope="test.scope",
    )


def event(name: str, attributes: dict[str, Any] | None = None, offset_ns: int = 1000) -> SpanEvent:
    return SpanEvent(name, START_NS + offset_ns, dict(attributes or {}))


def context(**changes: Any) -> NormalizeContext:
    base: dict[str, Any] = {"project_id": "proj", "retention_days": 30, "prices": PRICES}
    base.update(changes)
    return NormalizeContext(**base)


def row_of(attributes: dict[str, Any] | None = None, ctx: NormalizeContext | None = None, **kw: Any) -> dict[str, Any]:
    return normalize([span(attributes, **kw)], ctx or context())[0]


def fixture_rows(name: str) -> dict[str, list[dict[str, Any]]]:
    """The fixture's rows by span name."""
    result = decode_traces((FIXTURES / name / "traces.pb").read_bytes(), PROTOBUF, Limits(max_past_s=10**10))
    assert result.rejected == 0
    by_name: dict[str, list[dict[str, Any]]] = {}
    for row in normalize(result.spans, context()):
        by_name.setdefault(row["name"], []).append(row)
    return by_name


def fixture_logs(name: str) -> list[DecodedLog]:
    logs, skipped = decode_logs((FIXTURES / name / "logs.pb").read_bytes(), PROTOBUF)
    assert skipped == 0
    return logs


def messages(value: str) -> list[dict[str, Any]]:
    parsed = json.loads(value)
    assert isinstance(parsed, list)
    return parsed


SYSTEM_USER = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}]
ANSWER = "Paris is the capital of France."


# --- fixture: openinference-openai -------------------------------------------------------------------


@pytest.fixture(scope="module")
def oi_rows() -> dict[str, list[dict[str, Any]]]:
    return fixture_rows("openinference-openai")


def _oi_chat(oi_rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return next(r for r in oi_rows["ChatCompletion"] if r["status"] == "OK")


def _oi_failed(oi_rows: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    return next(r for r in oi_rows["ChatCompletion"] if r["status"] == "ERROR")


def test_openinference_chat_is_a_generation_of_the_response_model(oi_rows: Any) -> None:
    row = _oi_chat(oi_rows)
    assert (row["kind"], row["model"], row["provider"]) == ("generation", "gpt-4o-mini-2024-07-18", "openai")


def test_openinference_chat_requested_model_comes_from_invocation_parameters(oi_rows: Any) -> None:
    assert _oi_chat(oi_rows)["request_model"] == "gpt-4o-mini"


def test_openinference_chat_tokens(oi_rows: Any) -> None:
    row = _oi_chat(oi_rows)
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (23, 7, 30)


def test_openinference_chat_input_is_the_system_and_user_messages(oi_rows: Any) -> None:
    assert messages(_oi_chat(oi_rows)["input"]) == SYSTEM_USER


def test_openinference_chat_output_is_the_assistant_text(oi_rows: Any) -> None:
    assert _oi_chat(oi_rows)["output"] == ANSWER


def test_openinference_chat_finish_reason_and_status(oi_rows: Any) -> None:
    row = _oi_chat(oi_rows)
    assert (row["finish_reasons"], row["status"]) == (["stop"], "OK")


def test_openinference_raw_request_and_response_are_not_kept_beside_the_messages(oi_rows: Any) -> None:
    attrs = _oi_chat(oi_rows)["attributes"]
    assert not {A.OI_INPUT_VALUE, A.OI_OUTPUT_VALUE, A.OI_INPUT_MIME, A.OI_OUTPUT_MIME} & set(attrs)


def test_openinference_invocation_parameters_stay_in_attributes(oi_rows: Any) -> None:
    attrs = _oi_chat(oi_rows)["attributes"]
    assert json.loads(attrs[A.OI_LLM_INVOCATION_PARAMETERS]) == {"model": "gpt-4o-mini", "temperature": 0.1}


def test_openinference_embedding_span(oi_rows: Any) -> None:
    (row,) = oi_rows["CreateEmbeddings"]
    assert (row["kind"], row["model"], row["input_tokens"]) == ("embedding", "text-embedding-3-small", 5)


def test_openinference_embedding_is_not_an_llm_call(oi_rows: Any) -> None:
    (row,) = oi_rows["CreateEmbeddings"]
    assert row.get("is_llm_call", 0) == 0


def test_openinference_failed_chat_is_an_error_generation_without_usage(oi_rows: Any) -> None:
    row = _oi_failed(oi_rows)
    assert row["kind"] == "generation"
    assert row.get("input_tokens", 0) == row.get("output_tokens", 0) == row.get("total_tokens", 0) == 0


def test_openinference_failed_chat_error_type_comes_from_the_exception_event(oi_rows: Any) -> None:
    assert _oi_failed(oi_rows)["error_type"] == "openai.RateLimitError"


def test_openinference_failed_chat_keeps_the_exception_event(oi_rows: Any) -> None:
    (ev,) = json.loads(_oi_failed(oi_rows)["events"])
    assert ev["name"] == "exception"
    assert ev["attributes"]["exception.type"] == "openai.RateLimitError"


def test_openinference_failed_chat_model_is_the_requested_one(oi_rows: Any) -> None:
    assert _oi_failed(oi_rows)["model"] == "fail-model"


def test_openinference_spans_have_the_resource_service(oi_rows: Any) -> None:
    assert {r["service"] for rows in oi_rows.values() for r in rows} == {"openinference-app"}


# --- fixture: otel-genai-openai-v2 -------------------------------------------------------------------


@pytest.fixture(scope="module")
def v2_rows() -> dict[str, list[dict[str, Any]]]:
    return fixture_rows("otel-genai-openai-v2")


def test_otel_v2_chat_models_and_provider(v2_rows: Any) -> None:
    (row,) = v2_rows["chat gpt-4o-mini"]
    assert (row["kind"], row["request_model"], row["model"], row["provider"]) == (
        "generation",
        "gpt-4o-mini",
        "gpt-4o-mini-2024-07-18",
        "openai",
    )


def test_otel_v2_chat_tokens_and_finish_reasons(v2_rows: Any) -> None:
    (row,) = v2_rows["chat gpt-4o-mini"]
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (23, 7, 30)
    assert row["finish_reasons"] == ["stop"]


def test_otel_v2_chat_keeps_request_parameters_and_response_id_in_attributes(v2_rows: Any) -> None:
    (row,) = v2_rows["chat gpt-4o-mini"]
    assert row["attributes"] == {
        "gen_ai.request.temperature": "0.1",
        "gen_ai.request.max_tokens": "50",
        "gen_ai.response.id": "chatcmpl-123",
    }


def test_otel_v2_chat_has_no_content(v2_rows: Any) -> None:
    (row,) = v2_rows["chat gpt-4o-mini"]
    assert row.get("input", "") == row.get("output", "") == ""


def test_otel_v2_embedding_span(v2_rows: Any) -> None:
    (row,) = v2_rows["embeddings text-embedding-3-small"]
    assert (row["kind"], row["model"], row["input_tokens"]) == ("embedding", "text-embedding-3-small", 5)
    assert row["attributes"][A.GEN_AI_EMBEDDINGS_DIMENSION] == "3"


def test_otel_v2_failed_chat_has_error_type_and_status(v2_rows: Any) -> None:
    (row,) = v2_rows["chat fail-model"]
    assert (row["kind"], row["status"], row["error_type"]) == ("generation", "ERROR", "RateLimitError")
    assert row["status_message"] == "Error code: 429 - Rate limit"


def test_otel_v2_app_span_is_a_plain_span_without_model(v2_rows: Any) -> None:
    (row,) = v2_rows["answer_question"]
    assert row["kind"] == "span"
    assert row.get("model", "") == ""


def test_otel_v2_client_spans_are_children_of_the_app_span(v2_rows: Any) -> None:
    (parent,) = v2_rows["answer_question"]
    children = [r for name, rows in v2_rows.items() if name != "answer_question" for r in rows]
    assert len(children) == 3
    assert {(r["trace_id"], r["parent_span_id"]) for r in children} == {(parent["trace_id"], parent["span_id"])}


def test_otel_v2_status_unset_stays_unset(v2_rows: Any) -> None:
    (row,) = v2_rows["chat gpt-4o-mini"]
    assert row["status"] == "UNSET"


def test_otel_v2_failure_after_success_is_not_a_fallback(v2_rows: Any) -> None:
    (failed,) = v2_rows["chat fail-model"]
    (ok,) = v2_rows["chat gpt-4o-mini"]
    assert failed["is_llm_call"] == ok["is_llm_call"] == 1
    assert failed.get("fallback_attempt", 0) == ok.get("fallback_used", 0) == 0


# --- fixture: otel-genai-openai-v2-content (span + content as log records) ---------------------------


def test_content_logs_give_the_canonical_input_output_and_finish_reason() -> None:
    patches = content_from_logs(fixture_logs("otel-genai-openai-v2-content"))
    (patch,) = patches.values()
    assert messages(patch.input) == SYSTEM_USER
    assert patch.input == '[{"role":"system","content":"Be brief."},{"role":"user","content":"Capital of France?"}]'
    assert (patch.output, patch.finish_reasons) == (ANSWER, ["stop"])


def test_content_logs_are_keyed_by_the_span_they_belong_to() -> None:
    patches = content_from_logs(fixture_logs("otel-genai-openai-v2-content"))
    (row,) = fixture_rows("otel-genai-openai-v2-content")["chat gpt-4o-mini"]
    assert list(patches) == [(row["trace_id"], row["span_id"])]


def test_merge_content_fills_the_span_row_from_the_logs() -> None:
    (row,) = fixture_rows("otel-genai-openai-v2-content")["chat gpt-4o-mini"]
    (patch,) = content_from_logs(fixture_logs("otel-genai-openai-v2-content")).values()
    merge_content(row, patch)
    assert (messages(row["input"]), row["output"], row["finish_reasons"]) == (SYSTEM_USER, ANSWER, ["stop"])


def test_merge_content_never_overwrites_content_the_span_had() -> None:
    row = {"input": "[]", "output": "from span", "finish_reasons": ["length"]}
    merge_content(row, ContentPatch(input="[1]", output="from logs", finish_reasons=["stop"]))
    assert row == {"input": "[]", "output": "from span", "finish_reasons": ["length"]}


def test_content_logs_order_messages_by_time_not_arrival() -> None:
    logs = fixture_logs("otel-genai-openai-v2-content")
    patch = next(iter(content_from_logs(list(reversed(logs))).values()))
    assert messages(patch.input) == SYSTEM_USER


def test_content_logs_tool_calls_and_tool_results() -> None:
    tid, sid = "a" * 32, "b" * 16
    logs = [
        DecodedLog(tid, sid, A.GEN_AI_EVENT_USER_MESSAGE, 1, {"content": "Weather?"}, {}, {}),
        DecodedLog(
            tid,
            sid,
            A.GEN_AI_EVENT_ASSISTANT_MESSAGE,
            2,
            {"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}]},
            {},
            {},
        ),
        DecodedLog(tid, sid, A.GEN_AI_EVENT_TOOL_MESSAGE, 3, {"content": "sunny", "id": "c1"}, {}, {}),
        DecodedLog(
            tid,
            sid,
            A.GEN_AI_EVENT_CHOICE,
            4,
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {"tool_calls": [{"id": "c2", "function": {"name": "w", "arguments": '{"c":1}'}}]},
            },
            {},
            {},
        ),
    ]
    patch = content_from_logs(logs)[(tid, sid)]
    assert messages(patch.input) == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
        },
        {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
    ]
    assert messages(patch.output) == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c2", "type": "function", "function": {"name": "w", "arguments": '{"c":1}'}}],
        }
    ]
    assert patch.finish_reasons == ["tool_calls"]


def test_content_logs_operation_details_event() -> None:
    tid, sid = "c" * 32, "d" * 16
    details = DecodedLog(
        tid,
        sid,
        A.GEN_AI_EVENT_OPERATION_DETAILS,
        1,
        None,
        {
            A.GEN_AI_SYSTEM_INSTRUCTIONS: '[{"type": "text", "content": "Be brief."}]',
            A.GEN_AI_INPUT_MESSAGES: [
                {"role": "user", "parts": [{"type": "text", "content": SYSTEM_USER[1]["content"]}]}
            ],
            A.GEN_AI_OUTPUT_MESSAGES: '[{"role": "assistant", "parts": [{"type": "text", "content": "'
            + ANSWER
            + '"}], "finish_reason": "stop"}]',
        },
        {},
    )
    patch = content_from_logs([details])[(tid, sid)]
    assert (messages(patch.input), patch.output, patch.finish_reasons) == (SYSTEM_USER, ANSWER, ["stop"])


def test_content_logs_ignore_records_without_genai_content() -> None:
    log = DecodedLog("e" * 32, "f" * 16, "app.log", 1, "hello", {}, {})
    assert content_from_logs([log]) == {}


def test_content_logs_are_truncated_to_the_limit() -> None:
    tid, sid = "1" * 32, "2" * 16
    log = DecodedLog(tid, sid, A.GEN_AI_EVENT_CHOICE, 1, {"message": {"content": "x" * 5000}}, {}, {})
    patch = content_from_logs([log], max_content_bytes=1000)[(tid, sid)]
    assert patch.output == "x" * 1000 + A.SS_TRUNCATED_SUFFIX


# --- OTel GenAI (current and deprecated names) ------------------------------------------------------


def test_otel_current_usage_keys_map_to_token_columns() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1000,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 200,
            A.GEN_AI_USAGE_CACHE_READ: 600,
            A.GEN_AI_USAGE_CACHE_WRITE: 100,
            A.GEN_AI_USAGE_REASONING: 50,
        }
    )
    assert [row[c] for c in ("input_tokens", "output_tokens", "total_tokens")] == [1000, 200, 1200]
    assert [row[c] for c in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")] == [600, 100, 50]


def test_otel_deprecated_usage_keys_map_to_token_columns() -> None:
    row = row_of(
        {
            A.GEN_AI_SYSTEM: "anthropic",
            A.GEN_AI_REQUEST_MODEL: "claude-3-5-sonnet-20241022",
            A.GEN_AI_USAGE_PROMPT_TOKENS: 10,
            A.GEN_AI_USAGE_COMPLETION_TOKENS: 4,
            A.GEN_AI_USAGE_CACHE_READ_OLD: 3,
            A.GEN_AI_USAGE_CACHE_CREATION_OLD: 2,
            A.GEN_AI_USAGE_REASONING_OLD: 1,
        }
    )
    assert [row[c] for c in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")] == [
        10,
        4,
        3,
        2,
    ]
    assert (row["reasoning_tokens"], row["provider"]) == (1, "anthropic")


def test_otel_current_name_wins_over_the_deprecated_one() -> None:
    row = row_of({A.GEN_AI_USAGE_INPUT_TOKENS: 7, A.GEN_AI_USAGE_PROMPT_TOKENS: 9})
    assert row["input_tokens"] == 7
    assert row["attributes"] == {A.GEN_AI_USAGE_PROMPT_TOKENS: "9"}


def test_a_deprecated_key_repeating_the_same_value_is_consumed() -> None:
    row = row_of({A.GEN_AI_PROVIDER_NAME: "openai", A.GEN_AI_SYSTEM: "openai"})
    assert row["provider"] == "openai"
    assert A.GEN_AI_SYSTEM not in row["attributes"]


def test_span_total_tokens_win_over_the_sum() -> None:
    row = row_of({A.GEN_AI_USAGE_INPUT_TOKENS: 5, A.GEN_AI_USAGE_OUTPUT_TOKENS: 5, A.GEN_AI_USAGE_TOTAL_TOKENS: 11})
    assert row["total_tokens"] == 11


def test_provider_names_are_normalised() -> None:
    assert row_of({A.GEN_AI_PROVIDER_NAME: "gcp.gemini"})["provider"] == "google"
    assert row_of({A.GEN_AI_SYSTEM: "Azure OpenAI"})["provider"] == "azure"
    assert row_of({A.GEN_AI_SYSTEM: "MistralAI"})["provider"] == "mistral"
    assert row_of({A.GEN_AI_SYSTEM: "OpenAI"})["provider"] == "openai"


def test_otel_input_and_output_messages_with_parts() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_SYSTEM_INSTRUCTIONS: [{"type": "text", "content": "Be brief."}],
            A.GEN_AI_INPUT_MESSAGES: json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]}]
            ),
            A.GEN_AI_OUTPUT_MESSAGES: json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [{"type": "text", "content": ANSWER}],
                        "finish_reason": "stop",
                    }
                ]
            ),
        }
    )
    assert (messages(row["input"]), row["output"], row["finish_reasons"]) == (SYSTEM_USER, ANSWER, ["stop"])


def test_otel_structured_messages_are_read_like_json_ones() -> None:
    structured = [{"role": "user", "parts": [{"type": "text", "content": "Hi"}, {"type": "text", "content": "there"}]}]
    row = row_of({A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_INPUT_MESSAGES: structured})
    assert messages(row["input"]) == [{"role": "user", "content": "Hi\nthere"}]


def test_otel_tool_call_output_is_the_json_of_the_output_messages() -> None:
    out = [
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}],
            "finish_reason": "tool_call",
        }
    ]
    row = row_of({A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_OUTPUT_MESSAGES: json.dumps(out)})
    assert messages(row["output"]) == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        }
    ]


def test_otel_tool_call_response_becomes_a_tool_message() -> None:
    msgs = [{"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "18°C"}]}]
    row = row_of({A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_INPUT_MESSAGES: json.dumps(msgs)})
    assert messages(row["input"]) == [{"role": "tool", "content": "18°C", "tool_call_id": "call_1"}]


def test_otel_non_text_parts_become_attachments_without_data() -> None:
    msgs = [
        {
            "role": "user",
            "parts": [
                {"type": "text", "content": "What is this?"},
                {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgo="},
            ],
        }
    ]
    row = row_of({A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_INPUT_MESSAGES: json.dumps(msgs)})
    assert messages(row["input"]) == [
        {
            "role": "user",
            "content": "What is this?",
            "attachments": [{"type": "blob", "modality": "image", "mime_type": "image/png"}],
        }
    ]


def test_otel_tool_span_input_and_output_are_the_call_arguments_and_result() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "execute_tool",
            A.GEN_AI_TOOL_NAME: "get_weather",
            A.GEN_AI_TOOL_CALL_ARGUMENTS: '{"city": "Paris"}',
            A.GEN_AI_TOOL_CALL_RESULT: "18°C",
        }
    )
    assert (row["kind"], row["input"], row["output"]) == ("tool", '{"city": "Paris"}', "18°C")
    assert row["attributes"] == {A.GEN_AI_TOOL_NAME: "get_weather"}


def test_otel_retrieval_query_and_documents() -> None:
    docs = [{"id": "d1", "score": 0.9, "content": "Paris is in France", "metadata": {"src": "wiki"}}]
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "retrieval",
            A.GEN_AI_RETRIEVAL_QUERY: "capital of France",
            A.GEN_AI_RETRIEVAL_DOCUMENTS: json.dumps(docs),
        }
    )
    assert (row["kind"], row["input"]) == ("retrieval", "capital of France")
    assert json.loads(row["documents"]) == docs


def test_otel_session_user_prompt_and_ttft() -> None:
    row = row_of(
        {
            A.GEN_AI_CONVERSATION_ID: "s-1",
            A.USER_ID: "u-1",
            A.GEN_AI_PROMPT_NAME: "greeter",
            A.GEN_AI_PROMPT_VERSION: "3",
            A.GEN_AI_RESPONSE_TTFC: 0.25,
        }
    )
    assert [row[c] for c in ("session_id", "user_id", "prompt_name", "prompt_version")] == [
        "s-1",
        "u-1",
        "greeter",
        "3",
    ]
    assert row["ttft_ms"] == pytest.approx(250.0)


def test_enduser_id_is_the_user_when_user_id_is_absent() -> None:
    assert row_of({A.ENDUSER_ID: "alice"})["user_id"] == "alice"


def test_otel_operation_name_is_kept_as_operation() -> None:
    assert row_of({A.GEN_AI_OPERATION_NAME: "generate_content"})["operation"] == "generate_content"


# --- OpenInference ------------------------------------------------------------------------------------


def test_openinference_indexed_messages_with_contents_and_tool_calls() -> None:
    p = A.OI_INPUT_MESSAGES_PREFIX
    o = A.OI_OUTPUT_MESSAGES_PREFIX
    row = row_of(
        {
            A.OI_SPAN_KIND: "LLM",
            A.OI_LLM_MODEL_NAME: "gpt-4o",
            p + "0.message.role": "user",
            p + "0.message.contents.0.message_content.type": "text",
            p + "0.message.contents.0.message_content.text": "Look:",
            p + "0.message.contents.1.message_content.type": "image",
            p + "0.message.contents.1.message_content.image.image.url": "https://x/cat.png",
            o + "0.message.role": "assistant",
            o + "0.message.tool_calls.0.tool_call.id": "call_9",
            o + "0.message.tool_calls.0.tool_call.function.name": "describe",
            o + "0.message.tool_calls.0.tool_call.function.arguments": '{"what": "cat"}',
        }
    )
    assert messages(row["input"]) == [
        {"role": "user", "content": "Look:", "attachments": [{"type": "image", "uri": "https://x/cat.png"}]}
    ]
    assert messages(row["output"]) == [
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "describe", "arguments": '{"what": "cat"}'},
                }
            ],
        }
    ]
    assert row["attributes"] == {}


def test_openinference_token_details_and_cost() -> None:
    row = row_of(
        {
            A.OI_SPAN_KIND: "LLM",
            A.OI_LLM_MODEL_NAME: "gpt-4o",
            A.OI_TOKEN_PROMPT: 100,
            A.OI_TOKEN_COMPLETION: 20,
            A.OI_TOKEN_CACHE_READ: 40,
            A.OI_TOKEN_CACHE_WRITE: 10,
            A.OI_TOKEN_REASONING: 5,
            A.OI_COST_TOTAL: 0.0123,
        }
    )
    assert [row[c] for c in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens")] == [40, 10, 5]
    assert (row["cost_usd"], row["cost_source"]) == (0.0123, "span")


def test_openinference_session_user_tags_metadata_and_prompt_version() -> None:
    row = row_of(
        {
            A.OI_SPAN_KIND: "CHAIN",
            A.OI_SESSION_ID: "s-9",
            A.OI_USER_ID: "u-9",
            A.OI_TAGS: ["beta", "eu"],
            A.OI_METADATA: '{"customer": "acme", "tier": 2}',
            A.OI_PROMPT_TEMPLATE_VERSION: "v7",
        }
    )
    assert [row[c] for c in ("kind", "session_id", "user_id", "tags", "prompt_version")] == [
        "chain",
        "s-9",
        "u-9",
        ["beta", "eu"],
        "v7",
    ]
    assert row["attributes"] == {"metadata.customer": "acme", "metadata.tier": "2"}


def test_openinference_retriever_documents() -> None:
    d = A.OI_RETRIEVAL_DOCUMENTS_PREFIX
    row = row_of(
        {
            A.OI_SPAN_KIND: "RETRIEVER",
            A.OI_INPUT_VALUE: "capital of France",
            d + "0.document.id": "doc-1",
            d + "0.document.score": 0.87,
            d + "0.document.content": "Paris is the capital.",
            d + "0.document.metadata": '{"page": 3}',
            d + "1.document.content": "Lyon is a city.",
        }
    )
    assert (row["kind"], row["input"]) == ("retrieval", "capital of France")
    assert json.loads(row["documents"]) == [
        {"id": "doc-1", "score": 0.87, "content": "Paris is the capital.", "metadata": {"page": 3}},
        {"id": "", "score": None, "content": "Lyon is a city.", "metadata": {}},
    ]


def test_openinference_reranker_model_and_output_documents() -> None:
    r = A.OI_RERANKER_OUTPUT_DOCUMENTS_PREFIX
    row = row_of(
        {
            A.OI_SPAN_KIND: "RERANKER",
            A.OI_RERANKER_MODEL_NAME: "rerank-english-v3.0",
            A.OI_RERANKER_QUERY: "capital",
            r + "0.document.id": "doc-1",
            r + "0.document.score": 0.99,
        }
    )
    assert (row["kind"], row["model"], row["input"]) == ("rerank", "rerank-english-v3.0", "capital")
    assert json.loads(row["documents"])[0]["id"] == "doc-1"


def test_openinference_llm_without_indexed_messages_reads_the_raw_openai_bodies() -> None:
    row = row_of(
        {
            A.OI_SPAN_KIND: "LLM",
            A.OI_INPUT_VALUE: json.dumps({"model": "gpt-4o", "messages": SYSTEM_USER}),
            A.OI_INPUT_MIME: "application/json",
            A.OI_OUTPUT_VALUE: json.dumps(
                {
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": ANSWER},
                        }
                    ]
                }
            ),
            A.OI_OUTPUT_MIME: "application/json",
        }
    )
    assert (messages(row["input"]), row["output"], row["finish_reasons"]) == (SYSTEM_USER, ANSWER, ["stop"])
    assert row["attributes"] == {}


def test_openinference_chain_input_and_output_are_the_raw_values() -> None:
    row = row_of({A.OI_SPAN_KIND: "CHAIN", A.OI_INPUT_VALUE: '{"q": 1}', A.OI_OUTPUT_VALUE: "done"})
    assert (row["kind"], row["input"], row["output"]) == ("chain", '{"q": 1}', "done")


def test_openinference_old_prompt_and_choice_lists() -> None:
    row = row_of(
        {
            A.OI_SPAN_KIND: "LLM",
            A.OI_PROMPTS_PREFIX + "0.prompt.text": "Say hi",
            A.OI_CHOICES_PREFIX + "0.completion.text": "hi",
        }
    )
    assert (messages(row["input"]), row["output"]) == ([{"role": "user", "content": "Say hi"}], "hi")


# --- Traceloop / OpenLLMetry -------------------------------------------------------------------------


def test_traceloop_legacy_indexed_prompt_and_completion() -> None:
    p, c = A.GEN_AI_PROMPT_PREFIX, A.GEN_AI_COMPLETION_PREFIX
    row = row_of(
        {
            A.TL_LLM_REQUEST_TYPE: "chat",
            A.GEN_AI_SYSTEM: "OpenAI",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            p + "0.role": "system",
            p + "0.content": "Be brief.",
            p + "1.role": "user",
            p + "1.content": "Capital of France?",
            c + "0.role": "assistant",
            c + "0.content": ANSWER,
            c + "0.finish_reason": "stop",
        }
    )
    assert (row["kind"], row["operation"], row["provider"]) == ("generation", "chat", "openai")
    assert (messages(row["input"]), row["output"], row["finish_reasons"]) == (SYSTEM_USER, ANSWER, ["stop"])


def test_traceloop_legacy_completion_tool_calls() -> None:
    c = A.GEN_AI_COMPLETION_PREFIX
    row = row_of(
        {
            A.TL_LLM_REQUEST_TYPE: "chat",
            c + "0.role": "assistant",
            c + "0.finish_reason": "tool_calls",
            c + "0.tool_calls.0.id": "call_1",
            c + "0.tool_calls.0.name": "lookup",
            c + "0.tool_calls.0.arguments": '{"q": "x"}',
        }
    )
    assert messages(row["output"])[0]["tool_calls"] == [
        {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "x"}'}}
    ]


def test_traceloop_prompt_name_key_is_not_taken_for_a_message() -> None:
    row = row_of({A.GEN_AI_PROMPT_NAME: "greeter", A.GEN_AI_PROMPT_PREFIX + "0.content": "hi"})
    assert row["prompt_name"] == "greeter"
    assert messages(row["input"]) == [{"role": "user", "content": "hi"}]


def test_traceloop_workflow_task_agent_and_tool_kinds() -> None:
    kinds = [row_of({A.TL_SPAN_KIND: k})["kind"] for k in ("workflow", "task", "agent", "tool")]
    assert kinds == ["chain", "chain", "agent", "tool"]


def test_traceloop_entity_input_and_output_are_raw_content() -> None:
    row = row_of({A.TL_SPAN_KIND: "task", A.TL_ENTITY_INPUT: '{"inputs": 1}', A.TL_ENTITY_OUTPUT: '"ok"'})
    assert (row["input"], row["output"]) == ('{"inputs": 1}', '"ok"')


def test_traceloop_association_properties() -> None:
    row = row_of(
        {
            A.TL_SPAN_KIND: "workflow",
            A.TL_ASSOCIATION_SESSION_ID: "s-3",
            A.TL_ASSOCIATION_USER_ID: "u-3",
            A.TL_ASSOCIATION_PREFIX + "plan": "pro",
        }
    )
    assert (row["session_id"], row["user_id"]) == ("s-3", "u-3")
    assert row["attributes"] == {"metadata.plan": "pro"}


def test_traceloop_request_types_give_embedding_and_rerank() -> None:
    assert row_of({A.TL_LLM_REQUEST_TYPE: "embedding"})["kind"] == "embedding"
    assert row_of({A.TL_LLM_REQUEST_TYPE: "rerank"})["kind"] == "rerank"


def test_traceloop_old_total_and_prompt_keys() -> None:
    row = row_of(
        {
            A.TL_LLM_REQUEST_TYPE: "chat",
            A.TL_LLM_USAGE_TOTAL: 42,
            A.TL_PROMPT_KEY: "support-answer",
            A.TL_PROMPT_VERSION: 4,
        }
    )
    assert (row["total_tokens"], row["prompt_name"], row["prompt_version"]) == (42, "support-answer", "4")


def test_traceloop_vector_db_result_events_become_documents() -> None:
    row = row_of(
        {A.DB_SYSTEM: "chroma", A.DB_VECTOR_QUERY_TOP_K: 2},
        name="chroma.query",
        events=[
            event(A.TL_EVENT_DB_QUERY_RESULT, {A.TL_DB_QUERY_RESULT_ID: "a", A.TL_DB_QUERY_RESULT_DISTANCE: 0.1}),
            event(
                A.TL_EVENT_DB_QUERY_RESULT,
                {A.TL_DB_QUERY_RESULT_ID: "b", A.TL_DB_QUERY_RESULT_DOCUMENT: "text b"},
            ),
        ],
    )
    assert row["kind"] == "retrieval"
    assert [d["id"] for d in json.loads(row["documents"])] == ["a", "b"]
    assert "events" not in row


# --- OpenLIT -----------------------------------------------------------------------------------------


def test_openlit_content_prompt_lines_and_completion() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_SYSTEM: "openai",
            A.OPENLIT_CONTENT_PROMPT: "system: Be brief.\nuser: Capital of France?",
            A.OPENLIT_CONTENT_COMPLETION: ANSWER,
        }
    )
    assert (messages(row["input"]), row["output"]) == (SYSTEM_USER, ANSWER)


def test_openlit_cost_user_session_and_ttft() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 10,
            A.OPENLIT_TOKEN_COST_TOTAL: 0.5,
            A.OPENLIT_USER: "u-5",
            A.OPENLIT_SESSION: "s-5",
            A.OPENLIT_TTFT: 0.1,
        }
    )
    assert (row["cost_usd"], row["cost_source"], row["user_id"], row["session_id"]) == (
        0.5,
        "span",
        "u-5",
        "s-5",
    )
    assert row["ttft_ms"] == pytest.approx(100.0)


def test_openlit_vectordb_operation_is_retrieval() -> None:
    assert row_of({A.GEN_AI_OPERATION_NAME: "vectordb"})["kind"] == "retrieval"


def test_openlit_execute_task_operation_is_agent() -> None:
    assert row_of({A.GEN_AI_OPERATION_NAME: "execute_task"})["kind"] == "agent"


def test_openlit_workflow_input_and_output() -> None:
    row = row_of({A.OPENLIT_WORKFLOW_INPUT: "question", A.OPENLIT_WORKFLOW_OUTPUT: "answer"})
    assert (row["input"], row["output"]) == ("question", "answer")


# --- our spanscope keys -----------------------------------------------------------------------------


def test_spanscope_kind_wins_over_every_other_convention() -> None:
    row = row_of({A.SS_SPAN_KIND: "agent", A.OI_SPAN_KIND: "LLM", A.GEN_AI_OPERATION_NAME: "chat"})
    assert row["kind"] == "agent"


def test_unknown_spanscope_kind_is_kept_and_ignored() -> None:
    row = row_of({A.SS_SPAN_KIND: "banana", A.OI_SPAN_KIND: "TOOL"})
    assert row["kind"] == "tool"
    assert row["attributes"] == {A.SS_SPAN_KIND: "banana"}


def test_spanscope_tags_and_metadata() -> None:
    row = row_of({A.SS_TAGS: ["beta", "eu"], A.SS_METADATA_PREFIX + "customer": "acme"})
    assert row["tags"] == ["beta", "eu"]
    assert row["attributes"] == {"metadata.customer": "acme"}


def test_spanscope_input_and_output() -> None:
    row = row_of({A.SS_SPAN_KIND: "tool", A.SS_INPUT: '{"x": 1}', A.SS_OUTPUT: "2"})
    assert (row["input"], row["output"]) == ('{"x": 1}', "2")


def test_sdk_generation_span_normalises_fully() -> None:
    """The attribute set our SDK emits for a generation (standard keys plus spanscope ones)."""
    row = row_of(
        {
            A.SS_SPAN_KIND: "generation",
            A.OI_SPAN_KIND: "LLM",
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_PROVIDER_NAME: "openai",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_INPUT_TOKENS: 120,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 40,
            A.GEN_AI_USAGE_TOTAL_TOKENS: 160,
            A.GEN_AI_CONVERSATION_ID: "s-1",
            A.SESSION_ID: "s-1",
            A.USER_ID: "u-1",
            A.SS_TAGS: ["beta"],
            A.GEN_AI_USAGE_COST: 0.002,
        }
    )
    assert [row[c] for c in ("kind", "model", "provider", "session_id", "user_id", "tags", "cost_usd")] == [
        "generation",
        "gpt-4o-mini",
        "openai",
        "s-1",
        "u-1",
        ["beta"],
        0.002,
    ]
    assert row["attributes"] == {}


def test_structured_output_columns() -> None:
    row = row_of(
        {
            A.SS_OUTPUT_VALIDATED: True,
            A.SS_OUTPUT_VALID: False,
            A.SS_OUTPUT_ATTEMPTS: 3,
            A.SS_OUTPUT_SCHEMA: "Answer",
            A.SS_OUTPUT_ERROR: "missing field",
        }
    )
    assert (row["output_validated"], row["output_valid"], row["output_attempts"]) == (1, 0, 3)
    assert row["attributes"] == {A.SS_OUTPUT_SCHEMA: "Answer", A.SS_OUTPUT_ERROR: "missing field"}


def test_a_validity_result_means_the_output_was_validated() -> None:
    row = row_of({A.SS_OUTPUT_VALID: True})
    assert (row["output_validated"], row["output_valid"]) == (1, 1)


# --- kind heuristics ---------------------------------------------------------------------------------


def test_a_model_attribute_alone_makes_a_generation() -> None:
    assert row_of({A.GEN_AI_REQUEST_MODEL: "gpt-4o"})["kind"] == "generation"


def test_nemo_rail_span_names_are_guardrails() -> None:
    assert row_of({}, name=A.NEMO_SPAN_RAIL)["kind"] == "guardrail"
    assert row_of({}, name=A.NEMO_SPAN_REQUEST)["kind"] == "guardrail"


def test_a_tool_name_alone_makes_a_tool() -> None:
    assert row_of({A.GEN_AI_TOOL_NAME: "search"})["kind"] == "tool"


def test_an_embedding_dimension_alone_makes_an_embedding() -> None:
    assert row_of({A.GEN_AI_EMBEDDINGS_DIMENSION: 1536})["kind"] == "embedding"


def test_openinference_unknown_kind_falls_through_to_the_operation() -> None:
    assert row_of({A.OI_SPAN_KIND: "UNKNOWN", A.GEN_AI_OPERATION_NAME: "invoke_agent"})["kind"] == "agent"


def test_openinference_kind_wins_over_the_operation_name() -> None:
    assert row_of({A.OI_SPAN_KIND: "TOOL", A.GEN_AI_OPERATION_NAME: "chat"})["kind"] == "tool"


def test_operation_name_wins_over_traceloop_kind() -> None:
    assert row_of({A.GEN_AI_OPERATION_NAME: "invoke_agent", A.TL_SPAN_KIND: "workflow"})["kind"] == "agent"


def test_a_span_without_any_genai_key_is_a_plain_span() -> None:
    row = row_of({"http.method": "GET"})
    assert (row["kind"], row["attributes"]) == ("span", {"http.method": "GET"})


def test_operation_is_derived_from_the_kind_when_not_sent() -> None:
    assert row_of({A.OI_SPAN_KIND: "EMBEDDING"})["operation"] == "embeddings"


# --- content from span events ------------------------------------------------------------------------


def test_message_events_on_the_span_give_the_content() -> None:
    row = row_of(
        {A.GEN_AI_OPERATION_NAME: "chat"},
        events=[
            event(A.GEN_AI_EVENT_SYSTEM_MESSAGE, {"content": "Be brief."}, 1),
            event(A.GEN_AI_EVENT_USER_MESSAGE, {"content": "Capital of France?"}, 2),
            event(
                A.GEN_AI_EVENT_CHOICE,
                {"index": 0, "finish_reason": "stop", "message": json.dumps({"content": ANSWER})},
                3,
            ),
        ],
    )
    assert (messages(row["input"]), row["output"], row["finish_reasons"]) == (SYSTEM_USER, ANSWER, ["stop"])
    assert "events" not in row


def test_event_content_attribute_is_read_as_the_event_body() -> None:
    row = row_of(
        {A.GEN_AI_OPERATION_NAME: "chat"},
        events=[event(A.GEN_AI_EVENT_USER_MESSAGE, {A.GEN_AI_EVENT_CONTENT: '{"content": "hi"}'})],
    )
    assert messages(row["input"]) == [{"role": "user", "content": "hi"}]


def test_2024_prompt_and_completion_events() -> None:
    row = row_of(
        {A.GEN_AI_OPERATION_NAME: "chat"},
        events=[
            event(A.GEN_AI_EVENT_CONTENT_PROMPT, {A.GEN_AI_EVENT_PROMPT_ATTRIBUTE: json.dumps(SYSTEM_USER)}),
            event(A.GEN_AI_EVENT_CONTENT_COMPLETION, {A.GEN_AI_EVENT_COMPLETION_ATTRIBUTE: ANSWER}),
        ],
    )
    assert (messages(row["input"]), row["output"]) == (SYSTEM_USER, ANSWER)


def test_operation_details_event_on_the_span() -> None:
    row = row_of(
        {A.GEN_AI_OPERATION_NAME: "chat"},
        events=[
            event(
                A.GEN_AI_EVENT_OPERATION_DETAILS,
                {A.GEN_AI_INPUT_MESSAGES: [{"role": "user", "parts": [{"type": "text", "content": "hi"}]}]},
            )
        ],
    )
    assert messages(row["input"]) == [{"role": "user", "content": "hi"}]


def test_attribute_messages_win_over_message_events() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "chat",
            A.GEN_AI_INPUT_MESSAGES: '[{"role": "user", "content": "from attrs"}]',
        },
        events=[event(A.GEN_AI_EVENT_USER_MESSAGE, {"content": "from event"})],
    )
    assert messages(row["input"]) == [{"role": "user", "content": "from attrs"}]


def test_other_events_are_kept_with_time_strings() -> None:
    row = row_of({}, events=[event("cache.miss", {"key": "k1", "size": 3}, offset_ns=5_000)])
    assert json.loads(row["events"]) == [
        {"name": "cache.miss", "time": "1763700000.123461", "attributes": {"key": "k1", "size": 3}}
    ]


def test_no_events_give_no_events_value() -> None:
    assert row_of({}).get("events", "") == ""


# --- errors --------------------------------------------------------------------------------------------


def test_error_type_attribute_wins_over_the_exception_event() -> None:
    row = row_of(
        {A.ERROR_TYPE: "timeout"},
        status=2,
        events=[event(A.EXCEPTION_EVENT, {A.EXCEPTION_TYPE: "httpx.ReadTimeout", A.EXCEPTION_MESSAGE: "slow"})],
    )
    assert row["error_type"] == "timeout"


def test_exception_message_is_the_status_message_of_an_error_span_without_one() -> None:
    row = row_of({}, status=2, events=[event(A.EXCEPTION_EVENT, {A.EXCEPTION_TYPE: "E", A.EXCEPTION_MESSAGE: "boom"})])
    assert (row["status"], row["status_message"], row["error_type"]) == ("ERROR", "boom", "E")


def test_exception_event_does_not_make_an_unset_span_an_error() -> None:
    row = row_of({}, events=[event(A.EXCEPTION_EVENT, {A.EXCEPTION_TYPE: "E", A.EXCEPTION_MESSAGE: "handled"})])
    assert (row["status"], row.get("status_message", ""), row["error_type"]) == ("UNSET", "", "E")


# --- cost ----------------------------------------------------------------------------------------------


def test_span_provided_cost_wins_over_the_price_table() -> None:
    row = row_of(
        {
            A.GEN_AI_REQUEST_MODEL: "gpt-4o",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
            A.GEN_AI_USAGE_COST: 0.01,
        }
    )
    assert (row["cost_usd"], row["cost_source"]) == (0.01, "span")


def test_price_table_cost_when_the_span_has_none() -> None:
    row = row_of(
        {
            A.GEN_AI_SYSTEM: "openai",
            A.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
            A.GEN_AI_USAGE_OUTPUT_TOKENS: 1_000_000,
        }
    )
    assert row["cost_source"] == "price_table"
    assert row["cost_usd"] == pytest.approx(0.15 + 0.60)


def test_price_table_cost_counts_cached_tokens_at_the_cache_price() -> None:
    row = row_of(
        {
            A.GEN_AI_SYSTEM: "openai",
            A.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
            A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000,
            A.GEN_AI_USAGE_CACHE_READ: 500_000,
        }
    )
    assert row["cost_usd"] == pytest.approx(0.5 * 0.15 + 0.5 * 0.075)


def test_litellm_cost_is_span_provided() -> None:
    row = row_of({A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.LITELLM_COST_TOTAL: 0.07})
    assert (row["cost_usd"], row["cost_source"]) == (0.07, "span")


def test_openinference_prompt_and_completion_costs_add_up() -> None:
    row = row_of({A.OI_SPAN_KIND: "LLM", A.OI_COST_PROMPT: 0.01, A.OI_COST_COMPLETION: 0.02})
    assert row["cost_usd"] == pytest.approx(0.03)


def test_openlit_input_and_output_costs_add_up_and_leave_no_attribute_behind() -> None:
    row = row_of(
        {A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.OPENLIT_TOKEN_COST_INPUT: 0.004, A.OPENLIT_TOKEN_COST_OUTPUT: 0.006}
    )
    assert (row["cost_usd"], row["cost_source"]) == (pytest.approx(0.01), "span")
    assert A.OPENLIT_TOKEN_COST_INPUT not in row.get("attributes", {})


def test_a_total_cost_wins_over_the_parts() -> None:
    row = row_of({A.OI_SPAN_KIND: "LLM", A.OI_COST_TOTAL: 0.05, A.OI_COST_PROMPT: 0.01, A.OI_COST_COMPLETION: 0.02})
    assert row["cost_usd"] == pytest.approx(0.05)


def test_no_cost_for_an_unknown_model() -> None:
    row = row_of({A.GEN_AI_REQUEST_MODEL: "my-own-model", A.GEN_AI_USAGE_INPUT_TOKENS: 10})
    assert (row.get("cost_usd", 0.0), row.get("cost_source", "")) == (0.0, "")


def test_no_cost_without_tokens() -> None:
    row = row_of({A.GEN_AI_REQUEST_MODEL: "gpt-4o"})
    assert row.get("cost_source", "") == ""


def test_user_prices_are_used_for_cost() -> None:
    prices = PriceTable.from_dicts([], [{"model": "my-own-model", "input": 1.0, "output": 2.0}])
    row = row_of(
        {A.GEN_AI_REQUEST_MODEL: "my-own-model", A.GEN_AI_USAGE_INPUT_TOKENS: 1_000_000},
        ctx=context(prices=prices),
    )
    assert row["cost_usd"] == pytest.approx(1.0)


# --- fallback --------------------------------------------------------------------------------------------


def _sdk_generation(**extra: Any) -> dict[str, Any]:
    return {A.SS_SPAN_KIND: "generation", A.OI_SPAN_KIND: "LLM", A.GEN_AI_OPERATION_NAME: "chat", **extra}


def test_explicit_fallback_wrapper_is_the_logical_call() -> None:
    row = row_of(
        _sdk_generation(
            **{
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_RESPONSE_MODEL: "claude-3-5-haiku-20241022",
                A.SS_FALLBACK_REQUESTED_MODEL: "gpt-4o",
                A.SS_FALLBACK_ATTEMPTS: 2,
                A.SS_FALLBACK_USED: True,
                A.SS_FALLBACK_DEGRADED: False,
            }
        )
    )
    assert [row.get(c, 0) for c in ("is_llm_call", "fallback_attempts", "fallback_used", "fallback_degraded")] == [
        1,
        2,
        1,
        0,
    ]
    assert (row["model"], row["request_model"]) == ("claude-3-5-haiku-20241022", "gpt-4o")


def test_explicit_fallback_attempts_are_not_logical_calls() -> None:
    row = row_of(_sdk_generation(**{A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.SS_FALLBACK_ATTEMPT: 1}))
    assert (row.get("is_llm_call", 0), row["fallback_attempt"]) == (0, 1)


def test_a_fallback_wrapper_of_any_kind_is_a_logical_call() -> None:
    row = row_of({A.SS_SPAN_KIND: "chain", A.SS_FALLBACK_ATTEMPTS: 1})
    assert (row["kind"], row["is_llm_call"]) == ("chain", 1)


def test_a_degraded_wrapper_is_marked_degraded() -> None:
    row = row_of(_sdk_generation(**{A.SS_FALLBACK_ATTEMPTS: 2, A.SS_FALLBACK_USED: True, A.SS_FALLBACK_DEGRADED: True}))
    assert (row["fallback_used"], row["fallback_degraded"]) == (1, 1)


def test_the_fallback_wrapper_is_not_priced_twice() -> None:
    """Tokens are on the attempt that served; the wrapper gets no price-table cost."""
    row = row_of(
        _sdk_generation(
            **{
                A.GEN_AI_REQUEST_MODEL: "gpt-4o",
                A.GEN_AI_USAGE_INPUT_TOKENS: 100,
                A.SS_FALLBACK_ATTEMPTS: 1,
            }
        )
    )
    assert row.get("cost_source", "") == ""


def _chat(model: str, status: int, start_ms: int, parent: str = "1" * 16, duration_ms: int = 50) -> DecodedSpan:
    return span(
        {A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_REQUEST_MODEL: model},
        name=f"chat {model}",
        status=status,
        start_ns=START_NS + start_ms * 1_000_000,
        duration_ns=duration_ms * 1_000_000,
        parent=parent,
    )


def test_inferred_fallback_marks_the_serving_call_and_its_failed_attempts() -> None:
    rows = normalize([_chat("gpt-4o", 2, 0), _chat("gpt-4o", 2, 100), _chat("claude-3-5-sonnet", 1, 200)], context())
    assert [(r.get("fallback_attempt", 0), r.get("is_llm_call", 0)) for r in rows] == [(1, 0), (2, 0), (3, 1)]
    assert (rows[2]["fallback_used"], rows[2]["fallback_attempts"]) == (1, 3)


def test_inferred_fallback_ignores_the_order_spans_arrive_in() -> None:
    rows = normalize([_chat("claude-3-5-sonnet", 0, 200), _chat("gpt-4o", 2, 0)], context())
    assert rows[0]["fallback_used"] == 1
    assert rows[1]["is_llm_call"] == 0


def test_retry_of_the_same_model_is_not_a_fallback() -> None:
    rows = normalize([_chat("gpt-4o", 2, 0), _chat("gpt-4o", 0, 100)], context())
    assert [r.get("fallback_used", 0) for r in rows] == [0, 0]
    assert [r["is_llm_call"] for r in rows] == [1, 1]


def test_calls_under_different_parents_are_not_linked() -> None:
    rows = normalize([_chat("gpt-4o", 2, 0, parent="1" * 16), _chat("claude", 0, 100, parent="2" * 16)], context())
    assert [r.get("fallback_used", 0) for r in rows] == [0, 0]


def test_a_call_running_alongside_the_failure_is_not_its_fallback() -> None:
    rows = normalize([_chat("gpt-4o", 2, 0, duration_ms=500), _chat("claude", 0, 100)], context())
    assert rows[1].get("fallback_used", 0) == 0


def test_a_failure_with_no_later_success_stays_a_failed_logical_call() -> None:
    rows = normalize([_chat("claude", 0, 0), _chat("gpt-4o", 2, 100)], context())
    assert [r["is_llm_call"] for r in rows] == [1, 1]
    assert rows[1].get("fallback_attempt", 0) == 0


def test_explicit_attempts_are_left_out_of_inference() -> None:
    a = span(
        _sdk_generation(**{A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.SS_FALLBACK_ATTEMPT: 1}),
        status=2,
        parent="1" * 16,
    )
    b = span(
        _sdk_generation(**{A.GEN_AI_REQUEST_MODEL: "claude", A.SS_FALLBACK_ATTEMPT: 2}),
        start_ns=START_NS + 10**9,
        parent="1" * 16,
    )
    rows = normalize([a, b], context())
    assert [r.get("fallback_attempt") for r in rows] == [1, 2]
    assert rows[1].get("fallback_used", 0) == 0


# --- guardrails ----------------------------------------------------------------------------------------


def test_spanscope_guardrail_columns() -> None:
    row = row_of(
        {
            A.SS_SPAN_KIND: "guardrail",
            A.GEN_AI_GUARDRAIL_NAME: "pii",
            A.SS_GUARDRAIL_VERDICT: "modify",
            A.SS_GUARDRAIL_POLICY: "pii-v2",
            A.SS_GUARDRAIL_STAGE: "input",
            A.GEN_AI_GUARDRAIL_REASON: "email found",
            A.GEN_AI_GUARDRAIL_RISK_SCORE: 0.8,
        }
    )
    assert [row[c] for c in ("guardrail_name", "guardrail_verdict", "guardrail_policy", "guardrail_stage")] == [
        "pii",
        "modify",
        "pii-v2",
        "input",
    ]
    assert row["guardrail_reason"] == "email found"
    assert row["attributes"] == {A.GEN_AI_GUARDRAIL_RISK_SCORE: "0.8"}


@pytest.mark.parametrize(
    ("result_type", "value", "verdict"),
    [
        ("action", "GUARDRAIL_INTERVENED", "block"),
        ("action", "NONE", "pass"),
        ("tripwire_triggered", True, "block"),
        ("tripwire_triggered", "false", "pass"),
        ("filter_match_state", "MATCH_FOUND", "block"),
        ("action", "ANONYMIZED", "modify"),
    ],
)
def test_otel_guardrail_result_gives_the_verdict(result_type: str, value: Any, verdict: str) -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "apply_guardrail",
            A.GEN_AI_GUARDRAIL_NAME: "bedrock",
            A.GEN_AI_GUARDRAIL_RESULT_TYPE: result_type,
            A.GEN_AI_GUARDRAIL_RESULT_VALUE: value,
            A.GEN_AI_GUARDRAIL_SOURCE: "OUTPUT",
        }
    )
    assert (row["kind"], row["guardrail_verdict"], row["guardrail_stage"]) == ("guardrail", verdict, "output")


def test_otel_guardrail_severity_alone_gives_no_verdict() -> None:
    row = row_of(
        {
            A.GEN_AI_OPERATION_NAME: "apply_guardrail",
            A.GEN_AI_GUARDRAIL_RESULT_TYPE: "severity",
            A.GEN_AI_GUARDRAIL_RESULT_VALUE: "4",
        }
    )
    assert row.get("guardrail_verdict", "") == ""
    assert row["attributes"][A.GEN_AI_GUARDRAIL_RESULT_VALUE] == "4"


def test_otel_earlier_verdict_key() -> None:
    row = row_of({A.GEN_AI_OPERATION_NAME: "run_guardrail", A.GEN_AI_GUARDRAIL_VERDICT_OLD: "deny"})
    assert (row["kind"], row["guardrail_verdict"]) == ("guardrail", "block")


def test_guardrail_result_event_on_the_span() -> None:
    row = row_of(
        {A.SS_SPAN_KIND: "generation"},
        events=[
            event(
                A.GEN_AI_EVENT_GUARDRAIL_RESULT,
                {A.GEN_AI_GUARDRAIL_RESULT_TYPE: "tripwire_triggered", A.GEN_AI_GUARDRAIL_RESULT_VALUE: True},
            )
        ],
    )
    assert row["guardrail_verdict"] == "block"


@pytest.mark.parametrize(
    ("attrs", "verdict"),
    [
        ({A.OPENLIT_GUARD_VERDICT: "yes"}, "block"),
        ({A.OPENLIT_GUARD_VERDICT: "none"}, "pass"),
        ({A.OPENLIT_GUARD_DENIED: True}, "block"),
        ({A.OPENLIT_GUARD_ACTION: "redact"}, "modify"),
    ],
)
def test_openlit_guard_verdicts(attrs: dict[str, Any], verdict: str) -> None:
    row = row_of({A.OPENLIT_GUARD_VALIDATOR: "prompt_injection", A.OPENLIT_GUARD_PHASE: "input", **attrs})
    assert (row["kind"], row["guardrail_verdict"], row["guardrail_name"], row["guardrail_stage"]) == (
        "guardrail",
        verdict,
        "prompt_injection",
        "input",
    )


def test_openlit_guard_explanation_and_classification() -> None:
    row = row_of(
        {
            A.OPENLIT_GUARD_VERDICT: "yes",
            A.OPENLIT_GUARD_EXPLANATION: "asks for secrets",
            A.OPENLIT_GUARD_CLASSIFICATION: "jailbreak",
        }
    )
    assert (row["guardrail_reason"], row["guardrail_policy"]) == ("asks for secrets", "jailbreak")


@pytest.mark.parametrize(("stop", "verdict"), [(True, "block"), (False, "pass")])
def test_nemo_rail_stop_gives_the_verdict(stop: bool, verdict: str) -> None:
    row = row_of(
        {
            A.NEMO_RAIL_TYPE: "input",
            A.NEMO_RAIL_NAME: "self check input",
            A.NEMO_RAIL_STOP: stop,
            A.NEMO_RAIL_REASON: "jailbreak attempt",
        },
        name=A.NEMO_SPAN_RAIL,
    )
    assert [row[c] for c in ("kind", "guardrail_name", "guardrail_stage", "guardrail_verdict")] == [
        "guardrail",
        "self check input",
        "input",
        verdict,
    ]
    assert row["guardrail_reason"] == "jailbreak attempt"


@pytest.mark.parametrize(("passed", "verdict"), [(True, "pass"), ("False", "block")])
def test_guardrails_ai_guard_validation_passed(passed: Any, verdict: str) -> None:
    row = row_of({A.OI_SPAN_KIND: "GUARDRAIL", A.OPENLIT_GUARD_NAME: "answer-guard", A.GRAI_VALIDATION_PASSED: passed})
    assert (row["kind"], row["guardrail_name"], row["guardrail_verdict"]) == (
        "guardrail",
        "answer-guard",
        verdict,
    )


@pytest.mark.parametrize(
    ("outcome", "on_fail", "verdict"),
    [
        ("pass", "exception", "pass"),
        ("fail", "fix", "modify"),
        ("fail", "exception", "block"),
        ("fail", "noop", "pass"),
    ],
)
def test_guardrails_ai_validator_outcome(outcome: str, on_fail: str, verdict: str) -> None:
    row = row_of(
        {
            A.GRAI_VALIDATOR_NAME: "toxic-language",
            A.GRAI_VALIDATOR_ON_FAIL: on_fail,
            A.GRAI_VALIDATOR_OUTCOME: outcome,
            A.GRAI_VALIDATOR_ERROR: "bad words",
        },
        name="toxic-language.validate",
    )
    assert (row["kind"], row["guardrail_name"], row["guardrail_verdict"]) == (
        "guardrail",
        "toxic-language",
        verdict,
    )


def test_guardrail_span_without_a_name_attribute_is_named_after_the_span() -> None:
    row = row_of({A.OI_SPAN_KIND: "GUARDRAIL"}, name="moderation")
    assert row["guardrail_name"] == "moderation"


# --- row contract --------------------------------------------------------------------------------------


def test_row_keys_are_columns_of_the_spans_table() -> None:
    sql = resources.files("spanscope.schemas.migrations").joinpath("0001_spans.sql").read_text()
    columns = {line.split()[0] for line in sql.splitlines() if line.startswith("    ") and line.split()[0].islower()}
    assert set(COLUMN_DEFAULTS) <= columns
    row = row_of(
        _sdk_generation(**{A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.GEN_AI_USAGE_INPUT_TOKENS: 3, A.SS_TAGS: ["x"]}),
        events=[event("x")],
    )
    assert set(row) <= set(COLUMN_DEFAULTS)


def test_times_are_exact_second_strings_with_six_fraction_digits() -> None:
    row = row_of({}, start_ns=1_763_700_000_000_000_999, duration_ns=1_234_567_891)
    assert (row["start_time"], row["end_time"]) == ("1763700000.000000", "1763700001.234568")


def test_duration_is_milliseconds_from_the_nanosecond_timestamps() -> None:
    assert row_of({}, duration_ns=1_234_567)["duration_ms"] == pytest.approx(1.234567)


def test_status_codes_map_to_names() -> None:
    assert [row_of({}, status=code)["status"] for code in (0, 1, 2)] == ["UNSET", "OK", "ERROR"]


def test_unconsumed_attributes_are_kept_as_strings() -> None:
    row = row_of({"app.flag": True, "app.count": 3, "app.ratio": 0.5, "app.list": [1, "a"], "app.text": "t"})
    assert row["attributes"] == {
        "app.flag": "true",
        "app.count": "3",
        "app.ratio": "0.5",
        "app.list": '[1,"a"]',
        "app.text": "t",
    }


def test_unusable_values_stay_in_attributes() -> None:
    row = row_of({A.GEN_AI_USAGE_INPUT_TOKENS: "many", A.GEN_AI_REQUEST_MODEL: ""})
    assert row.get("input_tokens", 0) == 0
    assert row["attributes"] == {A.GEN_AI_USAGE_INPUT_TOKENS: "many", A.GEN_AI_REQUEST_MODEL: ""}


def test_resource_attributes_service_environment_and_release() -> None:
    row = row_of(
        {},
        resource={"service.name": "api", "deployment.environment": "staging", "service.version": "9", "n": 1},
    )
    assert (row["service"], row["environment"], row["release"]) == ("api", "staging", "9")
    assert row["resource_attributes"] == {
        "service.name": "api",
        "deployment.environment": "staging",
        "service.version": "9",
        "n": "1",
    }


def test_current_environment_key_wins_over_the_old_one() -> None:
    row = row_of({}, resource={"deployment.environment.name": "prod", "deployment.environment": "old"})
    assert row["environment"] == "prod"


def test_resource_project_overrides_the_context_project() -> None:
    assert row_of({}, resource={A.SS_PROJECT: "team-a"})["project_id"] == "team-a"


def test_resource_project_is_ignored_when_disabled() -> None:
    row = row_of({}, ctx=context(project_from_resource=False), resource={A.SS_PROJECT: "team-a"})
    assert row["project_id"] == "proj"


def test_retention_and_scope_are_set() -> None:
    row = row_of({}, ctx=context(retention_days=90))
    assert (row["retention_days"], row["scope"]) == (90, "test.scope")


def test_long_content_is_truncated_with_the_marker() -> None:
    row = row_of({A.SS_SPAN_KIND: "tool", A.SS_INPUT: "é" * 2000}, ctx=context(max_content_bytes=1001))
    assert row["input"] == "é" * 500 + A.SS_TRUNCATED_SUFFIX


def test_rows_serialise_with_orjson() -> None:
    rows = normalize(
        [
            span(_sdk_generation(**{A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.GEN_AI_USAGE_INPUT_TOKENS: 3})),
            span({}, events=[event(A.EXCEPTION_EVENT, {A.EXCEPTION_TYPE: "E"})], status=2),
        ],
        context(),
    )
    for row in rows:
        assert orjson.loads(orjson.dumps(row)) == row


def test_the_input_span_is_not_modified() -> None:
    attrs = {A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.GEN_AI_USAGE_INPUT_TOKENS: 3}
    s = span(attrs)
    normalize([s], context())
    assert s.attributes == attrs


def test_spans_with_the_same_keys_but_other_values_normalise_independently() -> None:
    rows = normalize(
        [span({A.GEN_AI_USAGE_INPUT_TOKENS: 3, A.GEN_AI_REQUEST_MODEL: m}) for m in ("gpt-4o", "", "o3")],
        context(),
    )
    assert [r.get("model", "") for r in rows] == ["gpt-4o", "", "o3"]
    assert rows[1]["attributes"] == {A.GEN_AI_REQUEST_MODEL: ""}


@pytest.mark.slow
def test_rows_insert_into_the_spans_table(tmp_path: Path) -> None:
    from spanscope.collector.storage import Storage

    spans: list[DecodedSpan] = []
    for name in ("openinference-openai", "otel-genai-openai-v2", "otel-genai-openai-v2-content"):
        body = (FIXTURES / name / "traces.pb").read_bytes()
        spans += decode_traces(body, PROTOBUF, Limits(max_past_s=10**10)).spans
    rows = normalize(spans, context())
    storage = Storage(None, tmp_path)
    try:
        storage.migrate()
        storage.insert_json_rows("spans", b"\n".join(orjson.dumps(r) for r in rows))
        got = storage.query_dicts(
            "SELECT toString(start_time) AS t, model, input_tokens, finish_reasons FROM spanscope.spans "
            "WHERE name = 'ChatCompletion' AND status = 'OK'"
        )
    finally:
        storage.close()
    assert got == [
        {
            "t": "2026-11-21 05:28:29.898576",
            "model": "gpt-4o-mini-2024-07-18",
            "input_tokens": 23,
            "finish_reasons": ["stop"],
        }
    ]


def test_sdk_function_input_is_kept_beside_the_messages() -> None:
    """Our SDK's input.value is the decorated function's input, not a copy of the messages."""
    row = row_of(
        {
            A.SS_SPAN_KIND: "generation",
            A.GEN_AI_INPUT_MESSAGES: '[{"role": "user", "content": "hi"}]',
            A.OI_INPUT_VALUE: '{"question": "hi", "user": 7}',
            A.OI_INPUT_MIME: "application/json",
        }
    )
    assert messages(row["input"]) == [{"role": "user", "content": "hi"}]
    assert row["attributes"] == {
        A.OI_INPUT_VALUE: '{"question": "hi", "user": 7}',
        A.OI_INPUT_MIME: "application/json",
    }


def test_sdk_generation_input_is_not_read_as_a_request_body() -> None:
    row = row_of({A.SS_SPAN_KIND: "generation", A.OI_INPUT_VALUE: '{"prompt": "a joke", "temperature": 0.3}'})
    assert row["input"] == '{"prompt": "a joke", "temperature": 0.3}'


def test_a_span_that_cannot_be_normalised_is_kept_as_a_plain_span() -> None:
    """Input no rule foresaw (here an event that is not an event) fails that span alone."""
    bad = span({A.GEN_AI_REQUEST_MODEL: "gpt-4o"}, name="chat")
    bad.events = [cast(SpanEvent, "not an event")]
    good = span({A.GEN_AI_REQUEST_MODEL: "gpt-4o"}, name="chat")
    rows = normalize([bad, good], context())
    assert (rows[0]["kind"], rows[0]["name"]) == ("span", "chat")
    error = rows[0]["attributes"].pop(A.SS_NORMALIZE_ERROR)
    assert error.split(":")[0] in {"AttributeError", "TypeError"}
    assert rows[0]["attributes"] == {A.GEN_AI_REQUEST_MODEL: "gpt-4o"}
    assert rows[1]["model"] == "gpt-4o"


_KNOWN_KEYS = sorted(
    {v for k, v in vars(A).items() if k.isupper() and isinstance(v, str) and v != A.SS_NORMALIZE_ERROR}
    | {
        A.OI_INPUT_MESSAGES_PREFIX + "0.message.role",
        A.OI_INPUT_MESSAGES_PREFIX + "0.message.content",
        A.OI_OUTPUT_MESSAGES_PREFIX + "0.message.tool_calls.0.tool_call.function.arguments",
        A.GEN_AI_PROMPT_PREFIX + "0.content",
        A.GEN_AI_COMPLETION_PREFIX + "0.tool_calls.0.name",
        A.OI_RETRIEVAL_DOCUMENTS_PREFIX + "0.document.metadata",
        A.SS_METADATA_PREFIX + "k",
        A.TL_ASSOCIATION_PREFIX + "k",
    }
)


def _json_values() -> Any:
    from hypothesis import strategies as st

    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(['[{"role": "user", "parts": [1, {"type": "tool_call"}]}]', '{"choices": [1]}', "[", "yes"]),
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["role", "content", "parts", "type", "message", "tool_calls"]), inner)
        ),
        max_leaves=8,
    )


@pytest.mark.slow
def test_any_values_under_known_keys_give_a_valid_row() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    events = st.lists(
        st.builds(
            SpanEvent,
            st.sampled_from(
                [A.EXCEPTION_EVENT, A.GEN_AI_EVENT_CHOICE, A.GEN_AI_EVENT_USER_MESSAGE, A.TL_EVENT_DB_QUERY_RESULT]
            ),
            st.just(START_NS),
            st.dictionaries(st.sampled_from(["content", "message", "index", A.EXCEPTION_TYPE]), _json_values()),
        ),
        max_size=2,
    )

    @settings(max_examples=150, deadline=None)
    @given(attributes=st.dictionaries(st.sampled_from(_KNOWN_KEYS), _json_values(), max_size=10), evs=events)
    def check(attributes: dict[str, Any], evs: list[SpanEvent]) -> None:
        (row,) = normalize([span(attributes, events=evs)], context())
        assert set(row) <= set(COLUMN_DEFAULTS)
        assert A.SS_NORMALIZE_ERROR not in row["attributes"]
        assert all(type(v) is str for v in row["attributes"].values())
        assert orjson.loads(orjson.dumps(row)) is not None

    check()


def test_operation_is_derived_for_a_span_known_only_by_its_name() -> None:
    assert row_of({}, name=A.NEMO_SPAN_RAIL)["operation"] == "apply_guardrail"


@pytest.mark.parametrize(
    "attributes",
    [
        {A.GEN_AI_OPERATION_NAME: "chat", A.GEN_AI_REQUEST_MODEL: "gpt-4o", A.GEN_AI_USAGE_INPUT_TOKENS: 3},
        {A.GEN_AI_PROVIDER_NAME: "openai", A.GEN_AI_SYSTEM: "OpenAI", A.GEN_AI_USAGE_OUTPUT_TOKENS: "4"},
        {A.SS_SPAN_KIND: "tool", A.SS_TAGS: "a,b", A.SS_METADATA_PREFIX + "k": 1, A.GEN_AI_USAGE_INPUT_TOKENS: -1},
        {A.OI_SPAN_KIND: "LLM", A.OI_INPUT_MESSAGES_PREFIX + "0.message.content": "hi", A.OI_TOKEN_PROMPT: ""},
    ],
)
def test_a_layout_seen_often_normalises_like_the_first_time(attributes: dict[str, Any]) -> None:
    """Recurring key layouts switch to generated code; the rows must not change."""
    rows = normalize([span(attributes) for _ in range(20)], context())
    first = {k: v for k, v in rows[0].items() if k != "span_id"}
    assert all({k: v for k, v in r.items() if k != "span_id"} == first for r in rows[1:])


def test_traceloop_retriever_output_documents() -> None:
    output = {"documents": [{"page_content": "Paris is the capital.", "metadata": {"id": "d7", "src": "wiki"}}]}
    row = row_of({A.TL_SPAN_KIND: "task", A.GEN_AI_OPERATION_NAME: "retrieval", A.TL_ENTITY_OUTPUT: json.dumps(output)})
    assert json.loads(row["documents"]) == [
        {"id": "d7", "score": None, "content": "Paris is the capital.", "metadata": {"id": "d7", "src": "wiki"}}
    ]
