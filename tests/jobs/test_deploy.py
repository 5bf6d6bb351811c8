"""deploy/ parses and holds what the scale-out needs (no `helm`/`kubectl` here: a schema check of
the fields that matter), and the Grafana dashboard only queries metrics the server exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from stream_restore.server.metrics import ServerMetrics

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _documents() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name in kustomization["resources"]:
        for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()):
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), name
            assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"]), name
            found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def _pod_specs(docs: dict[tuple[str, str], dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for (kind, name), doc in docs.items():
        if kind in ("Deployment", "Job"):
            specs.append((name, doc["spec"]["template"]["spec"]))
        elif kind == "RayCluster":
            specs.append((f"{name}-head", doc["spec"]["headGroupSpec"]["template"]["spec"]))
            specs += [
                (f"{name}-{g['groupName']}", g["template"]["spec"]) for g in doc["spec"]["workerGroupSpecs"]
            ]
    return specs


def test_manifests_parse_and_wire_up() -> None:
    docs = _documents()
    claims = {name for kind, name in docs if kind == "PersistentVolumeClaim"}
    assert claims == {"stream-restore-state", "stream-restore-media"}
    for name, spec in _pod_specs(docs):
        volumes = {v["name"]: v for v in spec["volumes"]}
        for container in spec["containers"]:
            assert container["image"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/state") == "state" and mounts.get("/media") == "media", name  # same paths
        for volume in volumes.values():
            claim = volume.get("persistentVolumeClaim", {}).get("claimName")
            assert claim is None or claim in claims, name

    server = docs[("Deployment", "stream-restore")]
    labels = server["spec"]["template"]["metadata"]["labels"]
    assert server["spec"]["selector"]["matchLabels"].items() <= labels.items()
    container = server["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["grpc"]["port"] == 50051  # gRPC health
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert server["spec"]["template"]["spec"]["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    args = container["args"]
    assert args[0] == "serve" and {"--jobs-input-root", "--jobs-output-root", "--state-dir"} <= set(args)
    service = docs[("Service", "stream-restore")]
    assert service["spec"]["selector"].items() <= labels.items()

    ray = docs[("RayCluster", "stream-restore-ray")]
    assert ray["apiVersion"] == "ray.io/v1"
    workers = ray["spec"]["workerGroupSpecs"]
    assert all(
        g["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1 for g in workers
    )
    driver = docs[("Job", "stream-restore-archive")]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert driver[:2] == ["jobs", "submit"] and driver[driver.index("--executor") + 1] == "ray"


def test_cli_flags_in_the_manifests_exist() -> None:
    """Every --flag the manifests pass is one the command accepts (a typo would crash the pod)."""
    import argparse

    from stream_restore.commands import jobs, serve

    for module, first in ((serve, "serve"), (jobs, "jobs")):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        known = set(parser._option_string_actions)
        for sub in parser._subparsers._group_actions if parser._subparsers else ():
            for child in sub.choices.values():  # type: ignore[union-attr]
                known |= set(child._option_string_actions)
        for _, spec in _pod_specs(_documents()):
            for container in spec["containers"]:
                args = container.get("args") or []
                if args[:1] == [first]:
                    assert {a for a in args if a.startswith("--")} <= known, args


def test_dashboard_queries_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "stream-restore.json").read_text())
    metrics = ServerMetrics()
    metrics.watch_jobs(lambda: {"jobs": {}, "segments": {}, "failures": {"input": 1}})
    metrics.call_seconds.labels("Restore").observe(0.1)
    metrics.errors.labels("INTERNAL").inc()  # labelled series appear once used
    exported = {
        line.split("{")[0].split(" ")[0]
        for line in generate_latest(metrics.registry).decode().splitlines()
        if line and not line.startswith("#")
    }
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"stream_restore_[a-z_]+", target["expr"])
    }
    assert len(dashboard["panels"]) >= 6 and queried
    assert queried <= exported, queried - exported
    assert {
        "stream_restore_jobs",
        "stream_restore_job_segments",
        "stream_restore_job_segment_failures_total",
    } <= queried
