"""plpgsql_check over every PL/pgSQL function of app_jobs.

Errors and security warnings fail the suite; so do the other warnings (extra, performance,
compatibility), except the false positives listed in FALSE_POSITIVES with the reason.
Needs the plpgsql_check extension of the system PostgreSQL 15 (Debian package).
"""

from __future__ import annotations

import pytest
from helpers import Conn, Row

pytestmark = pytest.mark.pg15only

#: Trigger functions are checked against a table they may fire on: the internal `_tg_*`
#: ones fire on app_jobs.jobs unless listed here; the enqueue triggers go on users' tables.
SCRATCH_TABLE = "public.lint_scratch"
TRIGGER_TABLES = {"_tg_scheduled_jobs_spec": "app_jobs.scheduled_jobs"}
#: Statement triggers that read a transition table: its name (REFERENCING NEW TABLE AS ...).
NEW_TABLES = {
    "_tg_jobs_inserted": "inserted_jobs",
}

#: (function name, message) pairs that plpgsql_check reports but that are not problems.
#: Each entry says why. Keep this empty unless a finding is provably harmless.
FALSE_POSITIVES: dict[tuple[str, str], str] = {
    (
        "grant_roles",
        "routine is marked as VOLATILE, should be STABLE",
    ): "its writes (CREATE ROLE, GRANT, REVOKE) are all dynamic SQL (EXECUTE format(...)), "
    "whose volatility plpgsql_check cannot see; STABLE would be wrong",
}


@pytest.fixture
def checked_db(db: Conn) -> Conn:
    available = db.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'plpgsql_check'"
    ).fetchone()
    if available is None:
        pytest.skip("the plpgsql_check extension is not installed in this PostgreSQL server")
    db.execute("CREATE EXTENSION plpgsql_check")
    db.execute(f"CREATE TABLE {SCRATCH_TABLE} (id integer PRIMARY KEY, name text)")
    return db


def plpgsql_functions(db: Conn, schema: str = "app_jobs") -> list[Row]:
    return db.execute(
        """
        SELECT p.oid, p.oid::regprocedure::text AS signature, p.proname AS name,
               p.prorettype = 'trigger'::regtype AS is_trigger
          FROM pg_proc AS p
          JOIN pg_language AS l ON l.oid = p.prolang
         WHERE p.pronamespace = %s::regnamespace AND l.lanname = 'plpgsql'
         ORDER BY p.proname
        """,
        (schema,),
    ).fetchall()


def relid_for(function: Row) -> str | int:
    """The table a trigger function is checked against (0 for other functions)."""
    if not function["is_trigger"]:
        return 0
    if not function["name"].startswith("_"):
        return SCRATCH_TABLE
    return TRIGGER_TABLES.get(function["name"], "app_jobs.jobs")


def all_findings(db: Conn, schema: str = "app_jobs") -> list[Row]:
    """Every plpgsql_check finding (errors and every kind of warning) over the schema."""
    found = []
    for function in plpgsql_functions(db, schema):
        found += db.execute(
            """
            SELECT %s AS function, %s AS name, level, sqlstate, message, detail, hint, lineno,
                   statement, context
              FROM plpgsql_check_function_tb(
                     %s::regprocedure, %s::regclass,
                     newtable := %s,
                     fatal_errors := false,
                     other_warnings := true,
                     performance_warnings := true,
                     extra_warnings := true,
                     security_warnings := true,
                     compatibility_warnings := true)
            """,
            (
                function["signature"],
                function["name"],
                function["oid"],
                relid_for(function),
                NEW_TABLES.get(function["name"]),
            ),
        ).fetchall()
    return found


def findings(db: Conn, schema: str = "app_jobs") -> list[Row]:
    """The findings that are not known false positives."""
    return [
        row
        for row in all_findings(db, schema)
        if (row["name"], row["message"]) not in FALSE_POSITIVES
    ]


def describe(rows: list[Row]) -> str:
    return "\n".join(
        f"{row['function']} line {row['lineno']} [{row['level']} {row['sqlstate']}]: "
        f"{row['message']}"
        + (f" ({row['detail']})" if row["detail"] else "")
        + (f" -- {row['context']}" if row["context"] else "")
        for row in rows
    )


def test_the_checker_sees_every_function(checked_db: Conn) -> None:
    names = {row["name"] for row in plpgsql_functions(checked_db)}
    # Spot checks across kinds: public, internal, trigger, enqueue trigger.
    assert {
        "_add_jobs",
        "get_jobs",
        "_sweep",
        "_tg_jobs_queue_wake",
        "tg_add_job_with_row",
    } <= names


def test_the_checker_reports_errors_and_security_warnings(checked_db: Conn) -> None:
    # Proves the harness works: known-bad functions in a scratch schema are reported.
    checked_db.execute("CREATE SCHEMA lint_probe")
    checked_db.execute(
        """
        CREATE FUNCTION lint_probe.broken() RETURNS bigint LANGUAGE plpgsql AS $$
        BEGIN
          RETURN (SELECT j.no_such_column FROM app_jobs.jobs AS j LIMIT 1);
        END $$
        """
    )
    checked_db.execute(
        """
        CREATE FUNCTION lint_probe.injectable(t text) RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER AS $$
        DECLARE n bigint;
        BEGIN
          EXECUTE 'SELECT count(*) FROM ' || t INTO n;
          RETURN n;
        END $$
        """
    )
    rows = findings(checked_db, "lint_probe")
    serious = {(row["name"], row["level"], row["message"]) for row in serious_findings(rows)}
    assert serious == {
        ("broken", "error", "column j.no_such_column does not exist"),
        ("injectable", "security", "text type variable is not sanitized"),
    }, describe(rows)


def serious_findings(rows: list[Row]) -> list[Row]:
    return [row for row in rows if row["level"] in ("error", "security")]


def test_no_errors_or_security_warnings(checked_db: Conn) -> None:
    rows = serious_findings(findings(checked_db))
    assert rows == [], "plpgsql_check errors / security warnings:\n" + describe(rows)


def test_no_other_warnings(checked_db: Conn) -> None:
    rows = findings(checked_db)
    assert rows == [], "plpgsql_check findings:\n" + describe(rows)


def test_false_positive_list_is_still_needed(checked_db: Conn) -> None:
    # An entry that plpgsql_check no longer reports must be removed from FALSE_POSITIVES.
    reported = {(row["name"], row["message"]) for row in all_findings(checked_db)}
    assert set(FALSE_POSITIVES) <= reported
