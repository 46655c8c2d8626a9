"""The dataset, hard-example and eval-run endpoints as the Datasets and Hard examples pages use them.

Reads go through `api.get_json` (cached like every other read); writes and export downloads go
through `api.send` (never cached; a write clears the read cache, so the page shows the new version
at once).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel
from spanscope.dashboard import api
from spanscope.schemas.datasets import (
    ChangeResult,
    DatasetDetail,
    DatasetItems,
    DatasetList,
    EvalRunDetail,
    EvalRunList,
    HardExampleList,
    RunComparison,
)


def value_text(value: Any, indent: int | None = None) -> str:
    """An input or expected output as a reviewer reads and edits it (the inverse of `typed_value`)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, indent=indent, ensure_ascii=False)


def typed_value(text: str) -> Any:
    """What a reviewer typed as an expected output: JSON when it is a JSON object or array, None
    when empty, else the text."""
    stripped = text.strip()
    if not stripped:
        return None
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return text
    return text

M = TypeVar("M", bound=BaseModel)


def _get(model: type[M], path: str, params: list[tuple[str, Any]] | None = None) -> M:
    return api.parse(model, path, api.get_json(path, params or []))


def _change(method: str, path: str, body: Any = None) -> ChangeResult:
    return api.parse(ChangeResult, path, api.send(method, path, body).json())


def ds_path(name: str, suffix: str = "") -> str:
    return f"/api/datasets/{quote(name, safe='')}{suffix}"


def datasets() -> DatasetList:
    return _get(DatasetList, "/api/datasets")


def dataset(name: str) -> DatasetDetail:
    return _get(DatasetDetail, ds_path(name))


def items(name: str, version: int | None = None) -> DatasetItems:
    return _get(DatasetItems, ds_path(name, "/items"), [("version", version)])


def create(name: str, description: str) -> ChangeResult:
    return _change("POST", "/api/datasets", {"name": name, "description": description})


def add_items(name: str, new_items: list[dict[str, Any]], message: str = "") -> ChangeResult:
    return _change("POST", ds_path(name, "/items"), {"items": new_items, "message": message})


def add_from_filter(name: str, body: dict[str, Any]) -> ChangeResult:
    return _change("POST", ds_path(name, "/items:from-filter"), body)


def edit_item(name: str, item_id: str, expected_output: Any) -> ChangeResult:
    return _change("PATCH", ds_path(name, f"/items/{quote(item_id, safe='')}"), {"expected_output": expected_output})


def remove_item(name: str, item_id: str) -> ChangeResult:
    return _change("DELETE", ds_path(name, f"/items/{quote(item_id, safe='')}"))


def export(name: str, fmt: str, version: int) -> bytes:
    return api.send("GET", ds_path(name, "/export"), params=[("format", fmt), ("version", version)]).content


def hard_examples(window: api.TimeWindow, params: list[tuple[str, Any]]) -> HardExampleList:
    return _get(HardExampleList, "/api/hard-examples", [*window.params(), *params])


def runs(name: str, limit: int = 20) -> EvalRunList:
    return _get(EvalRunList, "/api/eval-runs", [("dataset", name), ("limit", limit)])


def run(run_id: str) -> EvalRunDetail:
    return _get(EvalRunDetail, f"/api/eval-runs/{quote(run_id, safe='')}")


def comparison(run_id: str, baseline: str = "previous") -> RunComparison:
    return _get(RunComparison, f"/api/eval-runs/{quote(run_id, safe='')}/compare", [("baseline", baseline)])
