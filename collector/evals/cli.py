"""`spanscope datasets …` and `spanscope eval run …`: golden datasets and their replay, through the
collector's HTTP API (`--api` / SPANSCOPE_API_URL, `--api-key` / SPANSCOPE_API_KEY)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from spanscope.collector.cli import CliError
from spanscope.collector.client import ApiClient, add_connection_arguments

REASONS = ("low_score", "negative_feedback", "evaluator_failure", "guardrail_block", "fallback", "error")
FORMATS = ("jsonl", "promptfoo", "openai_evals", "csv")
CHECKS = ("exact", "contains", "json_schema", "similarity")


def _api(args: argparse.Namespace) -> ApiClient:
    return ApiClient(args.api, args.api_key, args.project)


def _connection(sp: argparse.ArgumentParser) -> None:
    add_connection_arguments(sp)


def _value(text: str, as_json: bool) -> Any:
    if not as_json:
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"--json was given but {text[:60]!r} is not JSON: {exc.msg}") from None


def _read_items(path: str) -> list[dict[str, Any]]:
    """JSONL lines with `input` (and optionally expected_output, metadata, tags, source ids)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from None
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliError(f"{path} line {n} is not JSON: {exc.msg}") from None
        if not isinstance(doc, dict) or "input" not in doc:
            raise CliError(f"{path} line {n} needs an object with an 'input'")
        items.append(doc)
    if not items:
        raise CliError(f"{path} has no items")
    return items


def _print_change(res: dict[str, Any]) -> None:
    parts = [f"{k} {res[k]}" for k in ("added", "updated", "removed") if res.get(k)]
    if res.get("skipped_duplicates"):
        parts.append(f"skipped {res['skipped_duplicates']} already in the dataset")
    what = ", ".join(parts) or "nothing changed"
    made = "new version" if res["created_version"] else "still version"
    print(f"{res['name']}: {what} ({made} {res['version']})")


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- datasets


def cmd_list(args: argparse.Namespace) -> int:
    with _api(args) as api:
        data = api.get("/api/datasets")["datasets"]
    if not data:
        print("no datasets yet: spanscope datasets create NAME")
        return 0
    _table(
        [("name", "version", "items", "updated", "description")]
        + [
            (
                d["name"],
                str(d["latest_version"]),
                str(d["item_count"]),
                d["updated_at"][:19],
                _short(d["description"], 50),
            )
            for d in data
        ]
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with _api(args) as api:
        data = api.get(f"/api/datasets/{args.name}/items", version=args.version)
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{data['name']} v{data['version']}: {len(data['items'])} items")
    if data["items"]:
        _table(
            [("item_id", "input", "expected_output", "source_trace_id")]
            + [
                (
                    i["item_id"],
                    _short(i["input"], 50),
                    _short(i["expected_output"] if i["expected_output"] is not None else "-", 40),
                    i["source_trace_id"] or "-",
                )
                for i in data["items"]
            ]
        )
    return 0


def cmd_versions(args: argparse.Namespace) -> int:
    with _api(args) as api:
        data = api.get(f"/api/datasets/{args.name}")
    _table(
        [("version", "created", "items", "+", "~", "-", "message")]
        + [
            (
                str(v["version"]),
                v["created_at"][:19],
                str(v["item_count"]),
                str(v["added"]),
                str(v["updated"]),
                str(v["removed"]),
                v["message"],
            )
            for v in data["versions"]
        ]
    )
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    items = _read_items(args.file) if args.file else []
    with _api(args) as api:
        res = api.post("/api/datasets", {"name": args.name, "description": args.description, "items": items})
    _print_change(res)
    return 0


def _filter_body(args: argparse.Namespace) -> dict[str, Any]:
    body: dict[str, Any] = {
        "range": args.range,
        "reasons": args.reasons.split(",") if args.reasons else list(REASONS),
        "max_score": args.max_score,
        "span": args.span,
        "limit": args.limit,
    }
    if args.score_name:
        body["score_name"] = args.score_name
    if args.service:
        body["service"] = args.service
    return body


def cmd_add(args: argparse.Namespace) -> int:
    given = [x for x in (args.input is not None, args.file is not None, args.from_hard_examples) if x]
    if len(given) != 1:
        raise CliError("give exactly one of --input, --file or --from-hard-examples")
    with _api(args) as api:
        if args.from_hard_examples:
            body = {**_filter_body(args), "copy_output_as_expected": args.copy_output}
            res = api.post(f"/api/datasets/{args.name}/items:from-filter", body)
        else:
            if args.file:
                items = _read_items(args.file)
            else:
                item: dict[str, Any] = {"input": _value(args.input, args.json)}
                if args.expected is not None:
                    item["expected_output"] = _value(args.expected, args.json)
                items = [item]
            res = api.post(f"/api/datasets/{args.name}/items", {"items": items, "message": args.message or ""})
    _print_change(res)
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    with _api(args) as api:
        res = api.patch(
            f"/api/datasets/{args.name}/items/{args.item_id}",
            {"expected_output": _value(args.expected, args.json), "message": args.message or ""},
        )
    _print_change(res)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with _api(args) as api:
        res = api.delete(f"/api/datasets/{args.name}/items/{args.item_id}")
    _print_change(res)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with _api(args) as api:
        response = api.request(
            "GET", f"/api/datasets/{args.name}/export", params={"format": args.format, "version": args.version}
        )
    version = response.headers.get("x-spanscope-dataset-version", "?")
    skipped = int(response.headers.get("x-spanscope-skipped-items", "0") or 0)
    if args.output == "-":
        sys.stdout.buffer.write(response.content)
        sys.stdout.flush()
    else:
        try:
            Path(args.output).write_bytes(response.content)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from None
        note = f" ({skipped} items without expected output left out)" if skipped else ""
        print(f"wrote {args.name} v{version} as {args.format} to {args.output}{note}", file=sys.stderr)
    return 0


def cmd_hard_examples(args: argparse.Namespace) -> int:
    body = _filter_body(args)
    with _api(args) as api:
        data = api.get("/api/hard-examples", dataset=args.dataset, **{k: v for k, v in body.items()})
    items = data["items"]
    if args.json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return 0
    if not items:
        print("no hard examples in this range")
        return 0
    _table(
        [("trace_id", "reasons", "input", "output")]
        + [(h["trace_id"], ",".join(h["reasons"]), _short(h["input"], 45), _short(h["output"], 45)) for h in items]
    )
    return 0


# --------------------------------------------------------------------------- eval


def _thresholds(values: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for raw in values:
        name, sep, value = raw.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"--threshold must look like similarity=0.8, got {raw!r}") from None
        if not sep or not name.strip():
            raise CliError(f"--threshold must look like similarity=0.8, got {raw!r}")
    return out


def cmd_eval_run(args: argparse.Namespace) -> int:
    from spanscope.collector.evals.checks import check_schema
    from spanscope.collector.evals.replay import ReplayOptions, replay

    schema = None
    if args.json_schema:
        try:
            schema = json.loads(Path(args.json_schema).read_text())
            check_schema(schema)
        except OSError as exc:
            raise CliError(f"cannot read {args.json_schema}: {exc.strerror}") from None
        except Exception as exc:
            raise CliError(f"{args.json_schema} is not a JSON Schema: {str(exc).splitlines()[0]}") from None
    with _api(args) as api:
        opts = ReplayOptions(
            dataset=args.dataset,
            target=args.target,
            api=api,
            version=args.version,
            baseline=args.baseline,
            thresholds=_thresholds(args.threshold),
            checks=tuple(dict.fromkeys(args.check)) if args.check else CHECKS,
            concurrency=args.concurrency,
            tolerance=args.tolerance,
            evaluators_file=Path(args.evaluators) if args.evaluators else None,
            use_api_evaluators=not args.no_evaluators,
            json_schema=schema,
            service=args.service,
        )
        return replay(opts)


def cmd_eval_runs(args: argparse.Namespace) -> int:
    with _api(args) as api:
        runs = api.get("/api/eval-runs", dataset=args.dataset, limit=args.limit)["runs"]
    if not runs:
        print("no runs yet: spanscope eval run DATASET --target module:function")
        return 0
    _table(
        [("run_id", "created", "dataset", "items", "failed", "scores")]
        + [
            (
                r["run_id"],
                r["created_at"][:19],
                f"{r['dataset']} v{r['dataset_version']}",
                str(r["item_count"]),
                str(r["error_count"]),
                " ".join(f"{k}={v['mean']:.3f}" for k, v in sorted(r["scores"].items())),
            )
            for r in runs
        ]
    )
    return 0


def register(sub: Any) -> None:
    ds = sub.add_parser("datasets", help="golden datasets: list, show, create, add, edit, export…")
    dsub = ds.add_subparsers(dest="datasets_command", required=True)

    def cmd(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = dsub.add_parser(name, help=help)
        _connection(sp)
        sp.set_defaults(func=func)
        return sp

    cmd("list", cmd_list, "datasets with their latest version")
    sp = cmd("show", cmd_show, "items of a version")
    sp.add_argument("name")
    sp.add_argument("--version", type=int, default=None, help="default: the latest")
    sp.add_argument("--json", action="store_true", help="print the items as JSON")
    sp = cmd("versions", cmd_versions, "the versions of a dataset")
    sp.add_argument("name")
    sp = cmd("create", cmd_create, "create a dataset (version 1)")
    sp.add_argument("name")
    sp.add_argument("--description", default="")
    sp.add_argument("--file", help="JSONL items to start with ('-' for stdin)")

    def filter_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--range", default="24h", help="how far back: 1h, 24h, 7d…")
        p.add_argument("--reasons", help=f"comma-separated, default all: {','.join(REASONS)}")
        p.add_argument("--score-name", help="low_score: only this score")
        p.add_argument("--max-score", type=float, default=0.5, help="low/failed scores are at or below (0.5)")
        p.add_argument("--span", choices=["root", "generation"], default="root", help="where input/output come from")
        p.add_argument("--service", action="append", help="root span's service (repeatable)")
        p.add_argument("--limit", type=int, default=100)

    sp = cmd("add", cmd_add, "add items (a new version); inputs already in the dataset are skipped")
    sp.add_argument("name")
    sp.add_argument("--input", help="one item's input")
    sp.add_argument("--expected", help="its expected output")
    sp.add_argument("--json", action="store_true", help="--input/--expected are JSON")
    sp.add_argument("--file", help="JSONL items ('-' for stdin); a JSONL export reads back")
    sp.add_argument("--from-hard-examples", action="store_true", help="add what the hard-examples filter finds")
    sp.add_argument("--copy-output", action="store_true", help="with --from-hard-examples: output as expected")
    sp.add_argument("--message", help="note stored with the version")
    filter_args(sp)
    sp = cmd("edit", cmd_edit, "set an item's expected output (a new version)")
    sp.add_argument("name")
    sp.add_argument("item_id")
    sp.add_argument("--expected", required=True)
    sp.add_argument("--json", action="store_true", help="--expected is JSON")
    sp.add_argument("--message")
    sp = cmd("remove", cmd_remove, "remove an item (a new version)")
    sp.add_argument("name")
    sp.add_argument("item_id")
    sp = cmd("export", cmd_export, "write a version as jsonl, promptfoo, openai_evals or csv")
    sp.add_argument("name")
    sp.add_argument("--format", choices=FORMATS, default="jsonl")
    sp.add_argument("--version", type=int, default=None, help="default: the latest")
    sp.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    sp = cmd("hard-examples", cmd_hard_examples, "traces with low scores, bad feedback, blocks, fallbacks, errors")
    sp.add_argument("--dataset", help="mark inputs already in this dataset")
    sp.add_argument("--json", action="store_true")
    filter_args(sp)

    ev = sub.add_parser("eval", help="replay a dataset through your code and gate on regressions")
    esub = ev.add_subparsers(dest="eval_command", required=True)
    run = esub.add_parser(
        "run",
        help="run every item through --target, score, compare with the baseline; exit 1 on regression",
        description="Exit codes: 0 passed, 1 a score regressed or is below its threshold, 2 usage error.",
    )
    _connection(run)
    run.add_argument("dataset")
    run.add_argument("--target", required=True, help="module:function (or file.py:function) called per item")
    run.add_argument("--version", type=int, default=None, help="dataset version (default: the latest)")
    run.add_argument(
        "--baseline",
        default="latest",
        help="run id to compare with; 'latest' (default): the dataset's previous run; 'none'",
    )
    run.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fail when a score's mean is below (repeatable)",
    )
    run.add_argument("--check", action="append", choices=CHECKS, help="built-in checks (repeatable; default all)")
    run.add_argument("--json-schema", help="JSON Schema file for the json_schema check")
    run.add_argument("--evaluators", help="evaluators YAML file (default: the project's configured evaluators)")
    run.add_argument("--no-evaluators", action="store_true", help="built-in checks only")
    run.add_argument("--tolerance", type=float, default=0.01, help="allowed drop of a mean score (0.01)")
    run.add_argument("--concurrency", type=int, default=4)
    run.add_argument("--service", default="spanscope-eval", help="service name of the replay traces")
    run.set_defaults(func=cmd_eval_run)
    runs = esub.add_parser("runs", help="recent runs")
    _connection(runs)
    runs.add_argument("dataset", nargs="?")
    runs.add_argument("--limit", type=int, default=20)
    runs.set_defaults(func=cmd_eval_runs)
