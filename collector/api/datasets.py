"""Golden datasets: create, add items (one by one, in bulk, or from a hard-examples filter), edit expected
outputs, remove items, read any version, export any version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response
from spanscope.collector.api.deps import blocking, project_of, resolve_range, storage_of
from spanscope.collector.evals import curation, exporters
from spanscope.collector.evals import datasets as ds
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import (
    ChangeResult,
    DatasetCreate,
    DatasetDetail,
    DatasetItems,
    DatasetList,
    ExportFormat,
    FromFilterIn,
    ItemsIn,
    ItemUpdate,
    check_dataset_name,
)

router = APIRouter(prefix="/api", tags=["datasets"])
T = TypeVar("T")

NamePath = Annotated[str, Path(description="dataset name", max_length=100)]
VersionQuery = Annotated[int | None, Query(ge=1, description="a version; default: the latest")]


def _name(name: str) -> str:
    try:
        return check_dataset_name(name)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None


async def _run(fn: Callable[[], T]) -> T:
    try:
        return await blocking(fn)
    except ds.DatasetError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/datasets", summary="Datasets of the project with their latest version")
async def list_datasets(
    project: Annotated[str, Depends(project_of)], storage: Annotated[Storage, Depends(storage_of)]
) -> DatasetList:
    return DatasetList(datasets=await _run(lambda: ds.list_datasets(storage, project)))


@router.post(
    "/datasets",
    status_code=201,
    summary="Create a dataset (version 1), optionally with items",
    responses={409: {"description": "a dataset of that name exists"}},
)
async def create_dataset(
    body: DatasetCreate,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ChangeResult:
    return await _run(lambda: ds.create(storage, project, body))


@router.get("/datasets/{name}", summary="A dataset and its versions (newest first)", responses={404: {}})
async def get_dataset(
    name: NamePath, project: Annotated[str, Depends(project_of)], storage: Annotated[Storage, Depends(storage_of)]
) -> DatasetDetail:
    n = _name(name)
    return await _run(lambda: ds.detail(storage, project, n))


@router.get("/datasets/{name}/items", summary="Items of a version (default: the latest)", responses={404: {}})
async def get_items(
    name: NamePath,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
    version: VersionQuery = None,
) -> DatasetItems:
    n = _name(name)
    v, items = await _run(lambda: ds.items_at(storage, project, n, version))
    return DatasetItems(name=n, version=v, items=items)


@router.post(
    "/datasets/{name}/items",
    summary="Add items: a new version with those whose input is not in the dataset yet",
    description="Inputs already in the latest version (compared after collapsing whitespace and sorting "
    "object keys) are skipped and counted in `skipped_duplicates`; when nothing is new no version is made.",
    responses={404: {}},
)
async def add_items(
    name: NamePath,
    body: ItemsIn,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ChangeResult:
    n = _name(name)
    return await _run(lambda: ds.add_items(storage, project, n, body.items, body.message))


@router.post(
    "/datasets/{name}/items:from-filter",
    summary="Add the hard examples a filter finds (same filter as GET /api/hard-examples)",
    responses={404: {}},
)
async def add_from_filter(
    name: NamePath,
    body: FromFilterIn,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ChangeResult:
    n = _name(name)
    tr = resolve_range(body.start, body.end, body.range)

    def run() -> ChangeResult:
        ds.dataset_info(storage, project, n)
        found = curation.hard_examples(storage, project, body, tr)
        items = [curation.as_item(h, body.copy_output_as_expected) for h in found if curation.has_input(h)]
        if not items:
            info = ds.dataset_info(storage, project, n)
            return ChangeResult(name=n, version=info.latest_version, created_version=False)
        return ds.add_items(storage, project, n, items, body.message or f"added {len(items)} hard examples")

    return await _run(run)


@router.patch(
    "/datasets/{name}/items/{item_id}",
    summary="Edit an item's expected output, metadata or tags (a new version)",
    responses={404: {}},
)
async def update_item(
    name: NamePath,
    item_id: Annotated[str, Path(max_length=64)],
    body: ItemUpdate,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ChangeResult:
    n = _name(name)
    return await _run(lambda: ds.update_item(storage, project, n, item_id, body))


@router.delete("/datasets/{name}/items/{item_id}", summary="Remove an item (a new version)", responses={404: {}})
async def remove_item(
    name: NamePath,
    item_id: Annotated[str, Path(max_length=64)],
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ChangeResult:
    n = _name(name)
    return await _run(lambda: ds.remove_item(storage, project, n, item_id))


@router.get(
    "/datasets/{name}/export",
    summary="Download a version as jsonl, promptfoo (YAML test cases), openai_evals (JSONL) or csv",
    description="OpenAI Evals lines need an ideal answer: items without expected output are left out and "
    "counted in the `X-Spanscope-Skipped-Items` header.",
    response_class=Response,
    responses={404: {}, 200: {"content": {"application/x-ndjson": {}, "application/yaml": {}, "text/csv": {}}}},
)
async def export_dataset(
    name: NamePath,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
    format: Annotated[ExportFormat, Query(description="jsonl, promptfoo, openai_evals or csv")] = "jsonl",
    version: VersionQuery = None,
) -> Response:
    n = _name(name)
    v, items = await _run(lambda: ds.items_at(storage, project, n, version))
    out = exporters.export(format, n, v, items)
    return Response(
        out.content,
        media_type=out.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{out.filename}"',
            "X-Spanscope-Dataset-Version": str(v),
            "X-Spanscope-Skipped-Items": str(out.skipped),
        },
    )
