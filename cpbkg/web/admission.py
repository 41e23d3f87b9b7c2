"""Fair admission of queries to the workers: per-client limits, a bounded queue, fair turns.

Every query that needs a worker takes one of ``workers`` slots (:class:`Admission`, the
``query_slots`` of :class:`cpbkg.web.state.ProcessState`). Without more, one client sending many
slow queries holds every worker and everyone else waits for the timeout, then gets 503 (issue 20).
So:

* a client (:func:`client_of`: the peer address, or behind a configured reverse proxy the address
  that proxy names in ``X-Forwarded-For``) may have at most ``per_client`` queries running;
* at most ``queue`` queries wait, all clients together; when it is full, a newcomer takes the
  place of the newest waiter of the client with the most waiting, if it has more waiting than the
  newcomer's client (that waiter gets ``429 TooManyQueries``), or is itself refused -- ``429`` if it is that client, ``503 QueueFull``
  otherwise -- both with ``Retry-After``: one client filling the queue never keeps others out;
* when a slot frees, it goes to the waiting query whose client has the fewest running (then the
  one that waited longest): a client with many queries takes its turn after the others;
* a query that waited the whole timeout is ``503 ServerBusy`` (as before).

The default ``per_client`` is every worker, so that a single client (a load generator, or every
client behind a proxy not in ``trusted_proxies``) is not throttled while nobody else waits; set it
to one less than the workers (``client_queries``) on a public endpoint, so that one client alone
always leaves a worker for the others. The limiter runs on the event loop only (no lock): a slot is
taken in the request's task, and freed on the loop by the function that taking it returned. Which
client a request is from is set once per request by the app's middleware (:func:`enter_request`)
in a context variable that the request's task and its children see.
"""

from __future__ import annotations

import ipaddress
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from itertools import count

import anyio

from cpbkg.config import QUEUE_PER_WORKER
from cpbkg.errors import ServerBusy
from cpbkg.web.negotiation import MAX_HEADER

#: the client of the request being answered (set by the app's middleware, :func:`enter_request`)
CLIENT: ContextVar[str] = ContextVar("cpbkg.client", default="-")


class TooManyQueries(ServerBusy):
    """A client has as many queries running and waiting as it may (its share of the workers)."""

    http_status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        #: seconds the client should wait before it tries again (the ``Retry-After`` header)
        self.retry_after = retry_after


class QueueFull(ServerBusy):
    """As many queries wait for a worker as the queue holds."""

    http_status = 503

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after(exc: BaseException, timeout: float) -> int | None:
    """The ``Retry-After`` seconds for an error that is a refusal to queue (None: not one)."""
    given = getattr(exc, "retry_after", None)
    if isinstance(given, int):
        return given
    if isinstance(exc, ServerBusy):
        return max(1, math.ceil(timeout))
    return None


def _networks(spec: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    found = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            found.append(ipaddress.ip_network(item, strict=False))
    return tuple(found)


@dataclass(frozen=True)
class Proxies:
    """The reverse proxies whose ``X-Forwarded-For`` is believed (``Settings.trusted_proxies``)."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> Proxies:
        """Comma-separated addresses or networks (``10.0.0.0/8``); a bad one is a ValueError naming it."""
        try:
            return cls(_networks(spec))
        except ValueError as exc:
            raise ValueError(f"trusted_proxies: {exc}") from None

    def trusts(self, address: str) -> bool:
        if not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)


def client_of(peer: str, forwarded_for: Iterable[bytes], proxies: Proxies) -> str:
    """The client a request is from: ``peer`` (the connection's address), or -- when the peer is a
    trusted proxy -- the last address of ``X-Forwarded-For`` that is not itself a trusted proxy
    (read from the right: each proxy appends the address it received from; anything to the left
    of an untrusted hop was written by the client and proves nothing)."""
    if not proxies.trusts(peer):
        return peer
    hops: list[str] = []
    for value in forwarded_for:
        hops.extend(h.strip() for h in value[:MAX_HEADER].decode("latin-1").split(","))
    client = peer
    for hop in reversed(hops):
        if not hop:
            continue
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # not an address: a client's invention; stop at the last hop we believe
        client = hop
        if not proxies.trusts(hop):
            break
    return client


def enter_request(peer: str, headers: Iterable[tuple[bytes, bytes]], proxies: Proxies) -> str:
    """Set the client of the request being answered (:data:`CLIENT`); the client."""
    client = client_of(peer, (v for k, v in headers if k == b"x-forwarded-for"), proxies)
    CLIENT.set(client)
    return client


@dataclass
class _Client:
    running: int = 0
    waiting: int = 0


@dataclass(eq=False)
class _Waiter:
    client: str
    order: int
    event: anyio.Event = field(default_factory=anyio.Event)
    granted: bool = False
    #: the error it is refused with (its place in the queue went to another client's query)
    refused: TooManyQueries | None = None


class Admission:
    """``slots`` query slots shared fairly (see the module): :meth:`take` one if it is free, or wait
    for one with :meth:`acquire`, for the client of the current request; each gives the function
    that frees it."""

    def __init__(self, slots: int, *, per_client: int = 0, queue: int = 0, timeout: float = 10.0) -> None:
        self.total_tokens = max(1, slots)
        #: running queries one client may have (and as many waiting)
        # default: every worker (work-conserving: one load generator or an untrusted proxy is one client);
        # a public endpoint sets one less than the workers, so one client always leaves a worker to others
        self.per_client = per_client or self.total_tokens
        #: queries that may wait, all clients together
        self.queue = queue or QUEUE_PER_WORKER * self.total_tokens
        #: the query timeout: the Retry-After of a refusal
        self.timeout = timeout
        self.borrowed_tokens = 0
        self._clients: dict[str, _Client] = {}
        self._waiters: OrderedDict[_Waiter, None] = OrderedDict()
        self._order = count()

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def _client(self, name: str) -> _Client:
        found = self._clients.get(name)
        if found is None:
            found = self._clients[name] = _Client()
        return found

    def _forget(self, name: str) -> None:
        found = self._clients.get(name)
        if found is not None and not found.running and not found.waiting:
            del self._clients[name]  # the table holds only clients with queries: bounded by slots + queue

    def _retry(self) -> int:
        return max(1, math.ceil(self.timeout))

    def take(self) -> Callable[[], None] | None:
        """A free slot for the current request's client, at once, if one is there and nobody waits
        for it (the common case, which needs no wait and no cancel scope): the function that frees
        it (once, from any task on the event loop); else None (:meth:`acquire` waits, fairly)."""
        if self._waiters or self.borrowed_tokens >= self.total_tokens:
            return None
        name = CLIENT.get()
        client = self._client(name)
        if client.running >= self.per_client:
            self._forget(name)
            return None
        client.running += 1
        self.borrowed_tokens += 1
        return self._freer(name)

    async def acquire(self) -> Callable[[], None]:
        """Take a slot for the current request's client; wait (fairly) if none is free. Returns the
        function that frees it (once, from any task on the event loop: a streamed answer's worker is
        free before its request ends).

        When the queue is full, a newcomer takes the place of the newest waiter of the client with
        the most waiting (that one gets TooManyQueries), if that client has more waiting than the
        newcomer's; else the newcomer is refused (TooManyQueries if it is that client, else
        QueueFull). A caller that cancels its wait (its timeout) leaves the queue."""
        name = CLIENT.get()
        client = self._client(name)
        if len(self._waiters) >= self.queue and not self._make_room(name, client):
            self._forget(name)
            if client.waiting:
                raise TooManyQueries(f"this client already has {client.waiting} queries waiting for a query worker "
                                     "and the queue is full; try again later", self._retry())
            raise QueueFull(f"{len(self._waiters)} queries are waiting for a query worker, as many as may wait; "
                            "try again later", self._retry())
        waiter = _Waiter(name, next(self._order))
        self._waiters[waiter] = None
        client.waiting += 1
        self._dispatch()  # a free slot: granted at once
        try:
            await waiter.event.wait()
        except BaseException:
            if waiter.granted:  # granted, but the caller gave up meanwhile: pass the slot on
                self._release(name)
            elif waiter.refused is None:
                del self._waiters[waiter]
                client.waiting -= 1
                self._forget(name)
            raise
        if waiter.refused is not None:
            raise waiter.refused
        return self._freer(name)

    def _freer(self, name: str) -> Callable[[], None]:
        freed = False

        def free() -> None:
            nonlocal freed
            if not freed:
                freed = True
                self._release(name)
        return free

    def _make_room(self, name: str, client: _Client) -> bool:
        """Refuse the newest waiter of the client with the most waiting, if it has more than ``client``."""
        heaviest = max(self._clients.items(), key=lambda item: item[1].waiting)
        # more waiting than the newcomer's (not two more): twenty clients that each wait once must
        # not keep out a twenty-first that waits for nothing yet (the slow-reader attack, issue 20)
        if heaviest[0] == name or heaviest[1].waiting <= client.waiting:
            return False
        newest = max((w for w in self._waiters if w.client == heaviest[0]), key=lambda w: w.order)
        del self._waiters[newest]
        heaviest[1].waiting -= 1
        self._forget(heaviest[0])
        newest.refused = TooManyQueries("this client has the most queries waiting for a query worker and the queue "
                                        "is full: this one gave its place to another client's; try again later",
                                        self._retry())
        newest.event.set()
        return True

    def _dispatch(self) -> None:
        """Give free slots to waiters: the client with the fewest running first, then the oldest."""
        while self._waiters and self.borrowed_tokens < self.total_tokens:
            eligible = [w for w in self._waiters if self._clients[w.client].running < self.per_client]
            if not eligible:
                return
            chosen = min(eligible, key=lambda w: (self._clients[w.client].running, w.order))
            del self._waiters[chosen]
            client = self._clients[chosen.client]
            client.waiting -= 1
            client.running += 1
            self.borrowed_tokens += 1
            chosen.granted = True
            chosen.event.set()

    def _release(self, name: str) -> None:
        client = self._clients[name]
        client.running -= 1
        self.borrowed_tokens -= 1
        self._forget(name)
        self._dispatch()

