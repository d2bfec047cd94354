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
        mark = snap.marks[("okx", "BTCUSDT")]
        assert mark.mark > 0 and not math.isnan(mark.funding_rate) and mark.next_funding_ns > 0

        def frank_down() -> bool:
            st = store.snapshot(0).feeds.get(("okx", "account:frank"))
            return st is not None and st.state == FeedState.DOWN and "not_modelled" in st.reason

        await until(frank_down, "frank's mode named as not modelled")
        assert ("okx", "frank") not in store.snapshot(0).accounts
        assert collector.stats.dropped["account_mode_not_modelled"] >= 1
    finally:
        await daemon.stop()
