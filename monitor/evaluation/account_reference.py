"""Account and position figures, one leg at a time: the scalar reference of `account.account_figures`.

The live path (`account.py`) computes the same figures for every account and position at once;
this module is what it is tested against (every figure equal, tests/unit/evaluation), and what it
hands an account whose tier table is malformed (a gap, a bad rate: the padded table drops such a
row, while the figures here still price the leg from it). Kept simple on purpose: per-leg
Python, the others' MM and UPnL summed again for each contract.

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

from monitor.evaluation.account_bybit import bybit_lps
from monitor.evaluation.legs import Leg, join_reasons, leg_reason, price_leg
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, LeverageTiers, Position
from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability
from monitor.risk.liquidation import liquidation_price
from monitor.risk.margin import Brackets, brackets, maintenance_margin, margin_ratio
from monitor.risk.reasons import Reason
from monitor.store.state import Snapshot

# An account below maintenance margin at every price has no LP (NaN), yet it is the worst state, not an
# unknown one: its distance to liquidation is 0 (and its touch probability 1), so the distance rules
# fire at their most severe level at once instead of waiting for FigureUnavailable.
PAST_EVERY_PRICE = "always_liquidatable"

__all__ = [
    "PAST_EVERY_PRICE",
    "STABLECOINS",
    "account_figures",
    "account_one",
    "brackets_of",
    "cross_wallet",
    "iso_reason",
    "lp_of_group",
    "tier_brackets",
]

STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "USD"})


def cross_wallet(acct: AccountSnapshot) -> float:
    """Stablecoin cross wallet; stablecoins count at par here (a depeg is a stress scenario)."""
    total = 0.0
    for b in acct.balances:
        if b.asset in STABLECOINS:
            total += b.cross_wallet_balance if math.isfinite(b.cross_wallet_balance) else b.wallet_balance
    return total


def brackets_of(t: LeverageTiers | None) -> Brackets | None:
    return None if t is None else tier_brackets(t)


def tier_brackets(t: LeverageTiers) -> Brackets:
    """A tiers record as the risk library's `Brackets`: the one conversion every stage uses."""
    bs = t.brackets
    return brackets(
        np.array([b.floor for b in bs]),
        np.array([b.mmr for b in bs]),
        caps=np.array([b.cap for b in bs]),
        cums=np.array([b.cum for b in bs]),
        max_leverage=np.array([b.max_leverage for b in bs]),
    )


def lp_of_group(
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
    """`bybit_venues`: venues on Bybit's margin model (MM on the mark since 2025-09-02, `account_bybit`).

    A leg without a live mark or tiers is priced as the venue reports it (`legs`). Its own figures
    are then not fresh; the account's figures and the other legs' LPs are as fresh as the live
    legs they use, and carry a reason naming the leg: they are the best numbers there are, and a
    figure that is not fresh starts no alert, which for an account near liquidation would be the
    silence this avoids. A figure that cannot be had from either source is NaN, its reason naming
    the leg it lacks.
    """
    for (venue, account), acct in snap.accounts.items():
        account_one(
            snap,
            venue,
            account,
            acct,
            markets,
            fresh,
            sink,
            horizon_s=horizon_s,
            on_bybit=venue in bybit_venues,
        )


def account_one(
    snap: Snapshot,
    venue: str,
    account: str,
    acct: AccountSnapshot,
    markets: dict[tuple[str, str], MarketView],
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    horizon_s: float,
    on_bybit: bool,
) -> None:
    """One account's figures (see `account_figures`)."""
    acct_ok = fresh.get((venue, f"account:{account}"), False)
    legs = [
        price_leg(
            p,
            markets.get((venue, p.symbol)),
            brackets_of(snap.tiers.get((venue, account, p.symbol))),
            acct_ok=acct_ok,
            entry_valued=on_bybit,
        )
        for p in acct.positions
    ]
    cross = [x for x in legs if x.p.margin_mode == "cross"]
    wallet = cross_wallet(acct)
    upnl_total = sum(x.upnl for x in cross)
    mm_total = sum(x.mm for x in cross)
    balance = wallet + upnl_total
    all_fresh = acct_ok and all(x.live_ok for x in cross)
    lab = {"venue": venue, "account": account}
    pnl_why = leg_reason(balance, cross, ("upnl",))
    sink.add("wallet_balance_usd", wallet, lab, fresh=acct_ok)
    sink.add("unrealized_pnl_usd", upnl_total, lab, fresh=all_fresh, reason=pnl_why)
    sink.add("margin_balance_usd", balance, lab, fresh=all_fresh, reason=pnl_why)
    sink.add(
        "maintenance_margin_usd",
        mm_total,
        lab,
        fresh=all_fresh,
        reason=leg_reason(mm_total, cross, ("mm",)),
    )
    if cross:
        ratio = float(margin_ratio(mm_total, balance))
        headroom = balance - mm_total
        why = leg_reason(headroom, cross, ("upnl", "mm"))
        sink.add("margin_ratio", ratio, lab, fresh=all_fresh, reason=why)
        sink.add("margin_headroom_usd", headroom, lab, fresh=all_fresh, reason=why)
        sink.add("margin_headroom_ratio", 1.0 - ratio, lab, fresh=all_fresh, reason=why)
    else:
        # Nothing cross to liquidate: no margin is used, and headroom (room before liquidation) does
        # not exist. Leaving it out resolves a headroom alert as "figure gone" once the last position
        # closes, instead of an emptied wallet raising a fresh critical about room that means nothing.
        sink.add("margin_ratio", 0.0, lab, fresh=acct_ok)
    for x in legs:
        if x.p.margin_mode == "isolated":
            iso = float(margin_ratio(x.mm, x.p.isolated_wallet + x.upnl))
            sink.add(
                "position_margin_ratio",
                iso,
                fresh=x.fresh,
                reason=iso_reason(iso, x),
                venue=venue,
                account=account,
                symbol=x.p.symbol,
                side=x.p.side,
            )
    if on_bybit:
        lps, same_state = bybit_lps(legs, wallet)
    else:
        lps, same_state = _binance_lps(legs, wallet), _venue_state_lps(legs, wallet)
    for x in legs:
        _position(sink, venue, account, x, lps[id(x.p)], markets.get((venue, x.p.symbol)), horizon_s)
        _divergence(sink, venue, account, x.p, same_state.get(id(x.p), math.nan), fresh=x.fresh)


def iso_reason(ratio: float, leg: Leg) -> str:
    """An isolated margin ratio stands on the leg's own UPnL and MM; without tiers, say so first."""
    if math.isnan(ratio) and leg.b is None and leg.src["mm"] == "none":
        return join_reasons("missing_tier", leg.unpriced)
    return leg_reason(ratio, [leg], ("upnl", "mm"))


def _binance_lps(legs: list[Leg], wallet: float) -> dict[int, tuple[float, str]]:
    """LP and reason by position id. A cross LP holds the other contracts at their MM and UPnL.

    Those of a leg priced by the venue are the venue's (at its mark, not the live one): an
    approximation, flagged by the reason, which is sound while that leg's mark moves little
    against the distance to liquidation, and far better than no LP. A leg lacking them makes
    the others' LPs NaN, naming it. A leg's own LP needs its tiers (they are re-tiered at the
    LP) and a mark (where the tier search starts): without them it is NaN.
    """
    cross = [x for x in legs if x.p.margin_mode == "cross"]
    by_symbol: dict[str, list[Leg]] = defaultdict(list)
    for x in cross:
        by_symbol[x.p.symbol].append(x)
    out: dict[int, tuple[float, str]] = {}
    for symbol, group in by_symbol.items():
        lp = _own_lp(group, [x for x in cross if x.p.symbol != symbol], wallet)
        for x in group:
            out[id(x.p)] = lp
    for x in legs:
        if x.p.margin_mode == "isolated":
            out[id(x.p)] = _own_lp([x], [], x.p.isolated_wallet)
    return out


def _own_lp(group: list[Leg], others: list[Leg], wallet: float) -> tuple[float, str]:
    """The LP of one contract's legs (both hedge legs share it) with `others` at their MM and UPnL."""
    own = group[0]
    if own.b is None:
        return math.nan, "missing_tier"
    if not own.mark > 0:
        return math.nan, own.unpriced or "no_mark"
    other_mm, other_upnl = sum(x.mm for x in others), sum(x.upnl for x in others)
    if math.isnan(other_mm + other_upnl):
        return math.nan, leg_reason(math.nan, others, ("upnl", "mm")) or "nan_input"
    lp, why = lp_of_group(own.mark, wallet, own.b, [x.p for x in group], other_mm, other_upnl)
    return lp, join_reasons(why, leg_reason(lp, [own], ("mark",)), leg_reason(lp, others, ("upnl", "mm")))


def _venue_state_lps(legs: list[Leg], wallet: float) -> dict[int, float]:
    """Our LP recomputed on the state the venue's LP describes: its snapshot's legs, wallet and marks.

    The venue prices its LP with the marks of the moment it answered (`markPrice` on the same
    row), and a cross LP moves with the other legs' marks; ours follows the live mark stream. So
    the two are compared only on the same state: our formula fed the venue's marks. The collector
    drops the venue's figures as soon as a delta changes that state, so a divergence here is a
    model or data problem, not lag; the rule's threshold (0.2 %) only absorbs the venue's rounding.
    """
    cross = [x for x in legs if x.p.margin_mode == "cross"]
    out: dict[int, float] = {}
    if all(x.b is not None for x in cross):
        state = [(x, _venue_mark(x)) for x in cross]
        mm = {id(x.p): _mm_at(x.p, m, x.b) for x, m in state}
        upnl = {id(x.p): x.p.qty * (m - x.p.entry_price) for x, m in state}
        for x, m in state:
            own = [id(y.p) for y, _ in state if y.p.symbol == x.p.symbol]
            other_mm = sum(v for k, v in mm.items() if k not in own)
            other_upnl = sum(v for k, v in upnl.items() if k not in own)
            if x.b is not None:
                group = [y.p for y, _ in state if y.p.symbol == x.p.symbol]
                out[id(x.p)] = lp_of_group(m, wallet, x.b, group, other_mm, other_upnl)[0]
    for x in legs:
        if x.p.margin_mode == "isolated" and x.b is not None:
            out[id(x.p)] = lp_of_group(_venue_mark(x), x.p.isolated_wallet, x.b, [x.p], 0.0, 0.0)[0]
    return out


def _venue_mark(leg: Leg) -> float:
    """The mark the venue priced this leg at; the live mark only if the venue does not report one."""
    return leg.p.venue_mark_price if leg.p.venue_mark_price > 0 else leg.mark


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
    leg: Leg,
    lp_reason: tuple[float, str],
    mv: MarketView | None,
    horizon_s: float,
) -> None:
    """A position's figures; those after the LP give the LP's reason, or what else made them NaN."""
    p, mark, ok = leg.p, leg.mark, leg.fresh
    lab = {"venue": venue, "account": account, "symbol": p.symbol, "side": p.side}
    lp, why = lp_reason
    sink.add("position_quantity", p.qty, lab, fresh=ok)
    sink.add(
        "position_notional_usd",
        leg.notional,
        lab,
        fresh=ok,
        reason=leg_reason(leg.notional, [leg], ("mark",)),
    )
    sink.add(
        "position_unrealized_pnl_usd", leg.upnl, lab, fresh=ok, reason=leg_reason(leg.upnl, [leg], ("upnl",))
    )
    sink.add(
        "position_maintenance_margin_usd", leg.mm, lab, fresh=ok, reason=leg_reason(leg.mm, [leg], ("mm",))
    )
    sink.add("liquidation_price_usd", lp, lab, fresh=ok, reason=why)
    venue_lp = p.venue_liquidation_price
    sink.add("venue_liquidation_price_usd", venue_lp, lab, reason="" if venue_lp > 0 else "venue_shows_none")
    dist = float(liquidation_distance(lp, mark))
    d_why = why if math.isfinite(dist) or math.isnan(lp) else leg_reason(dist, [leg], ("mark",)) or why
    sigma = mv.sigma_ann if mv is not None else math.nan
    k = float(liquidation_sigma(lp, mark, sigma, horizon_s))
    if why == PAST_EVERY_PRICE and mark > 0:  # no LP: no price is safe, so nothing is left to move
        dist = k = 0.0
    sink.add("liquidation_distance_ratio", dist, lab, fresh=ok, reason=d_why)
    k_why = d_why if math.isfinite(k) or math.isnan(dist) else "no_volatility"
    sink.add("liquidation_distance_sigma", k, lab, fresh=ok, reason=k_why)
    sink.add("liquidation_touch_probability_ratio", float(touch_probability(k)), lab, fresh=ok, reason=k_why)
