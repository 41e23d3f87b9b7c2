"""HTTP content negotiation (RFC 9110 §12.5.1): ``Accept`` with q-values and wildcards.

The rule: each format the server offers gets the quality of the *most specific* media range
of the ``Accept`` header that matches it (``text/csv`` over ``text/*`` over ``*/*``); a
quality of 0 excludes it. The offer with the highest quality wins; between equals, the more
specific match wins, then the one the client listed first, then the server's order. No
``Accept`` header means ``*/*``. Media types compare case-insensitively.

>>> offers = [("application/sparql-results+json", "json"), ("application/sparql-results+xml", "xml")]
>>> negotiate("application/sparql-results+xml;q=0.5, application/sparql-results+json;q=0.9", offers)
'json'
>>> negotiate("*/*;q=0.1, application/sparql-results+xml", offers)
'xml'
>>> negotiate("image/png", offers) is None
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

from cpbkg.sparql.formats import FORMATS

T = TypeVar("T")


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    q: float
    #: position in the header (earlier = preferred among equals)
    order: int

    def specificity(self, media_type: str) -> int:
        """How specifically this range matches ``type/subtype``: 3 exact, 2 ``type/*``, 1 ``*/*``, 0 not at all."""
        t, _, s = media_type.partition("/")
        if self.type == "*":
            return 1
        if self.type != t:
            return 0
        if self.subtype == "*":
            return 2
        return 3 if self.subtype == s else 0


@lru_cache(maxsize=512)
def parse_accept(header: str | None) -> tuple[MediaRange, ...]:
    """The media ranges of an ``Accept`` header (malformed parts are skipped; a bad q counts as 1).

    >>> [(r.type, r.subtype, r.q) for r in parse_accept("text/html, application/xml;q=0.9, */*;q=0.8")]
    [('text', 'html', 1.0), ('application', 'xml', 0.9), ('*', '*', 0.8)]
    """
    if header is None or not header.strip():
        return (MediaRange("*", "*", 1.0, 0),)
    ranges = []
    for order, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if media == "*":
            media = "*/*"
        t, slash, s = media.partition("/")
        if not slash or not t or not s or (t == "*" and s != "*"):
            continue
        q = 1.0
        for param in fields[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 1.0
        ranges.append(MediaRange(t, s, q, order))
    return tuple(ranges)


def quality(ranges: Sequence[MediaRange], media_type: str) -> tuple[float, int, int]:
    """(q, specificity, -order) of the most specific range matching ``media_type``; q 0 if none."""
    best: MediaRange | None = None
    best_spec = 0
    for r in ranges:
        spec = r.specificity(media_type)
        if spec > best_spec or (spec == best_spec and spec and best is not None and r.q > best.q):
            best, best_spec = r, spec
    if best is None:
        return (0.0, 0, 0)
    return (best.q, best_spec, -best.order)


def negotiate(accept: str | None, offers: Sequence[tuple[str, T]]) -> T | None:
    """The offered value the client prefers, or None if it accepts none of them.

    ``offers`` are ``(media type, value)`` pairs in the server's order of preference; several
    media types may carry the same value (aliases such as ``application/json``).
    """
    ranges = parse_accept(accept)
    best: tuple[float, int, int, int] | None = None
    chosen: T | None = None
    for position, (media_type, value) in enumerate(offers):
        q, spec, order = quality(ranges, media_type.lower())
        if q <= 0:
            continue
        rank = (q, spec, order, -position)
        if best is None or rank > best:
            best, chosen = rank, value
    return chosen


#: SELECT/ASK answers, in our order of preference (JSON first); aliases map to a format name
RESULT_OFFERS: tuple[tuple[str, str], ...] = (
    ("application/sparql-results+json", "json"),
    ("application/sparql-results+xml", "xml"),
    ("text/csv", "csv"),
    ("text/tab-separated-values", "tsv"),
    ("application/json", "json"),
    ("application/xml", "xml"),
    ("text/xml", "xml"),
)
#: CONSTRUCT/DESCRIBE answers and RDF documents (Turtle first)
GRAPH_OFFERS: tuple[tuple[str, str], ...] = (
    ("text/turtle", "ttl"),
    ("application/n-triples", "nt"),
    ("application/ld+json", "jsonld"),
    ("application/rdf+xml", "rdfxml"),
    ("application/trig", "trig"),
    ("application/n-quads", "nq"),
    ("application/x-turtle", "ttl"),
    ("application/turtle", "ttl"),
    ("text/n3", "ttl"),
    ("text/plain", "nt"),
    ("application/json", "jsonld"),
    ("application/xml", "rdfxml"),
    ("text/xml", "rdfxml"),
)
assert all(name in FORMATS for _, name in RESULT_OFFERS + GRAPH_OFFERS)


def wants(accept: str | None, media_type: str, *, over: Sequence[str] = ()) -> bool:
    """True if the client names ``media_type`` explicitly and prefers it to each of ``over``.

    Used for HTML: a browser names ``text/html``; ``*/*`` alone does not ask for a page.
    """
    ranges = parse_accept(accept)
    q, spec, order = quality(ranges, media_type)
    if q <= 0 or spec < 3:
        return False
    return all((q, spec, order) >= quality(ranges, other) for other in over)
