"""What one fuzz input did: its outcome class and the invariants it broke."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Outcome", "Violation"]


@dataclass(frozen=True)
class Violation:
    """A broken invariant: ``kind`` names the class (``traceback``, ``hang``, ``INTERNAL``, ...)."""

    kind: str
    detail: str


@dataclass
class Outcome:
    index: int
    target: str  # cli, restore, image, frames, wire, or "server" for checks between batches
    result: str  # "ok", "exit 2", "INVALID_ARGUMENT", "timeout", ...
    seconds: float = 0.0
    message: str = ""  # the error line or status details, shortened
    violations: list[Violation] = field(default_factory=list)

    def violate(self, kind: str, detail: str) -> None:
        self.violations.append(Violation(kind, detail[:600]))
