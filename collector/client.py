"""The collector's HTTP API as the CLI commands (`datasets`, `eval`, `alerts`, `keys`, `projects`) use
it; every failure is a CliError with one readable line."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from spanscope.collector.cli import CliError
from spanscope.schemas.models import error_detail

if TYPE_CHECKING:  # httpx is a server dependency: imported when a command runs, not when the CLI parses
    import httpx

DEFAULT_API_URL = "http://127.0.0.1:4318"


def default_api_url() -> str:
    return os.environ.get("SPANSCOPE_API_URL") or DEFAULT_API_URL


def add_connection_arguments(
    p: argparse.ArgumentParser,
    *,
    project: bool = True,
    api_help: str = "collector URL (env SPANSCOPE_API_URL)",
    key_help: str = "sent as Authorization: Bearer (env SPANSCOPE_API_KEY)",
) -> None:
    """`--api`, `--api-key` and (optionally) `--project`, the same in every command that talks to the API."""
    p.add_argument("--api", default=default_api_url(), help=api_help)
    p.add_argument("--api-key", default=None, help=key_help)
    if project:
        p.add_argument("--project", default=None, help="project (default: the collector's, or the key's)")


class ApiClient:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        project: str | None = None,
        timeout_s: float = 60.0,
        auth_hint: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key or os.environ.get("SPANSCOPE_API_KEY", "").strip() or None
        self.project = project
        self.auth_hint = auth_hint
        import httpx

        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=httpx.Timeout(timeout_s, connect=5.0)
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> httpx.Response:
        query: list[tuple[str, Any]] = []
        if params:
            items = params.items() if isinstance(params, dict) else params
            for key, value in items:
                for v in value if isinstance(value, list | tuple) else [value]:
                    if v is not None:
                        query.append((key, v))
        if self.project:
            query.append(("project", self.project))
        import httpx

        try:
            response = self._http.request(method, path, params=query, json=json)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach the collector at {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            hint = f"; {self.auth_hint}" if self.auth_hint and response.status_code in (401, 403) else ""
            raise CliError(f"{error_detail(response.text)} ({response.status_code}{hint})")
        return response

    def call(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
        """The answer's JSON (None for an empty body)."""
        response = self.request(method, path, params=params, json=json)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params).json()

    def post(self, path: str, body: Any, **params: Any) -> Any:
        return self.request("POST", path, params=params, json=body).json()

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()
