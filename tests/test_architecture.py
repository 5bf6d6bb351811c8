"""Imports point one way (``../shared/STYLE.md``): read every module's imports with ``ast`` and fail on
an import that goes up a floor, on a cycle between packages, and on torch reaching the client path.

The floors, top to bottom: ``cli`` -> ``commands`` -> ``server`` -> ``pipeline`` -> ``backends`` ->
``models`` -> the base modules (``frames``, ``errors``, ``config``, ``option_values``, ``files``);
``pipeline``
-> ``media`` -> base; ``live`` sits between ``server`` and ``pipeline``. ``bench``, ``training`` and
``evaluation`` sit beside ``commands``: they use
the core but never the server (``bench`` may drive the client), and ``evaluation`` may use
``training``, never the other way round. ``server`` reads the torch-free ``model_catalog`` (the web
page lists the same rows and cards as ``stream-restore models``). The client library uses only the
base and the generated ``v1`` messages. Nothing imports ``cli`` or ``commands`` (``cli`` finds
subcommands by name).
Function-level imports count as much as module-level ones: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "stream_restore"

_BASE = {
    "stream_restore",
    "frames",
    "errors",
    "config",
    "option_values",
    "files",
    "mp4_index",
    "status_codes",
    "paths",
}
# package (first part below stream_restore; a top-level module is its own package) -> what it may import
ALLOWED: dict[str, set[str]] = {
    "stream_restore": set(),
    "errors": set(),
    "config": {"errors"},
    "option_values": {"errors"},
    "files": set(),
    "paths": set(),
    "model_catalog": _BASE | {"models"},  # the registry only to regenerate the catalog
    "mp4_index": set(),
    "status_codes": {"errors"},
    "frames": {"errors", "config"},
    "v1": set(),
    "models": _BASE,
    "backends": _BASE | {"models"},
    "media": _BASE,
    "pipeline": _BASE | {"media", "backends", "models"},
    "live": _BASE | {"pipeline", "media", "backends", "models"},
    "jobs": _BASE | {"pipeline", "media", "backends", "models"},
    "server": _BASE | {"jobs", "live", "model_catalog", "pipeline", "media", "backends", "models", "v1"},
    "client": _BASE | {"v1"},
    "client_live": _BASE | {"client", "v1"},
    "training": _BASE | {"pipeline", "media", "backends", "models"},
    "evaluation": _BASE | {"training", "pipeline", "media", "backends", "models"},
    "bench": _BASE | {"client", "v1", "live", "pipeline", "media", "backends", "models"},
    "commands": _BASE | {"server", "client", "client_live", "v1", "bench", "training", "evaluation", "jobs",
                         "live",
                         "model_catalog", "pipeline", "media", "backends", "models"},
    "cli": _BASE | {"models"},  # only to register the model directory, lazily, for commands that use models
    "__main__": {"cli"},
}

# Imports that break the rules today, in files being rewritten: (importing module, imported package).
# Each is to be removed by the change that rewrites its file; the test fails once one is fixed, so
# that it is taken off this list too.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[1:2] == ["v1"]:
            continue  # generated code
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def _imported(module: str, path: Path) -> Iterator[str]:
    """Every stream_restore module or package ``module`` names in an import, relative ones resolved."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            yield target
            yield from (f"{target}.{alias.name}" for alias in node.names)


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "stream_restore":
        return None
    return parts[1] if len(parts) > 1 and parts[1] != "__version__" else "stream_restore"


def _package_edges() -> dict[tuple[str, str], set[str]]:
    """(importing package, imported package) -> the importing modules."""
    edges: dict[tuple[str, str], set[str]] = {}
    for module, path in _modules():
        source = _package(module)
        assert source is not None
        for target in filter(None, map(_package, _imported(module, path))):
            if target != source:
                edges.setdefault((source, target), set()).add(module)
    return edges


def _violations() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for (source, target), modules in _package_edges().items():
        if target not in ALLOWED.get(source, set()):
            found.update((module, target) for module in modules)
    return found


def test_every_package_has_a_floor() -> None:
    packages = {_package(module) for module, _ in _modules()}
    assert packages <= ALLOWED.keys(), f"new packages need a floor in ALLOWED: {packages - ALLOWED.keys()}"


def test_no_upward_imports() -> None:
    new = _violations() - KNOWN_EXCEPTIONS
    assert not new, "imports against the direction of STYLE.md: " + ", ".join(
        f"{module} -> {target}" for module, target in sorted(new)
    )


def test_known_exceptions_are_still_real() -> None:
    fixed = KNOWN_EXCEPTIONS - _violations()
    assert not fixed, f"fixed, take these off KNOWN_EXCEPTIONS: {sorted(fixed)}"


def test_allowed_floors_have_no_cycle() -> None:
    """The rules themselves are a one-way order (so obeying them rules out package cycles)."""
    _assert_acyclic({(source, target) for source, targets in ALLOWED.items() for target in targets})


def test_no_package_cycles() -> None:
    _assert_acyclic(set(_package_edges()))


def _assert_acyclic(edges: set[tuple[str, str]]) -> None:
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("package cycle: " + " -> ".join([*path[path.index(node) :], node]))
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])


def test_the_rules_catch_an_upward_import(tmp_path: Path) -> None:
    """The reader sees relative, nested and lazy imports (else the tests above could never fail)."""
    path = tmp_path / "__init__.py"
    path.write_text("def f():\n    from ..server import app\n    from .. import pipeline\n")
    names = set(_imported("stream_restore.models", path))
    assert {"stream_restore.server.app", "stream_restore.pipeline"} <= names


def test_client_path_is_torch_free() -> None:
    """``stream-restore client`` and the client library start without torch or the pipeline."""
    code = (
        "import sys\n"
        "from stream_restore.cli import _build_parser\n"
        "_build_parser('client')\n"
        "import stream_restore.client, stream_restore.client_live, stream_restore.commands.client\n"
        "import stream_restore.commands.progress\n"
        "heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith('stream_restore.pipeline'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
