"""The plan parser, frame stripping, and the rules every script of the real SQL tree obeys."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from install_support import CLOSING, HEADERS, SQL_DIR, framed, plan_text, write_scripts

from pgjobs.sqltree.plan import Change, PlanError, load_plan, parse_plan
from pgjobs.sqltree.sqlfiles import ENV_SQL_DIR, SqlFileError, read_script, sql_dir, strip_frame

KINDS = ("deploy", "revert", "verify")


# --- the parser, on fixture trees -------------------------------------------------------------


def _touch(top: Path, *stems: str) -> None:
    for stem in stems:
        write_scripts(top, stem, deploy="SELECT 1;", revert="SELECT 1;", verify="SELECT 1;")


def test_linear_plan_ids_deps_notes_and_tags(tmp_path: Path) -> None:
    text = plan_text("schema", "tables/jobs [schema]", "@v0.1.0", "functions/get_job [tables/jobs]")
    plan = parse_plan(text, tmp_path)

    assert plan.project == "pgjobs"
    assert plan.pragmas["syntax-version"] == "1.0.0"
    assert [c.id for c in plan] == [
        "pgjobs.schema",
        "pgjobs.tables.jobs",
        "pgjobs.functions.get_job",
    ]
    schema, jobs, get_job = plan.changes
    assert jobs.requires == ("schema",)
    assert jobs.note == "Step 1."
    assert [c.index for c in plan] == [0, 1, 2]
    assert [c.instance for c in plan] == [1, 1, 1]
    # Tag bookkeeping: the tag follows tables/jobs; get_job comes after it, unreleased.
    assert [(t.name, t.change_index) for t in plan.tags] == [("v0.1.0", 1)]
    assert jobs.tags == ("v0.1.0",)
    assert (schema.since_tag, schema.release) == (None, "v0.1.0")
    assert (get_job.since_tag, get_job.release) == ("v0.1.0", None)
    assert plan.script(get_job, "verify") == tmp_path / "verify" / "functions" / "get_job.sql"


def test_rework_after_tag_gets_instance_ids_and_tagged_files(tmp_path: Path) -> None:
    # foo @a bar @b foo: sqitch rework copies foo's first scripts to foo@b.sql (newest tag).
    text = plan_text("foo", "@a", "bar [foo]", "@b", "foo [foo@b]")
    _touch(tmp_path, "foo@b", "bar", "foo")
    plan = parse_plan(text, tmp_path)

    first, _bar, second = plan.changes
    assert [c.id for c in plan] == ["pgjobs.foo", "pgjobs.bar", "pgjobs.foo~2"]
    assert (first.instance, second.instance) == (1, 2)
    assert first.is_reworked and not second.is_reworked
    assert first.rework_tags == ("b", "a")  # nearest tag to the rework first, as sqitch
    assert plan.script(first, "deploy") == tmp_path / "deploy" / "foo@b.sql"
    assert plan.script(first, "revert") == tmp_path / "revert" / "foo@b.sql"
    assert plan.script(first, "verify") == tmp_path / "verify" / "foo@b.sql"
    assert plan.script(second, "deploy") == tmp_path / "deploy" / "foo.sql"
    assert second.requires == ("foo@b",)
    assert [c.id for c in plan.latest()] == ["pgjobs.bar", "pgjobs.foo~2"]
    assert plan.by_id("pgjobs.foo~2") is second


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (("foo@a",), "foo@a"),  # only the older tag's file exists: sqitch takes it
        (("foo@a", "foo@b"), "foo@b"),  # both: the tag nearest the rework wins
        ((), "foo@b"),  # none yet: the first candidate, as sqitch reports it
    ],
)
def test_rework_file_resolution_follows_sqitch(
    tmp_path: Path, existing: tuple[str, ...], expected: str
) -> None:
    _touch(tmp_path, *existing)
    plan = parse_plan(plan_text("foo", "@a", "bar", "@b", "foo"), tmp_path)
    assert plan.changes[0].file_stem == expected


def test_three_instances(tmp_path: Path) -> None:
    text = plan_text("foo", "@a", "foo", "@b", "foo", "@c")
    plan = parse_plan(text, tmp_path)
    assert [c.id for c in plan] == ["pgjobs.foo", "pgjobs.foo~2", "pgjobs.foo~3"]
    assert [c.file_stem for c in plan] == ["foo@a", "foo@b", "foo"]
    assert [c.release for c in plan] == ["a", "b", "c"]
    assert [c.since_tag for c in plan] == [None, "a", "b"]


def test_ids_do_not_depend_on_file_names(tmp_path: Path) -> None:
    text = plan_text("functions/get_job", "@v1", "functions/get_job")
    before = [c.id for c in parse_plan(text, tmp_path)]
    _touch(tmp_path, "functions/get_job@v1")
    after = parse_plan(text, tmp_path)
    assert (
        before
        == [c.id for c in after]
        == [
            "pgjobs.functions.get_job",
            "pgjobs.functions.get_job~2",
        ]
    )
    assert after.changes[0].file_stem == "functions/get_job@v1"


def test_plan_details(tmp_path: Path) -> None:
    text = (
        "%syntax-version=1.0.0\n%project=pgjobs\n%uri=https://example.com/\n\n"
        "# a comment line\n"
        f"a 2026-01-01T00:00:00Z {'Ann Planner'} <ann@example.com> # Note with # inside.\n"
        "\n"
        "b [a !c other:x] 2026-01-01T00:00:01Z Ann Planner <ann@example.com>\n"
        "@v1 2026-01-01T00:00:02Z Ann Planner <ann@example.com>\n"
    )
    plan = parse_plan(text, tmp_path)
    a, b = plan.changes
    assert plan.pragmas["uri"] == "https://example.com/"
    assert a.note == "Note with # inside."
    assert b.requires == ("a", "other:x")
    assert b.conflicts == ("c",)
    assert b.note == ""
    assert plan.tags[0].line == 9


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (("foo", "foo"), "without a tag in between"),
        (("foo [bar]",), "not planned before it"),
        (("foo [foo]",), "cannot require itself"),
        (("@v1",), "before any change"),
        (("foo", "@v1", "bar", "@v1"), "declared twice"),
        (("foo [a a]",), "duplicate dependency"),
    ],
)
def test_plan_errors(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_plan(plan_text(*lines), tmp_path)


def test_plan_syntax_errors_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"sqitch.plan:5: cannot parse"):
        parse_plan(plan_text("foo") + "bar without timestamp\n", tmp_path)
    with pytest.raises(PlanError, match="missing %project"):
        parse_plan("%syntax-version=1.0.0\n\nfoo 2026-01-01T00:00:00Z A <a@b>\n", tmp_path)


# --- frame stripping and the SQL directory ----------------------------------------------------


def test_strip_frame_removes_exactly_the_frame_and_keeps_line_numbers() -> None:
    body = "CREATE PROCEDURE app_jobs.p() LANGUAGE plpgsql AS $$\nBEGIN\nCOMMIT;\nEND;\n$$;"
    text = framed("deploy", "functions/p", body)
    stripped = strip_frame(text, "deploy")
    assert stripped.splitlines()[0] == "-- Deploy pgjobs:functions/p to pg"
    assert len(stripped.splitlines()) == len(text.splitlines())
    assert [line for line in stripped.splitlines() if line.strip() in ("BEGIN;", "COMMIT;")] == [
        "COMMIT;"  # the one inside the procedure body stays
    ]
    assert "BEGIN\n" in stripped  # plpgsql block keyword untouched
    verify = strip_frame(framed("verify", "x", "SELECT 1;"), "verify")
    assert "ROLLBACK" not in verify and "SELECT 1;" in verify


def test_strip_frame_allows_trailing_comments_and_crlf() -> None:
    text = "-- Deploy pgjobs:x to pg\r\nBEGIN;\r\nSELECT 1;\r\nCOMMIT;\r\n-- end\r\n\r\n"
    assert (
        strip_frame(text, "deploy")
        == "-- Deploy pgjobs:x to pg\r\n\r\nSELECT 1;\r\n\r\n-- end\r\n\r\n"
    )


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("-- Deploy pgjobs:x to pg\nSELECT 1;\nCOMMIT;\n", "deploy", "BEGIN;"),
        ("SELECT 1;\nBEGIN;\nSELECT 1;\nCOMMIT;\n", "deploy", "BEGIN;"),
        ("BEGIN;\nSELECT 1;\n", "deploy", "COMMIT;"),
        ("BEGIN;\nSELECT 1;\nCOMMIT;\nSELECT 2;\n", "deploy", "COMMIT;"),
        ("BEGIN;\nSELECT 1;\nCOMMIT;\n", "verify", "ROLLBACK;"),
        ("BEGIN;\n\\set ON_ERROR_STOP 1\nSELECT 1;\nCOMMIT;\n", "deploy", "meta-command"),
        ("BEGIN;\n  \\i other.sql\nCOMMIT;\n", "revert", "meta-command"),
        ("BEGIN;\nCREATE TABLE @extschema@.t ();\nCOMMIT;\n", "deploy", "@extschema@"),
    ],
)
def test_strip_frame_refuses(text: str, kind: str, message: str) -> None:
    with pytest.raises(SqlFileError, match=re.escape(message)):
        strip_frame(text, kind, "x.sql")  # type: ignore[arg-type]


def test_read_script_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SqlFileError, match="is missing"):
        read_script(tmp_path / "deploy" / "nope.sql", "deploy")


def test_sql_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_SQL_DIR, raising=False)
    assert sql_dir() == SQL_DIR
    (tmp_path / "sqitch.plan").write_text(plan_text("x"), encoding="utf-8")
    monkeypatch.setenv(ENV_SQL_DIR, str(tmp_path))
    assert sql_dir() == tmp_path
    assert load_plan().top_dir == tmp_path
    monkeypatch.setenv(ENV_SQL_DIR, str(tmp_path / "elsewhere"))
    with pytest.raises(SqlFileError, match=r"no sqitch\.plan"):
        sql_dir()


# --- the real tree ---------------------------------------------------------------------------

REAL_PLAN = load_plan(SQL_DIR)
SCRIPTS = [(change, kind) for change in REAL_PLAN for kind in KINDS]
SCRIPT_IDS = [f"{kind}/{change.file_stem}" for change, kind in SCRIPTS]

_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$")


def _skip_quoted(text: str, i: int, quote: str, backslashes: bool) -> int:
    """Index just past the literal or identifier opened at ``text[i]``."""
    i += 1
    while i < len(text):
        if backslashes and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            if text[i + 1 : i + 2] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _skip_block_comment(text: str, i: int) -> int:
    depth = 0
    while i < len(text):
        if text.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif text.startswith("*/", i):
            depth, i = depth - 1, i + 2
            if depth == 0:
                return i
        else:
            i += 1
    return i


def split_sql(text: str) -> tuple[str, list[str]]:
    """Top-level code without comments, string literals blanked, dollar bodies set aside."""
    code: list[str] = []
    bodies: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text.startswith("/*", i):
            i = _skip_block_comment(text, i)
            code.append(" ")
        elif char == "'":
            escaped = i > 0 and text[i - 1] in "eE" and not text[i - 2 : i - 1].isalnum()
            i = _skip_quoted(text, i, "'", escaped)
            code.append("''")
        elif char == '"':
            end = _skip_quoted(text, i, '"', False)
            code.append(text[i:end])
            i = end
        elif (match := _DOLLAR.match(text, i)) and not (i and text[i - 1].isalnum()):
            delimiter = match.group(0)
            end = text.find(delimiter, match.end())
            end = len(text) if end < 0 else end
            bodies.append(text[match.end() : end])
            code.append("$$ $$")
            i = end + len(delimiter)
        else:
            code.append(char)
            i += 1
    return "".join(code), bodies


def all_code(text: str) -> str:
    """Every piece of code, dollar-quoted bodies included, without comments."""
    code, bodies = split_sql(text)
    return "\n".join([code, *(all_code(body) for body in bodies)])


def test_split_sql_helper() -> None:
    text = (
        "-- CONCURRENTLY in a comment\nCREATE FUNCTION f() AS $body$ SELECT 'x;y' -- c\n"
        "$body$ LANGUAGE sql; /* BEGIN ATOMIC */ SELECT E'it\\'s'; SELECT $$a$$;"
    )
    code, bodies = split_sql(text)
    assert "CONCURRENTLY" not in all_code(text) and "ATOMIC" not in all_code(text)
    assert code.count(";") == 3
    assert bodies == [" SELECT 'x;y' -- c\n", "a"]


def test_real_plan_is_pgjobs_with_stable_unique_ids() -> None:
    assert REAL_PLAN.project == "pgjobs"
    ids = [change.id for change in REAL_PLAN]
    assert len(ids) == len(set(ids))
    for change in REAL_PLAN:
        expected = "pgjobs." + change.name.replace("/", ".")
        assert change.id == (expected if change.instance == 1 else f"{expected}~{change.instance}")
        assert re.fullmatch(r"[a-z_]+(/[a-z0-9_]+)?", change.name), change.name
        assert change.note, f"{change.name} needs a plan note"


@pytest.mark.parametrize(("change", "kind"), SCRIPTS, ids=SCRIPT_IDS)
def test_script_header_and_frame(change: Change, kind: str) -> None:
    path = REAL_PLAN.script(change, kind)  # type: ignore[arg-type]
    assert path.is_file(), f"{path} is missing"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == HEADERS[kind].format(project="pgjobs", name=change.name)
    stripped = [line.strip() for line in lines]
    assert stripped.count("BEGIN;") == 1, "the frame's BEGIN; stands alone, exactly once"
    assert stripped.count(CLOSING[kind]) == 1, f"the frame's {CLOSING[kind]} stands alone, once"
    other = "ROLLBACK;" if kind != "verify" else "COMMIT;"
    assert other not in stripped
    read_script(path, kind)  # type: ignore[arg-type]  # frame, no meta-commands, no @extschema@
    assert not any(line.lstrip().startswith("\\") for line in lines)
    assert "@extschema@" not in text


@pytest.mark.parametrize(("change", "kind"), SCRIPTS, ids=SCRIPT_IDS)
def test_script_runs_in_a_transaction_everywhere(change: Change, kind: str) -> None:
    code = all_code(REAL_PLAN.script(change, kind).read_text(encoding="utf-8"))  # type: ignore[arg-type]
    assert not re.search(r"\bCONCURRENTLY\b", code, re.IGNORECASE), (
        "CONCURRENTLY cannot run inside a transaction (yoyo, CREATE EXTENSION)"
    )
    assert not re.search(r"\bBEGIN\s+ATOMIC\b", code, re.IGNORECASE), (
        "BEGIN ATOMIC bodies are split by SQL splitters; use LANGUAGE sql AS $$ ... $$"
    )


@pytest.mark.parametrize("change", list(REAL_PLAN), ids=[c.file_stem for c in REAL_PLAN])
def test_security_definer_functions_pin_search_path(change: Change) -> None:
    code, _ = split_sql(REAL_PLAN.script(change, "deploy").read_text(encoding="utf-8"))
    for statement in code.split(";"):
        if not re.match(r"\s*(CREATE|ALTER)\b.*\b(FUNCTION|PROCEDURE)\b", statement, re.I | re.S):
            continue
        if re.search(r"\bSECURITY\s+DEFINER\b", statement, re.IGNORECASE):
            assert re.search(r"\bSET\s+search_path\b", statement, re.IGNORECASE), (
                f"SECURITY DEFINER without SET search_path in: {statement.strip()[:120]}"
            )
