"""Fixtures for the install-path tests: scratch databases on the real test server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from install_support import TestDatabase, create_database, drop_database


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
