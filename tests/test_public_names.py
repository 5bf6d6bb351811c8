"""Each package says what it offers: the public names of its ``__init__`` are exactly its ``__all__``.

Re-exports are deliberate, so a name imported into a package's ``__init__`` without being listed
(or listed without existing) is an error; submodules themselves do not count as names.
"""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import stream_restore

PACKAGES = [
    "stream_restore",
    *sorted(
        name
        for _, name, is_package in pkgutil.walk_packages(stream_restore.__path__, "stream_restore.")
        if is_package and not name.startswith("stream_restore.v1")
    ),
]


def _offered(package: str, key: str, value: object) -> bool:
    """A public name the package itself provides: defined in it or in one of its submodules
    (names it merely imports from elsewhere, such as an error class, are its implementation)."""
    if key.startswith("_") and not (key.startswith("__") and key.endswith("__")):
        return False
    if key.startswith("__"):
        return key == "__version__"
    if isinstance(value, types.ModuleType) or key == "annotations":
        return False
    module = getattr(value, "__module__", None)
    return module is None or not isinstance(module, str) or module.startswith(package)


@pytest.mark.parametrize("name", PACKAGES)
def test_public_names_match_all(name: str) -> None:
    package = importlib.import_module(name)
    listed = getattr(package, "__all__", [])
    assert len(listed) == len(set(listed)), f"{name}.__all__ repeats a name"
    public = {key for key, value in vars(package).items() if _offered(name, key, value)}
    assert not set(listed) - set(vars(package)), f"{name}.__all__ lists names it does not have"
    assert not public - set(listed), f"{name} exports names missing from __all__"


def test_every_package_is_checked() -> None:
    assert {"stream_restore.media", "stream_restore.pipeline", "stream_restore.server"} <= set(PACKAGES)
