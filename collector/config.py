"""Collector settings, read once from the environment and overridable by the CLI."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def _env(name: str, default: T, parse: Callable[[str], T], kind: str) -> T:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from None


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment (unset or empty: the default); a malformed value
    is an error naming the variable."""
    return _env(name, default, int, "an integer")


def env_float(name: str, default: float) -> float:
    """A number setting from the environment, like `env_int`."""
    return _env(name, default, float, "a number")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".spanscope")
    clickhouse_url: str | None = None
    cluster: str | None = None
    host: str = "127.0.0.1"
    port: int = 4318
    project: str = "default"
    retention_days: int = 30
    max_body_bytes: int = 16 * 1024 * 1024
    max_attribute_bytes: int = 64 * 1024
    max_attributes: int = 256
    max_content_bytes: int = 1024 * 1024
    max_clock_skew_s: int = 7 * 24 * 3600
    max_future_s: int = 3600
    wal_segment_bytes: int = 64 * 1024 * 1024
    wal_max_backlog_bytes: int = 2 * 1024 * 1024 * 1024
    # Inserts of up to 200k rows, built up for 2 s unless a quarter of the byte cap is waiting: few
    # large parts are what keeps ClickHouse's insert and merge work per span low.
    batch_max_rows: int = 200_000
    batch_max_bytes: int = 128 * 1024 * 1024
    batch_interval_s: float = 2.0
    price_file: Path | None = None
    ingest_workers: int = 0
    redaction_file: Path | None = None
    # auto: keys required unless the collector listens on loopback only; on; off.
    auth: str = "auto"
    admin_key: str | None = field(default=None, repr=False)
    dashboard_key: str | None = field(default=None, repr=False)
    # In-memory keys of one run, (key, project, scope): what `spanscope up` gives its children.
    session_keys: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """An unknown SPANSCOPE_AUTH or a too short key fails here (the CLI prints it as one line)."""
        from spanscope.collector.security.keys import configured_keys

        _ = self.auth_enabled
        configured_keys(self)

    @property
    def auth_enabled(self) -> bool:
        from spanscope.collector.security.auth import auth_enabled

        return auth_enabled(self.auth, self.host)

    @classmethod
    def from_env(cls) -> Settings:
        price = os.environ.get("SPANSCOPE_PRICE_FILE")
        redaction = os.environ.get("SPANSCOPE_REDACTION_FILE")
        return cls(
            data_dir=Path(os.environ.get("SPANSCOPE_DATA_DIR", ".spanscope")),
            clickhouse_url=os.environ.get("SPANSCOPE_CLICKHOUSE_URL") or None,
            cluster=os.environ.get("SPANSCOPE_CLICKHOUSE_CLUSTER") or None,
            host=os.environ.get("SPANSCOPE_HOST", cls.host),
            port=env_int("SPANSCOPE_PORT", cls.port),
            project=os.environ.get("SPANSCOPE_PROJECT", cls.project),
            retention_days=env_int("SPANSCOPE_RETENTION_DAYS", cls.retention_days),
            max_body_bytes=env_int("SPANSCOPE_MAX_BODY_BYTES", cls.max_body_bytes),
            wal_max_backlog_bytes=env_int("SPANSCOPE_WAL_MAX_BACKLOG_BYTES", cls.wal_max_backlog_bytes),
            price_file=Path(price) if price else None,
            redaction_file=Path(redaction) if redaction else None,
            batch_max_rows=env_int("SPANSCOPE_BATCH_MAX_ROWS", cls.batch_max_rows),
            batch_max_bytes=env_int("SPANSCOPE_BATCH_MAX_BYTES", cls.batch_max_bytes),
            batch_interval_s=env_float("SPANSCOPE_BATCH_INTERVAL_S", cls.batch_interval_s),
            max_clock_skew_s=env_int("SPANSCOPE_MAX_PAST_S", cls.max_clock_skew_s),
            ingest_workers=env_int(
                "SPANSCOPE_INGEST_WORKERS", min(2, os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0
            ),
            auth=(os.environ.get("SPANSCOPE_AUTH") or "auto").strip().lower(),
            admin_key=os.environ.get("SPANSCOPE_ADMIN_KEY") or None,
            dashboard_key=os.environ.get("SPANSCOPE_DASHBOARD_KEY") or None,
        )

    def with_overrides(self, **changes: object) -> Settings:
        clean = {k: v for k, v in changes.items() if v is not None}
        if "data_dir" in clean:
            clean["data_dir"] = Path(str(clean["data_dir"]))
        return replace(self, **clean)  # type: ignore[arg-type]
