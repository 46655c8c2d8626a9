"""Masking of captured content before it leaves the process.

A redactor is any `Callable[[str], str]`. `init(mask=...)` applies it to every captured text
(inputs, outputs, messages, documents, guardrail content, exception messages) after serialisation
and before truncation, so a secret is never cut in half and half-leaked. The built-in redactors
replace what they find with a `[REDACTED_<KIND>]` marker:

    spanscope.init(mask=spanscope.redact.default_redactor)                 # all built-ins
    spanscope.init(mask=compose(redact_emails, my_own_redactor))           # a selection

Built-ins: e-mail addresses, phone numbers, payment card numbers (only Luhn-valid digit runs, so
order ids survive), and API keys/secrets (`sk-…`, `AKIA…`/`ASIA…`, `ghp_…`/`github_pat_…`,
`xox?-…` Slack tokens, `Bearer …` tokens, Google `AIza…` keys, Stripe `sk_live_…`, AWS secret keys
after `aws_secret_access_key`, private key blocks).
"""

from __future__ import annotations

import re
from collections.abc import Callable

Redactor = Callable[[str], str]

EMAIL_MARK = "[REDACTED_EMAIL]"
PHONE_MARK = "[REDACTED_PHONE]"
CARD_MARK = "[REDACTED_CARD]"
SECRET_MARK = "[REDACTED_SECRET]"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")

# 13–19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d])")

# Phone candidates: an optional +country code, then digit groups joined by space, dot, dash or
# parentheses; checked afterwards for a plausible digit count and against dates and IP addresses.
_PHONE = re.compile(
    r"(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,5}){1,4}(?![\w]|[.-]\d)"
)
_DATE_LIKE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")
_IPV4_LIKE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")

_SECRETS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S), SECRET_MARK),
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer " + SECRET_MARK),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), SECRET_MARK),
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), SECRET_MARK),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), SECRET_MARK),
    (re.compile(r"(?i)(aws_secret_access_key\s*[=:]\s*[\"']?)[A-Za-z0-9/+=]{40}"), r"\1" + SECRET_MARK),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b"), SECRET_MARK),
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}"), SECRET_MARK),
    (re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}"), SECRET_MARK),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), SECRET_MARK),
)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def redact_emails(text: str) -> str:
    if "@" not in text:
        return text
    return _EMAIL.sub(EMAIL_MARK, text)


def _card_sub(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    if 13 <= len(digits) <= 19 and luhn_valid(digits):
        return CARD_MARK
    return match.group(0)


def redact_card_numbers(text: str) -> str:
    return _CARD.sub(_card_sub, text)


def _phone_sub(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(char.isdigit() for char in candidate)
    plain = candidate.isdigit()
    if not 7 <= digits <= 15:
        return candidate
    if plain and not 10 <= digits <= 12:  # a bare run of digits is only a phone number at full length
        return candidate
    if _DATE_LIKE.match(candidate) or _IPV4_LIKE.match(candidate):
        return candidate
    return PHONE_MARK


def redact_phone_numbers(text: str) -> str:
    return _PHONE.sub(_phone_sub, text)


def redact_secrets(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


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


# Secrets first (a token may contain digits that look like a phone), cards before phones.
default_redactor: Redactor = compose(redact_secrets, redact_emails, redact_card_numbers, redact_phone_numbers)
