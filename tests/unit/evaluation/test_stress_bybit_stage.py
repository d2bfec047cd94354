"""The stress stage on a two-venue Snapshot: Bybit accounts on Bybit's model, Binance's unchanged."""

from __future__ import annotations

import math

import pytest

from monitor.evaluation.stress import StressRow, StressTable, stress_table
from monitor.evaluation.stress_book import stress_book
from monitor.records import AccountSnapshot, Balance, Bracket, FundingInfo, LeverageTiers, MarkPrice, Position
from monitor.store.state import StateStore
from tests.unit.evaluation.test_stress_stage import T0, book_store

BYBIT_TIERS = (  # Bybit-like: riskLimitValue as cap, mmDeduction as cum
    Bracket(floor=0, cap=2_000_000, mmr=0.005, cum=0, max_leverage=100),
    Bracket(floor=2_000_000, cap=10_000_000, mmr=0.01, cum=10_000, max_leverage=50),
)


def two_venue_store(*, isolated: bool) -> StateStore:
    """The Binance book of test_stress_stage, plus a Bybit account long 1 BTC @ 10,000 at 50×.

    Isolated: position balance 200 (the initial margin), 1,000 free; the unified wallet the
    venue reports (walletBalance) is 1,200, the balance included. Cross: wallet 200.
    """
    st = book_store()
    k = {"venue": "bybit", "ts_event_ns": T0, "ts_recv_ns": T0}
    st.put(MarkPrice(symbol="BTCUSDT", mark=10_000.0, index=10_000.0, funding_rate=0.0001, **k))
    st.put(FundingInfo(symbol="BTCUSDT", interval_s=8 * 3600.0, cap=0.005, **k))
    st.put(LeverageTiers(account="b", symbol="BTCUSDT", brackets=BYBIT_TIERS, **k))
    pos = Position(
        symbol="BTCUSDT",
        side="BOTH",
        qty=1.0,
        entry_price=10_000.0,
        margin_mode="isolated" if isolated else "cross",
        isolated_wallet=200.0 if isolated else 0.0,
    )
    wallet = 1_200.0 if isolated else 200.0
    bal = Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet)
    st.put(AccountSnapshot(account="b", positions=(pos,), balances=(bal,), **k))
    return st


def _row(table: StressTable, scenario: str, venue: str, account: str) -> StressRow:
    (row,) = [r for r in table.rows if (r.scenario, r.venue, r.account) == (scenario, venue, account)]
    return row


def test_isolated_bybit_worked_example_through_the_stage() -> None:
    """MM on the shocked mark (Bybit since 2025-09-02), 0.5 % of it; LP 9,849.25: −5 %/−10 % liquidate,
    needing MM at the shocked price + the loss beyond 200 (2024's entry-valued model said 50 + loss).

    The 200 position balance counts once: account equity is 1,000 free + balance + UPnL.
    """
    snap = two_venue_store(isolated=True).snapshot(T0)
    book, idx = stress_book(snap, frozenset({"bybit"}))
    i = idx.accounts.index(("bybit", "b"))
    assert book.venue_wallet[i] == 1_000.0  # the unified wallet less the isolated balance
    table = stress_table(snap, frozenset({"bybit"}))
    ten = _row(table, "price_-10%", "bybit", "b")  # −10 %: −1,000 on a 200 balance
    assert (ten.liquidated, ten.topup) == (1.0, pytest.approx(0.005 * 9_000.0 + 800.0))
    assert ten.equity_after == pytest.approx(1_000.0 + 200.0 - 1_000.0)
    five = _row(table, "price_-5%", "bybit", "b")
    assert (five.liquidated, five.topup) == (1.0, pytest.approx(0.005 * 9_500.0 + 300.0))
    up = _row(table, "price_+5%", "bybit", "b")
    assert (up.liquidated, up.topup, up.equity_after) == (0.0, 0.0, pytest.approx(1_000.0 + 200.0 + 500.0))


def test_cross_bybit_and_binance_rows_unchanged() -> None:
    """Cross 200 USDT, MM 0.5 % of the shocked mark; Binance's accounts read as without Bybit there."""
    snap = two_venue_store(isolated=False).snapshot(T0)
    table = stress_table(snap, frozenset({"bybit"}))
    alone = stress_table(book_store().snapshot(T0))
    for scenario in ("price_-10%", "price_+20%", "funding_cap_7d", "usdt_depeg_-5%"):
        for account in ("degen", "hedge"):
            assert _row(table, scenario, "binance", account) == _row(alone, scenario, "binance", account)
    r = _row(table, "price_+5%", "bybit", "b")
    assert r.margin_ratio_after == pytest.approx(0.005 * 10_500.0 / 700.0)
    down = _row(table, "price_-20%", "bybit", "b")  # 200 − 2,000 < 0
    assert math.isinf(down.margin_ratio_after) and down.liquidated == 1.0
    assert down.topup == pytest.approx(0.005 * 8_000.0 + 1_800.0)
    fund = _row(table, "funding_cap_7d", "bybit", "b")  # the venue's cap: 21 × 0.5 % of 10,000
    assert fund.funding_pnl == pytest.approx(-21 * 0.005 * 10_000.0)
    # outage of Binance: Bybit is not frozen and its figures are those of the unfrozen run
    out = _row(table, "outage_binance_price_+20%", "bybit", "b")
    assert not out.frozen and out.margin_ratio_after == pytest.approx(0.005 * 12_000.0 / 2_200.0)
    assert _row(table, "outage_binance_price_+20%", "binance", "hedge").frozen
