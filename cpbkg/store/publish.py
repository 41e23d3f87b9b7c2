"""``cpbkg publish``: push a build's named graphs to a remote SPARQL store, switch, verify.

The store's previous graphs stay usable until the new ones are complete and checked:

1. read ``dist/cpbkg.trig`` (and ``dist/void.ttl``, served as ``{base}graph/dataset`` as the
   embedded store does) into memory; count the triples of each named graph and check the
   counts against ``release.json``;
2. ask the store which graphs it holds (this fails early and clearly if it cannot be reached);
3. ``PUT`` each graph (Graph Store HTTP Protocol) under a staging name
   ``{base}graph/staging/{build}/{part}``, one by one, with a progress line each;
4. count the triples of every staging graph on the store (SPARQL ``COUNT``); any difference
   from ``dist/`` stops here, the staging graphs are dropped and nothing else was touched;
5. switch in **one** SPARQL Update request: ``MOVE <staging> TO <final>`` for every graph, and
   ``DROP`` of the graphs under ``{base}graph/`` that the new build no longer has (unless
   ``--keep-other-graphs``). A store that runs one update request as one transaction
   (Oxigraph: tested here) switches all graphs at once or not at all; what other stores do
   is in docs/remote-stores.md;
6. count the final graphs again and check that no staging graph is left.

``--direct`` skips the staging graphs and the switch (for stores without ``MOVE``): each graph
is ``PUT`` under its final name and verified afterwards, so a failure leaves a mix.

A graph's triples in ``dist/`` and on the store are compared as counts of distinct triples.
Blank nodes shared between two named graphs of the TriG become two blank nodes on the store
(each graph is sent as a document of its own); the build shares none.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pyoxigraph as ox

from cpbkg.config import Settings
from cpbkg.errors import StoreError
from cpbkg.store.embedded import DATASET_FILE, RELEASE_FILE, Release
from cpbkg.store.remote import (
    KINDS,
    RemoteStore,
    RemoteStoreError,
    check_iri,
    endpoints,
)

__all__ = [
    "GraphPush",
    "PublishResult",
    "add_publish_parser",
    "cmd_publish",
    "graph_payload",
    "plan_publication",
    "publish",
]

CONTENT_TYPES = ("application/n-triples", "text/turtle")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class GraphPush:
    """One named graph to publish: its final IRI, its staging IRI and its triples in ``dist/``."""

    name: str
    iri: str
    staging: str
    triples: int


@dataclass
class PublishResult:
    """What a publication did."""

    release: Release
    graphs: list[GraphPush]
    #: graphs dropped from the store because the build no longer has them
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    bytes_sent: int = 0

    @property
    def triples(self) -> int:
        return sum(g.triples for g in self.graphs)


def _quiet(_message: str) -> None:
    pass


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- reading dist/ ------------------------------------------------------------------------------


def load_dist(dist_dir: Path) -> tuple[Release, ox.Store, dict[str, int]]:
    """The build in ``dist_dir``: its release record, its graphs in an in-memory store, triples per graph.

    Raises:
        StoreError: no build, an unreadable dump, triples in the default graph, or counts that
            differ from ``release.json``.
    """
    release = Release.read(dist_dir)
    trig = dist_dir / DATASET_FILE
    if not trig.is_file():
        raise StoreError(f"{trig}: missing; run `cpbkg build`")
    store = ox.Store()
    try:
        store.bulk_load(path=str(trig), format=ox.RdfFormat.TRIG)
        void = dist_dir / "void.ttl"
        dataset_graph = release.base_uri + "graph/dataset"
        if void.is_file():
            if any(True for _ in store.quads_for_pattern(None, None, None, ox.NamedNode(dataset_graph))):
                raise StoreError(f"{trig}: already has a graph <{dataset_graph}>, where void.ttl goes")
            store.bulk_load(path=str(void), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(dataset_graph))
    except (OSError, SyntaxError, ValueError) as exc:
        raise StoreError(f"{dist_dir}: cannot read the build ({exc})") from exc
    counts = {
        row["g"].value: int(row["n"].value)
        for row in store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")  # type: ignore[union-attr]
    }
    default = sum(1 for _ in store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    if default:
        raise StoreError(f"{trig}: {default} triples in the default graph; a build puts every triple in a named graph")
    _check_release_counts(dist_dir, release, counts)
    return release, store, counts


def _check_release_counts(dist_dir: Path, release: Release, counts: dict[str, int]) -> None:
    """``release.json`` lists the triples of each part: the dump must agree with it."""
    raw = json.loads((dist_dir / RELEASE_FILE).read_text(encoding="utf-8"))
    listed = raw.get("graphs")
    if not isinstance(listed, dict):
        return
    for name, expected in listed.items():
        iri = release.base_uri + "graph/" + name
        if counts.get(iri, 0) != expected:
            raise StoreError(
                f"{dist_dir}: {DATASET_FILE} has {counts.get(iri, 0)} triples in graph <{iri}>, "
                f"{RELEASE_FILE} says {expected}; the build is damaged: run `cpbkg build`")


def plan_publication(release: Release, counts: dict[str, int]) -> list[GraphPush]:
    """The graphs to push, in a stable order, each with its staging IRI."""
    prefix = release.base_uri + "graph/"
    token = release.data_hash[:16]
    out = []
    for i, iri in enumerate(sorted(counts)):
        name = iri[len(prefix):] if iri.startswith(prefix) else f"g{i}"
        staging = f"{prefix}staging/{token}/{quote(name, safe='')}"
        out.append(GraphPush(name, check_iri(iri), check_iri(staging), counts[iri]))
    return out


def graph_payload(store: ox.Store, iri: str) -> bytes:
    """The triples of graph ``iri`` as N-Triples (also valid Turtle)."""
    data = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(iri))
    assert data is not None
    return data


# -- publishing ---------------------------------------------------------------------------------


def publish(
    dist_dir: Path,
    remote: RemoteStore,
    *,
    content_type: str = "application/n-triples",
    keep_other_graphs: bool = False,
    direct: bool = False,
    progress: Progress = _quiet,
) -> PublishResult:
    """Publish the build in ``dist_dir`` to ``remote``; see the module docstring for the steps.

    ``direct`` puts each graph under its final name at once, with no staging graph and no
    switch, for stores without SPARQL Update ``MOVE``: a failure then leaves the store with
    some graphs new and some old (verification still says which).

    Raises:
        StoreError: ``dist_dir`` holds no readable build.
        RemoteStoreError: the store cannot be reached, refuses a request, or holds other
            counts than ``dist/`` after the push. Before the switch, the store's previous
            graphs are untouched and the staging graphs are dropped (as far as the store lets).
    """
    started = time.monotonic()
    release, local, counts = load_dist(dist_dir)
    pushes = plan_publication(release, counts)
    if not pushes:
        raise StoreError(f"{dist_dir}: the build holds no triples; nothing to publish")
    total = sum(p.triples for p in pushes)
    progress(f"publishing build {release.data_hash[:16]} ({total} triples in {len(pushes)} graphs) "
             f"to {remote.gsp_url}" + (" directly, without staging graphs" if direct else ""))

    ours = release.base_uri + "graph/"
    existing = remote.graph_names(ours)
    finals = {p.iri for p in pushes}
    # staging graphs left by a publication that was killed are always dropped; other graphs of ours
    # that the build no longer has unless --keep-other-graphs
    stale = sorted(g for g in existing - finals if not keep_other_graphs or g.startswith(ours + "staging/"))
    result = PublishResult(release, pushes)

    if direct:
        try:
            _push(remote, local, pushes, result, content_type, progress, staging=False)
            for iri in stale:
                remote.delete_graph(iri)
        except RemoteStoreError as exc:
            raise RemoteStoreError(f"{exc} (published without staging graphs: the store may hold some old and "
                                   "some new graphs; run `cpbkg publish` again)", url=exc.url, status=exc.status,
                                   graph=exc.graph) from exc
        result.dropped = stale
        if stale:
            progress(f"  deleted {len(stale)} graphs the build no longer has")
    else:
        sent: list[GraphPush] = []
        try:
            # steps 3 and 4: push to staging graphs, then count them on the store
            _push(remote, local, pushes, result, content_type, progress, staging=True, sent=sent)
            _verify(remote, pushes, staging=True)
            progress(f"  verified {len(pushes)} staging graphs: triple counts match dist/")
        except RemoteStoreError as exc:
            raise _with_cleanup(exc, remote, sent, "the store's previous graphs are untouched") from exc

        # step 5: one update request switches every graph
        t0 = time.monotonic()
        try:
            remote.update(_switch_update(pushes, stale))
        except RemoteStoreError as exc:
            raise _with_cleanup(exc, remote, pushes,
                                "in stores that run an update request as one transaction the previous graphs "
                                "are untouched") from exc
        result.dropped = stale
        progress(f"  switched {len(pushes)} graphs in one update request"
                 + (f", dropped {len(stale)} graphs the build no longer has" if stale else "")
                 + f" ({time.monotonic() - t0:.2f} s)")

    # step 6: the final graphs, counted again, and nothing left over
    _verify(remote, pushes, staging=False)
    leftovers = sorted(g for g in remote.graph_names(ours) if g.startswith(ours + "staging/") or g in stale)
    if leftovers:
        raise RemoteStoreError(f"after publishing, the store still holds graphs it should not: {', '.join(leftovers)}")
    result.seconds = time.monotonic() - started
    progress(f"published and verified {total} triples in {len(pushes)} graphs in {result.seconds:.2f} s")
    return result


def _push(remote: RemoteStore, local: ox.Store, pushes: list[GraphPush], result: PublishResult,
          content_type: str, progress: Progress, *, staging: bool, sent: list[GraphPush] | None = None) -> None:
    """PUT every graph (to its staging name or its final name), one progress line each."""
    width = max(len(p.name) for p in pushes)
    for push in pushes:
        t0 = time.monotonic()
        data = graph_payload(local, push.iri)
        if sent is not None:
            sent.append(push)
        try:
            remote.put_graph(push.staging if staging else push.iri, data, content_type)
        except RemoteStoreError as exc:
            raise RemoteStoreError(f"graph <{push.iri}> ({push.triples} triples): {exc}", url=exc.url,
                                   status=exc.status, graph=push.iri) from exc
        result.bytes_sent += len(data)
        progress(f"  put {push.name:<{width}} {push.triples:>8} triples {len(data) / 1e6:8.2f} MB "
                 f"{time.monotonic() - t0:6.2f} s")


def _switch_update(pushes: list[GraphPush], stale: list[str]) -> str:
    """The one update request that makes the staging graphs final (IRIs checked by check_iri)."""
    # every graph pushed has triples (a TriG dump has no empty graphs), so every staging graph exists:
    # MOVE without SILENT, so that a store that lost one refuses the whole request
    ops = [f"MOVE <{push.staging}> TO <{push.iri}>" for push in pushes]
    ops.extend(f"DROP SILENT GRAPH <{check_iri(g)}>" for g in stale)
    return " ;\n".join(ops)


def _verify(remote: RemoteStore, pushes: list[GraphPush], *, staging: bool) -> None:
    """Count each graph on the store; raise on the first that differs from ``dist/``."""
    for push in pushes:
        iri = push.staging if staging else push.iri
        found = remote.count(iri)
        if found != push.triples:
            where = f"staging graph <{iri}> of graph <{push.iri}>" if staging else f"graph <{iri}>"
            raise RemoteStoreError(
                f"verification failed: {where} holds {found} triples on the store, dist/ has {push.triples}"
                + ("; nothing was switched" if staging else
                   "; the new graphs are already in place: run `cpbkg publish` again"),
                graph=push.iri)


def _with_cleanup(exc: RemoteStoreError, remote: RemoteStore, pushed: list[GraphPush],
                  state: str) -> RemoteStoreError:
    """Drop the staging graphs; the error to raise, saying what the store is left with."""
    if not pushed:
        return exc
    try:
        remote.update(" ;\n".join(f"DROP SILENT GRAPH <{p.staging}>" for p in pushed))
        note = f"{state}; the staging graphs were dropped"
    except RemoteStoreError as cleanup:
        left = ", ".join(f"<{p.staging}>" for p in pushed)
        note = f"{state}; the staging graphs could not be dropped ({cleanup}): drop {left} by hand"
    return RemoteStoreError(f"{exc} ({note})", url=exc.url, status=exc.status, graph=exc.graph)


# -- command line -------------------------------------------------------------------------------


def add_publish_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``cpbkg publish`` to the subcommands of the ``cpbkg`` parser."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "publish",
        help="push the build's named graphs to a remote SPARQL store and verify them",
        description="Push dist/'s named graphs to a store that speaks the SPARQL 1.1 Graph Store HTTP "
                    "Protocol and SPARQL Update: staged, counted, switched in one update, counted again.")
    p.add_argument("--to", required=True, metavar="URL",
                   help="the store's base URL (oxigraph: http://host:7878, fuseki: http://host:3030/DATASET, "
                        "graphdb: http://host:7200/repositories/REPO, virtuoso: http://host:8890), or KIND+URL "
                        "as for serve --backend (virtuoso+http://host:8890: --kind virtuoso)")
    p.add_argument("--kind", choices=[*KINDS, "generic"], default="oxigraph",
                   help="which endpoints sit below --to (default oxigraph; generic: all at --to itself)")
    p.add_argument("--query", metavar="URL", help="SPARQL query endpoint (overrides --kind)")
    p.add_argument("--update", metavar="URL", help="SPARQL update endpoint (overrides --kind)")
    p.add_argument("--gsp", metavar="URL", help="Graph Store HTTP Protocol endpoint (overrides --kind)")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--auth", metavar="USER[:PASSWORD]",
                      help="HTTP Basic credentials (without :PASSWORD, asked for; default $CPBKG_REMOTE_AUTH)")
    auth.add_argument("--token", metavar="TOKEN", help="bearer token (default $CPBKG_REMOTE_TOKEN)")
    p.add_argument("--digest", action="store_true",
                   help="send --auth as HTTP Digest instead of Basic (always so with --kind virtuoso)")
    p.add_argument("--dist", type=Path, help="build folder (default ./dist)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    p.add_argument("--content-type", choices=CONTENT_TYPES, default=CONTENT_TYPES[0],
                   help="media type the graphs are sent as (the bytes are N-Triples, valid as Turtle too)")
    p.add_argument("--keep-other-graphs", action="store_true",
                   help="keep graphs under {base}graph/ that the build does not have (default: drop them)")
    p.add_argument("--direct", action="store_true",
                   help="PUT each graph under its final name, no staging and no MOVE (for stores without MOVE; "
                        "a failed push then leaves some graphs old and some new)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return p


def _credentials(args: argparse.Namespace) -> tuple[tuple[str, str] | httpx.Auth | None, str | None]:
    # Virtuoso's -auth endpoints ask for HTTP Digest
    digest = args.digest or args.kind == "virtuoso"
    auth_text = args.auth if args.auth is not None else (None if args.token else os.environ.get("CPBKG_REMOTE_AUTH"))
    token = args.token if args.token is not None else (None if auth_text else os.environ.get("CPBKG_REMOTE_TOKEN"))
    if auth_text is None:
        if args.digest:
            raise RemoteStoreError("--digest needs --auth USER[:PASSWORD]")
        return None, token or None
    user, sep, password = auth_text.partition(":")
    if not user:
        raise RemoteStoreError("--auth needs USER[:PASSWORD]")
    if not sep:
        if not sys.stdin.isatty():
            raise RemoteStoreError("--auth USER without :PASSWORD needs a terminal to ask for the password")
        password = getpass.getpass(f"password for {user}: ")
    if digest:
        return httpx.DigestAuth(user, password), None
    return (user, password), None


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_publish(args: argparse.Namespace) -> int:
    """Run ``cpbkg publish``; errors are raised as :class:`~cpbkg.errors.CpbkgError` (exit code 2)."""
    settings = Settings().with_(dist_dir=args.dist) if args.dist is not None else Settings()
    kind, sep, rest = args.to.partition("+")
    if sep and kind in (*KINDS, "generic"):  # KIND+URL, as `cpbkg serve --backend` takes it
        args.kind, args.to = kind, rest
    auth, token = _credentials(args)
    ep = endpoints(args.to, args.kind, query=args.query, update=args.update, gsp=args.gsp,
                   authenticated=auth is not None)
    progress = _quiet if args.quiet else _stderr
    if (auth is not None or token) and any(
            urlsplit(u).scheme == "http" and not _is_loopback(u) for u in (ep.query, ep.update, ep.gsp) if u):
        _stderr("cpbkg publish: warning: credentials are sent over plain http to a host that is not this machine")
    with RemoteStore.at(ep, auth=auth, token=token, timeout=args.timeout) as remote:
        publish(settings.dist_dir, remote, content_type=args.content_type,
                keep_other_graphs=args.keep_other_graphs, direct=args.direct, progress=progress)
    return 0
