"""Redaction configuration: which rules a project applies to span content before it is stored."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from spanscope.schemas.redaction_rules import pattern_problem

RULE_NAME = r"^[a-z][a-z0-9_]{0,47}$"


class CustomRedactionRule(BaseModel):
    """A project's own pattern; matches are replaced by `[REDACTED:<name>]` (only the named group
    `v` when the pattern has one, so `employee=(?P<v>\\d+)` keeps its key)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=RULE_NAME, description="lowercase name shown in the marker and in metrics")
    pattern: str = Field(min_length=1, max_length=2000, description="Python regular expression")
    description: str = Field(default="", max_length=500)

    @field_validator("pattern")
    @classmethod
    def _usable(cls, value: str) -> str:
        problem = pattern_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class RedactionConfig(BaseModel):
    """One project's redaction: the built-in rules (all, or all but some) and custom rules."""

    model_config = ConfigDict(extra="forbid")

    builtins: bool = Field(default=True, description="apply the built-in rules")
    disabled_builtins: list[str] = Field(
        default_factory=list, max_length=50, description="built-in rules to skip (names from GET /api/redaction)"
    )
    custom_rules: list[CustomRedactionRule] = Field(default_factory=list, max_length=100)

    @field_validator("custom_rules")
    @classmethod
    def _unique_names(cls, rules: list[CustomRedactionRule]) -> list[CustomRedactionRule]:
        names = [r.name for r in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"custom rule names must be unique: {', '.join(dupes)}")
        return rules


class RedactionFile(BaseModel):
    """The SPANSCOPE_REDACTION_FILE document (YAML or JSON)."""

    model_config = ConfigDict(extra="forbid")

    defaults: RedactionConfig = Field(default_factory=lambda: RedactionConfig(), description="projects not listed")
    projects: dict[str, RedactionConfig] = Field(default_factory=dict)


class BuiltinRule(BaseModel):
    name: str
    description: str
    enabled: bool


class RedactionView(BaseModel):
    """A project's redaction as the collector applies it, and where the configuration comes from."""

    project: str
    source: Literal["api", "file", "default"]
    config: RedactionConfig
    builtin_rules: list[BuiltinRule]


class RedactionPreviewRequest(BaseModel):
    text: str = Field(max_length=1_000_000)


class RedactionPreview(BaseModel):
    text: str
    redactions: dict[str, int]
