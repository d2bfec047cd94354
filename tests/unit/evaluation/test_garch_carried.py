"""The GARCH columns carried between ticks (dynamics `_Stepped`) and the forecasts planned on them.

A tick whose grids finished no bar since the last one takes the last tick's GARCH columns, and
advice looks up only the markets without a finite GARCH σ (`_ForecastPlan`). Here such a tick is a
hit and emits exactly what a tick that forgot everything emits; a finished bar, a grid whose
revision moved (a backfill) or a new models record is a miss, seen at once.
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType

import msgspec
import numpy as np
import pytest

from monitor.evaluation import advice_kept, advice_legs, book_var, book_var_legs, dynamics
from monitor.evaluation.advice_forecast import _forecasts, forecast_vol
from monitor.evaluation.book_var_legs import leg_exposures
from monitor.evaluation.models import RiskModels
from monitor.records import FigureKey, SettledFunding
from tests.unit.evaluation.desk import STEP_S, Desk, S, desk, models
from tests.unit.evaluation.test_risk_stage_kept import assert_identical, forget, reput_accounts, tick

GARCH = "volatility_garch_annualized_ratio"


@pytest.fixture
def world() -> tuple[Desk, RiskModels]:
    forget()
    d = desk(16, 90, seed=7, n_accounts=5, bars=160)
    return d, models(d)


def moved(d: Desk, now_ns: int, factor: float) -> Desk:
    """Every market's next mark at `now_ns`, each moved by `factor`."""
    for m in list(d.snapshot().marks.values()):
        d.store.put(msgspec.structs.replace(m, mark=m.mark * factor, ts_event_ns=now_ns, ts_recv_ns=now_ns))
    return dataclasses.replace(d, now_ns=now_ns)


def garch_values(figs: dict[FigureKey, object]) -> dict[FigureKey, float]:
    return {k: f.value for k, f in figs.items() if k.name == GARCH}  # type: ignore[attr-defined]


def test_a_tick_inside_the_bar_takes_the_kept_columns(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    step_ns = int(STEP_S * S)
    assert d.now_ns % step_ns < step_ns - S  # the next second is in the same bucket
    tick(d, d.snapshot(), mods)
    stepped = dynamics._SHARED.stepped
    assert stepped is not None
    d = moved(d, d.now_ns + S, 1.002)
    kept = tick(d, d.snapshot(), mods)
    assert dynamics._SHARED.stepped is stepped  # a hit
    assert advice_kept._SHARED.forecast.garch is stepped.out and advice_kept._SHARED.forecast.plans
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))


def test_a_finished_bar_steps_the_recursion_again(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    step_ns = int(STEP_S * S)
    before = tick(d, d.snapshot(), mods)
    stepped = dynamics._SHARED.stepped
    d = moved(d, d.now_ns - d.now_ns % step_ns + step_ns + S, 1.05)  # the bar that was filling is done
    kept = tick(d, d.snapshot(), mods)
    assert dynamics._SHARED.stepped is not stepped
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))
    old, new = garch_values(before), garch_values(kept)
    assert any(not math.isnan(v) and v != old[k] for k, v in new.items())  # the new bar's return counts


def test_a_moved_revision_or_new_models_record_is_a_miss(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    tick(d, d.snapshot(), mods)
    stepped = dynamics._SHARED.stepped
    snap = d.snapshot()
    bars = snap.mark_grid_bars
    assert bars is not None and bars.grids is snap.mark_grid
    later = msgspec.structs.replace(bars, revision=bars.revision + 1)
    backfilled = dataclasses.replace(snap, mark_grid_bars=later)
    tick(d, backfilled, mods)
    assert dynamics._SHARED.stepped is not stepped
    again = dynamics._SHARED.stepped
    key = next(k for k, m in sorted(mods.markets.items()) if not math.isnan(m.garch.alpha))
    m = mods.markets[key]
    refit = dataclasses.replace(
        mods, markets={**mods.markets, key: dataclasses.replace(
            m, garch=msgspec.structs.replace(m.garch, omega=m.garch.omega * 2))},
    )  # fmt: skip
    kept = tick(d, backfilled, refit)
    assert dynamics._SHARED.stepped is not again
    forget()
    assert_identical(kept, tick(d, backfilled, refit))


def test_planned_forecasts_equal_forecast_vol_per_market(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    tick(d, d.snapshot(), mods)
    stepped = dynamics._SHARED.stepped
    assert stepped is not None
    garch = stepped.out
    keys = tuple(garch)
    views = {k: _View(sigma_ann=0.5 if i % 3 else math.nan) for i, k in enumerate(keys[::2])}
    assert any(not math.isfinite(g.sigma_ann) for g in garch.values())  # some fall back
    for _ in range(2):  # planned, then taken from the plan
        sigma, why = _forecasts(keys, garch, views, advice_kept._SHARED)  # type: ignore[arg-type]
        want = [forecast_vol(k, garch, views) for k in keys]  # type: ignore[arg-type]
        np.testing.assert_array_equal(sigma, [s for s, _ in want])
        assert why == [w for _, w in want]
    assert advice_kept._SHARED.forecast.plans[0][0] is keys


@dataclasses.dataclass(frozen=True)
class _View:
    sigma_ann: float


def test_settled_funding_columns_kept_until_a_settlement_lands(world: tuple[Desk, RiskModels]) -> None:
    """The desk has no settlement yet; the venue's history for one market then lands."""
    d, mods = world
    tick(d, d.snapshot(), mods)
    held = dynamics._SHARED.settled
    assert held is not None
    d = moved(d, d.now_ns + S, 1.001)
    kept = tick(d, d.snapshot(), mods)
    assert dynamics._SHARED.settled is held  # a hit
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))
    venue, symbol = next(iter(d.snapshot().marks))
    at = d.now_ns - d.now_ns % (3600 * S)
    d.store.put(SettledFunding(venue=venue, ts_event_ns=d.now_ns, ts_recv_ns=d.now_ns, symbol=symbol,
                               times_ns=(at,), rates=(0.00041,)))  # fmt: skip
    kept = tick(d, d.snapshot(), mods)
    assert dynamics._SHARED.settled is not held
    rate = kept[FigureKey(name="funding_settled_rate_ratio", venue=venue, symbol=symbol)]
    assert (rate.value, rate.reason) == (0.00041, "")
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))


def test_topup_plan_kept_with_the_legs_and_remade_when_a_tier_goes(world: tuple[Desk, RiskModels]) -> None:
    """`account_topups` reads each account's cross legs and missing tiers from a plan per legs record."""
    d, mods = world
    tick(d, d.snapshot(), mods)
    plan = advice_legs._SHARED.topups
    assert plan is not None
    reput_accounts(d)  # equal records: the same legs, the same plan
    d = moved(d, d.now_ns + S, 0.999)
    kept = tick(d, d.snapshot(), mods)
    assert advice_legs._SHARED.topups is plan
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))
    snap = d.snapshot()
    (venue, account, symbol), rec = next(
        (k, r) for k, r in sorted(snap.tiers.items()) if k[0] == "binance" and any(
            p.symbol == k[2] and p.qty != 0 and p.margin_mode == "cross"
            for p in snap.accounts[(k[0], k[1])].positions)
    )  # fmt: skip
    d.store.put(msgspec.structs.replace(rec, brackets=()))
    kept = tick(d, d.snapshot(), mods)
    assert advice_legs._SHARED.topups is not plan
    topup = kept[FigureKey(name="topup_for_shock_usd", venue=venue, account=account)]
    assert math.isnan(topup.value) and topup.reason.startswith("missing_tier: ") and symbol in topup.reason
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))


def test_ou_reasons_kept_while_the_same_markets_have_a_spot_history(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    tick(d, d.snapshot(), mods)
    held = dynamics._SHARED.ou
    assert held is not None
    d = moved(d, d.now_ns + S, 1.001)
    kept = tick(d, d.snapshot(), mods)
    assert dynamics._SHARED.ou is held
    forget()
    assert_identical(kept, tick(d, d.snapshot(), mods))
    snap = d.snapshot()
    key = next(k for k in sorted(mods.markets) if k in snap.spot_grid)
    lost = dataclasses.replace(
        snap, spot_grid=MappingProxyType({k: g for k, g in snap.spot_grid.items() if k != key})
    )  # a market without its spot history
    kept = tick(d, lost, mods)
    assert dynamics._SHARED.ou is not held
    got = kept[FigureKey(name="basis_ou_mean_usd", venue=key[0], symbol=key[1])]
    assert math.isnan(got.value) and got.reason == "no_spot_history"
    forget()
    assert_identical(kept, tick(d, lost, mods))


def test_kept_book_exposures_equal_leg_exposures_with_and_without_every_price(
    world: tuple[Desk, RiskModels],
) -> None:
    """book_var_legs' per-tick exposures over the kept legs, read in C-level passes, are `leg_exposures`."""
    d, _mods = world
    snap = d.snapshot()
    kept = book_var_legs._book(snap, book_var.BookVarKept())
    assert kept.spot_keys and kept.perp_keys  # both kinds of leg
    spot, perp = kept.spot_keys[0], kept.perp_keys[0]
    gaps = dataclasses.replace(
        snap,
        quotes=MappingProxyType({k: q for k, q in snap.quotes.items() if k != spot}),
        marks=MappingProxyType({k: m for k, m in snap.marks.items() if k != perp}),
    )  # one spot book and one mark missing: NaN for their legs
    for s in (snap, gaps):
        exposure, px = book_var_legs._exposures(s, kept)
        prices: dict[tuple[str, str, str], float] = {}
        want, _unpriced = leg_exposures(s, kept.markets, prices)
        assert list(want) == list(kept.legs)
        np.testing.assert_array_equal(exposure, list(want.values()))
        np.testing.assert_array_equal(px, [prices[leg] for leg in kept.legs])
    assert math.isnan(book_var_legs._exposures(gaps, kept)[1][kept.legs.index((*perp, "perp"))])
