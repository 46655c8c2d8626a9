"""Versioned golden datasets in ClickHouse (tables `dataset_items` and `dataset_versions`).

Writes append: a change inserts the rows of the items it touches at the new version, then the version
row that commits it. Reads resolve a version per item with argMax over committed versions, so every
old version stays readable and exportable. Changes to one dataset are serialised inside a collector
(a lock per dataset) so version numbers are allocated once each.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from typing import Any

import orjson
from spanscope.collector.api.querying import PROJECT, Params
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import (
    ChangeResult,
    DatasetCreate,
    DatasetDetail,
    DatasetInfo,
    DatasetItem,
    DatasetItemIn,
    DatasetVersion,
    ItemUpdate,
)


class DatasetError(Exception):
    """A dataset request that cannot be carried out; `status` is the HTTP status to answer with."""

    status = 400


class DatasetNotFound(DatasetError):
    status = 404


class DatasetExists(DatasetError):
    status = 409


_locks: dict[tuple[str, str, str], threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(storage: Storage, project: str, name: str) -> threading.Lock:
    key = (storage.database, project, name)
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


# --------------------------------------------------------------------------- item identity


def _normalised(value: Any) -> Any:
    """Whitespace-collapsed strings and key-sorted objects: inputs that differ only in layout are one."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, dict):
        return {str(k): _normalised(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalised(v) for v in value]
    return value


def item_id_of(value: Any) -> str:
    """The id of an input in any dataset: a hash of the normalised input."""
    canonical = orjson.dumps(_normalised(value), option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(canonical, digest_size=12).hexdigest()


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def json_or_text(text: str) -> Any:
    """A stored JSON value back, or the text itself when it is not JSON (None for empty)."""
    if text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


# --------------------------------------------------------------------------- reads


def _committed(storage: Storage, p: Params, name: str) -> str:
    return (
        f"version IN (SELECT version FROM {storage.table('dataset_versions')} WHERE {PROJECT} "
        f"AND dataset = {p.bind(name, 'String')})"
    )


def list_datasets(storage: Storage, project: str, name: str | None = None) -> list[DatasetInfo]:
    p = Params(project)
    where = f"{PROJECT} AND dataset = {p.bind(name, 'String')}" if name is not None else PROJECT
    rows = storage.query_dicts(
        "SELECT dataset, argMin(description, version) AS first_description, min(created_at) AS first_at, "
        "max(created_at) AS last_at, max(version) AS latest, argMax(item_count, version) AS last_count "
        f"FROM {storage.table('dataset_versions')} WHERE {where} GROUP BY dataset ORDER BY dataset",
        p.values,
    )
    return [
        DatasetInfo(
            name=r["dataset"],
            description=r["first_description"],
            created_at=r["first_at"],
            updated_at=r["last_at"],
            latest_version=int(r["latest"]),
            item_count=int(r["last_count"]),
        )
        for r in rows
    ]


def dataset_info(storage: Storage, project: str, name: str) -> DatasetInfo:
    found = list_datasets(storage, project, name)
    if not found:
        raise DatasetNotFound(f"dataset {name!r} not found in project {project!r}")
    return found[0]


def versions(storage: Storage, project: str, name: str) -> list[DatasetVersion]:
    p = Params(project)
    rows = storage.query_dicts(
        "SELECT version AS v, any(created_at) AS at, any(message) AS msg, any(added) AS n_added, "
        "any(updated) AS n_updated, any(removed) AS n_removed, any(item_count) AS n_items "
        f"FROM {storage.table('dataset_versions')} WHERE {PROJECT} AND dataset = {p.bind(name, 'String')} "
        "GROUP BY version ORDER BY version DESC",
        p.values,
    )
    return [
        DatasetVersion(
            version=r["v"],
            created_at=r["at"],
            message=r["msg"],
            added=r["n_added"],
            updated=r["n_updated"],
            removed=r["n_removed"],
            item_count=r["n_items"],
        )
        for r in rows
    ]


def detail(storage: Storage, project: str, name: str) -> DatasetDetail:
    return DatasetDetail(dataset=dataset_info(storage, project, name), versions=versions(storage, project, name))


def resolve_version(storage: Storage, project: str, name: str, version: int | None) -> int:
    """`version`, checked to exist, or the latest; DatasetNotFound for an unknown dataset or version."""
    info = dataset_info(storage, project, name)
    if version is None:
        return info.latest_version
    known = {v.version for v in versions(storage, project, name)}
    if version not in known:
        raise DatasetNotFound(f"dataset {name!r} has no version {version} (versions 1 to {info.latest_version})")
    return version


def _item_rows(storage: Storage, project: str, name: str, version: int) -> list[dict[str, Any]]:
    p = Params(project)
    return storage.query_dicts(
        "SELECT item_id, max(version) AS last_version, argMax(deleted, version) AS is_deleted, "
        "argMax(input, version) AS a_input, argMax(expected_output, version) AS a_expected, "
        "argMax(metadata, version) AS a_metadata, argMax(tags, version) AS a_tags, "
        "argMax(source_trace_id, version) AS a_trace, argMax(source_span_id, version) AS a_span, "
        "argMax(created_at, version) AS a_updated, min(version) AS first_version, min(created_at) AS first_at "
        f"FROM {storage.table('dataset_items')} WHERE {PROJECT} AND dataset = {p.bind(name, 'String')} "
        f"AND version <= {p.bind(version, 'UInt32')} AND {_committed(storage, p, name)} "
        "GROUP BY item_id HAVING is_deleted = 0 ORDER BY first_version, first_at, item_id",
        p.values,
    )


def _item(r: dict[str, Any]) -> DatasetItem:
    return DatasetItem(
        item_id=r["item_id"],
        input=json_or_text(r["a_input"]),
        expected_output=json_or_text(r["a_expected"]),
        metadata=json_or_text(r["a_metadata"]) or {},
        tags=list(r["a_tags"]),
        source_trace_id=r["a_trace"] or None,
        source_span_id=r["a_span"] or None,
        version=int(r["last_version"]),
        updated_at=r["a_updated"],
    )


def items_at(storage: Storage, project: str, name: str, version: int | None = None) -> tuple[int, list[DatasetItem]]:
    """(the version read, its items in the order they were added)."""
    v = resolve_version(storage, project, name, version)
    return v, [_item(r) for r in _item_rows(storage, project, name, v)]


def existing_item_ids(storage: Storage, project: str, name: str) -> set[str]:
    """Item ids in the latest version (empty for an unknown dataset)."""
    found = list_datasets(storage, project, name)
    if not found:
        return set()
    return {r["item_id"] for r in _item_rows(storage, project, name, found[0].latest_version)}


# --------------------------------------------------------------------------- writes


def _next_version(storage: Storage, project: str, name: str) -> int:
    """One past any version used so far, committed or not (an interrupted write's rows stay unread)."""
    p = Params(project)
    ds = p.bind(name, "String")
    rows = storage.query(
        f"SELECT greatest((SELECT max(version) FROM {storage.table('dataset_versions')} "
        f"WHERE {PROJECT} AND dataset = {ds}), (SELECT max(version) FROM {storage.table('dataset_items')} "
        f"WHERE {PROJECT} AND dataset = {ds}))",
        p.values,
    )
    return int(rows[0][0] or 0) + 1


def _item_row(
    project: str, name: str, version: int, item_id: str, item: DatasetItemIn | DatasetItem, deleted: bool = False
) -> bytes:
    return orjson.dumps(
        {
            "project_id": project,
            "dataset": name,
            "item_id": item_id,
            "version": version,
            "deleted": int(deleted),
            "input": _dumps(item.input),
            "expected_output": _dumps(item.expected_output),
            "metadata": _dumps(item.metadata),
            "tags": list(item.tags),
            "source_trace_id": item.source_trace_id or "",
            "source_span_id": item.source_span_id or "",
        }
    )


def _commit(
    storage: Storage,
    project: str,
    name: str,
    version: int,
    rows: list[bytes],
    *,
    description: str,
    message: str,
    added: int,
    updated: int,
    removed: int,
    item_count: int,
) -> None:
    token = hashlib.blake2b(f"{storage.database}\0{project}\0{name}\0{version}".encode(), digest_size=16).hexdigest()
    if rows:
        storage.insert_json_rows("dataset_items", b"\n".join(rows), dedup_token=f"dataset-items-{token}")
    version_row = {
        "project_id": project,
        "dataset": name,
        "version": version,
        "description": description,
        "message": message,
        "added": added,
        "updated": updated,
        "removed": removed,
        "item_count": item_count,
    }
    storage.insert_json_rows("dataset_versions", orjson.dumps(version_row), dedup_token=f"dataset-version-{token}")


def _unique(items: Iterable[DatasetItemIn], present: set[str]) -> tuple[list[tuple[str, DatasetItemIn]], int]:
    """Items whose input is new to the dataset and to the batch, with their ids; and how many were not."""
    seen = set(present)
    fresh: list[tuple[str, DatasetItemIn]] = []
    skipped = 0
    for item in items:
        iid = item_id_of(item.input)
        if iid in seen:
            skipped += 1
            continue
        seen.add(iid)
        fresh.append((iid, item))
    return fresh, skipped


def create(storage: Storage, project: str, body: DatasetCreate) -> ChangeResult:
    with _lock(storage, project, body.name):
        if list_datasets(storage, project, body.name):
            raise DatasetExists(f"dataset {body.name!r} already exists in project {project!r}")
        fresh, skipped = _unique(body.items, set())
        version = _next_version(storage, project, body.name)
        _commit(
            storage,
            project,
            body.name,
            version,
            [_item_row(project, body.name, version, iid, item) for iid, item in fresh],
            description=body.description,
            message="created" + (f" with {len(fresh)} items" if fresh else ""),
            added=len(fresh),
            updated=0,
            removed=0,
            item_count=len(fresh),
        )
    return ChangeResult(
        name=body.name,
        version=version,
        created_version=True,
        added=len(fresh),
        skipped_duplicates=skipped,
        item_ids=[iid for iid, _ in fresh],
    )


def add_items(storage: Storage, project: str, name: str, items: list[DatasetItemIn], message: str = "") -> ChangeResult:
    """Adds the items whose input is not in the latest version yet; a new version only if any is."""
    with _lock(storage, project, name):
        info = dataset_info(storage, project, name)
        current = existing_item_ids(storage, project, name)
        fresh, skipped = _unique(items, current)
        if not fresh:
            return ChangeResult(
                name=name, version=info.latest_version, created_version=False, skipped_duplicates=skipped
            )
        version = _next_version(storage, project, name)
        _commit(
            storage,
            project,
            name,
            version,
            [_item_row(project, name, version, iid, item) for iid, item in fresh],
            description=info.description,
            message=message or f"added {len(fresh)} items",
            added=len(fresh),
            updated=0,
            removed=0,
            item_count=len(current) + len(fresh),
        )
    return ChangeResult(
        name=name,
        version=version,
        created_version=True,
        added=len(fresh),
        skipped_duplicates=skipped,
        item_ids=[iid for iid, _ in fresh],
    )


def _current_item(
    storage: Storage, project: str, name: str, item_id: str
) -> tuple[DatasetInfo, list[DatasetItem], DatasetItem]:
    info = dataset_info(storage, project, name)
    items = [_item(r) for r in _item_rows(storage, project, name, info.latest_version)]
    for item in items:
        if item.item_id == item_id:
            return info, items, item
    raise DatasetNotFound(f"item {item_id!r} is not in the latest version of dataset {name!r}")


def update_item(storage: Storage, project: str, name: str, item_id: str, change: ItemUpdate) -> ChangeResult:
    """A new version with the item's expected output, metadata or tags replaced (no version when equal)."""
    with _lock(storage, project, name):
        info, items, item = _current_item(storage, project, name, item_id)
        fields = change.model_fields_set & {"expected_output", "metadata", "tags"}
        new = item.model_copy(update={f: getattr(change, f) for f in fields})
        if all(getattr(new, f) == getattr(item, f) for f in fields):
            return ChangeResult(name=name, version=info.latest_version, created_version=False)
        version = _next_version(storage, project, name)
        _commit(
            storage,
            project,
            name,
            version,
            [_item_row(project, name, version, item_id, new)],
            description=info.description,
            message=change.message or f"edited {item_id}",
            added=0,
            updated=1,
            removed=0,
            item_count=len(items),
        )
    return ChangeResult(name=name, version=version, created_version=True, updated=1, item_ids=[item_id])


def remove_item(storage: Storage, project: str, name: str, item_id: str, message: str = "") -> ChangeResult:
    with _lock(storage, project, name):
        info, items, item = _current_item(storage, project, name, item_id)
        version = _next_version(storage, project, name)
        _commit(
            storage,
            project,
            name,
            version,
            [_item_row(project, name, version, item_id, item, deleted=True)],
            description=info.description,
            message=message or f"removed {item_id}",
            added=0,
            updated=0,
            removed=1,
            item_count=len(items) - 1,
        )
    return ChangeResult(name=name, version=version, created_version=True, removed=1, item_ids=[item_id])
