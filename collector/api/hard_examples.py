"""Hard examples: traces with low scores, negative feedback, failed evaluators, guardrail blocks,
fallbacks or errors, to review and add to a dataset."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from spanscope.collector.api.deps import blocking, project_of, storage_of, time_range
from spanscope.collector.api.querying import TimeRange
from spanscope.collector.evals.curation import hard_examples
from spanscope.collector.storage import Storage
from spanscope.schemas.datasets import HardExampleFilter, HardExampleList, check_dataset_name

router = APIRouter(prefix="/api", tags=["curation"])


@router.get(
    "/hard-examples",
    summary="Traces worth turning into test cases, newest first, with the reasons",
    description="Reasons: low_score (a numeric score ≤ max_score, only score_name when given), "
    "negative_feedback (boolean false, a negative number or a label like thumbs_down, not from an evaluator), "
    "evaluator_failure (an evaluator's false, 'fail' or score ≤ max_score), guardrail_block, fallback, error. "
    "Input and output come from the root span, or with span=generation from the trace's last LLM call. "
    "With `dataset`, each example says whether its input is already in that dataset. "
    "POST /api/datasets/{name}/items:from-filter adds what the same filter finds.",
)
async def get_hard_examples(
    filters: Annotated[HardExampleFilter, Query()],
    project: Annotated[str, Depends(project_of)],
    tr: Annotated[TimeRange, Depends(time_range)],
    storage: Annotated[Storage, Depends(storage_of)],
    dataset: Annotated[str | None, Query(max_length=100, description="mark inputs already in this dataset")] = None,
) -> HardExampleList:
    if dataset is not None:
        try:
            check_dataset_name(dataset)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
    items = await blocking(lambda: hard_examples(storage, project, filters, tr, dataset))
    return HardExampleList(start=tr.start, end=tr.end, items=items)
