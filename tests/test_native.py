"""The compiled ingest path runs only while it matches its sources; otherwise the sources run."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from spanscope.collector import native


def _digest(module: str) -> str:
    return hashlib.sha256(native.source_of(module).read_bytes()).hexdigest()


def test_source_of_maps_module_names_to_the_collector_folder() -> None:
    assert native.source_of("spanscope.collector.otlp") == native.HERE / "otlp.py"
    assert native.source_of("spanscope.collector.normalize.canon") == native.HERE / "normalize" / "canon.py"
    assert native.source_of("spanscope.collector.normalize") == native.HERE / "normalize" / "__init__.py"


def test_a_module_whose_source_changed_since_the_build_is_stale() -> None:
    built = {"spanscope.collector.otlp": _digest("spanscope.collector.otlp"), "spanscope.collector.pricing": "0" * 64}
    assert native.stale_modules(built) == ["spanscope.collector.pricing"]


def test_the_source_finder_imports_the_py_files_even_beside_extensions() -> None:
    # All the compiled modules at once, as use_sources_if_stale does: compiled modules initialise
    # the compiled modules they call themselves.
    code = (
        "import sys\n"
        "from spanscope.collector import native\n"
        "modules = set(native.built_modules()) | {'spanscope.collector.normalize.canon'}\n"
        "sys.meta_path.insert(0, native.SourceFinder(modules))\n"
        "import spanscope.collector.normalize.canon as canon\n"
        "print(canon.__file__, native.is_compiled(canon))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(native.HERE / "normalize" / "canon.py"), "False"]


def test_the_build_manifest_names_only_existing_modules_of_the_collector() -> None:
    from spanscope.collector import otlp

    built = native.built_modules()
    assert built or not native.is_compiled(otlp)  # a compiled build always has its manifest
    for module in built:
        assert module.startswith("spanscope.collector.")
        assert native.source_of(module).is_file()
