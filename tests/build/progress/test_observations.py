"""Indicator observations: ingested answers in, RDF Data Cube observations out, and every number
recomputed here independently, from the CSV files with plain Python."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph

from cpbkg.build.progress.ingest import ingest
from cpbkg.build.progress.observations import (
    SYNTHETIC_LABEL,
    load_methodology,
    methodology_graph,
)
from cpbkg.build.progress.parties import ProgressIds, load_parties
from cpbkg.build.progress.parts import LARGE_PARTS, SMALL_PARTS, build_parts
from cpbkg.build.progress.synthetic import generate
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import Ids

SETTINGS = Settings()
IDS = Ids()
PIDS = ProgressIds(IDS)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Settings:
    """A copy of data/ with synthetic 4th- and 5th-cycle answers for all 173 Parties ingested."""
    from cpbkg.build.progress.answers import write_csv

    root = tmp_path_factory.mktemp("project")
    shutil.copytree(SETTINGS.data_dir, root / "data")
    settings = SETTINGS.with_(root=root)
    parties = load_parties(SETTINGS.data_dir)
    for cycle, seed in ((4, 11), (5, 12)):
        answers = generate(parties, sources_dir=SETTINGS.sources_dir, cycles=[cycle], seed=seed)
        source = root / f"synthetic-nr{cycle}.csv"
        with source.open("w", encoding="utf-8", newline="") as f:
            write_csv(answers, f)
        ingest(source, cycle, settings=settings)
    return settings


@pytest.fixture(scope="module")
def parts(project, tmp_path_factory):
    from cpbkg.build.sources import plan

    known = plan.build_graph(SETTINGS.data_dir, SETTINGS.sources_dir, IDS)
    return dict(build_parts(project, IDS, known, workdir=tmp_path_factory.mktemp("work")))


@pytest.fixture(scope="module")
def observed(parts) -> dict[tuple[str, int, str], tuple[int, int, Decimal | None]]:
    """(indicator code, cycle, area code) -> (numerator, denominator, percentage), read from the RDF."""
    store = ox.Store()
    store.bulk_load(path=str(parts["observations"]), format=ox.RdfFormat.N_TRIPLES)
    rows = store.query("""
        PREFIX cpb: <https://w3id.org/cpbkg/ontology#>
        PREFIX qb: <http://purl.org/linked-data/cube#>
        PREFIX sdmx-dimension: <http://purl.org/linked-data/sdmx/2009/dimension#>
        SELECT ?ind ?cycle ?area ?n ?d ?p WHERE {
          ?o a qb:Observation ; qb:dataSet <https://w3id.org/cpbkg/id/dataset/progress> ;
             cpb:indicator ?ind ; cpb:reportingCycle ?cycle ; sdmx-dimension:refArea ?area ;
             cpb:numerator ?n ; cpb:denominator ?d .
          OPTIONAL { ?o cpb:percentage ?p } }""")
    out = {}
    for r in rows:
        key = (r["ind"].value.rsplit("/", 1)[-1], int(r["cycle"].value), r["area"].value.rsplit("/", 1)[-1])
        assert key not in out, f"two observations for {key}"
        out[key] = (int(r["n"].value), int(r["d"].value), Decimal(r["p"].value) if r["p"] is not None else None)
    return out


def expected_observations(settings: Settings) -> dict[tuple[str, int, str], tuple[int, int, Decimal]]:
    """The same numbers from the ingested CSV, the YAML and the Party CSVs: no cpbkg code involved."""
    data = settings.data_dir
    answers: dict[tuple[int, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted((data / "reports").glob("nr*/*.csv")):
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                answers[(int(row["cycle"]), row["party"])][row["question"]].add(row["value"])
    with (data / "parties" / "parties.csv").open(encoding="utf-8") as f:
        parties = {r["iso3"]: r for r in csv.DictReader(f)}
    with (data / "parties" / "regions.csv").open(encoding="utf-8") as f:
        parent = {r["code"]: r["parent"] for r in csv.DictReader(f)}

    def areas(iso3: str) -> list[str]:
        out, code = [iso3], parties[iso3]["m49_region"]
        while code:
            out.append(code)
            code = parent[code]
        return out if len(out) > 1 else [iso3, "001"]

    method = yaml.safe_load((data / "methodology" / "indicator-sources.yaml").read_text(encoding="utf-8"))
    expected: dict[tuple[str, int, str], tuple[int, int, Decimal]] = {}
    for entry in method["indicators"] + method["curated"]:
        for c in entry["cycles"]:
            if "numerator" not in c:
                continue
            cycle, num = c["cycle"], c["numerator"]
            den = c.get("denominator") or {}
            keys = [cond["key"] for cond in num["conditions"]]
            counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for (cyc, iso3), given in answers.items():
                if cyc != cycle:
                    continue
                if den.get("party_of") and parties[iso3][den["party_of"]] != "1":
                    continue
                if not any(k in given for k in keys):
                    continue
                if not all(given.get(d["key"], set()) & set(d["values"]) for d in den.get("conditions", [])):
                    continue
                hits = [bool(given.get(cond["key"], set()) & set(cond["values"])) for cond in num["conditions"]]
                counted = all(hits) if num.get("combine", "all") == "all" else any(hits)
                for area in areas(iso3):
                    counts[area][1] += 1
                    counts[area][0] += counted
            for area, (n, d) in counts.items():
                pct = (Decimal(100 * n) / Decimal(d)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                expected[(entry["indicator"], cycle, area)] = (n, d, pct)
    return expected


def test_observations_match_an_independent_recomputation(project, observed):
    expected = expected_observations(project)
    assert len(expected) > 10_000
    assert observed.keys() == expected.keys()
    assert observed == expected


def test_all_173_parties_reported_in_both_cycles(observed):
    n, d, _ = observed[("A.1(a)", 5, "001")]
    assert d == 173 and 0 < n < 173
    assert observed[("A.1(a)", 4, "001")][1] == 173
    # the European Union counts in the world figure only: no region holds it
    assert ("A.1(a)", 5, "EU") in observed
    assert sum(observed[("A.1(a)", 5, r)][1] for r in ("002", "019", "142", "150", "009")) == 172
    # A.10(b)'s denominator is the Parties to the Supplementary Protocol
    assert observed[("A.10(b)", 5, "001")][1] == 55


def test_parts_and_their_sizes(parts):
    assert list(parts) == ["parties", "methodology", "answers", "observations"]
    assert set(SMALL_PARTS) == {"parties", "methodology"} and "observations" in LARGE_PARTS
    assert isinstance(parts["parties"], Graph) and isinstance(parts["observations"], Path)
    answers = parts["answers"].read_text(encoding="utf-8")
    assert "id/synthetic/" not in answers  # ingested answers are not labelled synthetic...
    assert "/dataset/national-reports>" in answers


def test_demo_adds_a_loudly_labelled_synthetic_graph(tmp_path):
    parts = dict(build_parts(SETTINGS, IDS, Graph(), demo=True, workdir=tmp_path))
    assert "synthetic" in parts and "answers" not in parts  # the project's data/reports/ is empty
    text = parts["synthetic"].read_text(encoding="utf-8")
    assert SYNTHETIC_LABEL in text and "SYNTHETIC" in text.split("\n", 5)[2]
    assert "/id/report/nr5/party/" not in text and "/id/synthetic/r0/report/nr5/party/" in text  # own URIs


def test_no_answers_no_large_parts():
    parts = dict(build_parts(SETTINGS, IDS, Graph()))
    assert list(parts) == ["parties", "methodology"]


def test_every_indicator_of_the_plan_says_where_its_data_comes_from():
    plan = yaml.safe_load((SETTINGS.data_dir / "plan" / "implementation-plan.yaml").read_text(encoding="utf-8"))
    codes = {i["code"] for g in plan["goals"] for i in g.get("indicators", [])}
    methodology = load_methodology(SETTINGS.data_dir, SETTINGS.sources_dir)
    assert set(methodology.measured_from) == codes and len(codes) == 48
    from_reports = {c for c, s in methodology.measured_from.items() if s == "national-reports"}
    assert {c for c, _ in methodology.rules} == from_reports
    assert all((c, 5) in methodology.rules for c in from_reports)  # the 5th report measures them all
    assert methodology.rules[("A.1(a)", 4)].question_basis == "official"
    assert methodology.rules[("B.3(g)", 5)].question_basis == "curated"


def test_methodology_graph_conforms(tmp_path):
    from cpbkg.build.ontology import load_ontology
    from cpbkg.build.progress.parties import build_graph as parties_graph
    from cpbkg.build.sources import plan, questionnaires, treaties
    from cpbkg.build.validation import load_shapes, validate

    methodology = load_methodology(SETTINGS.data_dir, SETTINGS.sources_dir)
    data = methodology_graph(methodology, IDS, SETTINGS.sources_dir)
    data += questionnaires.build_graph(SETTINGS.data_dir, SETTINGS.sources_dir, IDS)
    data += plan.build_graph(SETTINGS.data_dir, SETTINGS.sources_dir, IDS)
    data += parties_graph(SETTINGS.data_dir, IDS)
    data += treaties.build_graph(SETTINGS.sources_dir, IDS)
    report = validate(data + load_ontology(SETTINGS.ontology_dir), load_shapes(SETTINGS.shapes_dir))
    assert not [f for f in report.violations if "/rule/" in str(f.focus)], report.summary()


def test_observation_sample_conforms_to_the_cube_shape(parts):
    from cpbkg.build.validation import load_shapes, validate

    lines = parts["observations"].read_text(encoding="utf-8").splitlines()
    cut = next(i for i in range(400, len(lines)) if lines[i].split(" ", 1)[0] != lines[i - 1].split(" ", 1)[0])
    sample = Graph().parse(data="\n".join(lines[:cut]), format="nt")  # whole observations only
    report = validate(sample, load_shapes(SETTINGS.shapes_dir))
    assert not [f for f in report.violations if "/observation/" in str(f.focus)], report.summary()


def test_unknown_value_in_a_rule_names_file_and_line(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SETTINGS.data_dir / "methodology", data / "methodology")
    path = data / "methodology" / "indicator-sources.yaml"
    text = path.read_text(encoding="utf-8").replace('{key: Q133, values: ["true"]}', '{key: Q133, values: ["yes"]}')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=r"indicator-sources.yaml:\d+ .*yes not an option of Q133"):
        load_methodology(data, SETTINGS.sources_dir)


def test_unknown_question_in_a_rule_names_file_and_line(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SETTINGS.data_dir / "methodology", data / "methodology")
    path = data / "methodology" / "indicator-sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("{key: Q156,", "{key: Q956,"), encoding="utf-8")
    with pytest.raises(SourceError, match=r"indicator-sources.yaml:\d+ .*the 5th report has no question 'Q956'"):
        load_methodology(data, SETTINGS.sources_dir)
