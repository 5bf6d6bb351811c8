"""The web page (``serve --web-port``) on a real server: its JSON API over HTTP, then the page itself
in a real headless Chromium (Selenium with Debian's chromium and chromium-driver; those tests skip
with a reason where either is missing)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import io
import json
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import av
import pytest

from stream_restore.live import LiveManager, engine_lease
from stream_restore.server import RestoreServer
from stream_restore.server.background import server_in_thread
from stream_restore.server.web_api import WebApi

from ..jobs.clips import gop_clip
from .conftest import BASE, png

TOKEN = "web-secret"


@dataclass
class Web:
    server: RestoreServer
    port: int
    inputs: Path
    outputs: Path

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = TOKEN,
                headers: dict[str, str] | None = None, raw: bytes | None = None
                ) -> tuple[int, Any, dict[str, str]]:
        """(status, parsed JSON or bytes, headers) of one request, with the token unless None."""
        sent = {"Content-Type": "application/json"} if body is not None or raw is not None else {}
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=data, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            kind = response.getheader("Content-Type", "")
            parsed = json.loads(payload) if kind.startswith("application/json") else payload
            return response.status, parsed, dict(response.getheaders())
        finally:
            connection.close()


def image_size(data: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(data)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


@contextlib.contextmanager
def web_server(folder: Path, **changes: object) -> Iterator[Web]:
    inputs, outputs = folder / "in", folder / "out"
    inputs.mkdir(parents=True, exist_ok=True)
    outputs.mkdir(exist_ok=True)
    config = replace(BASE, web_port=0, tokens=frozenset({TOKEN}), jobs_input_root=str(inputs),
                     jobs_output_root=str(outputs), state_dir=str(folder / "state"), **changes)  # type: ignore[arg-type]
    with server_in_thread(config) as server:
        assert server.web_port is not None
        yield Web(server, server.web_port, inputs, outputs)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    with web_server(tmp_path_factory.mktemp("web"), max_image_pixels=200 * 200) as running:
        yield running


# -- the API over HTTP ----------------------------------------------------------------------------------
def test_requests_without_the_token_are_refused(web: Web) -> None:
    for method, path, body in (("GET", "/api/info", None), ("GET", "/api/models", None),
                               ("GET", "/api/jobs", None),
                               ("POST", "/api/restore-image", {"model": "identity", "image": ""})):
        for token in (None, "wrong"):
            status, error, _ = web.request(method, path, body, token=token)
            assert status == 401, (method, path, token)
            assert error["code"] == "UNAUTHENTICATED" and "bearer token" in error["error"]
    status, health, _ = web.request("GET", "/api/health", token=None)  # open, as gRPC health is
    assert (status, health) == (200, {"status": "SERVING"})


def test_cross_site_and_malformed_posts_are_refused(web: Web) -> None:
    body = {"model": "identity", "image": base64.b64encode(png(16, 16)).decode()}
    status, error, _ = web.request("POST", "/api/restore-image", body, headers={"Origin": "http://evil.example"})
    assert status == 403 and "cross-origin" in error["error"]
    status, _, _ = web.request("POST", "/api/restore-image", body, headers={"Sec-Fetch-Site": "cross-site"})
    assert status == 403
    status, error, _ = web.request("POST", "/api/restore-image", raw=b"model=identity",
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415  # what a cross-site form can send without a preflight
    status, _, _ = web.request("POST", "/api/jobs", raw=b"[1, 2]")
    assert status == 400
    status, error, _ = web.request("POST", "/api/jobs", raw=b" " * (64 * 1024 + 1))
    assert status == 413 and "limit" in error["error"]
    status, _, _ = web.request("GET", "/api/info", headers={"Host": "attacker.example:80"})
    assert status == 421  # a rebound DNS name never reaches the API of a loopback server
    status, same, _ = web.request("POST", "/api/restore-image", body, headers={"Origin": web.origin})
    assert status == 200 and (same["width"], same["height"]) == (16, 16)
    status, error, _ = web.request("DELETE", "/api/jobs")
    assert status == 501 and error["code"] == "NOT_IMPLEMENTED"  # http.server's refusals are JSON too
    assert web.request("GET", "/api/restore-image")[0] == 405


def test_image_limits_and_errors_map_to_http_statuses(web: Web) -> None:
    def post(model: str, data: bytes) -> tuple[int, Any]:
        status, reply, _ = web.request("POST", "/api/restore-image",
                                       {"model": model, "image": base64.b64encode(data).decode()})
        return status, reply

    status, reply = post("bicubic-x2", png(40, 30))
    assert status == 200 and image_size(base64.b64decode(reply["image"])) == (80, 60)
    status, reply = post("bicubic-x2", png(300, 200))  # over max_image_pixels, refused from the header
    assert status == 429 and reply["code"] == "RESOURCE_EXHAUSTED" and "300x200" in reply["error"], reply
    assert post("no-such-model", png(8, 8))[0] == 404
    status, reply = post("identity", b"#EXTM3U\nhttp://example/x.ts\n")
    assert status == 400 and reply["code"] == "INVALID_ARGUMENT"
    status, reply, _ = web.request("POST", "/api/restore-image", {"model": "identity", "image": "%%%"})
    assert status == 400 and "base64" in reply["error"]


def test_jobs_stay_inside_the_roots(web: Web, tmp_path: Path) -> None:
    (tmp_path / "secret.mkv").write_bytes(b"never read")
    (web.inputs / "escape").symlink_to(tmp_path)
    for inputs, output_dir in ((["../secret.mkv"], "x"), ([str(tmp_path / "secret.mkv")], "x"),
                               (["escape/secret.mkv"], "x"), (["missing.mkv"], "../elsewhere")):
        status, reply, _ = web.request("POST", "/api/jobs", {"inputs": inputs, "output_dir": output_dir,
                                                             "model": {"model": "identity"}})
        assert status == 403 and reply["code"] == "PERMISSION_DENIED", (inputs, output_dir, reply)
    status, reply, _ = web.request("POST", "/api/jobs", {"inputs": ["a"], "path": "/etc/passwd"})
    assert status == 400 and "SubmitJobRequest" in reply["error"]  # no field beyond the gRPC request's
    assert web.request("GET", "/api/jobs/nope/output")[0] == 400


def test_page_is_served_with_a_strict_policy(web: Web) -> None:
    status, page, headers = web.request("GET", "/", token=None)
    assert status == 200 and b"<title>stream-restore</title>" in page
    assert "default-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in headers
    assert web.request("GET", "/app.js", token=None)[0] == 200
    assert web.request("GET", "/../pyproject.toml", token=None)[0] == 404


def test_live_sessions_are_listed_when_the_server_has_a_manager(web: Web) -> None:
    assert WebApi(web.server.state, None).live_sessions() == {"available": False, "sessions": []}
    manager = LiveManager((), engine_lease())
    assert WebApi(web.server.state, None, live=manager).live_sessions() == {"available": True, "sessions": []}


def test_the_page_stops_with_the_server(tmp_path: Path) -> None:
    with web_server(tmp_path) as running:
        assert running.request("GET", "/api/health")[0] == 200
        port = running.port
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


# -- the page in a real browser -----------------------------------------------------------------------
def _browser() -> Any:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (the dev extra)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = _browser()
    try:
        yield driver
    finally:
        driver.quit()


def _wait(condition: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting in the browser")
        time.sleep(0.1)


def _open(browser: Any, web: Web) -> None:
    from selenium.webdriver.common.by import By

    browser.get(web.origin + "/")
    field = browser.find_element(By.ID, "token")
    field.send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "#token-form button").click()


def test_the_page_lists_the_models_and_shows_a_card(browser: Any, web: Web) -> None:
    from selenium.webdriver.common.by import By

    browser.get(web.origin + "/")
    _wait(lambda: "needs a token" in browser.find_element(By.ID, "message").text)  # refused without it
    _open(browser, web)
    rows = _wait(lambda: browser.find_elements(By.CSS_SELECTOR, "#models tbody tr"))
    names = [row.get_attribute("data-model") for row in rows]
    assert {"identity", "bicubic-x2", "sr-fast-x2", "vsr-x2"} <= set(names)
    browser.find_element(By.LINK_TEXT, "sr-fast-x2").click()
    card = _wait(lambda: browser.find_element(By.ID, "card").text)
    assert "sr-fast-x2" in card
    _wait(lambda: "slots in use" in browser.find_element(By.ID, "server-info").text)
    assert browser.find_element(By.ID, "health").text == "SERVING"


def test_an_image_round_trips_through_the_slider(browser: Any, web: Web, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    source = tmp_path / "small.png"
    source.write_bytes(png(36, 28))
    _open(browser, web)
    select = Select(_wait(lambda: browser.find_element(By.ID, "model-select")))
    _wait(lambda: len(select.options) > 3)
    select.select_by_value("bicubic-x2")
    browser.find_element(By.ID, "image-file").send_keys(str(source))
    browser.find_element(By.ID, "restore-button").click()
    _wait(lambda: browser.execute_script(
        "const i = document.getElementById('after-image'); return i.complete && i.naturalWidth > 0;"))
    size = browser.execute_script("const i = document.getElementById('after-image');"
                                  "return [i.naturalWidth, i.naturalHeight];")
    assert size == [72, 56]  # input x scale
    before = browser.execute_script("const i = document.getElementById('before-image');"
                                    "return [i.naturalWidth, i.naturalHeight];")
    assert before == [36, 28]
    slider = browser.find_element(By.ID, "slider")
    browser.execute_script("arguments[0].value = 20; arguments[0].dispatchEvent(new Event('input'));", slider)
    clip = browser.execute_script("return document.getElementById('before-image').style.clipPath;")
    assert clip == "inset(0px 80% 0px 0px)"


def test_a_job_submitted_from_the_page_shows_progress_and_completes(browser: Any, web: Web) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    gop_clip(web.inputs / "reel.mp4", frames=40)
    _open(browser, web)
    form = _wait(lambda: browser.find_element(By.ID, "job-form").is_displayed())
    assert form
    Select(browser.find_element(By.ID, "job-model")).select_by_value("identity")
    browser.find_element(By.ID, "job-inputs").send_keys("reel.mp4")
    browser.find_element(By.ID, "job-output").send_keys("restored")
    browser.find_element(By.ID, "job-submit").click()
    job_id = _wait(lambda: browser.execute_script(  # rows are redrawn every second: read them in one go
        "const r = document.querySelector('#jobs tbody tr'); return r && r.dataset.id;"))
    seen: set[str] = set()
    row = f"document.querySelector('#jobs tr[data-id=\"{job_id}\"]')"

    def finished() -> bool:
        state = browser.execute_script(f"const r = {row}; return r && r.dataset.state;")
        seen.add(state or "")
        return state == "done"

    _wait(finished, timeout=180)
    text = browser.execute_script(f"return {row}.innerText;")
    assert "40 / 40 frames" in text and "reel.mp4" in text
    assert seen & {"queued", "running"}  # the page showed the job before it was done
    progress = browser.execute_script(f"const p = {row}.querySelector('progress'); return [p.value, p.max];")
    assert progress == [40, 40]
    assert browser.execute_script(f"return !!{row}.querySelector('button.download');")
    status, data, headers = web.request("GET", f"/api/jobs/{job_id}/output")
    assert status == 200 and data == (web.outputs / "restored" / "reel.mp4").read_bytes()
    assert 'filename="reel.mp4"' in headers["Content-Disposition"]


def test_serve_web_port_prints_the_address_and_stops_on_sigterm(tmp_path: Path) -> None:
    import argparse
    import os
    import signal
    import subprocess
    import sys

    from stream_restore.commands.serve import add_arguments, build_config
    from stream_restore.errors import ConfigError

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match=r"refusing to serve on 0\.0\.0\.0 without authentication"):
        build_config(parser.parse_args(["--web-port", "0", "--web-host", "0.0.0.0"]))
    assert build_config(parser.parse_args(["--web-port", "0"])).web_host == "127.0.0.1"

    process = subprocess.Popen(
        [sys.executable, "-m", "stream_restore", "serve", "--port", "0", "--web-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None and process.stdout.readline().startswith("listening on 127.0.0.1:")
        line = process.stdout.readline()
        assert line.startswith("web page on http://127.0.0.1:"), line
        port = int(line.rstrip().rstrip("/").rsplit(":", 1)[1])
        page = Web(None, port, tmp_path, tmp_path)  # type: ignore[arg-type]
        assert page.request("GET", "/api/models", token=None)[0] == 200  # no token file: open on loopback
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
