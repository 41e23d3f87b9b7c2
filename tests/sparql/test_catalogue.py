"""The query catalogue (queries/*.rq): every query parses, runs on the built graph and returns
what it should; the catalogue loader and parameter binding refuse what they must.

Each query has its expected result in EXPECTED (name -> cases); a test fails for any
.rq file without one, so a new query cannot ship untested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from rdflib.plugins.sparql import prepareQuery

from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.sparql.catalogue import NamedQuery, Param, load_catalogue, parse_query

SETTINGS = Settings()
QUERIES = SETTINGS.queries_dir
CATALOGUE = load_catalogue(QUERIES)
BASE = "https://w3id.org/cpbkg/"
ID = BASE + "id/"

GOALS = ["A.1", "A.2", "A.3", "A.4", "A.5", "A.6", "A.7", "A.8", "A.9", "A.10", "B.1", "B.2", "B.3", "B.4"]
OBJECTIVE_COUNTS = {"A.1": 3, "A.2": 2, "A.3": 1, "A.4": 2, "A.5": 2, "A.6": 1, "A.7": 2, "A.8": 3, "A.9": 3,
                    "A.10": 3, "B.1": 4, "B.2": 3, "B.3": 4, "B.4": 3}
INDICATOR_COUNTS = {"A.1": 3, "A.2": 4, "A.3": 2, "A.4": 2, "A.5": 4, "A.6": 1, "A.7": 4, "A.8": 4, "A.9": 3,
                    "A.10": 3, "B.1": 4, "B.2": 3, "B.3": 7, "B.4": 4}
OBJECTIVES = [f"{g}.{n}" for g in GOALS for n in range(1, OBJECTIVE_COUNTS[g] + 1)]
#: Plan elements whose English is official wording (cp-10-3-en-partial.txt); the area names' English,
#: from a cbd.int web article, is marked as the project's translation since issue 16
OFFICIAL_EN = {"A.1(a)", "A.1(b)", "A.1(c)", "A.2(a)", "A.2(b)", "A.2(c)", "A.2(d)", "A.3(a)"}
#: GBF targets the curated links connect the Plan to (data/links/curated.yaml)
CURATED_TARGETS = {14, 17, 19, 20, 21, 22}
#: the goal codes as gbf-target-monitoring concatenates them: in the Plan's order (GOALS is A.1-A.10, B.1-B.4)
PLAN_GOALS_IN_PLAN_ORDER = " ".join(GOALS)

Rows = list[dict[str, str | None]]


def curated_records() -> list[dict]:
    return yaml.safe_load((SETTINGS.data_dir / "links" / "curated.yaml").read_text(encoding="utf-8"))["links"]


def run(kg: ox.Store, query: NamedQuery, values: dict[str, str] | None = None) -> Rows:
    """Rows of a catalogue query on the built graph, as {variable: value string or None}."""
    results = kg.query(query.text, use_default_graph_as_union=True, substitutions=query.bind(values))
    names = [v.value for v in results.variables]
    return [{n: (row[n].value if row[n] is not None else None) for n in names} for row in results]


def column(rows: Rows, name: str) -> list[str | None]:
    return [r[name] for r in rows]


def local(uri: str | None) -> str:
    return (uri or "").rsplit("/", 1)[-1]


@dataclass
class Case:
    """One run of a query (its parameter values) and the check of its rows."""

    check: Callable[[Rows], None]
    values: dict[str, str] = field(default_factory=dict)
    label: str = "default"


# --------------------------------------------------------------------- expectations, one block per query


def _plan_elements_t17(rows: Rows) -> None:
    assert {r["code"] for r in rows if r["kind"] == "goal"} == set(GOALS)
    assert {r["code"] for r in rows if r["kind"] == "objective"} == set(OBJECTIVES)
    assert rows[0]["code"] == "A.1" and rows[0]["kind"] == "goal"  # in Plan order
    assert [r["code"] for r in rows if r["kind"] == "goal"] == GOALS
    assert all(r["targetValue"] == ID + "gbf/target/17" and r["target"] is None for r in rows)
    curated = [r for r in rows if r["basis"] == "CuratedLink"]
    assert curated and all(r["justification"] for r in curated)
    assert all(r["label_zh"] and r["label_en"] for r in rows)


def _plan_elements_t20(rows: Rows) -> None:
    codes = {r["code"] for r in rows}
    assert {"B.1", "B.4", "B.1.1", "B.1.2", "B.1.3", "B.1.4", "B.4.1", "A.1.3", "A.8.1"} <= codes
    assert "A.5" not in codes and "B.2" not in codes
    assert all(r["target"] == ID + "gbf/target/20" for r in rows)


def _matrix(rows: Rows) -> None:
    assert [r["code"] for r in rows] == GOALS  # 14 rows, Plan order
    for r in rows:
        assert int(r["t17"]) >= 1 + OBJECTIVE_COUNTS[r["code"]], r["code"]  # the goal and every objective
        assert int(r["t1"]) == 0 and int(r["t6"]) == 0
    by_code = {r["code"]: r for r in rows}
    assert int(by_code["A.1"]["t17"]) == 4
    assert int(by_code["B.2"]["t19"]) == 4  # goal B.2 and objectives B.2.1-B.2.3
    assert int(by_code["B.1"]["t20"]) == 5
    assert int(by_code["A.5"]["t20"]) == 0


def _targets_not_linked(rows: Rows) -> None:
    numbers = {int(r["number"]) for r in rows}
    assert 17 not in numbers
    assert numbers.isdisjoint(CURATED_TARGETS)
    assert {1, 2, 3, 6, 13, 23} <= numbers
    assert numbers == set(range(1, 24)) - CURATED_TARGETS


def _articles_not_covered(rows: Rows) -> None:
    articles = {r["number"] for r in rows if r["kind"] == "article"}
    annexes = {r["number"] for r in rows if r["kind"] == "annex"}
    assert {"1", "3", "4", "14", "21", "24", "29", "31", "35", "40"} <= articles
    covered = {"2", "15", "16", "17", "18", "19", "20", "22", "23", "25", "26", "27", "28", "33", "34"}
    assert articles.isdisjoint(covered)
    assert "III" not in annexes and {"I", "II"} <= annexes
    assert all(r["provision"].startswith(ID + "treaty/cpb/") for r in rows)


def _citing_26(rows: Rows) -> None:
    codes = {r["code"] for r in rows if r["kind"] in ("goal", "objective", "indicator")}
    assert {"A.9", "A.9.1", "A.9.2", "A.9.3", "A.9(a)", "A.9(c)"} <= codes
    plan_rows = [r for r in rows if r["kind"] in ("goal", "objective", "indicator", "outcome")]
    assert all(r["property"] == "cites" and r["basis"] == "ExplicitCitation" for r in plan_rows)
    assert rows[0]["code"] == "A.9" and rows[0]["kind"] == "goal"


def _citing_20(rows: Rows) -> None:
    found = {(r["code"], r["property"], r["basis"]) for r in rows}
    assert ("A.2", "underlying provision", "CuratedLink") in found
    assert ("A.2.1", "underlying provision", "CuratedLink") in found
    assert ("B.3.4", "underlying provision", "CuratedLink") in found


def _citing_17(rows: Rows) -> None:
    found = {(r["code"], r["property"], r["basis"]) for r in rows}
    assert ("A.1.2", "cites", "ExplicitCitation") in found
    assert ("A.1(b)", "cites", "ExplicitCitation") in found
    assert ("A.6", "underlying provision", "CuratedLink") in found


def _sdg2(rows: Rows) -> None:
    assert len({r["indicator"] for r in rows}) == 48
    assert {r["goalCode"] for r in rows} == set(GOALS)
    assert {r["supporter"] for r in rows} == {ID + "plan"}
    assert {r["basis"] for r in rows} == {"ExplicitCitation"}
    assert rows[0]["indicatorCode"] == "A.1(a)"
    assert rows[0]["sdgLabel"] and "hunger" in rows[0]["sdgLabel"]


def _sdg15(rows: Rows) -> None:
    assert rows == []  # the Plan names SDGs 2 and 3 only


def _actions(rows: Rows) -> None:
    paragraphs = [r["paragraphNumber"] for r in rows]
    assert paragraphs[0] == "1" and rows[0]["type"] == "adopts"
    nine = [r for r in rows if r["paragraphNumber"] == "9"]
    assert nine and all(r["type"] == "requests" for r in nine)
    deadlines = " ".join(f"{r['deadline_en']} {r['deadline_zh']} {r['deadlineEvent']}" for r in nine)
    assert "12" in deadlines or "twelfth" in deadlines.lower() or "第十二次" in deadlines
    assert any(r["addressees"] for r in nine)
    # the addressees in label order, the same string on every store
    eight = [r["addressees"] for r in rows if r["paragraphNumber"] == "8"]
    assert eight == ["Compliance Committee | Liaison Group on the Cartagena Protocol on Biosafety"]
    assert {"requests", "urges", "adopts"} <= {r["type"] for r in rows}


def _search_zh(rows: Rows) -> None:
    resources = {r["resource"] for r in rows}
    assert ID + "goal/A.5" in resources
    assert ID + "objective/A.5.1" in resources
    assert {r["language"] for r in rows} >= {"zh"}
    assert all("风险评估" in r["label"] for r in rows)
    types = {r["resource"]: r["types"] for r in rows}
    assert types[ID + "goal/A.5"] == "Goal PlanElement"  # class names in name order
    assert types[ID + "objective/A.5.1"] == "Objective PlanElement"


def _search_en_case_insensitive(rows: Rows) -> None:
    resources = {r["resource"] for r in rows}
    assert ID + "goal/A.5" in resources  # "... risk assessments ..." found with "RISK ASSESSMENT"
    assert all("risk assessment" in r["label"].lower() for r in rows)


def _search_nothing(rows: Rows) -> None:
    assert rows == []


def _outline(rows: Rows) -> None:
    assert [r["code"] for r in rows] == GOALS
    assert {r["code"]: int(r["objectives"]) for r in rows} == OBJECTIVE_COUNTS
    assert {r["code"]: int(r["indicators"]) for r in rows} == INDICATOR_COUNTS
    assert sum(int(r["objectives"]) for r in rows) == 36 and sum(int(r["indicators"]) for r in rows) == 48
    assert {r["areaCode"] for r in rows[:10]} == {"A"} and {r["areaCode"] for r in rows[10:]} == {"B"}
    assert all(r["title_zh"] and r["title_en"] for r in rows)


def _indicators_a1(rows: Rows) -> None:
    assert [r["code"] for r in rows] == ["A.1(a)", "A.1(b)", "A.1(c)"]
    assert {r["englishWording"] for r in rows} == {"OfficialWording"}
    # the questions in reference order, the same string on every store
    assert [r["measuredBy"] for r in rows] == ["4NR Q14, 4NR Q15, 5NR Q7, 5NR Q8", None, "4NR Q18, 5NR Q11"]


def _indicators_b3(rows: Rows) -> None:
    assert [r["code"] for r in rows] == [f"B.3({c})" for c in "abcdefg"]
    assert {r["englishWording"] for r in rows} == {"ProjectTranslation"}


def _wording(rows: Rows) -> None:
    plan_kinds = {"area", "goal", "objective", "indicator", "outcome"}
    official = {r["code"] for r in rows if r["kind"] in plan_kinds and r["status"] == "OfficialWording"}
    assert official == OFFICIAL_EN
    goals = [r for r in rows if r["kind"] == "goal"]
    assert len(goals) == 14 and {r["status"] for r in goals} == {"ProjectTranslation"}
    assert all(r["englishSource"] for r in rows if r["status"] == "OfficialWording")
    # the decision's actions are labelled in the project's words: paraphrases, said so
    assert {r["status"] for r in rows} == {"OfficialWording", "ProjectTranslation", "ProjectParaphrase"}
    assert {local(r["resource"]) for r in rows if r["status"] == "ProjectParaphrase"} == {
        "p1-adopts", "p2-welcomes", "p3-recognizes", "p4-urges", "p4-invites", "p5-decides", "p6-decides",
        "p7a-requests", "p7b-requests", "p8-requests", "p9-requests"}


def _link_counts(rows: Rows) -> None:
    counts = {(r["basis"], r["property"]): int(r["links"]) for r in rows}
    records = curated_records()
    assert counts[("CuratedLink", "contributesTo")] == sum(r["property"] == "contributesTo" for r in records)
    assert counts[("CuratedLink", "underlyingProvision")] == sum(r["property"] == "underlyingProvision" for r in records)
    assert counts[("ExplicitCitation", "cites")] > 20
    assert counts[("OfficialMapping", "measuredBy")] == 40  # the questions the Secretariat's table names
    assert counts[("CuratedLink", "measuredBy")] == 69  # the other questions the project's rules read
    assert {b for b, _ in counts} <= {"ExplicitCitation", "OfficialMapping", "CuratedLink"}


def _curated(rows: Rows) -> None:
    # the curated file's links, and the questions the project's measurement rules read (issue 16)
    assert len(rows) == len(curated_records()) + 69
    assert all(r["justification"] and r["creator"] == "CPB-KG project (curation)" and r["date"] == "2026-11-24"
               for r in rows)
    assert {r["source"] for r in rows if r["property"] != "measuredBy"} == {BASE + "data/links/curated.yaml"}
    assert {r["source"] for r in rows if r["property"] == "measuredBy"} == {BASE + "data/methodology/indicator-sources.yaml"}
    assert {r["property"] for r in rows} == {"contributesTo", "underlyingProvision", "measuredBy"}
    a2 = [r for r in rows if r["subjectCode"] == "A.2" and r["property"] == "underlyingProvision"]
    assert [local(r["object"]) for r in a2] == ["20"]


def _article_26(rows: Rows) -> None:
    assert rows and {r["article"] for r in rows} == {ID + "treaty/cpb/article/26"}
    assert "socio-economic considerations" in (rows[0]["title"] or "").lower()
    texts = [r["text"] for r in rows if r["language"] == "en"]
    assert texts and "socio-economic considerations" in texts[0]


def _nkl_12(rows: Rows) -> None:
    assert rows and {r["article"] for r in rows} == {ID + "treaty/nkl/article/12"}
    assert any("domestic law" in (r["text"] or "") for r in rows)


def _no_article(rows: Rows) -> None:
    assert rows == []


def _monitoring_t17_en(rows: Rows) -> None:
    questions = {r["questionCode"] or local(r["question"]) for r in rows if r["question"]}
    assert {"17.1", "17.2", "17.3", "17.4", "17.5", "17.6"} <= questions
    assert all(r["questionLabel"] for r in rows if r["question"])
    assert {r["planGoals"] for r in rows} == {PLAN_GOALS_IN_PLAN_ORDER}


def _monitoring_t17_zh(rows: Rows) -> None:
    labels = [r["questionLabel"] for r in rows if r["questionLabel"]]
    assert labels and all(any("\u4e00" <= ch <= "\u9fff" for ch in label) for label in labels)
    assert {r["planGoals"] for r in rows} == {PLAN_GOALS_IN_PLAN_ORDER}


def _structure(rows: Rows) -> None:
    kinds = [r["kind"] for r in rows]
    assert kinds[0] == "preambular paragraph"
    operative = [r["number"] for r in rows if r["kind"] == "operative paragraph"]
    top = [n for n in operative if n.isdigit()]
    assert top == [str(n) for n in range(1, 10)]
    assert operative.index("7(a)") == operative.index("7") + 1
    # preamble, then operative paragraphs, then the annex, then footnotes
    assert kinds.index("operative paragraph") > max(i for i, k in enumerate(kinds) if k == "preambular paragraph")
    assert kinds.index("annex section") > max(i for i, k in enumerate(kinds) if k == "operative paragraph")
    assert kinds[-1] == "footnote"
    para9 = next(r for r in rows if r["kind"] == "operative paragraph" and r["number"] == "9")
    assert para9["text"] and "第十二次" in para9["text"]


def _documents(rows: Rows) -> None:
    symbols = {r["symbol"] for r in rows}
    assert {"BS-V/16", "CP-9/7", "CP-10/4", "15/4", "CBD/SBI/3/3/Add.1"} <= symbols
    cp104 = next(r for r in rows if r["symbol"] == "CP-10/4")
    assert "B.1.2" in cp104["citedIn"]  # an objective of the Plan names the Capacity-Building Action Plan
    # the citing parts in label order, the same string on every store
    assert cp104["citedIn"] == "Annex, paragraph 2 | B.1.2 | Footnote 2 | Footnote 4 | Preambular paragraph 5"


def _underlying(rows: Rows) -> None:
    found = {(r["goalCode"], r["treaty"], r["number"], r["property"], r["basis"]) for r in rows}
    assert ("A.2", "cpb", "20", "underlying provision", "CuratedLink") in found
    assert ("A.9", "cpb", "26", "cites", "ExplicitCitation") in found
    assert ("A.1", "cpb", "17", "cites", "ExplicitCitation") in found  # through objective A.1.2
    assert ("A.5", "cpb", "III", "cites", "ExplicitCitation") in found  # through objective A.5.1
    assert {r["goalCode"] for r in rows} == set(GOALS)


def _nkl(rows: Rows) -> None:
    found = {(r["code"], r["property"], local(r["object"]), r["basis"]) for r in rows}
    assert ("A.10", "cites", "nkl", "ExplicitCitation") in found
    assert ("A.10.2", "underlying provision", "12", "CuratedLink") in found
    plan = [r for r in rows if "/document/" not in r["element"]]
    assert all((r["code"] or "").startswith("A.10") for r in plan)
    # the decision's own text names the Supplementary Protocol too: preamble 3, annex paragraphs 11 and 12
    parts = {r["element"].split("/document/CP-10-3/", 1)[1] for r in rows if "/document/" in r["element"]}
    assert parts == {"preamble/3", "annex-para/11", "annex-para/12"}


def _code_a5(rows: Rows) -> None:
    # one concept per code: the outcome of A.5 is A.5-O since issue 16
    assert {r["kind"] for r in rows} == {"goal"}
    goal = [r for r in rows if r["kind"] == "goal"]
    hcpb = "https://w3id.org/cpbkg/ontology#"
    objectives = {r["value"] for r in goal if r["property"] == hcpb + "hasObjective"}
    assert objectives == {ID + "objective/A.5.1", ID + "objective/A.5.2"}
    labels = [r["value"] for r in goal if r["property"] == "http://www.w3.org/2004/02/skos/core#prefLabel"]
    assert any("风险评估" in label for label in labels)


def _code_a5_outcome(rows: Rows) -> None:
    assert {r["kind"] for r in rows} == {"outcome"} and {r["element"] for r in rows} == {ID + "outcome/A.5"}


def _code_b34(rows: Rows) -> None:
    assert {r["element"] for r in rows} == {ID + "objective/B.3.4"}


def _classes(rows: Rows) -> None:
    counts = {local(r["class"]).split("#")[-1]: int(r["instances"]) for r in rows}
    assert counts["Goal"] == 14 and counts["Objective"] == 36 and counts["Indicator"] == 48
    assert counts["Outcome"] == 14 and counts["Area"] == 2
    assert counts["GBFTarget"] == 23
    assert counts["Link"] >= len(curated_records())


def _report_questions_b2b(rows: Rows) -> None:
    # the methodology reads Q117 for B.2(b): the catalogue says so too, as the project's reading
    assert [(r["cycle"], r["questionCode"], r["basis"]) for r in rows] == [("5", "Q117", "CuratedLink")]


def _report_questions_a1a(rows: Rows) -> None:
    by_cycle = {(r["cycle"], r["questionCode"]) for r in rows}
    assert by_cycle == {("4", "Q14"), ("4", "Q15"), ("5", "Q7"), ("5", "Q8")}
    assert {r["basis"] for r in rows} == {"OfficialMapping"}
    # the indicator's data sources in text order, the same string on every store
    assert {r["dataSources"] for r in rows} == {
        "Baseline: Q14, 15 fourth national report / Fifth reporting cycle: Q7, 8 of the fifth national report"}


def _sdg_links(rows: Rows) -> None:
    assert {r["sdg"] for r in rows} == {"http://metadata.un.org/sdg/2", "http://metadata.un.org/sdg/3"}
    assert {r["basis"] for r in rows} == {"ExplicitCitation"}
    assert all(r["sdgLabel"] for r in rows)


def _coverage(rows: Rows) -> None:
    assert [int(r["number"]) for r in rows] == list(range(1, 24))
    t17 = rows[16]
    assert int(t17["goals"]) == 14 and int(t17["objectives"]) == 36
    assert int(rows[0]["goals"]) == 0
    linked = {int(r["number"]) for r in rows if int(r["goals"]) + int(r["objectives"]) + int(r["indicators"])}
    assert linked == CURATED_TARGETS


def _violation(rows: Rows) -> None:
    assert rows == []


def _article_26_reports(rows: Rows) -> None:
    assert {r["cycle"] for r in rows} == {"4", "5"}
    assert all(int(r["questions"]) > 0 for r in rows)
    # the Plan elements in code order, the same string on every store
    assert [r["planElements"] for r in rows] == ["A.9 A.9(a) A.9(c) A.9.1 A.9.2 A.9.3"] * 2


def _no_observations(rows: Rows) -> None:
    # the published build holds no national-report answers (none are available offline) and never
    # synthetic ones: the progress queries run and return nothing; tests/test_progress_queries.py
    # checks their results on synthetic data
    assert rows == []


def _methodology_a1a(rows: Rows) -> None:
    assert {(r["cycle"], r["questionCode"]) for r in rows} == {("4", "Q14"), ("4", "Q15"), ("5", "Q7"), ("5", "Q8")}
    assert {(r["questionBasis"], r["valueBasis"]) for r in rows} == {("OfficialMapping", "CuratedLink")}
    assert {r["measuredFrom"] for r in rows} == {"national-reports"}


def _goals_gbf_targets(rows: Rows) -> None:
    assert {r["goalCode"] for r in rows} == set(GOALS)
    assert ("A.1", "17") in {(r["goalCode"], r["targetCode"]) for r in rows}
    assert "D" in {r["targetCode"] for r in rows}  # GBF goal D: its links exist
    curated = [r for r in rows if r["basis"] == "CuratedLink"]
    assert curated and all(r["justification"] for r in curated)


def _parties_to_both(rows: Rows) -> None:
    assert len(rows) == 55  # the Parties to the Supplementary Protocol, all Parties to the Protocol too
    assert len({r["code"] for r in rows}) == 55 and all(r["party_en"] for r in rows)


def _parties_to_cpb(rows: Rows) -> None:
    assert len(rows) == 173  # 172 states and the EU


def _measurement_overview(rows: Rows) -> None:
    a1a = {(r["cycle"], q) for r in rows if r["code"] == "A.1(a)" for q in (r["questions"] or "").split()}
    assert a1a == {("4", "Q14"), ("4", "Q15"), ("5", "Q7"), ("5", "Q8")}
    assert {r["code"] for r in rows} >= {"A.1(a)", "B.2(b)"}


EXPECTED: dict[str, list[Case]] = {
    "plan-elements-for-gbf-target": [
        Case(_plan_elements_t17),
        Case(_plan_elements_t20, {"target": ID + "gbf/target/20"}, "target 20"),
    ],
    "goal-gbf-target-matrix": [Case(_matrix)],
    "gbf-targets-not-linked": [Case(_targets_not_linked)],
    "articles-not-covered-by-goals": [Case(_articles_not_covered)],
    "elements-citing-provision": [
        Case(_citing_26),
        Case(_citing_20, {"provision": f"<{ID}treaty/cpb/article/20>"}, "article 20"),
        Case(_citing_17, {"provision": ID + "treaty/cpb/article/17"}, "article 17"),
    ],
    "sdg-to-plan-indicators": [
        Case(_sdg2),
        Case(_sdg15, {"sdg": "http://metadata.un.org/sdg/15"}, "SDG 15"),
    ],
    "decision-actions": [Case(_actions)],
    "search-labels": [
        Case(_search_zh),
        Case(_search_en_case_insensitive, {"text": "RISK ASSESSMENT"}, "English, upper case"),
        Case(_search_nothing, {"text": "\" } ; DROP ALL ; {"}, "injection attempt is just text"),
    ],
    "plan-outline": [Case(_outline)],
    "indicators-of-goal": [
        Case(_indicators_a1),
        Case(_indicators_b3, {"goal": ID + "goal/B.3"}, "goal B.3"),
    ],
    "english-wording-status": [Case(_wording)],
    "link-counts-by-basis": [Case(_link_counts)],
    "curated-links": [Case(_curated)],
    "article-text": [
        Case(_article_26),
        Case(_nkl_12, {"treaty": ID + "treaty/nkl", "number": "12"}, "NKL article 12"),
        Case(_no_article, {"number": "99"}, "no such article"),
    ],
    "gbf-target-monitoring": [
        Case(_monitoring_t17_en),
        Case(_monitoring_t17_zh, {"lang": "zh"}, "Chinese"),
    ],
    "decision-structure": [Case(_structure)],
    "documents-cited-by-decision": [Case(_documents)],
    "articles-underlying-goals": [Case(_underlying)],
    "supplementary-protocol-links": [Case(_nkl)],
    "plan-element-by-code": [
        Case(_code_a5),
        Case(_code_b34, {"code": "B.3.4"}, "objective B.3.4"),
        Case(_code_a5_outcome, {"code": "A.5-O"}, "outcome A.5-O"),
    ],
    "class-instance-counts": [Case(_classes)],
    "indicator-report-questions": [Case(_report_questions_a1a),
                                   Case(_report_questions_b2b, {"indicator": ID + "indicator/B.2(b)"}, "B.2(b)")],
    "plan-sdg-links": [Case(_sdg_links)],
    "gbf-target-coverage": [Case(_coverage)],
    "gbf-link-missing-violation": [Case(_violation)],
    "report-questions-on-article": [Case(_article_26_reports)],
    "progress-baseline-vs-latest": [Case(_no_observations)],
    "progress-indicators-by-progress": [Case(_no_observations)],
    "progress-regional-breakdown": [Case(_no_observations)],
    "progress-party-profile": [Case(_no_observations)],
    "progress-parties-that-moved": [Case(_no_observations)],
    "progress-indicator-methodology": [Case(_methodology_a1a)],
    "goals-gbf-targets": [Case(_goals_gbf_targets)],
    "parties-to-both-treaties": [
        Case(_parties_to_both),
        Case(_parties_to_cpb, {"also": ID + "treaty/cpb"}, "one treaty twice"),
    ],
    "progress-measurement-overview": [Case(_measurement_overview)],
}

CASES = [pytest.param(name, case, id=f"{name}[{case.label}]") for name, cases in EXPECTED.items() for case in cases]


# --------------------------------------------------------------------- every query: parses, is tested, runs


def test_catalogue_has_enough_queries():
    assert len(CATALOGUE) >= 22


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_query_has_an_expected_result(name):
    assert name in EXPECTED, f"queries/{name}.rq has no expected result in tests/sparql/test_catalogue.py EXPECTED"


def test_no_expectation_without_a_query():
    assert sorted(set(EXPECTED) - set(CATALOGUE)) == []


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_query_parses_anywhere(name):
    """Valid SPARQL 1.1 for two independent engines, and runnable as is on an empty store."""
    query = CATALOGUE[name]
    prepareQuery(query.text)
    list(ox.Store().query(query.text))


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_query_header(name):
    query = CATALOGUE[name]
    assert query.title and query.description and query.tags
    assert query.text.startswith("# title: ")
    for prefix_line in [line for line in query.text.splitlines() if line.startswith("PREFIX")]:
        assert prefix_line.rstrip().endswith(">")


@pytest.mark.parametrize("name,case", CASES)
def test_query_returns_expected_result(kg, name, case):
    case.check(run(kg, CATALOGUE[name], case.values))


@pytest.mark.parametrize("name", sorted(n for n, q in CATALOGUE.items() if q.params))
def test_binding_the_default_explicitly_gives_the_default_result(kg, name):
    query = CATALOGUE[name]
    values = {p.name: p.default.value for p in query.params}
    plain = run(kg, query)
    bound = run(kg, query, values)
    strip = [{k: v for k, v in r.items() if k not in values} for r in plain]
    assert [{k: v for k, v in r.items() if k not in values} for r in bound] == strip


# --------------------------------------------------------------------- the loader and binding


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.rq"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """# title: T
# description: D
# param: target | a target | <https://w3id.org/cpbkg/id/gbf/target/17>
# tags: a, b
SELECT ?target ?x WHERE {
  BIND(COALESCE(?target, <https://w3id.org/cpbkg/id/gbf/target/17>) AS ?x)
}
"""


def test_loader_reads_a_good_file(tmp_path):
    write(tmp_path, "good-one", GOOD)
    catalogue = load_catalogue(tmp_path)
    query = catalogue["good-one"]
    assert query.title == "T" and query.description == "D" and query.tags == ["a", "b"]
    assert query.params == [Param("target", "a target", ox.NamedNode(ID + "gbf/target/17"))]


@pytest.mark.parametrize("text,line,match", [
    (GOOD.replace("# title: T\n", ""), 1, "title"),
    (GOOD.replace("# description: D\n", ""), 1, "description"),
    (GOOD.replace("a target | <", "a target <"), 3, "name \\| description \\| default"),
    (GOOD.replace("param: target", "param: 9target"), 3, "not a SPARQL variable"),
    (GOOD.replace("| <https://w3id.org/cpbkg/id/gbf/target/17>\n", "| gbf:17\n"), 3, "default must be"),
    (GOOD.replace("| <https://w3id.org/cpbkg/id/gbf/target/17>\n", "| <file:///etc/passwd>\n"), 3, "default must be"),
    (GOOD.replace("| a target |", "|  |"), 3, "no description"),
    (GOOD.replace("# tags", "# param: target | again | \"x\"\n# tags"), 4, "twice"),
    (GOOD.replace("SELECT ?target ?x", "SELECT ?x"), 3, "project"),
    (GOOD.replace("COALESCE(?target, <https://w3id.org/cpbkg/id/gbf/target/17>)",
                  "COALESCE(?target, <https://w3id.org/cpbkg/id/gbf/target/20>)"), 3, "COALESCE"),
])
def test_loader_errors_name_file_and_line(tmp_path, text, line, match):
    path = write(tmp_path, "bad-one", text)
    with pytest.raises(SourceError, match=match) as info:
        load_catalogue(tmp_path)
    assert info.value.path == path and info.value.line == line
    assert f"{path}:{line}" in str(info.value)


def test_loader_refuses_a_file_name_that_is_not_kebab_case(tmp_path):
    write(tmp_path, "Bad_Name", GOOD)
    with pytest.raises(SourceError, match="kebab-case"):
        load_catalogue(tmp_path)


def test_bind_accepts_iris_and_plain_literals():
    query = CATALOGUE["article-text"]
    bound = query.bind({"treaty": f"<{ID}treaty/nkl>", "number": "12"})
    assert bound == {ox.Variable("treaty"): ox.NamedNode(ID + "treaty/nkl"), ox.Variable("number"): ox.Literal("12")}
    assert query.bind({}) == {} and query.bind({"number": ""}) == {}


@pytest.mark.parametrize("value", [
    "gbf:17", "urn:x:y", "file:///etc/passwd", "ftp://x.org/a", "javascript:alert(1)", "/id/gbf/target/17",
    "https://x.org/a> } ; DROP ALL ; { <b", "https://x.org/a b", "https://x.org/{a}", "<https://x.org/a", "",
])
def test_bind_rejects_anything_but_an_absolute_http_iri(value):
    query = CATALOGUE["plan-elements-for-gbf-target"]
    if value == "":
        assert query.bind({"target": value}) == {}  # empty means "use the default"
        return
    with pytest.raises(ValueError, match="'target'"):
        query.bind({"target": value})


def test_bind_rejects_unknown_params_and_control_characters():
    query = CATALOGUE["search-labels"]
    with pytest.raises(ValueError, match="no parameter 'lang'"):
        query.bind({"lang": "en"})
    with pytest.raises(ValueError, match="'text'"):
        query.bind({"text": "risk\x00"})
    with pytest.raises(ValueError, match="'text'"):
        query.bind({"text": "x" * 5000})
    # quotes and braces are just characters of a literal
    assert query.bind({"text": '"} DROP ALL {'})[ox.Variable("text")] == ox.Literal('"} DROP ALL {')


def test_parse_query_keeps_the_text_as_is(tmp_path):
    path = write(tmp_path, "good-one", GOOD)
    assert parse_query(path).text == GOOD


# --------------------------------------------------------------------- one answer to "what measures it"


def test_catalogue_pages_and_methodology_agree_on_what_measures_each_indicator(kg):
    """The questions of indicator-report-questions, of an indicator's page and of the methodology's
    rules (plus the official table) are the same set, for all 48 indicators."""
    from cpbkg.build.progress.observations import load_methodology, measurement_links
    from cpbkg.describe.resource import Describer

    methodology = load_methodology(SETTINGS.data_dir, SETTINGS.sources_dir)
    expected: dict[str, set[str]] = {}
    for link in measurement_links(methodology):
        expected.setdefault(link.indicator, set()).add(f"{ID}report/nr{link.cycle}/question/{link.key}")
    # every question a rule reads is among them
    for (code, cycle), rule in methodology.rules.items():
        keys = {c.key for c in rule.conditions + rule.denominator_conditions}
        assert {f"{ID}report/nr{cycle}/question/{k}" for k in keys} <= expected[code]
    query = CATALOGUE["indicator-report-questions"]
    describer = Describer(kg, BASE)
    measured_by = ox.NamedNode("https://w3id.org/cpbkg/ontology#measuredBy")
    assert len(methodology.measured_from) == 48
    for code, source in methodology.measured_from.items():
        rows = run(kg, query, {"indicator": f"{ID}indicator/{code}"})
        found = {r["question"] for r in rows}
        page = describer.page(ox.NamedNode(f"{ID}indicator/{code}"))
        on_page = {edge.other.value for group in page.out_groups if group.prop.term == measured_by
                   for edge in group.edges if not isinstance(edge.other, ox.Literal)}
        assert found == on_page == expected.get(code, set()), code
        # no questions: the indicator says where else its data comes from
        assert bool(found) == (source == "national-reports"), code
