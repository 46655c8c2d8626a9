"""Eval runs (tables `eval_run_items`, `eval_runs`) and how a run compares with a baseline run."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections import defaultdict
from typing import Any

import orjson
from spanscope.collector.api.querying import PROJECT, Params, from_us
from spanscope.collector.evals.datasets import DatasetError, DatasetNotFound, items_at, json_or_text
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import (
    EvalItemResult,
    EvalRun,
    EvalRunDetail,
    EvalRunIn,
    ItemChange,
    RunComparison,
    ScoreChange,
    ScoreSummary,
)

DEFAULT_TOLERANCE = 0.01
_RUN_COLUMNS = (
    "run_id, dataset, dataset_version, target, metadata, item_count, error_count, score_means, score_counts, "
    "toUnixTimestamp64Micro(created_at) AS created_us"
)


def _run(r: dict[str, Any]) -> EvalRun:
    counts = dict(r["score_counts"])
    return EvalRun(
        run_id=r["run_id"],
        dataset=r["dataset"],
        dataset_version=int(r["dataset_version"]),
        target=r["target"],
        created_at=from_us(int(r["created_us"])),
        metadata=json_or_text(r["metadata"]) or {},
        item_count=int(r["item_count"]),
        error_count=int(r["error_count"]),
        scores={k: ScoreSummary(mean=float(v), count=int(counts.get(k, 0))) for k, v in dict(r["score_means"]).items()},
    )


def store(storage: Storage, project: str, body: EvalRunIn) -> EvalRun:
    """Checks the dataset version and item ids, then writes the item results and the run row."""
    _, items = items_at(storage, project, body.dataset, body.dataset_version)
    known = {i.item_id for i in items}
    unknown = [r.item_id for r in body.items if r.item_id not in known]
    if unknown:
        raise DatasetError(
            f"{len(unknown)} item ids are not in {body.dataset} v{body.dataset_version}: {', '.join(unknown[:5])}"
        )
    run_id = body.run_id or uuid.uuid4().hex
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for r in body.items:
        for name, value in r.scores.items():
            sums[name] += value
            counts[name] += 1
    lines = [
        orjson.dumps(
            {
                "project_id": project,
                "run_id": run_id,
                "item_id": r.item_id,
                "output": orjson.dumps(r.output).decode(),
                "error": r.error or "",
                "latency_ms": r.latency_ms,
                "scores": r.scores,
                "reasons": r.reasons,
                "trace_id": r.trace_id or "",
                "span_id": r.span_id or "",
            }
        )
        for r in body.items
    ]
    token = hashlib.blake2b(f"{project}\0{run_id}".encode(), digest_size=16).hexdigest()
    if lines:
        storage.insert_json_rows("eval_run_items", b"\n".join(lines), dedup_token=f"eval-items-{token}")
    row = {
        "project_id": project,
        "run_id": run_id,
        "dataset": body.dataset,
        "dataset_version": body.dataset_version,
        "target": body.target,
        "metadata": orjson.dumps(body.metadata).decode(),
        "item_count": len(body.items),
        "error_count": sum(1 for r in body.items if r.error),
        "score_means": {k: sums[k] / counts[k] for k in sums},
        "score_counts": dict(counts),
        "created_at": f"{time.time():.6f}",
    }
    storage.insert_json_rows("eval_runs", orjson.dumps(row), dedup_token=f"eval-run-{token}")
    found = get_run(storage, project, run_id)
    assert found is not None
    return found


def list_runs(storage: Storage, project: str, dataset: str | None = None, limit: int = 50) -> list[EvalRun]:
    p = Params(project)
    where = f"{PROJECT} AND dataset = {p.bind(dataset, 'String')}" if dataset else PROJECT
    rows = storage.query_dicts(
        f"SELECT {_RUN_COLUMNS} FROM {storage.table('eval_runs')} WHERE {where} "
        f"ORDER BY created_at DESC, run_id LIMIT 1 BY run_id LIMIT {int(limit)}",
        p.values,
    )
    return [_run(r) for r in rows]


def get_run(storage: Storage, project: str, run_id: str) -> EvalRun | None:
    p = Params(project)
    rows = storage.query_dicts(
        f"SELECT {_RUN_COLUMNS} FROM {storage.table('eval_runs')} WHERE {PROJECT} "
        f"AND run_id = {p.bind(run_id, 'String')} LIMIT 1",
        p.values,
    )
    return _run(rows[0]) if rows else None


def run_detail(storage: Storage, project: str, run_id: str) -> EvalRunDetail:
    run = get_run(storage, project, run_id)
    if run is None:
        raise DatasetNotFound(f"eval run {run_id!r} not found in project {project!r}")
    p = Params(project)
    rows = storage.query_dicts(
        "SELECT item_id, output, error, latency_ms, scores, reasons, trace_id, span_id "
        f"FROM {storage.table('eval_run_items')} WHERE {PROJECT} AND run_id = {p.bind(run_id, 'String')} "
        "ORDER BY item_id LIMIT 1 BY item_id",
        p.values,
    )
    try:
        _, items = items_at(storage, project, run.dataset, run.dataset_version)
    except DatasetNotFound:
        items = []
    by_id = {i.item_id: i for i in items}
    order = {i.item_id: n for n, i in enumerate(items)}
    results = [
        EvalItemResult(
            item_id=r["item_id"],
            output=json_or_text(r["output"]),
            error=r["error"] or None,
            latency_ms=float(r["latency_ms"]),
            scores=dict(r["scores"]),
            reasons=dict(r["reasons"]),
            trace_id=r["trace_id"] or None,
            span_id=r["span_id"] or None,
            input=by_id[r["item_id"]].input if r["item_id"] in by_id else None,
            expected_output=by_id[r["item_id"]].expected_output if r["item_id"] in by_id else None,
        )
        for r in rows
    ]
    results.sort(key=lambda x: order.get(x.item_id, len(order)))
    return EvalRunDetail(run=run, items=results)


def previous_run(storage: Storage, project: str, run: EvalRun) -> EvalRun | None:
    """The latest run of the same dataset made before `run`."""
    p = Params(project)
    rows = storage.query_dicts(
        f"SELECT {_RUN_COLUMNS} FROM {storage.table('eval_runs')} WHERE {PROJECT} "
        f"AND dataset = {p.bind(run.dataset, 'String')} AND run_id != {p.bind(run.run_id, 'String')} "
        f"AND created_at < {p.micros(int(run.created_at.timestamp() * 1_000_000))} "
        "ORDER BY created_at DESC LIMIT 1",
        p.values,
    )
    return _run(rows[0]) if rows else None


def compare(
    current: EvalRunDetail,
    baseline: EvalRunDetail | None,
    thresholds: dict[str, float] | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> RunComparison:
    """Per score: baseline and current mean, and whether it regressed by more than `tolerance` or fell
    below its threshold; per item: scores that moved by more than `tolerance`."""
    thresholds = thresholds or {}
    cur = {k: v.mean for k, v in current.run.scores.items()}
    base = {k: v.mean for k, v in baseline.run.scores.items()} if baseline else {}
    changes: list[ScoreChange] = []
    for name in sorted(set(cur) | set(base) | set(thresholds)):
        c, b = cur.get(name), base.get(name)
        if c is None:
            status = "missing"
        elif b is None:
            status = "new"
        elif c < b - tolerance:
            status = "regressed"
        elif c > b + tolerance:
            status = "improved"
        else:
            status = "unchanged"
        limit = thresholds.get(name)
        changes.append(
            ScoreChange(
                name=name,
                baseline=b,
                current=c,
                delta=(c - b) if c is not None and b is not None else None,
                status=status,
                threshold=limit,
                below_threshold=limit is not None and (c is None or c < limit),
            )
        )
    moved: list[ItemChange] = []
    if baseline is not None:
        before = {i.item_id: i.scores for i in baseline.items}
        for item in current.items:
            old = before.get(item.item_id)
            if old is None:
                continue
            for name, value in item.scores.items():
                prev = old.get(name)
                if prev is None or abs(value - prev) <= tolerance:
                    continue
                moved.append(
                    ItemChange(
                        item_id=item.item_id,
                        score=name,
                        baseline=prev,
                        current=value,
                        direction="improved" if value > prev else "regressed",
                    )
                )
    return RunComparison(
        run_id=current.run.run_id,
        baseline_run_id=baseline.run.run_id if baseline else None,
        tolerance=tolerance,
        scores=changes,
        items=moved,
        errors=current.run.error_count,
        passed=not any(s.status == "regressed" or s.below_threshold for s in changes),
    )
