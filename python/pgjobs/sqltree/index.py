"""``sql/README.md``: the index of the SQL tree, generated from ``sqitch.plan``.

    python3 -m pgjobs.sqltree.index            rewrite sql/README.md (``make sql-index``)
    python3 -m pgjobs.sqltree.index --check    exit 1 when sql/README.md is stale

One line per live object (its kind, its name, the script holding its live definition, the
release that last changed it) and a section for the retired ones: a change whose live deploy
script only drops what earlier releases created (0.3.0 retired ``_count_queue`` that way,
keeping the change's name). A released change is never renamed, so this index is where a
reader tells the live from the retired without reading the plan.

Standard library only, like the rest of :mod:`pgjobs.sqltree`.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pgjobs.sqltree.generated import write_or_check
from pgjobs.sqltree.plan import Change, Plan, load_plan
from pgjobs.sqltree.sqlfiles import read_script, sql_dir

__all__ = ["Entry", "entries", "main", "render"]

INDEX_NAME: Final = "README.md"

_CREATE = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+)?"
    r"(TABLE|VIEW|MATERIALIZED\s+VIEW|FUNCTION|PROCEDURE|TRIGGER|TYPE|SCHEMA|INDEX|SEQUENCE)\b",
    re.IGNORECASE,
)
_DROP = re.compile(r"\bDROP\s+(TABLE|VIEW|FUNCTION|PROCEDURE|TRIGGER|TYPE|INDEX)\b", re.I)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)
_DOLLAR_BODY = re.compile(r"\$(\w*)\$.*?\$\1\$", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One object of the SQL tree as its live change leaves it."""

    change: str
    """The change name, ``functions/get_job``."""
    kind: str
    """What the live script creates (function, table, view, trigger, ...), or ``retired``."""
    script: str
    """The deploy script with the live definition, relative to ``sql/``."""
    release: str
    """The release that last changed it (``0.3.0``), or ``unreleased``."""
    first_release: str
    """The release that first shipped the change."""


def _kind(text: str, name: str = "") -> str | None:
    """The kind of the first object ``text`` creates outside function bodies, else None. A
    table's rework that only changes its indexes (``tables/jobs`` in 0.4.0) or only alters it
    (``tables/scheduled_jobs`` in 0.4.0) is the table."""
    code = _DOLLAR_BODY.sub("", _COMMENT.sub("", text))
    match = _CREATE.search(code)
    if match is not None:
        kind = " ".join(match.group(1).lower().split())
        return "table" if kind == "index" and name.startswith("tables/") else kind
    if name.startswith("tables/") and re.search(r"\bALTER\s+TABLE\b", code, re.IGNORECASE):
        return "table"
    return None if _DROP.search(code) else "change"


def _version(tag: str | None) -> str:
    return "unreleased" if tag is None else tag.removeprefix("v")


def entries(plan: Plan) -> list[Entry]:
    """The live instance of every change, in plan order."""
    first: dict[str, Change] = {}
    for change in plan:
        first.setdefault(change.name, change)
    out = []
    for change in plan.latest():
        path = plan.script(change, "deploy")
        kind = _kind(read_script(path, "deploy"), change.name) or "retired"
        out.append(
            Entry(
                change=change.name,
                kind=kind,
                script=path.relative_to(plan.top_dir).as_posix(),
                release=_version(change.release),
                first_release=_version(first[change.name].release),
            )
        )
    return out


def _object(change: str) -> str:
    return "app_jobs" if change == "schema" else f"app_jobs.{change.split('/', 1)[-1]}"


def render(plan: Plan) -> str:
    """The text of ``sql/README.md``."""
    listed = entries(plan)
    live = [entry for entry in listed if entry.kind != "retired"]
    retired = [entry for entry in listed if entry.kind == "retired"]
    lines = [
        "# The SQL tree: what is live",
        "",
        "<!-- Generated from sqitch.plan by `make sql-index` (python3 -m pgjobs.sqltree.index);"
        " do not edit. tests/install/test_sql_index.py fails when it is stale. -->",
        "",
        "One sqitch change per object: `deploy/<kind>/<name>.sql` creates it, `revert/` undoes it,",
        "`verify/` checks it. A released change that evolves is reworked: its plain file holds the",
        "live definition and `<name>@vX.Y.Z.sql` keeps each earlier released one (history, never",
        "edited). A change is never renamed, so an object retired by a release keeps its change",
        "name; its live deploy script is the one that drops it (listed at the end).",
        "",
        f"## Live objects ({len(live)})",
        "",
        "| kind | object | live definition | last changed in | since |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {e.kind} | `{_object(e.change)}` | [{e.script}]({e.script}) | {e.release} "
        f"| {e.first_release} |"
        for e in live
    ]
    lines += [
        "",
        f"## Retired objects ({len(retired)})",
        "",
        "Dropped by the release named; the script is the change's live deploy script, which only",
        "drops. Their earlier definitions stay in the `@vX.Y.Z` files for the upgrade path.",
        "",
        "| object | retired in | retiring script | created in |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{_object(e.change)}` ({e.change.split('/', 1)[0].rstrip('s')}) | {e.release} "
        f"| [{e.script}]({e.script}) | {e.first_release} |"
        for e in retired
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m pgjobs.sqltree.index", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the index is stale")
    parser.add_argument("--sql-dir", type=Path, default=None, help="default: pgjobs' sql/")
    args = parser.parse_args(argv)
    top: Path = args.sql_dir or sql_dir()
    text = render(load_plan(top))
    return write_or_check(top / INDEX_NAME, text, check=args.check, regenerate="make sql-index")


if __name__ == "__main__":
    sys.exit(main())
