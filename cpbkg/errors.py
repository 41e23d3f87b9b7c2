"""The exception tree of CPB-KG, mapped to exit codes and HTTP statuses in one place.

    CpbkgError                 exit 2                                          HTTP 500
    ├── SourceError            a source or data file is broken (file, line, field)
    ├── CountDriftError        the Plan's element counts differ from the official text
    ├── ValidationFailed       SHACL violations                              exit 1
    ├── InconsistentOntology   the OWL reasoner found a contradiction
    ├── StoreError             the store is missing or corrupt                HTTP 503
    ├── RequestError           an HTTP request the server cannot take         HTTP 400
    │   ├── NotFound           no such named query, dump file, ...            HTTP 404
    │   ├── NotAcceptable      no format the client accepts                   HTTP 406
    │   ├── BodyTooLarge       a request body over Settings.max_body          HTTP 413
    │   └── UnsupportedMediaType  a POST body type the endpoint does not take HTTP 415
    └── QueryError             a query the endpoint will not run             HTTP 400
        ├── QuerySyntaxError   not SPARQL 1.1 (the message has line and column)  HTTP 400
        ├── QueryRefused       update, LOAD, SERVICE                         HTTP 400
        ├── BadParameter       a named query's parameter value is not valid  HTTP 400
        ├── QueryFailed        valid, but cannot be evaluated (e.g. an unknown function)  HTTP 422
        ├── ResultTooLarge     more results than the cap                     HTTP 422
        ├── QueryTimeout       ran longer than the timeout                   HTTP 503
        ├── ServerBusy         no query worker free within the timeout       HTTP 503
        └── WorkerCrashed      the worker running the query died             HTTP 503

:func:`http_status` and :func:`exit_code` are the only places that turn an error into a
status; the web layer and the CLI both use them.

Why 422 and not 400 for a query over the result cap or one that cannot be evaluated: the
SPARQL 1.1 Protocol (§2.1.7) keeps 400 for a *malformed* query, and clients (SPARQLWrapper's
``QueryBadFormed``, the W3C protocol tests) read 400 that way. Such a query is valid; the
server will not or cannot answer it as it is: "422 Unprocessable Content" (RFC 9110 §15.5.21).
"""

from __future__ import annotations

from pathlib import Path


class CpbkgError(Exception):
    """Base of every error CPB-KG raises on purpose."""

    exit_code = 2
    #: an error we did not expect from a request is ours: 500
    http_status = 500


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

    http_status = 503


class RequestError(CpbkgError):
    """An HTTP request the server cannot take as it is (the protocol was not followed)."""

    http_status = 400


class NotFound(RequestError):
    """No such named query, dump file or page."""

    http_status = 404


class NotAcceptable(RequestError):
    """None of the formats the client accepts (``Accept``, ``format=``) fits the answer."""

    http_status = 406


class BodyTooLarge(RequestError):
    """The request body is larger than ``Settings.max_body``."""

    http_status = 413


class UnsupportedMediaType(RequestError):
    """A POST body of a content type (or charset) the endpoint does not take."""

    http_status = 415


class QueryError(CpbkgError):
    """A query the endpoint cannot or will not run."""

    http_status = 400


class QuerySyntaxError(QueryError):
    """The text is not a SPARQL 1.1 query; the message says where (line, column)."""

    http_status = 400


class QueryRefused(QueryError):
    """Updates, LOAD and SERVICE are refused on the public endpoint."""

    http_status = 400


class BadParameter(QueryError):
    """A value given for a named query's parameter is not valid (the message names it)."""

    http_status = 400


class QueryTimeout(QueryError):
    """The query ran past the configured timeout and was stopped."""

    http_status = 503


class ServerBusy(QueryError):
    """Every query worker stayed busy for the whole timeout."""

    http_status = 503


class WorkerCrashed(QueryError):
    """The worker process running the query died (out of memory, killed)."""

    http_status = 503


class QueryFailed(QueryError):
    """A valid query the engine could not evaluate (an unsupported function, an evaluation error)."""

    http_status = 422


class ResultTooLarge(QueryError):
    """The query would return more than the configured result cap."""

    http_status = 422


def http_status(exc: BaseException) -> int:
    """The HTTP status for an error: its class's ``http_status``, 500 for anything else."""
    return int(getattr(exc, "http_status", 500)) if isinstance(exc, CpbkgError) else 500


def exit_code(exc: BaseException) -> int:
    """The CLI exit code for an error: its class's ``exit_code``, 2 for anything else."""
    return int(getattr(exc, "exit_code", 2)) if isinstance(exc, CpbkgError) else 2
