"""Built-in redaction rules: personal data and credentials that must never reach storage.

Each rule is a regular expression plus the literals one of its matches must contain (`hints`).
A rule is only tried in windows around the places its hints occur (`reach`: how far before and
after a hint a match may extend), so plain prose costs a few substring searches and nothing more.
A rule may name a `v` group, in which case only that part is replaced
(`Authorization: Bearer [REDACTED:bearer_token]` keeps its key), a `check` that rejects
look-alikes (card numbers must pass Luhn, phone numbers need a plausible digit count), and the
characters it `needs` (an assignment has a `:` or `=`), which rule out most windows of prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

# Hint of the number rules (phones, cards): a run of digits and separators holding at least
# MIN_DIGITS digits. The run pattern has no lookaround so the regex engine scans for it at C speed.
DIGIT_HINTS: tuple[str, ...] = ("<digit run>",)
DIGIT_RUN = r"[0-9][0-9 ().-]{8,}"
MIN_DIGITS = 9


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str
    description: str
    hints: tuple[str, ...]
    reach: tuple[int, int] = (2, 512)
    check: Callable[[str], bool] | None = None
    # Characters one of which every match contains: a window without any is not scanned for the rule.
    needs: str = ""


def luhn_ok(text: str) -> bool:
    """Payment card numbers: 13-19 digits, a known network prefix and a valid Luhn checksum."""
    digits = [int(c) for c in text if c.isdigit()]
    if not 13 <= len(digits) <= 19 or digits[0] not in (2, 3, 4, 5, 6) or len(set(digits)) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _digit_count(low: int, high: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        n = sum(c.isdigit() for c in text)
        return low <= n <= high

    return check


def _case_variants(*words: str) -> tuple[str, ...]:
    return tuple(v for w in words for v in (w, w.capitalize(), w.upper()))


_SECRET_KEYS = (
    r"password|passwd|passphrase|pwd|secret|client_secret|secret_key|api[_-]?key|apikey"
    r"|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token|private[_-]?key"
)

# Start of a token: not inside a word, and not inside a JSON escape, except right after an escaped
# newline or tab (content is often JSON text, where "\nsk-..." is a key at the start of a line).
_B = r"(?:(?<=\\[nrt])|(?<![A-Za-z0-9_\\]))"

BUILTIN_RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)"
        r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
        "PEM/OpenSSH private key blocks",
        hints=("PRIVATE KEY",),
        reach=(40, 20000),
    ),
    Rule(
        "jwt",
        _B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        "JSON Web Tokens",
        hints=("eyJ",),
        reach=(2, 8192),
    ),
    Rule(
        "anthropic_key",
        _B + r"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_-]{20,}",
        "Anthropic API keys (sk-ant-...)",
        hints=("sk-ant-",),
        reach=(2, 300),
    ),
    Rule(
        "openai_key",
        _B + r"sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}",
        "OpenAI API keys (sk-..., sk-proj-...)",
        hints=("sk-",),
        reach=(2, 300),
    ),
    Rule(
        "aws_access_key",
        _B + r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?![A-Za-z0-9])",
        "AWS access key ids",
        hints=("AKIA", "ASIA", "ABIA", "ACCA"),
        reach=(2, 24),
    ),
    Rule(
        "github_token",
        _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})(?![A-Za-z0-9])",
        "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        hints=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        reach=(2, 300),
    ),
    Rule(
        "slack_token",
        _B + r"xox[abposre]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+",
        "Slack tokens and incoming-webhook URLs",
        hints=("xox", "hooks.slack.com"),
        reach=(10, 300),
    ),
    Rule(
        "bearer_token",
        r"(?i:bearer)\s+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)",
        "bearer tokens (Authorization headers)",
        hints=_case_variants("bearer"),
        reach=(0, 2048),
    ),
    Rule(
        "secret_assignment",
        rf"(?i:{_SECRET_KEYS})(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?(?P<v>[^\s\"'\\,;&}}<>]{{4,}})",
        "values assigned to password=, secret:, api_key=, access_token: and similar keys",
        needs=":=",
        hints=(
            *_case_variants("pass", "pwd", "secret"),
            *("api_key", "apikey", "api-key", "apiKey", "ApiKey", "API_KEY", "API-KEY", "_key", "Key", "KEY"),
            *("_token", "-token", "Token", "TOKEN"),
        ),
        reach=(16, 400),
    ),
    Rule(
        "email",
        r"(?:(?<=\\[nrt])|(?<![\w.%+\\-]))[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}"
        r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])",
        "e-mail addresses",
        hints=("@",),
        reach=(66, 300),
    ),
    Rule(
        "card_number",
        r"(?<![\d.-])[2-6]\d{3}(?:[ -]?\d){9,15}(?![\d-])",
        "payment card numbers (13-19 digits, Luhn-checked)",
        hints=DIGIT_HINTS,
        reach=(3, 1),
        check=luhn_ok,
    ),
    Rule(
        "phone",
        # International (+country ...) or national forms with separators, never a bare digit run:
        # ids, timestamps and amounts stay untouched.
        r"(?:(?<=\\[nrt])|(?<![\w+\\]))\+[1-9]\d{0,2}(?:[ .-]?\(?\d{1,4}\)?){2,5}(?![\w])"
        r"|(?<![\w.(+\\-])\(?[2-9]\d{2}\)?[ .-]\d{3}[ .-]\d{4}(?![\w.-])"
        r"|(?<![\w.+\\-])0\d{1,4}(?:[ -]\d{2,4}){2,4}(?![\w-])",
        "phone numbers: E.164 (+44 20 7946 0958) and common national formats (415-555-0100, 020 7946 0958)",
        hints=DIGIT_HINTS,
        reach=(3, 1),
        check=_digit_count(9, 15),
    ),
)

BUILTIN_NAMES: frozenset[str] = frozenset(r.name for r in BUILTIN_RULES)


def custom_rule(name: str, pattern: str, description: str = "") -> Rule:
    """A project's own rule; raises ValueError with a readable message for a bad pattern."""
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ValueError(f"rule {name!r}: invalid regular expression: {exc}") from None
    if compiled.search("") is not None:
        raise ValueError(f"rule {name!r}: the pattern matches the empty string")
    return Rule(name, pattern, description or "custom rule", hints=())
