"""A frame tick's account stage on the accounts whose inputs moved, spliced into the last columns.

Why: at desk scale a mark frame moves a few symbols (Bybit sends one symbol per message; the
simulator's universe one per ~2 ms), yet the account stage repriced and re-solved every contract of
every account (~5 ms at 600 symbols × 1,000 positions). An account's figures read only its own
legs' markets (mark, freshness, volatility), its own feed freshness and the book's columns: no
account reads another's. So the accounts whose inputs are equal to those of the last computation
keep their rows, and only the others are computed again, on a slice of the book
(`sub_book`: the same columns, tier table and rows, so every number is formed by the same float
operations in the same order), and written over the kept rows (`splice`).

Which accounts moved is found by comparing inputs, not from the frame signal's `Moved`: the
comparison is exact whichever tick (full, frame, or a frame between a full tick's stages) made the
kept columns, and it costs one pass over the markets and accounts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.evaluation.account_book import AccountBook
from monitor.evaluation.market import MarketView
from monitor.risk._num import IntArray

if TYPE_CHECKING:  # account.py imports this module
    from monitor.evaluation.account import _Cols

__all__ = ["moved_accounts", "splice", "sub_book", "view_moved"]

_LEG_ARRAYS = (
    "q",
    "entry",
    "cross",
    "iso_wallet",
    "vmark",
    "vlp",
    "vmm",
    "vupnl",
    "implied",
    "bybit",
    "row",
    "mk",
)
_ACC_ARRAYS = ("wallet", "bybit_acc")


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def view_moved(a: MarketView | None, b: MarketView | None) -> bool:
    """Whether the account stage could read anything different from `a` than from `b` (NaN equals NaN)."""
    if a is b:
        return False
    if a is None or b is None:
        return True
    return not (
        _same(a.mark, b.mark)
        and a.mark_fresh == b.mark_fresh
        and _same(a.sigma_ann, b.sigma_ann)
        and _same(a.funding_rate, b.funding_rate)
        and _same(a.funding_interval_h, b.funding_interval_h)
    )


def moved_accounts(
    book: AccountBook,
    views: Sequence[MarketView | None],
    kept_views: Sequence[MarketView | None],
    acct_ok: Sequence[bool],
    kept_ok: Sequence[bool],
) -> IntArray:
    """The book's accounts (sorted) holding a market whose view moved, or whose own freshness did."""
    moved_m = [m for m, (a, b) in enumerate(zip(views, kept_views, strict=True)) if view_moved(a, b)]
    hit = np.zeros(book.n_acc, dtype=bool)
    if moved_m:
        on = np.zeros(len(views), dtype=bool)
        on[moved_m] = True
        hit[book.acc[on[book.mk]]] = True
    for i, (x, y) in enumerate(zip(acct_ok, kept_ok, strict=True)):
        if x != y:
            hit[i] = True
    return np.flatnonzero(hit)


def sub_book(book: AccountBook, accs: IntArray) -> tuple[AccountBook, IntArray]:
    """The book restricted to accounts `accs` (sorted), and the book's index of each of its legs.

    Legs, accounts and contracts keep their relative order (a contract never spans accounts), the
    tier table, its rows and the market keys are the book's own: the slice prices each leg exactly
    as the whole book does.
    """
    keep_acc = np.zeros(book.n_acc, dtype=bool)
    keep_acc[accs] = True
    legs = np.flatnonzero(keep_acc[book.acc]) if book.acc.size else np.zeros(0, dtype=np.intp)
    leg_map = np.full(len(book.positions), -1, dtype=np.intp)
    leg_map[legs] = np.arange(legs.size)
    acc_map = np.full(book.n_acc, -1, dtype=np.intp)
    acc_map[accs] = np.arange(accs.size)
    g_old = book.group[legs]
    gs = np.unique(g_old[g_old >= 0])  # contracts in their order (numbered by first leg)
    g_map = np.full(book.g_rep.size, -1, dtype=np.intp)
    g_map[gs] = np.arange(gs.size)
    pair = book.g_pair[gs]
    legs_l = legs.tolist()
    fields: dict[str, Any] = {name: getattr(book, name)[legs] for name in _LEG_ARRAYS}
    fields.update({name: getattr(book, name)[accs] for name in _ACC_ARRAYS})
    acc_l = accs.tolist()
    rows = _plan_rows(book, acc_l)
    fields.update(
        accounts=tuple(book.accounts[i] for i in rows),
        plan=tuple(book.plan[i] for i in rows),
        positions=tuple(book.positions[j] for j in legs_l),
        acc=acc_map[book.acc[legs]],
        n_acc=accs.size,
        acc_lab=tuple(book.acc_lab[i] for i in acc_l),
        lab=tuple(book.lab[j] for j in legs_l),
        acc_legs=tuple(tuple(leg_map[list(book.acc_legs[i])].tolist()) for i in acc_l),
        group=np.where(g_old >= 0, g_map[np.maximum(g_old, 0)], -1),
        g_legs=tuple(tuple(leg_map[list(book.g_legs[g])].tolist()) for g in gs.tolist()),
        g_rep=leg_map[book.g_rep[gs]],
        g_oneway=book.g_oneway[gs],
        g_q=book.g_q[gs],
        g_pair=np.where(pair >= 0, leg_map[np.maximum(pair, 0)], -1).reshape(-1, 2),
    )
    return dataclasses.replace(book, **fields), legs


def _plan_rows(book: AccountBook, acc_l: list[int]) -> list[int]:
    """Plan rows of columnar accounts `acc_l` (every plan row is columnar where this is used)."""
    want = set(acc_l)
    return [k for k, (*_, i) in enumerate(book.plan) if i in want]


def splice(kept: _Cols, part: _Cols, accs: IntArray, legs: IntArray) -> _Cols:
    """The fields of `kept` (a whole book's `_Cols`) with the rows of `part` (its slice's) written over.

    Account fields are written at `accs`, leg fields at `legs`; the flagged legs of the recomputed
    accounts are those of `part` (renumbered), every other account's are kept.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(kept):
        old, new = getattr(kept, f.name), getattr(part, f.name)
        if f.name == "flagged":
            legs_l = legs.tolist()
            gone = set(legs_l)
            fl = {j: leg for j, leg in old.items() if j not in gone}
            fl.update({legs_l[j]: leg for j, leg in new.items()})
            out[f.name] = dict(sorted(fl.items()))
        elif isinstance(old, np.ndarray):
            at = accs if f.name in _ACC_COLS else legs
            arr = old.copy()
            arr[at] = new
            out[f.name] = arr
        else:  # lists: acct_ok per account, lp_why per leg
            at_l = (accs if f.name == "acct_ok" else legs).tolist()
            lst = list(old)
            for k, x in zip(at_l, new, strict=True):
                lst[k] = x
            out[f.name] = lst
    return type(kept)(**out)


_ACC_COLS = frozenset(("ok_a", "upnl_total", "mm_total", "balance", "all_fresh", "n_cross"))
