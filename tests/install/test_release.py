"""Releases: tags, control, CHANGELOG and the package version agree; schema_version() names
every release; released changes are never edited in place (only reworked); the bundler's rules
for versions. Everything is derived from the plan: no change or release is named here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from install_support import REPO, SQL_DIR, plan_text, write_answer_tree, write_scripts

import pgjobs
from pgjobs.sqltree.bundle import BundleError, build, control_version, names, scripts
from pgjobs.sqltree.plan import Change, PlanError, Tag, load_plan, version_key

PLAN = load_plan(SQL_DIR)
VERSION = control_version(REPO / "control")


def test_control_is_the_newest_release_and_the_package_version() -> None:
    assert PLAN.tags, "sqitch.plan has no release tag"
    newest = PLAN.tags[-1].version
    if PLAN.unreleased():
        # A release in preparation: control names it already, the tag comes with it.
        assert version_key(VERSION) > version_key(newest)
    else:
        assert newest == VERSION
    assert sorted(PLAN.tags, key=lambda t: version_key(t.version)) == list(PLAN.tags)
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'\[tool\.hatch\.version\]\npath = "control"\n', pyproject)
    assert pgjobs.__version__ == VERSION  # run `make dev` again after changing control
    scripts(PLAN, VERSION)  # the bundler agrees (it raises on any mismatch)


def test_the_changelog_has_one_section_per_release_newest_first() -> None:
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", changelog, re.MULTILINE)
    released = [(v, rest) for v, rest in headings if v != "Unreleased"]
    assert [v for v, _ in released] == [t.version for t in reversed(PLAN.tags)]
    for _, rest in released:
        assert re.fullmatch(r" - \d{4}-\d{2}-\d{2}", rest), f"'## [x.y.z] - YYYY-MM-DD': {rest!r}"
    if headings and headings[0][0] == "Unreleased":
        assert all(v != "Unreleased" for v, _ in headings[1:])
    # Each release section says something.
    for version, _ in released:
        section = changelog.split(f"## [{version}]", 1)[1].split("\n## [", 1)[0]
        assert re.search(r"^- ", section, re.MULTILINE), f"CHANGELOG {version} lists nothing"


def _schema_version_instances() -> list[Change]:
    return [c for c in PLAN if c.name == "functions/schema_version"]


def test_every_release_since_schema_version_reworks_it_to_return_its_version() -> None:
    instances = _schema_version_instances()
    assert instances, "functions/schema_version is missing from the plan"
    first = instances[0].release
    releases = [t for t in PLAN.tags if PLAN.tag(first or "").change_index <= t.change_index]
    expected = [(t.name, t.version) for t in releases]
    if PLAN.unreleased():
        # A release in preparation (control names it): its rework comes before its tag, so a
        # schema deployed from main already answers the version it is being built into.
        expected.append((None, VERSION))
    assert [c.release for c in instances] == [name for name, _ in expected], (
        "each release reworks functions/schema_version exactly once (sqitch rework "
        "functions/schema_version) so that it returns the new version"
    )
    for change, (_, version) in zip(instances, expected, strict=True):
        deploy = PLAN.script(change, "deploy").read_text(encoding="utf-8")
        verify = PLAN.script(change, "verify").read_text(encoding="utf-8")
        assert re.findall(r"'(\d+(?:\.\d+)+)'", deploy) == [version] * 2  # body, comment
        assert f"= '{version}'" in verify


# --- rework discipline ----------------------------------------------------------------------------


def test_reworked_changes_keep_their_released_scripts_under_the_tag() -> None:
    for change in PLAN:
        if change.is_reworked:
            for kind in ("deploy", "revert", "verify"):
                path = PLAN.script(change, kind)
                assert "@" in path.name and path.is_file(), (
                    f"{change.id} was reworked: its {kind} script as released must stay in "
                    f"{kind}/{change.name}@<tag>.sql (sqitch rework copies it there)"
                )


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise LookupError(result.stderr.strip())
    return result.stdout


def _tagging_commit(tag: Tag) -> str | None:
    """The last commit that wrote the tag's line into sqitch.plan: the release's content."""
    found = _git(
        "log", "-1", "-m", "--format=%H", "-G", rf"^@{re.escape(tag.name)}[ \t]", "--",
        "sql/sqitch.plan",
    ).split()  # fmt: skip
    return found[0] if found else None


def _released_text(commit: str, change: Change, kind: str) -> str | None:
    for stem in (change.file_stem, change.name):  # the tagged copy may not exist yet then
        try:
            return _git("show", f"{commit}:sql/{kind}/{stem}.sql")
        except LookupError:
            continue
    return None


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
def test_released_changes_are_not_edited_in_place() -> None:
    """Every script of a released change is byte for byte what the commit that made the
    release tag held. A released change that must change is reworked (sqitch rework), which
    leaves its released scripts under <name>@<tag>.sql and plans it again after the tag."""
    edited: list[str] = []
    checked = 0
    previous: Tag | None = None
    for tag in PLAN.tags:
        commit = _tagging_commit(tag)
        if commit is None:
            previous = tag
            continue  # tagged in the working tree only: not released yet
        for change in PLAN.between(previous, tag):
            for kind in ("deploy", "revert", "verify"):
                path = PLAN.script(change, kind)
                released = _released_text(commit, change, kind)
                if released is None:
                    edited.append(f"{path.relative_to(REPO)}: missing in {commit[:10]}")
                elif released != path.read_text(encoding="utf-8"):
                    edited.append(
                        f"{path.relative_to(REPO)} differs from @{tag.name} ({commit[:10]})"
                    )
                checked += 1
        previous = tag
    assert checked, "no release tag is committed yet"
    assert edited == [], (
        "released changes were edited in place; rework them instead "
        "(sqitch rework <change> -n '...'):\n  " + "\n  ".join(edited)
    )


# --- the bundler's version rules ------------------------------------------------------------------


def _tree(tmp_path: Path, *extra: str, version: str) -> tuple[Path, Path]:
    top = write_answer_tree(tmp_path / "sql", version=2)  # tags @v1, @v2
    if extra:
        lines = ["schema", "functions/answer [schema]", "@v1"]
        lines += ["functions/answer [functions/answer@v1]", "@v2", *extra]
        (top / "sqitch.plan").write_text(plan_text(*lines), encoding="utf-8")
        for line in extra:
            write_scripts(top, line.split()[0], deploy="SELECT 1;", revert="", verify="")
    control = tmp_path / "control"
    control.write_text(f"default_version = '{version}'\n", encoding="utf-8")
    return top, control


def test_bundle_of_a_released_plan(tmp_path: Path) -> None:
    top, control = _tree(tmp_path, version="2")
    built = build(tmp_path / "out", top_dir=top, control=control)
    assert [p.name for p in built] == names(top_dir=top, control=control)
    assert [p.name for p in built] == [
        "pgjobs--1.sql",
        "pgjobs--2.sql",
        "pgjobs--1--2.sql",
        "pgjobs.control",
    ]
    assert "RETURN 1" in (tmp_path / "out" / "pgjobs--1.sql").read_text()
    update = (tmp_path / "out" / "pgjobs--1--2.sql").read_text()
    assert "RETURN 2" in update and "CREATE SCHEMA" not in update


def test_bundle_of_a_release_in_preparation(tmp_path: Path) -> None:
    top, control = _tree(tmp_path, "extra [schema]", version="3")
    built = [p.name for p in build(tmp_path / "out", top_dir=top, control=control)]
    assert built[-3:] == ["pgjobs--3.sql", "pgjobs--2--3.sql", "pgjobs.control"]
    assert built == names(top_dir=top, control=control)


@pytest.mark.parametrize(
    ("extra", "version", "message"),
    [
        (("extra [schema]",), "2", r"1 change\(s\) follow the release tag @v2 \(extra\)"),
        ((), "1", r"default_version = '1', but sqitch.plan already has the release tag @v2"),
    ],
)
def test_bundle_refuses_a_version_that_disagrees_with_the_tags(
    tmp_path: Path, extra: tuple[str, ...], version: str, message: str
) -> None:
    top, control = _tree(tmp_path, *extra, version=version)
    with pytest.raises(BundleError, match=message):
        build(tmp_path / "out", top_dir=top, control=control)


def test_release_tags_must_name_a_version(tmp_path: Path) -> None:
    plan = load_plan(write_answer_tree(tmp_path / "sql", version=1))
    assert plan.tags[0].version == "1"
    bad = Tag(name="beta", change_index=0, note="", line=9)
    with pytest.raises(PlanError, match=r"tag @beta is not a release tag"):
        _ = bad.version
    assert version_key("0.10.0") > version_key("0.9.1")
