"""`spanscope keys` on a fresh install and against a running collector with auth on; the SDK and
plain OpenTelemetry exporters authenticate with the keys it prints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.collector_process import CollectorProcess, free_port

SDK_SCRIPT = """
import sys
import spanscope.sdk as spanscope

spanscope.init(endpoint=sys.argv[1], api_key=sys.argv[2], service="keyed-app")
with spanscope.observation("request", kind="chain"):
    tid = spanscope.get_current_trace_id()
    spanscope.score("answered", True)
print(tid)
spanscope.shutdown()
"""

OTEL_SCRIPT = """
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))  # endpoint and headers from the env
with provider.get_tracer("plain-otel").start_as_current_span("otel-op") as span:
    print(format(span.get_span_context().trace_id, "032x"))
provider.shutdown()
"""


def spanscope_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SPANSCOPE_")}
    return subprocess.run(
        [sys.executable, "-m", "spanscope.collector.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**full_env, **(env or {})},
    )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("keys-cli") / "data"
    nobody = f"http://127.0.0.1:{free_port()}"  # no collector there: the CLI opens the data directory
    keys = {}
    for name, project, scope in (("admin", "*", "admin"), ("ingest", "shop", "ingest"), ("read", "shop", "read")):
        out = spanscope_cli(
            "keys", "create", "--project", project, "--scope", scope, "--api", nobody, "--data-dir", str(data)
        )
        assert out.returncode == 0, out.stderr
        keys[name] = out.stdout.strip()
    proc = CollectorProcess(data, env={"SPANSCOPE_AUTH": "on"}).start()
    try:
        yield {"proc": proc, "keys": keys, "data": data}
    finally:
        proc.stop()


def sql(setup: dict[str, Any], query: str) -> list[list[Any]]:
    r = httpx.post(
        setup["proc"].url + "/api/sql",
        json={"query": query},
        headers={"Authorization": f"Bearer {setup['keys']['admin']}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    rows: list[list[Any]] = r.json()["data"]
    return rows


def wait_rows(setup: dict[str, Any], query: str, timeout: float = 30.0) -> list[list[Any]]:
    deadline = time.monotonic() + timeout
    rows = sql(setup, query)
    while not rows and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = sql(setup, query)
    return rows


def test_keys_created_before_the_collector_starts_have_their_scope_letter(setup: dict[str, Any]) -> None:
    assert setup["keys"]["admin"].startswith("ssk_a_")
    assert setup["keys"]["ingest"].startswith("ssk_i_")
    assert len(setup["keys"]["read"]) > 40


def test_only_hashes_of_keys_are_stored(setup: dict[str, Any]) -> None:
    rows = sql(setup, "SELECT key_hash, prefix, project_id, scope FROM spanscope.api_keys")
    stored = repr(rows)
    assert all(key not in stored for key in setup["keys"].values())
    ingest = setup["keys"]["ingest"]
    assert [hashlib.sha256(ingest.encode()).hexdigest(), ingest[:12], "shop", "ingest"] in rows


def test_the_sdk_sends_spans_and_scores_with_its_api_key(setup: dict[str, Any]) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, setup["proc"].url, setup["keys"]["ingest"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    tid = out.stdout.strip().splitlines()[-1]
    spans = wait_rows(setup, f"SELECT project_id, name FROM spanscope.spans WHERE trace_id = '{tid}'")
    assert spans == [["shop", "request"]]
    scores = wait_rows(setup, f"SELECT project_id, name FROM spanscope.scores WHERE trace_id = '{tid}'")
    assert scores == [["shop", "answered"]]


def test_a_plain_otel_exporter_authenticates_with_otlp_headers(setup: dict[str, Any]) -> None:
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": setup["proc"].url,
        "OTEL_EXPORTER_OTLP_HEADERS": f"authorization=Bearer {setup['keys']['ingest']}",
    }
    out = subprocess.run([sys.executable, "-c", OTEL_SCRIPT], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    tid = out.stdout.strip()
    assert wait_rows(setup, f"SELECT project_id FROM spanscope.spans WHERE trace_id = '{tid}'") == [["shop"]]


def test_the_cli_lists_keys_through_the_running_collector_without_secrets(setup: dict[str, Any]) -> None:
    out = spanscope_cli(
        "keys",
        "list",
        "--project",
        "shop",
        "--api",
        setup["proc"].url,
        env={"SPANSCOPE_ADMIN_KEY": setup["keys"]["admin"]},
    )
    assert out.returncode == 0, out.stderr
    assert setup["keys"]["ingest"][:12] in out.stdout
    assert setup["keys"]["ingest"] not in out.stdout and setup["keys"]["read"] not in out.stdout


def test_a_key_revoked_with_the_cli_is_refused_at_once(setup: dict[str, Any]) -> None:
    admin = {"SPANSCOPE_ADMIN_KEY": setup["keys"]["admin"]}
    url = setup["proc"].url
    created = spanscope_cli("keys", "create", "--project", "shop", "--scope", "read", "--api", url, env=admin)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    headers = {"Authorization": f"Bearer {key}"}
    assert httpx.get(url + "/api/traces", headers=headers).status_code == 200
    out = spanscope_cli("keys", "revoke", key[:12], "--project", "shop", "--api", url, env=admin)
    assert out.returncode == 0, out.stderr
    assert httpx.get(url + "/api/traces", headers=headers).status_code == 401


def test_the_cli_without_an_admin_key_fails_with_one_line(setup: dict[str, Any]) -> None:
    out = spanscope_cli("keys", "list", "--api", setup["proc"].url)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1
    assert "401" in out.stderr and "admin key" in out.stderr


def test_projects_usage_and_retention_through_the_cli(setup: dict[str, Any]) -> None:
    admin = {"SPANSCOPE_ADMIN_KEY": setup["keys"]["admin"]}
    url = setup["proc"].url
    out = spanscope_cli("projects", "retention", "shop", "14", "--api", url, env=admin)
    assert out.returncode == 0, out.stderr
    assert "14 days" in out.stdout
    usage = spanscope_cli("projects", "usage", "shop", "--api", url, env=admin)
    assert usage.returncode == 0, usage.stderr
    assert "spans" in usage.stdout and "kept 14 days" in usage.stdout


def test_keys_create_refuses_a_read_key_for_every_project(tmp_path: Path) -> None:
    out = spanscope_cli("keys", "create", "--project", "*", "--scope", "read", "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "admin" in out.stderr
