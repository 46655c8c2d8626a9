"""Evaluators on records, without a collector: built-in checks, user callables with errors and
timeouts, configuration validation, and LLM-as-judge against a local OpenAI-compatible stub."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from spanscope.collector.evals.config import ConfigError, load_file, parse_document
from spanscope.collector.evals.evaluators import (
    TIMEOUT_PREFIX,
    EvalRecord,
    EvalResult,
    EvaluatorConfig,
    evaluate_one,
    evaluate_record,
)
from spanscope.collector.evals.judge import JudgeError, parse_verdict
from spanscope.schemas.evals import LlmJudgeParams

RELEASE = threading.Event()


# --------------------------------------------------------------------------- user callables (by reference)


def words(record: EvalRecord) -> float:
    return float(len(record.output.split()))


def polite(record: EvalRecord) -> bool:
    return "please" in record.output.lower()


def tone(record: EvalRecord) -> str:
    return "formal" if record.output.istitle() else "casual"


def detailed(record: EvalRecord) -> EvalResult:
    return EvalResult(name="ignored", value=0.25, data_type="numeric", comment="a quarter")


def not_applicable(record: EvalRecord) -> None:
    return None


def raises(record: EvalRecord) -> float:
    raise RuntimeError("model server exploded")


def returns_a_list(record: EvalRecord) -> Any:
    return [1, 2]


def hangs(record: EvalRecord) -> float:
    RELEASE.wait(30)
    return 1.0


def ev(name: str, type_: str, timeout_s: float = 10.0, **params: Any) -> EvaluatorConfig:
    return EvaluatorConfig(name=name, type=type_, params=params, timeout_s=timeout_s)  # type: ignore[arg-type]


def rec(output: str = "", **fields: Any) -> EvalRecord:
    return EvalRecord(output=output, **fields)


def one(config: EvaluatorConfig, record: EvalRecord) -> EvalResult:
    result = evaluate_one(config, record)
    assert result is not None
    return result


# --------------------------------------------------------------------------- built-in checks


def test_json_valid_accepts_json_and_a_fenced_json_reply() -> None:
    check = ev("json", "json_valid")
    assert one(check, rec('{"a": 1}')).value == 1.0
    assert one(check, rec('```json\n{"a": 1}\n```')).value == 1.0


def test_json_valid_rejects_prose_and_empty_output_with_a_reason() -> None:
    check = ev("json", "json_valid")
    bad = one(check, rec("Sure! Here it is: {a: 1}"))
    assert (bad.value, bad.string_value, bad.data_type) == (0.0, "false", "boolean")
    assert "invalid JSON" in (bad.comment or "")
    assert one(check, rec("   ")).comment == "output is empty"


def test_json_schema_names_the_failing_field() -> None:
    schema = {"type": "object", "properties": {"price": {"type": "number"}}, "required": ["price"]}
    check = ev("shape", "json_schema", schema=schema)
    assert one(check, rec('{"price": 3.5}')).value == 1.0
    bad = one(check, rec('{"price": "cheap"}'))
    assert bad.value == 0.0
    assert "price" in (bad.comment or "") and "number" in (bad.comment or "")


def test_json_schema_uses_a_registered_schema_by_name() -> None:
    check = ev("shape", "json_schema", schema_name="answer")
    schemas = {"answer": {"type": "object", "required": ["answer"]}}
    assert evaluate_record(rec('{"answer": "x"}'), [check], schemas)[0].value == 1.0
    assert evaluate_record(rec('{"other": "x"}'), [check], schemas)[0].value == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that request.",
        "I cannot assist with creating malware.",
        "As an AI language model, I cannot provide medical diagnoses.",
        "I must decline to answer that.",
    ],
)
def test_refusals_are_detected(text: str) -> None:
    result = one(ev("refused", "refusal"), rec(text))
    assert result.value == 1.0 and (result.comment or "").startswith("refusal")


@pytest.mark.parametrize(
    "text", ["INSUFFICIENT_DATA", "I don't know the answer to that.", "The provided context does not mention it."]
)
def test_explicit_i_dont_know_is_detected(text: str) -> None:
    result = one(ev("refused", "refusal"), rec(text))
    assert result.value == 1.0 and (result.comment or "").startswith("insufficient data")


def test_a_normal_answer_is_not_a_refusal() -> None:
    assert one(ev("refused", "refusal"), rec("Paris is the capital of France; I can help with more.")).value == 0.0


def test_refusal_takes_extra_patterns() -> None:
    check = ev("refused", "refusal", patterns=[r"\bNO_ANSWER\b"])
    assert one(check, rec("NO_ANSWER")).value == 1.0


@pytest.mark.parametrize(("text", "empty"), [("", True), ("  null ", True), ("{}", True), ("Paris", False)])
def test_empty_output(text: str, empty: bool) -> None:
    assert one(ev("empty", "empty_output"), rec(text)).value == float(empty)


def test_language_flags_an_answer_in_another_language() -> None:
    check = ev("lang", "language", expected=["en"])
    english = one(check, rec("The capital of France is Paris, a city on the Seine river."))
    german = one(check, rec("Die Hauptstadt von Frankreich ist Paris, eine Stadt an der Seine."))
    assert english.value == 1.0
    assert german.value == 0.0 and "detected de" in (german.comment or "")


def test_language_gives_no_score_for_a_text_too_short_to_tell() -> None:
    assert evaluate_one(ev("lang", "language", expected=["en"]), rec("OK 42")) is None


def test_length_limits_in_chars_and_words() -> None:
    assert one(ev("len", "length", max=10), rec("x" * 11)).value == 0.0
    assert one(ev("len", "length", min=3, unit="words"), rec("one two")).value == 0.0
    ok = one(ev("len", "length", min=1, max=100), rec("fine"))
    assert ok.value == 1.0 and ok.comment == "4 chars"


def test_latency_slo_on_duration_and_time_to_first_token() -> None:
    assert one(ev("slo", "latency_slo", max_ms=1000), rec(latency_ms=900)).value == 1.0
    assert one(ev("slo", "latency_slo", max_ms=1000), rec(latency_ms=1500)).value == 0.0
    assert one(ev("ttft", "latency_slo", max_ms=200, metric="ttft"), rec(ttft_ms=350)).value == 0.0
    assert evaluate_one(ev("ttft", "latency_slo", max_ms=200, metric="ttft"), rec()) is None


# --------------------------------------------------------------------------- matching


def test_evaluate_record_applies_only_matching_enabled_configs() -> None:
    configs = [
        EvaluatorConfig(name="gen", type="empty_output", match={"kind": "generation"}),  # type: ignore[arg-type]
        EvaluatorConfig(name="extract", type="json_valid", match={"span_name": "extract_*"}),  # type: ignore[arg-type]
        EvaluatorConfig(name="v2", type="empty_output", match={"prompt_name": "qa", "prompt_version": "2*"}),  # type: ignore[arg-type]
        EvaluatorConfig(name="off", type="empty_output", enabled=False),
    ]
    record = rec("{}", kind="generation", span_name="extract_invoice", prompt_name="qa", prompt_version="1")
    assert [r.name for r in evaluate_record(record, configs)] == ["gen", "extract"]


# --------------------------------------------------------------------------- python callables


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        ("words", ("numeric", 3.0, None)),
        ("polite", ("boolean", 1.0, "true")),
        ("tone", ("categorical", None, "casual")),
        ("detailed", ("numeric", 0.25, None)),
    ],
)
def test_a_python_callable_return_value_becomes_a_typed_score(fn: str, expected: tuple[Any, ...]) -> None:
    result = one(ev("custom", "python", callable=f"tests.test_evaluators:{fn}"), rec("yes please thanks"))
    assert (result.data_type, result.value, result.string_value) == expected
    assert result.name == "custom" and result.error is None


def test_a_callable_returning_none_gives_no_score() -> None:
    assert evaluate_record(rec("x"), [ev("na", "python", callable="tests.test_evaluators:not_applicable")]) == []


def test_a_raising_callable_becomes_an_error_result_and_the_others_still_run() -> None:
    configs = [ev("boom", "python", callable="tests.test_evaluators:raises"), ev("empty", "empty_output")]
    boom, empty = evaluate_record(rec(""), configs)
    assert boom.error == "RuntimeError: model server exploded" and boom.value is None
    assert empty.error is None and empty.value == 1.0


def test_a_callable_returning_an_unusable_type_is_an_error() -> None:
    result = one(ev("bad", "python", callable="tests.test_evaluators:returns_a_list"), rec("x"))
    assert "list" in (result.error or "")


def test_a_hanging_callable_is_abandoned_after_its_timeout() -> None:
    RELEASE.clear()
    try:
        configs = [
            ev("stuck", "python", timeout_s=0.3, callable="tests.test_evaluators:hangs"),
            ev("e", "empty_output"),
        ]
        t0 = time.monotonic()
        stuck, empty = evaluate_record(rec(""), configs)
        elapsed = time.monotonic() - t0
        assert (stuck.error or "").startswith(TIMEOUT_PREFIX) and "0.3s" in (stuck.error or "")
        assert empty.value == 1.0
        assert elapsed < 5
    finally:
        RELEASE.set()


def test_calls_of_an_evaluator_with_many_stuck_calls_are_refused_at_once() -> None:
    RELEASE.clear()
    try:
        config = ev("stuck-many", "python", timeout_s=0.1, callable="tests.test_evaluators:hangs")
        for _ in range(4):
            assert "call abandoned" in (one(config, rec()).error or "")
        t0 = time.monotonic()
        refused = one(config, rec())
        assert time.monotonic() - t0 < 0.1
        assert "still running" in (refused.error or "")
    finally:
        RELEASE.set()


# --------------------------------------------------------------------------- configuration


def test_a_missing_callable_is_refused_at_configuration_time() -> None:
    with pytest.raises(ConfigError, match="no attribute 'nope'"):
        parse_document(
            {"evaluators": [{"name": "x", "type": "python", "params": {"callable": "tests.test_evaluators:nope"}}]}
        )
    with pytest.raises(ConfigError, match="cannot import module 'no_such_module_xyz'"):
        parse_document(
            {"evaluators": [{"name": "x", "type": "python", "params": {"callable": "no_such_module_xyz:f"}}]}
        )


@pytest.mark.parametrize(
    ("evaluator", "message"),
    [
        ({"name": "x", "type": "sentiment"}, "evaluators.0.type"),
        ({"name": "x", "type": "length"}, "give min, max or both"),
        ({"name": "x", "type": "length", "params": {"min": 5, "max": 2}}, "min (5) is greater than max (2)"),
        ({"name": "x", "type": "latency_slo", "params": {"max_ms": -1}}, "max_ms"),
        ({"name": "x", "type": "language", "params": {"expected": ["english"]}}, "ISO 639-1"),
        ({"name": "x", "type": "refusal", "params": {"patterns": ["("]}}, "invalid regular expression"),
        ({"name": "x", "type": "json_valid", "params": {"colour": "red"}}, "colour"),
        ({"name": "x", "type": "json_schema", "params": {"schema_name": "missing"}}, "not registered"),
        ({"name": "x", "type": "json_schema", "params": {"schema": {"type": "bogus"}}}, "invalid JSON Schema"),
        ({"name": "x", "type": "llm_judge", "params": {"base_url": "localhost", "model": "m"}}, "http(s) URL"),
        (
            {
                "name": "x",
                "type": "llm_judge",
                "params": {"base_url": "http://h/v1", "model": "m", "prompt": "{answer}"},
            },
            "{input}, {output}, {expected}",
        ),
        ({"name": "bad name!", "type": "json_valid"}, "letters, digits"),
        ({"name": "x", "type": "json_valid", "timeout_s": 0}, "timeout_s"),
    ],
)
def test_an_invalid_evaluator_is_refused_with_a_message_naming_the_problem(
    evaluator: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_document({"evaluators": [evaluator]})
    assert message in str(info.value)


def test_duplicate_evaluator_names_are_refused() -> None:
    dup = {"name": "x", "type": "json_valid"}
    with pytest.raises(ConfigError, match="two evaluators are named 'x'"):
        parse_document({"evaluators": [dup, dup]})


def test_the_yaml_file_is_read_with_its_project_and_schemas(tmp_path: Path) -> None:
    path = tmp_path / "evaluators.yaml"
    path.write_text(
        "project: shop\n"
        "schemas:\n  order: {type: object, required: [id]}\n"
        "evaluators:\n"
        "  - {name: order_shape, type: json_schema, params: {schema_name: order}, match: {span_name: 'extract_*'}}\n"
        "  - {name: slo, type: latency_slo, params: {max_ms: 2000}}\n"
    )
    project, doc = load_file(path)
    assert project == "shop"
    assert [e.name for e in doc.evaluators] == ["order_shape", "slo"]
    assert doc.evaluators[0].match.span_name == "extract_*"


def test_a_broken_yaml_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "evaluators.yaml"
    path.write_text("evaluators: [ {name: x, type: json_valid\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_file(path)


# --------------------------------------------------------------------------- LLM-as-judge


class JudgeStub:
    """An OpenAI-compatible /v1/chat/completions on loopback with scripted replies."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, str]] = []
        self.requests: list[dict[str, Any]] = []
        self.delay_s = 0.0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                time.sleep(stub.delay_s)
                status, content = stub.replies.pop(0) if stub.replies else (200, '{"score": 1}')
                payload = (
                    {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
                    if status == 200
                    else {"error": {"message": content}}
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[JudgeStub]:
    s = JudgeStub()
    yield s
    s.close()


def judge_config(stub: JudgeStub, timeout_s: float = 10.0, **params: Any) -> EvaluatorConfig:
    return ev("correct", "llm_judge", timeout_s=timeout_s, base_url=stub.url, model="judge-1", **params)


def test_the_judge_gets_the_rendered_rubric_and_its_json_score_is_recorded(
    stub: JudgeStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-test")
    stub.replies.append((200, '{"score": 0.7, "reason": "mostly right"}'))
    config = judge_config(stub, api_key_env="JUDGE_KEY", prompt="Q: {input}\nA: {output}\nRef: {expected}\nScore 0-1.")
    result = one(config, rec("Paris", input="Capital of France?", expected="Paris"))
    assert (result.value, result.comment, result.error) == (0.7, "mostly right", None)
    (request,) = stub.requests
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "judge-1"
    assert request["body"]["messages"][-1]["content"] == "Q: Capital of France?\nA: Paris\nRef: Paris\nScore 0-1."


def test_the_judge_is_retried_after_a_server_error(stub: JudgeStub) -> None:
    stub.replies += [(503, "overloaded"), (200, "Score: 4 out of 5")]
    result = one(judge_config(stub, retries=1), rec("x"))
    assert result.value == 4.0 and len(stub.requests) == 2


def test_a_judge_reply_without_a_score_is_an_error(stub: JudgeStub) -> None:
    stub.replies.append((200, "I would rather not grade this."))
    assert "no score in the judge's reply" in (one(judge_config(stub), rec("x")).error or "")


def test_a_judge_client_error_is_recorded_without_retry(stub: JudgeStub) -> None:
    stub.replies.append((401, "bad key"))
    result = one(judge_config(stub, retries=3), rec("x"))
    assert "HTTP 401" in (result.error or "") and len(stub.requests) == 1


def test_a_missing_judge_api_key_variable_is_an_error(stub: JudgeStub) -> None:
    result = one(judge_config(stub, api_key_env="SPANSCOPE_NO_SUCH_KEY_VAR"), rec("x"))
    assert "SPANSCOPE_NO_SUCH_KEY_VAR" in (result.error or "") and stub.requests == []


def test_a_slow_judge_times_out(stub: JudgeStub) -> None:
    stub.delay_s = 1.0
    result = one(judge_config(stub, timeout_s=0.2), rec("x"))
    assert (result.error or "").startswith(TIMEOUT_PREFIX)


def test_an_unreachable_judge_is_an_error_after_retries() -> None:
    config = ev("j", "llm_judge", base_url="http://127.0.0.1:9/v1", model="m", retries=0)
    assert "failed after 1 attempts" in (one(config, rec("x")).error or "")


@pytest.mark.parametrize(
    ("reply", "data_type", "expected"),
    [
        ('```json\n{"score": 3, "reason": "ok"}\n```', "numeric", (3.0, None)),
        ('Verdict below.\n{"verdict": "pass", "reason": "fine"}', "boolean", (1.0, "true")),
        ("false", "boolean", (0.0, "false")),
        ('{"label": "partially_correct"}', "categorical", (None, "partially_correct")),
    ],
)
def test_judge_replies_are_parsed_into_the_configured_type(
    reply: str, data_type: str, expected: tuple[Any, ...]
) -> None:
    params = LlmJudgeParams(base_url="http://x/v1", model="m", data_type=data_type)  # type: ignore[arg-type]
    result = parse_verdict("j", reply, params)
    assert (result.value, result.string_value) == expected


def test_a_judge_score_outside_the_declared_range_is_an_error() -> None:
    params = LlmJudgeParams(base_url="http://x/v1", model="m", min_score=0, max_score=1)
    with pytest.raises(JudgeError, match="outside"):
        parse_verdict("j", '{"score": 7}', params)
