"""The deployment files hold together (no Docker engine runs here, so they are checked statically)."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

import yaml
from spanscope.collector.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_the_official_clickhouse_image_with_a_data_volume() -> None:
    ch = _compose()["services"]["clickhouse"]
    assert ch["image"].startswith("clickhouse/clickhouse-server:")
    assert any(v.endswith(":/var/lib/clickhouse") for v in ch["volumes"])
    assert "healthcheck" in ch


def test_collector_points_at_the_clickhouse_service_with_its_credentials() -> None:
    services = _compose()["services"]
    env = services["collector"]["environment"]
    url = urlparse(env["SPANSCOPE_CLICKHOUSE_URL"].replace("${CLICKHOUSE_PASSWORD}", "pw"))
    ch_env = services["clickhouse"]["environment"]
    assert url.hostname == "clickhouse" and url.port == 8123
    assert url.username == ch_env["CLICKHOUSE_USER"]
    assert url.path.strip("/") == ch_env["CLICKHOUSE_DB"]
    assert services["collector"]["depends_on"]["clickhouse"]["condition"] == "service_healthy"


def test_every_service_has_a_healthcheck() -> None:
    for name, svc in _compose()["services"].items():
        assert "healthcheck" in svc, name


def test_service_commands_are_valid_spanscope_commands() -> None:
    parser = build_parser()
    for name in ("collector", "dashboard"):
        cmd = _compose()["services"][name]["command"]
        assert cmd[0] == "spanscope"
        parser.parse_args(cmd[1:])  # exits (fails the test) on an unknown flag


def test_dashboard_reads_the_collector_service() -> None:
    cmd = _compose()["services"]["dashboard"]["command"]
    assert cmd[cmd.index("--api") + 1] == "http://collector:4318"


def test_dockerfile_copies_only_paths_that_exist_and_installs_the_server_extra() -> None:
    text = (ROOT / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _dest = line.split()
        for src in sources:
            assert (ROOT / src).exists(), src
    assert '".[server]"' in text
