"""OKX frames and replies → records: marks joined with the funding forecast, the interval from the
two settlement times, positions in base units with the venue's liqPx and mmr amount, account modes
other than single-currency named as not modelled, malformed input a `ParseError` with a reason.
The private rows are the simulator's (`monitor/sim/okx/payloads.py`), which ccxt's okx parses."""

from __future__ import annotations

import math

import msgspec
import pytest

from monitor.collectors.okx.wire import (
    OkxMarks,
    account_mode,
    okx_inst_id,
    okx_symbol,
    parse_balances,
    parse_ct_vals,
    parse_public_frame,
    positions_from,
)
from monitor.errors import ParseError
from monitor.records import FundingInfo, MarkPrice

FUNDING = (
    b'{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001875",'
    b'"fundingTime":"1700726400000","instId":"BTC-USDT-SWAP","instType":"SWAP","maxFundingRate":"0.00375",'
    b'"minFundingRate":"-0.00375","nextFundingTime":"1700740800000","ts":"1700724675402"}]}'
)
MARK = (
    b'{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP",'
    b'"instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1700724676000"}]}'
)


def test_symbols_round_trip_and_other_instruments_are_refused() -> None:
    assert okx_symbol("BTC-USDT-SWAP") == "BTCUSDT" and okx_inst_id("BTCUSDT") == "BTC-USDT-SWAP"
    for bad in ("BTC-USD-SWAP", "BTC-USDT", "BTC-USDT-240329"):
        with pytest.raises(ParseError):
            okx_symbol(bad)


def test_the_funding_forecast_rides_on_the_next_mark_and_the_interval_is_the_gap() -> None:
    marks = OkxMarks()
    (early,) = parse_public_frame(MARK, venue="okx", marks=marks, recv_ns=1)
    assert isinstance(early, MarkPrice) and math.isnan(early.funding_rate) and math.isnan(early.index)
    (info,) = parse_public_frame(FUNDING, venue="okx", marks=marks, recv_ns=2)
    assert isinstance(info, FundingInfo)
    assert (info.interval_s, info.cap, info.floor) == (4 * 3600.0, 0.00375, -0.00375)  # a 4 h instrument
    (mark,) = parse_public_frame(MARK, venue="okx", marks=marks, recv_ns=3)
    assert isinstance(mark, MarkPrice)
    assert (mark.symbol, mark.mark, mark.funding_rate) == ("BTCUSDT", 42310.6, 0.0001875)
    assert mark.next_funding_ns == 1700726400000 * 1_000_000  # the UPCOMING settlement
    assert mark.ts_event_ns == 1700724676000 * 1_000_000


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"arg":{"channel":"mark-price"},"data":', "malformed_json"),
        (b'{"event":"error","code":"60018","msg":"channel doesn\'t exist"}', "venue_error"),
        (MARK.replace(b'"42310.6"', b'""'), "bad_number"),
        (MARK.replace(b'"42310.6"', b'"-1"'), "out_of_range"),
        (MARK.replace(b"mark-price", b"books"), "unknown_channel"),
        (FUNDING.replace(b"1700740800000", b"1700726400000"), "out_of_range"),
        (b'{"arg":{"channel":"mark-price"},"data":{}}', "schema"),
    ],
)
def test_malformed_frames_raise_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_public_frame(raw, venue="okx", marks=OkxMarks(), recv_ns=0)
    assert err.value.reason == reason


def test_acks_login_and_pong_are_control() -> None:
    for raw in (b"pong", b'{"event":"subscribe","arg":{"channel":"mark-price"},"connId":"a"}',
                b'{"event":"login","code":"0","msg":"","connId":"a"}'):  # fmt: skip
        assert parse_public_frame(raw, venue="okx", marks=OkxMarks(), recv_ns=0) == []


def _position_row(**over: str) -> dict[str, str]:
    row = {
        "instId": "BTC-USDT-SWAP", "instType": "SWAP", "mgnMode": "cross", "posSide": "net", "pos": "-20",
        "avgPx": "40000", "ccy": "USDT", "markPx": "39000", "upl": "200", "lever": "10",
        "liqPx": "51234.5", "imr": "780", "margin": "", "mgnRatio": "12.5", "mmr": "3.12", "uTime": "1",
    }  # fmt: skip
    return row | over


def test_positions_are_in_base_units_with_the_venues_figures() -> None:
    ct = parse_ct_vals(
        {
            "code": "0",
            "data": [
                {
                    "instId": "BTC-USDT-SWAP",
                    "ctType": "linear",
                    "settleCcy": "USDT",
                    "ctVal": "0.01",
                    "ctMult": "1",
                },
                {
                    "instId": "BTC-USD-SWAP",
                    "ctType": "inverse",
                    "settleCcy": "BTC",
                    "ctVal": "100",
                    "ctMult": "1",
                },
            ],
        }
    )
    assert ct == {"BTCUSDT": 0.01}
    iso = _position_row(mgnMode="isolated", posSide="long", pos="5", margin="300", imr="", liqPx="")
    (short, long_) = positions_from({"code": "0", "data": [_position_row(), iso]}, ct)
    assert (short.side, short.qty, short.margin_mode) == ("BOTH", -0.2, "cross")
    assert (short.venue_liquidation_price, short.venue_maint_margin, short.leverage) == (51234.5, 3.12, 10.0)
    assert (long_.side, long_.qty, long_.isolated_wallet) == ("LONG", 0.05, 300.0)
    assert math.isnan(long_.venue_liquidation_price)  # "" is none, never 0
    with pytest.raises(ParseError):
        positions_from({"code": "0", "data": [_position_row(instId="ETH-USDT-SWAP")]}, ct)  # no ctVal


def test_balances_read_the_cash_not_the_equity() -> None:
    body = msgspec.json.encode(
        {
            "code": "0",
            "data": [
                {
                    "details": [
                        {
                            "ccy": "USDT",
                            "cashBal": "60000",
                            "upl": "-12.5",
                            "availEq": "59000",
                            "eq": "59987.5",
                        }
                    ]
                }
            ],
        }
    )
    (b,) = parse_balances(body)
    assert (b.asset, b.wallet_balance, b.unrealized_pnl, b.available_balance) == (
        "USDT",
        60000.0,
        -12.5,
        59000.0,
    )


@pytest.mark.parametrize(("level", "modelled"), [("2", True), ("3", False), ("4", False), ("1", False)])
def test_only_single_currency_margin_is_modelled(level: str, modelled: bool) -> None:
    got, reason = account_mode({"code": "0", "data": [{"acctLv": level, "perm": "read_only"}]})
    assert got == int(level) and (reason == "") == modelled
    if not modelled:
        assert reason.startswith("okx_account_mode_not_modelled") and f"acctLv {level}" in reason


def test_the_simulators_rows_read_back_as_its_engines_figures() -> None:
    """The simulated OKX's positions and balance (what ccxt's okx also reads) parse to its engine's values."""
    from monitor.config import SimAccountConfig, SimPositionConfig
    from monitor.sim.okx import payloads as pay
    from monitor.sim.okx.accounts import OkxAccountEngine
    from monitor.sim.okx.symbols import OKX_SYMBOLS

    specs = {s.symbol: s for s in OKX_SYMBOLS}
    acct = SimAccountConfig(
        name="erin", api_key_env="K", api_secret_env="S", api_password_env="P", wallet_usdt=5_000.0,
        venue="okx", positions=(SimPositionConfig(symbol="ETHUSDT", qty=-30.0, entry_price=3500.0),
                                SimPositionConfig(symbol="BTCUSDT", qty=0.5, margin_mode="isolated")),
    )  # fmt: skip
    eng = OkxAccountEngine([acct], specs, lambda s: 40_000.0, {"ETHUSDT": 3400.0, "BTCUSDT": 41_000.0}, 0)
    views = eng.views("erin")
    body = {"code": "0", "data": [pay.position_row(v, 1) for v in views]}
    ct = {s: spec.ct_val for s, spec in specs.items()}
    got = positions_from(msgspec.json.encode(body), ct)
    assert [(p.symbol, p.qty, p.margin_mode) for p in got] == [
        ("ETHUSDT", -30.0, "cross"),
        ("BTCUSDT", 0.5, "isolated"),
    ]
    for p, v in zip(got, views, strict=True):
        assert p.venue_maint_margin == v.mm_amount
        assert (p.venue_liquidation_price == v.liq_px) if v.liq_px else math.isnan(p.venue_liquidation_price)
    (b,) = parse_balances({"code": "0", "data": [pay.balance_row(eng.accounts["erin"], views, 1)]})
    assert b.wallet_balance == eng.accounts["erin"].cash_bal
