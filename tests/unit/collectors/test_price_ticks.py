"""Each venue's instrument metadata gives each watched symbol's price tick, read once at the edge.

Payloads are the venues' real shapes: Binance's futures entry is the one ccxt 4.5.90 accepted
(../shared/reference/venues.md §1.2, copied here), spot writes its filters at 8 decimals, Bybit's
spot and option rows are its docs' examples (tests/testdata/sim/bybit-docs-examples).
"""

from __future__ import annotations

import copy
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from monitor.clock import ManualClock
from monitor.collectors import build_collector
from monitor.collectors.binance.wire import parse_exchange_info
from monitor.collectors.bybit.wire import parse_tick_sizes
from monitor.collectors.generic import convert as conv
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.errors import ParseError
from monitor.records import FundingInfo, Instrument
from monitor.store.state import StateStore
from monitor.venues import Endpoints
from tests.unit.collectors.test_bybit_wire import examples

NOW = 1_700_000_000_000_000_000

BINANCE_FUTURES_BTC: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "pair": "BTCUSDT",
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "status": "TRADING",
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "underlyingSubType": [],
    "triggerProtect": "0.0500",
    "liquidationFee": "0.012500",
    "marketTakeBound": "0.05",
    "maxMoveOrderLimit": 10000,
    "filters": [
        {"minPrice": "556.80", "maxPrice": "4529764", "filterType": "PRICE_FILTER", "tickSize": "0.10"},
        {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001"},
        {"stepSize": "0.001", "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": "0.001"},
        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
        {"notional": "100", "filterType": "MIN_NOTIONAL"},
    ],
    "orderTypes": ["LIMIT", "MARKET"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
}


def _futures(*rows: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": 1700000000000,
        "futuresType": "U_MARGINED",
        "symbols": list(rows),
    }


def _spot_row(symbol: str, tick: str) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": symbol[:-4],
        "quoteAsset": "USDT",
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": tick,
                "maxPrice": "1000000.00000000",
                "tickSize": tick,
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": "0.00001000",
                "maxQty": "9000.00000000",
                "stepSize": "0.00001000",
            },
        ],
    }


def _with_tick(row: dict[str, Any], symbol: str, tick: Any) -> dict[str, Any]:
    out = copy.deepcopy(row)
    out["symbol"] = symbol
    out["filters"][0]["tickSize"] = tick
    return out


def test_binance_futures_tick_from_price_filter() -> None:
    """BTCUSDT's PRICE_FILTER "0.10" is a 0.1 tick; only watched symbols give records."""
    xrp = _with_tick(BINANCE_FUTURES_BTC, "XRPUSDT", "0.0001")
    eth = _with_tick(BINANCE_FUTURES_BTC, "ETHUSDT", "0.01")
    recs = parse_exchange_info(
        _futures(BINANCE_FUTURES_BTC, xrp, eth), ["BTCUSDT", "XRPUSDT"], "binance", "perp", NOW
    )
    assert recs == [
        Instrument(
            venue="binance", symbol="BTCUSDT", market="perp", ts_event_ns=NOW, ts_recv_ns=NOW, tick=0.1
        ),
        Instrument(
            venue="binance", symbol="XRPUSDT", market="perp", ts_event_ns=NOW, ts_recv_ns=NOW, tick=0.0001
        ),
    ]


def test_binance_spot_ticks_padded_to_8_decimals_are_the_same_ticks() -> None:
    """Spot writes "0.01000000": the tick is 0.01 (2 decimals to a person), not 8 decimals."""
    body = {
        "timezone": "UTC",
        "serverTime": 1,
        "symbols": [_spot_row("BTCUSDT", "0.01000000"), _spot_row("PEPEUSDT", "0.00000001")],
    }
    recs = parse_exchange_info(body, ["BTCUSDT", "PEPEUSDT"], "binance", "spot", NOW)
    assert [(r.symbol, r.market, r.tick) for r in recs] == [
        ("BTCUSDT", "spot", 0.01),
        ("PEPEUSDT", "spot", 1e-8),
    ]


@pytest.mark.parametrize("tick", ["0", "-0.1", "abc", "", None, "NaN", "inf"])
def test_a_bad_tick_costs_only_its_own_symbol(tick: Any) -> None:
    """A symbol whose tickSize is not a positive number gets no record; the others still do."""
    bad = _with_tick(BINANCE_FUTURES_BTC, "BADUSDT", tick)
    recs = parse_exchange_info(
        _futures(bad, BINANCE_FUTURES_BTC), ["BADUSDT", "BTCUSDT"], "binance", "perp", NOW
    )
    assert [r.symbol for r in recs] == ["BTCUSDT"]


def test_a_symbol_without_price_filter_gets_no_record() -> None:
    """No PRICE_FILTER: no tick (its prices read at significant digits), not an error."""
    row = copy.deepcopy(BINANCE_FUTURES_BTC)
    row["filters"] = [f for f in row["filters"] if f["filterType"] != "PRICE_FILTER"]
    assert parse_exchange_info(_futures(row), ["BTCUSDT"], "binance", "perp", NOW) == []


def test_an_exchange_info_without_symbols_is_a_parse_error() -> None:
    """A reply that is not an exchangeInfo (a refusal) is counted, not read as "no ticks"."""
    with pytest.raises(ParseError) as err:
        parse_exchange_info({"code": -1121, "msg": "Invalid symbol."}, ["BTCUSDT"], "binance", "spot", NOW)
    assert err.value.reason == "schema"


def test_bybit_linear_tick_from_price_filter() -> None:
    """instruments-info linear: priceFilter.tickSize "0.10" (priceScale 2) is a 0.1 tick."""
    row = {
        "symbol": "BTCUSDT",
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "priceScale": "2",
        "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
        "fundingInterval": 480,
    }
    other = {**row, "symbol": "ETHUSDT", "priceFilter": {"tickSize": "0.01"}}
    body = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [row, other]}, "time": 1}
    (rec,) = parse_tick_sizes(body, "bybit", "perp", NOW, ["BTCUSDT"])
    assert (rec.venue, rec.symbol, rec.market, rec.tick) == ("bybit", "BTCUSDT", "perp", 0.1)


def test_bybit_docs_examples_spot_and_a_tick_of_five() -> None:
    """The docs' spot BTCUSDT ("0.1") and option ("5") rows give their ticks as written."""
    option, spot = examples("market_instrument.json-examples.txt")[:2]
    assert [r.tick for r in parse_tick_sizes(spot, "bybit", "spot", NOW, ["BTCUSDT"])] == [0.1]
    (five,) = parse_tick_sizes(option, "bybit", "perp", NOW, ["BTC-27MAR26-70000-P-USDT"])
    assert five.tick == 5.0


def test_bybit_refusal_is_a_venue_error() -> None:
    """A non-zero retCode is the venue refusing, as for every v5 reply."""
    with pytest.raises(ParseError) as err:
        parse_tick_sizes(
            {"retCode": 10001, "retMsg": "params error", "result": {}}, "bybit", "perp", NOW, ["X"]
        )
    assert err.value.reason == "venue_error"


def test_ccxt_precision_price_is_the_tick() -> None:
    """ccxt's own parse of Binance's real entry (TICK_SIZE mode) gives precision.price 0.1 → the tick."""
    ex = ccxt.binanceusdm()
    market = ex.parse_market(BINANCE_FUTURES_BTC)
    markets = {market["symbol"]: market}
    (rec,) = conv.instruments(
        markets,
        {"BTCUSDT": "BTC/USDT:USDT"},
        venue="ccxt-binance",
        market="perp",
        precision_mode=ex.precisionMode,
        ts_ns=NOW,
    )
    assert (rec.venue, rec.symbol, rec.market, rec.tick) == ("ccxt-binance", "BTCUSDT", "perp", 0.1)


def test_ccxt_decimal_places_and_unusable_precisions() -> None:
    """DECIMAL_PLACES counts decimals (2 → 0.01); significant digits or no precision: no record."""
    markets = {
        "A/USDT:USDT": {"precision": {"price": 2}},
        "B/USDT:USDT": {"precision": {"price": None}},
        "C/USDT:USDT": {"precision": {}},
    }
    names = {"AUSDT": "A/USDT:USDT", "BUSDT": "B/USDT:USDT", "CUSDT": "C/USDT:USDT", "DUSDT": "D/USDT:USDT"}
    recs = conv.instruments(
        markets, names, venue="v", market="perp", precision_mode=ccxt.DECIMAL_PLACES, ts_ns=NOW
    )
    assert [(r.symbol, r.tick) for r in recs] == [("AUSDT", 0.01)]
    assert (
        conv.instruments(
            markets, names, venue="v", market="perp", precision_mode=ccxt.SIGNIFICANT_DIGITS, ts_ns=NOW
        )
        == []
    )


def _inst(symbol: str, market: str, tick: float, venue: str = "binance") -> Instrument:
    return Instrument(venue=venue, symbol=symbol, market=market, ts_event_ns=NOW, ts_recv_ns=NOW, tick=tick)  # type: ignore[arg-type]


def test_store_ticks_prefer_the_perpetual_and_change_only_on_a_new_tick() -> None:
    """The perp's tick wins over its spot book's; a repeated tick keeps the same mapping object."""
    store = StateStore()
    assert dict(store.ticks()) == {}
    store.put(_inst("BTCUSDT", "spot", 0.01))
    store.put(_inst("ETHUSDT", "spot", 0.01))
    assert dict(store.ticks()) == {("binance", "BTCUSDT"): 0.01, ("binance", "ETHUSDT"): 0.01}
    store.put(_inst("BTCUSDT", "perp", 0.1))
    first = store.ticks()
    assert dict(first) == {("binance", "BTCUSDT"): 0.1, ("binance", "ETHUSDT"): 0.01}
    store.put(_inst("BTCUSDT", "perp", 0.1))  # every reference refresh repeats it
    assert store.ticks() is first
    store.put(_inst("BTCUSDT", "perp", 1.0))  # the venue raised the tick
    assert store.ticks()[("binance", "BTCUSDT")] == 1.0 and store.ticks() is not first
    with pytest.raises(TypeError):
        store.ticks()[("binance", "X")] = 1.0  # type: ignore[index]


class _Binance:
    """The REST calls of the Binance reference refresh; exchangeInfo fails when told to."""

    def __init__(self, futures_fails: bool) -> None:
        self.futures_fails = futures_fails
        self.spot_params: list[dict[str, str]] = []

    async def fapiPublicGetFundingInfo(self) -> Any:
        return [{"symbol": "XRPUSDT", "fundingIntervalHours": 1}]

    async def fapiPublicGetExchangeInfo(self) -> Any:
        if self.futures_fails:
            raise ccxt_async.RequestTimeout("binanceusdm GET /fapi/v1/exchangeInfo timed out")
        return _futures(BINANCE_FUTURES_BTC, _with_tick(BINANCE_FUTURES_BTC, "XRPUSDT", "0.0001"))

    async def publicGetExchangeInfo(self, params: dict[str, str]) -> Any:
        self.spot_params.append(params)
        return {"timezone": "UTC", "serverTime": 1, "symbols": [_spot_row("BTCUSDT", "0.01000000")]}


def _binance_collector() -> Any:
    cfg, secrets = parse_config(
        {"venues": [{"name": "binance", "symbols": ["BTCUSDT", "XRPUSDT"], "spot_symbols": ["BTCUSDT"]}]}, {}
    )
    return build_collector(cfg.venues[0], cfg, secrets, Endpoints(), RecordingStore(), ManualClock())


async def test_binance_reference_puts_perp_and_spot_ticks() -> None:
    """One refresh: funding intervals, the perpetuals' ticks, and the spot books' asked by name."""
    c = _binance_collector()
    ex = _Binance(futures_fails=False)
    await c._reference(ex)
    got = {(i.symbol, i.market): i.tick for i in c.sink.of(Instrument)}
    assert got == {("BTCUSDT", "perp"): 0.1, ("XRPUSDT", "perp"): 0.0001, ("BTCUSDT", "spot"): 0.01}
    assert ex.spot_params == [{"symbols": '["BTCUSDT"]'}]


async def test_binance_ticks_failing_do_not_hold_up_funding_intervals() -> None:
    """exchangeInfo timing out costs the ticks only: funding intervals are still put, nothing raises."""
    c = _binance_collector()
    await c._reference(_Binance(futures_fails=True))
    assert [(f.symbol, f.interval_s) for f in c.sink.of(FundingInfo)] == [
        ("BTCUSDT", 28_800.0),
        ("XRPUSDT", 3_600.0),
    ]
    assert c.sink.of(Instrument) == []
