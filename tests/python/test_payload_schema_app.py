"""Payload schemas from Python (issue 19): a handler's pydantic payload type is declared as its
task's payload schema (model_json_schema()) when the App declares its settings (worker start,
first enqueue), so a job enqueued from SQL, any language or a trigger holds the same type; the
schema pydantic writes round-trips (valid payloads accepted, invalid ones refused with the
path); a schema the database refuses is left out with a WARNING; ``pgjobs tasks`` shows it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal
from uuid import UUID

import psycopg
import pytest
from cli_support import clean_env, run_pgjobs
from pydantic import BaseModel, Field, StringConstraints
from test_worker import sql

from pgjobs.runtime.app import App


class Color(Enum):
    red = "red"
    blue = "blue"


class Item(BaseModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    qty: int = Field(1, ge=1, le=99)
    price: Decimal


class Order(BaseModel):
    id: UUID
    at: datetime
    day: date
    color: Color
    kind: Literal["a", "b"]
    note: str | None = None
    items: list[Item]
    tags: set[str] = set()
    pair: tuple[int, str] = (1, "x")
    meta: dict[str, int] = {}
    ratio: float = Field(0.5, gt=0, lt=1)


class Keys(BaseModel):
    """Keys with a pattern: pydantic writes patternProperties, which pgjobs refuses."""

    counts: dict[Annotated[str, StringConstraints(pattern="^a")], int]


class Node(BaseModel):
    value: int
    children: list[Node] = []


GOOD = Order(
    id=UUID("5b720132-17d5-424d-9bcb-ee7b17c13d43"),
    at=datetime(2026, 12, 5, 21, 0, tzinfo=UTC),
    day=date(2026, 12, 5),
    color=Color.red,
    kind="a",
    items=[Item(name="pen", price=Decimal("1.50")), Item(name="ink", qty=3, price=Decimal(2))],
    tags={"x", "y"},
    meta={"a": 1},
).model_dump(mode="json")

#: (a change to GOOD, the path the database names, the keyword)
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"items": [GOOD["items"][0], {"name": "", "price": 1}]}, "/items/1/name", "minLength"),
    ({"items": [{"name": "x", "qty": 100, "price": 1}]}, "/items/0/qty", "maximum"),
    ({"items": [{"name": "x"}]}, "/items/0", "required"),
    ({"color": "green"}, "/color", "enum"),
    ({"kind": "c"}, "/kind", "enum"),
    ({"id": "not-a-uuid"}, "/id", "format"),
    ({"at": "yesterday"}, "/at", "format"),
    ({"day": "2026-02-30"}, "/day", "format"),
    ({"note": 5}, "/note", "anyOf"),
    ({"tags": ["x", "x"]}, "/tags", "uniqueItems"),
    ({"pair": [1, 2]}, "/pair/1", "type"),
    ({"pair": [1, "x", 3]}, "/pair", "maxItems"),
    ({"meta": {"a": "one"}}, "/meta/a", "type"),
    ({"ratio": 1}, "/ratio", "exclusiveMaximum"),
    ({"items": "none"}, "/items", "type"),
]


def order_app(dsn: str) -> App:
    app = App(dsn)

    @app.task("order")
    def handle(payload: Order) -> None:
        return None

    @app.task("tree")
    def tree(payload: Node) -> None:
        return None

    @app.task("untyped")
    def untyped(payload: Any) -> None:
        return None

    return app


def enqueue(dsn: str, task: str, payload: Any) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT app_jobs.add_job(NULL, %s, %s::json)", (task, json.dumps(payload)))


def test_a_pydantic_model_round_trips_through_the_database(dsn: str) -> None:
    app = order_app(dsn)
    app.sync.declare_settings()
    rows = sql(dsn, "SELECT * FROM app_jobs.list_task_settings()")
    schemas = {r["task_identifier"]: r for r in rows if r["setting"] == "payload_schema"}
    assert schemas["order"]["source"] == "code"
    assert json.loads(schemas["order"]["value"]) == Order.model_json_schema()
    assert "untyped" not in schemas or schemas["untyped"]["value"] is None
    enqueue(dsn, "order", GOOD)
    for change, path, keyword in BAD:
        payload = {**GOOD, **change}
        with pytest.raises(psycopg.Error) as caught:
            enqueue(dsn, "order", payload)
        assert caught.value.sqlstate == "PJ190", caught.value
        assert caught.value.diag.message_detail == f"path: {path}; keyword: {keyword}", change
        if path != "/tags":  # a set: pydantic drops repeats, its schema says uniqueItems
            with pytest.raises(ValueError):  # pydantic agrees it is invalid
                Order.model_validate(payload)
    # The recursive model: a deep tree is checked to its leaves.
    tree: dict[str, Any] = {"value": 0}
    for i in range(30):
        tree = {"value": i, "children": [tree]}
    enqueue(dsn, "tree", tree)
    bad = json.loads(json.dumps(tree).replace('"value": 0', '"value": "zero"'))
    with pytest.raises(psycopg.Error) as caught:
        enqueue(dsn, "tree", bad)
    assert (
        caught.value.diag.message_detail == "path: " + "/children/0" * 30 + "/value; keyword: type"
    )
    # Python-enqueued jobs are dumped by pydantic: they hold the same schema.
    app.sync.later("order", Order.model_validate(GOOD))
    [count] = sql(dsn, "SELECT count(*) AS n FROM app_jobs.jobs WHERE task_identifier = 'order'")
    assert count["n"] == 2


def test_a_schema_the_database_refuses_is_left_out_with_a_warning(
    dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = App(dsn)

    @app.task("keys", max_attempts=3)
    def keys(payload: Keys) -> None:
        return None

    with caplog.at_level(logging.WARNING, logger="pgjobs.worker"):
        app.sync.declare_settings()
    assert any("patternProperties" in r.getMessage() for r in caplog.records)
    rows = sql(dsn, "SELECT * FROM app_jobs.list_task_settings()")
    effective = {(r["task_identifier"], r["setting"]): r["value"] for r in rows}
    assert effective[("keys", "max_attempts")] == "3"
    assert effective[("keys", "payload_schema")] is None
    enqueue(dsn, "keys", {"b": 1})


def test_pgjobs_tasks_shows_and_sets_a_payload_schema(dsn: str) -> None:
    order_app(dsn).sync.declare_settings()
    done = run_pgjobs("tasks", "--dsn", dsn, env=clean_env())
    assert done.returncode == 0, done.stderr
    line = next(
        x for x in done.stdout.splitlines() if x.startswith("order") and "payload_schema" in x
    )
    assert "JSON Schema ('Order'," in line and "code" in line
    done = run_pgjobs(
        "tasks", "set", "untyped", "--payload-schema", '{"type": "object", "required": ["x"]}',
        "--dsn", dsn, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with pytest.raises(psycopg.Error) as caught:
        enqueue(dsn, "untyped", {})
    assert caught.value.sqlstate == "PJ190"
    done = run_pgjobs(
        "tasks", "set", "untyped", "--payload-schema", '{"if": {}}', "--dsn", dsn, env=clean_env()
    )
    assert done.returncode != 0 and "unsupported keyword" in done.stderr
