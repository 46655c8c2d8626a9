"""The alerts file (`SPANSCOPE_ALERTS_FILE`): alert rules as YAML or JSON, kept in version control.

Shape: a list of rules, or `{rules: [...]}`; each rule has the fields of the API's rule body, with
`id` accepted for `rule_id`. A rule without an id gets one from its name, so editing a rule in the
file updates it instead of adding another.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from spanscope.schemas.alerts import AlertRuleIn


class AlertFileError(ValueError):
    """The file cannot be read or holds an invalid rule; the message names the file and the rule."""


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-.").lower()
    return s[:100] or "rule"


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err.get("loc", ()))
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_rules(data: Any, where: str) -> list[AlertRuleIn]:
    """Rules from already-parsed YAML/JSON (the file, or a CLI --file)."""
    if isinstance(data, dict) and "rules" in data:
        data = data["rules"]
    elif isinstance(data, dict):
        data = [data]
    if data is None:
        return []
    if not isinstance(data, list):
        raise AlertFileError(f"{where}: expected a list of rules or {{rules: [...]}}")
    rules: list[AlertRuleIn] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        label = f"{where}: rule {i + 1}"
        if not isinstance(item, dict):
            raise AlertFileError(f"{label}: expected a mapping of rule fields")
        item = dict(item)
        if "id" in item:
            item["rule_id"] = item.pop("id")
        if item.get("name"):
            label += f" ({item['name']})"
        try:
            rule = AlertRuleIn.model_validate(item)
        except ValidationError as exc:
            raise AlertFileError(f"{label}: {validation_message(exc)}") from None
        rid = rule.rule_id or slug(rule.name)
        if rid in seen:
            raise AlertFileError(f"{label}: duplicate id {rid!r}")
        seen.add(rid)
        rules.append(rule.model_copy(update={"rule_id": rid}))
    return rules


def load_rules_file(path: Path) -> list[AlertRuleIn]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise AlertFileError(f"cannot read the alerts file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AlertFileError(f"{path} is not valid YAML/JSON: {str(exc).splitlines()[0]}") from None
    return parse_rules(data, str(path))
