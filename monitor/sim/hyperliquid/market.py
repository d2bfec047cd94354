"""Hyperliquid's market on the simulator: the Binance replay's prices as Hyperliquid asset contexts.

Why reuse the replay: one crash must move every venue together. The mark is the simulated
Binance mark (so a position's LP is tested at the same lows on both venues); the oracle is the
replay's spot composite (Hyperliquid's oracle is a weighted median of CEX spot mids [doc]); the
impact prices are the perp book's best bid and ask. Funding is Hyperliquid's own [doc]: the premium
`hl_premium(impact_bid, impact_ask, oracle)` is averaged over the hour, the rate paid on the hour
is `hl_hourly_funding_rate` of that mean (capped at 4 %/h) and the payment uses the **oracle**.

Tiers follow mainnet's shape (venues-next §d): BTC 40× to 150 M then 20×, ETH 25× to 100 M then
15×, SOL a single tier at 20× (a `marginTableId` below 50), the others "tiered 10×" (10× to 20 M,
then 5×).
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.risk.hyperliquid_margin import (
    HL_INTEREST_8H,
    hl_brackets,
    hl_hourly_funding_rate,
    hl_premium,
    hl_single_tier,
)
from monitor.risk.margin import Brackets
from monitor.sim.market import Market
from monitor.sim.symbols import SYMBOLS

__all__ = ["HOUR_MS", "MARGIN_TABLES", "HlAssetSpec", "HlCtx", "HlFunding", "HlMarket", "coin_of"]

HOUR_MS = 3_600_000
HISTORY_HOURS = 48  # settled funding served before the first simulated hour
# id → (description, [(lowerBound, maxLeverage)]): ids ≥ 50 are tables, below 50 a single tier
MARGIN_TABLES: dict[int, tuple[str, tuple[tuple[float, int], ...]]] = {
    51: ("tiered 10x", ((0.0, 10), (20_000_000.0, 5))),
    55: ("tiered 25x", ((0.0, 25), (100_000_000.0, 15))),
    56: ("tiered 40x", ((0.0, 40), (150_000_000.0, 20))),
}
_ASSETS = {"BTC": (5, 40, 56), "ETH": (4, 25, 55), "SOL": (2, 20, 20)}  # szDecimals, maxLeverage, table
_OTHER = (1, 10, 51)
_OI_USD = {"BTC": 2.0e9, "ETH": 1.0e9, "SOL": 0.3e9}


def coin_of(symbol: str) -> str:
    """Hyperliquid names a perp by its coin: BTCUSDT → BTC (USDC-settled there)."""
    return symbol.removesuffix("USDT")


@dataclass(frozen=True, slots=True)
class HlAssetSpec:
    coin: str
    symbol: str  # the replay's symbol it follows
    sz_decimals: int
    max_leverage: int
    margin_table_id: int

    def brackets(self) -> Brackets:
        tid = self.margin_table_id
        if tid < 50:
            return hl_single_tier(float(tid))
        tiers = MARGIN_TABLES[tid][1]
        return hl_brackets([t[0] for t in tiers], [float(t[1]) for t in tiers])


@dataclass(frozen=True, slots=True)
class HlCtx:
    """One asset context (`metaAndAssetCtxs[1][i]`, `activeAssetCtx.ctx`); `funding` is hourly."""

    coin: str
    mark: float
    oracle: float
    mid: float
    impact_bid: float
    impact_ask: float
    premium: float
    funding: float
    open_interest: float
    prev_day: float
    day_ntl_vlm: float
    day_base_vlm: float


@dataclass(frozen=True, slots=True)
class HlFunding:
    """One settled hour (`fundingHistory` row)."""

    coin: str
    time_ms: int
    rate: float
    premium: float
    oracle: float


class HlMarket:
    """Contexts per coin, the hour's premium average and the hourly settlements due."""

    def __init__(self, base: Market, now_ms: int) -> None:
        self.base = base
        listed = {s.symbol for s in SYMBOLS}
        self.assets = [
            HlAssetSpec(coin_of(s), s, *_ASSETS.get(coin_of(s), _OTHER))
            for s in base.specs
            if s in listed and s.endswith("USDT")
        ]
        self.index = {a.coin: i for i, a in enumerate(self.assets)}
        self.by_symbol = {a.symbol: a for a in self.assets}
        self._sum = {a.coin: 0.0 for a in self.assets}
        self._n = {a.coin: 0 for a in self.assets}
        self._hour = now_ms // HOUR_MS
        self.ctxs: dict[str, HlCtx] = {}
        self._publish(now_ms)
        calm = float(hl_hourly_funding_rate(0.0, HL_INTEREST_8H))  # the past: a flat premium, 0.00125 %/h
        self.history: list[HlFunding] = [
            HlFunding(a.coin, (self._hour - k) * HOUR_MS, calm, 0.0, self.ctxs[a.coin].oracle)
            for k in range(HISTORY_HOURS, 0, -1)
            for a in self.assets
        ]

    def marks(self, binance_marks: dict[str, float] | None = None) -> dict[str, float]:
        """Mark per coin: the replay's mark for its symbol (now, or in a tick's `binance_marks` sample)."""
        src = self.base.marks() if binance_marks is None else binance_marks
        return {a.coin: src[a.symbol] for a in self.assets if a.symbol in src}

    def oracles(self) -> dict[str, float]:
        return {c: x.oracle for c, x in self.ctxs.items()}

    def _rate(self, coin: str) -> float:
        n = self._n[coin]
        avg = self._sum[coin] / n if n else 0.0
        return float(hl_hourly_funding_rate(avg, HL_INTEREST_8H))

    def _publish(self, now_ms: int) -> None:
        for a in self.assets:
            q = self.base.quotes[a.symbol]
            premium = float(hl_premium(q.bid, q.ask, q.index))
            self._sum[a.coin] += premium
            self._n[a.coin] += 1
            self.ctxs[a.coin] = HlCtx(
                coin=a.coin,
                mark=q.mark,
                oracle=q.index,
                mid=0.5 * (q.bid + q.ask),
                impact_bid=q.bid,
                impact_ask=q.ask,
                premium=premium,
                funding=self._rate(a.coin),
                open_interest=_OI_USD.get(a.coin, 0.05e9) / q.mark,
                prev_day=q.open,
                day_ntl_vlm=q.quote_volume,
                day_base_vlm=q.volume,
            )

    def advance(self, now_ms: int) -> list[HlFunding]:
        """After the replay moved: the hour's settlements if one ended, then fresh contexts."""
        due: list[HlFunding] = []
        hour = now_ms // HOUR_MS
        if hour > self._hour:
            for a in self.assets:
                ctx = self.ctxs[a.coin]
                n = self._n[a.coin]
                avg = self._sum[a.coin] / n if n else 0.0
                due.append(HlFunding(a.coin, hour * HOUR_MS, self._rate(a.coin), avg, ctx.oracle))
                self._sum[a.coin], self._n[a.coin] = 0.0, 0
            self._hour = hour
            self.history.extend(due)
        self._publish(now_ms)
        return due
