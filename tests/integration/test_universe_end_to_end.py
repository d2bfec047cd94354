"""End to end on a generated universe: `symbols = ["*"]` watches every listed contract, every
generated account's position is priced.

The simulator lists the four real contracts plus 50 generated ones and holds 100 generated
positions in 5 generated accounts; the daemon's venue entry names no symbol (`["*"]`) and its
accounts are the generated ones (added by the config, keys derived). The daemon must resolve the
listing from the simulator's exchangeInfo, stream all 54 marks, and price every account and leg.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.records import Figures

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N, P, A = 50, 100, 5


def config(tmp: Path) -> Any:
    data = {
        "state_dir": str(tmp / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "speed": 10.0,
            "tick_s": 0.2,
            "universe_symbols": N,
            "universe_positions": P,
            "universe_accounts": A,
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["*"],
                "depth_levels": 0,
                "backfill": False,
                "poll_s": 0.5,
            },
            {  # Bybit lists its own three (the universe is Binance's): resolved from instruments-info
                "name": "bybit",
                "kind": "bybit",
                "simulator": True,
                "symbols": ["*"],
                "depth_levels": 0,
                "backfill": False,
            },
        ],
        "evaluation": {"interval_s": 0.2},
    }
    return parse_config(data, {})


def _complete(fig: Figures | None, symbols: set[str], legs: set[tuple[str, str]], accounts: set[str]) -> bool:
    if fig is None:
        return False
    marks = {
        k.symbol
        for k, f in fig.items.items()
        if k.name == "mark_price_usd" and k.venue == "binance" and f.available and f.fresh
    }
    ratios = {k.account for k, f in fig.items.items() if k.name == "margin_ratio" and f.available}
    lps = {  # a price, or the answer that no price liquidates the leg (a well-funded cross account)
        (k.account, k.symbol)
        for k, f in fig.items.items()
        if k.name == "liquidation_price_usd" and (not math.isnan(f.value) or f.reason == "not_liquidatable")
    }
    return symbols <= marks and accounts <= ratios and legs <= lps


async def test_star_watches_every_listed_symbol_and_prices_every_generated_position(tmp_path: Path) -> None:
    cfg, secrets = config(tmp_path)
    names = {a.name for a in cfg.accounts}
    assert names == {f"u{k:03d}" for k in range(1, A + 1)}  # the generated accounts, watched
    daemon = Daemon(cfg, secrets)
    await daemon.start()
    try:
        sim = daemon.simulator
        assert sim is not None
        sim.pause()  # frames keep coming; no liquidation takes a leg away while the test looks
        symbols = set(sim.market.specs)
        assert len(symbols) == 4 + N
        venue = daemon.cfg.venues[0]
        assert set(venue.symbols) == symbols | {"*"}  # resolved from the simulator's exchangeInfo
        assert set(daemon.cfg.venues[1].symbols) == set(sim.bybit.market.specs) | {"*"}
        legs = {(n, p.symbol) for n in names for p in sim.engine.accounts[n].positions}
        assert len(legs) == P
        loop = asyncio.get_running_loop()
        end = loop.time() + 60.0
        while not _complete(daemon.latest, symbols, legs, names):
            assert loop.time() < end, "not every mark, margin ratio and liquidation price arrived"
            await asyncio.sleep(0.2)
        fig = daemon.latest
        assert fig is not None
        priced = [
            f for k, f in fig.items.items() if k.name == "liquidation_price_usd" and not math.isnan(f.value)
        ]
        assert len(priced) >= P // 2  # most legs have a liquidation price (isolated ones all do)
        for name in names:  # the daemon's ratio is the simulator's own, for every generated account
            ours = next(
                f.value for k, f in fig.items.items() if k.name == "margin_ratio" and k.account == name
            )
            assert ours == pytest.approx(sim.engine.margin_ratio(name), rel=0.05)
        # the evaluator rebuilt for the listed symbols still times its stages for /metrics
        assert {"feeds", "market", "account", "risk", "join"} <= set(daemon.eval_stats.stages_s)
    finally:
        await daemon.stop()
