"""`spanscope keys create|list|revoke` and `spanscope projects show|retention|usage`.

Through a running collector's admin API when one answers at --api (with an admin key: env
SPANSCOPE_ADMIN_KEY or SPANSCOPE_API_KEY), otherwise on storage directly: the data directory
(embedded chDB, which only one process may open, hence the API first) or SPANSCOPE_CLICKHOUSE_URL.
So the first key of a fresh install needs nothing but the command.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from spanscope.collector.cli import CliError
from spanscope.collector.client import ApiClient, add_connection_arguments

SCOPES = ("ingest", "read", "admin")


def register(sub: Any) -> None:
    keys = sub.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="Keys are shown once, at creation; only their SHA-256 is stored.",
    )
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    create = ksub.add_parser("create", help="create a key and print it (stdout: the key alone)")
    create.add_argument("--project", required=True, help="project of the key ('*': every project, admin only)")
    create.add_argument("--scope", required=True, choices=SCOPES)
    create.add_argument("--name", default="", help="what the key is for")
    _common(create)
    create.set_defaults(func=cmd_create)
    ls = ksub.add_parser("list", help="keys of a project (prefixes, never secrets)")
    ls.add_argument("--project", help="default: the collector's project (or every project with direct storage)")
    _common(ls)
    ls.set_defaults(func=cmd_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by id or prefix")
    revoke.add_argument("key", help="key id or prefix (as `keys list` shows)")
    revoke.add_argument("--project", help="project of the key")
    _common(revoke)
    revoke.set_defaults(func=cmd_revoke)

    projects = sub.add_parser("projects", help="project retention and storage used")
    psub = projects.add_subparsers(dest="projects_command", required=True)
    ret = psub.add_parser("retention", help="set how many days a project's traces are kept")
    ret.add_argument("project")
    ret.add_argument("days", type=int)
    _common(ret)
    ret.set_defaults(func=cmd_retention)
    usage = psub.add_parser("usage", help="rows and estimated bytes a project stores")
    usage.add_argument("project")
    _common(usage)
    usage.set_defaults(func=cmd_usage)


def _common(p: argparse.ArgumentParser) -> None:
    add_connection_arguments(
        p,
        project=False,
        api_help="collector to manage through (env SPANSCOPE_API_URL); when none answers, storage is used directly",
        key_help="admin key (env SPANSCOPE_ADMIN_KEY, then SPANSCOPE_API_KEY)",
    )
    p.add_argument("--data-dir", help="data directory for direct storage (env SPANSCOPE_DATA_DIR)")


# --------------------------------------------------------------------------- the two ways in


def _collector_answers(api: str) -> bool:
    import httpx

    try:
        return httpx.get(api.rstrip("/") + "/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _call(args: argparse.Namespace, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
    key = args.api_key or os.environ.get("SPANSCOPE_ADMIN_KEY", "").strip() or None
    hint = "give an admin key with --api-key or SPANSCOPE_ADMIN_KEY"
    with ApiClient(args.api, key, auth_hint=hint) as api:
        return api.call(method, path, params=params, json=json)


@contextmanager
def _direct(args: argparse.Namespace) -> Iterator[Any]:
    """The collector's key and project stores on storage opened by this process."""
    from spanscope.collector.config import Settings
    from spanscope.collector.security.keys import KeyStore
    from spanscope.collector.security.projects import ProjectStore
    from spanscope.collector.storage import Storage

    settings = Settings.from_env().with_overrides(data_dir=args.data_dir)
    try:
        storage = Storage(settings.clickhouse_url, settings.data_dir, settings.cluster)
        storage.migrate()
    except Exception as exc:
        where = settings.clickhouse_url or settings.data_dir
        raise CliError(
            f"no collector answers at {args.api} and storage at {where} cannot be opened "
            f"({str(exc).splitlines()[0][:200]}); if a collector uses it, pass --api URL"
        ) from exc
    try:
        projects = ProjectStore(storage, settings.retention_days)
        projects.load()
        yield settings, KeyStore(storage), projects
    finally:
        storage.close()


def _run(args: argparse.Namespace, via_api: Callable[[], Any], direct: Callable[[Any, Any, Any], Any]) -> Any:
    if _collector_answers(args.api):
        return via_api()
    with _direct(args) as (settings, keys, projects):
        return direct(settings, keys, projects)


# --------------------------------------------------------------------------- commands


def cmd_create(args: argparse.Namespace) -> int:
    from spanscope.schemas.security import ALL_PROJECTS, PROJECT_PATTERN, Scope

    scope = Scope(args.scope)
    if args.project == ALL_PROJECTS and scope is not Scope.ADMIN:
        raise CliError("a key for every project ('*') must have --scope admin")
    if args.project != ALL_PROJECTS and not re.match(PROJECT_PATTERN, args.project):
        raise CliError(f"project names are letters, digits, '.', '_' and '-' (at most 100), got {args.project!r}")

    def direct(_settings: Any, keys: Any, _projects: Any) -> dict[str, Any]:
        token, record = keys.create(args.project, scope, args.name)
        return {"key": token, **record.info().model_dump(mode="json")}

    created = _run(
        args,
        lambda: _call(
            args, "POST", "/api/keys", params={"project": args.project}, json={"scope": scope.value, "name": args.name}
        ),
        direct,
    )
    print(
        f"created {created['scope']} key {created['prefix']}… (id {created['key_id']}) for project "
        f"{created['project']!r}; it is shown only now:",
        file=sys.stderr,
    )
    print(created["key"])
    return 0


def _when(value: str | None) -> str:
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M") if value else "-"


def cmd_list(args: argparse.Namespace) -> int:
    def direct(_settings: Any, keys: Any, _projects: Any) -> dict[str, Any]:
        return {"keys": [r.info().model_dump(mode="json") for r in keys.list(args.project)]}

    params = {"project": args.project} if args.project else {}
    listed = _run(args, lambda: _call(args, "GET", "/api/keys", params=params), direct)
    rows = [("ID", "PREFIX", "PROJECT", "SCOPE", "NAME", "CREATED", "LAST USED", "REVOKED")]
    for k in listed["keys"]:
        rows.append(
            (
                k["key_id"],
                k["prefix"] + "…",
                k["project"],
                k["scope"],
                k["name"] or "-",
                _when(k["created_at"]),
                _when(k["last_used_at"]),
                _when(k["revoked_at"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from spanscope.collector.security.keys import UnknownKey

    def direct(_settings: Any, keys: Any, _projects: Any) -> dict[str, Any]:
        try:
            return dict(keys.revoke(args.key, args.project).info().model_dump(mode="json"))
        except UnknownKey as exc:
            raise CliError(str(exc)) from None

    params = {"project": args.project} if args.project else {}
    info = _run(args, lambda: _call(args, "DELETE", f"/api/keys/{args.key}", params=params), direct)
    print(f"revoked {info['scope']} key {info['prefix']}… of project {info['project']!r}")
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from spanscope.schemas.security import MAX_RETENTION_DAYS

    if not 1 <= args.days <= MAX_RETENTION_DAYS:
        raise CliError(f"retention must be 1 to {MAX_RETENTION_DAYS} days, got {args.days}")

    def direct(_settings: Any, _keys: Any, projects: Any) -> dict[str, Any]:
        return dict(projects.set_retention(args.project, args.days).model_dump())

    out = _run(
        args,
        lambda: _call(
            args, "PUT", "/api/project/retention", params={"project": args.project}, json={"retention_days": args.days}
        ),
        direct,
    )
    print(f"project {out['project']!r} keeps traces {out['retention_days']} days")
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    def direct(_settings: Any, _keys: Any, projects: Any) -> dict[str, Any]:
        return dict(projects.usage(args.project).model_dump())

    u = _run(args, lambda: _call(args, "GET", "/api/project/usage", params={"project": args.project}), direct)
    print(f"project {u['project']!r}: {u['rows']} rows, ~{_size(u['bytes_on_disk'])}, kept {u['retention_days']} days")
    for t in u["tables"]:
        print(f"  {t['table']:<20} {t['rows']:>12} rows  ~{_size(t['bytes_on_disk'])}")
    return 0


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
