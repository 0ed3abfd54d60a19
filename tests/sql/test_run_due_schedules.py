"""run_due_schedules: one job per due fire time, exactly once however many callers race, the
missed-run policies after a simulated outage (stored timestamps moved back, never a sleep),
fire_time on jobs and in history, and run_scheduled_job's refusal left to manual runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from helpers import Conn, complete_job, get_job

UTC = UTC
TEN_MINUTES = timedelta(minutes=10)


def add_schedule(db: Conn, cron: str = "*/10 * * * *", **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(
        f"SELECT * FROM app_jobs.add_scheduled_job(NULL, 'tick', cron := %(cron)s{args})",
        {"cron": cron, **kw},
    ).fetchone()
    assert row is not None
    return dict(row)


def set_next_run(db: Conn, schedule_id: int, back: str) -> datetime:
    """Simulate an outage: the scheduler last ran `back` ago (next_run_at moved back onto the
    schedule's fire time at or before that moment)."""
    row = db.execute(
        "UPDATE app_jobs.scheduled_jobs"
        "   SET next_run_at = app_jobs.next_run(schedule_info::jsonb, now() - %s::interval"
        "                                        - interval '10 minutes')"
        " WHERE id = %s RETURNING next_run_at",
        (back, schedule_id),
    ).fetchone()
    assert row is not None
    return row["next_run_at"]


def tick(db: Conn) -> tuple[datetime, list[dict[str, Any]]]:
    """run_due_schedules in a transaction whose now() the caller learns too."""
    with db.transaction():
        row = db.execute("SELECT now() AS now").fetchone()
        assert row is not None
        jobs = [dict(r) for r in db.execute("SELECT * FROM app_jobs.run_due_schedules()")]
    return row["now"], jobs


def grid(start: datetime, now: datetime, step: timedelta = TEN_MINUTES) -> list[datetime]:
    out = []
    moment = start
    while moment <= now:
        out.append(moment)
        moment += step
    return out


def schedule_row(db: Conn, schedule_id: int) -> dict[str, Any]:
    row = db.execute(
        "SELECT * FROM app_jobs.scheduled_jobs WHERE id = %s", (schedule_id,)
    ).fetchone()
    assert row is not None
    return dict(row)


def test_nothing_is_due_right_after_creation(db: Conn) -> None:
    add_schedule(db)
    assert tick(db)[1] == []


def test_a_due_fire_time_becomes_one_job(db: Conn) -> None:
    s = add_schedule(db, payload='{"report": 1}', queue_name="reports", priority=3)
    due = db.execute(
        "UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '2 seconds'"
        " RETURNING next_run_at"
    ).fetchone()
    assert due is not None
    now, jobs = tick(db)
    assert len(jobs) == 1
    job = jobs[0]
    assert (job["fire_time"], job["run_at"], job["scheduled_job_id"]) == (
        due["next_run_at"],
        due["next_run_at"],
        s["id"],
    )
    assert (job["task_identifier"], job["payload"], job["queue_name"], job["priority"]) == (
        "tick",
        {"report": 1},
        "reports",
        3,
    )
    assert job["state"] == "ready"
    row = schedule_row(db, s["id"])
    assert (row["last_run_at"], row["last_job_id"]) == (due["next_run_at"], job["id"])
    assert now < row["next_run_at"] <= now + TEN_MINUTES
    assert tick(db)[1] == []  # nothing twice


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # the fire times due after a 3-hour outage, oldest first; now is the tick's now()
        (
            {"missed_runs": "skip"},
            lambda due, now: [f for f in due[-1:] if f >= now - timedelta(minutes=1)],
        ),
        ({"missed_runs": "run_once"}, lambda due, now: due[-1:]),
        ({}, lambda due, now: due[-1:]),  # run_once is the default
        ({"missed_runs": "backfill", "backfill_limit": 5}, lambda due, now: due[-5:]),
        (
            {"backfill_window": "45 minutes"},
            lambda due, now: [f for f in due if f >= now - timedelta(minutes=45)],
        ),
        (
            {"backfill_limit": 3, "backfill_window": "2 hours"},
            lambda due, now: [f for f in due if f >= now - timedelta(hours=2)][-3:],
        ),
        ({"backfill_limit": 1000}, lambda due, now: due),
    ],
)
def test_missed_run_policies_after_an_outage(
    db: Conn, policy: dict[str, Any], expected: Callable[[list[datetime], datetime], list[datetime]]
) -> None:
    s = add_schedule(db, **policy)
    first_missed = set_next_run(db, s["id"], "3 hours")
    now, jobs = tick(db)
    due = grid(first_missed, now)
    assert len(due) >= 18
    want = expected(due, now)
    assert [j["fire_time"] for j in jobs] == want
    assert all(j["run_at"] == j["fire_time"] for j in jobs)
    row = schedule_row(db, s["id"])
    assert row["next_run_at"] == due[-1] + TEN_MINUTES  # the next fire time after now
    if want:
        assert (row["last_run_at"], row["last_job_id"]) == (want[-1], jobs[-1]["id"])
    assert tick(db)[1] == []


def test_catching_up_a_long_outage_does_not_walk_every_missed_fire_time(db: Conn) -> None:
    # Every second for a year: 31 million missed fire times, found by looking back from now.
    once = add_schedule(db, cron="* * * * * *")
    many = add_schedule(db, cron="* * * * * *", backfill_limit=5)
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '365 days'")
    now, jobs = tick(db)
    by_schedule: dict[int, list[datetime]] = {}
    for job in jobs:
        by_schedule.setdefault(job["scheduled_job_id"], []).append(job["fire_time"])
    latest = now.replace(microsecond=0)
    assert by_schedule[once["id"]] == [latest]
    assert by_schedule[many["id"]] == [latest - timedelta(seconds=n) for n in range(4, -1, -1)]


def test_backfill_jobs_carry_their_fire_time_into_history(db: Conn) -> None:
    s = add_schedule(db, backfill_limit=3)
    set_next_run(db, s["id"], "1 hour")
    _, jobs = tick(db)
    assert len(jobs) == 3
    # Each fire time is its own job, although the previous ones are still pending ...
    fire_times = sorted(j["fire_time"] for j in jobs)
    # ... while a manual run is still refused while one is pending.
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT app_jobs.run_scheduled_job(%s)", (s["id"],))
    assert err.value.sqlstate == "PJ302"
    for _ in jobs:
        job = get_job(db, "w1")
        assert job is not None
        assert complete_job(db, "w1", job["id"]) is not None
    history = db.execute(
        "SELECT fire_time, scheduled_job_id FROM app_jobs.job_history ORDER BY fire_time"
    ).fetchall()
    assert [h["fire_time"] for h in history] == fire_times
    assert {h["scheduled_job_id"] for h in history} == {s["id"]}


def test_a_manual_run_has_no_fire_time_and_leaves_the_schedule_alone(db: Conn) -> None:
    s = add_schedule(db)
    job = db.execute("SELECT * FROM app_jobs.run_scheduled_job(%s)", (s["id"],)).fetchone()
    assert job is not None and job["fire_time"] is None
    row = schedule_row(db, s["id"])
    assert (row["next_run_at"], row["last_run_at"], row["last_job_id"]) == (
        s["next_run_at"],
        None,
        job["id"],
    )


def test_a_fire_time_is_never_enqueued_twice(db: Conn) -> None:
    s = add_schedule(db, backfill_limit=100)
    first_missed = set_next_run(db, s["id"], "25 minutes")
    _, jobs = tick(db)
    assert [j["fire_time"] for j in jobs][:1] == [first_missed]
    # Someone moves next_run_at back onto fire times whose jobs are still waiting: the unique
    # (scheduled_job_id, fire_time) turns the second inserts into nothing.
    db.execute(
        "UPDATE app_jobs.scheduled_jobs SET next_run_at = %s WHERE id = %s",
        (first_missed, s["id"]),
    )
    assert tick(db)[1] == []
    count = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert count == {"n": len(jobs)}
    with pytest.raises(psycopg.errors.UniqueViolation):
        db.execute(
            "INSERT INTO app_jobs.jobs (task_identifier, scheduled_job_id, fire_time)"
            " VALUES ('tick', %s, %s)",
            (s["id"], first_missed),
        )


def test_eight_racing_callers_enqueue_each_fire_time_once(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    ids = []
    for n in range(40):
        # Yearly schedules last run in 2015: backfill the latest 3 New Year's Days, or one.
        policy = {"backfill_limit": 3} if n % 2 else {}
        ids.append(add_schedule(db, cron="0 0 1 1 *", job_key=f"s{n}", **policy)["id"])
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = '2015-01-01T00:00:00Z'")
    conns = [connect() for _ in range(8)]
    barrier = threading.Barrier(len(conns))
    returned: list[list[int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(conn: Conn) -> None:
        try:
            barrier.wait()
            mine: list[int] = []
            for _ in range(3):
                mine += [
                    r["id"] for r in conn.execute("SELECT id FROM app_jobs.run_due_schedules()")
                ]
            with lock:
                returned.append(mine)
        except BaseException as error:
            with lock:
                errors.append(error)

    threads = [threading.Thread(target=run, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = db.execute(
        "SELECT scheduled_job_id, fire_time, count(*) AS n FROM app_jobs.jobs"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    ).fetchall()
    assert all(r["n"] == 1 for r in rows)
    assert len(rows) == 20 * 3 + 20 * 1
    year = datetime.now(UTC).year
    for schedule_id, n in zip(ids, range(40), strict=True):
        fires = [r["fire_time"].year for r in rows if r["scheduled_job_id"] == schedule_id]
        assert fires == ([year - 2, year - 1, year] if n % 2 else [year])
    every = [job_id for mine in returned for job_id in mine]
    assert sorted(every) == sorted(set(every))  # no job returned to two callers
    assert len(every) == len(rows)
