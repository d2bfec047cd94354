"""Basis calibration and process; the funding formula, grid, settlement and history."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.sim.basis import BasisProcess, fit_ou, spot_from_perp
from monitor.sim.binance.accounts import AccountEngine
from monitor.sim.funding import (
    FundingHistory,
    FundingRecord,
    funding_rate,
    historical_rates,
    next_funding_ms,
)
from monitor.sim.market import Market

H = 3_600_000


def test_fit_recovers_a_known_ou_process() -> None:
    """risk-formulas §2 check: θ within 20 %, μ within 5, σ within 2 %."""
    theta, mu, sigma = 2 / 86_400, 50.0, 40 / 86_400**0.5
    proc = BasisProcess(seed=3, start_bps=mu, theta_per_s=theta, mu_bps=mu, sigma_bps=sigma)
    path = [proc.step(60.0) for _ in range(200_000)]
    fit = fit_ou([path], 60.0)
    assert fit.theta_per_s == pytest.approx(theta, rel=0.2)
    assert fit.mu == pytest.approx(mu, abs=5)
    assert fit.sigma == pytest.approx(sigma, rel=0.02)


def test_basis_process_is_seeded() -> None:
    a, b = BasisProcess(seed=11), BasisProcess(seed=11)
    assert [a.step(60) for _ in range(5)] == [b.step(60) for _ in range(5)]
    assert spot_from_perp(99.0, 100.0) == pytest.approx(100.0)


@pytest.mark.parametrize(
    ("premium", "cap", "rate"),
    [
        (0.0, 0.003, 0.0001),
        (0.0003, 0.003, 0.0001),
        (0.001, 0.003, 0.0005),
        (-0.001, 0.003, -0.0005),
        (0.01, 0.003, 0.003),
        (-0.02, 0.003, -0.003),
        (0.00012345, 0.003, 0.0001),
    ],
)
def test_binance_funding_formula(premium: float, cap: float, rate: float) -> None:
    """F = P + clamp(I − P, ±0.05 %), capped at ±0.3 % for BTCUSDT."""
    assert funding_rate(premium, 0.0001, cap) == pytest.approx(rate, abs=1e-12)


@pytest.mark.parametrize(
    ("premium", "hours", "interest", "rate"),
    [
        (0.0020, 8, 0.0001, 0.0015),  # an 8 h interval: premium − 0.05 %
        (0.0020, 4, 0.00005, 0.00075),  # the same premium over 4 h pays half
        (0.0020, 1, 0.0000125, 0.0001875),  # and over 1 h an eighth, not 8× the annualised rate
        (0.0002, 1, 0.0000125, 0.0000125),  # inside the (pro rata) clamp: the interest rate
    ],
)
def test_binance_funding_takes_the_interval_into_account(
    premium: float, hours: int, interest: float, rate: float
) -> None:
    assert funding_rate(premium, interest, 0.02, hours) == pytest.approx(rate, abs=1e-12)


def test_next_funding_is_the_next_multiple_of_the_interval() -> None:
    assert next_funding_ms(0, 8) == 8 * H
    assert next_funding_ms(8 * H, 8) == 16 * H
    assert next_funding_ms(8 * H - 1, 4) == 8 * H


def _engine(qty: float, mode: str = "cross") -> AccountEngine:
    cfg = SimAccountConfig(
        name="a",
        api_key_env="K",
        api_secret_env="S",
        wallet_usdt=10_000.0,
        positions=(
            SimPositionConfig(
                symbol="BTCUSDT",
                qty=qty,
                entry_price=40_000.0,
                margin_mode=mode,  # type: ignore[arg-type]
                isolated_wallet=2_000.0 if mode == "isolated" else 0.0,
            ),
        ),
    )
    return AccountEngine([cfg], first_mark=lambda s: 40_000.0, marks={"BTCUSDT": 40_000.0}, now_ms=1)


def test_settlement_pays_minus_q_mark_rate_and_tells_the_user_stream() -> None:
    """Longs pay when r > 0; a cross FUNDING_FEE ACCOUNT_UPDATE carries B only."""
    engine = _engine(2.0)
    seen: list[dict] = []  # type: ignore[type-arg]
    engine.subscribe(lambda _name, ev: seen.append(ev))
    paid = engine.settle_funding("BTCUSDT", 0.0005, 41_000.0, now_ms=99)
    assert paid[0].amount == -41.0
    assert engine.accounts["a"].cross_wallet == 9_959.0
    assert seen[0]["a"]["m"] == "FUNDING_FEE" and "P" not in seen[0]["a"]
    assert seen[0]["a"]["B"][0]["cw"] == "9959.00000000"


def test_isolated_funding_goes_to_the_isolated_wallet() -> None:
    engine = _engine(-2.0, "isolated")
    seen: list[dict] = []  # type: ignore[type-arg]
    engine.subscribe(lambda _name, ev: seen.append(ev))
    engine.settle_funding("BTCUSDT", 0.0005, 41_000.0, now_ms=99)
    assert engine.accounts["a"].positions[0].isolated_wallet == 2_041.0
    assert seen[0]["a"]["P"][0]["iw"] == "2041.00000000"


def test_market_settles_when_the_wall_clock_passes_funding_time() -> None:
    clock = ManualClock(start_ns=(8 * H - 1_000) * 1_000_000)
    market = Market(replay="crash-2021-05-19", speed=60, loop=True, seed=7, clock=clock)
    assert market.due_settlements() == []
    clock.advance(2.0)
    market.advance()
    due = market.due_settlements()
    assert sorted(s.symbol for s in due) == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    assert all(s.time_ms == 8 * H for s in due)
    assert market.quotes["BTCUSDT"].next_funding_ms == 16 * H
    assert market.quotes["SOLUSDT"].next_funding_ms == 12 * H
    assert market.quotes["XRPUSDT"].next_funding_ms == 9 * H
    settled: dict[str, list[int]] = {}
    for _ in range(8):  # the next 8 hours, an hour at a time: 1 h, 4 h and 8 h each on their own grid
        clock.advance(3_600.0)
        market.advance()
        for st in market.due_settlements():
            settled.setdefault(st.symbol, []).append(st.time_ms // H)
    assert settled == {"XRPUSDT": list(range(9, 17)), "SOLUSDT": [12, 16], "BTCUSDT": [16], "ETHUSDT": [16]}


def test_history_is_the_calm_process_on_the_interval_grid_ending_at_start() -> None:
    """90 days per symbol and venue on its own grid, seeded: reproducible, its own per venue, and
    like the real month before the event (2021-05: mostly above the 0.01 % interest, never capped)."""
    end = 1_795_456_000_000
    rows = historical_rates("BTCUSDT", "E2", 8, end)
    assert len(rows) == 270
    assert rows[-1].time_ms == end and rows[0].time_ms == end - 269 * 8 * H
    assert np.all(np.diff([r.time_ms for r in rows]) == 8 * H)
    rates = np.array([r.rate for r in rows])
    assert np.all(np.abs(rates) < 0.003) and np.mean(rates > 0) > 0.9
    assert rows == historical_rates("BTCUSDT", "E2", 8, end)
    bybit = historical_rates("BTCUSDT", "E2", 8, end, venue="bybit", cap=0.005, offset=1.5e-4)
    assert [r.rate for r in bybit] != [r.rate for r in rows]
    hourly = historical_rates("BTCUSDT", "E2", 1, end, cap=0.02)  # were it hourly
    assert len(hourly) == 2_160 and np.all(np.diff([r.time_ms for r in hourly]) == H)
    # the 1 h contract pays about an eighth of the 8 h one per settlement (the interval counts)
    assert np.mean([r.rate for r in hourly]) == pytest.approx(np.mean(rates) / 8, rel=0.3)


def test_history_query_follows_the_venue_rules() -> None:
    hist = FundingHistory([FundingRecord("BTCUSDT", t, 0.0001, None) for t in range(1, 11)])
    hist.add(FundingRecord("ETHUSDT", 11, 0.0002, 1.0))
    assert [r.time_ms for r in hist.query("BTCUSDT", None, None, 3)] == [8, 9, 10]
    assert [r.time_ms for r in hist.query("BTCUSDT", 4, None, 2)] == [4, 5]
    assert [r.time_ms for r in hist.query(None, 9, 11, 100)] == [9, 10, 11]


def test_manual_clock_start_is_whole_seconds() -> None:
    assert ManualClock().now_ns() % NS_PER_S == 0
