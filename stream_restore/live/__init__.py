"""Live feeds: pull a camera or stream, restore it in real time, publish it with bounded latency.

:mod:`.allow` (what a request may open), :mod:`.options` (typed settings, output forms),
:mod:`.source` (ingest, reconnects, pacing and the drop policy), :mod:`.publish` (one encode, many
outputs), :mod:`.session` (sessions and their manager). PyAV stays in ``media.live_in`` and
``media.live_out``; every session runs through the one pipeline driver.
"""

from __future__ import annotations

from .allow import AllowRule, check_url, parse_rules
from .counters import LiveStatus, OutputStatus
from .options import BLOCK, DROP, IngestOptions, LiveConfig, OutputTarget, parse_output
from .session import LiveManager, LiveSession, SessionInfo, engine_lease

__all__ = [
    "BLOCK",
    "DROP",
    "AllowRule",
    "IngestOptions",
    "LiveConfig",
    "LiveManager",
    "LiveSession",
    "LiveStatus",
    "OutputStatus",
    "OutputTarget",
    "SessionInfo",
    "check_url",
    "engine_lease",
    "parse_output",
    "parse_rules",
]
