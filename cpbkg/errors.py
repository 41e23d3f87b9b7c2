"""The exception tree of CPB-KG, mapped to exit codes and HTTP statuses in one place.

    CpbkgError                 exit 2
    ├── SourceError            a source or data file is broken (file, line, field)
    ├── CountDriftError        the Plan's element counts differ from the official text
    ├── ValidationFailed       SHACL violations                              exit 1
    ├── InconsistentOntology   the OWL reasoner found a contradiction
    ├── StoreError             the store is missing or corrupt
    └── QueryError             a query the endpoint will not run             HTTP 400
        ├── QueryRefused       update, LOAD, SERVICE, remote FROM            HTTP 400
        ├── QueryTimeout       ran longer than the timeout                   HTTP 503
        └── ResultTooLarge     more results than the cap                     HTTP 400
"""

from __future__ import annotations

from pathlib import Path


class CpbkgError(Exception):
    """Base of every error CPB-KG raises on purpose."""

    exit_code = 2


class SourceError(CpbkgError):
    """A source or data file is broken; says which file, line and field."""

    def __init__(self, path: Path | str, message: str, *, line: int | None = None, field: str | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.field = field
        where = str(path) + (f":{line}" if line is not None else "")
        what = f" [{field}]" if field else ""
        super().__init__(f"{where}{what}: {message}")


class CountDriftError(CpbkgError):
    """The number of Plan elements no longer matches the official text."""


class ValidationFailed(CpbkgError):
    """The data does not conform to the SHACL shapes."""

    exit_code = 1


class InconsistentOntology(CpbkgError):
    """The OWL reasoner found the ontology plus data inconsistent."""


class StoreError(CpbkgError):
    """The store is missing, corrupt or cannot be loaded."""


class QueryError(CpbkgError):
    """A query the endpoint cannot or will not run."""

    http_status = 400


class QueryRefused(QueryError):
    """Updates, LOAD, SERVICE and remote FROM are refused on the public endpoint."""

    http_status = 400


class QueryTimeout(QueryError):
    """The query ran past the configured timeout and was stopped."""

    http_status = 503


class ResultTooLarge(QueryError):
    """The query would return more than the configured result cap."""

    http_status = 400
