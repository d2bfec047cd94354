"""Time from daemon start to the first GARCH and VaR figures, with and without the history backfill.

The live grid (60 s bars, 100 returns before GARCH, one-hour VaR horizon) on the simulator: with the
backfill both come from the venue's candles at the first refit; without it they need 100 live
minutes, so that run is cut off at `CAP_S` and reported as "none within". Same machine, same run.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config

CAP_S = 45.0
MKT = (("symbol", "BTCUSDT"), ("venue", "binance"))
WANTED = {
    "garch": ("perpmon_volatility_garch_annualized_ratio", MKT),
    "var_historical": ("perpmon_var_usd", (("confidence", "0.99"), ("method", "historical"))),
    "var_parametric": ("perpmon_var_usd", (("confidence", "0.99"), ("method", "parametric"))),
}


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        text = await r.text()
    return {
        (x.name, tuple(sorted(x.labels.items()))): x.value
        for fam in text_string_to_metric_families(text)
        for x in fam.samples
    }


async def first_figures(backfill: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data, env = sim_config(Path(tmp), {"hedge": (400_000.0, -50.0, "cross", 0.0)}, holdings={"c": 50.0})
        data["simulator"].update(speed=60.0)
        data["venues"][0]["backfill"] = backfill
        data["log"]["level"] = "error"
        data["evaluation"].update(
            volatility_sample_s=60.0, horizon_s=3_600.0, var_horizon_s=3_600.0, garch_min_obs=100,
            refit_s=5.0, history_points=4_096, mc_paths=500,
        )  # fmt: skip
        cfg, secrets = parse_config(data, env)
        daemon = Daemon(cfg, secrets)
        t0, wall0 = time.perf_counter(), time.time_ns()
        await daemon.start()
        seen: dict[str, float] = {}
        try:
            while len(seen) < len(WANTED) and time.perf_counter() - t0 < CAP_S:
                await asyncio.sleep(0.25)
                m = await scrape(daemon.http.bound_port)
                for name, key in WANTED.items():
                    if name not in seen and math.isfinite(m.get(key, math.nan)):
                        seen[name] = time.perf_counter() - t0
            for c in daemon.collectors:
                done = getattr(getattr(c, "history", None), "first_done_ns", 0)
                if done and backfill:
                    seen["backfill_done"] = (done - wall0) / 1e9
                    seen["backfill_requests"] = c.history.requests  # type: ignore[attr-defined]
        finally:
            await daemon.stop()
        return seen


def main() -> None:
    for backfill in (False, True):
        seen = asyncio.run(first_figures(backfill))
        cells = [f"{n} {seen[n]:.1f} s" if n in seen else f"{n} none within {CAP_S:.0f} s" for n in WANTED]
        if "backfill_done" in seen:
            cells.append(f"fill of 2 x 4,096 bars + funding done at {seen['backfill_done']:.2f} s")
            cells.append(f"{seen['backfill_requests']:.0f} requests")
        print(f"backfill={'on ' if backfill else 'off'}: " + ", ".join(cells))
    print("without backfill GARCH needs garch_min_obs x 60 s = 100 min of live bars (analytic)")


if __name__ == "__main__":
    main()
