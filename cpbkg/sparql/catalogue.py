"""The catalogue of named queries: one SPARQL file per query in ``queries/``.

Each file starts with a comment header (see ``queries/README.md``)::

    # title: Plan elements contributing to a GBF target
    # title-zh: 有助于实现某一全球生物多样性框架行动目标的执行计划要素
    # description: Which goals, objectives and indicators ... contribute to a given GBF target ...
    # description-zh: 执行计划的哪些长期目标、目的和指标有助于实现某一行动目标……
    # param: target | GBF target | <https://w3id.org/cpbkg/id/gbf/target/17> | cpb:GBFTarget
    # tags: linkage, gbf

``title`` and ``description`` are English, ``title-zh`` and ``description-zh`` (optional) Chinese.
A param's fourth field (optional) is its type: the classes (CURIEs of :data:`TYPE_PREFIXES` or
``<IRI>``s, space-separated) of the resources an IRI parameter stands for, or ``code`` (a code,
written with or without the name of its kind: "Goal B.3" is "B.3") or ``language`` ("Chinese",
"中文", "zh-CN" are "zh") for a literal one. A typed parameter takes what people type: an IRI
parameter a code, a name or an IRI ("17", "Target 17", "B.3", "CHN", "Art. 26"), which a tool
resolves to the resource by looking it up in the store (:meth:`NamedQuery.bind` with a
``resolve`` function; :mod:`cpbkg.web.routes.queries` passes one).

and is valid SPARQL 1.1 that runs as it is. A parameter is a variable that the query
projects in its SELECT clause and reads through ``COALESCE``, so the default written in
the file applies only when no value is bound::

    SELECT ?target ... WHERE {
      BIND(COALESCE(?target, <https://w3id.org/cpbkg/id/gbf/target/17>) AS ?targetValue)
      ...

A tool binds a value with pyoxigraph's ``substitutions`` (an initial binding of the
variable, never text pasted into the query): :meth:`NamedQuery.bind` turns a user's
strings into such terms, refusing anything that is not an absolute http(s) IRI for an
IRI parameter (unless a ``resolve`` function finds the resource a code names).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pyoxigraph as ox

from cpbkg.errors import SourceError, not_utf8
from cpbkg.vocab import ONTOLOGY_IRI

Term = Union[ox.NamedNode, ox.Literal]  # noqa: UP007 (a runtime alias)

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^#\s*(title|title-zh|description|description-zh|param|tags)\s*:\s*(.*?)\s*$")
#: an absolute http(s) IRI with none of the characters SPARQL forbids inside <...>
_HTTP_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_PLAIN_LITERAL = re.compile(r'^"([^"\\\r\n]*)"$')
#: a user's literal value: any text without control characters, up to this length
MAX_LITERAL = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: the prefixes a param's type may be written with
TYPE_PREFIXES = {
    "cpb": ONTOLOGY_IRI + "#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "qb": "http://purl.org/linked-data/cube#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "prov": "http://www.w3.org/ns/prov#",
}
#: the types of a literal parameter
LITERAL_TYPES = ("code", "language")


@dataclass(frozen=True)
class Param:
    """A parameter of a named query: a variable with a default term, and optionally its type
    (classes as full IRIs for an IRI parameter, ``("code",)`` or ``("language",)`` for a literal one)."""

    name: str
    description: str
    default: Term
    type: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """``"iri"`` or ``"literal"``: what a bound value must be."""
        return "iri" if isinstance(self.default, ox.NamedNode) else "literal"

    @property
    def default_sparql(self) -> str:
        """The default as written in SPARQL (``<iri>`` or ``"text"``)."""
        if isinstance(self.default, ox.NamedNode):
            return f"<{self.default.value}>"
        return f'"{self.default.value}"'

    @property
    def classes(self) -> list[str]:
        """The classes of the resources an IRI parameter stands for (empty: any IRI, given as an IRI)."""
        return [t for t in self.type if t not in LITERAL_TYPES]

    def looks_like_iri(self, value: str) -> bool:
        """The value is written as an IRI (``<...>`` or ``http(s)://...``), not as a code to look up."""
        text = value.strip()
        return text.startswith("<") or bool(re.match(r"^https?://", text, re.IGNORECASE))

    def parse(self, value: str) -> Term:
        """A user's string as a term of this parameter's kind.

        >>> p = Param("target", "GBF target", ox.NamedNode("https://w3id.org/cpbkg/id/gbf/target/17"))
        >>> p.parse("<https://w3id.org/cpbkg/id/gbf/target/20>").value
        'https://w3id.org/cpbkg/id/gbf/target/20'
        >>> p.parse("https://x.org/a> . ?s ?p <x")
        Traceback (most recent call last):
        ...
        ValueError: parameter 'target' must be an absolute http(s) IRI, not 'https://x.org/a> . ?s ?p <x'

        Raises:
            ValueError: naming the parameter, for anything that is not a value of its kind.
        """
        if not isinstance(value, str):
            raise ValueError(f"parameter {self.name!r} must be given as text, not {type(value).__name__}")
        if self.kind == "iri":
            iri = value.strip()
            if iri.startswith("<") and iri.endswith(">"):
                iri = iri[1:-1]
            if not _HTTP_IRI.match(iri):
                raise ValueError(f"parameter {self.name!r} must be an absolute http(s) IRI, not {value!r}")
            try:
                return ox.NamedNode(iri)
            except ValueError as exc:
                raise ValueError(f"parameter {self.name!r} is not a valid IRI: {exc}") from exc
        if len(value) > MAX_LITERAL:
            raise ValueError(f"parameter {self.name!r} is longer than {MAX_LITERAL} characters")
        if _CONTROL.search(value):
            raise ValueError(f"parameter {self.name!r} contains control characters")
        return ox.Literal(value)


@dataclass(frozen=True)
class NamedQuery:
    """One query of the catalogue."""

    name: str
    title: str
    description: str
    params: list[Param]
    tags: list[str]
    text: str
    path: Path | None = field(default=None, compare=False)
    #: the Chinese title and description ('' when the file gives none)
    title_zh: str = ""
    description_zh: str = ""

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (zh or en), English when the file has none in Chinese."""
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    def description_in(self, lang: str) -> str:
        return self.description_zh if lang == "zh" and self.description_zh else self.description

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def bind(self, values: Mapping[str, str] | None, *, resolve: Resolver | None = None,
             defaults: bool = False) -> dict[ox.Variable, Term]:
        """pyoxigraph ``substitutions`` for the values a user gave, by parameter name.

        Parameters the user leaves out (or gives as an empty string) are not bound: the
        query's ``COALESCE`` then applies the default written in the file -- unless ``defaults``,
        which binds the default itself (so that the answer's parameter column says what was used).
        ``resolve(param, value)``, for a typed parameter, turns what a user typed (a code, a
        name) into the term it stands for; it raises ValueError when it finds none. Without it,
        or for an untyped parameter, an IRI parameter takes only an IRI.

        >>> q = NamedQuery("q", "t", "d", [Param("code", "code", ox.Literal("A.5"))], [], "SELECT ?code {}")
        >>> q.bind({"code": "B.1"})
        {<Variable value=code>: <Literal value=B.1 datatype=<NamedNode value=http://www.w3.org/2001/XMLSchema#string>>}
        >>> q.bind({})
        {}

        Raises:
            ValueError: an unknown parameter, or a value that is not of its parameter's kind.
        """
        values = dict(values or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"query {self.name!r} has no parameter {', '.join(map(repr, unknown))}"
                             f" (it takes {', '.join(sorted(known)) or 'none'})")
        bound: dict[ox.Variable, Term] = {}
        for p in self.params:
            value = values.get(p.name)
            if value is None or value == "":
                if defaults:
                    bound[ox.Variable(p.name)] = p.default
                continue
            if resolve is not None and p.type and isinstance(value, str) and not (
                    p.kind == "iri" and p.looks_like_iri(value)):
                if len(value) > MAX_LITERAL:
                    raise ValueError(f"parameter {p.name!r} is longer than {MAX_LITERAL} characters")
                if _CONTROL.search(value):
                    raise ValueError(f"parameter {p.name!r} contains control characters")
                try:
                    bound[ox.Variable(p.name)] = resolve(p, value)
                except ValueError as exc:
                    raise ValueError(f"parameter {p.name!r}: {exc}") from None
                continue
            bound[ox.Variable(p.name)] = p.parse(value)
        return bound

    def run(self, store: ox.Store, values: Mapping[str, str] | None = None, **options: object) -> object:
        """Run on a store over the union of its graphs, with the given parameter values."""
        options.setdefault("use_default_graph_as_union", True)
        return store.query(self.text, substitutions=self.bind(values), **options)  # type: ignore[arg-type]


#: turns what a user typed for a typed parameter into its term (raises ValueError when it names nothing)
Resolver = Callable[[Param, str], Term]


def parse_type(spec: str, path: Path, line: int) -> tuple[str, ...]:
    """The type field of a param line: classes (``cpb:Goal``, ``<https://...>``) or a literal type.

    Raises:
        SourceError: an unknown prefix or a malformed class.
    """
    out: list[str] = []
    for token in spec.split():
        if token in LITERAL_TYPES:
            out.append(token)
        elif token.startswith("<") and token.endswith(">") and _HTTP_IRI.match(token[1:-1]):
            out.append(token[1:-1])
        elif ":" in token and token.split(":", 1)[0] in TYPE_PREFIXES and re.fullmatch(r"\w+:\w+", token):
            prefix, local = token.split(":", 1)
            out.append(TYPE_PREFIXES[prefix] + local)
        else:
            raise SourceError(path, f"param type {token!r} is not a class (prefix:Name or <IRI>, prefixes "
                                    f"{', '.join(TYPE_PREFIXES)}) nor one of {', '.join(LITERAL_TYPES)}",
                              line=line, field="param")
    return tuple(out)


def parse_param(spec: str, path: Path, line: int) -> Param:
    """A ``# param: name | description | default [| type]`` line.

    Raises:
        SourceError: naming file and line, for a malformed line.
    """
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) not in (3, 4):
        raise SourceError(path, "a param line is 'name | description | default' (then '| type', optionally)",
                          line=line, field="param")
    name, description, default = parts[:3]
    kinds = parse_type(parts[3], path, line) if len(parts) == 4 else ()
    name = name.lstrip("?")
    if not _VARIABLE.match(name):
        raise SourceError(path, f"param name {name!r} is not a SPARQL variable name", line=line, field="param")
    if not description:
        raise SourceError(path, f"param {name!r} has no description", line=line, field="param")
    term: Term
    if default.startswith("<") and default.endswith(">") and _HTTP_IRI.match(default[1:-1]):
        term = ox.NamedNode(default[1:-1])
    elif match := _PLAIN_LITERAL.match(default):
        term = ox.Literal(match.group(1))
    else:
        raise SourceError(path, f"param {name!r}: the default must be an http(s) IRI in <...> or a plain "
                                f'literal in "...", not {default!r}', line=line, field="param")
    if kinds and (isinstance(term, ox.NamedNode) == any(k in LITERAL_TYPES for k in kinds)
                  or (len(kinds) > 1 and any(k in LITERAL_TYPES for k in kinds))):
        raise SourceError(path, f"param {name!r}: an IRI parameter's type is classes, a literal one's "
                                f"one of {', '.join(LITERAL_TYPES)}", line=line, field="param")
    return Param(name, description, term, kinds)


def parse_query(path: Path) -> NamedQuery:
    """Read one ``.rq`` file of the catalogue.

    Raises:
        SourceError: naming file and line, for a bad name, a missing title or description,
            a bad or duplicate param line, or a param the query does not read as the
            convention says (projected in SELECT, defaulted through COALESCE).
    """
    name = path.stem
    if not _NAME.match(name):
        raise SourceError(path, f"query file names are kebab-case (a-z, 0-9, '-'), not {name!r}", line=1)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    header: dict[str, tuple[str, int]] = {}
    params: list[tuple[Param, int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("#"):
            break
        match = _HEADER.match(line)
        if not match:
            continue
        key, value = match.groups()
        if key == "param":
            param = parse_param(value, path, number)
            if any(p.name == param.name for p, _ in params):
                raise SourceError(path, f"param {param.name!r} is declared twice", line=number, field="param")
            params.append((param, number))
        elif key in header:
            raise SourceError(path, f"'# {key}:' is given twice", line=number, field=key)
        else:
            header[key] = (value, number)
    for key in ("title", "description"):
        if not header.get(key, ("", 0))[0]:
            raise SourceError(path, f"missing '# {key}:' line in the header", line=1, field=key)
    if not re.search(r"^\s*(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", text, re.IGNORECASE | re.MULTILINE):
        raise SourceError(path, "no SELECT, ASK, CONSTRUCT or DESCRIBE query after the header", line=1)
    projection = _projection(text)
    for param, number in params:
        if projection is not None and not re.search(rf"\?{param.name}\b", projection):
            raise SourceError(path, f"param {param.name!r}: the query must project ?{param.name} in its SELECT "
                                    "clause so that it can be bound", line=number, field="param")
        expected = f"COALESCE(?{param.name}, {param.default_sparql})"
        if expected not in text:
            raise SourceError(path, f"param {param.name!r}: the query must read it as {expected}, with the "
                                    "default of the header", line=number, field="param")
    tags = [t.strip() for t in header.get("tags", ("", 0))[0].split(",") if t.strip()]
    return NamedQuery(name=name, title=header["title"][0], description=header["description"][0],
                      params=[p for p, _ in params], tags=tags, text=text, path=path,
                      title_zh=header.get("title-zh", ("", 0))[0],
                      description_zh=header.get("description-zh", ("", 0))[0])


def _projection(text: str) -> str | None:
    """The text between the first SELECT and its WHERE (None for other query forms)."""
    match = re.search(r"^\s*SELECT\b(.*?)\bWHERE\b", text, re.IGNORECASE | re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


def load_catalogue(directory: Path) -> dict[str, NamedQuery]:
    """Every ``*.rq`` file of a directory, by name, in name order.

    Raises:
        SourceError: the directory is missing, or a file is broken (file, line).
    """
    if not directory.is_dir():
        raise SourceError(directory, "the queries directory does not exist")
    return {q.name: q for q in (parse_query(p) for p in sorted(directory.glob("*.rq")))}
