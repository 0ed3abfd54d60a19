"""job_history: a time-partitioned table with partitions made ahead of time by maintenance."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]


def partitions(db: Conn) -> list[str]:
    rows = db.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'app_jobs.job_history'::regclass ORDER BY 1"
    ).fetchall()
    return [r["relname"] for r in rows]


def test_history_is_range_partitioned_by_finished_at_without_foreign_keys(db: Conn) -> None:
    row = db.execute("SELECT pg_get_partkeydef('app_jobs.job_history'::regclass) AS k").fetchone()
    assert row == {"k": "RANGE (finished_at)"}
    fks = db.execute(
        "SELECT count(*) AS n FROM pg_constraint WHERE contype = 'f'"
        " AND connamespace = 'app_jobs'::regnamespace"
    ).fetchone()
    assert fks == {"n": 0}
    enums = db.execute(
        "SELECT count(*) AS n FROM pg_type"
        " WHERE typtype = 'e' AND typnamespace = 'app_jobs'::regnamespace"
    ).fetchone()
    assert enums == {"n": 0}
    with pytest.raises(psycopg.errors.CheckViolation) as error:
        db.execute(
            "INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority,"
            " run_at, attempts, max_attempts, status, created_at)"
            " VALUES (1, gen_random_uuid(), 't', '{}', 0, now(), 0, 1, 'exploded', now())"
        )
    assert error.value.diag.constraint_name == "job_history_status_check"


def test_the_status_check_refuses_a_wrong_status_in_any_partition_and_keeps_the_column_text(
    db: Conn,
) -> None:
    """0.6.0: job_history_status_check casts the status to the domain app_jobs.job_status
    (compiled once per session, not read again by every insert). The three statuses are
    written, anything else (a case variant, blank, NULL) is refused with check_violation naming
    the constraint, in the default partition and in a day partition alike; the column stays
    text, so a function returning it as text still does."""
    db.execute("SELECT app_jobs.create_history_partitions(1)")
    insert = (
        "INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority,"
        " run_at, attempts, max_attempts, status, created_at, finished_at)"
        " VALUES (%s, gen_random_uuid(), 't', '{}', 0, now(), 0, 1, %s, now(), %s)"
    )
    days = ["now()", "now() - interval '10 years'"]  # today's partition, the default one
    n = 0
    for day in days:
        finished = db.execute(f"SELECT {day} AS t").fetchone()["t"]
        for status in ("completed", "failed", "cancelled"):
            n += 1
            db.execute(insert, (n, status, finished))
        for wrong in ("Completed", "", " failed", "done", None):
            n += 1
            with pytest.raises(
                (psycopg.errors.CheckViolation, psycopg.errors.NotNullViolation)
            ) as error:
                db.execute(insert, (n, wrong, finished))
            if wrong is not None:
                assert error.value.diag.constraint_name == "job_history_status_check"
    places = db.execute(
        "SELECT tableoid::regclass::text AS part, count(*) AS n FROM app_jobs.job_history"
        " GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [r["n"] for r in places] == [3, 3] and len({r["part"] for r in places}) == 2
    typ = db.execute(
        "SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute"
        " WHERE attrelid = 'app_jobs.job_history'::regclass AND attname = 'status'"
    ).fetchone()
    assert typ == {"t": "text"}
    db.execute(
        "CREATE FUNCTION pg_temp.statuses() RETURNS TABLE (s text) LANGUAGE plpgsql AS"
        " $$ BEGIN RETURN QUERY SELECT h.status FROM app_jobs.job_history AS h; END $$"
    )
    assert len(db.execute("SELECT * FROM pg_temp.statuses()").fetchall()) == 6


def test_deploy_makes_no_day_partition_maintenance_makes_the_week_ahead(db: Conn) -> None:
    # An install script never makes day partitions (an extension's would not survive a
    # pg_dump restored on another day): the default partition holds history until the first
    # create_history_partitions call.
    assert partitions(db) == ["job_history_default"]
    assert db.execute("SELECT app_jobs.create_history_partitions(7) AS n").fetchone() == {"n": 8}
    expected = db.execute(
        "SELECT array_agg('job_history_p' || to_char(d, 'YYYYMMDD') ORDER BY d) AS names"
        " FROM generate_series((now() AT TIME ZONE 'UTC')::date,"
        "                      (now() AT TIME ZONE 'UTC')::date + 7, interval '1 day') d"
    ).fetchone()
    assert expected is not None
    names = partitions(db)
    assert names == ["job_history_default", *expected["names"]]
    # The parent has no key or index: every partition has its own primary key.
    keys = db.execute(
        "SELECT c.conrelid::regclass::text AS t, pg_get_constraintdef(c.oid) AS d"
        " FROM pg_constraint c WHERE c.contype = 'p' AND c.conrelid IN"
        " (SELECT 'app_jobs.job_history'::regclass UNION ALL SELECT inhrelid FROM pg_inherits"
        "  WHERE inhparent = 'app_jobs.job_history'::regclass)"
    ).fetchall()
    assert {k["d"] for k in keys} == {"PRIMARY KEY (id, finished_at)"}
    assert sorted(k["t"].removeprefix("app_jobs.") for k in keys) == names
    assert db.execute(
        "SELECT count(*) AS n FROM pg_index WHERE indrelid = 'app_jobs.job_history'::regclass"
    ).fetchone() == {"n": 0}


def test_finished_jobs_land_in_todays_partition(db: Conn) -> None:
    db.execute("SELECT app_jobs.create_history_partitions(7)")
    db.execute("SELECT app_jobs.add_job(NULL, 't')")
    job = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchone()
    assert job is not None
    db.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
    row = db.execute("SELECT tableoid::regclass::text AS part FROM app_jobs.job_history").fetchone()
    today = db.execute(
        "SELECT 'app_jobs.job_history_p'"
        " || to_char((now() AT TIME ZONE 'UTC')::date, 'YYYYMMDD') AS p"
    ).fetchone()
    assert row is not None and today is not None
    assert row["part"] == today["p"]


def test_create_history_partitions_is_idempotent_and_rescues_default_rows(db: Conn) -> None:
    assert db.execute("SELECT app_jobs.create_history_partitions(7) AS n").fetchone() == {"n": 8}
    assert db.execute("SELECT app_jobs.create_history_partitions(7) AS n").fetchone() == {"n": 0}
    # A row for a day without a partition lands in the default partition...
    db.execute(
        "INSERT INTO app_jobs.job_history (id, database_id, task_identifier, payload, priority,"
        " run_at, attempts, max_attempts, status, created_at, finished_at)"
        " VALUES (7, gen_random_uuid(), 't', '{}', 0, now(), 1, 1, 'completed', now(),"
        "         now() + interval '9 days')"
    )
    row = db.execute("SELECT tableoid::regclass::text AS p FROM app_jobs.job_history").fetchone()
    assert row == {"p": "app_jobs.job_history_default"}
    # ...and moves into the partition made for that day later.
    assert db.execute("SELECT app_jobs.create_history_partitions(10) AS n").fetchone() == {"n": 3}
    row = db.execute(
        "SELECT id, tableoid::regclass::text AS p FROM app_jobs.job_history"
    ).fetchone()
    assert row is not None and row["id"] == 7 and row["p"] != "app_jobs.job_history_default"
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_history_default").fetchone() == {
        "n": 0
    }


def test_a_missing_partition_for_today_is_caught_up_with_its_rows(db: Conn) -> None:
    today = db.execute(
        "SELECT 'job_history_p' || to_char((now() AT TIME ZONE 'UTC')::date, 'YYYYMMDD') AS p"
    ).fetchone()
    assert today is not None
    db.execute("SELECT app_jobs.create_history_partitions(7)")
    db.execute(f"DROP TABLE app_jobs.{today['p']}")
    db.execute("SELECT app_jobs.add_job(NULL, 't')")
    job = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchone()
    assert job is not None
    db.execute("SELECT app_jobs.complete_job('w', %s)", (job["id"],))
    where = db.execute("SELECT tableoid::regclass::text AS p FROM app_jobs.job_history").fetchone()
    assert where == {"p": "app_jobs.job_history_default"}
    assert db.execute("SELECT app_jobs.create_history_partitions(7) AS n").fetchone() == {"n": 1}
    where = db.execute("SELECT tableoid::regclass::text AS p FROM app_jobs.job_history").fetchone()
    assert where == {"p": f"app_jobs.{today['p']}"}


def test_every_writer_of_history_writes_every_column(db: Conn) -> None:
    # History rows are written by a few statements (app_jobs._archive_job, complete_job,
    # finish_jobs, _settle_dependants): each names every column of app_jobs.job_history but
    # finished_at (its default, the time of the finish), so a column added to history is
    # written by all of them or this fails.
    columns = {
        r["attname"]
        for r in db.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'app_jobs.job_history'::regclass"
            " AND attnum > 0 AND NOT attisdropped"
        ).fetchall()
    } - {"finished_at"}
    writers = db.execute(
        "SELECT p.oid::regprocedure::text AS f, p.prosrc FROM pg_proc AS p"
        " WHERE p.pronamespace = 'app_jobs'::regnamespace"
        "   AND p.prosrc LIKE '%INSERT INTO app_jobs.job_history (%'"
    ).fetchall()
    names = sorted(str(w["f"]).split("(")[0] for w in writers)
    assert {"app_jobs._archive_job", "app_jobs.complete_job", "app_jobs.finish_jobs"} <= set(names)
    for writer in writers:
        for part in str(writer["prosrc"]).split("INSERT INTO app_jobs.job_history (")[1:]:
            listed = {c.strip() for c in part.split(")", 1)[0].split(",")}
            assert listed == columns, (writer["f"], columns ^ listed)
