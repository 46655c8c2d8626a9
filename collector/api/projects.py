"""Project settings (retention) and the storage a project uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from spanscope.collector.api.deps import admin_project_of, blocking, collector_of, project_of, storage_of
from spanscope.collector.security.auth import PrincipalDep
from spanscope.collector.storage import Storage
from spanscope.schemas.security import ProjectList, ProjectSettings, ProjectUsage, RetentionUpdate

router = APIRouter(prefix="/api", tags=["projects"])


@router.get("/project", summary="Settings of the project: retention")
async def get_project(request: Request, project: Annotated[str, Depends(project_of)]) -> ProjectSettings:
    return collector_of(request).projects.settings(project)


@router.put(
    "/project/retention",
    summary="Change the project's retention (admin)",
    description="New spans and scores get the new retention at once; the project's stored rows are "
    "moved to it by a background mutation, after which expired rows are dropped by the table TTL.",
)
async def set_retention(
    body: RetentionUpdate,
    request: Request,
    project: Annotated[str, Depends(admin_project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> ProjectSettings:
    projects = collector_of(request).projects
    return await blocking(lambda: projects.set_retention(project, body.retention_days))


@router.get(
    "/project/usage",
    summary="Storage used by the project: rows per table and estimated compressed bytes",
)
async def project_usage(
    request: Request,
    project: Annotated[str, Depends(project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> ProjectUsage:
    projects = collector_of(request).projects
    return await blocking(lambda: projects.usage(project))


@router.get("/projects", summary="Projects the caller can see: every project for an instance admin key")
async def list_projects(
    request: Request,
    principal: PrincipalDep,
    project: Annotated[str, Depends(project_of)],
    _storage: Annotated[Storage, Depends(storage_of)],
) -> ProjectList:
    projects = collector_of(request).projects
    names = await blocking(projects.known) if principal.all_projects else [project]
    if project not in names:
        names = sorted([*names, project])
    return ProjectList(projects=[projects.settings(p) for p in names])
