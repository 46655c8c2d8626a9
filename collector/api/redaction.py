"""Redaction rules of a project: read, replace, reset, and try on a sample text."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from spanscope.collector.api.deps import admin_project_of, collector_of, run_blocking, storage_of
from spanscope.collector.security.redaction import config_problem, redactor_for, store_api_config
from spanscope.collector.storage import Storage
from spanscope.schemas.redaction import (
    BuiltinRule,
    RedactionConfig,
    RedactionPreview,
    RedactionPreviewRequest,
    RedactionView,
)
from spanscope.schemas.redaction_rules import BUILTIN_RULES

router = APIRouter(prefix="/api", tags=["redaction"])


def _view(request: Request, project: str) -> RedactionView:
    config, source = collector_of(request).ingestor.redaction.config(project)
    builtins = [
        BuiltinRule(
            name=r.name,
            description=r.description,
            enabled=config.builtins and r.name not in config.disabled_builtins,
        )
        for r in BUILTIN_RULES
    ]
    return RedactionView(project=project, source=source, config=config, builtin_rules=builtins)


@router.get(
    "/redaction",
    summary="The project's redaction rules as applied at ingest",
    description="`source` says where they come from: `api` (set here), `file` (SPANSCOPE_REDACTION_FILE) "
    "or `default` (the built-in rules).",
)
async def get_redaction(
    request: Request, project: Annotated[str, Depends(admin_project_of)]
) -> RedactionView:
    return _view(request, project)


@router.put(
    "/redaction",
    summary="Replace the project's redaction rules",
    description="Applies to spans and log content received from now on, on every collector sharing the "
    "database (others pick it up within seconds). Stored content is not rewritten. "
    "An invalid pattern or an unknown built-in rule name is refused with 400.",
)
async def put_redaction(
    body: RedactionConfig,
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> RedactionView:
    problem = config_problem(body)
    if problem:
        raise HTTPException(400, problem)
    await run_blocking(lambda: store_api_config(storage, project, body))
    collector_of(request).ingestor.redaction.set_api(project, body)
    return _view(request, project)


@router.delete(
    "/redaction",
    summary="Drop the project's API rules (back to the file's or the built-in rules)",
)
async def delete_redaction(
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> RedactionView:
    await run_blocking(lambda: store_api_config(storage, project, None))
    collector_of(request).ingestor.redaction.set_api(project, None)
    return _view(request, project)


@router.post(
    "/redaction/preview",
    summary="Redact a sample text with the project's rules (nothing is stored)",
)
async def preview_redaction(
    body: RedactionPreviewRequest,
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
) -> RedactionPreview:
    config, _ = collector_of(request).ingestor.redaction.config(project)
    redactor = redactor_for(config)
    counts: Counter[str] = Counter()
    text = await run_blocking(lambda: redactor.text(body.text, counts)) if redactor else body.text
    return RedactionPreview(text=text, redactions=dict(counts))
