"""The ``cpbkg`` command: build, validate, serve, query.

Exit codes (as pySHACL's): 0 success / conforms, 1 does not conform, 2 error.
The same flag names mean the same thing in every subcommand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cpbkg import __version__
from cpbkg.build.progress.ingest import add_ingest_parser, cmd_ingest
from cpbkg.build.progress.synthetic import add_synthetic_parser, cmd_synthetic
from cpbkg.config import Settings
from cpbkg.errors import CpbkgError
from cpbkg.store.publish import add_publish_parser, cmd_publish


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-uri", help="base of the data URIs (default https://w3id.org/cpbkg/)")
    parser.add_argument("--dist", type=Path, help="build folder (default ./dist)")
    parser.add_argument("--store", type=Path, help="store folder (default ./var/store)")


def _limits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", "--query-timeout", dest="query_timeout", type=float,
                        help="seconds a query may run (default 10)")
    parser.add_argument("--result-cap", type=int, help="rows/triples an answer may have (default 10000)")
    parser.add_argument("--allow-service", action="store_true", default=None,
                        help="let queries use SERVICE (the server then fetches other endpoints; off by default)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cpbkg", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"cpbkg {__version__}")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build the graph and write dist/")
    _common(p)
    p.add_argument("--no-reason", action="store_true", help="skip the HermiT consistency check (needs Java)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--demo", action="store_true",
                   help="add SYNTHETIC national-report answers (demos, benchmarks; never for publishing)")
    p.add_argument("--synthetic-replicates", type=int, default=1, help="with --demo: copies of the synthetic set")
    p.add_argument("--synthetic-questions", choices=("all", "indicators"), default="all",
                   help="with --demo: answer all questions, or only those the indicator rules read")
    p.add_argument("--synthetic-parties", type=int, default=None, help="with --demo: Parties reporting (default all)")

    p = sub.add_parser("validate", help="validate RDF files against the shapes (exit 0 conforms, 1 not, 2 error)")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--with-ontology", action="store_true", help="also check OWL consistency with HermiT")

    p = sub.add_parser("serve", help="serve the graph: SPARQL endpoint, pages, dumps")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: local only)")
    p.add_argument("--port", type=int, default=8000)
    _limits(p)
    p.add_argument("--workers", type=int, help="query worker processes (default: one per CPU); each query "
                   "runs in one, killed at the timeout")
    p.add_argument("--worker-memory", dest="worker_memory_mb", type=int, metavar="MB",
                   help="heap each query worker may use (default 2048; 0: no limit)")
    p.add_argument("--memory-store-triples", type=int, metavar="N",
                   help="query workers copy the store into memory when it holds at most N triples "
                   "(default 500000; 0: never): ~5x faster queries, ~370 bytes per triple in each worker")
    p.add_argument("--cache-bytes", type=int, help="memory for repeated answers (default 64 MiB; 0: no cache)")
    p.add_argument("--cors-origins", help='origins allowed to read GET answers ("*" default; "" turns CORS off)')
    p.add_argument("--access-log", action="store_true", help="log every request (off by default: a reverse "
                   "proxy usually does it, and it costs a third of the throughput of cached answers)")
    p.add_argument("--rebuild", action="store_true", help="build first even if dist/ is current")
    p.add_argument("--backend", metavar="URL", help="answer from a remote SPARQL store that `cpbkg publish` filled "
                   "with dist/'s build, instead of the embedded store: URL of an Oxigraph server, or KIND+URL "
                   "(fuseki+http://host:3030/ds, virtuoso+http://host:8890; default $CPBKG_BACKEND)")

    p = sub.add_parser("query", help="run a SPARQL query against the local store (the endpoint's rules)")
    _common(p)
    p.add_argument("query", help="the query text, or @FILE to read it from a file")
    p.add_argument("--format", help="json, xml, csv, tsv (SELECT/ASK; default tsv); "
                   "ttl, nt, jsonld, rdfxml, trig, nq (CONSTRUCT/DESCRIBE; default ttl)")
    _limits(p)

    add_ingest_parser(sub)
    add_synthetic_parser(sub)
    add_publish_parser(sub)
    return root


def settings_from(args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
    for flag, name in (("base_uri", "base_uri"), ("dist", "dist_dir"), ("store", "store_path"),
                       ("query_timeout", "query_timeout"), ("result_cap", "result_cap"),
                       ("allow_service", "allow_service"), ("workers", "query_workers"),
                       ("cache_bytes", "cache_bytes"), ("cors_origins", "cors_origins"),
                       ("worker_memory_mb", "worker_memory_mb"), ("backend", "backend"),
                       ("memory_store_triples", "memory_store_triples")):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    return Settings().with_(**changes)


def cmd_build(args: argparse.Namespace) -> int:
    from cpbkg.build.pipeline import Progress, build

    settings = settings_from(args)
    print(f"cpbkg {__version__}: building {settings.dist_dir}", file=sys.stderr)
    if args.demo:
        print("cpbkg build --demo: the build holds SYNTHETIC answers; do not publish it", file=sys.stderr)
    synthetic = {"replicates": args.synthetic_replicates, "questions": args.synthetic_questions,
                 "n_parties": args.synthetic_parties}
    result = build(settings, reason=not args.no_reason, progress=Progress(quiet=args.quiet), demo=args.demo,
                   synthetic=synthetic)
    for warning in result.report.warnings[:10]:
        print(f"  {warning}", file=sys.stderr)
    if len(result.report.warnings) > 10:
        print(f"  ... {len(result.report.warnings)} SHACL warnings/infos in all (dist/shacl-report.ttl)", file=sys.stderr)
    print(f"built {result.triples} triples in {len(result.parts)} graphs -> {result.dist_dir}", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from rdflib import Graph

    from cpbkg.build.ontology import load_ontology
    from cpbkg.build.rdfio import parse_file
    from cpbkg.build.reasoning import check_consistency, materialise
    from cpbkg.build.validation import load_shapes, validate

    settings = Settings()
    data = Graph()
    for path in args.files:
        parse_file(path, data)
    ontology = load_ontology(settings.ontology_dir)
    if args.with_ontology:
        check_consistency(ontology, data)
    data += materialise(data, ontology)
    report = validate(data, load_shapes(settings.shapes_dir))
    for finding in report.findings:
        print(finding)
    print(f"{'conforms' if report.conforms else 'does not conform'}: "
          f"{len(report.violations)} violations, {len(report.warnings)} warnings")
    return 0 if report.conforms else 1


def dist_is_current(settings: Settings) -> bool:
    """True if dist/ exists and nothing it is built from changed since."""
    release = settings.dist_dir / "release.json"
    if not release.is_file():
        return False
    built = release.stat().st_mtime
    inputs = [settings.ontology_dir, settings.shapes_dir, settings.data_dir, settings.root / "cpbkg" / "sources"]
    return all(f.stat().st_mtime <= built for d in inputs if d.is_dir() for f in d.rglob("*") if f.is_file())


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cpbkg.build.pipeline import build
    from cpbkg.store.embedded import open_store
    from cpbkg.web.app import create_app

    settings = settings_from(args)
    if settings.backend.strip() not in ("", "embedded"):
        # a remote store holds the build in dist/ (cpbkg publish); dumps are still served from dist/
        from cpbkg.store.backend import open_backend

        store = open_backend(settings)
        print(f"remote backend {store.url}: build {store.data_version}", file=sys.stderr)
    else:
        if args.rebuild or not dist_is_current(settings):
            print("no current build: building first", file=sys.stderr)
            build(settings)
        store = open_store(settings)  # loads the build if the store does not hold it; opened read-only
    app = create_app(settings, store=store)  # type: ignore[arg-type]
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: binding {args.host}: the server is reachable from other machines", file=sys.stderr)
    print(f"serving {store.release.triples} triples on http://{args.host}:{args.port}/ (SPARQL at /sparql; "
          f"{settings.query_workers} query workers, {settings.query_timeout:g} s timeout, "
          f"{settings.result_cap} results at most)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=args.access_log)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from cpbkg.sparql.service import run_cli_query

    settings = settings_from(args)
    text = Path(args.query[1:]).read_text(encoding="utf-8") if args.query.startswith("@") else args.query
    sys.stdout.buffer.write(run_cli_query(settings, text, args.format))
    sys.stdout.buffer.flush()
    return 0


COMMANDS = {"build": cmd_build, "validate": cmd_validate, "serve": cmd_serve, "query": cmd_query,
            "ingest": cmd_ingest, "synthetic": cmd_synthetic, "publish": cmd_publish}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CpbkgError as exc:
        print(f"cpbkg {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
