"""The per-account walk of the account stage: a book that holds an account priced by the reference
(a malformed tier table) emits every account row by row, in the order the reference does.

The usual book goes through `account_emit.emit_columns` instead (a column per figure name).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from monitor.evaluation.account_book import AccountBook
from monitor.evaluation.account_lps import leg_notes
from monitor.evaluation.account_reference import iso_reason
from monitor.evaluation.legs import Leg, Part, leg_reason
from monitor.evaluation.sink import FigureSink
from monitor.risk.margin import margin_ratio

__all__ = ["RowCols", "emit_rows"]

if TYPE_CHECKING:  # account.py imports this module
    from monitor.evaluation.account import _Cols


class RowCols(NamedTuple):
    """`_Cols` as Python lists, for the per-account walk (`emit_rows`) that reads them element by element."""

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
    def of(cls, c: _Cols) -> RowCols:
        return cls(
            c.acct_ok, c.all_fresh.tolist(), c.upnl_total.tolist(), c.mm_total.tolist(), c.balance.tolist(),
            c.flagged, c.notional.tolist(), c.upnl.tolist(), c.mm.tolist(), c.fresh.tolist(),
            c.iso_ratio.tolist(), c.lp.tolist(), c.lp_why, c.dist.tolist(), c.k.tolist(), c.touch.tolist(),
            c.same.tolist(),
        )  # fmt: skip


def emit_rows(book: AccountBook, c: RowCols, i: int, sink: FigureSink) -> None:
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
    pnl_why = leg_notes(balance, cross, fl, ("upnl",))
    add = sink.add
    add("wallet_balance_usd", wallet, lab, fresh=acct_ok)
    add("unrealized_pnl_usd", upnl_total, lab, fresh=all_fresh, reason=pnl_why)
    add("margin_balance_usd", balance, lab, fresh=all_fresh, reason=pnl_why)
    mm_why = leg_notes(mm_total, cross, fl, ("mm",))
    add("maintenance_margin_usd", mm_total, lab, fresh=all_fresh, reason=mm_why)
    if cross:
        ratio = float(margin_ratio(mm_total, balance))
        headroom = balance - mm_total
        why = leg_notes(headroom, cross, fl, ("upnl", "mm"))
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
