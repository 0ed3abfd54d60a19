"""Schedules in SQL: the shapes of schedule_info, next_run (hand-checked cases), time zones
and clock changes, validation at insert (PJ107, PJ111-PJ114, raw INSERT included), and how
writes keep next_run_at."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from helpers import Conn, snapshot

UTC = UTC


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def next_run(db: Conn, schedule: dict[str, Any], after: str | datetime) -> datetime | None:
    row = db.execute(
        "SELECT app_jobs.next_run(%s::jsonb, %s::timestamptz) AS n", (json.dumps(schedule), after)
    ).fetchone()
    assert row is not None
    return None if row["n"] is None else row["n"].astimezone(UTC)


def fire_times(db: Conn, schedule: dict[str, Any], after: str, count: int) -> list[str]:
    """The next `count` fire times after `after`, as UTC ISO texts."""
    out: list[str] = []
    moment: datetime | str = after
    for _ in range(count):
        found = next_run(db, schedule, moment)
        assert found is not None
        out.append(found.strftime("%Y-%m-%d %H:%M:%S"))
        moment = found
    return out


# -- the contract's rule object (node-schedule fields), hand-checked ---------------------------

RULE_CASES = [
    # schedule, after, the next fire times (UTC)
    (
        {"hour": [2], "minute": [0]},
        "2024-01-01T09:00Z",
        ["2024-01-02 02:00:00", "2024-01-03 02:00:00"],
    ),
    ({"hour": [2], "minute": [0]}, "2024-01-02T01:59:59.5Z", ["2024-01-02 02:00:00"]),
    ({"minute": 30}, "2024-01-01T09:31Z", ["2024-01-01 10:30:00", "2024-01-01 11:30:00"]),
    ({"second": [0, 30]}, "2024-01-01T09:00:10Z", ["2024-01-01 09:00:30", "2024-01-01 09:01:00"]),
    # month counts from 0 as in JavaScript: 0 is January, 11 December
    ({"month": 0, "date": 1, "hour": 0, "minute": 0}, "2024-06-01T00:00Z", ["2025-01-01 00:00:00"]),
    (
        {"month": [11], "date": [25], "hour": 8, "minute": 0},
        "2024-01-01T00:00Z",
        ["2024-12-25 08:00:00"],
    ),
    # dayOfWeek: Sunday is 0; 2024-01-07 is a Sunday
    (
        {"dayOfWeek": [0], "hour": 10, "minute": 0},
        "2024-01-01T00:00Z",
        ["2024-01-07 10:00:00", "2024-01-14 10:00:00"],
    ),
    # date and dayOfWeek must both match (node-schedule): the next Monday the 13th
    (
        {"dayOfWeek": [1], "date": [13], "hour": 0, "minute": 0},
        "2024-01-01T00:00Z",
        ["2024-05-13 00:00:00"],
    ),
    # node-schedule Ranges
    (
        {"hour": 3, "minute": [{"start": 0, "end": 30, "step": 15}]},
        "2024-01-01T00:00Z",
        [
            "2024-01-01 03:00:00",
            "2024-01-01 03:15:00",
            "2024-01-01 03:30:00",
            "2024-01-02 03:00:00",
        ],
    ),
    (
        {"year": [2030], "month": 0, "date": 1, "hour": 0, "minute": 0},
        "2024-01-01T00:00Z",
        ["2030-01-01 00:00:00"],
    ),
    ({"hour": 9, "minute": 0, "tz": "Asia/Tokyo"}, "2024-01-01T00:00Z", ["2024-01-02 00:00:00"]),
    # upstream's shape: cron text under "rule", with a start and an end (both inclusive)
    (
        {"rule": "*/1 * * * *", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T00:02:00Z"},
        "2024-01-01T00:00Z",
        ["2030-01-01 00:00:00", "2030-01-01 00:01:00", "2030-01-01 00:02:00"],
    ),
    ({"rule": "0 * * * *", "start": 1893456000000}, "2024-01-01T00:00Z", ["2030-01-01 00:00:00"]),
]


@pytest.mark.parametrize(("schedule", "after", "expected"), RULE_CASES)
def test_rule_objects_fire_when_node_schedule_would(
    db: Conn, schedule: dict[str, Any], after: str, expected: list[str]
) -> None:
    assert fire_times(db, schedule, after, len(expected)) == expected


def test_a_schedule_ends(db: Conn) -> None:
    upstream = {"rule": "*/1 * * * *", "end": "2030-01-01T00:02:00Z"}
    assert next_run(db, upstream, "2030-01-01T00:02:00Z") is None
    assert next_run(db, {"year": 2030, "minute": 0}, "2030-12-31T23:00Z") is None


CRON_CASES = [
    ("@daily", "2024-01-01T09:00Z", ["2024-01-02 00:00:00"]),
    ("@midnight", "2024-01-01T09:00Z", ["2024-01-02 00:00:00"]),
    ("@hourly", "2024-01-01T09:00Z", ["2024-01-01 10:00:00"]),
    ("@weekly", "2024-01-01T09:00Z", ["2024-01-07 00:00:00"]),
    ("@monthly", "2024-01-01T09:00Z", ["2024-02-01 00:00:00"]),
    ("@yearly", "2024-01-01T09:00Z", ["2025-01-01 00:00:00"]),
    ("@annually", "2024-01-01T09:00Z", ["2025-01-01 00:00:00"]),
    # six fields: seconds first (cron-parser, pg-boss)
    ("*/20 * * * * *", "2024-01-01T09:00:01Z", ["2024-01-01 09:00:20", "2024-01-01 09:00:40"]),
    # names, any case; 7 is Sunday too
    ("0 9 * jan-MAR Mon-FRI", "2024-03-29T10:00Z", ["2025-01-01 09:00:00", "2025-01-02 09:00:00"]),
    ("0 8 * * 7", "2024-01-01T00:00Z", ["2024-01-07 08:00:00"]),
    ("5/20 * * * *", "2024-01-01T00:00Z", ["2024-01-01 00:05:00", "2024-01-01 00:25:00"]),
    ("0 0 1,15 * *", "2024-01-01T00:00Z", ["2024-01-15 00:00:00", "2024-02-01 00:00:00"]),
    # Vixie cron: both day fields restricted -> either matches (the 13th, or a Friday) ...
    (
        "0 0 13 * 5",
        "2024-01-01T00:00Z",
        ["2024-01-05 00:00:00", "2024-01-12 00:00:00", "2024-01-13 00:00:00"],
    ),
    # ... but a field starting with * makes it AND: days 1, 11, 21, 31 that are Mondays
    ("0 0 */10 * 1", "2024-01-01T00:00Z", ["2024-03-11 00:00:00", "2024-04-01 00:00:00"]),
    ("0 0 29 2 *", "2024-03-01T00:00Z", ["2028-02-29 00:00:00"]),
]


@pytest.mark.parametrize(("expression", "after", "expected"), CRON_CASES)
def test_cron_text(db: Conn, expression: str, after: str, expected: list[str]) -> None:
    assert fire_times(db, {"cron": expression}, after, len(expected)) == expected


# -- time zones and clock changes --------------------------------------------------------------
# Europe/Paris: 2024-03-31 02:00 CET -> 03:00 CEST (01:00Z); 2024-10-27 03:00 CEST -> 02:00 CET
# (01:00Z). America/New_York: 2024-03-10 02:00 EST -> 03:00 EDT (07:00Z); 2024-11-03 02:00 EDT
# -> 01:00 EST (06:00Z).

DST_CASES = [
    # A time the clock skips runs once, when the clock jumps (03:00 CEST = 01:00Z) ...
    (
        "30 2 * * *",
        "Europe/Paris",
        "2024-03-30T12:00Z",
        ["2024-03-31 01:00:00", "2024-04-01 00:30:00"],
    ),
    (
        "30 2 * * *",
        "America/New_York",
        "2024-03-09T12:00Z",
        ["2024-03-10 07:00:00", "2024-03-11 06:30:00"],
    ),
    # ... and a schedule of every hour follows the clock: no 02:30 that night, still hourly.
    (
        "30 * * * *",
        "Europe/Paris",
        "2024-03-31T00:15Z",
        ["2024-03-31 00:30:00", "2024-03-31 01:30:00"],
    ),
    (
        "*/15 * * * *",
        "Europe/Paris",
        "2024-03-31T00:40Z",
        ["2024-03-31 00:45:00", "2024-03-31 01:00:00", "2024-03-31 01:15:00"],
    ),
    # A time the clock repeats runs once, at its first occurrence ...
    (
        "30 2 * * *",
        "Europe/Paris",
        "2024-10-26T12:00Z",
        ["2024-10-27 00:30:00", "2024-10-28 01:30:00"],
    ),
    (
        "30 1 * * *",
        "America/New_York",
        "2024-11-02T12:00Z",
        ["2024-11-03 05:30:00", "2024-11-04 06:30:00"],
    ),
    # (also when asked from inside the repeated hour)
    ("30 1 * * *", "America/New_York", "2024-11-03T06:10Z", ["2024-11-04 06:30:00"]),
    # ... while a schedule of every hour runs in both passes of the repeated hour.
    (
        "30 * * * *",
        "Europe/Paris",
        "2024-10-27T00:00Z",
        ["2024-10-27 00:30:00", "2024-10-27 01:30:00", "2024-10-27 02:30:00"],
    ),
    (
        "*/30 * * * *",
        "America/New_York",
        "2024-11-03T04:50Z",
        [
            "2024-11-03 05:00:00",
            "2024-11-03 05:30:00",
            "2024-11-03 06:00:00",
            "2024-11-03 06:30:00",
            "2024-11-03 07:00:00",
        ],
    ),
    # Far from a change, a wall time is a wall time in either season.
    ("0 8 * * 1", "Europe/Paris", "2024-01-01T12:00Z", ["2024-01-08 07:00:00"]),
    ("0 8 * * 1", "Europe/Paris", "2024-07-01T12:00Z", ["2024-07-08 06:00:00"]),
    # Lord Howe Island moves its clocks by 30 minutes (2024-10-06 02:00 -> 02:30, 15:30Z).
    (
        "15 2 * * *",
        "Australia/Lord_Howe",
        "2024-10-05T00:00Z",
        ["2024-10-05 15:30:00", "2024-10-06 15:15:00"],
    ),
]


@pytest.mark.parametrize(("expression", "tz", "after", "expected"), DST_CASES)
def test_time_zones_and_clock_changes(
    db: Conn, expression: str, tz: str, after: str, expected: list[str]
) -> None:
    assert fire_times(db, {"cron": expression, "tz": tz}, after, len(expected)) == expected


# -- validation --------------------------------------------------------------------------------

INVALID = [
    ([1, 2], "PJ107"),
    ("0 8 * * 1", "PJ107"),
    ({"cron": "0 8 * *"}, "PJ111"),
    ({"cron": "0 8 * * * * *"}, "PJ111"),
    ({"cron": ""}, "PJ111"),
    ({"cron": "61 * * * *"}, "PJ111"),
    ({"cron": "* 24 * * *"}, "PJ111"),
    ({"cron": "* * 0 * *"}, "PJ111"),
    ({"cron": "* * * 13 *"}, "PJ111"),
    ({"cron": "* * * * 8"}, "PJ111"),
    ({"cron": "0 8 * * FUNDAY"}, "PJ111"),
    ({"cron": "5-1 * * * *"}, "PJ111"),
    ({"cron": "*/0 * * * *"}, "PJ111"),
    ({"cron": "0 8 L * *"}, "PJ111"),
    ({"cron": "0 8 * * 5#2"}, "PJ111"),
    ({"cron": "@reboot"}, "PJ111"),
    ({"cron": 5}, "PJ111"),
    ({"cron": "* * * * *", "rule": "* * * * *"}, "PJ111"),
    ({"cron": "* * * * *", "hour": 1}, "PJ111"),
    ({"hours": [1]}, "PJ111"),
    ({"hour": 24}, "PJ111"),
    ({"month": 12}, "PJ111"),
    ({"minute": 1.5}, "PJ111"),
    ({"minute": "5"}, "PJ111"),
    ({"minute": [{"start": 5, "end": 1}]}, "PJ111"),
    ({"minute": [{"start": 0, "end": 10, "step": 0}]}, "PJ111"),
    ({"cron": "* * * * *", "start": "not a time"}, "PJ111"),
    ({"cron": "* * * * *", "tz": "Mars/Olympus"}, "PJ112"),
    ({"cron": "* * * * *", "tz": 5}, "PJ112"),
    ({"cron": "* * * * *", "tz": ""}, "PJ112"),
    ({"cron": "0 0 30 2 *"}, "PJ113"),
    ({"minute": []}, "PJ113"),
    ({"rule": "* * * * *", "end": "2001-01-01T00:00:00Z"}, "PJ113"),
    ({"year": 2001}, "PJ113"),
]


@pytest.mark.parametrize(("schedule", "code"), INVALID)
def test_invalid_schedules_are_refused_at_insert(db: Conn, schedule: Any, code: str) -> None:
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as raw:
        db.execute(
            "INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info) VALUES ('t', %s)",
            (json.dumps(schedule),),
        )
    assert raw.value.sqlstate == code, raw.value
    assert (raw.value.diag.message_primary or "").startswith("schedule: ")
    assert raw.value.diag.message_hint
    with pytest.raises(psycopg.Error) as added:
        db.execute(
            "SELECT app_jobs.add_scheduled_job(NULL, 't', schedule_info := %s)",
            (json.dumps(schedule),),
        )
    assert added.value.sqlstate == code
    assert snapshot(db) == before


def test_next_run_refuses_what_insert_refuses(db: Conn) -> None:
    with pytest.raises(psycopg.Error) as err:
        next_run(db, {"cron": "0 8 * * FUNDAY"}, "2024-01-01T00:00Z")
    assert err.value.sqlstate == "PJ111"
    assert (err.value.diag.message_primary or "").startswith("next_run: ")
    assert "FUNDAY" in (err.value.diag.message_primary or "")
    # A schedule with no fire time left is not an error for next_run: it has ended.
    assert next_run(db, {"cron": "0 0 30 2 *"}, "2024-01-01T00:00Z") is None


@pytest.mark.parametrize(
    ("policy", "code"),
    [
        ({"missed_runs": "sometimes"}, "PJ114"),
        ({"missed_runs": "backfill"}, "PJ114"),
        ({"missed_runs": "backfill", "backfill_limit": 0}, "PJ114"),
        ({"backfill_window": "-1 hour"}, "PJ114"),
        ({"missed_runs": "skip", "backfill_limit": 5}, "PJ114"),
    ],
)
def test_invalid_missed_run_policies_are_refused(
    db: Conn, policy: dict[str, Any], code: str
) -> None:
    before = snapshot(db)
    args = "".join(f", {k} := %({k})s" for k in policy)
    with pytest.raises(psycopg.Error) as err:
        db.execute(f"SELECT app_jobs.add_scheduled_job(NULL, 't', cron := '@daily'{args})", policy)
    assert err.value.sqlstate == code
    assert snapshot(db) == before


def test_add_scheduled_job_takes_cron_and_tz(db: Conn) -> None:
    row = db.execute(
        "SELECT * FROM app_jobs.add_scheduled_job(NULL, 'generate_report', cron := '0 8 * * 1',"
        " tz := 'Europe/Paris')"
    ).fetchone()
    assert row is not None
    assert row["schedule_info"] == {"cron": "0 8 * * 1", "tz": "Europe/Paris"}
    assert row["enabled"] is True
    assert row["missed_runs"] == "run_once"
    expected = next_run(db, {"cron": "0 8 * * 1", "tz": "Europe/Paris"}, row["created_at"])
    assert row["next_run_at"] == expected
    with pytest.raises(psycopg.Error) as both:
        db.execute(
            "SELECT app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{\"hour\": 1}',"
            " cron := '@daily')"
        )
    assert both.value.sqlstate == "PJ107"
    with pytest.raises(psycopg.Error) as neither:
        db.execute("SELECT app_jobs.add_scheduled_job(NULL, 't')")
    assert neither.value.sqlstate == "PJ107"


def test_the_contracts_raw_insert_is_parsed(db: Conn) -> None:
    row = db.execute(
        "INSERT INTO app_jobs.scheduled_jobs (database_id, task_identifier, schedule_info)"
        " VALUES ('5b720132-17d5-424d-9bcb-ee7b17c13d43'::uuid, 'cleanup_task',"
        ' \'{"hour": [2], "minute": [0]}\'::json) RETURNING *, now() AS now'
    ).fetchone()
    assert row is not None
    assert row["next_run_at"] == next_run(db, {"hour": [2], "minute": [0]}, row["now"])
    assert row["next_run_at"].astimezone(UTC).strftime("%H:%M:%S") == "02:00:00"
    spec = db.execute(
        "SELECT (spec).hours, (spec).minutes, (spec).seconds FROM app_jobs.scheduled_jobs"
    ).fetchone()
    assert spec == {"hours": [2], "minutes": [0], "seconds": [0]}


def test_redeclaring_an_unchanged_schedule_keeps_its_next_fire_time(db: Conn) -> None:
    declare = (
        "SELECT * FROM app_jobs.add_scheduled_job(NULL, 'report', cron := %s, job_key := 'r',"
        " payload := %s)"
    )
    first = db.execute(declare, ("*/5 * * * *", '{"v": 1}')).fetchone()
    assert first is not None
    # Pretend a fire time is due right now, not enqueued yet: a restart must not lose it.
    due = db.execute(
        "UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '1 second'"
        " RETURNING next_run_at"
    ).fetchone()
    assert due is not None
    again = db.execute(declare, ("*/5 * * * *", '{"v": 2}')).fetchone()
    assert again is not None
    assert (again["id"], again["next_run_at"], again["payload"]) == (
        first["id"],
        due["next_run_at"],
        {"v": 2},
    )
    # A changed schedule starts from its next fire time after now.
    changed = db.execute(declare, ("0 0 1 1 *", '{"v": 2}')).fetchone()
    assert changed is not None
    assert changed["next_run_at"].astimezone(UTC).strftime("%m-%d %H:%M") == "01-01 00:00"


def test_an_invalid_update_is_refused(db: Conn) -> None:
    db.execute("SELECT app_jobs.add_scheduled_job(NULL, 't', cron := '@daily')")
    with pytest.raises(psycopg.Error) as err:
        db.execute('UPDATE app_jobs.scheduled_jobs SET schedule_info = \'{"cron": "@never"}\'')
    assert err.value.sqlstate == "PJ111"
    # spec is derived: writing it by hand is overwritten from schedule_info.
    db.execute("UPDATE app_jobs.scheduled_jobs SET spec = NULL")
    row = db.execute("SELECT (spec).hours FROM app_jobs.scheduled_jobs").fetchone()
    assert row == {"hours": [0]}


def test_disable_and_enable(db: Conn) -> None:
    s = db.execute(
        "SELECT * FROM app_jobs.add_scheduled_job(NULL, 't', cron := '@hourly')"
    ).fetchone()
    assert s is not None
    off = db.execute(
        "SELECT * FROM app_jobs.enable_scheduled_job(%s, false)", (s["id"],)
    ).fetchone()
    assert off is not None and off["enabled"] is False
    db.execute(
        "UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '5 hours' WHERE id = %s",
        (s["id"],),
    )
    assert db.execute("SELECT * FROM app_jobs.run_due_schedules()").fetchall() == []
    # Re-declaring the schedule does not enable it again (an operator's disable sticks).
    db.execute("SELECT app_jobs.add_scheduled_job(NULL, 't', cron := '@hourly', job_key := 'k')")
    on = db.execute(
        "SELECT *, now() AS now FROM app_jobs.enable_scheduled_job(%s)", (s["id"],)
    ).fetchone()
    assert on is not None and on["enabled"] is True
    assert on["next_run_at"] > on["now"]  # what it missed while off is not run
    assert db.execute("SELECT * FROM app_jobs.run_due_schedules()").fetchall() == []
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT app_jobs.enable_scheduled_job(999)")
    assert err.value.sqlstate == "PJ301"


def test_list_scheduled_jobs_by_tenant(db: Conn) -> None:
    tenant = "11111111-1111-1111-1111-111111111111"
    db.execute("SELECT app_jobs.add_scheduled_job(NULL, 'a', cron := '@daily')")
    db.execute("SELECT app_jobs.add_scheduled_job(%s, 'b', cron := '@daily')", (tenant,))
    every = db.execute("SELECT task_identifier FROM app_jobs.list_scheduled_jobs()").fetchall()
    assert [r["task_identifier"] for r in every] == ["a", "b"]
    mine = db.execute(
        "SELECT task_identifier FROM app_jobs.list_scheduled_jobs(%s)", (tenant,)
    ).fetchall()
    assert [r["task_identifier"] for r in mine] == ["b"]


def test_next_run_defaults_to_now(db: Conn) -> None:
    row = db.execute(
        'SELECT app_jobs.next_run(\'{"cron": "* * * * * *"}\') - now() AS d'
    ).fetchone()
    assert row is not None
    assert timedelta(0) < row["d"] <= timedelta(seconds=1)
