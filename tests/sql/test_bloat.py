"""No bloat under steady load, bounded (issue 15 item 6; `make soak-bloat` is the long run):
the claim path leaves nothing that keeps finished jobs' row versions alive, so a vacuum
empties app_jobs.jobs after each round and the next round reuses its space; a session idle in
transaction keeps every version finished meanwhile (what docs/operations.md warns about) until
it ends. Row versions are counted exactly with pgstattuple, sizes in pages; nothing is timed.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers import Conn
from psycopg import Connection

ROUND = 2000


def cycle(db: Conn, n: int = ROUND) -> None:
    """n jobs enqueued, then claimed and completed one by one, as a worker would."""
    db.execute(
        "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT json_populate_record("
        "NULL::app_jobs.job_spec, json_build_object('identifier', 'soak'))"
        " FROM generate_series(1, %s::int)))",
        [n],
    )
    db.execute(
        """
        DO $$
        DECLARE j bigint;
        BEGIN
          LOOP
            SELECT id INTO j FROM app_jobs.get_job('w', ARRAY['soak']);
            EXIT WHEN j IS NULL;
            PERFORM app_jobs.complete_job('w', j);
            COMMIT;
          END LOOP;
        END $$
        """
    )


def jobs_table(db: Conn) -> dict[str, Any]:
    db.execute("VACUUM app_jobs.jobs")
    row = db.execute(
        "SELECT s.tuple_count AS live, s.dead_tuple_count AS dead,"
        " pg_relation_size('app_jobs.jobs') / current_setting('block_size')::int AS pages"
        " FROM pgstattuple('app_jobs.jobs') AS s"
    ).fetchone()
    assert row is not None
    return dict(row)


def vacuumed(db: Conn) -> dict[str, Any]:
    """jobs_table once no other session of this database holds a snapshot: an autovacuum
    worker's ANALYZE of the tables just written (their thresholds are low) holds one for a
    moment, and a VACUUM then keeps the versions it may see. Nothing of the test's own (the
    idle transaction) is waited for: with no such session, the first count stands."""
    for _ in range(100):
        table = jobs_table(db)
        others = db.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_xmin IS NOT NULL"
        ).fetchone()
        if table["dead"] == 0 or others is None or others["n"] == 0:
            return table
        time.sleep(0.1)
    return table


def test_the_hot_table_is_emptied_by_vacuum_and_reused_unless_a_transaction_idles(
    db: Conn, connect: Any
) -> None:
    try:
        db.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
    except Exception as error:  # pragma: no cover - depends on the server's contrib
        pytest.skip(f"pgstattuple is not available: {error}")
    options = db.execute(
        "SELECT reloptions FROM pg_class WHERE oid = 'app_jobs.jobs'::regclass"
    ).fetchone()
    assert options is not None
    assert "autovacuum_vacuum_scale_factor=0" in options["reloptions"]
    assert "autovacuum_vacuum_threshold=1000" in options["reloptions"]

    cycle(db)
    first = vacuumed(db)
    assert (first["live"], first["dead"]) == (0, 0), "nothing keeps a finished job's versions"

    idle: Connection[Any] = connect(autocommit=False)
    idle.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    idle.execute("SELECT count(*) FROM app_jobs.workers").fetchone()  # a snapshot, held
    cycle(db)
    held = jobs_table(db)
    # Every version of every job finished meanwhile survives the vacuum (insert, claim, finish:
    # at least one dead version per job), and the table grew to hold them.
    assert held["live"] == 0 and held["dead"] >= ROUND
    assert held["pages"] > first["pages"]
    idle.commit()

    after = vacuumed(db)
    assert (after["live"], after["dead"]) == (0, 0)
    for _ in range(2):
        cycle(db)
        again = vacuumed(db)
        assert (again["live"], again["dead"]) == (0, 0)
        assert again["pages"] <= max(held["pages"], 1), "a round reuses the space, never grows"
