"""Shared fixtures: a real PostgreSQL database per test, cloned from a template that the
real install path (`pgjobs deploy`, yoyo over sql/sqitch.plan) built once per session.

The server comes from $PGJOBS_TEST_DSN (default: the system PostgreSQL 15 on 127.0.0.1; a URL
or a libpq conninfo, whose host may be a unix-socket directory). `make test-pg18` points it at
an embedded PostgreSQL 18 (tests/run_pg18.py); tests marked ``pg15only`` skip there.
pytest-postgresql's noproc factory makes one template per xdist worker and a fresh clone
for every test, so tests never see each other's jobs.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from pytest_postgresql import factories

# pytester runs user-style suites (tests/python/test_testing_plugin.py).
pytest_plugins = ("pytester",)

TEST_DSN = os.environ.get(
    "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
_server = conninfo_to_dict(TEST_DSN)

# Tests must not pick up a developer's own pgjobs settings.
for _var in ("PGJOBS_DSN", "DATABASE_URL"):
    os.environ.pop(_var, None)


def _install_template(**params: Any) -> None:
    """Build the template database through the real install path: pgjobs deploy."""
    from pgjobs.install.deploy import deploy

    deploy(
        psycopg.conninfo.make_conninfo(
            host=params["host"],
            port=str(params["port"]),
            user=params["user"],
            password=params.get("password") or "",
            dbname=params["dbname"],
        )
    )


# Unique per test run (all xdist workers of a run share the testrunuid), so concurrent runs
# against one server never share databases; pytest-postgresql appends the worker id.
_RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"p{os.getpid()}")[:10]

postgresql_noproc = factories.postgresql_noproc(
    host=str(_server.get("host") or "127.0.0.1"),
    port=str(_server.get("port") or 5432),
    user=str(_server.get("user") or "postgres"),
    password=str(_server.get("password") or "") or None,
    dbname=f"pgjobs_test_{_RUN}",
    load=[_install_template],
)
postgresql = factories.postgresql("postgresql_noproc")


def _server_major() -> int | None:
    """Major version of the test server, or None when it cannot be reached."""
    try:
        with psycopg.connect(TEST_DSN, connect_timeout=10) as conn:
            return conn.info.server_version // 10000
    except psycopg.Error:
        return None


#: Set by `make test-embedded` (make test with no server): the embedded PostgreSQL 18 stands in
#: for the system server, so a ``pg15only`` test not run is a gap, which CI=true makes a failure.
FALLBACK = os.environ.get("PGJOBS_TEST_FALLBACK") == "1"
_MUST_FAIL = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before skipif markers (sqitch missing) can skip it
def pytest_runtest_setup(item: pytest.Item) -> None:
    reason = item.stash.get(_MUST_FAIL, None)
    if reason is not None:
        pytest.fail(f"CI=true: {reason}", pytrace=False)


def _worker_children() -> list[int]:
    """This test process's children that run `python -m pgjobs worker ...`."""
    me = str(os.getpid())
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] != me:
                continue
            argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue  # gone meanwhile
        if argv[1:4] == [b"-m", b"pgjobs", b"worker"]:
            found.append(int(stat.parent.name))
    return found


@pytest.hookimpl(tryfirst=True)  # before the test's fixtures are torn down (its database)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """No worker process outlives the test that started it: one a failed assertion left
    running would go on serving the next test's database, which pytest-postgresql names the
    same for every test of an xdist worker (so one failure became nine, 6 December 2026)."""
    for pid in _worker_children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``heavy`` tests unless PGJOBS_HEAVY_TESTS=1, and ``pg15only`` tests unless the
    test server is PostgreSQL 15 (fail them instead on the fallback server under CI=true)."""
    if os.environ.get("PGJOBS_HEAVY_TESTS") != "1":
        skip_heavy = pytest.mark.skip(reason="heavy: set PGJOBS_HEAVY_TESTS=1 (make test-heavy)")
        for item in items:
            if item.get_closest_marker("heavy"):
                item.add_marker(skip_heavy)
    marked = [item for item in items if item.get_closest_marker("pg15only")]
    if not marked:
        return
    major = _server_major()
    if major in (None, 15):
        return  # unreachable: let the tests fail on their own, with the real error
    reason = (
        f"pg15only: needs the system PostgreSQL 15 and its Debian-only tools "
        f"(plpgsql_check, sqitch); the test server is PostgreSQL {major}"
    )
    if FALLBACK:
        reason += " (embedded: no server configured; `make test` as root on Debian installs one)"
    for item in marked:
        if FALLBACK and os.environ.get("CI") == "true":
            item.stash[_MUST_FAIL] = reason
        else:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def dsn(postgresql: psycopg.Connection[Any]) -> str:
    """Connection string of this test's own freshly deployed database."""
    return psycopg.conninfo.make_conninfo(
        postgresql.info.dsn, password=str(_server.get("password") or "")
    )


@pytest.fixture
def connect(dsn: str) -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """Factory of extra autocommit connections (dict rows) to this test's database."""
    opened: list[psycopg.Connection[Any]] = []

    def _connect(**kwargs: Any) -> psycopg.Connection[Any]:
        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("row_factory", dict_row)
        conn = psycopg.connect(dsn, **kwargs)
        opened.append(conn)
        return conn

    yield _connect
    for conn in opened:
        conn.close()


@pytest.fixture
def db(connect: Callable[..., psycopg.Connection[Any]]) -> psycopg.Connection[Any]:
    """An autocommit connection (dict rows) to this test's freshly deployed database."""
    return connect()
