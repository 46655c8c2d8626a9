"""Configuration of the compose deployment: every variable is read by the code and documented in
.env.example, state lives on volumes, and the shipped redaction file is valid."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from spanscope.collector.security.redaction import load_file

ROOT = Path(__file__).resolve().parents[1]
SOURCES = "\n".join(p.read_text() for d in ("collector", "dashboard") for p in (ROOT / d).rglob("*.py"))


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_spanscope_variable_given_to_a_service_is_read_by_the_code() -> None:
    for name, svc in _compose()["services"].items():
        for key in svc.get("environment") or {}:
            if key.startswith("SPANSCOPE_"):
                assert f'"{key}"' in SOURCES, f"{name}: {key} is not read anywhere"


def test_every_interpolated_variable_is_documented_in_env_example() -> None:
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    documented = set(re.findall(r"^(\w+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used <= documented, used - documented


def test_services_restart_and_keep_their_state_on_named_volumes() -> None:
    compose = _compose()
    for name, svc in compose["services"].items():
        assert svc.get("restart") in ("unless-stopped", "always"), name
    collector = compose["services"]["collector"]
    data_dir = collector["environment"]["SPANSCOPE_DATA_DIR"]
    wal_volumes = [v.split(":")[0] for v in collector["volumes"] if v.split(":")[1] == data_dir]
    assert wal_volumes and wal_volumes[0] in compose["volumes"], "the write-ahead log must live on a volume"


def test_collector_healthcheck_waits_for_readiness_and_dashboard_for_streamlit() -> None:
    services = _compose()["services"]
    assert "/readyz" in " ".join(services["collector"]["healthcheck"]["test"])
    assert "/_stcore/health" in " ".join(services["dashboard"]["healthcheck"]["test"])


def test_mounted_redaction_file_exists_and_is_valid() -> None:
    collector = _compose()["services"]["collector"]
    target = collector["environment"]["SPANSCOPE_REDACTION_FILE"]
    source = next(v.split(":")[0] for v in collector["volumes"] if v.split(":")[1] == target)
    load_file(ROOT / source)


def test_dockerfile_pins_its_base_image_and_runs_unprivileged() -> None:
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.M)
    assert base and ":" in base.group(1) and not base.group(1).endswith(":latest")
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert not re.search(r"^ADD https?://", text, re.M)
    exposed = set(re.findall(r"\d+", " ".join(re.findall(r"^EXPOSE (.+)$", text, re.M))))
    published = {p.split(":")[1] for svc in _compose()["services"].values() for p in svc.get("ports", [])}
    assert published <= exposed
