"""Fixtures for the install-path tests: scratch databases on the real test server, and the
extension files ``make install`` put into its sharedir."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from install_support import (
    REPO,
    SQL_DIR,
    TestDatabase,
    admin_dsn,
    create_database,
    drop_database,
)

from pgjobs.sqltree.bundle import control_version, scripts
from pgjobs.sqltree.plan import load_plan


@pytest.fixture
def make_database() -> Iterator[Callable[[], TestDatabase]]:
    """Factory for scratch databases; all of them are dropped after the test."""
    created: list[str] = []

    def make() -> TestDatabase:
        database = create_database()
        created.append(database.name)
        return database

    yield make
    for name in created:
        drop_database(name)


@pytest.fixture
def database(make_database: Callable[[], TestDatabase]) -> TestDatabase:
    """One scratch database for this test."""
    return make_database()


@pytest.fixture(scope="session")
def sharedir() -> str:
    """The server's sharedir, holding this checkout's pgjobs extension files.

    Skips the database tests when pgjobs.control is not installed there; fails them when
    any installed script is not what the checkout builds now (run make install).
    """
    built = scripts(load_plan(SQL_DIR), control_version(REPO / "control"))
    with psycopg.connect(admin_dsn(), autocommit=True) as conn:
        row = conn.execute("SELECT setting FROM pg_catalog.pg_config WHERE name = 'SHAREDIR'")
        share = str(row.fetchone()[0])  # type: ignore[index]
        available = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_available_extensions WHERE name = 'pgjobs'"
        ).fetchone()
        if not (available and available[0]):
            pytest.skip(
                f"{share}/extension/pgjobs.control is not installed on the test server: run "
                "`make install` (as root: `sudo make install`; for another server, with "
                "PG_CONFIG=<its pg_config>) to test CREATE EXTENSION pgjobs"
            )
        installed = dict(
            conn.execute(
                "SELECT f, pg_catalog.pg_read_file(%s || '/' || f) "
                "FROM pg_catalog.pg_ls_dir(%s) AS f WHERE f LIKE 'pgjobs--%%.sql'",
                [f"{share}/extension", f"{share}/extension"],
            ).fetchall()
        )
    stale = sorted(
        name for name in built.keys() | installed.keys() if built.get(name) != installed.get(name)
    )
    if stale:
        pytest.fail(
            f"{share}/extension has missing, stale or extra pgjobs scripts ({', '.join(stale)}): "
            "they are not what this checkout builds; run `make install` again"
        )
    return share


@pytest.fixture
def ext_db(sharedir: str, database: TestDatabase) -> TestDatabase:
    """A scratch database with ``CREATE EXTENSION pgjobs`` done."""
    with database.connect() as conn:
        conn.execute("CREATE EXTENSION pgjobs")
    return database
