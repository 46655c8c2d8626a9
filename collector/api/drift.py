"""Drift: a scope's signals in a current window against a baseline, and a signal's drift over time.

Windows: `current` is a trailing length (default 24h) ending at `current_end` (default now), or
`current_start`..`current_end`; the baseline is `baseline_start`..`baseline_end`, or the trailing
`baseline` length (default 7d) right before the current window. Statistics as in DESIGN §6: PSI and
KS for numeric signals, a two-proportion z-test for rates, Jensen–Shannon distance and chi-square for
category mixes, centroid cosine distance with a permutation test for input text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import ValidationError
from spanscope.collector.api.deps import blocking, parse_duration_s, parse_time, project_of, storage_of
from spanscope.collector.api.querying import from_us
from spanscope.collector.drift.history import drift_history
from spanscope.collector.drift.report import drift_report
from spanscope.collector.storage import Storage
from spanscope.schemas.drift import DriftHistory, DriftReport, DriftRequest, DriftThresholds

router = APIRouter(prefix="/api", tags=["drift"])

_TIME = "ISO-8601 (naive = UTC) or unix seconds"


def _time(text: str | None, what: str) -> datetime | None:
    return from_us(parse_time(text, what)) if text else None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" if e["loc"] else str(e["msg"]) for e in exc.errors()
    )


def drift_request(
    service: Annotated[str | None, Query(max_length=500)] = None,
    span_name: Annotated[str | None, Query(max_length=500)] = None,
    model: Annotated[str | None, Query(max_length=500)] = None,
    prompt_name: Annotated[str | None, Query(max_length=500)] = None,
    prompt_version: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=50)] = None,
    environment: Annotated[str | None, Query(max_length=200)] = None,
    current: Annotated[str | None, Query(description="trailing current window: 1h, 24h, 7d…; default 24h")] = None,
    current_start: Annotated[str | None, Query(description=_TIME)] = None,
    current_end: Annotated[str | None, Query(description=f"{_TIME}; default now")] = None,
    baseline: Annotated[
        str | None, Query(description="trailing baseline right before the current window; default 7d")
    ] = None,
    baseline_start: Annotated[str | None, Query(description=f"fixed baseline: {_TIME}")] = None,
    baseline_end: Annotated[str | None, Query(description=f"fixed baseline: {_TIME}")] = None,
    signal: Annotated[
        list[str] | None, Query(description="signals to include (repeat); `scores` or `score:<name>`; default all")
    ] = None,
    psi_moderate: float | None = None,
    psi_significant: float | None = None,
    js_moderate: float | None = None,
    js_significant: float | None = None,
    rate_moderate: float | None = None,
    rate_significant: float | None = None,
    semantic_moderate: float | None = None,
    semantic_significant: float | None = None,
    p_value: float | None = None,
    min_samples: int | None = None,
    semantic_top: Annotated[int, Query(ge=0, le=100)] = 10,
) -> DriftRequest:
    """Query parameters → DriftRequest; anything inconsistent is a 400 naming the parameter."""
    if current and current_start:
        raise HTTPException(400, "give either current (a trailing length) or current_start, not both")
    if baseline and (baseline_start or baseline_end):
        raise HTTPException(400, "give either baseline (a trailing length) or baseline_start/baseline_end")
    given = {
        "psi_moderate": psi_moderate,
        "psi_significant": psi_significant,
        "js_moderate": js_moderate,
        "js_significant": js_significant,
        "rate_moderate": rate_moderate,
        "rate_significant": rate_significant,
        "semantic_moderate": semantic_moderate,
        "semantic_significant": semantic_significant,
        "p_value": p_value,
        "min_samples": min_samples,
    }
    fields: dict[str, object] = {
        "service": service,
        "span_name": span_name,
        "model": model,
        "prompt_name": prompt_name,
        "prompt_version": prompt_version,
        "kind": kind,
        "environment": environment,
        "current_start": _time(current_start, "current_start"),
        "current_end": _time(current_end, "current_end"),
        "baseline_start": _time(baseline_start, "baseline_start"),
        "baseline_end": _time(baseline_end, "baseline_end"),
        "signals": signal or None,
        "semantic_top": semantic_top,
    }
    if current:
        fields["current_s"] = parse_duration_s(current, "current")
    if baseline:
        fields["baseline_s"] = parse_duration_s(baseline, "baseline")
    try:
        fields["thresholds"] = DriftThresholds(**{k: v for k, v in given.items() if v is not None})
        return DriftRequest.model_validate(fields)
    except ValidationError as exc:
        raise HTTPException(400, _problems(exc)) from None


@router.get("/drift", summary="Drift of a scope: every signal, current window against a baseline")
async def get_drift(
    req: Annotated[DriftRequest, Depends(drift_request)],
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> DriftReport:
    return await blocking(lambda: drift_report(storage, project, req))


@router.post(
    "/drift",
    summary="Drift of a scope, the request as JSON (DriftRequest)",
    responses={400: {"description": "an invalid request, with the reason"}},
)
async def post_drift(
    body: dict[str, object],
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> DriftReport:
    try:
        req = DriftRequest.model_validate(body)
    except ValidationError as exc:
        raise HTTPException(400, _problems(exc)) from None
    return await blocking(lambda: drift_report(storage, project, req))


@router.get(
    "/drift/history",
    summary="One signal's drift per time bucket of the current window, each against the whole baseline",
)
async def get_drift_history(
    req: Annotated[DriftRequest, Depends(drift_request)],
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
    interval: Annotated[str | None, Query(description="bucket length: 1h, 6h, 1d…; default: about 48 points")] = None,
) -> DriftHistory:
    if not req.signals or len(req.signals) != 1:
        raise HTTPException(400, "give exactly one signal, e.g. signal=latency_ms")
    step = parse_duration_s(interval, "interval") if interval else None
    if step is not None and step < 60:
        raise HTTPException(400, "interval must be at least 1m")
    signal = req.signals[0]
    return await blocking(lambda: drift_history(storage, project, req, signal, step))
