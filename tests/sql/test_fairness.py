"""Tenant fairness (issue 18 item 3), opt-in with set_tenant_fairness: among jobs of equal
priority the claim rotates across tenants; never across priorities, never reordering a tenant's
jobs (hence a named queue's); two backlogged tenants share any 1,000 consecutive claims evenly;
a tenant with 100,000 jobs does not starve one with 10; the cost of a claim does not grow with
the number of tenants queued."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from helpers import Conn, add_job, claim_buffers
from test_concurrency import run_threads

A = "aaaaaaaa-0000-4000-8000-000000000000"
B = "bbbbbbbb-0000-4000-8000-000000000000"
Connect = Callable[..., Conn]


def fair(db: Conn, on: bool = True) -> None:
    db.execute("SELECT app_jobs.set_tenant_fairness(%s)", [on])


def backlog(db: Conn, tenant: str, n: int, task: str = "t", age: str = "1 hour", **kw: Any) -> None:
    """n claimable jobs of tenant, inserted directly (fast), run_at `age` ago in id order."""
    db.execute(
        "INSERT INTO app_jobs.jobs (database_id, task_identifier, run_at, priority)"
        " SELECT %s, %s, now() - %s::interval + g * interval '1 microsecond', %s"
        " FROM generate_series(1, %s) g",
        (tenant, task, age, kw.get("priority", 0), n),
    )


def claim(db: Conn, batch: int, worker: str = "w") -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in db.execute(
            "SELECT id, database_id::text AS tenant, priority, queue_name"
            " FROM app_jobs.get_jobs(%s, batch_size := %s)",
            (worker, batch),
        )
    ]


def test_fairness_is_off_by_default_and_its_index_exists_only_while_on(db: Conn) -> None:
    index = "SELECT to_regclass('app_jobs.jobs_fair_idx') IS NOT NULL AS present"
    assert db.execute(index).fetchone()["present"] is False
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_fairness").fetchone()["n"] == 0
    fair(db)
    fair(db)  # again: nothing changes
    assert db.execute(index).fetchone()["present"] is True
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_fairness").fetchone()["n"] == 1
    fair(db, False)
    assert db.execute(index).fetchone()["present"] is False
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_fairness").fetchone()["n"] == 0


def test_two_backlogged_tenants_share_every_1000_consecutive_claims(db: Conn) -> None:
    backlog(db, A, 2000, age="2 hours")  # all of A's jobs are older than all of B's
    backlog(db, B, 2000, age="1 hour")
    fair(db)
    rng = random.Random(18)
    order: list[str] = []
    while len(order) < 3000:
        order += [r["tenant"] for r in claim(db, rng.randint(1, 25))]
    for start in range(0, len(order) - 1000 + 1, 50):
        share = order[start : start + 1000].count(A) / 1000
        assert 0.45 <= share <= 0.55, (start, share)
    # Without fairness (the control): oldest first, A's jobs all come first.
    fair(db, False)
    db.execute("DELETE FROM app_jobs.jobs")
    backlog(db, A, 200, age="2 hours")
    backlog(db, B, 200, age="1 hour")
    assert {r["tenant"] for r in claim(db, 100)} == {A}


def test_a_tenant_with_100000_jobs_does_not_starve_one_with_10(db: Conn) -> None:
    backlog(db, A, 100_000, age="3 hours")
    backlog(db, B, 10, age="1 hour")
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    fair(db)
    first = [r["tenant"] for _ in range(20) for r in claim(db, 1)]
    assert first.count(B) == 10 and first.count(A) == 10
    assert first[:4] in ([A, B, A, B], [B, A, B, A])


def test_never_across_priorities_and_a_tenants_order_is_kept(db: Conn) -> None:
    fair(db)
    urgent = [add_job(db, "t", db_id=A, priority=0)["id"] for _ in range(4)]
    later = [add_job(db, "t", db_id=B, priority=1)["id"] for _ in range(4)]
    mine = [add_job(db, "t", db_id=B, priority=0)["id"] for _ in range(4)]
    queued = [add_job(db, "t", db_id=A, priority=2, queue_name="qa")["id"] for _ in range(4)]
    taken: list[int] = []
    for _ in range(40):
        rows = claim(db, 3)
        for r in rows:
            taken.append(r["id"])
            db.execute("SELECT app_jobs.complete_job('w', %s)", [r["id"]])
        if not rows and len(taken) == 16:
            break
    assert sorted(taken) == sorted(urgent + later + mine + queued)
    assert set(taken[:8]) == set(urgent + mine)  # priority 0 first, both tenants
    assert [i for i in taken if i in urgent] == urgent  # each tenant's order
    assert [i for i in taken if i in mine] == mine
    assert taken[8:12] == later
    assert taken[12:] == queued  # a named queue's order


def test_claim_cost_does_not_grow_with_10000_tenants_queued(db: Conn) -> None:
    # 10 tenants, then 10,000 tenants, 20,000 jobs either way.
    db.execute(
        "INSERT INTO app_jobs.jobs (database_id, task_identifier, run_at)"
        " SELECT md5((g % 10)::text)::uuid, 't', now() - interval '1 hour'"
        " FROM generate_series(1, 20000) g"
    )
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    oldest_first = claim_buffers(db)
    fair(db)
    few = claim_buffers(db)
    db.execute("DELETE FROM app_jobs.jobs")
    db.execute(
        "INSERT INTO app_jobs.jobs (database_id, task_identifier, run_at)"
        " SELECT md5((g % 10000)::text)::uuid, 't', now() - interval '1 hour'"
        " FROM generate_series(1, 20000) g"
    )
    db.execute("VACUUM ANALYZE app_jobs.jobs")
    many = claim_buffers(db)
    print(
        f"claim buffers (batch 10): oldest first {oldest_first},"
        f" fair 10 tenants {few}, fair 10,000 tenants {many}"
    )
    assert many <= few * 2 + 50, (few, many)
    tenants = {r["tenant"] for r in claim(db, 10)}
    assert len(tenants) == 10  # one job of each of the next 10 tenants


def test_racing_workers_under_fairness_claim_each_job_once_and_share(
    connect: Connect, db: Conn
) -> None:
    backlog(db, A, 600, age="2 hours")
    backlog(db, B, 600, age="1 hour")
    fair(db)
    lock = threading.Lock()
    order: list[str] = []

    def work(index: int, barrier: threading.Barrier) -> list[int]:
        conn = connect()
        barrier.wait()
        ids: list[int] = []
        while True:
            rows = claim(conn, 1 + index % 4, f"w{index}")
            if not rows:
                return ids
            with lock:
                order.extend(r["tenant"] for r in rows)
            for r in rows:
                ids.append(r["id"])
                conn.execute("SELECT app_jobs.complete_job(%s, %s)", (f"w{index}", r["id"]))

    results = run_threads(8, work)
    every = [i for ids in results for i in ids]
    assert len(every) == len(set(every)) == 1200
    share = Counter(order[:800])[A] / 800
    assert 0.4 <= share <= 0.6, share


def test_only_an_administrator_changes_fairness(db: Conn, connect: Connect) -> None:
    with pytest.raises(psycopg.Error) as err:
        db.execute("SELECT app_jobs.set_tenant_fairness(NULL)")
    assert err.value.sqlstate == "PJ226"
    tenant = connect()
    tenant.execute("SELECT set_config('app_jobs.tenant', %s, false)", [A])
    with pytest.raises(psycopg.Error) as err:
        tenant.execute("SELECT app_jobs.set_tenant_fairness(true)")
    assert err.value.sqlstate == "PJ228"


def test_a_worker_serving_one_task_finds_it_behind_many_priorities_of_others(db: Conn) -> None:
    fair(db)
    for priority in range(30):
        add_job(db, "other", db_id=A, priority=priority)
    mine = add_job(db, "mine", db_id=B, priority=40)["id"]
    rows = db.execute("SELECT id FROM app_jobs.get_jobs('w', ARRAY['mine'])").fetchall()
    assert [r["id"] for r in rows] == [mine]
