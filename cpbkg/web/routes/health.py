"""``GET /health``: is the server up, what does it serve, and how are its query workers.

For load balancers and operators: always ``200`` while the app answers, with a small JSON body
that names no secret and no path. ``no-store``: it describes this moment, never a cached one.

``query_workers.in_memory`` lists, per ready worker, the quads of its in-memory copy of the
store, as of that worker's last answer (``null``: it reads the store on disk, or has not
answered since its copy was made; see :mod:`cpbkg.sparql`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cpbkg import __version__
from cpbkg.sparql.pool import QueryPool

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness and what is being served", response_class=JSONResponse)
def health(request: Request) -> JSONResponse:
    """The build served (data version, triples, build time), the query workers and the caches."""
    state = request.app.state
    service = state.query_service
    release = state.store.release
    pool = service.pool
    in_memory: Any = getattr(pool, "memory_quads", None)
    body = {
        "status": "ok",
        "version": __version__,
        "data_version": service.data_version,
        "triples": release.triples,
        "built": release.built,
        "backend": "embedded" if isinstance(pool, QueryPool) else "remote",
        "query_workers": {"size": pool.size, "killed": pool.killed,
                          "in_memory": list(in_memory) if in_memory is not None else None},
        "answer_cache": {"entries": len(service.cache), "bytes": service.cache.size},
        "response_memo": {"entries": len(state.response_memo)},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
