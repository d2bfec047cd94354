"""Advice figures: the volatility-targeted hedge, sizing, the top-up for a shock, the cost to close.

These are information for the desk, not alerts by default (a rule can still name them):
- hedge: exposure = min(1, target vol / forecast vol), recommended hedge ratio = 1 − exposure, and
  its distance from the hedge ratio held now, per asset. The forecast is GARCH when fitted, EWMA
  otherwise (the figure's reason says `ewma_fallback`).
- sizing per position: the notional whose volatility is `target_vol` of the capital behind it
  (the account's margin balance, or the isolated margin), capped at half-Kelly. The only mean
  forecast perpmon has is the funding the position earns (price drift is taken as zero, as in
  the zero-mean GARCH), so μ = −sign(q)·annualised funding and σ² = forecast variance, per year.
- top-up: collateral to add so the account (cross: every position shocked together, in the
  adverse direction, the worse of up and down) or the isolated position survives a `shock` move;
  on a venue with Bybit's margin model, against its MM at the shocked mark (`advice_bybit`). A leg on a
  symbol not watched is shocked from the venue's mark (flagged); a NaN names the leg it lacks.
- cost to close each position by walking the perpetual book: the levels the venue's collector
  keeps (`BookLevels`, `depth_levels` deep), else the top of book. A position larger than the
  visible depth is `insufficient_depth` (cost not available) while the share the visible levels
  would fill is still reported.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict

import numpy as np

from monitor.evaluation.account import cross_wallet
from monitor.evaluation.account_bybit import bybit_unified_cross_wallet
from monitor.evaluation.garch_forecast import GarchNow
from monitor.evaluation.leg_exposure import account_exposures
from monitor.evaluation.legs import mark_upnl
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import LeverageTiers, Position
from monitor.risk.funding import annualised_funding
from monitor.risk.hedge import hedge_deviation, recommended_hedge
from monitor.risk.margin import Brackets, brackets
from monitor.risk.reasons import Reason
from monitor.risk.sizing import sizing_advice
from monitor.risk.tiers import TierTable, tier_table
from monitor.risk.topup import topup_cross, topup_isolated
from monitor.store.state import Snapshot
from tests.unit.evaluation.reference.advice_bybit import bybit_cross_topup, bybit_isolated_topup
from tests.unit.evaluation.reference.liquidity import cost_to_close

__all__ = ["advice_figures", "forecast_vol"]


def forecast_vol(
    key: tuple[str, str], garch: dict[tuple[str, str], GarchNow], markets: dict[tuple[str, str], MarketView]
) -> tuple[float, str]:
    """Annualised forecast σ of a market: GARCH, else EWMA (flagged), else not available."""
    g = garch.get(key)
    if g is not None and math.isfinite(g.sigma_ann):
        return g.sigma_ann, ""
    mv = markets.get(key)
    if mv is not None and math.isfinite(mv.sigma_ann):
        return mv.sigma_ann, "ewma_fallback"
    return math.nan, (g.reason if g is not None and g.reason else "no_volatility")


def advice_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    *,
    target_vol: float,
    shock: float,
    bybit_venues: frozenset[str] = frozenset(),
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (their top-ups hold MM at the entry value)."""
    _hedge(snap, markets, garch, sink, target_vol)
    for (venue, account), acct in snap.accounts.items():
        if any(p.inverse for p in acct.positions):
            continue  # issue 17: a coin-margined account is not the linear model's to top up or size
        on_bybit = venue in bybit_venues
        cross = [p for p in acct.positions if p.margin_mode == "cross" and p.qty != 0]
        wallet = cross_wallet(acct)
        upnls = {id(p): mark_upnl(p, markets.get((venue, p.symbol)))[1] for p in acct.positions}
        upnl = sum(upnls[id(p)] for p in cross)
        lab = {"venue": venue, "account": account}
        if on_bybit:
            legs = [(p, _mark(markets, venue, p), snap.tiers.get((venue, account, p.symbol))) for p in cross]
            need, why = bybit_cross_topup(legs, bybit_unified_cross_wallet(wallet, acct.positions), shock)
        else:
            need, why = _cross_topup(snap, markets, venue, account, cross, wallet, shock)
        sink.add("topup_for_shock_usd", need, lab, reason=why or _venue_marked(markets, venue, cross))
        for p in acct.positions:
            if p.qty == 0:
                continue
            plab = {**lab, "symbol": p.symbol, "side": p.side}
            mark = _mark(markets, venue, p)
            iso = p.margin_mode == "isolated"
            capital = p.isolated_wallet + upnls[id(p)] if iso else wallet + upnl
            lacking = [x.symbol for x in ([p] if iso else cross) if math.isnan(upnls[id(x)])]
            unpriced = (
                f"leg_unpriced: {', '.join(lacking)} (no UPnL, live or from the venue)" if lacking else ""
            )
            _sizing(sink, plab, p, (capital, unpriced), markets.get((venue, p.symbol)), garch, target_vol)
            if iso and on_bybit:
                iso_need, iso_why = bybit_isolated_topup(
                    p, mark, snap.tiers.get((venue, account, p.symbol)), shock
                )
                sink.add("position_topup_for_shock_usd", iso_need, plab, reason=iso_why)
            elif iso:
                _iso_topup(sink, plab, snap, venue, account, p, mark, shock)
            _close_cost(sink, plab, snap, venue, p)


def _mark(markets: dict[tuple[str, str], MarketView], venue: str, p: Position) -> float:
    """The live mark, else the venue's from the account payload (`legs.mark_upnl`), else NaN."""
    return mark_upnl(p, markets.get((venue, p.symbol)))[0]


def _venue_marked(markets: dict[tuple[str, str], MarketView], venue: str, legs: list[Position]) -> str:
    """The flag of a figure that shocked some legs from the venue's mark: they have no live one."""
    named = [p.symbol for p in legs if mark_upnl(p, markets.get((venue, p.symbol)))[2] == "venue"]
    return f"leg_from_venue: {', '.join(named)} shocked from the venue's mark" if named else ""


def _hedge(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    target_vol: float,
) -> None:
    held: dict[str, float] = defaultdict(float)
    perp: dict[str, float] = defaultdict(float)
    priced_by: dict[str, tuple[str, str]] = {}
    for h in sorted(snap.holdings.values(), key=lambda x: x.name):
        held[h.asset] += h.quantity
        priced_by.setdefault(h.asset, (h.price_venue, h.price_symbol))
    for (venue, _account), acct in sorted(snap.accounts.items()):
        # issue 17: the leg's coin and exposure in it (an inverse leg's with its coin margin)
        for p, (asset, x) in zip(acct.positions, account_exposures(acct), strict=True):
            perp[asset] += x
            priced_by.setdefault(asset, (venue, p.symbol))
    for asset in sorted(set(held) | set(perp)):
        sigma, why = forecast_vol(priced_by[asset], garch, markets)
        rec = float(recommended_hedge(target_vol, sigma))
        sink.add("recommended_hedge_ratio", rec, reason=why, asset=asset)
        current = -perp[asset] / held[asset] if held[asset] > 0 else math.nan
        dev = float(hedge_deviation(current, rec))
        dwhy = "no_holdings" if held[asset] <= 0 else why
        sink.add("hedge_deviation_ratio", dev, reason=dwhy, asset=asset)


def _sizing(
    sink: FigureSink,
    lab: dict[str, str],
    p: Position,
    capital_why: tuple[float, str],
    mv: MarketView | None,
    garch: dict[tuple[str, str], GarchNow],
    target_vol: float,
) -> None:
    """`capital_why`: the capital behind the position, and why it is NaN (a leg without UPnL)."""
    capital, unpriced = capital_why
    key = (lab["venue"], p.symbol)
    sigma, why = forecast_vol(key, garch, {key: mv} if mv is not None else {})
    mu = math.nan
    if mv is not None:  # the funding a position on this side earns, per year
        mu = -math.copysign(1.0, p.qty) * float(annualised_funding(mv.funding_rate, mv.funding_interval_h))
    adv = sizing_advice(capital, target_vol, sigma, mu=mu, var=sigma * sigma)
    missing = unpriced or why or (adv.reason.name.lower() if adv.reason != Reason.OK else "not_available")
    tv, hk, rec = adv.target_vol_notional, adv.half_kelly_notional, adv.recommended_notional
    hk_missing = "no_funding_estimate" if not math.isfinite(mu) else missing
    sink.add("sizing_target_vol_notional_usd", tv, lab, reason=why if math.isfinite(tv) else missing)
    sink.add("sizing_half_kelly_notional_usd", hk, lab, reason=why if math.isfinite(hk) else hk_missing)
    sink.add("sizing_recommended_notional_usd", rec, lab, reason=why if math.isfinite(rec) else hk_missing)


def _brackets(t: LeverageTiers | None) -> Brackets | None:
    if t is None or not t.brackets:
        return None
    bs = t.brackets
    return brackets(
        np.array([b.floor for b in bs]),
        np.array([b.mmr for b in bs]),
        caps=np.array([b.cap for b in bs]),
        cums=np.array([b.cum for b in bs]),
    )


@functools.lru_cache(maxsize=512)
def _table(tiers: tuple[LeverageTiers | None, ...]) -> TierTable | None:
    """The padded bracket table of these venue records; memoised on the (immutable) records themselves,
    so a tick re-validates brackets only when the venue sent new ones."""
    bs = [_brackets(t) for t in tiers]
    return tier_table([b for b in bs if b is not None]) if all(b is not None for b in bs) else None


def _cross_topup(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    venue: str,
    account: str,
    cross: list[Position],
    wallet: float,
    shock: float,
) -> tuple[float, str]:
    if not math.isfinite(wallet):
        return math.nan, "nan_input"
    if not cross:
        return 0.0, ""
    symbols = sorted({p.symbol for p in cross})
    table = _table(tuple(snap.tiers.get((venue, account, s)) for s in symbols))
    if table is None:
        untiered = [s for s in symbols if _brackets(snap.tiers.get((venue, account, s))) is None]
        return math.nan, f"missing_tier: {', '.join(untiered)}"
    sym = np.array([symbols.index(p.symbol) for p in cross], dtype=np.intp)
    q = np.array([p.qty * p.contract_size for p in cross])
    entry = np.array([p.entry_price for p in cross])
    mark = np.array([_mark(markets, venue, p) for p in cross])
    if not np.all(mark > 0):
        unpriced = [p.symbol for p, m in zip(cross, mark, strict=True) if not m > 0]
        return math.nan, f"no_mark: {', '.join(unpriced)} (none live, none from the venue)"
    n = len(cross)  # both directions in one call: "account" 0 is the up move, 1 the down move
    acct = np.repeat(np.array([0, 1], dtype=np.intp), n)
    shocked = np.concatenate([mark * (1.0 + shock), mark * (1.0 - shock)])
    need = topup_cross(acct, np.tile(q, 2), np.tile(entry, 2), shocked, np.array([wallet, wallet]), table,
                       np.tile(sym, 2))  # fmt: skip
    worst = float(np.max(need)) if np.all(np.isfinite(need)) else math.nan
    return worst, "" if math.isfinite(worst) else "missing_tier"


def _iso_topup(
    sink: FigureSink,
    lab: dict[str, str],
    snap: Snapshot,
    venue: str,
    account: str,
    p: Position,
    mark: float,
    shock: float,
) -> None:
    table = _table((snap.tiers.get((venue, account, p.symbol)),))
    if table is None:
        sink.add("position_topup_for_shock_usd", math.nan, lab, reason="missing_tier")
        return
    need = topup_isolated(
        np.array([p.qty * p.contract_size]), np.array([p.entry_price]), np.array([mark]),
        np.array([p.isolated_wallet]), table, np.array([0], dtype=np.intp), shock,
    )[0]  # fmt: skip
    sink.add(
        "position_topup_for_shock_usd",
        float(need),
        lab,
        reason="" if math.isfinite(need) else "not_available",
    )


def _close_cost(sink: FigureSink, lab: dict[str, str], snap: Snapshot, venue: str, p: Position) -> None:
    levels = snap.books.get((venue, p.symbol, "perp"))
    book = snap.quotes.get((venue, p.symbol, "perp"))
    q = p.qty * p.contract_size
    if levels is not None and levels.bid_px and levels.ask_px:
        cc = cost_to_close(q, np.array(levels.bid_px), np.array(levels.bid_qty), np.array(levels.ask_px),
                           np.array(levels.ask_qty))  # fmt: skip
    elif book is not None:
        cc = cost_to_close(q, np.array([book.bid]), np.array([book.bid_size]), np.array([book.ask]),
                           np.array([book.ask_size]))  # fmt: skip
    else:
        for name in ("close_cost_usd", "close_slippage_bps", "close_visible_fill_ratio"):
            sink.add(name, math.nan, lab, reason="no_perp_book")
        return
    why = "" if cc.reason == Reason.OK else cc.reason.name.lower()
    sink.add("close_cost_usd", cc.cost, lab, reason=why)
    sink.add("close_slippage_bps", cc.slippage_bps, lab, reason=why)
    fill = cc.filled_qty / abs(q) if cc.reason in (Reason.OK, Reason.INSUFFICIENT_DEPTH) else math.nan
    sink.add("close_visible_fill_ratio", fill, lab, reason="" if math.isfinite(fill) else why)
