"""Request authentication: which key a request carries, what it may do, and for which project.

Auth is on when the collector listens beyond loopback (or SPANSCOPE_AUTH=on). Off, every request
acts for the project it names (default: the collector's), exactly as a local single-user install
expects. On, a request needs a key: 401 when it has none, or an unknown or revoked one; 403 when
the key's scope does not allow the call or the request names another project than the key's.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request
from spanscope.collector.security.keys import KeyRecord, KeyStore
from spanscope.schemas.security import ALL_PROJECTS, Scope

if TYPE_CHECKING:
    from starlette.datastructures import Headers

log = logging.getLogger("spanscope.auth")

AUTH_MODES = ("auto", "on", "off")
WWW_AUTHENTICATE = {"WWW-Authenticate": 'Bearer realm="spanscope"'}

INGEST = frozenset({Scope.INGEST, Scope.ADMIN})
READ = frozenset({Scope.READ, Scope.ADMIN})
# Scores come from applications (the SDK sends them with its ingest key) and from people reading.
ANNOTATE = frozenset({Scope.INGEST, Scope.READ, Scope.ADMIN})
ADMIN = frozenset({Scope.ADMIN})


class AuthError(Exception):
    """A request that may not proceed: 401 (who are you?), 403 (not allowed) or 503 (cannot check)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def http(self) -> HTTPException:
        headers = dict(WWW_AUTHENTICATE) if self.status == 401 else None
        if self.status == 503:
            headers = {"Retry-After": "2"}
        return HTTPException(self.status, str(self), headers=headers)


@dataclass(frozen=True)
class Principal:
    """Who a request acts as. `project` is `*` for instance admin keys and when auth is off."""

    project: str
    scope: Scope
    key_prefix: str | None = None

    @property
    def all_projects(self) -> bool:
        return self.project == ALL_PROJECTS


ANONYMOUS = Principal(ALL_PROJECTS, Scope.ADMIN)


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def auth_enabled(mode: str, host: str) -> bool:
    """`auto`: on unless the collector listens on loopback only."""
    if mode not in AUTH_MODES:
        raise ValueError(f"SPANSCOPE_AUTH must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    if mode == "auto":
        return not is_loopback(host)
    return mode == "on"


def token_from(headers: Headers) -> str | None:
    """`Authorization: Bearer <key>` (what OTLP exporters send from OTEL_EXPORTER_OTLP_HEADERS) or
    `x-api-key: <key>`."""
    auth = headers.get("authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class Authenticator:
    def __init__(self, enabled: bool, keys: KeyStore, default_project: str) -> None:
        self.enabled = enabled
        self.keys = keys
        self.default_project = default_project

    def authenticate(self, headers: Headers) -> Principal:
        if not self.enabled:
            return ANONYMOUS
        token = token_from(headers)
        if token is None:
            raise AuthError(401, "an API key is required: send `Authorization: Bearer <key>`")
        try:
            record: KeyRecord | None = self.keys.verify(token)
        except Exception as exc:
            log.warning("cannot verify a key: %s", exc)
            raise AuthError(503, "cannot verify the API key right now (storage unavailable); retry") from exc
        if record is None:
            raise AuthError(401, "unknown or revoked API key")
        return Principal(record.project, record.scope, record.prefix)

    def require(self, headers: Headers, allowed: frozenset[Scope]) -> Principal:
        principal = self.authenticate(headers)
        if principal.scope not in allowed:
            need = " or ".join(sorted(s.value for s in allowed))
            raise AuthError(403, f"this {principal.scope.value} key cannot do this; it needs a {need} key")
        return principal

    def project_for(self, principal: Principal, requested: str | None) -> str:
        """The project a request acts on: the key's own; a different `project` is refused (403)."""
        if principal.all_projects:
            return requested or self.default_project
        if requested and requested != principal.project:
            raise AuthError(403, f"this key belongs to project {principal.project!r}, not {requested!r}")
        return principal.project

    def ingest_project(self, headers: Headers) -> tuple[str | None, bool]:
        """(project, whether spans may name their project in resource attributes) for an OTLP request."""
        principal = self.require(headers, INGEST)
        if not self.enabled:
            return None, True
        return (self.default_project if principal.all_projects else principal.project), False


def authenticator_of(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.collector.auth
    return auth


def authorize(request: Request, allowed: frozenset[Scope], project: str | None) -> str:
    """The project of a request that needs one of `allowed`; HTTP errors as FastAPI expects them."""
    auth = authenticator_of(request)
    try:
        principal = auth.require(request.headers, allowed)
        return auth.project_for(principal, project)
    except AuthError as exc:
        raise exc.http() from None


def principal_of(request: Request) -> Principal:
    try:
        return authenticator_of(request).authenticate(request.headers)
    except AuthError as exc:
        raise exc.http() from None


def require_all_projects(request: Request) -> None:
    """Endpoints that read every project (raw SQL): an instance admin key when auth is on, since SQL
    cannot be confined to one project's rows."""
    auth = authenticator_of(request)
    try:
        principal = auth.require(request.headers, ADMIN)
    except AuthError as exc:
        raise exc.http() from None
    if not principal.all_projects:
        raise HTTPException(403, "SQL reads every project: it needs the instance admin key (SPANSCOPE_ADMIN_KEY)")


PrincipalDep = Annotated[Principal, Depends(principal_of)]
