"""One process per worker id: heartbeat's instance token and unregister_worker (0.4.0).

The lease of a worker_id belongs to the process whose token took it: while it is live, another
token's heartbeat is refused (PJ307) and changes nothing; once it lapsed, a new token takes it
over. Racing processes with the same id: exactly one wins.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

Conn = psycopg.Connection[Any]


def beat(db: Conn, worker: str, instance: uuid.UUID | None, lease: str = "1 minute") -> Any:
    row = db.execute(
        "SELECT app_jobs.heartbeat(%s, %s::interval, %s) AS held", (worker, lease, instance)
    ).fetchone()
    assert row is not None
    return row["held"]


def lease_row(db: Conn, worker: str) -> dict[str, Any] | None:
    return db.execute(
        "SELECT instance, lease_expires_at FROM app_jobs.workers WHERE worker_id = %s", (worker,)
    ).fetchone()


def test_another_live_token_is_refused_and_changes_nothing(db: Conn) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert beat(db, "w", first) == []
    before = lease_row(db, "w")
    with pytest.raises(psycopg.Error) as refused:
        beat(db, "w", second)
    diag = refused.value.diag
    assert diag.sqlstate == "PJ307"
    assert "heartbeat" in (diag.message_primary or "") and "w" in (diag.message_primary or "")
    assert str(first) in (diag.message_detail or "")
    assert diag.message_hint
    assert lease_row(db, "w") == before
    # The holder renews as often as it likes.
    beat(db, "w", first)
    assert lease_row(db, "w")["instance"] == first  # type: ignore[index]


def test_a_lapsed_lease_is_taken_over_by_a_new_token(db: Conn) -> None:
    dead, restarted = uuid.uuid4(), uuid.uuid4()
    beat(db, "w", dead)
    db.execute("UPDATE app_jobs.workers SET lease_expires_at = now() - interval '1 second'")
    beat(db, "w", restarted)
    assert lease_row(db, "w")["instance"] == restarted  # type: ignore[index]
    with pytest.raises(psycopg.Error) as refused:
        beat(db, "w", dead)  # the old process, back from a pause, is refused now
    assert refused.value.diag.sqlstate == "PJ307"


def test_a_heartbeat_without_a_token_renews_as_before(db: Conn) -> None:
    owner = uuid.uuid4()
    beat(db, "w", owner)
    beat(db, "w", None)  # a raw SQL caller, or a worker before 0.4.0
    assert lease_row(db, "w")["instance"] == owner  # type: ignore[index]
    beat(db, "plain", None)
    beat(db, "plain", uuid.uuid4())  # a row without a token is taken by the first token
    assert lease_row(db, "plain")["instance"] is not None  # type: ignore[index]


def test_racing_processes_with_the_same_worker_id_exactly_one_wins(
    connect: Callable[..., Conn],
) -> None:
    conns = [connect() for _ in range(8)]
    for round_ in range(20):
        worker = f"race-{round_}"
        barrier = threading.Barrier(len(conns))
        outcomes: list[str] = []

        def run(conn: Conn, worker: str, barrier: threading.Barrier, out: list[str]) -> None:
            barrier.wait()
            try:
                beat(conn, worker, uuid.uuid4())
                out.append("won")
            except psycopg.Error as error:
                out.append(error.sqlstate or "?")

        threads = [threading.Thread(target=run, args=(c, worker, barrier, outcomes)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["PJ307"] * (len(conns) - 1) + ["won"]


def test_unregister_ends_only_its_own_lease(db: Conn) -> None:
    owner = uuid.uuid4()
    beat(db, "w", owner)
    assert db.execute("SELECT app_jobs.unregister_worker('w', %s) AS ok", (uuid.uuid4(),))
    row = db.execute("SELECT app_jobs.unregister_worker('w', %s) AS ok", (uuid.uuid4(),))
    assert row.fetchone() == {"ok": False}
    assert lease_row(db, "w") is not None
    row = db.execute("SELECT app_jobs.unregister_worker('w', %s) AS ok", (owner,))
    assert row.fetchone() == {"ok": True}
    assert lease_row(db, "w") is None
    beat(db, "w", uuid.uuid4())  # a restart takes the id at once


def test_unregister_with_running_jobs_lets_them_be_taken_back_at_once(db: Conn) -> None:
    owner = uuid.uuid4()
    job = db.execute("SELECT id FROM app_jobs.add_job(NULL, 'task')").fetchone()
    assert job is not None
    assert db.execute("SELECT id FROM app_jobs.get_job('w', '{task}')").fetchone() == job
    beat(db, "w", owner)
    row = db.execute("SELECT app_jobs.unregister_worker('w', %s) AS ok", (owner,)).fetchone()
    assert row == {"ok": True}
    # The lease lapsed: the next claim takes the job back (a lost attempt), whatever its age.
    again = db.execute("SELECT id, attempts FROM app_jobs.get_job('other', '{task}')").fetchone()
    assert again == {"id": job["id"], "attempts": 2}
