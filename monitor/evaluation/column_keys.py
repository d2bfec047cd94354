"""Figure keys of the risk stage's columns, built once per label tuple and handed to `FigureSink.add_array`.

Why: a desk-sized tick adds each per-leg and per-market name as a column of a thousand rows. Through
`add_many` the sink compares every label mapping with last tick's to find its keys; the stages keep
their label tuples between ticks already (rebuilt only when the book's shape changes), so the keys
can follow the tuple's identity instead, and the sink's join sees the same key tuple it saw last tick.
The keys are the ones `add_many` builds (`FigureKey(name=name, **labels)`), so the figures are too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.records import FigureKey

__all__ = ["ColumnKeys"]


class ColumnKeys:
    """Per figure name, the key tuple of the last label sequence seen, while it is the same object."""

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[str, tuple[Sequence[Mapping[str, str]], tuple[FigureKey, ...]]] = {}

    def __call__(self, name: str, labels: Sequence[Mapping[str, str]]) -> tuple[FigureKey, ...]:
        """`labels` must not change while held: the stages pass tuples they rebuild, never mutate."""
        got = self._held.get(name)
        if got is not None and got[0] is labels:
            return got[1]
        keys = tuple(FigureKey(name=name, **lab) for lab in labels)
        self._held[name] = (labels, keys)
        return keys
