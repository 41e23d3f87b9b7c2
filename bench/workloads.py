"""The benchmark's workloads: the same questions asked of every server, in two modes.

SPARQL workloads go to each server's endpoint as GET ``?query=``; the others (a named
query, a resource page, the search page, a dump) exist only on CPB-KG and are reported
without a ratio.

Every SPARQL workload is a template with a ``LIMIT`` (above any row count it answers, so the
limit changes the text, not the answer) and, for the lookup, a value drawn from the data:

* **repeated**: one text (:data:`REPEATED_LIMIT`, the workload's ``value``) sent again and
  again. After the first request CPB-KG answers it from its response memo or answer cache, as
  it would a popular query; Oxigraph and rdflib-endpoint evaluate it every time. A cache's
  speed, not an engine's.
* **distinct**: every request a text no server has seen (a new ``LIMIT`` per request, and for
  the lookup the next value of those drawn from the data): no cache can answer it. The speed
  of each server's engine and HTTP path, which is what a researcher's new query meets.

The selective lookup and the aggregate read the synthetic answers that ``cpbkg build
--demo`` adds (on the published graph they find nothing, which is still a fair lookup).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = """PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""

#: the LIMIT of the repeated text; distinct texts take LIMITs above it (see bench/load.py)
REPEATED_LIMIT = 100_000

#: one element by its skos:notation, with its labels (zh, en); ``{value}`` is a literal from the data
LOOKUP = PREFIXES + """SELECT ?element ?label WHERE {
  ?element skos:notation {value} ; skos:prefLabel ?label .
} LIMIT {limit}"""

#: the values of the lookup's distinct texts: every notation of something that has a label
NOTATIONS = PREFIXES + """SELECT DISTINCT ?value WHERE { ?element skos:notation ?value ; skos:prefLabel ?label }
ORDER BY ?value"""

#: GBF Target 17 -> Plan elements that contribute to it -> the articles they cite or rest on
LINKAGE = PREFIXES + """SELECT ?element ?code ?article ?number WHERE {
  ?element cpb:contributesTo <https://w3id.org/cpbkg/id/gbf/target/17> ; skos:notation ?code .
  OPTIONAL { ?element cpb:cites|cpb:underlyingProvision ?article . ?article cpb:number ?number }
} ORDER BY ?code ?number LIMIT {limit}"""

#: a scan of every label for a word (no index helps: each label is read)
SCAN = PREFIXES + """SELECT ?s ?label WHERE {
  ?s skos:prefLabel ?label FILTER(CONTAINS(LCASE(STR(?label)), "risk"))
} LIMIT {limit}"""

#: one Party's answers to the 5th report (all replicates of the synthetic data)
SELECTIVE = PREFIXES + """SELECT ?report ?question ?option WHERE {
  ?report cpb:reportingParty <https://w3id.org/cpbkg/id/party/CHN> ; cpb:reportingCycle 5 .
  ?answer cpb:inReport ?report ; cpb:answersQuestion ?question .
  OPTIONAL { ?answer cpb:selectedOption ?option }
} LIMIT {limit}"""

#: the progress aggregate: how many Parties chose each option of each question, per cycle (no LIMIT:
#: the first-answer figures of bench/run.py run it as written)
AGGREGATE = PREFIXES + """SELECT ?cycle ?question ?option (COUNT(?answer) AS ?n) WHERE {
  ?answer cpb:inReport ?report ; cpb:answersQuestion ?question ; cpb:selectedOption ?option .
  ?report cpb:reportingCycle ?cycle .
} GROUP BY ?cycle ?question ?option"""

JSON = "application/sparql-results+json"


@dataclass(frozen=True)
class Workload:
    """A request to send: a SPARQL template for every server, or a CPB-KG path (repeated only)."""

    name: str
    accept: str
    #: SPARQL with ``{limit}`` and, when ``values`` is set, ``{value}`` (an N-Triples term)
    template: str | None = None
    path: str | None = None
    #: the ``{value}`` of the repeated text
    value: str | None = None
    #: a SELECT of ``?value``: the values of the distinct texts, drawn from the data being served
    values: str | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes this workload runs in: a path is one URL (repeated only)."""
        return ("repeated", "distinct") if self.template is not None else ("repeated",)

    def text(self, limit: int | str = REPEATED_LIMIT, value: str | None = None) -> str:
        """The SPARQL text with this ``LIMIT`` and value (default: the repeated text).

        >>> LOOKUP_WORKLOAD.text(7, '"B.2"').splitlines()[-2:]
        ['  ?element skos:notation "B.2" ; skos:prefLabel ?label .', '} LIMIT 7']
        """
        assert self.template is not None, f"{self.name} is not a SPARQL workload"
        return self.template.replace("{value}", value or self.value or "").replace("{limit}", str(limit))

    def distinct_text(self, n: int, values: list[str]) -> str:
        """Distinct text number ``n``: ``LIMIT n`` and the value ``values[n % len(values)]`` (what the
        wrk script of bench/load.py sends as request ``n``)."""
        return self.text(n, values[n % len(values)] if values else None)


LOOKUP_WORKLOAD = Workload("lookup", JSON, template=LOOKUP, value='"A.1"', values=NOTATIONS)

WORKLOADS = [
    LOOKUP_WORKLOAD,
    Workload("linkage", JSON, template=LINKAGE),
    Workload("scan", JSON, template=SCAN),
    Workload("selective lookup", JSON, template=SELECTIVE),
    Workload("progress aggregate", JSON, template=AGGREGATE + " LIMIT {limit}"),
    Workload("named query", JSON, path="/queries/plan-elements-for-gbf-target"),
    Workload("page (HTML)", "text/html", path="/id/goal/A.1"),
    Workload("page (Turtle)", "text/turtle", path="/id/goal/A.1"),
    Workload("search page", "text/html", path="/search?q=biosafety"),
    Workload("dump download", "application/gzip", path="/dumps/cpbkg.nt.gz"),
]

#: the workloads of the per-stage table (bench/stages.py) by default
STAGE_WORKLOADS = ("lookup", "linkage", "scan")


def by_name(name: str) -> Workload:
    """The workload called ``name``.

    Raises:
        KeyError: no such workload (the message lists them).
    """
    for load in WORKLOADS:
        if load.name == name:
            return load
    raise KeyError(f"no workload {name!r}; one of {', '.join(w.name for w in WORKLOADS)}")
