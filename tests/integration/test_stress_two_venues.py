"""The stress table on real two-venue state: Bybit accounts revalued on Bybit's model, checked by the venue.

Collected from the simulated Binance and Bybit by the daemon's collectors, with the market paused:
in a scenario that moves nothing (Binance's outage), each Bybit account's equity and margin ratio
after must be the venue's own (`totalEquity`, `accountMMRate`), isolated balances counted once; and
under a price shock the isolated 50× long liquidates with the top-up the venue's own MM implies.
"""

from __future__ import annotations

import math

import pytest

from monitor.collectors.testing import wait_until
from monitor.evaluation.stress import StressRow, StressTable, stress_table
from tests.integration.test_collector_bybit import BINANCE, BYBIT, running_book

pytestmark = pytest.mark.integration


def _row(table: StressTable, scenario: str, venue: str, account: str) -> StressRow:
    (row,) = [r for r in table.rows if (r.scenario, r.venue, r.account) == (scenario, venue, account)]
    return row


async def test_bybit_rows_are_the_venues_own_figures() -> None:
    venues = [{**BINANCE, "perp_books": False}, {**BYBIT, "symbols": ["BTCUSDT"]}]
    async with running_book(venues, {"alice": "binance", "carol": "bybit", "dave": "bybit"}) as b:
        snap = lambda: b.store.snapshot(b.clock.now_ns())  # noqa: E731
        await wait_until(
            lambda: (
                {("binance", "alice"), ("bybit", "carol"), ("bybit", "dave")} <= set(snap().accounts)
                and ("bybit", "BTCUSDT") in snap().marks
                and all(("bybit", n, "BTCUSDT") in snap().tiers for n in ("carol", "dave"))
            ),
            15,
            "both venues' accounts, marks and tiers",
        )
        b.sim.pause()
        engine = b.sim.bybit.engine
        venue_mark = b.sim.bybit.market.quotes["BTCUSDT"].mark

        def settled() -> bool:  # our picture of the paused venue: its mark and its wallets
            s = snap()
            wallets = {
                n: [x.wallet_balance for x in s.accounts[("bybit", n)].balances if x.asset == "USDT"]
                for n in ("carol", "dave")
            }
            return abs(s.marks[("bybit", "BTCUSDT")].mark - venue_mark) < 0.05 and all(
                w == [engine.wallet(n).wallet] for n, w in wallets.items()
            )

        await wait_until(settled, 10, "the paused venue's mark and wallets")
        table = stress_table(snap(), frozenset({"bybit"}))
        for name in ("carol", "dave"):
            w = engine.wallet(name)
            still = _row(table, "outage_binance", "bybit", name)
            assert not still.frozen and _row(table, "outage_binance", "binance", "alice").frozen
            assert math.isclose(still.equity_after, w.equity, rel_tol=1e-6), name  # balance counted once
            assert still.liquidated == 0.0 and still.topup == 0.0
        carol = engine.wallet("carol")
        assert math.isclose(
            _row(table, "outage_binance", "bybit", "carol").margin_ratio_after, carol.mm_rate, rel_tol=1e-3
        )
        # dave: isolated 0.5 BTC at 50x, LP ≈ 1.5 % under entry; −5 % takes him, the top-up is the
        # venue's MM at the shocked mark (Bybit since 2025-09-02) less what is left of his balance
        pos = engine.position("dave", "BTCUSDT")
        assert pos is not None
        shocked = _row(table, "price_-5%", "bybit", "dave")
        left = pos.balance + pos.qty * (venue_mark * 0.95 - pos.avg_price)
        assert shocked.liquidated == 1.0
        mm_shocked = pos.mmr * pos.size * venue_mark * 0.95  # tier 1: no deduction
        assert shocked.topup == pytest.approx(mm_shocked - left, rel=1e-6, abs=0.01)
        up = _row(table, "price_+5%", "bybit", "dave")
        assert up.liquidated == 0.0 and up.topup == 0.0
