"""Job-key modes (0.4.0): what an enqueue does to the job that already holds its key.

replace (the default, today's behaviour: a debounce), preserve_run_at (the job is replaced but
its run time stands: a throttle) and unsafe_dedupe (the existing job is returned untouched,
even a running one), through raw SQL, in add_job and add_jobs, and with connections racing on
one key: whatever the interleaving, one job holds the key and the mode's promise holds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest

Conn = psycopg.Connection[Any]
T = TypeVar("T")
RACERS = 8
ROUNDS = 5
LATER = "2999-01-01T00:00:00Z"


def add(db: Conn, payload: str, **kw: Any) -> dict[str, Any]:
    args = "".join(f", {k} := %({k})s" for k in kw)
    row = db.execute(
        f"SELECT * FROM app_jobs.add_job(NULL, 'task', %(payload)s::json{args})",
        {"payload": payload, **kw},
    ).fetchone()
    assert row is not None
    return dict(row)


def race(connect: Callable[..., Conn], target: Callable[[Conn, int], T]) -> list[T]:
    """target(conn, index) on RACERS connections, released at once."""
    conns = [connect() for _ in range(RACERS)]
    barrier = threading.Barrier(RACERS)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return target(conns[index], index)

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


def keyed(db: Conn) -> list[dict[str, Any]]:
    return db.execute("SELECT * FROM app_jobs.jobs WHERE key = 'k'").fetchall()


def test_replace_is_the_default_and_moves_the_run_time(db: Conn) -> None:
    first = add(db, '{"v": 1}', job_key="k", run_at=LATER)
    again = add(db, '{"v": 2}', job_key="k")
    same = add(db, '{"v": 3}', job_key="k", run_at=LATER, job_key_mode="replace")
    assert first["id"] == again["id"] == same["id"]
    assert again["run_at"] < first["run_at"] and again["state"] == "ready"
    assert same["payload"] == {"v": 3} and same["state"] == "scheduled"


def test_preserve_run_at_keeps_the_first_run_time_and_replaces_the_rest(db: Conn) -> None:
    first = add(db, '{"v": 1}', job_key="k", run_at=LATER, priority=3)
    db.execute("UPDATE app_jobs.jobs SET attempts = 2, last_error = 'x' WHERE id = %s",
               (first["id"],))  # fmt: skip
    again = add(db, '{"v": 2}', job_key="k", priority=1, job_key_mode="preserve_run_at")
    assert again["id"] == first["id"]
    assert again["run_at"] == first["run_at"] and again["state"] == "scheduled"
    assert (again["payload"], again["priority"]) == ({"v": 2}, 1)
    assert (again["attempts"], again["last_error"]) == (0, None)
    # A first enqueue of the key simply inserts, with its own run time.
    fresh = add(db, "{}", job_key="other", job_key_mode="preserve_run_at")
    assert fresh["state"] == "ready"


def test_unsafe_dedupe_returns_the_existing_job_untouched(db: Conn) -> None:
    first = add(db, '{"v": 1}', job_key="k", run_at=LATER)
    before = db.execute("SELECT xmin::text AS x FROM app_jobs.jobs").fetchall()
    again = add(db, '{"v": 2}', job_key="k", job_key_mode="unsafe_dedupe")
    assert again == first
    assert db.execute("SELECT xmin::text AS x FROM app_jobs.jobs").fetchall() == before
    # Even a running job keeps its key: no new job (that is the unsafe part).
    db.execute("UPDATE app_jobs.jobs SET run_at = now(), state = 'ready'")
    running = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchone()
    assert running is not None
    third = add(db, '{"v": 3}', job_key="k", job_key_mode="unsafe_dedupe")
    assert third["id"] == first["id"] and third["state"] == "running"
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 1}


def test_bulk_modes_apply_to_every_element_in_order(db: Conn) -> None:
    held = add(db, '{"v": 1}', job_key="k1", run_at=LATER)
    specs = (
        "ARRAY[ROW(NULL, 'task', '{\"e\": 1}', NULL, NULL, NULL, NULL, NULL),"
        " ROW(NULL, 'task', '{\"e\": 2}', 'k1', NULL, NULL, NULL, NULL),"
        " ROW(NULL, 'task', '{\"e\": 3}', 'k2', NULL, NULL, NULL, NULL)]::app_jobs.job_spec[]"
    )
    rows = db.execute(
        f"SELECT * FROM app_jobs.add_jobs({specs}, job_key_mode := 'unsafe_dedupe')"
    ).fetchall()
    assert [r["payload"] for r in rows] == [{"e": 1}, {"v": 1}, {"e": 3}]
    assert rows[1]["id"] == held["id"]
    rows = db.execute(
        f"SELECT * FROM app_jobs.add_jobs({specs}, job_key_mode := 'preserve_run_at')"
    ).fetchall()
    assert [r["payload"] for r in rows] == [{"e": 1}, {"e": 2}, {"e": 3}]
    assert rows[1]["id"] == held["id"] and rows[1]["run_at"] == held["run_at"]


def test_an_unknown_mode_is_refused(db: Conn) -> None:
    with pytest.raises(psycopg.Error) as caught:
        add(db, "{}", job_key="k", job_key_mode="merge")
    assert caught.value.diag.sqlstate == "PJ181"
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": 0}


@pytest.mark.parametrize("existing", [False, True], ids=["new key", "held key"])
def test_racing_unsafe_dedupe_makes_one_job_all_racers_get(
    db: Conn, connect: Callable[..., Conn], existing: bool
) -> None:
    for _ in range(ROUNDS):
        db.execute("DELETE FROM app_jobs.jobs")
        held = add(db, '{"r": -1}', job_key="k") if existing else None
        rows = race(
            connect,
            lambda conn, i: add(conn, f'{{"r": {i}}}', job_key="k", job_key_mode="unsafe_dedupe"),
        )
        [job] = keyed(db)
        assert {r["id"] for r in rows} == {job["id"]}
        if held is not None:
            assert job == {**held}
        else:
            assert job["payload"]["r"] in range(RACERS)


def test_racing_preserve_run_at_never_moves_the_held_run_time(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    for _ in range(ROUNDS):
        db.execute("DELETE FROM app_jobs.jobs")
        held = add(db, '{"r": -1}', job_key="k", run_at=LATER)
        rows = race(
            connect,
            lambda conn, i: add(conn, f'{{"r": {i}}}', job_key="k", job_key_mode="preserve_run_at"),
        )
        [job] = keyed(db)
        assert {r["id"] for r in rows} == {held["id"]}
        assert job["run_at"] == held["run_at"] and job["state"] == "scheduled"
        assert job["payload"]["r"] in range(RACERS)


def test_racing_preserve_run_at_on_a_new_key_keeps_the_first_writers_time(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    # No job holds the key: the racer whose insert went first set the run time, the others
    # only replaced the rest. Each racer asks for its own run time (i hours from now).
    for _ in range(ROUNDS):
        db.execute("DELETE FROM app_jobs.jobs")
        rows = race(
            connect,
            lambda conn, i: add(
                conn, f'{{"r": {i}}}', job_key="k", job_key_mode="preserve_run_at",
                run_at=f"2990-01-01T{i:02d}:00:00Z",
            ),
        )  # fmt: skip
        [job] = keyed(db)
        inserted_by = [r for r, i in zip(rows, range(RACERS), strict=True)
                       if r["run_at"].hour == i]  # fmt: skip
        # Every racer saw the first writer's run time, the job still has it.
        assert {r["run_at"] for r in rows} == {job["run_at"]}
        assert len(inserted_by) >= 1


def test_racing_replace_leaves_one_job_with_the_key(db: Conn, connect: Callable[..., Conn]) -> None:
    for _ in range(ROUNDS):
        db.execute("DELETE FROM app_jobs.jobs")
        rows = race(connect, lambda conn, i: add(conn, f'{{"r": {i}}}', job_key="k"))
        [job] = keyed(db)
        assert {r["id"] for r in rows} == {job["id"]}
        assert job["payload"]["r"] in range(RACERS)
