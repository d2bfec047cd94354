"""Stress scenarios of risk-formulas §11 and a pure `run_scenario` over the whole book.

Why a scenario is data: the desk wants the same table every time (price shocks, basis blow-out,
funding pinned at the cap, a venue outage, a stablecoin depeg, historical crash moves, a
combined case) and to add its own. `run_scenario` revalues the book at the shocked prices and
reports, per venue and in total, spot PnL, perp PnL, funding PnL, equity after, margin ratio
after (cross account), which positions liquidate and the top-up that would avoid it.

Conventions: `price_shock` moves every spot price (crypto moves together in a crash);
`basis_shock` then moves every perp mark *relative to spot* (+0.02 = perp 2 % above where spot
took it, i.e. the basis spot − perp falls; that is the adverse case for long-spot/short-perp);
funding is pinned at each symbol's |cap| *against* each position for `funding_days`; a depeg
scales the USDT part of each venue's wallet. Spot balances (and off-exchange custody, venue −1)
count in equity, never as margin: the margin-call trap of seed 003.

Margin models, per perp leg (`perp_entry_valued`): Binance values maintenance margin at the mark,
so a shock re-tiers it at the shocked notional; so does Bybit since 2025-09-02
(`risk.bybit_liquidation`). The entry-valued option is Bybit's model before that date (tier and
`mmDeduction` at |q|·entry, a shock leaves MM where it was), kept to compare. Everything else —
liquidation when equity (cross: wallet + UPnL; isolated: position balance + UPnL) reaches MM, and
the top-up that brings it back to MM — is the same rule on both venues,
which is what lets one book spanning both answer "if one venue freezes, does the other hold?".

Inverse legs (`perp_face`, Binance COIN-M) are revalued exactly, in USD: `perp_q` = N·CS/EP coin at
entry EP gives the coin UPnL's USD value N·CS·(P/EP − 1); the coin wallet counts at the shocked
mark (it is margin, and BTC the desk owns); MM is the coin brackets at the coin value N·CS/P, × P;
funding is |cap| on the face value. The venue pools cross margin per coin; here, per account.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec
import numpy as np

from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.tiers import TierTable, table_maintenance_margin

__all__ = ["HISTORICAL", "Scenario", "StressBook", "StressResult", "run_scenario", "standard_scenarios"]


class Scenario(msgspec.Struct, frozen=True, kw_only=True):
    """One stress: all moves are fractions (−0.2 = −20 %); `frozen_venue` −1 = none."""

    name: str
    price_shock: float = 0.0
    basis_shock: float = 0.0
    funding_days: float = 0.0
    frozen_venue: int = -1
    depeg: float = 0.0


class StressBook(NamedTuple):
    """The book as arrays. Perps (m,), spot (s,), venues (n_v,); tier rows of `table` via perp_sym."""

    perp_venue: IntArray
    perp_q: FloatArray
    perp_entry: FloatArray
    perp_mark: FloatArray
    perp_sym: IntArray
    perp_isolated: BoolArray
    perp_isolated_wallet: FloatArray
    perp_funding_cap: FloatArray  # per interval, sign ignored
    perp_funding_interval_h: FloatArray
    spot_venue: IntArray  # −1 = off-exchange custody
    spot_q: FloatArray
    spot_price: FloatArray
    venue_wallet: FloatArray  # cross wallet balance in USD
    venue_usdt_share: FloatArray  # fraction of that wallet held in USDT
    table: TierTable
    # per perp: maintenance margin valued at entry (Bybit) instead of at the shocked mark (Binance);
    # None = every leg on Binance's model
    perp_entry_valued: BoolArray | None = None
    # inverse (coin-margined) legs, None = none: per perp the USD face value N·CS (NaN on a linear leg),
    # whose `perp_q` is then N·CS/EP coin at `perp_entry` = EP, and the coin wallet (in coin) its
    # account holds in that leg's coin, on one leg per coin (0 elsewhere); the tiers are in coin
    perp_face: FloatArray | None = None
    perp_coin_wallet: FloatArray | None = None


class StressResult(NamedTuple):
    """Per-venue arrays (n_v,), per-position arrays (m,), and totals (floats)."""

    name: str
    spot_pnl: FloatArray
    perp_pnl: FloatArray
    funding_pnl: FloatArray
    equity_after: FloatArray
    margin_ratio_after: FloatArray  # cross account; +inf when its margin balance ≤ 0
    topup: FloatArray  # cross account top-up to bring the margin ratio back under 100 %
    frozen: BoolArray  # venue unusable in this scenario (its top-up cannot be made)
    liquidated: BoolArray  # per perp position
    isolated_topup: FloatArray  # per perp position (0 for cross)
    custody_spot_pnl: float
    total_spot_pnl: float
    total_perp_pnl: float
    total_funding_pnl: float
    total_equity_after: float
    usable_equity_after: float  # excluding a frozen venue


def _by_venue(venue: IntArray, values: FloatArray, n: int) -> FloatArray:
    ok = (venue >= 0) & (venue < n)
    return np.bincount(venue[ok], weights=values[ok], minlength=n).astype(np.float64)


def run_scenario(book: StressBook, sc: Scenario) -> StressResult:
    """Revalue the book under `sc`; NaN inputs give NaN figures for their venue, never a partial total."""
    n_v = int(book.venue_wallet.size)
    iso = np.asarray(book.perp_isolated, dtype=bool)
    q, entry, mark = book.perp_q, book.perp_entry, book.perp_mark
    with quiet():
        mark_after = mark * (1.0 + sc.price_shock) * (1.0 + sc.basis_shock)
        spot_after = book.spot_price * (1.0 + sc.price_shock)
        perp_pnl = q * (mark_after - mark)
        intervals = sc.funding_days * 24.0 / book.perp_funding_interval_h
        funding = -intervals * np.abs(book.perp_funding_cap) * np.abs(q) * mark_after
        upnl_after = q * (mark_after - entry)
        valued_at = (
            mark_after
            if book.perp_entry_valued is None
            else np.where(np.asarray(book.perp_entry_valued, dtype=bool), entry, mark_after)
        )
        mm, tier = table_maintenance_margin(book.table, book.perp_sym, np.abs(q) * valued_at)
        iw = book.perp_isolated_wallet
        wallet = book.venue_wallet * (1.0 + sc.depeg * book.venue_usdt_share)
        if book.perp_face is not None:
            inv, coin_w = np.isfinite(book.perp_face), book.perp_coin_wallet
            face = np.abs(book.perp_face)
            mm_c, tier_c = table_maintenance_margin(book.table, book.perp_sym, face / mark_after)
            mm, tier = np.where(inv, mm_c * mark_after, mm), np.where(inv, tier_c, tier)
            funding = np.where(inv, -intervals * np.abs(book.perp_funding_cap) * face, funding)
            iw = np.where(inv, iw * mark_after, iw)  # an isolated inverse leg's wallet is in coin
            if coin_w is not None:
                perp_pnl = perp_pnl + coin_w * (mark_after - mark)
                wallet = wallet + _by_venue(book.perp_venue, coin_w * mark_after, n_v)
        mm = np.where(q == 0, 0.0, np.where(tier < 0, np.nan, mm))
        spot_pnl = book.spot_q * (spot_after - book.spot_price)
        cross = ~iso
        cross_v = np.where(cross, book.perp_venue, -1)
        mb = wallet + _by_venue(cross_v, upnl_after + funding, n_v)
        cross_mm = _by_venue(cross_v, mm, n_v)
        ratio = np.where(mb > 0, cross_mm / mb, np.inf)
        ratio = np.where(np.isnan(mb) | np.isnan(cross_mm), np.nan, ratio)
        topup = np.maximum(cross_mm - mb, 0.0)
        iso_eq = iw + upnl_after + funding
        iso_topup = np.where(iso, np.maximum(mm - iso_eq, 0.0), 0.0)
        venue_ok = (book.perp_venue >= 0) & (book.perp_venue < n_v)
        v_idx = np.where(venue_ok, book.perp_venue, 0)
        liquidated = np.where(iso, mm >= iso_eq, venue_ok & (ratio[v_idx] >= 1.0)) & (q != 0)
        iso_v = np.where(iso, book.perp_venue, -1)
        equity = (
            mb + _by_venue(iso_v, iso_eq, n_v) + _by_venue(book.spot_venue, book.spot_q * spot_after, n_v)
        )
    custody = book.spot_venue < 0
    frozen = np.arange(n_v) == sc.frozen_venue
    custody_value = float(np.sum(book.spot_q[custody] * spot_after[custody]))
    return StressResult(
        name=sc.name, spot_pnl=_by_venue(book.spot_venue, spot_pnl, n_v),
        perp_pnl=_by_venue(book.perp_venue, perp_pnl, n_v),
        funding_pnl=_by_venue(book.perp_venue, funding, n_v), equity_after=equity, margin_ratio_after=ratio,
        topup=topup, frozen=frozen, liquidated=liquidated, isolated_topup=iso_topup,
        custody_spot_pnl=float(np.sum(spot_pnl[custody])), total_spot_pnl=float(np.sum(spot_pnl)),
        total_perp_pnl=float(np.sum(perp_pnl)), total_funding_pnl=float(np.sum(funding)),
        total_equity_after=float(np.sum(equity)) + custody_value,
        usable_equity_after=float(np.sum(equity[~frozen])) + custody_value,
    )  # fmt: skip


# Historical moves (Binance BTCUSDT; perpmon tests/testdata and ../data/crash_windows):
# worst 1 h = close-to-close over 60 one-minute perp bars; 1 day = spot daily close-to-close.
HISTORICAL = (
    ("hist_2020-03-12_1h", -0.233849),  # from 2020-03-12 22:47 UTC
    ("hist_2020-03-12_1d", -0.395048),  # 7,934.52 → 4,800.00
    ("hist_2021-05-19_1h", -0.229692),  # from 2021-05-19 12:09 UTC
    ("hist_2021-05-19_1h_rebound", 0.180444),  # from 13:09 UTC: the move that hurts shorts
    ("hist_2021-05-19_1d", -0.143751),  # 42,849.78 → 36,690.09
    ("hist_2024-08-05_1h", -0.072876),  # from 2024-08-05 05:24 UTC
    ("hist_2024-08-05_1d", -0.071219),  # 58,161.00 → 54,018.81
)


def standard_scenarios(n_venues: int) -> list[Scenario]:
    """The §11 catalogue; outages per venue, alone and with a ∓20 % move (the −20 % hurts the longs
    left on the other venue, the +20 % the shorts of a hedge that now stands there alone)."""
    out = [
        Scenario(name=f"price_{s:+.0%}", price_shock=s)
        for m in (0.05, 0.10, 0.20, 0.30, 0.50)
        for s in (-m, m)
    ]
    out += [Scenario(name=f"basis_perp_{s:+.0%}", basis_shock=s) for m in (0.02, 0.05) for s in (-m, m)]
    out += [Scenario(name=f"funding_cap_{d}d", funding_days=float(d)) for d in (7, 30)]
    for v in range(n_venues):
        out += [Scenario(name=f"outage_venue{v}", frozen_venue=v),
                Scenario(name=f"outage_venue{v}_price_-20%", frozen_venue=v, price_shock=-0.20),
                Scenario(name=f"outage_venue{v}_price_+20%", frozen_venue=v, price_shock=0.20)]  # fmt: skip
    out += [Scenario(name=f"usdt_depeg_{d:+.0%}", depeg=d) for d in (-0.05, -0.10)]
    out += [Scenario(name=name, price_shock=move) for name, move in HISTORICAL]
    out.append(Scenario(name="combined_+30%_basis_perp_+2%_funding_7d", price_shock=0.30, basis_shock=0.02,
                        funding_days=7.0))  # fmt: skip
    return out
