"""The native Hyperliquid collector against the simulated one: marks, funding, tiers, accounts, faults.

The daemon's own collector (`build_collector`) on loopback with 50 ms ticks, accounts read by
address (no key variables), writing into a recording store.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest

from monitor.clock import LiveClock
from monitor.collectors import build_collector
from monitor.collectors.base import Collector
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.config import parse_config
from monitor.records import AccountSnapshot, FeedState, FeedStatus, FundingInfo, LeverageTiers
from monitor.sim.hyperliquid.testing import ERIN, FRANK, hyperliquid_config
from monitor.sim.server import Simulator
from monitor.supervise import Supervisor
from monitor.venues import endpoints

pytestmark = pytest.mark.integration
COINS = ["BTC", "ETH", "SOL"]


@contextlib.asynccontextmanager
async def running(**venue: Any) -> AsyncIterator[tuple[Simulator, RecordingStore, Collector]]:
    sim_cfg = hyperliquid_config()
    env = {
        n: "k" for a in sim_cfg.accounts for n in (a.api_key_env, a.api_secret_env) if n
    }  # Binance's, Bybit's
    data = {
        "simulator": msgspec.to_builtins(sim_cfg),
        "venues": [{"name": "hl", "kind": "hyperliquid", "simulator": True, "symbols": COINS,
                    "poll_s": 1.0, "stale_after_s": 1.0,  # weight 2 a poll: far inside 1,200/min
                    "backfill": False, **venue}],
        "accounts": [{"name": "erin", "venue": "hl", "address": ERIN},
                     {"name": "frank", "venue": "hl", "address": FRANK}],
    }  # fmt: skip
    cfg, secrets = parse_config(data, env)
    clock = LiveClock()
    from monitor.sim.testing import running_simulator

    async with running_simulator(sim_cfg, clock=clock) as sim:
        store = RecordingStore()
        sup = Supervisor(clock)
        (v,) = cfg.venues
        c = build_collector(v, cfg, secrets, endpoints(v, sim), store, clock)
        await c.check_keys()  # an address: nothing to refuse
        for name, factory in c.tasks().items():
            sup.spawn(name, factory)
        try:
            yield sim, store, c
        finally:
            await sup.stop()


async def test_marks_funding_tiers_and_accounts_are_the_venues() -> None:
    async with running() as (sim, store, c):
        snap = lambda: store.snapshot(LiveClock().now_ns())  # noqa: E731
        accounts = {("hl", "erin"), ("hl", "frank")}
        await wait_until(
            lambda: all(("hl", c) in snap().marks for c in COINS) and accounts <= set(snap().accounts),
            15,
            "marks and both accounts",
        )
        sim.pause()
        ctxs = sim.hyperliquid.market.ctxs

        def same() -> bool:  # the wire writes 8 decimals
            s = snap()
            return all(
                abs(s.marks[("hl", c)].mark - ctxs[c].mark) < 1e-7
                and abs(s.marks[("hl", c)].index - ctxs[c].oracle) < 1e-7
                and math.isclose(s.marks[("hl", c)].funding_rate, ctxs[c].funding, abs_tol=1e-8)
                for c in COINS
            )

        await wait_until(same, 10, "the frozen market's contexts")
        await wait_until(lambda: len(store.of(FundingInfo)) >= len(COINS), 10, "funding intervals")
        infos = store.of(FundingInfo)
        assert {(r.symbol, r.interval_s, r.cap) for r in infos} >= {(c, 3600.0, 0.04) for c in COINS}
        tiers = {(r.account, r.symbol): r for r in store.records if isinstance(r, LeverageTiers)}
        btc = tiers[("erin", "BTC")].brackets
        assert [(b.floor, b.mmr, b.max_leverage) for b in btc] == [(0.0, 0.0125, 40.0), (150e6, 0.025, 20.0)]
        assert btc[1].cum == pytest.approx(150e6 * 0.0125)  # deduction recursed

        def frozen() -> bool:
            legs = snap().accounts[("hl", "frank")].positions
            return all(abs(p.venue_mark_price - ctxs[p.symbol].mark) < 1e-6 for p in legs)

        await wait_until(frozen, 10, "frank at the frozen marks")
        # the socket's clearinghouseState frames arrive beside the REST polls, each a whole snapshot
        await wait_until(lambda: c.stats.messages["hl.user.frank"] > 2, 10, "frank over the socket")
        frank = {p.symbol: p for p in snap().accounts[("hl", "frank")].positions}
        engine = {r.pos.coin: r for r in sim.hyperliquid.engine.state(FRANK).rows}
        for coin, p in frank.items():
            r = engine[coin]
            assert (p.qty, p.margin_mode) == (r.pos.szi, "isolated")
            assert p.isolated_wallet + p.venue_unrealized_pnl == pytest.approx(r.margin_used, abs=1e-6)
            assert r.liquidation_px is not None
            assert p.venue_liquidation_price == pytest.approx(r.liquidation_px, abs=1e-7)


async def test_a_stalled_socket_goes_stale_and_malformed_frames_are_counted() -> None:
    async with running() as (sim, store, c):
        snap = lambda: store.snapshot(LiveClock().now_ns())  # noqa: E731
        await wait_until(lambda: ("hl", "BTC") in snap().marks, 15, "a mark")
        before = sum(c.stats.dropped.values())
        sim.hyperliquid.faults.send_malformed(1)
        await wait_until(lambda: sum(c.stats.dropped.values()) > before, 10, "the cut frame counted")
        assert c.stats.dropped["json"] >= 1
        sim.hyperliquid.faults.stall()

        def stale() -> bool:
            return any(
                isinstance(r, FeedStatus) and r.stream == "mark:BTC" and r.state == FeedState.STALE
                for r in store.records
            )

        await wait_until(stale, 15, "mark:BTC stale")
        # the accounts carry on over REST: a stalled socket is not a dead venue
        n = len(store.of(AccountSnapshot))
        await wait_until(lambda: len(store.of(AccountSnapshot)) > n + 2, 10, "accounts still polled")
