"""COIN-M positionRisk, leverageBracket, account and the Multi-Assets assetIndex: real and docs replies."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.collectors.binance.coinm_wire import (
    coinm_brackets,
    parse_asset_index,
    parse_coinm_account,
    parse_coinm_leverage_brackets,
    parse_coinm_position_risk,
)
from monitor.errors import ParseError
from monitor.risk.collateral import asset_rates
from monitor.risk.inverse_margin import coin_value, coinm_liquidation_price, inverse_upnl
from monitor.risk.margin import cum_from_brackets
from monitor.risk.reasons import Reason

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binancecoinm"
CS = 100.0  # BTCUSD_PERP contractSize (ccxt's fixture parses 100)


def _load(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


def test_real_position_risk_units() -> None:
    """Contracts signed, coin UPnL and |notionalValue| agree with the model; "0" LP is None, not 0."""
    short, flat = parse_coinm_position_risk((FRAMES / "position_risk_ccxt.json").read_bytes())
    assert (short.symbol, short.contracts, short.margin_type, short.position_side) == (
        "BTCUSD_PERP", -3.0, "cross", "BOTH",
    )  # fmt: skip
    assert round(inverse_upnl(short.contracts, CS, short.entry_price, short.mark_price), 8) == short.upnl_coin
    assert round(coin_value(short.contracts, CS, short.mark_price), 8) == abs(short.notional_value_coin)
    assert short.notional_value_coin < 0  # signed like the position
    assert short.liquidation_price == 72_491.16879818
    assert flat.liquidation_price is None


def test_real_row_lp_round_trip() -> None:
    """ccxt's back-solved wallet N·CS·(1/EP − (1 − mmr)/LP) = 0.00023156; the LP from it is Binance's."""
    (short, _) = parse_coinm_position_risk(_load("position_risk_ccxt.json"))
    lp = short.liquidation_price
    assert lp is not None
    wallet = 3 * CS * (1 / short.entry_price - (1 - 0.004) / lp)
    assert round(wallet, 8) == 0.00023156
    brackets = coinm_brackets(parse_coinm_leverage_brackets(_load("leverage_bracket_illustrative.json"))[0])
    res = coinm_liquidation_price(
        mark=short.mark_price, wallet=round(wallet, 8), brackets=brackets, contract_size=CS,
        contracts=short.contracts, entry=short.entry_price,
    )  # fmt: skip
    assert res.reason == Reason.OK
    assert abs(res.price / lp - 1) <= 1e-7  # the wallet is rounded to 8 dp


def test_docs_bracket_example_and_illustrative_table() -> None:
    """Docs: one bracket (qtyCap 50 BTC, 0.4 %), notionalCoef 1.5; the §a.2 table reproduces Example A2."""
    (docs,) = parse_coinm_leverage_brackets((FRAMES / "leverage_bracket_docs.json").read_bytes())
    assert docs.notional_coef == 1.5
    b = coinm_brackets(docs)
    assert (b.floors.tolist(), b.caps.tolist(), b.mmrs.tolist(), b.cums.tolist()) == (
        [0.0],
        [50.0],
        [0.004],
        [0.0],
    )
    table = coinm_brackets(parse_coinm_leverage_brackets(_load("leverage_bracket_illustrative.json"))[0])
    np.testing.assert_allclose(table.cums, cum_from_brackets(table.floors, table.mmrs), rtol=1e-12)
    res = coinm_liquidation_price(
        mark=95_000.0, wallet=3.0, brackets=table, contract_size=CS, contracts=-12_000.0, entry=94_000.0
    )
    assert round(res.price, 4) == 122_324.0657


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda b: b[1].update(qtylFloor=6), "qtylFloor 6.0 of bracket 2"),
        (lambda b: b[2].pop("cum"), "cum missing on some brackets only"),
        (lambda b: b[3].update(cum=0.3), "tier_boundary"),
        (lambda b: b[0].update(maintMarginRatio=1.5), "maintMarginRatio"),
        (lambda b: b[0].update(qtyCap="nan"), "not finite"),
    ],
)
def test_broken_bracket_tables_are_refused(edit: Any, message: str) -> None:
    """A gap, a half-given cum, a cum off the recursion, a rate ≥ 1, a NaN: ParseError, never a wrong rate."""
    body = copy.deepcopy(_load("leverage_bracket_illustrative.json"))
    edit(body[0]["brackets"])
    with pytest.raises(ParseError, match=message):
        coinm_brackets(parse_coinm_leverage_brackets(body)[0])


def test_v1_brackets_without_cum_take_the_recursion() -> None:
    """The deprecated v1 reply has no cum: derived from the floors and rates, never taken as 0."""
    body = copy.deepcopy(_load("leverage_bracket_illustrative.json"))
    for br in body[0]["brackets"]:
        br.pop("cum")
    b = coinm_brackets(parse_coinm_leverage_brackets(body)[0])
    assert b.cums[6] == pytest.approx(11.605, rel=1e-12)


def test_docs_account_example() -> None:
    """Per-coin assets in coin; BOTH/LONG/SHORT positions as in hedge mode; notionalValue only where sent."""
    acct = parse_coinm_account((FRAMES / "account_docs.json").read_bytes())
    (btc,) = acct.assets
    assert (btc.asset, btc.cross_wallet_balance, btc.margin_balance) == ("BTC", 0.00241969, 0.00241969)
    assert [p.position_side for p in acct.positions] == ["BOTH", "LONG", "SHORT"]
    assert [p.notional_value_coin for p in acct.positions] == [None, None, 0.0]
    assert acct.fee_tier == 2


def test_asset_index_docs_example_matches_the_rates_model() -> None:
    """bidRate/askRate = index·(1 ∓ buffer) to the venue's 8 dp; the object and the list form both parse."""
    rows = parse_asset_index((FRAMES / "asset_index_docs.json").read_bytes())
    (one,) = parse_asset_index(_load("asset_index_docs.json")[0])
    assert rows == [one]
    bid, ask = asset_rates(one.index, one.bid_buffer, one.ask_buffer)
    assert (round(bid, 8), round(ask, 8)) == (one.bid_rate, one.ask_rate)


@pytest.mark.parametrize(
    ("name", "field", "value", "message"),
    [
        ("position_risk_ccxt.json", "markPrice", "", "markPrice"),
        ("position_risk_ccxt.json", "positionAmt", None, "positionAmt"),
        ("position_risk_ccxt.json", "liquidationPrice", "inf", "not finite"),
        ("position_risk_ccxt.json", "marginType", "crossed", "marginType"),
        ("asset_index_docs.json", "bidRate", "3.0", "out of order"),
        ("asset_index_docs.json", "index", "0", "not positive"),
    ],
)
def test_bad_fields_raise_parse_error_naming_the_field(
    name: str, field: str, value: Any, message: str
) -> None:
    """A blank, missing, infinite or out-of-domain field rejects the reply, naming it; never a silent 0."""
    body = copy.deepcopy(_load(name))
    if value is None:
        body[0].pop(field)
    else:
        body[0][field] = value
    parse = parse_coinm_position_risk if name.startswith("position") else parse_asset_index
    with pytest.raises(ParseError, match=message):
        parse(body)


def test_venue_error_and_bad_json() -> None:
    """`{"code":-1121,"msg":…}` is the venue refusing (venue_error); broken JSON is `json`."""
    with pytest.raises(ParseError, match=r"venue_error.*-1121"):
        parse_coinm_position_risk(b'{"code":-1121,"msg":"Invalid symbol."}')
    with pytest.raises(ParseError) as exc:
        parse_coinm_account(b"{")
    assert exc.value.reason == "json"
    with pytest.raises(ParseError, match="not a list"):
        parse_coinm_leverage_brackets(b"{}")
