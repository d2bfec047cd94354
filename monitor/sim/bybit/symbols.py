"""The linear USDT perpetuals the simulated Bybit lists, their risk-limit tiers and venue premium.

Bybit trades the same replayed path as the simulated Binance (market.py), plus a premium of its own
(`bybit/market.py`): each symbol's perp sits `spread_mu_bps` over the Binance perp on average and
wanders around it as an Ornstein–Uhlenbeck process, so basis and funding differ between the venues
the way they do in the wild (a few bps, reverting within the hour). SOLUSDT settles funding
**hourly** here: Bybit moves symbols to 1 h intervals when funding runs at its cap, and a second
venue with a different interval for the same coin is what interval-aware figures must get right.

Risk limits are Bybit-like tables (not today's live ones): a tier applies to position value up to
its `riskLimitValue`; maintenance margin is `value × mmr − mmDeduction`, the deduction following the
recursion that keeps it continuous across tiers (the same idea as Binance's `cum`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.sim.numfmt import q8

__all__ = ["BYBIT_SYMBOLS", "BybitSpec", "RiskTier", "build_tiers", "bybit_spec", "tier_for_value"]


@dataclass(frozen=True, slots=True)
class RiskTier:
    id: int  # 1-based, as the venue numbers them
    limit: float  # riskLimitValue: the largest position value this tier covers
    mmr: float  # maintenanceMargin rate
    imr: float  # initialMargin rate (1 / maxLeverage)
    deduction: float  # mmDeduction
    max_leverage: float


@dataclass(frozen=True, slots=True)
class BybitSpec:
    symbol: str
    base: str
    funding_hours: int  # fundingIntervalHour
    funding_cap: float  # upperFundingRate; the floor is its negative
    tick: str  # priceFilter.tickSize
    step: str  # lotSizeFilter.qtyStep (also minOrderQty)
    max_qty: str  # lotSizeFilter.maxOrderQty
    spot_tick: str
    spot_step: str
    price_scale: int
    spread_mu_bps: float  # mean of the perp's premium over the Binance perp
    spread_sd_bps: float  # stationary sd of that premium
    launch_ms: int
    tiers: tuple[RiskTier, ...]

    @property
    def interest_rate(self) -> float:
        """0.03 % per day, pro rata per interval (0.01 % per 8 h)."""
        return 0.0001 * self.funding_hours / 8

    @property
    def clamp(self) -> float:
        """The ±0.05 % per 8 h clamp on (interest − premium), pro rata per interval."""
        return 0.0005 * self.funding_hours / 8


def build_tiers(
    limits: Sequence[float], mmrs: Sequence[float], imrs: Sequence[float]
) -> tuple[RiskTier, ...]:
    """A tier table from its limits; `deduction_n = deduction_{n-1} + limit_{n-1} × (mmr_n − mmr_{n-1})`."""
    if not (len(limits) == len(mmrs) == len(imrs)) or not limits:
        raise ValueError("a risk-limit table needs equal-length, non-empty limits/mmrs/imrs")
    out: list[RiskTier] = []
    deduction = 0.0
    for i, (limit, mmr, imr) in enumerate(zip(limits, mmrs, imrs, strict=True)):
        if i:
            deduction = q8(deduction + limits[i - 1] * (mmr - mmrs[i - 1]))
        out.append(RiskTier(i + 1, float(limit), mmr, imr, deduction, round(1.0 / imr, 2)))
    return tuple(out)


def tier_for_value(tiers: Sequence[RiskTier], value: float) -> RiskTier:
    """The lowest tier whose riskLimitValue covers |value|; beyond the last, the last."""
    v = abs(value)
    for t in tiers:
        if v <= t.limit:
            return t
    return tiers[-1]


_M = 1_000_000.0

BYBIT_SYMBOLS: tuple[BybitSpec, ...] = (
    BybitSpec(
        symbol="BTCUSDT",
        base="BTC",
        funding_hours=8,
        funding_cap=0.005,
        tick="0.10",
        step="0.001",
        max_qty="1190.000",
        spot_tick="0.01",
        spot_step="0.000001",
        price_scale=2,
        spread_mu_bps=1.5,
        spread_sd_bps=4.0,
        launch_ms=1585526400000,
        tiers=build_tiers(
            [2 * _M, 10 * _M, 20 * _M, 40 * _M, 80 * _M, 160 * _M],
            [0.005, 0.01, 0.015, 0.02, 0.03, 0.05],
            [0.01, 0.02, 0.03, 0.04, 0.06, 0.10],
        ),
    ),
    BybitSpec(
        symbol="ETHUSDT",
        base="ETH",
        funding_hours=8,
        funding_cap=0.005,
        tick="0.01",
        step="0.01",
        max_qty="7240.00",
        spot_tick="0.01",
        spot_step="0.00001",
        price_scale=2,
        spread_mu_bps=-1.0,
        spread_sd_bps=5.0,
        launch_ms=1615766400000,
        tiers=build_tiers(
            [1 * _M, 5 * _M, 10 * _M, 20 * _M, 40 * _M],
            [0.005, 0.01, 0.015, 0.025, 0.05],
            [0.01, 0.02, 0.03, 0.05, 0.10],
        ),
    ),
    BybitSpec(
        symbol="SOLUSDT",
        base="SOL",
        funding_hours=1,
        funding_cap=0.01,
        tick="0.010",
        step="0.1",
        max_qty="79770.0",
        spot_tick="0.01",
        spot_step="0.001",
        price_scale=3,
        spread_mu_bps=3.0,
        spread_sd_bps=8.0,
        launch_ms=1633046400000,
        tiers=build_tiers(
            [200_000, 1 * _M, 2 * _M, 5 * _M],
            [0.01, 0.02, 0.03, 0.05],
            [0.02, 0.04, 0.06, 0.10],
        ),
    ),
)

_BY_NAME = {s.symbol: s for s in BYBIT_SYMBOLS}


def bybit_spec(symbol: str) -> BybitSpec | None:
    return _BY_NAME.get(symbol)
