"""Bad input to every public function: a pgjobs SQLSTATE, a message naming the function, a
hint, and nothing written. Then a property test throwing random and hostile arguments at
add_job: each call must round-trip exactly or fail with the SQLSTATE a model of the contract
predicts. Besides the PJ codes, only two failures are expected, both about NUL characters:
a NUL in a text argument (psycopg refuses to send it: DataError, no SQLSTATE) and a \u0000
escape in the payload (jsonb cannot hold it: 22P05 untranslatable_character).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg
import pytest
from helpers import DEFAULT_TENANT, OTHER_TENANT, TENANT, Conn, add_job, get_job, snapshot
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st


def seed(db: Conn) -> None:
    """A little of everything, so that a stray write would show in every table."""
    add_job(db, "plain")
    add_job(db, "serial", queue_name="mailbox")
    add_job(db, "serial", queue_name="mailbox")
    running = get_job(db, "seed-worker", ["serial"])
    assert running is not None  # holds the queue; the second serial job waits blocked
    add_job(db, "later", job_key="seed-key", run_at="2999-01-01T00:00:00Z")
    done = add_job(db, "done")
    assert get_job(db, "seed-worker", ["done"]) is not None
    db.execute("SELECT app_jobs.complete_job('seed-worker', %s)", (done["id"],))
    db.execute(
        "SELECT app_jobs.add_scheduled_job(NULL, 'nightly', schedule_info := '{\"hour\": [2]}')"
    )
    db.execute("SELECT app_jobs.run_scheduled_job(id) FROM app_jobs.scheduled_jobs")
    db.execute("SELECT app_jobs.heartbeat('seed-worker')")


#: add_jobs of one plain element, for the depends_on cases (the call is left open).
ONE_SPEC = (
    "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL, NULL, NULL)]"
    "::app_jobs.job_spec[], "
)


class Case(NamedTuple):
    function: str
    statement: str
    sqlstate: str


WAITING_IDS = "(SELECT array_agg(id) FROM app_jobs.jobs WHERE state <> 'running')"
SCHEDULE_ID = "(SELECT min(id) FROM app_jobs.scheduled_jobs)"

CASES = {
    # add_job
    "add_job/identifier NULL": Case("add_job", "app_jobs.add_job(NULL, NULL)", "PJ101"),
    "add_job/identifier empty": Case("add_job", "app_jobs.add_job(NULL, '')", "PJ101"),
    "add_job/identifier too long": Case(
        "add_job", "app_jobs.add_job(NULL, repeat('x', 256))", "PJ101"
    ),
    "add_job/max_attempts 0": Case(
        "add_job", "app_jobs.add_job(NULL, 't', max_attempts := 0)", "PJ104"
    ),
    "add_job/max_attempts -1": Case(
        "add_job", "app_jobs.add_job(NULL, 't', max_attempts := -1)", "PJ104"
    ),
    "add_job/job_key empty": Case("add_job", "app_jobs.add_job(NULL, 't', job_key := '')", "PJ106"),
    "add_job/job_key too long": Case(
        "add_job", "app_jobs.add_job(NULL, 't', job_key := repeat('k', 513))", "PJ106"
    ),
    "add_job/queue_name empty": Case(
        "add_job", "app_jobs.add_job(NULL, 't', queue_name := '')", "PJ106"
    ),
    "add_job/queue_name too long": Case(
        "add_job", "app_jobs.add_job(NULL, 't', queue_name := repeat('q', 256))", "PJ106"
    ),
    # get_job
    "get_job/worker NULL": Case("get_job", "app_jobs.get_job(NULL)", "PJ102"),
    "get_job/worker empty": Case("get_job", "app_jobs.get_job('')", "PJ102"),
    "get_job/job_expiry zero": Case(
        "get_job", "app_jobs.get_job('w', job_expiry := interval '0')", "PJ105"
    ),
    "get_job/job_expiry negative": Case(
        "get_job", "app_jobs.get_job('w', job_expiry := interval '-1 hour')", "PJ105"
    ),
    "get_job/job_expiry NULL": Case("get_job", "app_jobs.get_job('w', NULL, NULL)", "PJ105"),
    "get_job/worker too long": Case("get_job", "app_jobs.get_job(repeat('w', 201))", "PJ102"),
    "get_jobs/worker NULL": Case("get_jobs", "app_jobs.get_jobs(NULL)", "PJ102"),
    "get_jobs/worker empty": Case("get_jobs", "app_jobs.get_jobs('')", "PJ102"),
    "get_jobs/worker too long": Case("get_jobs", "app_jobs.get_jobs(repeat('w', 201))", "PJ102"),
    "get_jobs/job_expiry 0": Case(
        "get_jobs", "app_jobs.get_jobs('w', job_expiry := interval '0')", "PJ105"
    ),
    "get_jobs/batch_size 0": Case("get_jobs", "app_jobs.get_jobs('w', batch_size := 0)", "PJ130"),
    "get_jobs/batch_size NULL": Case(
        "get_jobs", "app_jobs.get_jobs('w', batch_size := NULL)", "PJ130"
    ),
    "get_jobs/batch_size too big": Case(
        "get_jobs", "app_jobs.get_jobs('w', batch_size := 10001)", "PJ130"
    ),
    "finish_jobs/worker NULL": Case("finish_jobs", "app_jobs.finish_jobs(NULL, '{1}')", "PJ102"),
    "finish_jobs/worker too long": Case(
        "finish_jobs", "app_jobs.finish_jobs(repeat('w', 201), '{1}')", "PJ102"
    ),
    "finish_jobs/job_ids NULL": Case("finish_jobs", "app_jobs.finish_jobs('w', NULL)", "PJ103"),
    "finish_jobs/job_ids with NULL": Case(
        "finish_jobs", "app_jobs.finish_jobs('w', '{1,NULL}')", "PJ103"
    ),
    "finish_jobs/arrays of another length": Case(
        "finish_jobs", "app_jobs.finish_jobs('w', '{1,2}', error_messages := '{e}')", "PJ131"
    ),
    # the worker's buffer: start_jobs, settle_jobs (0.4.0)
    "start_jobs/worker NULL": Case("start_jobs", "app_jobs.start_jobs(NULL, '{1}')", "PJ102"),
    "start_jobs/worker too long": Case(
        "start_jobs", "app_jobs.start_jobs(repeat('w', 201), '{1}')", "PJ102"
    ),
    "start_jobs/job_ids NULL": Case("start_jobs", "app_jobs.start_jobs('w', NULL)", "PJ103"),
    "start_jobs/job_ids with NULL": Case(
        "start_jobs", "app_jobs.start_jobs('w', '{1,NULL}')", "PJ103"
    ),
    "settle_jobs/worker NULL": Case("settle_jobs", "app_jobs.settle_jobs(NULL)", "PJ102"),
    "settle_jobs/worker empty": Case("settle_jobs", "app_jobs.settle_jobs('')", "PJ102"),
    "settle_jobs/job_ids with NULL": Case(
        "settle_jobs", "app_jobs.settle_jobs('w', '{1,NULL}')", "PJ103"
    ),
    "heartbeat/worker too long": Case("heartbeat", "app_jobs.heartbeat(repeat('w', 201))", "PJ102"),
    # complete_job / fail_job
    "complete_job/worker NULL": Case("complete_job", "app_jobs.complete_job(NULL, 1)", "PJ102"),
    "complete_job/worker empty": Case("complete_job", "app_jobs.complete_job('', 1)", "PJ102"),
    "complete_job/job_id NULL": Case(
        "complete_job", "app_jobs.complete_job('seed-worker', NULL)", "PJ103"
    ),
    "fail_job/worker NULL": Case("fail_job", "app_jobs.fail_job(NULL, 1, 'e')", "PJ102"),
    "fail_job/worker empty": Case("fail_job", "app_jobs.fail_job('', 1, 'e')", "PJ102"),
    "fail_job/job_id NULL": Case(
        "fail_job", "app_jobs.fail_job('seed-worker', NULL, 'e')", "PJ103"
    ),
    # admin
    "complete_jobs/NULL": Case("complete_jobs", "app_jobs.complete_jobs(NULL)", "PJ103"),
    "permanently_fail_jobs/NULL": Case(
        "permanently_fail_jobs", "app_jobs.permanently_fail_jobs(NULL, 'why')", "PJ103"
    ),
    "reschedule_jobs/NULL": Case("reschedule_jobs", "app_jobs.reschedule_jobs(NULL)", "PJ103"),
    "run_jobs_now/NULL": Case("run_jobs_now", "app_jobs.run_jobs_now(NULL)", "PJ103"),
    "reschedule_jobs/attempts -1": Case(
        "reschedule_jobs", f"app_jobs.reschedule_jobs({WAITING_IDS}, attempts := -1)", "PJ104"
    ),
    "reschedule_jobs/max_attempts 0": Case(
        "reschedule_jobs", f"app_jobs.reschedule_jobs({WAITING_IDS}, max_attempts := 0)", "PJ104"
    ),
    "reschedule_jobs/no attempt left": Case(
        "reschedule_jobs",
        f"app_jobs.reschedule_jobs({WAITING_IDS}, priority := 9, attempts := 3, max_attempts := 3)",
        "PJ108",
    ),
    "release_jobs/NULL": Case("release_jobs", "app_jobs.release_jobs(NULL)", "PJ102"),
    "release_jobs/empty": Case("release_jobs", "app_jobs.release_jobs('')", "PJ102"),
    "remove_job/NULL": Case("remove_job", "app_jobs.remove_job(NULL)", "PJ106"),
    "remove_job/empty": Case("remove_job", "app_jobs.remove_job('')", "PJ106"),
    "remove_job/too long": Case("remove_job", "app_jobs.remove_job(repeat('k', 513))", "PJ106"),
    # heartbeat
    "heartbeat/worker NULL": Case("heartbeat", "app_jobs.heartbeat(NULL)", "PJ102"),
    "heartbeat/worker empty": Case("heartbeat", "app_jobs.heartbeat('')", "PJ102"),
    "heartbeat/lease zero": Case("heartbeat", "app_jobs.heartbeat('w', interval '0')", "PJ105"),
    "heartbeat/lease negative": Case(
        "heartbeat", "app_jobs.heartbeat('w', interval '-5 seconds')", "PJ105"
    ),
    "heartbeat/lease NULL": Case("heartbeat", "app_jobs.heartbeat('w', NULL)", "PJ105"),
    # claim by id
    "claim_job/worker NULL": Case("claim_job", "app_jobs.claim_job(NULL, 1)", "PJ102"),
    "claim_job/job NULL": Case("claim_job", "app_jobs.claim_job('w', NULL)", "PJ103"),
    # bulk enqueue
    "add_jobs/NULL": Case("add_jobs", "app_jobs.add_jobs(NULL)", "PJ103"),
    "add_jobs/identifier empty": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 'ok', NULL, NULL, NULL, NULL, NULL, NULL),"
        " ROW(NULL, '', NULL, NULL, NULL, NULL, NULL, NULL)]::app_jobs.job_spec[])",
        "PJ101",
    ),
    "add_jobs/max_attempts 0": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL, 0, NULL)]"
        "::app_jobs.job_spec[])",
        "PJ104",
    ),
    "add_jobs/queue_name empty": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, '', NULL, NULL, NULL)]"
        "::app_jobs.job_spec[])",
        "PJ106",
    ),
    # schedules
    "add_scheduled_job/identifier NULL": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, NULL, schedule_info := '{}')",
        "PJ101",
    ),
    "add_scheduled_job/identifier too long": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, repeat('x', 256), schedule_info := '{}')",
        "PJ101",
    ),
    "add_scheduled_job/schedule_info NULL": Case(
        "add_scheduled_job", "app_jobs.add_scheduled_job(NULL, 't')", "PJ107"
    ),
    "add_scheduled_job/schedule_info array": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '[2, 0]')",
        "PJ107",
    ),
    "add_scheduled_job/schedule_info string": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '\"0 2 * * *\"')",
        "PJ107",
    ),
    "add_scheduled_job/max_attempts 0": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{}', max_attempts := 0)",
        "PJ104",
    ),
    "add_scheduled_job/job_key empty": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{}', job_key := '')",
        "PJ106",
    ),
    "add_scheduled_job/job_key too long": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{}', job_key := repeat('k', 513))",
        "PJ106",
    ),
    "add_scheduled_job/queue_name empty": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{}', queue_name := '')",
        "PJ106",
    ),
    "add_scheduled_job/queue_name too long": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', schedule_info := '{}',"
        " queue_name := repeat('q', 256))",
        "PJ106",
    ),
    "run_scheduled_job/NULL": Case(
        "run_scheduled_job", "app_jobs.run_scheduled_job(NULL)", "PJ103"
    ),
    "run_scheduled_job/unknown": Case(
        "run_scheduled_job", "app_jobs.run_scheduled_job(987654)", "PJ301"
    ),
    "run_scheduled_job/pending": Case(
        "run_scheduled_job", f"app_jobs.run_scheduled_job({SCHEDULE_ID})", "PJ302"
    ),
    # A bad schedule is refused by the scheduled_jobs trigger (raw INSERTs included), whose
    # messages start with "schedule:".
    "add_scheduled_job/bad cron": Case(
        "schedule", "app_jobs.add_scheduled_job(NULL, 't', cron := '0 8 * *')", "PJ111"
    ),
    "add_scheduled_job/bad policy": Case(
        "schedule",
        "app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', missed_runs := 'never')",
        "PJ114",
    ),
    "next_run/bad cron": Case("next_run", 'app_jobs.next_run(\'{"cron": "0 8 * *"}\')', "PJ111"),
    "next_run/bad zone": Case(
        "next_run", 'app_jobs.next_run(\'{"cron": "@daily", "tz": "Mars/Base"}\')', "PJ112"
    ),
    "next_run/not an object": Case("next_run", "app_jobs.next_run('[1]')", "PJ107"),
    "next_run/after BC": Case(
        "next_run", """app_jobs.next_run('{"cron": "@daily"}', '0044-03-15 BC')""", "PJ119"
    ),
    "next_run/after -infinity": Case(
        "next_run", """app_jobs.next_run('{"cron": "@daily"}', '-infinity')""", "PJ119"
    ),
    "next_run/fraction": Case("next_run", """app_jobs.next_run('{"hour": [2.5]}')""", "PJ111"),
    "next_run/start BC": Case(
        "next_run", """app_jobs.next_run('{"cron": "@daily", "start": "0044-03-15 BC"}')""", "PJ111"
    ),
    "add_scheduled_job/payload NUL": Case(
        "add_scheduled_job",
        """app_jobs.add_scheduled_job(NULL, 't', '{"a": "\\u0000"}', cron := '@daily')""",
        "PJ120",
    ),
    "add_scheduled_job/payload too deep": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', (repeat('[', 1000) || repeat(']', 1000))::json,"
        " cron := '@daily')",
        "PJ121",
    ),
    "add_scheduled_job/backfill_window 7000 years": Case(
        "schedule",
        "app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', backfill_window := '7000 years')",
        "PJ114",
    ),
    "add_scheduled_job/backfill_limit huge": Case(
        "schedule",
        "app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', backfill_limit := 10001)",
        "PJ114",
    ),
    "enable_scheduled_job/NULL": Case(
        "enable_scheduled_job", "app_jobs.enable_scheduled_job(NULL)", "PJ103"
    ),
    "enable_scheduled_job/unknown": Case(
        "enable_scheduled_job", "app_jobs.enable_scheduled_job(999)", "PJ301"
    ),
    # lifecycle
    "add_job/correlation_id empty": Case(
        "add_job", "app_jobs.add_job(NULL, 't', correlation_id := '')", "PJ106"
    ),
    "add_job/backoff not an object": Case(
        "add_job", "app_jobs.add_job(NULL, 't', backoff := '[1]')", "PJ117"
    ),
    "add_job/backoff unknown strategy": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"strategy": "cubic"}')""", "PJ117"
    ),
    "add_job/backoff unknown key": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"delay": 1}')""", "PJ117"
    ),
    "add_job/backoff base 0": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"base": 0}')""", "PJ117"
    ),
    "add_job/backoff cap text": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"cap": "1h"}')""", "PJ117"
    ),
    "add_job/backoff base 1e-400": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"base": 1e-400}')""", "PJ117"
    ),
    "add_job/backoff jitter 1e-400": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"jitter": 1e-400}')""", "PJ117"
    ),
    "add_job/backoff base text": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"base": "1s"}')""", "PJ117"
    ),
    "add_job/backoff jitter 2": Case(
        "add_job", """app_jobs.add_job(NULL, 't', backoff := '{"jitter": 2}')""", "PJ117"
    ),
    "fail_job/backoff bad": Case(
        "fail_job",
        """app_jobs.fail_job('seed-worker', 1, 'e', backoff := '{"strategy": null}')""",
        "PJ117",
    ),
    "find_job/nothing": Case("find_job", "app_jobs.find_job()", "PJ103"),
    # job dependencies (issue 19)
    "add_job/depends_on NULL element": Case(
        "add_job", "app_jobs.add_job(NULL, 't', depends_on := ARRAY[NULL]::bigint[])", "PJ210"
    ),
    "add_job/depends_on 0": Case(
        "add_job", "app_jobs.add_job(NULL, 't', depends_on := '{0}')", "PJ210"
    ),
    "add_job/depends_on duplicate": Case(
        "add_job", "app_jobs.add_job(NULL, 't', depends_on := '{1,1}')", "PJ210"
    ),
    "add_job/depends_on 1001": Case(
        "add_job",
        "app_jobs.add_job(NULL, 't',"
        " depends_on := ARRAY(SELECT generate_series(1, 1001))::bigint[])",
        "PJ210",
    ),
    "add_job/depends_on unknown": Case(
        "add_job", "app_jobs.add_job(NULL, 't', depends_on := '{987654321}')", "PJ211"
    ),
    "add_job/depends_on with job_key": Case(
        "add_job", "app_jobs.add_job(NULL, 't', job_key := 'k', depends_on := '{1}')", "PJ214"
    ),
    "add_jobs/depends_on later element": Case(
        "add_jobs",
        ONE_SPEC + """depends_on := ARRAY['[{"element": 1}]']::jsonb[])""",
        "PJ210",
    ),
    "add_jobs/depends_on not an array": Case(
        "add_jobs",
        ONE_SPEC + """depends_on := ARRAY['{"element": 1}']::jsonb[])""",
        "PJ210",
    ),
    "add_jobs/depends_on length": Case(
        "add_jobs",
        ONE_SPEC + """depends_on := ARRAY[NULL, NULL]::jsonb[])""",
        "PJ131",
    ),
    "list_job_dependencies/NULL": Case(
        "list_job_dependencies", "app_jobs.list_job_dependencies(NULL)", "PJ103"
    ),
    "list_jobs/unknown status": Case("list_jobs", "app_jobs.list_jobs('{done}')", "PJ115"),
    "list_jobs/NULL status": Case("list_jobs", "app_jobs.list_jobs(ARRAY[NULL])", "PJ115"),
    "list_jobs/limit 0": Case("list_jobs", "app_jobs.list_jobs(row_limit := 0)", "PJ116"),
    "list_jobs/limit huge": Case("list_jobs", "app_jobs.list_jobs(row_limit := 10001)", "PJ116"),
    "list_jobs/offset negative": Case("list_jobs", "app_jobs.list_jobs(row_offset := -1)", "PJ116"),
    "recent_jobs/limit 0": Case("recent_jobs", "app_jobs.recent_jobs(0)", "PJ116"),
    "set_progress/worker NULL": Case("set_progress", "app_jobs.set_progress(NULL, 1, 5)", "PJ102"),
    "set_progress/job NULL": Case(
        "set_progress", "app_jobs.set_progress('seed-worker', NULL, 5)", "PJ103"
    ),
    "set_progress/percent 101": Case(
        "set_progress",
        "app_jobs.set_progress('seed-worker', (SELECT min(id) FROM app_jobs.jobs"
        " WHERE state = 'running'), 101)",
        "PJ118",
    ),
    "set_progress/percent negative": Case(
        "set_progress", "app_jobs.set_progress('seed-worker', 1, -0.5)", "PJ118"
    ),
    "watch_job/NULL": Case("watch_job", "app_jobs.watch_job(NULL)", "PJ103"),
    "cancel_job/NULL": Case("cancel_job", "app_jobs.cancel_job(NULL)", "PJ103"),
    "cancel_jobs/task empty": Case(
        "cancel_jobs", "app_jobs.cancel_jobs(task := '', all_tenants := true)", "PJ101"
    ),
    "cancel_jobs/queue empty": Case(
        "cancel_jobs", "app_jobs.cancel_jobs(queue := '', all_tenants := true)", "PJ106"
    ),
    "cancel_jobs/no tenant scope": Case("cancel_jobs", "app_jobs.cancel_jobs()", "PJ122"),
    "cancel_jobs/both scopes": Case(
        "cancel_jobs",
        f"app_jobs.cancel_jobs(db_id := '{TENANT}', all_tenants := true)",
        "PJ122",
    ),
    "reschedule_jobs/run_at infinity": Case(
        "reschedule_jobs", f"app_jobs.reschedule_jobs({WAITING_IDS}, run_at := 'infinity')", "PJ119"
    ),
    "reschedule_jobs/run_at BC": Case(
        "reschedule_jobs",
        f"app_jobs.reschedule_jobs({WAITING_IDS}, run_at := '0044-03-15 BC')",
        "PJ119",
    ),
    "rerun_job/NULL": Case("rerun_job", "app_jobs.rerun_job(NULL)", "PJ103"),
    "rerun_job/live": Case(
        "rerun_job", "app_jobs.rerun_job((SELECT min(id) FROM app_jobs.jobs))", "PJ304"
    ),
    "rerun_job/unknown": Case("rerun_job", "app_jobs.rerun_job(-1)", "PJ303"),
    "reclaim_stuck_jobs/zero": Case(
        "reclaim_stuck_jobs", "app_jobs.reclaim_stuck_jobs(interval '0')", "PJ105"
    ),
    "reclaim_stuck_jobs/NULL": Case(
        "reclaim_stuck_jobs", "app_jobs.reclaim_stuck_jobs(NULL)", "PJ105"
    ),
    "cleanup_jobs/negative": Case(
        "cleanup_jobs", "app_jobs.cleanup_jobs(interval '-1 day')", "PJ105"
    ),
    "cleanup_jobs/unknown status": Case(
        "cleanup_jobs", "app_jobs.cleanup_jobs(interval '1 day', '{running}')", "PJ115"
    ),
    "cleanup_jobs/no status": Case(
        "cleanup_jobs", "app_jobs.cleanup_jobs(interval '1 day', '{}')", "PJ115"
    ),
    # dashboard reads
    "search_jobs/unknown status": Case(
        "search_jobs", "app_jobs.search_jobs(status := '{done}')", "PJ115"
    ),
    "search_jobs/limit 0": Case("search_jobs", "app_jobs.search_jobs(row_limit := 0)", "PJ116"),
    "search_jobs/window too long": Case(
        "search_jobs", "app_jobs.search_jobs('{}', history_window := interval '8 days')", "PJ150"
    ),
    "search_jobs/window NULL": Case(
        "search_jobs", "app_jobs.search_jobs('{}', history_window := NULL)", "PJ150"
    ),
    "search_jobs/payload a number": Case("search_jobs", "app_jobs.search_jobs('7')", "PJ151"),
    "search_jobs/payload text empty": Case(
        "search_jobs", "app_jobs.search_jobs(payload_text := '')", "PJ151"
    ),
    "job_throughput/zero": Case("job_throughput", "app_jobs.job_throughput(interval '0')", "PJ150"),
    "job_throughput/too long": Case(
        "job_throughput", "app_jobs.job_throughput(interval '2 days')", "PJ150"
    ),
    "queue_gauges/max_age short": Case(
        "queue_gauges", "app_jobs.queue_gauges(interval '0.5 seconds')", "PJ150"
    ),
    "queue_gauges/max_rows 0": Case(
        "queue_gauges", "app_jobs.queue_gauges(max_rows := 0)", "PJ152"
    ),
    # which tasks the live workers serve (declare_worker_tasks, issue 14)
    "declare_worker_tasks/worker_id NULL": Case(
        "declare_worker_tasks", "app_jobs.declare_worker_tasks(NULL, '{mail}')", "PJ102"
    ),
    "declare_worker_tasks/worker_id too long": Case(
        "declare_worker_tasks",
        "app_jobs.declare_worker_tasks(repeat('w', 201), '{mail}')",
        "PJ102",
    ),
    "declare_worker_tasks/tasks NULL": Case(
        "declare_worker_tasks", "app_jobs.declare_worker_tasks('w', NULL)", "PJ160"
    ),
    "declare_worker_tasks/no task": Case(
        "declare_worker_tasks", "app_jobs.declare_worker_tasks('w', '{}')", "PJ160"
    ),
    "declare_worker_tasks/a NULL task": Case(
        "declare_worker_tasks", "app_jobs.declare_worker_tasks('w', '{mail,NULL}')", "PJ160"
    ),
    "declare_worker_tasks/an empty task": Case(
        "declare_worker_tasks", "app_jobs.declare_worker_tasks('w', '{mail,\"\"}')", "PJ160"
    ),
    "declare_worker_tasks/a task too long": Case(
        "declare_worker_tasks",
        "app_jobs.declare_worker_tasks('w', ARRAY[repeat('t', 256)])",
        "PJ160",
    ),
    "declare_worker_tasks/1001 tasks": Case(
        "declare_worker_tasks",
        "app_jobs.declare_worker_tasks('w', array_fill('t'::text, ARRAY[1001]))",
        "PJ160",
    ),
    # maintenance
    "create_history_partitions/negative": Case(
        "create_history_partitions", "app_jobs.create_history_partitions(-1)", "PJ110"
    ),
    "create_history_partitions/too many": Case(
        "create_history_partitions", "app_jobs.create_history_partitions(367)", "PJ110"
    ),
    "create_history_partitions/NULL": Case(
        "create_history_partitions", "app_jobs.create_history_partitions(NULL)", "PJ110"
    ),
    # worker_id over 200 characters, on the rest of the worker path (0.4.0, csql)
    "complete_job/worker too long": Case(
        "complete_job", "app_jobs.complete_job(repeat('w', 201), 1)", "PJ102"
    ),
    "fail_job/worker too long": Case(
        "fail_job", "app_jobs.fail_job(repeat('w', 201), 1, 'e')", "PJ102"
    ),
    "claim_job/worker too long": Case(
        "claim_job", "app_jobs.claim_job(repeat('w', 201), 1)", "PJ102"
    ),
    "release_jobs/worker too long": Case(
        "release_jobs", "app_jobs.release_jobs(repeat('w', 201))", "PJ102"
    ),
    # task settings (0.4.0)
    "set_task_settings/identifier NULL": Case(
        "set_task_settings", "app_jobs.set_task_settings(NULL, max_attempts := 2)", "PJ101"
    ),
    "set_task_settings/nothing to set": Case(
        "set_task_settings", "app_jobs.set_task_settings('t')", "PJ180"
    ),
    "set_task_settings/max_attempts 0": Case(
        "set_task_settings", "app_jobs.set_task_settings('t', max_attempts := 0)", "PJ104"
    ),
    "set_task_settings/queue_name empty": Case(
        "set_task_settings", "app_jobs.set_task_settings('t', queue_name := '')", "PJ106"
    ),
    "set_task_settings/bad backoff": Case(
        "set_task_settings",
        """app_jobs.set_task_settings('t', backoff := '{"base": -1}')""",
        "PJ117",
    ),
    "set_task_settings/timeout negative": Case(
        "set_task_settings", "app_jobs.set_task_settings('t', timeout := '-1 second')", "PJ406"
    ),
    "set_task_settings/retention zero": Case(
        "set_task_settings", "app_jobs.set_task_settings('t', retention := '0')", "PJ105"
    ),
    "unset_task_settings/identifier empty": Case(
        "unset_task_settings", "app_jobs.unset_task_settings('')", "PJ101"
    ),
    "unset_task_settings/unknown setting": Case(
        "unset_task_settings", "app_jobs.unset_task_settings('t', settings := '{colour}')", "PJ180"
    ),
    "unset_task_settings/empty list": Case(
        "unset_task_settings", "app_jobs.unset_task_settings('t', settings := '{}')", "PJ180"
    ),
    "declare_task_settings/NULL": Case(
        "declare_task_settings", "app_jobs.declare_task_settings(NULL)", "PJ180"
    ),
    "declare_task_settings/an array": Case(
        "declare_task_settings", "app_jobs.declare_task_settings('[]')", "PJ180"
    ),
    "declare_task_settings/unknown setting": Case(
        "declare_task_settings",
        """app_jobs.declare_task_settings('{"t": {"retries": 3}}')""",
        "PJ180",
    ),
    "declare_task_settings/max_attempts a fraction": Case(
        "declare_task_settings",
        """app_jobs.declare_task_settings('{"t": {"max_attempts": 1.5}}')""",
        "PJ180",
    ),
    "declare_task_settings/max_attempts 0": Case(
        "declare_task_settings",
        """app_jobs.declare_task_settings('{"t": {"max_attempts": 0}}')""",
        "PJ104",
    ),
    "declare_task_settings/timeout not an interval": Case(
        "declare_task_settings",
        """app_jobs.declare_task_settings('{"t": {"timeout": "soon"}}')""",
        "PJ180",
    ),
    "declare_task_settings/empty task name": Case(
        "declare_task_settings", """app_jobs.declare_task_settings('{"": {}}')""", "PJ101"
    ),
    "declare_task_settings/negative version": Case(
        "declare_task_settings", "app_jobs.declare_task_settings('{}', -1)", "PJ180"
    ),
    # job-key modes and schedules' add_job parameters (0.4.0)
    "add_job/unknown job_key_mode": Case(
        "add_job", "app_jobs.add_job(NULL, 't', job_key := 'k', job_key_mode := 'merge')", "PJ181"
    ),
    "add_jobs/unknown job_key_mode": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL, NULL, NULL)]"
        "::app_jobs.job_spec[], job_key_mode := '')",
        "PJ181",
    ),
    "add_scheduled_job/correlation_id empty": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', correlation_id := '')",
        "PJ106",
    ),
    "add_scheduled_job/bad backoff": Case(
        "add_scheduled_job",
        """app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', backoff := '{"x": 1}')""",
        "PJ117",
    ),
    "add_scheduled_job/timeout 0": Case(
        "add_scheduled_job",
        "app_jobs.add_scheduled_job(NULL, 't', cron := '@daily', timeout := '0')",
        "PJ406",
    ),
    # worker leases (0.4.0): unregister_worker
    "unregister_worker/worker NULL": Case(
        "unregister_worker", "app_jobs.unregister_worker(NULL, gen_random_uuid())", "PJ102"
    ),
    "unregister_worker/worker too long": Case(
        "unregister_worker",
        "app_jobs.unregister_worker(repeat('w', 201), gen_random_uuid())",
        "PJ102",
    ),
    "unregister_worker/instance NULL": Case(
        "unregister_worker", "app_jobs.unregister_worker('seed-worker', NULL)", "PJ123"
    ),
    # the per-job timeout (0.4.0): more than 0, at most 7 days, in add_job and add_jobs
    "add_job/timeout 0": Case("add_job", "app_jobs.add_job(NULL, 't', timeout := '0')", "PJ406"),
    "add_job/timeout negative": Case(
        "add_job", "app_jobs.add_job(NULL, 't', timeout := '-1 second')", "PJ406"
    ),
    "add_job/timeout over 7 days": Case(
        "add_job", "app_jobs.add_job(NULL, 't', timeout := '7 days 1 second')", "PJ406"
    ),
    "add_job/timeout a month that is 0": Case(
        "add_job", "app_jobs.add_job(NULL, 't', timeout := '1 mon -30 days')", "PJ406"
    ),
    "add_jobs/timeout element 2": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL, NULL, NULL),"
        " ROW(NULL, 't', NULL, NULL, NULL, NULL, NULL, NULL)]::app_jobs.job_spec[],"
        " timeouts := ARRAY['1 minute', '0']::interval[])",
        "PJ406",
    ),
    "add_jobs/timeouts wrong length": Case(
        "add_jobs",
        "app_jobs.add_jobs(ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL, NULL, NULL)]"
        "::app_jobs.job_spec[], timeouts := ARRAY['1 minute', '1 minute']::interval[])",
        "PJ131",
    ),
    # pause and resume (0.4.0): pause_jobs, resume_jobs
    "pause_jobs/no key": Case("pause_jobs", "app_jobs.pause_jobs(reason := 'why')", "PJ182"),
    "pause_jobs/task empty": Case("pause_jobs", "app_jobs.pause_jobs(task := '')", "PJ183"),
    "pause_jobs/queue too long": Case(
        "pause_jobs", "app_jobs.pause_jobs(queue := repeat('q', 256))", "PJ183"
    ),
    "pause_jobs/reason too long": Case(
        "pause_jobs", "app_jobs.pause_jobs(task := 't', reason := repeat('r', 1001))", "PJ183"
    ),
    "resume_jobs/no key": Case("resume_jobs", "app_jobs.resume_jobs()", "PJ182"),
    "resume_jobs/queue empty": Case("resume_jobs", "app_jobs.resume_jobs(queue := '')", "PJ183"),
    "park_paused_jobs/max_jobs 0": Case(
        "park_paused_jobs", "app_jobs.park_paused_jobs(0)", "PJ185"
    ),
    "park_paused_jobs/max_jobs NULL": Case(
        "park_paused_jobs", "app_jobs.park_paused_jobs(NULL)", "PJ185"
    ),
    # limits and tenant fairness (issue 18): set_job_limit, remove_job_limit, set_tenant_fairness
    "set_job_limit/no key": Case(
        "set_job_limit", "app_jobs.set_job_limit(max_running := 1)", "PJ220"
    ),
    "set_job_limit/no limit": Case("set_job_limit", "app_jobs.set_job_limit('t')", "PJ221"),
    "set_job_limit/task empty": Case(
        "set_job_limit", "app_jobs.set_job_limit('', max_running := 1)", "PJ222"
    ),
    "set_job_limit/task too long": Case(
        "set_job_limit", "app_jobs.set_job_limit(repeat('t', 256), max_running := 1)", "PJ222"
    ),
    "set_job_limit/max_running negative": Case(
        "set_job_limit", "app_jobs.set_job_limit('t', max_running := -1)", "PJ223"
    ),
    "set_job_limit/max_running too large": Case(
        "set_job_limit", "app_jobs.set_job_limit('t', max_running := 1000001)", "PJ223"
    ),
    "set_job_limit/max_starts without period": Case(
        "set_job_limit", "app_jobs.set_job_limit('t', max_starts := 5)", "PJ224"
    ),
    "set_job_limit/period without max_starts": Case(
        "set_job_limit", "app_jobs.set_job_limit('t', per_period := '1 minute')", "PJ224"
    ),
    "set_job_limit/max_starts 0": Case(
        "set_job_limit", "app_jobs.set_job_limit('t', max_starts := 0, per_period := '1s')", "PJ224"
    ),
    "set_job_limit/period negative": Case(
        "set_job_limit",
        "app_jobs.set_job_limit('t', max_starts := 5, per_period := '-1 minute')",
        "PJ224",
    ),
    "set_job_limit/period over a year": Case(
        "set_job_limit",
        "app_jobs.set_job_limit('t', max_starts := 5, per_period := '400 days')",
        "PJ224",
    ),
    "remove_job_limit/no key": Case("remove_job_limit", "app_jobs.remove_job_limit()", "PJ220"),
    "set_tenant_fairness/NULL": Case(
        "set_tenant_fairness", "app_jobs.set_tenant_fairness(NULL)", "PJ226"
    ),
    # roles (grant_roles): refused before any role is created or granted to
    "grant_roles/NULL name": Case("grant_roles", "app_jobs.grant_roles(NULL)", "PJ165"),
    "grant_roles/pg_ name": Case("grant_roles", "app_jobs.grant_roles(worker := 'pg_w')", "PJ165"),
    "grant_roles/the owner": Case(
        "grant_roles", "app_jobs.grant_roles(admin := current_user)", "PJ165"
    ),
    "grant_roles/same name twice": Case(
        "grant_roles", "app_jobs.grant_roles('pj_same', 'pj_same')", "PJ166"
    ),
    # payload schemas (issue 19): refused when registered (PJ191), a payload failing its task's
    # schema refused at enqueue (PJ190; the schema is set in the same statement, rolled back)
    "validate_payload/identifier NULL": Case(
        "validate_payload", "app_jobs.validate_payload(NULL, '{}')", "PJ101"
    ),
    "set_task_settings/payload_schema unsupported keyword": Case(
        "set_task_settings",
        """app_jobs.set_task_settings('t', payload_schema := '{"if": {}}')""",
        "PJ191",
    ),
    "set_task_settings/payload_schema not a schema": Case(
        "set_task_settings", "app_jobs.set_task_settings('t', payload_schema := '3')", "PJ191"
    ),
    "declare_task_settings/payload_schema bad $ref": Case(
        "declare_task_settings",
        """app_jobs.declare_task_settings('{"t": {"payload_schema": {"$ref": "#/x"}}}')""",
        "PJ191",
    ),
    "add_job/payload fails its schema": Case(
        "add_job",
        """(SELECT app_jobs.set_task_settings('typed', payload_schema := '{"required": ["x"]}')
              AS r) AS s,
           LATERAL app_jobs.add_job(NULL, 'typed',
                                    CASE WHEN s.r IS NULL THEN NULL ELSE '{}' END::json)""",
        "PJ190",
    ),
    "add_jobs/an element fails its schema": Case(
        "add_jobs",
        """(SELECT app_jobs.set_task_settings('typed', payload_schema := '{"type": "object"}')
              AS r) AS s,
           LATERAL app_jobs.add_jobs(ARRAY[
             ROW(NULL, 'typed', '{}', NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec,
             ROW(NULL, 'typed', CASE WHEN s.r IS NULL THEN NULL ELSE '[]' END::json,
                 NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec])""",
        "PJ190",
    ),
}


def test_every_public_function_has_a_bad_input_case(db: Conn) -> None:
    """Every public function that takes arguments (schema_version() takes none)."""
    rows = db.execute(
        "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'app_jobs'::regnamespace"
        " AND proname !~ '^_' AND prorettype <> 'trigger'::regtype AND pronargs > 0"
    ).fetchall()
    assert {row["proname"] for row in rows} == {case.function for case in CASES.values()} - {
        "schedule"
    } | NO_BAD_INPUT


#: Public functions with arguments that no argument can make fail: list_scheduled_jobs takes any
#: tenant (NULL: all of them); find_scheduled_job any key and tenant (a key no schedule has, or
#: NULL, finds none). (Those without arguments, such as run_due_schedules, queue_stats and
#: schema_version, are not asked for a case.)
NO_BAD_INPUT = {"list_scheduled_jobs", "find_scheduled_job"}
#: list_task_settings takes any tenant (NULL: the all-tenants view).
NO_BAD_INPUT |= {"list_task_settings"}
#: task_coverage takes any tenant (NULL: all of them).
NO_BAD_INPUT |= {"task_coverage"}
#: list_pauses takes any tenant (NULL: every pause).
NO_BAD_INPUT |= {"list_pauses"}
#: list_job_limits takes any tenant (NULL: every limit).
NO_BAD_INPUT |= {"list_job_limits"}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_refused_and_writes_nothing(db: Conn, case: Case) -> None:
    seed(db)
    before = snapshot(db)
    with pytest.raises(psycopg.Error) as caught:
        db.execute(f"SELECT * FROM {case.statement}")
    diag = caught.value.diag
    assert diag.sqlstate == case.sqlstate, caught.value
    assert case.function in (diag.message_primary or ""), "the message must name the function"
    assert diag.message_hint, "a hint must say what to do"
    assert snapshot(db) == before


# --- add_job under random and hostile arguments ---------------------------------------------

#: Text PostgreSQL must store as it is (quotes, SQL, format specifiers, odd Unicode), and
#: NUL, which text and jsonb cannot hold at all.
HOSTILE = ["'; DROP TABLE app_jobs.jobs; --", '"', "\\", "%s %I %L", " ", "\u202e", "é", "a\x00b"]
#: Text PostgreSQL can store: UTF-8 (no lone surrogates), no NUL.
storable = st.characters(codec="utf-8", exclude_characters="\x00")
plain_text = st.text(storable, min_size=1, max_size=20)
any_text = (
    plain_text | st.text(st.characters(codec="utf-8"), max_size=20) | st.sampled_from(HOSTILE)
)


def around(limit: int) -> st.SearchStrategy[str]:
    """Text just under and just over a length limit."""
    return st.text(storable, min_size=limit - 2, max_size=limit + 2)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def text_argument(limit: int) -> st.SearchStrategy[str | None]:
    """Mostly storable text; sometimes NULL, empty, hostile or around the length limit."""
    return st.one_of(
        plain_text,
        plain_text,
        plain_text,
        plain_text,
        any_text,
        st.none(),
        st.just(""),
        around(limit),
    )


int4 = st.none() | st.integers(-3, 30) | st.integers(-(2**31), 2**31 - 1)


class SqlNull:
    """The payload argument left NULL (as opposed to the JSON value null)."""

    def __repr__(self) -> str:
        return "SQL_NULL"


SQL_NULL = SqlNull()


class Args(NamedTuple):
    db_id: str | None
    identifier: str | None
    payload: Any  # any JSON value, or SQL_NULL
    job_key: str | None
    queue_name: str | None
    max_attempts: int | None
    priority: int | None


args_strategy = st.builds(
    Args,
    db_id=st.sampled_from([None, TENANT, OTHER_TENANT]),
    identifier=text_argument(255),
    payload=st.just(SQL_NULL) | json_values,
    # A few recurring keys, so that replacing a waiting job in place is exercised too.
    job_key=text_argument(512) | st.sampled_from(["dup-1", "dup-2"]),
    queue_name=text_argument(255),
    max_attempts=int4,
    priority=int4,
)


def has_nul_string(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(has_nul_string(item) for item in value)
    if isinstance(value, dict):
        return any(has_nul_string(k) or has_nul_string(v) for k, v in value.items())
    return False


def expected_failure(args: Args) -> str | None:
    """The SQLSTATE add_job must fail with ("client" when psycopg refuses to send the
    arguments), or None when it must succeed. The element checks come first, then the payload
    (app_jobs._check_payload refuses \u0000 with PJ120)."""
    arguments = (args.identifier, args.job_key, args.queue_name)
    if any(text is not None and "\x00" in text for text in arguments):
        return "client"  # PostgreSQL text cannot hold NUL: psycopg raises DataError, unsent
    if not args.identifier or len(args.identifier) > 255:
        return "PJ101"
    if args.max_attempts is not None and args.max_attempts < 1:
        return "PJ104"
    if args.job_key is not None and (args.job_key == "" or len(args.job_key) > 512):
        return "PJ106"
    if args.queue_name is not None and (args.queue_name == "" or len(args.queue_name) > 255):
        return "PJ106"
    if has_nul_string(args.payload):
        return "PJ120"  # jsonb cannot hold \u0000: _check_payload refuses it
    exponents = re.findall(r"[0-9][eE]([-+]?[0-9]+)", json.dumps(args.payload, default=str))
    if any(abs(int(e)) > 308 for e in exponents):
        return "PJ121"  # a denormal float such as 2.2e-311: an exponent beyond +-308
    return None


def as_json(text: str) -> Any:
    """JSON with every number as a Decimal, so 1e300 and 1000...0 compare equal as JSON."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


ADD_JOB = """
    SELECT id FROM app_jobs.add_job(
      db_id := %(db_id)s, identifier := %(identifier)s, payload := %(payload)s::json,
      job_key := %(job_key)s, queue_name := %(queue_name)s,
      max_attempts := %(max_attempts)s::integer, priority := %(priority)s::integer)
"""


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(args=args_strategy)
def test_add_job_round_trips_or_fails_cleanly(db: Conn, args: Args) -> None:
    params = args._asdict()
    params["payload"] = None if args.payload is SQL_NULL else json.dumps(args.payload)
    tenant = args.db_id or DEFAULT_TENANT
    replaced = None
    if args.job_key is not None and "\x00" not in args.job_key:
        replaced = db.execute(
            "SELECT id FROM app_jobs.jobs WHERE database_id = %s AND key = %s",
            (tenant, args.job_key),
        ).fetchone()
    before = snapshot(db)
    expected = expected_failure(args)
    event(f"outcome: {expected or 'ok'}")

    if expected is not None:
        with pytest.raises(psycopg.Error) as caught:
            db.execute(ADD_JOB, params)
        sqlstate = caught.value.diag.sqlstate
        if expected == "client":
            assert isinstance(caught.value, psycopg.DataError) and sqlstate is None
        else:
            assert sqlstate == expected, caught.value
        assert snapshot(db) == before
        return

    row = db.execute(ADD_JOB, params).fetchone()
    assert row is not None
    job = db.execute(
        "SELECT database_id::text AS tenant, task_identifier, payload::text AS payload, key,"
        "       queue_name, max_attempts, priority, attempts, state"
        "  FROM app_jobs.jobs WHERE id = %s",
        (row["id"],),
    ).fetchone()
    assert job is not None
    # A NULL payload means {}; any JSON value (null included) is kept as it was sent.
    assert as_json(job.pop("payload")) == as_json(params["payload"] or "{}")
    assert job == {
        "tenant": tenant,
        "task_identifier": args.identifier,
        "key": args.job_key,
        "queue_name": args.queue_name,
        "max_attempts": 25 if args.max_attempts is None else args.max_attempts,
        "priority": 0 if args.priority is None else args.priority,
        "attempts": 0,
        "state": "ready",
    }
    jobs_after = len(before["jobs"]) + (0 if replaced else 1)
    assert db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone() == {"n": jobs_after}
    if replaced:
        assert replaced["id"] == row["id"]
