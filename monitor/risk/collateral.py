"""Non-stablecoin collateral: Binance Multi-Assets mode and Bybit UTA collateral ratios (venues-next §b).

Why a module of its own: with BTC posted as margin the account's equity moves with the very price
that hurts a short, so the liquidation price is not the single-asset one. Both venues value each
coin in USD after a haircut and compare with the positions' maintenance margin:

* Binance Multi-Assets (USDⓈ-M, cross only) [doc]: asset equity ``e_a`` (wallet + UPnL of the
  positions margined in it) counts at ``bidRate = index·(1 − bidBuffer)`` when positive and at
  ``askRate = index·(1 + askBuffer)`` when negative; maintenance margin is valued at the margin
  asset's ask rate [doc-ex: the FAQ's 199.596 and a real account's `totalMaintMargin`].
* Bybit UTA [doc]: each coin counts at its collateral value ratio, tiered by quantity (applied
  slice by slice here [inferred]); negative balances count at 100 %.

The LP of one linear position (margin asset m, signed base quantity q, others' marks held) solves
``C0 + L·P + rate·e_m(P) = ask_m·(|q|·P·mmr − cum) + MM_others`` with ``e_m(P) = w' + q·(P − EP)``,
``rate`` = bid or ask by the sign of ``e_m`` at the LP, the bracket at the LP's notional [derived].
``C0`` is the USD value of collateral held fixed and ``L`` the USD value per unit of mark of
collateral whose index is *linked* to the mark (BTC against a BTCUSDT short: ``L`` = BTC held ×
its ratio × index/mark). With L = 0 this is the reference's formula; with bid = ask = 1 and
L = 0 it is Bybit's UTA test (Example B2). Linking is **an assumption, not a venue rule**: say
which convention a figure uses. A BTC-backed short then hedges itself: its LP moves far away or
disappears (1.2 BTC short, 1 BTC + 2,000 USDT: no LP below, about 4.8× the mark above).

Example B1 (BTCUSDT long 0.5 @ 100,000; 2,000 USDT + 1.5 ETH at 3,500 with a 5 % haircut):
ask branch, bracket 1 → LP 86,371.4833, where equity = MM = 172.7602 USD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.margin import margin_ratio
from monitor.risk.reasons import Reason, ReasonArray
from monitor.risk.tiers import TierTable

__all__ = [
    "ASK_BRANCH",
    "BID_BRANCH",
    "CollateralLiquidationArrays",
    "CvrTable",
    "CvrTiers",
    "account_total",
    "asset_rates",
    "asset_usd_value",
    "collateral_liquidation_prices",
    "collateral_margin_ratio",
    "cvr_table",
    "cvr_tiers",
    "linked_slope",
    "tiered_collateral_qty",
]

BID_BRANCH = 1  # the margin asset's equity is ≥ 0 at the LP: valued at the bid rate
ASK_BRANCH = -1  # < 0 at the LP: valued at the ask rate


def asset_rates(index: Num, bid_buffer: Num | float, ask_buffer: Num | float) -> tuple[Num, Num]:
    """(bidRate, askRate) = index·(1 − bidBuffer), index·(1 + askBuffer) [doc-ex]; NaN for index ≤ 0.

    The docs' ADAUSD: 1.92957370 with 10 % buffers → 1.73661633, 2.12253107. 1 − bidBuffer is the
    collateral ratio the trading-rules page lists (ADA 90 %).
    """
    i = as_float(index)
    with quiet():
        ok = i > 0
        bid = np.where(ok, i * (1.0 - as_float(bid_buffer)), np.nan)
        ask = np.where(ok, i * (1.0 + as_float(ask_buffer)), np.nan)
    return like(index, bid), like(index, ask)


def asset_usd_value(equity: Num, bid_rate: Num | float, ask_rate: Num | float) -> Num:
    """An asset's contribution to Multi-Assets equity: e·bid when e ≥ 0, e·ask when e < 0 [doc].

    The FAQ: 200 USDT at bid 0.9801 → 196.02; a −4,814.258 USDT balance at ask 1.0001 → −4,814.74.
    """
    e = as_float(equity)
    with quiet():
        out = np.where(e >= 0, e * as_float(bid_rate), e * as_float(ask_rate))
    return like(equity, out)


def account_total(values: FloatArray, account: IntArray, n_accounts: int) -> FloatArray:
    """Σ values per account (index 0..n−1); NaN where any term is NaN (never a plausible partial sum)."""
    v, a = as_float(values), np.asarray(account, dtype=np.intp)
    finite = ~np.isnan(v)
    with quiet():
        tot = np.bincount(a, weights=np.where(finite, v, 0.0), minlength=n_accounts)
    bad = np.bincount(a, weights=(~finite).astype(np.float64), minlength=n_accounts)
    return np.asarray(np.where(bad > 0, np.nan, tot), dtype=np.float64)


def collateral_margin_ratio(mm_usd: Num, equity_usd: Num | float) -> Num:
    """Account margin ratio = MM (USD, at ask) / equity (USD, after haircuts); +inf when equity ≤ 0.

    Binance Multi-Assets liquidates at 100 % [doc]; Bybit's `accountMMRate` is the same quotient
    with `totalMarginBalance` (after CVR) below [doc]. FAQ: 199.596 / 416.02 = 47.98 %.
    """
    return margin_ratio(mm_usd, equity_usd)


def linked_slope(balance: Num, ratio: Num | float, index_per_mark: Num | float = 1.0) -> Num:
    """USD value per unit of mark of collateral whose index follows the mark: balance·ratio·index/mark.

    Binance: ratio = 1 − bidBuffer for a positive balance (1 + askBuffer for a negative one), and
    index/mark ≈ the USDTUSD index (BTCUSD index ≈ BTCUSDT mark × USDTUSD) — an assumption, not
    a venue rule. Bybit: pass the tiered collateral quantity as `balance` and ratio 1.
    """
    return like(balance, as_float(balance) * as_float(ratio) * as_float(index_per_mark))


class CvrTiers(NamedTuple):
    """One coin's collateral value ratio tiers by quantity (Bybit `collateralRatioList`), ascending."""

    min_qty: FloatArray
    max_qty: FloatArray  # +inf for Bybit's "" (no upper limit)
    ratio: FloatArray


class CvrTable(NamedTuple):
    """Many coins' CVR tiers padded to (n_coins, max_tiers): width 0 slices past a row's end."""

    min_qty: FloatArray
    max_qty: FloatArray
    ratio: FloatArray
    n_tiers: IntArray


def cvr_tiers(
    min_qty: Sequence[float] | FloatArray,
    max_qty: Sequence[float] | FloatArray,
    ratio: Sequence[float] | FloatArray,
) -> CvrTiers:
    """One coin's tiers as read-only arrays (give `max_qty` +inf for the open last tier)."""
    out = CvrTiers(*(np.array(x, dtype=np.float64) for x in (min_qty, max_qty, ratio)))
    for a in out:
        a.flags.writeable = False
    return out


def _contiguous(t: CvrTiers) -> bool:
    """Tiers that tile [0, ∞) without gaps, ratios in [0, 1]: anything else would value a slice wrongly."""
    lo, hi, r = t.min_qty, t.max_qty, t.ratio
    return bool(
        lo.size > 0
        and lo.size == hi.size == r.size
        and lo[0] == 0
        and np.all(lo[1:] == hi[:-1])
        and np.all(hi > lo)
        and np.isinf(hi[-1])
        and np.all((r >= 0) & (r <= 1))
    )


def cvr_table(coins: Sequence[CvrTiers]) -> CvrTable:
    """Stack coins (row i = coins[i]); a coin whose tiers fail the checks becomes an empty row (NaN value)."""
    n = len(coins)
    width = max((t.min_qty.size for t in coins), default=0) or 1
    lo = np.zeros((n, width))
    hi = np.zeros((n, width))
    r = np.zeros((n, width))
    count = np.zeros(n, dtype=np.intp)
    for i, t in enumerate(coins):
        if _contiguous(t):
            k = t.min_qty.size
            lo[i, :k], hi[i, :k], r[i, :k], count[i] = t.min_qty, t.max_qty, t.ratio, k
    for a in (lo, hi, r, count):
        a.flags.writeable = False
    return CvrTable(lo, hi, r, count)


def tiered_collateral_qty(qty: FloatArray, table: CvrTable, coin: IntArray) -> FloatArray:
    """Coin quantity after Bybit's tiered CVR, slice by slice [inferred]; a negative balance at 100 % [doc].

    12 BTC on 0.98 up to 10 and 0.95 above → 10 × 0.98 + 2 × 0.95 = 11.70 BTC. NaN where the coin
    has no (valid) table row or the quantity is NaN. Multiply by the coin's USD index for the value.
    """
    q = as_float(qty)
    c = np.asarray(coin, dtype=np.intp)
    n_coins = table.min_qty.shape[0]
    ok = (c >= 0) & (c < n_coins)
    row = np.where(ok, c, 0)
    if n_coins == 0:
        return np.full(q.shape, np.nan)
    ok &= table.n_tiers[row] > 0
    lo, hi, r = table.min_qty[row], table.max_qty[row], table.ratio[row]
    with quiet():
        slice_qty = np.clip(np.maximum(q, 0.0)[..., None] - lo, 0.0, hi - lo)
        pos = np.sum(np.where(slice_qty > 0, slice_qty * r, 0.0), axis=-1)
        out = np.where(q < 0, q, pos)
    return np.asarray(np.where(ok & ~np.isnan(q), out, np.nan), dtype=np.float64)


class CollateralLiquidationArrays(NamedTuple):
    """Vectorised LPs: price (NaN unless the reason has a value), bracket and branch at the LP, reason."""

    price: FloatArray
    tier: IntArray
    branch: IntArray  # BID_BRANCH / ASK_BRANCH: the margin asset's equity sign at the LP; 0 none
    reason: ReasonArray


def collateral_liquidation_prices(
    q: FloatArray,
    entry: FloatArray,
    mark: FloatArray,
    settle_wallet: FloatArray,
    table: TierTable,
    sym: IntArray,
    *,
    fixed_usd: FloatArray | float = 0.0,
    linked_usd_per_price: FloatArray | float = 0.0,
    other_mm_usd: FloatArray | float = 0.0,
    bid_rate: FloatArray | float = 1.0,
    ask_rate: FloatArray | float = 1.0,
) -> CollateralLiquidationArrays:
    """LPs of linear positions against haircut multi-asset collateral, each root tier- and branch-consistent.

    `settle_wallet` = w', the margin asset's wallet plus the UPnL of its *other* positions (asset
    units); `fixed_usd` = C0, the other assets' USD value after haircuts; `linked_usd_per_price` =
    L (`linked_slope`); `other_mm_usd` = the other positions' MM in USD at their ask rates;
    `bid_rate`/`ask_rate` = the margin asset's rates (Bybit UTA: 1, 1). Every (bracket, branch)
    cell is solved at once; the roots lying in their own cell are kept and the one nearest the mark
    (log distance) reported, as price reaches it first. Reasons as `liquidation.liquidation_prices`:
    NAN_INPUT, NO_POSITION, NON_POSITIVE_PRICE, MISSING_TIER, NOT_LIQUIDATABLE,
    ALWAYS_LIQUIDATABLE, PAST_LIQUIDATION (a value: MM ≥ equity already at the mark).
    """
    arrs = np.broadcast_arrays(
        *(np.atleast_1d(as_float(x)) for x in (q, entry, mark, settle_wallet, fixed_usd,
                                               linked_usd_per_price, other_mm_usd, bid_rate, ask_rate))
    )  # fmt: skip
    qq, ep, p, w, c0, lk, mmo, bid, ask = (np.asarray(a, dtype=np.float64) for a in arrs)
    s = np.broadcast_to(np.asarray(sym, dtype=np.intp), qq.shape)
    n_sym = table.floors.shape[0]
    row_ok = (s >= 0) & (s < n_sym)
    row = np.where(row_ok, s, 0)
    if n_sym == 0:
        empty = np.full(qq.shape, np.nan)
        return CollateralLiquidationArrays(
            empty,
            np.full(qq.shape, -1, np.intp),
            np.zeros(qq.shape, np.intp),
            _reasons(qq, ep, p, arrs, row_ok),
        )
    row_ok &= table.n_tiers[row] > 0
    floors, mmr, cum = table.floors[row], table.mmrs[row], table.cums[row]
    upper = np.concatenate([floors[:, 1:], np.full((qq.size, 1), np.inf)], axis=1)
    size = np.abs(qq)
    with quiet():
        n_mark = size * p
        t_mark = np.sum(floors <= n_mark[:, None], axis=1) - 1
        at = np.clip(t_mark, 0, floors.shape[1] - 1)
        missing = ~row_ok | (t_mark < 0) | (n_mark >= table.last_cap[row])
        e_mark = w + qq * (p - ep)
        eq_mark = c0 + lk * p + np.where(e_mark >= 0, bid, ask) * e_mark
        mm_mark = ask * (n_mark * mmr[np.arange(qq.size), at] - cum[np.arange(qq.size), at]) + mmo
        past = eq_mark - mm_mark < 0
        cands = []
        for rate, branch in ((bid, BID_BRANCH), (ask, ASK_BRANCH)):
            num = c0[:, None] + (rate * (w - qq * ep))[:, None] + ask[:, None] * cum - mmo[:, None]
            den = ask[:, None] * size[:, None] * mmr - (rate * qq + lk)[:, None]
            lp = num / den
            e_lp = w[:, None] + qq[:, None] * (lp - ep[:, None])
            side_ok = e_lp >= 0 if branch == BID_BRANCH else e_lp < 0
            x = size[:, None] * lp
            good = (lp > 0) & np.isfinite(lp) & (floors <= x) & (x < upper) & side_ok
            cands.append((lp, good, branch))
        lps = np.concatenate([c[0] for c in cands], axis=1)
        goods = np.concatenate([c[1] for c in cands], axis=1)
        dist = np.where(goods, np.abs(np.log(lps / p[:, None])), np.inf)
    pick = np.argmin(dist, axis=1)
    idx = np.arange(qq.size)
    found = goods[idx, pick]
    width = floors.shape[1]
    reason = _reasons(qq, ep, p, arrs, ~missing)
    none = (reason == 0) & ~found
    reason[none] = np.where(past[none], Reason.ALWAYS_LIQUIDATABLE, Reason.NOT_LIQUIDATABLE)
    reason[(reason == 0) & past] = Reason.PAST_LIQUIDATION
    valued = (reason == 0) | (reason == Reason.PAST_LIQUIDATION)
    price = np.where(valued, lps[idx, pick], np.nan)
    tier = np.where(valued, pick % width, -1).astype(np.intp)
    side = np.where(valued, np.where(pick < width, BID_BRANCH, ASK_BRANCH), 0).astype(np.intp)
    return CollateralLiquidationArrays(price, tier, side, reason)


def _reasons(
    qq: FloatArray, ep: FloatArray, p: FloatArray, arrs: Sequence[FloatArray], tiered: np.ndarray
) -> ReasonArray:
    reason = np.zeros(qq.shape, dtype=np.int8)
    finite = np.all([np.isfinite(a) for a in arrs], axis=0)
    for mask, why in (
        (~finite, Reason.NAN_INPUT),
        (qq == 0, Reason.NO_POSITION),
        ((ep <= 0) | (p <= 0), Reason.NON_POSITIVE_PRICE),
        ((arrs[7] <= 0) | (arrs[8] < arrs[7]), Reason.BAD_PARAMETER),  # a rate ≤ 0 or ask below bid
        (~tiered, Reason.MISSING_TIER),
    ):
        reason[(reason == 0) & mask] = why
    return reason
