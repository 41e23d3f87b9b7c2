"""The benchmark's workloads: the same questions asked of every server.

SPARQL workloads go to each server's endpoint as GET ``?query=``; the others (a named
query, a resource page, the search page, a dump) exist only on CPB-KG and are reported
without a ratio.
The selective lookup and the aggregate read the synthetic answers that ``cpbkg build
--demo`` adds (on the published graph they find nothing, which is still a fair lookup).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = """PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""

#: one Party's answers to the 5th report (all replicates of the synthetic data)
SELECTIVE = PREFIXES + """SELECT ?report ?question ?option WHERE {
  ?report cpb:reportingParty <https://w3id.org/cpbkg/id/party/CHN> ; cpb:reportingCycle 5 .
  ?answer cpb:inReport ?report ; cpb:answersQuestion ?question .
  OPTIONAL { ?answer cpb:selectedOption ?option }
}"""

#: GBF Target 17 -> Plan elements that contribute to it -> the articles they cite or rest on
LINKAGE = PREFIXES + """SELECT ?element ?code ?article ?number WHERE {
  ?element cpb:contributesTo <https://w3id.org/cpbkg/id/gbf/target/17> ; skos:notation ?code .
  OPTIONAL { ?element cpb:cites|cpb:underlyingProvision ?article . ?article cpb:number ?number }
} ORDER BY ?code ?number"""

#: the progress aggregate: how many Parties chose each option of each question, per cycle
AGGREGATE = PREFIXES + """SELECT ?cycle ?question ?option (COUNT(?answer) AS ?n) WHERE {
  ?answer cpb:inReport ?report ; cpb:answersQuestion ?question ; cpb:selectedOption ?option .
  ?report cpb:reportingCycle ?cycle .
} GROUP BY ?cycle ?question ?option"""


@dataclass(frozen=True)
class Workload:
    """A request to repeat: a SPARQL query for every server, or a CPB-KG path."""

    name: str
    accept: str
    query: str | None = None
    path: str | None = None


JSON = "application/sparql-results+json"

WORKLOADS = [
    Workload("selective lookup", JSON, query=SELECTIVE),
    Workload("linkage", JSON, query=LINKAGE),
    Workload("progress aggregate", JSON, query=AGGREGATE),
    Workload("named query", JSON, path="/queries/plan-elements-for-gbf-target"),
    Workload("page (HTML)", "text/html", path="/id/goal/A.1"),
    Workload("page (Turtle)", "text/turtle", path="/id/goal/A.1"),
    Workload("search page", "text/html", path="/search?q=biosafety"),
    Workload("dump download", "application/gzip", path="/dumps/cpbkg.nt.gz"),
]
