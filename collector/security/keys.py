"""API keys: generation, hashing, the `api_keys` table and a short-lived cache of verified keys.

A key looks like `ssk_r_<43 url-safe characters>`: the letter names the scope (i ingest, r read,
a admin) so a leaked key is recognisable, and 256 random bits make it unguessable. Only its SHA-256
is stored. A slow password hash (bcrypt, argon2) protects low-entropy secrets against offline
guessing; a 256-bit random token cannot be guessed at any hash speed, so a fast hash loses nothing
and lets every request find its key by an exact lookup instead of a per-key slow comparison.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from spanscope.collector.storage import Storage
from spanscope.schemas.security import ALL_PROJECTS, KeyInfo, Scope

if TYPE_CHECKING:
    from spanscope.collector.config import Settings

log = logging.getLogger("spanscope.keys")

KEY_PREFIX = "ssk_"
_SCOPE_LETTER = {Scope.INGEST: "i", Scope.READ: "r", Scope.ADMIN: "a"}
PREFIX_CHARS = 12  # "ssk_r_" and 6 random characters: enough to tell keys apart in a list
CACHE_TTL_S = 30.0  # another collector's revocation takes effect within this; this collector's at once
NEGATIVE_TTL_S = 5.0
CACHE_MAX = 10_000
USAGE_FLUSH_S = 60.0


class UnknownKey(LookupError):
    """No such key in the project (404)."""


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(scope: Scope) -> str:
    return f"{KEY_PREFIX}{_SCOPE_LETTER[scope]}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    key_hash: str
    prefix: str
    project: str
    scope: Scope
    name: str
    created_at: float
    last_used_at: float = 0.0
    revoked_at: float = 0.0
    persistent: bool = True  # False: configured from the environment, never stored

    @property
    def revoked(self) -> bool:
        return self.revoked_at > 0

    def info(self) -> KeyInfo:
        def dt(ts: float) -> datetime | None:
            return datetime.fromtimestamp(ts, UTC) if ts > 0 else None

        return KeyInfo(
            key_id=self.key_id,
            prefix=self.prefix,
            project=self.project,
            scope=self.scope,
            name=self.name,
            created_at=datetime.fromtimestamp(self.created_at, UTC),
            last_used_at=dt(self.last_used_at),
            revoked_at=dt(self.revoked_at),
        )


def record_for(token: str, project: str, scope: Scope, name: str, persistent: bool = True) -> KeyRecord:
    digest = hash_key(token)
    return KeyRecord(
        key_id=digest[:16],
        key_hash=digest,
        prefix=token[:PREFIX_CHARS],
        project=project,
        scope=scope,
        name=name,
        created_at=time.time(),
        persistent=persistent,
    )


def _ts(value: Any) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value or 0)


_COLUMNS = "key_id, key_hash, prefix, project_id, scope, name, created_at, last_used_at, revoked_at"


def _from_row(r: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        key_id=r["key_id"],
        key_hash=r["key_hash"],
        prefix=r["prefix"],
        project=r["project_id"],
        scope=Scope(r["scope"]),
        name=r["name"],
        created_at=_ts(r["created_at"]),
        last_used_at=_ts(r["last_used_at"]),
        revoked_at=_ts(r["revoked_at"]),
    )


class KeyStore:
    """Keys in `spanscope.api_keys` plus keys configured from the environment (kept in memory).

    Verified keys are cached for CACHE_TTL_S and unknown ones for NEGATIVE_TTL_S, so a request costs
    no query in the common case; a revocation through this store drops the cached entry at once.
    Last use is recorded in memory and written at most once a minute (`start`/`stop`)."""

    def __init__(self, storage: Storage, configured: list[KeyRecord] | None = None) -> None:
        self.storage = storage
        self._configured = {r.key_hash: r for r in configured or []}
        self._cache: dict[str, tuple[KeyRecord | None, float]] = {}
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- verification

    def verify(self, token: str) -> KeyRecord | None:
        """The active key `token` is, or None (unknown or revoked)."""
        if not token or len(token) > 200:
            return None
        digest = hash_key(token)
        record = self._configured.get(digest)
        if record is None and token.startswith(KEY_PREFIX):
            record = self._lookup(digest)
        if record is None or record.revoked:
            return None
        if record.persistent:
            with self._lock:
                self._used[record.key_id] = time.time()
        return record

    def _lookup(self, digest: str) -> KeyRecord | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            rows = self.storage.query_dicts(
                f"SELECT {_COLUMNS} FROM {self.storage.table('api_keys')} WHERE key_hash = {{h:String}} LIMIT 1",
                {"h": digest},
            )
        except Exception:
            if hit is not None and hit[0] is not None:
                return hit[0]  # storage down: a key verified before keeps working (ingest goes to the log)
            raise
        record = _from_row(rows[0]) if rows else None
        with self._lock:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            self._cache[digest] = (record, now + (CACHE_TTL_S if record else NEGATIVE_TTL_S))
        return record

    # -- management

    def create(self, project: str, scope: Scope, name: str = "") -> tuple[str, KeyRecord]:
        """A new key; the token is returned once and never stored."""
        token = new_token(scope)
        record = record_for(token, project, scope, name)
        self.storage.query(
            f"INSERT INTO {self.storage.table('api_keys')} "
            "(key_id, key_hash, prefix, project_id, scope, name, created_at) VALUES "
            "({key_id:String}, {key_hash:String}, {prefix:String}, {project:String}, {scope:String}, "
            "{name:String}, fromUnixTimestamp64Milli({created:Int64}, 'UTC'))",
            {
                "key_id": record.key_id,
                "key_hash": record.key_hash,
                "prefix": record.prefix,
                "project": project,
                "scope": scope.value,
                "name": name,
                "created": int(record.created_at * 1000),
            },
        )
        with self._lock:
            self._cache.pop(record.key_hash, None)
        return token, record

    def list(self, project: str | None = None, include_revoked: bool = True) -> list[KeyRecord]:
        """Stored keys of `project` (every project when None), newest first."""
        where = ["1"]
        params: dict[str, Any] = {}
        if project is not None:
            where.append("project_id = {p:String}")
            params["p"] = project
        if not include_revoked:
            where.append("revoked_at = 0")
        rows = self.storage.query_dicts(
            f"SELECT {_COLUMNS} FROM {self.storage.table('api_keys')} WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC",
            params,
        )
        records = [_from_row(r) for r in rows]
        with self._lock:
            used = dict(self._used)
        return [
            replace(r, last_used_at=max(r.last_used_at, used[r.key_id])) if r.key_id in used else r for r in records
        ]

    def get(self, key_id_or_prefix: str, project: str | None = None) -> KeyRecord:
        """One stored key by id or prefix, within `project` unless None; UnknownKey when absent."""
        matches = [r for r in self.list(project) if key_id_or_prefix in (r.key_id, r.prefix)]
        if len(matches) != 1:
            what = "no key" if not matches else f"{len(matches)} keys"
            where = f" in project {project!r}" if project is not None else ""
            raise UnknownKey(f"{what} with id or prefix {key_id_or_prefix!r}{where}")
        return matches[0]

    def revoke(self, key_id_or_prefix: str, project: str | None = None) -> KeyRecord:
        """Revokes a key; requests with it fail from now on (this collector) or within CACHE_TTL_S."""
        record = self.get(key_id_or_prefix, project)
        if not record.revoked:
            self.storage.command(
                f"UPDATE {self.storage.mutation_target('api_keys')} SET revoked_at = now64(3) "
                "WHERE key_id = {id:String} AND revoked_at = 0",
                {"id": record.key_id},
            )
            record = replace(record, revoked_at=time.time())
        with self._lock:
            self._cache[record.key_hash] = (record, time.monotonic() + CACHE_TTL_S)
        return record

    # -- last use, written in the background

    def flush_usage(self) -> None:
        with self._lock:
            used, self._used = self._used, {}
        if not used:
            return
        ids = list(used)
        try:
            self.storage.command(
                f"UPDATE {self.storage.mutation_target('api_keys')} SET last_used_at = greatest(last_used_at, "
                "fromUnixTimestamp64Milli({ms:Array(Int64)}[indexOf({ids:Array(String)}, key_id)], 'UTC')) "
                "WHERE key_id IN {ids:Array(String)}",
                {"ids": ids, "ms": [int(used[i] * 1000) for i in ids]},
            )
        except Exception:
            log.warning("recording key use failed; will retry", exc_info=True)
            with self._lock:
                for k, v in used.items():
                    self._used[k] = max(v, self._used.get(k, 0.0))

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="spanscope-key-usage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(USAGE_FLUSH_S):
            self.flush_usage()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush_usage()


MIN_CONFIGURED_CHARS = 24


def configured_keys(settings: Settings) -> list[KeyRecord]:
    """Keys given in the environment: an instance admin key (every project) for first use, and the
    dashboard's read key of the default project; plus the keys of one `spanscope up` run. Hashed
    here; the plain values are not kept. ValueError for a key too short to be a secret."""
    admin_key, dashboard_key, project = settings.admin_key, settings.dashboard_key, settings.project
    for env, value in (("SPANSCOPE_ADMIN_KEY", admin_key), ("SPANSCOPE_DASHBOARD_KEY", dashboard_key)):
        if value is not None and len(value) < MIN_CONFIGURED_CHARS:
            raise ValueError(f"{env} must be at least {MIN_CONFIGURED_CHARS} characters (e.g. `openssl rand -hex 32`)")
    out = []
    if admin_key:
        out.append(record_for(admin_key, ALL_PROJECTS, Scope.ADMIN, "SPANSCOPE_ADMIN_KEY", persistent=False))
    if dashboard_key:
        out.append(record_for(dashboard_key, project, Scope.READ, "dashboard", persistent=False))
    for token, key_project, scope in settings.session_keys:
        out.append(record_for(token, key_project, Scope(scope), "session", persistent=False))
    return out
