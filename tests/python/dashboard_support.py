"""A real `pgjobs dashboard` process on a free port, and Debian's Chromium driven by Playwright.

Browser tests skip (with the reason) when /usr/bin/chromium is missing, except in CI
(CI=true), where a missing browser is a failure: .ci/run installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env

#: Debian's Chromium; PGJOBS_CHROMIUM points elsewhere (e.g. to check the skip and CI paths).
CHROMIUM = Path(os.environ.get("PGJOBS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
API_SECRET = "test-api-secret-0123456789"

#: The handlers POST /api/process-batch runs (--app dashapp:app).
APP_MODULE = """
from pgjobs.app import App

app = App()


@app.task("greet")
def greet(payload):
    return {"greeting": "hello " + payload["name"]}


def frobnicate(n):
    raise ValueError(f"cannot frobnicate {n}")


@app.task("explode")
def explode(payload):
    frobnicate(payload["n"])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dashboard:
    url: str
    process: subprocess.Popen[str]

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, Any]:
        """(status, body, headers) of one HTTP request, errors included."""
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                return response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(), err.headers


def start_dashboard(dsn: str, tmp_path: Path, *options: str) -> Dashboard:
    (tmp_path / "dashapp.py").write_text(APP_MODULE)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pgjobs", "dashboard", "--dsn", dsn, "--port", str(port),
         "--refresh", "1", *options],
        env=clean_env(),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    dashboard = Dashboard(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the dashboard exited ({process.returncode}): {output}")
        try:
            if dashboard.request("/healthz")[0] == 200:
                return dashboard
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("the dashboard did not answer /healthz within 60 s")


def stop_dashboard(dashboard: Dashboard) -> None:
    dashboard.process.terminate()
    try:
        dashboard.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        dashboard.process.kill()
        dashboard.process.wait()


@pytest.fixture
def dashboard(dsn: str, tmp_path: Path) -> Iterator[Dashboard]:
    """A dashboard on this test's database, with the API on and the test app's handlers."""
    running = start_dashboard(dsn, tmp_path, "--api-secret", API_SECRET, "--app", "dashapp:app")
    yield running
    stop_dashboard(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs the chromium package")
        pytest.skip(
            f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()
