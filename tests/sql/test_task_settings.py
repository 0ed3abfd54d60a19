"""Task settings in SQL (0.4.0): app_jobs.task_settings and its functions, and every enqueue
path applying them (add_job, add_jobs, the enqueue triggers, schedules) when the caller leaves
a value out. Per field: argument > operator (tenant) > operator (all tenants) > code > default.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
T1 = "11111111-1111-1111-1111-111111111111"
T2 = "22222222-2222-2222-2222-222222222222"


def effective(db: Conn, db_id: str | None = None) -> dict[tuple[str, str], tuple[Any, str]]:
    rows = db.execute("SELECT * FROM app_jobs.list_task_settings(%s)", (db_id,)).fetchall()
    return {(r["task_identifier"], r["setting"]): (r["value"], r["source"]) for r in rows}


def declare(db: Conn, settings: str, version: int = 0) -> int:
    row = db.execute(
        "SELECT app_jobs.declare_task_settings(%s, %s) AS n", (settings, version)
    ).fetchone()
    assert row is not None
    return int(row["n"])


def test_no_settings_lists_nothing(db: Conn) -> None:
    assert effective(db) == {}


def test_each_value_comes_from_the_first_source_that_sets_it(db: Conn) -> None:
    declare(db, '{"charge": {"max_attempts": 2, "priority": 5, "queue_name": "pay", '
                '"timeout": 30, "backoff": {"strategy": "fixed", "base": 10}}}')  # fmt: skip
    db.execute("SELECT app_jobs.set_task_settings('charge', max_attempts := 4, priority := 1)")
    db.execute(f"SELECT app_jobs.set_task_settings('charge', '{T1}', priority := -3)")
    everyone = effective(db)
    assert everyone[("charge", "max_attempts")] == ("4", "operator")
    assert everyone[("charge", "priority")] == ("1", "operator")
    assert everyone[("charge", "queue_name")] == ("pay", "code")
    assert everyone[("charge", "timeout")] == ("00:00:30", "code")
    assert everyone[("charge", "retention")] == (None, "default")
    tenant = effective(db, T1)
    assert tenant[("charge", "priority")] == ("-3", "operator (tenant)")
    assert tenant[("charge", "max_attempts")] == ("4", "operator")
    # Another tenant gets the all-tenants values.
    assert effective(db, T2)[("charge", "priority")] == ("1", "operator")


def test_set_keeps_the_settings_not_passed_and_unset_removes_them(db: Conn) -> None:
    db.execute("SELECT app_jobs.set_task_settings('t', max_attempts := 4, priority := 1)")
    db.execute("SELECT app_jobs.set_task_settings('t', timeout := '1 minute')")
    row = db.execute("SELECT * FROM app_jobs.task_settings").fetchone()
    assert row is not None
    assert (row["max_attempts"], row["priority"], str(row["timeout"])) == (4, 1, "0:01:00")
    one = db.execute("SELECT app_jobs.unset_task_settings('t', settings := '{priority}') AS n")
    assert one.fetchone() == {"n": 1}
    assert effective(db)[("t", "priority")] == ("0", "default")
    assert effective(db)[("t", "max_attempts")] == ("4", "operator")
    db.execute("SELECT app_jobs.unset_task_settings('t', settings := '{max_attempts, timeout}')")
    # A row left without settings goes.
    assert db.execute("SELECT count(*) AS n FROM app_jobs.task_settings").fetchone() == {"n": 0}
    gone = db.execute("SELECT app_jobs.unset_task_settings('t') AS n").fetchone()
    assert gone == {"n": 0}


def test_unset_never_touches_the_code_settings(db: Conn) -> None:
    declare(db, '{"t": {"max_attempts": 2}}')
    db.execute("SELECT app_jobs.set_task_settings('t', max_attempts := 9)")
    db.execute("SELECT app_jobs.unset_task_settings('t')")
    assert effective(db)[("t", "max_attempts")] == ("2", "code")


def test_a_declaration_replaces_the_tasks_it_names_and_only_those(db: Conn) -> None:
    assert declare(db, '{"a": {"max_attempts": 2, "priority": 1}, "b": {"priority": 3}}') == 2
    assert declare(db, '{"a": {"max_attempts": 2, "priority": 1}, "b": {"priority": 3}}') == 0
    # a's priority is no longer declared; b is not named: untouched.
    assert declare(db, '{"a": {"max_attempts": 5}}') == 1
    settings = effective(db)
    assert settings[("a", "max_attempts")] == ("5", "code")
    assert settings[("a", "priority")] == ("0", "default")
    assert settings[("b", "priority")] == ("3", "code")
    # A task declared with no settings loses its code row.
    assert declare(db, '{"b": {}}') == 1
    assert ("b", "priority") not in effective(db)


def test_an_unchanged_declaration_writes_nothing(db: Conn) -> None:
    declare(db, '{"a": {"max_attempts": 2, "timeout": "5 minutes", "retention": 86400}}')
    before = db.execute("SELECT xmin::text AS x, updated_at FROM app_jobs.task_settings")
    first = before.fetchall()
    assert declare(db, '{"a": {"max_attempts": 2, "timeout": 300, "retention": "1 day"}}') == 0
    after = db.execute("SELECT xmin::text AS x, updated_at FROM app_jobs.task_settings")
    assert after.fetchall() == first


def test_a_lower_code_version_is_ignored(db: Conn) -> None:
    assert declare(db, '{"a": {"max_attempts": 3}}', version=2) == 1
    assert declare(db, '{"a": {"max_attempts": 9}}', version=1) == 0
    assert declare(db, '{"a": {}}', version=1) == 0
    assert effective(db)[("a", "max_attempts")] == ("3", "code")
    assert declare(db, '{"a": {"max_attempts": 4}}', version=2) == 1
    assert declare(db, '{"a": {"max_attempts": 5}}', version=3) == 1
    row = db.execute("SELECT max_attempts, code_version FROM app_jobs.task_settings").fetchone()
    assert row == {"max_attempts": 5, "code_version": 3}


def test_two_versions_declaring_at_once_settle_on_the_newer(
    db: Conn, connect: Callable[..., Conn]
) -> None:
    # A rolling deploy: old (version 1) and new (version 2) workers start over and over, at the
    # same moments. Whatever the interleaving, the newer declaration stands at the end, and
    # once it is stored the old one never overwrites it.
    rounds = 40
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    seen: list[int] = []
    # Without it a thread could append a read of version 1 after the other appended a later
    # read of version 2 (a CI run saw [2, 1, 2, ...]): the order of the appends, not the reads.
    reading = threading.Lock()

    def declarer(version: int, attempts: int) -> None:
        conn = connect()
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                declare(conn, f'{{"a": {{"max_attempts": {attempts}}}, "b": {{"priority": '
                              f'{attempts}}}}}', version)  # fmt: skip
                with reading:  # reads in `seen` in the order they ran, whichever thread ran them
                    stored = conn.execute(
                        "SELECT code_version FROM app_jobs.task_settings"
                        " WHERE task_identifier = 'a'"
                    ).fetchone()
                    assert stored is not None
                    seen.append(stored["code_version"])
        except BaseException as error:  # reported below
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=declarer, args=(v, 10 + v)) for v in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = db.execute(
        "SELECT task_identifier, max_attempts, priority, code_version FROM app_jobs.task_settings"
        " ORDER BY 1"
    ).fetchall()
    assert rows == [
        {"task_identifier": "a", "max_attempts": 12, "priority": None, "code_version": 2},
        {"task_identifier": "b", "max_attempts": None, "priority": 12, "code_version": 2},
    ]
    # Once version 2 was seen stored, version 1 was never seen again.
    first_new = seen.index(2)
    assert 1 not in seen[first_new:]


def test_the_operators_setting_survives_a_redeclaration(db: Conn) -> None:
    # A worker restart re-declares the code settings: the operator's stay and still win.
    declare(db, '{"charge": {"max_attempts": 5}}')
    db.execute("SELECT app_jobs.set_task_settings('charge', max_attempts := 2)")
    declare(db, '{"charge": {"max_attempts": 7}}', version=9)
    assert effective(db)[("charge", "max_attempts")] == ("2", "operator")


# --- every enqueue path applies them ----------------------------------------------------------


def job(db: Conn, query: str, params: Any = None) -> dict[str, Any]:
    row = db.execute(query, params).fetchone()
    assert row is not None
    return dict(row)


def settings_of(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["max_attempts"], row["priority"], row["queue_name"],
        row["backoff"], None if row["timeout"] is None else str(row["timeout"]),
    )  # fmt: skip


CHARGE = '{"charge": {"max_attempts": 2, "priority": 5, "backoff": {"strategy": "fixed"}}}'


def test_add_job_applies_settings_only_to_what_it_leaves_out(db: Conn) -> None:
    plain = job(db, "SELECT * FROM app_jobs.add_job(NULL, 'charge')")
    assert settings_of(plain) == (25, 0, None, None, None)  # no settings: as before 0.4.0
    declare(db, CHARGE)
    db.execute("SELECT app_jobs.set_task_settings('charge', queue_name := 'pay',"
               " timeout := '30 seconds')")  # fmt: skip
    db.execute(f"SELECT app_jobs.set_task_settings('charge', '{T1}', max_attempts := 4)")
    got = job(db, "SELECT * FROM app_jobs.add_job(NULL, 'charge')")
    assert settings_of(got) == (2, 5, "pay", {"strategy": "fixed"}, "0:00:30")
    tenant = job(db, f"SELECT * FROM app_jobs.add_job('{T1}', 'charge')")
    assert settings_of(tenant)[:3] == (4, 5, "pay")
    explicit = job(
        db,
        "SELECT * FROM app_jobs.add_job(NULL, 'charge', max_attempts := 9, priority := -1,"
        " queue_name := 'q', backoff := '{\"strategy\": \"none\"}', timeout := '1 minute')",
    )
    assert settings_of(explicit) == (9, -1, "q", {"strategy": "none"}, "0:01:00")
    # Another task is not touched.
    other = job(db, "SELECT * FROM app_jobs.add_job(NULL, 'refund')")
    assert settings_of(other) == (25, 0, None, None, None)


def test_add_jobs_applies_settings_per_element(db: Conn) -> None:
    declare(db, CHARGE)
    db.execute(f"SELECT app_jobs.set_task_settings('charge', '{T1}', priority := 7)")
    rows = db.execute(
        "SELECT * FROM app_jobs.add_jobs(ARRAY["
        " ROW(NULL, 'charge', NULL, NULL, NULL, NULL, NULL, NULL),"
        f" ROW('{T1}', 'charge', NULL, NULL, NULL, NULL, 3, NULL),"
        " ROW(NULL, 'refund', NULL, NULL, NULL, NULL, NULL, NULL),"
        " ROW(NULL, 'charge', NULL, 'key', NULL, NULL, NULL, 1)]::app_jobs.job_spec[])"
    ).fetchall()
    assert [(r["max_attempts"], r["priority"]) for r in rows] == [(2, 5), (3, 7), (25, 0), (2, 1)]


def test_a_trigger_enqueue_gets_the_settings(db: Conn) -> None:
    declare(db, CHARGE)
    db.execute("SELECT app_jobs.set_task_settings('charge', max_attempts := 3)")
    db.execute("CREATE TABLE orders (id int PRIMARY KEY)")
    db.execute(
        "CREATE TRIGGER charge AFTER INSERT ON orders FOR EACH ROW"
        f" EXECUTE FUNCTION app_jobs.tg_add_job_with_row_id('{T1}', 'charge')"
    )
    db.execute("INSERT INTO orders VALUES (1)")
    got = job(db, "SELECT * FROM app_jobs.jobs")
    assert (got["max_attempts"], got["priority"], got["payload"]) == (3, 5, {"id": 1})


def test_schedules_apply_the_settings_to_what_they_leave_out(db: Conn) -> None:
    declare(db, CHARGE)
    db.execute("SELECT app_jobs.set_task_settings('charge', timeout := '5 minutes')")
    left_out = job(
        db,
        "SELECT * FROM app_jobs.add_scheduled_job(NULL, 'charge',"
        " cron := '* * * * *', job_key := 'a', correlation_id := 'nightly')",
    )
    assert (left_out["max_attempts"], left_out["priority"]) == (None, None)
    job(
        db,
        "SELECT * FROM app_jobs.add_scheduled_job(NULL, 'charge', cron := '* * * * *',"
        " job_key := 'b', max_attempts := 8, backoff := '{\"strategy\": \"none\"}')",
    )
    by_hand = job(db, "SELECT * FROM app_jobs.run_scheduled_job(%s)", (left_out["id"],))
    assert settings_of(by_hand) == (2, 5, None, {"strategy": "fixed"}, "0:05:00")
    assert by_hand["correlation_id"] == "nightly"
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '1 second'")
    fired = db.execute(
        "SELECT * FROM app_jobs.run_due_schedules() ORDER BY scheduled_job_id"
    ).fetchall()
    assert [settings_of(r) for r in fired] == [
        (2, 5, None, {"strategy": "fixed"}, "0:05:00"),
        (8, 5, None, {"strategy": "none"}, "0:05:00"),
    ]
    assert [r["correlation_id"] for r in fired] == ["nightly", None]


def test_cleanup_jobs_applies_a_shorter_task_retention(db: Conn) -> None:
    declare(db, '{"mid": {"retention": "2 days"}}')
    db.execute("SELECT app_jobs.set_task_settings('short', retention := '1 day')")
    db.execute(f"SELECT app_jobs.set_task_settings('mid', '{T1}', retention := '12 hours')")
    db.execute("SELECT app_jobs.set_task_settings('long', retention := '30 days')")
    for tenant, task in [(None, "short"), (None, "mid"), (T1, "mid"), (None, "long"),
                         (None, "plain")]:  # fmt: skip
        row = job(db, "SELECT * FROM app_jobs.add_job(%s, %s)", (tenant, task))
        assert db.execute("SELECT * FROM app_jobs.claim_job('w', %s)", (row["id"],)).fetchone()
        db.execute("SELECT app_jobs.complete_job('w', %s)", (row["id"],))
    db.execute("UPDATE app_jobs.job_history SET finished_at = now() - interval '30 hours'")
    [done] = db.execute("SELECT * FROM app_jobs.cleanup_jobs(interval '14 days')").fetchall()
    assert done["deleted_jobs"] == 2
    kept = db.execute(
        "SELECT task_identifier, database_id::text AS t FROM app_jobs.job_history ORDER BY 1, 2"
    ).fetchall()
    assert [(r["task_identifier"], r["t"]) for r in kept] == [
        ("long", "00000000-0000-0000-0000-000000000000"),
        ("mid", "00000000-0000-0000-0000-000000000000"),
        ("plain", "00000000-0000-0000-0000-000000000000"),
    ]
    # A longer retention than older_than keeps nothing longer: older_than wins.
    db.execute("UPDATE app_jobs.job_history SET finished_at = now() - interval '20 days'")
    db.execute("SELECT * FROM app_jobs.cleanup_jobs(interval '14 days')")
    assert db.execute("SELECT count(*) AS n FROM app_jobs.job_history").fetchone() == {"n": 0}
