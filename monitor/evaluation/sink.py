"""Collects one tick's figures; keeps the unit from the catalogue so names and units never drift."""

from __future__ import annotations

import math
from collections.abc import Mapping

from monitor.figures import CATALOG
from monitor.records import Figure, FigureKey

__all__ = ["FigureSink"]


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
