"""Every code block of README.md and docs/*.md runs as written, against a real database.

Each document is one test: its blocks run in order, in one empty directory, against this test's
freshly deployed database (``PGJOBS_DSN`` points at it), so a later block may use what an
earlier one made (a table, a file, a job). ``sql`` blocks go through ``psql`` (stopping at the
first error), ``python`` blocks run as scripts (``<!-- file: NAME -->`` before a block saves it
under that name, e.g. a module a later ``pgjobs worker`` imports), ``sh`` blocks through ``bash
-e``. A block that cannot run here carries, right before it, ``<!-- not run: REASON -->`` or
``<!-- run by: TEST FILE -->`` (another test runs it, adapted); the marked ones are listed, and
more than a handful of ``not run`` fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
#: At most this many blocks may say "not run".
MAX_NOT_RUN = 6

MARKER = re.compile(r"^<!-- (not run|run by|file): (.+?) -->$")
FENCE = re.compile(r"^```(\w*)$")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int  # of the opening fence
    language: str
    text: str
    markers: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.doc.relative_to(REPO)}:{self.line}"


def blocks(doc: Path) -> list[Block]:
    found: list[Block] = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    markers: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            markers[marker.group(1)] = marker.group(2)
        elif fence:
            end = lines.index("```", i + 1)
            text = "\n".join(lines[i + 1 : end]) + "\n"
            found.append(Block(doc, i + 1, fence.group(1), text, markers))
            markers = {}
            i = end
        elif line.strip():
            markers = {}
        i += 1
    return found


def every_block() -> list[Block]:
    return [block for doc in DOCS for block in blocks(doc)]


def runnable(block: Block) -> bool:
    return "not run" not in block.markers and "run by" not in block.markers


def run_block(block: Block, index: int, cwd: Path, env: dict[str, str], dsn: str) -> None:
    if block.language == "sql":
        argv = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-f", "-"]
        stdin = block.text
    elif block.language == "python":
        script = cwd / block.markers.get("file", f"block_{index}.py")
        script.write_text(block.text, encoding="utf-8")
        argv, stdin = [str(BIN / "python"), script.name], ""
    elif block.language == "sh":
        argv, stdin = ["bash", "-e", "-o", "pipefail", "-c", block.text], ""
    else:
        pytest.fail(f"{block.where}: a ```{block.language} block: mark it or give it sql/python/sh")
    done = subprocess.run(
        argv, input=stdin, cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, (
        f"{block.where} ({block.language}) failed with exit code {done.returncode}:\n"
        f"{block.text}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(REPO)) for d in DOCS])
def test_every_block_of_the_document_runs(doc: Path, dsn: str, tmp_path: Path) -> None:
    # The system psql's libpq may predate options psycopg's adds (sslcertmode).
    params = conninfo_to_dict(dsn)
    params.pop("sslcertmode", None)
    dsn = make_conninfo(**params)  # type: ignore[arg-type]
    env = dict(os.environ)
    env.update(
        PGJOBS_DSN=dsn,
        PGJOBS_HOME=str(tmp_path / ".pgjobs"),  # never the checkout's embedded server
        PATH=os.pathsep.join([str(BIN), env.get("PATH", "")]),
    )
    env.pop("DATABASE_URL", None)
    # The pytest plugin's server (a block runs pytest): the suite's own.
    env.setdefault("PGJOBS_TEST_DSN", "postgresql://postgres:postgres@127.0.0.1:5432/postgres")
    ran = 0
    for index, block in enumerate(blocks(doc)):
        if runnable(block):
            run_block(block, index, tmp_path, env, dsn)
            ran += 1
    assert ran or not blocks(doc)


def test_few_blocks_are_left_unrun() -> None:
    marked = [b for b in every_block() if not runnable(b)]
    not_run = [b for b in marked if "not run" in b.markers]
    listing = "\n".join(
        f"  {b.where}: " + (b.markers.get("not run") or f"run by {b.markers['run by']}")
        for b in marked
    )
    print(f"{len(every_block()) - len(marked)} blocks run here, {len(marked)} marked:\n{listing}")
    assert len(not_run) <= MAX_NOT_RUN, f"too many blocks marked 'not run':\n{listing}"
    for block in marked:
        if "run by" in block.markers:
            test = REPO / block.markers["run by"]
            assert test.is_file(), f"{block.where}: {test} does not exist"
            assert str(block.doc.relative_to(REPO)) in test.read_text(), (
                f"{block.where}: {test.name} does not read {block.doc.name}"
            )


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_link_between_the_documents_resolves() -> None:
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text(encoding="utf-8")):
            if re.match(r"\w+:", target):
                continue  # http(s):, mailto:
            path, _, fragment = target.partition("#")
            linked = (doc.parent / path).resolve() if path else doc
            assert linked.exists(), f"{doc.relative_to(REPO)}: a link to {target}, missing"
            if fragment:
                headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
                assert fragment in {anchor(h) for h in headings}, (
                    f"{doc.relative_to(REPO)}: a link to {target}, no such heading"
                )
