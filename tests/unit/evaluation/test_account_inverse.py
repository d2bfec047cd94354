"""The account stage on inverse legs: the reference's worked examples as /metrics figures, the
coin margin ratio per account, and the linear accounts left to the linear stage."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from monitor.evaluation.account import AccountStage
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Balance, Bracket, FigureKey, LeverageTiers, Position
from monitor.store.snapshot import Snapshot

FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binancecoinm"
E: Any = MappingProxyType({})


def _tiers() -> LeverageTiers:
    rows = json.loads((FRAMES / "leverage_bracket_illustrative.json").read_text())[0]["brackets"]
    bs = tuple(
        Bracket(floor=b["qtylFloor"], cap=b["qtyCap"], mmr=b["maintMarginRatio"], cum=b["cum"],
                max_leverage=b["initialLeverage"])
        for b in rows
    )  # fmt: skip
    return LeverageTiers(
        venue="c", account="a", symbol="BTCUSD_PERP", brackets=bs, ts_event_ns=0, ts_recv_ns=0
    )


def _leg(qty: float, entry: float, **kw: Any) -> Position:
    return Position(
        symbol="BTCUSD_PERP", qty=qty, entry_price=entry, contract_size=100.0, inverse=True,
        margin_asset="BTC", **{"side": "BOTH", "margin_mode": "cross", **kw},
    )  # fmt: skip


def _run(wallet: float, mark: float, *legs: Position) -> dict[tuple[str, str], float]:
    acct = AccountSnapshot(
        venue="c", account="a", ts_event_ns=0, ts_recv_ns=0, positions=legs,
        balances=(Balance(asset="BTC", wallet_balance=wallet, cross_wallet_balance=wallet),),
    )  # fmt: skip
    snap = Snapshot(
        taken_at_ns=0, marks=E, quotes=E, funding=E, tiers={("c", "a", "BTCUSD_PERP"): _tiers()},
        accounts={("c", "a"): acct}, holdings=E, gone=E, feeds=E, mark_grid=E,
    )  # fmt: skip
    sink = FigureSink(0)
    views = {("c", "BTCUSD_PERP"): MarketView(mark, True, 0.6, 0.0001, 8.0)}
    AccountStage()(snap, views, {("c", "account:a"): True}, sink, horizon_s=86_400.0)
    out: dict[tuple[str, str], float] = {}
    for key, fig in sink.items.items():
        assert isinstance(key, FigureKey)
        out[(key.name, key.side)] = fig.value
    return out


def test_a2_cross_short_re_tiered_at_the_lp() -> None:
    f = _run(3.0, 95_000.0, _leg(-12_000, 94_000))
    assert f[("liquidation_price_usd", "BOTH")] == pytest.approx(122_324.0657, rel=1e-9)
    assert f[("liquidation_distance_ratio", "BOTH")] == pytest.approx(122_324.0657 / 95_000 - 1, rel=1e-9)
    v = 1_200_000 / 95_000  # coin value at the mark: bracket 3 (1 %, cum 0.055)
    upnl = -1_200_000 * (1 / 94_000 - 1 / 95_000)
    assert f[("margin_ratio", "")] == pytest.approx((v * 0.01 - 0.055) / (3.0 + upnl), rel=1e-12)
    assert f[("position_unrealized_pnl_usd", "BOTH")] == pytest.approx(upnl * 95_000, rel=1e-12)
    assert f[("wallet_balance_usd", "")] == pytest.approx(3.0 * 95_000)


def test_a3_hedge_legs_share_one_lp_and_a1_isolated() -> None:
    f = _run(0.6, 90_000.0, _leg(1_000, 88_000, side="LONG"), _leg(-3_000, 89_000, side="SHORT"))
    assert f[("liquidation_price_usd", "LONG")] == f[("liquidation_price_usd", "SHORT")]
    assert f[("liquidation_price_usd", "LONG")] == pytest.approx(121_388.4132, rel=1e-9)
    iso = _leg(500, 80_000, margin_mode="isolated", isolated_wallet=0.07)
    g = _run(0.0, 79_000.0, iso)
    assert g[("liquidation_price_usd", "BOTH")] == pytest.approx(72_230.2158, rel=1e-9)
    assert ("position_margin_ratio", "BOTH") in g


def test_a_coin_backed_short_has_no_lp() -> None:
    f = _run(2.0, 50_000.0, _leg(-1_000, 50_000, leverage=1.0))
    assert f[("liquidation_price_usd", "BOTH")] != f[("liquidation_price_usd", "BOTH")]  # NaN
