"""Guardrails: run a check on a model's input or output and record the verdict.

    def no_pii(text: str) -> GuardrailResult:
        if EMAIL.search(text):
            return GuardrailResult.modify(EMAIL.sub("[email]", text), reason="e-mail address")
        return GuardrailResult.passed()

    try:
        prompt = spanscope.guardrail(no_pii, prompt, stage="input", policy="pii-v2")
        answer = llm(prompt)                                   # not reached when blocked
        answer = spanscope.guardrail(toxicity, answer, stage="output")
    except spanscope.GuardrailBlocked as blocked:
        answer = f"Sorry, I can't help with that ({blocked.reason})."

`guardrail()` returns the value to use (the original on pass, the replacement on modify) and
raises `GuardrailBlocked` on block, so an input guardrail that blocks stops the model call by
ordinary control flow. `Guardrail(...).evaluate(value)` returns the `GuardrailResult` instead of
raising, for code that prefers to branch. A check returns a `GuardrailResult`, or a bool
(True = pass, False = block), or None (pass); it may be async (use `aguardrail` / `aevaluate`).
If the check itself raises, the error is recorded on the guardrail span and propagates.

Span: `apply_guardrail <name>`, kind guardrail (`gen_ai.operation.name=apply_guardrail`,
`openinference.span.kind=GUARDRAIL`), with `gen_ai.guardrail.component.name`,
`spanscope.guardrail.verdict` (pass|block|modify), `gen_ai.guardrail.result.reason`,
`spanscope.guardrail.policy`, `spanscope.guardrail.stage` (input|output), optional
`gen_ai.guardrail.risk.score`/`.category`, `input.value` = the checked content and, on modify,
`output.value` = the replacement. A block is a decision, not an error: the span status stays unset.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry.trace import Span
from spanscope.schemas import attributes as A
from spanscope.schemas.kinds import GuardrailVerdict, SpanKind

from .diagnostics import internal_error
from .enrich import Attributes, apply_update, kind_attributes
from .observe import _close, record_error, start_span

Stage = Literal["input", "output"]


@dataclass(frozen=True)
class GuardrailResult:
    """A check's verdict. `value` is the replacement content when the verdict is MODIFY."""

    verdict: GuardrailVerdict
    reason: str | None = None
    value: Any = None
    score: float | None = None
    category: str | None = None

    @classmethod
    def passed(cls, reason: str | None = None, *, score: float | None = None) -> GuardrailResult:
        return cls(GuardrailVerdict.PASS, reason, score=score)

    @classmethod
    def block(
        cls, reason: str | None = None, *, score: float | None = None, category: str | None = None
    ) -> GuardrailResult:
        return cls(GuardrailVerdict.BLOCK, reason, score=score, category=category)

    @classmethod
    def modify(
        cls, value: Any, reason: str | None = None, *, score: float | None = None, category: str | None = None
    ) -> GuardrailResult:
        return cls(GuardrailVerdict.MODIFY, reason, value=value, score=score, category=category)

    @property
    def blocked(self) -> bool:
        return self.verdict is GuardrailVerdict.BLOCK


class GuardrailBlocked(Exception):
    """Raised by `guardrail()` when the check blocks; the app catches it and answers otherwise."""

    def __init__(self, result: GuardrailResult, guardrail: str, stage: str, policy: str | None) -> None:
        self.result = result
        self.reason = result.reason
        self.guardrail = guardrail
        self.stage = stage
        self.policy = policy
        detail = f": {result.reason}" if result.reason else ""
        super().__init__(f"guardrail {guardrail!r} blocked the {stage}{detail}")


CheckResult = GuardrailResult | bool | None
Check = Callable[[Any], CheckResult] | Callable[[Any], Awaitable[CheckResult]]


def _normalise(outcome: Any, value: Any) -> GuardrailResult:
    if outcome is None or outcome is True:
        return GuardrailResult.passed()
    if outcome is False:
        return GuardrailResult.block()
    if isinstance(outcome, GuardrailResult):
        if outcome.verdict is GuardrailVerdict.MODIFY and outcome.value is None:
            return GuardrailResult(GuardrailVerdict.PASS, outcome.reason, score=outcome.score)
        return outcome
    raise TypeError(
        f"a guardrail check must return GuardrailResult, bool or None, not {type(outcome).__name__}"
    )


class Guardrail:
    """A named, reusable check: `pii = Guardrail(check, name="pii", stage="input", policy="pii-v2")`;
    `pii(text)` behaves like `guardrail()`, `pii.evaluate(text)` returns the result."""

    def __init__(
        self, check: Check, *, name: str | None = None, stage: Stage = "input", policy: str | None = None
    ) -> None:
        if stage not in ("input", "output"):
            raise ValueError("stage is 'input' or 'output'")
        self.check = check
        self.name = name or getattr(check, "__name__", None) or "guardrail"
        self.stage = stage
        self.policy = policy
        attrs = kind_attributes(SpanKind.GUARDRAIL)
        attrs[A.GEN_AI_GUARDRAIL_NAME] = self.name
        attrs[A.SS_GUARDRAIL_STAGE] = stage
        if policy is not None:
            attrs[A.SS_GUARDRAIL_POLICY] = policy
        self._attributes: Attributes = attrs

    def _start(self, value: Any) -> tuple[Span, object]:
        span, token = start_span(f"apply_guardrail {self.name}", self._attributes)
        apply_update(span, input=value)
        return span, token

    def _finish(self, span: Span, token: object, result: GuardrailResult) -> None:
        try:
            if span.is_recording():
                attrs: Attributes = {A.SS_GUARDRAIL_VERDICT: result.verdict.value}
                if result.reason is not None:
                    attrs[A.GEN_AI_GUARDRAIL_REASON] = str(result.reason)
                if result.score is not None:
                    attrs[A.GEN_AI_GUARDRAIL_RISK_SCORE] = float(result.score)
                if result.category is not None:
                    attrs[A.GEN_AI_GUARDRAIL_RISK_CATEGORY] = str(result.category)
                span.set_attributes(attrs)
                if result.verdict is GuardrailVerdict.MODIFY:
                    apply_update(span, output=result.value)
        except Exception as exc:
            internal_error("guardrail finish", exc)
        _close(span, token)

    def evaluate(self, value: Any) -> GuardrailResult:
        """Run the check in a guardrail span and return its result (never raises on block)."""
        span, token = self._start(value)
        try:
            outcome = self.check(value)
            if inspect.isawaitable(outcome):
                if inspect.iscoroutine(outcome):
                    outcome.close()
                raise TypeError("this guardrail check is async: use aevaluate() / aguardrail()")
            result = _normalise(outcome, value)
        except BaseException as exc:
            record_error(span, exc)
            _close(span, token)
            raise
        self._finish(span, token, result)
        return result

    async def aevaluate(self, value: Any) -> GuardrailResult:
        """`evaluate` for async (or sync) checks."""
        span, token = self._start(value)
        try:
            outcome = self.check(value)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            result = _normalise(outcome, value)
        except BaseException as exc:
            record_error(span, exc)
            _close(span, token)
            raise
        self._finish(span, token, result)
        return result

    def _apply(self, value: Any, result: GuardrailResult) -> Any:
        if result.verdict is GuardrailVerdict.BLOCK:
            raise GuardrailBlocked(result, self.name, self.stage, self.policy)
        if result.verdict is GuardrailVerdict.MODIFY:
            return result.value
        return value

    def __call__(self, value: Any) -> Any:
        """The value to use: original on pass, replacement on modify; raises GuardrailBlocked on block."""
        return self._apply(value, self.evaluate(value))

    async def acall(self, value: Any) -> Any:
        return self._apply(value, await self.aevaluate(value))


def guardrail(
    check: Check, value: Any, *, name: str | None = None, stage: Stage = "input", policy: str | None = None
) -> Any:
    """Run `check(value)` as a guardrail; return the value to use, raise `GuardrailBlocked` on block."""
    return Guardrail(check, name=name, stage=stage, policy=policy)(value)


async def aguardrail(
    check: Check, value: Any, *, name: str | None = None, stage: Stage = "input", policy: str | None = None
) -> Any:
    """`guardrail` for async checks."""
    return await Guardrail(check, name=name, stage=stage, policy=policy).acall(value)
