"""Built-in checks of a replayed output against an item's expected output, each a score in [0, 1].

A check that has nothing to compare with (no expected output, no schema) is left out rather than
scored, so means count only the items it applies to.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Final

import orjson
from jsonschema import exceptions as schema_errors
from jsonschema import validators

CHECKS: Final = ("exact", "contains", "json_schema", "similarity")
DEFAULT_CHECKS: Final = ("exact", "contains", "json_schema", "similarity")
# An item passes a check at or above this score.
PASS_MARK: Final = {"exact": 1.0, "contains": 1.0, "json_schema": 1.0, "similarity": 0.8}


@dataclass(frozen=True)
class CheckResult:
    name: str
    score: float
    reason: str


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _squash(text: str) -> str:
    return " ".join(text.split())


def _as_json(value: Any) -> tuple[bool, Any]:
    if not isinstance(value, str):
        return True, value
    try:
        return True, orjson.loads(value)
    except orjson.JSONDecodeError:
        return False, None


def exact(output: Any, expected: Any) -> CheckResult | None:
    """Equal after trimming whitespace; structured expected outputs compare as parsed JSON."""
    if expected is None:
        return None
    if isinstance(expected, dict | list):
        ok, parsed = _as_json(output)
        same = ok and parsed == expected
    else:
        same = _squash(as_text(output)) == _squash(as_text(expected))
    return CheckResult("exact", 1.0 if same else 0.0, "equal" if same else "differs from the expected output")


def contains(output: Any, expected: Any, metadata: dict[str, Any]) -> CheckResult | None:
    """The share of needles found, case-insensitively: metadata `contains` list, else the expected text."""
    needles = metadata.get("contains")
    if not isinstance(needles, list) or not needles:
        if not isinstance(expected, str) or not expected.strip():
            return None
        needles = [expected]
    text = _squash(as_text(output)).lower()
    missing = [str(n) for n in needles if _squash(str(n)).lower() not in text]
    score = 1.0 - len(missing) / len(needles)
    return CheckResult(
        "contains", score, "all found" if not missing else "missing: " + "; ".join(m[:80] for m in missing)
    )


def json_schema(
    output: Any, expected: Any, metadata: dict[str, Any], schema: dict[str, Any] | None
) -> CheckResult | None:
    """The output is JSON valid against the item's `json_schema` metadata or the run's schema; with no
    schema but a structured expected output, the output must at least be JSON."""
    schema = metadata.get("json_schema") if isinstance(metadata.get("json_schema"), dict) else schema
    if schema is None and not isinstance(expected, dict | list):
        return None
    ok, parsed = _as_json(output)
    if not ok:
        return CheckResult("json_schema", 0.0, "output is not JSON")
    if schema is None:
        return CheckResult("json_schema", 1.0, "output is JSON")
    validator = validators.validator_for(schema)(schema)
    error = schema_errors.best_match(validator.iter_errors(parsed))
    if error is None:
        return CheckResult("json_schema", 1.0, "valid")
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return CheckResult("json_schema", 0.0, f"{where}: {error.message}"[:300])


def similarity(output: Any, expected: Any) -> CheckResult | None:
    """Character-level similarity ratio (difflib) of the whitespace-collapsed, lower-cased texts."""
    if expected is None or expected == "":
        return None
    a, b = _squash(as_text(output)).lower(), _squash(as_text(expected)).lower()
    ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    return CheckResult("similarity", round(ratio, 4), f"{ratio:.2f} similar to the expected output")


def check_schema(schema: dict[str, Any]) -> None:
    """Raises jsonschema's SchemaError for a schema that is not one."""
    validators.validator_for(schema).check_schema(schema)


def run_checks(
    names: tuple[str, ...] | list[str],
    output: Any,
    expected: Any,
    metadata: dict[str, Any],
    schema: dict[str, Any] | None = None,
    failed: bool = False,
) -> list[CheckResult]:
    """The applicable checks of `names`; when the target `failed`, each applicable check scores 0."""
    results: list[CheckResult] = []
    for name in names:
        if name == "exact":
            r = exact(output, expected)
        elif name == "contains":
            r = contains(output, expected, metadata)
        elif name == "json_schema":
            r = json_schema(output, expected, metadata, schema)
        elif name == "similarity":
            r = similarity(output, expected)
        else:
            raise ValueError(f"unknown check {name!r}; choose from {', '.join(CHECKS)}")
        if r is not None:
            results.append(CheckResult(name, 0.0, "the target raised") if failed else r)
    return results
