"""The SHACL shapes accept the valid fixtures and reject each invalid one for its stated reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.graph import TEST_DATA

from cpbkg.build.ontology import load_ontology
from cpbkg.build.rdfio import parse_file
from cpbkg.build.reasoning import materialise
from cpbkg.build.validation import Report, load_shapes, validate
from cpbkg.config import Settings

FIXTURES = TEST_DATA / "shapes"
SETTINGS = Settings()


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(SETTINGS.shapes_dir)


@pytest.fixture(scope="module")
def ontology():
    return load_ontology(SETTINGS.ontology_dir)


def check(path: Path, shapes, ontology) -> Report:
    data = parse_file(path)
    data += materialise(data, ontology)
    return validate(data, shapes)


@pytest.mark.parametrize("path", sorted((FIXTURES / "valid").glob("*.ttl")), ids=lambda p: p.stem)
def test_valid_fixture_conforms(path, shapes, ontology):
    report = check(path, shapes, ontology)
    assert report.conforms, report.summary()


@pytest.mark.parametrize("path", sorted((FIXTURES / "invalid").glob("*.ttl")), ids=lambda p: p.stem)
def test_invalid_fixture_is_rejected_for_its_reason(path, shapes, ontology):
    expected = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect:").strip()
    report = check(path, shapes, ontology)
    assert not report.conforms
    assert any(expected in v.message for v in report.violations), report.summary()


def test_invalid_fixtures_exist():
    # the parametrised tests above would pass vacuously on an empty folder
    assert len(list((FIXTURES / "invalid").glob("*.ttl"))) >= 10
