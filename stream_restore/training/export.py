"""Write trained weights into the package: ``models/weights/<name>.safetensors`` + its SHA-256.

The checksum table ``models/checksums.py`` is regenerated (sorted) so registrations pick it up on
the next import; the lead engineer reviews and commits both.
"""

from __future__ import annotations

import fcntl
import re
from pathlib import Path

import torch
from torch import nn

from ..files import atomic_path
from ..models import checksums
from ..models.registry import file_sha256

__all__ = ["export_weights"]

_PACKAGE = Path(checksums.__file__).parent


def export_weights(name: str, module: nn.Module) -> tuple[Path, str]:
    """Save ``module``'s state dict (float32, contiguous) for model ``name``; return (path, sha256)."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in module.state_dict().items()}
    path = _PACKAGE / "weights" / f"{name}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, mode=0o644) as tmp:  # the package is world-readable
        save_file(state, str(tmp), metadata={"model": name, "format": "pt"})
    digest = file_sha256(path)
    with open(_PACKAGE / "checksums.py", "r+") as lock:  # serialise concurrent exports
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _write_checksums({**_read_checksums(), name: digest})
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path, digest


def _read_checksums() -> dict[str, str]:
    # Re-read the file rather than the imported dict: another export may have run since import.
    source = (_PACKAGE / "checksums.py").read_text()
    return dict(re.findall(r'^    "([a-z0-9-]+)": "([0-9a-f]{64})",$', source, flags=re.MULTILINE))


def _write_checksums(table: dict[str, str]) -> None:
    path = _PACKAGE / "checksums.py"
    source = path.read_text()
    start = source.index("SHA256: dict[str, str] = {")
    end = source.index("}\n", start) + 2
    body = "".join(f'    "{k}": "{v}",\n' for k, v in sorted(table.items()))
    path.write_text(source[:start] + "SHA256: dict[str, str] = {\n" + body + "}\n" + source[end:])
