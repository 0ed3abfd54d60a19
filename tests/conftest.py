"""Shared fixtures: a real PostgreSQL database per test, cloned from a template that the
real install path (`pgjobs deploy`, yoyo over sql/sqitch.plan) built once per session.

The server comes from $PGJOBS_TEST_DSN (default: the system PostgreSQL 15 on 127.0.0.1).
pytest-postgresql's noproc factory makes one template per xdist worker and a fresh clone
for every test, so tests never see each other's jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
from psycopg.rows import dict_row
from pytest_postgresql import factories

TEST_DSN = os.environ.get(
    "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)
_url = urlparse(TEST_DSN)

# Tests must not pick up a developer's own pgjobs settings.
for _var in ("PGJOBS_DSN", "DATABASE_URL"):
    os.environ.pop(_var, None)


def _install_template(**params: Any) -> None:
    """Build the template database through the real install path: pgjobs deploy."""
    from pgjobs.deploy import deploy

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
    host=_url.hostname or "127.0.0.1",
    port=_url.port or 5432,
    user=_url.username or "postgres",
    password=_url.password,
    dbname=f"pgjobs_test_{_RUN}",
    load=[_install_template],
)
postgresql = factories.postgresql("postgresql_noproc")


@pytest.fixture
def dsn(postgresql: psycopg.Connection[Any]) -> str:
    """Connection string of this test's own freshly deployed database."""
    return psycopg.conninfo.make_conninfo(postgresql.info.dsn, password=_url.password or "")


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
