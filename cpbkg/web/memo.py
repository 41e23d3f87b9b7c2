"""The response memo: a repeated ``GET`` request answered with the bytes sent last time.

:func:`cpbkg.web.routes.sparql.direct_query` already skips routing, but it still parses the
query string, lexes the query, negotiates the formats and builds a Starlette ``Response``: about
100 µs of Python per request, which held the endpoint to ~10,000 requests/s on 2 cores while
Oxigraph's server answered the same trivial queries at ~24,000 (bench/, measured 2026-11-25). The
memo keys the *whole request* that shapes the response -- method, query string and the headers
the endpoint reads -- and replays the status, headers and body it answered before, as long as
the same build is serving (the same :class:`cpbkg.web.state.ServingState`: a reload makes a new
one, and the memo then forgets what the old one answered). The memo itself lasts as long as the
app (:class:`cpbkg.web.state.ProcessState`).

Only 200s and 304s are kept, of query answers the answer cache may hold (the direct path of
``/sparql``, and routes that call :func:`memorable`: ``/sparql``, ``/queries/{name}``; so never a
volatile query, an error or a time-out), the pages and RDF descriptions of resources (``/id/...``,
``/ontology``) and searches. Each is a function of the data, the path, the query string and the
headers keyed on (pages: 150/s when rendered each time, bench/ 2026-11-25).
"""

from __future__ import annotations

import collections
import hashlib
import threading
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import Message, Send

#: request headers that change what /sparql and the resource pages answer; they read no other
KEY_HEADERS = (b"accept", b"accept-encoding", b"accept-language", b"if-none-match", b"if-modified-since")
#: the flag a route sets in the request's scope: its answer may be memorised
FLAG = "cpbkg.memorable"
#: bodies larger than this are not memorised (the answer cache still has them)
MAX_BODY = 256 * 1024
#: a key part (path, query string, header value) longer than this is kept as its digest
KEY_PART_MAX = 256
#: bytes an entry costs beyond what is counted (the objects, the dict slot): a rough, safe figure
ENTRY_OVERHEAD = 512


@dataclass(frozen=True)
class Memorised:
    """A response as it was sent, and which build (:class:`cpbkg.web.state.ServingState`) answered it."""

    owner: object
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    async def send(self, send: Send) -> None:
        # a HEAD request is its own key: what it recorded has no body
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def _short(value: bytes | None) -> bytes | None:
    """A key part as it is kept: itself, or a digest of it if longer than :data:`KEY_PART_MAX`
    (what a client sends in a header is bounded only by the header limit)."""
    if value is None or len(value) <= KEY_PART_MAX:
        return value
    return b"#" + hashlib.sha256(value).digest()


def _size(key: tuple[object, ...], entry: Memorised) -> int:
    """Bytes one entry holds, counted: its key's parts, the headers and the body, and a fixed overhead."""
    parts = sum(len(part) for part in key if isinstance(part, bytes | str))
    headers = sum(len(name) + len(value) for name, value in entry.headers)
    return ENTRY_OVERHEAD + parts + headers + len(entry.body)


class ResponseMemo:
    """An LRU of :class:`Memorised` responses, bounded by entries and by bytes (keys, headers and
    bodies: :func:`_size`; long key parts are kept as digests, :func:`_short`). Thread-safe."""

    def __init__(self, max_entries: int = 4096, max_bytes: int = 32 * 2**20) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: collections.OrderedDict[tuple[object, ...], Memorised] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def key(method: str, path: bytes, query_string: bytes,
            headers: list[tuple[bytes, bytes]]) -> tuple[object, ...] | None:
        """The memo key of a request; None when it has a header the memo does not cover (``Origin``:
        CORS answers go through the CORS middleware) or repeats one it keys on."""
        found: dict[bytes, bytes] = {}
        for name, value in headers:
            if name == b"origin":
                return None
            if name in KEY_HEADERS:
                if name in found:
                    return None
                found[name] = value
        return (method, _short(path), _short(query_string), *(_short(found.get(h)) for h in KEY_HEADERS))

    def get(self, key: tuple[object, ...], owner: object) -> Memorised | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.owner is not owner:  # data reloaded since: forget it
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[object, ...], entry: Memorised) -> None:
        if len(entry.body) > MAX_BODY:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += _size(key, entry)
            while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple[object, ...]) -> None:
        entry = self._entries.pop(key)
        self._bytes -= _size(key, entry)

    @property
    def size(self) -> int:
        """Bytes the memo holds: keys, headers and bodies."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


def memorable(request: Request) -> None:
    """Say that this request's answer (if a 200 or 304) depends only on the data and the memo key."""
    request.scope[FLAG] = True


class Recorder:
    """Passes a response through to the client and keeps a copy of it, up to :data:`MAX_BODY`."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self.complete = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body" and self._size <= MAX_BODY:
            chunk = bytes(message.get("body", b""))
            self._size += len(chunk)
            self._chunks.append(chunk)
            self.complete = not message.get("more_body", False)
        await self._send(message)

    def memorised(self, owner: object) -> Memorised | None:
        """The response as sent, if complete, small enough and a 200 or 304."""
        if not self.complete or self._size > MAX_BODY or self.status not in (200, 304):
            return None
        return Memorised(owner, self.status, self.headers, b"".join(self._chunks))
