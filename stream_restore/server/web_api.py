"""What the web page asks the server for, as JSON: the same core calls and messages as the gRPC API.

Models, server information, image restoration and jobs go through the functions the servicers use
(:func:`.servicer.list_models`, :func:`.servicer.server_info`, :func:`.image_call.restore_image_in_slot`,
:class:`.jobs_call.JobsServicer`), and their messages become JSON with protobuf's own mapping, so
the page sees what a gRPC client sees. No request names a file-system path outside the jobs roots:
jobs take paths relative to them (checked by the jobs core) and outputs are downloaded by job id.
"""

from __future__ import annotations

import base64
import binascii
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from ..errors import InputError, PermissionDeniedError
from ..jobs import JobState
from ..jobs.roots import path_under, relative_to_root
from ..jobs.service import JobsCore
from ..live import LiveManager
from ..model_catalog import card_text, catalog_rows
from ..models.registry import get_spec
from ..v1 import jobs_pb2 as jpb
from .image_call import restore_image_in_slot
from .jobs_call import JobsServicer
from .servicer import list_models, server_info
from .state import ServerState

__all__ = ["JobOutput", "WebApi"]

JSON = dict[str, Any]


def as_json(message: Message) -> JSON:
    """A message as JSON the way protobuf maps it, every field present (zeros included)."""
    data: JSON = json_format.MessageToDict(message, always_print_fields_with_no_presence=True,
                                           preserving_proto_field_name=True)
    return data


def _parse(body: JSON, message: Message) -> None:
    """Fill ``message`` from JSON (unknown fields and wrong types are the caller's error)."""
    try:
        json_format.ParseDict(body, message)
    except json_format.ParseError as exc:
        raise InputError(f"the request does not fit {message.DESCRIPTOR.name}: {exc}") from None


@dataclass(frozen=True)
class JobOutput:
    """A finished job's output file, to be sent as a download."""

    path: Path
    name: str
    size: int


class WebApi:
    """The page's endpoints over one server's state, jobs core and live sessions."""

    def __init__(self, state: ServerState, jobs: JobsCore | None, live: LiveManager | None = None,
                 auth: str = "none") -> None:
        self.state = state
        self.jobs = JobsServicer(state, jobs) if jobs is not None else None
        self.live = live
        self.auth = auth  # "token", "mutual TLS", "token + mutual TLS" or "none": shown on the page

    # -- server --------------------------------------------------------------------------------
    def health(self) -> JSON:
        return {"status": "NOT_SERVING" if self.state.stopping else "SERVING"}

    def info(self) -> JSON:
        state = self.state
        return {
            **as_json(server_info(state)),
            "stream_slots": {"used": state.slots.active, "limit": state.slots.limit},
            "image_slots": {"used": state.images.active, "limit": state.images.limit},
            "streams_started": state.slots.started,
            "jobs": self.jobs is not None,
            "live": self.live is not None,
            "auth": self.auth,
            **self.health(),
        }

    # -- models --------------------------------------------------------------------------------
    def models(self) -> JSON:
        """The registered models, with the catalog's figures and whether each has a card."""
        rows = {row.name: row for row in catalog_rows(None)}
        models = []
        for info in list_models(self.state).models:
            row = rows.get(info.name)
            models.append({
                **as_json(info),
                "parameters": row.parameters if row else None,
                "gflop_per_mpixel": row.gflop_per_mpixel if row else None,
                "card": card_text(info.name) is not None,
            })
        return {"models": models}

    def card(self, name: str) -> JSON:
        get_spec(name)  # ModelNotFoundError for a name the registry does not know
        return {"name": name, "card": card_text(name)}

    # -- images --------------------------------------------------------------------------------
    def restore_image(self, body: JSON) -> JSON:
        """``{"model", "image": base64, "output_format"?}`` -> the restored image, base64, and sizes."""
        model, data = body.get("model"), body.get("image")
        output_format = body.get("output_format") or "png"
        if not isinstance(model, str) or not model:
            raise InputError("name a model (\"model\")")
        if not isinstance(data, str) or not isinstance(output_format, str):
            raise InputError("send the image as base64 text (\"image\")")
        try:
            encoded = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InputError("\"image\" is not valid base64") from None
        result = restore_image_in_slot(self.state, encoded, model, "", output_format=output_format)
        return {
            "image": base64.b64encode(result.data).decode("ascii"),
            "mime_type": result.mime_type,
            "width": result.width,
            "height": result.height,
            "seconds": result.seconds,
            "model": model,
        }

    # -- jobs ----------------------------------------------------------------------------------
    def _servicer(self) -> JobsServicer:
        if self.jobs is None:
            raise PermissionDeniedError("this server runs no jobs (start it with --jobs-input-root and "
                                        "--jobs-output-root)")
        return self.jobs

    def list_jobs(self) -> JSON:
        servicer = self._servicer()
        jobs = sorted(servicer.core.list(), key=lambda p: p.job_id)
        return {"jobs": [as_json(servicer.message(p)) for p in jobs]}

    def get_job(self, job_id: str) -> JSON:
        servicer = self._servicer()
        servicer.core.kick()  # as WatchJob does: a watched job always has workers
        return as_json(servicer.message(servicer.core.get(job_id)))

    def submit_job(self, body: JSON) -> JSON:
        """A SubmitJobRequest as JSON: ``inputs`` and ``output_dir`` relative to the jobs roots."""
        servicer = self._servicer()
        request = jpb.SubmitJobRequest()
        _parse(body, request)
        return {"jobs": [as_json(job) for job in servicer.submit(request)]}

    def cancel_job(self, job_id: str) -> JSON:
        servicer = self._servicer()
        return as_json(servicer.message(servicer.core.cancel(job_id)))

    def resume_job(self, job_id: str) -> JSON:
        servicer = self._servicer()
        return as_json(servicer.message(servicer.core.resume(job_id)))

    def job_output(self, job_id: str) -> JobOutput:
        """A done job's output, checked under the output root again (a link may have changed since)."""
        core = self._servicer().core
        if core.get(job_id).state != JobState.DONE:
            raise InputError(f"job {job_id} has not finished; its output is not ready")
        _, target = core.record(job_id)
        path = path_under(core.roots.output, relative_to_root(core.roots.output, target), "output")
        if not path.is_file():
            raise InputError(f"job {job_id}'s output is no longer there")
        return JobOutput(path, path.name, path.stat().st_size)

    # -- live sessions -------------------------------------------------------------------------
    # The server's Live sessions (``live`` is None where the operator allowed no live source).
    def live_sessions(self) -> JSON:
        if self.live is None:
            return {"available": False, "sessions": []}
        now = time.time()
        sessions = []
        for session in self.live.sessions():
            info = session.info()
            status = info.status
            sessions.append({"id": info.id, "source": info.source, "outputs": list(info.outputs),
                             "model": info.model, "seconds": round(now - info.started, 1),
                             "state": status.state, "input_fps": round(status.input_fps, 1),
                             "output_fps": round(status.output_fps, 1), "dropped": status.dropped,
                             "reconnects": status.reconnects,
                             "latency_ms": [round(1000 * status.latency_p50),
                                            round(1000 * status.latency_p95)],
                             "error": status.last_error})
        return {"available": True, "sessions": sessions}

