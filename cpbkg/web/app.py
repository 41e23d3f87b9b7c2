"""The FastAPI application factory: one router per area, settings injected."""

from __future__ import annotations

from fastapi import FastAPI

from cpbkg import __version__
from cpbkg.config import Settings
from cpbkg.store import LoadedStore, open_store


def create_app(settings: Settings | None = None, *, store: LoadedStore | None = None) -> FastAPI:
    """Build the app for one store.

    Args:
        settings: where the build and store live, limits; defaults from the environment.
        store: an already opened store (tests, ``cpbkg serve``); opened from settings if None.
    """
    settings = settings or Settings()
    store = store or open_store(settings)
    app = FastAPI(
        title="CPB-KG",
        version=__version__,
        description="The Cartagena Protocol Implementation Plan 2023-2030 as linked data: "
        "SPARQL 1.1 endpoint, dereferenceable URIs, dumps.",
    )
    app.state.settings = settings
    app.state.store = store
    # routers are imported here so that each area stays in its own module
    from cpbkg.web import dumps, resources, sparql, ui

    for module in (sparql, resources, dumps, ui):
        app.include_router(module.router)
    return app
