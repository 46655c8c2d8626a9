"""Structured output: validate a model's answer against a pydantic type, repairing on failure.

    class Answer(BaseModel):
        city: str
        population: int

    answer = spanscope.structured_output(call_model, Answer, "Largest city in Japan? Reply in JSON.")

`call(messages)` receives an OpenAI-style message list and returns the model's answer: a string
(JSON, optionally inside a ``` fence), a dict, an instance of the type, or an OpenAI/Anthropic
response object. When validation fails, the call is repeated with the invalid answer and the
validation error appended to the conversation, at most `max_attempts` calls in all; if none
validates, `StructuredOutputError` is raised (with every error and the last raw answer).

Span: one generation span (`name`, default `structured_output`) around all calls, with
`spanscope.output.validated=true`, `spanscope.output.valid`, `spanscope.output.attempts` (calls
made), `spanscope.output.schema` (the type's name), `spanscope.output.error` (last validation error,
when invalid), the prompt as `gen_ai.input.messages` and the last raw answer as
`gen_ai.output.messages`. The calls themselves nest under it (decorate `call` with
`@observe(kind="generation")` or use an instrumented client to see each one).

pydantic is imported only when this helper runs; it is not a dependency of the SDK.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from opentelemetry.trace import Span
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import SpanKind

from .diagnostics import internal_error
from .enrich import Attributes, apply_update, kind_attributes
from .messages import parse_completion
from .observe import _close, record_error, start_span

T = TypeVar("T")
Messages = list[dict[str, Any]]

REPAIR_PROMPT = (
    "Your previous answer did not match the required format. Validation error:\n{error}\n"
    "Reply again with only the corrected JSON, no explanations."
)
_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.S)
_ERROR_CHARS = 2_000


class StructuredOutputError(Exception):
    """No answer validated within `max_attempts` calls."""

    def __init__(self, schema_name: str, attempts: int, errors: list[str], raw: Any) -> None:
        self.schema_name = schema_name
        self.attempts = attempts
        self.errors = errors
        self.raw = raw
        last = errors[-1] if errors else ""
        super().__init__(f"no valid {schema_name} after {attempts} attempt(s): {last}")


def _pydantic() -> Any:
    try:
        import pydantic
    except ImportError:
        raise ImportError(
            "spanscope.structured_output needs pydantic (pip install 'pydantic>=2'); "
            "it is not installed with the spanscope SDK"
        ) from None
    return pydantic


def _text_of(result: Any) -> Any:
    """A response object's text, else the result unchanged."""
    if isinstance(result, str | dict | list):
        return result
    facts = parse_completion(result)
    if facts is None:
        return result
    texts = [
        part.get("content", "")
        for message in facts.get("output_messages", [])
        for part in message.get("parts", [])
        if part.get("type") == "text"
    ]
    return "".join(texts)


def _strip_fence(text: str) -> str:
    match = _FENCE.match(text)
    return match.group(1) if match else text.strip()


class _Run:
    """State shared by the sync and async drivers."""

    def __init__(
        self,
        schema: Any,
        prompt: str | Messages,
        max_attempts: int,
        name: str,
        model: str | None,
        repair_prompt: str,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        pydantic = _pydantic()
        self.validation_error = pydantic.ValidationError
        self.adapter = pydantic.TypeAdapter(schema)
        self.schema = schema
        self.schema_name = getattr(schema, "__name__", None) or repr(schema)
        self.messages: Messages = (
            [{"role": "user", "content": prompt}] if isinstance(prompt, str) else [dict(m) for m in prompt]
        )
        self.max_attempts = max_attempts
        self.repair_prompt = repair_prompt
        self.errors: list[str] = []
        self.raw: Any = None
        attrs: Attributes = kind_attributes(SpanKind.GENERATION)
        attrs[A.SS_OUTPUT_VALIDATED] = True
        attrs[A.SS_OUTPUT_SCHEMA] = self.schema_name
        if model is not None:
            attrs[A.GEN_AI_REQUEST_MODEL] = model
        self.span, self.token = start_span(name, attrs)
        apply_update(self.span, input_messages=list(self.messages))

    def validate(self, result: Any) -> tuple[bool, Any]:
        """(valid, value or error text); records the raw answer for the repair message."""
        raw = _text_of(result)
        self.raw = raw
        try:
            if isinstance(self.schema, type) and isinstance(raw, self.schema):
                return True, raw
            if isinstance(raw, str):
                return True, self.adapter.validate_json(_strip_fence(raw))
            return True, self.adapter.validate_python(raw)
        except self.validation_error as exc:
            return False, str(exc)[:_ERROR_CHARS]

    def repair(self, error: str) -> None:
        self.errors.append(error)
        previous = self.raw if isinstance(self.raw, str) else repr(self.raw)
        self.messages.append({"role": "assistant", "content": previous})
        self.messages.append({"role": "user", "content": self.repair_prompt.format(error=error)})

    def finish(self, attempts: int, valid: bool) -> None:
        span: Span = self.span
        try:
            if span.is_recording():
                attrs: Attributes = {A.SS_OUTPUT_VALID: valid, A.SS_OUTPUT_ATTEMPTS: attempts}
                if not valid and self.errors:
                    attrs[A.SS_OUTPUT_ERROR] = self.errors[-1]
                span.set_attributes(attrs)
                if self.raw is not None:
                    apply_update(
                        span, output_messages=self.raw if isinstance(self.raw, str) else repr(self.raw)
                    )
        except Exception as exc:
            internal_error("structured output finish", exc)
        _close(span, self.token)

    def fail(self, exc: BaseException, attempts: int) -> None:
        record_error(self.span, exc)
        self.finish(attempts, False)

    def exhausted(self) -> StructuredOutputError:
        return StructuredOutputError(self.schema_name, self.max_attempts, list(self.errors), self.raw)


def structured_output(
    call: Callable[[Messages], Any],
    schema: type[T] | Any,
    prompt: str | Messages,
    *,
    max_attempts: int = 3,
    name: str = "structured_output",
    model: str | None = None,
    repair_prompt: str = REPAIR_PROMPT,
) -> T:
    """Call the model until its answer validates as `schema` (see the module docstring)."""
    run = _Run(schema, prompt, max_attempts, name, model, repair_prompt)
    attempts = 0
    try:
        for attempt in range(1, max_attempts + 1):
            attempts = attempt
            result = call(list(run.messages))
            if inspect.isawaitable(result):
                if inspect.iscoroutine(result):
                    result.close()
                raise TypeError("the model call is async: use astructured_output()")
            valid, value = run.validate(result)
            if valid:
                run.finish(attempt, True)
                return value
            if attempt < max_attempts:
                run.repair(value)
            else:
                run.errors.append(value)
    except BaseException as exc:
        run.fail(exc, attempts)
        raise
    error = run.exhausted()
    run.fail(error, attempts)
    raise error


async def astructured_output(
    call: Callable[[Messages], Awaitable[Any]] | Callable[[Messages], Any],
    schema: type[T] | Any,
    prompt: str | Messages,
    *,
    max_attempts: int = 3,
    name: str = "structured_output",
    model: str | None = None,
    repair_prompt: str = REPAIR_PROMPT,
) -> T:
    """`structured_output` for an async model call."""
    run = _Run(schema, prompt, max_attempts, name, model, repair_prompt)
    attempts = 0
    try:
        for attempt in range(1, max_attempts + 1):
            attempts = attempt
            result = call(list(run.messages))
            if inspect.isawaitable(result):
                result = await result
            valid, value = run.validate(result)
            if valid:
                run.finish(attempt, True)
                return value
            if attempt < max_attempts:
                run.repair(value)
            else:
                run.errors.append(value)
    except BaseException as exc:
        run.fail(exc, attempts)
        raise
    error = run.exhausted()
    run.fail(error, attempts)
    raise error
