"""Issue 13 (faults), the SQL side: each failure found on 0.3.0, reproduced, now refused with a PJ
code or survived. Items 5 (infinite and BC times), 6 (one tenant's schedule stopping every
tenant's), 11 (internal errors instead of PJ codes, payload limits) and 13 (bulk calls acting
on every tenant by default).

add_job and add_jobs run every payload and run_at through app_jobs._check_payload and
app_jobs._check_time (in app_jobs._add_jobs, their one implementation).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import OTHER_TENANT, TENANT, Conn, add_job, get_job, snapshot, unique_name
from psycopg import sql

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"

HOSTILE_TIMES = ["infinity", "-infinity", "0044-03-15 BC", "0001-01-01 00:00+00", "12000-01-01"]
NUL_PAYLOAD = '{"a": ["ok", "\\u0000"]}'
SURROGATE_PAYLOAD = '{"a": "\\ud800"}'
DEEP_PAYLOAD = "[" * 1000 + "]" * 1000


def refused(db: Conn, statement: str, params: Any, sqlstate: str) -> psycopg.Error:
    """The statement fails with sqlstate and writes nothing."""
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as caught:
        db.execute(statement, params)
    assert caught.value.diag.sqlstate == sqlstate, caught.value
    assert caught.value.diag.message_hint
    assert snapshot(db) == before
    return caught.value


# --- item 5: infinite and BC times ---------------------------------------------------------


@pytest.mark.parametrize("when", HOSTILE_TIMES)
def test_add_job_refuses_a_run_at_no_client_can_read(db: Conn, when: str) -> None:
    refused(db, "SELECT app_jobs.add_job(NULL, 't', run_at := %s::timestamptz)", (when,), "PJ119")


def test_add_jobs_refuses_a_run_at_no_client_can_read(db: Conn) -> None:
    refused(
        db,
        "SELECT app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, '-infinity', NULL, NULL)]"
        "::app_jobs.job_spec[])",
        None,
        "PJ119",
    )


@pytest.mark.parametrize("when", HOSTILE_TIMES)
def test_reschedule_jobs_refuses_a_run_at_no_client_can_read(db: Conn, when: str) -> None:
    job = add_job(db, "t")
    refused(
        db,
        "SELECT * FROM app_jobs.reschedule_jobs(ARRAY[%s]::bigint[], run_at := %s::timestamptz)",
        (job["id"], when),
        "PJ119",
    )


@pytest.mark.parametrize("when", HOSTILE_TIMES)
def test_next_run_refuses_an_after_outside_the_accepted_times(db: Conn, when: str) -> None:
    error = refused(
        db, 'SELECT app_jobs.next_run(\'{"cron": "@daily"}\', %s::timestamptz)', (when,), "PJ119"
    )
    assert str(error).startswith("next_run: after")


@pytest.mark.parametrize("when", ["0044-03-15 BC", "-infinity", "12000-01-01", -62200000000000])
def test_a_schedule_start_outside_the_accepted_times_is_refused(db: Conn, when: Any) -> None:
    schedule = psycopg.types.json.Jsonb({"cron": "@daily", "start": when})
    refused(db, "SELECT app_jobs.next_run(%s)", (schedule,), "PJ111")


def test_the_accepted_times_are_exactly_0001_01_02_to_9999_12_30(db: Conn) -> None:
    for ok in ("0001-01-02 00:00+00", "9999-12-30 00:00+00"):
        db.execute("SELECT app_jobs._check_time(%s::timestamptz, 'x')", (ok,))
    for bad in ("0001-01-01 23:59:59.999999+00", "9999-12-30 00:00:00.000001+00"):
        with pytest.raises(psycopg.Error) as caught:
            db.execute("SELECT app_jobs._check_time(%s::timestamptz, 'x')", (bad,))
        assert caught.value.diag.sqlstate == "PJ119"


def test_a_schedule_never_fires_after_9999_12_30(db: Conn) -> None:
    row = db.execute(
        'SELECT app_jobs.next_run(\'{"year": [9999], "month": [11], "date": [31]}\') AS t'
    ).fetchone()
    assert row == {"t": None}


def test_queue_stats_survives_jobs_with_infinite_and_bc_run_at(db: Conn) -> None:
    """0.3.0 accepted them; such rows may be in a database that upgraded."""
    for when in ("-infinity", "0044-03-15 BC", "infinity"):
        job = add_job(db, "old")
        db.execute("UPDATE app_jobs.jobs SET run_at = %s WHERE id = %s", (when, job["id"]))
    [row] = db.execute("SELECT * FROM app_jobs.queue_stats()").fetchall()
    assert row["total"] == 3
    assert row["oldest_queued_age"] is not None
    # The other readers list them too (as text: Python's datetime cannot hold them).
    listed = db.execute("SELECT id, run_at::text FROM app_jobs.list_jobs()").fetchall()
    assert len(listed) == 3
    assert db.execute("SELECT count(*) AS n FROM app_jobs.recent_jobs()").fetchone() == {"n": 3}
    found = db.execute(
        "SELECT status FROM app_jobs.find_job(%s, with_attempts := true)", (listed[0]["id"],)
    ).fetchone()
    assert found is not None
    # And they can be cleaned up by their run_at.
    count = db.execute(
        "SELECT app_jobs.cancel_jobs(run_at := '-infinity', all_tenants := true) AS n"
    ).fetchone()
    assert count == {"n": 1}


# --- item 6: one tenant's schedule never stops the others ----------------------------------


def test_a_backfill_window_of_7000_years_is_refused(db: Conn) -> None:
    refused(
        db,
        "SELECT app_jobs.add_scheduled_job(NULL, 't', cron := '* * * * *',"
        " backfill_window := '7000 years')",
        None,
        "PJ114",
    )
    refused(
        db,
        "INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info, missed_runs,"
        " backfill_window) VALUES ('t', '{\"cron\": \"@daily\"}', 'backfill', '7000 years')",
        None,
        "PJ114",
    )


def test_a_backfill_limit_over_10000_is_refused(db: Conn) -> None:
    refused(
        db,
        "SELECT app_jobs.add_scheduled_job(NULL, 't', cron := '* * * * *',"
        " backfill_limit := 10001)",
        None,
        "PJ114",
    )


def schedule(db: Conn, task: str, tenant: str, **kw: Any) -> int:
    names = ["db_id", "identifier", "cron", *kw]
    args = sql.SQL(", ").join(
        sql.SQL("{} := {}").format(sql.Identifier(n), sql.Placeholder(n)) for n in names
    )
    row = db.execute(
        sql.SQL("SELECT id FROM app_jobs.add_scheduled_job({})").format(args),
        {"db_id": tenant, "identifier": task, "cron": "* * * * *", **kw},
    ).fetchone()
    assert row is not None
    return int(row["id"])


def force(db: Conn, schedule_id: int, **columns: Any) -> None:
    """Write a schedule row past its trigger, as 0.3.0 let it be written (or by hand)."""
    db.execute("ALTER TABLE app_jobs.scheduled_jobs DISABLE TRIGGER scheduled_jobs_spec")
    try:
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in columns
        )
        db.execute(
            sql.SQL("UPDATE app_jobs.scheduled_jobs SET {} WHERE id = %(id)s").format(assignments),
            {**columns, "id": schedule_id},
        )
    finally:
        db.execute("ALTER TABLE app_jobs.scheduled_jobs ENABLE TRIGGER scheduled_jobs_spec")


def due_an_hour_ago(db: Conn) -> None:
    db.execute(
        "UPDATE app_jobs.scheduled_jobs"
        " SET next_run_at = date_trunc('minute', now()) - interval '1 hour'"
    )


def test_a_0_3_0_schedule_with_a_7000_year_window_no_longer_stops_every_tenant(db: Conn) -> None:
    good = schedule(db, "good", TENANT)
    bad = schedule(db, "bad", OTHER_TENANT, backfill_window="1 day")
    force(db, bad, backfill_window="7000 years")
    due_an_hour_ago(db)
    rows = db.execute("SELECT scheduled_job_id, count(*) AS n FROM app_jobs.run_due_schedules()"
                      " GROUP BY 1 ORDER BY 1").fetchall()  # fmt: skip
    # The old row's window is read as at most 10 years: its missed minutes are backfilled.
    assert rows == [{"scheduled_job_id": good, "n": 1}, {"scheduled_job_id": bad, "n": 61}]


@pytest.mark.parametrize(
    ("damage", "warned"),
    [
        ("next_run_at = '-infinity'", "next_run_at must be a time"),
        ("next_run_at = '0044-03-15 BC'", "next_run_at must be a time"),
        ("spec.tz = 'Mars/Base'", 'time zone "Mars/Base" not recognized'),
    ],
    ids=["next_run_at -infinity", "next_run_at BC", "unknown zone in spec"],
)
def test_a_schedule_that_fails_is_skipped_with_a_warning_and_the_others_run(
    db: Conn, damage: str, warned: str
) -> None:
    first = schedule(db, "first", TENANT)
    broken = schedule(db, "broken", OTHER_TENANT)
    last = schedule(db, "last", TENANT)
    due_an_hour_ago(db)
    db.execute("ALTER TABLE app_jobs.scheduled_jobs DISABLE TRIGGER scheduled_jobs_spec")
    db.execute(f"UPDATE app_jobs.scheduled_jobs SET {damage} WHERE id = %s", (broken,))
    db.execute("ALTER TABLE app_jobs.scheduled_jobs ENABLE TRIGGER scheduled_jobs_spec")
    warnings: list[str] = []
    db.add_notice_handler(lambda d: warnings.append(d.message_primary or ""))
    for _ in range(2):  # skipped again on the next call, not forgotten
        warnings.clear()
        rows = db.execute("SELECT scheduled_job_id FROM app_jobs.run_due_schedules()").fetchall()
        assert {row["scheduled_job_id"] for row in rows} <= {first, last}
        [warning] = warnings
        assert warning.startswith(f"run_due_schedules: schedule {broken} (task broken) skipped")
        assert warned in warning
    jobs = db.execute("SELECT scheduled_job_id AS s FROM app_jobs.jobs ORDER BY 1").fetchall()
    assert [row["s"] for row in jobs] == sorted([first, last])


def test_a_long_outage_backfills_at_most_10000_jobs_per_schedule(db: Conn) -> None:
    every_second = db.execute(
        "SELECT id FROM app_jobs.add_scheduled_job(NULL, 't', '{}', '{\"second\": null}',"
        " backfill_limit := 10000)"
    ).fetchone()
    assert every_second is not None
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '1 day'")
    count = db.execute("SELECT count(*) AS n FROM app_jobs.run_due_schedules()").fetchone()
    assert count == {"n": 10000}


# --- item 11: internal errors instead of PJ codes; payload limits --------------------------


@pytest.mark.parametrize(
    "schedule_info",
    [
        '{"hour": [2.0], "minute": [0]}',
        '{"hour": 2e0, "minute": [0.0]}',
        '{"hour": [{"start": 2.0, "end": 2, "step": 1.0}], "minute": [0]}',
    ],
)
def test_whole_numbers_written_as_floats_are_those_numbers(db: Conn, schedule_info: str) -> None:
    row = db.execute(
        "SELECT app_jobs.next_run(%s, '2030-01-01T00:00:00Z') AS t", (schedule_info,)
    ).fetchone()
    assert row is not None and row["t"].isoformat() == "2030-01-01T02:00:00+00:00"


@pytest.mark.parametrize("schedule_info", ['{"hour": [2.5]}', '{"hour": {"start": 1.5, "end": 3}}'])
def test_fractions_in_a_rule_object_are_refused(db: Conn, schedule_info: str) -> None:
    refused(db, "SELECT app_jobs.next_run(%s)", (schedule_info,), "PJ111")


@pytest.mark.parametrize(
    ("payload", "sqlstate"),
    [
        (NUL_PAYLOAD, "PJ120"),
        (SURROGATE_PAYLOAD, "PJ120"),
        (DEEP_PAYLOAD, "PJ121"),
        ('"' + "x" * 1048577 + '"', "PJ121"),
        ("[1e400]", "PJ121"),
        ("[" + "1" * 1001 + "]", "PJ121"),
        ("[" + "1e308," * 170000 + "1]", "PJ121"),  # 1 MiB sent, far more written out
    ],
    ids=["NUL", "lone surrogate", "1000 deep", "over 1 MiB", "1e400", "1001 digits", "expands"],
)
def test_add_scheduled_job_refuses_payloads_it_cannot_store(
    db: Conn, payload: str, sqlstate: str
) -> None:
    error = refused(
        db,
        "SELECT app_jobs.add_scheduled_job(NULL, 't', %s::json, cron := '@daily')",
        (payload,),
        sqlstate,
    )
    assert str(error).startswith("add_scheduled_job: payload")


@pytest.mark.parametrize(
    "payload",
    [
        '{"a": "\\\\u0000"}',  # an escaped backslash, then the text u0000
        '{"a": "\\ud83d\\ude00"}',  # a surrogate pair
        "[" * 100 + "]" * 100,
        '["' + "[" * 1000 + '"]',  # brackets inside a string
        "[1e308, -1.5E-308, 2.0]",
        "[" + "9" * 1000 + "]",
    ],
)
def test_payloads_at_the_limits_are_accepted(db: Conn, payload: str) -> None:
    row = db.execute(
        "SELECT payload::text AS p FROM app_jobs.add_scheduled_job(NULL, 't', %s::json,"
        " cron := '@daily')",
        (payload,),
    ).fetchone()
    assert row is not None


def test_a_raw_schedule_insert_is_held_to_the_payload_limits(db: Conn) -> None:
    refused(
        db,
        "INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info, payload)"
        " VALUES ('t', '{\"cron\": \"@daily\"}', %s::jsonb)",
        (DEEP_PAYLOAD,),
        "PJ121",
    )


@pytest.mark.parametrize(
    ("payload", "sqlstate"),
    [(NUL_PAYLOAD, "PJ120"), (SURROGATE_PAYLOAD, "PJ120"), (DEEP_PAYLOAD, "PJ121")],
    ids=["NUL", "lone surrogate", "1000 deep"],
)
def test_add_job_refuses_payloads_it_cannot_store(db: Conn, payload: str, sqlstate: str) -> None:
    refused(db, "SELECT app_jobs.add_job(NULL, 't', %s::json)", (payload,), sqlstate)


def test_add_jobs_refuses_payloads_it_cannot_store(db: Conn) -> None:
    refused(
        db,
        "SELECT app_jobs.add_jobs(ARRAY[ROW(NULL, 't', %s::json, NULL, NULL, NULL, NULL, NULL)]"
        "::app_jobs.job_spec[])",
        (DEEP_PAYLOAD,),
        "PJ121",
    )


def notes_table(db: Conn, function: str, *args: str) -> None:
    db.execute("CREATE TABLE notes (id int PRIMARY KEY, body json, extra json)")
    quoted = ", ".join(f"'{a}'" for a in (TENANT, "task", *args))
    db.execute(
        f"CREATE TRIGGER enqueue AFTER INSERT ON notes FOR EACH ROW"
        f" EXECUTE FUNCTION app_jobs.{function}({quoted})"
    )


@pytest.mark.parametrize(
    ("function", "args"),
    [("tg_add_job_with_row_id", ("id",)), ("tg_add_job_with_fields", ("id", "body"))],
)
def test_a_column_the_trigger_does_not_send_never_blocks_the_write(
    db: Conn, function: str, args: tuple[str, ...]
) -> None:
    """0.3.0 turned the whole row into jsonb, so a \\u0000 in any json column failed the
    INSERT (22P05) even when only the id was sent."""
    notes_table(db, function, *args)
    db.execute("INSERT INTO notes VALUES (1, '{\"ok\": 1}', %s::json)", (NUL_PAYLOAD,))
    [job] = db.execute("SELECT payload FROM app_jobs.jobs").fetchall()
    assert job["payload"]["id"] == 1


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("tg_add_job_with_row_id", ("extra",)),
        ("tg_add_job_with_row", ()),
        ("tg_add_job_with_fields", ("id", "extra")),
    ],
)
def test_a_trigger_whose_payload_cannot_be_stored_refuses_the_write(
    db: Conn, function: str, args: tuple[str, ...]
) -> None:
    """Documented choice: the job is part of the write, so the write fails with the payload's
    PJ code rather than commit without its job."""
    notes_table(db, function, *args)
    refused(db, "INSERT INTO notes VALUES (1, '{}', %s::json)", (NUL_PAYLOAD,), "PJ120")
    assert db.execute("SELECT count(*) AS n FROM notes").fetchone() == {"n": 0}


# --- backoff: accepted at add time means computable at every retry -----------------------


@pytest.mark.parametrize(
    "backoff",
    ['{"base": 1e-400}', '{"cap": 1e-400}', '{"jitter": 1e-400}', '{"base": 0.0009}'],
)
def test_backoff_numbers_that_cannot_be_computed_are_refused_at_add_time(
    db: Conn, backoff: str
) -> None:
    refused(db, "SELECT app_jobs.add_job(NULL, 't', backoff := %s::jsonb)", (backoff,), "PJ117")


def test_a_stored_0_3_0_backoff_of_1e_400_still_gives_a_retry(db: Conn) -> None:
    """0.3.0 accepted it and then fail_job raised 22003: the job stayed running."""
    job = add_job(db, "t")
    db.execute(
        'UPDATE app_jobs.jobs SET backoff = \'{"base": 1e-400, "jitter": 1e-400}\' WHERE id = %s',
        (job["id"],),
    )
    assert get_job(db, "w") is not None
    failed = db.execute("SELECT * FROM app_jobs.fail_job('w', %s, 'boom')", (job["id"],)).fetchone()
    assert failed is not None and failed["attempts"] == 1
    row = db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (job["id"],)).fetchone()
    assert row is not None and row["state"] in ("ready", "scheduled")


@pytest.mark.parametrize("attempts", [-5, 0, 1, 60, 2147483647])
def test_retry_delay_never_raises(db: Conn, attempts: int) -> None:
    for backoff in (
        None,
        '{"strategy": "linear", "base": 31622400, "cap": 31622400, "jitter": 1}',
        '{"strategy": "exponential", "base": 31622400}',
        '{"base": 1e-400, "cap": 1e-400, "jitter": 1e-400}',
        '{"base": "x", "cap": [], "jitter": null}',
    ):
        row = db.execute(
            "SELECT app_jobs._retry_delay(%s::jsonb, %s) AS d", (backoff, attempts)
        ).fetchone()
        assert row is not None and row["d"] is not None


# --- item 13: bulk admin calls and tenants ------------------------------------------------


def test_cancel_jobs_without_a_tenant_scope_is_refused_and_cancels_nothing(db: Conn) -> None:
    add_job(db, "t", db_id=TENANT)
    add_job(db, "t", db_id=OTHER_TENANT)
    error = refused(db, "SELECT app_jobs.cancel_jobs()", None, "PJ122")
    assert "all_tenants" in str(error)
    refused(db, "SELECT app_jobs.cancel_jobs(task := 't')", None, "PJ122")
    refused(db, "SELECT app_jobs.cancel_jobs(db_id := %s, all_tenants := true)", (TENANT,), "PJ122")


def test_cancel_jobs_acts_on_one_tenant_or_on_all_when_told(db: Conn) -> None:
    for tenant in (TENANT, TENANT, OTHER_TENANT):
        add_job(db, "t", db_id=tenant)
    one = db.execute("SELECT app_jobs.cancel_jobs(task := 't', db_id := %s) AS n", (TENANT,))
    assert one.fetchone() == {"n": 2}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 1}
    add_job(db, "t", db_id=TENANT)
    every = db.execute("SELECT app_jobs.cancel_jobs(all_tenants := true) AS n").fetchone()
    assert every == {"n": 2}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}


def run_script(db: Conn, path: Path) -> None:
    """A sqitch script run as yoyo and the extension do: without its BEGIN/COMMIT frame."""
    lines = path.read_text().splitlines()
    body = "\n".join(line for line in lines if line not in ("BEGIN;", "COMMIT;"))
    with db.transaction():
        db.execute(body)


def test_the_cancel_jobs_signature_change_keeps_execute_grants(db: Conn) -> None:
    role = unique_name("pj_admin")
    db.execute(sql.SQL("CREATE ROLE {}").format(sql.Identifier(role)))
    try:
        new = "app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid, boolean)"
        old = "app_jobs.cancel_jobs(text, integer, timestamptz, text, uuid)"
        db.execute(sql.SQL(f"GRANT EXECUTE ON FUNCTION {new} TO {{}}").format(sql.Identifier(role)))
        run_script(db, SQL_DIR / "revert" / "functions" / "cancel_jobs.sql")
        held = "SELECT has_function_privilege(%s, %s, 'EXECUTE') AS ok"
        assert db.execute(held, (role, old)).fetchone() == {"ok": True}
        run_script(db, SQL_DIR / "deploy" / "functions" / "cancel_jobs.sql")
        assert db.execute(held, (role, new)).fetchone() == {"ok": True}
        public = "SELECT has_function_privilege('public', %s, 'EXECUTE') AS ok"
        assert db.execute(public, (new,)).fetchone() == {"ok": False}
    finally:
        db.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        db.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def test_id_based_bulk_calls_say_what_they_touched(db: Conn) -> None:
    """complete_jobs, permanently_fail_jobs and reschedule_jobs act only on the ids given and
    return the rows they touched (their count is the number of rows): a running job or an id
    that is not waiting is left out, not counted."""
    waiting = [add_job(db, "t")["id"] for _ in range(3)]
    running = add_job(db, "r")
    db.execute("SELECT app_jobs.claim_job('w', %s)", (running["id"],))
    ids = [*waiting, running["id"], -1]
    moved = db.execute("SELECT id FROM app_jobs.reschedule_jobs(%s, priority := 5)", (ids,))
    assert sorted(row["id"] for row in moved) == waiting
    done = db.execute("SELECT id FROM app_jobs.complete_jobs(%s)", (ids[:1],)).fetchall()
    assert [row["id"] for row in done] == waiting[:1]
    failed = db.execute("SELECT id FROM app_jobs.permanently_fail_jobs(%s)", (ids,)).fetchall()
    assert sorted(row["id"] for row in failed) == waiting[1:]


def test_two_bulk_add_jobs_with_keys_in_opposite_orders_never_deadlock(
    connect: Any,
) -> None:
    """Within one add_jobs call keys are taken in a fixed order: two calls whose keys overlap,
    given in opposite orders, both commit (racing connections, many rounds)."""
    keys = [f"k{i}" for i in range(100)]
    setup = connect()
    for key in keys:
        add_job(setup, "t", job_key=key)  # waiting keyed jobs: add_jobs replaces them in place
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def producer(order: list[str]) -> None:
        conn = connect(autocommit=False)
        specs = ", ".join(
            f"ROW('{TENANT}', 't', NULL, '{key}', NULL, NULL, NULL, NULL)" for key in order
        )
        try:
            for _ in range(30):
                barrier.wait(timeout=60)
                conn.execute(
                    f"SELECT count(*) FROM app_jobs.add_jobs(ARRAY[{specs}]::app_jobs.job_spec[])"
                )
                conn.commit()
        except BaseException as error:  # reported below
            errors.append(error)
            barrier.abort()
            conn.rollback()

    threads = [threading.Thread(target=producer, args=(order,)) for order in (keys, keys[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    deadlocks = [e for e in errors if isinstance(e, psycopg.errors.DeadlockDetected)]
    assert not deadlocks, deadlocks[0]
    assert not [e for e in errors if not isinstance(e, threading.BrokenBarrierError)], errors


README = Path(__file__).resolve().parents[2] / "docs" / "sql-api.md"


def test_the_readme_cancel_jobs_line_runs_as_written(db: Conn) -> None:
    """The Job lifecycle tour's cancel_jobs line, verbatim: it names its tenant scope."""
    [line] = [
        line.split("--")[0]
        for line in README.read_text().splitlines()
        if line.startswith("SELECT app_jobs.cancel_jobs(")
    ]
    for tenant in (TENANT, OTHER_TENANT):
        add_job(db, "send_email", db_id=tenant, queue_name="mailbox")
    add_job(db, "send_email", db_id=TENANT, queue_name="other")
    assert db.execute(line).fetchone() == {"cancel_jobs": 2}
