"""Upgrading a database that holds what 0.3.0 accepted and 0.4.0 refuses (issue 13): jobs at
+-infinity and BC, a schedule with a 7,000-year backfill window, a job with
the backoff {"base": 1e-400}, EXECUTE granted on the old cancel_jobs. After `pgjobs deploy`
every reader works, the scheduler runs every other schedule, the job can fail and retry, and
the grant is on the new cancel_jobs.

The data is what 0.3.0 let in, so the upgrade starts from that release (test_upgrade.py runs
the general upgrade from every earlier release).
"""

from __future__ import annotations

from typing import Any

import pytest
from install_support import SQL_DIR, TestDatabase
from psycopg import sql

from pgjobs.install.deploy import deploy
from pgjobs.sqltree.plan import Plan, load_plan, write_tree

PLAN = load_plan(SQL_DIR)
ACCEPTED_BY = PLAN.tag("v0.3.0")  # the release that accepted these values


@pytest.fixture
def accepting_tree(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    return write_tree(PLAN, tmp_path_factory.mktemp("v0.3.0") / "sql", until=ACCEPTED_BY.name)


def test_an_upgrade_keeps_working_with_what_0_3_0_accepted(
    database: TestDatabase, accepting_tree: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = f"pj_upgrade_{database.params['dbname'][-12:]}"
    monkeypatch.setenv("PGJOBS_SQL_DIR", str(accepting_tree.top_dir))
    deploy(database.dsn)
    with database.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
        try:
            conn.execute(
                sql.SQL(
                    "GRANT EXECUTE ON FUNCTION app_jobs.cancel_jobs(text, integer, timestamptz,"
                    " text, uuid) TO {}"
                ).format(sql.Identifier(role))
            )
            # add_job gained a parameter (timeout, 0.4.0): its grants move too.
            conn.execute(
                sql.SQL(
                    "GRANT EXECUTE ON FUNCTION app_jobs.add_job(uuid, text, json, text, text,"
                    " timestamptz, integer, integer, text, jsonb) TO {}"
                ).format(sql.Identifier(role))
            )
            for when in ("-infinity", "infinity", "0044-03-15 BC"):
                conn.execute("SELECT app_jobs.add_job(NULL, 'odd', run_at := %s)", [when])
            conn.execute("SELECT app_jobs.add_job(NULL, 'tiny', backoff := '{\"base\": 1e-400}')")
            conn.execute(
                "SELECT app_jobs.add_scheduled_job(NULL, 'ancient', cron := '* * * * *',"
                " backfill_window := '7000 years')"
            )
            conn.execute("SELECT app_jobs.add_scheduled_job(NULL, 'fine', cron := '* * * * *')")
            conn.execute(
                "UPDATE app_jobs.scheduled_jobs"
                " SET next_run_at = date_trunc('minute', now()) - interval '5 minutes'"
            )

            monkeypatch.setenv("PGJOBS_SQL_DIR", str(SQL_DIR))
            deploy(database.dsn)
            check_upgraded(conn, role)
        finally:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def check_upgraded(conn: Any, role: str) -> None:
    assert conn.execute("SELECT count(*) FROM app_jobs.queue_stats()").fetchone()[0] >= 1
    # Both schedules run: 'ancient' backfills its missed minutes within 10 years, 'fine' once.
    fired = dict(
        conn.execute(
            "SELECT task_identifier, count(*) FROM app_jobs.run_due_schedules() GROUP BY 1"
        ).fetchall()
    )
    assert fired == {"ancient": 6, "fine": 1}
    # The 1e-400 job fails and is retried instead of raising 22003.
    job = conn.execute("SELECT id FROM app_jobs.claim_job('w', (SELECT id FROM app_jobs.jobs"
                       " WHERE task_identifier = 'tiny'))").fetchone()[0]  # fmt: skip
    failed = conn.execute("SELECT attempts FROM app_jobs.fail_job('w', %s, 'boom')", [job])
    assert failed.fetchone() == (1,)
    # The grant moved to the new signature; the odd jobs can be found and cancelled.
    new = "app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean)"
    held = conn.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, new])
    assert held.fetchone() == (True,)
    add_job = (
        "app_jobs.add_job(uuid, text, json, text, text, timestamptz, integer, integer, text,"
        " jsonb, interval, text, bigint[])"
    )
    held = conn.execute("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [role, add_job])
    assert held.fetchone() == (True,)
    cancelled = conn.execute(
        "SELECT app_jobs.cancel_jobs(task := 'odd', all_tenants := true)"
    ).fetchone()
    assert cancelled == (3,)
