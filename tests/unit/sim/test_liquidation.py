"""The liquidation engine: a position closes on the first tick whose mark crosses its LP."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.clock import ManualClock
from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.sim.binance.accounts import AccountEngine
from monitor.sim.market import Market
from monitor.sim.replay import PricePath


def _account(*positions: SimPositionConfig, wallet: float = 2_000.0) -> SimAccountConfig:
    return SimAccountConfig(
        name="a", api_key_env="K", api_secret_env="S", wallet_usdt=wallet, positions=positions
    )


class Rig:
    """A falling straight line (10 USD per replay second) driving an engine tick by tick."""

    def __init__(
        self,
        cfg: SimAccountConfig,
        prices: tuple[float, ...] = (40_000.0, 20_000.0),
        gap_at: float | None = None,
    ) -> None:
        self.clock = ManualClock()
        times = [2_000.0 * i / (len(prices) - 1) for i in range(len(prices))]
        if gap_at is not None:  # the last leg in one grid step (5 s): a gap, spot and index with it
            times[-2] = gap_at
        self.market = Market(
            replay="crash-2021-05-19",
            speed=1.0,
            loop=False,
            seed=1,
            clock=self.clock,
            path=PricePath(times, prices),
        )
        self.engine = AccountEngine(
            [cfg],
            first_mark=self.market.first_mark,
            marks=self.market.marks(),
            now_ms=self.clock.now_ns() // 1_000_000,
        )
        self.events: list[dict[str, Any]] = []
        self.engine.subscribe(lambda _n, ev: self.events.append(ev))

    def tick(self, seconds: float = 1.0) -> float:
        self.clock.advance(seconds)
        for marks in self.market.advance():
            self.engine.on_marks(marks, self.clock.now_ns() // 1_000_000)
        return self.market.quotes["BTCUSDT"].mark

    def run_until_liquidated(self, side: str = "BOTH") -> tuple[float, float, float]:
        """(LP seen before the liquidating tick, mark of the previous tick, mark of that tick)."""
        prev_mark = self.market.quotes["BTCUSDT"].mark
        for _ in range(3_000):
            lp = self.engine.liquidation_price("a", "BTCUSDT", side)
            mark = self.tick()
            if self.engine.liquidations:
                return lp, prev_mark, mark
            # the LP moves with the other symbols' marks (each has its own premium): judge by the one
            # the engine held when it looked at this mark
            assert mark > self.engine.liquidation_price("a", "BTCUSDT", side), "survived beyond its LP"
            prev_mark = mark
        raise AssertionError("never liquidated")


@pytest.mark.parametrize("mode", ["cross", "isolated"])
def test_closes_on_the_first_tick_through_the_lp(mode: str) -> None:
    """Mark above LP: open. First mark at/below LP: closed at that mark, recorded, wallet floored at 0."""
    pos = SimPositionConfig(
        symbol="BTCUSDT",
        qty=1.0,
        entry_price=40_000.0,
        margin_mode=mode,  # type: ignore[arg-type]
        isolated_wallet=2_000.0 if mode == "isolated" else 0.0,
    )
    rig = Rig(_account(pos, wallet=2_000.0 if mode == "cross" else 500.0))
    lp, prev_mark, mark = rig.run_until_liquidated()
    assert lp == pytest.approx((40_000 - 2_000) / 0.996, rel=1e-12)
    assert prev_mark > lp >= mark > lp - 10.0  # the tick that crossed it, not a later one
    liq = rig.engine.liquidations[0]
    assert (liq.account, liq.symbol, liq.qty, liq.price, liq.margin_mode) == ("a", "BTCUSDT", 1.0, mark, mode)
    assert liq.realized_pnl == pytest.approx(mark - 40_000.0)
    left = 2_000.0 + liq.realized_pnl
    assert liq.fee == pytest.approx(min(0.0125 * mark, left))  # the clearance fee never exceeds what is left
    assert rig.engine.positions("a") == []
    assert rig.engine.wallet_balance("a") == (0.0 if mode == "cross" else 500.0)


def test_liquidation_tells_the_user_stream() -> None:
    """MARGIN_CALL once past 80 %, then ORDER_TRADE_UPDATE (autoclose-, FILLED) and ACCOUNT_UPDATE."""
    rig = Rig(_account(SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=40_000.0)))
    _, _, mark = rig.run_until_liquidated()
    kinds = [e["e"] for e in rig.events]
    assert kinds == ["MARGIN_CALL", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    call, order, update = rig.events
    assert call["p"][0]["mt"] == "CROSSED" and "cw" in call
    o = order["o"]
    assert o["c"].startswith("autoclose-") and o["X"] == "FILLED" and o["o"] == "LIQUIDATION"
    assert (o["S"], o["q"], float(o["ap"])) == ("SELL", "1", mark)
    assert update["a"]["m"] == "ORDER"
    assert update["a"]["P"][0]["pa"] == "0" and update["a"]["B"][0]["wb"] == "0.00000000"


def test_a_gap_past_the_lp_leaves_a_zero_wallet_and_no_fee() -> None:
    """Jumping far past the LP: losses exceed margin, the wallet stops at 0, nothing left for a fee."""
    rig = Rig(
        _account(SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=40_000.0)),
        prices=(40_000.0, 39_999.0, 30_000.0),
        gap_at=1_995.0,
    )
    rig.tick(2_000.0)
    liq = rig.engine.liquidations[0]
    assert liq.fee == 0.0 and rig.engine.wallet_balance("a") == 0.0


def test_cross_liquidation_closes_every_cross_position_isolated_ones_stay() -> None:
    rig = Rig(
        _account(
            SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=40_000.0),
            SimPositionConfig(symbol="ETHUSDT", qty=-1.0, entry_price=3_452.0),
            SimPositionConfig(
                symbol="SOLUSDT", qty=5.0, entry_price=40.0, margin_mode="isolated", isolated_wallet=150.0
            ),
        )
    )
    rig.run_until_liquidated()
    assert sorted(liq.symbol for liq in rig.engine.liquidations) == ["BTCUSDT", "ETHUSDT"]
    assert [p.symbol for p in rig.engine.positions("a")] == ["SOLUSDT"]


def test_short_is_liquidated_on_the_way_up() -> None:
    rig = Rig(
        _account(SimPositionConfig(symbol="BTCUSDT", qty=-1.0, entry_price=20_000.0)),
        prices=(20_000.0, 40_000.0),
    )
    lp, prev_mark, mark = 0.0, 0.0, 0.0
    for _ in range(3_000):
        lp, prev_mark = rig.engine.liquidation_price("a", "BTCUSDT"), rig.market.quotes["BTCUSDT"].mark
        mark = rig.tick()
        if rig.engine.liquidations:
            break
    assert prev_mark < lp <= mark
    assert lp == pytest.approx((2_000 + 20_000) / 1.004, rel=1e-12)


def test_margin_call_rearms_after_the_ratio_falls_back() -> None:
    rig = Rig(
        _account(SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=40_000.0)),
        prices=(40_000.0, 38_170.0, 39_500.0, 38_170.0),
    )
    for _ in range(2_000):
        rig.tick()
    assert [e["e"] for e in rig.events] == ["MARGIN_CALL", "MARGIN_CALL"]
    assert rig.engine.liquidations == []


@pytest.mark.parametrize(
    ("positions", "path"),
    [
        ((SimPositionConfig(symbol="DOGEUSDT", qty=1.0),), "positions[0].symbol"),
        ((SimPositionConfig(symbol="BTCUSDT", qty=1.0, leverage=126.0),), "positions[0].leverage"),
        (
            (SimPositionConfig(symbol="BTCUSDT", qty=30.0, entry_price=40_000.0, leverage=25.0),),
            "positions[0].leverage",
        ),
        ((SimPositionConfig(symbol="BTCUSDT", qty=-1.0, side="LONG"),), "positions[0].qty"),
        (
            (SimPositionConfig(symbol="BTCUSDT", qty=1.0), SimPositionConfig(symbol="BTCUSDT", qty=2.0)),
            "positions[1]",
        ),
        (
            (
                SimPositionConfig(symbol="BTCUSDT", qty=1.0),
                SimPositionConfig(symbol="ETHUSDT", qty=1.0, side="LONG"),
            ),
            "positions",
        ),
    ],
)
def test_accounts_the_venue_would_not_allow_fail_at_start(
    positions: tuple[SimPositionConfig, ...], path: str
) -> None:
    """Unknown symbol, leverage above the bracket's, wrong-signed hedge leg, duplicates, mixed modes."""
    with pytest.raises(ConfigError) as err:
        AccountEngine([_account(*positions)], first_mark=lambda s: 40_000.0, marks={}, now_ms=0)
    assert err.value.path == f"simulator.accounts[0].{path}"
