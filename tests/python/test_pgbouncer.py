"""PgBouncer in transaction mode, started by the test (its own port, ini and user list, auth to
this test's server): enqueue and a real worker's claim/finish path work through it with
server-side prepared statements off (``--pooler``); LISTEN goes to the direct ``--listen-dsn``
when one is given, else the worker polls; ``pgjobs deploy`` refuses the transaction pool and
accepts a session pool of the same bouncer."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from test_worker_cli import GUARD, pgjobs, sql, write_app

from pgjobs import Client
from pgjobs.db import pooler

PGBOUNCER = shutil.which("pgbouncer") or next(
    (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Bouncer:
    transaction_dsn: str  # pool_mode = transaction
    session_dsn: str  # the same database, pool_mode = session
    log: Path


@pytest.fixture
def bouncer(dsn: str) -> Iterator[Bouncer]:
    """A pgbouncer of this test's own in front of this test's database."""
    if PGBOUNCER is None:
        reason = "pgbouncer is not installed (Debian: apt-get install pgbouncer; make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    server = conninfo_to_dict(dsn)
    user, password = str(server.get("user") or "postgres"), str(server.get("password") or "")
    host, port, db = server.get("host") or "127.0.0.1", server.get("port") or 5432, server["dbname"]
    here = Path(tempfile.mkdtemp(prefix="pgjobs_bouncer_"))
    here.chmod(0o777)  # pgbouncer refuses to run as root: as postgres, it writes its log here
    listen = _free_port()
    (here / "users.txt").write_text(f'"{user}" "{password}"\n')
    (here / "pgbouncer.ini").write_text(
        f"""[databases]
tx = host={host} port={port} dbname={db} pool_mode=transaction
sess = host={host} port={port} dbname={db} pool_mode=session

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = plain
auth_file = {here / "users.txt"}
logfile = {here / "pgbouncer.log"}
pidfile = {here / "pgbouncer.pid"}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
"""
    )
    for path in here.iterdir():
        path.chmod(0o644)
    command = [PGBOUNCER, str(here / "pgbouncer.ini")]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "postgres"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    through = {"host": "127.0.0.1", "port": listen, "user": user, "password": password}
    tx = make_conninfo(**through, dbname="tx")
    try:
        deadline = time.monotonic() + GUARD
        while True:
            try:
                psycopg.connect(tx, connect_timeout=2).close()
                break
            except psycopg.OperationalError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    logfile = here / "pgbouncer.log"
                    log = logfile.read_text() if logfile.exists() else ""
                    pytest.fail(f"pgbouncer did not start: {exc}\n{log}")
                time.sleep(0.1)
        yield Bouncer(tx, make_conninfo(**through, dbname="sess"), here / "pgbouncer.log")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(here, ignore_errors=True)


def backends(dsn: str) -> int:
    """How many server sessions one client's consecutive transactions ran on (of 20)."""
    with (
        psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as a,
        psycopg.connect(dsn, autocommit=True, prepare_threshold=None) as b,
    ):
        pids = set()
        for _ in range(10):
            with b.transaction():  # b holds a server session meanwhile
                b.execute("SELECT 1")
                row = a.execute("SELECT pg_backend_pid()").fetchone()
                assert row is not None
                pids.add(row[0])
            row = a.execute("SELECT pg_backend_pid()").fetchone()
            assert row is not None
            pids.add(row[0])
    return len(pids)


def test_the_bouncer_really_is_a_transaction_pooler(bouncer: Bouncer, dsn: str) -> None:
    assert backends(bouncer.transaction_dsn) > 1
    assert backends(bouncer.session_dsn) == 1
    assert backends(dsn) == 1


def test_deploy_refuses_the_transaction_pool_and_accepts_the_session_pool(
    bouncer: Bouncer, tmp_path: Path
) -> None:
    proc = pgjobs(tmp_path, "deploy", "--dsn", bouncer.transaction_dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 1, out
    assert "goes through a transaction pooler" in err
    assert "pg_backend_pid()" in err and "direct connection" in err
    proc = pgjobs(tmp_path, "deploy", "--dsn", bouncer.session_dsn)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "pgjobs is up to date" in out


def run_worker_through(
    tmp_path: Path, bouncer: Bouncer, dsn: str, *extra: str
) -> tuple[subprocess.Popen[str], list[int]]:
    done = tmp_path / "done"
    done.mkdir(exist_ok=True)
    write_app(
        tmp_path,
        f"""
        import pathlib

        @app.task("hello")
        def hello(payload, ctx):
            ctx.set_progress_sync(10)
            (pathlib.Path({str(done)!r}) / str(payload["n"])).touch()
        """,
    )
    # Enqueue through the pooler: the same statement, many times, on one client connection
    # (psycopg would prepare it from the 5th run on, without pooler mode).
    with Client.connect(bouncer.transaction_dsn) as client:
        ids = [client.add_job("hello", {"n": n}).id for n in range(40)]
    tx = make_conninfo(bouncer.transaction_dsn, application_name="pj_pooled")
    proc = pgjobs(
        tmp_path, "worker", "jobsapp:app", "--pooler", "--concurrency", "3",
        "--poll-interval", "0.2", "--dsn", tx, *extra,
    )  # fmt: skip
    return proc, ids


def wait_all_done(dsn: str, proc: subprocess.Popen[str], ids: list[int]) -> None:
    deadline = time.monotonic() + GUARD * 2
    while True:
        rows = sql(dsn, "SELECT id FROM app_jobs.job_history WHERE status = 'completed'")
        if len(rows) == len(ids):
            break
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited ({proc.returncode}): {proc.communicate()}")
        assert time.monotonic() < deadline, "the jobs did not all complete in time"
        time.sleep(0.1)
    assert sorted(r["id"] for r in rows) == sorted(ids)


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == 0, err
    assert "prepared statement" not in err, err
    assert "Traceback" not in err, err
    return out, err


def listeners(dsn: str) -> list[str]:
    rows = sql(
        dsn,
        "SELECT application_name AS app FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE 'LISTEN%%'",
    )
    return sorted(str(r["app"]) for r in rows)


def test_a_worker_claims_and_finishes_through_the_pooler_and_polls(
    bouncer: Bouncer, dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pooler.MODE_ENV, "transaction")  # this process's Client too
    proc, ids = run_worker_through(tmp_path, bouncer, dsn)
    wait_all_done(dsn, proc, ids)
    assert listeners(dsn) == []  # no LISTEN through the pooler: it polls
    with Client.connect(bouncer.transaction_dsn) as client:  # one more, found by a poll
        late = client.add_job("hello", {"n": 99}).id
    wait_all_done(dsn, proc, [*ids, late])
    out, _ = stop(proc)
    assert "completed 41" in out
    assert sql(dsn, "SELECT id FROM app_jobs.jobs") == []


def test_with_a_listen_dsn_the_worker_listens_directly(
    bouncer: Bouncer, dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pooler.MODE_ENV, "transaction")
    direct = make_conninfo(dsn, application_name="pj_direct_listen")
    proc, ids = run_worker_through(tmp_path, bouncer, dsn, "--listen-dsn", direct)
    wait_all_done(dsn, proc, ids)
    deadline = time.monotonic() + GUARD
    while not listeners(dsn):
        assert time.monotonic() < deadline, "the worker never listened"
        time.sleep(0.1)
    assert set(listeners(dsn)) == {"pj_direct_listen"}
    stop(proc)


def test_without_pooler_mode_prepared_statements_break_through_the_pooler(
    bouncer: Bouncer, dsn: str
) -> None:
    """The control: what --pooler prevents. psycopg prepares a statement run 5 times on a
    connection; the next transaction runs on another server session, which never saw it."""
    with (
        psycopg.connect(bouncer.transaction_dsn, autocommit=True) as a,
        psycopg.connect(bouncer.transaction_dsn, autocommit=True) as b,
        pytest.raises(psycopg.errors.InvalidSqlStatementName),
    ):
        for _ in range(20):
            with b.transaction():
                b.execute("SELECT 1")
                a.execute("SELECT app_jobs.schema_version()")
            a.execute("SELECT app_jobs.schema_version()")
