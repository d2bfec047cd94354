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
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec
import numpy as np

from monitor.evaluation.account_book import LIVE, NONE, VENUE, AccountBook, build_book
from monitor.evaluation.account_emit import KeyCache, emit_columns
from monitor.evaluation.account_inverse import inverse_accounts, inverse_figures
from monitor.evaluation.account_lps import binance_lps, bybit_lps
from monitor.evaluation.account_reference import PAST_EVERY_PRICE, STABLECOINS, account_one, cross_wallet
from monitor.evaluation.account_rows import RowCols, emit_rows
from monitor.evaluation.account_subset import moved_accounts, splice, sub_book
from monitor.evaluation.legs import Leg, price_leg
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.margin import margin_ratio
from monitor.risk.tiers import tier_mm_open
from monitor.store.state import Snapshot

__all__ = ["STABLECOINS", "AccountStage", "account_figures", "cross_wallet"]

_ENCODE = msgspec.msgpack.Encoder().encode


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
    """The account stage of the evaluator; keeps the columns of the last book it saw.

    It also keeps the numbers of its last computation with the inputs they were computed from
    (`_Kept`), so a frame tick (`incremental=True`) computes again only the accounts whose inputs
    differ (monitor/evaluation/account_subset.py). A full tick computes every account.
    """

    def __init__(self, bybit_venues: frozenset[str] = frozenset()) -> None:
        self._bybit = bybit_venues
        self._book: AccountBook | None = None
        self._seen: tuple[object, object] = (None, None)  # the snapshot mappings `_book` was made from
        self._keys = KeyCache()  # the figures' keys for this book, kept while it holds
        self._kept: _Kept | None = None
        self.recomputed = -1  # accounts the last call computed (−1: all of them); for tests and benches

    def _book_for(self, snap: Snapshot) -> AccountBook:
        seen = (snap.accounts, snap.tiers)
        if self._book is not None and seen[0] is self._seen[0] and seen[1] is self._seen[1]:
            return self._book  # the store hands an unchanged field's mapping back: same records
        self._seen = seen
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
        incremental: bool = False,
    ) -> None:
        """`incremental`: reuse the last computation's rows of every account whose inputs are equal."""
        inverse = inverse_accounts(snap)
        if inverse:  # accounts with inverse legs (Binance COIN-M) are margined in coin: account_inverse.py
            inverse_figures(snap, inverse, markets, fresh, sink, horizon_s=horizon_s)
            rest = {k: a for k, a in snap.accounts.items() if k not in inverse}
            snap = dataclasses.replace(snap, accounts=rest)
        book = self._book_for(snap)
        if all(i >= 0 for *_, i in book.plan):  # the usual book: a column per name
            emit_columns(book, self._columns(book, markets, fresh, horizon_s, incremental), sink, self._keys)
            return
        self._kept, self.recomputed = None, -1
        rows = RowCols.of(_compute(book, markets, fresh, horizon_s))
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
                emit_rows(book, rows, i, sink)

    def _columns(
        self,
        book: AccountBook,
        markets: Mapping[tuple[str, str], MarketView],
        fresh: Mapping[tuple[str, str], bool],
        horizon_s: float,
        incremental: bool,
    ) -> _Cols:
        """The book's numbers: computed for every account, or (`incremental`) only for the moved ones.

        The kept rows are reused only for the same book columns (a restated account keeps them;
        a fill or a new account rebuilds the book, and everything is computed) and the same horizon.
        """
        views = [markets.get(key) for key in book.mkeys]
        acct_ok = [fresh.get((lb["venue"], f"account:{lb['account']}"), False) for lb in book.acc_lab]
        kept, cols = self._kept, None
        if incremental and kept is not None and kept.q is book.q and kept.horizon_s == horizon_s:
            accs = moved_accounts(book, views, kept.views, acct_ok, kept.acct_ok)
            if not accs.size:
                cols, self.recomputed = kept.cols, 0
            elif 2 * accs.size <= book.n_acc:  # past half the book, slicing costs more than it saves
                part, legs = sub_book(book, accs)
                cols = splice(kept.cols, _compute(part, markets, fresh, horizon_s), accs, legs)
                self.recomputed = int(accs.size)
        if cols is None:
            cols, self.recomputed = _compute(book, markets, fresh, horizon_s), -1
        self._kept = _Kept(book.q, views, acct_ok, horizon_s, cols)
        return cols


@dataclass(frozen=True, slots=True)
class _Kept:
    """The last computation's numbers and what they were computed from (`q`: the book's columns)."""

    q: FloatArray
    views: list[MarketView | None]
    acct_ok: list[bool]
    horizon_s: float
    cols: _Cols


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
    binance_lps(book, leg_cols, flagged, fl_cross, lp, lp_why, same)
    bybit_lps(book, leg_cols, mm_total, balance, flagged, fl_cross, lp, lp_why, same)
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
