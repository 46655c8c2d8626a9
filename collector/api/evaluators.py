"""Evaluator configuration of a project (`/api/evaluators`): the online evaluators, their JSON
Schemas, and a dry run of evaluators on a record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Request
from pydantic import BaseModel, Field, ValidationError
from spanscope.collector.api.deps import admin_project_of, blocking, collector_of, project_of, storage_of
from spanscope.collector.evals.config import ConfigError, check_document, validation_problems, write_stored
from spanscope.collector.evals.evaluators import EvaluatorError, evaluate_one, evaluate_record, schema_validator
from spanscope.collector.evals.online import OnlineEvaluators
from spanscope.collector.storage import Storage
from spanscope.schemas.evals import EvalRecord, EvalResult, EvaluatorConfig, EvaluatorsDocument, EvaluatorsState

router = APIRouter(prefix="/api", tags=["evaluators"])

SchemaName = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:\-]{1,200}$", description="letters, digits, _ . : -")]


class PreviewIn(BaseModel):
    record: EvalRecord
    evaluators: list[EvaluatorConfig] | None = Field(
        None, description="evaluators to run; default: the project's, filtered by their `match`"
    )


def _service(request: Request) -> OnlineEvaluators:
    service: OnlineEvaluators = collector_of(request).evaluators
    return service


def _state(service: OnlineEvaluators, project: str) -> EvaluatorsState:
    config = service.config_of(project)
    return EvaluatorsState(
        project=project,
        source=config.source,
        updated_at=config.updated_at,
        evaluators=config.document.evaluators,
        schemas=config.document.schemas,
    )


def _checked(doc: EvaluatorsDocument) -> EvaluatorsDocument:
    try:
        return check_document(doc)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from None


async def _store(service: OnlineEvaluators, storage: Storage, project: str, doc: EvaluatorsDocument | None) -> None:
    await blocking(lambda: write_stored(storage, project, doc))
    service.set_stored(project, doc)


@router.get("/evaluators", summary="The project's evaluators and JSON Schemas, and where they come from")
async def get_evaluators(request: Request, project: Annotated[str, Depends(project_of)]) -> EvaluatorsState:
    return _state(_service(request), project)


@router.put(
    "/evaluators",
    summary="Replace the project's evaluators (and schemas)",
    description="Validated whole: a bad evaluator (unknown type, bad params, a python callable that cannot be "
    "imported, an invalid JSON Schema) is refused with 422 naming it, and nothing changes. Takes effect at once "
    "for spans stored from now on. The stored configuration replaces SPANSCOPE_EVALUATORS_FILE for this project.",
)
async def put_evaluators(
    request: Request,
    body: EvaluatorsDocument,
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> EvaluatorsState:
    service = _service(request)
    await _store(service, storage, project, _checked(body))
    return _state(service, project)


@router.delete(
    "/evaluators",
    summary="Remove the stored configuration (the evaluators file applies again, if any)",
)
async def delete_evaluators(
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> EvaluatorsState:
    service = _service(request)
    await _store(service, storage, project, None)
    return _state(service, project)


@router.get("/evaluators/schemas", summary="JSON Schemas registered for json_schema evaluators")
async def get_schemas(request: Request, project: Annotated[str, Depends(project_of)]) -> dict[str, dict[str, Any]]:
    return _service(request).config_of(project).document.schemas


@router.put(
    "/evaluators/schemas/{name}",
    summary="Register (or replace) a JSON Schema by name",
    description="The body is the JSON Schema itself; an invalid schema is refused with 422.",
)
async def put_schema(
    request: Request,
    name: SchemaName,
    schema: Annotated[dict[str, Any], Body(description="a JSON Schema (draft 4 to 2020-12)")],
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> EvaluatorsState:
    try:
        schema_validator(schema)
    except EvaluatorError as exc:
        raise HTTPException(422, f"schema {name!r}: {exc}") from None
    service = _service(request)
    current = service.config_of(project).document
    doc = EvaluatorsDocument(evaluators=current.evaluators, schemas={**current.schemas, name: schema})
    await _store(service, storage, project, doc)
    return _state(service, project)


@router.delete("/evaluators/schemas/{name}", summary="Remove a JSON Schema that no evaluator uses")
async def delete_schema(
    request: Request,
    name: SchemaName,
    project: Annotated[str, Depends(admin_project_of)],
    storage: Annotated[Storage, Depends(storage_of)],
) -> EvaluatorsState:
    service = _service(request)
    current = service.config_of(project).document
    if name not in current.schemas:
        raise HTTPException(404, f"no JSON Schema named {name!r} in project {project!r}")
    schemas = {k: v for k, v in current.schemas.items() if k != name}
    try:
        doc = EvaluatorsDocument(evaluators=current.evaluators, schemas=schemas)
    except ValidationError as exc:
        raise HTTPException(409, "; ".join(validation_problems(exc))) from None
    await _store(service, storage, project, doc)
    return _state(service, project)


@router.post(
    "/evaluators/preview",
    summary="Run evaluators on a record without storing anything",
    description="For trying an evaluator before enabling it. Failures (a raising or hanging callable, a judge "
    "that does not answer) come back as results with `error` set.",
)
async def preview(
    request: Request,
    body: PreviewIn,
    project: Annotated[str, Depends(project_of)],
) -> list[EvalResult]:
    config = _service(request).config_of(project).document
    if body.evaluators is not None:
        try:
            doc = check_document(EvaluatorsDocument(evaluators=body.evaluators, schemas=config.schemas))
        except ValidationError as exc:
            raise HTTPException(422, "; ".join(validation_problems(exc))) from None
        except ConfigError as exc:
            raise HTTPException(422, str(exc)) from None
        explicit = doc.evaluators
        results = await blocking(lambda: [evaluate_one(e, body.record, config.schemas) for e in explicit])
        return [r for r in results if r is not None]
    return await blocking(lambda: evaluate_record(body.record, config.evaluators, config.schemas))
