"""The curated links (data/links/curated.yaml): coverage, provenance, and errors that name file and line.

The real file is checked on its own (no build needed) and against the built graph; the
broken fixtures are small YAML files written to tmp_path, one per way of breaking it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rdflib import RDF, Graph, URIRef
from rdflib.namespace import DCTERMS

from cpbkg.build.sources import curated
from cpbkg.build.sources.zhtext import plan_codes
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

SETTINGS = Settings()
IDS = Ids(SETTINGS.base_uri)
CURATED = SETTINGS.data_dir / "links" / "curated.yaml"


@pytest.fixture(scope="module")
def links() -> Graph:
    return curated.build_graph(SETTINGS.data_dir, IDS)


@pytest.fixture(scope="module")
def official_codes() -> dict[str, list[str]]:
    return plan_codes(SETTINGS.sources_dir / "cp-10-3-zh.txt")


def curated_links(graph: Graph) -> list[URIRef]:
    return [link for link in graph.subjects(CPB.basis, CPB.CuratedLink) if isinstance(link, URIRef)]


def gbf_contributions(graph: Graph) -> set[URIRef]:
    """Plan elements with a curated contributesTo link to a GBF target or goal."""
    gbf = IDS.base + "id/gbf/"
    return {
        graph.value(link, CPB.linkSubject)  # type: ignore[misc]
        for link in curated_links(graph)
        if graph.value(link, CPB.linkPredicate) == CPB.contributesTo
        and str(graph.value(link, CPB.linkObject)).startswith(gbf)
    }


# --------------------------------------------------------------------- the real file


def test_every_goal_has_a_curated_gbf_link(links, official_codes):
    linked = gbf_contributions(links)
    missing = [code for code in official_codes["goals"] if IDS.goal(code) not in linked]
    assert len(official_codes["goals"]) == 14
    assert missing == []


def test_every_objective_has_a_curated_gbf_link(links, official_codes):
    linked = gbf_contributions(links)
    missing = [code for code in official_codes["objectives"] if IDS.objective(code) not in linked]
    assert len(official_codes["objectives"]) == 36
    assert missing == []


def test_every_goal_and_objective_contributes_to_target_17(links, official_codes):
    t17 = IDS.gbf("target", "17")
    for code in official_codes["goals"]:
        assert (IDS.goal(code), CPB.contributesTo, t17) in links, code
    for code in official_codes["objectives"]:
        assert (IDS.objective(code), CPB.contributesTo, t17) in links, code


def test_every_curated_link_has_justification_creator_date_and_source(links):
    found = curated_links(links)
    records = yaml.safe_load(CURATED.read_text(encoding="utf-8"))
    assert len(found) == len(records["links"])
    for link in found:
        assert (link, RDF.type, CPB.Link) in links
        justification = links.value(link, CPB.justification)
        assert justification is not None and len(str(justification)) > 40, link
        assert justification.language == "en"
        assert str(links.value(link, DCTERMS.creator)) == "CPB-KG project (curation)"
        assert str(links.value(link, DCTERMS.date)) == str(records["date"])
        assert links.value(link, DCTERMS.source) == URIRef(IDS.base + "data/links/curated.yaml")
        # the direct triple agrees with the link resource
        triple = (links.value(link, CPB.linkSubject), links.value(link, CPB.linkPredicate), links.value(link, CPB.linkObject))
        assert triple in links


def test_justifications_never_claim_officialness(links):
    for link in curated_links(links):
        text = str(links.value(link, CPB.justification)).lower()
        assert "official mapping" not in text and "officially" not in text, text


def test_curated_links_do_not_repeat_explicit_citations():
    """underlyingProvision is for provisions the element's own text does not cite."""
    plan = yaml.safe_load((SETTINGS.data_dir / "plan" / "implementation-plan.yaml").read_text(encoding="utf-8"))
    cited: set[tuple[str, str]] = set()
    for goal in plan["goals"]:
        cited |= {(f"goal:{goal['code']}", key) for key in goal.get("cites") or []}
        for kind, key in (("objective", "objectives"), ("indicator", "indicators")):
            for element in goal.get(key) or []:
                cited |= {(f"{kind}:{element['code']}", c) for c in element.get("cites") or []}
    records = yaml.safe_load(CURATED.read_text(encoding="utf-8"))["links"]
    repeated = [(r["from"], r["to"]) for r in records
                if r["property"] == "underlyingProvision" and (r["from"], r["to"]) in cited]
    assert repeated == []


def test_curated_keys_exist_in_the_built_graph(build_result):
    """With ``known`` (the other graphs), every from/to must resolve to something that exists."""
    known = Graph()
    for part in build_result.parts:
        if part.name not in ("links", "inferred"):
            known += part.graph
    graph = curated.build_graph(SETTINGS.data_dir, IDS, known=known)
    assert len(curated_links(graph)) > 100


def test_built_graph_holds_the_curated_links(kg):
    from support.graph import select

    # the curated file's links (the project's measurement links are curated too, from another file)
    rows = select(kg, """
        SELECT (COUNT(DISTINCT ?link) AS ?n) WHERE {
          ?link cpb:basis cpb:CuratedLink ; cpb:justification ?j ; dcterms:creator ?c ; dcterms:date ?d ;
                dcterms:source <https://w3id.org/cpbkg/data/links/curated.yaml> .
        }""")
    expected = len(yaml.safe_load(CURATED.read_text(encoding="utf-8"))["links"])
    assert int(rows[0]["n"]) == expected


# --------------------------------------------------------------------- broken files

HEAD = "author: CPB-KG project (curation)\ndate: 2026-11-24\nlinks:\n"
GOOD = '  - {from: goal:A.1, to: gbf:17, property: contributesTo, why: "A reason."}\n'


def write(tmp_path: Path, body: str, head: str = HEAD) -> Path:
    path = tmp_path / "links" / "curated.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + body, encoding="utf-8")
    return path


def expect_error(tmp_path: Path, body: str, line: int, field: str | None = None, *, head: str = HEAD,
                 known: Graph | None = None, match: str | None = None) -> SourceError:
    path = write(tmp_path, body, head)
    with pytest.raises(SourceError, match=match) as info:
        curated.build_graph(tmp_path, IDS, known=known)
    error = info.value
    assert error.path == path
    assert error.line == line
    assert f"{path}:{line}" in str(error)
    if field is not None:
        assert error.field == field
    return error


def test_a_good_fixture_builds(tmp_path):
    write(tmp_path, GOOD)
    graph = curated.build_graph(tmp_path, IDS)
    assert (IDS.goal("A.1"), CPB.contributesTo, IDS.gbf("target", "17")) in graph


@pytest.mark.parametrize("key", ["goal:C.1", "area:A", "A.1", "objective:A.1", "indicator:A.1.a", "gbf:17"])
def test_unknown_from_key(tmp_path, key):
    body = GOOD + f'  - {{from: "{key}", to: gbf:17, property: contributesTo, why: "x"}}\n'
    expect_error(tmp_path, body, line=5, field="links[1].from", match="unknown 'from' key")


@pytest.mark.parametrize("key", ["gbf:24", "gbf:T17", "gbfgoal:E", "cpb:art:17", "doc:CP-10/4", "goal:A.1", "sdg:2"])
def test_unknown_to_key(tmp_path, key):
    body = f'  - {{from: goal:A.1, to: "{key}", property: contributesTo, why: "x"}}\n'
    expect_error(tmp_path, body, line=4, field="links[0].to", match="unknown 'to' key")


def test_unknown_property(tmp_path):
    body = GOOD + GOOD.replace("gbf:17", "gbf:20").replace("contributesTo", "cites")
    expect_error(tmp_path, body, line=5, field="links[1].property", match="unknown property 'cites'")


@pytest.mark.parametrize("why", ["", "why: ''", "why: null"])
def test_missing_why(tmp_path, why):
    fields = "from: goal:A.2, to: cpb:20, property: underlyingProvision" + (f", {why}" if why else "")
    expect_error(tmp_path, GOOD + "  - {" + fields + "}\n", line=5, field="links[1].why", match="'why'")


def test_duplicate_link_names_both_lines(tmp_path):
    body = GOOD + GOOD.replace("A reason.", "Another reason.")
    error = expect_error(tmp_path, GOOD + "\n" + body.split("\n", 1)[1], line=6, field="links[1].to")
    assert "first given on line 4" in str(error)


def test_unknown_field(tmp_path):
    body = '  - {from: goal:A.1, to: gbf:17, property: contributesTo, whu: "typo"}\n'
    expect_error(tmp_path, body, line=4, field="links[0].whu", match="unknown field")


def test_underlying_provision_must_be_a_provision_not_a_treaty(tmp_path):
    body = '  - {from: goal:A.10, to: nkl, property: underlyingProvision, why: "x"}\n'
    expect_error(tmp_path, body, line=4, field="links[0].to", match="cannot point to 'nkl'")


def test_contributes_to_must_point_to_the_gbf(tmp_path):
    body = '  - {from: goal:A.1, to: cpb:19, property: contributesTo, why: "x"}\n'
    expect_error(tmp_path, body, line=4, field="links[0].to", match="cannot point to 'cpb:19'")


def test_missing_author_and_bad_date(tmp_path):
    expect_error(tmp_path, GOOD, line=1, field="author", head="date: 2026-11-24\nlinks:\n")
    expect_error(tmp_path, GOOD, line=1, field="date", head="author: x\ndate: 24 Nov 2026\nlinks:\n")


def test_yaml_syntax_error_names_the_line(tmp_path):
    expect_error(tmp_path, GOOD + '  - {from: goal:A.1, to: gbf:17\n', line=6)


def test_no_links(tmp_path):
    path = write(tmp_path, "", head=HEAD.replace("links:\n", "links: []\n"))
    with pytest.raises(SourceError, match="no links") as info:
        curated.build_graph(tmp_path, IDS)
    assert info.value.path == path


def test_key_missing_from_the_other_graphs(tmp_path):
    known = Graph()
    known.add((IDS.goal("A.1"), RDF.type, CPB.Goal))
    known.add((IDS.gbf("target", "17"), RDF.type, CPB.GBFTarget))
    body = GOOD + '  - {from: goal:A.1, to: gbf:23, property: contributesTo, why: "x"}\n'
    error = expect_error(tmp_path, body, line=5, field="links[1].to", known=known)
    assert "'gbf:23'" in str(error) and "not in the graph" in str(error)
    body = GOOD + '  - {from: objective:A.1.9, to: gbf:17, property: contributesTo, why: "x"}\n'
    expect_error(tmp_path, body, line=5, field="links[1].from", known=known)
