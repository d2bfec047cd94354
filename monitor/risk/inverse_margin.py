"""Inverse perpetuals (Binance COIN-M, Bybit inverse): PnL, margin and LP in coin (venues-next §a).

Why a module of its own, and why it reuses Binance's linear solver: a contract of face value CS
USD is worth ``N·CS/P`` coin, so in the variable ``y = 1/P`` every term of the coin margin test is
linear, exactly as the USDⓈ-M test is in P::

    WB + UPNL1 + Σ s·N·CS·(1/EP − y) = TMM1 + Σ (N·CS·y·mmr − cum)

That is the linear test of a position of ``q = −s·N·CS`` "units" at entry ``1/EP`` and mark ``y``,
with notional ``N·CS·y`` = the coin value, tiered by Binance's coin brackets (`qtylFloor`,
`cum` in coin). So ``LP = 1 / LP_linear(−s·N·CS, 1/EP, 1/mark)`` inherits, unchanged, the linear
solver's re-tiering at the LP (the FAQ's note), hedge legs, the exact tier scan and its reasons
[derived]. It is term for term the FAQ layout the reference reconstructs (§a.3)::

    LP = (Σ N·MMR + s_B·N_B + N_L − N_S)
         / ((WB − TMM1 + UPNL1 + Σ cum)/CS + s_B·N_B/EP_B + N_L/EP_L − N_S/EP_S)

A long inverse is a *short* in 1/P; log distances are the same either way, so "the root nearest
the mark" means the same thing. A short whose coin covers its entry value has no LP: the
denominator is ≤ 0 and the linear solver reports NOT_LIQUIDATABLE (Binance shows "0" / "--").

Bybit inverse perpetuals (one-way only) are the same test with the position margin as the
wallet and `mmDeduction` as cum: since 2025-09-02 MM is on the *mark* value [doc], the 2024
entry-valued form is kept for comparison only (Example A4: 45,681.8182 vs 45,662.1005).

Worked example A2 (cross short 12,000 BTCUSD_PERP @ 94,000, WB 3.0 BTC, mark 95,000): the mark's
bracket 3 gives 122,336.03, where the coin value lies in bracket 2; bracket 2 gives 122,324.0657,
self-consistent, and the margin test ties there (MM = equity = 0.04405 BTC).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.liquidation import Liquidation, liquidation_price, liquidation_prices
from monitor.risk.margin import Brackets, maintenance_margin, margin_ratio
from monitor.risk.reasons import ReasonArray
from monitor.risk.tiers import TierTable

__all__ = [
    "InverseLiquidationArrays",
    "bybit_inverse_isolated_lp_2024",
    "bybit_inverse_isolated_lp_closed",
    "bybit_inverse_position_margin",
    "coin_value",
    "coinm_isolated_lp_closed",
    "coinm_liquidation_price",
    "coinm_maintenance_margin",
    "coinm_margin_ratio",
    "inverse_liquidation_prices",
    "inverse_upnl",
    "usd_at_mark",
]


def coin_value(contracts: Num, contract_size: Num | float, price: Num | float) -> Num:
    """|N|·CS/P in coin: what Binance tiers COIN-M brackets by and reports as `notionalValue` (unsigned).

    NaN for a price ≤ 0. Real row (ccxt fixture): 3 × 100 / 68,234.2 = 0.00439662 BTC.
    """
    p = as_float(price)
    with quiet():
        out = np.abs(as_float(contracts)) * as_float(contract_size) / p
        out = np.where(p > 0, out, np.nan)
    return like(contracts, out)


def inverse_upnl(contracts: Num, contract_size: Num | float, entry: Num | float, mark: Num | float) -> Num:
    """Coin UPnL = N·CS·(1/EP − 1/mark), N signed contracts [doc-ex]; NaN unless entry and mark > 0.

    Real row: −3 × 100 × (1/68,911.00000037 − 1/68,234.2) = 0.00004318 BTC (`unRealizedProfit`).
    """
    e, p = as_float(entry), as_float(mark)
    with quiet():
        out = as_float(contracts) * as_float(contract_size) * (1.0 / e - 1.0 / p)
        out = np.where(np.minimum(e, p) > 0, out, np.nan)
    return like(contracts, out)


def coinm_maintenance_margin(
    contracts: Num, contract_size: Num | float, mark: Num | float, brackets: Brackets
) -> Num:
    """MM in coin = V(mark)·mmr − cum at the bracket holding V (coin brackets) [doc]; NaN without one.

    FAQ: 100 BTCUSD contracts at 25,000 → V 0.4 BTC, bracket 1 → 0.0016 BTC.
    """
    v = coin_value(contracts, contract_size, mark)
    b = brackets
    return like(contracts, maintenance_margin(as_float(v), b.floors, b.mmrs, b.cums, b.caps))


def coinm_margin_ratio(total_mm_coin: Num, wallet_coin: Num | float, upnl_coin: Num | float) -> Num:
    """Margin ratio of one margin coin = MM / (wallet + UPnL), all in that coin; +inf when equity ≤ 0."""
    equity = as_float(wallet_coin) + as_float(upnl_coin)
    return like(total_mm_coin, margin_ratio(as_float(total_mm_coin), equity))


def usd_at_mark(coin_amount: Num, mark: Num | float) -> Num:
    """A coin figure's USD view at the mark (equity, MM, UPnL × mark); NaN for a mark ≤ 0.

    Why only a view: the venue margins in coin, so ratios and LPs are computed in coin and a USD
    figure moves with the price even when the coin figure does not (a coin-margined short's USD
    equity is nearly flat: that is its hedge).
    """
    p = as_float(mark)
    with quiet():
        out = np.where(p > 0, as_float(coin_amount) * p, np.nan)
    return like(coin_amount, out)


def _inv(price: FloatArray) -> FloatArray:
    """1/price with the linear solver's reasons kept: ≤ 0 stays ≤ 0 (NON_POSITIVE_PRICE), ±inf → NaN."""
    with quiet():
        return np.where(np.isfinite(price), np.where(price > 0, 1.0 / price, -1.0), np.nan)


def coinm_liquidation_price(
    *,
    mark: float,
    wallet: float,
    brackets: Brackets,
    contract_size: float,
    contracts: float = 0.0,
    entry: float = math.nan,
    long_contracts: float = 0.0,
    long_entry: float = math.nan,
    short_contracts: float = 0.0,
    short_entry: float = math.nan,
    other_mm: float = 0.0,
    other_upnl: float = 0.0,
) -> Liquidation:
    """One COIN-M contract's LP (one-way `contracts` signed, or hedge legs' sizes), re-tiered at the LP.

    Cross: `wallet` = the coin's `crossWalletBalance`, `other_mm`/`other_upnl` = MM and UPnL in coin
    of every *other* contract margined in the same coin (TMM1, UPNL1); isolated: `isolatedWallet`,
    others 0. `brackets` are the symbol's coin brackets. The result's `tiers` are the legs' brackets
    at the LP (BOTH, LONG, SHORT order). Example A3 (hedge, WB 0.6): LONG 1,000 @ 88,000 and SHORT
    3,000 @ 89,000 → 121,388.4132.
    """
    inv = _inv(np.array([mark, entry, long_entry, short_entry]))
    res = liquidation_price(  # in 1/P an inverse LONG leg is a linear SHORT leg and vice versa
        mark=float(inv[0]),
        wallet=wallet,
        brackets=brackets,
        qty=-contracts * contract_size,
        entry=float(inv[1]),
        long_qty=abs(short_contracts) * contract_size,
        long_entry=float(inv[3]),
        short_qty=abs(long_contracts) * contract_size,
        short_entry=float(inv[2]),
        other_mm=other_mm,
        other_upnl=other_upnl,
    )
    tiers = res.tiers
    if long_contracts != 0.0 and short_contracts != 0.0 and len(tiers) >= 2:
        tiers = (*tiers[:-2], tiers[-1], tiers[-2])  # back to LONG, SHORT order
    with quiet():
        price = 1.0 / res.price if res.price > 0 else math.nan
    return Liquidation(price=price, reason=res.reason, tiers=tiers, iterations=res.iterations)


class InverseLiquidationArrays(NamedTuple):
    """Vectorised one-way inverse LPs: price (NaN when undefined), bracket at the LP, reason code."""

    price: FloatArray
    tier: IntArray
    reason: ReasonArray


def inverse_liquidation_prices(
    contracts: FloatArray,
    contract_size: FloatArray | float,
    entry: FloatArray,
    mark: FloatArray,
    wallet: FloatArray,
    table: TierTable,
    sym: IntArray,
    *,
    other_mm: FloatArray | float = 0.0,
    other_upnl: FloatArray | float = 0.0,
) -> InverseLiquidationArrays:
    """One-way inverse LPs of many positions, each re-tiered at its LP in its coin bracket row `sym`.

    Binance COIN-M: `wallet` = the margin coin's cross wallet (or the isolated wallet), others from
    `liquidation.cross_others` over the same coin's contracts in coin. Bybit inverse isolated:
    `contract_size` 1, `contracts` the signed USD size, `wallet` = `bybit_inverse_position_margin`,
    the table from the risk limits (coin values, `mmDeduction` as cum). Reasons as
    `liquidation.liquidation_prices` (NOT_LIQUIDATABLE: a short whose coin covers it).
    """
    q = -as_float(contracts) * as_float(contract_size)
    with quiet():
        res = liquidation_prices(
            np.asarray(q, dtype=np.float64),
            _inv(as_float(entry)),
            _inv(as_float(mark)),
            as_float(wallet),
            table,
            sym,
            other_mm=other_mm,
            other_upnl=other_upnl,
        )
        price = np.where(res.price > 0, 1.0 / res.price, np.nan)
    return InverseLiquidationArrays(price, res.tier, res.reason)


def coinm_isolated_lp_closed(
    contracts: Num,
    contract_size: Num | float,
    entry: Num | float,
    wallet: Num | float,
    mmr: Num | float,
    cum: Num | float = 0.0,
) -> Num:
    """The FAQ's one-way special cases with a given bracket [derived]; NaN where no positive LP.

    long ``N·CS·(1 + mmr)/(WB + cum + N·CS/EP)``, short ``N·CS·(1 − mmr)/(N·CS/EP − WB − cum)``.
    Example A1: 500 × 100 long @ 80,000, WB 0.07, mmr 0.4 % → 72,230.2158. The bracket must be the
    one at the LP; `inverse_liquidation_prices` finds it.
    """
    n = as_float(contracts)
    size, side = np.abs(n) * as_float(contract_size), np.sign(n)
    with quiet():
        lp = (
            size
            * (1 + side * as_float(mmr))
            / (side * (as_float(wallet) + as_float(cum)) + size / as_float(entry))
        )
        out = np.where((n != 0) & (as_float(entry) > 0) & (lp > 0), lp, np.nan)
    return like(contracts, out)


def bybit_inverse_position_margin(
    qty_usd: Num,
    entry: Num | float,
    leverage: Num | float,
    extra_margin: Num | float = 0.0,
    taker_fee: Num | float = 0.0,
) -> Num:
    """Bybit isolated inverse margin as the 2026 LP formula counts it: Q/EP/Lev + extra/(1 ± fee) [doc].

    Why the fee divides the extra margin only: the "estimated fee to close" sits in both IM and MM
    and cancels in isolated margin [doc: "The New Margin Calculation"]; the article's formula keeps
    it on the extra margin alone, + for a long, − for a short.
    """
    q, ep, lev = as_float(qty_usd), as_float(entry), as_float(leverage)
    side = np.sign(q)
    with quiet():
        out = np.abs(q) / ep / lev + as_float(extra_margin) / (1 + side * as_float(taker_fee))
        out = np.where((ep > 0) & (lev > 0), out, np.nan)
    return like(qty_usd, out)


def bybit_inverse_isolated_lp_closed(
    qty_usd: Num,
    entry: Num | float,
    leverage: Num | float,
    mmr: Num | float,
    mm_deduction: Num | float = 0.0,
    extra_margin: Num | float = 0.0,
    taker_fee: Num | float = 0.0,
) -> Num:
    """Bybit's 2026 isolated inverse LP, MM on the mark value [doc], one tier; NaN where none.

    long ``Q(1 + MMR)/(Q/EP + Q/EP/Lev + Extra/(1 + fee) + ded)``, short
    ``Q(1 − MMR)/(Q/EP − Q/EP/Lev − Extra/(1 − fee) − ded)``. Example A4: 60,000 USD @ 50,000, 10×,
    0.5 % → long 45,681.8182, short 55,277.7778.
    """
    margin = bybit_inverse_position_margin(as_float(qty_usd), entry, leverage, extra_margin, taker_fee)
    return like(qty_usd, coinm_isolated_lp_closed(as_float(qty_usd), 1.0, entry, margin, mmr, mm_deduction))


def bybit_inverse_isolated_lp_2024(
    qty_usd: Num, entry: Num | float, leverage: Num | float, mmr: Num | float
) -> Num:
    """Bybit's 2024-09 isolated inverse LP, MM on the *entry* value: Q/(PV ± (IM − MM_entry)) [doc].

    Superseded on 2025-09-02 (MM on the mark); kept to show the gap (Example A4 long: 45,662.1005,
    0.04 % below the current formula's 45,681.8182). PV = Q/EP, IM = PV/Lev, MM_entry = PV·MMR.
    """
    q, ep = as_float(qty_usd), as_float(entry)
    size, side = np.abs(q), np.sign(q)
    with quiet():
        pv = size / ep
        lp = size / (pv + side * (pv / as_float(leverage) - pv * as_float(mmr)))
        out = np.where((q != 0) & (ep > 0) & (lp > 0), lp, np.nan)
    return like(qty_usd, out)
