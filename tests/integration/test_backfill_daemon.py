"""A daemon started on the simulator with the live grid (60 s bars, GARCH after 100 returns, a one-hour
VaR horizon) has GARCH and VaR at its first refit, from the venue's history, instead of after 100 min.

Without the backfill none of these figures could exist before 100 live minutes; the test waits at
most a minute. The first fit (cold, no previous parameters) is recorded and checked against a fit on
the simulator's own candles: identical data, identical parameters.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.app import Daemon
from monitor.config import EvaluationConfig, parse_config
from monitor.evaluation.models import MarketModel, finished
from monitor.refit import fit_market_job
from monitor.risk.garch import fit_garch, has_params
from monitor.risk.volatility import log_returns
from monitor.sim.klines import MINUTE_MS
from monitor.store.state import Snapshot
from tests.integration.test_risk_figures import MKT, finite, scrape
from tests.support.perpmon import sim_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KEY = ("binance", "BTCUSDT")
WANTED = [
    ("volatility_garch_annualized_ratio", MKT),
    *[("var_usd", (("confidence", "0.99"), ("method", m))) for m in ("parametric", "historical")],
]


async def test_garch_and_var_from_history_at_the_first_refit(tmp_path: Path) -> None:
    data, env = sim_config(tmp_path, {"hedge": (400_000.0, -50.0, "cross", 0.0)}, holdings={"custody": 50.0})
    data["simulator"].update(speed=60.0)
    data["evaluation"].update(
        volatility_sample_s=60.0,
        horizon_s=3_600.0,
        var_horizon_s=3_600.0,
        garch_min_obs=100,
        refit_s=600.0,
        history_points=1_500,
        mc_paths=500,
    )
    cfg, secrets = parse_config(data, env)
    daemon = Daemon(cfg, secrets)
    fits: list[tuple[Snapshot, MarketModel | None, MarketModel]] = []

    def recording(
        snap: Snapshot, ev: EvaluationConfig, key: tuple[str, str], prev: MarketModel | None
    ) -> MarketModel:
        out = fit_market_job(snap, ev, key, prev)
        if key == KEY:
            fits.append((snap, prev, out))
        return out

    daemon.refresher._fit_market = recording
    await daemon.start()
    try:
        sim = daemon.simulator
        assert sim is not None
        loop = asyncio.get_running_loop()
        end, missing = loop.time() + 60.0, WANTED
        m: dict[Any, float] = {}
        while missing and loop.time() < end:
            await asyncio.sleep(0.5)
            m = await scrape(daemon.http.bound_port)
            missing = [(n, labs) for n, labs in WANTED if not finite(m, n, labs)]
        assert missing == [], "figures without a value"
        # the mark feed is live and fresh; history did not have to stand in for it
        assert m[("perpmon_volatility_garch_annualized_ratio", MKT)] > 0
        snap, prev, first = fits[0]
        assert prev is None  # a cold fit
        start_minute = sim.klines.start_ms // MINUTE_MS * MINUTE_MS
        ts, marks = finished(snap.mark_grid[KEY])
        before = ts < start_minute * 1_000_000
        assert before.sum() >= 1_400  # the grid came from the venue's history
        now_ms = sim.clock.now_ns() // 1_000_000
        rows = sim.klines.query(
            "mark", "BTCUSDT", MINUTE_MS, int(ts[0]) // 1_000_000, None, int(before.sum()), now_ms
        )
        venue = np.array([c.close for c in rows])
        assert np.array_equal(marks[before], venue)  # every backfilled bucket is the venue's candle close
        # GARCH on the simulator's own path (live buckets since start-up, if any, as the store has them)
        series = np.concatenate([venue, marks[~before]])
        direct = fit_garch(log_returns(series), min_obs=100)
        got = first.garch
        assert has_params(got) and math.isfinite(direct.sigma2_next)
        assert (got.omega, got.alpha, got.beta, got.nu, got.sigma2_next) == (
            direct.omega,
            direct.alpha,
            direct.beta,
            direct.nu,
            direct.sigma2_next,
        )
        history = daemon.refresher.models.history
        assert history.reason == "" and history.returns.shape[0] >= 1_000
        feeds = daemon.store.snapshot(sim.clock.now_ns()).feeds
        assert feeds[("binance", "mark:BTCUSDT")].messages > 0  # heard live, not from history
    finally:
        await daemon.stop()
