"""FigureSink as it was before columns (issue 13), verbatim: a dict of Figure structs filled row by row."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from monitor.figures import CATALOG
from monitor.records import Figure, FigureKey

__all__ = ["FigureRows", "FigureSink"]


class FigureSink:
    def __init__(self, now_ns: int) -> None:
        self.now_ns = now_ns
        self.items: dict[FigureKey, Figure] = {}

    def add(
        self,
        name: str,
        value: float,
        labels: Mapping[str, str] | None = None,
        /,
        *,
        fresh: bool = True,
        reason: str = "",
        **more: str,
    ) -> None:
        """Record one figure; labels come as a mapping, as keywords, or both."""
        spec = CATALOG[name]  # a KeyError here is a programming error: every name is catalogued
        v = float(value)
        if math.isnan(v) and not reason:  # ±inf is a value (past liquidation), not a gap
            reason = "not_available"
        self.items[FigureKey(name=name, **{**(labels or {}), **more})] = Figure(
            value=v, unit=spec.unit, ts_ns=self.now_ns, fresh=fresh, reason=reason
        )

    def add_many(
        self,
        name: str,
        labels: Iterable[Mapping[str, str]],
        values: Iterable[float],
        fresh: Iterable[bool],
        reasons: Iterable[str],
    ) -> None:
        """One figure per row of the columns, the same dict entries `add` would make row by row.

        Why: a desk-sized tick adds tens of thousands of figures, and `add` looks the name up and
        merges its label mappings once per figure; here the unit is looked up once per column.
        """
        unit = CATALOG[name].unit
        now, items = self.now_ns, self.items
        for lab, value, ok, why in zip(labels, values, fresh, reasons, strict=True):
            v = float(value)
            if v != v and not why:  # NaN; ±inf is a value (past liquidation), not a gap
                why = "not_available"
            items[FigureKey(name=name, **lab)] = Figure(value=v, unit=unit, ts_ns=now, fresh=ok, reason=why)


class FigureRows:
    """Figures gathered per name by a stage that walks legs or markets, then added as columns.

    `add` takes what `FigureSink.add` takes (one label mapping); `flush` hands each name's column to
    `FigureSink.add_many`. The sink ends up with the same entries (later rows of a name still win).
    """

    def __init__(self) -> None:
        self._cols: dict[str, tuple[list[Mapping[str, str]], list[float], list[bool], list[str]]] = {}

    def add(
        self, name: str, value: float, labels: Mapping[str, str], /, *, fresh: bool = True, reason: str = ""
    ) -> None:
        col = self._cols.get(name)
        if col is None:
            col = self._cols[name] = ([], [], [], [])
        col[0].append(labels)
        col[1].append(value)
        col[2].append(fresh)
        col[3].append(reason)

    def flush(self, sink: FigureSink) -> None:
        for name, (labels, values, fresh, reasons) in self._cols.items():
            sink.add_many(name, labels, values, fresh, reasons)
        self._cols = {}
