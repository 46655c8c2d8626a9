"""The SDK against a running collector: a decorated RAG app's rows in ClickHouse.

The app (the demo's support bot) runs in a child process so the SDK's global OpenTelemetry state
stays out of the test process; it exports with the real OTLP/HTTP exporter.
"""

from __future__ import annotations

import subprocess
import sys
import time
from urllib.request import urlopen

import orjson
import pytest

from tests.collector_process import CollectorProcess

RUN_SCRIPT = """
import sys
import spanscope.sdk as spanscope
from opentelemetry import trace

spanscope.init(endpoint=sys.argv[1], service="nesting-app")

@spanscope.observe(kind="generation", name="my_llm_call")
def call_model(prompt: str) -> str:
    # What an instrumentation (e.g. the OpenAI one) does: a span from the global tracer provider.
    tracer = trace.get_tracer("opentelemetry.instrumentation.openai_v2")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", 40)
        span.set_attribute("gen_ai.usage.output_tokens", 10)
    spanscope.update_current_span(model="gpt-4o-mini", input_tokens=40, output_tokens=10)
    return "ok"

with spanscope.observation("request", kind="chain"):
    print(spanscope.get_current_trace_id())
    call_model("hi")
spanscope.shutdown()
"""


@pytest.fixture(scope="module")
def demo_traffic(collector: CollectorProcess) -> CollectorProcess:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "spanscope.collector.demo.run",
            "--endpoint",
            collector.url,
            "--traces",
            "40",
            "--seed",
            "11",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    q = "SELECT count() FROM spanscope.spans WHERE service = 'support-bot' AND name = 'answer_question'"
    assert collector.wait_for_count(q, 40, timeout=60) >= 40
    time.sleep(1.0)
    return collector


def test_every_step_of_a_request_is_a_child_of_its_request_span(demo_traffic: CollectorProcess) -> None:
    orphans = demo_traffic.sql(
        "SELECT count() AS n FROM spanscope.spans s WHERE service = 'support-bot' AND parent_span_id != '' "
        "AND parent_span_id NOT IN (SELECT span_id FROM spanscope.spans WHERE service = 'support-bot')"
    )
    assert orphans[0]["n"] == 0
    kinds = {
        r["kind"] for r in demo_traffic.sql("SELECT DISTINCT kind FROM spanscope.spans WHERE service = 'support-bot'")
    }
    assert {"chain", "guardrail", "retrieval", "generation"} <= kinds


def test_generation_attempts_carry_model_tokens_and_cost(demo_traffic: CollectorProcess) -> None:
    rows = demo_traffic.sql(
        "SELECT model, provider, input_tokens, output_tokens, cost_usd, cost_source, fallback_attempt, prompt_version "
        "FROM spanscope.spans WHERE service = 'support-bot' AND name LIKE 'chat %' AND status != 'ERROR'"
    )
    assert rows
    for r in rows:
        assert r["model"] in ("gpt-4o-mini", "claude-3-5-haiku-20241022")
        assert r["input_tokens"] > 0 and r["output_tokens"] > 0
        assert r["cost_usd"] > 0 and r["cost_source"] == "price_table"
        assert r["fallback_attempt"] in (1, 2) and r["prompt_version"] in ("v3", "v4")


def test_each_fallback_chain_is_one_logical_llm_call(demo_traffic: CollectorProcess) -> None:
    per_trace = demo_traffic.sql(
        "SELECT trace_id, sumIf(is_llm_call, name = 'generate_answer') AS wrapper_calls, "
        "countIf(name = 'generate_answer') AS wrappers, sum(is_llm_call) AS calls "
        "FROM spanscope.spans WHERE service = 'support-bot' GROUP BY trace_id"
    )
    for r in per_trace:
        assert r["calls"] == r["wrappers"] == r["wrapper_calls"]
    used = demo_traffic.sql(
        "SELECT fallback_used, fallback_attempts, model, request_model FROM spanscope.spans "
        "WHERE service = 'support-bot' AND name = 'generate_answer' AND fallback_used = 1 AND fallback_degraded = 0"
    )
    for r in used:
        assert r["request_model"] == "gpt-4o-mini" and r["model"] == "claude-3-5-haiku-20241022"
        assert r["fallback_attempts"] >= 2


def test_prompt_versions_count_each_logical_call_once(demo_traffic: CollectorProcess) -> None:
    with urlopen(f"{demo_traffic.url}/api/prompts?range=1h") as resp:
        prompts = {p["prompt_name"]: p for p in orjson.loads(resp.read())["prompts"]}
    wrappers = demo_traffic.scalar(
        "SELECT count() FROM spanscope.spans WHERE service = 'support-bot' AND name = 'generate_answer'"
    )
    assert prompts["support-answer"]["calls"] == wrappers > 0


def test_guardrails_record_verdict_reason_and_stage(demo_traffic: CollectorProcess) -> None:
    rows = demo_traffic.sql(
        "SELECT guardrail_name, guardrail_verdict, guardrail_reason, guardrail_stage, guardrail_policy "
        "FROM spanscope.spans WHERE service = 'support-bot' AND kind = 'guardrail'"
    )
    verdicts = {r["guardrail_verdict"] for r in rows}
    assert verdicts <= {"pass", "block", "modify"} and "pass" in verdicts
    for r in rows:
        assert r["guardrail_stage"] in ("input", "output") and r["guardrail_policy"]
        if r["guardrail_verdict"] == "block":
            assert r["guardrail_reason"] in ("prompt injection", "card number in input")


def test_a_blocked_input_never_reaches_a_model(demo_traffic: CollectorProcess) -> None:
    leaked = demo_traffic.sql(
        "SELECT count() AS n FROM spanscope.spans WHERE service = 'support-bot' AND kind = 'generation' "
        "AND trace_id IN (SELECT trace_id FROM spanscope.spans WHERE guardrail_verdict = 'block')"
    )
    assert leaked[0]["n"] == 0


def test_structured_output_validity_is_recorded(demo_traffic: CollectorProcess) -> None:
    rows = demo_traffic.sql(
        "SELECT output_validated, output_valid, output_attempts FROM spanscope.spans "
        "WHERE service = 'support-bot' AND name = 'structured_output'"
    )
    assert rows and all(r["output_validated"] == 1 and r["output_attempts"] >= 1 for r in rows)


def test_retrieval_spans_store_documents(demo_traffic: CollectorProcess) -> None:
    rows = demo_traffic.sql(
        "SELECT documents FROM spanscope.spans WHERE service = 'support-bot' AND kind = 'retrieval' "
        "AND documents != '' LIMIT 5"
    )
    assert rows
    docs = orjson.loads(rows[0]["documents"])
    assert {"id", "score", "content"} <= set(docs[0])


def test_session_and_user_are_propagated_to_every_span(demo_traffic: CollectorProcess) -> None:
    missing = demo_traffic.sql(
        "SELECT count() AS n FROM spanscope.spans WHERE service = 'support-bot' AND (session_id = '' OR user_id = '')"
    )
    assert missing[0]["n"] == 0


def test_an_instrumentation_span_nests_under_an_observe_span(collector: CollectorProcess) -> None:
    out = subprocess.run([sys.executable, "-c", RUN_SCRIPT, collector.url], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    trace_id = out.stdout.strip()
    q = "SELECT count() FROM spanscope.spans WHERE trace_id = {t:String}"
    assert collector.wait_for_count(q, 3, t=trace_id) == 3
    rows = {
        r["name"]: r
        for r in collector.sql(
            "SELECT name, span_id, parent_span_id, kind, is_llm_call, input_tokens, scope FROM spanscope.spans "
            "WHERE trace_id = {t:String}",
            t=trace_id,
        )
    }
    inner, outer, root = rows["chat gpt-4o-mini"], rows["my_llm_call"], rows["request"]
    assert inner["parent_span_id"] == outer["span_id"] and outer["parent_span_id"] == root["span_id"]
    assert inner["scope"] == "opentelemetry.instrumentation.openai_v2"
    # The call is counted once, on the instrumentation's span; the wrapper's duplicate usage is not summed.
    assert (inner["is_llm_call"], outer["is_llm_call"]) == (1, 0)
    assert (inner["input_tokens"], outer["input_tokens"]) == (40, 0)
