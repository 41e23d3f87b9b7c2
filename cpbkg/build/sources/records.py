"""Reading the project's curated YAML data files with file and line kept for errors.

Every mapping read from YAML is a :class:`Record`: a dict that also knows the file
and line it came from, so a missing or malformed field is reported as
``data/plan/implementation-plan.yaml:120 [goals.A.3.en]: missing``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from cpbkg.errors import SourceError, read_text


class Record(dict[str, Any]):
    """A YAML mapping that remembers where it was read from."""

    path: Path
    line: int

    def need(self, key: str, *, where: str = "") -> Any:
        """The value of a required field; a SourceError naming file, line and field if absent."""
        value = self.get(key)
        if value is None or value == "":
            raise self.error(f"required field {key!r} is missing or empty", field=f"{where}{key}")
        return value

    def text(self, key: str, *, where: str = "") -> str:
        """A required string field."""
        value = self.need(key, where=where)
        if not isinstance(value, (str, int, float)):
            raise self.error(f"field {key!r} must be text, not {type(value).__name__}", field=f"{where}{key}")
        return str(value).strip()

    def items_of(self, key: str) -> list[Record]:
        """A list-of-mappings field ([] if absent)."""
        value = self.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, Record) for v in value):
            raise self.error(f"field {key!r} must be a list of mappings", field=key)
        return value

    def error(self, message: str, *, field: str | None = None) -> SourceError:
        return SourceError(self.path, message, line=self.line, field=field)


def _loader_for(path: Path) -> type[yaml.SafeLoader]:
    class RecordLoader(yaml.SafeLoader):
        pass

    def construct_record(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Record:
        record = Record(loader.construct_mapping(node, deep=True))
        record.path = path
        record.line = node.start_mark.line + 1
        return record

    RecordLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_record)
    # dates stay text: "2022-12-07" is a code in our data, not a datetime
    RecordLoader.yaml_implicit_resolvers = {
        k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return RecordLoader


def read_records(path: Path) -> Record:
    """Read a YAML data file whose top level is a mapping.

    Raises:
        SourceError: the file is missing, not UTF-8, not YAML, or not a mapping.
    """
    text = read_text(path)
    if not text.strip():
        raise SourceError(path, "file is empty")
    try:
        data = yaml.load(text, Loader=_loader_for(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        raise SourceError(path, f"YAML syntax error: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow (ReaderError)
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raise SourceError(path, f"YAML error: {' '.join(str(exc).split())[:200]}", line=line) from exc
    if not isinstance(data, Record):
        raise SourceError(path, "top level must be a mapping", line=1)
    return data
