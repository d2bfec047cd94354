"""What a what-if or stress answer rests on, said out loud: whose tier table and price tick, what
collateral was left out.

Why: the same 2,500 ETH long reads a margin ratio of 0.20 on Binance's brackets and 1.15 (past
liquidation) on the simulator's. A number that silently took a default is worse than no number, so
every table names the tier table it used for each market, and a default on a venue that is not the
simulator is a warning printed before the figures (and listed under `warnings` in JSON).
"""

from __future__ import annotations

from collections.abc import Collection

from monitor import human
from monitor.evaluation.account_reference import STABLECOINS
from monitor.store.state import Snapshot
from monitor.venues import model_venue
from monitor.whatif.schema import BookFile, MarketSpec, VenueKind, venue_kinds

__all__ = [
    "book_ticks",
    "market_tick",
    "snapshot_tier_sources",
    "tick_sources",
    "tier_sources",
    "tier_warnings",
    "uncounted_collateral",
]

NO_TICK = "no tick known: prices at six significant digits"


def _default(kind: VenueKind) -> str:
    """The table standing in for a book's missing tiers, as the output names it."""
    tables = model_venue(kind).default_tables()
    return tables.said if tables is not None else "no default table"


def _simulated(book: BookFile) -> set[str]:
    return {v.name for v in book.venues if v.simulator}


def tier_sources(book: BookFile) -> dict[str, str]:
    """`venue/symbol` → the tier table the figures used."""
    kinds = venue_kinds(book)
    out: dict[str, str] = {}
    for m in book.markets:
        if m.tiers is not None:
            out[f"{m.venue}/{m.symbol}"] = f"the book's [[markets.tiers]] ({len(m.tiers)} tiers)"
        else:
            out[f"{m.venue}/{m.symbol}"] = _default(kinds[m.venue])
    return out


def tier_warnings(book: BookFile) -> list[str]:
    """A default table on a venue the book does not declare as the simulator: the figures may be wrong."""
    kinds = venue_kinds(book)
    sim = _simulated(book)
    return [
        f"WARNING {m.venue}/{m.symbol}: the book gives no tiers, so margin and liquidation figures use "
        f"{_default(kinds[m.venue])}, not the venue's current table; give [[markets.tiers]] from "
        f"{model_venue(kinds[m.venue]).tiers_call} "
        f'(or declare [[venues]] name = "{m.venue}", simulator = true)'
        for m in book.markets
        if m.tiers is None and m.venue not in sim and m.symbol
    ]


def market_tick(m: MarketSpec, kind: VenueKind, simulated: bool) -> tuple[float | None, str]:
    """The tick a market's prices print at, and whose it is: the book's `tick`, else the simulator's
    listing for the symbol (found the way a missing tier table is), else none (six significant
    digits). A tick only sets the decimals shown, never a figure, so a stand-in is named, not refused."""
    if m.tick is not None:
        return m.tick, "the book's `tick`"
    tables = model_venue(kind).default_tables()
    listed = tables.tick(m.symbol) if tables is not None else None
    if listed is None:
        return None, NO_TICK
    if simulated:
        return listed, "the simulated venue's listing"
    return listed, "the simulator's listing, not the venue's: give `tick` in [[markets]]"


def _ticks(book: BookFile) -> dict[tuple[str, str], tuple[float | None, str]]:
    kinds, sim = venue_kinds(book), _simulated(book)
    return {(m.venue, m.symbol): market_tick(m, kinds[m.venue], m.venue in sim) for m in book.markets}


def book_ticks(book: BookFile) -> dict[tuple[str, str], float]:
    """(venue, symbol) → tick, for the markets whose tick is known (the rest print at six digits)."""
    return {k: t for k, (t, _) in _ticks(book).items() if t is not None}


def tick_sources(book: BookFile) -> dict[str, str]:
    """`venue/symbol` → the tick its prices print at and whose it is (`0.1, the book's `tick``)."""
    return {
        f"{v}/{s}": (f"{human.number(t)}, {said}" if t is not None else said)
        for (v, s), (t, said) in _ticks(book).items()
    }


def snapshot_tier_sources(snap: Snapshot, simulated: Collection[str]) -> dict[str, str]:
    """`venue/account/symbol` → where a live snapshot's tiers came from, for every leg held.

    A leg without tiers is named too: its margin figures are n/a, never priced on a default.
    """
    out: dict[str, str] = {}
    for (venue, account), acct in sorted(snap.accounts.items()):
        for symbol in sorted({p.symbol for p in acct.positions if p.qty != 0}):
            t = snap.tiers.get((venue, account, symbol))
            whose = "the simulated venue's table" if venue in simulated else "the venue's own table"
            out[f"{venue}/{account}/{symbol}"] = (
                f"{whose}, fetched ({len(t.brackets)} tiers)" if t is not None else "none fetched: n/a"
            )
    return out


def uncounted_collateral(snap: Snapshot) -> list[str]:
    """Balances the table does not value (not a stablecoin): named, never silently dropped."""
    out: list[str] = []
    for (venue, account), acct in sorted(snap.accounts.items()):
        for b in acct.balances:
            if b.asset not in STABLECOINS and b.wallet_balance != 0:
                out.append(
                    f"WARNING {venue}/{account}: {b.wallet_balance:,.8g} {b.asset} of collateral is not "
                    "counted "
                    f"(only {', '.join(sorted(STABLECOINS))} count, at par; coin collateral: issue 17), so "
                    "this account's equity and margin are understated"
                )
    return out
