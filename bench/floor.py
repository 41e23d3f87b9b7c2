"""The floor of a Python HTTP front end: an ASGI app that answers every request with one fixed body.

bench/stages.py serves it with uvicorn as ``cpbkg serve`` runs it (httptools, uvloop; no access
log) and sends it the very requests it sends CPB-KG: what a request costs there is what any
Python ASGI front end costs on this machine before it does anything (the client, the kernel's
loopback, uvicorn's parser and its writes), so the rest of CPB-KG's HTTP layer is its own.

    uvicorn bench.floor:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

#: the size of the lookup's answer (one element, its labels in two languages), so that the writes compare
BODY = (b'{"head":{"vars":["element","label"]},"results":{"bindings":['
        + b",".join([b'{"element":{"type":"uri","value":"https://w3id.org/cpbkg/id/goal/A.1"},'
                     b'"label":{"type":"literal","xml:lang":"en","value":"A fixed label of about sixty '
                     b'characters, in no language"}}'] * 2)
        + b"]}}")
HEADERS = [(b"content-type", b"application/sparql-results+json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Answer any HTTP request with :data:`BODY` (the lifespan protocol is not spoken: uvicorn's
    ``auto`` lifespan goes on without it)."""
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
