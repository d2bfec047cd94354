"""Account and position figures: margin, margin ratio, headroom, liquidation price and distance.

Binance's cross model: all cross positions share the cross wallet, so each contract's LP holds the
other contracts at their marks (TMM1, UPNL1); both hedge legs of one symbol share one LP.
Isolated positions stand alone on their isolated wallet. Every number uses the venue's tiered
maintenance margin, and the venue's own LP is kept beside ours: a divergence means a model or
data problem, which is worth an alert of its own.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from monitor.evaluation.account_bybit import bybit_lps, bybit_mm
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, LeverageTiers, Position
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.liquidation import liquidation_price
from monitor.risk.margin import Brackets, brackets, maintenance_margin, margin_ratio
from monitor.risk.reasons import Reason
from monitor.store.state import Snapshot

__all__ = ["STABLECOINS", "account_figures", "cross_wallet"]

STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "USD"})


def cross_wallet(acct: AccountSnapshot) -> float:
    """Stablecoin cross wallet; stablecoins count at par here (a depeg is a stress scenario)."""
    total = 0.0
    for b in acct.balances:
        if b.asset in STABLECOINS:
            total += b.cross_wallet_balance if math.isfinite(b.cross_wallet_balance) else b.wallet_balance
    return total


def _brackets(t: LeverageTiers | None) -> Brackets | None:
    if t is None:
        return None
    bs = t.brackets
    return brackets(
        np.array([b.floor for b in bs]),
        np.array([b.mmr for b in bs]),
        caps=np.array([b.cap for b in bs]),
        cums=np.array([b.cum for b in bs]),
        max_leverage=np.array([b.max_leverage for b in bs]),
    )


def _lp(
    mark: float, wallet: float, b: Brackets, legs: list[Position], other_mm: float, other_upnl: float
) -> tuple[float, str]:
    kw: dict[str, float] = {}
    for p in legs:
        if p.side == "BOTH":
            kw |= {"qty": p.qty, "entry": p.entry_price}
        elif p.side == "LONG":
            kw |= {"long_qty": abs(p.qty), "long_entry": p.entry_price}
        else:
            kw |= {"short_qty": abs(p.qty), "short_entry": p.entry_price}
    res = liquidation_price(
        mark=mark, wallet=wallet, brackets=b, other_mm=other_mm, other_upnl=other_upnl, **kw
    )
    return res.price, ("" if res.reason == Reason.OK else res.reason.name.lower())


def account_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    horizon_s: float,
    bybit_venues: frozenset[str] = frozenset(),
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (entry-valued MM, `account_bybit`)."""
    for (venue, account), acct in snap.accounts.items():
        on_bybit = venue in bybit_venues
        acct_ok = fresh.get((venue, f"account:{account}"), False)
        rows = []  # (position, mark, brackets, notional, upnl, mm, fresh)
        for p in acct.positions:
            mv = markets.get((venue, p.symbol))
            mark = mv.mark if mv is not None else math.nan
            b = _brackets(snap.tiers.get((venue, account, p.symbol)))
            notional = abs(p.qty) * mark
            upnl = p.qty * (mark - p.entry_price)
            mm = float(maintenance_margin(notional, b.floors, b.mmrs, b.cums)) if b is not None else math.nan
            if on_bybit:
                mm = bybit_mm(p, b)
            rows.append((p, mark, b, notional, upnl, mm, acct_ok and mv is not None and mv.mark_fresh))
        cross = [r for r in rows if r[0].margin_mode == "cross"]
        wallet = cross_wallet(acct)
        upnl_total = sum(r[4] for r in cross)
        mm_total = sum(r[5] for r in cross)
        balance = wallet + upnl_total
        all_fresh = acct_ok and all(r[6] for r in cross)
        lab = {"venue": venue, "account": account}
        sink.add("wallet_balance_usd", wallet, lab, fresh=acct_ok)
        sink.add("unrealized_pnl_usd", upnl_total, lab, fresh=all_fresh)
        sink.add("margin_balance_usd", balance, lab, fresh=all_fresh)
        sink.add("maintenance_margin_usd", mm_total, lab, fresh=all_fresh)
        if cross:
            ratio = float(margin_ratio(mm_total, balance))
            sink.add("margin_ratio", ratio, lab, fresh=all_fresh)
            sink.add("margin_headroom_usd", balance - mm_total, lab, fresh=all_fresh)
            sink.add("margin_headroom_ratio", 1.0 - ratio, lab, fresh=all_fresh)
        else:
            # Nothing cross to liquidate: no margin is used, and headroom (room before liquidation) does
            # not exist. Leaving it out resolves a headroom alert as "figure gone" once the last position
            # closes, instead of an emptied wallet raising a fresh critical about room that means nothing.
            sink.add("margin_ratio", 0.0, lab, fresh=acct_ok)

        # Bybit's LPs come from its own model (`bybit_lps`, below): Binance's are not computed for them
        lps: dict[int, tuple[float, str]] = {}
        if not on_bybit:
            by_symbol: dict[str, list[tuple[Position, float, Brackets | None, float, float, float, bool]]] = (
                defaultdict(list)
            )
            for r in cross:
                by_symbol[r[0].symbol].append(r)
            for legs in by_symbol.values():
                mark, b = legs[0][1], legs[0][2]
                if b is None:
                    lp = (math.nan, "missing_tier")
                else:
                    own_mm, own_upnl = sum(r[5] for r in legs), sum(r[4] for r in legs)
                    lp = _lp(mark, wallet, b, [r[0] for r in legs], mm_total - own_mm, upnl_total - own_upnl)
                for r in legs:
                    lps[id(r[0])] = lp
        for r in rows:
            p, mark, b = r[0], r[1], r[2]
            if p.margin_mode == "isolated":
                if b is None:
                    lps[id(p)] = (math.nan, "missing_tier")
                else:
                    if not on_bybit:
                        lps[id(p)] = _lp(mark, p.isolated_wallet, b, [p], 0.0, 0.0)
                    iso = float(margin_ratio(r[5], p.isolated_wallet + r[4]))
                    sink.add(
                        "position_margin_ratio",
                        iso,
                        fresh=r[6],
                        venue=venue,
                        account=account,
                        symbol=p.symbol,
                        side=p.side,
                    )
        if on_bybit:
            lps, same_state = bybit_lps(rows, wallet)
        else:
            same_state = _venue_state_lps(rows, wallet)
        for r in rows:
            p = r[0]
            _position(sink, venue, account, r, lps[id(p)], markets.get((venue, p.symbol)), horizon_s)
            _divergence(sink, venue, account, p, same_state.get(id(p), math.nan), fresh=r[6])


def _venue_state_lps(
    rows: list[tuple[Position, float, Brackets | None, float, float, float, bool]], wallet: float
) -> dict[int, float]:
    """Our LP recomputed on the state the venue's LP describes: its snapshot's legs, wallet and marks.

    The venue prices its LP with the marks of the moment it answered (`markPrice` on the same
    row), and a cross LP moves with the other legs' marks; ours follows the live mark stream. So
    the two are compared only on the same state: our formula fed the venue's marks. The collector
    drops the venue's figures as soon as a delta changes that state, so a divergence here is a
    model or data problem, not lag; the rule's threshold (0.2 %) only absorbs the venue's rounding.
    """
    cross = [r for r in rows if r[0].margin_mode == "cross"]
    out: dict[int, float] = {}
    if all(r[2] is not None for r in cross):
        state = [(r, _venue_mark(r)) for r in cross]
        mm = {id(r[0]): _mm_at(r[0], m, r[2]) for r, m in state}
        upnl = {id(r[0]): r[0].qty * (m - r[0].entry_price) for r, m in state}
        for r, m in state:
            legs = [x for x, _ in state if x[0].symbol == r[0].symbol]
            own = [id(x[0]) for x in legs]
            other_mm = sum(mm.values()) - sum(mm[i] for i in own)
            other_upnl = sum(upnl.values()) - sum(upnl[i] for i in own)
            b = r[2]
            if b is not None:
                out[id(r[0])] = _lp(m, wallet, b, [x[0] for x in legs], other_mm, other_upnl)[0]
    for r in rows:
        p, b = r[0], r[2]
        if p.margin_mode == "isolated" and b is not None:
            out[id(p)] = _lp(_venue_mark(r), p.isolated_wallet, b, [p], 0.0, 0.0)[0]
    return out


def _venue_mark(row: tuple[Position, float, Brackets | None, float, float, float, bool]) -> float:
    """The mark the venue priced this leg at; the live mark only if the venue does not report one."""
    return row[0].venue_mark_price if row[0].venue_mark_price > 0 else row[1]


def _mm_at(p: Position, mark: float, b: Brackets | None) -> float:
    if b is None:
        return math.nan
    return float(maintenance_margin(abs(p.qty) * mark, b.floors, b.mmrs, b.cums))


def _divergence(sink: FigureSink, venue: str, account: str, p: Position, ours: float, *, fresh: bool) -> None:
    venue_lp = p.venue_liquidation_price
    if ours > 0 and venue_lp > 0:
        lab = {"venue": venue, "account": account, "symbol": p.symbol, "side": p.side}
        sink.add("liquidation_price_divergence_ratio", abs(ours / venue_lp - 1.0), lab, fresh=fresh)


def _position(
    sink: FigureSink,
    venue: str,
    account: str,
    row: tuple[Position, float, Brackets | None, float, float, float, bool],
    lp_reason: tuple[float, str],
    mv: MarketView | None,
    horizon_s: float,
) -> None:
    p, mark, _b, notional, upnl, mm, ok = row
    lab = {"venue": venue, "account": account, "symbol": p.symbol, "side": p.side}
    lp, why = lp_reason
    sink.add("position_quantity", p.qty, lab, fresh=ok)
    sink.add("position_notional_usd", notional, lab, fresh=ok)
    sink.add("position_unrealized_pnl_usd", upnl, lab, fresh=ok)
    sink.add("position_maintenance_margin_usd", mm, lab, fresh=ok)
    sink.add("liquidation_price_usd", lp, lab, fresh=ok, reason=why)
    venue_lp = p.venue_liquidation_price
    sink.add("venue_liquidation_price_usd", venue_lp, lab, reason="" if venue_lp > 0 else "venue_shows_none")
    dist = float(liquidation_distance(lp, mark))
    sink.add("liquidation_distance_ratio", dist, lab, fresh=ok, reason=why)
    sigma = mv.sigma_ann if mv is not None else math.nan
    k = float(liquidation_sigma(lp, mark, sigma, horizon_s))
    k_why = why or ("" if math.isfinite(k) else "no_volatility")
    sink.add("liquidation_distance_sigma", k, lab, fresh=ok, reason=k_why)
    sink.add("liquidation_touch_probability_ratio", float(touch_probability(k)), lab, fresh=ok, reason=k_why)
