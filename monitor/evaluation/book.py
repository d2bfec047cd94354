"""Book figures per asset: net delta, hedge ratio, funding carry; and positions that vanished.

The book is everything the desk owns: off-exchange holdings plus every perpetual on every
watched account. Holdings are valued at their named spot book; the perp legs at their marks.
"""

from __future__ import annotations

import math
from collections import defaultdict

from monitor.clock import NS_PER_S
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.store.state import Snapshot

__all__ = ["book_figures", "gone_figures"]


def _base_asset(symbol: str) -> str:
    for quote in ("USDT", "USDC", "FDUSD", "BUSD", "USD"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)]
    return symbol


def book_figures(snap: Snapshot, markets: dict[tuple[str, str], MarketView], sink: FigureSink) -> None:
    held: dict[str, float] = defaultdict(float)
    held_usd: dict[str, float] = defaultdict(float)
    perp: dict[str, float] = defaultdict(float)
    perp_usd: dict[str, float] = defaultdict(float)
    carry: dict[str, float] = defaultdict(float)
    fresh: dict[str, bool] = defaultdict(lambda: True)
    for h in snap.holdings.values():
        quote = snap.quotes.get((h.price_venue, h.price_symbol, "spot"))
        mid = 0.5 * (quote.bid + quote.ask) if quote is not None else math.nan
        held[h.asset] += h.quantity
        held_usd[h.asset] += h.quantity * mid
    for (venue, _account), acct in snap.accounts.items():
        for p in acct.positions:
            asset = _base_asset(p.symbol)
            mv = markets.get((venue, p.symbol))
            mark = mv.mark if mv is not None else math.nan
            perp[asset] += p.qty * p.contract_size
            perp_usd[asset] += p.qty * p.contract_size * mark
            if mv is not None:
                carry[asset] += -p.qty * mark * mv.funding_rate * 24.0 / mv.funding_interval_h
                fresh[asset] &= mv.mark_fresh
            else:
                fresh[asset] = False
    for asset in sorted(set(held) | set(perp)):
        ok = fresh[asset]
        sink.add("net_delta", held[asset] + perp[asset], fresh=ok, asset=asset)
        sink.add("net_delta_usd", held_usd[asset] + perp_usd[asset], fresh=ok, asset=asset)
        sink.add("holdings_quantity", held[asset], asset=asset)
        hr = -perp[asset] / held[asset] if held[asset] > 0 else math.nan
        sink.add("hedge_ratio", hr, fresh=ok, reason="" if held[asset] > 0 else "no_holdings", asset=asset)
        sink.add("funding_carry_usd_per_day", carry[asset], fresh=ok, asset=asset)


def gone_figures(snap: Snapshot, sink: FigureSink, retention_s: float) -> None:
    """A vanished position stays visible for `retention_s` so the rule can fire and the desk can look."""
    for (venue, account, symbol, side), g in snap.gone.items():
        if (snap.taken_at_ns - g.gone_at_ns) / NS_PER_S <= retention_s:
            sink.add("position_disappeared", 1.0, venue=venue, account=account, symbol=symbol, side=side)
