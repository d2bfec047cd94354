"""The simulated Hyperliquid account engine: the docs' example, funding on the oracle, liquidation rules."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.risk.hyperliquid_margin import hl_single_tier
from monitor.risk.margin import Brackets
from monitor.sim.hyperliquid.accounts import HlAccountEngine, hl_address
from monitor.sim.hyperliquid.market import HlFunding
from monitor.sim.hyperliquid.payloads import clearinghouse_state


@dataclass(frozen=True)
class _Asset:
    coin: str
    max_leverage: int

    def brackets(self) -> Brackets:
        return hl_single_tier(float(self.max_leverage))


class _Market:
    """Just what the engine reads: assets, their index, marks per coin."""

    def __init__(self, marks: dict[str, float], lev: dict[str, int]) -> None:
        self.assets = [_Asset(c, lev[c]) for c in marks]
        self.index = {c: i for i, c in enumerate(marks)}
        self.now = dict(marks)

    def marks(self) -> dict[str, float]:
        return dict(self.now)


def _account(name: str, wallet: float, *positions: SimPositionConfig) -> SimAccountConfig:
    return SimAccountConfig(
        name=name, api_key_env="UNUSED", api_secret_env="UNUSED", wallet_usdt=wallet,
        venue="hyperliquid", positions=positions,
    )  # fmt: skip


def test_the_docs_clearinghouse_example_gives_its_liquidation_px() -> None:
    """Isolated ETH long 0.0335 at 50×, rawUsd −95.059824, mark 2,985.9 → liquidationPx 2866.26936529
    (venues-next §d; 5e-9 relative: the docs' inputs are rounded to 6 dp)."""
    m = _Market({"ETH": 2985.9}, {"ETH": 50})
    margin = -95.059824 + 0.0335 * 2986.3  # rawUsd + szi·entry: the isolated margin at entry
    cfg = _account(
        "docs", 0.0,
        SimPositionConfig(symbol="ETHUSDT", qty=0.0335, entry_price=2986.3, leverage=20.0,
                          margin_mode="isolated", isolated_wallet=margin),
    )  # fmt: skip
    engine = HlAccountEngine([cfg], m)  # type: ignore[arg-type]
    st = engine.state(hl_address("docs"))
    (row,) = st.rows
    assert row.value == pytest.approx(100.02765, abs=1e-9)
    assert row.margin_used == pytest.approx(4.967826, abs=1e-9)
    assert row.liquidation_px == pytest.approx(2866.26936529, rel=1e-8)
    wire = clearinghouse_state(st, 0)["assetPositions"][0]["position"]
    assert (wire["leverage"], wire["maxLeverage"]) == (
        {"type": "isolated", "value": 20, "rawUsd": "-95.059824"},
        50,
    )


def test_cross_d1_and_a_one_times_long_has_no_liquidation_px() -> None:
    """Example D1 (account 20,000, ETH −50 @ 3,550 at 25×, BTC 0.5 @ 100,000 at 40×) → LP(ETH) 3,860.2941;
    a 1× long with no other position has no positive LP: the venue's null."""
    m = _Market({"ETH": 3550.0, "BTC": 100_000.0}, {"ETH": 25, "BTC": 40})
    d1 = _account(
        "d1", 20_000.0,
        SimPositionConfig(symbol="ETHUSDT", qty=-50.0, entry_price=3550.0, leverage=10.0),
        SimPositionConfig(symbol="BTCUSDT", qty=0.5, entry_price=100_000.0, leverage=10.0),
    )  # fmt: skip
    one = _account(
        "one", 3550.0, SimPositionConfig(symbol="ETHUSDT", qty=1.0, entry_price=3550.0, leverage=1.0)
    )
    engine = HlAccountEngine([d1, one], m)  # type: ignore[arg-type]
    st = engine.state(hl_address("d1"))
    assert st.cross_mm == pytest.approx(4175.0)
    assert st.rows[0].liquidation_px == pytest.approx(3860.2941, abs=1e-4)
    assert engine.state(hl_address("one")).rows[0].liquidation_px is None
    assert (
        clearinghouse_state(engine.state(hl_address("one")), 0)["assetPositions"][0]["position"][
            "liquidationPx"
        ]
        is None
    )


def test_funding_is_paid_on_the_oracle_and_liquidation_follows_the_venue() -> None:
    m = _Market({"ETH": 3550.0, "BTC": 100_000.0}, {"ETH": 25, "BTC": 40})
    d1 = _account(
        "d1", 20_000.0,
        SimPositionConfig(symbol="ETHUSDT", qty=-50.0, entry_price=3550.0, leverage=10.0),
        SimPositionConfig(symbol="BTCUSDT", qty=0.5, entry_price=100_000.0, leverage=10.0),
    )  # fmt: skip
    iso = _account(
        "iso", 1_000.0,
        SimPositionConfig(
            symbol="BTCUSDT", qty=1.0, entry_price=100_000.0, leverage=20.0, margin_mode="isolated"
        ),
    )  # fmt: skip
    engine = HlAccountEngine([d1, iso], m)  # type: ignore[arg-type]
    # one hour at +0.01 %/h on an oracle of 3,500 (mark 3,550): the short receives 50 × 3,500 × 0.0001
    engine.settle_funding([HlFunding("ETH", 0, 0.0001, 0.0, 3500.0)])
    acc = engine.by_name["d1"]
    assert acc.usd == pytest.approx(20_000.0 + 17.5)
    assert acc.positions["ETH"].funding_all == pytest.approx(-17.5)
    # the isolated BTC long: margin 5,000, MM 1.25 % → liquidated below LP; the cross account survives
    lp = engine.state(hl_address("iso")).rows[0].liquidation_px
    assert lp is not None
    assert engine.on_marks({"ETH": 3550.0, "BTC": lp * 1.0001}) == []
    assert engine.on_marks({"ETH": 3550.0, "BTC": lp * 0.9999}) == ["iso"]
    assert engine.by_name["iso"].positions == {}
    assert engine.by_name["iso"].usd == 1_000.0  # the isolated margin is gone, the cross wallet stays
    # cross: past ETH's LP the whole cross book closes at the mark, the account keeps what is left
    eth_lp = engine.state(hl_address("d1"), {"ETH": 3550.0, "BTC": 100_000.0}).rows[0].liquidation_px
    assert eth_lp is not None
    marks = {"ETH": eth_lp * 1.0001, "BTC": 100_000.0}
    left = engine.state(hl_address("d1"), marks).cross_value
    assert engine.on_marks(marks) == ["d1"]
    assert (engine.by_name["d1"].positions, engine.by_name["d1"].usd) == ({}, pytest.approx(left))
