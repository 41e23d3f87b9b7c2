"""SYNTHETIC national-report answers for the real Parties and questionnaires: tests, demos, benchmarks.

No real answers are available offline. This module makes up answers, seeded and reproducible, so
that ingest, observations, queries and pages can be exercised and measured. The data it makes is
labelled synthetic wherever it goes: in RDF it lives in its own named graph (``synthetic``), its
reports carry ``cpb:synthetic true`` and ``dcterms:isPartOf`` the resource
``{base}id/dataset/synthetic`` ("SYNTHETIC — not real national-report data"), and its URIs are
under ``{base}id/synthetic/``. It never enters the published graph unless ``cpbkg build --demo``
asks for it: then :func:`synthetic_lines` writes that graph (answers and their observations) for
:mod:`cpbkg.build.progress.parts`.

The model, for plausibility only: each Party gets a random "capacity" between 0.25 and 0.95,
a little higher in the 5th cycle than in the 4th; for each single-choice question it picks the
first option (mostly the positive one: Yes, fully in place, in the BCH) with that probability and
another option otherwise; multiple-choice questions pick each option with a probability
following the capacity. Supplementary Protocol membership questions (4th Q169, 5th Q159) follow
the real Party list. Text questions are left out unless asked for.

Sizes: all 173 Parties x both questionnaires is about 69,000 answers (~290,000 triples; with
observations ~380,000). ``questions="indicators"`` keeps only the questions the indicator rules
read (~5x smaller); ``replicates`` repeats the whole set under other seeds and URIs (1M triples:
about 3-4 replicates).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from cpbkg.build.progress.answers import (
    CYCLES,
    NUMBER_TYPES,
    OPTION_TYPES,
    TEXT_TYPES,
    Answer,
    answer_triples,
    load_questionnaire,
    write_csv,
)
from cpbkg.build.progress.observations import (
    SYNTHETIC_DATASET,
    SYNTHETIC_LABEL,
    SYNTHETIC_LABEL_ZH,
    Methodology,
    compute,
    dataset_triples,
    load_methodology,
    observation_triples,
)
from cpbkg.build.progress.parties import PartyList, ProgressIds, load_parties
from cpbkg.config import Settings
from cpbkg.vocab import CPB, Ids

#: questions whose synthetic answer follows the real Party list: membership of the Supplementary Protocol
MEMBERSHIP_QUESTIONS = {4: "Q169", 5: "Q159"}
#: the 4th report's "Is your country a Party to the Cartagena Protocol?"
CPB_PARTY_QUESTION = {4: "Q012_party"}
SYNTHETIC_TEXT = "SYNTHETIC answer, not real national-report data."


def _negative(options: tuple[str, ...]) -> str:
    for value in options:
        if value in ("false", "instrument.none", "implementation.none", "0", "none", "USD0") or value.endswith(".none"):
            return value
    return options[-1]


def generate(
    parties: PartyList,
    *,
    sources_dir: Path,
    cycles: Iterable[int] = CYCLES,
    seed: int = 0,
    n_parties: int | None = None,
    questions: str | Iterable[str] = "all",
    answer_rate: float = 1.0,
    replicate: int = 0,
    include_text: bool = False,
) -> list[Answer]:
    """Synthetic answers, the same for the same arguments.

    Args:
        parties: the Party list (``cpbkg.build.progress.parties.load_parties``).
        cycles: the reporting cycles to answer (4, 5).
        seed: the random seed.
        n_parties: answer for this many Parties (a seeded sample, in ISO3 order), or all.
        questions: ``"all"`` answerable questions, ``"indicators"`` only those the indicator rules read,
            or an explicit collection of BCH keys.
        answer_rate: the probability that a Party submitted a report in a cycle.
        replicate: which replicate (another random stream; the URIs differ, see ``cpbkg.build.progress.answers``).
        include_text: also answer text questions (with a fixed synthetic sentence).
    """
    rng = random.Random(f"cpbkg-synthetic:{seed}:{replicate}")
    isos = sorted(parties.parties)
    if n_parties is not None and n_parties < len(isos):
        isos = sorted(rng.sample(isos, n_parties))
    capacity = {iso: rng.uniform(0.25, 0.95) for iso in isos}
    gain = {iso: rng.uniform(0.0, 0.12) for iso in isos}
    wanted: dict[int, set[str] | None] = {}
    for cycle in cycles:
        if questions == "all":
            wanted[cycle] = None
        elif questions == "indicators":
            methodology = load_methodology(Settings().data_dir, sources_dir)
            wanted[cycle] = {c.key for (_, cyc), rule in methodology.rules.items() if cyc == cycle
                             for c in (*rule.conditions, *rule.denominator_conditions)}
        else:
            wanted[cycle] = set(questions)
    out: list[Answer] = []
    for cycle in sorted(set(cycles)):
        questionnaire = load_questionnaire(sources_dir, cycle)
        keys = [q for q in questionnaire.questions.values() if q.answerable
                and (wanted[cycle] is None or q.key in wanted[cycle])  # type: ignore[operator]
                and (include_text or q.type not in TEXT_TYPES)]
        for iso in isos:
            if rng.random() >= answer_rate:
                continue
            cap = min(0.98, capacity[iso] + (gain[iso] if cycle == 5 else 0.0))
            party = parties.parties[iso]
            for q in keys:
                if q.key == MEMBERSHIP_QUESTIONS.get(cycle):
                    values: tuple[str, ...] = ("true" if "nkl" in party.treaties else "false",)
                elif q.key == CPB_PARTY_QUESTION.get(cycle):
                    values = ("true",)
                elif q.type in OPTION_TYPES and q.options:
                    if q.multiple:
                        negative = _negative(q.options)
                        chosen = [v for v in q.options if v != negative and rng.random() < cap * 0.7]
                        values = tuple(chosen) if chosen else (negative,)
                    elif rng.random() < cap or len(q.options) == 1:
                        values = (q.options[0],)
                    else:
                        values = (rng.choice(q.options[1:]),)
                elif q.type in NUMBER_TYPES:
                    values = (str(rng.randint(0, 20)),)
                elif q.type in TEXT_TYPES:
                    values = (SYNTHETIC_TEXT,)
                else:
                    continue
                out.append(Answer(iso, cycle, q.key, values))
    return out


def synthetic_answers(settings: Settings, *, replicate: int = 0, **options: object) -> list[Answer]:
    """:func:`generate` for the Parties and questionnaires of ``settings``."""
    return generate(load_parties(settings.data_dir), sources_dir=settings.sources_dir, replicate=replicate,
                    **options)  # type: ignore[arg-type]


def synthetic_lines(settings: Settings, ids: Ids, *, replicates: int = 1, cycles: Iterable[int] = CYCLES,
                    methodology: Methodology | None = None, **options: object) -> Iterator[str]:
    """N-Triples lines of the synthetic named graph: its loud description, answers and observations.

    Replicate 0's observations are the data set ``synthetic-progress``; replicate r > 0 (benchmarks)
    ``synthetic-progress-r{r}``.
    """
    pids = ProgressIds(ids)
    parties = load_parties(settings.data_dir)
    methodology = methodology or load_methodology(settings.data_dir, settings.sources_dir)
    ds = f"<{pids.synthetic_dataset()}>"
    yield f"{ds} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/dcat#Dataset> ."
    yield f'{ds} <{CPB._NS}synthetic> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
    yield f'{ds} <http://www.w3.org/2000/01/rdf-schema#label> "{SYNTHETIC_LABEL}"@en .'
    yield f'{ds} <http://www.w3.org/2000/01/rdf-schema#label> "{SYNTHETIC_LABEL_ZH}"@zh .'
    yield (f'{ds} <http://www.w3.org/2000/01/rdf-schema#comment> "{SYNTHETIC_LABEL}. Answers made up at random '
           'by cpbkg/synthetic.py for the real Parties and the real 4th and 5th national-report questionnaires, '
           'for tests, demonstrations and benchmarks; they say nothing about any country. Not part of the '
           'published CPB-KG graph."@en .')
    cycles = sorted(set(cycles))
    for r in range(replicates):
        answers = synthetic_answers(settings, replicate=r, cycles=cycles, **options)
        key = SYNTHETIC_DATASET if r == 0 else f"{SYNTHETIC_DATASET}-r{r}"
        if r:
            replica = f"<{pids.collection(r)}>"
            yield f'{replica} <http://www.w3.org/2000/01/rdf-schema#label> "{SYNTHETIC_LABEL} (replicate {r})"@en .'
            yield f'{replica} <{CPB._NS}synthetic> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .'
            yield f"{replica} <http://purl.org/dc/terms/isPartOf> {ds} ."
        yield from answer_triples(answers, pids, sources_dir=settings.sources_dir, synthetic=r)
        yield from dataset_triples(pids, key, synthetic=True, cycles=cycles)
        yield from observation_triples(compute(answers, methodology, parties), pids, key)


def estimate_triples(answers: list[Answer]) -> int:
    """About how many triples the answers make (reports + 3 per answer + 1 per value)."""
    reports = len({(a.cycle, a.party) for a in answers})
    return 4 * reports + sum(3 + len(a.values) for a in answers)


# ------------------------------------------------------------------------------------------ CLI


def add_synthetic_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``cpbkg synthetic``: write synthetic answers (CSV for ``cpbkg ingest``, or N-Triples)."""
    p = subparsers.add_parser(
        "synthetic",
        help="write SYNTHETIC national-report answers (tests, demos, benchmarks; never real data)",
        description="Generate SYNTHETIC national-report answers for the real Parties and questionnaires, "
                    "seeded and reproducible. CSV output is the `cpbkg ingest` format (one cycle); N-Triples "
                    "output is the synthetic named graph's answers for benchmarks.",
    )
    p.add_argument("--out", required=True, type=Path, help="output file (.csv or .nt); '-' for standard output (CSV)")
    p.add_argument("--cycle", type=int, action="append", choices=CYCLES,
                   help="reporting cycle (repeatable; CSV takes exactly one; default: 5 for CSV, 4 and 5 for N-Triples)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--parties", type=int, default=None, help="number of Parties (default: all 173)")
    p.add_argument("--questions", choices=("all", "indicators"), default="all",
                   help="all answerable questions, or only those the indicator rules read")
    p.add_argument("--answer-rate", type=float, default=1.0, help="probability a Party reported in a cycle (default 1)")
    p.add_argument("--replicates", type=int, default=1, help="repeat the set under other seeds and URIs (N-Triples only)")
    p.add_argument("--text", action="store_true", help="also answer free-text questions")
    p.set_defaults(func=cmd_synthetic)
    return p


def cmd_synthetic(args: argparse.Namespace) -> int:
    settings = Settings()
    parties = load_parties(settings.data_dir)
    out: Path = args.out
    as_nt = out.suffix == ".nt"
    cycles = args.cycle or ([4, 5] if as_nt else [5])
    if not as_nt and len(cycles) != 1:
        print("cpbkg synthetic: a CSV file holds one cycle (give one --cycle)", file=sys.stderr)
        return 2
    total = 0
    if as_nt:
        with out.open("w", encoding="utf-8") as f:
            for line in synthetic_lines(settings, Ids(settings.base_uri), cycles=cycles, seed=args.seed,
                                        n_parties=args.parties, questions=args.questions,
                                        answer_rate=args.answer_rate, replicates=args.replicates,
                                        include_text=args.text):
                f.write(line)
                f.write("\n")
                total += 1
        print(f"{out}: {total} triples of SYNTHETIC answers and observations", file=sys.stderr)
        return 0
    answers = generate(parties, sources_dir=settings.sources_dir, cycles=cycles, seed=args.seed,
                       n_parties=args.parties, questions=args.questions, answer_rate=args.answer_rate,
                       include_text=args.text)
    if str(out) == "-":
        total = write_csv(answers, sys.stdout)
    else:
        with out.open("w", encoding="utf-8", newline="") as f:
            total = write_csv(answers, f)
    print(f"{out}: {total} rows of SYNTHETIC answers (cycle {cycles[0]}, {len({a.party for a in answers})} Parties)",
          file=sys.stderr)
    return 0
