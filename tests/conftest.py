"""Session fixtures: one real build of the graph, shared by every test that needs it.

The live-server fixtures (``web_settings``, ``web_store``, ``web_pool``, ``web_app``, ``client``,
``live``) come from :mod:`support.web_server`; every folder's tests get them from here. Tests are
marked by folder (``browser``, ``remote``, ``java``, ``slow``): see ``pytest_collection_modifyitems``.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from cpbkg.build.pipeline import BuildResult, Progress, build
from cpbkg.config import Settings


@pytest.fixture(scope="session")
def build_result(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The real pipeline (reasoner included) run once into a temporary dist/."""
    root = tmp_path_factory.mktemp("cpbkg")
    settings = Settings().with_(dist_dir=root / "dist", store_path=root / "store")
    return build(settings, progress=Progress(quiet=True))


@pytest.fixture(scope="session")
def built(build_result: BuildResult) -> Settings:
    """Settings pointing at the session's build."""
    root = build_result.dist_dir.parent
    return Settings().with_(dist_dir=build_result.dist_dir, store_path=root / "store")


@pytest.fixture(scope="session")
def kg(built: Settings) -> ox.Store:
    """The built TriG dump in an in-memory pyoxigraph store (what a user of the dump gets)."""
    store = ox.Store()
    store.bulk_load(path=str(built.dist_dir / "cpbkg.trig"), format=ox.RdfFormat.TRIG)
    return store


pytest_plugins = ["support.web_server"]


#: markers given by folder (tests/<folder>/...), on top of those a test states itself
FOLDER_MARKERS = {"browser": ("browser",), "reliability": ("slow",), "store": ("remote",)}
#: fixtures that run the real pipeline, reasoner included
JAVA_FIXTURES = {"build_result", "built", "kg"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test by its folder, so that ``-m`` can pick the quick run."""
    tests = Path(__file__).resolve().parent
    for item in items:
        try:
            folder = item.path.resolve().relative_to(tests).parts[0]
        except ValueError:
            continue  # a doctest in cpbkg/
        for name in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(getattr(pytest.mark, name))
        fixtures = getattr(item, "fixturenames", ())
        if "web_app" in fixtures and {"remote", "virtuoso"} & set(item.nodeid.split("[")[-1].rstrip("]").split("-")):
            item.add_marker(pytest.mark.remote)
        # the session build runs the HermiT reasoner (Java); so do the reasoning tests themselves
        if JAVA_FIXTURES & set(fixtures) or item.path.name == "test_reasoning.py":
            item.add_marker(pytest.mark.java)
