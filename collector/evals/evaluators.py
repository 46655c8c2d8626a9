"""Evaluators: built-in checks of a span's output, user callables and LLM-as-judge, applied by
`evaluate_record` online (collector) and offline (dataset replay) alike.

Built-in checks are linear in the text and run inline; user callables and judge calls run on a
thread of their own with the evaluator's timeout. A call that overruns is abandoned (Python cannot
kill a thread) and recorded as an error; while too many calls of one evaluator are still stuck,
further calls of it are refused at once instead of piling up threads.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import importlib
import json
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonschema
from spanscope.collector.evals.language import UNKNOWN, detect_language
from spanscope.schemas.evals import (
    EmptyOutputParams,
    EvalRecord,
    EvalResult,
    EvaluatorConfig,
    JsonSchemaParams,
    LanguageParams,
    LatencySloParams,
    LengthParams,
    PythonParams,
    RefusalParams,
    TextParams,
)

__all__ = [
    "EvalRecord",
    "EvalResult",
    "EvaluatorConfig",
    "EvaluatorError",
    "evaluate_record",
    "matches",
    "resolve_callable",
]

MAX_STUCK_CALLS = 4  # per evaluator: abandoned calls still running before new ones are refused
MAX_TEXT_CHARS = 200_000  # longer texts are checked on their first this-many characters
TIMEOUT_PREFIX = "timeout: "  # starts the error of a call that overran (or was refused while others hang)

UserFn = Callable[[EvalRecord], Any]


class EvaluatorError(Exception):
    """A configuration problem found when resolving an evaluator (missing callable, bad schema)."""


# --------------------------------------------------------------------------- matching


def matches(config: EvaluatorConfig, record: EvalRecord) -> bool:
    """Whether `config` applies to `record` (enabled, and every set glob matches)."""
    if not config.enabled:
        return False
    m = config.match
    for pattern, value in (
        (m.span_name, record.span_name),
        (m.kind, record.kind),
        (m.model, record.model),
        (m.prompt_name, record.prompt_name),
        (m.prompt_version, record.prompt_version),
    ):
        if pattern is not None and not fnmatch.fnmatchcase(value, pattern):
            return False
    return True


# --------------------------------------------------------------------------- built-in checks


def _text(record: EvalRecord, params: TextParams) -> str:
    text = record.output if params.target == "output" else record.input
    return text[:MAX_TEXT_CHARS]


def _boolean(name: str, flag: bool, comment: str | None = None) -> EvalResult:
    return EvalResult(
        name=name,
        value=1.0 if flag else 0.0,
        string_value="true" if flag else "false",
        data_type="boolean",
        comment=comment,
    )


_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\s*\n(.*?)\n?```\s*$", re.DOTALL)


def _parse_json(text: str) -> Any:
    """JSON of an output, accepting one surrounding Markdown code fence (common in LLM replies)."""
    fenced = _FENCE.match(text)
    return json.loads(fenced.group(1) if fenced else text)


def check_json_valid(name: str, record: EvalRecord, params: TextParams) -> EvalResult:
    text = _text(record, params)
    if not text.strip():
        return _boolean(name, False, f"{params.target} is empty")
    try:
        _parse_json(text)
    except ValueError as exc:
        return _boolean(name, False, f"invalid JSON: {exc}")
    return _boolean(name, True)


@functools.lru_cache(maxsize=256)
def _validator(schema_json: str) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def schema_validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    """A cached validator; raises EvaluatorError when the schema itself is invalid."""
    try:
        return _validator(json.dumps(schema, sort_keys=True))
    except jsonschema.SchemaError as exc:
        raise EvaluatorError(f"invalid JSON Schema: {exc.message}") from None


def check_json_schema(
    name: str, record: EvalRecord, params: JsonSchemaParams, schemas: Mapping[str, Mapping[str, Any]]
) -> EvalResult:
    if params.json_schema is not None:
        schema: Mapping[str, Any] = params.json_schema
    else:
        found = schemas.get(params.schema_name or "")
        if found is None:
            raise EvaluatorError(f"JSON Schema {params.schema_name!r} is not registered")
        schema = found
    validator = schema_validator(schema)
    text = _text(record, params)
    if not text.strip():
        return _boolean(name, False, f"{params.target} is empty")
    try:
        doc = _parse_json(text)
    except ValueError as exc:
        return _boolean(name, False, f"invalid JSON: {exc}")
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        return _boolean(name, True)
    first = errors[0]
    where = "/".join(str(p) for p in first.absolute_path) or "(root)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _boolean(name, False, f"{where}: {first.message}{more}"[:1000])


_REFUSAL = [
    r"\bI(?:'m| am)\s+(?:sorry,?\s+(?:but\s+)?)?(?:not able|unable) to (?:help|assist|comply|provide|do that)",
    r"\bI\s+(?:can(?:'|no)?t|cannot|won'?t|will not)\s+(?:help|assist|comply|provide|do that|answer)",
    r"\bI(?:'m| am) not (?:allowed|permitted) to\b",
    r"\bas an AI(?: language model)?,? I (?:can(?:'|no)?t|cannot|don'?t)\b",
    r"\bI must (?:decline|refuse)\b",
    r"\bagainst (?:my|our) (?:guidelines|policy|policies)\b",
]
_DONT_KNOW = [
    r"\bINSUFFICIENT[_ ]DATA\b",
    r"\bI\s+(?:do not|don'?t)\s+know\b",
    r"\bI(?:'m| am) not sure\b",
    r"\bI\s+(?:do not|don'?t)\s+have (?:enough|sufficient) (?:information|context|data)\b",
    r"\b(?:the )?(?:provided )?context does not (?:contain|include|mention)\b",
    r"\bnot enough (?:information|context|data) to answer\b",
]


@functools.lru_cache(maxsize=128)
def _compiled(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


def check_refusal(name: str, record: EvalRecord, params: RefusalParams) -> EvalResult:
    """True when the model declined: a refusal, or an explicit 'I don't know' / INSUFFICIENT_DATA."""
    text = _text(record, params)[:5000].replace("\u2019", "'")
    refusal = _compiled(tuple(_REFUSAL + params.patterns)).search(text)
    if refusal:
        return _boolean(name, True, f"refusal: {refusal.group(0)!r}")
    dont_know = _compiled(tuple(_DONT_KNOW + params.insufficient_data)).search(text)
    if dont_know:
        return _boolean(name, True, f"insufficient data: {dont_know.group(0)!r}")
    return _boolean(name, False)


def check_empty_output(name: str, record: EvalRecord, params: EmptyOutputParams) -> EvalResult:
    """True when the text is empty or a placeholder such as `null` or `{}`."""
    text = _text(record, params).strip()
    empty = text.lower() in {v.strip().lower() for v in params.empty_values}
    return _boolean(name, empty, f"{params.target}: {text[:40]!r}" if empty else None)


def check_language(name: str, record: EvalRecord, params: LanguageParams) -> EvalResult | None:
    """True when the text is in one of the expected languages; None (no score) when the text is too
    short or ambiguous to tell."""
    text = _text(record, params)
    if sum(ch.isalpha() for ch in text[:2000]) < params.min_letters:
        return None
    lang = detect_language(text)
    if lang == UNKNOWN:
        return None
    ok = lang in params.expected
    return _boolean(name, ok, f"detected {lang}, expected {'/'.join(params.expected)}")


def check_length(name: str, record: EvalRecord, params: LengthParams) -> EvalResult:
    text = _text(record, params)
    size = len(text) if params.unit == "chars" else len(text.split())
    if params.min is not None and size < params.min:
        return _boolean(name, False, f"{size} {params.unit}, below the minimum of {params.min}")
    if params.max is not None and size > params.max:
        return _boolean(name, False, f"{size} {params.unit}, above the maximum of {params.max}")
    return _boolean(name, True, f"{size} {params.unit}")


def check_latency_slo(name: str, record: EvalRecord, params: LatencySloParams) -> EvalResult | None:
    """True when the span met the SLO; None when the record has no such measurement."""
    measured = record.latency_ms if params.metric == "duration" else record.ttft_ms
    if measured is None or not math.isfinite(measured) or (params.metric == "ttft" and measured <= 0):
        return None
    ok = measured <= params.max_ms
    return _boolean(name, ok, f"{params.metric} {measured:.0f} ms, SLO {params.max_ms:.0f} ms")


# --------------------------------------------------------------------------- user callables


def resolve_callable(ref: str) -> UserFn:
    """Imports 'package.module:function'; EvaluatorError with the reason when it cannot."""
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise EvaluatorError(f"cannot import module {module_name!r} for {ref!r}: {exc!r}") from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise EvaluatorError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise EvaluatorError(f"{ref!r} is not callable")
    fn: UserFn = obj
    return fn


def coerce_result(name: str, value: Any, data_type: str | None = None) -> EvalResult | None:
    """A user callable's return value as a result: bool → boolean, number → numeric, str →
    categorical, an EvalResult as is (named after the evaluator), None → no score."""
    if value is None:
        return None
    if isinstance(value, EvalResult):
        return value.model_copy(update={"name": name})
    if isinstance(value, bool) or data_type == "boolean":
        if isinstance(value, str):
            flag = value.strip().lower() in ("true", "1", "yes", "pass")
        elif isinstance(value, int | float) and value in (0, 1):
            flag = bool(value)
        else:
            raise TypeError(f"returned {value!r}, which is not a boolean")
        return _boolean(name, flag)
    if isinstance(value, int | float) and data_type != "categorical":
        number = float(value)
        if not math.isfinite(number):
            raise TypeError(f"returned {value!r}, which is not a finite number")
        return EvalResult(name=name, value=number, data_type="numeric")
    if isinstance(value, str | int | float):
        code = float(value) if isinstance(value, int | float) else None
        return EvalResult(name=name, value=code, string_value=str(value)[:10_000], data_type="categorical")
    raise TypeError(f"returned a {type(value).__name__}; return a float, bool, str, EvalResult or None")


# --------------------------------------------------------------------------- timeouts


class _Stuck:
    """Counts abandoned calls per evaluator that have not returned yet."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def add(self, key: str, delta: int) -> int:
        with self._lock:
            n = self._counts.get(key, 0) + delta
            if n <= 0:
                self._counts.pop(key, None)
            else:
                self._counts[key] = n
            return n

    def get(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)


_stuck = _Stuck()


class EvaluatorTimeout(Exception):
    pass


def run_with_timeout(key: str, fn: Callable[[], Any], timeout_s: float) -> Any:
    """Runs fn on a daemon thread; EvaluatorTimeout when it overruns (the thread is abandoned)."""
    stuck = _stuck.get(key)
    if stuck >= MAX_STUCK_CALLS:
        raise EvaluatorTimeout(f"call skipped, {stuck} earlier calls are still running past their timeout")
    done = threading.Event()
    box: dict[str, Any] = {}
    lock = threading.Lock()
    abandoned = False

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported to the caller as an error result
            box["error"] = exc
        finally:
            with lock:
                done.set()
                if abandoned:
                    _stuck.add(key, -1)

    threading.Thread(target=target, name=f"spanscope-eval-{key}"[:60], daemon=True).start()
    if not done.wait(timeout_s):
        with lock:
            if not done.is_set():
                abandoned = True
                _stuck.add(key, 1)
        if abandoned:
            raise EvaluatorTimeout(f"no answer within {timeout_s:g}s, call abandoned")
    if "error" in box:
        raise box["error"]
    return box.get("value")


# --------------------------------------------------------------------------- evaluate


def _error(name: str, message: str) -> EvalResult:
    return EvalResult(name=name, data_type="numeric", error=message[:2000], comment=message[:2000])


def evaluate_one(
    config: EvaluatorConfig, record: EvalRecord, schemas: Mapping[str, Mapping[str, Any]] | None = None
) -> EvalResult | None:
    """One evaluator on one record, ignoring `match`. None when the evaluator has nothing to say
    (e.g. language of a too-short text). Never raises: failures become results with `error`."""
    name = config.name
    try:
        params = config.typed_params()
        t = config.type
        if t == "json_valid":
            return check_json_valid(name, record, params)
        if t == "json_schema":
            return check_json_schema(name, record, params, schemas or {})
        if t == "refusal":
            return check_refusal(name, record, params)
        if t == "empty_output":
            return check_empty_output(name, record, params)
        if t == "language":
            return check_language(name, record, params)
        if t == "length":
            return check_length(name, record, params)
        if t == "latency_slo":
            return check_latency_slo(name, record, params)
        if t == "python":
            py: PythonParams = params
            fn = resolve_callable(py.callable)
            key = f"{record.project_id}/{name}"
            value = run_with_timeout(key, lambda: fn(record.model_copy()), config.timeout_s)
            return coerce_result(name, value, py.data_type)
        if t == "llm_judge":
            from spanscope.collector.evals.judge import judge

            key = f"{record.project_id}/{name}"
            verdict: EvalResult = run_with_timeout(key, lambda: judge(name, record, params), config.timeout_s)
            return verdict
        raise EvaluatorError(f"unknown evaluator type {t!r}")
    except EvaluatorTimeout as exc:
        return _error(name, f"{TIMEOUT_PREFIX}{exc}")
    except Exception as exc:
        detail = str(exc) or type(exc).__name__
        if not isinstance(exc, EvaluatorError):
            detail = f"{type(exc).__name__}: {detail}"
        return _error(name, detail)


def evaluate_record(
    record: EvalRecord,
    configs: Sequence[EvaluatorConfig],
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[EvalResult]:
    """Every enabled config whose `match` fits the record, in order. Never raises: an evaluator that
    raises, times out or returns something unusable gives a result with `error` set."""
    results: list[EvalResult] = []
    for config in configs:
        if not matches(config, record):
            continue
        result = evaluate_one(config, record, schemas)
        if result is not None:
            results.append(result)
    return results


def config_fingerprint(configs: Sequence[EvaluatorConfig], schemas: Mapping[str, Any]) -> str:
    """Changes whenever the configuration does (part of the scores' deduplication key)."""
    blob = json.dumps({"e": [c.model_dump(mode="json") for c in configs], "s": schemas}, sort_keys=True, default=str)
    return hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()
