"""The Sustainable Development Goals the Plan names (SDGs 2 and 3), copied from the UN SDG KOS.

Decision CP-10/3 (annex, para. 5) names SDG 2 and SDG 3. Their goal, targets and
indicators are copied from ``data/sources/sdg/sdg-kos-goals-targets-indicators.ttl``
(the UN's SKOS, UNStats/LOD4Stats at commit 0ae578b) with the UN's own URIs
(``http://metadata.un.org/sdg/2``, ``.../2.5``, ``.../C020501``): CPB-KG never mints
SDG URIs. What is copied, per resource, is what identifies and places it: labels in
every language of the file, notations, the broader/narrower hierarchy (and the SDG
ontology's has/is-Target/Indicator-Of), scheme membership and exact matches, each
exactly as the file gives it, and the type skos:Concept (see :data:`TYPES`). Every
copied resource gets ``dcterms:source`` pointing at the file in the UN's repository. The file
has no Chinese; the project's translations of the English labels are added, each marked
``cpb:chineseWording cpb:ProjectTranslation`` with a note.
"""

from __future__ import annotations

from pathlib import Path

from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, SKOS

from cpbkg.build.rdfio import parse_file
from cpbkg.build.sources.wording import Translations, translations_beside
from cpbkg.errors import SourceError
from cpbkg.vocab import SDGO, Ids, sdg_goal

KOS_FILE = Path("sdg") / "sdg-kos-goals-targets-indicators.ttl"
KOS_SOURCE = URIRef(
    "https://github.com/UNStats/LOD4Stats/blob/0ae578bacb1f4339596f5a6a19338457e4b22ba3/"
    "sdg-data/sdg-kos-goals-targets-indicators.ttl"
)
#: the UN's concept scheme of goals, targets and indicators
SCHEME = URIRef("http://metadata.un.org/sdg")
#: the SDGs decision CP-10/3 names (annex, para. 5)
GOALS = (2, 3)

#: properties copied as the file gives them; notes, custodian agencies and tiers are left in the UN's KOS
COPIED = frozenset({
    RDF.type, SKOS.prefLabel, SKOS.altLabel, SKOS.notation, SKOS.broader, SKOS.narrower, SKOS.inScheme,
    SKOS.topConceptOf, SKOS.exactMatch,
    SDGO.hasTarget, SDGO.isTargetOf, SDGO.hasIndicator, SDGO.isIndicatorOf,
})
#: Classes kept from rdf:type. The scheme's owl:Ontology type would declare a second ontology in
#: the build. sdgo:Goal and sdgo:Indicator share their local names with cpb:Goal and cpb:Indicator,
#: which the class-count query (queries/class-instance-counts.rq) and its test key by local name;
#: the SKOS hierarchy and sdgo:hasTarget/hasIndicator already say which is which.
TYPES = frozenset({SKOS.Concept, SKOS.ConceptScheme})


def goal_tree(kos: Graph, goal: URIRef) -> list[URIRef]:
    """A goal, its targets and their indicators, following ``skos:narrower`` down from the goal.

    >>> from cpbkg.vocab import SDG
    >>> kos = Graph()
    >>> _ = kos.add((SDG["2"], SKOS.narrower, SDG["2.5"]))
    >>> _ = kos.add((SDG["2.5"], SKOS.narrower, SDG["C020501"]))
    >>> [str(u).rsplit("/", 1)[-1] for u in goal_tree(kos, SDG["2"])]
    ['2', '2.5', 'C020501']
    """
    found = [goal]
    todo = [goal]
    while todo:
        for child in sorted(kos.objects(todo.pop(0), SKOS.narrower), key=str):
            if isinstance(child, URIRef) and child not in found:
                found.append(child)
                todo.append(child)
    return found


def copy_resource(kos: Graph, out: Graph, uri: URIRef) -> None:
    """Copy the identifying statements about ``uri``, and name the KOS file as its source."""
    for predicate, obj in kos.predicate_objects(uri):
        if predicate not in COPIED:
            continue
        if predicate == RDF.type and obj not in TYPES:
            continue
        out.add((uri, predicate, obj))
    out.add((uri, DCTERMS.source, KOS_SOURCE))


def build_graph(sources_dir: Path, ids: Ids | None = None, translations: Translations | None = None) -> Graph:
    """SDGs 2 and 3 with their targets and indicators, as the UN SDG KOS gives them, and the
    project's Chinese translations of their labels (``data/translations/zh.yaml``, marked).

    Args:
        sources_dir: ``data/sources``.
        ids: the URI scheme (SDG URIs are the UN's; it only keys the translations).
        translations: the project's Chinese translations (default: the file beside ``sources_dir``).

    Returns:
        The SDG graph.

    Raises:
        SourceError: the KOS file is missing or broken, or lacks one of the goals, its English label
            or its targets.
    """
    path = sources_dir / KOS_FILE
    kos = parse_file(path)
    out = Graph()
    for number in GOALS:
        goal = sdg_goal(number)
        if (goal, RDF.type, SDGO.Goal) not in kos:
            raise SourceError(path, f"SDG {number} ({goal}) is not a sdgo:Goal in the file", field=str(goal))
        if not any(isinstance(l, Literal) and l.language == "en" for l in kos.objects(goal, SKOS.prefLabel)):
            raise SourceError(path, f"SDG {number} has no English skos:prefLabel", field=str(goal))
        tree = goal_tree(kos, goal)
        if len(tree) == 1:
            raise SourceError(path, f"SDG {number} has no targets (skos:narrower)", field=str(goal))
        for uri in tree:
            copy_resource(kos, out, uri)
        out.add((SCHEME, SKOS.hasTopConcept, goal))
    # the scheme itself: its type and title (its top concepts are only the goals copied above)
    copy_resource(kos, out, SCHEME)
    # the KOS has en, es, fr only: the Chinese labels are the project's translations, marked as such
    translations = translations or translations_beside(sources_dir)
    subjects = sorted({s for s in out.subjects() if isinstance(s, URIRef)}, key=str)
    translations.fill(out, ids or Ids(), subjects)
    return out
