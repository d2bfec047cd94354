"""Book figures with coin-margined (inverse) legs: one BTC bucket, the coin margin counted.

The reference book: 1,000 BTC in custody hedged by a Binance COIN-M BTCUSD_PERP short. The short
hedges the custody *and* the BTC it is margined with only when sized for both (venues-next.md §1:
a coin-margined short whose coin covers its entry value is a synthetic USD position).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import numpy as np
import pytest

from monitor.evaluation import advice, advice_kept, book, book_var, feeds
from monitor.evaluation.book_var_legs import leg_exposures
from monitor.evaluation.exposure import market_exposures
from monitor.evaluation.feeds import expected_streams
from monitor.evaluation.leg_exposure import account_exposures, base_asset, leg_asset, leg_coin_notional
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.stress import stress_table
from monitor.evaluation.var_check import PREFERRED
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FigureKey,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.snapshot import Snapshot
from tests.unit.evaluation.desk import S, desk, models
from tests.unit.evaluation.reference import advice as ref_advice
from tests.unit.evaluation.reference import book as ref_book
from tests.unit.evaluation.reference import book_var as ref_book_var
from tests.unit.evaluation.reference import market as ref_market
from tests.unit.evaluation.test_stages_equal_reference import assert_same

E: Any = MappingProxyType({})
FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "binancecoinm"
CUSTODY, WALLET, ENTRY = 1_000.0, 50.0, 50_000.0


def _short(contracts: float, entry: float = ENTRY) -> Position:
    return Position(
        symbol="BTCUSD_PERP", side="BOTH", qty=-contracts, entry_price=entry, margin_mode="cross",
        contract_size=100.0, inverse=True, margin_asset="BTC",
    )  # fmt: skip


def _snap(
    mark: float, *legs: Position, wallet: float = WALLET, linear: tuple[Position, ...] = ()
) -> Snapshot:
    coinm = AccountSnapshot(
        venue="binance_coinm", account="cm", ts_event_ns=0, ts_recv_ns=0, positions=legs,
        balances=(Balance(asset="BTC", wallet_balance=wallet, cross_wallet_balance=wallet),),
    )  # fmt: skip
    accounts = {("binance_coinm", "cm"): coinm}
    if linear:
        accounts[("binance", "um")] = AccountSnapshot(
            venue="binance", account="um", ts_event_ns=0, ts_recv_ns=0, positions=linear,
            balances=(Balance(asset="USDT", wallet_balance=1e6),),
        )  # fmt: skip
    custody = Holding(
        venue="config", ts_event_ns=0, ts_recv_ns=0, name="custody", asset="BTC", quantity=CUSTODY,
        price_venue="binance", price_symbol="BTCUSDT",
    )  # fmt: skip
    spot = Quote(
        venue="binance", ts_event_ns=0, ts_recv_ns=0, symbol="BTCUSDT", market="spot",
        bid=mark - 0.5, bid_size=1.0, ask=mark + 0.5, ask_size=1.0,
    )  # fmt: skip
    marks = {
        (v, s): MarkPrice(venue=v, ts_event_ns=0, ts_recv_ns=0, symbol=s, mark=mark, index=mark)
        for v, s in (("binance_coinm", "BTCUSD_PERP"), ("binance", "BTCUSDT"))
    }
    return Snapshot(
        taken_at_ns=0, marks=marks, quotes={("binance", "BTCUSDT", "spot"): spot}, funding=E, tiers=E,
        accounts=accounts, holdings={"custody": custody}, gone=E, feeds=E, mark_grid=E,
    )  # fmt: skip


def _views(mark: float) -> dict[tuple[str, str], MarketView]:
    return {
        ("binance_coinm", "BTCUSD_PERP"): MarketView(mark, True, 0.6, 0.0001, 8.0),
        ("binance", "BTCUSDT"): MarketView(mark, True, 0.6, 0.0001, 8.0),
    }


def _figures(snap: Snapshot, mark: float) -> dict[tuple[str, ...], float]:
    sink = FigureSink(0)
    book.book_figures(snap, _views(mark), sink)
    old = FigureSink(0)
    ref_book.book_figures(snap, _views(mark), old)
    assert_same(sink.items, old.items)  # the columnar stage equals the per-leg reference
    out = {}
    for k, f in sink.items.items():
        assert isinstance(k, FigureKey)
        out[(k.name, k.asset, *([k.venue] if k.venue else []))] = f.value
    return out


SIZED = (CUSTODY + WALLET) * ENTRY / 100.0  # contracts: the custody's USD value plus the coin margin


def test_a_leg_is_in_its_coin() -> None:
    assert base_asset("BTCUSD_PERP") == "BTC" and base_asset("ETHUSD_260925") == "ETH"
    assert base_asset("BTCUSDT") == "BTC" and base_asset("S000USDT") == "S000"
    short = _short(100.0)
    assert leg_asset(short) == "BTC"
    assert leg_coin_notional(short, 50_000.0) == pytest.approx(-0.2)  # 100 × $100 at $50,000
    acct = AccountSnapshot(
        venue="c", account="a", ts_event_ns=0, ts_recv_ns=0, positions=(short, _short(0.0)),
        balances=(Balance(asset="BTC", wallet_balance=0.3), Balance(asset="USDT", wallet_balance=9.0)),
    )  # fmt: skip
    # at entry: −0.2 BTC of contracts, +0.3 BTC of wallet, on the first leg only
    assert account_exposures(acct) == [("BTC", pytest.approx(0.1)), ("BTC", 0.0)]


@pytest.mark.parametrize("mark", [ENTRY, 30_000.0, 65_000.0])
def test_custody_hedged_by_a_coin_margined_short_sized_for_its_margin(mark: float) -> None:
    """Hedge ratio 1, net delta 0, one BTC bucket, at the entry and after the price moved."""
    got = _figures(_snap(mark, _short(SIZED)), mark)
    assert {k[1] for k in got} == {"BTC"}  # no "BTCUSD_PERP" bucket
    assert got[("hedge_ratio", "BTC")] == pytest.approx(1.0, rel=1e-12)
    assert got[("net_delta", "BTC")] == pytest.approx(0.0, abs=1e-9)
    assert got[("net_delta_usd", "BTC")] == pytest.approx(0.0, abs=1e-3)
    # funding is paid in coin on the coin value: face × rate in USD, whatever the mark
    assert got[("funding_carry_usd_per_day", "BTC")] == pytest.approx(SIZED * 100.0 * 0.0001 * 3)


def test_a_short_sized_to_the_custody_alone_leaves_its_margin_coin_long() -> None:
    got = _figures(_snap(ENTRY, _short(CUSTODY * ENTRY / 100.0)), ENTRY)
    assert got[("net_delta", "BTC")] == pytest.approx(WALLET)
    assert got[("hedge_ratio", "BTC")] == pytest.approx(1.0 - WALLET / CUSTODY)


def test_inverse_and_linear_legs_net_in_one_bucket() -> None:
    um = Position(symbol="BTCUSDT", side="BOTH", qty=-500.0, entry_price=ENTRY, margin_mode="cross")
    half = (CUSTODY / 2 + WALLET) * ENTRY / 100.0
    got = _figures(_snap(60_000.0, _short(half), linear=(um,)), 60_000.0)
    assert got[("hedge_ratio", "BTC")] == pytest.approx(1.0)
    assert got[("net_delta", "BTC")] == pytest.approx(0.0, abs=1e-9)
    assert got[("venue_perp_quantity", "BTC", "binance")] == -500.0
    assert got[("venue_perp_quantity", "BTC", "binance_coinm")] == pytest.approx(-500.0)


def test_var_and_monte_carlo_see_the_leg_in_btc() -> None:
    """The market book (VaR, ES, Monte Carlo) holds the leg's coin exposure: × the mark, its USD delta."""
    mark = 65_000.0
    snap = _snap(mark, _short(SIZED))
    e = market_exposures(snap)[("binance_coinm", "BTCUSD_PERP")]
    assert e.asset == "BTC" and e.perp_q == pytest.approx(-CUSTODY)
    usd, unpriced = leg_exposures(snap)
    assert not unpriced
    total = sum(usd.values())
    assert total == pytest.approx(0.0, abs=1e-3)
    # exact, not only at the mark: the coin account's USD value moves by perp_q × ΔP
    w_usd = lambda p: p * (WALLET - SIZED * 100.0 * (1 / ENTRY - 1 / p))  # noqa: E731
    assert w_usd(mark * 1.3) - w_usd(mark) == pytest.approx(e.perp_q * mark * 0.3, rel=1e-12)
    assert not math.isnan(total)


def _with_inverse(snap: Snapshot, seed: int) -> Snapshot:
    """The desk with every third leg of a0 and a3 made a coin-margined one (some on unwatched `_PERP`
    symbols) and coin wallets beside the stablecoin ones: NaN entries, closed legs and stale feeds
    stay as they were."""
    rng = np.random.default_rng(seed)
    accounts = {}
    for i, (key, acct) in enumerate(snap.accounts.items()):
        legs, coins = [], set()
        for k, p in enumerate(acct.positions):
            if i % 4 in (0, 3) and (i + k) % 3 == 0:  # a1, a2 stay linear: the advice has legs to price
                coin = base_asset(p.symbol)
                symbol = p.symbol if k % 4 else f"{coin}USD_PERP"  # the latter never watched
                mark = p.venue_mark_price
                p = msgspec.structs.replace(
                    p, symbol=symbol, qty=round(p.qty * mark / 10.0) if mark > 0 else p.qty,
                    contract_size=10.0, inverse=True, margin_asset=coin if k % 5 else "",
                )  # fmt: skip
                coins.add(coin)
            legs.append(p)
        wallets = tuple(Balance(asset=c, wallet_balance=float(rng.uniform(0, 50))) for c in sorted(coins))
        accounts[key] = msgspec.structs.replace(acct, positions=tuple(legs), balances=acct.balances + wallets)
    return dataclasses.replace(snap, accounts=accounts)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_stages_equal_the_reference_with_inverse_legs(seed: int) -> None:
    d = desk(12 * seed, 60 * seed, seed=seed, bars=160)
    snap = _with_inverse(d.snapshot(), seed)
    assert any(p.inverse and p.entry_price > 0 for a in snap.accounts.values() for p in a.positions)
    ev = d.cfg.evaluation
    fresh = feeds.feed_figures(snap, expected_streams(d.cfg), d.now_ns - 5 * S, FigureSink(d.now_ns))
    mk = ref_market.market_figures(
        snap, fresh, FigureSink(0), step_s=ev.volatility_sample_s, lam=ev.ewma_lambda
    )
    for with_fresh in (fresh, None):
        new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
        book.book_figures(snap, mk, new, with_fresh)
        ref_book.book_figures(snap, mk, old, with_fresh)
        assert_same(new.items, old.items)
    assert any(k.asset and "USD_PERP" in k.asset for k in new.items) is False
    fitted = models(d)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    book_var.book_var_figures(snap, fitted, fresh, new, confidences=ev.var_confidences)
    ref_book_var.book_var_figures(snap, fitted, fresh, old, confidences=ev.var_confidences)
    later = (book_var.FHS, PREFERRED)
    assert_same({k: f for k, f in new.items.items() if k.method not in later}, old.items)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    kw: Any = dict(target_vol=ev.target_vol, shock=ev.shock, bybit_venues=frozenset({"bybit"}))
    advice.advice_figures(snap, mk, {}, new, **kw, kept=advice_kept.AdviceKept())
    ref_advice.advice_figures(snap, mk, {}, old, **kw)
    assert_same(new.items, old.items)
    # no linear top-up or sizing for a coin-margined account (it read 300,000 contracts as BTC)
    coin_accounts = {k[1] for k, a in snap.accounts.items() if any(p.inverse for p in a.positions)}
    assert coin_accounts and not any(k.account in coin_accounts for k in new.items)
    assert any(k.account and k.account not in coin_accounts for k in new.items)


def test_stress_revalues_the_coin_margined_short_in_btc() -> None:
    """Custody and the sized short net to 0 in every price scenario; the account, 1,000 BTC short on
    50 BTC of margin, is liquidated by a rise that takes its coin equity to its MM, not by a fall."""
    snap = _snap(ENTRY, _short(SIZED))
    snap = dataclasses.replace(snap, tiers={("binance_coinm", "cm", "BTCUSD_PERP"): _coin_tiers()})
    table = stress_table(snap)
    rows = {(r.scenario, r.venue): r for r in table.rows}
    for sc in table.scenarios:
        total = rows[(sc, "total")]
        if sc.startswith("price_") or sc.startswith("hist_"):
            assert total.spot_pnl + total.perp_pnl == pytest.approx(0.0, abs=1e-3), sc
    fall, rise = rows[("price_-50%", "binance_coinm")], rows[("price_+30%", "binance_coinm")]
    # the coin account's USD equity: P·W + N·CS·(P/EP − 1)
    face = -SIZED * 100.0
    for r, p in ((fall, ENTRY * 0.5), (rise, ENTRY * 1.3)):
        assert r.equity_after == pytest.approx(p * WALLET + face * (p / ENTRY - 1.0), rel=1e-12)
    # at 25,000 the contracts are worth 2,100 BTC: the top bracket (50 %, cum 496.605), in coin
    assert fall.margin_ratio_after == pytest.approx((2_100 * 0.5 - 496.605) / 1_100, rel=1e-12)
    assert fall.liquidated == 0.0
    assert rise.liquidated == 1.0


def _coin_tiers() -> LeverageTiers:
    rows = json.loads((FRAMES / "leverage_bracket_illustrative.json").read_text())[0]["brackets"]
    bs = tuple(
        Bracket(floor=b["qtylFloor"], cap=b["qtyCap"], mmr=b["maintMarginRatio"], cum=b["cum"],
                max_leverage=b["initialLeverage"])
        for b in rows
    )  # fmt: skip
    return LeverageTiers(
        venue="binance_coinm", account="cm", symbol="BTCUSD_PERP", brackets=bs, ts_event_ns=0, ts_recv_ns=0
    )
