"""The what-if book file (BOOK.toml): a hypothetical book, closed and typed like config.toml.

Why a schema and not a dict: the calculator a risk manager reaches for before adding a position
must refuse a typo (`entyr = …`) with the key's path instead of silently computing another book.
Errors are `ConfigError(path, reason)`, so the CLI reports them like a bad config (exit 2).
The format is documented in `docs/what-if.md`; `examples/book.toml` and
`examples/book-two-venues.toml` are worked files.

Why venues declare a kind: the kind picks the margin model (Binance re-tiers maintenance margin
at the mark; Bybit values it at entry and has its own liquidation price), so a Bybit position
priced as Binance would be a plausible wrong number. A venue whose *name* says Bybit but that
declares no kind is refused rather than silently given Binance's model.

No silent defaults (issue 15): a market without tiers on a venue not declared `simulator = true`
takes the simulator's table and the output says so loudly (`monitor/whatif/disclose.py`); a tier
table that does not cover a position, or whose `cum` disagrees with the venue's recursion, is
refused; an isolated position without its margin or leverage is refused (the margin is the
liquidation price); collateral that is not a stablecoin is refused (valued at par it would be a
made-up number; coin collateral is issue 17).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import msgspec
import numpy as np

from monitor.config import _key_path
from monitor.errors import ConfigError
from monitor.evaluation.account_reference import STABLECOINS
from monitor.records import Bracket
from monitor.risk.margin import bracket_problem, brackets, cum_from_brackets
from monitor.risk.reasons import Reason
from monitor.venues import MarginModel, Venue, model_venue

__all__ = [
    "AccountSpec",
    "BalanceSpec",
    "BookFile",
    "HoldingSpec",
    "MarketSpec",
    "PositionSpec",
    "TierSpec",
    "VenueKind",
    "VenueSpec",
    "default_brackets",
    "load_book",
    "parse_book",
    "venue_kinds",
]

_MISSING_RE = re.compile(r"missing required field `([^`]*)`")
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Rate = Annotated[float, msgspec.Meta(ge=0, lt=1)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,32}$")]
Asset = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,16}$")]
VenueKind = MarginModel  # a book venue's kind is the margin model it is priced on
_DEFAULT_KIND: VenueKind = "binance"


class _Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class VenueSpec(_Spec, frozen=True, kw_only=True):
    """A venue's margin model; a venue not listed is a Binance one (unless its name says Bybit)."""

    name: Name
    kind: VenueKind = "binance"
    # priced as perpmon's simulated venue: a market without tiers takes the simulator's table
    # quietly; on any other venue that default is named with a warning in the output
    simulator: bool = False


class TierSpec(_Spec, frozen=True, kw_only=True):
    """One maintenance-margin bracket: floor ≤ notional < cap (Binance: at mark; Bybit: at entry).

    On a Bybit venue `cap` is the tier's riskLimitValue and `cum` its mmDeduction.
    """

    floor: NonNegativeFloat
    cap: PositiveFloat
    mmr: Rate
    cum: float | None = None  # None: the venue's recursion from the floors
    max_leverage: PositiveFloat = 1.0


class MarketSpec(_Spec, frozen=True, kw_only=True):
    venue: Name = "binance"
    symbol: Symbol
    mark: PositiveFloat
    index: PositiveFloat | None = None  # None: the mark
    spot: PositiveFloat | None = None  # spot mid; needed for basis and to value holdings
    funding_rate: float = 0.0  # per interval (0.0001 = 1 bp)
    funding_interval_h: PositiveFloat = 8.0
    # per interval; None: Binance 75 % of the first-tier MMR, Bybit the simulator's upperFundingRate
    funding_cap: PositiveFloat | None = None
    volatility: PositiveFloat | None = None  # annualised (0.6 = 60 %); None: not available
    tiers: tuple[TierSpec, ...] | None = None  # None: the simulator's table for the venue kind and symbol
    # price tick (Binance PRICE_FILTER tickSize, Bybit priceFilter.tickSize): prices print at its
    # decimals; None: the simulator's listing for the symbol, else six significant digits (said)
    tick: PositiveFloat | None = None


class PositionSpec(_Spec, frozen=True, kw_only=True):
    symbol: Symbol
    side: Literal["long", "short"]
    size: PositiveFloat  # base units (BTC for BTCUSDT)
    entry: PositiveFloat
    margin_mode: Literal["cross", "isolated"] = "cross"
    # an isolated leg needs this or isolated_wallet (its margin is the initial margin size·entry/leverage)
    leverage: PositiveFloat | None = None
    # isolated margin (Bybit: positionBalance); None: the initial margin size·entry/leverage
    isolated_wallet: NonNegativeFloat | None = None


class BalanceSpec(_Spec, frozen=True, kw_only=True):
    asset: Asset
    wallet: float  # the cross wallet balance of this asset (stablecoins count as margin, at par)


class AccountSpec(_Spec, frozen=True, kw_only=True):
    name: Name
    venue: Name = "binance"
    position_mode: Literal["one-way", "hedge"] = "one-way"
    balances: tuple[BalanceSpec, ...] = ()
    positions: tuple[PositionSpec, ...] = ()


class HoldingSpec(_Spec, frozen=True, kw_only=True):
    """Off-exchange holdings (custody): the spot leg of a hedged book."""

    name: Name
    asset: Asset
    quantity: PositiveFloat
    price_venue: Name = "binance"
    price_symbol: Symbol


class BookFile(_Spec, frozen=True, kw_only=True):
    horizon_s: PositiveFloat = 86_400.0  # distance in sigma and touch probability over this horizon
    venues: tuple[VenueSpec, ...] = ()  # margin model per venue; unlisted: binance
    markets: tuple[MarketSpec, ...]
    accounts: tuple[AccountSpec, ...] = ()
    holdings: tuple[HoldingSpec, ...] = ()


def _check_tiers(tiers: tuple[TierSpec, ...], path: str) -> None:
    if not tiers:
        raise ConfigError(path, "give at least one tier")
    floors = np.array([t.floor for t in tiers])
    mmrs = np.array([t.mmr for t in tiers])
    # a tier without `cum` takes the recursion's; every given one is checked against it
    own = cum_from_brackets(floors, mmrs)
    cums = np.array([float(c) if t.cum is None else t.cum for t, c in zip(tiers, own, strict=True)])
    b = brackets(floors, mmrs, caps=np.array([t.cap for t in tiers]), cums=cums)
    problem = bracket_problem(b)
    if problem is Reason.TIER_BOUNDARY:
        raise ConfigError(
            path,
            "a `cum` disagrees with the venue's recursion (cum_n = cum_n-1 + floor_n × (mmr_n − mmr_n-1)): "
            "maintenance margin would jump at a floor; fix it or leave `cum` out to have it computed",
        )
    if problem is not Reason.OK:
        raise ConfigError(
            path,
            f"not a usable bracket table ({problem.name.lower()}): floors must start at "
            "0, rise, each cap the next floor, and mmr must not fall",
        )


def _last_cap(m: MarketSpec, venue: Venue) -> float:
    """The notional above which the market's table (the file's, else the simulator's) has no tier."""
    if m.tiers is not None:
        return max(t.cap for t in m.tiers)
    table = default_brackets(venue, m.symbol)
    return table[-1].cap if table else float("inf")


def _check_position(p: PositionSpec, m: MarketSpec, venue: Venue, where: str) -> None:
    """An isolated leg has its margin; the tier table covers the leg at the mark (where every modelled
    venue values its tiers: Bybit too, since its 2025-09-02 change)."""
    if p.margin_mode == "isolated" and p.isolated_wallet is None and p.leverage is None:
        raise ConfigError(
            f"{where}.isolated_wallet",
            "an isolated position needs its margin: give isolated_wallet (what the venue holds for it) "
            "or leverage (the initial margin size × entry / leverage is taken)",
        )
    if p.margin_mode == "cross" and p.isolated_wallet:
        raise ConfigError(f"{where}.isolated_wallet", 'only for margin_mode = "isolated"')
    notional = p.size * m.mark  # every modelled venue tiers at the mark (Bybit too, since 2025-09-02)
    cap = _last_cap(m, venue)
    if notional >= cap:
        table = "the book's [[markets.tiers]]" if m.tiers is not None else "the simulator's default table"
        raise ConfigError(
            f"{where}.size",
            f"{p.size:g} {p.symbol} is {notional:,.0f} USD of notional, beyond the last tier of {table} "
            f"(cap {cap:,.0f}): the venue would not let it open; give the venue's full table",
        )


def venue_kinds(book: BookFile) -> dict[str, VenueKind]:
    """The margin model of every venue the book names (declared, else binance)."""
    named = {m.venue for m in book.markets} | {a.venue for a in book.accounts}
    declared: dict[str, VenueKind] = {v.name: v.kind for v in book.venues}
    return {name: declared.get(name, _DEFAULT_KIND) for name in sorted(named | set(declared))}


def _check_venues(book: BookFile) -> None:
    """Each venue declared once and used; a venue named like a margin model other than the default
    (a "bybit-main") must say which model it is on."""
    declared: set[str] = set()
    used = {m.venue for m in book.markets}
    for i, v in enumerate(book.venues):
        if v.name in declared:
            raise ConfigError(f"venues[{i}].name", f"venue {v.name} is declared twice")
        declared.add(v.name)
        if v.name not in used:
            raise ConfigError(f"venues[{i}].name", f"no [[markets]] entry on venue {v.name}")
    for where, name in (
        *((f"markets[{i}].venue", m.venue) for i, m in enumerate(book.markets)),
        *((f"accounts[{i}].venue", a.venue) for i, a in enumerate(book.accounts)),
    ):
        like = next((k for k in get_args(VenueKind) if k != _DEFAULT_KIND and k in name.lower()), None)
        if name not in declared and like is not None:
            raise ConfigError(
                where,
                f"venue {name} has no declared kind, and an undeclared venue is priced on Binance's "
                f'margin model: add [[venues]] name = "{name}", kind = "{like}" (or "{_DEFAULT_KIND}")',
            )


def default_brackets(venue: Venue, symbol: str) -> tuple[Bracket, ...] | None:
    """The simulator's table for `symbol` on the venue's margin model (None: it has none)."""
    tables = venue.default_tables()
    return tables.brackets(symbol) if tables is not None else None


def _default_tiers_problem(venue: Venue, symbol: str) -> str | None:
    tables = venue.default_tables()
    if tables is None:
        return f"the simulator has no default tiers for {venue.name}"
    return tables.missing(symbol) if tables.brackets(symbol) is None else None


def _check_book(book: BookFile) -> None:
    """Rules a schema cannot say: references resolve, one leg per (symbol, side), tiers usable."""
    _check_venues(book)
    kinds = venue_kinds(book)
    markets: dict[tuple[str, str], MarketSpec] = {}
    for i, m in enumerate(book.markets):
        if (m.venue, m.symbol) in markets:
            raise ConfigError(f"markets[{i}].symbol", f"{m.venue}/{m.symbol} is listed twice")
        markets[(m.venue, m.symbol)] = m
        if m.tiers is not None:
            _check_tiers(m.tiers, f"markets[{i}].tiers")
        elif (problem := _default_tiers_problem(model_venue(kinds[m.venue]), m.symbol)) is not None:
            raise ConfigError(f"markets[{i}].tiers", f"{problem}; give [[markets.tiers]]")
    seen_accounts: set[tuple[str, str]] = set()
    for i, a in enumerate(book.accounts):
        if (a.venue, a.name) in seen_accounts:
            raise ConfigError(f"accounts[{i}].name", f"{a.venue}/{a.name} is listed twice")
        seen_accounts.add((a.venue, a.name))
        venue = model_venue(kinds[a.venue])
        if venue.one_margin_mode and len({p.margin_mode for p in a.positions}) > 1:
            raise ConfigError(
                f"accounts[{i}].positions",
                f"a {venue.one_margin_mode} is all cross or all isolated (its margin mode is the account's)",
            )
        legs: set[tuple[str, str]] = set()
        for j, p in enumerate(a.positions):
            where = f"accounts[{i}].positions[{j}]"
            if (a.venue, p.symbol) not in markets:
                raise ConfigError(f"{where}.symbol", f"no [[markets]] entry for {a.venue}/{p.symbol}")
            leg = (p.symbol, "BOTH" if a.position_mode == "one-way" else p.side)
            if leg in legs:
                what = (
                    "one-way mode holds one position per symbol" if leg[1] == "BOTH" else "one leg per side"
                )
                raise ConfigError(where, f"a second {p.symbol} position: {what}")
            legs.add(leg)
            _check_position(p, markets[(a.venue, p.symbol)], venue, where)
        for j, b in enumerate(a.balances):
            if b.asset not in STABLECOINS and b.wallet != 0:
                raise ConfigError(
                    f"accounts[{i}].balances[{j}].asset",
                    f"{b.asset} is not a stablecoin: what-if counts only {', '.join(sorted(STABLECOINS))} "
                    "collateral, at par; valuing coin collateral (price, haircut) is not supported yet "
                    "(issue 17). Remove it, or give its USD value after the venue's haircut as USDT",
                )
    for i, h in enumerate(book.holdings):
        priced = markets.get((h.price_venue, h.price_symbol))
        if priced is None or priced.spot is None:
            raise ConfigError(
                f"holdings[{i}].price_symbol",
                f"needs a [[markets]] entry for {h.price_venue}/{h.price_symbol} with `spot`",
            )


_CHOICES: dict[str, tuple[str, ...]] = {  # a misspelt choice is answered with the valid ones
    "kind": get_args(VenueKind),
    "side": ("long", "short"),
    "margin_mode": ("cross", "isolated"),
    "position_mode": ("one-way", "hedge"),
}


def parse_book(data: dict[str, Any]) -> BookFile:
    try:
        book = msgspec.convert(data, BookFile, strict=True)
    except msgspec.ValidationError as exc:
        path, reason = _key_path(str(exc))
        missing = _MISSING_RE.search(reason)
        if missing:  # name the missing key itself, like an unknown one
            path, reason = (
                (f"{path}.{missing.group(1)}" if path else missing.group(1)),
                "required key is missing",
            )
        choices = _CHOICES.get(path.rsplit(".", 1)[-1])
        if choices and reason.startswith("Invalid enum value"):
            reason = f"{reason}: one of {' | '.join(choices)}"
        raise ConfigError(path, reason.replace("config.toml", "docs/what-if.md")) from None
    _check_book(book)
    return book


def load_book(path: str | Path) -> BookFile:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError("", f"cannot read {p}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError("", f"{p} is not valid TOML: {exc}") from None
    return parse_book(data)
