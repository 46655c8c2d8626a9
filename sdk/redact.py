"""Masking of captured content before it leaves the process.

A redactor is any `Callable[[str], str]`. `init(mask=...)` applies it to every captured text
(inputs, outputs, messages, documents, guardrail content, exception messages) after serialisation
and before truncation, so a secret is never cut in half and half-leaked. The built-in redactors
apply the collector's built-in rules (`spanscope.schemas.redaction_rules`), so content masked here
reads the same as content redacted at ingest: each match becomes `[REDACTED:<rule>]`.

    spanscope.init(mask=spanscope.redact.default_redactor)                 # every built-in rule
    spanscope.init(mask=compose(redact_emails, my_own_redactor))           # a selection
    spanscope.init(mask=builtin_redactor("email", "openai_key"))           # rules by name

Built-ins: e-mail addresses, phone numbers (with separators or a +country code, so ids and
timestamps survive), payment card numbers (Luhn-checked, so order ids survive), and credentials:
API keys (OpenAI, Anthropic, Stripe, Google, AWS, GitHub, Slack), JWTs, `Bearer …` tokens, private
key blocks, and values assigned to keys such as `password=`, `api_key:` or `aws_secret_access_key=`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from spanscope.schemas.redaction_rules import BUILTIN_NAMES, BUILTIN_RULES, RuleMatcher, luhn_ok

__all__ = [
    "Redactor",
    "builtin_redactor",
    "compose",
    "default_redactor",
    "luhn_valid",
    "redact_card_numbers",
    "redact_emails",
    "redact_phone_numbers",
    "redact_secrets",
    "regex_redactor",
]

Redactor = Callable[[str], str]

luhn_valid = luhn_ok

_PERSONAL = frozenset({"email", "phone", "card_number"})


def builtin_redactor(*names: str) -> Redactor:
    """A redactor applying the named built-in rules (all of them without names) in one scan.

    When two rules match at the same place the one listed first in BUILTIN_RULES wins, whatever
    the order of `names`."""
    unknown = sorted(set(names) - BUILTIN_NAMES)
    if unknown:
        raise ValueError(f"unknown redaction rule(s) {', '.join(unknown)}; known: {', '.join(sorted(BUILTIN_NAMES))}")
    matcher = RuleMatcher(r for r in BUILTIN_RULES if not names or r.name in names)

    def redactor(text: str) -> str:
        return matcher.sub(text)

    return redactor


def compose(*redactors: Redactor) -> Redactor:
    """One redactor that applies `redactors` in order."""

    def composed(text: str) -> str:
        for redactor in redactors:
            text = redactor(text)
        return text

    return composed


def regex_redactor(pattern: str | re.Pattern[str], replacement: str = "[REDACTED]") -> Redactor:
    """A redactor that replaces every match of `pattern` (for site-specific identifiers)."""
    compiled = re.compile(pattern) if isinstance(pattern, str) else pattern

    def redactor(text: str) -> str:
        return compiled.sub(replacement, text)

    return redactor


redact_emails: Redactor = builtin_redactor("email")
redact_phone_numbers: Redactor = builtin_redactor("phone")
redact_card_numbers: Redactor = builtin_redactor("card_number")
redact_secrets: Redactor = builtin_redactor(*(r.name for r in BUILTIN_RULES if r.name not in _PERSONAL))
default_redactor: Redactor = builtin_redactor()
