"""The pytest plugin users get (entry point pgjobs.pytest_plugin), run as a user's test suite
would run it: with deprecation warnings as errors, so the plugin itself never warns."""

from __future__ import annotations

import os

import pytest

# Not `from conftest import TEST_DSN`: in a whole-suite run the name `conftest` may be
# tests/install/conftest.py, collected first.
TEST_DSN = os.environ.get(
    "PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres"
)

USER_TESTS = """
from typing import Any

from pgjobs import App

app = App()  # no DSN: the plugin points PGJOBS_DSN at the test's database
seen: list[Any] = []


@app.task()
async def welcome(payload: dict[str, str]) -> None:
    seen.append(payload["to"])
    await app.later(follow_up, {"to": payload["to"]}, delay=3600)


@app.task(max_attempts=3)
def follow_up(payload: dict[str, str]) -> None:
    if payload["to"].startswith("flaky"):
        raise RuntimeError("first follow-up fails")


def test_drain_runs_due_jobs(pgjobs_db):
    app.sync.later(welcome, {"to": "ann@example.com"})
    summary = pgjobs_db.drain(app)
    assert summary.completed == 1 and seen[-1] == "ann@example.com"
    # The follow-up is due in an hour: still waiting.
    assert [j["task_identifier"] for j in pgjobs_db.jobs()] == ["follow_up"]


def test_drain_later_runs_delayed_jobs_and_retries(pgjobs_db):
    app.sync.later(welcome, {"to": "flaky@example.com"})
    summary = pgjobs_db.drain(app, later=True)
    assert pgjobs_db.jobs() == []
    statuses = sorted((h["task_identifier"], h["status"]) for h in pgjobs_db.history())
    assert statuses == [("follow_up", "failed"), ("welcome", "completed")]
    assert summary.failed == 3  # every attempt of the follow-up, retried without waiting


def test_each_test_has_its_own_database(pgjobs_db, pgjobs_dsn):
    assert pgjobs_db.dsn == pgjobs_dsn
    assert pgjobs_db.jobs() == [] and pgjobs_db.history() == []
"""


@pytest.mark.parametrize("server", ["configured", "embedded"])
def test_a_user_suite_runs_on_real_databases(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: str
) -> None:
    if server == "embedded":
        monkeypatch.delenv("PGJOBS_TEST_DSN", raising=False)
    else:
        monkeypatch.setenv("PGJOBS_TEST_DSN", TEST_DSN)
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-q", "-W", "error::DeprecationWarning"
    )
    result.assert_outcomes(passed=3)
