"""ccxt unified structures → perpmon records: symbols, legs in base units, wallets, tiers, intervals."""

from __future__ import annotations

import math
from typing import Any

import pytest

from monitor.collectors.generic import convert as conv
from monitor.errors import ParseError

MARKETS: dict[str, dict[str, Any]] = {
    "BTC/USDT:USDT": {"base": "BTC", "quote": "USDT", "settle": "USDT", "swap": True, "linear": True},
    "BTC/USD:BTC": {"base": "BTC", "quote": "USD", "settle": "BTC", "swap": True, "linear": False},
    "BTC/USDT": {"base": "BTC", "quote": "USDT", "spot": True},
    "ETH/USDT:USDT-251226": {
        "base": "ETH",
        "quote": "USDT",
        "settle": "USDT",
        "future": True,
        "linear": True,
    },
}


def test_config_symbols_map_to_linear_perpetuals_and_spot() -> None:
    """BTCUSDT is the USDT-settled swap; the spot market is separate; an unknown symbol is refused."""
    assert conv.perp_symbols(MARKETS, ["BTCUSDT"]) == {"BTCUSDT": "BTC/USDT:USDT"}
    assert conv.spot_symbols(MARKETS, ["BTCUSDT"]) == {"BTCUSDT": "BTC/USDT"}
    with pytest.raises(ParseError, match="ETHUSDT"):
        conv.perp_symbols(MARKETS, ["ETHUSDT"])


def test_positions_in_base_units_with_hedge_sides() -> None:
    """contracts × contractSize, signed; hedged legs are LONG/SHORT; the isolated wallet from the raw row."""
    rows = [
        {
            "symbol": "BTC/USDT:USDT",
            "side": "short",
            "contracts": 3,
            "contractSize": 0.01,
            "entryPrice": 100.0,
            "marginMode": "isolated",
            "collateral": 9.5,
            "hedged": True,
            "liquidationPrice": 0,
            "info": {"isolatedWallet": "10"},
        },
        {"symbol": "BTC/USDT:USDT", "side": "long", "contracts": 0, "entryPrice": 1.0},
    ]
    (p,) = conv.positions(rows, MARKETS)
    assert (p.symbol, p.side, p.qty, p.margin_mode, p.isolated_wallet) == (
        "BTCUSDT",
        "SHORT",
        -0.03,
        "isolated",
        10.0,
    )
    assert math.isnan(p.venue_liquidation_price)


def test_wallet_not_equity_per_venue() -> None:
    """Binance walletBalance, OKX cashBal, Bybit walletBalance; elsewhere ccxt's total."""
    binance = {"info": {"assets": [{"asset": "USDT", "walletBalance": "7400", "crossWalletBalance": "5000"}]}}
    assert [
        (b.wallet_balance, b.cross_wallet_balance) for b in conv.wallet_balances("binanceusdm", binance)
    ] == [(7400.0, 5000.0)]
    okx = {"info": {"data": [{"details": [{"ccy": "USDT", "cashBal": "120.5", "eq": "130", "upl": "9.5"}]}]}}
    assert [(b.asset, b.wallet_balance) for b in conv.wallet_balances("okx", okx)] == [("USDT", 120.5)]
    bybit = {"info": {"result": {"list": [{"coin": [{"coin": "USDC", "walletBalance": "3"}]}]}}}
    assert [(b.asset, b.wallet_balance) for b in conv.wallet_balances("bybit", bybit)] == [("USDC", 3.0)]
    other = {"total": {"USDT": 42.0, "BTC": 0.0}}
    assert [(b.asset, b.wallet_balance) for b in conv.wallet_balances("kraken", other)] == [("USDT", 42.0)]


def test_tiers_take_the_venues_cum_or_the_recursion() -> None:
    """cum_n = cum_(n-1) + floor_n × (mmr_n − mmr_(n-1)) when the venue does not publish it."""
    rows = [
        {"minNotional": 0, "maxNotional": 50_000, "maintenanceMarginRate": 0.004, "maxLeverage": 125},
        {"minNotional": 50_000, "maxNotional": 250_000, "maintenanceMarginRate": 0.005, "maxLeverage": 100},
        {"minNotional": 250_000, "maxNotional": 1e6, "maintenanceMarginRate": 0.01, "maxLeverage": 50},
    ]
    (t,) = conv.leverage_tiers({"BTC/USDT:USDT": rows}, {"BTC/USDT:USDT": "BTCUSDT"}, "v", "a", 1)
    assert [b.cum for b in t.brackets] == pytest.approx([0.0, 50.0, 1300.0])
    rows[1]["info"] = {"cum": 51.0}
    (t,) = conv.leverage_tiers({"BTC/USDT:USDT": rows}, {"BTC/USDT:USDT": "BTCUSDT"}, "v", "a", 1)
    assert t.brackets[1].cum == 51.0


def test_funding_interval_from_the_venue_never_guessed() -> None:
    """ "4h" is 4 h; Binance's unlisted symbols are 8 h by the venue's rule; elsewhere no record."""
    assert conv.funding_info("okx", "v", "BTCUSDT", "4h", 1).interval_s == 14_400.0  # type: ignore[union-attr]
    assert conv.funding_info("binanceusdm", "v", "BTCUSDT", None, 1).interval_s == 28_800.0  # type: ignore[union-attr]
    assert conv.funding_info("okx", "v", "BTCUSDT", None, 1) is None


def test_marks_take_funding_from_the_frame_or_rest() -> None:
    """Binance frames carry `r`; other venues' marks take the last REST funding rate."""
    tick = {
        "BTC/USDT:USDT": {
            "markPrice": 100.0,
            "indexPrice": 99.0,
            "timestamp": 5,
            "info": {"r": "0.0001", "T": 9},
        }
    }
    (m,) = conv.mark_records(tick, 7, names={"BTC/USDT:USDT": "BTCUSDT"}, venue="v", funding={})
    assert (m.funding_rate, m.next_funding_ns, m.ts_event_ns) == (0.0001, 9_000_000, 5_000_000)
    tick["BTC/USDT:USDT"]["info"] = {}
    (m,) = conv.mark_records(
        tick, 7, names={"BTC/USDT:USDT": "BTCUSDT"}, venue="v", funding={"BTCUSDT": (0.002, 3)}
    )
    assert (m.funding_rate, m.next_funding_ns) == (0.002, 3)


def test_crossed_or_empty_books_are_refused() -> None:
    """bid > ask or a missing side is a ParseError, counted and dropped by the collector."""
    names = {"BTC/USDT": "BTCUSDT"}
    with pytest.raises(ParseError, match="crossed"):
        conv.quote_records({"BTC/USDT": {"bid": 2.0, "ask": 1.0}}, 1, names=names, venue="v", market="spot")
    with pytest.raises(ParseError):
        conv.quote_records({"BTC/USDT": {"bid": None, "ask": 1.0}}, 1, names=names, venue="v", market="spot")


def test_positions_carry_what_the_venue_reports_for_the_leg() -> None:
    """ccxt's unified maintenanceMargin, markPrice and liquidationPrice become the leg's venue figures:
    all a venue without a tier call gives perpmon to value the leg by."""
    row = {
        "symbol": "BTC/USDT:USDT",
        "side": "long",
        "contracts": 2,
        "contractSize": 1,
        "entryPrice": 100.0,
        "marginMode": "cross",
        "markPrice": 98.5,
        "liquidationPrice": 61.25,
        "maintenanceMargin": 1.97,
        "unrealizedPnl": -3.0,
    }
    (p,) = conv.positions([row], MARKETS)
    assert (p.venue_mark_price, p.venue_liquidation_price, p.venue_maint_margin, p.venue_unrealized_pnl) == (
        98.5,
        61.25,
        1.97,
        -3.0,
    )
