"""The structured-output helper: validation with pydantic, repair attempts, and what the span says."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import spanscope.sdk as spanscope
from opentelemetry.trace import StatusCode
from pydantic import BaseModel
from spanscope.schemas import attributes as A
from spanscope.sdk import StructuredOutputError
from spanscope.sdk.testing import SpanRecorder, record_spans


class City(BaseModel):
    name: str
    population: int


@pytest.fixture
def recorder() -> Iterator[SpanRecorder]:
    spanscope.reset_stats()
    with record_spans() as rec:
        yield rec


class ScriptedModel:
    """Answers from a list, remembering the messages of each call."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[list[dict[str, Any]]] = []

    def __call__(self, messages: list[dict[str, Any]]) -> Any:
        self.calls.append(messages)
        return self.answers.pop(0)


def test_a_valid_first_answer_is_returned_as_the_model(recorder: SpanRecorder) -> None:
    model = ScriptedModel('{"name": "Tokyo", "population": 37400000}')
    city = spanscope.structured_output(model, City, "Largest city in Japan?", model="gpt-4o-mini")
    assert city == City(name="Tokyo", population=37_400_000)
    attrs = recorder.span("structured_output").attributes
    assert attrs[A.SS_SPAN_KIND] == "generation"
    assert attrs[A.SS_OUTPUT_VALIDATED] is True
    assert attrs[A.SS_OUTPUT_VALID] is True
    assert attrs[A.SS_OUTPUT_ATTEMPTS] == 1
    assert attrs[A.SS_OUTPUT_SCHEMA] == "City"
    assert attrs[A.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert A.SS_OUTPUT_ERROR not in attrs


def test_an_invalid_answer_is_repaired_with_the_validation_error(recorder: SpanRecorder) -> None:
    model = ScriptedModel('{"name": "Tokyo"}', '{"name": "Tokyo", "population": 37400000}')
    city = spanscope.structured_output(model, City, "Largest city in Japan?")
    assert city.population == 37_400_000
    second_call = model.calls[1]
    assert second_call[1] == {"role": "assistant", "content": '{"name": "Tokyo"}'}
    assert second_call[2]["role"] == "user" and "population" in second_call[2]["content"]
    attrs = recorder.span("structured_output").attributes
    assert attrs[A.SS_OUTPUT_VALID] is True
    assert attrs[A.SS_OUTPUT_ATTEMPTS] == 2


def test_no_valid_answer_within_the_attempts_raises_and_records_invalid(recorder: SpanRecorder) -> None:
    model = ScriptedModel("not json", "still not", "nope")
    with pytest.raises(StructuredOutputError) as caught:
        spanscope.structured_output(model, City, "?", max_attempts=3)
    assert caught.value.attempts == 3 and len(caught.value.errors) == 3
    assert caught.value.raw == "nope"
    assert len(model.calls) == 3
    span = recorder.span("structured_output")
    assert span.attributes[A.SS_OUTPUT_VALIDATED] is True
    assert span.attributes[A.SS_OUTPUT_VALID] is False
    assert span.attributes[A.SS_OUTPUT_ATTEMPTS] == 3
    assert span.attributes[A.SS_OUTPUT_ERROR]
    assert span.status.status_code is StatusCode.ERROR


def test_fenced_json_dicts_and_instances_are_accepted(recorder: SpanRecorder) -> None:
    fenced = ScriptedModel('```json\n{"name": "Oslo", "population": 700000}\n```')
    assert spanscope.structured_output(fenced, City, "?").name == "Oslo"
    as_dict = ScriptedModel({"name": "Bern", "population": 134000})
    assert spanscope.structured_output(as_dict, City, "?").name == "Bern"
    instance = City(name="Rome", population=2_800_000)
    assert spanscope.structured_output(ScriptedModel(instance), City, "?") is instance


def test_the_prompt_and_the_raw_answer_are_recorded_as_messages(recorder: SpanRecorder) -> None:
    spanscope.structured_output(ScriptedModel('{"name": "Lima", "population": 1}'), City, "Capital of Peru?")
    attrs = recorder.span("structured_output").attributes
    assert json.loads(attrs[A.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == "Capital of Peru?"
    assert "Lima" in json.loads(attrs[A.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"]


def test_model_calls_nest_under_the_structured_output_span(recorder: SpanRecorder) -> None:
    @spanscope.observe(name="llm", kind="generation")
    def llm(messages: list[dict[str, Any]]) -> str:
        return '{"name": "Kyiv", "population": 2900000}'

    spanscope.structured_output(llm, City, "?")
    parent, child = recorder.span("structured_output"), recorder.span("llm")
    assert child.parent is not None and child.parent.span_id == parent.context.span_id


def test_the_async_variant_awaits_the_model(recorder: SpanRecorder) -> None:
    async def llm(messages: list[dict[str, Any]]) -> str:
        await asyncio.sleep(0)
        return '{"name": "Quito", "population": 2800000}'

    city = asyncio.run(spanscope.astructured_output(llm, City, "?"))
    assert city.name == "Quito"
    assert recorder.span("structured_output").attributes[A.SS_OUTPUT_VALID] is True


def test_an_error_of_the_model_call_propagates_and_is_recorded(recorder: SpanRecorder) -> None:
    def llm(messages: list[dict[str, Any]]) -> str:
        raise TimeoutError("model timed out")

    with pytest.raises(TimeoutError):
        spanscope.structured_output(llm, City, "?")
    assert recorder.span("structured_output").status.status_code is StatusCode.ERROR


def test_without_pydantic_the_helper_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['pydantic'] = None\n"
        "import spanscope.sdk as s\n"
        "try:\n"
        "    s.structured_output(lambda m: '{}', dict, 'x')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "needs pydantic" in out.stdout, out.stderr


def test_importing_the_sdk_does_not_import_pydantic() -> None:
    code = "import sys, spanscope.sdk; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
