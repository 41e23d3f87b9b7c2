"""National-report answers: reading (CSV, BCH JSON), validating against the questionnaires and
the Party list, and writing them as N-Triples without an rdflib graph in between.

(Over 500 lines on purpose: three input shapes -- CSV, BCH JSON, the report analyzer's JSON -- share
one validator and one writer; splitting them would split the rules each row is checked against.)

Validation is plain Python over every row before anything is written (pyshacl would cost
minutes on large answer sets). Every problem names file, line and field; all problems of a
file are collected (up to :data:`MAX_PROBLEMS`) and raised together as :class:`AnswersInvalid`.

The CSV format (``data/reports/README.md``): UTF-8, a header row, one row per Party x question
x answer::

    party,cycle,question,value
    CHN,5,Q007,implementation.fullInPlace
    CHN,5,Q008,instrument.nationalBiosafetyLaws
    CHN,5,Q008,instrument.nationalBiosafetyRegulations
    CHN,5,Q013,"Free text answers are kept as text."

``party``: ISO 3166-1 alpha-3 or alpha-2 (``EU`` for the European Union); ``cycle``: 4 or 5
(optional column; when present it must equal the cycle being ingested); ``question``: the BCH
question key (``Q007``, ``Q102_a``); ``value``: an option's value code for option and term
questions (one row per chosen option of a multiple-choice question), text for text questions,
a whole number for number questions.

The BCH JSON shape (``data/reports/README.md``): the BCH report analyzer's, a JSON array with one
record per report, ``government`` plus one field per question key, a value being ``{"value": ...}``,
``{"identifier": ...}``, a list, ``{"options": [...]}`` or a boolean::

    [{"government": "cn", "Q007": {"value": "implementation.fullInPlace"},
      "Q008": {"options": ["instrument.nationalBiosafetyLaws"]}, "Q011": true}]

A single document, Clearing-House style (``header`` with ``schema``, ``government`` as
``{"identifier": "cn"}``, text as a language map), is accepted too.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cpbkg.build.progress.parties import PartyList, ProgressIds, load_parties
from cpbkg.errors import SourceError

#: cycles with a questionnaire
CYCLES = (4, 5)
#: question types that take an option's value code
OPTION_TYPES = {"option", "term"}
#: question types that take text
TEXT_TYPES = {"lstring", "lstringRte", "string", "text"}
#: question types that take a whole number
NUMBER_TYPES = {"int"}
#: problems collected from one file before giving up
MAX_PROBLEMS = 50
CSV_COLUMNS = ("party", "cycle", "question", "value")
REQUIRED_COLUMNS = ("party", "question", "value")
SCHEMA = {4: "cpbNationalReport4", 5: "cpbNationalReport5"}


# ------------------------------------------------------------------------------ questionnaires


@dataclass(frozen=True)
class Question:
    """What validation needs to know of one question."""

    key: str
    cycle: int
    number: str
    type: str
    multiple: bool
    options: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return self.type in OPTION_TYPES | TEXT_TYPES | NUMBER_TYPES


@dataclass(frozen=True)
class Questionnaire:
    """One cycle's questions by key, and by printed number (``7``, ``102(a)``)."""

    cycle: int
    questions: dict[str, Question]
    by_number: dict[str, Question]
    #: sub-questions of each heading question (for error messages)
    children: dict[str, tuple[str, ...]]


@lru_cache(maxsize=4)
def load_questionnaire(sources_dir: Path, cycle: int) -> Questionnaire:
    """The questions of ``data/sources/bch/cpb-national-report-{cycle}.json``.

    Raises:
        SourceError: no questionnaire for that cycle, or a broken file.
    """
    from cpbkg.build.sources.questionnaires import read_json

    if cycle not in CYCLES:
        raise SourceError(sources_dir / "bch", f"no questionnaire for reporting cycle {cycle} (known: 4, 5)")
    data = read_json(sources_dir / "bch" / f"cpb-national-report-{cycle}.json")
    questions: dict[str, Question] = {}
    by_number: dict[str, Question] = {}
    children: dict[str, tuple[str, ...]] = {}

    def walk(items: list[dict[str, Any]], parent_number: str | None) -> list[str]:
        keys = []
        for q in items:
            number = str(q.get("number") or "")
            printed = f"{parent_number}({number})" if parent_number and number else number
            question = Question(str(q["key"]), cycle, printed, str(q.get("type", "")), bool(q.get("multiple")),
                                tuple(str(o["value"]) for o in q.get("options") or []))
            questions[question.key] = question
            if printed:
                by_number[printed] = question
            keys.append(question.key)
            sub = walk(q.get("questions") or [], printed or None)
            if sub:
                children[question.key] = tuple(sub)
        return keys

    for section in data.get("sections") or []:
        walk(section.get("questions") or [], None)
    return Questionnaire(cycle, questions, by_number, children)


@lru_cache(maxsize=2)
def value_mapping(sources_dir: Path) -> dict[str, tuple[str, dict[str, str]]]:
    """The Secretariat's 5th -> 4th report mapping: 5th key -> (4th key, 5th value -> 4th value).

    The mapping file writes a question's value mapping from the 4th report's codes to the 5th's
    (``{"0": "none", ...}`` for Q131 -> Q150); it is inverted here. Values not named keep their code.
    """
    from cpbkg.build.sources.questionnaires import read_json

    raw = read_json(sources_dir / "bch" / "mapping" / "cpbNationalReport5-4.json")
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for key5, target in raw.items():
        if key5 == "schema":
            continue
        if isinstance(target, dict):
            mapping = {v5: v4 for v4, v5 in (target.get("valueMapping") or {}).items()}
            out[key5] = (str(target["question"]), mapping)
        else:
            out[key5] = (str(target), {})
    return out


# ------------------------------------------------------------------------------------ answers


@dataclass(frozen=True)
class Answer:
    """One Party's answer to one question in one cycle (several values for multiple choice)."""

    party: str
    cycle: int
    question: str
    values: tuple[str, ...]
    #: line of the first row or key this answer was read from
    line: int = 0


@dataclass
class AnswerSet:
    """Validated answers of one cycle, keyed by (Party, question)."""

    cycle: int
    answers: dict[tuple[str, str], Answer] = field(default_factory=dict)
    source: str = ""

    def __len__(self) -> int:
        return len(self.answers)

    def __iter__(self) -> Iterator[Answer]:
        return iter(self.answers.values())

    @property
    def parties(self) -> set[str]:
        return {p for p, _ in self.answers}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an answers file."""

    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "file"
        return f"{where}" + (f" [{self.field}]" if self.field else "") + f": {self.message}"


class AnswersInvalid(SourceError):
    """An answers file with one or more problems; ``problems`` lists them all (file, line, field).

    Exit code 1, like a file that does not conform to the shapes (``cpbkg validate``).
    """

    exit_code = 1

    def __init__(self, path: Path | str, problems: list[Problem], *, more: bool = False) -> None:
        self.problems = problems
        first = problems[0]
        count = f"{len(problems)}{'+' if more else ''} problem{'s' if len(problems) != 1 or more else ''}"
        details = "\n".join(f"  {path}:{p.line if p.line is not None else ''}"
                            f"{' [' + p.field + ']' if p.field else ''}: {p.message}" for p in problems)
        super().__init__(path, f"{first.message} ({count}, nothing loaded)\n{details}",
                         line=first.line, field=first.field)


class _Collector:
    """Problems of one file; the same message on many lines is listed 3 times, then counted."""

    REPEATS = 3

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.more = False
        self.repeats: dict[tuple[str | None, str], int] = {}

    def add(self, line: int | None, fieldname: str | None, message: str) -> None:
        key = (fieldname, message)
        self.repeats[key] = self.repeats.get(key, 0) + 1
        if self.repeats[key] > self.REPEATS:
            return
        if len(self.problems) >= MAX_PROBLEMS:
            self.more = True
            return
        self.problems.append(Problem(line, fieldname, message))

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        problems = list(self.problems)
        for (fieldname, message), count in self.repeats.items():
            if count > self.REPEATS:
                problems.append(Problem(None, fieldname, f"... and {count - self.REPEATS} more lines with: {message}"))
        raise AnswersInvalid(self.path, problems, more=self.more)


class Validator:
    """Checks raw (party, question, value) rows against one cycle's questionnaire and the Parties."""

    def __init__(self, cycle: int, *, sources_dir: Path, data_dir: Path, path: Path) -> None:
        self.cycle = cycle
        self.questionnaire = load_questionnaire(sources_dir, cycle)
        self.parties: PartyList = load_parties(data_dir)
        self.problems = _Collector(path)
        self.rows: dict[tuple[str, str], list[tuple[str, int]]] = {}

    def row(self, line: int, party: str, question: str, value: str, *, party_field: str = "party",
            question_field: str = "question", value_field: str = "value") -> None:
        add = self.problems.add
        iso3 = self.parties.resolve(party)
        ok = True
        if not party.strip():
            add(line, party_field, "no Party code")
            ok = False
        elif iso3 is None:
            add(line, party_field, f"{party!r} is not a Party to the Cartagena Protocol "
                                   "(ISO 3166-1 alpha-3 or alpha-2 code of a Party, or EU; see data/parties/parties.csv)")
            ok = False
        q = self.questionnaire.questions.get(question.strip())
        if not question.strip():
            add(line, question_field, "no question key")
            return
        if q is None:
            hint = self._hint(question)
            add(line, question_field, f"{question!r} is not a question of the {self._ordinal()} national report{hint}")
            return
        if not q.answerable:
            sub = self.questionnaire.children.get(q.key)
            add(line, question_field, f"{q.key} is a heading (type {q.type or 'none'}) and takes no answer"
                                      + (f"; answer its sub-questions {', '.join(sub)}" if sub else ""))
            return
        value = value.strip() if q.type not in TEXT_TYPES else value
        if value.strip() == "":
            add(line, value_field, f"empty answer to {q.key}")
            return
        if q.type in OPTION_TYPES and value not in q.options:
            add(line, value_field, f"{value!r} is not an option of {q.key} (options: {', '.join(q.options)})")
            return
        if q.type in NUMBER_TYPES and not re.fullmatch(r"\d{1,9}", value):
            add(line, value_field, f"{q.key} takes a whole number, not {value!r}")
            return
        if ok and iso3:
            self.rows.setdefault((iso3, q.key), []).append((value, line))

    def _ordinal(self) -> str:
        return {4: "4th", 5: "5th"}.get(self.cycle, f"{self.cycle}th")

    def _hint(self, question: str) -> str:
        text = question.strip()
        number = text[1:] if text[:1] in "Qq" else text
        number = number.lstrip("0") or number
        found = self.questionnaire.by_number.get(number)
        if found:
            return f" (question {found.number} has the key {found.key})"
        return " (use the BCH key, e.g. Q007 or Q102_a)"

    def finish(self, source: str = "") -> AnswerSet:
        """The answers, or AnswersInvalid listing every problem (duplicates included)."""
        answers = AnswerSet(self.cycle, source=source)
        for (iso3, key), rows in self.rows.items():
            q = self.questionnaire.questions[key]
            seen: dict[str, int] = {}
            for value, line in rows:
                if value in seen:
                    self.problems.add(line, "value", f"duplicate row: {iso3} {key} {value!r} already on line {seen[value]}")
                else:
                    seen[value] = line
            if len(seen) > 1 and not q.multiple:
                lines = ", ".join(str(line) for _, line in rows)
                self.problems.add(rows[1][1], "value", f"{key} takes one answer; {iso3} gives {len(seen)} "
                                                       f"(lines {lines})")
            answers.answers[(iso3, key)] = Answer(iso3, self.cycle, key, tuple(seen), rows[0][1])
        self.problems.raise_if_any()
        return answers


def _decode(path: Path, raw: bytes, problems: _Collector) -> str | None:
    if not raw.strip():
        problems.add(None, "file", "file is empty")
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        utf16 = " (it looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        problems.add(line, "encoding", f"not UTF-8{utf16} (byte {exc.start}: {raw[exc.start:exc.start + 1]!r}); "
                                       "save the file as UTF-8")
        return None


def _read_text(path: Path, problems: _Collector) -> str:
    """The file's text; SourceError if it cannot be read, AnswersInvalid if it is empty or not UTF-8."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise SourceError(path, "file not found" if isinstance(exc, FileNotFoundError) else "is a directory") from exc
    text = _decode(path, raw, problems)
    if text is None:
        problems.raise_if_any()
        raise AssertionError("unreachable: _decode records a problem whenever it returns None")
    return text


def read_csv(path: Path, cycle: int, *, sources_dir: Path, data_dir: Path) -> AnswerSet:
    """Read and validate a CSV answers file (format in the module docstring).

    Raises:
        AnswersInvalid: every problem found, each with line and field.
    """
    validator = Validator(cycle, sources_dir=sources_dir, data_dir=data_dir, path=path)
    problems = validator.problems
    text = _read_text(path, problems)
    if "\x00" in text:
        problems.add(text[: text.index("\x00")].count("\n") + 1, "encoding", "NUL byte: not a text file (UTF-16?)")
        problems.raise_if_any()
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        problems.add(1, None, f"no header row ({exc})" if str(exc) else "no header row")
        problems.raise_if_any()
        raise AssertionError("unreachable") from exc
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [h for h in names if h not in CSV_COLUMNS]
    if missing or unknown or len(set(names)) != len(names):
        problems.add(1, "header", f"the header must name the columns {', '.join(CSV_COLUMNS)} (cycle optional); "
                                  f"found {', '.join(header) or 'nothing'}")
        problems.raise_if_any()
    col = {name: i for i, name in enumerate(names)}
    rows = 0
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            rows += 1
            if len(fields) != len(names):
                problems.add(line, None, f"{len(fields)} field{'s' if len(fields) != 1 else ''} where the header has "
                                         f"{len(names)} (a comma inside an unquoted value, or a truncated line?)")
                continue
            if "cycle" in col:
                given = fields[col["cycle"]].strip()
                if given != str(cycle):
                    problems.add(line, "cycle", f"cycle {given!r} in a file ingested as cycle {cycle}")
                    continue
            validator.row(line, fields[col["party"]], fields[col["question"]], fields[col["value"]])
    except csv.Error as exc:
        problems.add(reader.line_num, None, f"CSV syntax error: {exc} (an unclosed quote: truncated file?)")
    if rows == 0 and not problems.problems:
        problems.add(2, None, "no answers: the file has a header and nothing else")
    return validator.finish(source=str(path))


# ---------------------------------------------------------------------------------- BCH JSON


def _json_documents(text: str, problems: _Collector) -> list[tuple[int, int, Any]]:
    """(start offset, start line, document) for a single document or each element of a list."""
    decoder = json.JSONDecoder()

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    try:
        start = len(text) - len(text.lstrip())
        if text[start:start + 1] != "[":
            doc, _ = decoder.raw_decode(text, start)
            rest = text[_:].strip()
            if rest:
                problems.add(line_of(_), None, "extra data after the JSON document")
            return [(start, line_of(start), doc)]
        json.loads(text)  # the whole array must parse: a clear message for a truncated file
        docs: list[tuple[int, int, Any]] = []
        pos = start + 1
        while True:
            while text[pos].isspace() or text[pos] == ",":
                pos += 1
            if text[pos] == "]":
                return docs
            doc, end = decoder.raw_decode(text, pos)
            docs.append((pos, line_of(pos), doc))
            pos = end
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, None, f"JSON syntax error: {exc.msg} (column {exc.colno}; truncated file?)")
        return []


def _json_values(answer: Any) -> list[str] | None:
    """The value codes or text of one answer, or None for a shape not understood.

    >>> _json_values({"options": ["instrument.nationalBiosafetyLaws", {"value": "instrument.biosafetyGuidelines"}]})
    ['instrument.nationalBiosafetyLaws', 'instrument.biosafetyGuidelines']
    >>> _json_values(True), _json_values([{"identifier": "a"}, "b"]), _json_values({"options": "x"}) is None
    (['true'], ['a', 'b'], True)
    """
    if isinstance(answer, bool):
        return ["true" if answer else "false"]
    if isinstance(answer, (str, int)):
        return [str(answer)]
    if isinstance(answer, dict) and "options" in answer:
        # the report analyzer's multiple choice: {"options": [code, ...]} (codes bare or as {"value": ...})
        options = answer["options"]
        return _json_values(options) if isinstance(options, list) else None
    if isinstance(answer, dict):
        for key in ("value", "identifier"):
            if key in answer and isinstance(answer[key], (str, int, bool)):
                inner = answer[key]
                return ["true" if inner is True else "false" if inner is False else str(inner)]
        texts = [v for k, v in answer.items() if isinstance(v, str) and re.fullmatch(r"[a-z]{2}(-[A-Za-z]+)?", k)]
        if texts:
            return [answer.get("en") or texts[0]]
        return None
    if isinstance(answer, list):
        out: list[str] = []
        for item in answer:
            values = _json_values(item)
            if values is None:
                return None
            out.extend(values)
        return out
    return None


#: document keys that are not answers
JSON_META = {"header", "government", "meta", "_id", "id", "identifier", "schema", "documentID", "revision",
             "createdOn", "updatedOn", "submittedOn", "owner", "workingDocumentLock", "realm",
             "notes", "additionalInformation", "relevantDocuments", "cycle"}


def read_bch_json(path: Path, cycle: int, *, sources_dir: Path, data_dir: Path) -> AnswerSet:
    """Read and validate national-report documents in the BCH's JSON shape (see the module docstring).

    Raises:
        AnswersInvalid: every problem found; a line is the line where the document or key starts.
    """
    validator = Validator(cycle, sources_dir=sources_dir, data_dir=data_dir, path=path)
    problems = validator.problems
    text = _read_text(path, problems)
    docs = _json_documents(text, problems)
    if not docs and not problems.problems:
        problems.add(1, None, "no national report in the file (an empty list)")
    for n, (offset, line, doc) in enumerate(docs):
        where = f"[{n}]." if len(docs) > 1 else ""

        def line_of_key(key: str, _offset: int = offset, _line: int = line) -> int:
            at = text.find(f'"{key}"', _offset)
            return text.count("\n", 0, at) + 1 if at >= 0 else _line

        if not isinstance(doc, dict):
            problems.add(line, where.rstrip(".") or None, "a national report must be a JSON object")
            continue
        schema = (doc.get("header") or {}).get("schema") if isinstance(doc.get("header"), dict) else None
        if schema is not None and schema != SCHEMA.get(cycle):
            problems.add(line_of_key("schema"), f"{where}header.schema",
                         f"schema {schema!r} in a file ingested as cycle {cycle} (expected {SCHEMA.get(cycle)!r})")
            continue
        gov = doc.get("government")
        party = gov.get("identifier") if isinstance(gov, dict) else gov if isinstance(gov, str) else None
        if not isinstance(party, str) or not party.strip():
            problems.add(line, f"{where}government.identifier", "no reporting Party (government.identifier)")
            continue
        answered = 0
        for key, answer in doc.items():
            if key in JSON_META or key.startswith("_"):
                continue
            kline = line_of_key(key)
            values = _json_values(answer)
            if values is None:
                problems.add(kline, f"{where}{key}", f"answer of an unknown shape: {json.dumps(answer)[:80]}")
                continue
            if not values:
                continue
            for value in values:
                validator.row(kline, party, key, value, party_field=f"{where}government.identifier",
                              question_field=f"{where}{key}", value_field=f"{where}{key}")
            answered += 1
        if answered == 0:
            problems.add(line, where.rstrip(".") or None, "the report holds no answers")
    return validator.finish(source=str(path))


def read_answers(path: Path, cycle: int, *, sources_dir: Path, data_dir: Path, fmt: str | None = None) -> AnswerSet:
    """Read and validate an answers file, CSV or BCH JSON (by ``fmt`` or the file's suffix)."""
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt == "json":
        return read_bch_json(path, cycle, sources_dir=sources_dir, data_dir=data_dir)
    if fmt == "csv":
        return read_csv(path, cycle, sources_dir=sources_dir, data_dir=data_dir)
    raise SourceError(path, f"unknown answers format {fmt!r}: use a .csv or .json file (or --format csv/json)")


def write_csv(answers: Iterable[Answer], out: io.TextIOBase | Any) -> int:
    """Answers in the CSV format, rows sorted by Party, question, value; returns the row count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for a in sorted(answers, key=lambda a: (a.party, a.cycle, a.question)):
        for value in a.values:
            writer.writerow((a.party, a.cycle, a.question, value))
            rows += 1
    return rows


# ---------------------------------------------------------------------------- N-Triples output


def _nt_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


XSD_INT = "<http://www.w3.org/2001/XMLSchema#integer>"
XSD_BOOL = "<http://www.w3.org/2001/XMLSchema#boolean>"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"


def answer_triples(answers: Iterable[Answer], pids: ProgressIds, *, sources_dir: Path,
                   synthetic: int | None = None, derived_from: str | None = None) -> Iterator[str]:
    """N-Triples lines for answers: one report per Party and cycle, one answer node per question.

    Written as text (no rdflib graph): about 4 triples per answer. URIs::

        {base}id/report/nr5/party/CHN                       cpb:NationalReport
        {base}id/report/nr5/party/CHN/answer/Q007           cpb:Answer
    """
    from cpbkg.build.progress.parties import PROG

    ns = str(PROG._NS)
    t_report, t_answer = f"<{ns}NationalReport>", f"<{ns}Answer>"
    p_party, p_cycle, p_qn = f"<{ns}reportingParty>", f"<{ns}reportingCycle>", f"<{ns}questionnaire>"
    p_in, p_q, p_opt = f"<{ns}inReport>", f"<{ns}answersQuestion>", f"<{ns}selectedOption>"
    p_text, p_num, p_syn = f"<{ns}answerText>", f"<{ns}answerNumber>", f"<{ns}synthetic>"
    p_part = "<http://purl.org/dc/terms/isPartOf>"
    p_derived = "<http://www.w3.org/ns/prov#wasDerivedFrom>"
    ids = pids.ids
    questionnaires = {c: load_questionnaire(sources_dir, c) for c in CYCLES}
    reports: set[tuple[int, str]] = set()
    q_uri: dict[tuple[int, str], str] = {}
    opt_uri: dict[tuple[int, str, str], str] = {}
    collection = f"<{pids.collection(synthetic)}>"
    for a in answers:
        report = f"<{pids.report(a.cycle, a.party, synthetic=synthetic)}>"
        if (a.cycle, a.party) not in reports:
            reports.add((a.cycle, a.party))
            yield f"{report} {RDF_TYPE} {t_report} ."
            yield f"{report} {p_party} <{pids.party(a.party)}> ."
            yield f'{report} {p_cycle} "{a.cycle}"^^{XSD_INT} .'
            yield f"{report} {p_qn} <{ids.questionnaire(a.cycle)}> ."
            yield f"{report} {p_part} {collection} ."
            if synthetic is not None:
                yield f'{report} {p_syn} "true"^^{XSD_BOOL} .'
            if derived_from:
                yield f"{report} {p_derived} {_nt_string(derived_from)} ."
        node = f"<{pids.report(a.cycle, a.party, synthetic=synthetic)}/answer/{a.question}>"
        qkey = (a.cycle, a.question)
        if qkey not in q_uri:
            q_uri[qkey] = f"<{ids.question(a.cycle, a.question)}>"
        yield f"{node} {RDF_TYPE} {t_answer} ."
        yield f"{node} {p_in} {report} ."
        yield f"{node} {p_q} {q_uri[qkey]} ."
        qtype = questionnaires[a.cycle].questions[a.question].type
        for value in a.values:
            if qtype in OPTION_TYPES:
                okey = (a.cycle, a.question, value)
                if okey not in opt_uri:
                    opt_uri[okey] = f"<{ids.answer_option(a.cycle, a.question, value)}>"
                yield f"{node} {p_opt} {opt_uri[okey]} ."
            elif qtype in NUMBER_TYPES:
                yield f'{node} {p_num} "{int(value)}"^^{XSD_INT} .'
            else:
                yield f"{node} {p_text} {_nt_string(value)} ."
