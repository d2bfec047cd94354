"""What the advice stage keeps between ticks (`AdviceKept`), and the one way its columns reach the sink.

Why its own module: every part of the stage (monitor/evaluation/advice.py's hedge and sizing,
advice_forecast.py, advice_close.py's books) reads and writes it, so it sits below them all rather
than in any one of them. Split from advice.py (issue 16: no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.evaluation.advice_forecast import _ForecastPlan
from monitor.evaluation.advice_legs import _SHARED as _SHARED_LEGS  # its own callers' default
from monitor.evaluation.advice_legs import AdviceLegs, LegsKept
from monitor.evaluation.column_keys import ColumnKeys
from monitor.evaluation.sink import FigureSink
from monitor.risk._num import FloatArray, IntArray
from monitor.risk.liquidity import BookWalk
from monitor.store.books import BookLayout

if TYPE_CHECKING:
    from monitor.evaluation.advice import _HedgeBook

__all__ = ["AdviceKept"]


class AdviceKept:
    """What the advice stage keeps between ticks, per evaluator (two daemons in one process share none).

    Each entry is keyed by what it was made from (records by content or identity), so a miss is only
    slower: the legs' columns (`legs`), the GARCH part of the forecasts, the hedge book, the isolated
    legs' labels, the checked books of odd markets, the legs' books' keys and rows, the column keys.
    """

    def __init__(self, legs: LegsKept | None = None) -> None:
        self.legs = LegsKept() if legs is None else legs
        self.forecast = _ForecastPlan()
        self.hedge: _HedgeBook | None = None
        self.iso_labels: tuple[AdviceLegs, tuple[dict[str, str], ...]] | None = None
        self.walks: dict[tuple[str, str], tuple[object, object, BookWalk | None]] = {}
        self.perp_keys: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]] | None = None
        self.table_rows: (
            tuple[object, BookLayout, dict[int, tuple[list[int], IntArray]], list[int]] | None
        ) = None
        self.keys = ColumnKeys()  # the per-leg and per-account columns' keys, while the book keeps its shape


_SHARED = AdviceKept(_SHARED_LEGS)  # for a caller with none of its own (tests, benches, what-if)


def _column(
    kept: AdviceKept,
    sink: FigureSink,
    name: str,
    labels: Sequence[Mapping[str, str]],
    values: FloatArray,
    why: list[str],
) -> None:
    """One column of fresh figures, keyed by the label tuple the stage keeps (`ColumnKeys`)."""
    sink.add_array(name, kept.keys(name, labels), values, True, why)
