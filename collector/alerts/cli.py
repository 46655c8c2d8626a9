"""`spanscope alerts list|add|delete|test|history`: alert rules through the collector's HTTP API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from spanscope.collector.cli import CliError
from spanscope.collector.client import ApiClient, add_connection_arguments


def register(sub: Any) -> None:
    p = sub.add_parser("alerts", help="manage alert rules and read their history")
    add_connection_arguments(p)
    asub = p.add_subparsers(dest="alerts_command", required=True)

    ls = asub.add_parser("list", help="rules and the groups now firing")
    ls.add_argument("--json", action="store_true", help="print the API's JSON")
    ls.set_defaults(func=cmd_list)

    add = asub.add_parser(
        "add",
        help="create rules from a YAML/JSON file, or one rule from options",
        description="Either --file (one rule, a list, or {rules: [...]}, as in SPANSCOPE_ALERTS_FILE) or options. "
        "Example: spanscope alerts add --name 'p95 latency' --metric latency_p95 --group-by model "
        "--window 5m --op '>' --threshold 2000 --webhook https://hooks.example.com/x",
    )
    add.add_argument("--file", type=Path, help="rules as YAML or JSON")
    add.add_argument("--id", dest="rule_id")
    add.add_argument("--name")
    add.add_argument("--metric", help="e.g. latency_p95, cost, error_rate, fallback_rate, off_format_rate")
    add.add_argument("--drift-signal", help="a drift rule on this signal (latency_ms, model_mix…) instead")
    add.add_argument("--drift-status", choices=["moderate", "significant"], default=None)
    add.add_argument("--window", default=None, help="5m, 1h, 1d…")
    add.add_argument("--op", dest="operator", default=None, help="> >= < <= == !=")
    add.add_argument("--threshold", type=float)
    add.add_argument("--group-by", help="model, service, kind, name, provider, environment, prompt_name…")
    add.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE", help="e.g. kind=generation")
    add.add_argument("--min-samples", type=int)
    add.add_argument("--cooldown", help="15m, 1h…")
    add.add_argument("--webhook", action="append", default=[], help="http(s) URL (repeatable)")
    add.add_argument("--secret", help="signs deliveries with HMAC-SHA256")
    add.add_argument("--replace", action="store_true", help="replace rules that exist (PUT) instead of failing")
    add.set_defaults(func=cmd_add)

    rm = asub.add_parser("delete", help="delete a rule (its history stays)")
    rm.add_argument("rule_id")
    rm.set_defaults(func=cmd_delete)

    test = asub.add_parser("test", help="evaluate a rule now (its state does not change)")
    test.add_argument("rule_id")
    test.add_argument("--notify", action="store_true", help="also post a test notification to its webhooks")
    test.set_defaults(func=cmd_test)

    hist = asub.add_parser("history", help="state changes and deliveries, newest first")
    hist.add_argument("--rule", dest="rule_id")
    hist.add_argument("--range", default="7d")
    hist.add_argument("--limit", type=int, default=50)
    hist.add_argument("--json", action="store_true")
    hist.set_defaults(func=cmd_history)


# --------------------------------------------------------------------------- HTTP


def _call(args: argparse.Namespace, method: str, path: str, *, params: Any = None, json: Any = None) -> Any:
    with ApiClient(args.api, args.api_key, args.project, timeout_s=30) as api:
        return api.call(method, path, params=params, json=json)


# --------------------------------------------------------------------------- commands


def _print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)).rstrip())


def _condition(rule: dict[str, Any]) -> str:
    if rule["kind"] == "drift":
        d = rule["drift"]
        cond = f"psi > {d['psi_above']}" if d.get("psi_above") else f"≥ {d['min_status']}"
        return f"drift {d['signal']} {cond}"
    group = f" by {rule['group_by']}" if rule.get("group_by") else ""
    return f"{rule['metric']}{group} {rule['operator']} {rule['threshold']:g}"


def cmd_list(args: argparse.Namespace) -> int:
    data = _call(args, "GET", "/api/alerts/rules")
    if args.json:
        _print_json(data)
        return 0
    if data.get("file_error"):
        print(f"alerts file not loaded: {data['file_error']}", file=sys.stderr)
    rows = []
    for r in data["rules"]:
        firing = [s["group_key"] or "(all)" for s in r["states"] if s["state"] == "firing"]
        rows.append(
            [
                r["rule_id"],
                r["name"],
                _condition(r),
                r["window"],
                "on" if r["enabled"] else "off",
                r["source"],
                ("FIRING " + ",".join(firing)) if firing else ("error" if r.get("last_error") else "ok"),
            ]
        )
    if not rows:
        print("no alert rules")
        return 0
    _table(rows, ["ID", "NAME", "CONDITION", "WINDOW", "ENABLED", "SOURCE", "STATE"])
    return 0


def _rule_from_options(args: argparse.Namespace) -> dict[str, Any]:
    if not args.name:
        raise CliError("give --file, or at least --name and --metric/--drift-signal")
    rule: dict[str, Any] = {"name": args.name}
    if args.drift_signal:
        rule["kind"] = "drift"
        rule["drift"] = {"signal": args.drift_signal}
        if args.drift_status:
            rule["drift"]["min_status"] = args.drift_status
    else:
        rule["metric"] = args.metric
        rule["threshold"] = args.threshold
    filters: dict[str, list[str]] = {}
    for item in args.filter:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"--filter takes KEY=VALUE, got {item!r}")
        filters.setdefault(key.strip(), []).append(value.strip())
    optional = {
        "rule_id": args.rule_id,
        "window": args.window,
        "operator": args.operator,
        "group_by": args.group_by,
        "min_samples": args.min_samples,
        "cooldown": args.cooldown,
        "secret": args.secret,
        "filters": filters or None,
        "webhooks": args.webhook or None,
    }
    rule.update({k: v for k, v in optional.items() if v is not None})
    return rule


def cmd_add(args: argparse.Namespace) -> int:
    if args.file:
        from spanscope.collector.alerts.rulefile import AlertFileError, load_rules_file

        try:
            rules = [r.model_dump(mode="json", exclude_none=True) for r in load_rules_file(args.file)]
        except AlertFileError as exc:
            raise CliError(str(exc)) from exc
        if not rules:
            raise CliError(f"{args.file} holds no rules")
    else:
        rules = [_rule_from_options(args)]
    for rule in rules:
        if args.replace and rule.get("rule_id"):
            saved = _call(args, "PUT", f"/api/alerts/rules/{rule['rule_id']}", json=rule)
        else:
            saved = _call(args, "POST", "/api/alerts/rules", json=rule)
        print(f"saved {saved['rule_id']}: {saved['name']} ({_condition(saved)} over {saved['window']})")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    _call(args, "DELETE", f"/api/alerts/rules/{args.rule_id}")
    print(f"deleted {args.rule_id}")
    return 0


def cmd_test(args: argparse.Namespace) -> int:
    data = _call(args, "POST", f"/api/alerts/rules/{args.rule_id}/test", params={"notify": str(args.notify).lower()})
    print(f"window {data['window_start']} → {data['window_end']}")
    for g in data["groups"]:
        mark = "BREACHED" if g["breached"] else "ok"
        print(f"  [{mark}] {g['detail']} (samples: {g['samples']})")
    if not data["groups"]:
        print("  no data in the window")
    failed = 0
    for d in data["deliveries"]:
        outcome = f"HTTP {d['http_status']}" if d["ok"] else f"failed: {d['error']}"
        failed += not d["ok"]
        print(f"  webhook {d['url']}: {outcome}")
    if failed:
        raise CliError(f"{failed} webhook(s) did not accept the test notification")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    params: dict[str, Any] = {"range": args.range, "limit": args.limit}
    if args.rule_id:
        params["rule_id"] = args.rule_id
    data = _call(args, "GET", "/api/alerts/events", params=params)
    if args.json:
        _print_json(data)
        return 0
    rows = [
        [
            e["time"][:19].replace("T", " "),
            e["rule_id"],
            e["group_key"] or "-",
            e["event"],
            e["delivery"] or "-",
            (e["webhook_url"] + (f" ({e['error']})" if e["error"] else "")) if e["webhook_url"] else e["message"],
        ]
        for e in data["events"]
    ]
    if not rows:
        print("no alert events in the range")
        return 0
    _table(rows, ["TIME (UTC)", "RULE", "GROUP", "EVENT", "DELIVERY", "DETAIL"])
    return 0
