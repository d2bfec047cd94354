"""Hyperliquid `clearinghouseState` and `metaAndAssetCtxs`, from the docs' replies into typed structs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.collectors.hyperliquid.margin_wire import (
    hl_asset_brackets,
    parse_clearinghouse_state,
    parse_meta_and_asset_ctxs,
)
from monitor.errors import ParseError
from monitor.risk.hyperliquid_margin import hl_hourly_funding_rate, hl_liquidation_price, hl_premium
from monitor.risk.reasons import Reason

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "hyperliquid"


def _load(name: str) -> Any:
    return json.loads((FRAMES / name).read_text())


def test_docs_clearinghouse_state_shape() -> None:
    """Strings become floats, integers stay integers, the isolated leverage carries rawUsd."""
    s = parse_clearinghouse_state((FRAMES / "clearinghouse_state_docs.json").read_bytes())
    (ap,) = s.asset_positions
    p = ap.position
    assert (ap.kind, p.coin, p.szi, p.entry_px, p.max_leverage) == ("oneWay", "ETH", 0.0335, 2_986.3, 50)
    assert (p.leverage.kind, p.leverage.value, p.leverage.raw_usd) == ("isolated", 20, -95.059824)
    assert p.liquidation_px == 2_866.26936529
    assert p.cum_funding is not None and p.cum_funding.all_time == 514.085417
    assert s.margin_summary.account_value == 13_109.482328
    assert s.cross_margin_summary.total_ntl_pos == 0.0
    assert (s.cross_maintenance_margin_used, s.time) == (0.0, 1_708_622_398_623)


def test_docs_clearinghouse_state_through_the_model() -> None:
    """marginUsed, the implied mark and maxLeverage 50 → the venue's liquidationPx (1e-8: 6-dp inputs)."""
    s = parse_clearinghouse_state(_load("clearinghouse_state_docs.json"))
    p = s.asset_positions[0].position
    meta = parse_meta_and_asset_ctxs(_load("meta_and_asset_ctxs_docs.json")).meta
    eth = next(i for i, a in enumerate(meta.universe) if a.name == p.coin)
    lp, why = hl_liquidation_price(p.szi, p.mark, p.margin_used, hl_asset_brackets(meta, eth))
    assert why == Reason.OK
    assert p.liquidation_px is not None
    assert abs(lp / p.liquidation_px - 1) <= 1e-8


def test_null_liquidation_px_stays_none_and_blank_is_refused() -> None:
    """null (no LP) is None; "" is not a number Hyperliquid sends, so it is an error, never 0."""
    body = _load("clearinghouse_state_docs.json")
    body["assetPositions"][0]["position"]["liquidationPx"] = None
    assert parse_clearinghouse_state(body).asset_positions[0].position.liquidation_px is None
    body["assetPositions"][0]["position"]["liquidationPx"] = ""
    with pytest.raises(ParseError, match="liquidationPx"):
        parse_clearinghouse_state(body)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("szi",), "nan", "szi=nan is not finite"),
        (("szi",), None, "szi"),
        (("marginUsed",), "abc", "marginUsed"),
        (("leverage", "type"), "portfolio", "type"),
        (("leverage", "rawUsd"), None, "without leverage.rawUsd"),
    ],
)
def test_bad_position_fields(path: tuple[str, ...], value: Any, message: str) -> None:
    """Each malformed field is a ParseError that names it."""
    body = _load("clearinghouse_state_docs.json")
    target = body["assetPositions"][0]["position"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ParseError, match=message):
        parse_clearinghouse_state(body)


def test_meta_and_asset_ctxs_shape() -> None:
    """`[meta, ctxs]` aligned; null premium/mid/impacts stay None; the hourly funding is the baseline."""
    m = parse_meta_and_asset_ctxs((FRAMES / "meta_and_asset_ctxs_docs.json").read_bytes())
    assert [a.name for a in m.meta.universe] == ["BTC", "ETH", "HPOS", "LOOM", "ALT"]
    assert m.meta.universe[3].margin_mode == "strictIsolated"
    ctx = m.ctxs[0]
    assert (ctx.funding, ctx.oracle_px, ctx.mark_px, ctx.open_interest) == (0.0000125, 14.32, 14.3161, 688.11)
    assert ctx.impact_pxs == (14.3047, 14.3444)
    assert m.ctxs[2].premium is None and m.ctxs[2].impact_pxs is None and m.ctxs[2].mid_px is None
    assert ctx.funding == pytest.approx(hl_hourly_funding_rate(0.0), rel=1e-12)
    assert hl_premium(*ctx.impact_pxs, ctx.oracle_px) == 0.0


def test_margin_tables_resolve_per_asset() -> None:
    """No table → the asset's maxLeverage; table 51 → the two "tiered 10x" tiers with their deduction."""
    meta = parse_meta_and_asset_ctxs(_load("meta_and_asset_ctxs_docs.json")).meta
    btc, hpos, alt = (hl_asset_brackets(meta, i) for i in (0, 2, 4))
    assert btc.mmrs.tolist() == [0.01]
    assert hpos.mmrs.tolist() == pytest.approx([1 / 6])
    assert alt.floors.tolist() == [0.0, 3_000_000.0]
    assert alt.mmrs.tolist() == [0.05, 0.10]
    assert alt.cums.tolist() == [0.0, 150_000.0]


def test_small_table_id_is_a_leverage_and_an_unknown_id_is_refused() -> None:
    """An id below 50 means one tier at leverage = id; an id the reply lacks is an error, not a guess."""
    body = _load("meta_and_asset_ctxs_docs.json")
    body[0]["universe"][0]["marginTableId"] = 20
    body[0]["universe"][1]["marginTableId"] = 77
    meta = parse_meta_and_asset_ctxs(body).meta
    assert hl_asset_brackets(meta, 0).mmrs.tolist() == [0.025]
    with pytest.raises(ParseError, match="marginTableId 77"):
        hl_asset_brackets(meta, 1)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[1].pop(), "4 ctxs for 5 assets"),
        (lambda b: b[1][0].update(oraclePx="inf"), "oraclePx=inf is not finite"),
        (lambda b: b[1][0].update(markPx=""), "markPx"),
        (lambda b: b.pop(), "metaAndAssetCtxs"),
    ],
)
def test_bad_meta_and_ctxs(mutate: Any, message: str) -> None:
    """Misaligned contexts, a non-finite or blank price, or a reply that is not a pair: ParseError."""
    body = _load("meta_and_asset_ctxs_docs.json")
    mutate(body)
    with pytest.raises(ParseError, match=message):
        parse_meta_and_asset_ctxs(body)
