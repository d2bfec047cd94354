"""Liquidation prices of the account stage's contracts: one-way legs by the vectorised solver, hedge
pairs (a LONG and a SHORT leg sharing one LP) by the scalar one.

Apart from `account.py` because the two solvers are the stage's only numerics beyond margin sums,
and each is checked against `account_reference` leg by leg.
"""

from __future__ import annotations

import numpy as np

from monitor.evaluation.account_book import AccountBook
from monitor.risk._num import FloatArray, IntArray, quiet
from monitor.risk.liquidation import liquidation_prices
from monitor.risk.reasons import Reason, ReasonArray

__all__ = ["solve_hedge", "solve_oneway"]


def solve_oneway(
    book: AccountBook, g: IntArray, mark: FloatArray, wallet: FloatArray, om: FloatArray, ou: FloatArray
) -> tuple[FloatArray, ReasonArray]:
    """(LP, reason code) of one-way contracts `g`, with the checks of `liquidation_price` in its order.

    The vectorised solver picks each contract's tier; the price is then the scalar formula's at that
    tier (size·mmr − side·size as the denominator), so the two paths agree to the last bit.
    """
    q, e, row = book.g_q[g], book.entry[book.g_rep[g]], book.row[book.g_rep[g]]
    size = np.abs(q)
    with quiet():
        bad = ~(np.isfinite(mark) & np.isfinite(wallet) & np.isfinite(om) & np.isfinite(ou))
        bad |= (q != 0) & ~(np.isfinite(size) & np.isfinite(e))
        reason = np.where(bad, Reason.NAN_INPUT, Reason.OK).astype(np.int8)
        reason[(reason == 0) & (q == 0)] = Reason.NO_POSITION
        reason[(reason == 0) & ((mark <= 0) | (e <= 0))] = Reason.NON_POSITIVE_PRICE
    lp = np.full(g.shape, np.nan)
    act = np.flatnonzero(reason == 0)
    if act.size:
        qa, ea, ra = q[act], e[act], row[act]
        with quiet():
            base = wallet[act] - om[act] + ou[act]
        res = liquidation_prices(
            qa, ea, mark[act], wallet[act], book.table, ra, other_mm=om[act], other_upnl=ou[act]
        )
        t = res.tier
        solved = ((res.reason == Reason.OK) | (res.reason == Reason.PAST_LIQUIDATION)) & (t >= 0)
        at = ra * book.table.stride + np.where(solved, t, 0)
        mmr, cum = book.table.flat_mmrs.take(at), book.table.flat_cums.take(at)
        sa = np.abs(qa)
        with quiet():
            exact = (base + cum - np.sign(qa) * sa * ea) / (sa * mmr - np.sign(qa) * sa)
        lp[act] = np.where(solved, exact, res.price)
        reason[act] = res.reason
    return lp, reason


def solve_hedge(
    book: AccountBook, g: IntArray, mark: FloatArray, wallet: FloatArray, om: FloatArray, ou: FloatArray
) -> tuple[FloatArray, ReasonArray]:
    """(LP, reason code) of hedge contracts `g` (LONG and SHORT both open): `liquidation._scan`, all at once.

    Equity − MM is concave with both legs open, so there can be a root on each side of the mark;
    as in the scalar solver every tier segment in price is tried (the cuts where either leg
    changes tier), the roots that lie in their own segment kept, a crossing made only by an MM
    jump at a floor kept as that floor (TIER_BOUNDARY), and the one nearest the mark in log
    distance reported. Each float is formed as the scalar forms it, so the prices agree exactly.
    """
    t = book.table
    lo_leg, sh_leg = book.g_pair[g, 0], book.g_pair[g, 1]
    row = book.row[lo_leg]
    sL, sS = np.abs(book.q[lo_leg]), np.abs(book.q[sh_leg])
    eL, eS = book.entry[lo_leg], book.entry[sh_leg]
    n = g.size
    with quiet():
        bad = ~(np.isfinite(mark) & np.isfinite(wallet) & np.isfinite(om) & np.isfinite(ou))
        bad |= ~(np.isfinite(sL) & np.isfinite(sS) & np.isfinite(eL) & np.isfinite(eS))
        reason = np.where(bad, Reason.NAN_INPUT, Reason.OK).astype(np.int8)
        reason[(reason == 0) & ((mark <= 0) | (eL <= 0) | (eS <= 0))] = Reason.NON_POSITIVE_PRICE
        cap = t.last_cap[row]
        reason[(reason == 0) & ((sL * mark >= cap) | (sS * mark >= cap))] = Reason.MISSING_TIER
    lp = np.full(n, np.nan)
    act = np.flatnonzero(reason == 0)
    if not act.size:
        return lp, reason
    r, sL, sS, eL, eS = row[act], sL[act], sS[act], eL[act], eS[act]
    p0 = mark[act]
    floors, mmrs, cums = t.floors[r], t.mmrs[r], t.cums[r]  # (m, width), padded with +inf / NaN
    m = act.size
    ar = np.arange(m)[:, None]
    with quiet():
        base = wallet[act] - om[act] + ou[act]
        cuts = np.sort(
            np.concatenate([floors[:, 1:] / sL[:, None], floors[:, 1:] / sS[:, None]], axis=1), axis=1
        )
        edges = np.concatenate([np.zeros((m, 1)), cuts, np.full((m, 1), np.inf)], axis=1)
        lo, hi = edges[:, :-1], edges[:, 1:]
        seg = np.isfinite(lo)
        mid = np.where(np.isfinite(hi), 0.5 * (lo + hi), lo + 1.0)

        def tiers(price: FloatArray, size: FloatArray) -> IntArray:
            x = size[:, None] * np.maximum(price, 0.0)
            return np.asarray((floors[:, None, :] <= x[..., None]).sum(axis=-1) - 1, dtype=np.intp)

        def excess(price: FloatArray, tl: IntArray, ts: IntArray) -> FloatArray:
            up = sL[:, None] * (price - eL[:, None]) + -sS[:, None] * (price - eS[:, None])
            mm = (sL[:, None] * price * mmrs[ar, tl] - cums[ar, tl]) + (
                sS[:, None] * price * mmrs[ar, ts] - cums[ar, ts]
            )
            return np.asarray(base[:, None] + up - mm)

        tl, ts = tiers(mid, sL), tiers(mid, sS)
        num = base[:, None] + (cums[ar, tl] + cums[ar, ts]) - (sL * eL + -(sS * eS))[:, None]
        den = (sL[:, None] * mmrs[ar, tl] + sS[:, None] * mmrs[ar, ts]) - (sL + -sS)[:, None]
        cand = np.where(den != 0.0, num / den, np.nan)
        ok = seg & np.isfinite(cand) & (lo <= cand) & (cand < hi) & (cand > 0)
        left = excess(lo[:, 1:], tl[:, :-1], ts[:, :-1])
        right = excess(lo[:, 1:], tl[:, 1:], ts[:, 1:])
        edge = np.zeros_like(ok)
        edge[:, 1:] = seg[:, 1:] & (lo[:, 1:] > 0) & (left * right < 0)
        # candidates in the scalar's order: each segment's floor crossing, then its own root
        price = np.stack([lo, cand], axis=2).reshape(m, -1)
        code = np.stack(
            [np.full(lo.shape, Reason.TIER_BOUNDARY), np.full(lo.shape, Reason.OK)], axis=2
        ).reshape(m, -1)
        keep = np.stack([edge, ok], axis=2).reshape(m, -1)
        dist = np.where(keep, np.abs(np.log(price / p0[:, None])), np.inf)
        best = dist.min(axis=1)
        tie = keep & (dist == best[:, None])
        first_ok = tie & (code == Reason.OK)
        pick = np.where(first_ok.any(axis=1), first_ok.argmax(axis=1), tie.argmax(axis=1))
        found = keep.any(axis=1)
        tl0, ts0 = tiers(p0[:, None], sL)[:, 0], tiers(p0[:, None], sS)[:, 0]
        past = excess(p0[:, None], tl0[:, None], ts0[:, None])[:, 0] < 0
    got = price[np.arange(m), pick]
    why = code[np.arange(m), pick].astype(np.int8)
    why = np.where(past & (why == Reason.OK), np.int8(Reason.PAST_LIQUIDATION), why)
    none = np.where(past, np.int8(Reason.ALWAYS_LIQUIDATABLE), np.int8(Reason.NOT_LIQUIDATABLE))
    lp[act] = np.where(found, got, np.nan)
    reason[act] = np.where(found, why, none)
    return lp, reason
