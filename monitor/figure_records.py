"""The records after the evaluator: figures (evaluator → rules, metrics) and alerts (rules → notifiers).

Split from `records.py`, which holds what the collectors produce and the store keeps; these are
what the evaluator derives from it and what the rules make of that. `monitor.records` re-exports
every name, so a stage imports all its records from one place. Frozen msgspec structs, as there.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from monitor.figure_columns import FigureColumn

__all__ = ["AlertEvent", "AlertState", "Figure", "FigureKey", "Figures", "Severity"]


# ---------------------------------------------------------------- evaluator → rules, metrics


class FigureKey(msgspec.Struct, frozen=True, kw_only=True, order=True):
    """Identifies one figure. Unused labels stay empty; `name` carries its unit."""

    name: str
    venue: str = ""
    account: str = ""
    symbol: str = ""
    side: str = ""
    asset: str = ""
    stream: str = ""
    scenario: str = ""  # stress figures: the scenario's name
    method: str = ""  # how a book figure was computed (VaR: parametric, historical, monte_carlo)
    confidence: str = ""  # a VaR/ES confidence level, e.g. "0.99"

    def labels(self) -> dict[str, str]:
        """The non-empty labels, in a fixed order (they identify an alert and a metric series)."""
        pairs = (
            ("venue", self.venue),
            ("account", self.account),
            ("symbol", self.symbol),
            ("side", self.side),
            ("asset", self.asset),
            ("stream", self.stream),
            ("scenario", self.scenario),
            ("method", self.method),
            ("confidence", self.confidence),
        )
        return {k: v for k, v in pairs if v}


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """A computed number; NaN with a `reason` when it is not available, never a made-up value."""

    value: float
    unit: str
    ts_ns: int
    fresh: bool = True
    reason: str = ""

    @property
    def available(self) -> bool:
        """Only NaN is "unknown": ±inf is a value (a margin ratio past liquidation is +inf)."""
        return not math.isnan(self.value)


class Figures(msgspec.Struct, frozen=True, kw_only=True):
    """Everything one evaluation tick computed, stamped with the tick's time.

    The evaluator makes them as columns (`monitor/figure_columns.py`: one array of values per
    figure name), which is how rules and /metrics read them; `items` is then a read-only mapping
    over those columns (`get`, `[key]` and `in` read one column; iterating builds each Figure once).
    Made from a dict (tests, tools, `msgspec.structs.replace`), the dict is the truth and the columns
    are derived from it on first use. Never changed once made: /metrics reads it from another thread.
    """

    taken_at_ns: int
    items: Mapping[FigureKey, Figure]

    @property
    def columns(self) -> Mapping[str, FigureColumn]:
        """Figure name → its column (names in the order they were made)."""
        from monitor.figure_columns import columns_of  # records must not import numpy

        return columns_of(self.items)

    def get(self, key: FigureKey) -> Figure | None:
        return self.items.get(key)


# ---------------------------------------------------------------- rules → notifiers


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    CRITICAL = 2
    PAGE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


class AlertState(enum.StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A change worth telling someone about (Alertmanager's alert, with our labels).

    `fingerprint` is a stable hash of the sorted labels without severity, so an escalation from
    warning to critical stays the same alert.
    """

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: AlertState
    severity: Severity
    starts_at_ns: int
    ends_at_ns: int | None
    value: float
    event_ns: int  # when this event was emitted (tick time)
