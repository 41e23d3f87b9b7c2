"""The progress part of the build: Parties, indicator methodology, national-report answers and
indicator observations (and, for demos only, synthetic data).

:func:`build_parts` is what ``cpbkg build`` calls. It returns named graphs of two sizes:

* small rdflib graphs that go through HermiT and pyshacl like every other part:
  ``parties`` (~5,000 triples) and ``methodology`` (~2,400);
* large ones written as N-Triples files (``Path``), produced by plain text writing and checked by
  this package's own Python validation (``cpbkg.build.progress.answers``), which must NOT go through pyshacl or
  the reasoner (100 s per million triples): ``answers`` and ``observations`` (only when
  ``data/reports/`` holds ingested answers) and ``synthetic`` (only with ``demo=True``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rdflib import RDF, Graph

if TYPE_CHECKING:
    import pyoxigraph as ox

from cpbkg.build.progress.answers import (
    CYCLES,
    AnswerSet,
    answer_triples,
    read_csv,
)
from cpbkg.build.progress.observations import (
    REAL_DATASET,
    Methodology,
    compute,
    dataset_triples,
    load_methodology,
    methodology_graph,
    observation_triples,
)
from cpbkg.build.progress.parties import PartyList, ProgressIds, load_parties
from cpbkg.build.progress.parties import build_graph as parties_graph
from cpbkg.build.progress.synthetic import synthetic_lines
from cpbkg.config import Settings
from cpbkg.errors import SourceError
from cpbkg.vocab import CPB, Ids

#: where ``cpbkg ingest`` writes answers, under the data folder
REPORTS_DIR = "reports"
#: parts that must not go through pyshacl or HermiT (validated by cpbkg.build.progress.answers instead)
LARGE_PARTS = ("answers", "observations", "synthetic")
SMALL_PARTS = ("parties", "methodology")


def reports_dir(settings: Settings) -> Path:
    return settings.data_dir / REPORTS_DIR


def answer_files(directory: Path) -> dict[int, list[Path]]:
    """The ingested answer files, by cycle: ``{directory}/nr{cycle}/*.csv``."""
    return {cycle: sorted((directory / f"nr{cycle}").glob("*.csv")) for cycle in CYCLES
            if (directory / f"nr{cycle}").is_dir()}


def load_reports(directory: Path, settings: Settings) -> list[AnswerSet]:
    """Every ingested answers file, validated again, and no Party x question twice in a cycle.

    Raises:
        AnswersInvalid / SourceError: a file no longer validates, or two files answer the same question.
    """
    sets: list[AnswerSet] = []
    for cycle, files in answer_files(directory).items():
        seen: dict[tuple[str, str], Path] = {}
        for path in files:
            answers = read_csv(path, cycle, sources_dir=settings.sources_dir, data_dir=settings.data_dir)
            for key, answer in answers.answers.items():
                if key in seen:
                    raise SourceError(path, f"{key[0]} answers {key[1]} here and in {seen[key].name}",
                                      line=answer.line, field="question")
                seen[key] = path
            sets.append(answers)
    return sets


def _write(path: Path, lines: Iterable[str]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as f:
        for line in lines:
            f.write(line)
            f.write("\n")
            count += 1
    return count


def real_lines(answer_sets: list[AnswerSet], settings: Settings, ids: Ids, methodology: Methodology,
               parties: PartyList) -> tuple[Iterator[str], Iterator[str]]:
    """N-Triples lines of the ingested answers, and of their observations."""
    pids = ProgressIds(ids)
    root = settings.root

    def answers() -> Iterator[str]:
        collection = f"<{pids.collection()}>"
        yield f"{collection} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> ."
        yield f'{collection} <http://www.w3.org/2000/01/rdf-schema#label> "National reports ingested into CPB-KG"@en .'
        yield f'{collection} <http://www.w3.org/2000/01/rdf-schema#label> "CPB-KG 收录的国家报告"@zh .'
        yield f'{collection} <{CPB._NS}synthetic> "false"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
        for answer_set in answer_sets:
            source = Path(answer_set.source)
            try:
                source_text = str(source.resolve().relative_to(root))
            except ValueError:
                source_text = source.name
            yield from answer_triples(answer_set, pids, sources_dir=settings.sources_dir, derived_from=source_text)

    def observations() -> Iterator[str]:
        all_answers = [a for s in answer_sets for a in s]
        yield from dataset_triples(pids, REAL_DATASET, synthetic=False, cycles={s.cycle for s in answer_sets})
        yield from observation_triples(compute(all_answers, methodology, parties), pids, REAL_DATASET)

    return answers(), observations()


def build_parts(settings: Settings, ids: Ids, known: Graph, *, demo: bool = False,
                workdir: Path | None = None, synthetic: Mapping[str, object] | None = None,
                ) -> list[tuple[str, Graph | Path]]:
    """The named graphs of the progress part, in build order.

    Args:
        settings: where the data is (``data/parties``, ``data/methodology``, ``data/reports``).
        ids: the URI builder of the build.
        known: the graph built so far (the Plan at least): every indicator the methodology names
            must be a ``cpb:Indicator`` in it (skipped when it holds no indicator at all).
        demo: also make the ``synthetic`` graph (loudly labelled; never in a normal build).
        workdir: where to write the N-Triples files of the large parts (default: a new temporary folder).
        synthetic: options of :func:`synthetic_lines` for the demo data (size for benchmarks).

    Returns:
        ``[("parties", Graph), ("methodology", Graph), ("answers", Path), ("observations", Path),
        ("synthetic", Path)]``, the last three only when they have data. Graphs named in
        :data:`SMALL_PARTS` may go through HermiT and pyshacl; files named in :data:`LARGE_PARTS`
        are N-Triples to bulk-load, already validated here, and must skip both.

    Raises:
        SourceError: broken Party data, methodology (file, line, field) or ingested answers.
    """
    parties = load_parties(settings.data_dir)
    methodology = load_methodology(settings.data_dir, settings.sources_dir)
    indicators = set(known.subjects(RDF.type, CPB.Indicator))
    if indicators:
        for code in methodology.measured_from:
            if ids.indicator(code) not in indicators:
                raise SourceError(settings.data_dir / "methodology" / "indicator-sources.yaml",
                                  f"{code} is not an indicator of the Plan", field="indicator")
    parts: list[tuple[str, Graph | Path]] = [
        ("parties", parties_graph(settings.data_dir, ids)),
        ("methodology", methodology_graph(methodology, ids, settings.sources_dir)),
    ]
    answer_sets = load_reports(reports_dir(settings), settings)
    if not answer_sets and not demo:
        return parts
    workdir = workdir or Path(tempfile.mkdtemp(prefix="cpbkg-progress-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if answer_sets:
        answers, observations = real_lines(answer_sets, settings, ids, methodology, parties)
        _write(workdir / "answers.nt", answers)
        _write(workdir / "observations.nt", observations)
        parts += [("answers", workdir / "answers.nt"), ("observations", workdir / "observations.nt")]
    if demo:
        _write(workdir / "synthetic.nt", synthetic_lines(settings, ids, methodology=methodology,
                                                          **(synthetic or {})))  # type: ignore[arg-type]
        parts.append(("synthetic", workdir / "synthetic.nt"))
    return parts


# ------------------------------------------------------------------------ stores for demos and tests


def load_into(store: ox.Store, ids: Ids, parts: Iterable[tuple[str, Graph | Path | Iterable[str]]]) -> None:
    """Load parts into a pyoxigraph store, each in its named graph (``ids.graph(name)``).

    A part is an rdflib graph, an N-Triples file, or N-Triples lines.
    """
    import pyoxigraph as ox

    for name, part in parts:
        graph = ox.NamedNode(str(ids.graph(name)))
        if isinstance(part, Graph):
            data = part.serialize(format="nt", encoding="utf-8")
            store.bulk_load(data, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        elif isinstance(part, Path):
            store.bulk_load(path=str(part), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)
        else:
            store.bulk_load("\n".join(part).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


def demo_store(settings: Settings, ids: Ids | None = None, *, with_plan: bool = True,
               answer_sets: list[AnswerSet] | None = None, **synthetic_options: object) -> ox.Store:
    """An in-memory store with the questionnaires, the Plan (if it builds), Parties, methodology and
    SYNTHETIC answers and observations (or the given real answer sets instead): for tests and demos."""
    import pyoxigraph as ox

    from cpbkg.build.sources import questionnaires

    ids = ids or Ids(settings.base_uri)
    parts: list[tuple[str, Graph | Path | Iterable[str]]] = [
        ("reports", questionnaires.build_graph(settings.data_dir, settings.sources_dir, ids))]
    if with_plan:
        from cpbkg.build.sources import plan

        parts.append(("plan", plan.build_graph(settings.data_dir, settings.sources_dir, ids)))
    parties = load_parties(settings.data_dir)
    methodology = load_methodology(settings.data_dir, settings.sources_dir)
    parts += [("parties", parties_graph(settings.data_dir, ids)),
              ("methodology", methodology_graph(methodology, ids, settings.sources_dir))]
    if answer_sets is not None:
        answers, observations = real_lines(answer_sets, settings, ids, methodology, parties)
        parts += [("answers", list(answers)), ("observations", list(observations))]
    else:
        parts.append(("synthetic", list(synthetic_lines(settings, ids, methodology=methodology,
                                                        **synthetic_options))))  # type: ignore[arg-type]
    store = ox.Store()
    load_into(store, ids, parts)
    return store
