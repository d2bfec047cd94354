"""A book file becomes the daemon's own records, store and Snapshot, so what-if and `run` never disagree.

Why through the store and not straight to figures: the evaluator is the one place that decides
which inputs each figure takes; feeding it the same records a collector would produce (all
stamped "now", so every stream is fresh) means a what-if answer is the daemon's answer for that
book. The only input a file has that a venue does not is `volatility`: a book has no price
history, so a given volatility is passed to the evaluator as such (reason "given"), and without
it every volatility-based figure says "empty_history".

A venue's kind reaches the evaluator as the daemon's would: a "bybit" book venue becomes a
`kind = "bybit"` VenueConfig, so `bybit_model_venues` puts it on Bybit's margin model in the
account stage and in the stress table alike. Defaults follow the kind's registry entry
(`Venue.sim_tables`): a Bybit market without tiers takes the simulated Bybit's risk limits
(`mmDeduction` as `cum`) and its funding cap.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType

from monitor.collectors.holdings import holdings_from_config
from monitor.config import AccountConfig, Config, EvaluationConfig, HoldingConfig, VenueConfig
from monitor.errors import ConfigError
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FundingInfo,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
    Record,
)
from monitor.risk.margin import cum_from_brackets
from monitor.store.state import Snapshot, StateStore
from monitor.venues import model_venue, native_kind
from monitor.whatif.schema import (
    BookFile,
    MarketSpec,
    PositionSpec,
    VenueKind,
    default_brackets,
    venue_kinds,
)

__all__ = ["book_config", "book_records", "book_snapshot", "market_brackets", "market_funding_cap"]

_UNUSED_ENV = "PERPMON_WHATIF_UNUSED"  # a what-if never connects: no key is ever read


def market_brackets(m: MarketSpec, kind: VenueKind = "binance") -> tuple[Bracket, ...]:
    """The file's tiers (cum from the recursion when not given), else the simulator's table for the kind.

    Bybit's `mmDeduction` follows the same recursion as Binance's `cum` (each tier's floor is the
    previous riskLimitValue), so a file's Bybit tiers without `cum` get the venue's deductions.
    """
    if m.tiers is None:
        venue = model_venue(kind)
        table = default_brackets(venue, m.symbol)
        if table is None:  # parse_book refuses this; a BookFile built by hand may not have been
            tables = venue.default_tables()
            said = tables.missing(m.symbol) if tables is not None else f"no default tiers for {m.symbol}"
            raise ConfigError("markets.tiers", said)
        return table
    import numpy as np

    cums = cum_from_brackets(np.array([t.floor for t in m.tiers]), np.array([t.mmr for t in m.tiers]))
    return tuple(
        Bracket(
            floor=t.floor,
            cap=t.cap,
            mmr=t.mmr,
            cum=t.cum if t.cum is not None else float(c),
            max_leverage=t.max_leverage,
        )
        for t, c in zip(m.tiers, cums, strict=True)
    )


def market_funding_cap(m: MarketSpec, kind: VenueKind = "binance") -> float:
    """The file's cap; else the simulator's for the kind (Bybit's upperFundingRate); NaN: the
    evaluator's Binance rule."""
    if m.funding_cap is not None:
        return m.funding_cap
    tables = model_venue(kind).default_tables()
    return tables.funding_cap(m.symbol) if tables is not None else math.nan


def _isolated_wallet(p: PositionSpec) -> float:
    """The file's isolated margin; omitted, what the venue holds at open: the initial margin.

    parse_book refuses an isolated leg with neither, so no leverage is ever assumed here.
    """
    if p.margin_mode != "isolated":
        return 0.0
    if p.isolated_wallet is not None:
        return p.isolated_wallet
    if p.leverage is None:
        raise ConfigError(
            "positions.isolated_wallet", f"isolated {p.symbol} needs isolated_wallet or leverage"
        )
    return p.size * p.entry / p.leverage


def _position(spec_side: str, size: float, mode: str, **kw: object) -> Position:
    qty = size if spec_side == "long" else -size
    side = "BOTH" if mode == "one-way" else spec_side.upper()
    return Position(qty=qty, side=side, **kw)  # type: ignore[arg-type]


def book_records(book: BookFile, now_ns: int) -> list[Record]:
    """Every record a collector would have delivered for this book, stamped `now_ns`."""
    t = {"ts_event_ns": now_ns, "ts_recv_ns": now_ns}
    out: list[Record] = []
    tiers: dict[tuple[str, str], tuple[Bracket, ...]] = {}
    kinds = venue_kinds(book)
    for m in book.markets:
        out.append(
            MarkPrice(
                venue=m.venue,
                symbol=m.symbol,
                mark=m.mark,
                index=m.index or m.mark,
                funding_rate=m.funding_rate,
                **t,
            )
        )
        cap = market_funding_cap(m, kinds[m.venue])
        out.append(
            FundingInfo(
                venue=m.venue,
                symbol=m.symbol,
                interval_s=m.funding_interval_h * 3600.0,
                cap=cap,
                floor=-cap,
                **t,
            )
        )
        if m.spot is not None:
            out.append(
                Quote(
                    venue=m.venue,
                    symbol=m.symbol,
                    market="spot",
                    bid=m.spot,
                    ask=m.spot,
                    bid_size=0.0,
                    ask_size=0.0,
                    **t,
                )
            )
        tiers[(m.venue, m.symbol)] = market_brackets(m, kinds[m.venue])
    for a in book.accounts:
        for (venue, symbol), bs in tiers.items():
            if venue == a.venue:
                out.append(LeverageTiers(venue=venue, account=a.name, symbol=symbol, brackets=bs, **t))
        positions = tuple(
            _position(
                p.side,
                p.size,
                a.position_mode,
                symbol=p.symbol,
                entry_price=p.entry,
                margin_mode=p.margin_mode,
                isolated_wallet=_isolated_wallet(p),
                leverage=p.leverage if p.leverage is not None else math.nan,
            )
            for p in a.positions
        )
        balances = tuple(
            Balance(asset=b.asset, wallet_balance=b.wallet, cross_wallet_balance=b.wallet) for b in a.balances
        )
        out.append(
            AccountSnapshot(venue=a.venue, account=a.name, positions=positions, balances=balances, **t)
        )
    out += holdings_from_config(book.holdings, now_ns, source="book")
    return out


def book_config(book: BookFile) -> Config:
    """The config a daemon watching exactly this book would have (it decides the expected streams)."""
    venues = sorted({m.venue for m in book.markets})
    kinds = venue_kinds(book)
    return Config(
        venues=tuple(
            VenueConfig(
                name=v,
                kind=native_kind(kinds[v]),
                symbols=tuple(m.symbol for m in book.markets if m.venue == v),
                spot_symbols=tuple(m.symbol for m in book.markets if m.venue == v and m.spot),
                perp_books=False,
            )
            for v in venues
        ),
        accounts=tuple(
            AccountConfig(name=a.name, venue=a.venue, api_key_env=_UNUSED_ENV, api_secret_env=_UNUSED_ENV)
            for a in book.accounts
        ),
        holdings=tuple(
            HoldingConfig(
                name=h.name,
                asset=h.asset,
                quantity=h.quantity,
                price_venue=h.price_venue,
                price_symbol=h.price_symbol,
            )
            for h in book.holdings
        ),
        evaluation=EvaluationConfig(horizon_s=book.horizon_s),
    )


def book_snapshot(book: BookFile, now_ns: int) -> Snapshot:
    """The store's Snapshot of the book, with the file's volatilities passed as given."""
    store = StateStore()
    for r in book_records(book, now_ns):
        store.put(r)
    snap = store.snapshot(now_ns)
    given = {(m.venue, m.symbol): m.volatility for m in book.markets if m.volatility is not None}
    return dataclasses.replace(snap, given_volatility=MappingProxyType(given))
