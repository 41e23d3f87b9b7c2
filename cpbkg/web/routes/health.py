"""``GET /health``: is the server up, what does it serve, and how are its query workers.

For load balancers and operators: ``200`` while the app answers, with a small JSON body
that names no secret and no path; ``503`` with ``"status": "draining"`` once the server is stopping
(SIGTERM: the requests in flight finish, new ones belong elsewhere). ``no-store``: it describes
this moment, never a cached one.

``process`` names the server process that answered (its pid, and how many there are:
``cpbkg serve --processes``); ``query_workers`` and the caches are that process's.

``query_workers.in_memory`` lists, per ready worker, the quads of its in-memory copy of the
store, as of that worker's last answer (``null``: it reads the store on disk, or has not
answered since its copy was made; see :mod:`cpbkg.sparql`).
"""

from __future__ import annotations

import os

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cpbkg import __version__
from cpbkg.store.protocol import QueryWorkers
from cpbkg.web.state import serving

router = APIRouter(tags=["operations"])


@router.get("/health", summary="Liveness and what is being served", response_class=JSONResponse)
async def health(request: Request) -> JSONResponse:
    """The build served (data version, triples, build time), the query workers and the caches.

    On the event loop and trivial (attributes only, no lock held long, no I/O): it answers at once
    whatever the pages and queries of other clients cost (tests/reliability/test_hardening.py)."""
    state = serving(request)
    service = state.query_service
    release = state.store.release
    pool: QueryWorkers = service.pool
    draining = state.process.draining.is_set()
    body = {
        "status": "draining" if draining else "ok",
        "version": __version__,
        "data_version": service.data_version,
        "triples": release.triples,
        "built": release.built,
        "backend": state.store.backend,
        # which of the server processes answered (--processes: each has its own workers and caches)
        "process": {"pid": os.getpid(), "of": state.settings.processes},
        "query_workers": {"size": pool.size, "killed": pool.killed, "in_memory": pool.memory_quads},
        "answer_cache": {"entries": len(service.cache), "bytes": service.cache.size},
        "response_memo": {"entries": len(state.process.response_memo), "bytes": state.process.response_memo.size},
        "queries_waiting": state.process.query_slots.waiting,
    }
    return JSONResponse(body, status_code=503 if draining else 200, headers={"Cache-Control": "no-store"})
