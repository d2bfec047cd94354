"""OKX's margin model for USDT-margined swaps in single-currency (Futures) margin mode (venues-next §c).

Why a model of its own beside Binance's (`liquidation.py`) and Bybit's (`bybit_liquidation.py`):

* OKX tiers by **contracts**, not by notional, so a position's tier does not move with the price
  and the liquidation price is the root of a *linear* margin test: a closed form, no re-tiering.
* OKX's requirement carries the **liquidation fee** (notional × taker fee) beside the maintenance
  margin: "margin ratio falls to 100 %, meaning your account equity is equal to or less than the
  required maintenance margin plus any applicable liquidation fees" [doc]. Without the fee term
  OKX's own positions example cannot be reproduced; with the 0.05 % taker rate it is, to 1e-16.
* Two `mmr`s: in position tiers it is a **rate** (`mm_rate` here); in positions it is the
  maintenance-margin **amount** in the margin currency (`mm_amount` here). Never one name for both.
* Two margin-ratio directions. OKX's `mgnRatio` = equity / requirement (liquidates at ≤ 1,
  `okx_mgn_ratio`). perpmon's margin ratio = requirement / equity (liquidates at ≥ 1, +inf when
  equity ≤ 0, `okx_margin_ratio`); the requirement is MM **plus the liquidation fee**, so 100 % is
  where OKX liquidates. One is the reciprocal of the other while equity > 0.

Quantities: `qty` is signed base units, `pos·ctVal·ctMult` with the side's sign (long > 0). Equity
is in the settle currency: isolated `margin + upl`; cross `cashBal + Σ upl − isolated/order holds`
of that currency. The LP holds every other mark (and so every other requirement) fixed.

Worked example (OKX's own "Get positions" response, BTC-USDT-SWAP cross long 1 contract, ctVal
0.01): imr 170.66093041794787 at lever 2 → notional 341.32186, mark 34,132.186; tier rate 0.004;
taker fee 0.0005; equity = mgnRatio 140.4993 × (MM 1.36529 + fee 0.17066) = 215.7997 →
LP = 12,608.959083877446 (the venue's `liqPx`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.margin import margin_ratio
from monitor.risk.reasons import Reason, ReasonArray

__all__ = [
    "OkxLiquidationArrays",
    "OkxTierTable",
    "OkxTiers",
    "okx_cross_liquidation_price",
    "okx_implied_fee_rate",
    "okx_inverse_isolated_liquidation_price",
    "okx_isolated_liquidation_price",
    "okx_linear_notional",
    "okx_liquidation_fee",
    "okx_liquidation_prices",
    "okx_maintenance_margin",
    "okx_margin_excess",
    "okx_margin_ratio",
    "okx_mgn_ratio",
    "okx_position_tier",
    "okx_requirement",
    "okx_tier_table",
    "okx_tiers",
]


class OkxTiers(NamedTuple):
    """One instrument family's position tiers for one `tdMode`, ascending by `maxSz`."""

    max_contracts: FloatArray  # `maxSz`: the tier holds |pos| ≤ this (and above the previous one)
    mm_rate: FloatArray  # the tiers' `mmr`: a RATE of notional
    im_rate: FloatArray  # the tiers' `imr`
    max_leverage: FloatArray  # `maxLever`


class OkxTierTable(NamedTuple):
    """Many families' tiers padded to (n_families, max_tiers): `maxSz` +inf, rates NaN past a row's end."""

    max_contracts: FloatArray
    mm_rate: FloatArray
    n_tiers: IntArray


def okx_tiers(
    max_contracts: Sequence[float] | FloatArray,
    mm_rate: Sequence[float] | FloatArray,
    im_rate: Sequence[float] | FloatArray | None = None,
    max_leverage: Sequence[float] | FloatArray | None = None,
) -> OkxTiers:
    """Build one family's tiers (read-only arrays); `im_rate`/`max_leverage` default to NaN."""
    mx, mm = np.array(max_contracts, dtype=np.float64), np.array(mm_rate, dtype=np.float64)
    im = np.full(mx.shape, np.nan) if im_rate is None else np.array(im_rate, dtype=np.float64)
    lev = np.full(mx.shape, np.nan) if max_leverage is None else np.array(max_leverage, dtype=np.float64)
    for a in (mx, mm, im, lev):
        a.flags.writeable = False
    return OkxTiers(mx, mm, im, lev)


def _usable(t: OkxTiers) -> bool:
    """A ladder that would pick a wrong rate (unsorted, non-finite, rate ∉ [0, 1)) is no ladder."""
    mx, mm = t.max_contracts, t.mm_rate
    return bool(
        mx.size > 0
        and mx.size == mm.size
        and np.all(np.isfinite(mx))
        and np.all(np.diff(mx) > 0)
        and mx[0] > 0
        and np.all((mm >= 0) & (mm < 1))
    )


def okx_tier_table(families: Sequence[OkxTiers]) -> OkxTierTable:
    """Stack families (row i = families[i]); a family failing the ladder checks becomes an empty row."""
    n = len(families)
    width = max((t.max_contracts.size for t in families), default=0) or 1
    mx = np.full((n, width), np.inf)
    mm = np.full((n, width), np.nan)
    count = np.zeros(n, dtype=np.intp)
    for i, t in enumerate(families):
        if _usable(t):
            k = t.max_contracts.size
            mx[i, :k], mm[i, :k], count[i] = t.max_contracts, t.mm_rate, k
    for a in (mx, mm, count):
        a.flags.writeable = False
    return OkxTierTable(mx, mm, count)


def okx_position_tier(
    table: OkxTierTable, family: IntArray, contracts: FloatArray
) -> tuple[IntArray, FloatArray]:
    """Tier index (−1: none) and its maintenance RATE for |contracts| in each position's family row.

    Why contracts: OKX's tiers are position sizes in contracts for SWAP [doc], so the tier is fixed
    while the price moves. A size between one tier's `maxSz` and the next `minSz` (fractional
    contracts) goes to the upper tier [inferred]. NaN size, a size above the last `maxSz`, a family
    index outside the table or an empty row: tier −1 and rate NaN (MISSING_TIER for the LP).
    """
    fam = np.asarray(family, dtype=np.intp)
    c = np.abs(as_float(contracts))
    n_fam = table.max_contracts.shape[0]
    ok = (fam >= 0) & (fam < n_fam) & np.isfinite(c)
    row = np.where(ok, fam, 0)
    if n_fam == 0:
        return np.full(c.shape, -1, dtype=np.intp), np.full(c.shape, np.nan)
    idx = np.sum(table.max_contracts[row] < c[..., None], axis=-1).astype(np.intp)
    ok &= idx < table.n_tiers[row]
    tier = np.where(ok, idx, -1).astype(np.intp)
    rate = np.where(ok, table.mm_rate[row, np.where(ok, idx, 0)], np.nan)
    return tier, rate


def okx_linear_notional(
    contracts: Num, ct_val: Num | float, mark: Num | float, ct_mult: Num | float = 1.0
) -> Num:
    """Notional in the settle currency: |pos|·ctVal·ctMult·mark; NaN for a mark ≤ 0."""
    p = as_float(mark)
    with quiet():
        out = np.abs(as_float(contracts)) * as_float(ct_val) * as_float(ct_mult) * p
        out = np.where(p > 0, out, np.nan)
    return like(contracts, out)


def okx_maintenance_margin(notional: Num, mm_rate: Num | float) -> Num:
    """The maintenance margin AMOUNT (positions' `mmr`) = notional × tier rate, whole position [inferred]."""
    return like(notional, as_float(notional) * as_float(mm_rate))


def okx_liquidation_fee(notional: Num, taker_fee: Num | float) -> Num:
    """Liquidation fee = notional × the account's SWAP taker rate (0.0005 at Lv1) [doc; rate inferred]."""
    return like(notional, as_float(notional) * as_float(taker_fee))


def okx_requirement(notional: Num, mm_rate: Num | float, taker_fee: Num | float) -> Num:
    """What equity must exceed: MM + liquidation fee = notional·(rate + fee) [doc-ex]."""
    return like(notional, as_float(notional) * (as_float(mm_rate) + as_float(taker_fee)))


def okx_margin_excess(equity: Num, requirement: Num | float) -> Num:
    """Equity − requirement: OKX liquidates where this is ≤ 0 ("equal to or less than") [doc]."""
    return like(equity, as_float(equity) - as_float(requirement))


def okx_mgn_ratio(equity: Num, requirement: Num | float) -> Num:
    """OKX's own `mgnRatio` = equity / requirement (LOWER is worse, ≤ 1 liquidates).

    +inf with no requirement (nothing to liquidate); ≤ 0 when equity is gone; NaN if either is NaN.
    Example C1 (isolated ETH): 26,400 / 1,531.20 = 17.24. Compare with the venue's field, not with
    perpmon's `margin_ratio` (use `okx_margin_ratio` for that).
    """
    e, r = as_float(equity), as_float(requirement)
    with quiet():
        out = np.where(r > 0, e / r, np.inf)
        out = np.where(np.isnan(e) | np.isnan(r), np.nan, out)
    return like(equity, out)


def okx_margin_ratio(requirement: Num, equity: Num | float) -> Num:
    """perpmon's margin ratio for OKX = (MM + liquidation fee) / equity (HIGHER is worse, ≥ 1 liquidates).

    The same convention as Binance's `margin.margin_ratio` (+inf when equity ≤ 0), so one alert
    threshold means one thing on every venue; = 1 / `okx_mgn_ratio` while equity > 0.
    """
    return margin_ratio(requirement, equity)


class OkxLiquidationArrays(NamedTuple):
    """Vectorised LPs: price (NaN unless the reason has a value) and an int8 `Reason` per position."""

    price: FloatArray
    reason: ReasonArray


def _lp(q: FloatArray, mark: FloatArray, base: FloatArray, rate: FloatArray) -> FloatArray:
    # base = equity − other requirement; equity(P) = base + q·(P − mark), requirement(P) = |q|·P·rate
    with quiet():
        return np.asarray((base - q * mark) / (np.abs(q) * rate - q), dtype=np.float64)


def okx_liquidation_prices(
    qty: FloatArray,
    mark: FloatArray,
    equity: FloatArray,
    mm_rate: FloatArray,
    taker_fee: FloatArray | float,
    *,
    other_requirement: FloatArray | float = 0.0,
) -> OkxLiquidationArrays:
    """LP = (E − R_others − q·mark) / (|q|·(m + f) − q) for many positions: where the margin test ties.

    Isolated: `equity` = margin + upl at mark, `other_requirement` 0 (this is the reference's
    ``(q·EP ∓ margin)/(q·(1 ∓ m ∓ f))``). Cross: `equity` = the currency's cashBal + Σ upl − holds,
    `other_requirement` = Σ over its other positions of notional·(rate + fee). Tiers do not move
    with price, so the LP is the root of a linear test [derived]. Reasons: NAN_INPUT, NO_POSITION,
    NON_POSITIVE_PRICE, MISSING_TIER (rate NaN), BAD_PARAMETER (rate + fee ∉ [0, 1) or negative),
    NOT_LIQUIDATABLE (no positive price ties: OKX sends ""), ALWAYS_LIQUIDATABLE (a short whose test
    fails at every price), PAST_LIQUIDATION (a value: equity ≤ requirement already at the mark).
    """
    q, p, e, m = np.broadcast_arrays(as_float(qty), as_float(mark), as_float(equity), as_float(mm_rate))
    f = np.broadcast_to(as_float(taker_fee), q.shape)
    other = np.broadcast_to(as_float(other_requirement), q.shape)
    q, p, e, m = (np.atleast_1d(a) for a in (q, p, e, m))
    f, other = np.atleast_1d(f), np.atleast_1d(other)
    rate = m + f
    base = e - other
    lp = _lp(q, p, base, rate)
    with quiet():
        past = base - np.abs(q) * p * rate <= 0
    reason = np.zeros(q.shape, dtype=np.int8)
    finite = np.isfinite(q) & np.isfinite(p) & np.isfinite(e) & np.isfinite(f) & np.isfinite(other)
    steps = (
        (~finite | np.isinf(m), Reason.NAN_INPUT),
        (q == 0, Reason.NO_POSITION),
        (p <= 0, Reason.NON_POSITIVE_PRICE),
        (np.isnan(m), Reason.MISSING_TIER),
        ((m < 0) | (f < 0) | (rate >= 1), Reason.BAD_PARAMETER),
    )
    for mask, why in steps:
        reason[(reason == 0) & mask] = why
    none = (reason == 0) & ~(lp > 0)
    reason[none] = np.where(past[none], Reason.ALWAYS_LIQUIDATABLE, Reason.NOT_LIQUIDATABLE)
    reason[(reason == 0) & past] = Reason.PAST_LIQUIDATION
    valued = (reason == 0) | (reason == Reason.PAST_LIQUIDATION)
    return OkxLiquidationArrays(np.where(valued, lp, np.nan), reason)


def okx_isolated_liquidation_price(
    qty: Num, entry: Num | float, margin: Num | float, mm_rate: Num | float, taker_fee: Num | float
) -> Num:
    """Isolated linear LP [derived]: long (q·EP − margin)/(q·(1 − m − f)), short (q·EP + margin)/(q·(1+m+f)).

    `margin` is the position's isolated `margin` (excluding upl). NaN where no positive price ties
    or an input is bad (use `okx_liquidation_prices` for the reason). Example C1: 80 ETH long @
    3,500, margin 28,000, m 0.005, f 0.0005 → 3,167.4208.
    """
    q, ep = as_float(qty), as_float(entry)
    with quiet():
        equity_at_entry = as_float(margin)  # upl is 0 at the entry: solve from there, mark := EP
        lp = _lp(q, ep, equity_at_entry, as_float(mm_rate) + as_float(taker_fee))
        out = np.where((q != 0) & (ep > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)


def okx_cross_liquidation_price(
    qty: Num,
    mark: Num | float,
    equity: Num | float,
    mm_rate: Num | float,
    taker_fee: Num | float,
    other_requirement: Num | float = 0.0,
) -> Num:
    """Futures-mode cross LP, others held [derived]: (E0 − R_others − q·mark)/(|q|·(m+f) − q); NaN if none."""
    args = [as_float(x) for x in (qty, mark, equity, mm_rate, taker_fee, other_requirement)]
    res = okx_liquidation_prices(*args[:5], other_requirement=args[5])
    return like(qty, res.price.reshape(np.broadcast(*args).shape))


def okx_inverse_isolated_liquidation_price(
    usd_face: Num, entry: Num | float, margin_coin: Num | float, mm_rate: Num | float, taker_fee: Num | float
) -> Num:
    """Isolated inverse LP [derived]: long V·(1 + m + f)/(margin + V/EP), short V·(1 − m − f)/(V/EP − margin).

    `usd_face` is signed V = pos·ctVal·ctMult USD; margin, MM and fee are in coin, the test linear
    in 1/P. Example C2: 100,000 USD long @ 100,000, margin 0.05 BTC, m 0.004, f 0.0005 → 95,666.6667.
    """
    v, ep = as_float(usd_face), as_float(entry)
    size, side = np.abs(v), np.sign(v)
    k = as_float(mm_rate) + as_float(taker_fee)
    with quiet():
        lp = size * (1 + side * k) / (side * as_float(margin_coin) + size / ep)
        out = np.where((v != 0) & (ep > 0) & (lp > 0), lp, np.nan)
    return like(usd_face, out)


def okx_implied_fee_rate(
    mgn_ratio: Num,
    mm_amount: Num | float,
    notional: Num | float,
    qty: Num | float,
    mark: Num | float,
    liq_px: Num | float,
) -> Num:
    """The liquidation-fee rate OKX used, from one position's own `mgnRatio`, `mmr`, `liqPx` [derived].

    Why: which taker rate enters the fee at VIP levels is an open question (§f.5); a position alone
    in its margin currency (or isolated) carries two equations — equity = mgnRatio·(MM + N·f) and the
    LP tie — in two unknowns, equity and f. OKX's example gives f = 0.000500000 to 15 digits.
    """
    r, mm, n, q, p, lp = (as_float(x) for x in (mgn_ratio, mm_amount, notional, qty, mark, liq_px))
    with quiet():
        m = mm / n
        size = np.abs(q)
        out = (lp * size * m - lp * q + q * p - r * mm) / (r * n - lp * size)
    return like(mgn_ratio, out)
