"""``cpbkg ingest FILE --cycle N``: validate national-report answers, then write them atomically.

Nothing is half-loaded. The whole input is read and validated first (questionnaire, options,
Parties, duplicates, encoding, truncation: :mod:`cpbkg.build.progress.answers`), and checked against the
answers already ingested for that cycle (a Party's answer to a question lives in one file only).
Only then is the normalised CSV written, to a temporary file in the target folder, flushed to
disk and renamed over ``{to}/nr{cycle}/{name}.csv`` in one step. On any failure the target
folder is left exactly as it was, and the input file is never written to.

Exit codes: 0 ingested; 1 the answers are invalid (every problem listed with file, line, field);
2 any other error (missing file, an existing ingest without ``--replace``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cpbkg.build.progress.answers import (
    CYCLES,
    AnswerSet,
    AnswersInvalid,
    read_answers,
    read_csv,
    write_csv,
)
from cpbkg.build.progress.parts import REPORTS_DIR
from cpbkg.config import Settings
from cpbkg.errors import CpbkgError, SourceError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class IngestConflict(CpbkgError):
    """The answers clash with answers already ingested (or the target exists without --replace)."""


@dataclass(frozen=True)
class IngestResult:
    """What an ingest wrote."""

    target: Path
    rows: int
    answers: int
    parties: int
    replaced: bool
    sha256: str


def target_name(source: Path, name: str | None) -> str:
    """The file name (without ``.csv``) answers are stored under.

    >>> target_name(Path("/tmp/China 5NR.json"), None)
    'China-5NR'
    >>> target_name(Path("x.csv"), "bch-2026-03")
    'bch-2026-03'
    """
    stem = name or re.sub(r"[^A-Za-z0-9._-]+", "-", source.stem).strip("-.") or "answers"
    if not _NAME.match(stem):
        raise ValueError(f"--name {stem!r}: use letters, digits, '.', '_' and '-' (at most 100)")
    return stem


def ingest(source: Path, cycle: int, *, settings: Settings, to: Path | None = None, name: str | None = None,
           fmt: str | None = None, replace: bool = False, dry_run: bool = False,
           progress: Callable[[str], None] | None = None) -> IngestResult:
    """Validate ``source`` and store it as ``{to}/nr{cycle}/{name}.csv``; ``progress`` gets a line per step.

    Raises:
        AnswersInvalid: the answers are invalid (all problems, with line and field).
        IngestConflict: the target exists (without ``replace``), or another file of the cycle
            already answers one of the same Party x question pairs.
        SourceError: the input cannot be read.
    """
    if cycle not in CYCLES:
        raise SourceError(source, f"no questionnaire for reporting cycle {cycle} (known: {', '.join(map(str, CYCLES))})")
    say = progress or (lambda line: None)
    say(f"reading and validating {source} against the cycle {cycle} questionnaire and the Party list ...")
    start = time.perf_counter()
    answers = read_answers(source, cycle, sources_dir=settings.sources_dir, data_dir=settings.data_dir, fmt=fmt)
    say(f"  {len(answers)} valid answers of {len(answers.parties)} Parties in {time.perf_counter() - start:.1f} s")
    root = (to or settings.data_dir / REPORTS_DIR)
    folder = root / f"nr{cycle}"
    stem = target_name(source, name)
    target = folder / f"{stem}.csv"
    existed = target.exists()
    if existed and not replace:
        raise IngestConflict(f"{target} already exists: give --replace to replace those answers, or --name "
                             "to store these under another name")
    if source.resolve() == target.resolve():
        raise IngestConflict(f"{source} is the target file itself; ingest from a copy")
    say(f"checking them against the answers already ingested in {folder} ...")
    _check_conflicts(answers, folder, target, settings)
    buffer = io.StringIO()
    rows = write_csv(answers, buffer)
    data = buffer.getvalue().encode("utf-8")
    result = IngestResult(target, rows, len(answers), len(answers.parties), existed,
                          hashlib.sha256(source.read_bytes()).hexdigest())
    if not dry_run:
        _atomic_write(target, data)
    return result


def _check_conflicts(answers: AnswerSet, folder: Path, target: Path, settings: Settings) -> None:
    if not folder.is_dir():
        return
    for other in sorted(folder.glob("*.csv")):
        if other.resolve() == target.resolve():
            continue
        try:
            existing = read_csv(other, answers.cycle, sources_dir=settings.sources_dir, data_dir=settings.data_dir)
        except SourceError as exc:
            raise IngestConflict(f"{other}, already ingested, no longer validates; fix or remove it first:\n{exc}") from exc
        clash = sorted(set(existing.answers) & set(answers.answers))
        if clash:
            party, key = clash[0]
            line = answers.answers[clash[0]].line
            raise IngestConflict(f"{answers.source}:{line} [question]: {party} {key} is already answered in {other} "
                                 f"({len(clash)} Party x question pair{'s' if len(clash) != 1 else ''} in both); "
                                 "ingest with the same --name and --replace to replace that file")


def _remove_stale(folder: Path) -> None:
    """Remove the temporary files of ingests that were killed before their rename (their process is gone)."""
    for stale in folder.glob(".*.tmp-*"):
        pid = stale.name.rpartition(".tmp-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
            continue  # that ingest is still running
        except ProcessLookupError:
            stale.unlink(missing_ok=True)
        except PermissionError:
            continue


def _atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that readers see the old file or the new one, never a part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target.parent)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ------------------------------------------------------------------------------------------ CLI


def add_ingest_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``cpbkg ingest``."""
    p = subparsers.add_parser(
        "ingest",
        help="validate national-report answers (CSV or BCH JSON) and add them to data/reports/",
        description="Validate national-report answers against the questionnaire of their reporting cycle and "
                    "the Party list, then store them (normalised CSV) in data/reports/nr{cycle}/ atomically. "
                    "Nothing is written unless every row is valid. Exit 0 ingested, 1 invalid answers, 2 error.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="answers file: .csv (data/reports/README.md) or .json (BCH documents)")
    p.add_argument("--cycle", type=int, required=True, choices=CYCLES, help="reporting cycle: 4 (baseline) or 5")
    p.add_argument("--to", type=Path, default=None,
                   help=f"reports folder, where cpbkg build reads them (default: {Settings().data_dir / REPORTS_DIR})")
    p.add_argument("--name", default=None, help="stored file name without .csv (default: the input's name)")
    p.add_argument("--format", dest="fmt", choices=("csv", "json"), default=None,
                   help="input format (default: from the file's suffix)")
    p.add_argument("--replace", action="store_true", help="replace answers stored under the same name")
    p.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    p.set_defaults(func=cmd_ingest)
    return p


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run ``cpbkg ingest``; returns the exit code."""
    settings = getattr(args, "settings", None) or Settings()
    try:
        result = ingest(args.file, args.cycle, settings=settings, to=args.to, name=args.name, fmt=args.fmt,
                        replace=args.replace, dry_run=args.dry_run,
                        progress=lambda line: print(f"cpbkg ingest: {line}", file=sys.stderr, flush=True))
    except AnswersInvalid as exc:
        print(f"cpbkg ingest: {args.file}: invalid answers, nothing written", file=sys.stderr)
        print(str(exc), file=sys.stderr)
        return 1
    except (CpbkgError, ValueError) as exc:
        print(f"cpbkg ingest: {exc}", file=sys.stderr)
        return 2
    verb = "would write" if args.dry_run else ("replaced" if result.replaced else "wrote")
    print(f"cpbkg ingest: {verb} {result.target}: {result.rows} rows, {result.answers} answers, "
          f"{result.parties} Parties (cycle {args.cycle}; input sha256 {result.sha256[:12]})", file=sys.stderr)
    return 0
