"""`spanscope eval run`: every item of a dataset version through the user's function, traced, scored
with the built-in checks and the configured evaluators, stored as a run and compared with a baseline.

The target gets the item's input: an object input whose keys are all parameters of the function is
passed as keyword arguments, anything else as the one positional argument. Coroutine functions are
awaited. A target that raises on an item records a failed item (its checks score 0); the run goes on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from spanscope.collector.cli import CliError
from spanscope.collector.client import ApiClient
from spanscope.collector.evals.checks import as_text, run_checks
from spanscope.schemas.datasets import (
    ATTR_EVAL_DATASET,
    ATTR_EVAL_DATASET_VERSION,
    ATTR_EVAL_ITEM_ID,
    ATTR_EVAL_RUN_ID,
    DatasetItem,
    DatasetItems,
    EvalItemResultIn,
    EvalRun,
    RunComparison,
)
from spanscope.schemas.evals import EvalRecord, EvaluatorsDocument


@dataclass
class ReplayOptions:
    dataset: str
    target: str
    api: ApiClient
    version: int | None = None
    baseline: str = "latest"
    thresholds: dict[str, float] = field(default_factory=dict)
    checks: tuple[str, ...] = ("exact", "contains", "json_schema", "similarity")
    concurrency: int = 4
    tolerance: float = 0.01
    evaluators_file: Path | None = None
    use_api_evaluators: bool = True
    json_schema: dict[str, Any] | None = None
    service: str = "spanscope-eval"


@dataclass
class ItemOutcome:
    result: EvalItemResultIn
    item: DatasetItem


def load_target(ref: str) -> Callable[..., Any]:
    """`package.module:function` (or `path/to/file.py:function`), imported with the working directory on
    sys.path."""
    module_name, sep, attr = ref.rpartition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"--target must look like module:function, got {ref!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_file():
            raise CliError(f"target file {module_name} does not exist")
        sys.path.insert(0, str(path.resolve().parent))
        module_name = path.stem
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise CliError(f"cannot import {module_name} for --target: {type(exc).__name__}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CliError(f"{module_name} has no {attr!r} (from --target {ref})")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CliError(f"--target {ref} is not callable")
    fn: Callable[..., Any] = obj
    return fn


def _as_kwargs(fn: Callable[..., Any], value: Any) -> bool:
    if not isinstance(value, dict) or not value:
        return False
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return all(isinstance(k, str) for k in value)
    return all(k in params for k in value)


def call_target(fn: Callable[..., Any], value: Any) -> Any:
    result = fn(**value) if _as_kwargs(fn, value) else fn(value)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def load_evaluators(opts: ReplayOptions) -> EvaluatorsDocument | None:
    """The file's evaluators when one is given, else the project's from the API (none when it has none)."""
    from spanscope.collector.evals.config import ConfigError, load_file

    if opts.evaluators_file is not None:
        try:
            return load_file(opts.evaluators_file)[1]
        except (ConfigError, OSError) as exc:
            raise CliError(f"evaluators file {opts.evaluators_file}: {exc}") from exc
    if not opts.use_api_evaluators:
        return None
    state = opts.api.get("/api/evaluators")
    doc = EvaluatorsDocument.model_validate(
        {"evaluators": state.get("evaluators", []), "schemas": state.get("schemas", {})}
    )
    return doc if doc.evaluators else None


def _evaluate(
    doc: EvaluatorsDocument | None,
    item: DatasetItem,
    output: Any,
    error: str | None,
    latency_ms: float,
    trace_id: str,
    span_id: str,
    scores: dict[str, float],
    reasons: dict[str, str],
) -> None:
    """Every enabled evaluator on the replayed output (span matching does not apply to replays)."""
    if doc is None or error is not None:
        return
    from spanscope.collector.evals.evaluators import evaluate_one

    record = EvalRecord(
        trace_id=trace_id,
        span_id=span_id,
        span_name="eval",
        kind="chain",
        input=as_text(item.input),
        output=as_text(output) if output is not None else "",
        expected=None if item.expected_output is None else as_text(item.expected_output),
        latency_ms=latency_ms,
        status="OK",
    )
    for config in doc.evaluators:
        if not config.enabled:
            continue
        r = evaluate_one(config, record, doc.schemas)
        if r is None:
            continue
        if r.error is not None:
            reasons[r.name] = f"evaluator error: {r.error}"[:500]
        elif r.value is not None:
            scores[r.name] = float(r.value)
            if r.comment:
                reasons[r.name] = r.comment[:500]


def _run_item(
    fn: Callable[..., Any],
    item: DatasetItem,
    opts: ReplayOptions,
    run_id: str,
    version: int,
    evaluators: EvaluatorsDocument | None,
) -> ItemOutcome:
    import spanscope.sdk as spanscope

    output: Any = None
    error: str | None = None
    trace_id = span_id = ""
    started = time.perf_counter()
    try:
        with (
            spanscope.propagate_attributes(session_id=f"eval-{run_id}", tags=["eval", f"dataset:{opts.dataset}"]),
            spanscope.observation(
                f"eval:{opts.dataset}",
                kind="chain",
                input=item.input,
                attributes={
                    ATTR_EVAL_RUN_ID: run_id,
                    ATTR_EVAL_DATASET: opts.dataset,
                    ATTR_EVAL_DATASET_VERSION: version,
                    ATTR_EVAL_ITEM_ID: item.item_id,
                },
            ) as obs,
        ):
            trace_id, span_id = obs.trace_id or "", obs.span_id or ""
            output = call_target(fn, item.input)
            obs.update(output=output)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
    latency_ms = (time.perf_counter() - started) * 1000
    scores: dict[str, float] = {}
    reasons: dict[str, str] = {}
    for check in run_checks(
        opts.checks, output, item.expected_output, item.metadata, opts.json_schema, error is not None
    ):
        scores[check.name] = check.score
        reasons[check.name] = check.reason
    _evaluate(evaluators, item, output, error, latency_ms, trace_id, span_id, scores, reasons)
    plain = output is None or isinstance(output, str | int | float | bool | dict | list)
    stored = output if plain else repr(output)
    return ItemOutcome(
        EvalItemResultIn(
            item_id=item.item_id,
            output=stored,
            error=error,
            latency_ms=round(latency_ms, 3),
            scores=scores,
            reasons=reasons,
            trace_id=trace_id or None,
            span_id=span_id or None,
        ),
        item,
    )


def _git_commit() -> str | None:
    env = os.environ.get("GITHUB_SHA") or os.environ.get("CI_COMMIT_SHA")
    if env:
        return env
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _short(value: Any, width: int = 50) -> str:
    text = " ".join(as_text(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_report(
    out: TextIO, run: EvalRun, comparison: RunComparison, outcomes: Sequence[ItemOutcome], elapsed_s: float
) -> None:
    print(
        f"dataset {run.dataset} v{run.dataset_version} · run {run.run_id} · "
        f"baseline {comparison.baseline_run_id or '(none)'} · {run.item_count} items, "
        f"{run.error_count} failed · {elapsed_s:.1f}s",
        file=out,
    )
    rows = [("score", "baseline", "current", "delta", "threshold", "status")]
    for s in comparison.scores:
        status = s.status.upper() if s.status == "regressed" else s.status
        if s.below_threshold:
            status += " BELOW THRESHOLD"
        delta = "-" if s.delta is None else f"{s.delta:+.3f}"
        rows.append((s.name, _fmt(s.baseline), _fmt(s.current), delta, _fmt(s.threshold), status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        print(
            "  " + "  ".join(c.ljust(widths[i]) if i in (0, 5) else c.rjust(widths[i]) for i, c in enumerate(r)),
            file=out,
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths), file=out)
    inputs = {o.item.item_id: o.item.input for o in outcomes}
    for direction in ("regressed", "improved"):
        moved = [c for c in comparison.items if c.direction == direction]
        if moved:
            print(f"{direction} items ({len(moved)}):", file=out)
            for c in moved[:20]:
                print(
                    f"  {c.item_id}  {c.score} {_fmt(c.baseline)} -> {_fmt(c.current)}  "
                    f"{_short(inputs.get(c.item_id, ''))}",
                    file=out,
                )
            if len(moved) > 20:
                print(f"  … and {len(moved) - 20} more", file=out)
    failed = [o for o in outcomes if o.result.error]
    if failed:
        print(f"failed items ({len(failed)}):", file=out)
        for o in failed[:10]:
            print(f"  {o.item.item_id}  {_short(o.result.error or '', 90)}", file=out)
    if comparison.passed:
        print("PASS", file=out)
    else:
        problems = [
            f"{s.name} regressed ({_fmt(s.baseline)} -> {_fmt(s.current)})"
            for s in comparison.scores
            if s.status == "regressed"
        ] + [
            f"{s.name} {_fmt(s.current)} below threshold {_fmt(s.threshold)}"
            for s in comparison.scores
            if s.below_threshold
        ]
        print("FAIL: " + "; ".join(problems), file=out)


def replay(opts: ReplayOptions, out: TextIO = sys.stdout) -> int:
    """Runs, stores and compares; 0 when no score regressed or fell below its threshold, else 1."""
    import spanscope.sdk as spanscope

    if opts.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    data = DatasetItems.model_validate(opts.api.get(f"/api/datasets/{opts.dataset}/items", version=opts.version))
    if opts.baseline not in ("latest", "none"):
        opts.api.get(f"/api/eval-runs/{opts.baseline}")  # an unknown baseline is a usage error, before running
    if not data.items:
        raise CliError(f"dataset {opts.dataset} v{data.version} has no items")
    fn = load_target(opts.target)
    evaluators = load_evaluators(opts)
    run_id = uuid.uuid4().hex
    spanscope.init(
        endpoint=opts.api.base_url,
        api_key=opts.api.api_key,
        project=opts.api.project,
        service=opts.service,
        environment="eval",
        schedule_delay_millis=200,
    )
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=opts.concurrency) as pool:
        outcomes = list(pool.map(lambda it: _run_item(fn, it, opts, run_id, data.version, evaluators), data.items))
    spanscope.flush(timeout_s=10)
    elapsed = time.monotonic() - started
    body = {
        "run_id": run_id,
        "dataset": opts.dataset,
        "dataset_version": data.version,
        "target": opts.target,
        "metadata": {
            "checks": list(opts.checks),
            "evaluators": [c.name for c in evaluators.evaluators] if evaluators else [],
            "git_commit": _git_commit(),
            "concurrency": opts.concurrency,
            "elapsed_s": round(elapsed, 3),
        },
        "items": [o.result.model_dump(mode="json") for o in outcomes],
    }
    run = EvalRun.model_validate(opts.api.post("/api/eval-runs", body))
    baseline = "previous" if opts.baseline == "latest" else opts.baseline
    if opts.baseline == "none":
        baseline = run.run_id  # comparing with itself: only thresholds can fail
    comparison = RunComparison.model_validate(
        opts.api.get(
            f"/api/eval-runs/{run.run_id}/compare",
            baseline=baseline,
            threshold=[f"{k}={v}" for k, v in opts.thresholds.items()],
            tolerance=opts.tolerance,
        )
    )
    if opts.baseline == "none":
        comparison.baseline_run_id = None
    print_report(out, run, comparison, outcomes, elapsed)
    return 0 if comparison.passed else 1
