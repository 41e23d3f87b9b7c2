"""The embedded on-disk pyoxigraph store, loaded from a build's ``dist/``.

Layout under ``settings.store_path``::

    CURRENT            name of the live store directory (replaced atomically)
    <version>/         a pyoxigraph store holding exactly one build
    <version>.tmp-*/   a load in progress (removed on failure or at next start)

A store is loaded into a fresh directory and only then named in ``CURRENT``, so a
load that is killed half-way never replaces the store being served.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from cpbkg.config import Settings
from cpbkg.errors import StoreError

DATASET_FILE = "cpbkg.trig"
RELEASE_FILE = "release.json"


@dataclass(frozen=True)
class Release:
    """What ``dist/release.json`` says of a build."""

    version: str
    data_hash: str
    built: str
    triples: int
    base_uri: str

    @classmethod
    def read(cls, dist_dir: Path) -> "Release":
        path = dist_dir / RELEASE_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["version"], raw["data_hash"], raw["built"], int(raw["triples"]), raw["base_uri"])
        except FileNotFoundError as exc:
            raise StoreError(f"{path}: no build found; run `cpbkg build` first") from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: unreadable release description ({exc})") from exc


@dataclass
class LoadedStore:
    """An open store and the build it holds."""

    store: ox.Store
    path: Path
    release: Release

    @property
    def data_version(self) -> str:
        """Changes exactly when the data changes: used for ETags and caches."""
        return self.release.data_hash[:16]


def _current_name(root: Path) -> str | None:
    try:
        return (root / "CURRENT").read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def _write_current(root: Path, name: str) -> None:
    tmp = root / f"CURRENT.tmp-{os.getpid()}"
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, root / "CURRENT")


def _prune(root: Path, keep: str) -> None:
    """Remove stale loads and old stores; never the live one."""
    for child in root.iterdir():
        if child.is_dir() and child.name != keep:
            shutil.rmtree(child, ignore_errors=True)


def _bulk_load(target: Path, dataset: Path, void: Path, void_graph: str) -> None:
    store = ox.Store(str(target))
    try:
        store.bulk_load(path=str(dataset), format=ox.RdfFormat.TRIG)
        if void.is_file():
            # the VoID description is written after the dumps (it holds their checksums),
            # so it is not inside cpbkg.trig; the store serves it as a graph of its own
            store.bulk_load(path=str(void), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(void_graph))
        store.optimize()
    finally:
        del store


def open_store(settings: Settings, *, read_only: bool = False) -> LoadedStore:
    """Open the store for the build in ``settings.dist_dir``, loading it first if needed.

    Raises:
        StoreError: no build, or the store cannot be opened or loaded.
    """
    release = Release.read(settings.dist_dir)
    root = settings.store_path
    name = release.data_hash[:16]
    if _current_name(root) != name or not (root / name).is_dir():
        if read_only:
            raise StoreError(f"{root}: no store loaded for build {name}")
        load(settings, release)
    path = root / name
    try:
        store = ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the store ({exc}); remove it and run `cpbkg build`") from exc
    return LoadedStore(store, path, release)


def load(settings: Settings, release: Release | None = None) -> Path:
    """Load ``dist/cpbkg.trig`` into a new store directory and make it current."""
    release = release or Release.read(settings.dist_dir)
    dataset = settings.dist_dir / DATASET_FILE
    if not dataset.is_file():
        raise StoreError(f"{dataset}: missing; run `cpbkg build`")
    root = settings.store_path
    root.mkdir(parents=True, exist_ok=True)
    name = release.data_hash[:16]
    tmp = root / f"{name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _bulk_load(tmp, dataset, settings.dist_dir / "void.ttl", release.base_uri + "graph/dataset")
    except (OSError, SyntaxError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise StoreError(f"{dataset}: cannot load into the store ({exc})") from exc
    final = root / name
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    _write_current(root, name)
    _prune(root, keep=name)
    return final
