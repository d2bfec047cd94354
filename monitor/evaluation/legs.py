"""Each position as the account stage prices it: live where it can, else as the venue reports it.

Why this exists: an account's margin ratio, headroom and every cross LP add up all its cross legs,
so one leg without a live mark (a symbol the venue entry does not list, or whose mark has not
arrived) or without tiers (a symbol listed after the last tier refresh, a venue that publishes
none) used to make every one of them NaN, and a NaN starts no alert. The venue's account payload
prices each leg itself (`Position.venue_*`: Binance positionRisk, Bybit's position list, ccxt), so
such a leg is priced from there instead:

* mark: the live mark, else the venue's `markPrice`, else the one its UPnL implies;
* UPnL: at the live mark, else the venue's own, else at the venue's mark;
* maintenance margin: the tiers at the mark we have (Bybit too, since its 2025-09-02 change),
  else the venue's own.

A quantity taken from the venue is an approximation (the venue priced it when it answered, and a
stream delta drops its figures until the next snapshot): the leg records where each came from,
and the two reasons below name the leg, so a figure built on it says what it stands on, and one
that stays NaN says which leg is missing. The codes (`leg_from_venue`, `leg_unpriced`) come first
so the reason normaliser maps them. The leg's own figures are not fresh (its mark is not live);
those it feeds (the account's, the other legs' LPs) keep the live legs' freshness, so that they
can still start an alert (`account.account_figures` says why).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from monitor.evaluation.market import MarketView
from monitor.records import Position
from monitor.risk._num import FloatArray, quiet
from monitor.risk.bybit_liquidation import bybit_position_mm
from monitor.risk.margin import Brackets, maintenance_margin

__all__ = ["Leg", "Part", "Source", "join_reasons", "leg_reason", "mark_upnl", "price_leg", "venue_marks"]

Source = Literal["live", "venue", "none"]
Part = Literal["mark", "upnl", "mm"]
_WORDS: dict[Part, str] = {"mark": "mark", "upnl": "UPnL", "mm": "maintenance margin"}


@dataclass(frozen=True, slots=True)
class Leg:
    """One position priced; `mark`, `upnl`, `mm` are NaN only where neither source had them."""

    p: Position
    mark: float
    b: Brackets | None
    notional: float
    upnl: float
    mm: float
    fresh: bool  # its own figures: every input live and fresh
    live_ok: bool  # False only when it leans on a live mark that is stale
    src: Mapping[Part, Source]
    from_venue: str  # "" or why its figures stand partly on the venue's: "leg_from_venue: ETHUSDT (…)"
    unpriced: str  # "" or what it lacks from both sources: "leg_unpriced: ETHUSDT (…)"


def _name(p: Position) -> str:
    return p.symbol if p.side == "BOTH" else f"{p.symbol} {p.side}"


def _words(parts: list[Part], conj: str) -> str:
    w = [_WORDS[x] for x in parts]
    return w[0] if len(w) == 1 else f"{', '.join(w[:-1])} {conj} {w[-1]}"


def mark_upnl(p: Position, mv: MarketView | None) -> tuple[float, float, Source, Source]:
    """(mark, UPnL) of a leg and where each came from: live, else the venue's, else none (NaN)."""
    live = mv.mark if mv is not None else math.nan
    if live > 0:
        return live, p.qty * (live - p.entry_price), "live", "live"
    vmark = p.venue_mark_price if p.venue_mark_price > 0 else _implied_mark(p)
    vsrc: Source = "venue" if vmark > 0 else "none"
    if math.isfinite(p.venue_unrealized_pnl):
        return vmark, p.venue_unrealized_pnl, vsrc, "venue"
    return vmark, p.qty * (vmark - p.entry_price), vsrc, vsrc


def _implied_mark(p: Position) -> float:
    """The mark the venue's UPnL implies on a linear leg, UPnL = q·(mark − entry); NaN if none.

    Binance's stream deltas drop a leg's `markPrice` (it described the last REST state) but carry
    its UPnL at the mark of the moment: this keeps the leg priced until the next REST snapshot.
    """
    if p.inverse or p.qty == 0 or not (p.entry_price > 0 and math.isfinite(p.venue_unrealized_pnl)):
        return math.nan
    mark = p.entry_price + p.venue_unrealized_pnl / p.qty
    return mark if mark > 0 else math.nan


def venue_marks(ps: Sequence[Position]) -> FloatArray:
    """`mark_upnl(p, None)[0]` of many legs at once: the venue's mark, else the one its UPnL implies."""
    q = np.array([p.qty for p in ps], dtype=np.float64)
    entry = np.array([p.entry_price for p in ps], dtype=np.float64)
    vupnl = np.array([p.venue_unrealized_pnl for p in ps], dtype=np.float64)
    vm = np.array([p.venue_mark_price for p in ps], dtype=np.float64)
    inverse = np.array([p.inverse for p in ps], dtype=bool)
    with quiet():
        implied = entry + vupnl / q
        implied[inverse | (q == 0) | ~(entry > 0) | ~np.isfinite(vupnl) | ~(implied > 0)] = np.nan
        return np.where(vm > 0, vm, implied)


def price_leg(
    p: Position, mv: MarketView | None, b: Brackets | None, *, acct_ok: bool, entry_valued: bool
) -> Leg:
    """Price one position; `entry_valued`: the leg is on Bybit's model (the name is historic).

    Bybit valued MM at the entry until 2025-09-02; it now values it at the mark as Binance does
    (`risk.bybit_liquidation`), floored at 0, so both need a mark and take its source.
    """
    mark, upnl, src_mark, src_upnl = mark_upnl(p, mv)
    live = src_mark == "live"
    src: dict[Part, Source] = {"mark": src_mark, "upnl": src_upnl}
    mm, src["mm"] = math.nan, "none"
    if b is not None and mark > 0:
        if entry_valued:
            mm = float(bybit_position_mm(p.qty, mark, b.floors, b.mmrs, b.cums))
        else:
            mm = float(maintenance_margin(abs(p.qty) * mark, b.floors, b.mmrs, b.cums))
        src["mm"] = src["mark"]
    if not math.isfinite(mm) and math.isfinite(p.venue_maint_margin):
        mm, src["mm"] = p.venue_maint_margin, "venue"
    cause = []
    if not live:
        cause.append("not watched or no mark yet" if mv is None else "no usable mark")
    if b is None:
        cause.append("no leverage tiers")
    why = f"{_name(p)} ({', '.join(cause)})"
    got = [k for k, s in src.items() if s == "venue"]
    lack = [k for k, s in src.items() if s == "none"]
    return Leg(
        p=p,
        mark=mark,
        b=b,
        notional=abs(p.qty) * mark,
        upnl=upnl,
        mm=mm,
        fresh=acct_ok and live and mv is not None and mv.mark_fresh and not got and not lack,
        live_ok=not live or (mv is not None and mv.mark_fresh),
        src=src,
        from_venue=f"leg_from_venue: {why}: {_words(got, 'and')} as the venue reports" if got else "",
        unpriced=f"leg_unpriced: {why}: no {_words(lack, 'or')}, live or from the venue" if lack else "",
    )


def leg_reason(value: float, legs: Iterable[Leg], parts: tuple[Part, ...]) -> str:
    """The reason of a figure built from these legs' `parts`: "" when all are live.

    NaN: the legs lacking one of those parts ("" when none does: the NaN has another cause, which
    the caller names). A value (±inf included: past liquidation is one): the legs that lent one of
    them from the venue's account data.
    """
    nan = math.isnan(value)
    notes = [
        leg.unpriced if nan else leg.from_venue
        for leg in legs
        if any(leg.src[x] == ("none" if nan else "venue") for x in parts)
    ]
    return join_reasons(*notes)


def join_reasons(*reasons: str) -> str:
    """Several reasons as one, in order (the normaliser keeps the first one's code); "" when none."""
    return "; ".join(dict.fromkeys(r for r in reasons if r))
