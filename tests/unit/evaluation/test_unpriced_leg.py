"""One unpriceable leg never hides an account (issue 12), on Binance's and on Bybit's margin model.

The account: long 1 BTC at 30,000, cross, with a wallet that puts its liquidation 0.07 % below the
mark (margin ratio ≈ 0.85): MarginRatio and LiquidationDistance fire. Then a 0.01 ETHUSDT short is added,
a symbol the venue entry does not watch (no mark stream) or without tiers. It used to make the
account's MM, margin ratio, headroom and the BTC LP NaN, and NaN starts no alert: nothing fired.
Now the ETH leg is priced as the venue reports it (flagged, named in the reasons) and the BTC
alerts fire; a leg neither source prices leaves NaN figures whose reason names it.
"""

from __future__ import annotations

import math

import pytest

from monitor.config import Config, load_config, parse_config
from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluator import Evaluator
from monitor.reason_codes import reason_code
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    Figure,
    FigureKey,
    Figures,
    LeverageTiers,
    MarkPrice,
    Position,
)
from monitor.rules import RuleEngine
from monitor.store.state import StateStore
from tests.unit.config.test_config import ROOT, SIM_ENV
from tests.unit.evaluation.world import T0, TIERS, store

S = 1_000_000_000
MARK = 30_000.0
GAP = 0.0007  # the BTC leg sits 0.07 % above its liquidation price
MMR = TIERS[0].mmr  # 0.4 %: 1 BTC at 30,000 is in the first tier
# Binance (MM at the mark): LP = (EP − W + other MM − other UPnL)/(1 − MMR) for a long of 1 at EP.
BINANCE_WALLET = MARK - (1 - MMR) * MARK * (1 - GAP)
# Bybit: the same since 2025-09-02 (MM on the mark value, re-tiered at the LP, deduction = cum).
BYBIT_WALLET = BINANCE_WALLET
ETH_TIERS = (Bracket(floor=0, cap=1e9, mmr=0.005, cum=0, max_leverage=100),)
ETH_MM = 0.01 * 2_000.0 * 0.005  # the venue's maintMargin / positionMM for 0.01 ETH at 2,000


def _config(kind: str, symbols: tuple[str, ...] = ("BTCUSDT",)) -> Config:
    cfg, _ = parse_config(
        {
            "venues": [{"name": "v", "kind": kind, "symbols": list(symbols), "perp_books": False}],
            "accounts": [{"name": "a", "venue": "v", "api_key_env": "K", "api_secret_env": "S"}],
        },
        env={"K": "k", "S": "s"},
    )
    return cfg


BTC = Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=MARK, margin_mode="cross")
ETH_FROM_VENUE = Position(
    symbol="ETHUSDT",
    side="BOTH",
    qty=-0.01,
    entry_price=2_000.0,
    margin_mode="cross",
    venue_mark_price=2_000.0,
    venue_maint_margin=ETH_MM,
    venue_unrealized_pnl=0.0,
)
ETH_BARE = Position(symbol="ETHUSDT", side="BOTH", qty=-0.01, entry_price=2_000.0, margin_mode="cross")


def _book(wallet: float, *legs: Position, eth_mark: bool = False, eth_tiers: bool = False) -> StateStore:
    """Marks every second for 10 s (fresh feeds), the account and the BTC tiers at T0."""
    st = store()
    for k in range(11):
        t = T0 + k * S
        for sym, px, on in (("BTCUSDT", MARK, True), ("ETHUSDT", 2_000.0, eth_mark)):
            if on:
                st.put(MarkPrice(venue="v", symbol=sym, ts_event_ns=t, ts_recv_ns=t, mark=px, index=px))
        bal = (Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),)
        st.put(
            AccountSnapshot(venue="v", account="a", ts_event_ns=t, ts_recv_ns=t, positions=legs, balances=bal)
        )
    for sym, tiers, on in (("BTCUSDT", TIERS, True), ("ETHUSDT", ETH_TIERS, eth_tiers)):
        if on:
            st.put(
                LeverageTiers(
                    venue="v", account="a", symbol=sym, ts_event_ns=T0, ts_recv_ns=T0, brackets=tiers
                )
            )
    return st


def _evaluate(cfg: Config, st: StateStore) -> list[Figures]:
    """Figures at 6 s and 10 s (4 s apart: longer than the rules' for_s of 3 s)."""
    ev = Evaluator(cfg, started_ns=T0)
    return [ev.evaluate(st.snapshot(T0 + k * S), T0 + k * S) for k in (6, 10)]


def _fired(ticks: list[Figures]) -> set[tuple[str, str]]:
    """(alertname, severity) of what the shipped MarginRatio and LiquidationDistance rules fire."""
    shipped = load_config(ROOT / "config.toml", env=SIM_ENV)[0].rules
    engine = RuleEngine(tuple(r for r in shipped if r.name in ("MarginRatio", "LiquidationDistance")))
    events = [e for figs in ticks for e in engine.step(figs, figs.taken_at_ns)]
    return {(e.labels["alertname"], e.severity.label) for e in events}


def _fig(figs: Figures, name: str, symbol: str = "") -> Figure:
    labels = {"symbol": symbol, "side": "BOTH"} if symbol else {}
    return figs.items[FigureKey(name=name, venue="v", account="a", **labels)]


CRITICAL = {("MarginRatio", "critical"), ("LiquidationDistance", "critical")}


@pytest.mark.parametrize(("kind", "wallet"), [("binanceusdm", BINANCE_WALLET), ("bybit", BYBIT_WALLET)])
def test_an_unwatched_leg_is_priced_as_the_venue_reports_and_the_btc_alerts_still_fire(
    kind: str, wallet: float
) -> None:
    """−0.01 ETHUSDT (short), not watched and without tiers: the account takes the venue's ETH MM and UPnL.

    The BTC figures stay available and fresh, their reason naming the ETH leg; the ETH leg's own
    figures are the venue's, flagged not fresh; its LP needs tiers on both venues (NaN, missing_tier):
    MM is re-valued at the LP (Bybit's too since 2025-09-02, when it stopped being entry-valued).
    """
    alone = _evaluate(_config(kind), _book(wallet, BTC))  # 0.07 % from liquidation, margin ratio ≈ 0.85
    assert _fig(alone[-1], "liquidation_distance_ratio", "BTCUSDT").value == pytest.approx(GAP, rel=1e-6)
    assert _fig(alone[-1], "margin_ratio").value == pytest.approx(0.85, abs=0.005)
    assert _fired(alone) == CRITICAL
    ticks = _evaluate(_config(kind), _book(wallet, BTC, ETH_FROM_VENUE))
    figs = ticks[-1]
    ratio = _fig(figs, "margin_ratio")
    assert ratio.value == pytest.approx((MMR * MARK + ETH_MM) / wallet, rel=1e-12)
    assert ratio.fresh and reason_code(ratio.reason) == "leg_from_venue" and "ETHUSDT" in ratio.reason
    for name in ("maintenance_margin_usd", "margin_headroom_usd", "margin_headroom_ratio"):
        f = _fig(figs, name)
        assert math.isfinite(f.value) and f.fresh and "ETHUSDT" in f.reason, name
    lp = _fig(figs, "liquidation_price_usd", "BTCUSDT")
    assert lp.value == pytest.approx((MARK - wallet + ETH_MM) / (1 - MMR), rel=1e-12)
    assert lp.fresh and reason_code(lp.reason) == "leg_from_venue" and "ETHUSDT" in lp.reason
    eth_mm = _fig(figs, "position_maintenance_margin_usd", "ETHUSDT")
    assert eth_mm.value == ETH_MM and not eth_mm.fresh and reason_code(eth_mm.reason) == "leg_from_venue"
    eth_lp = _fig(figs, "liquidation_price_usd", "ETHUSDT")
    assert math.isnan(eth_lp.value) and eth_lp.reason == "missing_tier"
    assert _fired(ticks) == CRITICAL


def test_an_unwatched_leg_with_tiers_has_its_own_lp_at_the_venues_mark() -> None:
    """Binance: with ETH's tiers, its LP is ours at the venue's mark, flagged; its MM is ours too."""
    figs = _evaluate(_config("binanceusdm"), _book(BINANCE_WALLET, BTC, ETH_FROM_VENUE, eth_tiers=True))[-1]
    eth_lp = _fig(figs, "liquidation_price_usd", "ETHUSDT")
    assert math.isfinite(eth_lp.value) and not eth_lp.fresh
    assert reason_code(eth_lp.reason) == "leg_from_venue" and "ETHUSDT" in eth_lp.reason
    dist = _fig(figs, "liquidation_distance_ratio", "ETHUSDT")
    assert dist.value == pytest.approx(abs(eth_lp.value / 2_000.0 - 1)) and not dist.fresh
    assert math.isnan(_fig(figs, "liquidation_distance_sigma", "ETHUSDT").value)
    assert _fig(figs, "liquidation_distance_sigma", "ETHUSDT").reason == "no_volatility"


@pytest.mark.parametrize(("kind", "wallet"), [("binanceusdm", BINANCE_WALLET), ("bybit", BYBIT_WALLET)])
def test_a_watched_cross_leg_without_tiers_lends_the_venues_mm(kind: str, wallet: float) -> None:
    """ETH watched (live mark) but its tiers not arrived: the account uses the venue's ETH MM.

    The margin ratio and the BTC LP are computed and fresh, naming the ETH leg; the ETH leg's own
    LP is NaN, missing_tier (both venues re-tier MM at the LP, which needs the tiers).
    """
    cfg = _config(kind, ("BTCUSDT", "ETHUSDT"))
    ticks = _evaluate(cfg, _book(wallet, BTC, ETH_FROM_VENUE, eth_mark=True))
    figs = ticks[-1]
    ratio = _fig(figs, "margin_ratio")
    assert ratio.value == pytest.approx((MMR * MARK + ETH_MM) / wallet, rel=1e-12) and ratio.fresh
    assert reason_code(ratio.reason) == "leg_from_venue" and "ETHUSDT (no leverage tiers)" in ratio.reason
    assert math.isfinite(_fig(figs, "liquidation_price_usd", "BTCUSDT").value)
    eth_mm = _fig(figs, "position_maintenance_margin_usd", "ETHUSDT")
    assert eth_mm.value == ETH_MM and not eth_mm.fresh
    assert _fig(figs, "position_unrealized_pnl_usd", "ETHUSDT").reason == ""  # at the live mark
    for name in ("liquidation_price_usd", "liquidation_distance_ratio"):
        f = _fig(figs, name, "ETHUSDT")
        assert math.isnan(f.value) and f.reason == "missing_tier", (kind, name)
    assert _fired(ticks) == CRITICAL


@pytest.mark.parametrize(("kind", "wallet"), [("binanceusdm", BINANCE_WALLET), ("bybit", BYBIT_WALLET)])
def test_a_leg_neither_the_marks_nor_the_venue_price_is_named_in_every_nan(kind: str, wallet: float) -> None:
    """No mark stream, no tiers, and the venue's payload carries no mark, UPnL or MM for ETH.

    The account's MM, UPnL, margin ratio and the BTC LP cannot be had: NaN, and the reason names
    ETHUSDT with its own code (Bybit used to call the BTC LP `not_liquidatable`).
    """
    figs = _evaluate(_config(kind), _book(wallet, BTC, ETH_BARE))[-1]
    for name in ("margin_ratio", "maintenance_margin_usd", "unrealized_pnl_usd", "margin_headroom_usd"):
        f = _fig(figs, name)
        assert math.isnan(f.value) and reason_code(f.reason) == "leg_unpriced", (name, f.reason)
        assert f.reason.startswith("leg_unpriced: ETHUSDT"), f.reason
    lp = _fig(figs, "liquidation_price_usd", "BTCUSDT")
    assert math.isnan(lp.value) and reason_code(lp.reason) == "leg_unpriced" and "ETHUSDT" in lp.reason
    dist = _fig(figs, "liquidation_distance_ratio", "BTCUSDT")
    assert math.isnan(dist.value) and dist.reason == lp.reason
    eth = _fig(figs, "position_notional_usd", "ETHUSDT")
    assert math.isnan(eth.value) and reason_code(eth.reason) == "leg_unpriced"
    # Monte Carlo takes a NaN LP as "never liquidated" only when it is not_liquidatable: this one is unknown
    assert ("v", "a", "BTCUSDT", "BOTH") not in lps_from_figures(figs)


def test_a_venue_upnl_without_mm_keeps_the_pnl_and_names_the_leg_in_the_margin() -> None:
    """After a stream delta the venue's mark and MM are dropped but its UPnL stays: what it gives is used."""
    eth = Position(
        symbol="ETHUSDT",
        side="BOTH",
        qty=-0.01,
        entry_price=2_000.0,
        margin_mode="cross",
        venue_unrealized_pnl=-3.0,
    )
    figs = _evaluate(_config("binanceusdm"), _book(BINANCE_WALLET, BTC, eth))[-1]
    pnl = _fig(figs, "unrealized_pnl_usd")
    assert pnl.value == -3.0 and reason_code(pnl.reason) == "leg_from_venue" and "UPnL" in pnl.reason
    mm = _fig(figs, "maintenance_margin_usd")
    assert math.isnan(mm.value) and reason_code(mm.reason) == "leg_unpriced"
    assert "ETHUSDT" in mm.reason and "maintenance margin" in mm.reason


def _book_fig(figs: Figures, name: str, **labels: str) -> Figure:
    return figs.items[FigureKey(name=name, **labels)]


def test_book_stress_advice_and_var_value_the_unwatched_leg_or_name_it() -> None:
    """Downstream of the account: the unwatched ETH leg (venue mark 2,000) no longer poisons silently.

    With ETH's tiers, stress revalues it from the venue's mark and the top-up shocks it from there
    (both flagged); the ETH book is valued at that mark, but its carry (funding unknown) is NaN,
    naming the leg, where it used to leave the leg out; VaR (no mark, no history) names it.
    """
    figs = _evaluate(_config("binanceusdm"), _book(BINANCE_WALLET, BTC, ETH_FROM_VENUE, eth_tiers=True))[-1]
    stress = _book_fig(figs, "stress_margin_ratio_after", venue="v", account="a", scenario="price_-5%")
    assert not math.isnan(stress.value) and stress.fresh  # +inf: -5 % liquidates a leg 0.07 % away
    assert reason_code(stress.reason) == "leg_from_venue" and "ETHUSDT" in stress.reason
    topup = _book_fig(figs, "topup_for_shock_usd", venue="v", account="a")
    assert math.isfinite(topup.value) and reason_code(topup.reason) == "leg_from_venue"
    usd = _book_fig(figs, "net_delta_usd", asset="ETH")
    assert usd.value == pytest.approx(-0.01 * 2_000.0) and reason_code(usd.reason) == "leg_from_venue"
    carry = _book_fig(figs, "funding_carry_usd_per_day", asset="ETH")
    assert (
        math.isnan(carry.value) and reason_code(carry.reason) == "leg_unpriced" and "ETHUSDT" in carry.reason
    )
    var = _book_fig(figs, "var_usd", method="parametric", confidence="0.99")
    assert math.isnan(var.value) and var.reason == "no_price: v/ETHUSDT perp"
    untiered = _evaluate(_config("binanceusdm"), _book(BINANCE_WALLET, BTC, ETH_FROM_VENUE))[-1]
    stress = _book_fig(untiered, "stress_margin_ratio_after", venue="v", account="a", scenario="price_-5%")
    assert math.isnan(stress.value) and stress.reason == "missing_tier: v/a ETHUSDT"


def test_after_a_stream_delta_the_venues_upnl_implies_the_mark() -> None:
    """Binance drops a leg's markPrice and maintMargin on a delta but keeps its UPnL: q·(mark − entry).

    With ETH's tiers the implied mark (2,000 + (−3)/(−0.01) = 2,300) gives its MM, so the margin ratio
    stays available until the next REST snapshot, flagged.
    """
    eth = Position(
        symbol="ETHUSDT",
        side="BOTH",
        qty=-0.01,
        entry_price=2_000.0,
        margin_mode="cross",
        venue_unrealized_pnl=-3.0,
    )
    figs = _evaluate(_config("binanceusdm"), _book(BINANCE_WALLET, BTC, eth, eth_tiers=True))[-1]
    assert _fig(figs, "position_notional_usd", "ETHUSDT").value == pytest.approx(0.01 * 2_300.0)
    ratio = _fig(figs, "margin_ratio")
    eth_mm = 0.01 * 2_300.0 * 0.005
    assert ratio.value == pytest.approx((MMR * MARK + eth_mm) / (BINANCE_WALLET - 3.0), rel=1e-12)
    assert ratio.fresh and reason_code(ratio.reason) == "leg_from_venue" and "ETHUSDT" in ratio.reason


def test_an_account_past_liquidation_at_every_price_reads_distance_zero_and_fires_at_once() -> None:
    """A short 1 BTC whose wallet is −40,000: equity is below maintenance at every price, so there is no
    LP (NaN, `always_liquidatable`). That is the worst state, not an unknown one: the distance reads 0,
    the touch probability 1, and LiquidationDistance fires critical after its `for`, with no wait for
    FigureUnavailable."""
    short = Position(symbol="BTCUSDT", side="BOTH", qty=-1.0, entry_price=MARK, margin_mode="cross")
    ticks = _evaluate(_config("binanceusdm"), _book(-40_000.0, short))
    figs = ticks[-1]
    lp = _fig(figs, "liquidation_price_usd", "BTCUSDT")
    assert math.isnan(lp.value) and lp.reason == "always_liquidatable"
    dist = _fig(figs, "liquidation_distance_ratio", "BTCUSDT")
    assert dist.value == 0.0 and dist.fresh and dist.reason == "always_liquidatable"
    assert _fig(figs, "liquidation_touch_probability_ratio", "BTCUSDT").value == 1.0
    assert ("LiquidationDistance", "critical") in _fired(ticks)
