"""The allow-list and output forms: pure checks, nothing opened (a fake resolver stands in for DNS)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stream_restore.errors import ConfigError, PermissionDeniedError
from stream_restore.live import IngestOptions, check_url, parse_output, parse_rules
from stream_restore.media.live_in import live_options

RULES = parse_rules(["rtsp://10.0.0.0/8", "rtmp://media.example:1935", "udp://239.0.0.0/8",
                     "http://*.cams.example", "rtsp://[fd00::]/8"])
DNS = {"cam.example": ["10.1.1.1"], "mixed.example": ["10.1.1.1", "192.168.1.1"],
       "a.cams.example": ["203.0.113.9"], "v6.example": ["fd00::5"]}


def resolve(host: str) -> list[str]:
    return DNS.get(host, [])


@pytest.mark.parametrize("url", [
    "rtsp://10.2.3.4/live", "rtsp://10.2.3.4:8554/live", "rtsp://cam.example/x", "rtmp://media.example/app/key",
    "rtmp://media.example:1935/app/key", "udp://239.1.1.1:5000", "http://a.cams.example/feed.m3u8",
    "rtsp://[fd00::1]/x", "rtsp://v6.example/x", "RTSP://10.0.0.1/upper",
])
def test_allowed(url: str) -> None:
    assert check_url(url, RULES, resolve=resolve) == url


@pytest.mark.parametrize("url", [
    "rtsp://11.0.0.1/x",  # outside the block
    "rtsp://mixed.example/x",  # one address outside: refused
    "rtsp://unknown.example/x",  # does not resolve
    "rtmp://media.example:1936/app",  # another port
    "rtmp://other.example/app",
    "http://cams.example/feed",  # the wildcard is for sub-domains only
    "http://10.0.0.1/x",  # no http rule for the block
    "udp://10.0.0.1:5000",
    "file:///etc/passwd", "/etc/passwd", "concat:a|b", "subfile:,start,0,end,1,:/etc/passwd", "pipe:0",
    "data:text/plain,hi", "hls+http://a.cams.example/x.m3u8", "cache:rtsp://10.0.0.1/x", "gopher://10.0.0.1/",
    "rtsp:///no-host", "rtsp://10.0.0.1:99999/bad-port", "",
])
def test_refused(url: str) -> None:
    with pytest.raises(PermissionDeniedError):
        check_url(url, RULES, resolve=resolve)


def test_an_empty_list_refuses_everything() -> None:
    with pytest.raises(PermissionDeniedError, match="not enabled"):
        check_url("rtsp://10.0.0.1/x", (), resolve=resolve)


@pytest.mark.parametrize("rule", ["file:///tmp", "10.0.0.0/8", "rtsp://", "rtsp://10.0.0.0:0/8",
                                  "rtsp://bad_host!", "rtsp://a.*.example", "concat://x"])
def test_bad_rules_are_config_errors(rule: str) -> None:
    with pytest.raises(ConfigError):
        parse_rules([rule])


def test_output_forms(tmp_path: Path) -> None:
    assert parse_output("rtsp://h/x", allow_local=False).format == "rtsp"
    assert parse_output("rtmp://h/app/key", allow_local=False).format == "flv"
    udp = parse_output("udp://239.1.1.1:5000", allow_local=False)
    assert udp.format == "mpegts" and udp.url.endswith("pkt_size=1316")
    hls = parse_output(str(tmp_path / "live.m3u8"), allow_local=True)
    assert hls.format == "hls" and hls.local and dict(hls.options)["hls_list_size"] == "6"
    rec = parse_output(str(tmp_path / "rec.mp4"), allow_local=True, segment_seconds=60)
    assert rec.format == "segment" and rec.url.endswith("rec-%05d.mp4")
    assert ("segment_time", "60") in rec.options
    with pytest.raises(ConfigError, match="does not exist"):
        parse_output(str(tmp_path / "missing" / "live.m3u8"), allow_local=True)
    with pytest.raises(ConfigError, match="unknown output type"):
        parse_output(str(tmp_path / "x.avi"), allow_local=True)


@pytest.mark.parametrize("output", ["/tmp/live.m3u8", "rec.mkv", "file:/tmp/x.ts", "pipe:1", "tcp://h:1",
                                    "http://h/x", "../x.ts"])
def test_a_server_request_names_network_outputs_only(output: str) -> None:
    with pytest.raises(PermissionDeniedError):
        parse_output(output, allow_local=False)


def test_ingest_options_are_checked() -> None:
    for bad in ({"transport": "sctp"}, {"policy": "maybe"}, {"max_latency": 0.01}, {"stall_timeout": 0},
                {"backoff_initial": 5, "backoff_max": 1}):
        with pytest.raises(ConfigError):
            IngestOptions(**bad)  # type: ignore[arg-type]


def test_live_options_per_protocol() -> None:
    rtsp = live_options("rtsp://h/x", transport="udp", stall_timeout=2)
    assert rtsp["rtsp_transport"] == "udp" and rtsp["timeout"] == "2000000" and "rw_timeout" not in rtsp
    assert live_options("rtsp://h/x")["reorder_queue_size"] == "0"
    http = live_options("http://h/feed")
    assert http["reconnect"] == "1" and "reconnect_on_network_error" not in http
    assert "reconnect_streamed" not in http  # a continuous stream is never spliced behind our back
    assert live_options("https://h/live.m3u8")["reconnect_streamed"] == "1"
    udp = live_options("udp://239.1.1.1:5000")
    assert udp["overrun_nonfatal"] == "1" and int(udp["fifo_size"]) > 0
    assert all(o["flags"] == "low_delay" and int(o["probesize"]) <= 1_000_000 for o in (rtsp, http, udp))
