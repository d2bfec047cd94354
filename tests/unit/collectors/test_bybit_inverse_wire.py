"""Bybit inverse positions and risk limits, UTA coin switches and tiered CVR, from the docs' replies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.collectors.bybit.inverse_wire import (
    inverse_risk_brackets,
    parse_inverse_positions,
    parse_inverse_risk_limits,
    parse_tiered_collateral,
    parse_wallet_collateral,
)
from monitor.errors import ParseError
from monitor.risk.collateral import cvr_table, tiered_collateral_qty
from monitor.risk.inverse_margin import coin_value, inverse_upnl

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "bybit_inverse"


def _load(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


def test_docs_inverse_position_units() -> None:
    """Short 300 USD: coin positionValue and unrealisedPnl are the model's (8 dp); liqPrice "" is None."""
    (p,) = parse_inverse_positions((FRAMES / "position_list_inverse_docs.json").read_bytes())
    assert (p.symbol, p.side, p.signed_usd, p.position_idx) == ("BTCUSD", "Sell", -300.0, 0)
    assert round(coin_value(p.signed_usd, 1.0, p.avg_price), 8) == p.position_value_coin
    assert round(inverse_upnl(p.signed_usd, 1.0, p.avg_price, p.mark_price), 8) == p.unrealised_pnl
    assert p.liq_price is None
    assert p.bust_price == 999_999.0


def test_position_reply_of_another_category_is_refused() -> None:
    """A linear reply read as inverse would take base units for USD: refused with the category named."""
    body = copy.deepcopy(_load("position_list_inverse_docs.json"))
    body["result"]["category"] = "linear"
    with pytest.raises(ParseError, match="category 'linear'"):
        parse_inverse_positions(body)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("avgPrice", "", 'venue sent ""'), ("size", "-1", "negative"), ("markPrice", "nan", "not finite")],
)
def test_bad_position_fields_name_the_field(field: str, value: str, message: str) -> None:
    """A blank price, a negative size or a NaN: ParseError, never a silent 0."""
    body = copy.deepcopy(_load("position_list_inverse_docs.json"))
    body["result"]["list"][0][field] = value
    with pytest.raises(ParseError, match=message) as exc:
        parse_inverse_positions(body)
    assert field in str(exc.value)


def test_docs_inverse_risk_limit_is_read_as_percent() -> None:
    """ "maintenanceMargin": "0.5" beside initialMargin 1 and 100×: a percent → 0.005; cap 150 BTC; cum 0."""
    (tier,) = parse_inverse_risk_limits(_load("risk_limit_inverse_docs.json"))
    b = inverse_risk_brackets([tier])["BTCUSD"]
    assert (b.floors.tolist(), b.caps.tolist(), b.mmrs.tolist(), b.cums.tolist()) == (
        [0.0],
        [150.0],
        [0.005],
        [0.0],
    )


def test_risk_limit_ladder_checks() -> None:
    """Two tiers as fractions with deductions keep them; a deduction off the recursion is refused."""
    body = copy.deepcopy(_load("risk_limit_inverse_docs.json"))
    row = body["result"]["list"][0]
    body["result"]["list"] = [
        {**row, "maintenanceMargin": "0.005", "initialMargin": "0.01", "mmDeduction": "0"},
        {**row, "id": 2, "riskLimitValue": "300", "maintenanceMargin": "0.01", "initialMargin": "0.02",
         "maxLeverage": "50.00", "mmDeduction": "0.75"},
    ]  # fmt: skip
    b = inverse_risk_brackets(parse_inverse_risk_limits(body))["BTCUSD"]
    assert b.floors.tolist() == [0.0, 150.0] and b.cums.tolist() == [0.0, 0.75]
    body["result"]["list"][1]["mmDeduction"] = "0.5"
    with pytest.raises(ParseError, match="tier_boundary"):
        inverse_risk_brackets(parse_inverse_risk_limits(body))
    body["result"]["list"][1]["mmDeduction"] = ""
    with pytest.raises(ParseError, match="some tiers only"):
        inverse_risk_brackets(parse_inverse_risk_limits(body))


def test_docs_tiered_collateral_through_the_model() -> None:
    """BTC 0.85 up to 1,000,000 then 0 (maxQty "" = ∞): 2 BTC count 1.7; past the cap nothing more counts."""
    tiers = parse_tiered_collateral(_load("tiered_collateral_docs.json"))
    btc = tiers["BTC"]
    assert btc.max_qty.tolist() == [1_000_000.0, np.inf]
    out = tiered_collateral_qty(np.array([2.0, 2_000_000.0]), cvr_table([btc]), np.zeros(2, np.intp))
    np.testing.assert_allclose(out, [1.7, 850_000.0], rtol=1e-15)


def test_gapped_collateral_tiers_are_refused() -> None:
    """A gap between one tier's maxQty and the next minQty would value a slice at no ratio: ParseError."""
    body = copy.deepcopy(_load("tiered_collateral_docs.json"))
    body["result"]["list"][0]["collateralRatioList"][1]["minQty"] = "2000000"
    with pytest.raises(ParseError, match="collateral BTC"):
        parse_tiered_collateral(body)


def test_wallet_collateral_switches_rest_and_socket() -> None:
    """A coin counts only with marginCollateral and collateralSwitch; the REST reply and the topic agree."""
    (btc,) = parse_wallet_collateral((FRAMES / "wallet_balance_docs.json").read_bytes())
    assert (btc.coin, btc.counts, btc.wallet_balance) == ("BTC", True, 0.0)
    frame = {"topic": "wallet", "data": _load("wallet_balance_docs.json")["result"]["list"]}
    frame["data"][0]["coin"][0]["collateralSwitch"] = False
    (off,) = parse_wallet_collateral(frame)
    assert off.counts is False


def test_venue_refusal() -> None:
    """A non-zero retCode is the venue refusing, whatever the endpoint."""
    with pytest.raises(ParseError, match="venue_error"):
        parse_tiered_collateral({"retCode": 10001, "retMsg": "params error", "result": {}})
