"""One book on two venues: delta, hedge ratio and carry sum across them; a silent venue flags the book."""

from __future__ import annotations

import math

from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    Figures,
    FundingInfo,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.risk.bybit_liquidation import bybit_classic_isolated_liquidation_price
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_000 * S
ENV = {"K": "k", "S": "s"}
CFG, _ = parse_config(
    {
        "venues": [
            {"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"], "perp_books": False},
            {"name": "bybit", "kind": "bybit", "symbols": ["BTCUSDT"], "perp_books": False},
        ],
        "accounts": [
            {"name": "hedge-a", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"},
            {"name": "hedge-b", "venue": "bybit", "api_key_env": "K", "api_secret_env": "S"},
        ],
        "holdings": [
            {
                "name": "custody",
                "asset": "BTC",
                "quantity": 50.0,
                "price_venue": "binance",
                "price_symbol": "BTCUSDT",
            }
        ],
    },
    env=ENV,
)
TIERS = (Bracket(floor=0, cap=1e9, mmr=0.005, cum=0, max_leverage=100),)


def mark(venue: str, t: int, price: float, rate: float) -> MarkPrice:
    return MarkPrice(
        venue=venue, symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, mark=price, index=price, funding_rate=rate
    )


def account(venue: str, name: str, t: int, *legs: Position) -> AccountSnapshot:
    usdt = (Balance(asset="USDT", wallet_balance=500_000.0),)
    return AccountSnapshot(
        venue=venue, account=name, ts_event_ns=t, ts_recv_ns=t, positions=legs, balances=usdt
    )


def short(qty: float) -> Position:
    return Position(symbol="BTCUSDT", side="BOTH", qty=-qty, entry_price=30_000.0, margin_mode="cross")


def feed(store: StateStore, t: int, *, binance: bool = True, bybit: bool = True) -> None:
    if binance:
        store.put(mark("binance", t, 30_000.0, 0.0001))  # 8 h
        store.put(Quote(venue="binance", symbol="BTCUSDT", market="spot", ts_event_ns=t, ts_recv_ns=t,
                        bid=29_990.0, bid_size=1.0, ask=30_010.0, ask_size=1.0))  # fmt: skip
        store.put(account("binance", "hedge-a", t, short(30.0)))
    if bybit:
        store.put(mark("bybit", t, 30_030.0, 0.0001))  # hourly: 8× the annualised rate
        store.put(account("bybit", "hedge-b", t, short(20.0)))


def store_at_start() -> StateStore:
    st = StateStore(grid_step_s=60)
    st.put(Holding(venue="config", name="custody", asset="BTC", quantity=50.0, price_venue="binance",
                   price_symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0))  # fmt: skip
    st.put(FundingInfo(venue="binance", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, interval_s=28_800.0))
    st.put(FundingInfo(venue="bybit", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, interval_s=3600.0))
    for venue, acct in (("binance", "hedge-a"), ("bybit", "hedge-b")):
        st.put(LeverageTiers(venue=venue, account=acct, symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0,
                             brackets=TIERS))  # fmt: skip
    return st


def get(figs: Figures, name: str, **labels: str) -> tuple[float, bool, str]:
    for k, f in figs.items.items():
        if k.name == name and all(k.labels().get(a) == b for a, b in labels.items()):
            return f.value, f.fresh, f.reason
    raise KeyError(name)


def test_book_spans_both_venues_with_interval_aware_carry_and_spread() -> None:
    st = store_at_start()
    feed(st, T0)
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0 + S), T0 + S)
    assert get(figs, "net_delta", asset="BTC")[:2] == (0.0, True)
    assert get(figs, "hedge_ratio", asset="BTC")[:2] == (1.0, True)
    assert get(figs, "book_partial", asset="BTC")[:2] == (0.0, True)
    assert get(figs, "venue_perp_quantity", venue="binance", asset="BTC")[0] == -30.0
    assert get(figs, "venue_perp_quantity", venue="bybit", asset="BTC")[0] == -20.0
    binance_carry = 30 * 30_000.0 * 0.0001 * 3  # three 8 h settlements a day
    bybit_carry = 20 * 30_030.0 * 0.0001 * 24  # hourly
    assert math.isclose(
        get(figs, "venue_funding_carry_usd_per_day", venue="bybit", asset="BTC")[0], bybit_carry
    )
    assert math.isclose(get(figs, "funding_carry_usd_per_day", asset="BTC")[0], binance_carry + bybit_carry)
    spread, fresh, _ = get(figs, "funding_spread_annualized_ratio", venue="binance/bybit", symbol="BTCUSDT")
    assert math.isclose(spread, 0.0001 * 3 * 365 - 0.0001 * 24 * 365) and fresh


def test_a_silent_venue_flags_the_book_partial_and_only_its_own_figures_stale() -> None:
    """Binance stops at T0; Bybit keeps talking: the book is partial, Bybit's figures stay fresh."""
    st = store_at_start()
    feed(st, T0)
    t = T0
    for _ in range(40):  # 40 s: past Binance's mark limit (3 s); Bybit speaks every second
        t += S
        feed(st, t, binance=False)
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(t), t)
    assert get(figs, "feed_stale", venue="binance", stream="mark:BTCUSDT")[0] == 1.0
    assert get(figs, "feed_stale", venue="bybit", stream="mark:BTCUSDT")[0] == 0.0
    assert get(figs, "mark_price_usd", venue="bybit", symbol="BTCUSDT")[1] is True
    assert get(figs, "venue_perp_quantity", venue="bybit", asset="BTC")[1] is True
    assert get(figs, "venue_perp_quantity", venue="binance", asset="BTC")[1] is False
    value, fresh, reason = get(figs, "book_partial", asset="BTC")
    assert (value, fresh) == (1.0, False) and "binance" in reason and "bybit" not in reason
    for name in ("net_delta", "hedge_ratio", "funding_carry_usd_per_day"):
        assert get(figs, name, asset="BTC")[1] is False, name
    assert get(figs, "funding_spread_annualized_ratio", venue="binance/bybit", symbol="BTCUSDT")[1] is False


def test_bybit_isolated_lp_uses_bybits_model_and_matches_the_venue() -> None:
    """Long 1 BTC @ 10,000 at 50×, MMR 0.5 %: LP (10,000 − 200)/0.995 = 9,849.2462, MM on the mark
    (Bybit since 2025-09-02); the venue's tick-rounded 9,849.3 is 5.4e-6 away. The 2024 form said 9,850."""
    st = StateStore(grid_step_s=60)
    st.put(mark("bybit", T0, 10_000.0, 0.0))
    st.put(LeverageTiers(venue="bybit", account="hedge-b", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0,
                         brackets=TIERS))  # fmt: skip
    leg = Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=10_000.0, margin_mode="isolated",
                   isolated_wallet=200.0, venue_liquidation_price=9_849.3)  # fmt: skip
    st.put(account("bybit", "hedge-b", T0, leg))
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0), T0)
    lp = get(figs, "liquidation_price_usd", venue="bybit", account="hedge-b", symbol="BTCUSDT")[0]
    assert math.isclose(lp, 9_800.0 / 0.995, rel_tol=1e-14)
    assert lp != bybit_classic_isolated_liquidation_price(1.0, 10_000.0, 50.0, 0.005)
    divergence = get(figs, "liquidation_price_divergence_ratio", venue="bybit", account="hedge-b")[0]
    assert math.isclose(divergence, abs(lp / 9_849.3 - 1.0), rel_tol=1e-9) and divergence < 1e-5
    assert get(figs, "position_maintenance_margin_usd", venue="bybit", account="hedge-b")[0] == 50.0
