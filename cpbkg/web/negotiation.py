"""HTTP content negotiation (RFC 9110 §12.5): the one reading of ``Accept``, ``Accept-Language``
and ``Accept-Encoding``.

Every route that chooses a representation chooses here: ``/sparql`` (answers and the service
description), ``/id/…``, ``/graph/…``, ``/dataset``, ``/resource`` and ``/ontology``,
``/queries/`` and ``/queries/{name}``, ``/dumps/`` and ``/.well-known/void``, the language of
every page (:func:`pick_language`) and whether ``/sparql`` gzips (:func:`accepts_coding`). What
each offers comes from the format registry, :mod:`cpbkg.formats`. A ``format=`` value
names a format of the registry by name or media type and overrides ``Accept`` (:func:`choose`).

**Reading a header.** A header is a list of ranges separated by commas (commas inside quoted
strings do not separate). Only its first :data:`MAX_HEADER` characters are read (a range cut by
that limit is dropped) and of those the first :data:`MAX_RANGES` list elements. Each range is
valid or ignored on its own:

* ``Accept``: ``type/subtype``, ``type/*`` or ``*/*`` (RFC 9110 tokens, any case), then
  parameters ``;name=value`` (a token or a quoted string; empty ones are allowed);
* ``Accept-Language``: a language range -- ``zh``, ``zh-CN``, ``zh-Hant``, ``*``: letters, then
  subtags of letters and digits, 8 characters at most each -- then parameters in the same form;
* ``Accept-Encoding``: a coding (a token: ``gzip``, ``*``), then parameters in the same form;
* ``q`` must be a qvalue: ``0`` to ``1`` with at most three decimals (``0.5``, ``1.000``).
  **A range with any other q -- ``q=abc``, ``q=2``, ``q=-1``, ``q=0.1234``, ``q=.5`` -- is
  ignored**, as is one of any other syntax (``text``, ``*/html``, ``text/html;x``, ``zh_CN``);
* parameters other than ``q`` (``charset``, ``profile``, ``level``) do not change what a range
  matches: every format is served in one variant, in UTF-8.

A header in which no range is valid -- empty, garbage, nothing but bad q-values -- counts as
absent: ``Accept: */*``, the default language, no content coding.

**Choosing.** Each offered media type gets the q of the most specific valid range matching it
(``text/turtle`` over ``text/*`` over ``*/*``; of equally specific ranges, duplicates, the
highest q); ``q=0`` excludes it. The highest q wins; between equals the more specific match,
then the range the client listed first, then the server's order of offers. None acceptable:
the route answers 406. Media-type aliases (``application/json`` for SPARQL JSON, ``text/plain``
for N-Triples) are matched only by a range that names them, never by a wildcard; so is HTML on
``/sparql``: a browser names ``text/html``, a client sending ``*/*`` wants data.

A page language gets the highest q of the ranges whose primary subtag is its own (``zh-CN``,
``zh-Hant`` and ``zh`` all ask for ``zh``, the site's Chinese), else the q of ``*``; ties are
broken as above. None acceptable: the default language (a page is never refused for its
language). A content coding is used when its q, by the same rule, is above 0.

**Bounded work.** An attacker controls these headers: parsing reads at most :data:`MAX_HEADER`
characters, and the parsed ranges are cached for headers of at most :data:`CACHE_KEY_MAX`
characters only, :data:`CACHE_SIZE` of them (:class:`ShortKeyCache`).

>>> offers = offers_for(RESULTS)
>>> negotiate("application/sparql-results+xml;q=0.5, application/sparql-results+json;q=0.9", offers)
'json'
>>> negotiate("*/*;q=0.1, application/sparql-results+xml", offers)
'xml'
>>> negotiate("application/sparql-results+xml;q=2, text/csv;q=0.5", offers)  # the bad range is ignored
'csv'
>>> negotiate("text/csv;q=abc", offers)  # nothing valid: as if absent
'json'
>>> negotiate("image/png", offers) is None
True
>>> pick_language(None, "en-GB;q=0.5, zh;q=0.9", available=("en", "zh"), default="en")
'zh'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, update_wrapper
from itertools import islice
from typing import Any, Generic, TypeVar

from cpbkg.errors import NotAcceptable
from cpbkg.formats import GRAPHS, HTML, JSON, RESULTS, Format, lookup

T = TypeVar("T")
R = TypeVar("R")

#: characters of a header that are read at most
MAX_HEADER = 4096
#: list elements of a header that are read at most
MAX_RANGES = 64
#: headers up to this length have their parsed ranges cached ...
CACHE_KEY_MAX = 512
#: ... this many of them
CACHE_SIZE = 256

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PARAMETER = re.compile(r"""([!#$%&'*+\-.^_`|~0-9A-Za-z]+)=([!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[^"\\]|\\.)*")""")
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*")
_OWS = " \t"


@dataclass(frozen=True)
class Range:
    """One valid range of a header: a media range (``text/*``) or a language range (``zh-cn``)."""

    #: lower case
    value: str
    q: float
    #: position in the header (earlier = preferred among equals)
    order: int


class ShortKeyCache(Generic[R]):
    """``fn(header)`` with its answers kept for short headers only: at most :data:`CACHE_SIZE`
    headers of at most :data:`CACHE_KEY_MAX` characters, so a client sending long headers
    neither fills memory nor evicts everyone else's entries; longer ones are computed each time."""

    def __init__(self, fn: Callable[[str | None], R]) -> None:
        self._fn = fn
        self._cached = lru_cache(maxsize=CACHE_SIZE)(fn)
        update_wrapper(self, fn)

    def __call__(self, header: str | None) -> R:
        if header is not None and len(header) > CACHE_KEY_MAX:
            return self._fn(header)
        return self._cached(header)

    def cache_info(self) -> Any:
        return self._cached.cache_info()


def _split(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside quoted strings."""
    if '"' not in text:
        return text.split(separator)
    parts, start, quoted, escaped = [], 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _q(parameters: Iterable[str]) -> float | None:
    """The q of a range's parameters (1 without one), or None if a parameter is not valid."""
    q = 1.0
    for parameter in parameters:
        parameter = parameter.strip(_OWS)
        if not parameter:
            continue
        found = _PARAMETER.fullmatch(parameter)
        if found is None:
            return None
        if found.group(1).lower() == "q":
            if not _QVALUE.fullmatch(found.group(2)):
                return None
            q = float(found.group(2))
    return q


def _parse(header: str, valid: Callable[[str], bool]) -> tuple[Range, ...]:
    """The valid ranges of a header (see the module docstring), ``valid`` saying which range values are."""
    if len(header) > MAX_HEADER:
        header = header[:MAX_HEADER].rpartition(",")[0]  # the range the limit cuts in two is not read
    ranges = []
    for order, element in enumerate(islice(_split(header, ","), MAX_RANGES)):
        value, *parameters = _split(element, ";")
        value = value.strip(_OWS)
        q = _q(parameters)
        if q is not None and valid(value):
            ranges.append(Range(value.lower(), q, order))
    return tuple(ranges)


def _media_range(value: str) -> bool:
    kind, slash, subtype = value.partition("/")
    return (bool(slash) and _TOKEN.fullmatch(kind) is not None and _TOKEN.fullmatch(subtype) is not None
            and (kind != "*" or subtype == "*"))


_ANY = (Range("*/*", 1.0, 0),)


@ShortKeyCache
def parse_accept(header: str | None) -> tuple[Range, ...]:
    """The valid media ranges of an ``Accept`` header; ``*/*`` when it is absent or has none.

    >>> [(r.value, r.q) for r in parse_accept("text/html, application/xml;q=0.9, */*;q=0.8")]
    [('text/html', 1.0), ('application/xml', 0.9), ('*/*', 0.8)]
    >>> [(r.value, r.q) for r in parse_accept('Text/Turtle;q=abc, a/b;x="1,2";q=0.5, */html, text/*;q=0')]
    [('a/b', 0.5), ('text/*', 0.0)]
    >>> parse_accept(";;;q=abc,,") == parse_accept(None) == parse_accept("")
    True
    """
    return (_parse(header, _media_range) or _ANY) if header else _ANY


@ShortKeyCache
def parse_accept_language(header: str | None) -> tuple[Range, ...]:
    """The valid language ranges of an ``Accept-Language`` header (none when absent).

    >>> [(r.value, r.q) for r in parse_accept_language("zh-CN, zh;q=0.9, en;q=abc, fr_FR, *;q=0.1")]
    [('zh-cn', 1.0), ('zh', 0.9), ('*', 0.1)]
    """
    return _parse(header, lambda value: _LANGUAGE.fullmatch(value) is not None) if header else ()


@ShortKeyCache
def parse_accept_encoding(header: str | None) -> tuple[Range, ...]:
    """The valid content-coding ranges of an ``Accept-Encoding`` header (none when absent).

    >>> [(r.value, r.q) for r in parse_accept_encoding("gzip;q=nan, br, *;q=0.1")]
    [('br', 1.0), ('*', 0.1)]
    """
    return _parse(header, lambda value: _TOKEN.fullmatch(value) is not None) if header else ()


def _media_specificity(pattern: str, media_type: str) -> int:
    """How specifically a range matches ``type/subtype``: 3 exact, 2 ``type/*``, 1 ``*/*``, 0 not at all."""
    if pattern == media_type:
        return 3
    if pattern == "*/*":
        return 1
    if pattern.endswith("/*") and media_type.startswith(pattern[:-1]):
        return 2
    return 0


def _language_specificity(pattern: str, language: str) -> int:
    """2 when a range has the language's primary subtag (``zh-cn`` for ``zh``), 1 for ``*``, else 0."""
    if pattern == "*":
        return 1
    return 2 if pattern.partition("-")[0] == language.partition("-")[0] else 0


def _choose(ranges: Sequence[Range], candidates: Iterable[tuple[str, T, int]],
            specificity: Callable[[str, str], int]) -> T | None:
    """The value of the candidate the ranges prefer (the rule of the module docstring), or None.

    ``candidates``: (media type or language, value, least specificity that counts), in the server's order.
    """
    best: tuple[float, int, int, int] | None = None
    chosen: T | None = None
    for position, (name, value, least) in enumerate(candidates):
        q, spec, order = 0.0, 0, 0
        for r in ranges:
            s = specificity(r.value, name)
            if s and (s, r.q) > (spec, q):
                q, spec, order = r.q, s, -r.order
        if q <= 0 or spec < least:
            continue
        rank = (q, spec, order, -position)
        if best is None or rank > best:
            best, chosen = rank, value
    return chosen


@dataclass(frozen=True)
class Offer(Generic[T]):
    """A media type a route can answer with, and what it means to the route."""

    media_type: str
    value: T
    #: matched only by a range naming it, never by a wildcard (aliases; HTML on /sparql)
    named_only: bool = False


def offers_for(formats: Iterable[Format], *, named_only: bool = False) -> tuple[Offer[str], ...]:
    """The offers of ``formats`` (valued by format name): their media types in that order, then their aliases.

    >>> [(o.media_type, o.value, o.named_only) for o in offers_for([HTML])]
    [('text/html', 'html', False), ('application/xhtml+xml', 'html', True)]
    """
    formats = tuple(formats)
    own = [Offer(f.media_type, f.name, named_only) for f in formats]
    return tuple(own + [Offer(alias, f.name, True) for f in formats for alias in f.aliases])


def negotiate(accept: str | None, offers: Sequence[Offer[T]]) -> T | None:
    """The value of the offer the client prefers, or None if it accepts none of them.

    ``offers`` are in the server's order of preference; several may carry the same value.
    """
    return _choose(parse_accept(accept),
                   ((o.media_type.lower(), o.value, 3 if o.named_only else 1) for o in offers), _media_specificity)


def wants(accept: str | None, media_type: str, *, over: Sequence[str] = ()) -> bool:
    """True if the client names ``media_type`` and prefers it to each of ``over``.

    >>> wants("text/html,*/*;q=0.8", "text/html", over=["text/turtle"]), wants("*/*", "text/html")
    (True, False)
    """
    return negotiate(accept, [Offer(media_type, True, named_only=True), *(Offer(m, False) for m in over)]) is True


def _coding_specificity(pattern: str, coding: str) -> int:
    """2 when a range names the coding, 1 for ``*``, else 0."""
    return 2 if pattern == coding else int(pattern == "*")


def accepts_coding(header: str | None, coding: str, *, aliases: Sequence[str] = ()) -> bool:
    """True if an ``Accept-Encoding`` header accepts ``coding``: named, or by ``*``, with q above 0;
    ``aliases`` (``x-gzip``) count only when named. Without the header (or a valid range in it) the
    answer is not encoded.

    >>> [accepts_coding(h, "gzip", aliases=["x-gzip"])
    ...  for h in ("gzip", "gzip;q=0", "gzip;q=abc", "*", None, "br, x-gzip", "*, gzip;q=0")]
    [True, False, False, True, False, True, False]
    """
    candidates = [(coding, True, 1), *((alias, True, 2) for alias in aliases)]
    return _choose(parse_accept_encoding(header), candidates, _coding_specificity) is True


def negotiate_language(header: str | None, available: Sequence[str]) -> str | None:
    """The one of ``available`` (language tags, in the server's order) that an ``Accept-Language``
    header prefers, or None."""
    return _choose(parse_accept_language(header), ((lang.lower(), lang, 1) for lang in available),
                   _language_specificity)


def pick_language(param: str | None, header: str | None, *, available: Sequence[str], default: str) -> str:
    """The language of a page: ``param`` (``?lang=``) if it is one of ``available``, else the best
    of them for ``Accept-Language``, else ``default``.

    >>> [pick_language(p, h, available=("en", "zh"), default="en") for p, h in
    ...  [(None, "zh-Hant"), ("en", "zh"), (None, "zh;q=abc"), (None, "*"), (None, "fr, zh;q=0.1"), ("xx", None)]]
    ['zh', 'en', 'en', 'en', 'zh', 'en']
    """
    if param is not None and param in available:
        return param
    return negotiate_language(header, available) or default


# --------------------------------------------------------------------------- the offers of the routes

#: SELECT/ASK answers (JSON first), then the aliases
RESULT_OFFERS = offers_for(RESULTS)
#: CONSTRUCT/DESCRIBE answers and RDF documents (Turtle first), then the aliases
GRAPH_OFFERS = offers_for(GRAPHS)
#: HTML where a client must name it (/sparql's answers and service description)
PAGE_OFFERS = offers_for([HTML], named_only=True)
#: the listings of /dumps/ and /queries/
LISTINGS = (JSON, HTML)


def _or(words: Iterable[str]) -> str:
    *rest, last = list(dict.fromkeys(words))
    return f"{', '.join(rest)} or {last}" if rest else last


def choose(accept: str | None, requested: Sequence[str], formats: Sequence[Format], *, what: str,
           offers: Sequence[Offer[str]] | None = None) -> str:
    """The format name of an answer: the first ``format=`` value (``requested``) that names one of
    ``formats``, else the one ``Accept`` prefers of ``offers`` (by default those of ``formats``).

    Raises:
        NotAcceptable: ``format=`` values none of which names one of ``formats`` (the message
            starts with ``what``), or an ``Accept`` header that allows none.

    >>> choose(None, [], LISTINGS, what="the listing"), choose("text/html", ["JSON"], LISTINGS, what="the listing")
    ('json', 'json')
    >>> choose(None, ["xml"], LISTINGS, what="the listing")
    Traceback (most recent call last):
    cpbkg.errors.NotAcceptable: the listing: format= json or html, not 'xml'
    """
    if requested:
        for value in requested:
            found = lookup(value, formats)
            if found is not None:
                return found.name
        raise NotAcceptable(f"{what}: format= {_or(f.name for f in formats)}, not {requested[0]!r}")
    chosen = negotiate(accept, offers if offers is not None else offers_for(formats))
    if chosen is None:
        raise NotAcceptable(f"{what}: it is given as {_or(f.media_type for f in formats)}, "
                            "and the Accept header allows none of them")
    return chosen
