"""Hyperliquid socket frames and info replies into perpmon's records; malformed input is a counted drop."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from monitor.collectors.hyperliquid.margin_wire import parse_meta_and_asset_ctxs
from monitor.collectors.hyperliquid.wire import (
    ctx_marks,
    funding_infos,
    leverage_tiers,
    parse_account,
    parse_public_frame,
)
from monitor.errors import ParseError
from monitor.records import MarkPrice
from monitor.risk.hyperliquid_margin import hl_liquidation_price, hl_single_tier

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "hyperliquid"
NOW = 1_700_000_000_000_000_000


def test_active_asset_ctx_is_a_mark_with_the_oracle_and_the_hourly_rate() -> None:
    lines = (FRAMES / "active_asset_ctx.jsonl").read_bytes().splitlines()
    out = [rec for line in lines for rec in parse_public_frame(line, NOW, venue="hl")]
    (mark,) = out  # the ack and the pong are no records
    assert isinstance(mark, MarkPrice)
    assert (mark.symbol, mark.mark, mark.index, mark.funding_rate) == ("BTC", 14.3161, 14.32, 0.0000125)
    assert mark.ts_event_ns == NOW and mark.next_funding_ns - NOW <= 3600 * 10**9  # the next hour


@pytest.mark.parametrize(
    ("line", "reason"), [(0, "schema"), (1, "bad_number"), (2, "schema"), (3, "venue_error"), (4, "json")]
)
def test_malformed_frames_raise_a_reason(line: int, reason: str) -> None:
    raw = (FRAMES / "active_asset_ctx_malformed.jsonl").read_bytes().splitlines()[line]
    with pytest.raises(ParseError) as err:
        parse_public_frame(raw, NOW, venue="hl")
    assert err.value.reason == reason


def test_the_docs_account_in_binance_shaped_records_keeps_the_venues_test() -> None:
    """isolated wallet = marginUsed − upnl, so wallet + upnl ≥ MM is the venue's test, and the LP the
    Binance-shaped solver would take from these records is the venue's liquidationPx."""
    positions, (usdc,) = parse_account((FRAMES / "clearinghouse_state_docs.json").read_bytes())
    (p,) = positions
    assert (p.symbol, p.margin_mode, p.qty, p.leverage) == ("ETH", "isolated", 0.0335, 20.0)
    assert p.venue_liquidation_price == 2866.26936529
    margin = p.isolated_wallet + p.venue_unrealized_pnl
    assert margin == pytest.approx(4.967826, abs=1e-9)
    meta = parse_meta_and_asset_ctxs((FRAMES / "meta_and_asset_ctxs_docs.json").read_bytes()).meta
    assert usdc.asset == "USDC" and usdc.available_balance >= 0
    lp, _ = hl_liquidation_price(p.qty, p.venue_mark_price, margin, hl_single_tier(50.0))
    assert lp == pytest.approx(p.venue_liquidation_price, rel=1e-8)
    assert meta.universe  # the meta parses alongside


def test_null_liquidation_px_is_nan_and_the_reference_records() -> None:
    raw = (FRAMES / "clearinghouse_state_docs.json").read_text().replace('"2866.26936529"', "null")
    (p,), _ = parse_account(raw)
    assert math.isnan(p.venue_liquidation_price)
    both = parse_meta_and_asset_ctxs((FRAMES / "meta_and_asset_ctxs_docs.json").read_bytes())
    coins = {a.name for a in both.meta.universe}
    marks = ctx_marks((FRAMES / "meta_and_asset_ctxs_docs.json").read_bytes(), "hl", NOW, coins)
    assert {m.symbol for m in marks} <= coins and marks
    infos = funding_infos(both.meta, "hl", NOW, coins)
    assert {(f.interval_s, f.cap, f.floor) for f in infos} == {(3600.0, 0.04, -0.04)}
    tiers = leverage_tiers(both.meta, "hl", "acct", NOW, coins)
    assert tiers and all(t.brackets[0].floor == 0.0 and t.brackets[0].cum == 0.0 for t in tiers)
    for t in tiers:  # mmr = 1/(2·maxLeverage) per tier
        assert all(b.mmr == pytest.approx(0.5 / b.max_leverage) for b in t.brackets)
