"""Read-only SQL over the spanscope database.

With embedded storage the collector owns the chDB data directory, so this endpoint is how users and
tools run their own SQL against `spanscope.spans`. Statements run on a readonly=2 connection.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field
from spanscope.collector.api.deps import collector_of, run_blocking

router = APIRouter(prefix="/api", tags=["sql"])


class SqlRequest(BaseModel):
    query: str = Field(
        ..., min_length=1, max_length=100_000, description="one SELECT/SHOW/DESCRIBE statement"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="values for {name:Type} placeholders")
    max_rows: int = Field(10_000, ge=1, le=1_000_000)


@router.post(
    "/sql",
    summary="Run one read-only SQL statement",
    description="Result as ClickHouse JSONCompact: `meta` (column names and types), `data` (rows), `rows`.",
)
async def run_sql(req: SqlRequest, request: Request) -> Response:
    query = req.query.strip().rstrip(";").strip()
    if ";" in query:
        raise HTTPException(400, "send one statement per request (no ';' inside the query)")
    storage = collector_of(request).storage

    def run() -> bytes:
        return storage.readonly_client.raw_query(
            query,
            parameters=req.params,
            fmt="JSONCompact",
            settings={
                "max_result_rows": req.max_rows,
                "result_overflow_mode": "break",
                "max_execution_time": 30,
                "output_format_json_quote_64bit_integers": 0,
            },
        )

    try:
        body = await run_blocking(run)
    except Exception as exc:
        raise HTTPException(400, f"query failed: {str(exc).splitlines()[0][:500]}") from exc
    return Response(body, media_type="application/json")
