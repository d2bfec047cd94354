"""The stress stage: a Snapshot's book revalued per scenario, as rows and as slow-cadence figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.config import parse_config
from monitor.evaluation.stress import StressRow, StressTable, stress_table
from monitor.evaluation.stress_book import FUNDING_CAP_OF_MMR, stress_book
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    Figure,
    FigureKey,
    Figures,
    FundingInfo,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.risk.margin import maintenance_margin
from monitor.risk.stress import standard_scenarios
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_000 * S
MARK, SPOT = 40_000.0, 40_020.0
TIERS = (
    Bracket(floor=0, cap=50_000, mmr=0.004, cum=0, max_leverage=125),
    Bracket(floor=50_000, cap=250_000, mmr=0.005, cum=50, max_leverage=100),
    Bracket(floor=250_000, cap=1_000_000, mmr=0.01, cum=1_300, max_leverage=50),
    Bracket(floor=1_000_000, cap=10_000_000, mmr=0.025, cum=16_300, max_leverage=20),
)
WALLETS = {"hedge": 400_000.0, "degen": 6_000.0}
QTY = {"hedge": -50.0, "degen": 2.0}
ENTRY = {"hedge": 41_000.0, "degen": 39_000.0}

CFG, _ = parse_config(
    {
        "venues": [{"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"]}],
        "accounts": [
            {"name": n, "venue": "binance", "api_key_env": "K", "api_secret_env": "S"} for n in WALLETS
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
        "evaluation": {"stress_interval_s": 60.0},
    },
    env={"K": "k", "S": "s"},
)


def book_store(t: int = T0, mark: float = MARK, tiers: bool = True) -> StateStore:
    st = StateStore(grid_step_s=60)
    k = {"venue": "binance", "ts_event_ns": t, "ts_recv_ns": t}
    st.put(MarkPrice(symbol="BTCUSDT", mark=mark, index=mark, funding_rate=0.0001, **k))
    st.put(Quote(symbol="BTCUSDT", market="spot", bid=SPOT, ask=SPOT, bid_size=1, ask_size=1, **k))
    st.put(FundingInfo(symbol="BTCUSDT", interval_s=8 * 3600.0, **k))  # no cap listed (Binance: BTCUSDT)
    for name, wallet in WALLETS.items():
        if tiers:
            st.put(LeverageTiers(account=name, symbol="BTCUSDT", brackets=TIERS, **k))
        pos = Position(
            symbol="BTCUSDT", side="BOTH", qty=QTY[name], entry_price=ENTRY[name], margin_mode="cross"
        )
        st.put(
            AccountSnapshot(
                account=name, positions=(pos,), balances=(Balance(asset="USDT", wallet_balance=wallet),), **k
            )
        )
    st.put(
        Holding(
            venue="config",
            ts_event_ns=t,
            ts_recv_ns=t,
            name="custody",
            asset="BTC",
            quantity=50.0,
            price_venue="binance",
            price_symbol="BTCUSDT",
        )
    )
    return st


def _mm(q: float, mark: float) -> float:
    return float(
        maintenance_margin(
            abs(q) * mark,
            np.array([b.floor for b in TIERS]),
            np.array([b.mmr for b in TIERS]),
            np.array([b.cum for b in TIERS]),
        )
    )


def test_book_arrays_from_snapshot() -> None:
    """Accounts are wallets, holdings are custody, an unlisted funding cap is 75 % of the first-tier MMR."""
    book, idx = stress_book(book_store().snapshot(T0))
    assert idx.accounts == (("binance", "degen"), ("binance", "hedge"))
    assert book.venue_wallet.tolist() == [6_000.0, 400_000.0]
    assert book.venue_usdt_share.tolist() == [1.0, 1.0]
    assert book.perp_q.tolist() == [2.0, -50.0]
    assert book.perp_funding_cap.tolist() == [FUNDING_CAP_OF_MMR * 0.004] * 2
    assert (book.spot_venue.tolist(), book.spot_q.tolist(), book.spot_price.tolist()) == (
        [-1],
        [50.0],
        [SPOT],
    )
    assert idx.notes == ()


def _row(table: StressTable, scenario: str, venue: str, account: str = "") -> StressRow:
    rows = [r for r in table.rows if (r.scenario, r.venue, r.account) == (scenario, venue, account)]
    assert len(rows) == 1
    return rows[0]


def test_price_shock_rows_match_hand_revaluation() -> None:
    """price_-10%: each account's equity, margin ratio and liquidation follow from marks × 0.9."""
    table = stress_table(book_store().snapshot(T0))
    m = MARK * 0.9
    for name in WALLETS:
        r = _row(table, "price_-10%", "binance", name)
        equity = WALLETS[name] + QTY[name] * (m - ENTRY[name])
        assert r.perp_pnl == pytest.approx(QTY[name] * (m - MARK))
        assert r.equity_after == pytest.approx(equity)
        ratio = _mm(QTY[name], m) / equity if equity > 0 else math.inf
        assert r.margin_ratio_after == pytest.approx(ratio)
        assert r.liquidated == int(ratio >= 1.0)
        assert r.topup == pytest.approx(max(_mm(QTY[name], m) - equity, 0.0))
    custody = _row(table, "price_-10%", "custody")
    assert custody.spot_pnl == pytest.approx(50.0 * SPOT * -0.1)
    total = _row(table, "price_-10%", "total")
    parts = [_row(table, "price_-10%", "binance", n).equity_after for n in WALLETS]
    assert total.equity_after == pytest.approx(sum(parts) + custody.equity_after)


def test_every_scenario_and_venue_outage() -> None:
    """All §11 scenarios are there; a venue outage freezes all its accounts: usable equity is custody."""
    table = stress_table(book_store().snapshot(T0))
    expected = [s.name for s in standard_scenarios(0)]
    assert [n for n in table.scenarios if not n.startswith("outage_")] == expected
    assert {"outage_binance", "outage_binance_price_-20%"} <= set(table.scenarios)
    for name in WALLETS:
        assert _row(table, "outage_binance", "binance", name).frozen
    total = _row(table, "outage_binance", "total")
    assert total.equity_after == pytest.approx(50.0 * SPOT)


def test_funding_cap_scenario_uses_fallback_cap() -> None:
    """funding_cap_7d: 21 intervals at 0.3 % against each position, on the notional at mark."""
    table = stress_table(book_store().snapshot(T0))
    for name in WALLETS:
        r = _row(table, "funding_cap_7d", "binance", name)
        assert r.funding_pnl == pytest.approx(-21 * 0.003 * abs(QTY[name]) * MARK)


def test_missing_tiers_give_nan_with_a_note() -> None:
    """No leverage tiers: the account's margin figures are NaN (never a guess) and the note says why."""
    table = stress_table(book_store(tiers=False).snapshot(T0))
    r = _row(table, "price_-5%", "binance", "hedge")
    assert math.isnan(r.margin_ratio_after) and math.isnan(r.topup)
    assert math.isnan(r.liquidated)  # unknown, not a reassuring 0
    assert math.isnan(_row(table, "price_-5%", "total").liquidated)
    assert "binance/hedge BTCUSDT: no leverage tiers (missing_tier)" in table.notes


def _stress_figure(figs: Figures, account: str, scenario: str) -> Figure:
    key = FigureKey(name="stress_equity_after_usd", venue="binance", account=account, scenario=scenario)
    return figs.items[key]


def test_evaluator_exports_stress_on_a_slow_cadence() -> None:
    """The evaluator emits stress figures; between recomputations it re-emits the last ones."""
    ev = Evaluator(CFG, started_ns=T0)
    first = ev.evaluate(book_store(T0).snapshot(T0), T0)
    f0 = _stress_figure(first, "degen", "price_+10%")
    assert f0.value == pytest.approx(WALLETS["degen"] + 2.0 * (MARK * 1.1 - ENTRY["degen"]))
    moved = 42_000.0
    t1 = T0 + 10 * S
    second = ev.evaluate(book_store(t1, mark=moved).snapshot(t1), t1)
    assert _stress_figure(second, "degen", "price_+10%") == f0  # cached: same value, same stamp
    t2 = T0 + 61 * S
    third = ev.evaluate(book_store(t2, mark=moved).snapshot(t2), t2)
    f2 = _stress_figure(third, "degen", "price_+10%")
    assert (f2.value, f2.ts_ns) == (
        pytest.approx(WALLETS["degen"] + 2.0 * (moved * 1.1 - ENTRY["degen"])),
        t2,
    )
    liq = third.items[
        FigureKey(name="stress_liquidated_positions", venue="binance", account="degen", scenario="price_-20%")
    ]
    assert WALLETS["degen"] + 2.0 * (moved * 0.8 - ENTRY["degen"]) < 0  # 2 BTC long on 6,000 is wiped out
    assert liq.value == 1.0


def test_stress_figures_reach_metrics_with_a_scenario_label() -> None:
    """/metrics carries perpmon_stress_* with {scenario, venue, account}, the labels rules match on."""
    from prometheus_client import CollectorRegistry, generate_latest

    from monitor.metrics import EvaluationStats, PerpmonMetrics

    figs = Evaluator(CFG, started_ns=T0).evaluate(book_store().snapshot(T0), T0)
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=lambda: figs,
            collectors=[],
            evaluation=EvaluationStats(),
            delivery=lambda: [],
            firing=lambda: [],
            started_ns=T0,
            version="test",
        )
    )
    text = generate_latest(reg).decode()
    value = figs.items[
        FigureKey(name="stress_topup_usd", venue="binance", account="degen", scenario="price_-20%")
    ]
    line = (
        f'perpmon_stress_topup_usd{{account="degen",scenario="price_-20%",venue="binance"}} {value.value!r}'
    )
    assert line in text
    assert 'perpmon_stress_equity_after_usd{account="",scenario="price_-20%",venue="total"}' in text


def test_a_venue_on_bybits_model_margins_at_the_shocked_mark() -> None:
    """A venue on Bybit's model: MM is the tier at the shocked mark value (since 2025-09-02), not at entry."""
    table = stress_table(book_store().snapshot(T0), frozenset({"binance"}))
    m = MARK * 0.9
    for name in WALLETS:
        r = _row(table, "price_-10%", "binance", name)
        equity = WALLETS[name] + QTY[name] * (m - ENTRY[name])
        mm = _mm(QTY[name], m)
        assert mm != pytest.approx(_mm(QTY[name], ENTRY[name]))  # the 2024 model differs on this book
        assert r.equity_after == pytest.approx(equity)
        assert r.margin_ratio_after == pytest.approx(mm / equity if equity > 0 else math.inf)
        assert r.topup == pytest.approx(max(mm - equity, 0.0))
        assert r.liquidated == int(equity <= mm)
    # no cap listed: Binance's 75 %-of-MMR fallback is not Bybit's rule, so funding stress is n/a, said why
    assert "binance/degen BTCUSDT: no funding cap from the venue (funding scenarios n/a)" in table.notes
    assert math.isnan(_row(table, "funding_cap_7d", "binance", "degen").funding_pnl)


def test_empty_first_table_is_recomputed_when_the_book_arrives() -> None:
    """The first table runs before any account arrives; the book arriving recomputes it at once."""
    ev = Evaluator(CFG, started_ns=T0)
    empty = ev.evaluate(StateStore(grid_step_s=60).snapshot(T0), T0)
    assert not any(k.name.startswith("stress_") and k.venue == "binance" for k in empty.items)
    t1 = T0 + 2 * S
    arrived = ev.evaluate(book_store(t1).snapshot(t1), t1)
    f1 = _stress_figure(arrived, "degen", "price_+10%")
    assert (f1.value, f1.ts_ns) == (pytest.approx(WALLETS["degen"] + 2.0 * (MARK * 1.1 - ENTRY["degen"])), t1)
    t2 = T0 + 5 * S  # only the price moved: the slow cadence holds
    held = ev.evaluate(book_store(t2, mark=42_000.0).snapshot(t2), t2)
    assert _stress_figure(held, "degen", "price_+10%") == f1


def test_tiers_arriving_late_recompute_the_table() -> None:
    """A table computed without tiers (NaN margin figures) is redone when the tiers turn up."""
    ev = Evaluator(CFG, started_ns=T0)
    key = FigureKey(name="stress_margin_ratio_after", venue="binance", account="degen", scenario="price_-5%")
    first = ev.evaluate(book_store(T0, tiers=False).snapshot(T0), T0)
    assert math.isnan(first.items[key].value)
    t1 = T0 + 3 * S
    second = ev.evaluate(book_store(t1).snapshot(t1), t1)
    m = MARK * 0.95
    equity = WALLETS["degen"] + QTY["degen"] * (m - ENTRY["degen"])
    assert second.items[key].value == pytest.approx(_mm(QTY["degen"], m) / equity)
    assert second.items[key].ts_ns == t1


def test_early_recomputes_are_spaced() -> None:
    """A book whose shape changes on every tick is re-tabled at most once a second."""
    ev = Evaluator(CFG, started_ns=T0)
    ev.evaluate(StateStore(grid_step_s=60).snapshot(T0), T0)
    t1 = T0 + S // 2
    soon = ev.evaluate(book_store(t1).snapshot(t1), t1)
    assert FigureKey(name="stress_equity_after_usd", venue="binance", account="degen",
                     scenario="price_+10%") not in soon.items  # fmt: skip
    t2 = T0 + S
    assert _stress_figure(ev.evaluate(book_store(t2).snapshot(t2), t2), "degen", "price_+10%").ts_ns == t2
