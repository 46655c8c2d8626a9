"""Framework keys outside the big conventions: NeMo Guardrails, Guardrails AI and LiteLLM.

- NeMo Guardrails rail spans: `rail.type` (→ stage), `rail.name` (→ guardrail name), `rail.stop`
  (true → block, false → pass), `guardrails.rail.reason` (→ reason). `rail.decisions` stays.
- Guardrails AI: the guard span's `validation_passed` (→ pass/block); a validator span's
  `validator.validate.output.outcome` (pass → pass; fail → modify when `validator.on_fail` fixes,
  filters or re-asks, pass for noop, block otherwise), `validator.name`, the outcome's error
  message (→ reason). `guard.name` is read with OpenLIT's keys (same name).
- LiteLLM: the cost the proxy computed, `gen_ai.cost.total_cost` (also `.total`, `.usd`).
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas import attributes as A

from . import guardrail
from .canon import to_bool, to_float, to_text
from .rules import Dialect, Handler, fact

NEMO_KEYS = frozenset({A.NEMO_RAIL_TYPE, A.NEMO_RAIL_NAME, A.NEMO_RAIL_STOP, A.NEMO_RAIL_REASON})
GRAI_KEYS = frozenset(
    {A.GRAI_VALIDATION_PASSED, A.GRAI_VALIDATOR_NAME, A.GRAI_VALIDATOR_OUTCOME, A.GRAI_VALIDATOR_ERROR}
)
_FIXING = frozenset({"fix", "filter", "reask", "fix_reask", "custom"})


def _nemo(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    if "guardrail_name" not in row and rest.get(A.NEMO_RAIL_NAME):
        row["guardrail_name"] = to_text(pop(A.NEMO_RAIL_NAME))
    if "guardrail_stage" not in row:
        st = guardrail.stage(rest.get(A.NEMO_RAIL_TYPE))
        if st:
            row["guardrail_stage"] = st
            del rest[A.NEMO_RAIL_TYPE]
    if "guardrail_verdict" not in row and A.NEMO_RAIL_STOP in rest:
        stop = to_bool(rest[A.NEMO_RAIL_STOP])
        if stop is not None:
            row["guardrail_verdict"] = guardrail.BLOCK if stop else guardrail.PASS
            del rest[A.NEMO_RAIL_STOP]
    if "guardrail_reason" not in row and rest.get(A.NEMO_RAIL_REASON):
        row["guardrail_reason"] = to_text(pop(A.NEMO_RAIL_REASON))


def _guardrails_ai(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: tuple[str, ...]) -> None:
    pop = rest.pop
    if "guardrail_name" not in row and rest.get(A.GRAI_VALIDATOR_NAME):
        row["guardrail_name"] = to_text(pop(A.GRAI_VALIDATOR_NAME))
    if "guardrail_verdict" not in row:
        verdict = ""
        if A.GRAI_VALIDATOR_OUTCOME in rest:
            outcome = str(rest[A.GRAI_VALIDATOR_OUTCOME]).strip().lower()
            if outcome == "pass":
                verdict = guardrail.PASS
            elif outcome == "fail":
                on_fail = str(rest.get(A.GRAI_VALIDATOR_ON_FAIL, "")).strip().lower()
                if on_fail in _FIXING:
                    verdict = guardrail.MODIFY
                elif on_fail == "noop":
                    verdict = guardrail.PASS
                else:
                    verdict = guardrail.BLOCK
            if verdict:
                del rest[A.GRAI_VALIDATOR_OUTCOME]
        elif A.GRAI_VALIDATION_PASSED in rest:
            passed = to_bool(rest[A.GRAI_VALIDATION_PASSED])
            if passed is not None:
                verdict = guardrail.PASS if passed else guardrail.BLOCK
                del rest[A.GRAI_VALIDATION_PASSED]
        if verdict:
            row["guardrail_verdict"] = verdict
    if "guardrail_reason" not in row and rest.get(A.GRAI_VALIDATOR_ERROR):
        row["guardrail_reason"] = to_text(pop(A.GRAI_VALIDATOR_ERROR))


DIALECT: Dialect = Dialect(
    "frameworks",
    rules=(fact("cost", (A.LITELLM_COST_TOTAL, A.LITELLM_COST_TOTAL_ALT, A.LITELLM_COST_USD), to_float),),
    handlers=(Handler(_nemo, NEMO_KEYS), Handler(_guardrails_ai, GRAI_KEYS)),
    hints={**dict.fromkeys(NEMO_KEYS, "guardrail"), **dict.fromkeys(GRAI_KEYS, "guardrail")},
)
