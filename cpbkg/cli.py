"""The cpbkg command: build, validate, serve, query, ingest, synthetic, publish.

Exit codes (as pySHACL's): 0 success / conforms, 1 does not conform, 2 error.
The same flag names mean the same thing in every subcommand.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from cpbkg import __version__
from cpbkg.build.progress.ingest import add_ingest_parser, cmd_ingest
from cpbkg.build.progress.synthetic import add_synthetic_parser, cmd_synthetic
from cpbkg.config import PACKAGE_DIR, Settings, work_dir, workers_per_process
from cpbkg.errors import CpbkgError
from cpbkg.store.publish import add_publish_parser, cmd_publish
from cpbkg.vocab import DEFAULT_BASE
from cpbkg.web.proxy import add_nginx_parser, cmd_nginx_conf

DESCRIPTION = ("CPB-KG: the Cartagena Protocol's Implementation Plan 2023-2030 as a knowledge graph. "
               "Build it from its sources, validate RDF against its shapes, serve it (SPARQL endpoint, pages in "
               "Chinese and English, dumps), query it, ingest national-report answers, make synthetic ones for "
               "demonstrations, publish it to another SPARQL store.")
EPILOG = ("Exit codes: 0 success (validate: conforms), 1 does not conform or invalid input, 2 error. "
          "Every setting is also a CPBKG_* environment variable. Run cpbkg COMMAND --help for a command's options.")
#: what only building needs (the [build] extra): serving an existing build does without them
BUILD_LIBRARIES = ("pyshacl", "owlready2")


class _Formatter(argparse.HelpFormatter):
    """Help that shows every option's default: argparse's own, or the one its text names."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.default in (None, False, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class _Parser(argparse.ArgumentParser):
    """Every parser of the command, its subcommands' included, shows defaults the same way."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def _common(parser: argparse.ArgumentParser) -> None:
    here = work_dir()
    parser.add_argument("--base-uri", help=f"base of the data URIs (default: $CPBKG_BASE_URI or {DEFAULT_BASE})")
    parser.add_argument("--dist", type=Path, help=f"build folder (default: $CPBKG_DIST or {here / 'dist'})")
    parser.add_argument("--store", type=Path, help=f"store folder (default: $CPBKG_STORE or {here / 'var' / 'store'})")


def _limits(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    parser.add_argument("--timeout", "--query-timeout", dest="query_timeout", type=float, metavar="SECONDS",
                        help=f"seconds a query may run (default: {defaults.query_timeout:g}, $CPBKG_QUERY_TIMEOUT)")
    parser.add_argument("--result-cap", type=int, metavar="N",
                        help=f"rows/triples an answer may have, more: 422 before any byte (default: "
                             f"{defaults.result_cap or 'no bound'}, $CPBKG_RESULT_CAP)")
    parser.add_argument("--result-bytes", type=int, metavar="BYTES",
                        help=f"bytes an answer may have; it streams, and past the bound it is cut visibly (default: "
                             f"{defaults.result_bytes}, $CPBKG_RESULT_BYTES; docs/decisions/0014-streaming.md)")
    parser.add_argument("--allow-service", action="store_true", default=None,
                        help="let queries use SERVICE (the server then fetches other endpoints; default: off)")


def parser() -> argparse.ArgumentParser:
    """The command line of ``cpbkg`` (the defaults shown are those of this environment)."""
    defaults = Settings()
    root = _Parser(prog="cpbkg", description=DESCRIPTION, epilog=EPILOG)
    root.add_argument("--version", action="version", version=f"cpbkg {__version__}")
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("build", help="build the graph from its sources and write dist/",
                       description="Build the graph: read the sources (data/, ontology/, shapes/), check OWL "
                       "consistency with HermiT (needs Java), materialise inferences, validate with SHACL, and "
                       "write dist/ (TriG, Turtle, N-Triples, JSON-LD, VoID, SHACL report, checksums). Any error "
                       "leaves the previous dist/ intact. Needs the [build] extra: pip install 'cpbkg[build]'.")
    _common(p)
    p.add_argument("--no-reason", action="store_true", help="skip the HermiT consistency check (the one step that "
                   "needs Java)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--demo", action="store_true",
                   help="add SYNTHETIC national-report answers (demos, benchmarks; never for publishing)")
    p.add_argument("--synthetic-replicates", type=int, default=1, metavar="N", help="with --demo: copies of the synthetic set")
    p.add_argument("--synthetic-questions", choices=("all", "indicators"), default="all",
                   help="with --demo: answer all questions, or only those the indicator rules read")
    p.add_argument("--synthetic-parties", type=int, default=None, metavar="N",
                   help="with --demo: Parties reporting (default: all)")

    p = sub.add_parser("validate", help="validate RDF files against the shapes (exit 0 conforms, 1 not, 2 error)",
                       description="Validate RDF files (Turtle, N-Triples, TriG, JSON-LD, RDF/XML, by suffix) "
                       "against the project's SHACL shapes, after the same materialisation as the build. Prints "
                       "one line per finding. Exit 0 conforms, 1 does not, 2 error (unreadable file).")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="RDF files to validate together")
    p.add_argument("--with-ontology", action="store_true", help="also check OWL consistency with HermiT (needs Java)")

    p = sub.add_parser("serve", help="serve the graph: SPARQL endpoint, pages, dumps",
                       description="Serve the build: the SPARQL 1.1 endpoint at /sparql, dereferenceable pages "
                       "under /id/, named queries, dumps. Builds dist/ first when it is missing or older than its "
                       "sources (that needs the [build] extra), then loads the embedded store.")
    _common(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on")
    _limits(p, defaults)
    p.add_argument("--processes", type=int, metavar="N",
                   help="HTTP server processes on the port, each with its own query workers and caches; the "
                   "query memory, spool and cache are split among them (uses more cores for HTTP; default: "
                   f"{defaults.processes}, $CPBKG_PROCESSES)")
    p.add_argument("--workers", type=int, metavar="N", help="query worker processes, per server process; each query "
                   f"runs in one, killed at the timeout (default: {defaults.query_workers}, one per CPU, the CPUs "
                   "shared among the --processes; $CPBKG_QUERY_WORKERS)")
    p.add_argument("--worker-memory", dest="worker_memory_mb", type=int, metavar="MB",
                   help=f"heap each query worker may use, 0: no limit (default: {defaults.worker_memory_mb})")
    p.add_argument("--query-memory", dest="query_memory_mb", type=int, metavar="MB",
                   help="heap the query workers together may take for queries above their size with the store "
                   f"open, an equal share each, 0: only --worker-memory (default: {defaults.query_memory_mb})")
    p.add_argument("--spool", dest="spool_mb", type=int, metavar="MB",
                   help="disk for the answers of slow readers, all together, so that they do not hold a query "
                   f"worker, 0: never (default: {defaults.spool_mb})")
    p.add_argument("--memory-store-triples", type=int, metavar="N",
                   help="query workers copy the store into memory when it holds at most N triples, 0: never "
                   f"(~5x faster queries, ~370 bytes per triple in each worker; default: {defaults.memory_store_triples})")
    p.add_argument("--cache-bytes", type=int, metavar="BYTES",
                   help=f"memory for repeated answers, 0: no cache (default: {defaults.cache_bytes})")
    p.add_argument("--cors-origins", metavar="ORIGINS", help='origins allowed to read GET answers, "" turns CORS off '
                   f"(default: {defaults.cors_origins!r})")
    p.add_argument("--access-log", action="store_true", help="log every request (default: off; a reverse proxy "
                   "usually does it, and it costs a third of the throughput of cached answers)")
    p.add_argument("--rebuild", action="store_true", help="build first even if dist/ is current")
    p.add_argument("--backend", metavar="URL", help="answer from a remote SPARQL store that cpbkg publish filled "
                   "with dist/'s build, instead of the embedded store: URL of an Oxigraph server, or KIND+URL "
                   "(fuseki+http://host:3030/ds, virtuoso+http://host:8890; default: $CPBKG_BACKEND, else embedded)")

    for name, kind in _HARDENING.items():  # docs/security.md
        p.add_argument("--" + name.replace("_", "-"), type=kind, metavar=name.split("_")[-1].upper(),
                       help=f"(default: {getattr(defaults, name)!r}, $CPBKG_{name.upper()}; docs/security.md)")

    p = sub.add_parser("query", help="run a SPARQL query against the local store (the endpoint's rules)",
                       description="Run one SPARQL query on the local store with the endpoint's rules (read-only, "
                       "timeout, result cap) and write the answer to standard output. Loads the store from dist/ "
                       "the first time.")
    _common(p)
    p.add_argument("query", help="the query text, or @FILE to read it from a file")
    p.add_argument("--format", help="json, xml, csv, tsv (SELECT/ASK; default: tsv); "
                   "ttl, nt, jsonld, rdfxml, trig, nq (CONSTRUCT/DESCRIBE; default: ttl)")
    _limits(p, defaults)

    add_ingest_parser(sub)
    add_synthetic_parser(sub)
    add_publish_parser(sub)
    add_nginx_parser(sub)
    return root


#: the settings of issue 20 (docs/security.md), each a flag of ``cpbkg serve`` named after it
_HARDENING: dict[str, type] = {
    "public_url": str, "trusted_hosts": str, "trusted_proxies": str, "max_query_bytes": int, "max_url_bytes": int,
    "max_header_bytes": int, "client_queries": int, "query_queue": int, "page_threads": int}


def settings_from(args: argparse.Namespace) -> Settings:
    changes: dict[str, object] = {}
    for flag, name in (("base_uri", "base_uri"), ("dist", "dist_dir"), ("store", "store_path"),
                       ("query_timeout", "query_timeout"), ("result_cap", "result_cap"),
                       ("result_bytes", "result_bytes"),
                       ("allow_service", "allow_service"), ("workers", "query_workers"), ("processes", "processes"),
                       ("cache_bytes", "cache_bytes"), ("cors_origins", "cors_origins"),
                       ("worker_memory_mb", "worker_memory_mb"), ("query_memory_mb", "query_memory_mb"),
                       ("spool_mb", "spool_mb"),
                       ("backend", "backend"),
                       ("memory_store_triples", "memory_store_triples"), *((n, n) for n in _HARDENING)):
        value = getattr(args, flag, None)
        if value is not None:
            changes[name] = value
    settings = Settings().with_(**changes)
    if settings.processes > 1 and "query_workers" not in changes and not os.environ.get("CPBKG_QUERY_WORKERS"):
        # the one place the default is shared among the processes (flag or CPBKG_PROCESSES): more
        # workers than CPUs only contend (docs/decisions/0011-speed.md)
        settings = settings.with_(query_workers=workers_per_process(settings.processes))
    return settings


def _require(what: str, libraries: tuple[str, ...] = BUILD_LIBRARIES) -> None:
    """A clear error, not an ImportError, when the [build] extra is not installed."""
    missing = [name for name in libraries if importlib.util.find_spec(name) is None]
    if missing:
        raise CpbkgError(f"{what} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
                         "installed: pip install 'cpbkg[build]' (serving an existing build does not need them)")


def cmd_build(args: argparse.Namespace) -> int:
    _require("cpbkg build")
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
    _require("cpbkg validate", ("pyshacl", "owlready2") if args.with_ontology else ("pyshacl",))
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
    """True if dist/ exists and nothing it is built from changed since (the sources, the build's code)."""
    release = settings.dist_dir / "release.json"
    if not release.is_file():
        return False
    built = release.stat().st_mtime
    inputs = [settings.ontology_dir, settings.shapes_dir, settings.data_dir, PACKAGE_DIR / "build"]
    return all(f.stat().st_mtime <= built for d in inputs if d.is_dir() for f in d.rglob("*")
               if f.is_file() and "__pycache__" not in f.parts)


def listening_socket(host: str, port: int, *, shared: bool = False) -> socket.socket:
    """A socket bound to ``host``:``port`` (as uvicorn binds it), or a clear error saying why it cannot be.

    ``shared``: with ``SO_REUSEPORT``, as every server process of a supervisor binds it
    (:mod:`cpbkg.web.supervisor`); the kernel spreads the connections over them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free; one listened on is not
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = (f"port {port} on {host} is in use (another server is listening there?): stop it, or choose "
                      "another port with --port")
        elif exc.errno == errno.EADDRNOTAVAIL:
            reason = f"{host} is not an address of this machine (127.0.0.1: this machine only; 0.0.0.0: every interface)"
        elif exc.errno == errno.EACCES:
            reason = f"port {port} needs more privileges (ports below 1024 are root's): choose another with --port"
        elif isinstance(exc, socket.gaierror):
            reason = f"{host!r} is not a known host name or address"
        else:
            reason = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise CpbkgError(reason) from None
    return sock


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cpbkg.web.app import create_app, uvicorn_options
    from cpbkg.web.supervisor import share, supervisor_pid

    settings = settings_from(args)
    supervised = supervisor_pid() is not None
    if settings.processes < 1:
        raise CpbkgError(f"--processes {settings.processes}: there must be at least one server process")
    if settings.processes > 1 and not supervised:
        return _supervise(args, settings)
    if supervised:
        settings = share(settings)
    sock = listening_socket(args.host, args.port, shared=supervised)  # before any work: a port in use fails at once
    try:
        store = _open_served_store(settings, rebuild=args.rebuild, build=not supervised)
        app = create_app(settings, store=store)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"note: binding {args.host}: the server is reachable from other machines", file=sys.stderr)
        print(f"serving {store.release.triples} triples on http://{args.host}:{args.port}/ (SPARQL at /sparql; "
              f"{settings.query_workers} query workers, {settings.query_timeout:g} s timeout, "
              f"answers streamed up to {settings.result_bytes:,} bytes"
              f"{f', {settings.result_cap} rows at most' if settings.result_cap else ''})", file=sys.stderr)
        # SIGTERM drains: no new connections, /health 503 "draining", the requests in flight finish
        # (bounded), then exit 0 (uvicorn would re-raise the signal it captured: not a clean exit)
        config = uvicorn.Config(app, host=args.host, port=args.port, log_level="info", access_log=args.access_log,
                                timeout_graceful_shutdown=int(settings.query_timeout) + 10, **uvicorn_options(settings))
        server = uvicorn.Server(config)
        server.handle_exit = _draining_exit(server, app)  # type: ignore[method-assign]
        if supervised:
            _follow_reloads(app)
            _say_when_ready(server)
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0


def _open_served_store(settings: Settings, *, rebuild: bool, build: bool) -> Any:
    """The store to serve: the remote backend, or the embedded store (built first if ``build`` and
    dist/ is not current, then loaded if it does not hold the build)."""
    from cpbkg.store.embedded import open_store

    if settings.backend.strip() not in ("", "embedded"):
        # a remote store holds the build in dist/ (cpbkg publish); dumps are still served from dist/
        from cpbkg.store.backend import open_backend

        store = open_backend(settings)
        print(f"remote backend {store.url}: build {store.data_version}", file=sys.stderr)
        return store
    if build:
        _build_if_needed(settings, rebuild=rebuild)
    print(f"opening the store in {settings.store_path} (the first time, the build is loaded into it) ...",
          file=sys.stderr, flush=True)
    start = time.perf_counter()
    loaded = open_store(settings)  # loads the build if the store does not hold it; opened read-only
    print(f"  store ready in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return loaded


def _supervise(args: argparse.Namespace, settings: Settings) -> int:
    """``--processes N``: check the port, build and load the store once, then run N server processes
    of the same arguments on the port (:mod:`cpbkg.web.supervisor`)."""
    from cpbkg.web.supervisor import Supervisor

    sock = listening_socket(args.host, args.port)  # a port in use fails at once, before the build
    try:
        store = _open_served_store(settings, rebuild=args.rebuild, build=True)
        store.close()  # each process opens it; the store is loaded and checked once, here
    finally:
        sock.close()
    print(f"{settings.processes} server processes on http://{args.host}:{args.port}/, each with "
          f"{settings.query_workers} query workers and 1/{settings.processes} of the query memory, spool and "
          "cache", file=sys.stderr)
    command = [sys.executable, "-m", "cpbkg", *args.argv]
    return Supervisor(command, settings.processes, stop_seconds=settings.query_timeout + 30).run()


def _say_when_ready(server: Any) -> None:
    """Tell the supervisor once uvicorn listens and the app has started (it restarts a process that
    crashes after that, and gives up on one that fails before)."""
    from cpbkg.web.supervisor import tell_ready

    startup = server.startup

    async def startup_then_tell(sockets: Any = None) -> None:
        await startup(sockets=sockets)
        if server.started:
            tell_ready()

    server.startup = startup_then_tell


def _follow_reloads(app: Any) -> None:
    """SIGUSR1 (from the supervisor): another server process reloaded, or was started again; serve
    the store's current build too (:func:`cpbkg.web.supervisor.follow_when_told`)."""
    import threading

    from cpbkg.web.routes.admin import follow_build
    from cpbkg.web.supervisor import follow_when_told

    def follow() -> None:
        try:
            follow_build(app)
        except Exception as exc:  # the old build goes on being served: say why
            print(f"cpbkg serve: error: could not follow the new build ({exc}); this process serves the old one",
                  file=sys.stderr, flush=True)

    follow_when_told(lambda: threading.Thread(target=follow, name="cpbkg-follow", daemon=True).start())


def _draining_exit(server: Any, app: Any) -> Any:
    """uvicorn's signal handler, but SIGTERM starts a drain (:func:`cpbkg.web.state.start_draining`)."""
    from cpbkg.web.state import start_draining

    handle_exit = server.handle_exit

    def on_signal(sig: int, frame: Any) -> None:
        if sig != signal.SIGTERM:
            handle_exit(sig, frame)
            return
        start_draining(app)
        server.should_exit = True

    return on_signal


def _build_if_needed(settings: Settings, *, rebuild: bool) -> None:
    """Build dist/ when it is missing or older than its sources; an existing build is served as it is
    when the build libraries are not installed (a serving-only install)."""
    if not rebuild and dist_is_current(settings):
        return
    if not rebuild and (settings.dist_dir / "release.json").is_file() and \
            any(importlib.util.find_spec(name) is None for name in BUILD_LIBRARIES):
        print(f"note: {settings.dist_dir} is older than its sources, and the build libraries are not installed "
              "(pip install 'cpbkg[build]'): serving it as it is", file=sys.stderr)
        return
    _require("building dist/ before serving it")
    from cpbkg.build.pipeline import build

    print("no current build: building first", file=sys.stderr)
    build(settings)


def cmd_query(args: argparse.Namespace) -> int:
    from cpbkg.sparql.service import run_cli_query

    settings = settings_from(args)
    text = Path(args.query[1:]).read_text(encoding="utf-8") if args.query.startswith("@") else args.query
    sys.stdout.buffer.write(run_cli_query(settings, text, args.format))
    sys.stdout.buffer.flush()
    return 0


COMMANDS = {"build": cmd_build, "validate": cmd_validate, "serve": cmd_serve, "query": cmd_query,
            "ingest": cmd_ingest, "synthetic": cmd_synthetic, "publish": cmd_publish, "nginx-conf": cmd_nginx_conf}


def main(argv: list[str] | None = None) -> int:
    name = "cpbkg"
    try:
        args = parser().parse_args(argv)  # the defaults it shows read CPBKG_* settings: they can be wrong
        args.argv = list(sys.argv[1:] if argv is None else argv)  # a supervisor's processes run them again
        name = f"cpbkg {args.command}"
        return COMMANDS[args.command](args)
    except CpbkgError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
