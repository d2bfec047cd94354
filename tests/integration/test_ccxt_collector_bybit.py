"""The generic ccxt.pro collector with `exchange = "bybit"`, against the simulated Bybit v5.

Beside the native Bybit collector, the generic path is what a user gets for any ccxt venue; here
it is pointed at the simulator by the daemon's own endpoint choice (`Daemon.build_venue`), and
the records that come out of ccxt's unified API must equal what the simulated venue holds.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from monitor.app import Daemon
from monitor.collectors.generic.collector import CcxtProCollector
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import FundingInfo, LeverageTiers, MarkPrice
from monitor.sim.testing import fast_config, running_simulator
from monitor.supervise import Supervisor
from tests.integration.test_collector_bybit import CAROL, DAVE, ENV, KEYS, venue_legs

pytestmark = pytest.mark.integration

VENUE: dict[str, Any] = {
    "name": "bybit",
    "kind": "ccxt",
    "exchange": "bybit",
    "simulator": True,
    "symbols": ["BTCUSDT", "SOLUSDT"],
    "poll_s": 0.3,
    "stale_after_s": 3.0,
}


async def test_ccxt_bybit_gives_the_venue_state() -> None:
    """Marks, funding intervals (SOLUSDT hourly), risk tiers and carol's account equal the simulated Bybit."""
    sim_cfg = fast_config(accounts=(*fast_config().accounts, CAROL, DAVE))
    cfg, secrets = parse_config(
        {
            "simulator": msgspec.to_builtins(sim_cfg),
            "venues": [VENUE],
            "accounts": [
                {
                    "name": "carol",
                    "venue": "bybit",
                    "api_key_env": "SIM_CAROL_KEY",
                    "api_secret_env": "SIM_CAROL_SECRET",
                }
            ],
        },
        ENV,
    )
    async with running_simulator(sim_cfg, keys=KEYS) as s:
        daemon = Daemon(cfg, secrets, clock=s.clock)
        daemon.simulator = s
        store = daemon.store = RecordingStore()
        collector = daemon.build_venue(cfg.venues[0], cfg, secrets)  # the daemon's endpoints for it
        assert isinstance(collector, CcxtProCollector)
        await collector.check_keys()  # the venue's own key call (GET /v5/user/query-api) via ccxt
        sup = Supervisor(s.clock)
        for name, factory in collector.tasks().items():
            sup.spawn(name, factory)
        try:
            snap = lambda: store.snapshot(s.clock.now_ns())  # noqa: E731
            await wait_until(
                lambda: (
                    {("bybit", "BTCUSDT"), ("bybit", "SOLUSDT")} <= set(snap().marks)
                    and ("bybit", "carol") in snap().accounts
                ),
                15,
                "marks and the account over ccxt bybit",
            )
            s.pause()
            q = s.bybit.market.quotes

            def same() -> bool:
                m = snap().marks
                return all(
                    math.isclose(m[("bybit", k)].mark, q[k].mark, abs_tol=tick / 2 + 1e-9)
                    and math.isclose(m[("bybit", k)].index, q[k].index, abs_tol=tick / 2 + 1e-9)
                    for k, tick in (("BTCUSDT", 0.1), ("SOLUSDT", 0.01))
                )

            await wait_until(same, 10, "the frozen Bybit marks (not Binance's: the venue premium differs)")
            assert snap().marks[("bybit", "BTCUSDT")].mark != s.market.quotes["BTCUSDT"].mark
            await wait_until(
                lambda: {f.symbol for f in store.of(FundingInfo)} >= {"BTCUSDT", "SOLUSDT"}, 10, "funding"
            )
            intervals = {f.symbol: f.interval_s for f in store.of(FundingInfo)}
            assert intervals == {"BTCUSDT": 8 * 3600.0, "SOLUSDT": 3600.0}
            await wait_until(lambda: bool(store.of(LeverageTiers)), 10, "risk tiers")
            tiers = {t.symbol: t for t in store.of(LeverageTiers)}
            venue_pos = s.bybit.engine.position("carol", "BTCUSDT")
            assert venue_pos is not None and tiers["BTCUSDT"].brackets[0].mmr == venue_pos.mmr

            def account_equal() -> bool:
                acct = snap().accounts[("bybit", "carol")]
                mine = {
                    (p.symbol, p.side): (p.qty, p.entry_price, p.margin_mode) for p in acct.positions if p.qty
                }
                usdt = [b.wallet_balance for b in acct.balances if b.asset == "USDT"]
                return mine == venue_legs(s, "carol") and usdt == [s.bybit.engine.wallet("carol").wallet]

            await wait_until(account_equal, 10, "carol's legs and wallet")
            # the evaluator takes ccxt's bybit on Bybit's margin model, as it does the native collector
            now = s.clock.now_ns()
            figs = Evaluator(cfg, started_ns=now).evaluate(store.snapshot(now), now)
            ratio = next(
                f
                for k, f in figs.items.items()
                if k.name == "margin_ratio" and k.labels().get("account") == "carol"
            )
            assert math.isclose(ratio.value, s.bybit.engine.wallet("carol").mm_rate, rel_tol=1e-4)
            divergence = [
                f.value
                for k, f in figs.items.items()
                if k.name == "liquidation_price_divergence_ratio" and k.labels().get("account") == "carol"
            ]
            assert divergence and divergence[0] < 1e-5  # perpmon's LP is the venue's liqPrice
            assert not collector.stats.dropped
            assert all(r.venue == "bybit" for r in store.of(MarkPrice))
        finally:
            await sup.stop()
