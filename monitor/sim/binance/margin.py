"""Binance USDⓈ-M margin arithmetic over the simulator's positions (venues.md §3, risk-formulas §4).

Maintenance margin uses the tier at *mark* notional, `MM = notional × mmr − cum`; a cross account's
margin ratio is Σ MM / (cross wallet + Σ cross UPnL), an isolated position's is its MM over its
isolated wallet + its UPnL. Figures here are raw floats; the engine quantizes what it publishes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.sim.book import Position
from monitor.sim.brackets import Bracket, tier_for

__all__ = [
    "AccountRisk",
    "PositionRisk",
    "account_risk",
    "maint_margin",
    "position_risk",
    "ratio",
]


@dataclass(frozen=True, slots=True)
class PositionRisk:
    notional: float  # unsigned, at mark
    upnl: float
    maint_margin: float
    bracket: Bracket
    initial_margin: float
    isolated_margin: float  # isolated wallet + UPnL (0 for cross)
    isolated_ratio: float  # MM / isolated margin (0 for cross)


@dataclass(frozen=True, slots=True)
class AccountRisk:
    cross_wallet: float
    wallet_balance: float  # cross wallet + isolated wallets
    cross_upnl: float
    upnl: float
    cross_maint_margin: float
    maint_margin: float
    cross_initial_margin: float
    initial_margin: float
    cross_margin_balance: float
    margin_balance: float
    cross_margin_ratio: float  # Σ cross MM / cross margin balance; inf when that balance ≤ 0
    available: float


def ratio(mm: float, balance: float) -> float:
    if mm <= 0:
        return 0.0
    return mm / balance if balance > 0 else float("inf")


def maint_margin(qty: float, price: float, brackets: Sequence[Bracket]) -> float:
    notional = abs(qty) * price
    tier = tier_for(brackets, notional)
    return notional * tier.mmr - tier.cum


def position_risk(pos: Position, mark: float, brackets: Sequence[Bracket]) -> PositionRisk:
    notional = abs(pos.qty) * mark
    tier = tier_for(brackets, notional)
    mm = notional * tier.mmr - tier.cum
    upnl = pos.qty * (mark - pos.entry)
    iso = pos.margin_mode == "isolated"
    iso_margin = pos.isolated_wallet + upnl if iso else 0.0
    return PositionRisk(
        notional=notional,
        upnl=upnl,
        maint_margin=mm,
        bracket=tier,
        initial_margin=notional / pos.leverage,
        isolated_margin=iso_margin,
        isolated_ratio=ratio(mm, iso_margin) if iso else 0.0,
    )


def account_risk(
    cross_wallet: float,
    positions: Sequence[Position],
    marks: Mapping[str, float],
    brackets: Mapping[str, Sequence[Bracket]],
) -> AccountRisk:
    c_upnl = c_mm = c_im = upnl = mm = im = iso_wallets = 0.0
    for p in positions:
        r = position_risk(p, marks[p.symbol], brackets[p.symbol])
        upnl += r.upnl
        mm += r.maint_margin
        im += r.initial_margin
        if p.margin_mode == "cross":
            c_upnl += r.upnl
            c_mm += r.maint_margin
            c_im += r.initial_margin
        else:
            iso_wallets += p.isolated_wallet
    c_balance = cross_wallet + c_upnl
    wallet = cross_wallet + iso_wallets
    return AccountRisk(
        cross_wallet=cross_wallet,
        wallet_balance=wallet,
        cross_upnl=c_upnl,
        upnl=upnl,
        cross_maint_margin=c_mm,
        maint_margin=mm,
        cross_initial_margin=c_im,
        initial_margin=im,
        cross_margin_balance=c_balance,
        margin_balance=wallet + upnl,
        cross_margin_ratio=ratio(c_mm, c_balance),
        available=max(0.0, c_balance - c_im),
    )
