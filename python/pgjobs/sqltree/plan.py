"""Read ``sqitch.plan``: the ordered changes, their dependencies, tags and reworks.

The plan is pgjobs' single source of truth. ``pgjobs deploy`` (yoyo), the extension bundler
and the tests all walk it through this module, so they agree with sqitch on two things:

* **order**: changes deploy in plan order, and revert in the reverse order;
* **script files**: a change that is *reworked* later in the plan (same name again after a
  tag) keeps its earlier scripts under ``<name>@<tag>.sql``. sqitch picks the tag the way
  ``App::Sqitch::Plan`` does: it lists the tags between the earlier instance and the next
  instance, nearest to the rework first, then the earlier instance's own tags, and takes the
  first one whose ``deploy/<name>@<tag>.sql`` exists (the first listed if none does).
  ``sqitch rework`` names the copy after the newest tag, which that rule finds first.

Every change instance has a stable id used as the yoyo migration id:
``pgjobs.<name with / replaced by .>``, plus ``~N`` for the N-th instance of a reworked change
(``pgjobs.functions.get_job~2``). Ids never depend on file names, because sqitch renames
the earlier instance's files whenever a change is reworked.

Standard library only: the extension bundler imports this module on a bare Python.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pgjobs.sqltree.sqlfiles import ScriptKind, sql_dir

__all__ = [
    "Change",
    "Plan",
    "PlanError",
    "Tag",
    "load_plan",
    "parse_plan",
    "version_key",
    "write_tree",
]

_PUNCT: Final = r"""-!"#$%&'()*+,./:;<=>?@\[\\\]^`{|}~"""
# sqitch's name rule: no leading/trailing punctuation, no blanks, ':', '@', '#' or '\'.
_NAME: Final = rf"(?![{_PUNCT}])(?:(?![~/=%^][0-9]+(?:$|[ \t]))[^ \t:@#\\])+(?<![{_PUNCT}])"
_LINE_RE: Final = re.compile(
    rf"""
    ^[ \t]*
    (?P<tag>@)?
    (?:[ \t]*(?P<operator>[+-])[ \t]*)?
    (?P<name>{_NAME})
    (?:[ \t]*\[(?P<deps>[^\]]*)\])?
    [ \t]+(?P<timestamp>[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}T[0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}}Z)
    [ \t]+(?P<planner>[^<]+?)[ \t]+<(?P<email>[^>]+)>
    [ \t]*$
    """,
    re.VERBOSE,
)
_PRAGMA_RE: Final = re.compile(r"^[ \t]*%[ \t]*(?P<name>[^ \t=]+)[ \t]*(?:=[ \t]*(?P<value>.*?))?$")


class PlanError(ValueError):
    """``sqitch.plan`` cannot be parsed, or names a file that does not exist."""


@dataclass(frozen=True)
class Tag:
    """A ``@tag`` line: a release. It tags the change just before it."""

    name: str
    """Tag name without the ``@``."""
    change_index: int
    """Index (into :attr:`Plan.changes`) of the change it tags."""
    note: str
    line: int

    @property
    def version(self) -> str:
        """The release the tag makes: ``v0.2.0`` -> ``0.2.0`` (pgjobs tags are ``v<version>``)."""
        if not re.fullmatch(r"v[0-9]+(\.[0-9]+)*", self.name):
            raise PlanError(
                f"line {self.line}: tag @{self.name} is not a release tag: pgjobs tags name the "
                "release they make, as @v<major>.<minor>.<patch> (e.g. @v0.2.0)"
            )
        return self.name[1:]


def version_key(version: str) -> tuple[int, ...]:
    """Sort key of a dotted version (``0.10.0`` after ``0.9.1``); PlanError if not dotted digits."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", version):
        raise PlanError(f"{version!r} is not a version of digits and dots, like 0.2.0")
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True)
class Change:
    """One instance of a change in the plan (a reworked change has one instance per rework)."""

    project: str
    name: str
    """``<kind>/<object>``, e.g. ``functions/get_job``."""
    index: int
    """Position in plan order, from 0."""
    instance: int
    """1 for the first instance of this name, 2 after its first rework, and so on."""
    requires: tuple[str, ...]
    conflicts: tuple[str, ...]
    note: str
    line: int
    since_tag: str | None
    """The last tag before this change (the release it builds on), or None."""
    tags: tuple[str, ...]
    """Tags placed right after this change."""
    release: str | None
    """The first tag at or after this change: the release that ships it (None: unreleased)."""
    rework_tags: tuple[str, ...] = ()
    """For an instance that is reworked later: candidate ``@tag`` suffixes in sqitch's order."""
    _file_suffix: str = field(default="", repr=False, compare=False)

    @property
    def id(self) -> str:
        """Stable migration id: ``pgjobs.functions.get_job``, ``pgjobs.functions.get_job~2``."""
        base = f"{self.project}.{self.name.replace('/', '.')}"
        return base if self.instance == 1 else f"{base}~{self.instance}"

    @property
    def is_reworked(self) -> bool:
        """True when a later instance of the same change exists (this one is history)."""
        return bool(self.rework_tags)

    @property
    def file_stem(self) -> str:
        """Relative path of the scripts without ``.sql``: ``functions/get_job@v0.1.0``."""
        return self.name + self._file_suffix

    def script(self, top_dir: Path, kind: ScriptKind) -> Path:
        """Path of this instance's deploy, revert or verify script under ``top_dir``."""
        return top_dir / kind / f"{self.file_stem}.sql"


@dataclass(frozen=True)
class Plan:
    """A parsed ``sqitch.plan``; ``top_dir`` holds its deploy/revert/verify trees."""

    project: str
    pragmas: dict[str, str]
    changes: tuple[Change, ...]
    tags: tuple[Tag, ...]
    top_dir: Path

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __len__(self) -> int:
        return len(self.changes)

    def script(self, change: Change, kind: ScriptKind) -> Path:
        """Path of ``change``'s script of the given kind."""
        return change.script(self.top_dir, kind)

    def latest(self) -> tuple[Change, ...]:
        """The live instance of every change (earlier instances of reworked changes left out)."""
        return tuple(change for change in self.changes if not change.is_reworked)

    def by_id(self, change_id: str) -> Change:
        for change in self.changes:
            if change.id == change_id:
                return change
        raise KeyError(change_id)

    def tag(self, name: str) -> Tag:
        """The tag called ``name`` (with or without its ``@``)."""
        for tag in self.tags:
            if tag.name == name.lstrip("@"):
                return tag
        raise PlanError(f"sqitch.plan has no tag @{name.lstrip('@')}")

    def release_tag(self, version: str) -> Tag:
        """The tag of release ``version`` (``0.2.0`` -> ``@v0.2.0``)."""
        for tag in self.tags:
            if tag.version == version:
                return tag
        raise PlanError(f"sqitch.plan has no tag @v{version} for release {version}")

    def until(self, tag: Tag | None) -> tuple[Change, ...]:
        """Every change instance up to and including ``tag`` (None: before the first change)."""
        last = -1 if tag is None else tag.change_index
        return tuple(change for change in self.changes if change.index <= last)

    def between(self, after: Tag | None, until: Tag | None) -> tuple[Change, ...]:
        """The change instances after tag ``after`` up to tag ``until`` (None: the plan's end)."""
        first = -1 if after is None else after.change_index
        last = len(self.changes) - 1 if until is None else until.change_index
        return tuple(change for change in self.changes if first < change.index <= last)

    def unreleased(self) -> tuple[Change, ...]:
        """The change instances after the last tag (all of them when there is no tag)."""
        return self.between(self.tags[-1] if self.tags else None, None)


@dataclass
class _RawChange:
    name: str
    requires: list[str]
    conflicts: list[str]
    note: str
    line: int
    instance: int
    since_tag: str | None
    tags: list[str] = field(default_factory=list)
    rework_tags: list[str] = field(default_factory=list)


def _split_note(line: str) -> tuple[str, str]:
    """Split ``text # note`` at the first ``#`` (names cannot contain one), as sqitch does."""
    body, hash_sign, note = line.partition("#")
    return body.rstrip(), note.strip() if hash_sign else ""


def _parse_deps(deps: str, where: str) -> tuple[list[str], list[str]]:
    requires: list[str] = []
    conflicts: list[str] = []
    for dep in deps.split():
        if dep.startswith("!"):
            conflicts.append(dep[1:])
        else:
            requires.append(dep)
    seen = requires + conflicts
    duplicated = sorted({dep for dep in seen if seen.count(dep) > 1})
    if duplicated:
        raise PlanError(f"{where}: duplicate dependency {duplicated[0]!r}")
    return requires, conflicts


def _check_requires(raw: _RawChange, project: str, seen: set[str], where: str) -> None:
    """Every in-project dependency must name a change planned earlier (sqitch's rule)."""
    for dep in raw.requires:
        target = dep
        if ":" in target:
            dep_project, _, target = target.partition(":")
            if dep_project != project:
                continue
        name = target.split("@", 1)[0]
        if name == raw.name and "@" not in target:
            raise PlanError(f"{where}: change {raw.name!r} cannot require itself")
        if name not in seen:
            raise PlanError(
                f"{where}: change {raw.name!r} requires {dep!r}, which is not planned before it"
            )


def _parse_pragmas(lines: list[str], source: str) -> tuple[dict[str, str], int]:
    """Read the ``%name=value`` header; return the pragmas and the index of the first body line."""
    pragmas: dict[str, str] = {}
    index = 0
    while index < len(lines):
        text = lines[index]
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            if not stripped and pragmas:
                break
            index += 1
            continue
        body, _ = _split_note(text)
        match = _PRAGMA_RE.match(body)
        if not match:
            break
        pragmas[match["name"]] = (match["value"] or "1").strip()
        index += 1
    if "project" not in pragmas:
        raise PlanError(f"{source}: missing %project pragma")
    return pragmas, index


class _BodyParser:
    """Reads the change and tag lines after the pragmas, keeping sqitch's bookkeeping."""

    def __init__(self, project: str, source: str) -> None:
        self.project = project
        self.source = source
        self.raws: list[_RawChange] = []
        self.tags: list[Tag] = []
        self.latest_index: dict[str, int] = {}  # change name -> index of its latest instance
        self.section: dict[str, int] = {}  # change name -> line, since the last tag
        self.last_tag: str | None = None

    def feed(self, number: int, text_line: str) -> None:
        stripped = text_line.strip()
        if not stripped or stripped.startswith("#"):
            return
        where = f"{self.source}:{number}"
        if stripped.startswith("%"):
            raise PlanError(f"{where}: pragmas belong in the header, before the first change")
        body, note = _split_note(text_line)
        match = _LINE_RE.match(body)
        if not match:
            raise PlanError(
                f"{where}: cannot parse {stripped!r}; expected "
                "'name [deps] YYYY-MM-DDTHH:MM:SSZ planner <email> # note' or '@tag ...'"
            )
        if match["tag"]:
            self._tag(match["name"], note, number, where)
        else:
            if match["operator"] == "-":
                raise PlanError(f"{where}: '-{match['name']}' (a revert entry) is not supported")
            self._change(match["name"], match["deps"] or "", note, number, where)

    def _tag(self, name: str, note: str, number: int, where: str) -> None:
        if not self.raws:
            raise PlanError(f"{where}: tag @{name} comes before any change")
        if "/" in name:
            raise PlanError(f"{where}: tag @{name} contains '/'")
        if any(tag.name == name for tag in self.tags):
            raise PlanError(f"{where}: tag @{name} is declared twice")
        self.tags.append(Tag(name=name, change_index=len(self.raws) - 1, note=note, line=number))
        self.raws[-1].tags.append(name)
        self.last_tag = name
        self.section.clear()

    def _change(self, name: str, deps: str, note: str, number: int, where: str) -> None:
        if name in self.section:
            raise PlanError(
                f"{where}: change {name!r} repeats line {self.section[name]} without a tag in "
                "between; a change can only be reworked after a tag"
            )
        requires, conflicts = _parse_deps(deps, where)
        raw = _RawChange(
            name=name,
            requires=requires,
            conflicts=conflicts,
            note=note,
            line=number,
            instance=1,
            since_tag=self.last_tag,
        )
        _check_requires(raw, self.project, set(self.latest_index), where)
        if name in self.latest_index:
            earlier = self.latest_index[name]
            raw.instance = self.raws[earlier].instance + 1
            # sqitch: tags of the changes after the earlier instance, nearest first,
            # then the earlier instance's own tags.
            candidates: list[str] = []
            for later in range(len(self.raws) - 1, earlier, -1):
                candidates.extend(self.raws[later].tags)
            candidates.extend(self.raws[earlier].tags)
            self.raws[earlier].rework_tags = candidates
        self.latest_index[name] = len(self.raws)
        self.section[name] = number
        self.raws.append(raw)


def parse_plan(text: str, top_dir: Path, source: str = "sqitch.plan") -> Plan:
    """Parse the text of a sqitch plan whose scripts live under ``top_dir``."""
    lines = text.splitlines()
    pragmas, index = _parse_pragmas(lines, source)
    parser = _BodyParser(pragmas["project"], source)
    for number, text_line in enumerate(lines[index:], start=index + 1):
        parser.feed(number, text_line)
    raws = parser.raws
    changes = tuple(
        _finish(raw, position, raws, parser.project, top_dir) for position, raw in enumerate(raws)
    )
    return Plan(
        project=parser.project,
        pragmas=pragmas,
        changes=changes,
        tags=tuple(parser.tags),
        top_dir=top_dir,
    )


def _finish(
    raw: _RawChange, position: int, raws: list[_RawChange], project: str, top: Path
) -> Change:
    release = next((r.tags[0] for r in raws[position:] if r.tags), None)
    suffix = ""
    if raw.rework_tags:
        suffix = f"@{raw.rework_tags[0]}"
        for tag in raw.rework_tags:
            if (top / "deploy" / f"{raw.name}@{tag}.sql").is_file():
                suffix = f"@{tag}"
                break
    return Change(
        project=project,
        name=raw.name,
        index=position,
        instance=raw.instance,
        requires=tuple(raw.requires),
        conflicts=tuple(raw.conflicts),
        note=raw.note,
        line=raw.line,
        since_tag=raw.since_tag,
        tags=tuple(raw.tags),
        release=release,
        rework_tags=tuple(raw.rework_tags),
        _file_suffix=suffix,
    )


def write_tree(plan: Plan, dest: Path, *, until: str) -> Plan:
    """Write the SQL tree as it was when tag ``until`` was made into ``dest``; return its plan.

    That is what checking out the release would give: ``sqitch.plan`` cut after the tag line,
    ``sqitch.conf``, and every script of the changes up to the tag. A change reworked later
    is back in its own files: ``functions/x@v0.1.0.sql`` becomes ``functions/x.sql`` again.
    Used to deploy an older release (tests, upgrades) without a git checkout.
    """
    tag = plan.tag(until)
    source = plan.top_dir / "sqitch.plan"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "sqitch.plan").write_text("".join(lines[: tag.line]), encoding="utf-8")
    conf = plan.top_dir / "sqitch.conf"
    if conf.is_file():
        (dest / "sqitch.conf").write_bytes(conf.read_bytes())
    latest: dict[str, Change] = {}
    for change in plan.until(tag):
        latest[change.name] = change
    for change in plan.until(tag):
        kinds: tuple[ScriptKind, ...] = ("deploy", "revert", "verify")
        for kind in kinds:
            stem = change.name
            if latest[change.name] is not change:
                # reworked again within the release: keep the tagged copy's own name
                stem = change.file_stem
            target = dest / kind / f"{stem}.sql"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(change.script(plan.top_dir, kind).read_bytes())
    return load_plan(dest)


def load_plan(top_dir: Path | None = None) -> Plan:
    """Parse ``<top_dir>/sqitch.plan`` (default: :func:`pgjobs.sqlfiles.sql_dir`)."""
    top = sql_dir() if top_dir is None else top_dir
    path = top / "sqitch.plan"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"{path} does not exist") from None
    return parse_plan(text, top, str(path))
