"""The Jobs service on a real server: submit, watch to completion, cancel, resume; paths outside the
configured roots refused and never opened; the same auth as Restorer; job metrics exported."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from stream_restore.errors import PermissionDeniedError
from stream_restore.jobs.roots import path_under
from stream_restore.v1 import jobs_pb2 as jpb
from stream_restore.v1 import jobs_pb2_grpc as jpb_grpc
from stream_restore.v1 import restore_pb2 as pb

from ..jobs.clips import gop_clip
from .conftest import BASE, Running, running_server

TOKEN = "jobs-secret"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def test_path_under_keeps_requests_inside_their_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.mkv").write_bytes(b"x")
    (tmp_path / "secret.mkv").write_bytes(b"x")
    (root / "out-link").symlink_to(tmp_path)
    (root / "sub" / "link.mkv").symlink_to(tmp_path / "secret.mkv")
    (root / "sub" / "inner.mkv").symlink_to(root / "sub" / "a.mkv")
    assert path_under(root, "sub/a.mkv", "input") == (root / "sub" / "a.mkv").resolve()
    assert path_under(root, str(root / "sub" / "a.mkv"), "input") == (root / "sub" / "a.mkv").resolve()
    assert path_under(root, "sub/inner.mkv", "input") == (root / "sub" / "a.mkv").resolve()  # stays inside
    assert path_under(root, "new/folder", "output") == (root / "new" / "folder").resolve()  # not there yet
    assert path_under(root, "", "output") == root.resolve()
    for bad in (
        "../secret.mkv",
        "sub/../../secret.mkv",
        str(tmp_path / "secret.mkv"),
        "/etc/passwd",
        "out-link/secret.mkv",
        "sub/link.mkv",
        "sub/..",
        str(root) + "-sibling/x",
    ):
        with pytest.raises(PermissionDeniedError):
            path_under(root, bad, "input")


@contextlib.contextmanager
def jobs_server(tmp_path: Path, **changes: object) -> Iterator[tuple[Running, jpb_grpc.JobsStub, Path, Path]]:
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    config = replace(
        BASE,
        jobs_input_root=str(inputs),
        jobs_output_root=str(outputs),
        state_dir=str(tmp_path / "state"),
        tokens=frozenset({TOKEN}),
        **changes,
    )  # type: ignore[arg-type]
    with running_server(config) as running, grpc.insecure_channel(running.address) as channel:
        yield running, jpb_grpc.JobsStub(channel), inputs, outputs


def _request(*inputs: str, output_dir: str = "restored") -> jpb.SubmitJobRequest:
    return jpb.SubmitJobRequest(
        inputs=list(inputs),
        output_dir=output_dir,
        segment_seconds=1.0,
        model=pb.ModelOptions(model="identity"),
        output=pb.OutputOptions(preset="ultrafast"),
    )


def _watch(stub: jpb_grpc.JobsStub, job_id: str) -> list[jpb.Job]:
    return list(stub.WatchJob(jpb.JobRef(id=job_id), metadata=AUTH, timeout=180))


def test_submit_watch_cancel_resume_and_refused_paths(tmp_path: Path) -> None:
    with jobs_server(tmp_path) as (running, stub, inputs, outputs):
        (inputs / "reels").mkdir()
        gop_clip(inputs / "reels" / "one.mp4", frames=60, audio=("aac",))
        (tmp_path / "outside.mkv").write_bytes(b"never read")

        with pytest.raises(grpc.RpcError) as refused:
            stub.SubmitJob(_request("reels"))  # no token
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED

        (job,) = stub.SubmitJob(_request("reels"), metadata=AUTH).jobs
        assert (job.input, job.output) == ("reels/one.mp4", "restored/one.mp4")  # relative to the roots
        updates = _watch(stub, job.id)
        assert updates[-1].state == jpb.JOB_STATE_DONE, updates[-1]
        assert updates[-1].frames_done == updates[-1].frames_total == 60 and updates[-1].segments == 3
        assert (outputs / "restored" / "one.mp4").stat().st_size > 0

        # cancel, then resume: only the rest is done and the job ends done
        os.replace(outputs / "restored" / "one.mp4", tmp_path / "first.mp4")
        (again,) = stub.SubmitJob(_request("reels/one.mp4", output_dir="second"), metadata=AUTH).jobs
        cancelled = stub.CancelJob(jpb.JobRef(id=again.id), metadata=AUTH)
        assert cancelled.state == jpb.JOB_STATE_CANCELLED
        assert _watch(stub, again.id)[-1].state == jpb.JOB_STATE_CANCELLED
        resumed = stub.ResumeJob(jpb.JobRef(id=again.id), metadata=AUTH)
        assert resumed.state in (jpb.JOB_STATE_QUEUED, jpb.JOB_STATE_RUNNING, jpb.JOB_STATE_DONE)
        assert _watch(stub, again.id)[-1].state == jpb.JOB_STATE_DONE
        listed = stub.ListJobs(jpb.ListJobsRequest(), metadata=AUTH).jobs
        assert {j.id for j in listed} == {job.id, again.id}
        assert stub.GetJob(jpb.JobRef(id=job.id), metadata=AUTH).state == jpb.JOB_STATE_DONE

        (inputs / "escape").symlink_to(tmp_path)
        (inputs / "reels" / "leak.mkv").symlink_to(tmp_path / "outside.mkv")
        for inputs_named, output_dir in (
            (["../outside.mkv"], "x"),
            ([str(tmp_path / "outside.mkv")], "x"),
            (["escape/outside.mkv"], "x"),
            (["reels"], "x"),  # leak.mkv inside
            (["reels/one.mp4"], "../elsewhere"),
            (["reels/one.mp4"], "/tmp"),
        ):
            with pytest.raises(grpc.RpcError) as denied:
                stub.SubmitJob(_request(*inputs_named, output_dir=output_dir), metadata=AUTH)
            assert denied.value.code() is grpc.StatusCode.PERMISSION_DENIED, (inputs_named, output_dir)
        assert not (tmp_path / "elsewhere").exists()
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetJob(jpb.JobRef(id="nope"), metadata=AUTH)
        assert missing.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        registry = running.server.metrics.registry
        assert registry.get_sample_value("stream_restore_jobs", {"state": "done"}) == 2
        assert registry.get_sample_value("stream_restore_job_segments", {"state": "done"}) == 6
        assert registry.get_sample_value("stream_restore_jobs", {"state": "queued"}) == 0


def test_the_jobs_service_is_off_without_roots(tmp_path: Path) -> None:
    with running_server(BASE) as running, grpc.insecure_channel(running.address) as channel:
        with pytest.raises(grpc.RpcError) as off:
            jpb_grpc.JobsStub(channel).ListJobs(jpb.ListJobsRequest(), timeout=10)
        assert off.value.code() is grpc.StatusCode.UNIMPLEMENTED
