"""Evaluator configuration: validation beyond the pydantic models (callables import, JSON Schemas are
valid), the YAML file (`SPANSCOPE_EVALUATORS_FILE`) and the per-project copy stored with the API.

A project's configuration is the one stored through `PUT /api/evaluators` if there is one, else the
file's (which applies to the project named in it, default: the collector's project).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import ValidationError
from spanscope.collector.evals.evaluators import EvaluatorError, resolve_callable, schema_validator
from spanscope.collector.storage import Storage
from spanscope.schemas.evals import EvaluatorConfig, EvaluatorsDocument

ENV_FILE = "SPANSCOPE_EVALUATORS_FILE"
TABLE = "evaluator_config"


class ConfigError(ValueError):
    """An evaluator configuration that cannot be used; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def validation_problems(exc: ValidationError) -> list[str]:
    """Pydantic errors as 'where: what' lines (`evaluators.1.params: ...`)."""
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        msg = str(e["msg"]).removeprefix("Value error, ")
        out.append(f"{where}: {msg}" if where else msg)
    return out


def check_document(doc: EvaluatorsDocument) -> EvaluatorsDocument:
    """Imports every python callable and checks every JSON Schema; ConfigError listing all problems."""
    problems: list[str] = []
    for name, schema in doc.schemas.items():
        try:
            schema_validator(schema)
        except EvaluatorError as exc:
            problems.append(f"schemas.{name}: {exc}")
    for i, e in enumerate(doc.evaluators):
        params = e.typed_params()
        try:
            if e.type == "python":
                resolve_callable(params.callable)
            elif e.type == "json_schema" and params.json_schema is not None:
                schema_validator(params.json_schema)
        except EvaluatorError as exc:
            problems.append(f"evaluators.{i} ({e.name}): {exc}")
    if problems:
        raise ConfigError(problems)
    return doc


def parse_document(data: Any) -> EvaluatorsDocument:
    """A configuration from parsed YAML/JSON, fully checked; ConfigError otherwise."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"the configuration must be a mapping with `evaluators`, got {type(data).__name__}"])
    try:
        doc = EvaluatorsDocument.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc)) from None
    return check_document(doc)


def load_file(path: Path) -> tuple[str | None, EvaluatorsDocument]:
    """(project named in the file or None, configuration). ConfigError names the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError([f"cannot read {path}: {exc.strerror or exc}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path} is not valid YAML: {str(exc).splitlines()[0]}"]) from None
    project = None
    if isinstance(data, dict) and "project" in data:
        data = dict(data)
        project = str(data.pop("project"))
    try:
        return project, parse_document(data)
    except ConfigError as exc:
        raise ConfigError([f"{path}: {p}" for p in exc.problems]) from None


def file_path(extra: dict[str, str]) -> Path | None:
    raw = extra.get("evaluators_file") or os.environ.get(ENV_FILE)
    return Path(raw) if raw else None


@dataclass(frozen=True)
class ProjectConfig:
    """The configuration in force for one project."""

    document: EvaluatorsDocument = field(default_factory=EvaluatorsDocument)
    source: Literal["api", "file", "none"] = "none"
    updated_at: str | None = None

    @property
    def active(self) -> list[EvaluatorConfig]:
        return [e for e in self.document.evaluators if e.enabled]


def read_stored(storage: Storage) -> dict[str, tuple[EvaluatorsDocument | None, str]]:
    """Latest stored configuration per project (None: deleted, the file applies again)."""
    rows = storage.query(
        f"SELECT project_id, argMax(document, version), toString(max(updated_at)) "
        f"FROM {storage.table(TABLE)} GROUP BY project_id"
    )
    out: dict[str, tuple[EvaluatorsDocument | None, str]] = {}
    for project, document, updated in rows:
        if not document:
            out[str(project)] = (None, str(updated))
            continue
        try:
            out[str(project)] = (EvaluatorsDocument.model_validate(orjson.loads(document)), str(updated))
        except (ValueError, ValidationError):
            continue  # written by an incompatible version; the file (if any) applies
    return out


def write_stored(storage: Storage, project: str, doc: EvaluatorsDocument | None) -> None:
    """A new version of the project's configuration; None removes it (the file applies again)."""
    document = doc.model_dump_json(by_alias=True) if doc is not None else ""
    row = {"project_id": project, "version": time.time_ns(), "document": document}
    storage.insert_json_rows(TABLE, orjson.dumps(row))
