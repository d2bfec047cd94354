"""How the status page reads the tick: one row's figures by key, and the alerts firing on a row.

Split from `build.py` (which finds the rows and orders them) because every row kind reads its
cells the same way: a keyed lookup that remembers why a missing or stale figure is so (the note a
cell shows instead of a number), and the worst severity firing on the row's labels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import msgspec

from monitor.records import AlertEvent, Figure, FigureKey, Severity
from monitor.status.model import ABSENT

__all__ = ["IDENTITY", "Cells", "Ident", "ident", "severities", "worst"]

IDENTITY = ("venue", "account", "symbol", "side", "asset", "stream")
Ident = tuple[str, str, str, str, str, str]


class Cells:
    """Looks up one row's figures and remembers why each missing or stale one is so."""

    def __init__(self, items: Mapping[FigureKey, Figure]) -> None:
        self._items = items
        self.notes: dict[str, str] = {}

    def get(self, field: str, key: FigureKey) -> float:
        fig = self._items.get(key)
        if fig is None:
            self.notes[field] = ABSENT
            return math.nan
        if fig.value != fig.value:
            self.notes[field] = fig.reason or "unavailable"
        elif not fig.fresh:
            self.notes[field] = "stale"
        return fig.value

    def of(self, row: FigureKey, name: str, field: str) -> float:
        """The figure `name` with the labels of the row's own key (a position's, an account's…)."""
        return self.get(field, msgspec.structs.replace(row, name=name))

    def reason(self, key: FigureKey) -> str:
        fig = self._items.get(key)
        return fig.reason if fig is not None else ""

    def has(self, key: FigureKey) -> bool:
        return key in self._items

    def take(self) -> dict[str, str]:
        notes, self.notes = self.notes, {}
        return notes


def ident(labels: Mapping[str, str]) -> Ident:
    v, a, s, sd, asset, st = (labels.get(k, "") for k in IDENTITY)
    return (v, a, s, sd, asset, st)


def severities(firing: Iterable[AlertEvent]) -> dict[Ident, Severity]:
    out: dict[Ident, Severity] = {}
    for ev in firing:
        k = ident(ev.labels)
        if ev.severity > out.get(k, -1):
            out[k] = ev.severity
    return out


def worst(sev: Mapping[Ident, Severity], *idents: Ident) -> str:
    found = [sev[i] for i in idents if i in sev]
    return max(found).label if found else ""
