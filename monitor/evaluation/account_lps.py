"""Liquidation prices and their reasons per venue model, for every contract of the book at once.

Binance's model (cross symbols share an LP, isolated legs on their own wallet, hedge pairs by the
scalar solver), the LP recomputed on the venue's marks for the divergence figure, and Bybit's
mark-valued model: apart from `account.py` so the stage reads as "price the legs, solve, emit".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from monitor.evaluation.account_book import AccountBook
from monitor.evaluation.account_bybit import _lp_reason as bybit_lp_reason
from monitor.evaluation.account_reference import lp_of_group
from monitor.evaluation.account_solve import solve_hedge, solve_oneway
from monitor.evaluation.legs import Leg, Part, join_reasons, leg_reason
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.bybit_liquidation import bybit_cross_liquidation_price, bybit_isolated_liquidation_price
from monitor.risk.liquidation import cross_others
from monitor.risk.reasons import Reason
from monitor.risk.tiers import tier_mm_open

__all__ = ["LegCols", "binance_lps", "bybit_lps", "leg_notes", "venue_lps"]

_NAMES = {int(r): ("" if r == Reason.OK else r.name.lower()) for r in Reason}


LegCols = tuple[FloatArray, FloatArray, FloatArray, IntArray, IntArray, IntArray, BoolArray]


def leg_notes(value: float, legs: Sequence[int], flagged: Mapping[int, Leg], parts: tuple[Part, ...]) -> str:
    """`legs.leg_reason` over these legs: only flagged ones (not all live) can add a note."""
    fl = [flagged[j] for j in legs if j in flagged]
    return leg_reason(value, fl, parts) if fl else ""


def binance_lps(
    book: AccountBook,
    cols: LegCols,
    flagged: dict[int, Leg],
    fl_cross: dict[int, list[int]],
    lp: FloatArray,
    lp_why: list[str],
    same: FloatArray,
) -> None:
    """`account_reference._binance_lps` and `_venue_state_lps` for every Binance contract at once."""
    n_g = book.g_rep.size
    if not n_g:
        return
    mark, upnl, mm = cols[0], cols[1], cols[2]
    rep, legs_of = book.g_rep, book.g_legs
    acc = book.acc[rep]
    iso = ~book.cross[rep]
    cross_leg = book.cross & (book.group >= 0)
    a_leg = np.where(cross_leg, book.acc, -1)
    g_leg = np.where(cross_leg, book.group, 0)
    with quiet():
        om_l, ou_l = cross_others(a_leg, mm, upnl, g_leg)
    om, ou = np.where(iso, 0.0, om_l[rep]), np.where(iso, 0.0, ou_l[rep])
    wallet = np.where(iso, book.iso_wallet[rep], book.wallet[acc])
    g_mark = mark[rep]
    has_b = book.row[rep] >= 0
    with quiet():
        priced = has_b & (g_mark > 0) & ~np.isnan(om + ou)
    flagged_acc = sorted({int(book.acc[j]) for j in flagged})
    g_lp = np.full(n_g, np.nan)
    g_why = np.zeros(n_g, dtype=np.int8)
    one = np.flatnonzero(priced & book.g_oneway)
    if one.size:
        g_lp[one], g_why[one] = solve_oneway(book, one, g_mark[one], wallet[one], om[one], ou[one])
    g_text: list[str] = [""] * n_g
    pair = np.flatnonzero(priced & (book.g_pair[:, 0] >= 0))
    if pair.size:
        g_lp[pair], codes = solve_hedge(book, pair, g_mark[pair], wallet[pair], om[pair], ou[pair])
        for g, c in zip(pair.tolist(), codes.tolist(), strict=True):
            g_text[g] = _NAMES[c]
    for g in np.flatnonzero(priced & ~book.g_oneway & (book.g_pair[:, 0] < 0)).tolist():
        r = int(book.row[rep[g]])
        g_lp[g], g_text[g] = lp_of_group(
            float(g_mark[g]),
            float(wallet[g]),
            book.bracket_rows[r],
            [book.positions[j] for j in legs_of[g]],
            float(om[g]),
            float(ou[g]),
        )
    # the usual contract: solved, every leg of its account live; its reason is the solver's alone
    texts = [_NAMES[c] for c in g_why.tolist()]
    for g in np.flatnonzero(~(priced & book.g_oneway)).tolist():
        texts[g] = g_text[g]
    for g in np.flatnonzero(~has_b).tolist():
        texts[g] = "missing_tier"
    lp_list = g_lp.tolist()
    for g in np.flatnonzero(has_b & ~(g_mark > 0)).tolist():
        own = flagged.get(int(rep[g]))
        texts[g] = (own.unpriced if own is not None else "") or "no_mark"
    noted = has_b & (g_mark > 0) & (np.isin(acc, flagged_acc) if flagged_acc else np.zeros(n_g, dtype=bool))
    for g in np.flatnonzero(noted | (has_b & (g_mark > 0) & ~priced)).tolist():
        others = () if iso[g] else [j for j in fl_cross.get(int(acc[g]), ()) if book.group[j] != g]
        if not priced[g]:
            texts[g] = leg_notes(math.nan, others, flagged, ("upnl", "mm")) or "nan_input"
        else:
            x = lp_list[g]
            r0 = int(rep[g])
            texts[g] = join_reasons(
                texts[g],
                leg_notes(x, (r0,), flagged, ("mark",)),
                leg_notes(x, others, flagged, ("upnl", "mm")),
            )
    legs = np.flatnonzero(book.group >= 0)
    lp[legs] = g_lp[book.group[legs]]
    for j, g in zip(legs.tolist(), book.group[legs].tolist(), strict=True):
        lp_why[j] = texts[g]
    venue_lps(book, cols, om_l, ou_l, same)


def venue_lps(
    book: AccountBook, cols: LegCols, om_live: FloatArray, ou_live: FloatArray, same: FloatArray
) -> None:
    """Our LP on the venue's marks (`account_reference._venue_state_lps`), per leg."""
    mark = cols[0]
    bin_leg = book.group >= 0
    has_b = book.row >= 0
    # an account's cross legs have one only if every one of them has tiers
    no_b = np.bincount(
        book.acc, weights=(bin_leg & book.cross & ~has_b).astype(np.float64), minlength=book.n_acc
    )
    with quiet():
        vm = np.where(book.vmark > 0, book.vmark, mark)
        mm_v = tier_mm_open(book.table, np.where(bin_leg, book.row, -1), np.abs(book.q) * vm)
        upnl_v = book.q * (vm - book.entry)
    cross_leg = bin_leg & book.cross
    a_leg = np.where(cross_leg, book.acc, -1)
    g_leg = np.where(cross_leg, book.group, 0)
    with quiet():
        om, ou = cross_others(a_leg, mm_v, upnl_v, g_leg)
    iso = bin_leg & ~book.cross & has_b
    use = (cross_leg & (no_b[book.acc] == 0)) | iso
    wallet = np.where(book.cross, book.wallet[book.acc], book.iso_wallet)
    one = book.g_oneway[book.group] & use
    sel = np.flatnonzero(one)
    if sel.size:
        same[sel], _ = solve_oneway(book, book.group[sel], vm[sel], wallet[sel], om[sel], ou[sel])
    two = use & ~one & (book.g_pair[book.group, 0] >= 0)
    sel = np.flatnonzero(two)
    if sel.size:
        same[sel], _ = solve_hedge(book, book.group[sel], vm[sel], wallet[sel], om[sel], ou[sel])
    for j in np.flatnonzero(use & ~one & ~two).tolist():
        g = int(book.group[j])
        same[j] = lp_of_group(
            float(vm[j]),
            float(wallet[j]),
            book.bracket_rows[int(book.row[j])],
            [book.positions[i] for i in book.g_legs[g]],
            float(om[j]),
            float(ou[j]),
        )[0]
    del om_live, ou_live


def bybit_lps(
    book: AccountBook,
    cols: LegCols,
    mm_total: FloatArray,
    balance: FloatArray,
    flagged: dict[int, Leg],
    fl_cross: dict[int, list[int]],
    lp: FloatArray,
    lp_why: list[str],
    same: FloatArray,
) -> None:
    """`account_bybit.bybit_lps` for every Bybit leg at once, each on its own padded tier row."""
    sel = np.flatnonzero(book.bybit)
    if not sel.size:
        return
    mark = cols[0]
    q, e, acc, cross = book.q[sel], book.entry[sel], book.acc[sel], book.cross[sel]
    row = book.row[sel]
    has_b = row >= 0
    r = np.where(has_b, row, 0)  # a leg without tiers is solved on row 0 and set NaN below
    tiers = (book.table.floors, book.table.mmrs, book.table.cums)
    xb = book.cross & book.bybit
    with quiet():
        vm = np.where(book.vmark > 0, book.vmark, mark)
        v_upnl = book.q * (vm - book.entry)
        v_mm = np.maximum(tier_mm_open(book.table, np.where(xb, book.row, -1), np.abs(book.q) * vm), 0.0)
    v_equity = book.wallet + np.bincount(book.acc[xb], weights=v_upnl[xb], minlength=book.n_acc)
    v_mm_sum = np.bincount(book.acc[xb], weights=v_mm[xb], minlength=book.n_acc)
    v_mm_total = np.asarray(v_mm_sum, dtype=np.float64)
    with quiet():
        iso_lp = np.asarray(bybit_isolated_liquidation_price(q, e, book.iso_wallet[sel], *tiers, rows=r))
        live_lp = np.asarray(
            bybit_cross_liquidation_price(q, mark[sel], balance[acc], mm_total[acc], *tiers, rows=r)
        )
        v_eq, v_mm_a = v_equity[acc], v_mm_total[acc]
        same_lp = np.asarray(bybit_cross_liquidation_price(q, vm[sel], v_eq, v_mm_a, *tiers, rows=r))
    out = np.where(has_b, np.where(cross, live_lp, iso_lp), np.nan)
    lp[sel] = out
    same[sel] = np.where(has_b, np.where(cross, same_lp, iso_lp), np.nan)
    nan = np.isnan(out)
    for j in sel[nan].tolist():
        lp_why[j] = "not_liquidatable"
    for j in sel[~has_b].tolist():
        lp_why[j] = "missing_tier"
    # a reason beyond that only where a leg of the account is not live (`account_bybit._lp_reason`)
    touched = {int(book.acc[j]) for j in flagged}
    for j, x, c, a in zip(sel.tolist(), out.tolist(), cross.tolist(), acc.tolist(), strict=True):
        if a not in touched:
            continue
        inputs = fl_cross.get(a, []) if c else [j]
        own = flagged.get(j)
        fl = [flagged[i] for i in inputs if i in flagged]
        if own is not None:
            lp_why[j] = bybit_lp_reason(x, own, fl)
        elif math.isnan(x):
            lp_why[j] = leg_reason(x, fl, ("upnl", "mm")) or "not_liquidatable"
        else:
            lp_why[j] = leg_reason(x, fl, ("upnl", "mm"))
