"""Builds the modules every ingested span goes through with mypyc, when it can.

OTLP decoding, convention normalisation, redaction and pricing are typed Python; compiled to C by
mypyc they take about a third less CPU per span. Without mypy or a C compiler (or with
SPANSCOPE_PURE_PYTHON=1) the same modules run as plain Python. Metadata lives in pyproject.toml.

The sources are compiled under the names they are imported by (`spanscope.collector.…`) through a
staging tree of links, and `collector/compiled.json` records the source each extension was built
from, so a checkout whose sources changed after the build runs them as Python instead of stale C
(see `spanscope.collector.native`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup

ROOT = Path(__file__).resolve().parent
HOT_PATH = [
    "collector/otlp.py",
    "collector/otlp_wire.py",
    "collector/pricing.py",
    "collector/security/redaction.py",
    # Not the package's __init__: a compiled package would get a wrong __path__ in this layout.
    *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "collector" / "normalize").glob("*.py") if p.stem != "__init__"),
]
MANIFEST = ROOT / "collector" / "compiled.json"
# Commands that only read metadata: no need to run mypyc for them.
METADATA_COMMANDS = {"egg_info", "dist_info", "sdist", "--version", "--name"}


def _module(path: str) -> str:
    return "spanscope." + path.removesuffix(".py").replace("/", ".")


def _staging() -> Path:
    """build/mypyc-src/spanscope/<package> → the package's folder, for mypy to name modules right."""
    base = ROOT / "build" / "mypyc-src"
    for package in ("collector", "schemas", "sdk"):
        link = base / "spanscope" / package
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(ROOT / package, target_is_directory=True)
    return base


def ext_modules() -> list[Any]:
    if os.environ.get("SPANSCOPE_PURE_PYTHON") or METADATA_COMMANDS.intersection(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("spanscope: mypy is not installed, the ingest path stays plain Python", file=sys.stderr)
        return []
    base = _staging()
    os.environ["MYPYPATH"] = str(base)
    try:
        extensions = mypycify(
            ["--config-file", str(ROOT / "pyproject.toml"), *(str(base / "spanscope" / p) for p in HOT_PATH)],
            opt_level="3",
            group_name="spanscope_collector",
        )
    except BaseException as exc:  # mypy reports errors with SystemExit
        print(f"spanscope: mypyc could not compile the ingest path ({exc!r}); it stays plain Python", file=sys.stderr)
        return []
    for ext in extensions:
        ext.optional = True  # no C compiler: a warning, and the plain Python modules
    sources = {_module(p): hashlib.sha256((ROOT / p).read_bytes()).hexdigest() for p in HOT_PATH}
    MANIFEST.write_text(json.dumps({"modules": sources}, indent=1, sort_keys=True) + "\n")
    return extensions


setup(ext_modules=ext_modules())
