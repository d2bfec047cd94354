"""A desk-sized book for the evaluator stages: N symbols on two venues, A accounts holding P legs.

Why generated: the stages' hot spots (per-symbol volatility, the feeds index of the book's
freshness, per-leg advice) only show at desk scale, and the equality tests want the awkward
corners of a real book at every size: NaN and ±inf marks, a mark of 0, symbols without funding
interval or tiers, hedge-mode legs, isolated legs, legs on symbols no venue entry watches (valued
at the venue's mark, or not at all), a venue on Bybit's margin model, stale and down feeds, a
holding past its max age, NaN bars inside the price history. `bad=False` leaves them out.

History goes in as one `BarHistory` per market (fast), then a few live bars on top, so the grid is
the store's own. `models(...)` builds fitted-looking slow models without fitting (a refit of 600
symbols takes minutes): GARCH parameters per market with its last bar a few bars back, an OU fit,
the book's return history and a Monte Carlo result for the current book.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.config import Config, parse_config
from monitor.evaluation.exposure import book_signature, market_exposures
from monitor.evaluation.models import MarketModel, MonteCarloRun, RiskModels, book_legs, return_history
from monitor.records import (
    AccountSnapshot,
    Balance,
    BarHistory,
    BookLevels,
    Bracket,
    FeedState,
    FeedStatus,
    FundingInfo,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.risk.basis import OUFit
from monitor.risk.garch import GarchParams
from monitor.risk.montecarlo import McResult
from monitor.risk.reasons import Reason
from monitor.store.state import Snapshot, StateStore

S = 1_000_000_000
STEP_S = 60.0
T0 = 1_700_000_000 * S - (1_700_000_000 * S) % (60 * S)
FLOORS = (0.0, 50_000.0, 250_000.0, 1_000_000.0, 5_000_000.0, 20_000_000.0)
MMRS = (0.004, 0.005, 0.01, 0.025, 0.05, 0.1)
CONFIDENCES = (0.95, 0.99)


@dataclass(frozen=True)
class Desk:
    cfg: Config
    store: StateStore
    now_ns: int
    symbols: dict[str, tuple[str, ...]]  # venue → its watched symbols

    def snapshot(self) -> Snapshot:
        return self.store.snapshot(self.now_ns)


def _tiers(scale: float) -> tuple[Bracket, ...]:
    out, cum = [], 0.0
    for i, (f, m) in enumerate(zip(FLOORS, MMRS, strict=True)):
        if i:
            cum += FLOORS[i] * scale * (m - MMRS[i - 1])
        cap = FLOORS[i + 1] * scale if i + 1 < len(FLOORS) else 1e12
        out.append(Bracket(floor=f * scale, cap=cap, mmr=m, cum=cum, max_leverage=1.0 / (2 * m)))
    return tuple(out)


def desk(
    n_symbols: int,
    n_positions: int,
    *,
    n_accounts: int = 4,
    bars: int = 4096,
    seed: int = 7,
    bad: bool = True,
    lam: float = 0.94,
) -> Desk:
    """`bars`: price history per market (the store keeps 4,096); the tick is at the last bar's end."""
    rng = np.random.default_rng(seed)
    names = [f"S{i:03d}USDT" for i in range(n_symbols)]
    half = max(1, n_symbols // 2)
    symbols = {"binance": tuple(names), "bybit": tuple(names[:half])}
    venues = [
        {"name": "binance", "symbols": list(symbols["binance"]), "spot_symbols": list(names)},
        {
            "name": "bybit",
            "kind": "bybit",
            "symbols": list(symbols["bybit"]),
            "spot_symbols": list(names[: half // 2]),
        },
    ]
    accounts = [
        {
            "name": f"a{k}",
            "venue": "binance" if k % 2 == 0 else "bybit",
            "api_key_env": "K",
            "api_secret_env": "S",
        }
        for k in range(n_accounts)
    ]
    held_assets = names[: max(1, n_symbols // 10)]
    holdings = [
        {
            "name": f"custody{i}",
            "asset": s[:-4],
            "quantity": float(rng.uniform(1, 100)),
            "price_venue": "binance",
            "price_symbol": s,
        }
        for i, s in enumerate(held_assets)
    ]
    ev = {"volatility_sample_s": STEP_S, "ewma_lambda": lam, "var_confidences": list(CONFIDENCES)}
    cfg, _ = parse_config(
        {"venues": venues, "accounts": accounts, "holdings": holdings, "evaluation": ev},
        env={"K": "k", "S": "s"},
    )
    st = StateStore(grid_step_s=STEP_S, history_points=4096)
    now = T0 + bars * int(STEP_S) * S + 17 * S  # inside the bucket still filling
    price = {s: float(np.exp(rng.uniform(np.log(0.05), np.log(70_000)))) for s in names}
    for venue, syms in symbols.items():
        for j, s in enumerate(syms):
            _history(st, rng, venue, s, price[s], bars, bad and j % 37 == 5)
            _live(st, rng, cfg, venue, s, price[s], now, bad, j)
    _feeds(st, now, bad, symbols)
    _accounts(st, rng, cfg, symbols, price, n_positions, now, bad)
    for i, h in enumerate(cfg.holdings):
        old = bad and i % 5 == 3
        st.put(
            Holding(
                venue="config" if not old else "mqtt",
                ts_event_ns=now,
                ts_recv_ns=now - (900 * S if old else 0),
                name=h.name,
                asset=h.asset,
                quantity=h.quantity,
                price_venue=h.price_venue,
                price_symbol=h.price_symbol,
                max_age_s=60.0 if old else None,
            )
        )
    return Desk(cfg, st, now, symbols)


def _history(
    st: StateStore, rng: np.random.Generator, venue: str, s: str, p0: float, bars: int, holes: bool
) -> None:
    r = rng.standard_t(4, bars) * 0.002
    closes = p0 * np.exp(np.cumsum(r) - r.sum())
    if holes:  # a stretch of NaN bars: a feed that sent NaN, and one zero
        closes[bars // 3 : bars // 3 + 7] = math.nan
        closes[bars // 2] = 0.0
    opens = tuple(int(T0 + k * int(STEP_S) * S) for k in range(bars))
    st.put(
        BarHistory(
            venue=venue,
            ts_event_ns=T0,
            ts_recv_ns=T0,
            symbol=s,
            series="mark",
            interval_s=STEP_S,
            opens_ns=opens,
            closes=tuple(float(x) for x in closes),
        )
    )
    spot = closes * (1 + rng.normal(0, 3e-4, bars))
    st.put(
        BarHistory(
            venue=venue,
            ts_event_ns=T0,
            ts_recv_ns=T0,
            symbol=s,
            series="spot",
            interval_s=STEP_S,
            opens_ns=opens,
            closes=tuple(float(x) for x in spot),
        )
    )


def _live(
    st: StateStore,
    rng: np.random.Generator,
    cfg: Config,
    venue: str,
    s: str,
    p: float,
    now: int,
    bad: bool,
    j: int,
) -> None:
    """The live frames at `now`: mark, funding interval, spot and perp books, book levels."""
    mark = p * (1 + float(rng.normal(0, 1e-3)))
    index = mark * (1 + float(rng.normal(0, 2e-4)))
    rate = float(rng.normal(1e-4, 2e-4))
    if bad and j % 23 == 4:
        mark = math.nan
    elif bad and j % 23 == 9:
        mark = math.inf
    elif bad and j % 23 == 13:
        index = -math.inf
    elif bad and j % 23 == 17:
        mark = 0.0
    elif bad and j % 23 == 19:
        rate = math.nan
    st.put(
        MarkPrice(
            venue=venue,
            symbol=s,
            ts_event_ns=now,
            ts_recv_ns=now,
            mark=mark,
            index=index,
            funding_rate=rate,
            next_funding_ns=(now // (3600 * S) + 1) * 3600 * S if j % 11 else 0,
        )
    )
    if not (bad and j % 29 == 3):
        st.put(
            FundingInfo(
                venue=venue,
                symbol=s,
                ts_event_ns=now,
                ts_recv_ns=now,
                interval_s=float(rng.choice([3600.0, 4 * 3600.0, 8 * 3600.0])),
            )
        )
    spot_syms = next(v.spot_symbols for v in cfg.venues if v.name == venue)
    if s in spot_syms and not (bad and j % 31 == 7):
        m = p * (1 + float(rng.normal(0, 3e-4)))
        st.put(
            Quote(
                venue=venue,
                symbol=s,
                market="spot",
                ts_event_ns=now,
                ts_recv_ns=now,
                bid=m * 0.9999,
                bid_size=5.0,
                ask=m * 1.0001,
                ask_size=5.0,
            )
        )
    if not (bad and j % 13 == 6):
        st.put(
            Quote(
                venue=venue,
                symbol=s,
                market="perp",
                ts_event_ns=now,
                ts_recv_ns=now,
                bid=p * 0.9999,
                bid_size=float(rng.uniform(0.1, 50)),
                ask=p * 1.0001,
                ask_size=float(rng.uniform(0.1, 50)),
            )
        )
    if j % 3 != 2:
        n = 20 if j % 3 == 0 else 5
        st.put(
            BookLevels(
                venue=venue,
                symbol=s,
                market="perp",
                ts_event_ns=now,
                ts_recv_ns=now,
                bid_px=tuple(p * (1 - 1e-4 * (k + 1)) for k in range(n)),
                bid_qty=tuple(float(x) for x in rng.uniform(0.01, 100 / max(p, 1e-9) * 1e3, n)),
                ask_px=tuple(p * (1 + 1e-4 * (k + 1)) for k in range(n)),
                ask_qty=tuple(float(x) for x in rng.uniform(0.01, 100 / max(p, 1e-9) * 1e3, n)),
            )
        )


def _feeds(st: StateStore, now: int, bad: bool, symbols: dict[str, tuple[str, ...]]) -> None:
    """Some streams stale (last heard long ago is not expressible after a live frame: a status instead)."""
    if not bad:
        return
    for venue, syms in symbols.items():
        for j, s in enumerate(syms):
            if j % 17 == 2:
                st.put(
                    FeedStatus(
                        venue=venue,
                        ts_event_ns=now,
                        ts_recv_ns=now,
                        stream=f"mark:{s}",
                        state=FeedState.STALE,
                        reason="silent",
                    )
                )
            if j % 19 == 8:
                st.put(
                    FeedStatus(
                        venue=venue,
                        ts_event_ns=now,
                        ts_recv_ns=now,
                        stream=f"book:spot:{s}",
                        state=FeedState.DOWN,
                        reason="disconnected",
                    )
                )
            if j % 21 == 1:
                st.put(
                    FeedStatus(
                        venue=venue,
                        ts_event_ns=now,
                        ts_recv_ns=now,
                        stream=f"depth:perp:{s}",
                        state=FeedState.DOWN,
                        reason="disconnected",
                    )
                )


def _accounts(
    st: StateStore,
    rng: np.random.Generator,
    cfg: Config,
    symbols: dict[str, tuple[str, ...]],
    price: dict[str, float],
    n_positions: int,
    now: int,
    bad: bool,
) -> None:
    accts = list(cfg.accounts)
    legs: dict[str, list[Position]] = {a.name: [] for a in accts}
    seen: dict[str, set[tuple[str, str]]] = {a.name: set() for a in accts}
    for k in range(n_positions):
        a = accts[k % len(accts)]
        syms = symbols[a.venue]
        unwatched = bad and k % 41 == 11
        s = f"U{k:04d}USDT" if unwatched else syms[int(rng.integers(0, len(syms)))]
        p = price.get(s, float(np.exp(rng.uniform(0, 8))))
        hedge = k % 9 == 4 and not unwatched
        side = ("LONG" if rng.random() < 0.5 else "SHORT") if hedge else "BOTH"
        if (
            (s, side) in seen[a.name]
            or (side == "BOTH" and {(s, "LONG"), (s, "SHORT")} & seen[a.name])
            or (side != "BOTH" and (s, "BOTH") in seen[a.name])
        ):
            continue  # one leg per (symbol, side), and a symbol is either one-way or hedge mode
        seen[a.name].add((s, side))
        notional = float(np.exp(rng.uniform(np.log(1e3), np.log(2e6))))
        sign = 1.0 if side == "LONG" else -1.0 if side == "SHORT" else float(rng.choice([-1.0, 1.0]))
        qty = sign * notional / p
        iso = k % 5 == 2
        venue_mark = p * 1.0003 if not (unwatched and k % 2) else math.nan
        entry = p * (1 + float(rng.normal(0, 0.03)))
        if bad and k % 53 == 7:
            entry = math.nan
        if bad and k % 67 == 3:
            qty = 0.0  # a closed leg the venue still lists
        legs[a.name].append(
            Position(
                symbol=s,
                side=side,
                qty=qty,
                entry_price=entry,  # type: ignore[arg-type]
                margin_mode="isolated" if iso else "cross",
                isolated_wallet=notional / float(rng.uniform(2, 40)) if iso else 0.0,
                leverage=10.0,
                venue_mark_price=venue_mark,
                venue_liquidation_price=p * (0.5 if sign > 0 else 1.5) if k % 4 else math.nan,
                venue_unrealized_pnl=qty * (venue_mark - entry),
            )
        )
    for i, a in enumerate(accts):
        wallet = float(rng.uniform(1e5, 5e6)) if not (bad and i == 3) else math.nan
        st.put(
            AccountSnapshot(
                venue=a.venue,
                account=a.name,
                ts_event_ns=now,
                ts_recv_ns=now,
                positions=tuple(legs[a.name]),
                balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
            )
        )
        for j, s in enumerate(sorted({p.symbol for p in legs[a.name]})):
            if bad and j % 43 == 6:
                continue  # missing tiers
            st.put(
                LeverageTiers(
                    venue=a.venue,
                    account=a.name,
                    symbol=s,
                    ts_event_ns=now,
                    ts_recv_ns=now,
                    brackets=_tiers(float(rng.choice([0.01, 0.1, 1.0]))),
                )
            )


def models(d: Desk, *, behind: int = 3, history: bool = True) -> RiskModels:
    """Fitted-looking models for the desk's book: GARCH/OU per market, return history, Monte Carlo."""
    snap = d.snapshot()
    rng = np.random.default_rng(3)
    markets: dict[tuple[str, str], MarketModel] = {}
    for j, (key, (ts, _v)) in enumerate(sorted(snap.mark_grid.items())):
        ok = j % 15 != 4
        s2 = float(rng.uniform(1e-6, 4e-5))
        g = GarchParams(
            omega=1e-7 if ok else math.nan,
            alpha=0.08 if ok else math.nan,
            beta=0.9 if ok else math.nan,
            nu=5.0,
            sigma2_last=s2,
            sigma2_next=s2 if ok else math.nan,
            scale=100.0,
            n_obs=ts.size,
            reason=Reason.OK if ok else Reason.NOT_CONVERGED,
        )
        last = int(ts[-1 - behind]) if ts.size > behind + 1 else 0
        mr = j % 7 != 2
        ou = OUFit(
            theta=0.01 if mr else math.nan,
            mu=0.3,
            sigma=0.05,
            half_life_s=69.3 if mr else math.nan,
            stationary_sd=0.35 if mr else math.nan,
            b=0.5 if mr else 1.01,
            n_obs=ts.size,
            mean_reverting=mr,
            reason=Reason.OK if mr else Reason.NOT_MEAN_REVERTING,
        )
        markets[key] = MarketModel(garch=g, last_bar_ns=last, ou=ou)
    ev = d.cfg.evaluation
    hist = (
        return_history(snap, book_legs(snap), ev.volatility_sample_s, 512, 1)
        if history
        else RiskModels().history
    )
    book = market_exposures(snap)
    positions = tuple(pk for e in book.values() for pk, _q in e.positions)
    p_touch = rng.uniform(0, 0.2, len(positions))
    results = {
        a: McResult(
            var=1e5 * a,
            es=1.3e5 * a,
            alpha=a,
            p_any_touch=0.4,
            p_touch=p_touch,
            mean_pnl=0.0,
            n_paths=1000,
            reason=Reason.OK,
        )
        for a in CONFIDENCES
    }
    mc = MonteCarloRun(
        results=results,
        positions=positions,
        reason="",
        book=book_signature(book),
        lp_unknown=frozenset(positions[::50]),
    )
    return RiskModels(fitted_at_ns=d.now_ns - 120 * S, step_s=STEP_S, markets=markets, history=hist, mc=mc)
