"""The simulated COIN-M engine: the reference's worked examples as venue-reported LPs, and
liquidation on the first mark sample at or past the LP, not before (venues-next §a.3)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.sim.binance_coinm.engine import CoinmAccount, CoinmEngine, CoinmPosition
from monitor.sim.binance_coinm.market import COINM_SPECS, coinm_brackets_for


def _engine(wallet: float, *positions: SimPositionConfig, mark: float) -> CoinmEngine:
    acct = SimAccountConfig(
        name="x", api_key_env="K", api_secret_env="S", wallet_usdt=0.0, other_assets={"BTC": wallet},
        positions=positions, venue="binance_coinm",
    )  # fmt: skip
    spec = COINM_SPECS["BTCUSD_PERP"]
    return CoinmEngine(
        [acct], specs={spec.symbol: spec}, brackets={spec.symbol: coinm_brackets_for(spec)},
        marks={spec.symbol: mark}, first_mark=lambda _s: mark, now_ms=0,
    )  # fmt: skip


def _pos(qty: float, entry: float, **kw: Any) -> SimPositionConfig:
    return SimPositionConfig(symbol="BTCUSD_PERP", qty=qty, entry_price=entry, **kw)


A1 = (0.0, (_pos(500, 80_000, margin_mode="isolated", isolated_wallet=0.07),), 79_000.0, 72_230.2158)
A2 = (3.0, (_pos(-12_000, 94_000),), 95_000.0, 122_324.0657)
A3 = (0.6, (_pos(1_000, 88_000, side="LONG"), _pos(-3_000, 89_000, side="SHORT")), 90_000.0, 121_388.4132)


@pytest.mark.parametrize(("wallet", "positions", "mark", "lp"), [A1, A2, A3], ids=["A1", "A2", "A3"])
def test_the_venue_reports_the_worked_examples_lp(
    wallet: float, positions: tuple[SimPositionConfig, ...], mark: float, lp: float
) -> None:
    eng = _engine(wallet, *positions, mark=mark)
    for v in eng.positions("x"):
        assert v.liquidation_price == pytest.approx(lp, rel=1e-9)


@pytest.mark.parametrize(("wallet", "positions", "mark", "lp"), [A1, A2, A3], ids=["A1", "A2", "A3"])
def test_liquidated_on_the_first_sample_at_or_past_the_lp_not_before(
    wallet: float, positions: tuple[SimPositionConfig, ...], mark: float, lp: float
) -> None:
    eng = _engine(wallet, *positions, mark=mark)
    exact = eng.positions("x")[0].liquidation_price
    assert exact is not None
    closed: list[tuple[str, str, int]] = []

    def sink(acct: CoinmAccount, p: CoinmPosition, now_ms: int) -> None:
        closed.append((acct.name, p.side, now_ms))

    eng.subscribe(sink)
    toward = 1.0 if exact > mark else -1.0  # shorts (and the short-heavy hedge) die on the way up
    for i, x in enumerate((0.5, 0.9, 0.999, 1 - 1e-7)):
        eng.on_marks({"BTCUSD_PERP": mark + x * (exact - mark)}, now_ms=i)
    assert closed == [] and len(eng.accounts["x"].positions) == len(positions)
    eng.on_marks({"BTCUSD_PERP": exact * (1 + toward * 1e-12)}, now_ms=99)
    assert sorted(c[1] for c in closed) == sorted(p.side for p in positions)
    assert {c[2] for c in closed} == {99} and eng.accounts["x"].positions == []
    assert eng.accounts["x"].wallets["BTC"] >= 0.0


def test_a_coin_backed_short_has_no_lp_and_survives_any_rise() -> None:
    """1× short: 2 BTC covers 1,000 contracts × 100 USD at 50,000 → no price liquidates it ("0")."""
    eng = _engine(2.0, _pos(-1_000, 50_000, leverage=1.0), mark=50_000.0)
    assert eng.positions("x")[0].liquidation_price is None
    eng.on_marks({"BTCUSD_PERP": 5_000_000.0}, now_ms=1)
    assert len(eng.accounts["x"].positions) == 1


def test_cross_wallets_are_per_coin() -> None:
    """An ETH-margined loss never touches the BTC wallet's positions (TMM1/UPNL1 are per coin)."""
    acct = SimAccountConfig(
        name="x", api_key_env="K", api_secret_env="S", wallet_usdt=0.0,
        other_assets={"BTC": 1.0, "ETH": 0.01}, venue="binance_coinm",
        positions=(_pos(-100, 50_000), SimPositionConfig(symbol="ETHUSD_PERP", qty=100, entry_price=3_000)),
    )  # fmt: skip
    eng = CoinmEngine(
        [acct], specs=COINM_SPECS, brackets={s: coinm_brackets_for(x) for s, x in COINM_SPECS.items()},
        marks={"BTCUSD_PERP": 50_000.0, "ETHUSD_PERP": 3_000.0}, first_mark=lambda _s: 0.0, now_ms=0,
    )  # fmt: skip
    eng.on_marks({"ETHUSD_PERP": 2_000.0}, now_ms=1)
    assert [p.symbol for p in eng.accounts["x"].positions] == ["BTCUSD_PERP"]
    assert eng.accounts["x"].wallets["BTC"] == 1.0


def test_funding_is_paid_in_coin_from_the_legs_wallet() -> None:
    """A short receives a positive rate: 3,000 contracts × 100 USD / 40,000 × 0.0001 = 0.00075 BTC;
    an isolated long pays it from its own wallet."""
    eng = _engine(
        2.0,
        _pos(-3_000, 40_000),
        SimPositionConfig(
            symbol="BTCUSD_PERP", qty=1_000, entry_price=40_000, side="LONG", margin_mode="isolated",
            isolated_wallet=0.3,
        ),
        mark=40_000.0,
    )  # fmt: skip
    touched = eng.settle_funding("BTCUSD_PERP", 0.0001, 40_000.0, now_ms=5)
    acct = eng.accounts["x"]
    assert [(a.name, coin) for a, coin in touched] == [("x", "BTC")]
    assert acct.wallets["BTC"] == 2.00075
    assert next(p for p in acct.positions if p.side == "LONG").isolated_wallet == 0.29975
