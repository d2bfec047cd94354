"""Read the status page back out of its HTML: the number cells (what the page says, and of which
figure) and the distance bars (their state, length, threshold marks and words)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["Bar", "Cell", "bars", "cells"]

Cell = tuple[str, dict[str, str], dict[str, str], str]  # section id, <tr> attributes, <td> attributes, text
_WIDTH = re.compile(r"width:\s*([0-9.]+)%")
_LEFT = re.compile(r"left:\s*([0-9.]+)%")


@dataclass
class Bar:
    """One distance bar as drawn: `width` and each mark's `left` in % of the track."""

    row: dict[str, str]  # the <tr>'s attributes (data-venue, data-account, …)
    state: str
    fill: float
    scale: float
    width: float = -1.0
    marks: list[tuple[str, float, float]] = field(default_factory=list)  # severity, threshold, left %
    caption: str = ""  # the words under the bar
    title: str = ""  # the words on hover, with the level the leg is inside


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[Cell] = []
        self.bars: list[Bar] = []
        self._section = ""
        self._row: dict[str, str] = {}
        self._cell: dict[str, str] | None = None
        self._text = ""
        self._in_cap = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if tag == "section":
            self._section = a.get("id", "")
        elif tag == "tr":
            self._row = a
        elif tag == "td":
            self._cell, self._text = a, ""
        elif tag == "div" and "gauge" in classes:
            bar = Bar(self._row, a["data-state"], float(a["data-fill"]), float(a["data-scale"]))
            bar.title = a.get("title", "")
            self.bars.append(bar)
        elif tag == "span" and "fill" in classes and self.bars:
            m = _WIDTH.search(a.get("style", ""))
            self.bars[-1].width = float(m.group(1)) if m else -1.0
        elif tag == "i" and "lv" in classes and self.bars:
            m = _LEFT.search(a.get("style", ""))
            left = float(m.group(1)) if m else -1.0
            self.bars[-1].marks.append((a["data-severity"], float(a["data-level"]), left))
        elif tag == "span" and "cap" in classes:
            self._in_cap = True

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text += data
        if self._in_cap and self.bars:
            self.bars[-1].caption += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_cap = False
        if tag == "td" and self._cell is not None:
            self.cells.append((self._section, self._row, self._cell, self._text))
            self._cell = None


def cells(html: str) -> list[Cell]:
    """Every `<td>` of the page, in order, with its section and row."""
    p = _Page()
    p.feed(html)
    return p.cells


def bars(html: str) -> list[Bar]:
    """Every distance bar of the page, in the order the positions are listed."""
    p = _Page()
    p.feed(html)
    return p.bars
