"""Where a stress table's book comes from besides a file: the simulator's default book, or live state.

Why both: `--default-book` needs nothing running (config.toml's simulated accounts and holdings
at the replay's first tick, priced by the simulator's own market model), while a live snapshot
runs the configured collectors — the daemon's own, built by `Daemon.build_venue` — just long
enough for the book to be complete, then stops them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from monitor.clock import NS_PER_S, Clock, LiveClock
from monitor.collectors.holdings import holdings_from_config
from monitor.collectors.listing import follows_listing
from monitor.config import Config, Secrets, VenueConfig
from monitor.errors import ConfigError
from monitor.store.state import Snapshot
from monitor.supervise import Supervisor
from monitor.venues import Simulated, simulated_as, spoken
from monitor.whatif.schema import BookFile, parse_book

if TYPE_CHECKING:
    from monitor.sim.book import Account
    from monitor.sim.market import Market

__all__ = ["PlaceholderEnv", "book_missing", "capture_snapshot", "simulator_book", "simulator_env"]


class PlaceholderEnv(Mapping[str, str]):
    """An environment where every variable is set: `--default-book` connects nowhere, reads no key."""

    def __getitem__(self, key: str) -> str:
        return "unused-by-default-book"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def simulator_env(cfg: Config, environ: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The environment with a key for every simulated account whose variable is unset, and their names.

    Why: `perpmon stress --config config.toml` on a fresh clone runs the embedded simulator, whose
    demo accounts accept whatever key their variable holds (deploy/simulator.env only makes `make
    run` reproducible). Demanding keys a user cannot get would make the README's command fail;
    making them up for a real venue would be worse. So only variables that name keys of the
    embedded simulator's accounts, or of accounts on a simulated venue, are filled, each with a
    value derived from the variable's name (an account and its simulated twin name the same one,
    so they agree); a variable already set is kept.
    """
    import hashlib

    if not cfg.simulator.enabled:
        return dict(environ), []
    simulated = {v.name for v in cfg.venues if v.simulator}
    names: set[str] = set()
    for a in cfg.simulator.accounts:
        names |= {n for n in (a.api_key_env, a.api_secret_env) if n}
    real: set[str] = set()
    for acct in cfg.accounts:
        pair = {n for n in (acct.api_key_env, acct.api_secret_env) if n}  # none: read by address
        if acct.venue in simulated:
            names |= pair
        else:
            real |= pair | ({acct.api_password_env} if acct.api_password_env else set())
    # a variable a real venue's account reads is never made up, even if a simulated account names it too
    filled = sorted(n for n in names - real if not environ.get(n))
    made = {n: "sim-" + hashlib.sha256(n.encode()).hexdigest()[:60] for n in filled}
    return {**environ, **made}, filled


def simulator_book(cfg: Config, clock: Clock | None = None) -> tuple[BookFile, list[str]]:
    """config.toml's simulated accounts (those `[[accounts]]` watches) and holdings, at the first tick.

    Venues on the simulated Binance (native or through ccxt) are priced with the simulator's Binance
    market and brackets; those on the simulated Bybit (native or through ccxt) with its own market
    (the same path plus its premium), risk-limit tiers (`mmDeduction` as `cum`), funding cap and
    interval, and its account engine's positions — the caller stresses it on Bybit's model
    (`stress_table(..., entry_valued_venues)`). Its unified wallet is given as the venue reports
    it, isolated position balances included. The notes name holdings priced on
    a venue that is not simulated; `perpmon stress --config` includes them live.
    """
    from monitor.sim.market import Market

    sim = cfg.simulator
    by_sim = {name: [v for v in cfg.venues if v.simulator and simulated_as(v) == name] for name in _SIM_BOOKS}
    simulated = [v for group in by_sim.values() for v in group]
    if not sim.enabled or not simulated:
        raise ConfigError(
            "simulator.enabled", "--default-book needs the [simulator] section and a simulated venue"
        )
    clk = clock or LiveClock()
    market = Market(replay=sim.replay, speed=sim.speed, loop=sim.loop, seed=sim.seed, clock=clk)
    markets: list[dict[str, object]] = []
    accounts: list[dict[str, object]] = []
    for name, build in _SIM_BOOKS.items():
        if by_sim[name]:
            got_markets, got_accounts = build(cfg, by_sim[name], market, clk)
            markets += got_markets
            accounts += got_accounts
    names = {v.name for v in simulated}
    holdings = [msgspec.to_builtins(h) for h in cfg.holdings if h.price_venue in names]
    notes = [
        f"holding {h.name} left out: priced on {h.price_venue}"
        for h in cfg.holdings
        if h.price_venue not in names
    ]
    kinds = {v.name: spoken(v).margin_model for v in simulated}
    priced = {m["venue"] for m in markets}
    venues = [
        {"name": name, "kind": kind, "simulator": True} for name, kind in kinds.items() if name in priced
    ]
    book = {"venues": venues, "markets": markets, "accounts": accounts, "holdings": holdings}
    return parse_book(book), notes


_Rows = tuple[list[dict[str, object]], list[dict[str, object]]]


def _binance_book(cfg: Config, venues: list[VenueConfig], market: Market, clk: Clock) -> _Rows:
    """The simulated Binance's markets and watched accounts at the first tick, as book-file rows."""
    from monitor.sim.binance.accounts import AccountEngine

    engine = AccountEngine(
        cfg.simulator.accounts,
        first_mark=market.first_mark,
        marks=market.marks(),
        now_ms=clk.now_ns() // 1_000_000,
    )
    markets: list[dict[str, object]] = []
    accounts: list[dict[str, object]] = []
    for v in venues:
        watched = [a.name for a in cfg.accounts if a.venue == v.name]
        held = {p.symbol for name in watched for p in engine.accounts[name].positions}
        for symbol in sorted(_watched(v, market.specs) | held):
            q, spec = market.quotes[symbol], market.specs[symbol]
            markets.append(
                _market_row(v, symbol, q, float(spec.funding_hours))
                | ({"funding_cap": spec.funding_cap} if spec.adjusted else {})  # as fundingInfo lists it
            )
        for name in watched:
            acct = engine.accounts[name]
            accounts.append(_book_account(name, v.name, acct, acct.cross_wallet))
    return markets, accounts


def _bybit_book(cfg: Config, venues: list[VenueConfig], base: Market, clk: Clock) -> _Rows:
    """The simulated Bybit's markets and watched accounts at the first tick, as book-file rows."""
    from monitor.sim.bybit.accounts import BybitAccountEngine
    from monitor.sim.bybit.market import BybitMarket

    sim = cfg.simulator
    market = BybitMarket(base, seed=sim.seed, speed=sim.speed, clock=clk)
    engine = BybitAccountEngine(
        sim.accounts, first_mark=market.first_mark, marks=market.marks(), now_ms=clk.now_ns() // 1_000_000
    )
    markets: list[dict[str, object]] = []
    accounts: list[dict[str, object]] = []
    for v in venues:
        watched = [a.name for a in cfg.accounts if a.venue == v.name and a.name in engine.accounts]
        held = {p.symbol for name in watched for p in engine.accounts[name].positions}
        for symbol in sorted((_watched(v, market.specs) | held) & set(market.specs)):
            q, spec = market.quotes[symbol], market.specs[symbol]
            floors = [0.0, *(t.limit for t in spec.tiers[:-1])]
            tiers = [
                {"floor": f, "cap": t.limit, "mmr": t.mmr, "cum": t.deduction, "max_leverage": t.max_leverage}
                for f, t in zip(floors, spec.tiers, strict=True)
            ]
            # upperFundingRate, always listed
            markets.append(
                _market_row(v, symbol, q, float(spec.funding_hours))
                | {"funding_cap": spec.funding_cap, "tiers": tiers}
            )
        for name in watched:
            acct = engine.accounts[name]
            isolated = sum(p.isolated_wallet for p in acct.positions if p.margin_mode == "isolated")
            accounts.append(_book_account(name, v.name, acct, acct.cross_wallet + isolated))
    return markets, accounts


# the simulator's book builders per simulated venue, in the order their rows are listed
_SIM_BOOKS: dict[Simulated, Callable[[Config, list[VenueConfig], Market, Clock], _Rows]] = {
    "binance": _binance_book,
    "bybit": _bybit_book,
}


def _market_row(v: VenueConfig, symbol: str, q: Any, funding_h: float) -> dict[str, object]:
    """A simulated market's `[[markets]]` row: its quote at the first tick, spot mid where watched."""
    row: dict[str, object] = {
        "venue": v.name,
        "symbol": symbol,
        "mark": q.mark,
        "index": q.index,
        "funding_rate": q.funding_rate,
        "funding_interval_h": funding_h,
    }
    return row | ({"spot": 0.5 * (q.spot_bid + q.spot_ask)} if symbol in v.spot_symbols else {})


def book_missing(cfg: Config, snap: Snapshot) -> list[str]:
    """What the snapshot still lacks for a complete book: accounts, marks, tiers, holdings' prices."""
    missing: list[str] = []
    for a in cfg.accounts:
        acct = snap.accounts.get((a.venue, a.name))
        if acct is None:
            missing.append(f"account {a.venue}/{a.name}")
            continue
        for p in acct.positions:
            if (a.venue, p.symbol) not in snap.marks:
                missing.append(f"mark {a.venue}/{p.symbol}")
            if (a.venue, a.name, p.symbol) not in snap.tiers:
                missing.append(f"tiers {a.venue}/{a.name}/{p.symbol}")
    for h in cfg.holdings:
        if (h.price_venue, h.price_symbol, "spot") not in snap.quotes:
            missing.append(f"spot {h.price_venue}/{h.price_symbol} (holding {h.name})")
    return missing


async def capture_snapshot(
    cfg: Config, secrets: Secrets, *, timeout_s: float = 30.0, clock: Clock | None = None
) -> tuple[Snapshot, list[str]]:
    """Run the configured collectors (and the embedded simulator) until the book is complete.

    Returns the snapshot and what was still missing when `timeout_s` ran out (empty: complete).
    """
    from monitor.app import Daemon
    from monitor.sim.server import Simulator

    clk = clock or LiveClock()
    daemon = Daemon(cfg, secrets, clock=clk)
    sup = Supervisor(clk)
    if daemon.cfg.simulator.enabled:
        daemon.simulator = Simulator(daemon.cfg.simulator, secrets.sim_keys, clk)
        await daemon.simulator.start()
    try:
        for v in daemon.cfg.venues:
            collector = daemon.build_venue(v, daemon.cfg, secrets)
            await collector.check_keys()
            for name, factory in collector.tasks().items():
                sup.spawn(name, factory)
        for h in holdings_from_config(daemon.cfg.holdings, clk.now_ns()):
            daemon.store.put(h)
        deadline = clk.monotonic_ns() + int(timeout_s * NS_PER_S)
        while True:
            snap = daemon.store.snapshot(clk.now_ns())
            missing = book_missing(daemon.cfg, snap)
            if not missing or clk.monotonic_ns() >= deadline:
                return snap, missing
            await clk.sleep(0.2)
    finally:
        await sup.stop()
        if daemon.simulator is not None:
            await daemon.simulator.stop()


def _watched(v: VenueConfig, listed: Iterable[str]) -> set[str]:
    """The venue entry's symbols; `["*"]`: every symbol the simulated venue lists (collectors/listing.py)."""
    return set(listed) if follows_listing(v) else set(v.symbols)


def _book_account(name: str, venue: str, acct: Account, wallet: float) -> dict[str, object]:
    """A simulated account as the book file's account entry; `wallet`: the USDT balance as the venue
    reports it (Binance's cross wallet excludes isolated margin, Bybit's wallet includes it)."""
    return {
        "name": name,
        "venue": venue,
        "position_mode": "hedge" if acct.dual_side else "one-way",
        "balances": [{"asset": "USDT", "wallet": wallet}],
        "positions": [
            {
                "symbol": p.symbol,
                "side": "long" if p.qty > 0 else "short",
                "size": abs(p.qty),
                "entry": p.entry,
                "margin_mode": p.margin_mode,
                "leverage": p.leverage,
                "isolated_wallet": p.isolated_wallet,
            }
            for p in acct.positions
            if p.qty != 0
        ],
    }
