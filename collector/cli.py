"""The `spanscope` command. Server dependencies are imported only by the subcommands that need them,
so a plain SDK install still gets a readable message instead of a traceback."""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

# Modules that add subcommands: each has `register(sub)` (an argparse subparsers object) and
# imports its server dependencies only inside its command functions.
EXTRA_COMMANDS: tuple[str, ...] = (
    "spanscope.collector.alerts.cli",
    "spanscope.collector.evals.cli",
    "spanscope.collector.security.cli",
)


class CliError(Exception):
    """A problem the user can fix; printed as one line, exit code 2."""


def _need_server() -> None:
    try:
        import chdb  # noqa: F401
        import clickhouse_connect  # noqa: F401
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise CliError(
            f'the server parts are not installed ({exc.name}): pip install "spanscope[server]"'
        ) from exc


def _settings(args: argparse.Namespace) -> object:
    from spanscope.collector.config import Settings

    try:
        base = Settings.from_env()
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    settings = base.with_overrides(
        data_dir=getattr(args, "data_dir", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )
    from spanscope.collector.security.auth import is_loopback

    if settings.auth == "off" and not is_loopback(settings.host):
        print(
            f"spanscope: warning: SPANSCOPE_AUTH=off while listening on {settings.host}: "
            "anyone who can reach this port can read and write every project",
            file=sys.stderr,
        )
    return settings


def _check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise CliError(
                f"cannot listen on {host}:{port}: {exc.strerror} (choose another port with --port)"
            ) from exc


def _check_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise CliError(f"data directory {path} is not writable: {exc.strerror}") from exc


def _wait_http(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except (URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def cmd_collector(args: argparse.Namespace) -> int:
    _need_server()
    import uvicorn
    from spanscope.collector.app import create_app
    from spanscope.collector.config import Settings

    settings = _settings(args)
    assert isinstance(settings, Settings)
    _check_data_dir(settings.data_dir)
    _check_port_free(settings.host, settings.port)
    print(
        f"spanscope collector on http://{settings.host}:{settings.port} (data in {settings.data_dir})",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=args.log_level,
        access_log=False,
    )
    return 0


def _dashboard_command(port: int, api: str, host: str = "127.0.0.1") -> tuple[list[str], dict[str, str]]:
    from spanscope import dashboard

    app = Path(dashboard.__file__).parent / "app.py"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
    ]
    env = dict(os.environ, SPANSCOPE_API_URL=api)
    return cmd, env


def cmd_dashboard(args: argparse.Namespace) -> int:
    _need_server()
    _check_port_free(args.host, args.port)
    cmd, env = _dashboard_command(args.port, args.api, args.host)
    print(f"spanscope dashboard on http://{args.host}:{args.port} (API {args.api})", flush=True)
    return subprocess.call(cmd, env=env)


def cmd_demo(args: argparse.Namespace) -> int:
    from spanscope.collector.demo.run import run_demo

    return run_demo(endpoint=args.endpoint, traces=args.traces, continuous=args.continuous, seed=args.seed)


def cmd_up(args: argparse.Namespace) -> int:
    """Collector in this process, dashboard (and demo traffic) as child processes."""
    _need_server()
    import uvicorn
    from spanscope.collector.app import create_app
    from spanscope.collector.config import Settings

    settings = _settings(args)
    assert isinstance(settings, Settings)
    _check_data_dir(settings.data_dir)
    _check_port_free(settings.host, settings.port)
    _check_port_free("127.0.0.1", args.dashboard_port)
    api = f"http://{'127.0.0.1' if settings.host in ('0.0.0.0', '::') else settings.host}:{settings.port}"
    children: list[subprocess.Popen[bytes]] = []
    dashboard_env: dict[str, str] = {}
    demo_env = dict(os.environ)
    if settings.auth_enabled:  # keys of this run: a read key for the dashboard, an ingest key for the demo
        from spanscope.collector.security.keys import new_token
        from spanscope.schemas.security import Scope

        dashboard_key = settings.dashboard_key or new_token(Scope.READ)
        demo_key = new_token(Scope.INGEST)
        settings = settings.with_overrides(
            dashboard_key=dashboard_key, session_keys=((demo_key, settings.project, Scope.INGEST.value),)
        )
        dashboard_env["SPANSCOPE_API_KEY"] = dashboard_key
        demo_env["SPANSCOPE_API_KEY"] = demo_key

    def start_children() -> None:
        if not _wait_http(f"{api}/healthz", 60):
            print("spanscope: the collector did not start; see the log above", file=sys.stderr)
            return
        # Storage migrates in the background; the demo's first scores would meet a 503 before it is ready.
        _wait_http(f"{api}/readyz", 60)
        cmd, env = _dashboard_command(args.dashboard_port, api)
        env.update(dashboard_env)
        children.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        if args.demo:
            demo = [sys.executable, "-m", "spanscope.collector.demo.run", "--endpoint", api, "--continuous"]
            children.append(subprocess.Popen(demo, stdout=subprocess.DEVNULL, env=demo_env))
        print(
            f"\n  spanscope is up\n  collector (OTLP/HTTP + API): {api}\n"
            f"  dashboard:                   http://127.0.0.1:{args.dashboard_port}\n"
            + ("  demo traffic:                running\n" if args.demo else "")
            + "  press Ctrl+C to stop\n",
            flush=True,
        )

    threading.Thread(target=start_children, daemon=True).start()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level=args.log_level,
            access_log=False,
        )
    )
    try:
        server.run()
    finally:
        for ch in children:
            ch.send_signal(signal.SIGTERM)
        for ch in children:
            try:
                ch.wait(timeout=10)
            except subprocess.TimeoutExpired:
                ch.kill()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="spanscope", description="LLM observability: traces, cost, quality, drift."
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--data-dir",
            help="where embedded storage and the write-ahead log live "
            "(env SPANSCOPE_DATA_DIR, default ./.spanscope)",
        )
        sp.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])

    up = sub.add_parser("up", help="start collector and dashboard together")
    common(up)
    up.add_argument("--host", help="collector address (default 127.0.0.1)")
    up.add_argument("--port", type=int, help="collector port (default 4318)")
    up.add_argument("--dashboard-port", type=int, default=8501)
    up.add_argument("--demo", action="store_true", help="also send realistic demo traffic")
    up.set_defaults(func=cmd_up)

    col = sub.add_parser("collector", help="run the OTLP collector and query API")
    common(col)
    col.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    col.add_argument("--port", type=int, help="port (default 4318)")
    col.set_defaults(func=cmd_collector)

    dash = sub.add_parser("dashboard", help="run the dashboard against a collector")
    common(dash)
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dash.add_argument("--port", type=int, default=8501)
    dash.add_argument("--api", default=os.environ.get("SPANSCOPE_API_URL", "http://127.0.0.1:4318"))
    dash.set_defaults(func=cmd_dashboard)

    demo = sub.add_parser("demo", help="drive a demo RAG app against a collector")
    common(demo)
    demo.add_argument("--endpoint", default=os.environ.get("SPANSCOPE_ENDPOINT", "http://127.0.0.1:4318"))
    demo.add_argument("--traces", type=int, default=200, help="how many requests to simulate")
    demo.add_argument("--continuous", action="store_true", help="keep sending until interrupted")
    demo.add_argument("--seed", type=int, default=None)
    demo.set_defaults(func=cmd_demo)

    for name in EXTRA_COMMANDS:
        importlib.import_module(name).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "data_dir", None):
        os.environ["SPANSCOPE_DATA_DIR"] = args.data_dir
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as exc:
        print(f"spanscope: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Through the package module, so CliError raised by extra command modules is this same class.
    from spanscope.collector.cli import main as package_main

    sys.exit(package_main())
