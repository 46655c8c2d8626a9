"""Scores: evaluations and feedback attached to traces or spans (`spanscope.scores`)."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from spanscope.collector.api.deps import blocking, collector_of, project_of, scores_project_of, storage_of
from spanscope.collector.api.querying import Params
from spanscope.collector.api.traces import TraceIdPath, normalize_trace_id, trace_scores
from spanscope.collector.storage import Storage
from spanscope.schemas.models import ScoreList, ScoresAccepted, ScoresIn

router = APIRouter(prefix="/api", tags=["scores"])


def _unix(ts: float) -> str:
    return f"{ts:.6f}"


@router.post(
    "/scores",
    summary="Add scores (a batch, inserted at once)",
    description="The SDK's `spanscope.score()` posts here. "
    "A batch retried with the same body is stored once. "
    "Malformed scores are refused with 422 and a message naming the field; nothing of that batch is stored.",
)
async def post_scores(
    body: ScoresIn,
    request: Request,
    project: Annotated[str, Depends(scores_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ScoresAccepted:
    retention = collector_of(request).projects.retention_days(project)
    token = hashlib.blake2b(
        project.encode() + b"\0" + body.model_dump_json().encode(), digest_size=16
    ).hexdigest()
    now = time.time()
    ids: list[str] = []
    lines: list[bytes] = []
    for s in body.scores:
        score_id = s.score_id or uuid.uuid4().hex
        ids.append(score_id)
        lines.append(
            orjson.dumps(
                {
                    "project_id": project,
                    "score_id": score_id,
                    "trace_id": s.trace_id,
                    "span_id": s.span_id or "",
                    "name": s.name,
                    "value": s.value,
                    "string_value": s.string_value or "",
                    "data_type": s.data_type,
                    "source": s.source,
                    "comment": s.comment or "",
                    "author": s.author or "",
                    "timestamp": _unix(s.timestamp.timestamp() if s.timestamp else now),
                    "retention_days": retention,
                }
            )
        )
    payload = b"\n".join(lines)
    await blocking(lambda: storage.insert_json_rows("scores", payload, dedup_token=f"scores-{token}"))
    return ScoresAccepted(accepted=len(ids), score_ids=ids)


@router.get("/traces/{trace_id}/scores", summary="Scores of one trace (and of its spans)")
async def get_trace_scores(
    trace_id: TraceIdPath,
    project: Annotated[str, Depends(project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> ScoreList:
    tid = normalize_trace_id(trace_id)
    scores = await blocking(lambda: trace_scores(storage, Params(project), tid))
    return ScoreList(trace_id=tid, scores=scores)
