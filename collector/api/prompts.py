"""Prompts: usage per prompt, and per-version quality/cost with a significance test between versions.

A version's *calls* are its logical LLM calls: spans with that prompt name and version and
`is_llm_call = 1` (a call served by a fallback counts once). Tests between a baseline and a
candidate version (two-sided, `alpha` default 0.05):

- latency and cost per call: Mann-Whitney U on the per-call values (up to 20,000 sampled per version);
- error, fallback and off-format rates: chi-square test of independence on the 2×2 table
  (with Yates' correction), or Fisher's exact test when an expected count is below 5;
- numeric scores (per score name present for both versions): Mann-Whitney U.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from scipy import stats
from spanscope.collector.api.deps import blocking, project_of, storage_of, time_range
from spanscope.collector.api.metrics import span_filters
from spanscope.collector.api.querying import (
    PROJECT,
    Params,
    QueryError,
    SpanFilters,
    TimeRange,
    from_us,
    plan_rollup,
    rollup_from,
    span_time,
)
from spanscope.collector.storage import Storage
from spanscope.schemas.metrics import METRICS, Metric, alias, metric_value, select_list
from spanscope.schemas.models import (
    PromptList,
    PromptSummary,
    PromptVersionsResponse,
    PromptVersionStats,
    ScoreStat,
    SignificanceTest,
    SpanFilterParams,
    VersionComparison,
)

router = APIRouter(prefix="/api", tags=["prompts"])

SAMPLE = 20_000
METHOD = (
    "two-sided; Mann-Whitney U for latency, cost per call and numeric scores; chi-square test of "
    "independence (Yates) for rates, Fisher's exact test when an expected count is below 5"
)
# (test name, numerator count, denominator count): the same counts as the rate metrics.
_RATE_TESTS = (
    ("error_rate", Metric.ERRORS, Metric.SPANS),
    ("fallback_rate", Metric.FALLBACKS, Metric.LLM_CALLS),
    ("off_format_rate", Metric.OFF_FORMAT, Metric.VALIDATED),
)
_STAT_METRICS = (
    Metric.SPANS,
    Metric.LATENCY_P50,
    Metric.LATENCY_P95,
    Metric.ERRORS,
    Metric.ERROR_RATE,
    Metric.LLM_CALLS,
    Metric.FALLBACKS,
    Metric.FALLBACK_RATE,
    Metric.VALIDATED,
    Metric.OFF_FORMAT,
    Metric.OFF_FORMAT_RATE,
)


def rate_test(name: str, k1: int, n1: int, k2: int, n2: int, alpha: float) -> SignificanceTest:
    """Baseline k1/n1 against candidate k2/n2: chi-square on the 2×2 table, Fisher when sparse."""
    r1 = k1 / n1 if n1 else None
    r2 = k2 / n2 if n2 else None
    p_value: float | None = None
    test: Literal["chi-square", "fisher-exact"] = "chi-square"
    if n1 and n2:
        table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
        if table.sum(axis=0).min() == 0:
            p_value = 1.0  # both versions all-success or all-failure: no difference to test
        else:
            expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
            if expected.min() < 5:
                test = "fisher-exact"
                p_value = float(stats.fisher_exact(table).pvalue)
            else:
                p_value = float(stats.chi2_contingency(table, correction=True).pvalue)
    return SignificanceTest(
        metric=name,
        test=test,
        baseline=r1,
        candidate=r2,
        difference=None if r1 is None or r2 is None else r2 - r1,
        p_value=p_value,
        significant=p_value is not None and p_value < alpha,
        n_baseline=n1,
        n_candidate=n2,
    )


def mann_whitney(name: str, a: Sequence[float], b: Sequence[float], alpha: float) -> SignificanceTest:
    """Baseline sample a against candidate sample b (two-sided); difference of medians."""
    ma = float(np.median(a)) if len(a) else None
    mb = float(np.median(b)) if len(b) else None
    p_value: float | None = None
    if len(a) and len(b):
        if len(set(a)) == 1 and set(a) == set(b):
            p_value = 1.0
        else:
            p_value = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
        if math.isnan(p_value):
            p_value = None
    return SignificanceTest(
        metric=name,
        test="mann-whitney-u",
        baseline=ma,
        candidate=mb,
        difference=None if ma is None or mb is None else mb - ma,
        p_value=p_value,
        significant=p_value is not None and p_value < alpha,
        n_baseline=len(a),
        n_candidate=len(b),
    )


def _version_rows(storage: Storage, p: Params, prompt: str, tr: TimeRange, f: SpanFilters) -> list[dict[str, Any]]:
    where = (
        f"{PROJECT} AND {span_time(p, tr.start_us, tr.end_us)} AND prompt_name = {p.bind(prompt, 'String')} "
        f"AND is_llm_call = 1 AND {f.sql(p, 'spans')}"
    )
    return storage.query_dicts(
        f"SELECT prompt_version AS version, {select_list(_STAT_METRICS, 'spans')}, avg(cost_usd) AS "
        "cost_per_call, "
        "avg(input_tokens) AS mean_in, avg(output_tokens) AS mean_out, "
        "toUnixTimestamp64Micro(min(start_time)) AS first_us, "
        "toUnixTimestamp64Micro(max(start_time)) AS last_us, "
        f"groupArraySample({SAMPLE}, 7)(duration_ms) AS latency_sample, "
        f"groupArraySample({SAMPLE}, 11)(cost_usd) AS cost_sample "
        f"FROM {storage.database}.spans WHERE {where} GROUP BY version ORDER BY first_us, version",
        p.values,
    )


def _score_rows(storage: Storage, p: Params, prompt: str, tr: TimeRange, f: SpanFilters) -> list[dict[str, Any]]:
    db = storage.database
    return storage.query_dicts(
        f"SELECT t.version AS version, s.name AS name, avg(s.value) AS mean, count() AS n, "
        f"groupArraySample({SAMPLE}, 3)(s.value) AS sample "
        f"FROM {db}.scores AS s INNER JOIN (SELECT DISTINCT trace_id, prompt_version AS version FROM "
        f"{db}.spans "
        f"WHERE {PROJECT} AND {span_time(p, tr.start_us, tr.end_us)} AND prompt_name = "
        f"{p.bind(prompt, 'String')} AND {f.sql(p, 'spans')}) "
        "AS t ON s.trace_id = t.trace_id "
        f"WHERE s.project_id = {{project:String}} AND s.value IS NOT NULL GROUP BY version, name",
        p.values,
    )


def compare_versions(
    storage: Storage,
    project: str,
    prompt: str,
    tr: TimeRange,
    baseline: str | None,
    candidate: str | None,
    alpha: float,
    filters: SpanFilters | None = None,
) -> PromptVersionsResponse | None:
    p = Params(project)
    f = filters or SpanFilters()
    rows = _version_rows(storage, p, prompt, tr, f)
    if not rows:
        return None
    score_rows = _score_rows(storage, p, prompt, tr, f)
    by_version = {r["version"]: r for r in rows}
    scores: dict[str, dict[str, dict[str, Any]]] = {}
    for s in score_rows:
        scores.setdefault(s["version"], {})[s["name"]] = s
    versions = []
    for r in rows:
        versions.append(
            PromptVersionStats(
                version=r["version"],
                calls=int(r[alias(Metric.SPANS)]),
                first_seen=from_us(int(r["first_us"])),
                last_seen=from_us(int(r["last_us"])),
                latency_p50=metric_value(Metric.LATENCY_P50, r[alias(Metric.LATENCY_P50)]),
                latency_p95=metric_value(Metric.LATENCY_P95, r[alias(Metric.LATENCY_P95)]),
                cost_per_call=metric_value(Metric.COST, r["cost_per_call"]),
                mean_input_tokens=metric_value(Metric.INPUT_TOKENS, r["mean_in"]),
                mean_output_tokens=metric_value(Metric.OUTPUT_TOKENS, r["mean_out"]),
                error_rate=metric_value(Metric.ERROR_RATE, r[alias(Metric.ERROR_RATE)]),
                fallback_rate=metric_value(Metric.FALLBACK_RATE, r[alias(Metric.FALLBACK_RATE)]),
                off_format_rate=metric_value(Metric.OFF_FORMAT_RATE, r[alias(Metric.OFF_FORMAT_RATE)]),
                scores={
                    n: ScoreStat(mean=metric_value(Metric.COST, s["mean"]), count=int(s["n"]))
                    for n, s in sorted(scores.get(r["version"], {}).items())
                },
            )
        )
    resp = PromptVersionsResponse(prompt_name=prompt, start=tr.start, end=tr.end, versions=versions)
    if baseline is None and candidate is None:
        if len(rows) < 2:
            return resp
        baseline, candidate = rows[-2]["version"], rows[-1]["version"]
    if baseline is None or candidate is None:
        raise QueryError("give both baseline and candidate, or neither")
    for v in (baseline, candidate):
        if v not in by_version:
            raise QueryError(f"version {v!r} of prompt {prompt!r} has no calls in the range")
    b, c = by_version[baseline], by_version[candidate]
    tests = [
        mann_whitney("latency_ms", list(b["latency_sample"]), list(c["latency_sample"]), alpha),
        mann_whitney("cost_per_call_usd", list(b["cost_sample"]), list(c["cost_sample"]), alpha),
    ]
    for name, num, den in _RATE_TESTS:
        tests.append(
            rate_test(
                name, int(b[alias(num)]), int(b[alias(den)]), int(c[alias(num)]), int(c[alias(den)]), alpha
            )
        )
    sb, sc = scores.get(baseline, {}), scores.get(candidate, {})
    for name in sorted(set(sb) & set(sc)):
        tests.append(mann_whitney(f"score:{name}", list(sb[name]["sample"]), list(sc[name]["sample"]), alpha))
    resp.comparison = VersionComparison(
        baseline=baseline, candidate=candidate, alpha=alpha, method=METHOD, tests=tests
    )
    return resp


@router.get(
    "/prompts/{prompt_name}/versions",
    summary="Per-version stats of a prompt and a significance test between two versions",
    description=__doc__ or "",
    responses={404: {"description": "no calls of this prompt in the range"}},
)
async def prompt_versions(
    prompt_name: Annotated[str, Path(max_length=500)],
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    baseline: Annotated[
        str | None, Query(max_length=200, description="default: the second newest version")
    ] = None,
    candidate: Annotated[str | None, Query(max_length=200, description="default: the newest version")] = None,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
) -> PromptVersionsResponse:
    resp = await blocking(
        lambda: compare_versions(storage, project, prompt_name, tr, baseline, candidate, alpha, span_filters(filters))
    )
    if resp is None:
        raise HTTPException(404, f"no calls of prompt {prompt_name!r} in the range")
    return resp


@router.get("/prompts", summary="Prompts used in the range with their versions, calls and cost")
async def list_prompts(
    filters: Annotated[SpanFilterParams, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> PromptList:
    def run() -> PromptList:
        p = Params(project)
        plan = plan_rollup(tr)
        matching = span_filters(filters).sql(p, "rollup")
        source = rollup_from(storage.database, p, plan, f"prompt_name != '' AND {matching}")
        rows = storage.query_dicts(
            "SELECT prompt_name, arraySort(groupUniqArray(prompt_version)) AS versions, "
            f"{METRICS[Metric.LLM_CALLS].rollup} AS calls, {METRICS[Metric.COST].rollup} AS cost, "
            f"toUnixTimestamp(max(ts)) AS last_s FROM {source} "
            "GROUP BY prompt_name ORDER BY prompt_name",
            p.values,
        )
        return PromptList(
            start=tr.start,
            end=tr.end,
            prompts=[
                PromptSummary(
                    prompt_name=r["prompt_name"],
                    versions=list(r["versions"]),
                    calls=int(r["calls"]),
                    cost_usd=float(r["cost"]),
                    last_seen=from_us(int(r["last_s"]) * 1_000_000),
                )
                for r in rows
            ],
        )

    return await blocking(run)
