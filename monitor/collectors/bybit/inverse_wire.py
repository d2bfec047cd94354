"""Bybit v5 inverse positions and risk limits, and UTA collateral (tiered CVR, switches), as typed structs.

For `monitor.risk.inverse_margin` and `monitor.risk.collateral`. Inverse units [doc]: `size` is in
USD contracts (1 USD each), `positionValue`, `positionBalance`, `positionMM`, `unrealisedPnl` and the
risk limits' `riskLimitValue` are in **coin**. A blank "" means "does not apply" (`liqPrice` with no
liquidation price, `positionIM`/`positionMM` under portfolio margin) and becomes None, never 0.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any, Literal

import msgspec
import numpy as np

from monitor.collectors.bybit.envelope import decode, result_of
from monitor.collectors.struct_rows import blanks_to_none, convert_rows, finite_fields
from monitor.errors import ParseError
from monitor.risk.collateral import CvrTiers, cvr_tiers
from monitor.risk.margin import Brackets, bracket_problem, brackets
from monitor.risk.reasons import Reason

__all__ = [
    "BybitCoinCollateral",
    "BybitInversePosition",
    "BybitRiskTier",
    "inverse_risk_brackets",
    "parse_inverse_positions",
    "parse_inverse_risk_limits",
    "parse_tiered_collateral",
    "parse_wallet_collateral",
]


class BybitInversePosition(msgspec.Struct, frozen=True, kw_only=True):
    """One `/v5/position/list?category=inverse` row (the docs' example):

    ``{"positionIdx":0,"riskId":1,"riskLimitValue":"150","symbol":"BTCUSD","side":"Sell","size":"300",
    "avgPrice":"27464.50441675","positionValue":"0.01092319","tradeMode":0,"leverage":"10",
    "positionBalance":"0.00139186","markPrice":"28224.50","liqPrice":"","bustPrice":"999999.00",
    "positionMM":"0.0000015","positionIM":"0.00010923","unrealisedPnl":"-0.00029413",…}``
    """

    symbol: str
    side: Literal["Buy", "Sell"] | None  # None ("") on an empty position
    size_usd: float = msgspec.field(name="size")
    avg_price: float = msgspec.field(name="avgPrice")
    position_value_coin: float = msgspec.field(name="positionValue")
    mark_price: float = msgspec.field(name="markPrice")
    leverage: float | None = None
    position_balance: float | None = msgspec.field(name="positionBalance", default=None)
    liq_price: float | None = msgspec.field(name="liqPrice", default=None)  # None: no liquidation price
    bust_price: float | None = msgspec.field(name="bustPrice", default=None)
    position_mm: float | None = msgspec.field(name="positionMM", default=None)
    position_im: float | None = msgspec.field(name="positionIM", default=None)
    unrealised_pnl: float | None = msgspec.field(name="unrealisedPnl", default=None)
    trade_mode: int = msgspec.field(name="tradeMode", default=0)  # 0 cross, 1 isolated (classic)
    position_idx: int = msgspec.field(name="positionIdx", default=0)
    risk_id: int | None = msgspec.field(name="riskId", default=None)
    risk_limit_value: float | None = msgspec.field(name="riskLimitValue", default=None)

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.size_usd < 0:
            raise ValueError(f"size {self.size_usd} is negative")
        if self.size_usd > 0 and self.side is None:
            raise ValueError("a position with a size has no side")
        if self.avg_price < 0 or self.mark_price < 0:
            raise ValueError("avgPrice/markPrice is negative")

    @property
    def signed_usd(self) -> float:
        """USD contracts signed by `side` (Sell < 0): the `qty_usd` of `inverse_margin`."""
        return -self.size_usd if self.side == "Sell" else self.size_usd


class BybitRiskTier(msgspec.Struct, frozen=True, kw_only=True):
    """One `/v5/market/risk-limit` tier as the venue prints it (rates maybe percents, see the parser)."""

    id: int
    symbol: str
    risk_limit_value: float = msgspec.field(name="riskLimitValue")  # coin for inverse: the tier's cap
    maintenance_margin: float = msgspec.field(name="maintenanceMargin")
    initial_margin: float = msgspec.field(name="initialMargin")
    max_leverage: float = msgspec.field(name="maxLeverage")
    mm_deduction: float | None = msgspec.field(name="mmDeduction", default=None)

    def __post_init__(self) -> None:
        finite_fields(self)
        if self.risk_limit_value <= 0 or self.max_leverage <= 0 or self.maintenance_margin < 0:
            raise ValueError(f"tier {self.id}: riskLimitValue/maxLeverage/maintenanceMargin out of range")


class BybitCoinCollateral(msgspec.Struct, frozen=True, kw_only=True):
    """One `coin[]` row of the UTA wallet: a coin counts as margin only if both switches are on [doc]."""

    coin: str
    wallet_balance: float = msgspec.field(name="walletBalance")
    equity: float | None = None
    usd_value: float | None = msgspec.field(name="usdValue", default=None)
    margin_collateral: bool = msgspec.field(name="marginCollateral")  # the platform's switch
    collateral_switch: bool = msgspec.field(name="collateralSwitch")  # the user's switch

    def __post_init__(self) -> None:
        finite_fields(self)

    @property
    def counts(self) -> bool:
        """Whether the coin is collateral at all (`marginCollateral && collateralSwitch`)."""
        return self.margin_collateral and self.collateral_switch


class _CvrRow(msgspec.Struct, frozen=True, kw_only=True):
    min_qty: float = msgspec.field(name="minQty")
    max_qty: float | None = msgspec.field(name="maxQty", default=None)  # "" = no upper limit
    ratio: float = msgspec.field(name="collateralRatio")

    def __post_init__(self) -> None:
        finite_fields(self)


class _CvrCoin(msgspec.Struct, frozen=True, kw_only=True):
    currency: str
    tiers: list[_CvrRow] = msgspec.field(name="collateralRatioList")


def _list_of(body: Any, what: str) -> list[Any]:
    obj = decode(body) if isinstance(body, bytes | str) else body
    rows = result_of(obj, what).get("list")
    if not isinstance(rows, list):
        raise ParseError("schema", f"{what}: result.list is not a list")
    return [blanks_to_none(r) for r in rows]


def parse_inverse_positions(body: Any) -> list[BybitInversePosition]:
    """`/v5/position/list` for `category=inverse` → rows; another category is refused, not misread."""
    obj = decode(body) if isinstance(body, bytes | str) else body
    category = result_of(obj, "position/list").get("category")
    if category != "inverse":
        raise ParseError("schema", f"position/list: category {category!r}, expected 'inverse' (USD sizes)")
    return convert_rows(_list_of(obj, "position/list"), BybitInversePosition, "position/list")


def parse_inverse_risk_limits(body: Any) -> list[BybitRiskTier]:
    """`/v5/market/risk-limit?category=inverse` → tiers as printed (see `inverse_risk_brackets` for units)."""
    obj = decode(body) if isinstance(body, bytes | str) else body
    category = result_of(obj, "risk-limit").get("category")
    if category != "inverse":
        raise ParseError("schema", f"risk-limit: category {category!r}, expected 'inverse' (coin values)")
    return convert_rows(_list_of(obj, "risk-limit"), BybitRiskTier, "risk-limit")


def inverse_risk_brackets(tiers: list[BybitRiskTier]) -> dict[str, Brackets]:
    """Tiers per symbol → `Brackets` in coin: floor = the previous `riskLimitValue`, cap = this one.

    Why the unit check: the docs print `"maintenanceMargin": "0.5"` (a percent) beside
    `"initialMargin": "1"`, `"maxLeverage": "100.00"`; current linear replies print fractions. The
    unit is told from initialMargin ≈ 1/maxLeverage, never from the magnitude alone. A blank
    `mmDeduction` on every tier → the recursion (MM continuous [doc]); on some only → refused.
    """
    by_symbol: dict[str, list[BybitRiskTier]] = {}
    for t in tiers:
        by_symbol.setdefault(t.symbol, []).append(t)
    out: dict[str, Brackets] = {}
    for symbol, rows in by_symbol.items():
        rows = sorted(rows, key=lambda t: t.risk_limit_value)
        t0 = rows[0]
        as_fraction = abs(t0.initial_margin - 1 / t0.max_leverage)
        as_percent = abs(t0.initial_margin / 100 - 1 / t0.max_leverage)
        scale = 1.0 if as_fraction <= as_percent else 0.01
        caps = [t.risk_limit_value for t in rows]
        if any(b <= a for a, b in itertools.pairwise(caps)):
            raise ParseError("schema", f"risk-limit {symbol}: riskLimitValue {caps} is not a ladder")
        deds = [t.mm_deduction for t in rows]
        if any(d is None for d in deds) and not all(d is None for d in deds):
            raise ParseError("schema", f"risk-limit {symbol}: mmDeduction blank on some tiers only")
        b = brackets(
            np.array([0.0, *caps[:-1]]),
            np.array([t.maintenance_margin * scale for t in rows]),
            caps=np.array(caps),
            cums=None if deds[0] is None else np.array(deds, dtype=np.float64),
            max_leverage=np.array([t.max_leverage for t in rows]),
        )
        problem = bracket_problem(b)
        if problem != Reason.OK:
            raise ParseError("schema", f"risk-limit {symbol}: {problem.name.lower()}")
        out[symbol] = b
    return out


def parse_wallet_collateral(body: Any) -> list[BybitCoinCollateral]:
    """`/v5/account/wallet-balance` (or the `wallet` topic's data) → each coin's balance and switches."""
    obj = decode(body) if isinstance(body, bytes | str) else body
    accounts = (
        obj.get("data") if isinstance(obj, Mapping) and "topic" in obj else _list_of(obj, "wallet-balance")
    )
    if not isinstance(accounts, list):
        raise ParseError("schema", "wallet: data is not a list")
    coins: list[Any] = []
    for a in accounts:
        if not isinstance(a, Mapping) or not isinstance(a.get("coin"), list):
            raise ParseError("schema", "wallet-balance: an account without a coin list")
        coins.extend(blanks_to_none(a["coin"]))
    return convert_rows(coins, BybitCoinCollateral, "wallet-balance coin")


def parse_tiered_collateral(body: Any) -> dict[str, CvrTiers]:
    """`/v5/spot-margin-trade/collateral` → each coin's CVR tiers by quantity ("" max = +inf).

    A coin whose tiers leave a gap, overlap or put the open tier anywhere but last is refused:
    the collateral model would value one slice of the holding at the wrong ratio.
    """
    coins = convert_rows(_list_of(body, "collateral"), _CvrCoin, "collateral")
    out: dict[str, CvrTiers] = {}
    for c in coins:
        rows = sorted(c.tiers, key=lambda r: r.min_qty)
        hi = [math.inf if r.max_qty is None else r.max_qty for r in rows]
        lo = [r.min_qty for r in rows]
        ratios = [r.ratio for r in rows]
        if (
            not rows
            or lo[0] != 0
            or any(h != nxt for h, nxt in zip(hi[:-1], lo[1:], strict=True))
            or not math.isinf(hi[-1])
            or not all(0 <= r <= 1 for r in ratios)
        ):
            raise ParseError(
                "schema", f"collateral {c.currency}: tiers {list(zip(lo, hi, ratios, strict=True))}"
            )
        out[c.currency] = cvr_tiers(lo, hi, ratios)
    return out
