"""Read the status page's number cells back out of its HTML: what the page says, and of which figure."""

from __future__ import annotations

from html.parser import HTMLParser

__all__ = ["Cell", "cells"]

Cell = tuple[str, dict[str, str], dict[str, str], str]  # section id, <tr> attributes, <td> attributes, text


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[Cell] = []
        self._section = ""
        self._row: dict[str, str] = {}
        self._cell: dict[str, str] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "section":
            self._section = a.get("id", "")
        elif tag == "tr":
            self._row = a
        elif tag == "td":
            self._cell, self._text = a, ""

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append((self._section, self._row, self._cell, self._text))
            self._cell = None


def cells(html: str) -> list[Cell]:
    """Every `<td>` of the page, in order, with its section and row."""
    p = _Cells()
    p.feed(html)
    return p.cells
