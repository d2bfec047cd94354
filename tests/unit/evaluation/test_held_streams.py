"""A symbol held beyond the venue entry's `symbols`: its streams are expected from the tick that shows it.

The collector watches such a symbol (`collectors.held`); the evaluator must judge its streams the
same way, or the leg's mark would never count as fresh (and its account's alerts could not start),
and a subscription that never delivers would be silent instead of `feed_stale`.
"""

from __future__ import annotations

import math

from monitor.collectors.cadence import stream_limits
from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FigureKey,
    Figures,
    LeverageTiers,
    MarkPrice,
    Position,
)
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_000 * S
CFG, _ = parse_config(
    {
        "venues": [{"name": "binance", "symbols": ["BTCUSDT"], "perp_books": False}],
        "accounts": [{"name": "desk", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
    },
    env={"K": "k", "S": "s"},
)
TIERS = (Bracket(floor=0, cap=1e9, mmr=0.005, cum=0, max_leverage=50),)
MARKS = {"BTCUSDT": 30_000.0, "ETHUSDT": 2_000.0}


def mark(st: StateStore, symbol: str, t: int) -> None:
    m = MARKS[symbol]
    st.put(
        MarkPrice(
            venue="binance", symbol=symbol, ts_event_ns=t, ts_recv_ns=t, mark=m, index=m, funding_rate=0.0
        )
    )


def account(st: StateStore, t: int) -> None:
    legs = tuple(
        Position(symbol=s, side="BOTH", qty=q, entry_price=MARKS[s], margin_mode="cross")
        for s, q in (("BTCUSDT", 1.0), ("ETHUSDT", 10.0))
    )
    balances = (Balance(asset="USDT", wallet_balance=10_000.0, cross_wallet_balance=10_000.0),)
    st.put(
        AccountSnapshot(
            venue="binance", account="desk", ts_event_ns=t, ts_recv_ns=t, positions=legs, balances=balances
        )
    )


def get(figs: Figures, name: str, **labels: str):  # type: ignore[no-untyped-def]
    return figs.items[FigureKey(name=name, venue="binance", **labels)]


def test_a_held_symbols_mark_stream_is_expected_from_first_sight_and_counts_once_heard() -> None:
    limit = stream_limits(CFG, CFG.venues[0])["mark:BTCUSDT"]  # a held symbol's, as a configured one's
    st = StateStore(grid_step_s=60)
    for s in ("BTCUSDT", "ETHUSDT"):
        st.put(
            LeverageTiers(
                venue="binance", account="desk", symbol=s, ts_event_ns=T0, ts_recv_ns=T0, brackets=TIERS
            )
        )
    ev = Evaluator(CFG, started_ns=T0)
    t1 = T0 + 100 * S  # long after start-up: the ETH leg first appears now
    mark(st, "BTCUSDT", t1)
    account(st, t1)
    figs = ev.evaluate(st.snapshot(t1), t1)
    stale = get(figs, "feed_stale", stream="mark:ETHUSDT")
    assert (stale.value, stale.reason) == (0.0, "never_heard"), "its grace counts from first sight"
    assert math.isnan(get(figs, "margin_ratio", account="desk").value)

    t2 = t1 + int((limit + 1) * S)  # the subscription never delivered: stale, not silent
    mark(st, "BTCUSDT", t2)
    account(st, t2)
    stale = get(ev.evaluate(st.snapshot(t2), t2), "feed_stale", stream="mark:ETHUSDT")
    assert (stale.value, stale.reason) == (1.0, "never_heard")

    mark(st, "ETHUSDT", t2)
    figs = ev.evaluate(st.snapshot(t2), t2)
    assert get(figs, "feed_stale", stream="mark:ETHUSDT").value == 0.0
    assert get(figs, "mark_price_usd", symbol="ETHUSDT").fresh
    ratio = get(figs, "margin_ratio", account="desk")
    assert ratio.available and ratio.fresh  # the account's alerts can start again
    assert ratio.value == (30_000 * 0.005 + 20_000 * 0.005) / 10_000
