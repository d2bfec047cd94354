"""The simulated OKX account engine publishes perpmon's OKX model figures: venues-next §c example C1
through the engine, the funding formula's clamps, and OKX's own liquidation of an isolated position."""

from __future__ import annotations

import pytest

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.sim.okx.accounts import OkxAccountEngine
from monitor.sim.okx.market import okx_funding_rate
from monitor.sim.okx.symbols import OKX_SYMBOLS

SPECS = {s.symbol: s for s in OKX_SYMBOLS}


def _engine(*positions: SimPositionConfig, wallet: float = 0.0) -> OkxAccountEngine:
    acct = SimAccountConfig(
        name="erin", api_key_env="K", api_secret_env="S", api_password_env="P", wallet_usdt=wallet,
        venue="okx", positions=positions,
    )  # fmt: skip
    return OkxAccountEngine([acct], SPECS, lambda s: 3500.0, {"ETHUSDT": 3480.0, "BTCUSDT": 40_000.0}, 0)


def test_example_c1_isolated_long_through_the_engine() -> None:
    """80 ETH (800 contracts of 0.1) @ 3,500 at 10x: margin 28,000, tier 0.5 %, fee 0.05 %, mark 3,480
    → mgnRatio 17.24 and liqPx 3,167.4208 (venues-next §c, example C1)."""
    eng = _engine(SimPositionConfig(symbol="ETHUSDT", qty=80.0, leverage=10.0, margin_mode="isolated"))
    (v,) = eng.views("erin")
    assert (v.p.contracts, v.p.margin, v.tier_rate) == (800.0, 28_000.0, 0.005)
    assert v.mgn_ratio == pytest.approx(26_400 / 1_531.20, rel=1e-12)  # 17.24
    assert v.liq_px == pytest.approx(3167.4208144796, rel=1e-12)
    assert v.mm_amount == pytest.approx(278_400 * 0.005)


def test_an_isolated_position_is_liquidated_where_its_margin_test_ties() -> None:
    eng = _engine(SimPositionConfig(symbol="ETHUSDT", qty=80.0, leverage=10.0, margin_mode="isolated"))
    events: list[tuple[str, str]] = []
    eng.subscribe(lambda a, e: events.append((a, e)))
    (v,) = eng.views("erin")
    assert v.liq_px is not None
    eng.on_marks({"ETHUSDT": v.liq_px + 0.01}, 1)
    assert eng.accounts["erin"].positions and not events
    eng.on_marks({"ETHUSDT": v.liq_px - 0.01}, 2)
    assert not eng.accounts["erin"].positions and events == [("erin", "liquidation")]


def test_cross_positions_share_the_currencys_equity_and_ratio() -> None:
    eng = _engine(
        SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=40_000.0, leverage=20.0),
        SimPositionConfig(symbol="ETHUSDT", qty=-10.0, entry_price=3500.0, leverage=10.0),
        wallet=10_000.0,
    )
    btc, eth = eng.views("erin")
    assert btc.mgn_ratio == eth.mgn_ratio
    equity = 10_000.0 + (3500.0 - 3480.0) * 10
    requirement = 40_000 * (0.004 + 0.0005) + 34_800 * (0.005 + 0.0005)
    assert btc.mgn_ratio == pytest.approx(equity / requirement, rel=1e-12)


@pytest.mark.parametrize(
    ("premium", "interest", "cap", "rate"),
    [(0.0, 0.0001, 0.0075, 0.0001), (0.002, 0.0001, 0.0075, 0.0015), (0.02, 0.0001, 0.0075, 0.0075),
     (-0.0003, 0.0001, 0.0075, 0.0001), (-0.0008, 0.0001, 0.0075, -0.0003)],
)  # fmt: skip
def test_okx_funding_formula(premium: float, interest: float, cap: float, rate: float) -> None:
    """F = clamp(P + clamp(I − P, ±0.05 %), ±cap): the interest rate while the premium is within
    0.05 % of it, else the premium less the band."""
    assert okx_funding_rate(premium, interest, cap) == pytest.approx(rate, abs=1e-12)
