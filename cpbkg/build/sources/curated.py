"""The project's curated links (``data/links/curated.yaml``) as RDF: our analysis, not official.

Each record links a Plan element to a GBF target or goal (``contributesTo``) or to a
treaty provision that underlies it without being cited (``underlyingProvision``)::

    - {from: goal:A.2, to: cpb:20, property: underlyingProvision, why: "..."}

and becomes, through :func:`~cpbkg.build.sources.links.add_link`, the direct triple plus a
``cpb:Link`` resource with basis ``cpb:CuratedLink``, the sentence in
``cpb:justification``, the file's ``author`` and ``date`` in ``dcterms:creator`` /
``dcterms:date``, and the YAML file itself as ``dcterms:source``.

Key forms (anything else is a :class:`~cpbkg.errors.SourceError` naming file and line):

========================  ==============================================
``goal:A.1``              a long-term goal (``from`` only)
``objective:A.1.1``       an objective (``from`` only)
``indicator:A.1(a)``      an indicator (``from`` only)
``gbf:17``                GBF target 17 (``to`` only)
``gbfgoal:D``             GBF goal D (``to`` only)
``cpb:20``                Article 20 of the Cartagena Protocol
``cpb:annex:III``         Annex III of the Cartagena Protocol
``nkl`` / ``nkl:12``      the Supplementary Protocol / its Article 12
``cbd:8``                 Article 8 of the Convention
========================  ==============================================
"""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDFS

from cpbkg.build.sources.links import add_link, citation_target
from cpbkg.build.sources.records import Record, read_records
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

CURATED_FILE = Path("links") / "curated.yaml"
#: the file's public identity, relative to the base URI (``dcterms:source`` of every link)
SOURCE_PATH = "data/links/curated.yaml"

#: properties a curated link may use, and the kinds of ``to`` key each accepts
PROPERTIES: dict[str, tuple[URIRef, frozenset[str]]] = {
    "contributesTo": (CPB.contributesTo, frozenset({"gbf", "gbfgoal"})),
    # the range of underlyingProvision is cpb:Provision: an article or annex, never a whole treaty
    "underlyingProvision": (CPB.underlyingProvision, frozenset({"provision"})),
    "relatedTo": (CPB.relatedTo, frozenset({"gbf", "gbfgoal", "provision", "treaty"})),
}
FIELDS = frozenset({"from", "to", "property", "why"})

_PLAN_KEYS = {
    "goal": re.compile(r"^[AB]\.\d{1,2}$"),
    "objective": re.compile(r"^[AB]\.\d{1,2}\.\d{1,2}$"),
    "indicator": re.compile(r"^[AB]\.\d{1,2}\([a-z]\)$"),
}
_GBF_TARGET = re.compile(r"^(?:[1-9]|1\d|2[0-3])$")
_GBF_GOAL = re.compile(r"^[A-D]$")
_PROVISION = re.compile(r"^(?:cpb|nkl|cbd)(?::\d{1,2}|:annex:[IVX]+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def resolve_from(ids: Ids, key: str) -> URIRef:
    """The Plan element a ``from`` key names.

    >>> str(resolve_from(Ids("https://x.org/"), "indicator:A.1(a)"))
    'https://x.org/id/indicator/A.1(a)'

    Raises:
        ValueError: not one of ``goal:A.1``, ``objective:A.1.1``, ``indicator:A.1(a)``.
    """
    kind, _, code = key.partition(":")
    pattern = _PLAN_KEYS.get(kind)
    if pattern is None or not pattern.match(code):
        raise ValueError(f"unknown 'from' key {key!r} (expected goal:A.1, objective:A.1.1 or indicator:A.1(a))")
    return {"goal": ids.goal, "objective": ids.objective, "indicator": ids.indicator}[kind](code)


def resolve_to(ids: Ids, key: str) -> tuple[str, URIRef]:
    """The kind (gbf, gbfgoal, provision, treaty) and resource a ``to`` key names.

    >>> kind, uri = resolve_to(Ids("https://x.org/"), "gbf:17")
    >>> kind, str(uri)
    ('gbf', 'https://x.org/id/gbf/target/17')
    >>> resolve_to(Ids("https://x.org/"), "cpb:annex:III")[0]
    'provision'

    Raises:
        ValueError: not a known key form.
    """
    kind, _, code = key.partition(":")
    if kind == "gbf" and _GBF_TARGET.match(code):
        return "gbf", ids.gbf("target", code)
    if kind == "gbfgoal" and _GBF_GOAL.match(code):
        return "gbfgoal", ids.gbf("goal", code)
    if _PROVISION.match(key):
        return ("provision" if code else "treaty"), citation_target(ids, key)
    raise ValueError(
        f"unknown 'to' key {key!r} (expected gbf:1..23, gbfgoal:A..D, cpb:20, cpb:annex:III, nkl, nkl:12 or cbd:8)"
    )


def _exists(known: Graph, uri: URIRef) -> bool:
    return next(iter(known.triples((uri, None, None))), None) is not None


def build_graph(data_dir: Path, ids: Ids, known: Graph | None = None) -> Graph:
    """The curated links graph.

    Args:
        data_dir: the project's ``data/`` directory.
        ids: the URI scheme.
        known: the union of the other graphs; when given, every ``from`` and ``to``
            must be a subject in it (so a typo or a renamed element fails the build).

    Raises:
        SourceError: naming file, line and field, for an unknown key form or property,
            a missing ``why``, a duplicate link, an unknown field, or (with ``known``)
            a resource the other graphs do not have.
    """
    path = data_dir / CURATED_FILE
    records = read_records(path)
    author = records.text("author")
    date = records.text("date")
    if not _DATE.match(date):
        raise records.error(f"date must be YYYY-MM-DD, not {date!r}", field="date")
    source = URIRef(ids.base + SOURCE_PATH)
    graph = Graph()
    graph.add((source, RDFS.label, Literal("CPB-KG curated links (the project's analysis, not official)", lang="en")))
    seen: dict[tuple[URIRef, URIRef, URIRef], int] = {}
    for index, record in enumerate(records.items_of("links")):
        where = f"links[{index}]."
        subject, predicate, obj = _link(record, ids, where, known)
        first = seen.get((subject, predicate, obj))
        if first is not None:
            raise record.error(f"duplicate link (first given on line {first})", field=where + "to")
        seen[(subject, predicate, obj)] = record.line
        add_link(graph, ids, subject, predicate, obj, basis=CPB.CuratedLink, source=source,
                 justification=record.text("why", where=where), creator=author, date=date)
    if not seen:
        raise SourceError(path, "no links: the file must list at least one under links:", field="links")
    return graph


def _link(record: Record, ids: Ids, where: str, known: Graph | None) -> tuple[URIRef, URIRef, URIRef]:
    extra = sorted(set(record) - FIELDS)
    if extra:
        raise record.error(f"unknown field(s) {', '.join(extra)}; a link has {', '.join(sorted(FIELDS))}",
                           field=where + extra[0])
    from_key = record.text("from", where=where)
    to_key = record.text("to", where=where)
    name = record.text("property", where=where)
    record.text("why", where=where)
    if name not in PROPERTIES:
        raise record.error(f"unknown property {name!r}; one of {', '.join(PROPERTIES)}", field=where + "property")
    predicate, allowed = PROPERTIES[name]
    try:
        subject = resolve_from(ids, from_key)
    except ValueError as exc:
        raise record.error(str(exc), field=where + "from") from exc
    try:
        kind, obj = resolve_to(ids, to_key)
    except ValueError as exc:
        raise record.error(str(exc), field=where + "to") from exc
    if kind not in allowed:
        raise record.error(f"{name} cannot point to {to_key!r} (a {kind}); it takes {', '.join(sorted(allowed))}",
                           field=where + "to")
    if known is not None:
        for key, uri, field in ((from_key, subject, "from"), (to_key, obj, "to")):
            if not _exists(known, uri):
                raise record.error(f"{key!r} ({uri}) is not in the graph built from the other sources",
                                   field=where + field)
    return subject, predicate, obj
