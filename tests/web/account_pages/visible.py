"""The text a person sees on a page: no tags, attributes, scripts or styles."""

from __future__ import annotations

import html
from html.parser import HTMLParser


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "title", "head"):
            self._hidden += 1
        # A read-only field shows its value (an invitation link, a new key).
        if tag == "input" and ("readonly", None) in attrs:
            self.parts.append(dict(attrs).get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title", "head"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """Return the words of ``page`` a browser shows, whitespace collapsed."""
    parser = _Visible()
    parser.feed(page)
    return " ".join(html.unescape(" ".join(parser.parts)).split())
