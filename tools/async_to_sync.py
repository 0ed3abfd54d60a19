"""Write python/pgjobs/db/sync_client.py from async_client.py: the sync client is generated.

    python tools/async_to_sync.py           rewrite sync_client.py
    python tools/async_to_sync.py --check   exit 1 (and say so) when sync_client.py is stale

The async client is the one written by hand. The conversion is a fixed list of word-level
rewrites (``async def`` -> ``def``, ``await x`` -> ``x``, ``AsyncConnection`` -> ``Connection``,
``__aenter__`` -> ``__enter__`` ...), applied to the code only (tokenize keeps strings and
comments apart), then ``ruff format`` so the output looks hand-written. A construct it cannot
convert fails the run rather than writing wrong code.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tokenize
from pathlib import Path

from pgjobs.sqltree.generated import write_or_check

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "python" / "pgjobs" / "db" / "async_client.py"
TARGET = ROOT / "python" / "pgjobs" / "db" / "sync_client.py"

#: Names renamed wherever they are a whole NAME token of the code.
NAMES = {
    "AsyncClient": "Client",
    "AsyncConnection": "Connection",
    "AsyncIterator": "Iterator",
    "AsyncIterable": "Iterable",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "asynccontextmanager": "contextmanager",
}

#: Whole-text rewrites of the module's docstring and header (before the first class).
HEADER = '''"""The synchronous client: GENERATED from async_client.py by tools/async_to_sync.py.

Do not edit: change :mod:`pgjobs.db.async_client` and run ``make sync-client``
(tests/python/test_sync_client.py fails when this file is stale). Same methods, same
docstrings, minus ``async``.
"""
'''


def _convert_tokens(source: str) -> str:
    """Apply the rewrites to code tokens only (strings and comments are left alone)."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits: list[tuple[int, int, int, str]] = []  # (row, start col, end col, replacement)
    for index, tok in enumerate(tokens):
        if tok.type == tokenize.STRING:
            _string_edits(tok, edits)
            continue
        if tok.type != tokenize.NAME:
            continue
        if tok.string in {"async", "await"}:
            following = tokens[index + 1]
            if tok.string == "async" and following.string not in {"def", "with", "for"}:
                raise SystemExit(f"async_to_sync: cannot convert 'async' at line {tok.start[0]}")
            if following.start[0] != tok.start[0]:
                raise SystemExit(f"async_to_sync: {tok.string} ends line {tok.start[0]}")
            edits.append((tok.start[0], tok.start[1], following.start[1], ""))
        elif tok.string in NAMES:
            edits.append((tok.start[0], tok.start[1], tok.end[1], NAMES[tok.string]))
        elif tok.string.startswith("Async"):
            raise SystemExit(f"async_to_sync: no sync name for {tok.string} (line {tok.start[0]})")
    lines = source.splitlines(keepends=True)
    for row, start, end, text in sorted(edits, reverse=True):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + text + line[end:]
    return "".join(lines)


def _string_edits(tok: tokenize.TokenInfo, edits: list[tuple[int, int, int, str]]) -> None:
    """Rename the async class names where a string (a docstring, ``__all__``) mentions them."""
    for old in ("AsyncClient", "AsyncConnection"):
        for found in re.finditer(rf"\b{old}\b", tok.string):
            if tok.start[0] == tok.end[0]:  # one-line strings: edit in place
                column = tok.start[1] + found.start()
                edits.append((tok.start[0], column, column + len(old), NAMES[old]))
            else:
                _multiline_edit(tok, found.start(), old, edits)


def _multiline_edit(
    tok: tokenize.TokenInfo, offset: int, old: str, edits: list[tuple[int, int, int, str]]
) -> None:
    """Rename ``old`` found at ``offset`` inside a string token that spans lines."""
    before = tok.string[:offset]
    row = tok.start[0] + before.count("\n")
    column = (tok.start[1] + offset) if "\n" not in before else len(before.rsplit("\n", 1)[1])
    edits.append((row, column, column + len(old), NAMES[old]))


def _ruff() -> list[str]:
    beside = Path(sys.executable).parent / "ruff"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("ruff")
    if found is None:
        raise SystemExit("async_to_sync: needs ruff (pip install -e '.[dev]')")
    return [found]


def generate() -> str:
    """The text sync_client.py must hold."""
    source = SOURCE.read_text(encoding="utf-8")
    code = _convert_tokens(source)
    # The generated file's own docstring replaces the source's.
    code = HEADER + "\n" + code[code.index('"""', 3) + 3 :].lstrip("\n")
    done = subprocess.run(
        [*_ruff(), "format", "--stdin-filename", str(TARGET), "-"],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"async_to_sync: ruff format failed:\n{done.stderr}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    parser.add_argument("--target", type=Path, default=TARGET, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    target: Path = args.target
    text = generate()
    return write_or_check(target, text, check=args.check, regenerate="make sync-client")


if __name__ == "__main__":
    sys.exit(main())
