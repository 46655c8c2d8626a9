"""The dashboard's only door to data: the collector's HTTP query API (`/api/…`).

Nothing here touches storage, so the dashboard works the same against a local or a remote
collector. GET responses are cached for a short while (`st.cache_data`) because Streamlit reruns
the whole page on every click; the Refresh button clears the cache. Every failure (collector down,
timeout, HTTP error, a response that does not match the schema) becomes an `ApiError`, which the
pages turn into an error box instead of a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import streamlit as st
from pydantic import BaseModel, ValidationError
from spanscope.schemas.models import (
    BreakdownResponse,
    CostResponse,
    FilterOptions,
    PromptList,
    PromptVersionsResponse,
    SummaryResponse,
    TimeseriesResponse,
    TraceDetail,
    TraceSearchResponse,
    error_detail,
)

DEFAULT_API_URL = "http://127.0.0.1:4318"
CACHE_TTL_S = 30
# Connecting to a collector that is down must fail fast (the page waits on it); a slow query on a
# large range may legitimately take longer.
TIMEOUT = httpx.Timeout(15.0, connect=2.0)

M = TypeVar("M", bound=BaseModel)
Params = tuple[tuple[str, str], ...]


class ApiError(Exception):
    """The collector could not answer: `status` is the HTTP status, or None when unreachable."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url

    @property
    def unreachable(self) -> bool:
        return self.status is None


def base_url() -> str:
    """The collector's base URL (`SPANSCOPE_API_URL`), read on every call so tests can switch it."""
    return (os.environ.get("SPANSCOPE_API_URL") or DEFAULT_API_URL).rstrip("/")


def _headers() -> dict[str, str]:
    key = os.environ.get("SPANSCOPE_API_KEY", "").strip()
    return {"Authorization": f"Bearer {key}"} if key else {}


def _refused(path: str, response: httpx.Response, url: str) -> ApiError:
    return ApiError(f"{path} answered {response.status_code}: {error_detail(response.text)}", response.status_code, url)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False, max_entries=500)
def _cached_get(base: str, path: str, params: Params, auth: str) -> Any:
    """One GET, cached per (collector, path, params, key). Errors raise and are therefore not cached."""
    url = base + path
    headers = {"Authorization": auth} if auth else {}
    try:
        response = httpx.get(url, params=list(params), headers=headers, timeout=TIMEOUT)
    except httpx.TimeoutException as exc:
        raise ApiError(f"the collector at {base} did not answer in time ({type(exc).__name__})", None, url) from exc
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the collector at {base}: {exc}", None, url) from exc
    if response.status_code != 200:
        raise _refused(path, response, url)
    try:
        return response.json()
    except ValueError as exc:
        raise ApiError(f"{path} answered with something that is not JSON", response.status_code, url) from exc


def clear_cache() -> None:
    _cached_get.clear()


def _params(items: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Params:
    """Query parameters as a hashable tuple; lists repeat the key, None and "" are left out."""
    pairs = items.items() if isinstance(items, Mapping) else items
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        values = value if isinstance(value, list | tuple) else [value]
        for v in values:
            if v is None or v == "":
                continue
            out.append((key, str(v).lower() if isinstance(v, bool) else str(v)))
    return tuple(out)


def get_json(path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> Any:
    return _cached_get(base_url(), path, _params(params), _headers().get("Authorization", ""))


def _get(model: type[M], path: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> M:
    return parse(model, path, get_json(path, params))


def send(
    method: str, path: str, body: Any = None, params: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()
) -> httpx.Response:
    """A write (or an uncached read such as a download): never cached; a successful write clears the
    read cache so every page shows its effect at once."""
    url = base_url() + path
    try:
        response = httpx.request(method, url, json=body, params=_params(params), headers=_headers(), timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        raise ApiError(f"cannot reach the collector at {base_url()}: {exc}", None, url) from exc
    if response.status_code >= 400:
        raise _refused(path, response, url)
    if method != "GET":
        clear_cache()
    return response


def parse(model: type[M], path: str, data: Any) -> M:
    """An answer as its API model, or an ApiError saying the shape is not what this dashboard expects."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(
            f"{path} answered in an unexpected shape (is the collector a different spanscope version?): "
            f"{exc.errors()[0].get('loc')} {exc.errors()[0].get('msg')}",
            200,
        ) from exc


# --------------------------------------------------------------------------- request parameter groups


@dataclass(frozen=True)
class TimeWindow:
    """The dashboard's time range: a preset ending now (`range=24h`) or fixed bounds (ISO-8601)."""

    preset: str | None = "24h"
    start: str | None = None
    end: str | None = None

    def params(self) -> list[tuple[str, str]]:
        if self.preset:
            return [("range", self.preset)]
        return [(k, v) for k, v in (("start", self.start), ("end", self.end)) if v]


@dataclass(frozen=True)
class Scope:
    """The sidebar's global filters; every endpoint that can filter by them gets them."""

    service: tuple[str, ...] = ()
    environment: tuple[str, ...] = ()
    model: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return bool(self.service or self.environment or self.model)

    def params(self) -> list[tuple[str, str]]:
        return [(k, v) for k, vs in self._items() for v in vs]

    def _items(self) -> list[tuple[str, tuple[str, ...]]]:
        return [("service", self.service), ("environment", self.environment), ("model", self.model)]


@dataclass(frozen=True)
class TraceQuery:
    """Filters of the Traces table (`GET /api/traces`), beyond the global scope."""

    name: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    status: str | None = None
    min_duration_ms: float | None = None
    max_duration_ms: float | None = None
    min_cost: float | None = None
    max_cost: float | None = None
    has_fallback: bool | None = None
    guardrail_blocked: bool | None = None
    session_id: str | None = None
    user_id: str | None = None
    tag: tuple[str, ...] = ()
    score_name: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    score_value: str | None = None
    q: str | None = None
    sort: str = "start_time"
    order: str = "desc"
    limit: int = 50

    def params(self) -> list[tuple[str, Any]]:
        return [
            ("name", list(self.name)),
            ("kind", list(self.kind)),
            ("status", self.status),
            ("min_duration_ms", self.min_duration_ms),
            ("max_duration_ms", self.max_duration_ms),
            ("min_cost", self.min_cost),
            ("max_cost", self.max_cost),
            ("has_fallback", self.has_fallback),
            ("guardrail_blocked", self.guardrail_blocked),
            ("session_id", self.session_id),
            ("user_id", self.user_id),
            ("tag", list(self.tag)),
            ("score_name", self.score_name),
            ("min_score", self.min_score if self.score_name else None),
            ("max_score", self.max_score if self.score_name else None),
            ("score_value", self.score_value if self.score_name else None),
            ("q", self.q),
            ("sort", self.sort),
            ("order", self.order),
            ("limit", self.limit),
        ]


# --------------------------------------------------------------------------- endpoints


def filter_options(window: TimeWindow) -> FilterOptions:
    return _get(FilterOptions, "/api/filters", [*window.params(), ("limit", 500)])


def summary(window: TimeWindow, scope: Scope, metrics: Sequence[str]) -> SummaryResponse:
    return _get(
        SummaryResponse, "/api/metrics/summary", [*window.params(), *scope.params(), ("metrics", list(metrics))]
    )


def timeseries(
    window: TimeWindow,
    scope: Scope,
    metrics: Sequence[str],
    group_by: str | None = None,
    top: int = 6,
    interval: str | None = None,
) -> TimeseriesResponse:
    params: list[tuple[str, Any]] = [*window.params(), *scope.params(), ("metrics", list(metrics))]
    if group_by:
        params += [("group_by", group_by), ("top", top), ("rank_by", "spans")]
    if interval:
        params.append(("interval", interval))
    return _get(TimeseriesResponse, "/api/metrics/timeseries", params)


def breakdown(
    window: TimeWindow,
    scope: Scope,
    dimension: str,
    metrics: Sequence[str],
    sort_by: str = "spans",
    limit: int = 50,
    extra: Sequence[tuple[str, str]] = (),
) -> BreakdownResponse:
    return _get(
        BreakdownResponse,
        "/api/metrics/breakdown",
        [
            *window.params(),
            *scope.params(),
            *extra,
            ("dimension", dimension),
            ("metrics", list(metrics)),
            ("sort_by", sort_by),
            ("limit", limit),
        ],
    )


def traces(window: TimeWindow, scope: Scope, query: TraceQuery, cursor: str | None = None) -> TraceSearchResponse:
    return _get(
        TraceSearchResponse,
        "/api/traces",
        [
            *window.params(),
            *scope.params(),
            *query.params(),
            ("cursor", cursor),
            ("preview_chars", 200),
            ("with_total", "true"),
        ],
    )


def add_score(
    trace_id: str,
    name: str,
    value: float | str,
    data_type: str,
    *,
    span_id: str | None = None,
    comment: str | None = None,
    source: str = "human",
) -> str:
    """POST one score (`/api/scores`) and return its id; clears the cache so the trace shows it at once."""
    score = {
        "trace_id": trace_id,
        "span_id": span_id,
        "name": name,
        "value": value if not isinstance(value, str) else None,
        "string_value": value if isinstance(value, str) else None,
        "data_type": data_type,
        "source": source,
        "comment": comment or None,
        "author": os.environ.get("SPANSCOPE_DASHBOARD_USER") or "dashboard",
    }
    return str(send("POST", "/api/scores", {"scores": [score]}).json()["score_ids"][0])


def trace(trace_id: str) -> TraceDetail | None:
    """One trace, or None when the collector does not know it (404) or the id is malformed (400)."""
    try:
        return _get(TraceDetail, f"/api/traces/{quote(trace_id, safe='')}")
    except ApiError as exc:
        if exc.status in (400, 404):
            return None
        raise


def cost(window: TimeWindow, scope: Scope | None = None, limit: int = 20, top_traces: int = 10) -> CostResponse:
    where = scope.params() if scope else []
    return _get(CostResponse, "/api/cost", [*window.params(), *where, ("limit", limit), ("traces", top_traces)])


def prompts(window: TimeWindow, scope: Scope | None = None) -> PromptList:
    return _get(PromptList, "/api/prompts", [*window.params(), *(scope.params() if scope else [])])


def prompt_versions(
    window: TimeWindow,
    prompt_name: str,
    baseline: str | None = None,
    candidate: str | None = None,
    alpha: float = 0.05,
    scope: Scope | None = None,
) -> PromptVersionsResponse | None:
    """Per-version stats and a significance test; None when the prompt has no LLM calls in the range."""
    try:
        return _get(
            PromptVersionsResponse,
            f"/api/prompts/{quote(prompt_name, safe='')}/versions",
            [
                *window.params(),
                *(scope.params() if scope else []),
                ("baseline", baseline),
                ("candidate", candidate),
                ("alpha", alpha),
            ],
        )
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
