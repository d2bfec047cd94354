"""What a tick reads: one immutable view of the store at one instant (`StateStore.snapshot`).

Apart from the store because every stage, the refits, what-if and the tests build or read it, and
none of them needs the store's write side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from monitor.records import (
    AccountSnapshot,
    BookLevels,
    FundingInfo,
    Holding,
    LeverageTiers,
    MarginCall,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.feeds import FeedView
from monitor.store.grid_bars import GridBars

__all__ = ["GonePosition", "Grid", "Snapshot"]

Grid = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class GonePosition:
    """A position that a complete account snapshot no longer lists (closed or liquidated).

    `reason` comes from the last fill on that leg seen on the user data stream within
    `FILL_MEMORY_S`: "liquidated" (the venue's `autoclose-` order), "adl" (auto-deleveraged),
    "closed" (the account's own trade), or "unknown" when no fill was seen (REST polling only).
    """

    venue: str
    account: str
    position: Position
    gone_at_ns: int
    reason: str = "unknown"
    price: float = math.nan  # the closing fill's price, when known


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at_ns: int
    marks: Mapping[tuple[str, str], MarkPrice]
    quotes: Mapping[tuple[str, str, str], Quote]
    funding: Mapping[tuple[str, str], FundingInfo]
    tiers: Mapping[tuple[str, str, str], LeverageTiers]
    accounts: Mapping[tuple[str, str], AccountSnapshot]
    holdings: Mapping[str, Holding]
    gone: Mapping[tuple[str, str, str, str], GonePosition]
    feeds: Mapping[tuple[str, str], FeedView]  # the store's: a FeedTable (monitor/store/feeds.py)
    mark_grid: Mapping[tuple[str, str], Grid]
    margin_calls: Mapping[tuple[str, str], MarginCall] = field(default_factory=lambda: MappingProxyType({}))
    # annualised volatility given as input (a what-if book has no price history); the daemon: empty
    given_volatility: Mapping[tuple[str, str], float] = field(default_factory=lambda: MappingProxyType({}))
    spot_grid: Mapping[tuple[str, str], Grid] = field(default_factory=lambda: MappingProxyType({}))
    # (settlement time, last estimate before it) per (venue, symbol), oldest first
    funding_settled: Mapping[tuple[str, str], Grid] = field(default_factory=lambda: MappingProxyType({}))
    # True where the newest settled figure is the store's estimate, not the venue's settled rate
    funding_settled_estimated: Mapping[tuple[str, str], bool] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # the latest book levels per (venue, symbol, market), where the venue's collector keeps depth
    books: Mapping[tuple[str, str, str], BookLevels] = field(default_factory=lambda: MappingProxyType({}))
    # where each mark grid stands (newest bucket, bars held, revision): what a stage carrying
    # something from earlier bars needs (monitor/store/grid_bars.py). None: nothing is promised.
    mark_grid_bars: GridBars | None = None
