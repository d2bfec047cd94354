"""A small book with a price history, for the slow-model evaluation stages.

Marks follow the real BTC daily closes (shipped test data) replayed on a 60 s grid; the spot is
the mark plus an AR(1) basis with a known slope, so OU figures have a history to fit. One cross
account is short BTC perpetual against BTC in custody; tiers are Binance's first BTC brackets.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import numpy as np

from monitor.config import Config, parse_config
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FigureKey,
    Figures,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.state import StateStore
from tests.unit.risk._data import btc_daily_closes

S = 1_000_000_000
T0 = 1_700_000_020 * S - (1_700_000_020 * S) % (60 * S)  # on a bucket boundary
STEP_S = 60.0
RATE = 0.0001  # funding estimate per 8 h
TIERS = (
    Bracket(floor=0, cap=50_000, mmr=0.004, cum=0, max_leverage=125),
    Bracket(floor=50_000, cap=250_000, mmr=0.005, cum=50, max_leverage=100),
    Bracket(floor=250_000, cap=1_000_000, mmr=0.01, cum=1_300, max_leverage=50),
    Bracket(floor=1_000_000, cap=10_000_000, mmr=0.025, cum=16_300, max_leverage=20),
)


def config(**evaluation: Any) -> Config:
    ev = {"volatility_sample_s": STEP_S, "var_horizon_s": 3_600.0, "mc_paths": 2_000, **evaluation}
    cfg, _ = parse_config(
        {
            "venues": [{"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"]}],
            "accounts": [{"name": "a", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
            "holdings": [
                {
                    "name": "custody",
                    "asset": "BTC",
                    "quantity": 10.0,
                    "price_venue": "binance",
                    "price_symbol": "BTCUSDT",
                }
            ],
            "evaluation": ev,
        },
        env={"K": "k", "S": "s"},
    )
    return cfg


def path(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(marks, basis) for n bars: real BTC closes, and B[k+1] = 4 + 0.8·B[k] + N(0, 3)."""
    marks = btc_daily_closes()[1000 : 1000 + n].copy()
    rng = np.random.default_rng(11)
    b = np.empty(n)
    b[0] = 20.0
    for k in range(1, n):
        b[k] = 4.0 + 0.8 * b[k - 1] + rng.normal(0.0, 3.0)
    return marks, b


def bar_ns(k: int) -> int:
    return T0 + k * int(STEP_S) * S


def put_bars(st: StateStore, marks: np.ndarray, basis: np.ndarray | None, start: int, stop: int) -> None:
    """Bars start..stop-1 (bar k at T0 + k·60 s); spot quotes straddle mark + basis by ±0.5."""
    for k in range(start, stop):
        t = bar_ns(k)
        m = float(marks[k])
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=m,
                index=m,
                funding_rate=RATE,
                next_funding_ns=T0 + 8 * 3600 * S,
            )
        )
        if basis is not None:
            s = m + float(basis[k])
            st.put(
                Quote(
                    venue="binance",
                    symbol="BTCUSDT",
                    market="spot",
                    ts_event_ns=t,
                    ts_recv_ns=t,
                    bid=s - 0.5,
                    bid_size=5.0,
                    ask=s + 0.5,
                    ask_size=5.0,
                )
            )


def put_book(
    st: StateStore,
    t: int,
    *,
    qty: float = -8.0,
    entry: float = 0.0,
    wallet: float = 50_000.0,
    mode: str = "cross",
    iso_wallet: float = 0.0,
    tiers: tuple[Bracket, ...] | None = TIERS,
    holdings: float = 10.0,
) -> None:
    mark = st.snapshot(t).marks[("binance", "BTCUSDT")].mark
    pos = Position(
        symbol="BTCUSDT",
        side="BOTH",
        qty=qty,
        entry_price=entry or mark,
        margin_mode=mode,  # type: ignore[arg-type]
        isolated_wallet=iso_wallet,
    )
    st.put(
        AccountSnapshot(
            venue="binance",
            account="a",
            ts_event_ns=t,
            ts_recv_ns=t,
            positions=(pos,),
            balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
        )
    )
    if tiers is not None:
        st.put(
            LeverageTiers(
                venue="binance", account="a", symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, brackets=tiers
            )
        )
    if holdings:
        st.put(
            Holding(
                venue="config",
                ts_event_ns=t,
                ts_recv_ns=t,
                name="custody",
                asset="BTC",
                quantity=holdings,
                price_venue="binance",
                price_symbol="BTCUSDT",
            )
        )


def store() -> StateStore:
    return StateStore(grid_step_s=STEP_S, history_points=4096)


def value(figs: Figures, name: str, **labels: str) -> float:
    return figs.items[FigureKey(name=name, **labels)].value


def reason(figs: Figures, name: str, **labels: str) -> str:
    return figs.items[FigureKey(name=name, **labels)].reason


def with_evaluation(cfg: Config, **changes: Any) -> Config:
    return msgspec.structs.replace(cfg, evaluation=msgspec.structs.replace(cfg.evaluation, **changes))


M = {"venue": "binance", "symbol": "BTCUSDT"}
P = {"venue": "binance", "account": "a", "symbol": "BTCUSDT", "side": "BOTH"}
NAN = math.nan
