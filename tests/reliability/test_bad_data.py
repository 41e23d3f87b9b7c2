"""Broken input files: every file the build reads, and national-report answers for ``cpbkg ingest``,
broken in each way a file breaks -- empty, cut in half, bytes that are not UTF-8, UTF-16, NUL
bytes, syntax errors, duplicate IDs, answers for unknown questions, options or Parties, a
truncated CSV -- give a :class:`~cpbkg.errors.SourceError` naming the file, the line and, for
structured data, the field; never a traceback of ours, never a half-written output, never a
change to the input file.

This module is quick in CI: each build input once, with one of the
damages in turn (``CPBKG_RELIABILITY_FULL=1``: every input with every damage). A build here
stops where SHACL validation would start (the files are all read by then; the validation
itself is exercised by ``test_shapes.py`` and ``test_build_failures.py``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from rdflib import Graph
from support.reliability import FIGURES, ROOT, fingerprint

import cpbkg.build.pipeline as build_module
from cpbkg.build.pipeline import Progress, build
from cpbkg.build.progress.answers import AnswersInvalid
from cpbkg.build.progress.ingest import ingest
from cpbkg.config import Settings
from cpbkg.errors import SourceError

FULL = os.environ.get("CPBKG_RELIABILITY_FULL") == "1"

#: every file `cpbkg build` reads (the other files of data/sources/ are kept for reference only)
BUILD_INPUTS = [
    "ontology/cpbkg.ttl", "ontology/cpbkg-progress.ttl", "shapes/cpbkg-shapes.ttl", "shapes/cpbkg-progress.ttl",
    "shapes/cpbkg-warnings.ttl", "data/plan/implementation-plan.yaml", "data/decision/cp-10-3.yaml",
    "data/links/curated.yaml", "data/methodology/indicator-sources.yaml", "data/parties/parties.csv",
    "data/parties/regions.csv", "data/sources/cp-10-3-zh.txt", "data/sources/cp-10-3-en-partial.txt",
    "data/sources/reference-facts.md", "data/sources/treaties/cartagena-protocol-en.md",
    "data/sources/treaties/nagoya-kuala-lumpur-supplementary-protocol-en.md",
    "data/sources/treaties/convention-on-biological-diversity-en.md", "data/sources/gbf/gbf-indicators.json",
    "data/sources/gbf/gbf-binary-indicator-questions.json", "data/sources/sdg/sdg-kos-goals-targets-indicators.ttl",
    "data/sources/bch/cpb-national-report-4.json", "data/sources/bch/cpb-national-report-5.json",
    "data/sources/bch/mapping/cpbNationalReport5-4.json",
]


def _insert(data: bytes, extra: bytes) -> bytes:
    """``extra`` at the start of a line a third of the way in."""
    at = data.index(b"\n", len(data) // 3) + 1
    return data[:at] + extra + data[at:]


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda d: b"",
    "not UTF-8": lambda d: _insert(d, "café ü\n".encode("latin-1")),
    "NUL bytes": lambda d: _insert(d, b"ab\x00\x00cd\n"),
    "UTF-16": lambda d: d.decode("utf-8").encode("utf-16"),
    "only whitespace": lambda d: b" \n\t\n",
    "binary": lambda d: bytes(range(256)) * 4,
}
#: damages after which the error must say the line
NEEDS_LINE = {"not UTF-8", "NUL bytes", "UTF-16", "binary"}


def build_cases() -> list[tuple[str, str]]:
    names = list(DAMAGE)
    if FULL:
        return [(f, d) for f in BUILD_INPUTS for d in names]
    return [(f, names[i % len(names)]) for i, f in enumerate(BUILD_INPUTS)]


class _Reached(Exception):
    """The build read every file and got to SHACL validation without noticing anything."""


@pytest.fixture()
def quick_build(monkeypatch: pytest.MonkeyPatch) -> Callable[[Settings], None]:
    def reached(*args: object, **kwargs: object) -> None:
        raise _Reached()

    monkeypatch.setattr(build_module, "validate", reached)
    monkeypatch.setattr(build_module, "materialise", lambda *a, **k: Graph())

    def run(settings: Settings) -> None:
        build(settings, reason=False, progress=Progress(quiet=True))

    return run


def repo(tmp_path: Path) -> Settings:
    for name in ("ontology", "shapes", "data"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return Settings().with_(root=tmp_path, dist_dir=tmp_path / "dist", store_path=tmp_path / "store")


def expect_source_error(run: Callable[[Settings], None], settings: Settings, path: Path, *, line: bool,
                        field: str | None = None, fragment: str = "") -> str:
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(SourceError) as info:
        try:
            run(settings)
        except _Reached:
            pytest.fail(f"{path.relative_to(settings.root)}: the damage was not noticed")
    message = str(info.value)
    assert str(path) in message, message
    if line:
        assert re.search(re.escape(str(path)) + r":\d+", message), f"no line in: {message[:300]}"
    if field:
        assert f"[{field}" in message, f"no field {field!r} in: {message[:300]}"
    if fragment:
        assert fragment in message, message[:300]
    assert "Traceback" not in message
    assert not settings.dist_dir.exists(), "a failed build wrote dist/"
    if before is not None:
        assert path.read_bytes() == before, "the input file was changed"
    return message


@pytest.mark.parametrize("name, damage", build_cases(), ids=[f"{d}:{n}" for n, d in build_cases()])
def test_a_damaged_build_input_is_named_with_its_line(tmp_path: Path, quick_build: Callable[[Settings], None],
                                                      name: str, damage: str) -> None:
    settings = repo(tmp_path)
    path = settings.root / name
    path.write_bytes(DAMAGE[damage](path.read_bytes()))
    FIGURES.bad_input("build input: " + damage)
    expect_source_error(quick_build, settings, path, line=damage in NEEDS_LINE)


def _replace_line(path: Path, number: int, change: Callable[[str], str]) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[number - 1] = change(lines[number - 1])
    path.write_text("".join(lines), encoding="utf-8")


def _cut(data: bytes, before: bytes) -> bytes:
    """The first half of ``data`` and up to the next ``before`` (a cut in the middle of a statement:
    a cut between two statements is a shorter file, not a broken one)."""
    return data[: data.index(before, len(data) // 2)]


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


STRUCTURED: list[tuple[str, str, Callable[[Path], None], str | None, str]] = [
    ("Turtle syntax", "shapes/cpbkg-warnings.ttl", lambda p: _append(p, "\ncpb:x cpb:y ;; <unclosed .\n"), None, "syntax"),
    ("Turtle cut in half, mid-statement", "ontology/cpbkg-progress.ttl",
     lambda p: p.write_bytes(_cut(p.read_bytes(), b" ;")), None, "syntax"),
    ("YAML syntax", "data/decision/cp-10-3.yaml", lambda p: _append(p, "\n  - {id: [unclosed\n"), None, "YAML"),
    ("YAML cut in half", "data/links/curated.yaml",
     lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), None, ""),
    ("JSON cut in half", "data/sources/gbf/gbf-indicators.json",
     lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]), None, "JSON syntax error"),
    ("CSV row cut short", "data/parties/parties.csv", lambda p: _append(p, "ZZZ,ZZ\n"), None,
     "fields where the header has"),
    ("duplicate Party", "data/parties/parties.csv",
     lambda p: _append(p, p.read_text(encoding="utf-8").splitlines()[1] + "\n"), None, ""),
]


@pytest.mark.parametrize("label, name, change, field, fragment", STRUCTURED, ids=[s[0] for s in STRUCTURED])
def test_a_broken_structured_input_names_file_and_line(tmp_path: Path, quick_build: Callable[[Settings], None],
                                                       label: str, name: str, change: Callable[[Path], None],
                                                       field: str | None, fragment: str) -> None:
    settings = repo(tmp_path)
    path = settings.root / name
    change(path)
    FIGURES.bad_input("build input: " + label)
    expect_source_error(quick_build, settings, path, line=True, field=field, fragment=fragment)


REPORT_ROWS = {
    "an unknown Party": ("party,cycle,question,value\nXXX,5,Q007,implementation.fullInPlace\n", 2, "party"),
    "an unknown question": ("party,cycle,question,value\nCHN,5,Q999,true\n", 2, "question"),
    "an unknown option": ("party,cycle,question,value\nCHN,5,Q007,implementation.maybe\n", 2, "value"),
    "a duplicate row": (("party,cycle,question,value\nCHN,5,Q007,implementation.fullInPlace\n"
                         "CHN,5,Q007,implementation.fullInPlace\n"), 3, "value"),
    "a CSV cut inside a quote": ('party,cycle,question,value\nCHN,5,Q007,implementation.fullInPlace\nCHN,5,Q013,"cut', 3,
                                 None),
}


@pytest.mark.parametrize("label", list(REPORT_ROWS))
def test_broken_answers_in_data_reports_stop_the_build_with_file_line_field(
        tmp_path: Path, quick_build: Callable[[Settings], None], label: str) -> None:
    settings = repo(tmp_path)
    text, line, field = REPORT_ROWS[label]
    path = settings.data_dir / "reports" / "nr5" / "broken.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    FIGURES.bad_input("reports CSV: " + label)
    message = expect_source_error(quick_build, settings, path, line=True, field=field)
    assert f"{path}:{line}" in message, message[:400]


# --------------------------------------------------------------------------- cpbkg ingest

VALID_CSV = (ROOT / "tests" / "data" / "answers" / "valid" / "nr5-small.csv").read_bytes()
VALID_JSON = (ROOT / "tests" / "data" / "answers" / "valid" / "nr5-document.json").read_bytes()


def _csv_line(number: int, change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    def apply(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = change(lines[number - 1])
        return b"\n".join(lines)

    return apply


#: name -> (suffix, how the valid file is broken, line, field, a fragment of the message); line None: no line
INGEST: dict[str, tuple[str, Callable[[bytes], bytes], int | None, str | None, str]] = {
    "empty": ("csv", lambda d: b"", None, "file", "file is empty"),
    "only a header": ("csv", lambda d: d.split(b"\n")[0] + b"\n", 2, None, "no answers"),
    "wrong header": ("csv", lambda d: b"country,q,answer\n" + d.split(b"\n", 1)[1], 1, "header", "header must name"),
    "unknown Party": ("csv", _csv_line(2, lambda s: s.replace(b"CHN", b"XYZ")), 2, "party", "not a Party"),
    "unknown question": ("csv", _csv_line(3, lambda s: s.replace(b"Q008", b"Q999")), 3, "question", "not a question"),
    "unknown option": ("csv", _csv_line(2, lambda s: s.replace(b"fullInPlace", b"perhaps")), 2, "value",
                       "not an option"),
    "not a number": ("csv", _csv_line(7, lambda s: s.replace(b",3", b",three")), 7, "value", "whole number"),
    "wrong cycle": ("csv", _csv_line(4, lambda s: s.replace(b",5,", b",4,")), 4, "cycle", "cycle"),
    "duplicate row": ("csv", lambda d: d + d.split(b"\n")[1] + b"\n", 14, "value", "duplicate row"),
    "two answers to a single-choice question": ("csv", lambda d: d + b"CHN,5,Q007,implementation.draftMeasures\n", 14,
                                                "value", "takes one answer"),
    "a row cut short": ("csv", lambda d: d + b"BRA,5\n", 14, None, "fields where the header has"),
    "cut inside a quote": ("csv", lambda d: d[: d.index(b"with a comma")], 6, None, "CSV syntax error"),
    "not UTF-8": ("csv", _csv_line(9, lambda s: s + "é".encode("latin-1")), 9, "encoding", "not UTF-8"),
    "UTF-16": ("csv", lambda d: d.decode().encode("utf-16"), 1, "encoding", "UTF-16"),
    "NUL bytes": ("csv", _csv_line(5, lambda s: s + b"\x00"), 5, "encoding", "NUL"),
    "binary junk": ("csv", lambda d: bytes(range(256)) * 3, 2, "encoding", "not UTF-8"),
    "a heading question": ("csv", lambda d: d + b"CHN,5,Q006,true\n", 14, "question", ""),
    "JSON cut in half": ("json", lambda d: d[: len(d) // 2], None, None, "JSON syntax error"),
    "JSON unknown Party": ("json", lambda d: d.replace(b'"cn"', b'"xx"'), 4, "government.identifier", "not a Party"),
    "JSON unknown question": ("json", lambda d: d.replace(b'"Q011"', b'"Q999"'), 6, "Q999", "not a question"),
    "JSON unknown option": ("json", lambda d: d.replace(b"fullInPlace", b"perhaps"), 4, "Q007", "not an option"),
    "JSON wrong schema": ("json", lambda d: d.replace(b"cpbNationalReport5", b"cpbNationalReport4"), 2,
                          "header.schema", "schema"),
    "JSON not an object": ("json", lambda d: b"[1, 2]", 1, None, "must be a JSON object"),
    "JSON empty list": ("json", lambda d: b"[]", 1, None, "no national report"),
    "JSON answer of an unknown shape": ("json", lambda d: d.replace(b'"Q011": true', b'"Q011": {"x": [1]}'), 6,
                                        "Q011", "unknown shape"),
}


@pytest.mark.parametrize("label", list(INGEST))
def test_broken_answers_name_file_line_and_field_and_write_nothing(tmp_path: Path, label: str) -> None:
    suffix, damage, line, field, fragment = INGEST[label]
    source = tmp_path / f"answers.{suffix}"
    source.write_bytes(damage(VALID_CSV if suffix == "csv" else VALID_JSON))
    before = source.read_bytes()
    reports = tmp_path / "reports"
    (reports / "nr5").mkdir(parents=True)
    (reports / "nr5" / "previous.csv").write_bytes(b"party,cycle,question,value\nKEN,5,Q007,implementation.fullInPlace\n")
    target_before = fingerprint(reports)
    FIGURES.bad_input("answers: " + label)
    with pytest.raises(SourceError) as info:
        ingest(source, 5, settings=Settings(), to=reports, name="previous", replace=True)
    message = str(info.value)
    assert isinstance(info.value, AnswersInvalid), message
    where = f"{source}:{line}" if line is not None else str(source)
    assert where in message, (label, message[:400])
    if field:
        assert f"[{field}]" in message, (label, message[:400])
    if fragment:
        assert fragment in message, (label, message[:400])
    assert source.read_bytes() == before, "the input was changed"
    assert fingerprint(reports) == target_before, "something was written"


@pytest.mark.parametrize("label, data", [
    ("a byte-order mark", b"\xef\xbb\xbf" + VALID_CSV),
    ("CRLF line ends", VALID_CSV.replace(b"\n", b"\r\n")),
    ("blank lines", VALID_CSV.replace(b"\n", b"\n\n", 3)),
], ids=["bom", "crlf", "blank-lines"])
def test_harmless_variants_are_not_errors(tmp_path: Path, label: str, data: bytes) -> None:
    source = tmp_path / "answers.csv"
    source.write_bytes(data)
    FIGURES.bad_input("answers (harmless): " + label)
    result = ingest(source, 5, settings=Settings(), to=tmp_path / "reports")
    assert result.answers == 11 and result.parties == 3
    assert source.read_bytes() == data


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "tests" / "data" / "answers" / "invalid").iterdir()))
def test_each_invalid_fixture_names_a_line_or_says_why_not(tmp_path: Path, name: str) -> None:
    """The fixtures of test_ingest.py (which checks nothing is written): here, that each message
    names file and line -- or the file as a whole where there is no line to name (an empty file)."""
    source = ROOT / "tests" / "data" / "answers" / "invalid" / name
    FIGURES.bad_input("answers fixture")
    with pytest.raises(AnswersInvalid) as info:
        ingest(source, 5, settings=Settings(), to=tmp_path / "reports", dry_run=True)
    message = str(info.value)
    first = message.splitlines()[0]
    assert str(source) in first
    assert re.search(re.escape(str(source)) + r":\d+", message) or "empty" in first, message[:300]
    assert info.value.problems and all(p.line is not None or p.field for p in info.value.problems), message[:300]
