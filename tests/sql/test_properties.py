"""Property tests: every public app_jobs function under random and hostile arguments.

Each call must end in one of:
  * a valid result, after which every tenant can still read (queue_stats, list_jobs,
    run_due_schedules all succeed) and every stored time is one clients can read back;
  * an error with a PJ SQLSTATE listed in the error-code table (docs/sql-api.md), having written
    nothing (every state table compared before and after);
  * "client": psycopg refuses to send a text argument holding NUL (PostgreSQL text cannot hold
    it), so nothing reaches the server;
  * an exception listed in DOCUMENTED below (owner and reason named).
Never another SQLSTATE (an internal error), never a partial write, never a hang (a
statement_timeout turns one into 57014, which fails the test).

Arguments are drawn per parameter type from hostile values (NULL, empty, NUL, very long text,
+-infinity and BC times, huge and negative intervals, NaN, numbers at the int limits, JSON
nested 1,000 deep, over 1 MiB, with \\u0000, lone surrogates, 1e-400, floats where integers
belong), with domain values for the parameters that need them (schedules, backoff options,
existing job ids) so that the calls also get past their first check. The functions' list comes
from the catalog, so a new public function without strategies fails
test_every_public_function_is_covered.

PGJOBS_PROPERTY_EXAMPLES (default 60) sets the examples per function (`make soak` raises it);
PGJOBS_PROPERTY_REPORT=path appends one JSON line per function: outcomes counted by kind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from helpers import DEFAULT_TENANT, OTHER_TENANT, STATE_TABLES, TENANT, Conn, add_job, get_job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

EXAMPLES = int(os.environ.get("PGJOBS_PROPERTY_EXAMPLES", "60"))
REPORT = os.environ.get("PGJOBS_PROPERTY_REPORT")
#: PGJOBS_PROPERTY_SURVEY=1 counts what would fail (as "bad <SQLSTATE>", "bad readers",
#: "bad stored") instead of failing, to survey a schema (an older release) in one run.
SURVEY = os.environ.get("PGJOBS_PROPERTY_SURVEY") == "1"
README = Path(__file__).resolve().parents[2] / "docs" / "sql-api.md"
#: Every PJ code of the error-code table (docs/sql-api.md).
DOCUMENTED_CODES = set(re.findall(r"^\| `(PJ\d{3})` \|", README.read_text(), re.MULTILINE))

#: Public functions whose checks the claim-path rewrite (issue 13's worker-side items and its
#: own issue) or the lead owns, with the non-PJ SQLSTATEs they still raise here and why. Each
#: entry is removed once its owner's change lands (the tests then require a PJ code).
CLAIM_PATH = {"get_job", "heartbeat", "claim_job", "complete_job", "fail_job", "release_jobs"}
DOCUMENTED: dict[str, dict[str, str]] = {
    # worker_id over ~2.7 KB does not fit a btree index entry (54000): the claim-path helper
    # bounds worker_id's length.
    **{
        f: {"54000": "worker_id too long for an index entry (claim-path helper)"}
        for f in CLAIM_PATH
    },
}
# --- values ---------------------------------------------------------------------------------


def mostly(
    sane: st.SearchStrategy[Any], *hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Sane values two times in three, so that calls also get past their first check."""
    return st.one_of(sane, sane, st.one_of(*hostile))


storable = st.characters(codec="utf-8", exclude_characters="\x00")
plain_text = st.text(storable, min_size=1, max_size=12)
HOSTILE_TEXT = [
    "",
    " ",
    "'; DROP TABLE app_jobs.jobs; --",
    "%s %I %L",
    "\u202e",
    "a\x00b",
    "x" * 256,
    "k" * 513,
    "w" * 3000,  # compresses: fits an index entry
    "".join(hashlib.md5(str(i).encode()).hexdigest() for i in range(100)),  # 3,200: does not
]
texts = mostly(plain_text, st.none(), st.sampled_from(HOSTILE_TEXT))
ints = mostly(
    st.integers(1, 30), st.none(), st.sampled_from([-(2**31), -1, 0, 10000, 10001, 2**31 - 1])
)
uuids = st.one_of(st.none(), st.sampled_from([TENANT, OTHER_TENANT, DEFAULT_TENANT]), st.uuids())
booleans = st.one_of(st.none(), st.booleans())
HOSTILE_TIMES = [
    "infinity",
    "-infinity",
    "0044-03-15 BC",
    "4713-01-01 BC",
    "0001-01-01 00:00+00",
    "0001-01-02 00:00+00",
    "9999-12-30 00:00+00",
    "9999-12-31 23:00+00",
    "294276-12-31 00:00+00",
    "1970-01-01 00:00+00",
]
times = mostly(st.integers(-400, 400), st.none(), st.sampled_from(HOSTILE_TIMES))  # days from now
intervals = mostly(
    st.sampled_from(["30 seconds", "1 hour", "1 day", "14 days"]),
    st.none(),
    st.sampled_from(
        [
            "0",
            "-1 hour",
            "1 microsecond",
            "4 hours",
            "1 year",
            "10 years",
            "10 years 1 second",
            "7000 years",
            "178000000 years",
            "-178000000 years",
            "2147483647 days",
            "1 mon -30 days",
        ]
    ),
    st.integers(-(10**6), 10**9).map(lambda s: f"{s} seconds"),
)
numerics = mostly(
    st.decimals(min_value=0, max_value=100, allow_nan=False, places=2).map(str),
    st.none(),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e1000", "-0", "100", "100.0000001"]),
    st.decimals(min_value=-5, max_value=105, allow_nan=False, places=3).map(str),
)

#: JSON written as text, so that what Python cannot produce (1e-400, 2.0 kept as 2.0, raw
#: \u0000 escapes, lone surrogates) is produced too.
JSON_TOKENS = [
    "null", "true", "false", "0", "-0", "2.0", "2e0", "1e-400", "1e400", "1E+308", "-1.5e-10",
    "9" * 1001, '"\\u0000"', '"a\\u0000b"', '"\\ud800"', '"\\udc00\\ud800"', '"\\ud83d\\ude00"',
    '"\\\\u0000"', '""', '"é"', '"\\"[{"',
]  # fmt: skip
json_scalar = st.one_of(
    st.sampled_from(JSON_TOKENS),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    plain_text.map(json.dumps),
)
json_key = st.one_of(plain_text.map(json.dumps), st.sampled_from(['"\\u0000"', '"\\ud800"']))


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"


json_text = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(st.tuples(json_key, inner), max_size=4).map(_object)
    ),
    max_leaves=10,
)
deep_json = st.integers(90, 1200).map(lambda n: "[" * n + "]" * n)
huge_json = st.sampled_from([1048570, 1048577]).map(lambda n: '"' + "x" * (n - 2) + '"')
expanding_json = st.just("[" + "1e308," * 170000 + "1]")
sane_json = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | plain_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
    max_leaves=5,
).map(json.dumps)
any_json = mostly(
    sane_json, st.none(), json_text, json_text, json_text, deep_json, huge_json, expanding_json
)

RULE_VALUES = st.one_of(
    st.integers(-5, 100).map(str),
    st.sampled_from(
        [
            "2.0",
            "2.5",
            "1e1",
            "1e400",
            "1e-400",
            "null",
            '"2"',
            "[]",
            "[2.0, 3]",
            '{"start": 1.0, "end": 3, "step": 0}',
            '{"start": 1, "end": 99999999999}',
            '{"start": 0, "end": 59, "step": 1e-400}',
            '[{"start": 5, "end": 1}]',
            '{"end": 3}',
        ]
    ),
    st.lists(st.integers(-2, 70), max_size=4).map(json.dumps),
)
TIME_VALUES = st.sampled_from(
    ['"2030-01-01T00:00:00Z"', '"0044-03-15 BC"', '"-infinity"', '"infinity"', '"now"',
     "-62200000000000", "1e20", "253402300800000", "1700000000000", '"12000-01-01"',
     '"garbage"', "null", "2.5", '"2000-01-01"']
)  # fmt: skip
TZ_VALUES = st.sampled_from(
    ['"UTC"', '"Europe/Paris"', '"America/New_York"', '"Mars/Base"', '""', "5", "null",
     '"UTC+14"', '"Pacific/Kiritimati"', '"Australia/Lord_Howe"', '"EST5EDT,M3.2.0,M11.1.0"']
)  # fmt: skip
CRON_TEXT = [
    "* * * * *", "@daily", "@hourly", "0 8 * * MON", "*/0 * * * *", "60 * * * *",
    "* * 31 2 *", "L * * * *", "", "1-2-3 * * * *", "*/1000000000000 * * * *", "0 0 29 2 *",
    "5/15 * * * * *", "0 2 * * 7", "* * * * * * *", "0 0 1 1 *", "59 23 31 12 SUN",
]  # fmt: skip
cron_texts = st.one_of(st.sampled_from(CRON_TEXT), plain_text)
VALUE_FOR = {
    **dict.fromkeys(
        ["second", "minute", "hour", "date", "month", "year", "dayOfWeek"], RULE_VALUES
    ),
    "cron": st.one_of(cron_texts.map(json.dumps), st.sampled_from(["5", "null"])),
    "rule": cron_texts.map(json.dumps),
    "tz": TZ_VALUES,
    "start": TIME_VALUES,
    "end": TIME_VALUES,
    "bogus": st.just("1"),
}
schedule_objects = st.lists(st.sampled_from(sorted(VALUE_FOR)), unique=True, max_size=5).flatmap(
    lambda keys: st.tuples(*[VALUE_FOR[k] for k in keys]).map(
        lambda values: _object([(json.dumps(k), v) for k, v in zip(keys, values, strict=True)])
    )
)
VALID_CRON = ["* * * * *", "@daily", "@hourly", "0 8 * * MON", "*/15 9-17 * * 1-5", "0 2 * * 7"]
VALID_TZ = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe"]
valid_schedules = st.one_of(
    st.builds(lambda c, tz: json.dumps({"cron": c, "tz": tz}), st.sampled_from(VALID_CRON),
              st.sampled_from(VALID_TZ)),
    st.builds(lambda h, m: json.dumps({"hour": h, "minute": m}),
              st.lists(st.integers(0, 23), min_size=1, max_size=3),
              st.lists(st.integers(0, 59), min_size=1, max_size=3)),
    # What Python's json.dumps writes for floats: {"hour": [2.0]}
    st.builds(lambda h, m: json.dumps({"hour": [float(h)], "minute": [float(m)]}),
              st.integers(0, 23), st.integers(0, 59)),
)  # fmt: skip
schedules = mostly(valid_schedules, st.none(), schedule_objects, schedule_objects, json_text)
BACKOFF_NUMBERS = st.one_of(
    st.sampled_from(["0", "0.001", "0.0009", "1e-400", "1e400", "31622400", "31622401", "1",
                     '"1s"', "null", "-1", "0.000001", "0.0000001", "2"]),
    st.floats(0, 100, allow_nan=False).map(json.dumps),
)  # fmt: skip
valid_backoffs = st.builds(
    lambda strategy, base, jitter: json.dumps(
        {"strategy": strategy, "base": base, "jitter": jitter}
    ),
    st.sampled_from(["exponential", "linear", "fixed", "none"]),
    st.floats(0.001, 3600),
    st.floats(0, 1),
)
backoffs = mostly(
    st.one_of(st.none(), valid_backoffs),
    st.dictionaries(
        st.sampled_from(["strategy", "base", "cap", "jitter", "delay"]),
        st.one_of(
            BACKOFF_NUMBERS,
            st.sampled_from(['"exponential"', '"linear"', '"fixed"', '"none"', '"cubic"']),
        ),
        max_size=4,
    ).map(lambda d: _object([(json.dumps(k), v) for k, v in d.items()])),
    json_text,
)
STATUSES = ["pending", "scheduled", "running", "retrying", "completed", "failed", "cancelled"]
statuses = st.one_of(
    st.none(), st.lists(st.one_of(st.sampled_from([*STATUSES, "done", ""]), st.none()), max_size=3)
)
missed_runs = st.one_of(st.none(), st.sampled_from(["skip", "run_once", "backfill", "never", ""]))
workers = st.one_of(st.sampled_from(["seed-worker", "w2"]), texts)
text_lists = st.one_of(st.none(), st.lists(texts, max_size=3))


# --- the functions ----------------------------------------------------------------------------


BY_TYPE: dict[str, Callable[[], st.SearchStrategy[Any]]] = {
    "text": lambda: texts,
    "integer": lambda: ints,
    "uuid": lambda: uuids.map(lambda u: None if u is None else str(u)),
    "boolean": lambda: booleans,
    "timestamp with time zone": lambda: times,
    "interval": lambda: intervals,
    "numeric": lambda: numerics,
    "json": lambda: any_json,
    "jsonb": lambda: any_json,
    "text[]": lambda: text_lists,
    "json[]": lambda: st.one_of(st.none(), st.lists(any_json, max_size=4)),
    "jsonb[]": lambda: st.one_of(st.none(), st.lists(any_json, max_size=4)),
    "boolean[]": lambda: st.one_of(st.none(), st.lists(booleans, max_size=4)),
}

#: Parameters whose values need a domain strategy (by name, or by function and name).
BY_NAME: dict[str, st.SearchStrategy[Any]] = {
    "worker_id": workers,
    "identifier": mostly(st.sampled_from(["task", "plain", "serial"]), texts),
    "task": mostly(st.sampled_from(["plain", "serial", "later"]), texts),
    "schedule": schedules,
    "schedule_info": schedules,
    "backoff": backoffs,
    "cron": mostly(st.sampled_from(VALID_CRON), st.none(), cron_texts),
    "tz": mostly(st.sampled_from(VALID_TZ), st.none(), TZ_VALUES.map(lambda t: t.strip('"'))),
    "missed_runs": missed_runs,
    "status": statuses,
    "statuses": statuses,
    "task_identifiers": st.one_of(text_lists, st.just(["plain", "serial"])),
    "backoffs": st.one_of(st.none(), st.lists(st.one_of(st.none(), backoffs), max_size=4)),
    "error_messages": text_lists,
    "correlation_ids": text_lists,
    # the per-job timeout (0.4.0): add_jobs' element timeouts
    "timeouts": st.one_of(st.none(), st.lists(intervals, max_size=4)),
    "job_key": st.one_of(st.sampled_from(["seed-key", "dup"]), texts),
    "queue_name": st.one_of(st.sampled_from(["mailbox"]), texts),
    "queue": st.one_of(st.sampled_from(["mailbox"]), texts),
}


def ids(pool: list[int]) -> st.SearchStrategy[int | None]:
    return mostly(st.sampled_from(pool), st.none(), st.sampled_from([-1, 0, 2**63 - 1]))


def id_arrays(pool: list[int]) -> st.SearchStrategy[list[int | None] | None]:
    return st.one_of(st.none(), st.lists(ids(pool), max_size=6))


specs = st.lists(
    st.tuples(uuids.map(lambda u: None if u is None else str(u)), BY_NAME["identifier"],
              any_json, BY_NAME["job_key"], BY_NAME["queue_name"], times, ints, ints),
    max_size=4,
)  # fmt: skip


def seed(db: Conn) -> dict[str, list[int]]:
    """A little of everything (waiting, blocked, running, finished jobs; a schedule; a worker
    lease), so a stray write shows and calls on existing ids get past their first check."""
    add_job(db, "plain")
    add_job(db, "serial", queue_name="mailbox")
    add_job(db, "serial", queue_name="mailbox")
    assert get_job(db, "seed-worker", ["serial"]) is not None
    add_job(db, "later", job_key="seed-key", run_at="2999-01-01T00:00:00Z")
    done = add_job(db, "done")
    assert get_job(db, "seed-worker", ["done"]) is not None
    db.execute("SELECT app_jobs.complete_job('seed-worker', %s)", (done["id"],))
    db.execute("SELECT app_jobs.add_scheduled_job(NULL, 'nightly', cron := '0 2 * * *')")
    db.execute("SELECT app_jobs.heartbeat('seed-worker')")
    job_ids = [r["id"] for r in db.execute("SELECT id FROM app_jobs.jobs UNION SELECT id FROM "
                                           "app_jobs.job_history ORDER BY 1")]  # fmt: skip
    schedule_ids = [r["id"] for r in db.execute("SELECT id FROM app_jobs.scheduled_jobs")]
    return {"jobs": job_ids, "schedules": schedule_ids}


SIGNATURES = """
SELECT p.proname AS name, p.pronargs - p.pronargdefaults AS required,
       CASE WHEN p.pronargs = 0 THEN '{}'::text[] ELSE
       ARRAY(SELECT u.n
               FROM unnest(p.proargnames,
                           coalesce(p.proargmodes, array_fill('i'::"char",
                                                              ARRAY[cardinality(p.proargnames)])))
                    AS u(n, m)
              WHERE u.m IN ('i', 'b')) END AS names,
       ARRAY(SELECT pg_catalog.format_type(t, NULL)
               FROM pg_catalog.unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, n)
              ORDER BY n) AS types
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace = 'app_jobs'::regnamespace AND p.proname !~ '^_'
   AND p.prorettype <> 'trigger'::regtype
"""

PUBLIC_FUNCTIONS = [
    "add_job", "add_jobs", "add_scheduled_job", "cancel_job", "cancel_jobs", "claim_job",
    "cleanup_jobs", "complete_job", "complete_jobs", "create_history_partitions",
    "enable_scheduled_job", "fail_job", "find_job", "get_job", "heartbeat", "list_jobs",
    "list_scheduled_jobs", "next_run", "permanently_fail_jobs", "queue_stats", "recent_jobs",
    "reclaim_stuck_jobs", "release_jobs", "remove_job", "rerun_job", "reschedule_jobs",
    "run_due_schedules", "run_scheduled_job", "schema_version", "set_progress", "watch_job",
    # the dashboard's reads and the architecture's lookups (0.4.0)
    "search_jobs", "job_throughput", "list_workers", "queue_gauges", "find_scheduled_job",
    "run_jobs_now",
    # the claim path's batch calls (0.4.0)
    "get_jobs", "finish_jobs",
    # task settings (0.4.0)
    "set_task_settings", "unset_task_settings", "declare_task_settings", "list_task_settings",
    # the worker's buffer: buffered is not started (0.4.0)
    "start_jobs", "settle_jobs",
    # which tasks the live workers serve (0.4.0)
    "declare_worker_tasks", "task_coverage",
    # the roles (0.4.0)
    "grant_roles",
    # worker leases held by one process (0.4.0)
    "unregister_worker",
    # pause and resume (0.4.0)
    "pause_jobs", "resume_jobs", "list_pauses", "park_paused_jobs",
    # payload schemas (issue 19)
    "validate_payload",
    # limits and tenant fairness (issue 18)
    "set_job_limit", "remove_job_limit", "list_job_limits", "set_tenant_fairness",
    # job dependencies (issue 19)
    "list_job_dependencies",
]  # fmt: skip


def test_every_public_function_is_covered(db: Conn) -> None:
    rows = db.execute(SIGNATURES).fetchall()
    assert sorted(row["name"] for row in rows) == sorted(PUBLIC_FUNCTIONS)
    for row in rows:
        for sql_type, name in zip(row["types"], row["names"], strict=True):
            assert name in BY_NAME or sql_type in BY_TYPE or sql_type in SPECIAL_TYPES, (
                row["name"],
                name,
                sql_type,
            )


SPECIAL_TYPES = {"bigint", "bigint[]", "app_jobs.job_spec[]"}


#: cancel_jobs needs its tenant scope: mostly all_tenants := true without db_id.
CANCEL_JOBS = {
    "db_id": mostly(st.none(), uuids.map(lambda u: None if u is None else str(u))),
    "all_tenants": mostly(st.just(True), booleans),
}


#: Task settings: mostly a settings object of known tasks and settings, else anything.
TASK_SETTING_VALUES = st.one_of(
    st.integers(-3, 30).map(str),
    st.sampled_from(['"5 minutes"', '"-1 day"', "30", "0", "1e400", '"x"', "null", "2.5"]),
    valid_backoffs,
    plain_text.map(json.dumps),
)
TASK_SETTINGS = {
    ("declare_task_settings", "settings"): mostly(
        st.dictionaries(
            st.sampled_from(["plain", "serial", "later", ""]),
            st.dictionaries(
                st.sampled_from(["max_attempts", "backoff", "priority", "queue_name",
                                 "timeout", "retention", "retries"]),
                TASK_SETTING_VALUES, max_size=3,
            ).map(lambda d: _object([(json.dumps(k), v) for k, v in d.items()])),
            max_size=3,
        ).map(lambda d: _object([(json.dumps(k), v) for k, v in d.items()])),
        st.none(), json_text,
    ),
    ("unset_task_settings", "settings"): mostly(
        st.one_of(st.none(), st.lists(st.sampled_from(["max_attempts", "timeout"]), max_size=2)),
        text_lists,
    ),
}  # fmt: skip
#: grant_roles creates cluster-wide roles: it only ever gets names it must refuse (PJ165,
#: PJ166), never a name it would create, and is never called with its default names.
GRANT_ROLE_NAMES = st.sampled_from([None, "", "pg_pj", "public", "x" * 64, "postgres", "same"])


def strategy(
    name: str, sql_type: str, pools: dict[str, list[int]], function: str = ""
) -> st.SearchStrategy[Any]:
    if function == "cancel_jobs" and name in CANCEL_JOBS:
        return CANCEL_JOBS[name]
    if (function, name) in TASK_SETTINGS:
        return TASK_SETTINGS[(function, name)]
    if function == "grant_roles":
        return GRANT_ROLE_NAMES
    if sql_type == "bigint":
        return ids(pools["schedules"] if name == "scheduled_job_id" else pools["jobs"])
    if sql_type == "bigint[]":
        return id_arrays(pools["jobs"])
    if sql_type == "app_jobs.job_spec[]":
        return st.one_of(st.none(), specs)
    if name in BY_NAME:
        return BY_NAME[name]
    return BY_TYPE[sql_type]()


def time_sql(value: str | int | None) -> tuple[sql.Composable, list[Any]]:
    """A time argument: NULL, a literal PostgreSQL reads, or a number of days from now."""
    if value is None:
        return sql.SQL("NULL::timestamptz"), []
    if isinstance(value, int):
        return sql.SQL("(now() + make_interval(days => %s))"), [value]
    return sql.SQL("%s::timestamptz"), [value]


def argument(name: str, sql_type: str, value: Any) -> tuple[sql.Composable, list[Any]]:
    """The SQL passing value as parameter name, and its query parameters."""
    target = sql.SQL("{} := ").format(sql.Identifier(name))
    if sql_type == "app_jobs.job_spec[]":
        if value is None:
            return target + sql.SQL("NULL::app_jobs.job_spec[]"), []
        rows, params = [], []
        for db_id, identifier, payload, key, queue, run_at, attempts, priority in value:
            when, when_params = time_sql(run_at)
            rows.append(
                sql.SQL("ROW(%s::uuid, %s, %s::json, %s, %s, {}, %s::integer, %s::integer)").format(
                    when
                )
            )
            params += [db_id, identifier, payload, key, queue, *when_params, attempts, priority]
        return target + sql.SQL("ARRAY[{}]::app_jobs.job_spec[]").format(
            sql.SQL(", ").join(rows)
        ), params
    if sql_type == "timestamp with time zone":
        when, params = time_sql(value)
        return target + when, params
    return target + sql.SQL("%s::{}").format(sql.SQL(sql_type)), [value]


# --- the checks -----------------------------------------------------------------------------

#: Every committed row of every state table by its physical address and the transaction that
#: wrote it: any committed write (insert, update, delete) changes it, and it reads no column,
#: so a 1 MiB payload costs nothing. (helpers.snapshot compares the rows' text, and the jobs id
#: sequence too; this test only asks that a failed call commits nothing.)
FINGERPRINT = " UNION ALL ".join(
    f"(SELECT '{table}' AS t, array_agg(ctid::text || ':' || xmin::text ORDER BY ctid) AS rows"
    f" FROM app_jobs.{table})"
    for table in STATE_TABLES
    if table != "job_queues"  # a view of jobs and job_queue_locks
)


def snapshot(db: Conn) -> list[dict[str, Any]]:
    return db.execute(FINGERPRINT).fetchall()


#: After any call, every tenant can still read, and the scheduler still runs.
READERS = [
    "SELECT count(*) FROM app_jobs.queue_stats()",
    "SELECT count(*) FROM app_jobs.list_jobs(row_limit := 20)",
    "SELECT count(*) FROM app_jobs.list_scheduled_jobs()",
    "SELECT count(*) FROM app_jobs.run_due_schedules()",
]
#: Every stored time is one a client can read back.
UNREADABLE = """
SELECT (SELECT count(*) FROM app_jobs.jobs
         WHERE NOT run_at BETWEEN '0001-01-02+00' AND '9999-12-30+00')
     + (SELECT count(*) FROM app_jobs.scheduled_jobs
         WHERE NOT next_run_at BETWEEN '0001-01-02+00' AND '9999-12-30+00') AS n
"""


def ran_in_a_function(error: psycopg.Error) -> bool:
    """Whether the error was raised inside a function, not while PostgreSQL read an argument
    (a JSON literal jsonb cannot hold fails in the cast, before the call)."""
    return "function" in (error.diag.context or "")


@pytest.fixture
def outcomes(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Outcomes of one test's examples, by kind; appended to $PGJOBS_PROPERTY_REPORT."""
    callspec = getattr(request.node, "callspec", None)
    function = callspec.params["function"] if callspec else request.node.name
    counts: Counter[str] = Counter()
    yield counts
    if REPORT:
        with open(REPORT, "a") as report:
            report.write(json.dumps({"function": function, **counts}) + "\n")


@pytest.fixture(autouse=True)
def bounded(db: Conn) -> None:
    """A hang fails the test (57014, query_canceled) instead of stalling the suite."""
    db.execute("SET statement_timeout = '20s'")


@pytest.fixture
def seeded(db: Conn) -> dict[str, Any]:
    return {"pools": seed(db)}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
@pytest.mark.parametrize("function", PUBLIC_FUNCTIONS)
def test_a_call_ends_in_a_result_or_a_documented_error(
    db: Conn,
    seeded: dict[str, Any],
    outcomes: Counter[str],
    function: str,
    data: st.DataObject,
) -> None:
    query, params = draw_call(db, function, seeded["pools"], data)
    before = snapshot(db)
    try:
        db.execute(query, params).fetchall()
    except psycopg.Error as error:
        check_error(db, function, error, before, outcomes)
        return
    outcomes["ok"] += 1
    check_readable(db, function, outcomes)


def draw_call(
    db: Conn, function: str, pools: dict[str, list[int]], data: st.DataObject
) -> tuple[sql.Composable, list[Any]]:
    """A call of function with drawn arguments, some left out for their defaults."""
    signature = _signature(db, function)
    parts: list[sql.Composable] = []
    params: list[Any] = []
    # add_scheduled_job takes schedule_info or cron: mostly exactly one of them.
    shape = data.draw(st.sampled_from(["schedule_info", "cron"] * 4 + ["both", "neither"]))
    for position, (name, sql_type) in enumerate(signature["args"]):
        if function == "add_scheduled_job" and name in ("schedule_info", "cron"):
            if shape not in (name, "both"):
                continue
        # Parameters with a default are sometimes left out, so the default is exercised.
        elif (
            function != "grant_roles"  # never its default names (see GRANT_ROLE_NAMES)
            and position >= signature["required"]
            and data.draw(st.booleans(), label=f"omit {name}")
        ):
            continue
        value = data.draw(strategy(name, sql_type, pools, function), label=name)
        part, values = argument(name, sql_type, value)
        parts.append(part)
        params.extend(values)
    query = sql.SQL("SELECT * FROM app_jobs.{}({})").format(
        sql.Identifier(function), sql.SQL(", ").join(parts)
    )
    return query, params


def check_error(
    db: Conn,
    function: str,
    error: psycopg.Error,
    before: list[dict[str, Any]],
    outcomes: Counter[str],
) -> None:
    """A failed call: a documented error, with a hint if it is ours, and nothing committed."""
    state = error.diag.sqlstate
    if state is None:
        assert isinstance(error, psycopg.DataError), error  # NUL refused by psycopg
        outcomes["client"] += 1
        return
    if state in ("22P02", "22P05") and not ran_in_a_function(error):
        # The argument itself did not parse as its type, before any function ran: a jsonb
        # parameter (result, error_details, backoff, schedule) cannot hold \u0000 or a lone
        # surrogate. PostgreSQL refuses the value, as psycopg refuses NUL in text.
        outcomes["input"] += 1
        assert snapshot(db) == before
        return
    allowed = dict(DOCUMENTED.get(function, {}))
    documented = state in DOCUMENTED_CODES or state in allowed
    outcomes[state if documented else f"bad {state}"] += 1
    if SURVEY:
        return
    assert documented, f"{function}: internal error {state}: {error}"
    if state.startswith("PJ"):
        assert error.diag.message_hint, f"{function}: {state} without a hint"
    assert snapshot(db) == before, f"{function}: {state} after a partial write"


def check_readable(db: Conn, function: str, outcomes: Counter[str]) -> None:
    """After a call that succeeded, every tenant can still read and every time is readable."""
    try:
        for reader in READERS:
            db.execute(reader).fetchall()
    except psycopg.Error as error:
        if not SURVEY:
            raise
        outcomes[f"bad readers {error.diag.sqlstate}"] += 1
    bad = db.execute(UNREADABLE).fetchone()
    if SURVEY and bad and bad["n"]:
        outcomes["bad stored"] += 1
        db.execute(
            "DELETE FROM app_jobs.jobs WHERE NOT run_at BETWEEN '0001-01-02+00' AND '9999-12-30+00'"
        )
        return
    assert bad == {"n": 0}, f"{function} stored an unreadable row"


_SIGNATURES: dict[str, dict[str, Any]] = {}


def _signature(db: Conn, function: str) -> dict[str, Any]:
    if function not in _SIGNATURES:
        for row in db.execute(SIGNATURES).fetchall():
            _SIGNATURES[row["name"]] = {
                "required": row["required"],
                "args": list(zip(row["names"], row["types"], strict=True)),
            }
    return _SIGNATURES[function]


# --- the contract's other entry points: raw schedule INSERTs and the enqueue triggers --------


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    schedule_info=schedules,
    payload=any_json,
    missed=missed_runs,
    limit=mostly(st.none(), ints),
    window=mostly(st.none(), intervals),
)
def test_a_raw_schedule_insert_is_stored_or_refused_cleanly(
    db: Conn,
    outcomes: Counter[str],
    schedule_info: str | None,
    payload: str | None,
    missed: str | None,
    limit: int | None,
    window: str | None,
) -> None:
    """The contract's own way to create a schedule (INSERT INTO app_jobs.scheduled_jobs)."""
    before = snapshot(db)
    try:
        db.execute(
            "INSERT INTO app_jobs.scheduled_jobs (task_identifier, schedule_info, payload,"
            " missed_runs, backfill_limit, backfill_window)"
            " VALUES ('t', %s::jsonb, coalesce(%s::jsonb, '{}'), coalesce(%s, 'run_once'), %s,"
            " %s::interval)",
            (schedule_info, payload, missed, limit, window),
        )
    except psycopg.Error as error:
        state = error.diag.sqlstate or "client"
        if state in ("22P02", "22P05") and not ran_in_a_function(error):
            state = "input"  # the JSON literal itself is not jsonb: no trigger ran
        # A NULL schedule_info or a policy outside the table's CHECK fails the table's own
        # constraints (23502, 23514) when the trigger lets it through: documented, no PJ code.
        documented = state in DOCUMENTED_CODES or state in ("input", "23502", "23514")
        outcomes[state if documented else f"bad {state}"] += 1
        if SURVEY:
            return
        assert documented, error
        assert snapshot(db) == before
        return
    outcomes["ok"] += 1
    for reader in READERS:
        db.execute(reader).fetchall()
    assert db.execute(UNREADABLE).fetchone() == {"n": 0}


TRIGGERS = ["tg_add_job_with_row_id", "tg_add_job_with_row", "tg_add_job_with_fields"]


@pytest.fixture
def noted(db: Conn) -> Conn:
    """A table with every kind of column an enqueue trigger may read, and the three triggers."""
    db.execute(
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text, doc json, data jsonb,"
        ' at timestamptz, amount numeric, "odd ""name" text)'
    )
    for function, args in (
        ("tg_add_job_with_row_id", "'id'"),
        ("tg_add_job_with_row", ""),
        ("tg_add_job_with_fields", "'id', 'doc', 'odd \"name'"),
    ):
        db.execute(
            f"CREATE TRIGGER {function} AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW"
            f" EXECUTE FUNCTION app_jobs.{function}('{TENANT}', 'note'{', ' if args else ''}{args})"
        )
    return db


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    op=st.sampled_from(["INSERT", "UPDATE", "DELETE"]),
    key=st.integers(1, 5),
    body=texts,
    doc=st.one_of(sane_json, json_text, deep_json),
    at=times,
    amount=numerics,
)
def test_an_enqueue_trigger_enqueues_or_refuses_the_write_cleanly(
    noted: Conn,
    outcomes: Counter[str],
    op: str,
    key: int,
    body: str | None,
    doc: str | None,
    at: str | int | None,
    amount: str | None,
) -> None:
    """A write either commits with one job per trigger or fails with a PJ code (or a value its
    column cannot hold) and writes nothing: never a job without its row, or a row without it."""
    db = noted
    when, when_params = time_sql(at)
    before = snapshot(db)
    rows_before = db.execute("SELECT count(*) AS n FROM notes").fetchone()
    jobs_before = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert jobs_before is not None
    statements = {
        "INSERT": sql.SQL(
            "INSERT INTO notes (id, body, doc, at, amount)"
            " VALUES (%s, %s, %s::json, {}, %s::numeric) ON CONFLICT (id) DO NOTHING"
        ).format(when),
        "UPDATE": sql.SQL(
            "UPDATE notes SET body = %s, doc = %s::json, at = {}, amount = %s::numeric"
            " WHERE id = %s"
        ).format(when),
        "DELETE": sql.SQL("DELETE FROM notes WHERE id = %s"),
    }
    params = {
        "INSERT": [key, body, doc, *when_params, amount],
        "UPDATE": [body, doc, *when_params, amount, key],
        "DELETE": [key],
    }
    try:
        cursor = db.execute(statements[op], params[op])
    except psycopg.Error as error:
        state = error.diag.sqlstate or "client"
        if state in ("22P02", "22P05", "22003", "22007", "22008") and not ran_in_a_function(error):
            state = "input"  # the value does not fit its column: no trigger ran
        allowed = {"input", "client"}
        documented = state in DOCUMENTED_CODES or state in allowed
        outcomes[state if documented else f"bad {state}"] += 1
        if SURVEY:
            return
        assert documented, error
        assert snapshot(db) == before
        assert db.execute("SELECT count(*) AS n FROM notes").fetchone() == rows_before
        return
    outcomes["ok"] += 1
    written = cursor.rowcount
    jobs = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert jobs is not None
    assert jobs["n"] == jobs_before["n"] + 3 * written  # one job per trigger and row
    for reader in READERS:
        db.execute(reader).fetchall()
