"""Token prices by model-name pattern and effective date, and the cost of a call.

The shipped table is `schemas/prices.json` (USD per 1M tokens, dated, compiled from the providers'
public pricing pages; users should verify it). A user file (JSON or YAML, same shape, via
`PriceTable.load(extra)`) is consulted first, so its entries take precedence.

File shape::

    {"prices": [
      {"model": "gpt-4o-mini*", "provider": "openai", "effective_from": "2024-07-18",
       "input": 0.15, "output": 0.60, "cache_read": 0.075, "cache_write": null, "reasoning": null}
    ]}

(a bare list of entries is accepted too). `model` is a case-insensitive glob (`*`, `?`, `[...]`),
or an anchored regular expression when it starts with `^` (matched against the whole name).
`provider` is optional. `cache_read` / `cache_write` default to the input price, `reasoning` to the
output price.

Lookup for (model, provider, day):
1. the model name is reduced to its bare form: lower case, without a routing prefix
   (`openai/gpt-4o`, `models/gemini-1.5-pro`), Bedrock region/vendor prefixes and version suffix
   (`us.anthropic.claude-3-5-sonnet-20240620-v1:0`) or Vertex `@` dates;
2. user entries come before shipped ones; within each, the pattern with the longest literal prefix
   wins (so `gpt-4o-mini*` beats `gpt-4o*`), then file order;
3. entries whose provider is the span's provider (or that name no provider) are preferred; when
   none matches, any provider's price for that model is used (Azure, Bedrock, gateways);
4. of that pattern's entries, the newest whose `effective_from` <= the day is used; a pattern with
   no entry in effect yet falls through to the next one.
Results are cached per (model, provider, day).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_NS_PER_DAY = 86_400 * 1_000_000_000
PER_MILLION = 1_000_000.0


@dataclass(frozen=True, slots=True)
class Price:
    """One dated price; the per-token fields are USD per token (the files hold USD per 1M)."""

    model: str
    provider: str
    effective_from: date
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None
    reasoning: float | None = None
    source: str = ""

    def cost(
        self,
        input_tokens: int,
        output_tokens: int,
        cache_read: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
    ) -> float:
        """Input includes cached tokens and output includes reasoning tokens (OTel GenAI counting)."""
        inp = self.input
        uncached = input_tokens - cache_read - cache_write
        if uncached < 0:
            uncached = 0
        total = uncached * inp
        if cache_read:
            total += cache_read * (inp if self.cache_read is None else self.cache_read)
        if cache_write:
            total += cache_write * (inp if self.cache_write is None else self.cache_write)
        r = reasoning if reasoning < output_tokens else output_tokens
        if r < 0:
            r = 0
        total += (output_tokens - r) * self.output
        if r:
            total += r * (self.output if self.reasoning is None else self.reasoning)
        return total


class _Group:
    """The entries of one (pattern, provider), newest first."""

    __slots__ = ("entries", "match", "order", "pattern", "provider", "specificity", "user")

    def __init__(self, pattern: str, provider: str, user: bool, order: int) -> None:
        self.pattern = pattern
        self.provider = provider
        self.user = user
        self.order = order
        self.match = _matcher(pattern)
        self.specificity = _literal_prefix_len(pattern)
        self.entries: list[tuple[int, Price]] = []


def _matcher(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("^"):
        rx = re.compile(pattern, re.IGNORECASE)
        return lambda name: rx.fullmatch(name) is not None
    low = pattern.lower()
    if not any(ch in low for ch in "*?["):
        return lambda name: name == low
    rx = re.compile(fnmatch.translate(low))
    return lambda name: rx.match(name) is not None


_REGEX_META = set(".^$*+?{}[]|()")


def _literal_prefix_len(pattern: str) -> int:
    """Characters before the first wildcard: how specific a pattern is."""
    if not pattern.startswith("^"):
        for i, ch in enumerate(pattern):
            if ch in "*?[":
                return i
        return len(pattern) + 1  # an exact name beats any pattern it shares a prefix with
    n = 0
    i = 1
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 < len(pattern) and not pattern[i + 1].isalnum():
                n += 1
                i += 2
                continue
            break
        if ch in _REGEX_META:
            break
        n += 1
        i += 1
    return n


_ROUTE_PREFIX = re.compile(r"^(?:us|eu|apac|au|jp|global)\.")
_VENDOR_PREFIX = re.compile(r"^(?:anthropic|meta|mistral|cohere|amazon|ai21|deepseek|openai|google|qwen)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")


def bare_model(model: str) -> str:
    """The model name as price patterns see it (see the module docstring)."""
    s = model.strip().lower()
    if "/" in s:
        s = s.rsplit("/", 1)[1]
    if "." in s:
        s = _ROUTE_PREFIX.sub("", s)
        s = _VENDOR_PREFIX.sub("", s)
    if s.endswith(("0", "1", "2")) and "-v" in s:
        s = _BEDROCK_VERSION.sub("", s)
    if "@" in s:
        s = s.replace("@", "-")
    return s


class PriceTable:
    """Dated per-token prices; `cost` is what the normaliser calls for spans without a cost."""

    def __init__(self, entries: Iterable[Price] = (), user_entries: Iterable[Price] = (), compiled_at: str = ""):
        self.compiled_at = compiled_at
        groups: dict[tuple[bool, str, str], _Group] = {}
        for user, items in ((True, user_entries), (False, entries)):
            for p in items:
                key = (user, p.model, p.provider)
                g = groups.get(key)
                if g is None:
                    g = groups[key] = _Group(p.model, p.provider, user, len(groups))
                g.entries.append((p.effective_from.toordinal() - _EPOCH_ORDINAL, p))
        for g in groups.values():
            g.entries.sort(key=lambda e: e[0], reverse=True)
        self._groups = sorted(groups.values(), key=lambda g: (not g.user, -g.specificity, g.order))
        self._cache: dict[tuple[str, str, int], Price | None] = {}

    # --- construction ------------------------------------------------------------------------------

    @classmethod
    def load(cls, extra: Path | None = None) -> PriceTable:
        """The shipped table, plus the user file `extra` (JSON or YAML) whose entries win.

        Raises ValueError naming the file and the problem when `extra` cannot be used."""
        text = resources.files("spanscope.schemas").joinpath("prices.json").read_text("utf-8")
        doc = json.loads(text)
        builtin = parse_entries(doc, "schemas/prices.json")
        user: list[Price] = []
        if extra is not None:
            user = parse_entries(_read_file(Path(extra)), str(extra))
        return cls(builtin, user, compiled_at=str(doc.get("compiled_at", "")) if isinstance(doc, dict) else "")

    @classmethod
    def from_dicts(cls, items: Any, user_items: Any = None) -> PriceTable:
        """A table from in-memory entries (file shape), mostly for tests and embedding."""
        user = parse_entries(user_items, "<user prices>") if user_items is not None else []
        return cls(parse_entries(items, "<prices>"), user)

    # --- lookup ------------------------------------------------------------------------------------

    def lookup(self, model: str, provider: str = "", at: date | datetime | None = None) -> Price | None:
        """The price in effect for `model` on the day of `at` (default: today, UTC)."""
        return self._lookup(model, provider, _day_number(at))

    def _lookup(self, model: str, provider: str, day: int) -> Price | None:
        key = (model, provider, day)
        cache = self._cache
        if key in cache:
            return cache[key]
        found = self._search(bare_model(model), provider.lower(), day)
        if len(cache) > 50_000:
            cache.clear()
        cache[key] = found
        return found

    def _search(self, name: str, provider: str, day: int) -> Price | None:
        if not name:
            return None
        matching = [g for g in self._groups if g.match(name)]
        if not matching:
            return None
        passes = (
            [g for g in matching if not g.provider or g.provider == provider] if provider else matching,
            matching,
        )
        for groups in passes:
            for g in groups:
                for eff, price in g.entries:
                    if eff <= day:
                        return price
        return None

    def cost(
        self,
        model: str,
        provider: str,
        input_tokens: int,
        output_tokens: int,
        cache_read: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
        at: date | datetime | None = None,
    ) -> float | None:
        """USD for one call, or None when no price is known for the model on that day."""
        price = self._lookup(model, provider, _day_number(at))
        if price is None:
            return None
        return price.cost(input_tokens, output_tokens, cache_read, cache_write, reasoning)

    def cost_at_ns(
        self,
        model: str,
        provider: str,
        input_tokens: int,
        output_tokens: int,
        cache_read: int,
        cache_write: int,
        reasoning: int,
        time_ns: int,
    ) -> float | None:
        """`cost` for a span start time in Unix nanoseconds (the normaliser's fast path)."""
        price = self._lookup(model, provider, time_ns // _NS_PER_DAY)
        if price is None:
            return None
        return price.cost(input_tokens, output_tokens, cache_read, cache_write, reasoning)

    def __len__(self) -> int:
        return sum(len(g.entries) for g in self._groups)


def _day_number(at: date | datetime | None) -> int:
    if at is None:
        at = datetime.now(UTC)
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(UTC)
        at = at.date()
    return at.toordinal() - _EPOCH_ORDINAL


# --- files ---------------------------------------------------------------------------------------------


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"price file {path}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ValueError(f"price file {path}: is not UTF-8 text") from exc
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return _yaml(text, path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if suffix == ".json":
            raise ValueError(f"price file {path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        return _yaml(text, path)


def _yaml(text: str, path: Path) -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is a server dependency
        raise ValueError(f"price file {path}: YAML needs the pyyaml package (or use JSON)") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"price file {path}: invalid YAML: {exc}") from exc


_FIELDS = frozenset(
    {
        "model",
        "provider",
        "effective_from",
        "input",
        "output",
        "cache_read",
        "cache_write",
        "reasoning",
        "note",
    }
)


def parse_entries(doc: Any, source: str) -> list[Price]:
    """Validated entries of a price document; ValueError names `source` and the entry at fault."""
    items = doc.get("prices") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ValueError(f"price file {source}: expected a list of entries or an object with a 'prices' list")
    out: list[Price] = []
    for i, item in enumerate(items, 1):
        where = f"price file {source}: entry {i}"
        if not isinstance(item, dict):
            raise ValueError(f"{where}: must be an object, got {type(item).__name__}")
        model = item.get("model")
        if not isinstance(model, str) or not model.strip():
            raise ValueError(f"{where}: 'model' must be a non-empty string (a glob or a regex starting with ^)")
        where = f"{where} ({model})"
        unknown = set(item) - _FIELDS
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if model.startswith("^"):
            try:
                re.compile(model)
            except re.error as exc:
                raise ValueError(f"{where}: invalid regular expression: {exc}") from exc
        provider = item.get("provider") or ""
        if not isinstance(provider, str):
            raise ValueError(f"{where}: 'provider' must be a string")
        eff = item.get("effective_from", "1970-01-01")
        if isinstance(eff, datetime):
            eff_date = eff.date()
        elif isinstance(eff, date):
            eff_date = eff
        else:
            try:
                eff_date = date.fromisoformat(str(eff))
            except ValueError as exc:
                raise ValueError(f"{where}: 'effective_from' must be a date YYYY-MM-DD, got {eff!r}") from exc
        prices: dict[str, float | None] = {}
        for field in ("input", "output", "cache_read", "cache_write", "reasoning"):
            v = item.get(field)
            if v is None:
                if field in ("input", "output"):
                    raise ValueError(f"{where}: '{field}' (USD per 1M tokens) is required")
                prices[field] = None
                continue
            if isinstance(v, bool) or not isinstance(v, int | float) or v < 0 or v != v:
                raise ValueError(f"{where}: '{field}' must be a non-negative number (USD per 1M tokens), got {v!r}")
            prices[field] = float(v) / PER_MILLION
        out.append(
            Price(
                model=model.strip(),
                provider=provider.strip().lower(),
                effective_from=eff_date,
                input=prices["input"] or 0.0,
                output=prices["output"] or 0.0,
                cache_read=prices["cache_read"],
                cache_write=prices["cache_write"],
                reasoning=prices["reasoning"],
                source=source,
            )
        )
    return out
