"""The catalogue of named queries: one SPARQL file per query in ``queries/``.

Each file starts with a comment header (see ``queries/README.md``)::

    # title: Plan elements contributing to a GBF target
    # description: Which goals, objectives and indicators ... contribute to a given GBF target ...
    # param: target | GBF target URI | <https://w3id.org/cpbkg/id/gbf/target/17>
    # tags: linkage, gbf

and is valid SPARQL 1.1 that runs as it is. A parameter is a variable that the query
projects in its SELECT clause and reads through ``COALESCE``, so the default written in
the file applies only when no value is bound::

    SELECT ?target ... WHERE {
      BIND(COALESCE(?target, <https://w3id.org/cpbkg/id/gbf/target/17>) AS ?targetValue)
      ...

A tool binds a value with pyoxigraph's ``substitutions`` (an initial binding of the
variable, never text pasted into the query): :meth:`NamedQuery.bind` turns a user's
strings into such terms, refusing anything that is not an absolute http(s) IRI for an
IRI parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import pyoxigraph as ox

from cpbkg.errors import SourceError, not_utf8

Term = Union[ox.NamedNode, ox.Literal]

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER = re.compile(r"^#\s*(title|description|param|tags)\s*:\s*(.*?)\s*$")
#: an absolute http(s) IRI with none of the characters SPARQL forbids inside <...>
_HTTP_IRI = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_PLAIN_LITERAL = re.compile(r'^"([^"\\\r\n]*)"$')
#: a user's literal value: any text without control characters, up to this length
MAX_LITERAL = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Param:
    """A parameter of a named query: a variable with a default term."""

    name: str
    description: str
    default: Term

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

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def bind(self, values: Mapping[str, str] | None) -> dict[ox.Variable, Term]:
        """pyoxigraph ``substitutions`` for the values a user gave, by parameter name.

        Parameters the user leaves out (or gives as an empty string) are not bound: the
        query's ``COALESCE`` then applies the default written in the file.

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
                continue
            bound[ox.Variable(p.name)] = p.parse(value)
        return bound

    def run(self, store: ox.Store, values: Mapping[str, str] | None = None, **options: object) -> object:
        """Run on a store over the union of its graphs, with the given parameter values."""
        options.setdefault("use_default_graph_as_union", True)
        return store.query(self.text, substitutions=self.bind(values), **options)  # type: ignore[arg-type]


def parse_param(spec: str, path: Path, line: int) -> Param:
    """A ``# param: name | description | default`` line.

    Raises:
        SourceError: naming file and line, for a malformed line.
    """
    parts = [p.strip() for p in spec.split("|")]
    if len(parts) != 3:
        raise SourceError(path, "a param line is 'name | description | default'", line=line, field="param")
    name, description, default = parts
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
    return Param(name, description, term)


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
                      params=[p for p, _ in params], tags=tags, text=text, path=path)


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
