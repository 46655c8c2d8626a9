"""OpenLIT keys beyond the shared `gen_ai.*` names.

- content `gen_ai.content.prompt` (JSON messages or `role: text` lines) / `gen_ai.content.completion`;
- cost `gen_ai.token.cost.total` (or input + output);
- user `gen_ai.user.id` / `gen_ai.request.user`, session `gen_ai.session.id`;
- time to first token `gen_ai.server.time_to_first_token` (seconds);
- raw content of framework spans: workflow / tool input and output, tool args, old retrieval query;
- guard spans: `guard.action`, `guard.denied`, `guard.verdict` ("yes" = a violation was detected
  → block), `guard.name`/`guard.validator`, `guard.explanation`, `guard.phase`,
  `guard.classification` (→ policy). `guard.score` stays in attributes.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from . import guardrail, messages
from .canon import add_raw, ms_from_s, text, to_float, to_text
from .rules import Dialect, Handler, column, cost_parts, fact

GUARD_KEYS = frozenset(
    {
        A.OPENLIT_GUARD_VERDICT,
        A.OPENLIT_GUARD_DENIED,
        A.OPENLIT_GUARD_ACTION,
        A.OPENLIT_GUARD_NAME,
        A.OPENLIT_GUARD_VALIDATOR,
        A.OPENLIT_GUARD_EXPLANATION,
        A.OPENLIT_GUARD_PHASE,
        A.OPENLIT_GUARD_CLASSIFICATION,
    }
)
RAW_KEYS = frozenset(
    {
        A.OPENLIT_WORKFLOW_INPUT,
        A.OPENLIT_WORKFLOW_OUTPUT,
        A.OPENLIT_TOOL_INPUT,
        A.OPENLIT_TOOL_OUTPUT,
        A.OPENLIT_TOOL_ARGS,
        A.OPENLIT_RETRIEVAL_QUERY_OLD,
    }
)


def _content(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    v = rest.get(A.OPENLIT_CONTENT_PROMPT)
    if v is not None and "input_messages" not in f:
        del rest[A.OPENLIT_CONTENT_PROMPT]
        f["input_messages"] = messages.from_role_text(v, "user") if type(v) is str else messages.from_list(v, "user")[0]
    v = rest.get(A.OPENLIT_CONTENT_COMPLETION)
    if v is not None and "output_messages" not in f:
        del rest[A.OPENLIT_CONTENT_COMPLETION]
        f["output_messages"] = messages.from_list(v, "assistant")[0]


def _raw(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    add_raw(f, "raw_in", A.OPENLIT_TOOL_ARGS, pop(A.OPENLIT_TOOL_ARGS, None))
    add_raw(f, "raw_in", A.OPENLIT_TOOL_INPUT, pop(A.OPENLIT_TOOL_INPUT, None))
    add_raw(f, "raw_out", A.OPENLIT_TOOL_OUTPUT, pop(A.OPENLIT_TOOL_OUTPUT, None))
    add_raw(f, "raw_in", A.OPENLIT_WORKFLOW_INPUT, pop(A.OPENLIT_WORKFLOW_INPUT, None))
    add_raw(f, "raw_out", A.OPENLIT_WORKFLOW_OUTPUT, pop(A.OPENLIT_WORKFLOW_OUTPUT, None))
    add_raw(f, "raw_in", A.OPENLIT_RETRIEVAL_QUERY_OLD, pop(A.OPENLIT_RETRIEVAL_QUERY_OLD, None))


def guard(src: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...] = ()) -> None:
    """OpenLIT guard keys, from span attributes or a `guard.evaluation` event."""
    pop = src.pop
    f["hint_guardrail"] = True
    if "guardrail_name" not in row:
        for key in (A.OPENLIT_GUARD_NAME, A.OPENLIT_GUARD_VALIDATOR):
            if src.get(key):
                row["guardrail_name"] = to_text(pop(key))
                break
    if "guardrail_verdict" not in row:
        for key in (A.OPENLIT_GUARD_ACTION, A.OPENLIT_GUARD_DENIED, A.OPENLIT_GUARD_VERDICT):
            if key in src:
                verdict = guardrail.verdict(src[key])
                if verdict:
                    row["guardrail_verdict"] = verdict
                    del src[key]
                    break
    if "guardrail_reason" not in row:
        v = pop(A.OPENLIT_GUARD_EXPLANATION, None)
        if v:
            row["guardrail_reason"] = to_text(v)
    if "guardrail_stage" not in row:
        st = guardrail.stage(src.get(A.OPENLIT_GUARD_PHASE))
        if st:
            row["guardrail_stage"] = st
            del src[A.OPENLIT_GUARD_PHASE]
    if "guardrail_policy" not in row:
        v = pop(A.OPENLIT_GUARD_CLASSIFICATION, None)
        if v:
            row["guardrail_policy"] = to_text(v)


DIALECT: Dialect = Dialect(
    "openlit",
    rules=(
        column("user_id", (A.OPENLIT_USER, A.OPENLIT_REQUEST_USER), text),
        column("session_id", (A.OPENLIT_SESSION,), text),
        fact("cost", (A.OPENLIT_TOKEN_COST_TOTAL,), to_float),
        column("ttft_ms", (A.OPENLIT_TTFT,), ms_from_s),
    ),
    handlers=(
        Handler(_content, frozenset({A.OPENLIT_CONTENT_PROMPT, A.OPENLIT_CONTENT_COMPLETION})),
        cost_parts(A.OPENLIT_TOKEN_COST_INPUT, A.OPENLIT_TOKEN_COST_OUTPUT),
        Handler(_raw, RAW_KEYS),
        Handler(guard, GUARD_KEYS),
    ),
    hints={**dict.fromkeys(GUARD_KEYS, "guardrail"), A.OPENLIT_RETRIEVAL_QUERY_OLD: "retrieval"},
)
