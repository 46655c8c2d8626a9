"""Evaluator configuration and evaluation records/results, shared by the online evaluators in the
collector, the offline replay of datasets and the `/api/evaluators` API.

An evaluator turns one span (or one dataset item) into one score. The configuration is a document
`{evaluators: [...], schemas: {name: JSON Schema}}`, read from YAML (`SPANSCOPE_EVALUATORS_FILE`) or
stored through the API; both go through these models, so both refuse the same mistakes.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

EvaluatorType = Literal[
    "json_valid",
    "json_schema",
    "refusal",
    "empty_output",
    "language",
    "length",
    "latency_slo",
    "python",
    "llm_judge",
]
ScoreDataType = Literal["numeric", "categorical", "boolean"]
Target = Literal["output", "input"]

_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,200}$")
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


# --------------------------------------------------------------------------- records and results


class EvalRecord(BaseModel):
    """What an evaluator sees: one span, or one dataset item replayed through the app."""

    model_config = ConfigDict(extra="ignore")

    trace_id: str = ""
    span_id: str = ""
    span_name: str = ""
    kind: str = ""
    model: str = ""
    prompt_name: str = ""
    prompt_version: str = ""
    input: str = Field("", description="the step's input; generations: JSON array of {role, content}")
    output: str = Field("", description="the step's output; generations: the assistant's text")
    expected: str | None = Field(None, description="reference output of a dataset item (LLM-as-judge {expected})")
    latency_ms: float | None = None
    ttft_ms: float | None = None
    status: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    project_id: str = ""


class EvalResult(BaseModel):
    """One evaluator's verdict on one record. `error` set means the evaluator failed (raised, timed
    out, bad reply); the score is then recorded with no value and the error as its comment."""

    name: str
    value: float | None = None
    string_value: str | None = None
    data_type: ScoreDataType = "numeric"
    comment: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --------------------------------------------------------------------------- parameters per type


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextParams(_Params):
    target: Target = Field("output", description="which text of the span to check")


class JsonSchemaParams(TextParams):
    schema_name: str | None = Field(
        None, description="a schema registered under `schemas` (or PUT /api/evaluators/schemas/{name})"
    )
    json_schema: dict[str, Any] | None = Field(None, alias="schema", description="an inline JSON Schema")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_schema(self) -> JsonSchemaParams:
        if (self.schema_name is None) == (self.json_schema is None):
            raise ValueError("give exactly one of schema_name (a registered schema) or schema (inline)")
        return self


class RefusalParams(TextParams):
    patterns: list[str] = Field(
        default_factory=list, description="extra regular expressions (case-insensitive) that mark a refusal"
    )
    insufficient_data: list[str] = Field(
        default_factory=list, description="extra markers of an explicit 'I don't know' answer"
    )

    @field_validator("patterns", "insufficient_data")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for p in v:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {p!r}: {exc}") from None
        return v


class EmptyOutputParams(TextParams):
    empty_values: list[str] = Field(
        default_factory=lambda: ["", "null", "none", "{}", "[]", '""', "n/a"],
        description="texts (after trimming, case-insensitive) that count as empty",
    )


class LanguageParams(TextParams):
    expected: list[str] = Field(min_length=1, description="ISO 639-1 codes the output may be in, e.g. [en]")
    min_letters: int = Field(12, ge=1, description="shorter texts are not judged")

    @field_validator("expected")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        out = [c.strip().lower() for c in v]
        bad = [c for c in out if not re.fullmatch(r"[a-z]{2,3}", c)]
        if bad:
            raise ValueError(f"language codes must be ISO 639-1 like 'en', got {bad}")
        return out


class LengthParams(TextParams):
    unit: Literal["chars", "words"] = "chars"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> LengthParams:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class LatencySloParams(_Params):
    max_ms: float = Field(gt=0, description="the span passes when it took at most this long")
    metric: Literal["duration", "ttft"] = Field("duration", description="ttft: time to first token")


class PythonParams(_Params):
    callable: str = Field(
        description="'module:function' taking an EvalRecord, returning float, bool, str, EvalResult or None"
    )
    data_type: ScoreDataType | None = Field(None, description="default: inferred from the returned value")

    @field_validator("callable")
    @classmethod
    def _ref(cls, v: str) -> str:
        if not _CALLABLE.match(v.strip()):
            raise ValueError(f"callable must look like 'package.module:function', got {v!r}")
        return v.strip()


DEFAULT_JUDGE_PROMPT = (
    "You are grading the answer of an AI assistant.\n\n"
    "Question or input:\n{input}\n\nAnswer:\n{output}\n\nReference answer (may be empty):\n{expected}\n\n"
    "Rate how correct and helpful the answer is from 0 (useless or wrong) to 1 (fully correct). "
    'Reply with JSON only: {{"score": <number>, "reason": "<one sentence>"}}'
)


class LlmJudgeParams(_Params):
    base_url: str = Field(description="OpenAI-compatible API root, e.g. http://localhost:11434/v1")
    model: str = Field(min_length=1)
    api_key_env: str | None = Field(None, description="name of the environment variable holding the API key")
    prompt: str = Field(DEFAULT_JUDGE_PROMPT, description="template with {input}, {output}, {expected}")
    system: str | None = None
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(256, ge=1, le=8192)
    retries: int = Field(1, ge=0, le=5, description="extra attempts on connection errors, 429 and 5xx")
    request_timeout_s: float = Field(30.0, gt=0, le=600)
    data_type: Literal["numeric", "boolean", "categorical"] = "numeric"
    min_score: float | None = Field(None, description="numeric scores outside [min_score, max_score] are errors")
    max_score: float | None = None
    max_chars: int = Field(20_000, ge=100, description="input/output are cut to this many characters")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError(f"base_url must be an http(s) URL, got {v!r}")
        return v.rstrip("/")

    @field_validator("prompt")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            v.format(input="", output="", expected="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"prompt must be a template using only {{input}}, {{output}}, {{expected}} "
                f"(write {{{{ and }}}} for literal braces): {exc!r}"
            ) from None
        return v


PARAMS_BY_TYPE: dict[str, type[_Params]] = {
    "json_valid": TextParams,
    "json_schema": JsonSchemaParams,
    "refusal": RefusalParams,
    "empty_output": EmptyOutputParams,
    "language": LanguageParams,
    "length": LengthParams,
    "latency_slo": LatencySloParams,
    "python": PythonParams,
    "llm_judge": LlmJudgeParams,
}


# --------------------------------------------------------------------------- configuration


class SpanMatch(BaseModel):
    """Which spans an evaluator runs on: shell-style globs (`extract_*`); unset matches anything."""

    model_config = ConfigDict(extra="forbid")

    span_name: str | None = None
    kind: str | None = None
    model: str | None = None
    prompt_name: str | None = None
    prompt_version: str | None = None


class EvaluatorConfig(BaseModel):
    """One evaluator. `name` is the name of the scores it writes."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="score name written by this evaluator (letters, digits, _ . : -)")
    type: EvaluatorType
    params: dict[str, Any] = Field(default_factory=dict, description="type-specific settings")
    match: SpanMatch = Field(default_factory=SpanMatch)
    enabled: bool = True
    timeout_s: float = Field(
        10.0, gt=0, le=600, description="a call running longer is abandoned and recorded as an error"
    )
    sample_rate: float = Field(1.0, ge=0, le=1, description="online: fraction of matching spans evaluated")
    _typed: Any = PrivateAttr(None)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"name must be 1-200 letters, digits or _ . : -, got {v!r}")
        return v

    @model_validator(mode="after")
    def _typed_params(self) -> EvaluatorConfig:
        try:
            parsed = PARAMS_BY_TYPE[self.type].model_validate(self.params)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors())
            raise ValueError(f"params of a {self.type} evaluator: {problems}") from None
        self.params = parsed.model_dump(by_alias=True, exclude_none=False)
        return self

    def typed_params(self) -> Any:
        """The params as the model of this evaluator's type (validated already; parsed once)."""
        if self._typed is None:
            self._typed = PARAMS_BY_TYPE[self.type].model_validate(self.params)
        return self._typed


class EvaluatorsDocument(BaseModel):
    """The whole configuration of one project: the YAML file and the body of PUT /api/evaluators."""

    model_config = ConfigDict(extra="forbid")

    evaluators: list[EvaluatorConfig] = Field(default_factory=list, max_length=200)
    schemas: dict[str, dict[str, Any]] = Field(default_factory=dict, description="JSON Schemas by name")

    @model_validator(mode="after")
    def _consistent(self) -> EvaluatorsDocument:
        seen: set[str] = set()
        for e in self.evaluators:
            if e.name in seen:
                raise ValueError(f"two evaluators are named {e.name!r}; names must be unique")
            seen.add(e.name)
            if e.type == "json_schema":
                ref = e.params.get("schema_name")
                if ref is not None and ref not in self.schemas:
                    known = ", ".join(sorted(self.schemas)) or "none"
                    raise ValueError(
                        f"evaluator {e.name!r} uses schema {ref!r}, which is not registered (known: {known})"
                    )
        for name in self.schemas:
            if not _NAME.match(name):
                raise ValueError(f"schema name must be 1-200 letters, digits or _ . : -, got {name!r}")
        return self


class EvaluatorsState(EvaluatorsDocument):
    """GET /api/evaluators: the configuration in force and where it came from."""

    model_config = ConfigDict(extra="ignore")

    project: str
    source: Literal["api", "file", "none"] = Field(
        description="api: stored with PUT; file: SPANSCOPE_EVALUATORS_FILE; none: no evaluators"
    )
    updated_at: str | None = None
