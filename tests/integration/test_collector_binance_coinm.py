"""The native COIN-M collector on the simulated COIN-M venue: marks, positions in contracts with
their contract size and coin, per-coin balances, coin brackets; a liquidation arrives on the user
stream; malformed mark frames are counted and dropped."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
import pytest

from monitor.clock import LiveClock
from monitor.collectors import build_collector
from monitor.collectors.testing import ENV as BINANCE_ENV
from monitor.collectors.testing import Harness, RecordingStore, wait_until
from monitor.config import parse_config
from monitor.records import AccountSnapshot, LeverageTiers
from monitor.sim.binance_coinm.testing import COINM_TEST_KEYS, coinm_config
from monitor.sim.testing import TEST_KEYS, running_simulator
from monitor.supervise import Supervisor
from monitor.venues import endpoints

pytestmark = pytest.mark.integration

ENV = {
    f"SIM_{n.upper()}_{k}": v[i].reveal()
    for n, v in COINM_TEST_KEYS.items()
    for i, k in enumerate(("KEY", "SECRET"))
}


@contextlib.asynccontextmanager
async def running_coinm(
    accounts: tuple[str, ...] = ("erin", "frank", "gina"), **venue: object
) -> AsyncIterator[Harness]:
    sim_cfg = coinm_config()
    data = {
        "simulator": msgspec.to_builtins(sim_cfg),
        "venues": [
            {"name": "coinm", "kind": "binancecoinm", "simulator": True, "backfill": False,
             "symbols": ["BTCUSD_PERP", "ETHUSD_PERP"], "poll_s": 0.2, **venue}
        ],
        "accounts": [
            {"name": n, "venue": "coinm", "api_key_env": f"SIM_{N}_KEY", "api_secret_env": f"SIM_{N}_SECRET"}
            for n, N in ((a, a.upper()) for a in accounts)
        ],
    }  # fmt: skip
    cfg, secrets = parse_config(data, BINANCE_ENV | ENV)
    clock = LiveClock()
    async with running_simulator(sim_cfg, TEST_KEYS | COINM_TEST_KEYS, clock) as s:
        store = RecordingStore()
        collector = build_collector(cfg.venues[0], cfg, secrets, endpoints(cfg.venues[0], s), store, clock)
        h = Harness(s, cfg, store, collector, clock)
        await collector.check_keys()
        sup = Supervisor(clock)
        for name, factory in collector.tasks().items():
            sup.spawn(name, factory)
        try:
            yield h
        finally:
            await sup.stop()


def _account(h: Harness, name: str) -> AccountSnapshot | None:
    return h.store.snapshot(h.clock.now_ns()).accounts.get(("coinm", name))


async def test_marks_positions_balances_and_tiers_equal_the_venue() -> None:
    async with running_coinm() as h:
        snap = lambda: h.store.snapshot(h.clock.now_ns())  # noqa: E731
        await wait_until(
            lambda: len(snap().marks) == 2 and all(_account(h, n) for n in ("erin", "frank", "gina")),
            10,
            "marks and accounts",
        )
        h.sim.pause()
        m = h.sim.coinm.market

        def same() -> bool:
            return all(
                (snap().marks[("coinm", s)].mark, snap().marks[("coinm", s)].index)
                == (m.quote(s).mark, m.quote(s).index)
                for s in ("BTCUSD_PERP", "ETHUSD_PERP")
            )

        await wait_until(same, 5, "the frozen marks")
        for name in ("erin", "frank", "gina"):
            acct = _account(h, name)
            assert acct is not None
            views = {(v.symbol, v.side): v for v in h.sim.coinm.engine.positions(name)}
            assert {(p.symbol, p.side) for p in acct.positions} == set(views)
            for p in acct.positions:
                v = views[(p.symbol, p.side)]
                assert (p.qty, p.entry_price, p.margin_mode) == (v.contracts, v.entry, v.margin_mode)
                assert (p.inverse, p.margin_asset) == (True, v.coin)
                assert p.contract_size == m.specs[p.symbol].contract_size
                assert p.venue_liquidation_price == pytest.approx(v.liquidation_price, abs=5e-9)
            wallets = {b.asset: b.wallet_balance for b in acct.balances}
            assert wallets == {
                c: a["wallet"] for c, a in h.sim.coinm.engine.assets(name).items() if a["wallet"]
            }
        tiers = [t for t in h.store.of(LeverageTiers) if t.symbol == "BTCUSD_PERP"]
        assert (
            tiers
            and tiers[0].brackets[6].floor == 200.0
            and tiers[0].brackets[6].cum == pytest.approx(11.605)
        )
        assert h.figure("feed_stale", venue="coinm", stream="mark:BTCUSD_PERP") == 0.0


async def test_a_liquidation_arrives_on_the_user_stream() -> None:
    """frank's isolated long, driven past its LP through the venue's tick: the position goes away
    from perpmon's picture (ACCOUNT_UPDATE on the COIN-M user stream, or the next snapshot)."""
    async with running_coinm(("frank",), poll_s=30.0, reconcile_s=30.0) as h:
        await wait_until(lambda: bool((a := _account(h, "frank")) and a.positions), 10, "frank's position")
        h.sim.pause()
        lp = h.sim.coinm.engine.positions("frank")[0].liquidation_price
        assert lp is not None
        await wait_until(
            lambda: h.collector.stats.connected.get("coinm.user.frank", False), 10, "user stream"
        )
        h.sim.coinm.tick([{"BTCUSDT": lp * 0.99}])
        await wait_until(lambda: not (a := _account(h, "frank")) or not a.positions, 5, "the liquidation")
        acct = _account(h, "frank")
        assert acct is not None and acct.positions == ()
        assert {b.asset: b.wallet_balance for b in acct.balances}.get("BTC") == h.sim.coinm.engine.accounts[
            "frank"
        ].wallets["BTC"]


async def test_malformed_mark_frames_are_counted_and_dropped() -> None:
    """A frame the parser refuses is a drop with its reason, not a reconnect; good frames keep coming."""
    async with running_coinm(("erin",)) as h:
        await wait_until(
            lambda: ("coinm", "BTCUSD_PERP") in h.store.snapshot(h.clock.now_ns()).marks, 10, "a mark"
        )
        hub = h.sim.coinm.hub
        before = sum(h.collector.stats.dropped.values())
        for conn in list(hub.connections):
            if conn.streams:
                conn.offer(b'{"stream":"btcusd_perp@markPrice@1s","data":{"e":"markPriceUpdate","E":')
                conn.offer(
                    b'{"stream":"btcusd_perp@markPrice@1s","data":{"e":"markPriceUpdate","E":1,"s":"BTCUSD_PERP","p":"nan","i":"1","r":"0","T":1}}'
                )
        await wait_until(lambda: sum(h.collector.stats.dropped.values()) >= before + 2, 5, "two drops")
        n = len(h.store.records)
        await wait_until(lambda: len(h.store.records) > n + 2, 5, "good frames after the bad ones")
        assert h.collector.stats.reconnects.get("coinm.market.0", 0) == 0
