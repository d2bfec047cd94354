"""The account stage's figures handed to the sink a column per name, not a row per figure.

Row by row (`FigureSink.add`), a desk-sized book makes ~18,000 calls a tick, each building a
labels dict: about four fifths of the stage's time at 600 symbols × 1,000 positions, against the
numbers themselves computed in a few numpy calls. Here each name is one `add_array` with keys built
once per book (and per subset: the cross accounts, the isolated legs, the legs with a divergence),
and reasons are worked out in Python only for the legs and accounts that are not all live.

What the sink ends up with is what the per-account walk (`account._emit`, the reference's order)
makes: the same keys in the same order per name, and the names first added in the same order —
the walk adds an account's figures, then its legs', account after account, so a name first appears
at the first account that has a row of it, at its place in that account's walk (`_SLOT`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from monitor.evaluation.account_reference import iso_reason
from monitor.evaluation.legs import Leg, Part, leg_reason
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.margin import margin_ratio

if TYPE_CHECKING:  # account.py imports this module
    from monitor.evaluation.account import _Cols
    from monitor.evaluation.account_book import AccountBook

__all__ = ["ACCOUNT_FIGURES", "KeyCache", "emit_columns"]

_ACCOUNT = (
    "wallet_balance_usd",
    "unrealized_pnl_usd",
    "margin_balance_usd",
    "maintenance_margin_usd",
    "margin_ratio",
    "margin_headroom_usd",  # cross accounts only, as the next
    "margin_headroom_ratio",
)
_LEG = (
    "position_margin_ratio",  # isolated legs only
    "position_quantity",
    "position_notional_usd",
    "position_unrealized_pnl_usd",
    "position_maintenance_margin_usd",
    "liquidation_price_usd",
    "venue_liquidation_price_usd",
    "liquidation_distance_ratio",
    "liquidation_distance_sigma",
    "liquidation_touch_probability_ratio",
    "liquidation_price_divergence_ratio",  # where both LPs are positive
)
_SLOT = {name: i for i, name in enumerate((*_ACCOUNT, *_LEG))}
ACCOUNT_FIGURES = frozenset(_SLOT)  # every name the account stage makes (account_reference makes the same)


class KeyCache:
    """The keys of one book's columns, by name and row subset; emptied when the book changes.

    The same tuple comes back tick after tick while the rows do, so the sink's join finds last
    tick's shape by identity and builds no key.
    """

    def __init__(self) -> None:
        self._book: object = None
        self._labels: tuple[tuple[dict[str, str], ...], ...] = ((), ())
        self._keys: dict[tuple[str, bytes | None], tuple[FigureKey, ...]] = {}
        self.iso: BoolArray = np.zeros(0, dtype=bool)
        self.venue_why: list[str] = []

    def reset(self, book: AccountBook) -> None:
        """For `book`: keys kept while its labels equal the last book's (a fill rebuilds the book, not
        its labels; building 18,000 keys anew took longer than the rest of the stage at desk scale)."""
        if self._book is book:
            return
        self._book = book
        labels = (book.acc_lab, book.lab)
        if labels != self._labels:
            self._keys = {}
        self._labels = labels
        self.iso = np.fromiter(
            (p.margin_mode == "isolated" for p in book.positions), bool, len(book.positions)
        )
        self.venue_why = ["" if x > 0 else "venue_shows_none" for x in book.vlp.tolist()]

    def keys(
        self, name: str, labels: Sequence[Mapping[str, str]], rows: BoolArray | None
    ) -> tuple[FigureKey, ...]:
        tag = None if rows is None else np.packbits(rows).tobytes() + bytes([rows.size % 8])
        hit = self._keys.get((name, tag))
        if hit is None:
            pick = labels if rows is None else [labels[j] for j in np.flatnonzero(rows).tolist()]
            hit = self._keys[(name, tag)] = tuple(FigureKey(name=name, **lab) for lab in pick)
        return hit


def emit_columns(book: AccountBook, c: _Cols, sink: FigureSink, cache: KeyCache) -> None:
    """Every account's and leg's figures into `sink`, for a book evaluated wholly on the columnar path."""
    cache.reset(book)
    out: list[tuple[int, str, BoolArray | None, FloatArray, BoolArray, list[str] | str]] = []
    n_acc = book.n_acc
    if n_acc:
        _accounts(book, c, out)
    if len(book.positions):
        _legs(book, c, cache, out)
    first_acc = book.acc
    order = []
    for slot, (acc_rows, name, rows, *_) in enumerate(out):
        first = _first(rows, acc_rows, first_acc)
        if first >= 0:
            order.append((first, _SLOT[name], slot))
    for _first_acc, _slot, k in sorted(order):
        acc_rows, name, rows, values, fresh, why = out[k]
        labels = book.acc_lab if acc_rows else book.lab
        keys = cache.keys(name, labels, rows)
        if rows is not None:
            values, fresh = values[rows], fresh[rows]
            if not isinstance(why, str):
                why = [why[j] for j in np.flatnonzero(rows).tolist()]
        sink.add_array(name, keys, values, fresh, why)


def _first(rows: BoolArray | None, acc_rows: int, leg_acc: IntArray) -> int:
    """The account at which the walk first adds a row of this name (−1: it adds none)."""
    at = 0 if rows is None else int(np.argmax(rows)) if rows.any() else -1
    if at < 0 or acc_rows:
        return at
    return int(leg_acc[at]) if leg_acc.size else -1


def _notes(value: float, legs: Sequence[int], flagged: Mapping[int, Leg], parts: tuple[Part, ...]) -> str:
    """`legs.leg_reason` over these legs: only flagged ones (not all live) can add a note."""
    fl = [flagged[j] for j in legs if j in flagged]
    return leg_reason(value, fl, parts) if fl else ""


_Out = list[tuple[int, str, BoolArray | None, FloatArray, BoolArray, list[str] | str]]


def _accounts(book: AccountBook, c: _Cols, out: _Out) -> None:
    n = book.n_acc
    fl = c.flagged
    cross_acc = c.n_cross > 0
    pnl_why, mm_why, why = [""] * n, [""] * n, [""] * n
    with quiet():
        ratio = np.asarray(margin_ratio(c.mm_total, c.balance))
        headroom = c.balance - c.mm_total
    for i in sorted({int(book.acc[j]) for j in fl}):
        cross = [j for j in book.acc_legs[i] if book.cross[j]]
        pnl_why[i] = _notes(float(c.balance[i]), cross, fl, ("upnl",))
        mm_why[i] = _notes(float(c.mm_total[i]), cross, fl, ("mm",))
        if cross:
            why[i] = _notes(float(headroom[i]), cross, fl, ("upnl", "mm"))
    ok, all_fresh = c.ok_a, c.all_fresh
    out.append((1, "wallet_balance_usd", None, book.wallet, ok, ""))
    out.append((1, "unrealized_pnl_usd", None, c.upnl_total, all_fresh, pnl_why))
    out.append((1, "margin_balance_usd", None, c.balance, all_fresh, pnl_why))
    out.append((1, "maintenance_margin_usd", None, c.mm_total, all_fresh, mm_why))
    ratio_why = [w if x else "" for w, x in zip(why, cross_acc.tolist(), strict=True)]
    ratio_ok = np.where(cross_acc, all_fresh, ok)
    out.append((1, "margin_ratio", None, np.where(cross_acc, ratio, 0.0), ratio_ok, ratio_why))
    all_cross = bool(cross_acc.all())
    rows = None if all_cross else cross_acc
    out.append((1, "margin_headroom_usd", rows, headroom, all_fresh, why))
    out.append((1, "margin_headroom_ratio", rows, 1.0 - ratio, all_fresh, why))


def _legs(book: AccountBook, c: _Cols, cache: KeyCache, out: _Out) -> None:
    n = len(book.positions)
    fl = c.flagged
    fresh = c.fresh

    def per_leg(value: FloatArray, reason: Callable[[float, Leg], str]) -> list[str] | str:
        if not fl:
            return ""
        why = [""] * n
        for j, leg in fl.items():
            why[j] = reason(float(value[j]), leg)
        return why

    iso = cache.iso
    out.append((0, "position_margin_ratio", iso, c.iso_ratio, fresh, per_leg(c.iso_ratio, iso_reason)))
    out.append((0, "position_quantity", None, book.q, fresh, ""))
    parts: tuple[tuple[str, FloatArray, Part], ...] = (
        ("position_notional_usd", c.notional, "mark"),
        ("position_unrealized_pnl_usd", c.upnl, "upnl"),
        ("position_maintenance_margin_usd", c.mm, "mm"),
    )
    for name, value, part in parts:
        out.append((0, name, None, value, fresh, per_leg(value, _one_part(part))))
    lp_why = c.lp_why
    out.append((0, "liquidation_price_usd", None, c.lp, fresh, lp_why))
    out.append((0, "venue_liquidation_price_usd", None, book.vlp, np.ones(n, dtype=bool), cache.venue_why))
    dist, k, lp = c.dist, c.k, c.lp
    d_why = lp_why
    with quiet():
        odd = ~(np.isfinite(dist) | np.isnan(lp))
    for j, leg in fl.items():
        if odd[j]:
            if d_why is lp_why:
                d_why = list(lp_why)
            d_why[j] = leg_reason(float(dist[j]), [leg], ("mark",)) or lp_why[j]
    with quiet():
        no_vol = ~(np.isfinite(k) | np.isnan(dist))
    k_why = d_why
    if no_vol.any():
        k_why = list(d_why)
        for j in np.flatnonzero(no_vol).tolist():
            k_why[j] = "no_volatility"
    out.append((0, "liquidation_distance_ratio", None, dist, fresh, d_why))
    out.append((0, "liquidation_distance_sigma", None, k, fresh, k_why))
    out.append((0, "liquidation_touch_probability_ratio", None, c.touch, fresh, k_why))
    with quiet():
        both = (c.same > 0) & (book.vlp > 0)
        div = np.abs(c.same / book.vlp - 1.0)
    out.append((0, "liquidation_price_divergence_ratio", None if both.all() else both, div, fresh, ""))


def _one_part(part: Part) -> Callable[[float, Leg], str]:
    return lambda value, leg: leg_reason(value, [leg], (part,))
