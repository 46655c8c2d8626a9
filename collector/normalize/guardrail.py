"""Guardrail verdicts from every convention into `pass` / `block` / `modify`.

- pass: the content went through unchanged (including "warn"/"flag"/"noop" outcomes, which record
  a finding but neither stop nor change anything);
- block: the content was refused or the flow stopped (OpenLIT's detector verdict "yes" means a
  violation was detected and counts as block);
- modify: the content was changed (redacted, masked, fixed, filtered, rewritten, re-asked).

Unknown values give "" (no verdict) and the raw attributes stay in `attributes`.
"""

from __future__ import annotations

from typing import Any

from spanscope.schemas.kinds import GuardrailVerdict

PASS = GuardrailVerdict.PASS.value
BLOCK = GuardrailVerdict.BLOCK.value
MODIFY = GuardrailVerdict.MODIFY.value

_PASS_WORDS = (
    "pass passed allow allowed accept accepted ok safe success succeeded clean compliant valid none no "
    "no_action noop not_triggered no_match_found no_match approved continue warn warning flag flagged"
)
_BLOCK_WORDS = (
    "block blocked deny denied reject rejected refuse refused refrain fail failed unsafe violation "
    "violated stop stopped abort aborted intervened guardrail_intervened triggered tripwire_triggered "
    "match_found match yes exception halt halted disallowed forbidden invalid"
)
_MODIFY_WORDS = (
    "modify modified redact redacted mask masked anonymize anonymized rewrite rewritten sanitize "
    "sanitized fix fixed filter filtered reask fix_reask transform transformed replace replaced edit "
    "edited deidentified"
)
_WORDS: dict[str, str] = {
    **dict.fromkeys(_PASS_WORDS.split(), PASS),
    **dict.fromkeys(_BLOCK_WORDS.split(), BLOCK),
    **dict.fromkeys(_MODIFY_WORDS.split(), MODIFY),
}


def verdict(value: Any) -> str:
    """A verdict word (any case, '-' or ' ' for '_') as pass/block/modify; "" when unknown."""
    if value is None:
        return ""
    if type(value) is bool:
        return BLOCK if value else PASS
    s = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    return _WORDS.get(s, "")


def from_result(result_type: Any, result_value: Any) -> str:
    """OTel `gen_ai.guardrail.result.type` + `.value`: the value is the system's native result
    (Bedrock action, OpenAI Agents tripwire, Model Armor match state)."""
    rt = str(result_type or "").strip().lower()
    if rt in ("tripwire_triggered", "tripwire", "triggered", "blocked", "denied"):
        return verdict(_truth(result_value))
    if rt in ("passed", "validation_passed", "allowed"):
        t = _truth(result_value)
        return "" if t is None else (PASS if t else BLOCK)
    return verdict(result_value)  # a severity or score is no verdict: numbers map to ""


def _truth(v: Any) -> bool | None:
    if type(v) is bool:
        return v
    s = str(v).strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    return None


def stage(value: Any) -> str:
    """input / output where the convention says so; other stages as given, lower case."""
    s = str(value or "").strip().lower()
    if s in ("input", "prompt", "request", "pre", "pre_call", "user", "user_input"):
        return "input"
    if s in ("output", "response", "completion", "post", "post_call", "model_output", "llm_output"):
        return "output"
    return s
