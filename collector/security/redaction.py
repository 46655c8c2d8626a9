"""Redaction of span content before it is made durable: secrets never reach the log or ClickHouse.

The ingest path calls `redact_rows` on normalised rows (in worker processes for large requests), so
a policy set must be cheap to send to a worker: `PolicySet` is a plain picklable value and the
compiled `Redactor` of a configuration is cached per process by the configuration's JSON.

Configuration, most specific first: rules set through the API for a project (stored in ClickHouse,
shared by every collector of a cluster, refreshed periodically and cached in the data directory so a
restart applies them before storage answers), then SPANSCOPE_REDACTION_FILE, then the built-ins.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import yaml
from pydantic import ValidationError
from spanscope.schemas.redaction import RedactionConfig, RedactionFile
from spanscope.schemas.redaction_rules import (
    BUILTIN_NAMES,
    BUILTIN_RULES,
    DIGIT_HINTS,
    Rule,
    RuleMatcher,
    custom_rule,
    digit_runs,
    marker,
    splice,
)

if TYPE_CHECKING:
    from spanscope.collector.normalize import ContentPatch
    from spanscope.collector.storage import Storage

log = logging.getLogger("spanscope.redaction")

# Shorter strings cannot hold any built-in match (the shortest, an e-mail, is 6 characters).
MIN_LENGTH = 6
# Strings up to this length that held nothing to redact are remembered (per configuration and
# process, at most CLEAN_MEMO_SIZE of them): service names, models, ids and stock prompts recur.
CLEAN_MEMO_CHARS = 256
CLEAN_MEMO_SIZE = 4096
TEXT_COLUMNS = ("input", "output", "documents", "events", "status_message", "guardrail_reason")
MAP_COLUMNS = ("attributes", "resource_attributes")


class Redactor:
    """The compiled rules of one configuration.

    Built-in rules are tried only in windows around their hints (a regex scan costs ~25-50 ns per
    character in CPython, a substring search well under 1 ns); overlapping windows are merged and scanned once
    with one alternation of the rules they concern (a `RuleMatcher` pattern, compiled per combination). Custom
    rules have no hints and scan the whole string, one by one (their groups and flags are their own).
    A window is not scanned for a rule when it lacks every character the rule `needs`.
    """

    def __init__(self, builtins: Iterable[Rule], custom: Iterable[Rule]) -> None:
        self.builtins = tuple(builtins)
        self._matcher = RuleMatcher(self.builtins)
        self.custom = tuple((r, re.compile(r.pattern)) for r in custom)
        # Hints are searched case-insensitively in a lowered copy: fewer substring searches than
        # testing every spelling, and a false hit only costs a regex scan of a small window.
        windows: dict[str, tuple[int, int, int]] = {}
        self._numbers, self._number_reach = 0, (0, 0)
        for i, r in enumerate(self.builtins):
            if r.hints is DIGIT_HINTS:
                self._numbers |= 1 << i
                self._number_reach = (max(self._number_reach[0], r.reach[0]), max(self._number_reach[1], r.reach[1]))
                continue
            for h in {h.lower() for h in r.hints}:
                bits, before, after = windows.get(h, (0, 0, 0))
                windows[h] = (bits | 1 << i, max(before, r.reach[0]), max(after, r.reach[1] + len(h)))
        # A hint containing another of the same rule is found through it ("api_key" through "key").
        for h in sorted(windows, key=len, reverse=True):
            inner = next((g for g in windows if g != h and g in h and windows[g][0] & windows[h][0]), None)
            if inner is not None:
                bits, before, after = windows.pop(h)
                b2, before2, after2 = windows[inner]
                windows[inner] = (b2 | bits, max(before2, before + len(h)), max(after2, after + len(h)))
        self._hints = tuple((h, *value) for h, value in windows.items())
        self._needs = tuple((1 << i, r.needs) for i, r in enumerate(self.builtins) if r.needs)
        self._clean: set[str] = set()

    @property
    def rule_names(self) -> list[str]:
        return [r.name for r in self.builtins] + [r.name for r, _ in self.custom]

    def _windows(self, text: str) -> list[tuple[int, int, int]]:
        """Merged (start, end, rule mask) ranges where some rule's hint occurs."""
        found: list[tuple[int, int, int]] = []
        n = len(text)
        if self._hints:
            low = text.lower()
            for h, bits, before, after in self._hints:
                if h in low:
                    p = low.find(h)
                    while p != -1:
                        found.append((max(0, p - before), min(n, p + after), bits))
                        p = low.find(h, p + 1)
        if self._numbers:
            before, after = self._number_reach
            for run_start, run_end in digit_runs(text):
                found.append((max(0, run_start - before), min(n, run_end + after), self._numbers))
        if len(found) < 2:
            return found
        found.sort()
        merged = [found[0]]
        for start, end, mask in found[1:]:
            s0, e0, m0 = merged[-1]
            if start <= e0:
                merged[-1] = (s0, max(e0, end), m0 | mask)
            else:
                merged.append((start, end, mask))
        return merged

    def text(self, text: str, counts: Counter[str]) -> str:
        if len(text) < MIN_LENGTH:
            return text
        memo = len(text) <= CLEAN_MEMO_CHARS
        if memo and text in self._clean:
            return text
        found = 0
        windows = self._windows(text)
        if windows:
            pieces: list[str] = []
            done = 0
            for start, end, mask in windows:
                for bit, needs in self._needs:
                    if mask & bit and all(text.find(c, start, end) < 0 for c in needs):
                        mask &= ~bit
                if not mask:
                    continue
                for m, name, token in self._matcher.matches(text, mask, max(start, done), end):
                    counts[name] += 1
                    pieces.append(text[done : m.start()])
                    pieces.append(token)
                    done = m.end()
            if pieces:
                found = 1
                pieces.append(text[done:])
                text = "".join(pieces)
        for rule, rx in self.custom:
            text, n = rx.subn(functools.partial(_replace, rule.name, counts), text)
            found += n
        if memo and not found:
            if len(self._clean) >= CLEAN_MEMO_SIZE:
                self._clean.clear()
            self._clean.add(text)
        return text

    def row(self, row: dict[str, Any], counts: Counter[str], done: set[int] | None = None) -> None:
        """Redacts one spans row in place; maps whose id() is in `done` were redacted already (the
        rows of one resource share their `resource_attributes`), those redacted now are added."""
        for col in TEXT_COLUMNS:
            value = row.get(col)
            if value and isinstance(value, str) and len(value) >= MIN_LENGTH:
                row[col] = self.text(value, counts)
        for col in MAP_COLUMNS:
            attrs = row.get(col)
            if attrs:
                if done is not None:
                    if id(attrs) in done:
                        continue
                    done.add(id(attrs))
                for k, v in attrs.items():
                    if isinstance(v, str) and len(v) >= MIN_LENGTH:
                        new = self.text(v, counts)
                        if new is not v:
                            attrs[k] = new


def _replace(name: str, counts: Counter[str], m: re.Match[str]) -> str:
    counts[name] += 1
    return splice(m, "v", marker(name))


@functools.lru_cache(maxsize=256)
def _compiled(config_json: str) -> Redactor | None:
    config = RedactionConfig.model_validate_json(config_json)
    builtins = [r for r in BUILTIN_RULES if config.builtins and r.name not in config.disabled_builtins]
    custom = [custom_rule(c.name, c.pattern, c.description) for c in config.custom_rules]
    if not builtins and not custom:
        return None
    return Redactor(builtins, custom)


def redactor_for(config: RedactionConfig) -> Redactor | None:
    return _compiled(config.model_dump_json())


@dataclass(frozen=True)
class PolicySet:
    """Every project's redaction configuration as JSON: picklable and cheap to send to a worker."""

    default: str = field(default_factory=lambda: RedactionConfig().model_dump_json())
    projects: dict[str, str] = field(default_factory=dict)

    def redactor(self, project: str) -> Redactor | None:
        return _compiled(self.projects.get(project, self.default))

    def __reduce__(self) -> tuple[type[PolicySet], tuple[str, dict[str, str]]]:
        """Rebuilt through __init__, so the compiled build of this module can unpickle it too."""
        return (PolicySet, (self.default, self.projects))


def redact_rows(rows: list[dict[str, Any]], policies: PolicySet) -> dict[str, int]:
    """Redacts spans rows in place; returns the number of replacements per rule."""
    counts: Counter[str] = Counter()
    project, redactor = None, None
    done: set[int] = set()  # the rows stay alive meanwhile, so an id() is not reused
    for row in rows:
        pid = row.get("project_id", "")
        if pid != project:
            project, redactor = pid, policies.redactor(pid)
            done = set()
        if redactor is not None:
            redactor.row(row, counts, done)
    return dict(counts)


def redact_patch(patch: ContentPatch, project: str, policies: PolicySet, counts: Counter[str]) -> None:
    """Content that arrived as log records, redacted like span content."""
    redactor = policies.redactor(project)
    if redactor is not None:
        patch.input = redactor.text(patch.input, counts)
        patch.output = redactor.text(patch.output, counts)


def load_file(path: Path | None) -> RedactionFile:
    """SPANSCOPE_REDACTION_FILE (YAML or JSON); ValueError with the file's name on any problem."""
    if path is None:
        return RedactionFile()
    try:
        doc = yaml.safe_load(path.read_text()) or {}
        parsed = RedactionFile.model_validate(doc)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ValueError(f"redaction file {path}: {exc}") from None
    for name, config in [("defaults", parsed.defaults), *parsed.projects.items()]:
        problem = config_problem(config)
        if problem:
            raise ValueError(f"redaction file {path}: {name}: {problem}")
    return parsed


def config_problem(config: RedactionConfig) -> str | None:
    """What is wrong with a configuration beyond its shape (unknown built-in names, bad patterns)."""
    unknown = sorted(set(config.disabled_builtins) - BUILTIN_NAMES)
    if unknown:
        return f"unknown built-in rule(s) {', '.join(unknown)}; known: {', '.join(sorted(BUILTIN_NAMES))}"
    clash = sorted({r.name for r in config.custom_rules} & BUILTIN_NAMES)
    if clash:
        return f"custom rule name(s) {', '.join(clash)} are built-in rule names"
    for r in config.custom_rules:
        try:
            custom_rule(r.name, r.pattern)
        except ValueError as exc:
            return str(exc)
    return None


class RedactionState:
    """The live configuration of a collector: the file's, overridden per project by the API's."""

    CACHE_NAME = "redaction_rules.json"

    def __init__(self, file: RedactionFile, cache_dir: Path | None = None) -> None:
        self.file = file
        self.cache_path = cache_dir / self.CACHE_NAME if cache_dir else None
        self._api: dict[str, RedactionConfig] = {}
        self._lock = threading.Lock()
        self.policies = PolicySet()
        self._load_cache()
        self._rebuild()

    def config(self, project: str) -> tuple[RedactionConfig, str]:
        """The project's configuration and its source: api, file or default."""
        if project in self._api:
            return self._api[project], "api"
        if project in self.file.projects:
            return self.file.projects[project], "file"
        return self.file.defaults, "default"

    def set_api(self, project: str, config: RedactionConfig | None) -> None:
        with self._lock:
            if config is None:
                self._api.pop(project, None)
            else:
                self._api[project] = config
            self._rebuild()

    def replace_api(self, configs: dict[str, RedactionConfig]) -> None:
        with self._lock:
            if configs != self._api:
                self._api = dict(configs)
                self._rebuild()

    def _rebuild(self) -> None:
        projects = {p: c.model_dump_json() for p, c in self.file.projects.items()}
        projects.update({p: c.model_dump_json() for p, c in self._api.items()})
        self.policies = PolicySet(self.file.defaults.model_dump_json(), projects)
        self._save_cache()

    def _load_cache(self) -> None:
        if self.cache_path is None or not self.cache_path.exists():
            return
        try:
            doc = orjson.loads(self.cache_path.read_bytes())
            self._api = {p: RedactionConfig.model_validate(c) for p, c in doc.items()}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable %s: %s", self.cache_path, exc)

    def _save_cache(self) -> None:
        if self.cache_path is None:
            return
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_bytes(orjson.dumps({p: c.model_dump() for p, c in self._api.items()}))
            tmp.replace(self.cache_path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.cache_path, exc)


def load_api_configs(storage: Storage) -> dict[str, RedactionConfig]:
    """The latest API configuration of every project (a deleted one falls back to the file)."""
    rows = storage.query(
        f"SELECT project_id, argMax(config, updated_at), argMax(deleted, updated_at) "
        f"FROM {storage.table('redaction_rules')} GROUP BY project_id"
    )
    out = {}
    for project, config, deleted in rows:
        if not deleted:
            try:
                out[str(project)] = RedactionConfig.model_validate_json(config)
            except ValidationError as exc:
                log.warning("ignoring stored redaction rules of %s: %s", project, exc)
    return out


def store_api_config(storage: Storage, project: str, config: RedactionConfig | None) -> None:
    row = {
        "project_id": project,
        "config": config.model_dump_json() if config else "",
        "deleted": 0 if config else 1,
        "updated_at": f"{time.time():.6f}",
    }
    storage.insert_json_rows("redaction_rules", orjson.dumps(row))


class RedactionRefresher:
    """Keeps the API-set rules in step with ClickHouse, where other collectors may change them."""

    def __init__(self, storage: Storage, state: RedactionState, interval_s: float = 10.0) -> None:
        self.storage = storage
        self.state = state
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._runner: threading.Thread | None = None

    def refresh(self) -> None:
        self.state.replace_api(load_api_configs(self.storage))

    def start(self) -> None:
        self._run_once(log.warning)
        self._runner = threading.Thread(target=self._loop, name="spanscope-redaction", daemon=True)
        self._runner.start()

    def _run_once(self, report: Callable[..., None]) -> None:
        try:
            self.refresh()
        except Exception as exc:  # storage hiccup: keep the rules we have, try again later
            report("cannot refresh redaction rules: %s", exc)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._run_once(log.debug)

    def stop(self) -> None:
        self._stop.set()
        if self._runner is not None:
            self._runner.join(timeout=5)
