"""Dialect rules and the per-layout plan that applies them.

Each dialect module declares a `DIALECT`: simple *rules* (a column or fact, the keys that carry it
in priority order, a converter) and *handlers* for what needs code (messages, documents, guardrail
verdicts, metadata), each with the keys or key prefixes that trigger it, plus *hints*: keys whose
mere presence says something about the span kind.

A span's attribute keys, as a tuple, select a `Plan` compiled once and cached: the rules'
chains reduced to the keys the span has (dialects in priority order, so our keys come first, then
OTel GenAI, OpenInference, Traceloop, OpenLIT, frameworks), the handlers that fire, and the hints.
Spans of one instrumentation share a key layout, so a span only pays for the keys it has, not for
every key every dialect knows; a layout that recurs gets straight-line generated code.

Applying a rule: the first key whose value converts wins and is popped; later keys of the chain
whose value converts to the same thing are popped as duplicates; the others stay in `attributes`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .canon import text, to_count, to_float

Converter = Callable[[Any], Any]
# (rest, facts, row, data): `data` is what the handler's `prepare` made, once per layout, of the
# span keys its `select` accepted (the selected keys themselves without `prepare`; () without
# `select`).
HandlerFn = Callable[[dict[str, Any], dict[str, Any], dict[str, Any], Any], None]


@dataclass(frozen=True)
class Rule:
    """`name` is a column of the row (`column=True`) or a fact; `keys` in priority order."""

    name: str
    keys: tuple[str, ...]
    convert: Converter
    column: bool = True


def column(name: str, keys: Iterable[str], convert: Converter) -> Rule:
    return Rule(name, tuple(keys), convert, True)


def fact(name: str, keys: Iterable[str], convert: Converter) -> Rule:
    return Rule(name, tuple(keys), convert, False)


@dataclass(frozen=True)
class Handler:
    """Code for keys that need more than a conversion. It runs when one of `keys` is present or
    one of the span's keys starts with one of `prefixes` (with `indexed`, only keys shaped
    `<prefix><digits>.<field>`, such as llm.input_messages.0.message.role); those keys are passed
    to it, through `prepare` when given (once per layout)."""

    fn: HandlerFn
    keys: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    indexed: bool = False
    prepare: Callable[[tuple[str, ...]], Any] | None = None

    def selected(self, keys: Iterable[str]) -> tuple[str, ...]:
        if not self.prefixes:
            return ()
        out = [k for k in keys if k.startswith(self.prefixes)]
        if self.indexed:
            out = [k for k in out if _is_indexed(k, self.prefixes)]
        return tuple(out)


def cost_parts(input_key: str, output_key: str) -> Handler:
    """A dialect's input and output cost attributes, taken unless the span already gave its cost
    (so a total is never counted twice)."""

    def handle(rest: dict[str, Any], f: dict[str, Any], row: dict[str, Any], keys: Any) -> None:
        if "cost" in f or "cost_input" in f or "cost_output" in f:
            return
        for key, name in ((input_key, "cost_input"), (output_key, "cost_output")):
            value = to_float(rest.get(key))
            if value is not None:
                f[name] = value
                del rest[key]

    return Handler(handle, frozenset({input_key, output_key}))


def _is_indexed(k: str, prefixes: tuple[str, ...]) -> bool:
    for p in prefixes:
        if k.startswith(p):
            rest = k[len(p) :]
            i = rest.find(".")
            return i > 0 and rest[:i].isdigit()
    return False


@dataclass(frozen=True)
class Dialect:
    name: str
    rules: tuple[Rule, ...] = ()
    handlers: tuple[Handler, ...] = ()
    hints: dict[str, str] = field(default_factory=dict)  # key → hint (guardrail, retrieval, ...)
    hint_prefixes: tuple[tuple[str, str], ...] = ()  # (prefix, hint)


Runner = Callable[[tuple[str, ...], tuple[Any, ...], dict[str, Any], dict[str, Any], dict[str, Any]], None]
_UINT64_MAX = (1 << 64) - 1


class Plan:
    """What to do for one attribute-key layout. Rules refer to keys by position in the layout, so
    applying them reads the span's own key objects (no string comparisons in dict lookups).
    `run` interprets the plan until the layout has been seen `Planner.hot` times; then it is
    replaced by straight-line code generated for the layout."""

    __slots__ = ("col1", "fact1", "handlers", "hints", "multi", "run", "uses")

    def __init__(
        self,
        col1: tuple[tuple[str, int, Converter], ...],
        fact1: tuple[tuple[str, int, Converter], ...],
        multi: tuple[tuple[bool, str, tuple[tuple[int, Converter], ...]], ...],
        handlers: tuple[tuple[HandlerFn, Any], ...],
        hints: frozenset[str],
    ) -> None:
        self.col1 = col1  # (column, key position, converter): one key of the chain present
        self.fact1 = fact1
        self.multi = multi  # (is_column, name, ((key position, converter), ...)): several present
        self.handlers = handlers
        self.hints = hints
        self.uses = 0
        self.run: Runner = self.interpret

    def interpret(
        self,
        keys: tuple[str, ...],
        values: tuple[Any, ...],
        rest: dict[str, Any],
        f: dict[str, Any],
        row: dict[str, Any],
    ) -> None:
        for target, rules in ((row, self.col1), (f, self.fact1)):
            for name, i, conv in rules:
                v = conv(values[i])
                if v is not None:
                    target[name] = v
                    del rest[keys[i]]
        for is_column, name, chain in self.multi:
            _chain(row if is_column else f, name, chain, keys, values, rest)
        for fn, data in self.handlers:
            fn(rest, f, row, data)


def _chain(
    target: dict[str, Any],
    name: str,
    chain: tuple[tuple[int, Converter], ...],
    keys: tuple[str, ...],
    values: tuple[Any, ...],
    rest: dict[str, Any],
) -> None:
    """Several keys of one chain are present: the first usable wins, equal ones are duplicates."""
    won = None
    for i, conv in chain:
        v = conv(values[i])
        if v is None:
            continue
        if won is None:
            won = v
            target[name] = v
            del rest[keys[i]]
        elif v == won:
            del rest[keys[i]]


def generate(plan: Plan) -> Runner:
    """`run(keys, values, rest, facts, row)` for the plan, as generated Python. Only positions,
    repr()'d column/fact names and references to known objects enter the source."""
    env: dict[str, Any] = {"text": text, "to_count": to_count, "chain": _chain, "UINT64_MAX": _UINT64_MAX}
    lines = ["def run(keys, values, rest, f, row):"]

    def single(target: str, name: str, i: int, conv: Converter, n: int) -> None:
        lines.append(f"    v = values[{i}]")
        if conv is text:  # inline the common conversions: a non-empty string, a count
            lines.append("    if type(v) is not str or not v:")
            lines.append("        v = text(v)")
        elif conv is to_count:
            lines.append("    if type(v) is not int or not 0 <= v <= UINT64_MAX:")
            lines.append("        v = to_count(v)")
        else:
            env[f"c{n}"] = conv
            lines.append(f"    v = c{n}(v)")
        lines.append("    if v is not None:")
        lines.append(f"        {target}[{name!r}] = v")
        lines.append(f"        del rest[keys[{i}]]")

    n = 0
    for name, i, conv in plan.col1:
        single("row", name, i, conv, n)
        n += 1
    for name, i, conv in plan.fact1:
        single("f", name, i, conv, n)
        n += 1
    for m, (is_column, name, chain) in enumerate(plan.multi):
        env[f"m{m}"] = chain
        lines.append(f"    chain({'row' if is_column else 'f'}, {name!r}, m{m}, keys, values, rest)")
    for h, (fn, data) in enumerate(plan.handlers):
        env[f"h{h}"] = fn
        env[f"d{h}"] = data
        lines.append(f"    h{h}(rest, f, row, d{h})")
    if len(lines) == 1:
        lines.append("    pass")
    exec("\n".join(lines), env)  # source built from positions and our own names only
    run: Runner = env["run"]
    return run


class Planner:
    """Plans by key layout, cached (bounded: cleared when it holds `max_plans`).

    Compiling a layout costs one index lookup per key (the dialects' rules and handlers are indexed
    by key up front); a layout seen `hot` times gets generated code, so spans whose key sets are
    all different (unique metadata keys, growing message lists) stay cheap too."""

    def __init__(self, dialects: Iterable[Dialect], max_plans: int = 8192, hot: int = 8) -> None:
        self.dialects = tuple(dialects)
        self.max_plans = max_plans
        self.hot = hot
        self._plans: dict[tuple[str, ...], Plan] = {}
        # key → rules it feeds: (priority, is_column, name, converter); priority = dialect order,
        # then rule order, then position in the rule's key chain. A key appears once per target.
        self._rules: dict[str, list[tuple[int, bool, str, Converter]]] = {}
        self._handlers: list[Handler] = []
        self._handler_keys: dict[str, list[int]] = {}
        self._select: list[int] = []
        self._hint_keys: dict[str, str] = {}
        self._hint_prefixes: list[tuple[str, str]] = []
        seen: set[tuple[bool, str, str]] = set()
        priority = 0
        for d in self.dialects:
            for r in d.rules:
                for k in r.keys:
                    if (r.column, r.name, k) not in seen:
                        seen.add((r.column, r.name, k))
                        self._rules.setdefault(k, []).append((priority, r.column, r.name, r.convert))
                    priority += 1
            for h in d.handlers:
                index = len(self._handlers)
                self._handlers.append(h)
                for k in h.keys:
                    self._handler_keys.setdefault(k, []).append(index)
                if h.prefixes:
                    self._select.append(index)
            for k, hint in d.hints.items():
                self._hint_keys.setdefault(k, hint)
            self._hint_prefixes.extend(d.hint_prefixes)
        # one lookup per key at compile time: key → (rules, handler indexes, hint)
        self._index: dict[str, tuple[tuple[tuple[int, bool, str, Converter], ...], tuple[int, ...], str | None]] = {
            k: (tuple(self._rules.get(k, ())), tuple(self._handler_keys.get(k, ())), self._hint_keys.get(k))
            for k in {*self._rules, *self._handler_keys, *self._hint_keys}
        }
        self._prefixes = tuple({*(p for h in self._handlers for p in h.prefixes), *(p for p, _ in self._hint_prefixes)})

    def plan(self, keys: tuple[str, ...]) -> Plan:
        p = self._plans.get(keys)
        if p is None:
            p = self.compile(keys)
            if len(self._plans) >= self.max_plans:
                self._plans.clear()
            self._plans[keys] = p
        else:
            p.uses += 1
            if p.uses == self.hot:
                p.run = generate(p)
        return p

    def compile(self, keys: tuple[str, ...]) -> Plan:
        chains: dict[tuple[bool, str], list[tuple[int, int, Converter]]] = {}
        fired: set[int] = set()
        hints: set[str] = set()
        key_index = self._index
        for pos, k in enumerate(keys):
            entry = key_index.get(k)
            if entry is None:
                continue
            rules, handlers_, hint = entry
            for priority, is_column, name, conv in rules:
                chains.setdefault((is_column, name), []).append((priority, pos, conv))
            if handlers_:
                fired.update(handlers_)
            if hint is not None:
                hints.add(hint)
        selected: dict[int, tuple[str, ...]] = {}
        prefixed = [k for k in keys if k.startswith(self._prefixes)] if self._prefixes else []
        if prefixed:
            for index in self._select:
                sel = self._handlers[index].selected(prefixed)
                if sel:
                    selected[index] = sel
                    fired.add(index)
            for prefix, hint in self._hint_prefixes:
                if any(k.startswith(prefix) for k in prefixed):
                    hints.add(hint)
        col1: list[tuple[str, int, Converter]] = []
        fact1: list[tuple[str, int, Converter]] = []
        multi: list[tuple[bool, str, tuple[tuple[int, Converter], ...]]] = []
        for (is_column, name), chain in chains.items():
            if len(chain) == 1:
                (col1 if is_column else fact1).append((name, chain[0][1], chain[0][2]))
            else:
                chain.sort(key=lambda c: c[0])
                multi.append((is_column, name, tuple((pos, conv) for _, pos, conv in chain)))
        handlers = []
        for index in sorted(fired):
            h = self._handlers[index]
            sel = selected.get(index, ())
            handlers.append((h.fn, h.prepare(sel) if h.prepare is not None else sel))
        return Plan(tuple(col1), tuple(fact1), tuple(multi), tuple(handlers), frozenset(hints))
