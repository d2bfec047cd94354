"""Bybit v5 frames and replies become records exactly once, checked against the venue's own doc examples."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from monitor.collectors.account_book import AccountUpdate
from monitor.collectors.bybit.account_wire import (
    AuthReply,
    parse_position_list,
    parse_private_frame,
    parse_risk_limits,
    parse_wallet_balance,
)
from monitor.collectors.bybit.collector import BYBIT_DIALECT
from monitor.collectors.bybit.wire import (
    TickerBook,
    parse_instruments,
    parse_orderbook,
    parse_public_frame,
    parse_tickers,
)
from monitor.errors import ParseError
from monitor.records import FundingInfo, MarkPrice, Quote

DOCS = Path(__file__).parents[2] / "testdata" / "sim" / "bybit-docs-examples"  # copy of ../shared/fixtures
NOW = 1_760_325_052_700_000_000


def examples(name: str) -> list[Any]:
    """The JSON blocks of one docs page, verbatim but for its `//` comments and `....` elisions."""
    out = []
    for chunk in (DOCS / name).read_text().split("\n----\n")[1:]:
        text = chunk[chunk.index("{") :]
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"^\s*\.{3,}\s*$", "", text, flags=re.M)
        text = re.sub(r",(\s*[\]}])", r"\1", text)
        decoder = json.JSONDecoder()
        pos = 0
        while pos < len(text):
            obj, end = decoder.raw_decode(text, pos)
            out.append(obj)
            nxt = text.find("{", end)
            if nxt < 0:
                break
            pos = nxt
    return out


def test_linear_ticker_snapshot_from_the_docs() -> None:
    """The docs' linear snapshot gives mark, index, funding (8 h, cap 0.5 %) and the book top."""
    snap = examples("websocket_public_ticker.json-examples.txt")[0]
    recs = parse_public_frame(json.dumps(snap), NOW, venue="bybit", book=TickerBook())
    mark = next(r for r in recs if isinstance(r, MarkPrice))
    quote = next(r for r in recs if isinstance(r, Quote))
    fi = next(r for r in recs if isinstance(r, FundingInfo))
    assert (mark.symbol, mark.mark, mark.index, mark.funding_rate) == ("BTCUSDT", 66666.60, 115418.19, -0.005)
    assert mark.ts_event_ns == 1760325052630 * 1_000_000 and mark.ts_recv_ns == NOW
    assert mark.next_funding_ns == 1760342400000 * 1_000_000
    assert (quote.market, quote.bid, quote.bid_size, quote.ask, quote.ask_size) == (
        "perp",
        66666.60,
        23789.165,
        66666.70,
        23775.469,
    )
    assert (fi.interval_s, fi.cap, fi.floor) == (8 * 3600.0, 0.005, -0.005)


def test_delta_merges_into_the_snapshot() -> None:
    """A delta of changed fields only keeps the rest from the snapshot; its time is the delta's."""
    book = TickerBook()
    snap = examples("websocket_public_ticker.json-examples.txt")[0]
    parse_public_frame(json.dumps(snap), NOW, venue="bybit", book=book)
    delta = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {"symbol": "BTCUSDT", "bid1Price": "66660.10", "bid1Size": "2.12", "markPrice": "66661.5"},
        "cs": 9532239430,
        "ts": 1760325052730,
    }
    recs = parse_public_frame(json.dumps(delta), NOW + 1, venue="bybit", book=book)
    mark = next(r for r in recs if isinstance(r, MarkPrice))
    quote = next(r for r in recs if isinstance(r, Quote))
    assert (mark.mark, mark.index, mark.funding_rate) == (66661.5, 115418.19, -0.005)
    assert (quote.bid, quote.bid_size, quote.ask) == (66660.10, 2.12, 66666.70)
    assert quote.ts_event_ns == 1760325052730 * 1_000_000
    assert not any(isinstance(r, FundingInfo) for r in recs)  # unchanged: not re-sent


def test_hourly_interval_change_arrives_in_a_delta() -> None:
    book = TickerBook()
    parse_public_frame(
        json.dumps(examples("websocket_public_ticker.json-examples.txt")[0]), NOW, venue="b", book=book
    )
    delta = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {"fundingIntervalHour": "1"},
        "ts": 1760325052731,
    }
    (fi,) = [
        r
        for r in parse_public_frame(json.dumps(delta), NOW, venue="b", book=book)
        if isinstance(r, FundingInfo)
    ]
    assert fi.interval_s == 3600.0


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            '{"topic":"tickers.BTCUSDT","type":"delta","data":{"bid1Price":"1"},"ts":1}',
            "delta_before_snapshot",
        ),
        (
            '{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","markPrice":"-1",'
            '"indexPrice":"1"},"ts":1}',
            "out_of_range",
        ),
        (
            '{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","markPrice":"abc",'
            '"indexPrice":"1"},"ts":1}',
            "bad_number",
        ),
        (
            '{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","bid1Price":"2",'
            '"bid1Size":"1","ask1Price":"1","ask1Size":"1"},"ts":1}',
            "crossed_book",
        ),
        ('{"topic":"tickers.BTCUSDT","type":"snap', "malformed_json"),
        ('{"topic":"kline.1.BTCUSDT","data":[]}', "unknown_stream"),
        ('{"success":false,"ret_msg":"error:handler not found","op":"subscribe"}', "venue_error"),
    ],
)
def test_bad_public_frames_raise_with_a_reason(frame: str, reason: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse_public_frame(frame, NOW, venue="bybit", book=TickerBook())
    assert exc.value.reason == reason


def test_control_replies_yield_nothing() -> None:
    for reply in examples("websocket_wss-authentication.json-examples.txt")[2:]:
        if "op" in reply and reply.get("op") != "auth" and reply.get("success", True):
            assert parse_public_frame(json.dumps(reply), NOW, venue="bybit", book=TickerBook()) == []


def test_rest_tickers_seed_marks_and_intervals() -> None:
    body = examples("market_tickers.json-examples.txt")
    linear = next(b for b in body if b.get("result", {}).get("category") == "inverse")  # the docs' perp
    recs = parse_tickers(linear, "bybit", NOW, ["BTCUSD"])
    (mark,) = [r for r in recs if isinstance(r, MarkPrice)]
    row = linear["result"]["list"][0]
    assert (mark.mark, mark.index) == (float(row["markPrice"]), float(row["indexPrice"]))
    assert mark.ts_event_ns == linear["time"] * 1_000_000
    (fi,) = [r for r in recs if isinstance(r, FundingInfo)]
    assert (fi.interval_s, fi.cap) == (8 * 3600.0, 0.005)
    assert parse_tickers(linear, "bybit", NOW, ["ETHUSD"]) == []


def test_position_list_from_the_docs() -> None:
    """The docs' one-way short: side, size, entry, cross mode; `liqPrice` "" is no venue LP."""
    (body,) = examples("position_position.json-examples.txt")
    (p,), cursor = parse_position_list(body)
    assert (p.symbol, p.side, p.qty, p.entry_price, p.margin_mode) == (
        "BTCUSD",
        "BOTH",
        -300.0,
        27464.50441675,
        "cross",
    )
    assert math.isnan(p.venue_liquidation_price)
    assert (p.venue_mark_price, p.venue_maint_margin, p.venue_unrealized_pnl) == (
        28224.50,
        0.0000015,
        -0.00029413,
    )
    assert p.leverage == 10.0 and cursor == ""


def test_isolated_position_carries_its_margin_and_venue_lp() -> None:
    row = {
        "positionIdx": 1,
        "symbol": "BTCUSDT",
        "side": "Buy",
        "size": "1",
        "avgPrice": "10000",
        "tradeMode": 1,
        "leverage": "50",
        "positionBalance": "200",
        "positionIM": "200",
        "positionMM": "50",
        "liqPrice": "9850",
        "markPrice": "10000",
        "unrealisedPnl": "0",
    }
    body = {"retCode": 0, "retMsg": "OK", "result": {"list": [row], "nextPageCursor": "abc"}, "time": 1}
    (p,), cursor = parse_position_list(body)
    assert (p.side, p.qty, p.margin_mode, p.isolated_wallet, p.venue_liquidation_price) == (
        "LONG",
        1.0,
        "isolated",
        200.0,
        9850.0,
    )
    assert cursor == "abc"


def test_envelope_error_is_a_venue_error() -> None:
    with pytest.raises(ParseError) as exc:
        parse_position_list({"retCode": 10003, "retMsg": "API key is invalid.", "result": {}, "time": 1})
    assert exc.value.reason == "venue_error"


def test_wallet_balance_from_the_docs() -> None:
    (body,) = examples("account_wallet-balance.json-examples.txt")
    (b,) = parse_wallet_balance(body)
    assert (b.asset, b.wallet_balance, b.cross_wallet_balance, b.unrealized_pnl) == ("BTC", 0.0, 0.0, 0.0)


def test_risk_limits_in_percent_are_read_as_fractions() -> None:
    """The docs quote `maintenanceMargin` "0.5" beside 100× (1 % initial): percent, so 0.005."""
    (body,) = examples("market_risk-limit.json-examples.txt")
    (tiers,) = parse_risk_limits(body, "hedge", "bybit", NOW).tiers
    (b,) = tiers.brackets
    assert (tiers.symbol, b.floor, b.cap, b.mmr, b.cum, b.max_leverage) == (
        "BTCUSD",
        0.0,
        150.0,
        0.005,
        0.0,
        100.0,
    )


def test_risk_limits_in_fractions_with_deduction() -> None:
    rows = [
        {
            "id": 2,
            "symbol": "BTCUSDT",
            "riskLimitValue": "4000000",
            "maintenanceMargin": "0.0055",
            "initialMargin": "0.0105",
            "maxLeverage": "95.23",
            "mmDeduction": "1000",
        },
        {
            "id": 1,
            "symbol": "BTCUSDT",
            "riskLimitValue": "2000000",
            "maintenanceMargin": "0.005",
            "initialMargin": "0.01",
            "maxLeverage": "100.00",
            "mmDeduction": "",
        },
    ]
    body = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": rows}, "time": 1}
    (tiers,) = parse_risk_limits(body, "hedge", "bybit", NOW).tiers
    assert [(b.floor, b.cap, b.mmr, b.cum) for b in tiers.brackets] == [
        (0.0, 2e6, 0.005, 0.0),
        (2e6, 4e6, 0.0055, 1000.0),
    ]


def test_a_bad_risk_limit_row_costs_only_its_own_symbol() -> None:
    """ETHUSDT's ladder has an unreadable tier: ETHUSDT is rejected with its reason, BTCUSDT kept."""

    def row(symbol: str, cap: str, mmr: str = "0.005") -> dict[str, object]:
        return {
            "symbol": symbol,
            "riskLimitValue": cap,
            "maintenanceMargin": mmr,
            "initialMargin": "0.01",
            "maxLeverage": "100.00",
            "mmDeduction": "",
        }

    rows = [
        row("BTCUSDT", "2000000"),
        row("ETHUSDT", "1000000"),
        row("ETHUSDT", "lots"),
        row("SOLUSDT", "100000", mmr="1.5"),
        {"riskLimitValue": "1"},
        "garbage",
    ]
    body = {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": rows}, "time": 1}
    reply = parse_risk_limits(body, "hedge", "bybit", NOW)
    assert [t.symbol for t in reply.tiers] == ["BTCUSDT"]
    assert sorted((sym, exc.reason) for sym, exc in reply.rejected) == [
        ("?", "schema"),
        ("?", "schema"),
        ("ETHUSDT", "bad_number"),
        ("SOLUSDT", "out_of_range"),
    ]


def test_instruments_give_the_interval_in_minutes() -> None:
    row = {
        "symbol": "ETHUSDT",
        "fundingInterval": 60,
        "upperFundingRate": "0.01",
        "lowerFundingRate": "-0.01",
    }
    body = {"retCode": 0, "result": {"category": "linear", "list": [row]}, "time": 1}
    (fi,) = parse_instruments(body, "bybit", NOW, ["ETHUSDT"])
    assert (fi.interval_s, fi.cap, fi.floor) == (3600.0, 0.01, -0.01)


def test_private_position_and_wallet_pushes_from_the_docs() -> None:
    _sub, push = examples("websocket_private_position.json-examples.txt")
    upd = parse_private_frame(json.dumps(push))
    assert isinstance(upd, AccountUpdate)
    (leg,) = upd.legs
    assert (leg.symbol, leg.side, leg.qty, leg.margin_mode) == (
        "BTCUSDT",
        "SHORT",
        0.0,
        "cross",
    )  # flat: closes
    assert upd.event_ms == 1697682317044
    _sub, wallet = examples("websocket_private_wallet.json-examples.txt")
    upd = parse_private_frame(json.dumps(wallet))
    assert isinstance(upd, AccountUpdate)
    (b,) = upd.balances
    assert (b.asset, b.wallet, b.cross_wallet) == ("BTC", 0.00102964, 0.00102964)


def test_auth_reply_and_control_frames() -> None:
    ok = examples("websocket_wss-authentication.json-examples.txt")[1]
    assert parse_private_frame(json.dumps(ok)) == AuthReply(True, "")
    refused = '{"success":false,"ret_msg":"Params Error","op":"auth","conn_id":"x"}'
    assert parse_private_frame(refused) == AuthReply(False, "Params Error")
    pong = examples("websocket_wss-authentication.json-examples.txt")[2]
    assert parse_private_frame(json.dumps(pong)) is None
    with pytest.raises(ParseError) as exc:
        parse_private_frame('{"topic":"position","data":[{"positionIdx":7,"symbol":"X","size":"1"}]}')
    assert exc.value.reason == "out_of_range"


def test_a_bad_delta_changes_nothing() -> None:
    """A delta with one bad field is dropped whole: the next good frame still sees the snapshot's values."""
    book = TickerBook()
    parse_public_frame(
        json.dumps(examples("websocket_public_ticker.json-examples.txt")[0]), NOW, venue="b", book=book
    )
    bad = {
        "topic": "tickers.BTCUSDT",
        "type": "delta",
        "data": {"markPrice": "1", "indexPrice": "nan"},
        "ts": 2,
    }
    with pytest.raises(ParseError):
        parse_public_frame(json.dumps(bad), NOW, venue="b", book=book)
    ok = {"topic": "tickers.BTCUSDT", "type": "delta", "data": {"fundingRate": "0.0001"}, "ts": 3}
    (mark,) = [
        r for r in parse_public_frame(json.dumps(ok), NOW, venue="b", book=book) if isinstance(r, MarkPrice)
    ]
    assert (mark.mark, mark.index, mark.funding_rate) == (66666.60, 115418.19, 0.0001)


def test_spot_orderbook_top() -> None:
    """`orderbook.1.{symbol}` (the venue's spot book top): best bid and ask with sizes and update id."""
    frame = {
        "topic": "orderbook.1.BTCUSDT",
        "type": "snapshot",
        "ts": 1672304484978,
        "data": {"s": "BTCUSDT", "b": [["16493.50", "0.006"]], "a": [["16611.00", "0.029"]], "u": 18521288},
        "cts": 1672304484976,
    }
    (q,) = parse_public_frame(json.dumps(frame), NOW, venue="bybit", book=TickerBook())
    assert isinstance(q, Quote)
    assert (q.market, q.bid, q.bid_size, q.ask, q.ask_size, q.update_id) == (
        "spot",
        16493.5,
        0.006,
        16611.0,
        0.029,
        18521288,
    )
    assert q.ts_event_ns == 1672304484978 * 1_000_000
    frame["data"] = {"s": "BTCUSDT", "b": [], "a": [["16611.00", "0.029"]], "u": 18521289}
    assert parse_public_frame(json.dumps(frame), NOW, venue="bybit", book=TickerBook()) == []


def test_rest_orderbook_is_the_books_best_levels_stamped_by_the_reply() -> None:
    """`/v5/market/orderbook`: the best `depth` levels, at the reply's time (when the venue vouched)."""
    res = {"s": "BTCUSDT", "b": [["100.0", "1"], ["99.5", "2"]], "a": [["100.5", "3"]], "ts": 5, "u": 9}
    body = {"retCode": 0, "retMsg": "OK", "result": res, "time": 1_700_000_000_123}
    book = parse_orderbook(body, "bybit", NOW, depth=1)
    assert (book.symbol, book.bid_px, book.bid_qty, book.ask_px, book.ask_qty, book.update_id) == (
        "BTCUSDT",
        (100.0,),
        (1.0,),
        (100.5,),
        (3.0,),
        9,
    )
    assert book.ts_event_ns == 1_700_000_000_123_000_000


def test_pongs_are_told_from_other_control_replies() -> None:
    """The public socket answers `op: ping` with `ret_msg` "pong"; the private one with `op` "pong"."""
    is_pong = BYBIT_DIALECT.is_pong
    assert is_pong is not None
    assert is_pong(b'{"success":true,"ret_msg":"pong","conn_id":"c","req_id":"ping-1","op":"ping"}')
    assert is_pong('{"req_id":"ping-2","op":"pong","args":["1712345678901"],"conn_id":"c"}')
    assert not is_pong(b'{"success":true,"ret_msg":"","conn_id":"c","req_id":"sub-1","op":"subscribe"}')
    assert not is_pong(b'{"topic":"tickers.BTCUSDT","type":"delta","data":')
