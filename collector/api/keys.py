"""API keys of a project: create (the secret is returned once), list (prefixes only), revoke."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from spanscope.collector.api.deps import admin_project_of, blocking, collector_of, storage_of
from spanscope.collector.security.auth import PrincipalDep
from spanscope.collector.security.keys import UnknownKey
from spanscope.collector.storage import Storage
from spanscope.schemas.security import (
    ALL_PROJECTS,
    PROJECT_PATTERN,
    KeyCreate,
    KeyCreated,
    KeyInfo,
    KeyList,
    Scope,
    Whoami,
)

router = APIRouter(prefix="/api", tags=["keys"])

_PROJECT = re.compile(PROJECT_PATTERN)


@router.post("/keys", summary="Create a key (admin); the response is the only time the key is shown", status_code=201)
async def create_key(
    body: KeyCreate,
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> KeyCreated:
    if project == ALL_PROJECTS:
        if body.scope is not Scope.ADMIN:
            raise HTTPException(400, "a key for every project ('*') must have the admin scope")
    elif not _PROJECT.match(project):
        raise HTTPException(400, f"project names are letters, digits, '.', '_' and '-' (at most 100), got {project!r}")
    keys = collector_of(request).keys
    token, record = await blocking(lambda: keys.create(project, body.scope, body.name))
    return KeyCreated(key=token, **record.info().model_dump())


@router.get("/keys", summary="Keys of the project (admin): prefixes and dates, never the secrets")
async def list_keys(
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> KeyList:
    keys = collector_of(request).keys
    records = await blocking(lambda: keys.list(project))
    return KeyList(keys=[r.info() for r in records])


@router.delete("/keys/{key_id}", summary="Revoke a key (admin); requests with it fail from now on")
async def revoke_key(
    key_id: Annotated[str, Path(min_length=4, max_length=64, description="key id or prefix")],
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> KeyInfo:
    keys = collector_of(request).keys
    try:
        record = await blocking(lambda: keys.revoke(key_id, project))
    except UnknownKey as exc:
        raise HTTPException(404, str(exc)) from None
    return record.info()


@router.get("/whoami", summary="The caller's project and scope, and whether this collector requires keys")
async def whoami(request: Request, principal: PrincipalDep) -> Whoami:
    c = collector_of(request)
    project = c.settings.project if principal.all_projects and not c.auth.enabled else principal.project
    return Whoami(auth=c.auth.enabled, project=project, scope=principal.scope, key_prefix=principal.key_prefix)
