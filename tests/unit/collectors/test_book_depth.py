"""Book levels from the wire: Binance partial depth, Bybit orderbook.50 snapshot + deltas, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.collectors.binance.wire import parse_depth_frame
from monitor.collectors.bybit.wire import DepthBooks, TickerBook, parse_public_frame
from monitor.errors import ParseError
from monitor.records import BookLevels

NOW = 1_700_000_000_000_000_000


def _binance(bids: list[list[str]], asks: list[list[str]], u: int = 7) -> str:
    data = {"e": "depthUpdate", "E": 1571889248277, "T": 1571889248276, "s": "BTCUSDT", "U": u - 2, "u": u,
            "pu": u - 3, "b": bids, "a": asks}  # fmt: skip
    return json.dumps({"stream": "btcusdt@depth5@500ms", "data": data})


def test_binance_depth_frame() -> None:
    bids = [["7403.89", "0.002"], ["7403.90", "3.906"], ["7403.50", "0"]]  # unsorted, one empty level
    (rec,) = parse_depth_frame(
        _binance(bids, [["7405.96", "3.340"], ["7406.63", "4.525"]]), NOW, "binance", 5
    )
    assert isinstance(rec, BookLevels)
    assert (rec.symbol, rec.market, rec.update_id) == ("BTCUSDT", "perp", 7)
    assert rec.bid_px == (7403.90, 7403.89) and rec.bid_qty == (3.906, 0.002)  # best first, empty dropped
    assert rec.ask_px == (7405.96, 7406.63) and rec.ask_qty == (3.340, 4.525)
    assert rec.ts_event_ns == 1571889248277 * 1_000_000


def test_binance_depth_keeps_only_depth_levels() -> None:
    bids = [[f"{100 - i}", "1"] for i in range(10)]
    asks = [[f"{101 + i}", "1"] for i in range(10)]
    (rec,) = parse_depth_frame(_binance(bids, asks), NOW, "binance", 3)
    assert isinstance(rec, BookLevels)
    assert rec.bid_px == (100.0, 99.0, 98.0) and rec.ask_px == (101.0, 102.0, 103.0)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_binance([["x", "1"]], [["2", "1"]]), "bad_number"),
        (_binance([["1", "-1"]], [["2", "1"]]), "out_of_range"),
        (_binance([["0", "1"]], [["2", "1"]]), "out_of_range"),
        (_binance([["NaN", "1"]], [["2", "1"]]), "out_of_range"),
        (_binance([["3", "1"]], [["2", "1"]]), "crossed_book"),
        ('{"stream":"btcusdt@depth5","data":{"s":"BTCUSDT","b":{},"a":[]}}', "schema"),
        ("{not json", "malformed_json"),
        ('{"error":{"code":2,"msg":"Invalid request"},"id":1}', "venue_error"),
    ],
)
def test_binance_depth_bad_input_is_a_parse_error(raw: str, reason: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_depth_frame(raw, NOW, "binance", 5)
    assert err.value.reason == reason


def test_binance_subscription_ack_yields_nothing() -> None:
    assert parse_depth_frame('{"result":null,"id":1}', NOW, "binance", 5) == []


def _bybit(kind: str, u: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    data: dict[str, Any] = {"s": "BTCUSDT", "b": bids, "a": asks, "u": u, "seq": u}
    return json.dumps({"topic": "orderbook.50.BTCUSDT", "type": kind, "ts": 1687940967466, "data": data,
                       "cts": 1687940967464})  # fmt: skip


def _levels(recs: list[Any]) -> tuple[tuple[float, ...], ...]:
    (rec,) = recs
    assert isinstance(rec, BookLevels)
    return rec.bid_px, rec.bid_qty, rec.ask_px, rec.ask_qty


def test_bybit_snapshot_then_deltas() -> None:
    """Deltas replace a level's size, add levels, and "0" deletes; the best `depth` are kept."""
    depth = DepthBooks(2)

    def parse(raw: str) -> list[Any]:
        return parse_public_frame(raw, NOW, venue="bybit", book=TickerBook(), depth=depth)

    snap = _bybit("snapshot", 10, [["100", "1"], ["99", "2"], ["98", "3"]], [["101", "1"], ["102", "2"]])
    assert _levels(parse(snap)) == ((100.0, 99.0), (1.0, 2.0), (101.0, 102.0), (1.0, 2.0))
    delta = _bybit("delta", 11, [["100", "0"], ["99", "5"]], [["100.5", "4"]])
    assert _levels(parse(delta)) == ((99.0, 98.0), (5.0, 3.0), (100.5, 101.0), (4.0, 1.0))
    assert parse(_bybit("delta", 11, [["99", "7"]], [])) == []  # not newer: the overlap's other socket
    assert parse(_bybit("snapshot", 1, [["50", "1"]], [["51", "1"]]))  # u = 1: the venue restarted


def test_bybit_delta_before_snapshot_changes_nothing() -> None:
    depth = DepthBooks(5)
    raw = _bybit("delta", 3, [["100", "1"]], [])
    assert parse_public_frame(raw, NOW, venue="bybit", book=TickerBook(), depth=depth) == []


def test_bybit_bad_level_is_a_parse_error() -> None:
    depth = DepthBooks(5)
    with pytest.raises(ParseError) as err:
        parse_public_frame(_bybit("snapshot", 3, [["100", "-1"]], []), NOW, venue="bybit", book=TickerBook(),
                           depth=depth)  # fmt: skip
    assert err.value.reason == "out_of_range"
