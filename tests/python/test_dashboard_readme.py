"""The dashboard's page (docs/dashboard.md) runs as written: its shell commands parse, its curl
calls succeed against a real dashboard, its SQL runs, its Python serves metrics that scrape."""

from __future__ import annotations

import re
import shlex
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashboard_support import API_SECRET, Dashboard, dashboard, free_port

from pgjobs.cli.main import build_parser

__all__ = ["dashboard"]  # fixture

README = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


def section() -> str:
    return README.read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", section(), re.M | re.S)


def commands(language: str, program: str) -> list[str]:
    lines = [
        line.split("  #")[0].strip() for block in blocks(language) for line in block.splitlines()
    ]
    return [line for line in lines if line.startswith(program)]


def test_the_screenshots_exist() -> None:
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", section())
    assert images == ["img/dashboard-overview.png", "img/dashboard-job.png"]
    for image in images:
        assert (README.parent / image).stat().st_size > 10_000


def test_every_dashboard_command_parses() -> None:
    found = commands("sh", "pgjobs dashboard")
    assert len(found) == 5
    env = {"TOKEN": "t", "PGJOBS_API_SECRET": "s"}
    for line in found:
        argv = shlex.split(re.sub(r'"\$(\w+)"', lambda m: env[m.group(1)], line))[1:]
        args = build_parser().parse_args(argv)
        assert args.command == "dashboard"


def test_every_curl_call_succeeds(dashboard: Dashboard) -> None:
    found = commands("sh", "curl")
    assert len(found) == 4
    for line in found:
        argv = shlex.split(line.replace("$PGJOBS_API_SECRET", API_SECRET))
        url = argv[-1].replace("http://127.0.0.1:8080", dashboard.url)
        header = argv[argv.index("-H") + 1]
        name, _, value = header.partition(": ")
        request = urllib.request.Request(url, method="POST", headers={name: value})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200, line


def test_the_sql_runs(connect: Callable[..., Any]) -> None:
    (sql,) = blocks("sql")
    db = connect()
    db.execute("SELECT app_jobs.add_job(NULL, 'mail', '{\"user\": 7}')")
    for statement in filter(str.strip, sql.split(";")):
        db.execute(statement).fetchall()
    found = db.execute(sql.strip().split(";")[-2]).fetchall()
    assert [r["status"] for r in found] == ["pending"]


def test_the_python_serves_metrics(dsn: str) -> None:
    (code,) = blocks("python")
    port = free_port()
    code = code.replace("9464", str(port)).replace("postgresql://localhost/app", dsn)
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/dashboard.md", "exec"), namespace)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
            text = response.read().decode()
    finally:
        namespace["server"].shutdown()
        namespace["thread"].join()
    assert 'pgjobs_jobs_completed_total{task="send_email"} 1.0' in text
    assert "pgjobs_database_up 1.0" in text
