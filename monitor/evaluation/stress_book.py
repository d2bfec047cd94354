"""The StressBook of a Snapshot: every account, perp leg and custody holding as the arrays
`risk.stress` revalues, with the index that says what each row is.

Apart from `stress.py` (which runs the scenarios and renders the table and figures) because this
is where the venues' records meet the pure stress model: wallets per (venue, account), legs priced
from the live mark or the venue's, tier brackets, funding caps, and the notes saying which leg a
NaN figure leans on. `perpmon what-if` and the stage build the same book through here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.account import cross_wallet
from monitor.evaluation.account_reference import tier_brackets
from monitor.evaluation.leg_exposure import coin_wallets, leg_asset
from monitor.evaluation.legs import join_reasons, mark_upnl
from monitor.risk.margin import Brackets
from monitor.risk.stress import StressBook
from monitor.risk.tiers import tier_table
from monitor.store.state import Snapshot

__all__ = ["FUNDING_CAP_OF_MMR", "BookIndex", "LegFlags", "stress_book"]

# Binance: a symbol's funding cap is 75 % of its first-tier maintenance margin rate (BTCUSDT
# 0.4 % → 0.30 %, the level it sat at on 2020-03-13); `fundingInfo` lists only symbols that differ.
FUNDING_CAP_OF_MMR = 0.75


@dataclass(frozen=True, slots=True)
class BookIndex:
    """What each row of the StressBook arrays is: accounts (wallets), perp legs, holdings."""

    accounts: tuple[tuple[str, str], ...]  # (venue, account) per wallet index
    positions: tuple[tuple[str, str, str, str], ...]  # (venue, account, symbol, side) per perp
    holdings: tuple[str, ...]  # holding name per spot row (all custody)
    notes: tuple[str, ...]  # why some figure will be NaN (missing tier, mark, spot price)
    flags: Mapping[str, LegFlags]  # per "venue/account" and "total": the legs its figures lean on or lack


@dataclass(frozen=True, slots=True)
class LegFlags:
    """What the stress figures of an account say about its legs: a reason for a value, one for a NaN.

    A leg without a live mark is revalued from the venue's mark (`approx`, code `leg_from_venue`);
    one without any mark or without tiers leaves the account's figures NaN (`missing`, naming it).
    """

    approx: str = ""
    missing: str = ""

    def of(self, value: float) -> str:
        """The reason of a figure with this value."""
        return self.missing if math.isnan(value) else self.approx


def _usdt_share(snap: Snapshot, key: tuple[str, str]) -> float:
    acct = snap.accounts[key]
    wallet = cross_wallet(acct)
    usdt = sum(
        b.cross_wallet_balance if math.isfinite(b.cross_wallet_balance) else b.wallet_balance
        for b in acct.balances
        if b.asset == "USDT"
    )
    return usdt / wallet if wallet > 0 else 0.0


def _stress_wallet(snap: Snapshot, key: tuple[str, str], unified: bool) -> float:
    """The cross wallet; on a unified wallet (Bybit) less the isolated balances it also holds."""
    acct = snap.accounts[key]
    carved = sum(p.isolated_wallet for p in acct.positions if p.margin_mode == "isolated") if unified else 0.0
    return cross_wallet(acct) - carved


def stress_book(
    snap: Snapshot, entry_valued_venues: frozenset[str] = frozenset()
) -> tuple[StressBook, BookIndex]:
    """The Snapshot's book as arrays; a missing tier or spot price stays NaN (never guessed).

    A leg without a live mark is revalued from the venue's mark in the account payload (flagged,
    `BookIndex.flags`); without that either it stays NaN, and so do its account's figures.

    `entry_valued_venues` are the venues on Bybit's model (the name is historic: Bybit valued
    maintenance margin at entry until 2025-09-02; it values it at the mark now, as Binance does, so
    `perp_entry_valued` is False for every leg and a shock re-tiers MM at the shocked value). Their
    unified wallet includes the isolated position balances (the venue does not carve them out),
    so those are taken out of the cross wallet here, or they would count twice in equity. Their
    funding cap is the venue's (`upperFundingRate`); Binance's 75 %-of-MMR fallback is not theirs.
    """
    accounts = tuple(sorted(snap.accounts))
    acct_idx = {k: i for i, k in enumerate(accounts)}
    tables: list[Brackets] = []
    table_idx: dict[tuple[str, str, str], int] = {}
    cols: dict[str, list[float]] = {
        k: [] for k in ("venue", "q", "entry", "mark", "sym", "iso", "iw", "cap", "h", "ev", "face", "coin")
    }
    positions: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    approx: dict[str, list[str]] = {"total": []}
    missing: dict[str, list[str]] = {"total": []}
    for key in accounts:
        venue, account = key
        flag = f"{venue}/{account}"
        approx[flag], missing[flag] = [], []
        acct = snap.accounts[key]
        coins = coin_wallets(acct) if any(p.inverse for p in acct.positions) else {}
        for p in acct.positions:
            if p.qty == 0:
                continue
            m = snap.marks.get((venue, p.symbol))
            t = snap.tiers.get((venue, account, p.symbol))
            leg = f"{flag} {p.symbol}"
            live = m.mark if m is not None else math.nan
            mark = live if live > 0 else mark_upnl(p, None)[0]  # else the venue's
            if not live > 0 and mark > 0:
                notes.append(f"{leg}: no mark price, revalued from the venue's ({mark:g})")
                approx[flag].append(f"leg_from_venue: {leg} revalued from the venue's mark")
            elif not live > 0:
                notes.append(f"{leg}: no mark price")
                missing[flag].append(f"leg_unpriced: {leg} has no mark, live or from the venue")
            if t is None:
                notes.append(f"{leg}: no leverage tiers (missing_tier)")
                missing[flag].append(f"missing_tier: {leg}")
            elif (venue, account, p.symbol) not in table_idx:
                table_idx[(venue, account, p.symbol)] = len(tables)
                tables.append(tier_brackets(t))
            fi = snap.funding.get((venue, p.symbol))
            cap = fi.cap if fi is not None and math.isfinite(fi.cap) else math.nan
            if not math.isfinite(cap) and t is not None and t.brackets and venue not in entry_valued_venues:
                cap = FUNDING_CAP_OF_MMR * t.brackets[0].mmr
            if not math.isfinite(cap) and venue in entry_valued_venues:
                notes.append(
                    f"{venue}/{account} {p.symbol}: no funding cap from the venue (funding scenarios n/a)"
                )
            positions.append((venue, account, p.symbol, p.side))
            face = p.qty * p.contract_size
            for k, v in (
                ("venue", acct_idx[key]),
                ("q", face / p.entry_price if p.inverse else face),  # inverse: coin at entry (risk.stress)
                ("face", face if p.inverse else math.nan),
                ("coin", coins.pop(leg_asset(p), 0.0) if p.inverse else 0.0),
                ("entry", p.entry_price),
                ("mark", mark),
                ("sym", table_idx.get((venue, account, p.symbol), -1)),
                ("iso", p.margin_mode == "isolated"),
                ("iw", p.isolated_wallet),
                ("cap", cap),
                ("h", fi.interval_s / 3600.0 if fi is not None else 8.0),
                ("ev", False),  # MM at the shocked mark on both models since Bybit's 2025-09-02 change
            ):
                cols[k].append(float(v))
    spot_q, spot_px, holdings = [], [], []
    for name, h in sorted(snap.holdings.items()):
        quote = snap.quotes.get((h.price_venue, h.price_symbol, "spot"))
        if quote is None:
            notes.append(f"holding {name}: no spot price for {h.price_venue}/{h.price_symbol}")
            missing["total"].append(f"no_spot_price: holding {name}")
        spot_q.append(h.quantity)
        spot_px.append(0.5 * (quote.bid + quote.ask) if quote is not None else math.nan)
        holdings.append(name)

    coins_held = any(
        math.isfinite(x) for x in cols["face"]
    )  # an inverse leg: None keeps linear books as they were

    def f(k: str) -> np.ndarray:
        return np.array(cols[k], dtype=np.float64)

    book = StressBook(
        perp_venue=f("venue").astype(np.intp),
        perp_q=f("q"),
        perp_entry=f("entry"),
        perp_mark=f("mark"),
        perp_sym=f("sym").astype(np.intp),
        perp_isolated=f("iso").astype(bool),
        perp_isolated_wallet=f("iw"),
        perp_funding_cap=f("cap"),
        perp_funding_interval_h=f("h"),
        spot_venue=np.full(len(spot_q), -1, dtype=np.intp),
        spot_q=np.array(spot_q, dtype=np.float64),
        spot_price=np.array(spot_px, dtype=np.float64),
        venue_wallet=np.array(
            [_stress_wallet(snap, k, k[0] in entry_valued_venues) for k in accounts], dtype=np.float64
        ),
        venue_usdt_share=np.array([_usdt_share(snap, k) for k in accounts], dtype=np.float64),
        table=tier_table(tables),
        perp_entry_valued=f("ev").astype(bool),
        perp_face=f("face") if coins_held else None,
        perp_coin_wallet=f("coin") if coins_held else None,
    )
    for venue, account in accounts:
        approx["total"] += approx[f"{venue}/{account}"]
        missing["total"] += missing[f"{venue}/{account}"]
    flags = {name: LegFlags(join_reasons(*approx[name]), join_reasons(*missing[name])) for name in approx}
    return book, BookIndex(accounts, tuple(positions), tuple(holdings), tuple(notes), flags)
