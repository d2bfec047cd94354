"""Property: a book in danger is never silent, whatever the other legs look like (evaluator → rule engine).

One cross account holds a BTC long close to liquidation (margin ratio over the critical level, a
few basis points from its LP). Beside it, hypothesis opens other legs and spoils any subset of
them: a watched symbol whose mark never arrived, a NaN mark, a leg without its tier table, a
symbol the venue entry does not list (no market view at all), ±inf injected into a leg's
figures; the wallet may even be wiped (margin ratio +inf). Whatever it draws, the shipped
MarginRatio / LiquidationDistance rules or FigureUnavailable must fire on that account within
`for_s + unavailable_for_s` — a spoiled leg may blind a figure, never silence the book.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config, parse_config
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    Figure,
    FigureKey,
    Figures,
    LeverageTiers,
    MarkPrice,
    Position,
)
from monitor.rules import UNAVAILABLE_ALERTNAME, RuleEngine
from monitor.store.state import StateStore
from tests.unit.config.test_config import ROOT, SIM_ENV

S = 1_000_000_000
T0 = 1_700_000_000 * S
BTC_MARK = 30_000.0
TIERS = (
    Bracket(floor=0, cap=50_000, mmr=0.004, cum=0, max_leverage=125),
    Bracket(floor=50_000, cap=250_000, mmr=0.005, cum=50, max_leverage=100),
)
OTHERS = ("ETHUSDT", "SOLUSDT", "XRPUSDT")
PRICES = {"ETHUSDT": 2_000.0, "SOLUSDT": 100.0, "XRPUSDT": 0.5}
DEFECTS = ("ok", "no_mark", "nan_mark", "missing_tier", "unwatched", "inf", "-inf")

_SHIPPED, _ = load_config(ROOT / "config.toml", env=SIM_ENV)
RULES = tuple(r for r in _SHIPPED.rules if r.name in ("MarginRatio", "LiquidationDistance"))
EV = _SHIPPED.evaluation
WINDOW_S = max(r.for_s for r in RULES) + EV.unavailable_for_s


def _config(watched: list[str]) -> Any:
    cfg, _ = parse_config(
        {
            "venues": [{"name": "binance", "symbols": ["BTCUSDT", *watched]}],
            "accounts": [{"name": "a", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
            "rules": [],
        },
        env={"K": "k", "S": "s"},
    )
    return cfg


def _mark(st_: StateStore, symbol: str, mark: float) -> None:
    st_.put(MarkPrice(venue="binance", symbol=symbol, ts_event_ns=T0, ts_recv_ns=T0, mark=mark, index=mark))


def _figures(legs: dict[str, str], headroom: float) -> Figures:
    """Evaluate the drawn book once: the feeds are live (fresh), so the figures hold from tick to tick."""
    watched = [s for s, d in legs.items() if d != "unwatched"]
    store = StateStore(grid_step_s=60)
    _mark(store, "BTCUSDT", BTC_MARK)
    positions = [Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=BTC_MARK, margin_mode="cross")]
    for sym, defect in legs.items():
        price = PRICES[sym]
        if defect in ("ok", "missing_tier", "inf", "-inf"):
            _mark(store, sym, price)
        elif defect == "nan_mark":
            _mark(store, sym, math.nan)
        qty = 50.0 / price  # a small leg: 50 USD of notional
        positions.append(Position(symbol=sym, side="BOTH", qty=qty, entry_price=price, margin_mode="cross"))
    mm = BTC_MARK * TIERS[0].mmr
    wallet = mm * headroom  # headroom < 1.25: margin ratio > 0.8; ≤ 0: wiped out (ratio +inf)
    store.put(
        AccountSnapshot(
            venue="binance",
            account="a",
            ts_event_ns=T0,
            ts_recv_ns=T0,
            positions=tuple(positions),
            balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
        )
    )
    for sym in ("BTCUSDT", *legs):
        if legs.get(sym) != "missing_tier":
            store.put(
                LeverageTiers(
                    venue="binance", account="a", symbol=sym, ts_event_ns=T0, ts_recv_ns=T0, brackets=TIERS
                )
            )
    figs = Evaluator(_config(watched), started_ns=T0).evaluate(store.snapshot(T0 + S), T0 + S)
    items = dict(figs.items)
    for sym, defect in legs.items():
        if defect in ("inf", "-inf"):  # a leg's own figures at ±inf: values, compared as such
            for key, f in list(items.items()):
                if key.symbol == sym and key.account == "a":
                    items[key] = Figure(value=float(defect), unit=f.unit, ts_ns=f.ts_ns, fresh=f.fresh)
    return Figures(taken_at_ns=figs.taken_at_ns, items=items)


def _alerts_on_the_account(figs: Figures) -> list[tuple[int, str]]:
    engine = RuleEngine(
        RULES, unavailable_for_s=EV.unavailable_for_s, unavailable_warmup_s=EV.unavailable_warmup_s
    )
    told: list[tuple[int, str]] = []
    for t in range(int(WINDOW_S) + 1):
        for ev in engine.step(figs, T0 + t * S):
            if ev.labels.get("account") == "a" and ev.state.value == "firing":
                told.append((t, ev.labels["alertname"]))
    return told


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    legs=st.dictionaries(st.sampled_from(OTHERS), st.sampled_from(DEFECTS), max_size=len(OTHERS)),
    headroom=st.one_of(st.floats(min_value=0.3, max_value=1.2), st.sampled_from([0.0, -1.0])),
)
def test_a_breached_account_always_raises_an_alert(legs: dict[str, str], headroom: float) -> None:
    """The rule's alert or FigureUnavailable fires on the account within for_s + unavailable_for_s."""
    figs = _figures(legs, headroom)
    told = _alerts_on_the_account(figs)
    assert told, (legs, headroom, _watched_state(figs))
    assert {name for _, name in told} <= {"MarginRatio", "LiquidationDistance", UNAVAILABLE_ALERTNAME}


def _watched_state(figs: Figures) -> dict[str, tuple[float, bool, str]]:
    names = {r.figure for r in RULES}
    return {
        f"{k.name}/{k.symbol}": (f.value, f.fresh, f.reason)
        for k, f in figs.items.items()
        if k.name in names and k.account == "a"
    }


def test_the_clean_book_fires_the_rule_itself() -> None:
    """The baseline the property spoils: no other legs, both rules fire after for_s."""
    told = _alerts_on_the_account(_figures({}, 1.0))
    assert {name for _, name in told} == {"MarginRatio", "LiquidationDistance"}
    assert FigureKey(name="margin_ratio", venue="binance", account="a") in _figures({}, 1.0).items
