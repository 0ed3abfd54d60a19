"""`pgjobs add` and `pgjobs status` as subprocesses against this test's own database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from cli_support import run_pgjobs
from psycopg.rows import dict_row

TENANT = "7f1c7a52-3b7e-4e8e-9a3a-2f0d4c1b9e10"


def jobs(dsn: str) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM app_jobs.jobs ORDER BY id").fetchall()


def added_id(stdout: str) -> int:
    match = re.search(r"^job (\d+) added: ", stdout, re.M)
    assert match, stdout
    return int(match.group(1))


def test_add_enqueues_with_every_option(dsn: str) -> None:
    done = run_pgjobs(
        "add", "send_email", '{"to": "ann@example.com", "n": [1, 2]}', "--dsn", dsn,
        "--tenant", TENANT, "--key", "mail:ann", "--queue", "mail", "--priority", "-3",
        "--max-attempts", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [job] = jobs(dsn)
    assert added_id(done.stdout) == job["id"]
    assert "status pending" in done.stdout
    assert job["task_identifier"] == "send_email"
    assert job["payload"] == {"to": "ann@example.com", "n": [1, 2]}
    assert str(job["database_id"]) == TENANT
    assert (job["key"], job["queue_name"], job["priority"], job["max_attempts"]) == (
        "mail:ann",
        "mail",
        -3,
        2,
    )


def test_add_defaults_to_an_empty_object_payload(dsn: str) -> None:
    done = run_pgjobs("add", "ping", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    [job] = jobs(dsn)
    assert (job["task_identifier"], job["payload"]) == ("ping", {})


def test_add_later_with_delay_or_run_at(dsn: str) -> None:
    delayed = run_pgjobs("add", "t", "{}", "--delay", "3600", "--dsn", dsn)
    at = datetime(2999, 1, 31, 9, 0, tzinfo=UTC)
    scheduled = run_pgjobs("add", "t", "{}", "--run-at", at.isoformat(), "--dsn", dsn)
    assert delayed.returncode == 0, delayed.stderr
    assert scheduled.returncode == 0, scheduled.stderr
    assert "status scheduled" in delayed.stdout
    first, second = jobs(dsn)
    assert first["run_at"] > first["created_at"] + timedelta(minutes=59)
    assert second["run_at"] == at
    assert {first["state"], second["state"]} == {"scheduled"}


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["", "{}"], 1, "identifier (the task name) must be a non-empty text"),
        (["t", "{not json"], 2, "argument JSON: not valid JSON"),
        (["t", "{}", "--tenant", "nope"], 2, "argument --tenant: not a UUID"),
        (["t", "{}", "--max-attempts", "0"], 1, "max_attempts must be at least 1"),
        (["t", "{}", "--key", ""], 1, "job_key must be NULL or a non-empty text"),
        (["t", "{}", "--delay", "-1"], 2, "must be zero or more seconds"),
        (["t", "{}", "--run-at", "tomorrow"], 2, "not an ISO 8601 time"),
        (["t", "{}", "--delay", "5", "--run-at", "2999-01-01"], 2, "not allowed with"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    dsn: str, args: list[str], status: int, message: str
) -> None:
    done = run_pgjobs("add", *args, "--dsn", dsn)
    assert done.returncode == status, done
    assert message in done.stderr
    assert done.stdout == ""
    assert jobs(dsn) == []


def test_add_says_to_deploy_when_the_schema_is_missing(dsn: str) -> None:
    assert run_pgjobs("revert", "--dsn", dsn).returncode == 0
    done = run_pgjobs("add", "t", "{}", "--dsn", dsn)
    assert done.returncode == 1
    assert "app_jobs is not deployed" in done.stderr
    assert "pgjobs deploy" in done.stderr
    status = run_pgjobs("status", "--dsn", dsn)
    assert status.returncode == 0, status.stderr
    assert "schema app_jobs: not deployed" in status.stdout


def test_add_names_an_unreachable_database_without_its_password() -> None:
    dsn = "postgresql://someone:s3cret@127.0.0.1:1/nowhere?connect_timeout=5"
    done = run_pgjobs("add", "t", "{}", "--dsn", dsn)
    assert done.returncode == 1
    assert "cannot connect to PostgreSQL at" in done.stderr
    assert "dbname=nowhere" in done.stderr
    assert "s3cret" not in done.stderr


def test_status_names_the_database_and_the_schema_state(dsn: str) -> None:
    done = run_pgjobs("status", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    database = re.search(r"^database: (.*)$", done.stdout, re.M)
    assert database, done.stdout
    assert f"dbname={dbname}" in database.group(1)
    assert "(from --dsn), PostgreSQL " in database.group(1)
    password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    if password:
        assert f"password={password}" not in done.stdout
    assert re.search(r"^schema app_jobs: deployed, up to date \(\d+ changes\)$", done.stdout, re.M)


@pytest.mark.parametrize("command", ["add", "status"])
def test_help_explains_with_examples(command: str) -> None:
    done = run_pgjobs(command, "--help")
    assert done.returncode == 0
    assert "examples:" in done.stdout
    assert f"pgjobs {command}" in done.stdout
    assert "--dsn" in done.stdout


def test_top_level_help_lists_add_and_status_and_the_embedded_default() -> None:
    done = run_pgjobs("--help")
    assert done.returncode == 0
    for word in ("add", "status", "embedded PostgreSQL", ".pgjobs"):
        assert word in done.stdout


def test_status_counts_the_jobs_per_task_queue_and_state(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        for task, queue in (("resize", None), ("resize", None), ("mail", "outbox")):
            conn.execute("SELECT app_jobs.add_job(NULL, %s, '{}', queue_name := %s)", (task, queue))
        conn.execute("SELECT app_jobs.add_job(NULL, 'mail', '{}', run_at := now() + '1 hour')")
        conn.execute("SELECT * FROM app_jobs.get_job('w1', ARRAY['resize'])")
    done = run_pgjobs("status", "--dsn", dsn)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^release: \d+\.\d+\.\d+ \(app_jobs.schema_version\(\)\)$", done.stdout, re.M)
    rows = {
        tuple(line.split()[:6])
        for line in done.stdout.splitlines()
        if line.startswith("  ") and not line.lstrip().startswith("task")
    }
    # task, queue, queued, scheduled, running, retrying
    assert ("resize", "-", "1", "0", "1", "0") in rows, done.stdout
    assert ("mail", "outbox", "1", "0", "0", "0") in rows, done.stdout
    assert ("mail", "-", "0", "1", "0", "0") in rows, done.stdout
