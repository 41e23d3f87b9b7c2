"""An HTML page as the tests read it: tags with their attributes, visible text, scripts, nesting errors."""

from __future__ import annotations

from html.parser import HTMLParser


class Page(HTMLParser):
    """Tags (with attributes, in order), visible text, the text of each element with an id, nesting errors."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr",
            "circle", "line"})

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_parts: list[str] = []
        self.scripts: dict[str, str] = {}
        self.errors: list[str] = []
        self._stack: list[str] = []
        self._script_id: str | None = None
        self.feed(html)
        self.close()
        self.errors += [f"unclosed <{t}>" for t in self._stack]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if tag == "script":
            self._script_id = values.get("id", "")
            self.scripts.setdefault(self._script_id, "")
        if tag not in self.VOID:
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self._stack or self._stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self._stack[-1] if self._stack else None}>")
            return
        self._stack.pop()
        if tag == "script":
            self._script_id = None

    def handle_data(self, data: str) -> None:
        if self._script_id is not None:
            self.scripts[self._script_id] += data
        elif "style" not in self._stack:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for t, attrs in self.tags if t == tag]

    def hrefs(self) -> list[str]:
        return [a["href"] for a in self.all("a") if "href" in a]
