"""Any language can enqueue: the psql command-line client alone, no Python database client.

Every statement below runs through `psql` in a subprocess; psycopg is only used to look at
the result of the enqueue-only test afterwards.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from helpers import Conn
from psycopg.conninfo import conninfo_to_dict, make_conninfo

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql is not installed")


def psql_dsn(dsn: str) -> str:
    """The test database's conninfo with only the basic keys: the system psql's libpq may be
    older than psycopg's and refuse options it does not know (sslcertmode, ...)."""
    params = conninfo_to_dict(dsn)
    keep = ("host", "port", "user", "password", "dbname")
    return make_conninfo(**{key: params[key] for key in keep if params.get(key)})


def psql(dsn: str, statement: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run one statement with psql (-X: no ~/.psqlrc; unaligned, tuples only)."""
    return subprocess.run(
        ["psql", psql_dsn(dsn), "-X", "-At", "-v", "ON_ERROR_STOP=1", *options, "-c", statement],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def psql_ok(dsn: str, statement: str) -> str:
    result = psql(dsn, statement)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_enqueue_with_psql(db: Conn, dsn: str) -> None:
    result = psql(dsn, """SELECT app_jobs.add_job(NULL, 'send_email', '{"to": "a@b.c"}')""")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    job = db.execute(
        "SELECT database_id::text AS tenant, task_identifier, payload, state FROM app_jobs.jobs"
    ).fetchall()
    assert job == [
        {
            "tenant": "00000000-0000-0000-0000-000000000000",
            "task_identifier": "send_email",
            "payload": {"to": "a@b.c"},
            "state": "ready",
        }
    ]


def test_claim_and_complete_with_psql_only(dsn: str) -> None:
    job_id = psql_ok(dsn, "SELECT id FROM app_jobs.add_job(NULL, 'resize', '{\"w\": 64}')")
    claimed = psql_ok(
        dsn, "SELECT id || '|' || task_identifier || '|' || payload FROM app_jobs.get_job('psql-1')"
    )
    assert claimed == f'{job_id}|resize|{{"w": 64}}'
    assert psql_ok(dsn, "SELECT count(*) FROM app_jobs.get_job('psql-2')") == "0"

    # Only the holder completes it.
    assert psql_ok(dsn, f"SELECT count(*) FROM app_jobs.complete_job('psql-2', {job_id})") == "0"
    assert psql_ok(dsn, f"SELECT id FROM app_jobs.complete_job('psql-1', {job_id})") == job_id

    assert psql_ok(dsn, "SELECT count(*) FROM app_jobs.jobs") == "0"
    history = psql_ok(
        dsn, "SELECT id || '|' || status || '|' || worker_id FROM app_jobs.job_history"
    )
    assert history == f"{job_id}|completed|psql-1"


def test_psql_sees_the_pgjobs_error_code(dsn: str) -> None:
    result = psql(dsn, "SELECT app_jobs.add_job(NULL, '')", "-v", "VERBOSITY=verbose")
    assert result.returncode != 0
    assert "PJ101" in result.stderr and "HINT:" in result.stderr
    assert psql_ok(dsn, "SELECT count(*) FROM app_jobs.jobs") == "0"
