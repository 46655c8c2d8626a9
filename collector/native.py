"""Which build of the ingest hot path runs: mypyc-compiled or plain Python.

setup.py compiles the modules named in `compiled.json` and records the source each extension was
built from. An extension module is imported before its `.py` twin, so in a checkout whose sources
were edited after the build the old C would keep running; then every compiled module is imported
from its source instead (all of them: compiled modules call each other directly), with a warning.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger("spanscope.native")

PACKAGE = "spanscope.collector"
HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "compiled.json"


def source_of(module: str) -> Path:
    rel = module.removeprefix(PACKAGE).lstrip(".").split(".")
    path = HERE.joinpath(*rel)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def built_modules() -> dict[str, str]:
    """Compiled module → SHA-256 of the source it was built from (empty without a build)."""
    try:
        modules = json.loads(MANIFEST.read_text())["modules"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    return {str(k): str(v) for k, v in modules.items()} if isinstance(modules, dict) else {}


def is_compiled(module: ModuleType) -> bool:
    return any(str(getattr(module, "__file__", "")).endswith(s) for s in importlib.machinery.EXTENSION_SUFFIXES)


def stale_modules(built: dict[str, str]) -> list[str]:
    stale = []
    for module, digest in built.items():
        try:
            current = hashlib.sha256(source_of(module).read_bytes()).hexdigest()
        except OSError:
            continue  # an installed build may ship without sources: nothing to be stale against
        if current != digest:
            stale.append(module)
    return stale


class SourceFinder(importlib.abc.MetaPathFinder):
    """Imports the listed modules from their `.py` files, never from an extension beside them."""

    def __init__(self, modules: set[str]) -> None:
        self.modules = modules

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.modules:
            return None
        source = source_of(fullname)
        locations = [str(source.parent)] if source.name == "__init__.py" else None
        return importlib.util.spec_from_file_location(fullname, source, submodule_search_locations=locations)


def use_sources_if_stale() -> None:
    built = built_modules()
    stale = stale_modules(built) if built else []
    if not stale:
        return
    if not any(isinstance(f, SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, SourceFinder(set(built)))
    log.warning(
        "%s changed since the ingest path was compiled; running it as plain Python "
        "(reinstall, e.g. pip install -e ., to compile it again)",
        ", ".join(sorted(stale)),
    )
