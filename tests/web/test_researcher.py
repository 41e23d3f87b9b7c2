"""What a researcher types, sent to the search API and to the named queries (issue 17).

Codes and phrases as people write them, in English and Chinese ("Target 17", "B.3", "Art. 26",
"第26条", "风险评估", "SDG 2", "CHN", ...), over HTTP on the session's real build:

* ``/search?format=json`` (and ``Accept: application/json``): the top hit is the resource meant,
  flagged ``exact`` when the text is its code; every hit says what it belongs to; word-aware
  matching ("STAR" does not find "presupuestarias"); the Plan ranked before questionnaire
  fragments; type filters; the HTML page shows the same order;
* ``/queries/{name}`` with a code, a name or an IRI for a typed parameter: the rows are those of
  the IRI the code stands for, the parameter column says which resource was used (also when the
  default applies), and a code that names nothing (or several things) is a 400 saying so.
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import quote

import pytest

from cpbkg.config import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BASE = Settings().base_uri
ID = BASE + "id/"
SDG2 = "/resource?uri=" + quote("http://metadata.un.org/sdg/2", safe="")


def search(client: TestClient, text: str, **params: str) -> dict[str, Any]:
    r = client.get("/search", params={"q": text, "format": "json", **params})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def top(client: TestClient, text: str, **params: str) -> dict[str, Any]:
    hits = search(client, text, **params)["hits"]
    assert hits, f"nothing found for {text!r}"
    return hits[0]


# ---------------------------------------------------------------------- search: codes go straight to their resource

#: (what a researcher types, the page of the resource they mean)
CODES = [
    ("Target 17", "/id/gbf/target/17"),
    ("target 17", "/id/gbf/target/17"),
    ("GBF Target 17", "/id/gbf/target/17"),
    ("T17", "/id/gbf/target/17"),
    ("17", "/id/gbf/target/17"),
    ("行动目标 17", "/id/gbf/target/17"),
    ("行动目标17", "/id/gbf/target/17"),
    ("Target 20", "/id/gbf/target/20"),
    ("B.3", "/id/goal/B.3"),
    ("Goal B.3", "/id/goal/B.3"),
    ("长期目标 B.3", "/id/goal/B.3"),
    ("A.5", "/id/goal/A.5"),
    ("Objective B.3.4", "/id/objective/B.3.4"),
    ("A.1(a)", "/id/indicator/A.1(a)"),
    ("a.1(A)", "/id/indicator/A.1(a)"),
    ("A.1 (a)", "/id/indicator/A.1(a)"),
    ("indicator A.1(a)", "/id/indicator/A.1(a)"),
    ("指标 A.1(a)", "/id/indicator/A.1(a)"),
    ("Art. 26", "/id/treaty/cpb/article/26"),
    ("Article 26", "/id/treaty/cpb/article/26"),
    ("第26条", "/id/treaty/cpb/article/26"),
    ("Article 17", "/id/treaty/cpb/article/17"),
    ("Annex III", "/id/treaty/cpb/annex/III"),
    ("SDG 2", SDG2),
    ("sdg2", SDG2),
    ("可持续发展目标 2", SDG2),
    ("CHN", "/id/party/CHN"),
    ("Q7", "/id/report/nr5/question/Q007"),
    ("CP-10/3", "/id/document/CP-10-3"),
    ("Goal D", "/id/gbf/goal/D"),
]


@pytest.mark.parametrize("text, expected", CODES, ids=[t for t, _ in CODES])
def test_a_code_goes_straight_to_its_resource(client: TestClient, text: str, expected: str) -> None:
    hit = top(client, text, lang="en")
    assert hit["href"] == expected, (text, hit["href"])
    assert hit["exact"] is True


#: (a name or phrase, the page that must come first, pages that must come within the first few)
PHRASES = [
    ("风险评估", "/id/treaty/cpb/article/15", ["/id/goal/A.5"]),
    ("risk assessment", "/id/treaty/cpb/article/15", ["/id/goal/A.5"]),
    ("China", "/id/party/CHN", []),
    ("中国", "/id/party/CHN", []),
    ("biosafety framework", "/id/goal/A.1", ["/id/outcome/A.1"]),
    ("Cartagena Protocol", "/id/treaty/cpb", []),
]


@pytest.mark.parametrize("text, first, near", PHRASES, ids=[t for t, _, _ in PHRASES])
def test_names_and_phrases_find_the_plan_first(client: TestClient, text: str, first: str, near: list[str]) -> None:
    hits = search(client, text, lang="zh" if any(ord(c) > 0x3000 for c in text) else "en")["hits"]
    hrefs = [h["href"] for h in hits]
    assert hrefs[0] == first, hrefs[:5]
    for href in near:
        assert href in hrefs[:4], (href, hrefs[:6])


def test_plan_elements_come_before_questionnaire_fragments(client: TestClient) -> None:
    for text in ("risk assessment", "风险评估"):
        hits = search(client, text, limit="30")["hits"]
        kinds = [h["type"] for h in hits]
        first_question = kinds.index("question") if "question" in kinds else len(kinds)
        plan = [i for i, k in enumerate(kinds) if k in ("goal", "objective", "indicator", "outcome", "article")]
        assert plan and max(plan[:5]) < first_question, (text, kinds)
        # internal keys of the questionnaires never come before a Plan element
        keys = [i for i, h in enumerate(hits) if (h["code"] or "").startswith("legend")]
        assert all(i > max(plan[:5]) for i in keys), (text, [h["code"] for h in hits])


def test_words_are_matched_as_words_not_substrings(client: TestClient) -> None:
    found = search(client, "STAR", limit="100")
    for hit in found["hits"]:
        for m in hit["matched"] + hit.get("notes", []):
            assert "presupuestarias" not in m["text"].lower(), hit
    # a word's start still finds the longer word (plural, derived)
    assert any(h["href"] == "/id/goal/A.5" for h in search(client, "assess", limit="100")["hits"])


def test_every_hit_says_what_it_belongs_to(client: TestClient) -> None:
    article = top(client, "Art. 26")
    assert [c["href"] for c in article["context"]] == ["/id/treaty/cpb"]
    objective = top(client, "B.3.4")
    assert [c["href"] for c in objective["context"]][:2] == ["/id/goal/B.3", "/id/area/B"]
    question = top(client, "Q7")
    hrefs = [c["href"] for c in question["context"]]
    assert hrefs[-1] == "/id/report/nr5" and question["cycle"] == "5"
    assert question["kind"]["uri"].endswith("#ReportQuestion") and question["type"] == "question"


def test_type_filters(client: TestClient) -> None:
    goals = search(client, "risk assessment", type="goal")["hits"]
    assert goals and all(h["type"] == "goal" for h in goals) and goals[0]["href"] == "/id/goal/A.5"
    both = search(client, "risk", type="goal,article", limit="50")["hits"]
    assert {h["type"] for h in both} <= {"goal", "article"} and {"goal", "article"} <= {h["type"] for h in both}
    r = client.get("/search", params={"q": "risk", "type": "nonsense", "format": "json"})
    assert r.status_code == 400 and "nonsense" in r.text


def test_json_by_accept_and_the_page_by_default(client: TestClient) -> None:
    by_accept = client.get("/search", params={"q": "Target 17"}, headers={"Accept": "application/json"})
    assert by_accept.headers["content-type"] == "application/json"
    assert by_accept.json()["hits"][0]["href"] == "/id/gbf/target/17"
    page = client.get("/search", params={"q": "Target 17"}, headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert 'class="exact-hit"' in page.text and "Accept" in page.headers["vary"]
    chinese = search(client, "风险评估", lang="zh")
    assert chinese["lang"] == "zh" and chinese["hits"][0]["label"] == "风险评估"


# ---------------------------------------------------------------------- named queries take what people type


def rows(client: TestClient, name: str, **params: str) -> list[dict[str, str]]:
    r = client.get(f"/queries/{name}", params=params, headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, (name, params, r.text)
    return [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]


#: (query, parameter, what people type, the IRI it must stand for)
PARAMETERS = [
    ("plan-elements-for-gbf-target", "target", "17", ID + "gbf/target/17"),
    ("plan-elements-for-gbf-target", "target", "Target 20", ID + "gbf/target/20"),
    ("plan-elements-for-gbf-target", "target", "行动目标 21", ID + "gbf/target/21"),
    ("plan-elements-for-gbf-target", "target", "GBF-TARGET-17", ID + "gbf/target/17"),
    ("indicators-of-goal", "goal", "B.3", ID + "goal/B.3"),
    ("indicators-of-goal", "goal", "Goal A.5", ID + "goal/A.5"),
    ("indicator-report-questions", "indicator", "A.1(a)", ID + "indicator/A.1(a)"),
    ("indicator-report-questions", "indicator", "b.2(B)", ID + "indicator/B.2(b)"),
    ("elements-citing-provision", "provision", "Art. 26", ID + "treaty/cpb/article/26"),
    ("elements-citing-provision", "provision", "第20条", ID + "treaty/cpb/article/20"),
    ("elements-citing-provision", "provision", "Annex III", ID + "treaty/cpb/annex/III"),
    ("report-questions-on-article", "article", "Article 26", ID + "treaty/cpb/article/26"),
    ("sdg-to-plan-indicators", "sdg", "SDG 2", "http://metadata.un.org/sdg/2"),
    ("parties-to-both-treaties", "also", "Supplementary Protocol", ID + "treaty/nkl"),
    ("parties-to-both-treaties", "treaty", "cpb", ID + "treaty/cpb"),
    ("gbf-target-monitoring", "target", "T17", ID + "gbf/target/17"),
    ("decision-actions", "decision", "CP-10/3", ID + "document/CP-10-3"),
]


@pytest.mark.parametrize("name, param, typed, iri", PARAMETERS, ids=[f"{n}?{p}={t}" for n, p, t, _ in PARAMETERS])
def test_a_parameter_takes_a_code(client: TestClient, name: str, param: str, typed: str, iri: str) -> None:
    by_code = rows(client, name, **{param: typed})
    by_iri = rows(client, name, **{param: iri})
    assert by_code == by_iri
    assert by_code, f"{name} gives no rows for {iri}"
    assert {row[param] for row in by_code} == {iri}  # the column says which resource was used


def test_the_rows_researchers_ask_for(client: TestClient) -> None:
    b3 = rows(client, "indicators-of-goal", goal="B.3")
    assert [r["code"] for r in b3] == [f"B.3({c})" for c in "abcdefg"]
    t17 = {r["element"].rsplit("/", 1)[1] for r in rows(client, "plan-elements-for-gbf-target", target="Target 17")}
    assert {"A.1", "A.5"} <= t17
    article = rows(client, "article-text", treaty="Supplementary Protocol", number="Art. 12")
    assert {r["article"] for r in article} == {ID + "treaty/nkl/article/12"} and article[0]["number"] == "12"
    by_code = rows(client, "plan-element-by-code", code="Goal b.1")
    assert {r["element"] for r in by_code} >= {ID + "goal/B.1"} and {r["code"] for r in by_code} == {"B.1"}
    chinese = rows(client, "gbf-target-monitoring", target="17", lang="中文")
    assert chinese and {r["lang"] for r in chinese} == {"zh"}
    assert rows(client, "decision-structure", lang="Chinese")[0]["lang"] == "zh"


def test_defaults_are_echoed(client: TestClient) -> None:
    both = rows(client, "parties-to-both-treaties")
    assert len(both) == 55 and {(r["treaty"], r["also"]) for r in both} == {(ID + "treaty/cpb", ID + "treaty/nkl")}
    assert {"CHN", "ALB"} & {r["code"] for r in both}
    t17 = rows(client, "plan-elements-for-gbf-target")
    assert {r["target"] for r in t17} == {ID + "gbf/target/17"}


def test_every_goal_with_its_targets_and_basis(client: TestClient) -> None:
    found = rows(client, "goals-gbf-targets")
    goals = {r["goalCode"] for r in found}
    assert len(goals) == 14
    assert {r["basis"] for r in found} <= {"ExplicitCitation", "OfficialMapping", "CuratedLink"}
    curated = [r for r in found if r["basis"] == "CuratedLink"]
    assert curated and all(r.get("justification") for r in curated)
    assert ("A.1", "17") in {(r["goalCode"], r["targetCode"]) for r in found}
    assert any(r["targetCode"] == "D" for r in found)  # GBF Goal D too


@pytest.mark.parametrize("name, params, says", [
    ("plan-elements-for-gbf-target", {"target": "99"}, "no GBFTarget with the code or name '99'"),
    ("indicators-of-goal", {"goal": "Z.9"}, "no Goal"),
    ("parties-to-both-treaties", {"treaty": "Biosafety"}, "names 2 resources"),
    ("plan-elements-for-gbf-target", {"target": "https://x.org/a> . ?s ?p ?o . <x"}, "absolute http(s) IRI"),
])
def test_a_code_that_names_nothing_is_a_400_saying_so(client: TestClient, name: str, params: dict[str, str],
                                                      says: str) -> None:
    r = client.get(f"/queries/{name}", params=params)
    assert r.status_code == 400 and "BadParameter" in r.text and says in r.text, r.text
    assert f"'{next(iter(params))}'" in r.text
