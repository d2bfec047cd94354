"""COIN-M replies → records (`collectors/binance_coinm/wire.py`) on the real excerpts: a leg in
contracts with its contract size and coin, the flat row dropped, "0" as no LP, brackets in coin."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from monitor.collectors.binance_coinm.wire import (
    coinm_balances,
    coinm_contract_specs,
    coinm_positions,
    coinm_tiers,
)
from monitor.errors import ParseError

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binancecoinm"
SPECS = {"BTCUSD_PERP": (100.0, "BTC"), "BCHUSD_241227": (10.0, "BCH")}


def _real(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


def test_the_real_position_row_is_an_inverse_leg_in_contracts() -> None:
    (p,) = coinm_positions(_real("position_risk_ccxt.json"), SPECS)  # the flat BCHUSD row is dropped
    assert (p.symbol, p.side, p.qty, p.contract_size, p.inverse, p.margin_asset) == (
        "BTCUSD_PERP", "BOTH", -3.0, 100.0, True, "BTC",
    )  # fmt: skip
    assert (p.entry_price, p.venue_unrealized_pnl, p.venue_liquidation_price) == (
        68911.00000037, 0.00004318, 72491.16879818,
    )  # fmt: skip
    assert p.margin_mode == "cross" and p.isolated_wallet == 0.0


def test_no_lp_is_nan_and_an_unknown_contract_is_refused() -> None:
    row = dict(_real("position_risk_ccxt.json")[0], liquidationPrice="0")
    (p,) = coinm_positions([row], SPECS)
    assert math.isnan(p.venue_liquidation_price)
    with pytest.raises(ParseError, match="contractSize"):
        coinm_positions([row], {})
    with pytest.raises(ParseError):
        coinm_positions([dict(row, positionAmt="nan")], SPECS)


def test_balances_per_coin_and_contract_specs() -> None:
    (b,) = coinm_balances(_real("account_docs.json"))
    assert (b.asset, b.wallet_balance, b.cross_wallet_balance) == ("BTC", 0.00241969, 0.00241969)
    info = {
        "symbols": [{"symbol": "BTCUSD_PERP", "contractSize": 100, "marginAsset": "BTC"}, {"symbol": "X"}]
    }
    assert coinm_contract_specs(info) == {"BTCUSD_PERP": (100.0, "BTC")}
    with pytest.raises(ParseError):
        coinm_contract_specs([])


def test_brackets_in_coin_and_the_v1_reply_without_cum_rejected() -> None:
    reply = coinm_tiers(_real("leverage_bracket_illustrative.json"), "a", "coinm", 0)
    (t,) = reply.tiers
    assert t.symbol == "BTCUSD_PERP" and [b.floor for b in t.brackets][:3] == [0.0, 5.0, 10.0]
    assert t.brackets[6].cum == pytest.approx(11.605)
    brackets = [
        {k: v for k, v in b.items() if k != "cum"} for b in _real("leverage_bracket_docs.json")[0]["brackets"]
    ]
    rejected = coinm_tiers([{"symbol": "BTCUSD_PERP", "brackets": brackets}], "a", "coinm", 0)
    assert rejected.tiers == [] and rejected.rejected[0][0] == "BTCUSD_PERP"
    assert "no cum" in str(rejected.rejected[0][1])
