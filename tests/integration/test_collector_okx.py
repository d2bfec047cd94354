"""The native OKX collector on the simulated OKX: marks and funding over the public socket, the account
over signed REST and the logged-in private socket, and an account in multi-currency margin named as
not modelled (a DOWN status with the reason) instead of computed with the wrong model."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.records import FeedState

pytestmark = pytest.mark.integration

ENV = {
    "E_KEY": "erin-okx-key", "E_SECRET": "erin-okx-secret", "E_PHRASE": "erin-Phrase-1",
    "F_KEY": "frank-okx-key", "F_SECRET": "frank-okx-secret", "F_PHRASE": "frank-Phrase-1",
}  # fmt: skip


def config(tmp_path: Path) -> Any:
    erin = {
        "name": "erin",
        "api_key_env": "E_KEY",
        "api_secret_env": "E_SECRET",
        "api_password_env": "E_PHRASE",
    }
    frank = {
        "name": "frank",
        "api_key_env": "F_KEY",
        "api_secret_env": "F_SECRET",
        "api_password_env": "F_PHRASE",
    }
    data = {
        "state_dir": str(tmp_path / "state"),
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "tick_s": 0.05,
            "speed": 60.0,
            "accounts": [
                {**erin, "venue": "okx", "wallet_usdt": 10_000.0,
                 "positions": [{"symbol": "BTCUSDT", "qty": 0.2}, {"symbol": "ETHUSDT", "qty": -3.0}]},
                {**frank, "venue": "okx", "okx_acct_lv": 3, "wallet_usdt": 5_000.0,
                 "positions": [{"symbol": "BTCUSDT", "qty": 0.1}]},
            ],
        },
        "venues": [{"name": "okx", "kind": "okx", "simulator": True, "symbols": ["BTCUSDT", "ETHUSDT"],
                    "backfill": False, "perp_books": False, "depth_levels": 0, "poll_s": 0.2,
                    "reconcile_s": 0.3, "stale_after_s": 2.0}],
        "accounts": [{**erin, "venue": "okx"}, {**frank, "venue": "okx"}],
        "evaluation": {"interval_s": 0.2, "volatility_sample_s": 1.0},
        "receivers": [{"name": "log", "type": "console"}],
    }  # fmt: skip
    return parse_config(data, ENV)


async def until(cond: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_marks_account_and_an_unmodelled_mode(tmp_path: Path) -> None:
    cfg, secrets = config(tmp_path)
    daemon = Daemon(cfg, secrets)
    try:
        await daemon.start()
        sim, (collector,) = daemon.simulator, daemon.collectors
        assert sim is not None
        store = daemon.store
        await until(lambda: ("okx", "erin") in store.snapshot(0).accounts, "erin's account")
        await until(lambda: collector.stats.connected.get("okx.user.erin") is True, "the private socket")
        snap = store.snapshot(daemon.clock.now_ns())
        legs = {(p.symbol, p.qty) for p in snap.accounts[("okx", "erin")].positions}
        assert legs == {("BTCUSDT", 0.2), ("ETHUSDT", -3.0)}  # base units from contracts × ctVal

        def forecast_on_mark() -> bool:  # a funding-rate push, then a mark carrying it
            m = store.snapshot(0).marks.get(("okx", "BTCUSDT"))
            return m is not None and m.mark > 0 and not math.isnan(m.funding_rate) and m.next_funding_ns > 0

        await until(forecast_on_mark, "a mark with the funding forecast")

        def frank_down() -> bool:
            st = store.snapshot(0).feeds.get(("okx", "account:frank"))
            return st is not None and st.state == FeedState.DOWN and "not_modelled" in st.reason

        await until(frank_down, "frank's mode named as not modelled")
        assert ("okx", "frank") not in store.snapshot(0).accounts
        assert collector.stats.dropped["account_mode_not_modelled"] >= 1
    finally:
        await daemon.stop()


def lp_config(tmp_path: Path) -> Any:
    """erin near enough to liquidation that both LPs exist: a cross BTC long and an isolated ETH short."""
    cfg, _ = config(tmp_path)
    import msgspec

    data = msgspec.to_builtins(cfg)
    erin = data["simulator"]["accounts"][0]
    erin["wallet_usdt"] = 1_500.0
    erin["positions"] = [
        {"symbol": "BTCUSDT", "qty": 0.3, "leverage": 20.0},
        {"symbol": "ETHUSDT", "qty": -4.0, "leverage": 10.0, "margin_mode": "isolated"},
    ]
    return parse_config(data, ENV)


async def test_okx_margin_ratio_and_liquidation_distance_on_metrics(tmp_path: Path) -> None:
    """perpmon's figures for an OKX account come from OKX's model (requirement with the liquidation fee,
    tiers by contracts): its margin ratio is 1 / OKX's `mgnRatio`, its LP the venue's `liqPx`, and
    /metrics shows both with the liquidation distance. The market is paused so both sides see one instant."""
    import aiohttp

    cfg, secrets = lp_config(tmp_path)
    daemon = Daemon(cfg, secrets)
    try:
        await daemon.start()
        sim = daemon.simulator
        assert sim is not None
        store = daemon.store
        await until(lambda: ("okx", "erin") in store.snapshot(0).accounts, "erin's account")
        sim.pause()
        views = {v.p.symbol: v for v in sim.okx.engine.views("erin")}

        url = f"http://127.0.0.1:{daemon.http.bound_port}/metrics"
        got: dict[str, float] = {}

        async def scrape() -> dict[str, float]:
            """erin's perpmon_* samples by name and symbol, read from /metrics."""
            async with aiohttp.ClientSession() as http, http.get(url) as r:
                text = await r.text()
            out = {}
            for line in text.splitlines():
                if line.startswith("perpmon_") and 'account="erin"' in line and 'venue="okx"' in line:
                    name, _, rest = line.partition("{")
                    labels, _, value = rest.rpartition("} ")
                    symbol = next(
                        (x.split("=")[1].strip('"') for x in labels.split(",") if x.startswith("symbol=")), ""
                    )
                    out[f"{name.removeprefix('perpmon_')}:{symbol}"] = float(value)
            return out

        async def settled() -> bool:
            got.update(await scrape())
            return all(
                math.isclose(
                    got.get(f"liquidation_price_usd:{s}", math.nan), v.liq_px or math.nan, rel_tol=1e-6
                )
                for s, v in views.items()
            )

        loop = asyncio.get_running_loop()
        end = loop.time() + 30.0
        while not await settled():
            assert loop.time() < end, f"perpmon's LPs never met the venue's liqPx: {got}"
            await asyncio.sleep(0.2)
        f = got
        cross = views["BTCUSDT"]
        assert math.isclose(f["margin_ratio:"], 1 / cross.mgn_ratio, rel_tol=1e-6)
        for s in views:
            assert f[f"liquidation_price_divergence_ratio:{s}"] < 1e-6
            assert 0 < f[f"liquidation_distance_ratio:{s}"] < 1
    finally:
        await daemon.stop()
