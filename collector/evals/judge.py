"""LLM-as-judge: asks any OpenAI-compatible `/chat/completions` endpoint to grade a record.

The reply is read as JSON (`{"score": 0.8, "reason": "..."}`, also inside a Markdown fence or
after some prose) or, failing that, as the first number in the text. Connection errors, 429 and
5xx are retried; every other failure raises JudgeError, which the caller records as an error score.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from typing import Any

import httpx
from spanscope.schemas.evals import EvalRecord, EvalResult, LlmJudgeParams

_RETRYABLE = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SCORE_KEYS = ("score", "value", "rating", "grade", "verdict", "label", "result")
_BOOL_WORDS = {
    "true": True,
    "yes": True,
    "pass": True,
    "correct": True,
    "false": False,
    "no": False,
    "fail": False,
    "incorrect": False,
}


class JudgeError(Exception):
    pass


def render_prompt(params: LlmJudgeParams, record: EvalRecord) -> str:
    cut = params.max_chars
    return params.prompt.format(
        input=record.input[:cut], output=record.output[:cut], expected=(record.expected or "")[:cut]
    )


def _reply_object(text: str) -> dict[str, Any] | None:
    for candidate in (text.strip(), *(m.group(0) for m in [_JSON_OBJECT.search(text)] if m)):
        try:
            doc = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return doc
    return None


def parse_verdict(name: str, text: str, params: LlmJudgeParams) -> EvalResult:
    """The judge's reply as a score of the configured data type."""
    doc = _reply_object(text)
    raw: Any = None
    reason: str | None = None
    if doc is not None:
        raw = next((doc[k] for k in _SCORE_KEYS if k in doc), None)
        found = doc.get("reason") or doc.get("explanation") or doc.get("rationale")
        reason = str(found)[:2000] if found is not None else None
    if raw is None:
        if params.data_type == "categorical":
            raw = text.strip().splitlines()[0] if text.strip() else None
        elif params.data_type == "boolean" and text.strip().lower().strip(".! ") in _BOOL_WORDS:
            raw = text.strip().lower().strip(".! ")
        else:
            m = _NUMBER.search(text)
            raw = float(m.group(0)) if m else None
        reason = reason or text.strip()[:2000] or None
    if raw is None:
        raise JudgeError(f"no score in the judge's reply: {text[:200]!r}")
    if params.data_type == "categorical":
        return EvalResult(name=name, string_value=str(raw)[:200], data_type="categorical", comment=reason)
    if params.data_type == "boolean":
        flag = _BOOL_WORDS.get(str(raw).strip().lower()) if isinstance(raw, str) else None
        if flag is None and isinstance(raw, bool | int | float) and raw in (0, 1):
            flag = bool(raw)
        if flag is None:
            raise JudgeError(f"the judge's verdict {raw!r} is not a boolean")
        return EvalResult(
            name=name,
            value=float(flag),
            string_value="true" if flag else "false",
            data_type="boolean",
            comment=reason,
        )
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise JudgeError(f"the judge's score {raw!r} is not a number") from None
    if not math.isfinite(value):
        raise JudgeError(f"the judge's score {raw!r} is not finite")
    if (params.min_score is not None and value < params.min_score) or (
        params.max_score is not None and value > params.max_score
    ):
        raise JudgeError(f"the judge's score {value:g} is outside [{params.min_score}, {params.max_score}]")
    return EvalResult(name=name, value=value, data_type="numeric", comment=reason)


def judge(name: str, record: EvalRecord, params: LlmJudgeParams) -> EvalResult:
    headers = {"Content-Type": "application/json"}
    if params.api_key_env:
        key = os.environ.get(params.api_key_env)
        if not key:
            raise JudgeError(f"environment variable {params.api_key_env} (the judge's API key) is not set")
        headers["Authorization"] = f"Bearer {key}"
    messages = [{"role": "user", "content": render_prompt(params, record)}]
    if params.system:
        messages.insert(0, {"role": "system", "content": params.system})
    body = {
        "model": params.model,
        "messages": messages,
        "temperature": params.temperature,
        "max_tokens": params.max_tokens,
    }
    url = f"{params.base_url}/chat/completions"
    last = ""
    for attempt in range(params.retries + 1):
        if attempt:
            time.sleep(min(0.5 * 2 ** (attempt - 1), 4.0))
        try:
            response = httpx.post(url, json=body, headers=headers, timeout=params.request_timeout_s)
        except httpx.HTTPError as exc:
            last = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code in _RETRYABLE:
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            continue
        if response.status_code >= 400:
            raise JudgeError(f"{url} answered HTTP {response.status_code}: {response.text[:300]}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise JudgeError(f"{url} did not return a chat completion: {response.text[:300]!r}") from None
        return parse_verdict(name, str(content or ""), params)
    raise JudgeError(f"{url} failed after {params.retries + 1} attempts: {last}")
