"""The tables of ``dist/`` for analysts: CSV files of the Plan's elements, its links and the goal x
GBF target matrix, each with a byte-order-mark variant for Excel and its CSV on the Web metadata.

Each :class:`Table` is a SPARQL query over the union of the build's graphs (the goal x target
matrix is the named query ``queries/goal-gbf-target-matrix.rq``, the one the catalogue serves),
written as ``{name}.csv`` (UTF-8, RFC 4180: comma, CRLF, quotes where needed, a header row),
``{name}-excel.csv`` (the same bytes after a UTF-8 byte-order mark: without one Excel reads the
file as the local code page and garbles the Chinese) and ``{name}.csv-metadata.json``, the
W3C CSVW metadata (https://www.w3.org/TR/tabular-metadata/) naming each column, its datatype
and, for the IRI columns, that they are IRIs (``"datatype": "anyURI"``).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from cpbkg.config import PROJECT_ROOT

#: the UTF-8 byte-order mark of the ``-excel.csv`` variants (and of ``?bom=1`` answers)
BOM = b"\xef\xbb\xbf"
CSVW = "http://www.w3.org/ns/csvw"

PREFIXES = """PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

ELEMENTS = PREFIXES + """SELECT ?code ?level ?zh ?en ?parent ?iri WHERE {
  VALUES (?class ?level) { (cpb:Area "area") (cpb:Goal "goal") (cpb:Objective "objective")
                           (cpb:Indicator "indicator") (cpb:Outcome "outcome") }
  ?iri a ?class ; skos:notation ?code .
  OPTIONAL { SELECT ?iri (SAMPLE(?l) AS ?zh) WHERE { ?iri skos:prefLabel ?l FILTER(LANG(?l) = "zh") } GROUP BY ?iri }
  OPTIONAL { SELECT ?iri (SAMPLE(?l) AS ?en) WHERE { ?iri skos:prefLabel ?l FILTER(LANG(?l) = "en") } GROUP BY ?iri }
  OPTIONAL { ?iri cpb:inArea|cpb:objectiveOf|cpb:indicatorOf|cpb:outcomeOf ?up . ?up skos:notation ?parent }
}"""

LINKS = PREFIXES + """SELECT ?from ?to ?property ?basis ?source ?justification ?from_iri ?to_iri WHERE {
  ?link a cpb:Link ; cpb:linkSubject ?from_iri ; cpb:linkPredicate ?predicate ; cpb:linkObject ?to_iri ;
        cpb:basis ?b .
  BIND(STRAFTER(STR(?predicate), "#") AS ?property)
  BIND(STRAFTER(STR(?b), "#") AS ?basis)
  OPTIONAL { SELECT ?from_iri (SAMPLE(?c) AS ?fc) WHERE { ?from_iri skos:notation ?c } GROUP BY ?from_iri }
  OPTIONAL { SELECT ?to_iri (SAMPLE(?c) AS ?tc) WHERE { ?to_iri skos:notation ?c } GROUP BY ?to_iri }
  BIND(COALESCE(?fc, STR(?from_iri)) AS ?from)
  BIND(COALESCE(?tc, STR(?to_iri)) AS ?to)
  OPTIONAL { SELECT ?link (GROUP_CONCAT(STR(?s); SEPARATOR=" ") AS ?source)
             WHERE { SELECT ?link ?s WHERE { ?link a cpb:Link ; dcterms:source ?s } ORDER BY STR(?s) } GROUP BY ?link }
  OPTIONAL { ?link cpb:justification ?justification }
}"""


@dataclass(frozen=True)
class Column:
    """A column of a table: its name (the query's variable, the CSV header), what it holds, its CSVW datatype."""

    name: str
    title: str
    datatype: str = "string"


@dataclass(frozen=True)
class Table:
    """One CSV table of ``dist/`` and the query that fills it."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    #: the SPARQL query (over the union of the graphs)
    query: Callable[[], str]
    #: the names of the columns that identify a row
    key: tuple[str, ...]
    #: the page of the site that shows the table (linked to the file from there)
    page: str
    #: orders the rows (the query's variables -> sort key)
    order: Callable[[dict[str, str]], object] | None = None
    #: the title in Chinese (the pages and the listing of /dumps/ show the reader's language)
    title_zh: str = ""

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` ("zh" or "en"); English where there is no Chinese one."""
        return (self.title_zh or self.title) if lang == "zh" else self.title

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    @property
    def excel(self) -> str:
        return f"{self.name}-excel.csv"

    @property
    def metadata(self) -> str:
        return f"{self.name}.csv-metadata.json"


def natural(code: str) -> tuple[object, ...]:
    """A sort key putting ``A.2`` before ``A.10``: runs of digits compare as numbers (the pages sort by
    the same rule, :func:`cpbkg.describe.model.natural_key`, of a later phase than the build).

    >>> sorted(["A.10", "A.2", "A.1(b)", "A.1(a)", "B"], key=natural)
    ['A.1(a)', 'A.1(b)', 'A.2', 'A.10', 'B']
    """
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", code))


_LEVELS = {"area": 0, "goal": 1, "objective": 2, "indicator": 3, "outcome": 4}


def _matrix_query() -> str:
    return (PROJECT_ROOT / "queries" / "goal-gbf-target-matrix.rq").read_text(encoding="utf-8")


TABLES: tuple[Table, ...] = (
    Table("plan-elements", "The elements of the Implementation Plan",
          "Every area, long-term goal, objective, indicator and outcome of the Implementation Plan 2023-2030 "
          "(decision CP-10/3): its official code, level, Chinese and English text, and the code of the element "
          "it belongs to.",
          (Column("code", "code"), Column("level", "level"), Column("zh", "Chinese text"),
           Column("en", "English text"), Column("parent", "code of the element it belongs to"),
           Column("iri", "IRI", "anyURI")),
          lambda: ELEMENTS, ("iri",), "/",
          lambda row: (_LEVELS.get(row["level"], 9), natural(row["code"])), title_zh="执行计划的要素"),
    Table("links", "The links of the Plan, with their basis",
          "Every link record (cpb:Link): the element it starts from and where it goes (codes where they have "
          "one, else IRIs), the property, its basis (ExplicitCitation, OfficialMapping, CuratedLink), its "
          "sources and, for curated links, the justification.",
          (Column("from", "from (code or IRI)"), Column("to", "to (code or IRI)"), Column("property", "property"),
           Column("basis", "basis"), Column("source", "sources (IRIs, space-separated)"),
           Column("justification", "justification"), Column("from_iri", "from (IRI)", "anyURI"),
           Column("to_iri", "to (IRI)", "anyURI")),
          lambda: LINKS, ("from_iri", "property", "to_iri"), "/explore",
          lambda row: (natural(row["from"]), row["property"], natural(row["to"])), title_zh="执行计划的关联及其依据"),
    Table("goal-gbf-target-matrix", "Long-term goals x GBF targets",
          "One row per long-term goal, one column per target of the Kunming-Montreal Global Biodiversity "
          "Framework: how many elements of the goal (the goal, its objectives and indicators) are linked to the "
          "target (the named query goal-gbf-target-matrix).",
          (Column("goal", "goal (IRI)", "anyURI"), Column("code", "code"), Column("label_en", "English title"),
           *(Column(f"t{n}", f"GBF target {n}", "integer") for n in range(1, 24))),
          _matrix_query, ("goal",), "/explore", title_zh="长期目标 × 全球生物多样性框架行动目标"),
)


def rows(store: ox.Store, table: Table) -> list[dict[str, str]]:
    """The table's rows: the query's values by column name ("" where unbound), in the table's order."""
    solutions = store.query(table.query(), use_default_graph_as_union=True)
    assert isinstance(solutions, ox.QuerySolutions)
    out = []
    for solution in solutions:
        row = {}
        for column in table.columns:
            term = solution[column.name]
            row[column.name] = "" if term is None else term.value
        out.append(row)
    if table.order is not None:
        out.sort(key=table.order)  # type: ignore[arg-type]
    return out


def to_csv(columns: Sequence[Column], table_rows: Sequence[dict[str, str]]) -> bytes:
    """RFC 4180 CSV in UTF-8 (no byte-order mark): a header of the column names, then the rows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.name for c in columns])
    for row in table_rows:
        writer.writerow([row[c.name] for c in columns])
    return out.getvalue().encode("utf-8")


def metadata(table: Table, base: str) -> dict[str, object]:
    """The CSVW metadata of a table (``{name}.csv-metadata.json``), its ``url`` relative to the metadata file."""
    return {
        "@context": [CSVW, {"@language": "en"}],
        "url": table.file,
        "dc:title": table.title,
        "dc:description": table.description,
        "dc:source": base + "dataset",
        "dc:license": {"@id": "https://creativecommons.org/licenses/by/4.0/"},
        "dialect": {"encoding": "utf-8", "header": True, "delimiter": ",", "lineTerminators": ["\r\n"]},
        "tableSchema": {
            "columns": [{"name": c.name, "titles": c.title, "datatype": c.datatype, "required": c.name in table.key}
                        for c in table.columns],
            "primaryKey": list(table.key),
        },
        "notes": [{"dc:description": f"{table.excel} holds the same bytes after a UTF-8 byte-order mark, for "
                                     "Excel; the page that shows this table: " + table.page}],
    }


def write_tables(folder: Path, store: ox.Store, base: str) -> list[Path]:
    """Write each table's CSV, its ``-excel.csv`` variant and its CSVW metadata into ``folder``; the CSV files."""
    written = []
    for table in TABLES:
        data = to_csv(table.columns, rows(store, table))
        (folder / table.file).write_bytes(data)
        (folder / table.excel).write_bytes(BOM + data)
        (folder / table.metadata).write_text(json.dumps(metadata(table, base), indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
        written += [folder / table.file, folder / table.excel]
    return written
