"""A normalised text snapshot of schema app_jobs, read from the catalog (not pg_dump).

``render(conn)`` lists every object of the schema: the schema itself, types, tables (kind,
partitioning, columns, constraints, indexes, triggers), sequences and functions
(``pg_get_functiondef``), each with its comment and privileges. The text is the same whatever
installed the schema (``pgjobs deploy``, ``sqitch deploy``, ``CREATE EXTENSION``), whoever
owns it and whichever day it is:

- privileges name the object's owner ``OWNER``; an owner holding every privilege the object
  type has (``acldefault``) shows ``ALL``, so PostgreSQL versions with more privilege kinds
  agree; no ACL at all (the built-in default) shows ``default``;
- day partitions ``job_history_pYYYYMMDD`` are left out: maintenance makes them
  (``create_history_partitions``), never an install, and how many exist depends on the day;
- NOT NULL shows on the column only (PostgreSQL 18 also lists it as a constraint);
- the session renders with ``search_path = pg_catalog`` and ``TimeZone = UTC``.

``tests/snapshots/schema.txt`` holds the committed snapshot (test_snapshot.py compares);
``python tests/install/schema_snapshot.py`` (``make snapshot``) rewrites it from a fresh
``pgjobs deploy`` of a scratch database on ``$PGJOBS_TEST_DSN``'s server.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

SNAPSHOT_FILE = Path(__file__).resolve().parents[1] / "snapshots" / "schema.txt"
SCHEMA = "app_jobs"

HEADER = (
    "-- Schema app_jobs as the catalog describes it, normalised by\n"
    "-- tests/install/schema_snapshot.py. Generated: `make snapshot` rewrites this file;\n"
    "-- tests/install/test_snapshot.py compares every install path with it.\n"
)

_DAY_PARTITION = re.compile(r"\bjob_history_p\d{8}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

_SESSION = "SET search_path = pg_catalog; SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'"

# ACL entries of one object: (grantee, grantor, privileges, grantable privileges, is_default),
# owner and PUBLIC named as such. `kind` is acldefault's object-type letter.
_ACL = """
    SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                WHEN a.grantee = %(owner)s THEN 'OWNER' ELSE pg_get_userbyid(a.grantee) END,
           CASE WHEN a.grantor = %(owner)s THEN 'OWNER' ELSE pg_get_userbyid(a.grantor) END,
           array_agg(a.privilege_type ORDER BY a.privilege_type),
           array_agg(a.privilege_type ORDER BY a.privilege_type)
             FILTER (WHERE a.is_grantable),
           a.grantee = %(owner)s AND array_agg(a.privilege_type ORDER BY a.privilege_type)
             = (SELECT array_agg(d.privilege_type ORDER BY d.privilege_type)
                FROM aclexplode(acldefault(%(kind)s, %(owner)s)) d
                WHERE d.grantee = %(owner)s)
    FROM aclexplode(%(acl)s::aclitem[]) a
    GROUP BY a.grantee, a.grantor
    ORDER BY 1, 2"""

_RELATIONS = """
    SELECT c.oid, c.relname, c.relkind::text, c.relpersistence::text, c.relowner,
           c.relacl::text, obj_description(c.oid, 'pg_class'), c.reloptions::text,
           c.relispartition,
           CASE WHEN c.relispartition THEN
             (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid)
           END,
           pg_get_expr(c.relpartbound, c.oid),
           CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
           c.relrowsecurity, c.relforcerowsecurity
    FROM pg_class c
    WHERE c.relnamespace = %(schema)s::regnamespace
      AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"""

_COLUMNS = """
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
           a.attidentity::text, a.attgenerated::text, pg_get_expr(d.adbin, d.adrelid),
           CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text
           END,
           col_description(a.attrelid, a.attnum), a.attacl::text
    FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = %(oid)s AND a.attnum > 0 AND NOT a.attisdropped
    ORDER BY a.attnum"""

_CONSTRAINTS = """
    SELECT conname, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint')
    FROM pg_constraint
    WHERE (conrelid = %(oid)s OR (contypid = %(oid)s AND %(oid)s <> 0)) AND contype <> 'n'
    ORDER BY conname"""

_INDEXES = """
    SELECT pg_get_indexdef(i.indexrelid), obj_description(i.indexrelid, 'pg_class')
    FROM pg_index i WHERE i.indrelid = %(oid)s
    ORDER BY i.indexrelid::regclass::text"""

_TRIGGERS = """
    SELECT pg_get_triggerdef(t.oid), t.tgenabled::text, obj_description(t.oid, 'pg_trigger')
    FROM pg_trigger t WHERE t.tgrelid = %(oid)s AND NOT t.tgisinternal
    ORDER BY t.tgname"""

# Row level security policies; a role that owns the table shows as OWNER.
_POLICIES = """
    SELECT p.polname, p.polcmd::text, p.polpermissive,
           array(SELECT CASE WHEN r = 0 THEN 'PUBLIC' WHEN r = %(owner)s THEN 'OWNER'
                             ELSE pg_get_userbyid(r) END
                   FROM unnest(p.polroles) AS r ORDER BY 1),
           pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid),
           obj_description(p.oid, 'pg_policy')
    FROM pg_policy p WHERE p.polrelid = %(oid)s
    ORDER BY p.polname"""

_SEQUENCE = """
    SELECT format_type(seqtypid, NULL), seqstart, seqincrement, seqmin, seqmax, seqcache,
           seqcycle,
           (SELECT d.refobjid::regclass::text || '.' || a.attname
            FROM pg_depend d JOIN pg_attribute a
              ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
            WHERE d.classid = 'pg_class'::regclass AND d.objid = seqrelid
              AND d.deptype IN ('a', 'i'))
    FROM pg_sequence WHERE seqrelid = %(oid)s"""

_TYPES = """
    SELECT t.oid, t.oid::regtype::text, t.typtype::text, t.typowner, t.typacl::text,
           obj_description(t.oid, 'pg_type'), t.typrelid, format_type(t.typbasetype, t.typtypmod),
           t.typnotnull, t.typdefault,
           (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
            FROM pg_enum e WHERE e.enumtypid = t.oid)
    FROM pg_type t LEFT JOIN pg_class c ON c.oid = t.typrelid
    WHERE t.typnamespace = %(schema)s::regnamespace
      AND (t.typrelid = 0 OR c.relkind = 'c')
      AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid)"""

_FUNCTIONS = """
    SELECT p.oid::regprocedure::text, p.proowner, p.proacl::text,
           obj_description(p.oid, 'pg_proc'), p.prokind::text,
           CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END
    FROM pg_proc p WHERE p.pronamespace = %(schema)s::regnamespace"""

_SCHEMA = """
    SELECT n.nspname, n.nspowner, n.nspacl::text, obj_description(n.oid, 'pg_namespace')
    FROM pg_namespace n WHERE n.nspname = %(schema)s"""

_RELKINDS = {
    "r": "TABLE",
    "p": "PARTITIONED TABLE",
    "v": "VIEW",
    "m": "MATERIALIZED VIEW",
    "f": "FOREIGN TABLE",
    "S": "SEQUENCE",
}
# acldefault's object-type letter per relkind (sequences have their own privileges).
_ACL_KIND = {"S": "s"}
_IDENTITY = {"a": " GENERATED ALWAYS AS IDENTITY", "d": " GENERATED BY DEFAULT AS IDENTITY"}


class _Snapshot:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(query, {"schema": SCHEMA, **params}).fetchall())

    def acl(self, acl: str | None, owner: int, kind: str) -> list[str]:
        if acl is None:
            return ["  acl: default"]
        lines = []
        for grantee, grantor, privileges, grantable, is_all in self.rows(
            _ACL, acl=acl, owner=owner, kind=kind
        ):
            granted = "ALL" if is_all else ", ".join(privileges)
            if grantable:
                granted += f" (grantable: {', '.join(grantable)})"
            by = "" if grantor == "OWNER" else f" (granted by {grantor})"
            lines.append(f"  acl: {grantee}: {granted}{by}")
        return lines or ["  acl: none"]

    def schema(self) -> list[str]:
        (name, owner, acl, comment) = self.rows(_SCHEMA)[0]
        return [f"SCHEMA {name}", *self.acl(acl, owner, "n"), *_comment(comment)]

    def types(self) -> Iterable[tuple[str, list[str]]]:
        for (
            oid,
            name,
            kind,
            owner,
            acl,
            comment,
            relid,
            base,
            notnull,
            default,
            labels,
        ) in self.rows(_TYPES):
            lines: list[str]
            if kind == "c":
                lines = [f"TYPE {name} (composite)"]
                lines += [f"  {line}" for line in self.columns(relid)]
            elif kind == "e":
                lines = [f"TYPE {name} (enum: {', '.join(labels or [])})"]
            elif kind == "d":
                lines = [f"DOMAIN {name} {base}{' NOT NULL' if notnull else ''}"]
                if default is not None:
                    lines.append(f"  default: {default}")
                lines += [f"  {line}" for line in self.constraints(oid)]
            else:
                lines = [f"TYPE {name} (typtype {kind})"]
            yield name, [*lines, *self.acl(acl, owner, "T"), *_comment(comment)]

    def columns(self, oid: int) -> list[str]:
        lines = []
        for (
            name,
            type_,
            notnull,
            identity,
            generated,
            default,
            collation,
            comment,
            acl,
        ) in self.rows(_COLUMNS, oid=oid):
            line = f"column {name} {type_}"
            if collation:
                line += f" COLLATE {collation}"
            if notnull:
                line += " NOT NULL"
            if generated:
                line += f" GENERATED ALWAYS AS ({default}) STORED"
            elif default is not None:
                line += f" DEFAULT {default}"
            line += _IDENTITY.get(identity, "")
            if acl is not None:
                line += f" acl {acl}"
            lines.append(line)
            lines += [f"  {c}" for c in _comment(comment, indent="")]
        return lines

    def constraints(self, oid: int) -> list[str]:
        lines = []
        for name, definition, comment in self.rows(_CONSTRAINTS, oid=oid):
            lines.append(f"constraint {name} {definition}")
            lines += [f"  {c}" for c in _comment(comment, indent="")]
        return lines

    def relations(self) -> Iterable[tuple[str, list[str]]]:
        for row in self.rows(_RELATIONS):
            (oid, name, kind, persistence, owner, acl, comment, options, is_partition) = row[:9]
            (parent, bound, partkey, viewdef, rowsecurity, forcerowsecurity) = row[9:]
            lines = [f"{_RELKINDS[kind]} {SCHEMA}.{name}"]
            if persistence != "p":
                lines.append(f"  persistence: {persistence}")
            if options:
                lines.append(f"  options: {options}")
            if partkey:
                lines.append(f"  PARTITION BY {partkey}")
            if is_partition:
                lines.append(f"  PARTITION OF {parent} {bound}")
            if viewdef:
                lines += [f"  {line}" for line in viewdef.strip().splitlines()]
            if rowsecurity or forcerowsecurity:
                lines.append(
                    "  ROW LEVEL SECURITY" + (" FORCED" if forcerowsecurity else " (not forced)")
                )
            if kind == "S":
                lines += self.sequence(oid)
            else:
                body = self.columns(oid) + self.constraints(oid)
                for definition, ix_comment in self.rows(_INDEXES, oid=oid):
                    body.append(f"index {definition}")
                    body += [f"  {c}" for c in _comment(ix_comment, indent="")]
                for definition, enabled, tg_comment in self.rows(_TRIGGERS, oid=oid):
                    state = "" if enabled == "O" else f" (tgenabled {enabled})"
                    body.append(f"trigger {definition}{state}")
                    body += [f"  {c}" for c in _comment(tg_comment, indent="")]
                body += self.policies(oid, owner)
                lines += [f"  {line}" for line in body]
            lines += self.acl(acl, owner, _ACL_KIND.get(kind, "r"))
            lines += _comment(comment)
            yield name, lines

    def policies(self, oid: int, owner: int) -> list[str]:
        lines = []
        for name, cmd, permissive, roles, using, check, comment in self.rows(
            _POLICIES, oid=oid, owner=owner
        ):
            kind = "PERMISSIVE" if permissive else "RESTRICTIVE"
            line = f"policy {name} {kind} FOR {cmd} TO {', '.join(roles)}"
            line += f" USING ({using})" if using else ""
            line += f" WITH CHECK ({check})" if check else ""
            lines.append(line)
            lines += [f"  {c}" for c in _comment(comment, indent="")]
        return lines

    def sequence(self, oid: int) -> list[str]:
        type_, start, increment, min_, max_, cache, cycle, owned_by = self.rows(_SEQUENCE, oid=oid)[
            0
        ]
        lines = [
            f"  AS {type_} START {start} INCREMENT {increment} MINVALUE {min_} MAXVALUE {max_}"
            f" CACHE {cache}{' CYCLE' if cycle else ''}"
        ]
        if owned_by:
            lines.append(f"  OWNED BY {owned_by}")
        return lines

    def functions(self) -> Iterable[tuple[str, list[str]]]:
        for signature, owner, acl, comment, kind, definition in self.rows(_FUNCTIONS):
            word = {"p": "PROCEDURE", "a": "AGGREGATE"}.get(kind, "FUNCTION")
            lines = [f"{word} {signature}", *self.acl(acl, owner, "f"), *_comment(comment)]
            if definition:
                lines += [f"  | {line}".rstrip() for line in definition.strip().splitlines()]
            yield signature, lines


def _comment(comment: str | None, indent: str = "  ") -> list[str]:
    if comment is None:
        return []
    first, *rest = comment.splitlines() or [""]
    return [f"{indent}comment: {first}", *(f"{indent}  {line}" for line in rest)]


def _normalise(name: str, block: str) -> str:
    """Day-partition names lose their date everywhere; their own blocks lose every date."""
    if _DAY_PARTITION.search(name):
        block = _DATE.sub("YYYY-MM-DD", block)
    return _DAY_PARTITION.sub("job_history_pYYYYMMDD", block)


def render(conn: psycopg.Connection[Any]) -> str:
    """The snapshot of schema app_jobs in the database ``conn`` is connected to.

    Sets session settings (search_path, TimeZone, DateStyle) on ``conn``.
    """
    conn.execute(_SESSION)
    snap = _Snapshot(conn)
    if not snap.rows(_SCHEMA):
        return HEADER + "\n-- schema app_jobs does not exist\n"
    sections: list[tuple[str, Iterable[tuple[str, list[str]]]]] = [
        ("types", snap.types()),
        ("relations", snap.relations()),
        ("functions", snap.functions()),
    ]
    out = [HEADER.rstrip("\n"), "\n".join(snap.schema())]
    for title, objects in sections:
        # Day partitions are maintenance output, not schema: left out.
        blocks = {
            (_normalise(name, name), _normalise(name, "\n".join(lines)))
            for name, lines in objects
            if not _DAY_PARTITION.fullmatch(name)
        }
        out.append(f"-- {title}")
        out += [block for _, block in sorted(blocks)]
    return "\n\n".join(out) + "\n"


def render_dsn(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return render(conn)


def main() -> int:
    """``make snapshot``: deploy a scratch database, write its snapshot to SNAPSHOT_FILE."""
    from install_support import SQL_DIR, create_database, drop_database

    os.environ["PGJOBS_SQL_DIR"] = str(SQL_DIR)
    from pgjobs.install.deploy import deploy

    database = create_database()
    try:
        deploy(database.dsn)
        text = render_dsn(database.dsn)
    finally:
        drop_database(database.name)
    SNAPSHOT_FILE.parent.mkdir(parents=True, exist_ok=True)
    old = SNAPSHOT_FILE.read_text(encoding="utf-8") if SNAPSHOT_FILE.exists() else None
    SNAPSHOT_FILE.write_text(text, encoding="utf-8")
    verdict = "unchanged" if old == text else "rewritten"
    print(f"{SNAPSHOT_FILE}: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
