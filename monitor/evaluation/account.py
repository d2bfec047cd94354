"""Account and position figures for every account and position at once (the daemon's account stage).

The figures, their reasons and their freshness are those of `account_reference` (Binance's cross
model with re-tiering, hedge legs sharing one LP, isolated legs on their own wallet, Bybit's
mark-valued model, legs priced from the venue's account data when there is no live mark or no
tiers, and the LP recomputed on the venue's marks for the divergence figure); the tests hold the
two equal figure by figure. What differs is the cost: the reference prices one leg at a time and
sums the other contracts' MM and UPnL again for each, which is quadratic in the legs of an account
(one account of 1,000 legs: over a second per tick). Here each quantity is one array over every
position of every account: the others' sums are the account's total less the contract's
(`cross_others`), the LPs come from the vectorised solver (`liquidation_prices`) on per-account
tier rows, and Python touches a leg only to emit its figures or to name it in a reason.

What only changes with the accounts and tiers (the columns of positions, the tier table, the
labels) is built once and reused while the store hands the same records back, tick after tick.
An account with a malformed tier table (a gap, a bad rate: `tier_table` leaves its row empty,
while the reference still prices the leg from it) is evaluated by the reference.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import msgspec
import numpy as np

from monitor.evaluation.account_book import LIVE, NONE, VENUE, AccountBook, build_book
from monitor.evaluation.account_bybit import _lp_reason as bybit_lp_reason
from monitor.evaluation.account_emit import KeyCache, emit_columns
from monitor.evaluation.account_reference import (
    PAST_EVERY_PRICE,
    STABLECOINS,
    account_one,
    cross_wallet,
    iso_reason,
    lp_of_group,
)
from monitor.evaluation.account_solve import solve_hedge, solve_oneway
from monitor.evaluation.legs import Leg, Part, join_reasons, leg_reason, price_leg
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.bybit_liquidation import bybit_cross_liquidation_price, bybit_isolated_liquidation_price
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.liquidation import cross_others
from monitor.risk.margin import margin_ratio
from monitor.risk.reasons import Reason
from monitor.risk.tiers import tier_mm_open
from monitor.store.state import Snapshot

__all__ = ["STABLECOINS", "AccountStage", "account_figures", "cross_wallet"]

_ENCODE = msgspec.msgpack.Encoder().encode
_NAMES = {int(r): ("" if r == Reason.OK else r.name.lower()) for r in Reason}


def account_figures(
    snap: Snapshot,
    markets: Mapping[tuple[str, str], MarketView],
    fresh: Mapping[tuple[str, str], bool],
    sink: FigureSink,
    *,
    horizon_s: float,
    bybit_venues: frozenset[str] = frozenset(),
) -> None:
    """Every account's figures into `sink` (see `account_reference.account_figures` for what they mean)."""
    AccountStage(bybit_venues)(snap, markets, fresh, sink, horizon_s=horizon_s)


class AccountStage:
    """The account stage of the evaluator; keeps the columns of the last book it saw."""

    def __init__(self, bybit_venues: frozenset[str] = frozenset()) -> None:
        self._bybit = bybit_venues
        self._book: AccountBook | None = None
        self._keys = KeyCache()  # the figures' keys for this book, kept while it holds

    def _book_for(self, snap: Snapshot) -> AccountBook:
        accounts = list(snap.accounts.items())
        tiers = snap.tiers
        recs = tuple(
            tiers.get((venue, account, p.symbol)) for (venue, account), a in accounts for p in a.positions
        )
        old = self._book
        if (
            old is not None
            and len(old.accounts) == len(accounts)
            and len(old.recs) == len(recs)
            and all(x is y for x, y in zip(old.recs, recs, strict=True))
            and all(p[:2] == k for p, (k, _) in zip(old.plan, accounts, strict=True))
        ):
            if all(x is y for x, (_, y) in zip(old.accounts, accounts, strict=True)):
                return old
            if all(_same_account(x, y) for x, (_, y) in zip(old.accounts, accounts, strict=True)):
                # a reconcile that restates the same legs and wallet: the columns hold, the records move on
                self._book = dataclasses.replace(
                    old,
                    accounts=tuple(a for _, a in accounts),
                    plan=tuple((v, n, a, p[3]) for p, ((v, n), a) in zip(old.plan, accounts, strict=True)),
                )
                return self._book
        self._book = build_book(accounts, recs, self._bybit, old)
        return self._book

    def __call__(
        self,
        snap: Snapshot,
        markets: Mapping[tuple[str, str], MarketView],
        fresh: Mapping[tuple[str, str], bool],
        sink: FigureSink,
        *,
        horizon_s: float,
    ) -> None:
        book = self._book_for(snap)
        cols = _compute(book, markets, fresh, horizon_s)
        if all(i >= 0 for *_, i in book.plan):  # the usual book: a column per name
            emit_columns(book, cols, sink, self._keys)
            return
        rows = _RowCols.of(cols)
        for venue, account, a, i in book.plan:
            if i < 0:
                account_one(
                    snap,
                    venue,
                    account,
                    a,
                    dict(markets),
                    dict(fresh),
                    sink,
                    horizon_s=horizon_s,
                    on_bybit=venue in self._bybit,
                )
            else:
                _emit(book, rows, i, sink)


def _same_account(old: AccountSnapshot, new: AccountSnapshot) -> bool:
    """Whether `new` states what `old` did for every column `_build` reads (legs, cross wallet).

    Compared as encoded bytes: a leg's unknown venue fields are NaN, which `==` never finds equal.
    """
    if old is new:
        return True
    w_old, w_new = cross_wallet(old), cross_wallet(new)
    same_wallet = w_old == w_new or (math.isnan(w_old) and math.isnan(w_new))
    return same_wallet and _ENCODE(old.positions) == _ENCODE(new.positions)


@dataclass(slots=True)
class _Cols:
    """One tick's numbers, as arrays over the accounts (account figures) or the legs (the rest)."""

    acct_ok: list[bool]
    ok_a: BoolArray
    upnl_total: FloatArray
    mm_total: FloatArray
    balance: FloatArray
    all_fresh: BoolArray
    n_cross: IntArray
    flagged: dict[int, Leg]  # legs with anything not live, priced by `legs.price_leg` for their reasons
    mark: FloatArray
    notional: FloatArray
    upnl: FloatArray
    mm: FloatArray
    fresh: BoolArray
    iso_ratio: FloatArray
    lp: FloatArray
    lp_why: list[str]
    dist: FloatArray
    k: FloatArray
    touch: FloatArray
    same: FloatArray


def _compute(
    book: AccountBook,
    markets: Mapping[tuple[str, str], MarketView],
    fresh: Mapping[tuple[str, str], bool],
    horizon_s: float,
) -> _Cols:
    n = len(book.positions)
    views = [markets.get(key) for key in book.mkeys]
    m_mark = np.array([v.mark if v is not None else math.nan for v in views], dtype=np.float64)
    m_fresh = np.array([v is not None and v.mark_fresh for v in views], dtype=bool)
    m_sigma = np.array([v.sigma_ann if v is not None else math.nan for v in views], dtype=np.float64)
    acct_ok = [fresh.get((lb["venue"], f"account:{lb['account']}"), False) for lb in book.acc_lab]
    ok_a = np.array(acct_ok, dtype=bool)
    q, entry, acc, cross, table = book.q, book.entry, book.acc, book.cross, book.table
    with quiet():
        # legs.mark_upnl and legs.price_leg, column by column
        live_mark = m_mark[book.mk] if n else np.zeros(0)
        live = live_mark > 0
        vmark = np.where(book.vmark > 0, book.vmark, book.implied)
        mark = np.where(live, live_mark, vmark)
        src_mark = np.where(live, LIVE, np.where(vmark > 0, VENUE, NONE))
        v_upnl = np.isfinite(book.vupnl)
        upnl = np.where(live, q * (live_mark - entry), np.where(v_upnl, book.vupnl, q * (vmark - entry)))
        src_upnl = np.where(live, LIVE, np.where(v_upnl, VENUE, src_mark))
        has_b = book.row >= 0
        by_mark = has_b & (mark > 0)  # Bybit too: its MM is on the mark since 2025-09-02
        mm = tier_mm_open(table, np.where(by_mark, book.row, -1), np.abs(q) * mark)
        mm = np.where(book.bybit, np.maximum(mm, 0.0), mm)
        src_mm = np.where(by_mark, src_mark, NONE)
        from_v = ~np.isfinite(mm) & np.isfinite(book.vmm)
        mm = np.where(from_v, book.vmm, mm)
        src_mm = np.where(from_v, VENUE, src_mm)
        clean = (src_mark == LIVE) & (src_upnl == LIVE) & (src_mm == LIVE)
        leg_fresh = ok_a[acc] & live & m_fresh[book.mk] & clean if n else np.zeros(0, dtype=bool)
        live_ok = ~live | (m_fresh[book.mk] if n else np.zeros(0, dtype=bool))
        notional = np.abs(q) * mark
        # the account's sums, in the reference's order (bincount adds in position order)
        ca = acc[cross]
        upnl_total = np.asarray(np.bincount(ca, weights=upnl[cross], minlength=book.n_acc), dtype=np.float64)
        mm_total = np.asarray(np.bincount(ca, weights=mm[cross], minlength=book.n_acc), dtype=np.float64)
        stale = np.bincount(ca, weights=(~live_ok[cross]).astype(np.float64), minlength=book.n_acc)
        n_cross = np.bincount(ca, minlength=book.n_acc)
        balance = book.wallet + upnl_total
        all_fresh = ok_a & (stale == 0)
        iso_ratio = np.asarray(margin_ratio(mm, book.iso_wallet + upnl))
    flagged = {}
    for j in np.flatnonzero(~clean).tolist():
        p, r = book.positions[j], int(book.row[j])
        lb = book.lab[j]
        flagged[j] = price_leg(
            p,
            markets.get((lb["venue"], p.symbol)),
            book.bracket_rows[r] if r >= 0 else None,
            acct_ok=acct_ok[int(acc[j])],
            entry_valued=bool(book.bybit[j]),
        )
    lp = np.full(n, np.nan)
    lp_why = [""] * n
    same = np.full(n, np.nan)
    leg_cols = (mark, upnl, mm, src_mark, src_upnl, src_mm, live_ok)
    fl_cross: dict[int, list[int]] = {}
    for j in flagged:  # in position order (flatnonzero is sorted)
        if book.cross[j]:
            fl_cross.setdefault(int(acc[j]), []).append(j)
    _binance(book, leg_cols, flagged, fl_cross, lp, lp_why, same)
    _bybit(book, leg_cols, mm_total, balance, flagged, fl_cross, lp, lp_why, same)
    with quiet():
        sigma = m_sigma[book.mk] if n else np.zeros(0)
        dist = np.asarray(liquidation_distance(lp, mark))
        k = np.asarray(liquidation_sigma(lp, mark, sigma, horizon_s))
        past = np.fromiter((w == PAST_EVERY_PRICE for w in lp_why), np.bool_, n) & (mark > 0)
        if past.any():  # below maintenance at every price: distance 0, as the reference says why
            dist[past] = 0.0
            k[past] = 0.0
        touch = np.asarray(touch_probability(k))
    return _Cols(
        acct_ok=acct_ok,
        ok_a=ok_a,
        upnl_total=upnl_total,
        mm_total=mm_total,
        balance=balance,
        all_fresh=all_fresh,
        n_cross=n_cross,
        flagged=flagged,
        mark=mark,
        notional=notional,
        upnl=upnl,
        mm=mm,
        fresh=leg_fresh,
        iso_ratio=iso_ratio,
        lp=lp,
        lp_why=lp_why,
        dist=dist,
        k=k,
        touch=touch,
        same=same,
    )


class _RowCols(NamedTuple):
    """`_Cols` as Python lists, for the per-account walk (`_emit`) that reads them element by element."""

    acct_ok: list[bool]
    all_fresh: list[bool]
    upnl_total: list[float]
    mm_total: list[float]
    balance: list[float]
    flagged: dict[int, Leg]
    notional: list[float]
    upnl: list[float]
    mm: list[float]
    fresh: list[bool]
    iso_ratio: list[float]
    lp: list[float]
    lp_why: list[str]
    dist: list[float]
    k: list[float]
    touch: list[float]
    same: list[float]

    @classmethod
    def of(cls, c: _Cols) -> _RowCols:
        return cls(
            c.acct_ok, c.all_fresh.tolist(), c.upnl_total.tolist(), c.mm_total.tolist(), c.balance.tolist(),
            c.flagged, c.notional.tolist(), c.upnl.tolist(), c.mm.tolist(), c.fresh.tolist(),
            c.iso_ratio.tolist(), c.lp.tolist(), c.lp_why, c.dist.tolist(), c.k.tolist(), c.touch.tolist(),
            c.same.tolist(),
        )  # fmt: skip


_LegCols = tuple[FloatArray, FloatArray, FloatArray, IntArray, IntArray, IntArray, BoolArray]


def _notes(value: float, legs: Sequence[int], flagged: Mapping[int, Leg], parts: tuple[Part, ...]) -> str:
    """`legs.leg_reason` over these legs: only flagged ones (not all live) can add a note."""
    fl = [flagged[j] for j in legs if j in flagged]
    return leg_reason(value, fl, parts) if fl else ""


def _binance(
    book: AccountBook,
    cols: _LegCols,
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
            texts[g] = _notes(math.nan, others, flagged, ("upnl", "mm")) or "nan_input"
        else:
            x = lp_list[g]
            r0 = int(rep[g])
            texts[g] = join_reasons(
                texts[g], _notes(x, (r0,), flagged, ("mark",)), _notes(x, others, flagged, ("upnl", "mm"))
            )
    legs = np.flatnonzero(book.group >= 0)
    lp[legs] = g_lp[book.group[legs]]
    for j, g in zip(legs.tolist(), book.group[legs].tolist(), strict=True):
        lp_why[j] = texts[g]
    _venue_state(book, cols, om_l, ou_l, same)


def _venue_state(
    book: AccountBook, cols: _LegCols, om_live: FloatArray, ou_live: FloatArray, same: FloatArray
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


def _bybit(
    book: AccountBook,
    cols: _LegCols,
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


def _emit(book: AccountBook, c: _RowCols, i: int, sink: FigureSink) -> None:
    """Account `i`'s figures, in the reference's order."""
    lab = book.acc_lab[i]
    acct_ok, all_fresh = c.acct_ok[i], c.all_fresh[i]
    legs = book.acc_legs[i]
    fl = c.flagged
    cross = [j for j in legs if book.positions[j].margin_mode == "cross"]
    wallet, upnl_total, mm_total, balance = (
        float(book.wallet[i]),
        c.upnl_total[i],
        c.mm_total[i],
        c.balance[i],
    )
    pnl_why = _notes(balance, cross, fl, ("upnl",))
    add = sink.add
    add("wallet_balance_usd", wallet, lab, fresh=acct_ok)
    add("unrealized_pnl_usd", upnl_total, lab, fresh=all_fresh, reason=pnl_why)
    add("margin_balance_usd", balance, lab, fresh=all_fresh, reason=pnl_why)
    add("maintenance_margin_usd", mm_total, lab, fresh=all_fresh, reason=_notes(mm_total, cross, fl, ("mm",)))
    if cross:
        ratio = float(margin_ratio(mm_total, balance))
        headroom = balance - mm_total
        why = _notes(headroom, cross, fl, ("upnl", "mm"))
        add("margin_ratio", ratio, lab, fresh=all_fresh, reason=why)
        add("margin_headroom_usd", headroom, lab, fresh=all_fresh, reason=why)
        add("margin_headroom_ratio", 1.0 - ratio, lab, fresh=all_fresh, reason=why)
    else:
        add("margin_ratio", 0.0, lab, fresh=acct_ok)
    for j in legs:
        p = book.positions[j]
        if p.margin_mode == "isolated":
            iso = c.iso_ratio[j]
            leg = fl.get(j)
            add(
                "position_margin_ratio",
                iso,
                book.lab[j],
                fresh=c.fresh[j],
                reason=iso_reason(iso, leg) if leg is not None else "",
            )
    for j in legs:
        p = book.positions[j]
        plab = book.lab[j]
        ok = c.fresh[j]
        leg = fl.get(j)
        lp, why = c.lp[j], c.lp_why[j]
        dist, k = c.dist[j], c.k[j]
        add("position_quantity", p.qty, plab, fresh=ok)
        leg_figures: tuple[tuple[str, float, Part], ...] = (
            ("position_notional_usd", c.notional[j], "mark"),
            ("position_unrealized_pnl_usd", c.upnl[j], "upnl"),
            ("position_maintenance_margin_usd", c.mm[j], "mm"),
        )
        for name, value, part in leg_figures:  # a leg priced from the venue says so in each reason
            add(name, value, plab, fresh=ok, reason="" if leg is None else leg_reason(value, [leg], (part,)))
        d_why = why
        if leg is not None and not (math.isfinite(dist) or math.isnan(lp)):
            d_why = leg_reason(dist, [leg], ("mark",)) or why
        add("liquidation_price_usd", lp, plab, fresh=ok, reason=why)
        venue_lp = p.venue_liquidation_price
        add("venue_liquidation_price_usd", venue_lp, plab, reason="" if venue_lp > 0 else "venue_shows_none")
        add("liquidation_distance_ratio", dist, plab, fresh=ok, reason=d_why)
        k_why = d_why if math.isfinite(k) or math.isnan(dist) else "no_volatility"
        add("liquidation_distance_sigma", k, plab, fresh=ok, reason=k_why)
        add("liquidation_touch_probability_ratio", c.touch[j], plab, fresh=ok, reason=k_why)
        ours = c.same[j]
        if ours > 0 and venue_lp > 0:
            add("liquidation_price_divergence_ratio", abs(ours / venue_lp - 1.0), plab, fresh=ok)
