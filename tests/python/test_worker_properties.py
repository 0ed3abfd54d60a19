"""Property test of what the worker reads back and writes (issue 13, "What to build" item 1).

Hypothesis draws payloads (stored through add_job, or refused there with a PJ code), what a
handler returns (nested JSON-like values, text with NUL or lone surrogates, NaN and infinite
floats, huge integers, values JSON cannot hold) and what it raises (any text): whatever the
draw, every job the worker claims ends in history as completed or failed with an error text,
none stays in app_jobs.jobs (held, running or waiting), and the worker goes on. Real
PostgreSQL; no timing is asserted.
"""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from pgjobs.runtime.app import App

EXAMPLES = int(os.environ.get("PGJOBS_PROPERTY_EXAMPLES", "25"))

texts = st.text(st.characters(codec="utf-8", exclude_categories=()), max_size=30) | st.sampled_from(
    ["", "\x00", "a\x00b", "\ud800", "é\u2028", "x" * 3000]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
#: What a handler returns: values, and things JSON cannot hold at all.
results = values | st.sampled_from([object(), {1, 2}, b"bytes", {("tuple",): 1}])
#: What a handler does: return a value, or raise an error with any text.
behaviours = st.tuples(st.booleans(), results, texts)


def sql(dsn: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(dsn, autocommit=True, row_factory=dict_row) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def enqueue(dsn: str, payload: Any, behaviour: int) -> int | None:
    """The job's id, or None when add_job refuses the payload with a PJ code (as it should)."""
    try:
        text = json.dumps({"p": payload, "b": behaviour}, allow_nan=True)
    except (TypeError, ValueError):
        return None
    try:
        rows = sql(
            dsn,
            "SELECT (app_jobs.add_job(NULL, 'prop', %s::json, max_attempts := 1)).id AS id",
            text,
        )
    except psycopg.Error as exc:
        sqlstate = exc.sqlstate or ""
        assert sqlstate.startswith("PJ") or sqlstate == "22P02", (sqlstate, str(exc))
        return None  # refused with a clear error (22P02: psql's own json cast of NaN/Infinity)
    return int(rows[0]["id"])


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads=st.lists(values, min_size=1, max_size=3), plan=st.lists(behaviours, max_size=3))
def test_every_claimed_job_ends_completed_or_failed(
    dsn: str, payloads: list[Any], plan: list[tuple[bool, Any, str]]
) -> None:
    plan = plan or [(False, None, "")]
    ids = [i for n, p in enumerate(payloads) if (i := enqueue(dsn, p, n % len(plan))) is not None]
    app = App(dsn)

    @app.task("prop")
    def prop(payload: Any) -> Any:
        raises, result, message = plan[payload["b"]]
        if raises:
            raise RuntimeError(message)
        return result

    # The worker's log lines would carry drawn texts (lone surrogates) into pytest's captured
    # output, which xdist cannot send between processes: the outcome is read from the database.
    logging.disable(logging.CRITICAL)
    try:
        app.process_batch(batch_size=10, concurrency=3)
    finally:
        logging.disable(logging.NOTSET)
    if not ids:
        return
    left = sql(dsn, "SELECT id, state, locked_by FROM app_jobs.jobs WHERE id = ANY(%s)", ids)
    assert left == [], "jobs left in app_jobs.jobs after the batch"
    rows = sql(
        dsn,
        "SELECT id, status, last_error, result FROM app_jobs.job_history WHERE id = ANY(%s)",
        ids,
    )
    assert sorted(r["id"] for r in rows) == sorted(ids)
    for row in rows:
        assert row["status"] in ("completed", "failed"), row
        if row["status"] == "failed":
            assert row["last_error"], row
        elif isinstance(row["result"], float):
            assert math.isfinite(row["result"])
