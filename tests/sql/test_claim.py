"""get_job: order, due time, task filter, locking, and the claim's index."""

from __future__ import annotations

from typing import Any

import psycopg
from helpers import nested_plans, sweep_due

Conn = psycopg.Connection[Any]
TENANT = "5b720132-17d5-424d-9bcb-ee7b17c13d43"


def add(db: Conn, task: str = "t", **kw: Any) -> dict[str, Any]:
    args = ", ".join(f"{k} := %({k})s" for k in kw)
    sql = "SELECT * FROM app_jobs.add_job(db_id := %(db)s, identifier := %(task)s"
    sql += (", " + args if args else "") + ")"
    row = db.execute(sql, {"db": TENANT, "task": task, **kw}).fetchone()
    assert row is not None
    return row


def claim(db: Conn, worker: str = "w", tasks: list[str] | None = None) -> dict[str, Any] | None:
    return db.execute(
        "SELECT * FROM app_jobs.get_job(worker_id := %s, task_identifiers := %s)", (worker, tasks)
    ).fetchone()


def test_add_job_defaults_and_row(db: Conn) -> None:
    job = add(db, "send_email", payload='{"to": "user@example.com"}')
    assert job["task_identifier"] == "send_email"
    assert str(job["database_id"]) == TENANT
    assert job["payload"] == {"to": "user@example.com"}
    assert (job["priority"], job["attempts"], job["max_attempts"]) == (0, 0, 25)
    assert job["locked_by"] is None and job["locked_at"] is None
    assert job["key"] is None and job["queue_name"] is None and job["last_error"] is None
    assert job["state"] == "ready"
    assert db.execute("SELECT pg_typeof(payload)::text AS t FROM app_jobs.jobs").fetchone() == {
        "t": "jsonb"
    }


def test_null_db_id_is_the_default_tenant(db: Conn) -> None:
    row = db.execute("SELECT database_id::text AS d FROM app_jobs.add_job(NULL, 'x')").fetchone()
    assert row == {"d": "00000000-0000-0000-0000-000000000000"}


def test_jobs_id_is_a_bigint_identity(db: Conn) -> None:
    row = db.execute(
        "SELECT atttypid::regtype::text AS t, attidentity AS i FROM pg_attribute"
        " WHERE attrelid = 'app_jobs.jobs'::regclass AND attname = 'id'"
    ).fetchone()
    assert row == {"t": "bigint", "i": "a"}


def test_lower_priority_number_runs_first_then_run_at_then_insertion(db: Conn) -> None:
    a = add(db, priority=5)
    b = add(db, priority=1, run_at="2020-01-02T00:00:00Z")
    c = add(db, priority=1, run_at="2020-01-01T00:00:00Z")
    d = add(db, priority=1, run_at="2020-01-01T00:00:00Z")
    e = add(db, priority=-3)
    order = [claim(db)["id"] for _ in range(5)]  # type: ignore[index]
    assert order == [e["id"], c["id"], d["id"], b["id"], a["id"]]
    assert claim(db) is None


def test_future_run_at_is_not_handed_out(db: Conn) -> None:
    future = add(db, run_at="2999-01-01T00:00:00Z", priority=-100)
    assert future["state"] == "scheduled"
    now = add(db)
    assert claim(db)["id"] == now["id"]  # type: ignore[index]
    assert claim(db) is None
    # Once its time has come (moved here by rewriting run_at), the sweep promotes it.
    db.execute(
        "UPDATE app_jobs.jobs SET run_at = now() - interval '1 second' WHERE id = %s",
        (future["id"],),
    )
    sweep_due(db)
    assert claim(db)["id"] == future["id"]  # type: ignore[index]


def test_task_identifiers_filter_and_null_means_any(db: Conn) -> None:
    a = add(db, "alpha")
    b = add(db, "beta")
    assert claim(db, tasks=["gamma"]) is None
    assert claim(db, tasks=["beta", "gamma"])["id"] == b["id"]  # type: ignore[index]
    assert claim(db, tasks=[]) is None
    assert claim(db, tasks=None)["id"] == a["id"]  # type: ignore[index]


def test_claim_locks_and_counts_the_attempt(db: Conn) -> None:
    job = add(db)
    got = claim(db, "worker-1")
    assert got is not None and got["id"] == job["id"]
    assert got["locked_by"] == "worker-1"
    assert got["locked_at"] is not None
    assert got["attempts"] == 1
    assert got["state"] == "running"
    assert claim(db, "worker-2") is None  # a locked job is not handed out again


def test_get_job_returns_no_row_when_nothing_is_due(db: Conn) -> None:
    rows = db.execute("SELECT * FROM app_jobs.get_job('w')").fetchall()
    assert rows == []


def test_claim_uses_the_partial_index_in_claim_order(db: Conn) -> None:
    db.execute(
        "SELECT app_jobs.add_job(NULL, 't' || (g % 7), priority := g % 5) "
        "FROM generate_series(1, 5000) g"
    )
    db.execute("ANALYZE app_jobs.jobs")
    plan = db.execute(
        "EXPLAIN (FORMAT TEXT) SELECT j.id FROM app_jobs.jobs AS j WHERE j.state = 'ready'"
        " ORDER BY j.priority, j.run_at, j.id LIMIT 1 FOR UPDATE SKIP LOCKED"
    ).fetchall()
    text = "\n".join(r["QUERY PLAN"] for r in plan)
    assert "Index Scan using jobs_claim_idx" in text, text
    assert "Sort" not in text, text
    indexdef = db.execute(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'jobs_claim_idx'"
    ).fetchone()
    assert indexdef is not None
    assert "(priority, run_at, id) WHERE (state = 'ready'::text)" in indexdef["indexdef"]


def test_get_jobs_statements_keep_the_claim_index_as_generic_plans(db: Conn) -> None:
    # get_jobs runs its statements with generic plans (plan_cache_mode, so they are not planned
    # again on every call): the candidate query's generic plan is still the ordered walk of
    # jobs_claim_idx with no sort, and the claim's UPDATE finds its rows by primary key.
    config = db.execute(
        "SELECT proconfig FROM pg_proc"
        " WHERE proname = 'get_jobs' AND pronamespace = 'app_jobs'::regnamespace"
    ).fetchone()
    assert config is not None and "plan_cache_mode=force_generic_plan" in config["proconfig"]
    db.execute(
        "SELECT app_jobs.add_job(NULL, 't' || (g % 7), priority := g % 5) "
        "FROM generate_series(1, 5000) g"
    )
    db.execute("ANALYZE app_jobs.jobs")
    db.execute("SET plan_cache_mode = force_generic_plan")
    db.execute(
        "PREPARE candidates(text[], bigint[], integer) AS"
        " SELECT j.id FROM app_jobs.jobs AS j WHERE j.state = 'ready'"
        " AND ($1 IS NULL OR j.task_identifier = ANY ($1)) AND j.id <> ALL ($2)"
        " ORDER BY j.priority, j.run_at, j.id LIMIT $3 FOR UPDATE SKIP LOCKED"
    )
    text = "\n".join(
        r["QUERY PLAN"] for r in db.execute("EXPLAIN EXECUTE candidates(NULL, '{}', 1)")
    )
    assert "Index Scan using jobs_claim_idx" in text, text
    assert "Sort" not in text, text
    db.execute(
        "PREPARE take(bigint[]) AS UPDATE app_jobs.jobs AS j SET attempts = j.attempts + 1"
        " WHERE j.id = ANY ($1) RETURNING j.*"
    )
    text = "\n".join(r["QUERY PLAN"] for r in db.execute("EXPLAIN EXECUTE take('{1}')"))
    assert "jobs_pkey" in text, text
    # The sweep's probe, with most jobs running: still the ends of the partial indexes (as
    # EXISTS (locked_at < bound) its generic plan read the whole table).
    db.execute("SELECT count(*) FROM app_jobs.get_jobs('runner', NULL, interval '4 hours', 4000)")
    db.execute("ANALYZE app_jobs.jobs")
    db.execute(
        "PREPARE probe(interval) AS SELECT"
        " (SELECT min(j.locked_at) FROM app_jobs.jobs AS j WHERE j.state = 'running')"
        " < now() - $1"
        " OR (SELECT min(s.run_at) FROM app_jobs.jobs AS s WHERE s.state = 'scheduled') <= now()"
    )
    text = "\n".join(r["QUERY PLAN"] for r in db.execute("EXPLAIN EXECUTE probe('4 hours')"))
    assert "Seq Scan on jobs" not in text, text
    assert "jobs_running_idx" in text and "jobs_scheduled_idx" in text, text
    source = db.execute(
        "SELECT prosrc FROM pg_proc"
        " WHERE proname = 'get_jobs' AND pronamespace = 'app_jobs'::regnamespace"
    ).fetchone()
    assert source is not None
    assert (
        "(SELECT min(j.locked_at) FROM app_jobs.jobs AS j WHERE j.state = 'running')"
        in (source["prosrc"])
    )


def test_blocked_future_and_running_jobs_are_not_in_the_claim_index(db: Conn) -> None:
    add(db, run_at="2999-01-01T00:00:00Z")
    add(db, queue_name="q")
    add(db, queue_name="q")
    claim(db)  # runs the first job of q; the second is parked as blocked
    claim(db)  # finds the blocked one unavailable
    states = db.execute("SELECT state, count(*) AS n FROM app_jobs.jobs GROUP BY 1").fetchall()
    assert {r["state"]: r["n"] for r in states} == {"scheduled": 1, "running": 1, "blocked": 1}
    ready = db.execute("SELECT count(*) AS n FROM app_jobs.jobs WHERE state = 'ready'").fetchone()
    assert ready == {"n": 0}


def test_get_job_runs_get_jobs_own_body(db: Conn) -> None:
    # get_job is generated from get_jobs (tools/gen_get_job.py): its body is get_jobs' body,
    # verbatim, inside a block declaring get_jobs' parameters, and its settings are the same;
    # so the deployed pair cannot drift apart.
    rows = db.execute(
        "SELECT p.proname, p.prosrc, p.proconfig, p.prosecdef FROM pg_proc AS p"
        " WHERE p.oid IN ('app_jobs.get_job(text, text[], interval)'::regprocedure, 'app_jobs"
        ".get_jobs(text, text[], interval, integer, boolean)'::regprocedure)"
    ).fetchall()
    by_name = {r["proname"]: r for r in rows}
    one, many = by_name["get_job"], by_name["get_jobs"]
    assert str(many["prosrc"]).strip() in str(one["prosrc"])
    assert str(one["prosrc"]).lstrip().startswith("<<get_jobs>>")
    assert one["proconfig"] == many["proconfig"] and one["prosecdef"] and many["prosecdef"]


def test_a_one_job_claim_of_a_job_without_a_queue_is_one_statement(db: Conn) -> None:
    """0.6.0: get_job (a batch of one) chooses, locks and takes a job without a queue in one
    UPDATE (its candidate a locking subquery on the claim index, the row then found by its
    key). A candidate of a named queue is not taken by it: the batch's statements take over,
    and the queue's head is started as ever. Nothing due: the same, and no row."""
    db.execute("SELECT app_jobs.add_job(NULL, 'bulk', priority := 5) FROM generate_series(1, 2000)")
    db.execute("ANALYZE app_jobs.jobs")
    plain = add(db, "plain", priority=1)
    _, plans = nested_plans(db, "SELECT * FROM app_jobs.get_job('w', ARRAY['plain'])")
    takers = [p for p in plans if "UPDATE app_jobs.jobs" in p]
    assert len(takers) == 1 and "WHERE j.id = (SELECT c.id" in takers[0], plans
    assert "jobs_claim_idx" in takers[0] and "jobs_pkey" in takers[0], takers[0]
    assert not any("array_agg(c.id)" in p for p in plans), plans
    row = db.execute("SELECT state, locked_by FROM app_jobs.jobs WHERE id = %s", (plain["id"],))
    assert row.fetchone() == {"state": "running", "locked_by": "w"}

    later = add(db, "queued", queue_name="q", priority=2)
    first = add(db, "queued", queue_name="q", priority=1)  # the queue's head, in claim order
    _, plans = nested_plans(db, "SELECT * FROM app_jobs.get_job('w', ARRAY['queued'])")
    assert any("array_agg(c.id)" in p for p in plans), plans
    states = {
        r["id"]: (r["state"], r["locked_by"])
        for r in db.execute(
            "SELECT id, state, locked_by FROM app_jobs.jobs WHERE id = ANY(%s)",
            ([later["id"], first["id"]],),
        )
    }
    assert states[first["id"]] == ("running", "w")
    assert states[later["id"]][0] in ("ready", "blocked") and states[later["id"]][1] is None
    assert claim(db, "w", ["nothing-like-this"]) is None


def test_a_one_job_claim_skips_a_candidate_another_transaction_holds(connect: Any) -> None:
    db = connect()
    first = add(db, "t", priority=0)
    second = add(db, "t", priority=1)
    holder = connect(autocommit=False)
    holder.execute("SELECT id FROM app_jobs.jobs WHERE id = %s FOR UPDATE", (first["id"],))
    taken = claim(db)
    assert taken is not None and taken["id"] == second["id"]
    holder.rollback()
    taken = claim(db)
    assert taken is not None and taken["id"] == first["id"]
