"""The book as legs: what the desk holds in each market, in base units and in USD.

VaR, Monte Carlo and the hedge advice all need the same picture, keyed by market (venue,
symbol): the spot leg is the off-exchange holdings valued at that market's spot book, the perp
leg every perpetual position on that market. A market is one (venue, symbol), not an asset, so a
book hedged on two venues keeps two perp legs with their own basis.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from monitor.clock import NS_PER_S
from monitor.evaluation.leg_exposure import QUOTES, account_exposures, base_asset
from monitor.store.state import Snapshot

__all__ = [
    "QUOTES",
    "Leg",
    "MarketExposure",
    "PositionKey",
    "base_asset",
    "book_signature",
    "market_exposures",
    "spot_mid",
    "stale_holdings",
]

PositionKey = tuple[str, str, str, str]  # venue, account, symbol, side
Leg = tuple[str, str, str]  # venue, symbol, "spot" | "perp"


def spot_mid(snap: Snapshot, venue: str, symbol: str) -> float:
    q = snap.quotes.get((venue, symbol, "spot"))
    return 0.5 * (q.bid + q.ask) if q is not None else math.nan


@dataclass
class MarketExposure:
    """One market's legs: holdings priced here (spot) and perpetual positions listed here."""

    spot_q: float = 0.0
    perp_q: float = 0.0
    positions: list[tuple[PositionKey, float]] = field(default_factory=list)  # (key, signed base qty)
    asset: str = ""  # the coin the perp legs are in (`leg_exposure.leg_asset`); "" with none


def market_exposures(snap: Snapshot) -> dict[tuple[str, str], MarketExposure]:
    """Every market the book touches, in sorted order (so vectors built from it are stable).

    A leg's quantity is `leg_exposure.account_exposures`: base units for a linear leg; for an
    inverse one, coin at the mark plus the coin it is margined with, so `perp_q × mark` is its
    USD exposure (exactly: a coin account's USD value is linear in the price).
    """
    out: dict[tuple[str, str], MarketExposure] = defaultdict(MarketExposure)
    for h in snap.holdings.values():
        out[(h.price_venue, h.price_symbol)].spot_q += h.quantity
    for (venue, account), acct in snap.accounts.items():
        for p, (asset, q) in zip(acct.positions, account_exposures(acct), strict=True):
            if p.qty == 0 and q == 0:
                continue
            e = out[(venue, p.symbol)]
            e.asset = asset
            e.perp_q += q
            e.positions.append(((venue, account, p.symbol, p.side), q))
    return dict(sorted(out.items()))


def stale_holdings(snap: Snapshot) -> dict[str, list[str]]:
    """Pushed holdings not updated within their `max_age_s`, names by asset, sorted.

    They stay in the book (the last word is the best there is) but no figure built on them is fresh.
    """
    out: dict[str, list[str]] = defaultdict(list)
    for name, h in sorted(snap.holdings.items()):
        if h.max_age_s is not None and snap.taken_at_ns - h.ts_recv_ns > h.max_age_s * NS_PER_S:
            out[h.asset].append(name)
    return dict(out)


def book_signature(book: dict[tuple[str, str], MarketExposure]) -> tuple[object, ...]:
    """Equal for two snapshots exactly when they hold the same quantities in the same markets."""
    return tuple((k, e.spot_q, tuple(sorted(e.positions))) for k, e in book.items())
