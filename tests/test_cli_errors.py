"""The CLI's answer to settings it cannot use: exit 2 and one readable line naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from spanscope.collector.cli import main


@pytest.mark.parametrize(
    ("variable", "value", "kind"),
    [("SPANSCOPE_BATCH_INTERVAL_S", "soon", "a number"), ("SPANSCOPE_PORT", "43.18", "an integer")],
)
def test_a_malformed_setting_is_one_line_naming_the_variable(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    kind: str,
) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["collector", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"spanscope: {variable} must be {kind}, got {value!r}"
