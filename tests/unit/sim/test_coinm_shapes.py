"""The simulated COIN-M replies have the real replies' shapes (tests/testdata/frames/binancecoinm:
ccxt's real positionRisk row, the docs' account and v2 leverageBracket examples), and perpmon's
own parsers (`collectors/binance/coinm_wire.py`) read them back to the engine's figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from monitor.collectors.binance.coinm_wire import (
    coinm_brackets,
    parse_coinm_account,
    parse_coinm_leverage_brackets,
    parse_coinm_position_risk,
)
from monitor.config import SimulatorConfig
from monitor.sim.binance_coinm import payloads as pay
from monitor.sim.binance_coinm.engine import CoinmEngine
from monitor.sim.binance_coinm.market import COINM_SPECS, coinm_brackets_for
from monitor.sim.binance_coinm.testing import COINM_ACCOUNTS

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binancecoinm"


def _real(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


@pytest.fixture
def engine() -> CoinmEngine:
    marks = {"BTCUSD_PERP": 40_000.0, "ETHUSD_PERP": 3_000.0}
    return CoinmEngine(
        SimulatorConfig(accounts=COINM_ACCOUNTS).accounts,
        specs=COINM_SPECS,
        brackets={s: coinm_brackets_for(x) for s, x in COINM_SPECS.items()},
        marks=marks,
        first_mark=marks.__getitem__,
        now_ms=1_700_000_000_000,
    )


def _wire(obj: Any) -> Any:
    return json.loads(msgspec.json.encode(obj))


def test_position_risk_rows_have_the_real_rows_fields_in_order(engine: CoinmEngine) -> None:
    real = _real("position_risk_ccxt.json")[0]
    for name in ("erin", "frank", "gina"):
        rows = _wire([pay.position_risk(v, 1) for v in engine.positions(name)])
        for row in rows:
            assert list(row) == list(real)
            assert {k: type(x) for k, x in row.items()} == {k: type(x) for k, x in real.items()}
        parsed = parse_coinm_position_risk(msgspec.json.encode(rows))
        for p, v in zip(parsed, engine.positions(name), strict=True):
            assert (p.contracts, p.upnl_coin, p.notional_value_coin) == (v.contracts, v.upnl, v.notional)
            assert p.liquidation_price == pytest.approx(v.liquidation_price, abs=5e-9)


def test_account_has_the_docs_fields_and_parses_per_coin(engine: CoinmEngine) -> None:
    real = _real("account_docs.json")
    got = _wire(pay.account(engine, "erin"))
    assert set(got) == set(real)
    assert set(got["assets"][0]) == set(real["assets"][0])
    assert set(real["positions"][2]) <= set(got["positions"][0])
    acct = parse_coinm_account(msgspec.json.encode(got))
    assert {a.asset: a.wallet_balance for a in acct.assets} == {"BTC": 2.0, "ETH": 5.0}


def test_v2_leverage_brackets_have_the_docs_shape_and_the_reference_ladder(engine: CoinmEngine) -> None:
    """qtylFloor (Binance's spelling) and cum in coin: the FAQ's 300 BTC → mmr 12.5 %, cum 11.605 BTC."""
    real = _real("leverage_bracket_docs.json")[0]
    got = _wire([pay.leverage_brackets(s, engine.brackets[s]) for s in COINM_SPECS])
    assert set(got[0]) == set(real) and set(got[0]["brackets"][0]) == set(real["brackets"][0])
    btc = coinm_brackets(parse_coinm_leverage_brackets(msgspec.json.encode(got))[0])
    i = int((btc.floors <= 300.0).sum()) - 1
    assert (btc.mmrs[i], btc.cums[i]) == (0.125, pytest.approx(11.605, abs=1e-12))


def test_mark_price_frame_fields() -> None:
    """dstream `@markPrice@1s`: e, E, s, p, P, i, r, T and st (2 = CM), venues-next §e."""
    from monitor.sim.binance_coinm.market import CoinmQuote

    q = CoinmQuote("BTCUSD_PERP", 1, 40_000.5, 40_001.0, 0.0001, 0.0001, 2)
    assert list(pay.mark_price_frame(q, 5)) == ["e", "E", "s", "p", "P", "i", "r", "T", "st"]
