"""Pause and resume (issue 17 item 4): pause_jobs by task, queue and tenant, resume_jobs,
list_pauses; the claim parks paused jobs lazily and in bounded batches; a paused head of a
named queue holds back its queue; start_jobs gives back buffered jobs a pause now matches;
claim_job refuses paused jobs; a claim racing a pause never hands out a paused job after the
pause commits."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from helpers import (
    DEFAULT_TENANT,
    TENANT,
    Conn,
    add_job,
    claim_buffers,
    complete_job,
    get_job,
)

OTHER = "9d4b0e6a-3f1c-4c4e-8a57-2f6d1c0b7e21"


def pause(db: Conn, **kw: Any) -> dict[str, Any]:
    names = ", ".join(f"{k} := %({k})s" for k in kw)
    row = db.execute(f"SELECT * FROM app_jobs.pause_jobs({names})", kw).fetchone()
    assert row is not None
    return dict(row)


def resume(db: Conn, **kw: Any) -> int | None:
    names = ", ".join(f"{k} := %({k})s" for k in kw)
    row = db.execute(f"SELECT app_jobs.resume_jobs({names}) AS n", kw).fetchone()
    assert row is not None
    return row["n"]  # type: ignore[no-any-return]


def claim_all(db: Conn, worker: str = "w", batch: int = 100) -> list[int]:
    rows = db.execute(
        "SELECT id FROM app_jobs.get_jobs(%s, batch_size := %s)", (worker, batch)
    ).fetchall()
    return [row["id"] for row in rows]


def state(db: Conn, job_id: int) -> str | None:
    row = db.execute("SELECT state FROM app_jobs.jobs WHERE id = %s", (job_id,)).fetchone()
    return None if row is None else str(row["state"])


def test_pause_by_task_holds_back_only_that_task_and_resume_releases_it(db: Conn) -> None:
    paused = [add_job(db, "mail")["id"] for _ in range(3)]
    other = [add_job(db, "report")["id"] for _ in range(2)]
    row = pause(db, task="mail", reason="smtp down")
    assert (row["task_identifier"], row["queue_name"], row["database_id"]) == ("mail", None, None)
    assert row["reason"] == "smtp down" and row["paused_by"]
    assert sorted(claim_all(db)) == sorted(other)
    assert [state(db, i) for i in paused] == ["paused"] * 3  # parked by the claim
    assert claim_all(db) == []
    assert resume(db, task="mail") == 3
    assert claim_all(db) == paused  # claim order again
    assert resume(db, task="mail") is None  # no such pause any more


def test_pause_writes_one_row_and_no_job(db: Conn) -> None:
    for _ in range(50):
        add_job(db, "mail")
    before = db.execute("SELECT xmin::text AS x, id FROM app_jobs.jobs ORDER BY id").fetchall()
    pause(db, task="mail")
    after = db.execute("SELECT xmin::text AS x, id FROM app_jobs.jobs ORDER BY id").fetchall()
    assert before == after
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_pauses").fetchone()["n"] == 1


def test_pause_by_queue(db: Conn) -> None:
    q = [add_job(db, "t", queue_name="billing")["id"] for _ in range(2)]
    free = add_job(db, "t")["id"]
    pause(db, queue="billing")
    assert claim_all(db) == [free]
    assert {state(db, i) for i in q} <= {"paused", "blocked"}
    assert resume(db, queue="billing") is not None
    first = claim_all(db)
    assert first == [q[0]]  # the queue starts again from its head
    assert complete_job(db, "w", q[0]) is not None
    assert claim_all(db) == [q[1]]


def test_pause_by_tenant_and_for_all_tenants(db: Conn) -> None:
    mine = add_job(db, "t", db_id=TENANT)["id"]
    theirs = add_job(db, "t", db_id=OTHER)["id"]
    pause(db, db_id=TENANT)
    assert claim_all(db) == [theirs]
    resume(db, db_id=TENANT)
    assert claim_all(db) == [mine]

    a = add_job(db, "mail", db_id=TENANT)["id"]
    b = add_job(db, "mail", db_id=OTHER)["id"]
    c = add_job(db, "mail", db_id=DEFAULT_TENANT)["id"]
    d = add_job(db, "mail", db_id=OTHER, queue_name="q")["id"]
    pause(db, task="mail")  # db_id NULL: every tenant
    assert claim_all(db) == []
    assert resume(db, task="mail") == 4
    assert sorted(claim_all(db)) == sorted([a, b, c, d])


def test_pause_of_task_in_one_tenant_and_queue(db: Conn) -> None:
    hit = add_job(db, "mail", db_id=TENANT, queue_name="q")["id"]
    other_queue = add_job(db, "mail", db_id=TENANT, queue_name="r")["id"]
    other_tenant = add_job(db, "mail", db_id=OTHER, queue_name="q")["id"]
    pause(db, task="mail", queue="q", db_id=TENANT)
    assert sorted(claim_all(db)) == sorted([other_queue, other_tenant])
    assert state(db, hit) == "paused"


def test_double_pause_keeps_the_first_and_two_pauses_both_hold(db: Conn) -> None:
    job = add_job(db, "mail", queue_name="q")["id"]
    first = pause(db, task="mail", reason="first")
    again = pause(db, task="mail", reason="second")
    assert again == first
    pause(db, queue="q")
    pauses = db.execute("SELECT * FROM app_jobs.list_pauses()").fetchall()
    assert [(p["task_identifier"], p["queue_name"]) for p in pauses] == [
        ("mail", None),
        (None, "q"),
    ]
    assert claim_all(db) == []
    assert resume(db, task="mail") == 0  # the queue pause still holds it
    assert claim_all(db) == []
    assert state(db, job) in {"paused", "blocked"}
    resume(db, queue="q")
    assert claim_all(db) == [job]


def test_paused_head_of_a_named_queue_holds_back_the_queue(db: Conn) -> None:
    head = add_job(db, "mail", queue_name="q", priority=0)["id"]
    behind = add_job(db, "report", queue_name="q", priority=1)["id"]
    pause(db, task="mail")
    # The report job alone is not paused, but its queue's head is: the queue waits.
    assert claim_all(db) == []
    assert claim_all(db, "other") == []
    assert state(db, head) == "paused" and state(db, behind) == "blocked"
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone()["n"] == 0
    resume(db, task="mail")
    assert claim_all(db) == [head]
    assert claim_all(db) == []  # the queue is busy with its head
    complete_job(db, "w", head)
    assert claim_all(db) == [behind]


def test_head_matched_before_it_was_parked_holds_back_the_queue(db: Conn) -> None:
    # Priority puts the unpaused job first in claim order, but the queue's head is the
    # earlier paused one only when it sorts first: here the paused job is the head.
    head = add_job(db, "mail", queue_name="q", priority=-1)["id"]
    behind = add_job(db, "report", queue_name="q", priority=5)["id"]
    db.execute("UPDATE app_jobs.jobs SET state = 'blocked' WHERE id = %s", (head,))
    pause(db, task="mail")
    assert claim_all(db, "w") == []  # meets behind: the head (matched) holds it back
    assert state(db, head) == "paused" and state(db, behind) == "blocked"
    resume(db, task="mail")
    assert claim_all(db) == [head]


def test_resume_order_is_claim_order(db: Conn) -> None:
    ids = {}
    for prio in (3, 1, 2, 1):
        ids.setdefault(prio, []).append(add_job(db, "mail", priority=prio)["id"])
    pause(db, task="mail")
    assert claim_all(db) == []
    resume(db, task="mail")
    got = [get_job(db, "w") for _ in range(4)]
    assert [g["id"] for g in got if g] == ids[1] + ids[2] + ids[3]


def test_buffered_jobs_are_given_back_by_start_jobs(db: Conn) -> None:
    mail = [add_job(db, "mail", queue_name="q")["id"], add_job(db, "mail")["id"]]
    report = add_job(db, "report")["id"]
    rows = db.execute("SELECT id FROM app_jobs.get_jobs('w', started := false)").fetchall()
    buffered = sorted(r["id"] for r in rows)
    assert buffered == sorted([mail[0], mail[1], report])
    pause(db, task="mail")
    started = db.execute("SELECT app_jobs.start_jobs('w', %s) AS s", (buffered,)).fetchone()["s"]
    assert started == [report]
    for job_id in mail:
        row = db.execute(
            "SELECT state, attempts, locked_by FROM app_jobs.jobs WHERE id = %s", (job_id,)
        ).fetchone()
        assert row == {"state": "paused", "attempts": 0, "locked_by": None}
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_queue_locks").fetchone()["n"] == 0
    # A job already started keeps running: start_jobs again lists it.
    again = db.execute("SELECT app_jobs.start_jobs('w', %s) AS s", ([report],)).fetchone()["s"]
    assert again == [report]
    resume(db, task="mail")
    assert sorted(claim_all(db)) == sorted(mail)


def test_claim_job_refuses_a_paused_job(db: Conn) -> None:
    job = add_job(db, "mail")["id"]
    pause(db, task="mail")
    assert db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (job,)).fetchall() == []
    claim_all(db)  # parks it
    assert state(db, job) == "paused"
    assert db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (job,)).fetchall() == []
    resume(db, task="mail")
    assert [r["id"] for r in db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (job,))] == [
        job
    ]


def test_waiting_paused_jobs_can_be_cancelled_rescheduled_and_removed(db: Conn) -> None:
    a = add_job(db, "mail")["id"]
    b = add_job(db, "mail", job_key="k")["id"]
    c = add_job(db, "mail")["id"]
    pause(db, task="mail")
    claim_all(db)
    assert [state(db, i) for i in (a, b, c)] == ["paused"] * 3
    db.execute("SELECT * FROM app_jobs.cancel_job(%s)", (a,)).fetchall()
    db.execute("SELECT app_jobs.remove_job('k', %s)", (TENANT,))
    assert state(db, a) is None and state(db, b) is None
    # A rescheduled paused job is parked again by the next claim: still not handed out.
    db.execute(
        "SELECT * FROM app_jobs.reschedule_jobs(ARRAY[%s]::bigint[], priority := 7)", (c,)
    ).fetchall()
    assert claim_all(db) == []
    assert state(db, c) == "paused"


def test_tenant_session_pauses_only_its_own_jobs(db: Conn) -> None:
    mine = add_job(db, "mail", db_id=TENANT)["id"]
    theirs = add_job(db, "mail", db_id=OTHER)["id"]
    db.execute("SELECT set_config('app_jobs.tenant', %s, false)", (TENANT,))
    row = pause(db, task="mail")
    assert row["database_id"] is not None and str(row["database_id"]) == TENANT
    with pytest.raises(psycopg.Error) as err:
        pause(db, task="mail", db_id=OTHER)
    assert err.value.sqlstate == "PJ167"
    with pytest.raises(psycopg.Error) as err:
        resume(db, task="mail", db_id=OTHER)
    assert err.value.sqlstate == "PJ167"
    db.execute("RESET app_jobs.tenant")
    assert claim_all(db) == [theirs]
    assert state(db, mine) == "paused"


def claim_until(conn: Conn, worker: str, barrier: threading.Barrier, stop: threading.Event) -> None:
    """Claim (batches of 3, taking whatever comes) until told to stop."""
    barrier.wait()
    while not stop.is_set():
        conn.execute("SELECT id FROM app_jobs.get_jobs(%s, batch_size := 3)", (worker,)).fetchall()


MAIL_RUNNING = "SELECT id FROM app_jobs.jobs WHERE task_identifier = 'mail' AND state = 'running'"


def test_a_claim_racing_a_pause_never_hands_out_a_paused_job_after_it_commits(
    connect: Callable[..., Conn],
) -> None:
    db = connect()
    for round_ in range(12):
        db.execute("SELECT app_jobs.resume_jobs(task := 'mail')")
        with db.transaction():
            for i in range(300):
                add_job(db, "mail" if i % 2 else "report")
        stop = threading.Event()
        barrier = threading.Barrier(5)
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [
                pool.submit(claim_until, connect(), f"w{n}", barrier, stop) for n in range(4)
            ]
            barrier.wait()
            db.execute("SELECT app_jobs.pause_jobs(task := 'mail')")
            # The pause has committed: every mail job a claim ever takes is taken by now.
            taken_at_pause = {r["id"] for r in db.execute(MAIL_RUNNING)}
            for _ in range(20):
                db.execute("SELECT 1")
            stop.set()
            for future in futures:
                future.result()
        taken_after = {r["id"] for r in db.execute(MAIL_RUNNING)}
        assert taken_after == taken_at_pause, f"round {round_}"
        db.execute("DELETE FROM app_jobs.job_queue_locks")
        db.execute("DELETE FROM app_jobs.jobs")


def paused_backlog_costs_nothing(db: Conn, backlog: int) -> dict[str, int]:
    """Buffers of one claim over 1,000 claimable jobs, with a pause in force (of task mail):
    `before`, with no other job; `reference`, with `backlog` jobs that are out of the claim's
    way by design (scheduled a year ahead: the table and its other indexes are as large);
    `after`, with those jobs due and paused ahead of the claimable ones in claim order, once
    claims have parked them (and VACUUM, as autovacuum would, has removed the claim index's
    dead entries). Also `claims`: how many claims parked the backlog."""
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, run_at)"
        " SELECT 'report', now() - interval '1 hour' FROM generate_series(1, 1000)"
    )
    pause(db, task="mail")
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    figures = {"before": claim_buffers(db)}
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, run_at, state)"
        " SELECT 'mail', now() + interval '1 year', 'scheduled' FROM generate_series(1, %s)",
        (backlog,),
    )
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    figures["reference"] = claim_buffers(db)
    db.execute(
        "UPDATE app_jobs.jobs SET state = 'ready', run_at = now() - interval '2 hours'"
        " WHERE task_identifier = 'mail'"
    )
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    claims = 0
    while db.execute(
        "SELECT EXISTS (SELECT 1 FROM app_jobs.jobs"
        " WHERE state = 'ready' AND task_identifier = 'mail') AS e"
    ).fetchone()["e"]:
        db.execute("SELECT id FROM app_jobs.get_jobs('parker', batch_size := 1)").fetchall()
        claims += 1
        db.execute(
            "UPDATE app_jobs.jobs SET state = 'ready', locked_by = NULL, locked_at = NULL,"
            " attempts = 0, started_attempt = NULL WHERE locked_by = 'parker'"
        )
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    figures["after"] = claim_buffers(db)
    figures["claims"] = claims
    paused = db.execute("SELECT count(*) AS n FROM app_jobs.jobs WHERE state = 'paused'").fetchone()
    assert paused["n"] == backlog
    return figures


def test_a_paused_backlog_costs_the_claim_nothing_once_parked(db: Conn) -> None:
    figures = paused_backlog_costs_nothing(db, 20_000)
    assert figures["claims"] <= 20_000 // 10_000 + 1  # at most 10 batches of 1,000 per claim
    # Slack of 60 buffers, a thirtieth of what an unparked backlog of 20,000 costs the claim
    # (thousands): VACUUM cannot remove the dead index entries the parking left while another
    # session's snapshot is older, and the suite runs in parallel. Measured under the parallel
    # suite: `after` 11 above `reference` (201 against 190, embedded PostgreSQL 18) and the
    # reference 13 above `before` (215, 228, 228); alone the three are within 10.
    assert figures["after"] <= figures["reference"] + 60, figures
    assert figures["after"] <= figures["before"] + 60, figures


@pytest.mark.heavy
@pytest.mark.timeout(3600)
def test_a_million_paused_jobs_cost_the_claim_nothing_once_parked(db: Conn) -> None:
    figures = paused_backlog_costs_nothing(db, 1_000_000)
    print(json.dumps(figures))
    assert figures["claims"] <= 1_000_000 // 10_000 + 1
    # A million more rows make the table's other indexes (id, uid) a level deeper for the
    # claim's updates, paused or not: the reference holds them as scheduled jobs.
    assert figures["after"] <= figures["reference"] + 2, figures


def test_paused_jobs_have_status_paused_before_and_after_parking(db: Conn) -> None:
    paused = add_job(db, "mail")["id"]
    other = add_job(db, "report", run_at="2999-01-01T00:00:00Z")["id"]
    pause(db, task="mail")

    def statuses() -> dict[int, str]:
        rows = db.execute("SELECT id, status FROM app_jobs.list_jobs()").fetchall()
        return {r["id"]: r["status"] for r in rows}

    assert statuses() == {paused: "paused", other: "scheduled"}  # matched, not parked yet
    claim_all(db)
    assert statuses() == {paused: "paused", other: "scheduled"}  # parked
    listed = db.execute("SELECT id FROM app_jobs.list_jobs(status := '{paused}')").fetchall()
    assert [r["id"] for r in listed] == [paused]
    assert db.execute("SELECT id FROM app_jobs.list_jobs(status := '{pending}')").fetchall() == []
    found = db.execute("SELECT status FROM app_jobs.find_job(%s)", (paused,)).fetchone()
    assert found["status"] == "paused"
    resume(db, task="mail")
    assert statuses() == {paused: "pending", other: "scheduled"}


def test_park_paused_jobs_parks_the_backlog_in_bounded_calls(db: Conn) -> None:
    db.execute(
        "INSERT INTO app_jobs.jobs (task_identifier, run_at)"
        " SELECT CASE WHEN g % 3 = 0 THEN 'report' ELSE 'mail' END, now() - interval '1 hour'"
        " FROM generate_series(1, 7500) AS g"
    )
    assert db.execute("SELECT app_jobs.park_paused_jobs() AS n").fetchone()["n"] == 0  # no pause
    pause(db, task="mail")
    calls = []
    while n := db.execute("SELECT app_jobs.park_paused_jobs(2000) AS n").fetchone()["n"]:
        assert n <= 2000 + 1000  # the last batch of 1,000 may pass max_jobs
        calls.append(n)
    assert sum(calls) == 5000 and len(calls) <= 3
    counts = db.execute(
        "SELECT task_identifier AS t, state, count(*) AS n FROM app_jobs.jobs GROUP BY 1, 2"
    ).fetchall()
    assert {(r["t"], r["state"]): r["n"] for r in counts} == {
        ("mail", "paused"): 5000,
        ("report", "ready"): 2500,
    }
