"""Pydantic models of the key and project endpoints (`/api/keys`, `/api/projects`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
# A key of this project acts on every project; only admin keys may have it.
ALL_PROJECTS = "*"
MAX_RETENTION_DAYS = 3650


class Scope(StrEnum):
    """What a key may do: ingest sends telemetry (and scores); read queries and annotates;
    admin also changes configuration (keys, retention, alert and evaluator rules)."""

    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"


class KeyCreate(BaseModel):
    scope: Scope
    name: str = Field("", max_length=200, description="what the key is for, e.g. 'support-bot prod'")
    project: str | None = Field(None, max_length=100, description="project of the key; default: the caller's project")


class KeyInfo(BaseModel):
    """A key as listed: never the secret, only its prefix."""

    key_id: str
    prefix: str = Field(description="first characters of the key, to recognise it")
    project: str
    scope: Scope
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class KeyCreated(KeyInfo):
    key: str = Field(description="the secret; shown once, store it now")


class KeyList(BaseModel):
    keys: list[KeyInfo]


class ProjectSettings(BaseModel):
    project: str
    retention_days: int = Field(description="spans and scores expire this many days after their start")


class RetentionUpdate(BaseModel):
    retention_days: int = Field(..., ge=1, le=MAX_RETENTION_DAYS)


class TableUsage(BaseModel):
    table: str
    rows: int
    bytes_on_disk: int = Field(description="compressed bytes, estimated (see ProjectUsage)")


class ProjectUsage(BaseModel):
    """Storage a project uses. Rows are exact; bytes are estimated: each table's compressed size on
    disk apportioned by the project's share of the table's rows (ClickHouse keeps no per-project
    size, and parts are shared by projects)."""

    project: str
    retention_days: int
    rows: int
    bytes_on_disk: int
    tables: list[TableUsage]


class ProjectList(BaseModel):
    projects: list[ProjectSettings]


class Whoami(BaseModel):
    """The caller as the collector sees it."""

    auth: bool = Field(description="whether this collector requires keys")
    project: str
    scope: Scope
    key_prefix: str | None = None
