"""Bad input stops the build with file, line and field, and the last good dist/ survives untouched."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from support.graph import repo_copy

from cpbkg.build.pipeline import Progress, build
from cpbkg.config import Settings
from cpbkg.errors import CountDriftError, SourceError

PLAN = Path("data/plan/implementation-plan.yaml")


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> tuple[Settings, dict[str, str]]:
    """A private repository copy with one good build in its dist/."""
    settings = repo_copy(tmp_path_factory.mktemp("repo"))
    # the reasoner is exercised by the session build; here only the failure paths matter
    build(settings, reason=False, progress=Progress(quiet=True))
    return settings, fingerprint(settings.dist_dir)


@pytest.fixture
def broken(good):
    """Yields a function that edits one file of the copy; the file is restored afterwards."""
    settings, _ = good
    saved: dict[Path, bytes] = {}

    def edit(relative: Path | str, change) -> Path:
        path = settings.root / relative
        saved.setdefault(path, path.read_bytes())
        change(path)
        return path

    yield edit
    for path, data in saved.items():
        path.write_bytes(data)


def expect_failure(good, error: type[Exception], *fragments: str) -> None:
    settings, before = good
    with pytest.raises(error) as info:
        build(settings, reason=False, progress=Progress(quiet=True))
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert fingerprint(settings.dist_dir) == before, "a failed build changed dist/"
    assert not list(settings.dist_dir.parent.glob("dist.tmp-*")), "a failed build left its temporary folder"


def test_turtle_syntax_error_names_file_and_line(good, broken):
    path = broken("ontology/cpbkg.ttl", lambda p: p.write_text(
        p.read_text(encoding="utf-8").replace("cpb:Goal a owl:Class ;", "cpb:Goal a owl:Class ;;;; <<", 1), encoding="utf-8"))
    expect_failure(good, SourceError, str(path), "syntax")


def test_yaml_syntax_error_names_file_and_line(good, broken):
    path = broken(PLAN, lambda p: p.write_text(p.read_text(encoding="utf-8") + "\n  - {code: [unclosed\n", encoding="utf-8"))
    expect_failure(good, SourceError, str(path), "YAML syntax error")


def test_missing_field_names_file_line_and_field(good, broken):
    def drop_first_en(p: Path) -> None:
        lines = p.read_text(encoding="utf-8").splitlines(keepends=True)
        index = next(i for i, line in enumerate(lines) if line.lstrip().startswith("en:") and i > 0
                     and "code: A.1" in "".join(lines[max(0, i - 6):i]))
        del lines[index]
        p.write_text("".join(lines), encoding="utf-8")

    path = broken(PLAN, drop_first_en)
    expect_failure(good, SourceError, str(path), "en")


def test_dropped_objective_is_count_drift(good, broken):
    import yaml

    def drop_objective(p: Path) -> None:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        data["goals"][0]["objectives"].pop()
        p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    broken(PLAN, drop_objective)
    expect_failure(good, CountDriftError, "objectives: 35", "36")


def test_duplicate_code_is_rejected(good, broken):
    import yaml

    def duplicate(p: Path) -> None:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        # A.1.2 becomes a second A.1.1 (still under goal A.1, so only the duplicate check can catch it)
        objectives = data["goals"][0]["objectives"]
        objectives[1]["code"] = objectives[0]["code"]
        p.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")

    broken(PLAN, duplicate)
    expect_failure(good, SourceError, "duplicate")


def test_missing_source_file_names_it(good, broken):
    settings, _ = good
    path = settings.sources_dir / "cp-10-3-zh.txt"
    broken(path.relative_to(settings.root), lambda p: p.rename(p.with_suffix(".gone")))
    try:
        expect_failure(good, SourceError, "cp-10-3-zh.txt")
    finally:
        if path.with_suffix(".gone").exists():
            path.with_suffix(".gone").rename(path)


def test_empty_file_is_rejected(good, broken):
    path = broken("data/decision/cp-10-3.yaml", lambda p: p.write_text("", encoding="utf-8"))
    expect_failure(good, SourceError, str(path), "empty")


@pytest.mark.slow  # a whole build in a subprocess, killed mid-swap, then another: about 20 s here
def test_interrupted_swap_is_recovered(good):
    """A build killed between the two renames of the swap: the old dist/ comes back."""
    settings, before = good
    old = settings.dist_dir.with_name("dist.old-99999")
    shutil.copytree(settings.dist_dir, old)
    shutil.rmtree(settings.dist_dir)
    build(settings, reason=False, progress=Progress(quiet=True))
    assert settings.dist_dir.is_dir() and not old.exists()
    assert fingerprint(settings.dist_dir).keys() == before.keys()
