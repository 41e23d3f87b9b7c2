"""The ``cpbkg`` command: build, validate, serve, query.

Exit codes (as pySHACL's): 0 success / conforms, 1 does not conform, 2 error.
The same flag names mean the same thing in every subcommand.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cpbkg import __version__
from cpbkg.config import Settings
from cpbkg.errors import CpbkgError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-uri", help="base of the data URIs (default https://w3id.org/cpbkg/)")
    parser.add_argument("--dist", type=Path, help="build folder (default ./dist)")
    parser.add_argument("--store", type=Path, help="store folder (default ./var/store)")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cpbkg", description=__doc__.splitlines()[0])
    root.add_argument("--version", action="version", version=f"cpbkg {__version__}")
    sub = root.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build the graph and write dist/")
    _common(p)
    p.add_argument("--no-reason", action="store_true", help="skip the HermiT consistency check (needs Java)")
    p.add_argument("-q", "--quiet", action="store_true")

    p = sub.add_parser("validate", help="validate RDF files against the shapes (exit 0 conforms, 1 not, 2 error)")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--with-ontology", action="store_true", help="also check OWL consistency with HermiT")

    p = sub.add_parser("serve", help="serve the graph: SPARQL endpoint, pages, dumps")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: local only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--query-timeout", type=float, help="seconds (default 10)")
    p.add_argument("--result-cap", type=int, help="rows/triples at most (default 10000)")
    p.add_argument("--rebuild", action="store_true", help="build first even if dist/ is current")

    p = sub.add_parser("query", help="run a SPARQL query against the local store")
    _common(p)
    p.add_argument("query", help="the query text, or @FILE to read it from a file")
    p.add_argument("--format", default="tsv", help="json, xml, csv, tsv; ttl, nt, jsonld, rdfxml, trig, nq")
    return root


def settings_from(args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
    for flag, name in (("base_uri", "base_uri"), ("dist", "dist_dir"), ("store", "store_path"),
                       ("query_timeout", "query_timeout"), ("result_cap", "result_cap")):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    return Settings().with_(**changes)


def cmd_build(args: argparse.Namespace) -> int:
    from cpbkg.build import Progress, build

    settings = settings_from(args)
    print(f"cpbkg {__version__}: building {settings.dist_dir}", file=sys.stderr)
    result = build(settings, reason=not args.no_reason, progress=Progress(quiet=args.quiet))
    for warning in result.report.warnings[:10]:
        print(f"  {warning}", file=sys.stderr)
    if len(result.report.warnings) > 10:
        print(f"  ... {len(result.report.warnings)} SHACL warnings/infos in all (dist/shacl-report.ttl)", file=sys.stderr)
    print(f"built {result.triples} triples in {len(result.parts)} graphs -> {result.dist_dir}", file=sys.stderr)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from rdflib import Graph

    from cpbkg.ontology import load_ontology
    from cpbkg.rdfio import parse_file
    from cpbkg.reasoning import check_consistency, materialise
    from cpbkg.validation import load_shapes, validate

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

    from cpbkg.build import build
    from cpbkg.store import open_store
    from cpbkg.web.app import create_app

    settings = settings_from(args)
    if args.rebuild or not dist_is_current(settings):
        print("no current build: building first", file=sys.stderr)
        build(settings)
    store = open_store(settings)
    app = create_app(settings, store=store)
    print(f"serving {store.release.triples} triples on http://{args.host}:{args.port}/ (SPARQL at /sparql)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from cpbkg.query import run_cli_query

    settings = settings_from(args)
    text = Path(args.query[1:]).read_text(encoding="utf-8") if args.query.startswith("@") else args.query
    sys.stdout.buffer.write(run_cli_query(settings, text, args.format))
    return 0


COMMANDS = {"build": cmd_build, "validate": cmd_validate, "serve": cmd_serve, "query": cmd_query}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CpbkgError as exc:
        print(f"cpbkg {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
