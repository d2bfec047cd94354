"""The advice stage's open positions as columns, built once and kept while the records say the same.

Why columns: the top-ups (cross per account, isolated per leg, on Binance's re-tiered model and on
Bybit's entry-valued one) were solved one account or one leg at a time, each call building its own
tier table and a handful of one-element arrays; on a desk's thousand legs that was a large share of
the tick. Here every leg of every account is one row, every tier record one row of one padded table,
and each top-up is one call of the `risk.topup` formulas (monitor/evaluation/advice_topups.py);
each number is the float the per-leg code (`tests/unit/evaluation/reference/advice.py`) gives, in
the same order of summation.

What changes only with the account and tier records (the columns, the table, Bybit's MM at the
entry value) is built once and kept while the store's records say the same (`advice_legs`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from monitor.evaluation.account import cross_wallet
from monitor.evaluation.account_bybit import bybit_mm, bybit_unified_cross_wallet
from monitor.evaluation.account_reference import tier_brackets
from monitor.evaluation.kept_book import same_accounts
from monitor.evaluation.legs import venue_marks
from monitor.evaluation.market import MarketView
from monitor.records import AccountSnapshot, LeverageTiers, Position
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.margin import Brackets, bracket_problem
from monitor.risk.reasons import Reason
from monitor.risk.tiers import TierTable, tier_mm_open, tier_table
from monitor.store.state import Snapshot

if TYPE_CHECKING:
    from monitor.evaluation.advice_topups import _TopupPlan

__all__ = ["AdviceLegs", "LegPrices", "LegsKept", "advice_legs", "leg_prices"]


@dataclass(frozen=True, slots=True)
class AdviceLegs:
    """Every open leg (qty ≠ 0) of every account, in the snapshot's order."""

    names: tuple[object, ...]  # the Bybit venues and the accounts' keys these columns were built for
    records: tuple[AccountSnapshot, ...]  # the account records (compared by content: `same_accounts`)
    tier_keys: tuple[tuple[str, str, str], ...]  # (venue, account, symbol) of each leg's tiers record
    recs: tuple[LeverageTiers | None, ...]  # that record, None without one (compared by identity)
    accounts: tuple[tuple[str, str], ...]
    acc_lab: tuple[dict[str, str], ...]
    wallet: FloatArray  # cross wallet per account
    unified: FloatArray  # Bybit: the unified wallet less the isolated balances in it; else NaN
    on_bybit: BoolArray  # per account
    positions: tuple[Position, ...]
    lab: tuple[dict[str, str], ...]
    acc: IntArray
    mkeys: tuple[tuple[str, str], ...]  # (venue, symbol) per market
    mk: IntArray  # market of each leg
    q: FloatArray  # qty as the venue states it (UPnL, Bybit's MM)
    qc: FloatArray  # qty·contract size (top-ups, cost to close)
    entry: FloatArray
    iw: FloatArray
    vmark: FloatArray  # the venue's mark, else the one its UPnL implies (legs.mark_upnl), NaN if none
    vupnl: FloatArray
    cross: BoolArray
    iso: BoolArray
    row: IntArray  # tier table row, −1 without a tiers record or with empty brackets
    table: TierTable
    bybit_mm: FloatArray  # Bybit legs: finite where tiers price them (NaN off Bybit or without tiers)


class LegsKept:
    """What the legs' columns keep between ticks, per evaluator (two daemons in one process share none).

    `legs`: the last columns (`advice_legs`); `checked`, `table`: each tier record's brackets and
    check, and the last padded table, by record identity (the account records change every second,
    the tier records seldom, and checking and stacking a thousand bracket tables was most of a
    rebuild); `topups`: the accounts' cross legs for the top-ups. Each keyed by what it was made from.
    """

    def __init__(self) -> None:
        self.legs: AdviceLegs | None = None
        self.checked: dict[int, tuple[LeverageTiers, Brackets | None, bool]] = {}
        self.table: tuple[tuple[LeverageTiers, ...], TierTable] | None = None
        self.topups: _TopupPlan | None = None

    def prune(self, live: list[LeverageTiers | None]) -> None:
        if len(self.checked) > 2 * len(live) + 64:
            keep = {id(r) for r in live if r is not None}
            self.checked = {k: v for k, v in self.checked.items() if k in keep}


_SHARED = LegsKept()  # for a caller with none of its own (tests, benches)


def _checked(r: LeverageTiers, kept: LegsKept) -> tuple[Brackets | None, bool]:
    """The record's brackets (None if it has none) and whether the padded table takes them."""
    got = kept.checked.get(id(r))
    if got is not None and got[0] is r:
        return got[1], got[2]
    b = tier_brackets(r) if r.brackets else None
    ok = b is not None and bracket_problem(b) in (Reason.OK, Reason.TIER_BOUNDARY)
    kept.checked[id(r)] = (r, b, ok)
    return b, ok


def _table_of(recs: tuple[LeverageTiers, ...], rows: list[Brackets], kept: LegsKept) -> TierTable:
    held = kept.table
    if (
        held is not None
        and len(held[0]) == len(recs)
        and all(x is y for x, y in zip(held[0], recs, strict=True))
    ):
        return held[1]
    table = tier_table(rows)
    kept.table = (recs, table)
    return table


def advice_legs(snap: Snapshot, bybit_venues: frozenset[str], kept: LegsKept | None = None) -> AdviceLegs:
    """The columns of this snapshot's book; the last ones again while its records say the same.

    The same: account records equal in positions and balances (`same_accounts`), tier records the
    same objects.
    """
    # a coin-margined account is priced in coin (account_inverse); the linear top-ups and sizing are not its
    accounts = [(k, a) for k, a in snap.accounts.items() if not any(p.inverse for p in a.positions)]
    tiers = snap.tiers
    names = (bybit_venues, *(k for k, _ in accounts))
    records = tuple(a for _, a in accounts)
    kept = _SHARED if kept is None else kept
    old = kept.legs
    if (
        old is not None
        and old.names == names
        and same_accounts(old.records, records)
        and all(tiers.get(k) is r for k, r in zip(old.tier_keys, old.recs, strict=True))
    ):
        return old
    keys = [(v, a, p.symbol) for (v, a), acct in accounts for p in acct.positions if p.qty != 0]
    recs = [tiers.get(k) for k in keys]
    kept.legs = _build(names, accounts, recs, bybit_venues, tuple(keys), kept)
    return kept.legs


def _build(
    names: tuple[object, ...],
    accounts: list[tuple[tuple[str, str], AccountSnapshot]],
    recs: list[LeverageTiers | None],
    bybit_venues: frozenset[str],
    tier_keys: tuple[tuple[str, str, str], ...],
    kept: LegsKept,
) -> AdviceLegs:
    wallet, unified, on_b, acc_lab = [], [], [], []
    ps: list[Position] = []
    lab: list[dict[str, str]] = []
    acc: list[int] = []
    mkeys: dict[tuple[str, str], int] = {}
    mk: list[int] = []
    for i, ((venue, account), a) in enumerate(accounts):
        w = cross_wallet(a)
        on = venue in bybit_venues
        wallet.append(w)
        unified.append(bybit_unified_cross_wallet(w, a.positions) if on else math.nan)
        on_b.append(on)
        acc_lab.append({"venue": venue, "account": account})
        for p in a.positions:
            if p.qty == 0:
                continue
            ps.append(p)
            acc.append(i)
            lab.append({"venue": venue, "account": account, "symbol": p.symbol, "side": p.side})
            mk.append(mkeys.setdefault((venue, p.symbol), len(mkeys)))
    rows: dict[int, int] = {}
    row_recs: list[LeverageTiers] = []
    bracket_rows: list[Brackets] = []
    good: list[bool] = []
    row: list[int] = []
    for r in recs:
        if r is None:
            row.append(-1)
            continue
        k = rows.get(id(r))
        if k is None:
            b, ok = _checked(r, kept)
            if b is None:
                row.append(-1)
                continue
            k = rows[id(r)] = len(bracket_rows)
            row_recs.append(r)
            bracket_rows.append(b)
            good.append(ok)
        row.append(k)
    table = _table_of(tuple(row_recs), bracket_rows, kept)
    kept.prune(recs)
    f = np.array
    acc_a = f(acc, dtype=np.intp)
    on_bybit = f(on_b, dtype=bool)
    q = f([p.qty for p in ps], dtype=np.float64)
    entry = f([p.entry_price for p in ps], dtype=np.float64)
    vupnl = f([p.venue_unrealized_pnl for p in ps], dtype=np.float64)
    row_a = f(row, dtype=np.intp)
    bybit_leg = on_bybit[acc_a] if ps else np.zeros(0, dtype=bool)
    with quiet():
        mm = np.maximum(tier_mm_open(table, np.where(bybit_leg, row_a, -1), np.abs(q) * entry), 0.0)
    for j in np.flatnonzero(bybit_leg & (row_a >= 0)).tolist():
        if not good[row_a[j]]:  # a table `tier_table` leaves empty: priced from the brackets as they are
            mm[j] = bybit_mm(ps[j], bracket_rows[row_a[j]])
    return AdviceLegs(
        names=names,
        records=tuple(a for _, a in accounts),
        tier_keys=tier_keys,
        recs=tuple(recs),
        accounts=tuple(k for k, _ in accounts),
        acc_lab=tuple(acc_lab),
        wallet=f(wallet, dtype=np.float64),
        unified=f(unified, dtype=np.float64),
        on_bybit=on_bybit,
        positions=tuple(ps),
        lab=tuple(lab),
        acc=acc_a,
        mkeys=tuple(mkeys),
        mk=f(mk, dtype=np.intp),
        q=q,
        qc=f([p.qty * p.contract_size for p in ps], dtype=np.float64),
        entry=entry,
        iw=f([p.isolated_wallet for p in ps], dtype=np.float64),
        vmark=venue_marks(ps),
        vupnl=vupnl,
        cross=f([p.margin_mode == "cross" for p in ps], dtype=bool),
        iso=f([p.margin_mode == "isolated" for p in ps], dtype=bool),
        row=row_a,
        table=table,
        bybit_mm=mm,
    )


@dataclass(frozen=True, slots=True)
class LegPrices:
    """`legs.mark_upnl` of every leg: the live mark, else the venue's, else NaN."""

    views: list[MarketView | None]  # per market
    mark: FloatArray
    upnl: FloatArray
    from_venue: BoolArray  # the mark is the venue's (no live one)


def leg_prices(legs: AdviceLegs, markets: Mapping[tuple[str, str], MarketView]) -> LegPrices:
    views = [markets.get(k) for k in legs.mkeys]
    m_mark = np.array([v.mark if v is not None else math.nan for v in views], dtype=np.float64)
    q, e = legs.q, legs.entry
    with quiet():
        live_mark = m_mark[legs.mk] if q.size else np.zeros(0)
        live = live_mark > 0
        mark = np.where(live, live_mark, legs.vmark)
        from_v = np.isfinite(legs.vupnl)
        upnl = np.where(live, q * (live_mark - e), np.where(from_v, legs.vupnl, q * (legs.vmark - e)))
        venue = ~live & (legs.vmark > 0)
    return LegPrices(views, mark, upnl, venue)
