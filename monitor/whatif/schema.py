"""The what-if book file (BOOK.toml): a hypothetical book, closed and typed like config.toml.

Why a schema and not a dict: the calculator a risk manager reaches for before adding a position
must refuse a typo (`entyr = …`) with the key's path instead of silently computing another book.
Errors are `ConfigError(path, reason)`, so the CLI reports them like a bad config (exit 2).
The format is documented in `docs/what-if.md`; `examples/book.toml` is a worked file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import numpy as np

from monitor.config import _key_path
from monitor.errors import ConfigError
from monitor.risk.margin import bracket_problem, brackets
from monitor.risk.reasons import Reason
from monitor.sim.brackets import BRACKETS

__all__ = [
    "AccountSpec",
    "BalanceSpec",
    "BookFile",
    "HoldingSpec",
    "MarketSpec",
    "PositionSpec",
    "TierSpec",
    "load_book",
    "parse_book",
]

_MISSING_RE = re.compile(r"missing required field `([^`]*)`")
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]
NonNegativeFloat = Annotated[float, msgspec.Meta(ge=0)]
Rate = Annotated[float, msgspec.Meta(ge=0, lt=1)]
Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
Symbol = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,32}$")]
Asset = Annotated[str, msgspec.Meta(pattern=r"^[A-Z0-9]{2,16}$")]


class _Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class TierSpec(_Spec, frozen=True, kw_only=True):
    """One maintenance-margin bracket: applies for floor ≤ notional < cap (notional at mark)."""

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
    funding_cap: PositiveFloat | None = None  # per interval; None: 75 % of the first-tier MMR
    volatility: PositiveFloat | None = None  # annualised (0.6 = 60 %); None: not available
    tiers: tuple[TierSpec, ...] | None = None  # None: the simulator's Binance brackets for the symbol


class PositionSpec(_Spec, frozen=True, kw_only=True):
    symbol: Symbol
    side: Literal["long", "short"]
    size: PositiveFloat  # base units (BTC for BTCUSDT)
    entry: PositiveFloat
    margin_mode: Literal["cross", "isolated"] = "cross"
    leverage: PositiveFloat = 10.0
    isolated_wallet: NonNegativeFloat = 0.0  # isolated margin of this position


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
    markets: tuple[MarketSpec, ...]
    accounts: tuple[AccountSpec, ...] = ()
    holdings: tuple[HoldingSpec, ...] = ()


def _check_tiers(tiers: tuple[TierSpec, ...], path: str) -> None:
    if not tiers:
        raise ConfigError(path, "give at least one tier")
    floors = np.array([t.floor for t in tiers])
    cums = None if any(t.cum is None for t in tiers) else np.array([t.cum for t in tiers])
    b = brackets(floors, np.array([t.mmr for t in tiers]), caps=np.array([t.cap for t in tiers]), cums=cums)
    problem = bracket_problem(b)
    if problem not in (Reason.OK, Reason.TIER_BOUNDARY):
        raise ConfigError(
            path,
            f"not a usable bracket table ({problem.name.lower()}): floors must start at "
            "0, rise, each cap the next floor, and mmr must not fall",
        )


def _check_book(book: BookFile) -> None:
    """Rules a schema cannot say: references resolve, one leg per (symbol, side), tiers usable."""
    markets: dict[tuple[str, str], MarketSpec] = {}
    for i, m in enumerate(book.markets):
        if (m.venue, m.symbol) in markets:
            raise ConfigError(f"markets[{i}].symbol", f"{m.venue}/{m.symbol} is listed twice")
        markets[(m.venue, m.symbol)] = m
        if m.tiers is not None:
            _check_tiers(m.tiers, f"markets[{i}].tiers")
        elif m.symbol not in BRACKETS:
            raise ConfigError(
                f"markets[{i}].tiers",
                f"no default brackets for {m.symbol} "
                f"(defaults: {', '.join(sorted(BRACKETS))}); give [[markets.tiers]]",
            )
    seen_accounts: set[tuple[str, str]] = set()
    for i, a in enumerate(book.accounts):
        if (a.venue, a.name) in seen_accounts:
            raise ConfigError(f"accounts[{i}].name", f"{a.venue}/{a.name} is listed twice")
        seen_accounts.add((a.venue, a.name))
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
            if p.margin_mode == "cross" and p.isolated_wallet:
                raise ConfigError(f"{where}.isolated_wallet", 'only for margin_mode = "isolated"')
    for i, h in enumerate(book.holdings):
        priced = markets.get((h.price_venue, h.price_symbol))
        if priced is None or priced.spot is None:
            raise ConfigError(
                f"holdings[{i}].price_symbol",
                f"needs a [[markets]] entry for {h.price_venue}/{h.price_symbol} with `spot`",
            )


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
