"""add_job's element and an add_jobs element write the same job.

app_jobs._add_jobs is the one enqueue implementation, but its last step has two INSERT
statements since 0.6.0: one over the arrays for a batch, and one on the fields of a lone element
without a key (add_job's common case), which skips the batch plan's set-up. Whatever the
element holds, and whether task settings fill what it leaves out, the two must write the same
row: every column but the ones each call sets afresh (id, uid, the times of now()).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from helpers import TENANT, Conn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: The columns compared; run_at only when the element gives it (else each call's now()).
COLUMNS = (
    "database_id, task_identifier, payload, key, queue_name, max_attempts, priority, state,"
    " correlation_id, backoff, timeout, attempts, locked_by, locked_at, last_error,"
    " scheduled_job_id, fire_time, pending_dependencies, has_dependants, watched"
)

_TEXT = st.text(min_size=1, max_size=10).filter(lambda s: "\x00" not in s)
_ELEMENT = st.fixed_dictionaries(
    {"identifier": st.sampled_from(["mail", "report"])},
    optional={
        "db_id": st.sampled_from([None, TENANT]),
        "payload": st.sampled_from([None, '{"a": 1}', '[1, "x"]', '"text"', "{}"]),
        "queue_name": _TEXT,
        "run_at": st.sampled_from([None, "past", "future"]),
        "max_attempts": st.integers(1, 50),
        "priority": st.integers(-100, 100),
        "correlation_id": _TEXT,
        "backoff": st.sampled_from([None, '{"strategy": "fixed", "base": 3}']),
        "timeout": st.sampled_from([None, timedelta(seconds=30)]),
    },
)
_SETTINGS = st.sampled_from(
    [
        None,
        {"max_attempts": 4, "priority": 9, "queue_name": "from-settings"},
        {"timeout": timedelta(minutes=2), "backoff": '{"strategy": "linear", "base": 1}'},
    ]
)


def _run_at(value: str | None) -> datetime | None:
    now = datetime.now(UTC).replace(microsecond=0)
    return {None: None, "past": now - timedelta(hours=1), "future": now + timedelta(days=3)}[value]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_ELEMENT, _SETTINGS)
def test_add_job_writes_what_an_add_jobs_element_writes(
    db: Conn, element: dict[str, Any], task_settings: dict[str, Any] | None
) -> None:
    db.execute("DELETE FROM app_jobs.task_settings")
    if task_settings is not None:
        db.execute(
            "SELECT app_jobs.set_task_settings(identifier := 'mail',"
            " max_attempts := %(max_attempts)s, priority := %(priority)s,"
            " queue_name := %(queue_name)s, timeout := %(timeout)s,"
            " backoff := %(backoff)s::jsonb)",
            {"max_attempts": None, "priority": None, "queue_name": None, "timeout": None,
             "backoff": None, **task_settings},
        )  # fmt: skip
    args = {
        "db_id": None, "payload": None, "queue_name": None, "max_attempts": None,
        "priority": None, "correlation_id": None, "backoff": None, "timeout": None,
        **element, "run_at": _run_at(element.get("run_at")),
    }  # fmt: skip
    one = db.execute(
        "SELECT id FROM app_jobs.add_job(db_id := %(db_id)s, identifier := %(identifier)s,"
        " payload := %(payload)s::json, queue_name := %(queue_name)s,"
        " run_at := coalesce(%(run_at)s, now()), max_attempts := %(max_attempts)s,"
        " priority := %(priority)s, correlation_id := %(correlation_id)s,"
        " backoff := %(backoff)s::jsonb, timeout := %(timeout)s)",
        args,
    ).fetchone()
    spec = (
        "ROW(%(db_id)s, %(identifier)s, %(payload)s::json, NULL, %(queue_name)s,"
        " %(run_at)s::timestamptz, %(max_attempts)s, %(priority)s)::app_jobs.job_spec"
    )
    # Two elements: the batch statement (one element would take the lone element's).
    many = db.execute(
        f"SELECT id FROM app_jobs.add_jobs(ARRAY[{spec}, {spec}],"
        " correlation_ids := ARRAY[%(correlation_id)s, %(correlation_id)s],"
        " backoffs := ARRAY[%(backoff)s::jsonb, %(backoff)s::jsonb],"
        " timeouts := ARRAY[%(timeout)s::interval, %(timeout)s::interval])",
        args,
    ).fetchall()
    assert one is not None and len(many) == 2
    run_at = "run_at" if args["run_at"] is not None else "run_at <= now()"
    rows = db.execute(
        f"SELECT id, {COLUMNS}, {run_at} AS run_at FROM app_jobs.jobs"
        " WHERE id = ANY(%s) ORDER BY id",
        ([one["id"], many[0]["id"]],),
    ).fetchall()
    single, batch = ({k: v for k, v in r.items() if k != "id"} for r in rows)
    assert single == batch
    # The uid each statement computes: a version 7 uuid of this moment (the column default's).
    uids = db.execute(
        "SELECT uid FROM app_jobs.jobs WHERE id = ANY(%s) ORDER BY id",
        ([one["id"], many[0]["id"]],),
    ).fetchall()
    for row in uids:
        assert row["uid"].version == 7
        millis = int(row["uid"].hex[:12], 16)
        assert abs(millis / 1000 - datetime.now(UTC).timestamp()) < 600
    db.execute("DELETE FROM app_jobs.jobs")
