"""Binance frames become records exactly once; bad frames raise ParseError with a reason."""

from __future__ import annotations

import math

import pytest

from monitor.collectors.binance.account_wire import (
    parse_account_balances,
    parse_leverage_brackets,
    parse_position_risk,
)
from monitor.collectors.binance.wire import (
    parse_combined_frame,
    parse_funding_info,
    parse_premium_index,
)
from monitor.errors import ParseError
from monitor.records import MarkPrice, Quote

NOW = 1_700_000_000_000_000_000

MARK = (
    b'{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT",'
    b'"p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}'
)
SPOT_BOOK = (
    b'{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35190000",'
    b'"B":"31.21000000","a":"25.36520000","A":"40.66000000"}}'
)


def test_mark_price_frame() -> None:
    """A combined markPrice frame gives mark, index, funding estimate and times in ns."""
    (rec,) = parse_combined_frame(MARK, NOW, "binance", "perp")
    assert isinstance(rec, MarkPrice)
    assert (rec.symbol, rec.mark, rec.index, rec.funding_rate) == (
        "BTCUSDT",
        11794.15,
        11784.62659091,
        0.00038167,
    )
    assert rec.ts_event_ns == 1562305380000 * 1_000_000
    assert rec.next_funding_ns == 1562306400000 * 1_000_000
    assert rec.ts_recv_ns == NOW


def test_spot_book_has_no_event_time() -> None:
    """Spot bookTicker carries no time: the receive time stands in for it."""
    (rec,) = parse_combined_frame(SPOT_BOOK, NOW, "binance", "spot")
    assert isinstance(rec, Quote)
    assert (rec.market, rec.bid, rec.ask, rec.ts_event_ns) == ("spot", 25.3519, 25.3652, NOW)


def test_subscription_ack_yields_nothing() -> None:
    """`{"result":null,"id":1}` is an ack, not data and not an error."""
    assert list(parse_combined_frame(b'{"result":null,"id":1}', NOW, "binance", "perp")) == []


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "malformed_json"),
        (MARK.replace(b'"p":"11794.15000000"', b'"p":"-1"'), "out_of_range"),
        (MARK.replace(b'"p":"11794.15000000"', b'"p":"NaN"'), "out_of_range"),
        (MARK.replace(b'"p":"11794.15000000"', b'"p":"abc"'), "bad_number"),
        (MARK.replace(b'"s":"BTCUSDT",', b""), "schema"),
        (SPOT_BOOK.replace(b'"b":"25.35190000"', b'"b":"99.0"'), "crossed_book"),
        (b'{"stream":"btcusdt@kline_1m","data":{}}', "unknown_stream"),
    ],
)
def test_bad_frames_raise_parse_error(raw: bytes, reason: str) -> None:
    """Malformed or out-of-range frames are refused with a countable reason."""
    with pytest.raises(ParseError) as err:
        list(parse_combined_frame(raw, NOW, "binance", "perp"))
    assert err.value.reason == reason


def test_position_risk_real_row() -> None:
    """The real positionRisk row from ccxt's fixtures parses; zero rows are skipped."""
    rows = [
        {
            "symbol": "BTCUSDT",
            "positionSide": "BOTH",
            "positionAmt": "0.009",
            "entryPrice": "67445.9",
            "breakEvenPrice": "67479.62295",
            "markPrice": "67502.68519858",
            "unRealizedProfit": "0.51106678",
            "liquidationPrice": "64846.98753790",
            "isolatedMargin": "0",
            "notional": "607.52416678",
            "marginAsset": "USDT",
            "isolatedWallet": "0",
            "initialMargin": "7.59405208",
            "maintMargin": "2.43009666",
            "positionInitialMargin": "7.59405208",
            "openOrderInitialMargin": "0",
            "adl": "2",
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": "1722161166529",
        },
        {"symbol": "ETHUSDT", "positionSide": "BOTH", "positionAmt": "0", "entryPrice": "0"},
    ]
    (p,) = parse_position_risk(rows)
    assert (p.qty, p.entry_price, p.margin_mode) == (0.009, 67445.9, "cross")
    assert p.venue_liquidation_price == 64846.9875379
    assert p.venue_maint_margin == 2.43009666


def test_position_without_liquidation_price_is_nan() -> None:
    """The venue's "0" liquidation price means none, not a price of zero."""
    row = {
        "symbol": "BTCUSDT",
        "positionSide": "SHORT",
        "positionAmt": "-1",
        "entryPrice": "100",
        "liquidationPrice": "0",
        "isolatedWallet": "12.5",
    }
    (p,) = parse_position_risk([row])
    assert math.isnan(p.venue_liquidation_price)
    assert (p.side, p.margin_mode, p.isolated_wallet) == ("SHORT", "isolated", 12.5)


def test_account_balances_skip_never_funded_assets() -> None:
    """Assets with zero balance and no update time are skipped (ccxt does the same)."""
    acct = {
        "assets": [
            {
                "asset": "USDT",
                "walletBalance": "31.022612",
                "crossWalletBalance": "31.022612",
                "unrealizedProfit": "0",
                "availableBalance": "31.022612",
                "updateTime": 1701270042059,
            },
            {"asset": "BNB", "walletBalance": "0", "updateTime": 0},
        ]
    }
    (b,) = parse_account_balances(acct)
    assert (b.asset, b.wallet_balance, b.cross_wallet_balance) == ("USDT", 31.022612, 31.022612)


def test_leverage_brackets_sorted_and_checked() -> None:
    """Brackets come back sorted by floor; a bracket with mmr ≥ 1 is refused."""
    rows = [
        {
            "symbol": "BTCUSDT",
            "brackets": [
                {
                    "bracket": 2,
                    "initialLeverage": 100,
                    "notionalCap": 250000,
                    "notionalFloor": 50000,
                    "maintMarginRatio": 0.005,
                    "cum": 50.0,
                },
                {
                    "bracket": 1,
                    "initialLeverage": 125,
                    "notionalCap": 50000,
                    "notionalFloor": 0,
                    "maintMarginRatio": 0.004,
                    "cum": 0.0,
                },
            ],
        }
    ]
    reply = parse_leverage_brackets(rows, "a", "binance", NOW)
    (t,) = reply.tiers
    assert [b.floor for b in t.brackets] == [0.0, 50000.0]
    assert t.brackets[1].cum == 50.0
    assert reply.rejected == []
    rows[0]["brackets"][0]["maintMarginRatio"] = 1.5  # type: ignore[index]
    reply = parse_leverage_brackets(rows, "a", "binance", NOW)
    assert reply.tiers == []
    assert [(sym, exc.reason) for sym, exc in reply.rejected] == [("BTCUSDT", "out_of_range")]


def _bracket_row(symbol: str, mmr: float = 0.004) -> dict[str, object]:
    tier = {
        "bracket": 1,
        "initialLeverage": 125,
        "notionalCap": 50000,
        "notionalFloor": 0,
        "maintMarginRatio": mmr,
        "cum": 0.0,
    }
    return {"symbol": symbol, "brackets": [tier]}


def test_a_bad_bracket_row_costs_only_its_own_symbol() -> None:
    """One odd listing among many: its symbol is rejected with the reason, every other symbol kept."""
    no_cum = _bracket_row("XUSDT")
    del no_cum["brackets"][0]["cum"]  # type: ignore[index]
    rows = [
        _bracket_row("BTCUSDT"),
        _bracket_row("ETHUSDT", mmr=1.5),
        no_cum,
        {"brackets": []},  # no symbol at all
        "garbage",
        _bracket_row("SOLUSDT"),
    ]
    reply = parse_leverage_brackets(rows, "a", "binance", NOW)
    assert [t.symbol for t in reply.tiers] == ["BTCUSDT", "SOLUSDT"]
    assert [(sym, exc.reason) for sym, exc in reply.rejected] == [
        ("ETHUSDT", "out_of_range"),
        ("XUSDT", "schema"),
        ("?", "schema"),
        ("?", "schema"),
    ]
    assert "XUSDT" in str(reply.rejected[1][1])  # the detail names the symbol too


def test_funding_interval_defaults_to_8h_only_when_unlisted() -> None:
    """fundingInfo lists adjusted symbols; the others settle every 8 hours."""
    rows = [
        {
            "symbol": "XUSDT",
            "adjustedFundingRateCap": "0.03",
            "adjustedFundingRateFloor": "-0.03",
            "fundingIntervalHours": 4,
            "disclaimer": False,
        }
    ]
    got = {f.symbol: f.interval_s for f in parse_funding_info(rows, ["XUSDT", "BTCUSDT"], "binance", NOW)}
    assert got == {"XUSDT": 4 * 3600.0, "BTCUSDT": 8 * 3600.0}


@pytest.mark.parametrize("hours", ["eight", None, 0, -4, "nan"])
def test_a_bad_funding_interval_is_a_parse_error_not_a_crash(hours: object) -> None:
    """A non-number or non-positive interval is counted and dropped, never a plausible wrong 8 h."""
    rows = [{"symbol": "XUSDT", "fundingIntervalHours": hours}]
    with pytest.raises(ParseError) as err:
        parse_funding_info(rows, ["XUSDT"], "binance", NOW)
    assert err.value.reason in ("bad_number", "out_of_range")


def test_premium_index_object_or_array() -> None:
    """premiumIndex answers an object with a symbol and an array without; both parse."""
    row = {
        "symbol": "BTCUSDT",
        "markPrice": "11793.63104562",
        "indexPrice": "11781.80495970",
        "lastFundingRate": "0.00038246",
        "nextFundingTime": 1597392000000,
        "time": 1597370495002,
    }
    assert parse_premium_index(row, "binance", NOW)[0].mark == 11793.63104562
    assert parse_premium_index([row, row], "binance", NOW)[1].funding_rate == 0.00038246
