"""Redaction rules: personal data and credentials that must never reach storage.

One definition for the SDK (which masks content before it leaves the process) and the collector
(which redacts at ingest, per project); both replace a match with `[REDACTED:<rule>]`. Standard
library only, since the SDK depends on it.

Each rule is a regular expression plus the literals one of its matches must contain (`hints`), so
a text without any of them is not scanned for the rule. The collector scans only windows around
the hints (`reach`: how far before and after a hint a match may extend). A rule may name a `v`
group, in which case only that part is replaced (`Authorization: Bearer [REDACTED:bearer_token]`
keeps its key), a `check` that rejects look-alikes (card numbers must pass Luhn, phone numbers
need a plausible digit count), and the characters it `needs` (an assignment has a `:` or `=`),
which rule out most prose.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# Hint of the number rules (phones, cards): a run of digits and separators holding at least
# MIN_DIGITS digits. The run pattern has no lookaround so the regex engine scans for it at C speed.
DIGIT_HINTS: tuple[str, ...] = ("<digit run>",)
MIN_DIGITS = 9
_DIGIT_RUN = re.compile(r"[0-9][0-9 ().-]{8,}")
_SEPARATORS = str.maketrans("", "", " ().-")


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: str
    description: str
    hints: tuple[str, ...]
    reach: tuple[int, int] = (2, 512)
    check: Callable[[str], bool] | None = None
    # Characters one of which every match contains: a text without any is not scanned for the rule.
    needs: str = ""


def marker(rule: str) -> str:
    return f"[REDACTED:{rule}]"


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


def digit_count(low: int, high: int) -> Callable[[str], bool]:
    """A check that a match holds between `low` and `high` digits."""

    def check(text: str) -> bool:
        n = sum(c.isdigit() for c in text)
        return low <= n <= high

    return check


def digit_runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every place a number rule could match: the hint of DIGIT_HINTS."""
    for m in _DIGIT_RUN.finditer(text):
        if len(m.group().translate(_SEPARATORS)) >= MIN_DIGITS:
            yield m.span()


def _case_variants(*words: str) -> tuple[str, ...]:
    return tuple(v for w in words for v in (w, w.capitalize(), w.upper()))


_SECRET_KEYS = (
    r"password|passwd|passphrase|pwd|secret|client_secret|secret_key|secret[_-]?access[_-]?key|api[_-]?key|apikey"
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
        "stripe_key",
        _B + r"[rs]k_(?:live|test)_[A-Za-z0-9]{16,255}(?![A-Za-z0-9])",
        "Stripe secret and restricted keys (sk_live_..., rk_test_...)",
        hints=("k_live_", "k_test_"),
        reach=(2, 270),
    ),
    Rule(
        "google_api_key",
        _B + r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])",
        "Google API keys (AIza...)",
        hints=("AIza",),
        reach=(2, 40),
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
        "values assigned to password=, secret:, api_key=, access_token:, aws_secret_access_key= and similar keys",
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
        check=digit_count(9, 15),
    ),
)

BUILTIN_NAMES: frozenset[str] = frozenset(r.name for r in BUILTIN_RULES)


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` cannot serve as a redaction rule, or None when it can."""
    try:
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"invalid regular expression: {exc}"
    if compiled.search("") is not None:
        return "the pattern matches the empty string"
    return None


def custom_rule(name: str, pattern: str, description: str = "") -> Rule:
    """A project's own rule; raises ValueError with a readable message for a bad pattern."""
    problem = pattern_problem(pattern)
    if problem is not None:
        raise ValueError(f"rule {name!r}: {problem}")
    return Rule(name, pattern, description or "custom rule", hints=())


def splice(m: re.Match[str], value_group: str, token: str) -> str:
    """The match with its value group (or, without one, all of it) replaced by `token`."""
    try:
        start, end = m.span(value_group)
    except IndexError:
        return token
    if start < 0:
        return token
    whole, base = m.group(0), m.start()
    return whole[: start - base] + token + whole[end - base :]


class RuleMatcher:
    """Rules combined into one alternation, so a text is scanned once whatever the number of rules.

    At each position the first listed rule that matches wins (Anthropic keys before the broader
    OpenAI pattern, cards before phones). `sub` first drops the rules whose hints or needed
    characters the text lacks, which leaves most prose with nothing to scan.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        self._patterns: dict[int, re.Pattern[str]] = {}
        self._numbers = 0
        hinted: dict[str, int] = {}
        self._always = 0
        for i, r in enumerate(self.rules):
            if r.hints is DIGIT_HINTS:
                self._numbers |= 1 << i
            elif not r.hints:
                self._always |= 1 << i
            else:
                lowered = {h.lower() for h in r.hints}
                for h in lowered:
                    if not any(g != h and g in h for g in lowered):  # "api_key" is found through "key"
                        hinted[h] = hinted.get(h, 0) | 1 << i
        self._hints = tuple(hinted.items())
        self._needs = tuple((1 << i, r.needs) for i, r in enumerate(self.rules) if r.needs)

    def pattern(self, mask: int) -> re.Pattern[str]:
        """The alternation of the rules whose bits are set in `mask` (compiled once per mask)."""
        rx = self._patterns.get(mask)
        if rx is None:
            parts = []
            for i, r in enumerate(self.rules):
                if mask & (1 << i):
                    parts.append(f"(?P<r{i}>{r.pattern.replace('(?P<v>', f'(?P<v{i}>')})")
            rx = self._patterns[mask] = re.compile("|".join(parts))
        return rx

    def replacement(self, m: re.Match[str]) -> tuple[str, str] | None:
        """(rule name, text to put in place of the match) for a match of `pattern`, or None when
        the rule's check rejects it."""
        group = m.lastgroup or ""
        i = int(group[1:])
        rule = self.rules[i]
        if rule.check is not None and not rule.check(m.group(group)):
            return None
        return rule.name, splice(m, f"v{i}", marker(rule.name))

    def candidates(self, text: str) -> int:
        """The mask of the rules whose hints and needed characters occur in `text`."""
        mask = self._always
        if self._hints:
            low = text.lower()
            for h, bits in self._hints:
                if bits & ~mask and h in low:
                    mask |= bits
        if self._numbers and next(digit_runs(text), None) is not None:
            mask |= self._numbers
        for bit, needs in self._needs:
            if mask & bit and not any(c in text for c in needs):
                mask &= ~bit
        return mask

    def matches(
        self, text: str, mask: int, pos: int = 0, endpos: int | None = None
    ) -> Iterator[tuple[re.Match[str], str, str]]:
        """(match, rule name, replacement) of every accepted match between `pos` and `endpos`."""
        for m in self.pattern(mask).finditer(text, pos, len(text) if endpos is None else endpos):
            hit = self.replacement(m)
            if hit is not None:
                yield m, hit[0], hit[1]

    def sub(self, text: str, counts: Counter[str] | None = None) -> str:
        """`text` with every match replaced by its rule's marker; `counts` gains one per replacement."""
        mask = self.candidates(text)
        if not mask:
            return text
        pieces: list[str] = []
        done = 0
        for m, name, token in self.matches(text, mask):
            pieces.append(text[done : m.start()])
            pieces.append(token)
            done = m.end()
            if counts is not None:
                counts[name] += 1
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)
