"""Simulated funding against the real settlements of each shipped window (issue 14).

What is compared, and why this is the honest version of it:

* **the same clock.** The real window is every 8-hour BTCUSDT settlement within ±3 days of the
  crash (Binance's own, a slice of tests/testdata/sim/binance_um_BTCUSDT_funding_8h.csv). The
  simulated market runs over that same span in *replay* time, its funding grid anchored on the
  real clock, so each simulated settlement covers the same 8 hours as the real one it is paired
  with. A live replay is shorter than one interval, which is why the comparison is done in replay
  time and not on the wall clock.
* **what the simulator knows.** Minute prices exist only for the crash hours; before and after,
  the path is held flat at the window's first and last price, so the simulated market is calm
  there by construction (its realized volatility is nil). Its calm premium level is the one of
  each regime around the window, a replay of history (`premium_fit.window_levels`, the constants
  `premium.WINDOW_LEVELS`): the censored-MLE level of the real settlements of the 3 days before the
  first bar, of the intervals over the window's calm hours, and of the 3 days after the last bar
  (one level for both sides when the window has no crash hour: the regime changes at a crash).
  So these are in-sample levels by regime, not the settlements themselves: each simulated
  settlement is its regime's level plus the calm noise, pushed through the formula, with the crash
  regime on top where the minute bars crash. The hourly basis is not used to fit them.
* **the model, not one draw.** Figures pool five seeds, so a pass does not hinge on a lucky seed.
* **premium.** The simulated basis (spot − perp, bps of spot) at the real hourly closes inside the
  window, pooled over the seeds, against the real hourly basis of those same hours (the levels
  come from funding, so this checks them against a second source).

2020-03-12 passes for that reason: the three days after Black Thursday were a slow, persistent
discount (funding −0.5 … −7.6 bps, P̄ about −10 bps; its calm hours before the crash already at
−6.5 bps), and the window and lead-out now play the levels those hours' settlements give, so the
discount shows as one (before, at the month-before level of +9
bps, it played funding at the interest rate: sign agreement 50 %, simulated basis −9.5 bps
against the real +9.9).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from monitor.clock import ManualClock
from monitor.sim.market import Market
from monitor.sim.replay import EVENTS, PricePath, load_bars
from monitor.sim.symbols import symbol_spec

DATA = Path(__file__).parents[2] / "testdata" / "sim"
DAY_MS, H8_MS = 86_400_000, 8 * 3_600_000
SEEDS = (1, 2, 3, 4, 5)
CAP = 0.003


def _real_funding() -> dict[int, float]:
    with (DATA / "binance_um_BTCUSDT_funding_8h.csv").open() as fh:
        return {int(r["calc_time"]) // 1000 * 1000: float(r["last_funding_rate"]) for r in csv.DictReader(fh)}


def _real_basis(event: str) -> list[tuple[int, float]]:
    """(hour close ms, basis bps of spot) of the window's real hours."""
    import datetime as dt

    out = []
    with (DATA / "derived_basis_1h_crash_windows.csv").open() as fh:
        for r in csv.DictReader(fh):
            if r["event"].startswith(event + "_"):
                opened = dt.datetime.fromisoformat(r["hour_open_utc"].replace("Z", "+00:00"))
                out.append((int(opened.timestamp() * 1000) + 3_600_000, float(r["basis_close_bps_of_spot"])))
    return out


def _figures(replay: str) -> dict[str, float]:
    bars = load_bars(replay)
    first, last = bars[0].open_ms, bars[-1].open_ms + 60_000
    real = {t: r for t, r in _real_funding().items() if first - 3 * DAY_MS <= t <= last + 3 * DAY_MS}
    start = min(real) - H8_MS  # the interval the first real settlement closes
    lead, tail = (first - start) / 1000, (max(real) - last) / 1000 + 60
    bar_path = PricePath.from_bars(bars)
    path = PricePath(
        np.concatenate([[0.0], bar_path.times + lead, [bar_path.times[-1] + lead + tail]]),
        np.concatenate([[bar_path.prices[0]], bar_path.prices, [bar_path.prices[-1]]]),
    )
    btc = symbol_spec("BTCUSDT")
    assert btc is not None
    pairs: list[tuple[float, float]] = []
    sim_basis: list[float] = []
    hours = _real_basis(EVENTS[replay].split("_", 1)[0])
    for seed in SEEDS:
        clock = ManualClock()
        m = Market(
            replay=replay, speed=3_600.0, loop="stop", seed=seed, clock=clock, path=path,
            symbols=(btc,), epoch_ms=start,
        )  # fmt: skip
        while m.elapsed_s < m.duration_s:
            clock.advance(1.0)
            m.advance()
        sim = {round(t * 1000): r for t, r in m.replay_settlements["BTCUSDT"]}
        pairs += [(r, sim[t]) for t, r in sorted(real.items())]
        for close_ms, _bps in hours:
            lst, index, *_ = m.state_at("BTCUSDT", (close_ms - start) / 1000)
            sim_basis.append((index - lst) / index * 1e4)
    real_rates = np.array([r for r, _ in pairs])
    sim_rates = np.array([s for _, s in pairs])
    return {
        "n": len(real),
        "cap_real": float(np.mean(np.abs(real_rates) >= CAP - 1e-9)),
        "cap_sim": float(np.mean(np.abs(sim_rates) >= CAP - 1e-9)),
        "sign_agreement": float(np.mean(np.sign(real_rates) == np.sign(sim_rates))),
        "basis_median_real": float(np.median([b for _, b in hours])),
        "basis_median_sim": float(np.median(sim_basis)),
    }


_FIGURES: dict[str, dict[str, float]] = {}


def figures(replay: str) -> dict[str, float]:
    if replay not in _FIGURES:
        _FIGURES[replay] = _figures(replay)
        print(replay, _FIGURES[replay])  # the measured figures, for the record (pytest -s)
    return _FIGURES[replay]


@pytest.mark.parametrize("replay", sorted(EVENTS))
def test_fraction_of_settlements_at_the_cap_is_the_real_one_within_5_points(replay: str) -> None:
    f = figures(replay)
    assert abs(f["cap_sim"] - f["cap_real"]) <= 0.05, f


@pytest.mark.parametrize("replay", sorted(EVENTS))
def test_funding_sign_agrees_on_at_least_80_percent_of_settlements(replay: str) -> None:
    f = figures(replay)
    assert f["sign_agreement"] >= 0.8, f


@pytest.mark.parametrize("replay", sorted(EVENTS))
def test_premium_median_is_within_2x_of_the_real_hourly_basis(replay: str) -> None:
    f = figures(replay)
    real, sim = f["basis_median_real"], f["basis_median_sim"]
    assert real * sim > 0 and 0.5 <= sim / real <= 2.0, f
