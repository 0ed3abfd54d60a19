"""Payload schemas (issue 19): a JSON Schema per task, in the task settings, checked by every
enqueue path (add_job, add_jobs, the enqueue triggers, schedules) in PL/pgSQL.

The check is property-tested against the ``jsonschema`` package as the oracle over the
supported subset: the interpreter (app_jobs.validate_payload, add_job's path) and the compiled
expression (app_jobs._schema_sql, a bulk enqueue's path) both agree with it on every drawn
schema and value, and the path and keyword named are among those jsonschema reports.
PGJOBS_PROPERTY_EXAMPLES (default 60) sets the examples (`make soak` raises it).
"""

from __future__ import annotations

import json
import os
from typing import Any

import psycopg
import pytest
from helpers import TENANT, Conn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

EXAMPLES = int(os.environ.get("PGJOBS_PROPERTY_EXAMPLES", "60"))
T1 = "11111111-1111-1111-1111-111111111111"


def set_schema(db: Conn, task: str, schema: Any, db_id: str | None = None) -> None:
    db.execute(
        "SELECT app_jobs.set_task_settings(%s, %s, payload_schema := %s::jsonb)",
        (task, db_id, json.dumps(schema)),
    )


def problem(db: Conn, task: str, payload: Any, db_id: str | None = None) -> tuple[str, str] | None:
    row = db.execute(
        "SELECT * FROM app_jobs.validate_payload(%s, %s::jsonb, %s)",
        (task, json.dumps(payload), db_id),
    ).fetchone()
    return None if row is None else (row["path"], row["keyword"])


def compiled_holds(db: Conn, schema: Any, payload: Any) -> bool:
    [expr] = (
        db.execute(
            "SELECT app_jobs._schema_sql(%s::jsonb, %s::jsonb, 'p.v') AS e",
            (json.dumps(schema), json.dumps(schema)),
        )
        .fetchone()
        .values()
    )
    row = db.execute(
        "SELECT " + expr.replace("%", "%%") + " AS ok FROM (SELECT %s::jsonb AS v) AS p",
        (json.dumps(payload),),
    ).fetchone()
    assert row is not None
    return bool(row["ok"])


def pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def spec_array(specs: list[tuple[str, Any]]) -> str:
    rows = (
        f"ROW(NULL, '{task}', '{json.dumps(p)}', NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec"
        for task, p in specs
    )
    return "ARRAY[" + ",".join(rows) + "]"


def jobs(db: Conn) -> int:
    row = db.execute("SELECT count(*) AS n FROM app_jobs.jobs").fetchone()
    assert row is not None
    return int(row["n"])


def refused(db: Conn, sql: str, params: Any = None, code: str = "PJ190") -> psycopg.Error:
    with pytest.raises(psycopg.Error) as caught:
        db.execute(sql, params)
    assert caught.value.sqlstate == code, caught.value
    return caught.value


# -- the oracle ------------------------------------------------------------------------------

KEYS = ["a", "b", "c/d", "t~"]
numbers = st.sampled_from([0, 1, 2, -1, 3, 10, 0.5, 1.5, -2.5, 2.0])
strings = st.text(alphabet="ab0 é", max_size=5)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | strings,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)
TYPES = ["null", "boolean", "object", "array", "number", "string", "integer"]


def leaf_schemas(ref: bool) -> st.SearchStrategy[Any]:
    options = [
        st.booleans(),
        st.sampled_from(TYPES).map(lambda t: {"type": t}),
        st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True).map(
            lambda ts: {"type": ts}
        ),
        st.lists(json_values, min_size=1, max_size=3).map(lambda vs: {"enum": vs}),
        json_values.map(lambda v: {"const": v}),
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["number", "integer"]),
                "minimum": numbers,
                "maximum": numbers,
                "exclusiveMinimum": numbers,
                "exclusiveMaximum": numbers,
                "multipleOf": st.sampled_from([1, 2, 3]),
            },
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.just("string"),
                "minLength": st.integers(0, 4),
                "maxLength": st.integers(0, 4),
                "pattern": st.sampled_from(["^a", "b$", "[0-9]", "^[ab]*$", "é"]),
            },
        ),
    ]
    if ref:
        options.append(st.just({"$ref": "#/$defs/d"}))
    return st.one_of(*options)


def schemas(ref: bool) -> st.SearchStrategy[Any]:
    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.just("object"),
                    "properties": st.dictionaries(st.sampled_from(KEYS), children, max_size=3),
                    "required": st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
                    "additionalProperties": children,
                    "minProperties": st.integers(0, 3),
                    "maxProperties": st.integers(0, 3),
                },
            ),
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.just("array"),
                    "items": children,
                    "prefixItems": st.lists(children, min_size=1, max_size=2),
                    "minItems": st.integers(0, 3),
                    "maxItems": st.integers(0, 3),
                    "uniqueItems": st.booleans(),
                },
            ),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: {"anyOf": xs}),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: {"allOf": xs}),
            st.lists(children, min_size=1, max_size=3).map(lambda xs: {"oneOf": xs}),
            children.map(lambda x: {"not": x}),
        )

    return st.recursive(leaf_schemas(ref), extend, max_leaves=8)


@st.composite
def schemas_with_defs(draw: st.DrawFn) -> Any:
    body = draw(schemas(ref=True))
    if not isinstance(body, dict):
        return body
    return {**body, "$defs": {"d": draw(schemas(ref=False))}, "title": "drawn"}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schema=schemas_with_defs(), values=st.lists(json_values, min_size=1, max_size=4))
def test_the_check_agrees_with_jsonschema(db: Conn, schema: Any, values: list[Any]) -> None:
    set_schema(db, "drawn", schema)
    oracle = Draft202012Validator(schema)
    for value in values:
        errors = list(oracle.iter_errors(value))
        found = problem(db, "drawn", value)
        assert (found is None) == (not errors), (schema, value, found, errors)
        assert compiled_holds(db, schema, value) == (not errors), (schema, value)
        if found is not None:
            reported = {(pointer(e.absolute_path), e.validator or "false") for e in errors}
            assert found in reported, (schema, value, found, reported)


# -- the errors name the path, and nothing is written ----------------------------------------

ORDER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "maxItems": 100},
    },
    "required": ["id", "items"],
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {"name": {"type": "string", "minLength": 1}, "qty": {"type": "integer"}},
            "required": ["name"],
            "additionalProperties": False,
        }
    },
}
GOOD = {"id": 7, "items": [{"name": "a"}, {"name": "b", "qty": 2}]}
BAD = {"id": 7, "items": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": 4}]}


def test_add_job_refuses_a_bad_payload_naming_the_path(db: Conn) -> None:
    set_schema(db, "order", ORDER)
    db.execute("SELECT app_jobs.add_job(%s, 'order', %s::json)", (TENANT, json.dumps(GOOD)))
    error = refused(db, "SELECT app_jobs.add_job(%s, 'order', %s::json)", (TENANT, json.dumps(BAD)))
    assert error.diag.message_primary is not None
    assert error.diag.message_primary.startswith("add_job: payload does not match")
    assert "/items/3/name" in error.diag.message_primary
    assert error.diag.message_detail == "path: /items/3/name; keyword: type"
    assert error.diag.message_hint and "validate_payload" in error.diag.message_hint
    assert jobs(db) == 1
    assert problem(db, "order", BAD) == ("/items/3/name", "type")
    assert problem(db, "order", {"id": 0, "items": []}) == ("/id", "minimum")
    assert problem(db, "order", {"items": []}) == ("", "required")
    assert problem(db, "order", {"id": 1, "items": [{"name": "x", "extra": 1}]}) == (
        "/items/0",
        "additionalProperties",
    )
    # No payload is {}: checked as such.
    refused(db, "SELECT app_jobs.add_job(%s, 'order')", (TENANT,))


def test_add_jobs_refuses_the_call_naming_the_element_and_path(db: Conn) -> None:
    set_schema(db, "order", ORDER)
    specs = [("order", GOOD)] * 3 + [("other", {"free": True}), ("order", BAD), ("order", {})]
    array = spec_array(specs)
    error = refused(db, f"SELECT * FROM app_jobs.add_jobs({array})")
    assert error.diag.message_primary is not None
    assert error.diag.message_primary.startswith("add_jobs: element 5: payload does not match")
    assert "/items/3/name" in error.diag.message_primary
    assert jobs(db) == 0
    good = spec_array(specs[:4])
    assert len(db.execute(f"SELECT * FROM app_jobs.add_jobs({good})").fetchall()) == 4
    # Two schemas in one batch: the first bad element in element order is named.
    set_schema(db, "other", {"type": "object", "required": ["free"]})
    mixed = spec_array([("order", GOOD), ("other", {}), ("order", BAD)])
    error = refused(db, f"SELECT * FROM app_jobs.add_jobs({mixed})")
    assert error.diag.message_primary is not None
    assert error.diag.message_primary.startswith("add_jobs: element 2: ")
    assert jobs(db) == 4


def test_a_bulk_enqueue_of_many_checks_each(db: Conn) -> None:
    set_schema(db, "order", ORDER)
    bad_at = 4321
    rows = db.execute(
        "SELECT count(*) AS n FROM app_jobs.add_jobs(ARRAY(SELECT ROW(NULL, 'order',"
        " json_build_object('id', g, 'items', json_build_array(json_build_object('name', 'x'))),"
        " NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec FROM generate_series(1, 5000) AS g))"
    ).fetchone()
    assert rows is not None and rows["n"] == 5000
    error = refused(
        db,
        "SELECT count(*) FROM app_jobs.add_jobs(ARRAY(SELECT ROW(NULL, 'order',"
        " json_build_object('id', CASE WHEN g = %s THEN 0 ELSE g END, 'items', json_build_array()),"
        " NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec FROM generate_series(1, 5000) AS g))",
        (bad_at,),
    )
    assert error.diag.message_primary is not None
    assert error.diag.message_primary.startswith(f"add_jobs: element {bad_at}: ")
    assert "/id" in error.diag.message_primary
    assert jobs(db) == 5000


# -- registration: precedence, unset, the Python-free declare path ---------------------------


def test_operator_schema_wins_over_code_and_tenant_over_all(db: Conn) -> None:
    db.execute(
        "SELECT app_jobs.declare_task_settings(%s::jsonb)",
        (json.dumps({"t": {"payload_schema": {"required": ["code"]}}}),),
    )
    assert problem(db, "t", {}) == ("", "required")
    assert problem(db, "t", {"code": 1}) is None
    set_schema(db, "t", {"required": ["all"]})
    assert problem(db, "t", {"code": 1}) == ("", "required")
    assert problem(db, "t", {"all": 1}) is None
    set_schema(db, "t", {"required": ["tenant"]}, T1)
    assert problem(db, "t", {"all": 1}, T1) == ("", "required")
    assert problem(db, "t", {"tenant": 1}, T1) is None
    assert problem(db, "t", {"all": 1}, TENANT) is None
    refused(db, "SELECT app_jobs.add_job(%s, 't', '{\"all\": 1}')", (T1,))
    db.execute("SELECT app_jobs.add_job(%s, 't', '{\"tenant\": 1}')", (T1,))
    # Unset: the next source applies again; true turns a declared schema off.
    db.execute("SELECT app_jobs.unset_task_settings('t', %s, ARRAY['payload_schema'])", (T1,))
    assert problem(db, "t", {"all": 1}, T1) is None
    db.execute("SELECT app_jobs.unset_task_settings('t')")
    assert problem(db, "t", {"all": 1}) == ("", "required")
    set_schema(db, "t", True)
    assert problem(db, "t", {"anything": 1}) is None
    listed = {
        (r["setting"], r["source"])
        for r in db.execute("SELECT * FROM app_jobs.list_task_settings()").fetchall()
        if r["task_identifier"] == "t"
    }
    assert ("payload_schema", "operator") in listed


def test_declared_schema_is_replaced_and_removed_by_the_next_declaration(db: Conn) -> None:
    declare = "SELECT app_jobs.declare_task_settings(%s::jsonb) AS n"
    schema = {"t": {"payload_schema": {"type": "object", "required": ["x"]}}}
    assert db.execute(declare, (json.dumps(schema),)).fetchone() == {"n": 1}
    assert db.execute(declare, (json.dumps(schema),)).fetchone() == {"n": 0}  # unchanged
    assert problem(db, "t", {}) == ("", "required")
    db.execute(declare, (json.dumps({"t": {"max_attempts": 2}}),))
    assert problem(db, "t", {}) is None


UNSUPPORTED = [
    ({"patternProperties": {"^a": {}}}, "/patternProperties", "unsupported keyword"),
    ({"properties": {"a": {"if": {}}}}, "/properties/a/if", "unsupported keyword"),
    ({"$id": "https://example.com/s"}, "/$id", "unsupported keyword"),
    ({"items": {"$defs": {"x": {}}}}, "/items/$defs", "only supported at the top"),
    ({"$ref": "https://example.com/s"}, "/$ref", "within the schema only"),
    ({"$ref": "#/$defs/missing"}, "/$ref", "no such definition"),
    ({"pattern": "("}, "/pattern", "not a PostgreSQL regular expression"),
    ({"exclusiveMinimum": True}, "/exclusiveMinimum", "must be a number"),
    ({"type": "float"}, "/type", "type must be one of"),
    ({"required": "a"}, "/required", "array of distinct property names"),
    ({"anyOf": []}, "/anyOf", "non-empty array"),
    ({"minLength": -1}, "/minLength", "whole number"),
    (["a"], "(the top)", "JSON object or true or false"),
]


@pytest.mark.parametrize(("schema", "where", "what"), UNSUPPORTED)
def test_a_schema_pgjobs_would_not_enforce_is_refused(
    db: Conn, schema: Any, where: str, what: str
) -> None:
    for sql, params in (
        (
            "SELECT app_jobs.set_task_settings('t', payload_schema := %s::jsonb)",
            (json.dumps(schema),),
        ),
        (
            "SELECT app_jobs.declare_task_settings(%s::jsonb)",
            (json.dumps({"t": {"payload_schema": schema}}),),
        ),
    ):
        error = refused(db, sql, params, "PJ191")
        message = error.diag.message_primary or ""
        assert f"refused at {where}:" in message and what in message, message
    assert db.execute("SELECT * FROM app_jobs.task_settings").fetchall() == []


def test_pydantic_annotations_are_accepted_and_ignored(db: Conn) -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "T", "description": "d", "default": {}, "examples": [{}], "deprecated": False,
        "readOnly": False, "writeOnly": False, "$comment": "c",
        "oneOf": [{"type": "object"}], "discriminator": {"propertyName": "kind"},
        "properties": {"f": {"type": "string", "format": "binary"}},
    }  # fmt: skip
    set_schema(db, "t", schema)
    assert problem(db, "t", {"f": "anything"}) is None


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        (
            "date",
            ["2024-02-29", "0001-01-01"],
            ["2023-02-29", "2024-13-01", "0000-01-01", "24-1-1"],
        ),
        (
            "date-time",
            ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123+01:00", "2024-01-02T03:04:05"],
            ["2024-01-02", "2024-01-32T00:00:00Z", "2024-01-02T25:00:00Z", "x"],
        ),
        ("time", ["03:04:05", "03:04:05.5Z", "23:59"], ["24:00:00", "3:04"]),
        ("uuid", ["5b720132-17d5-424d-9bcb-ee7b17c13d43"], ["5b72013217d5424d9bcbee7b17c13d43"]),
        ("email", ["ann@example.com"], ["ann", "a b@c", "@c", "a@"]),
    ],
)
def test_formats(db: Conn, fmt: str, good: list[str], bad: list[str]) -> None:
    schema = {"type": "object", "properties": {"v": {"format": fmt}}}
    set_schema(db, "t", schema)
    for value in good:
        assert problem(db, "t", {"v": value}) is None, value
        assert compiled_holds(db, schema, {"v": value}), value
    for value in bad:
        assert problem(db, "t", {"v": value}) == ("/v", "format"), value
        assert not compiled_holds(db, schema, {"v": value}), value
    assert problem(db, "t", {"v": 5}) is None  # format applies to strings only


# -- hostile schemas and payloads are bounded ------------------------------------------------


def test_hostile_schemas_are_refused(db: Conn) -> None:
    deep: Any = {"type": "array"}
    for _ in range(40):
        deep = {"items": deep}
    error = refused(
        db, "SELECT app_jobs.set_task_settings('t', payload_schema := %s::jsonb)",
        (json.dumps(deep),), "PJ191",
    )  # fmt: skip
    assert "nested more than 32 deep" in (error.diag.message_primary or "")
    cycle = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"allOf": [{"$ref": "#/$defs/a"}]}},
             "$ref": "#/$defs/a"}  # fmt: skip
    error = refused(
        db, "SELECT app_jobs.set_task_settings('t', payload_schema := %s::jsonb)",
        (json.dumps(cycle),), "PJ191",
    )  # fmt: skip
    assert "without descending" in (error.diag.message_primary or "")
    # Each definition uses the previous one four times: 4**20 copies once expanded.
    defs = {"d0": {"type": "string", "maxLength": 3}}
    for i in range(1, 21):
        defs[f"d{i}"] = {"allOf": [{"$ref": f"#/$defs/d{i - 1}"}] * 4}
    error = refused(
        db, "SELECT app_jobs.set_task_settings('t', payload_schema := %s::jsonb)",
        (json.dumps({"$defs": defs, "$ref": "#/$defs/d20"}),), "PJ191",
    )  # fmt: skip
    assert "too large" in (error.diag.message_primary or "")
    big = {"enum": ["x" * 1000] * 70}
    error = refused(
        db, "SELECT app_jobs.set_task_settings('t', payload_schema := %s::jsonb)",
        (json.dumps(big),), "PJ191",
    )  # fmt: skip
    assert "over the limit of 65536" in (error.diag.message_primary or "")


def test_a_recursive_schema_checks_a_deep_payload_to_its_end(db: Conn) -> None:
    tree = {"$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}}, "$ref": "#/$defs/n"}
    set_schema(db, "tree", tree)
    deep: Any = []
    for _ in range(99):
        deep = [deep]
    assert problem(db, "tree", deep) is None
    assert compiled_holds(db, tree, deep)
    bad: Any = [1]
    for _ in range(98):
        bad = [bad]
    found = problem(db, "tree", bad)
    assert found == ("/0" * 99, "type")
    assert not compiled_holds(db, tree, bad)
    # Through add_jobs (the compiled check calls the interpreter at the recursion).
    spec = "ROW(NULL, 'tree', %s::json, NULL, NULL, NULL, NULL, NULL)::app_jobs.job_spec"
    error = refused(
        db, f"SELECT * FROM app_jobs.add_jobs(ARRAY[{spec}, {spec}])",
        (json.dumps(deep), json.dumps(bad)),
    )  # fmt: skip
    assert (error.diag.message_primary or "").startswith("add_jobs: element 2: ")


# -- triggers and schedules ------------------------------------------------------------------


def test_an_enqueue_trigger_refuses_the_write_of_a_row_whose_payload_fails(db: Conn) -> None:
    db.execute("CREATE TABLE signups (id int PRIMARY KEY, email text)")
    db.execute(
        "CREATE TRIGGER enqueue AFTER INSERT ON signups FOR EACH ROW"
        f" EXECUTE FUNCTION app_jobs.tg_add_job_with_row('{TENANT}', 'send_email')"
    )
    schema = {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}
    set_schema(db, "send_email", schema)
    db.execute("INSERT INTO signups VALUES (1, 'ann@example.com')")
    error = refused(db, "INSERT INTO signups VALUES (2, 'not an address')")
    assert "/email" in (error.diag.message_primary or "")
    assert db.execute("SELECT id FROM signups").fetchall() == [{"id": 1}]
    assert jobs(db) == 1


def test_schedules_are_checked_when_written_and_when_they_fire(db: Conn) -> None:
    set_schema(db, "report", {"type": "object", "required": ["day"]})
    refused(
        db,
        "SELECT app_jobs.add_scheduled_job(%s, 'report', '{}'::json, cron := '* * * * *')",
        (TENANT,),
    )
    row = db.execute(
        "SELECT id FROM app_jobs.add_scheduled_job(%s, 'report', '{\"day\": 1}'::json,"
        " cron := '* * * * *')",
        (TENANT,),
    ).fetchone()
    assert row is not None
    # A stricter schema registered later: the schedule is skipped with a WARNING, stays due.
    set_schema(db, "report", {"type": "object", "required": ["month"]})
    db.execute("UPDATE app_jobs.scheduled_jobs SET next_run_at = now() - interval '1 second'")
    notices: list[str] = []
    db.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    assert db.execute("SELECT * FROM app_jobs.run_due_schedules()").fetchall() == []
    assert any("skipped" in n and "/ (the payload itself)" in n for n in notices), notices
    error = refused(db, "SELECT app_jobs.run_scheduled_job(%s)", (row["id"],))
    assert (error.diag.message_primary or "").startswith("run_scheduled_job: payload does not")
    assert jobs(db) == 0


def test_unused_schemas_leave_enqueue_as_it_was(db: Conn) -> None:
    # No schema anywhere, settings of another kind: every payload goes in.
    db.execute("SELECT app_jobs.set_task_settings('t', priority := 1)")
    db.execute("SELECT app_jobs.add_job(%s, 't', '[1, \"x\"]')", (TENANT,))
    assert problem(db, "t", "anything") is None
    assert jobs(db) == 1
