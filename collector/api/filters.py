"""Filter options: the distinct values present in a range, for the dashboard's filter widgets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from spanscope.collector.api.deps import blocking, project_of, storage_of, time_range
from spanscope.collector.api.querying import PROJECT, Params, TimeRange, plan_rollup, rollup_from, span_time
from spanscope.collector.storage import Storage
from spanscope.schemas.models import FilterOptions, PromptRef

router = APIRouter(prefix="/api", tags=["filters"])

# Tags and releases are not in the rollups: they are read from raw spans of at most this recent part
# of the range, so the widget stays fast on long ranges.
RAW_SCAN_US = 7 * 86400 * 1_000_000


def _present(values: list[str]) -> list[str]:
    """Sorted, without the empty value (a span without a service, say)."""
    return sorted(v for v in values if v)


@router.get(
    "/filters",
    summary="Distinct services, environments, kinds, names, models, providers, prompts, score names, tags",
    description="Values seen in the range (tags and releases: in its last 7 days), sorted, "
    "at most `limit` each.",
)
async def filter_options(
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> FilterOptions:
    def run() -> FilterOptions:
        p = Params(project)
        db = storage.database
        plan = plan_rollup(tr)
        n = int(limit)
        dims = storage.query_dicts(
            f"SELECT groupUniqArray({n})(service) AS services, groupUniqArray({n})(environment) AS "
            "environments, "
            f"groupUniqArray({n})(kind) AS kinds, groupUniqArray({n})(name) AS names, "
            f"groupUniqArrayIf({n})(model, model != '') AS models, "
            f"groupUniqArrayIf({n})(provider, provider != '') AS providers, "
            f"groupUniqArrayIf({n})((prompt_name, prompt_version), prompt_name != '') AS prompts "
            f"FROM {rollup_from(db, p, plan, '1')}",
            p.values,
        )[0]
        raw_lo = max(tr.start_us, tr.end_us - RAW_SCAN_US)
        raw = storage.query_dicts(
            f"SELECT groupUniqArrayArray({n})(tags) AS tags, groupUniqArrayIf({n})(release, release "
            "!= '') AS releases "
            f"FROM {db}.spans WHERE {PROJECT} AND {span_time(p, raw_lo, tr.end_us)}",
            p.values,
        )[0]
        score_names = [
            r[0]
            for r in storage.query(
                f"SELECT DISTINCT name FROM {db}.scores WHERE {PROJECT} "
                f"AND timestamp >= {p.micros(tr.start_us)} ORDER BY name LIMIT {n}",
                p.values,
            )
        ]
        prompts = sorted({(str(a), str(b)) for a, b in dims["prompts"]})
        return FilterOptions(
            start=tr.start,
            end=tr.end,
            services=_present(dims["services"]),
            environments=_present(dims["environments"]),
            kinds=_present(dims["kinds"]),
            names=_present(dims["names"]),
            models=sorted(dims["models"]),
            providers=sorted(dims["providers"]),
            prompt_names=sorted({a for a, _ in prompts}),
            prompt_versions=[PromptRef(prompt_name=a, prompt_version=b) for a, b in prompts],
            score_names=score_names,
            tags=sorted(raw["tags"]),
            releases=sorted(raw["releases"]),
        )

    return await blocking(run)
