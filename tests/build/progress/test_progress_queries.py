"""The progress queries (queries/progress-*.rq) on a store with the Parties, the questionnaires,
the Plan, the methodology and SYNTHETIC answers and observations, checked against Python."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from support.graph import TEST_DATA

from cpbkg.build.progress.answers import read_csv, value_mapping
from cpbkg.build.progress.observations import compute, load_methodology
from cpbkg.build.progress.parties import ProgressIds, load_parties
from cpbkg.build.progress.parts import demo_store
from cpbkg.build.progress.synthetic import generate
from cpbkg.config import Settings
from cpbkg.sparql.catalogue import load_catalogue
from cpbkg.vocab import Ids

SETTINGS = Settings()
IDS = Ids()
PIDS = ProgressIds(IDS)
CATALOGUE = load_catalogue(SETTINGS.queries_dir)
SYN = str(PIDS.dataset("synthetic-progress"))
SYN_REPORTS = str(PIDS.collection(0))
FIXTURES = TEST_DATA / "answers"


@pytest.fixture(scope="module")
def answers():
    """The synthetic answers the store holds (same arguments, same answers)."""
    return generate(load_parties(SETTINGS.data_dir), sources_dir=SETTINGS.sources_dir, replicate=0)


@pytest.fixture(scope="module")
def store():
    return demo_store(SETTINGS, IDS)


@pytest.fixture(scope="module")
def expected(answers):
    obs = compute(answers, load_methodology(SETTINGS.data_dir, SETTINGS.sources_dir), load_parties(SETTINGS.data_dir))
    return {(o.indicator, o.cycle, o.area): o for o in obs}


def run(store, name, **values):
    query = CATALOGUE[name]
    start = time.perf_counter()
    results = query.run(store, values)
    names = [v.value for v in results.variables]
    rows = [{n: (r[n].value if r[n] is not None else None) for n in names} for r in results]
    assert time.perf_counter() - start < 5, f"{name} is slow"
    return rows


def pct(value):
    return Decimal(value) if value is not None else None


def test_baseline_vs_latest_world(store, expected):
    rows = run(store, "progress-baseline-vs-latest", dataset=SYN)
    assert {r["code"] for r in rows} == {i for i, _, a in expected if a == "001"}
    for r in rows:
        base, latest = expected.get((r["code"], 4, "001")), expected.get((r["code"], 5, "001"))
        assert pct(r["baseline"]) == (base.percentage if base else None)
        assert int(r["latestNumerator"]) == latest.numerator and int(r["latestDenominator"]) == latest.denominator
        if base:
            assert pct(r["change"]) == latest.percentage - base.percentage
        else:
            assert r["change"] is None
    assert rows[0]["code"] == "A.1(a)" and rows[-1]["code"].startswith("B.4")  # Plan order, A.10 after A.9
    codes = [r["code"] for r in rows]
    assert codes.index("A.9(a)") < codes.index("A.10(a)")
    assert rows[0]["datasetLabel"].startswith("SYNTHETIC")
    assert rows[0]["label_zh"] and rows[0]["label_en"]


def test_baseline_vs_latest_for_a_region_and_a_party(store, expected):
    rows = run(store, "progress-baseline-vs-latest", dataset=SYN, area=str(PIDS.region("002")))
    a1a = next(r for r in rows if r["code"] == "A.1(a)")
    assert int(a1a["latestDenominator"]) == expected[("A.1(a)", 5, "002")].denominator
    rows = run(store, "progress-baseline-vs-latest", dataset=SYN, area=str(PIDS.party("CHN")))
    a1a = next(r for r in rows if r["code"] == "A.1(a)")
    assert int(a1a["latestNumerator"]) == expected[("A.1(a)", 5, "CHN")].numerator


def test_indicators_by_progress(store, expected):
    rows = run(store, "progress-indicators-by-progress", dataset=SYN)
    both = {i for i, c, a in expected if a == "001" and c == 4}
    assert {r["code"] for r in rows} == both
    changes = [Decimal(r["change"]) for r in rows]
    assert changes == sorted(changes, reverse=True)
    for r in rows:
        assert Decimal(r["change"]) == expected[(r["code"], 5, "001")].percentage - expected[(r["code"], 4, "001")].percentage


def test_regional_breakdown(store, expected):
    rows = run(store, "progress-regional-breakdown", dataset=SYN, indicator=str(IDS.indicator("A.6(a)")))
    by_code = {r["m49"]: r for r in rows}
    assert {"001", "002", "019", "142", "150", "009"} <= by_code.keys()
    for code, r in by_code.items():
        assert int(r["latestNumerator"]) == expected[("A.6(a)", 5, code)].numerator
        assert int(r["baselineDenominator"]) == expected[("A.6(a)", 4, code)].denominator
    assert sum(int(by_code[c]["latestDenominator"]) for c in ("002", "019", "142", "150", "009")) == 172  # not the EU
    assert by_code["002"]["region_zh"] == "非洲" and by_code["202"]["parent"] == str(PIDS.region("002"))


def test_party_profile(store, expected):
    rows = run(store, "progress-party-profile", dataset=SYN, party=str(PIDS.party("BRA")))
    assert rows and {r["code"] for r in rows} == {i for i, _, a in expected if a == "BRA"}
    for r in rows:
        for cycle, column in ((4, "baselineCounted"), (5, "latestCounted")):
            o = expected.get((r["code"], cycle, "BRA"))
            assert r[column] == (str(o.numerator) if o else None)
        assert pct(r["worldLatest"]) == expected[(r["code"], 5, "001")].percentage


def test_parties_that_moved(store, answers):
    given = {(a.cycle, a.party, a.question): set(a.values) for a in answers}
    mapping = value_mapping(SETTINGS.sources_dir)
    for key5 in ("Q007", "Q131", "Q008"):
        key4, values = mapping[key5]
        expected = set()
        for (cycle, party, key), chosen in given.items():
            if (cycle == 5 and key == key5 and (4, party, key4) in given
                    and {values.get(v, v) for v in chosen} != given[(4, party, key4)]):
                expected.add(party)
        rows = run(store, "progress-parties-that-moved", question=str(IDS.question(5, key5)), collection=SYN_REPORTS)
        assert {r["iso"] for r in rows} == expected, key5
        assert expected  # the synthetic data has movers
        assert all(r["question4"] == str(IDS.question(4, key4)) for r in rows)
    # Q131's codes differ between the cycles ("none" / "0"): the value mapping keeps them the same answer
    rows = run(store, "progress-parties-that-moved", question=str(IDS.question(5, "Q131")), collection=SYN_REPORTS)
    assert not [r for r in rows if r["baselineAnswer"] == "0" and r["latestAnswer"] == "none"]


def test_parties_that_moved_default_collection_is_real_reports(store):
    assert run(store, "progress-parties-that-moved") == []  # no real national reports in this store


def test_indicator_methodology(store):
    rows = run(store, "progress-indicator-methodology", indicator=str(IDS.indicator("A.1(a)")))
    assert {(r["cycle"], r["questionCode"]) for r in rows} == {("4", "Q14"), ("4", "Q15"), ("5", "Q7"), ("5", "Q8")}
    assert {r["valueCode"] for r in rows if r["questionCode"] == "Q7"} == {"implementation.fullInPlace",
                                                                          "implementation.partiallyInPlace"}
    assert {(r["questionBasis"], r["valueBasis"]) for r in rows} == {("OfficialMapping", "CuratedLink")}
    rows = run(store, "progress-indicator-methodology", indicator=str(IDS.indicator("A.10(b)")))
    assert {r["populationTreaty"] for r in rows} == {str(IDS.treaty("nkl"))}
    assert {r["questionBasis"] for r in rows} == {"CuratedLink"}
    rows = run(store, "progress-indicator-methodology", indicator=str(IDS.indicator("A.2(c)")))
    assert [(r["measuredFrom"], r["rule"]) for r in rows] == [("bch-analytics", None)]


def test_default_dataset_is_the_real_one():
    """With ingested (real) answers, the queries' defaults need no parameter at all."""
    answer_set = read_csv(FIXTURES / "valid" / "nr5-small.csv", 5, sources_dir=SETTINGS.sources_dir,
                          data_dir=SETTINGS.data_dir)
    store = demo_store(SETTINGS, IDS, with_plan=False, answer_sets=[answer_set])
    rows = run(store, "progress-baseline-vs-latest")
    a1a = next(r for r in rows if r["code"] == "A.1(a)")
    # CHN (fully in place, laws + regulations) counts; EU (indirect laws only) and BRA (draft) do not
    assert (a1a["latestNumerator"], a1a["latestDenominator"], a1a["baseline"]) == ("1", "3", None)
    assert a1a["latest"] == "33.33"
    assert not a1a["datasetLabel"].startswith("SYNTHETIC")
    rows = run(store, "progress-party-profile")
    assert {r["code"]: r["latestCounted"] for r in rows}["A.1(a)"] == "1"


def test_parameters_are_bound_not_pasted(store):
    with pytest.raises(ValueError, match="parameter 'dataset' must be an absolute http"):
        CATALOGUE["progress-baseline-vs-latest"].bind({"dataset": "x> . ?s ?p ?o . <y"})
