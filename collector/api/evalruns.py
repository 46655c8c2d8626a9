"""Eval runs: replays of a dataset version through a target function, and their comparison."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from spanscope.collector.api.deps import blocking, project_of, storage_of
from spanscope.collector.evals import runs
from spanscope.collector.evals.datasets import DatasetError
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import EvalRun, EvalRunDetail, EvalRunIn, EvalRunList, RunComparison

router = APIRouter(prefix="/api", tags=["eval runs"])

RunIdPath = Annotated[str, Path(max_length=64, description="run id")]


def parse_thresholds(values: list[str]) -> dict[str, float]:
    """`name=value` pairs (400 on anything else)."""
    out: dict[str, float] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise HTTPException(400, f"threshold must look like name=0.8, got {raw!r}")
        out[name.strip()] = number
    return out


@router.post(
    "/eval-runs",
    status_code=201,
    summary="Store a run: per-item outputs and scores; the run's means are computed here",
    responses={404: {"description": "unknown dataset or version"}},
)
async def post_run(
    body: EvalRunIn, project: Annotated[str, Depends(project_of)], storage: Annotated[Storage, Depends(storage_of)]
) -> EvalRun:
    try:
        return await blocking(lambda: runs.store(storage, project, body))
    except DatasetError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get("/eval-runs", summary="Runs, newest first")
async def list_runs(
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
    dataset: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> EvalRunList:
    return EvalRunList(runs=await blocking(lambda: runs.list_runs(storage, project, dataset, limit)))


@router.get("/eval-runs/{run_id}", summary="A run with its item results", responses={404: {}})
async def get_run(
    run_id: RunIdPath, project: Annotated[str, Depends(project_of)], storage: Annotated[Storage, Depends(storage_of)]
) -> EvalRunDetail:
    try:
        return await blocking(lambda: runs.run_detail(storage, project, run_id))
    except DatasetError as exc:
        raise HTTPException(exc.status, str(exc)) from None


@router.get(
    "/eval-runs/{run_id}/compare",
    summary="Improvements and regressions against a baseline run (default: the dataset's previous run)",
    responses={404: {}},
)
async def compare_run(
    run_id: RunIdPath,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
    baseline: Annotated[str, Query(max_length=64, description="a run id, or 'previous'")] = "previous",
    threshold: Annotated[list[str], Query(description="name=value: fail when the mean is below")] = [],  # noqa: B006
    tolerance: Annotated[float, Query(ge=0, le=1)] = runs.DEFAULT_TOLERANCE,
) -> RunComparison:
    limits = parse_thresholds(threshold)

    def run() -> RunComparison:
        current = runs.run_detail(storage, project, run_id)
        if baseline == "previous":
            prev = runs.previous_run(storage, project, current.run)
            base = runs.run_detail(storage, project, prev.run_id) if prev else None
        else:
            base = runs.run_detail(storage, project, baseline)
        return runs.compare(current, base, limits, tolerance)

    try:
        return await blocking(run)
    except DatasetError as exc:
        raise HTTPException(exc.status, str(exc)) from None
