"""Find pgjobs' SQL tree and read its scripts without the sqitch transaction frame.

The same files run under three tools: sqitch (through psql), ``pgjobs deploy`` (yoyo over
psycopg) and ``CREATE EXTENSION``. sqitch wants every deploy and revert script framed by a
``BEGIN;`` line and a ``COMMIT;`` line (verify scripts: ``BEGIN;`` ... ``ROLLBACK;``); the other
two paths run the script inside a transaction of their own, so they must drop exactly that
frame. Anything only psql understands (backslash meta-commands) or only ``CREATE EXTENSION``
understands (``@extschema@``) is refused, because the text would then mean different things
to different installers.

Standard library only: the extension bundler imports this module on a bare Python.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

__all__ = [
    "ENV_SQL_DIR",
    "ScriptKind",
    "SqlFileError",
    "read_script",
    "sql_dir",
    "strip_frame",
]

#: Environment variable that overrides where the SQL tree is read from.
ENV_SQL_DIR: Final = "PGJOBS_SQL_DIR"

ScriptKind = Literal["deploy", "revert", "verify"]

_OPENING: Final = "BEGIN;"
_CLOSING: Final[dict[ScriptKind, str]] = {
    "deploy": "COMMIT;",
    "revert": "COMMIT;",
    "verify": "ROLLBACK;",
}


class SqlFileError(ValueError):
    """A SQL script (or the SQL tree) cannot be used as it is; the message says how to fix it."""


def sql_dir() -> Path:
    """Return the directory holding ``sqitch.plan`` and the deploy/revert/verify trees.

    Looked up in this order: the ``PGJOBS_SQL_DIR`` environment variable; ``pgjobs/sql``
    inside the installed package (the wheel ships ``sql/`` there); the ``sql/`` directory of
    a source checkout (two levels above this package).
    """
    override = os.environ.get(ENV_SQL_DIR)
    if override:
        path = Path(override).expanduser()
        if not (path / "sqitch.plan").is_file():
            raise SqlFileError(
                f"{ENV_SQL_DIR}={override} has no sqitch.plan; point it at pgjobs' sql/ directory "
                "or unset it"
            )
        return path
    package_dir = Path(__file__).resolve().parent.parent
    for candidate in (package_dir / "sql", package_dir.parent.parent / "sql"):
        if (candidate / "sqitch.plan").is_file():
            return candidate
    raise SqlFileError(
        "cannot find pgjobs' SQL files (sqitch.plan): the package was installed without them. "
        f"Reinstall pgjobs from its wheel, or set {ENV_SQL_DIR} to the sql/ directory of a "
        "pgjobs checkout"
    )


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("--")


def _check_portable(text: str, source: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("\\"):
            raise SqlFileError(
                f"{source}:{number}: psql meta-command {line.strip()!r}: pgjobs scripts must be "
                "plain SQL, because pgjobs deploy and CREATE EXTENSION do not run psql. Remove it"
            )
    if "@extschema@" in text:
        raise SqlFileError(
            f"{source}: contains @extschema@, which only CREATE EXTENSION substitutes. Write the "
            "schema name (app_jobs) instead"
        )


def strip_frame(text: str, kind: ScriptKind, source: str = "<script>") -> str:
    """Return ``text`` without its sqitch frame, keeping every other line where it was.

    The frame is the first line that is exactly ``BEGIN;`` (only blank and comment lines may
    come before it) and the last line that is exactly ``COMMIT;`` (``ROLLBACK;`` for verify
    scripts), after which only blank and comment lines may follow. Both lines become empty
    lines, so line numbers in error messages still match the file. Anything else between
    them, including a ``COMMIT`` inside a procedure body, is left alone.

    Raises :class:`SqlFileError` when the frame is missing or the script uses psql
    meta-commands or ``@extschema@``.
    """
    _check_portable(text, source)
    closing = _CLOSING[kind]
    lines = text.splitlines(keepends=True)

    begin_at = None
    for index, line in enumerate(lines):
        if line.strip().upper() == _OPENING:
            begin_at = index
            break
        if not _is_blank_or_comment(line):
            break
    if begin_at is None:
        raise SqlFileError(
            f"{source}: the first statement must be a line with just {_OPENING} (the sqitch frame "
            f"every {kind} script has); add it"
        )

    end_at = None
    for index in range(len(lines) - 1, begin_at, -1):
        line = lines[index]
        if line.strip().upper() == closing:
            end_at = index
            break
        if not _is_blank_or_comment(line):
            break
    if end_at is None:
        raise SqlFileError(
            f"{source}: the last statement must be a line with just {closing} (the sqitch frame "
            f"every {kind} script has); add it"
        )

    for index in (begin_at, end_at):
        line = lines[index]
        lines[index] = line[len(line.rstrip("\r\n")) :]
    return "".join(lines)


def read_script(path: Path, kind: ScriptKind) -> str:
    """Read one deploy/revert/verify script and return its body without the sqitch frame."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SqlFileError(
            f"{path} is missing: every change in sqitch.plan needs deploy, revert and verify "
            "scripts (sqitch add creates them)"
        ) from None
    return strip_frame(text, kind, str(path))
