"""The native Bybit collector against the simulated Bybit, and one book spanning Binance and Bybit.

Both venues run in one simulator on loopback with 50 ms ticks; each collector is the daemon's own
(`build_collector`), writing into one store that the real evaluator and rule engine read.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from monitor.clock import LiveClock
from monitor.collectors import build_collector
from monitor.collectors.base import Collector
from monitor.collectors.bybit.collector import BybitCollector
from monitor.collectors.holdings import holdings_from_config
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.config import Config, SimAccountConfig, SimPositionConfig, parse_config
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    BookLevels,
    FeedState,
    FeedStatus,
    Figure,
    Figures,
    FundingInfo,
    LeverageTiers,
    MarkPrice,
)
from monitor.rules.engine import RuleEngine
from monitor.secret import Secret
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config, running_simulator
from monitor.supervise import Supervisor
from monitor.venues import endpoints

pytestmark = pytest.mark.integration

KEYS = {
    **TEST_KEYS,
    "carol": (Secret("carol-api-key-0123456789"), Secret("carol-api-secret-9876543210")),
    "dave": (Secret("dave-api-key-0123456789"), Secret("dave-api-secret-9876543210")),
}
ENV = {
    f"SIM_{n.upper()}_{kind}": s.reveal()
    for n, pair in KEYS.items()
    for kind, s in zip(("KEY", "SECRET"), pair, strict=True)
}
CAROL = SimAccountConfig(  # the Bybit half of the hedge: cross, short
    name="carol",
    venue="bybit",
    api_key_env="SIM_CAROL_KEY",
    api_secret_env="SIM_CAROL_SECRET",
    wallet_usdt=300_000.0,
    positions=(SimPositionConfig(symbol="BTCUSDT", qty=-20.0, leverage=5.0),),
)
DAVE = SimAccountConfig(  # an isolated long at 50x: the venue's liqPrice to compare with
    name="dave",
    venue="bybit",
    api_key_env="SIM_DAVE_KEY",
    api_secret_env="SIM_DAVE_SECRET",
    wallet_usdt=5_000.0,
    positions=(SimPositionConfig(symbol="BTCUSDT", qty=0.5, leverage=50.0, margin_mode="isolated"),),
)


@dataclass
class Book:
    sim: Simulator
    cfg: Config
    store: RecordingStore
    collectors: dict[str, Collector]
    clock: LiveClock
    started_ns: int

    def figures(self) -> Figures:
        now = self.clock.now_ns()
        return Evaluator(self.cfg, started_ns=self.started_ns).evaluate(self.store.snapshot(now), now)

    def account(self, venue: str, name: str) -> AccountSnapshot | None:
        return self.store.snapshot(self.clock.now_ns()).accounts.get((venue, name))


def fig(figs: Figures, name: str, **labels: str) -> Figure:
    for key, f in figs.items.items():
        if key.name == name and all(key.labels().get(k) == v for k, v in labels.items()):
            return f
    return Figure(value=math.nan, unit="", ts_ns=0, reason="absent")


def config(sim_cfg: Any, venues: list[dict[str, Any]], accounts: dict[str, str], **extra: Any) -> Config:
    data = {
        "simulator": msgspec.to_builtins(sim_cfg),
        "venues": venues,
        "accounts": [
            {
                "name": n,
                "venue": v,
                "api_key_env": f"SIM_{n.upper()}_KEY",
                "api_secret_env": f"SIM_{n.upper()}_SECRET",
            }
            for n, v in accounts.items()
        ],
        **extra,
    }
    return parse_config(data, ENV)


BYBIT = {
    "name": "bybit",
    "kind": "bybit",
    "simulator": True,
    "symbols": ["BTCUSDT", "SOLUSDT"],
    "poll_s": 0.3,
}
BINANCE = {
    "name": "binance",
    "simulator": True,
    "symbols": ["BTCUSDT"],
    "spot_symbols": ["BTCUSDT"],
    "poll_s": 0.3,
}


@contextlib.asynccontextmanager
async def running_book(
    venues: list[dict[str, Any]], accounts: dict[str, str], **extra: Any
) -> AsyncIterator[Book]:
    sim_cfg = fast_config(accounts=(*fast_config().accounts, CAROL, DAVE))
    cfg, secrets = config(sim_cfg, venues, accounts, **extra)
    clock = LiveClock()
    async with running_simulator(sim_cfg, keys=KEYS, clock=clock) as s:
        store = RecordingStore()
        for h in holdings_from_config(cfg.holdings, clock.now_ns()):
            store.put(h)
        collectors: dict[str, Collector] = {}
        sup = Supervisor(clock)
        for v in cfg.venues:
            c = collectors[v.name] = build_collector(v, cfg, secrets, endpoints(v, s), store, clock)
            await c.check_keys()
            for name, factory in c.tasks().items():
                sup.spawn(name, factory)
        try:
            yield Book(s, cfg, store, collectors, clock, clock.now_ns())
        finally:
            await sup.stop()


def legs(snap: AccountSnapshot | None) -> dict[tuple[str, str], tuple[float, float, str]]:
    if snap is None:
        return {}
    return {(p.symbol, p.side): (p.qty, p.entry_price, p.margin_mode) for p in snap.positions}


def venue_legs(sim: Simulator, account: str) -> dict[tuple[str, str], tuple[float, float, str]]:
    sides = {0: "BOTH", 1: "LONG", 2: "SHORT"}
    return {
        (p.symbol, sides[p.position_idx]): (p.qty, p.avg_price, "isolated" if p.isolated else "cross")
        for p in sim.bybit.engine.positions(account)
        if p.qty
    }


async def test_marks_intervals_tiers_and_account_equal_the_venue() -> None:
    """Frozen market: mark, index and funding equal the simulated Bybit's; SOLUSDT settles hourly."""
    async with running_book([BYBIT], {"carol": "bybit"}) as b:
        snap = lambda: b.store.snapshot(b.clock.now_ns())  # noqa: E731
        await wait_until(
            lambda: len(snap().marks) == 2 and ("bybit", "carol") in snap().accounts, 10, "marks"
        )
        b.sim.pause()
        q = b.sim.bybit.market.quotes

        def same() -> bool:  # the venue sends prices rounded to the tick, rates in full
            s = snap()
            ticks = {"BTCUSDT": 0.1, "SOLUSDT": 0.01}
            return all(
                abs(s.marks[("bybit", k)].mark - q[k].mark) <= ticks[k] / 2 + 1e-9
                and abs(s.marks[("bybit", k)].index - q[k].index) <= ticks[k] / 2 + 1e-9
                and math.isclose(s.marks[("bybit", k)].funding_rate, q[k].funding_rate, abs_tol=1e-12)
                for k in ticks
            )

        await wait_until(same, 10, "the frozen market")
        perp = snap().quotes[("bybit", "BTCUSDT", "perp")]
        assert perp.bid <= q["BTCUSDT"].mark * 1.01 and perp.bid < perp.ask
        intervals = {f.symbol: f.interval_s for f in b.store.of(FundingInfo)}
        assert intervals == {"BTCUSDT": 8 * 3600.0, "SOLUSDT": 3600.0}
        assert legs(b.account("bybit", "carol")) == venue_legs(b.sim, "carol")
        tiers = [t for t in b.store.of(LeverageTiers) if t.symbol == "BTCUSDT"]
        assert tiers and tiers[0].brackets[0].mmr == b.sim.bybit.engine.position("carol", "BTCUSDT").mmr
        wallet = b.sim.bybit.engine.wallet("carol").wallet
        usdt = next(x for x in b.account("bybit", "carol").balances if x.asset == "USDT")  # type: ignore[union-attr]
        assert usdt.wallet_balance == wallet
        figs = b.figures()
        assert fig(figs, "feed_stale", venue="bybit", stream="account:carol").value == 0.0
        assert fig(figs, "funding_interval_seconds", venue="bybit", symbol="SOLUSDT").value == 3600.0
        # per-venue headroom on Bybit's own terms: perpmon's margin ratio is the venue's accountMMRate
        venue_rate = b.sim.bybit.engine.wallet("carol").mm_rate
        assert math.isclose(
            fig(figs, "margin_ratio", venue="bybit", account="carol").value, venue_rate, rel_tol=1e-4
        )
        assert fig(figs, "margin_headroom_usd", venue="bybit", account="carol").value > 0
        # cross: perpmon's LP on the venue's state (its marks) is the venue's liqPrice, to its rounding
        assert fig(figs, "liquidation_price_divergence_ratio", venue="bybit", account="carol").value < 1e-5


async def test_private_stream_delivers_a_new_position_before_any_reconcile() -> None:
    """With REST reconciliation 60 s apart, a position opened at the venue arrives over the private socket."""
    venue = {**BYBIT, "reconcile_s": 60.0}
    async with running_book([venue], {"carol": "bybit"}) as b:
        collector = b.collectors["bybit"]
        assert isinstance(collector, BybitCollector)
        watcher = collector.watchers["carol"]
        await wait_until(
            lambda: watcher.book.synced and b.account("bybit", "carol") is not None, 10, "synced"
        )
        b.sim.bybit.engine.set_position("carol", "SOLUSDT", -100.0, leverage=10, now_ms=b.sim.bybit.now_ms())
        await wait_until(
            lambda: legs(b.account("bybit", "carol")) == venue_legs(b.sim, "carol"), 10, "the delta"
        )
        assert ("SOLUSDT", "BOTH") in legs(b.account("bybit", "carol"))
        assert collector.stats.messages["bybit.user.carol"] >= 1


async def test_isolated_liquidation_price_equals_the_venues_liq_price() -> None:
    """perpmon's Bybit LP for an isolated 50x long equals the venue's `liqPrice` to its tick."""
    async with running_book([BYBIT], {"dave": "bybit"}) as b:
        await wait_until(
            lambda: (
                fig(b.figures(), "liquidation_price_usd", account="dave", symbol="BTCUSDT").available
                and legs(b.account("bybit", "dave")) != {}
            ),
            10,
            "an LP for dave",
        )
        figs = b.figures()
        ours = fig(figs, "liquidation_price_usd", account="dave", symbol="BTCUSDT").value
        venue = b.sim.bybit.engine.position("dave", "BTCUSDT")
        assert venue is not None and venue.liq_price > 0
        tick = 0.1  # BTCUSDT's tick: the venue rounds its LP towards the mark
        assert abs(ours - venue.liq_price) <= tick
        reported = fig(figs, "venue_liquidation_price_usd", account="dave", symbol="BTCUSDT").value
        assert reported == venue.liq_price
        assert fig(figs, "liquidation_price_divergence_ratio", account="dave").value <= tick / venue.liq_price
        # MM on the mark since 2025-09-02: (EP − IM/size)/(1 − MMR), no extra margin; not the 2024 form
        mmr = venue.mmr
        now = venue.avg_price * (1 - 1 / venue.leverage) / (1 - mmr)
        assert abs(ours - now) < 1e-9 * now
        classic = venue.avg_price * (1 - 1 / venue.leverage + mmr)
        assert abs(ours - classic) > 10 * tick


async def test_binance_silent_bybit_continues_book_partial() -> None:
    """Binance's feed stalls, Bybit's does not: a stale alert for Binance only, Bybit fresh, book partial."""
    rules = [
        {
            "name": "StaleFeed",
            "figure": "feed_stale",
            "op": ">",
            "levels": [{"severity": "warning", "threshold": 0.5}],
        }
    ]
    holdings = [
        {
            "name": "custody",
            "asset": "BTC",
            "quantity": 32.5,
            "price_venue": "binance",
            "price_symbol": "BTCUSDT",
        }
    ]
    venues = [{**BINANCE, "perp_books": False}, {**BYBIT, "symbols": ["BTCUSDT"]}]
    async with running_book(
        venues, {"alice": "binance", "carol": "bybit"}, rules=rules, holdings=holdings
    ) as b:
        engine = RuleEngine(b.cfg.rules)

        def whole() -> bool:
            f = b.figures()
            return (
                fig(f, "book_partial", asset="BTC").value == 0.0 and fig(f, "hedge_ratio", asset="BTC").fresh
            )

        await wait_until(whole, 10, "a fresh two-venue book")
        figs = b.figures()
        # alice is long 12.5 on Binance, carol short 20 on Bybit, 32.5 in custody: net 25 BTC
        assert math.isclose(fig(figs, "net_delta", asset="BTC").value, 32.5 + 12.5 - 20.0)
        assert fig(figs, "venue_perp_quantity", venue="bybit", asset="BTC").value == -20.0
        assert fig(figs, "funding_spread_annualized_ratio", venue="binance/bybit", symbol="BTCUSDT").available
        engine.step(figs, b.clock.now_ns())
        assert engine.firing() == []

        b.sim.faults.stall(True)  # Binance futures and spot frames stop; sockets stay up; Bybit goes on
        await wait_until(
            lambda: fig(b.figures(), "feed_stale", venue="binance", stream="mark:BTCUSDT").value == 1.0,
            10,
            "stale",
        )
        figs = b.figures()
        engine.step(figs, b.clock.now_ns())
        firing = {(e.labels["venue"], e.labels["stream"]) for e in engine.firing()}
        assert ("binance", "mark:BTCUSDT") in firing
        assert all(venue == "binance" for venue, _ in firing)
        assert fig(figs, "feed_stale", venue="bybit", stream="mark:BTCUSDT").value == 0.0
        assert fig(figs, "mark_price_usd", venue="bybit", symbol="BTCUSDT").fresh
        assert fig(figs, "venue_perp_quantity", venue="bybit", asset="BTC").fresh
        assert fig(figs, "margin_ratio", venue="bybit", account="carol").fresh
        partial = fig(figs, "book_partial", asset="BTC")
        assert partial.value == 1.0 and not partial.fresh and "binance" in partial.reason
        assert "bybit" not in partial.reason
        for name in ("net_delta", "hedge_ratio", "funding_carry_usd_per_day"):
            assert not fig(figs, name, asset="BTC").fresh, name

        b.sim.faults.stall(False)
        await wait_until(lambda: fig(b.figures(), "book_partial", asset="BTC").value == 0.0, 15, "recovery")


async def test_spot_book_tops_equal_the_venue() -> None:
    """`orderbook.1.{symbol}` on the spot socket: perpmon's spot top equals the venue's, and is fresh."""
    venue = {**BYBIT, "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT", "ETHUSDT"]}
    async with running_book([venue], {"carol": "bybit"}) as b:
        snap = lambda: b.store.snapshot(b.clock.now_ns())  # noqa: E731
        await wait_until(lambda: len([k for k in snap().quotes if k[2] == "spot"]) == 2, 10, "spot tops")
        b.sim.pause()
        q = b.sim.bybit.market.quotes

        def same() -> bool:
            s = snap()
            return all(
                abs(s.quotes[("bybit", k, "spot")].bid - q[k].spot_bid) < 0.006
                and abs(s.quotes[("bybit", k, "spot")].ask - q[k].spot_ask) < 0.006
                for k in ("BTCUSDT", "ETHUSDT")
            )

        await wait_until(same, 10, "the frozen spot tops")
        figs = b.figures()
        assert fig(figs, "feed_stale", venue="bybit", stream="book:spot:ETHUSDT").value == 0.0
        assert fig(figs, "basis_usd", venue="bybit", symbol="BTCUSDT").available


async def test_faults_malformed_repeated_stall_and_disconnect() -> None:
    """Garbage is counted and dropped; a repeat is not life; a stall is stale then replaced; a cut resyncs."""
    venue = {**BYBIT, "symbols": ["BTCUSDT"], "stale_after_s": 2.0}
    async with running_book([venue], {"carol": "bybit"}) as b:
        c = b.collectors["bybit"]
        assert isinstance(c, BybitCollector)
        watcher = c.watchers["carol"]
        await wait_until(
            lambda: watcher.book.synced and b.account("bybit", "carol") is not None, 10, "synced"
        )
        b.sim.bybit.faults.send_malformed(3)
        await wait_until(lambda: c.stats.dropped["malformed_json"] >= 3, 10, "malformed frames counted")
        b.sim.bybit.faults.repeat_frames(5)
        await wait_until(lambda: c.stats.dropped["repeated"] >= 5, 10, "repeats dropped")
        assert c.stats.events["stale_reconnect"] == 0  # neither is a reason to reconnect

        b.sim.bybit.faults.stall(True)
        await wait_until(
            lambda: fig(b.figures(), "feed_stale", venue="bybit", stream="mark:BTCUSDT").value == 1.0,
            10,
            "stale",
        )
        await wait_until(lambda: c.stats.events["stale_reconnect"] >= 1, 10, "the socket replaced")
        b.sim.bybit.faults.stall(False)
        await wait_until(
            lambda: fig(b.figures(), "feed_stale", venue="bybit", stream="mark:BTCUSDT").value == 0.0,
            10,
            "fresh",
        )

        before = c.stats.reconnects["bybit.user.carol"]
        b.sim.bybit.faults.disconnect_all()
        await wait_until(
            lambda: c.stats.reconnects["bybit.user.carol"] > before, 10, "the private socket lost"
        )
        b.sim.bybit.engine.set_position("carol", "BTCUSDT", -25.0, leverage=5, now_ms=b.sim.bybit.now_ms())
        await wait_until(
            lambda: watcher.book.synced and legs(b.account("bybit", "carol")) == venue_legs(b.sim, "carol"),
            10,
            "the account equal to the venue's after the reconnect",
        )
        assert legs(b.account("bybit", "carol"))[("BTCUSDT", "BOTH")][0] == -25.0


async def test_a_symbol_an_account_opens_is_watched_and_tiered_at_once() -> None:
    """carol, watched for BTCUSDT only, opens ETHUSDT (arriving over the private stream): its ticker
    (and book levels) are subscribed on the running linear socket, its mark is fresh, and its funding
    interval and risk limits arrive at once, not at the next 10-minute refresh."""
    venue = {**BYBIT, "symbols": ["BTCUSDT"], "reconcile_s": 60.0}
    async with running_book([venue], {"carol": "bybit"}) as b:
        c = b.collectors["bybit"]
        assert isinstance(c, BybitCollector)
        await wait_until(lambda: c.watchers["carol"].book.synced, 10, "synced")
        assert not [t for t in b.store.of(LeverageTiers) if t.symbol == "ETHUSDT"]
        b.sim.bybit.engine.set_position("carol", "ETHUSDT", 10.0, leverage=10, now_ms=b.sim.bybit.now_ms())

        def eth_fresh() -> bool:
            figs = b.figures()
            age = fig(figs, "feed_last_message_age_seconds", venue="bybit", stream="mark:ETHUSDT").value
            return fig(figs, "feed_stale", venue="bybit", stream="mark:ETHUSDT").value == 0.0 and age < 1.0

        await wait_until(eth_fresh, 10, "a fresh ETH mark")
        linear = ("tickers.BTCUSDT", "orderbook.50.BTCUSDT", "tickers.ETHUSDT", "orderbook.50.ETHUSDT")
        assert [f.subscriptions for f in c.sockets.by_kind["linear"]] == [linear]  # one socket, no restart
        await wait_until(
            lambda: any(t.symbol == "ETHUSDT" and t.account == "carol" for t in b.store.of(LeverageTiers)),
            5,
            "ETH risk limits",
        )
        await wait_until(lambda: "ETHUSDT" in {f.symbol for f in b.store.of(FundingInfo)}, 5, "ETH funding")
        eth = b.sim.bybit.engine.position("carol", "ETHUSDT")
        tiers = next(t for t in b.store.of(LeverageTiers) if t.symbol == "ETHUSDT")
        assert eth is not None and tiers.brackets[0].mmr == eth.mmr


async def test_a_quiet_market_is_quiet_not_stale_and_a_stall_still_goes_stale() -> None:
    """Paused market: Bybit pushes nothing, yet every linear stream stays fresh for several limits
    (the socket answers pings, REST shows the last pushed values), with no reconnect and no STALE.
    Then, the market moving again, a stall of the venue's pushes goes stale and is replaced.

    Limits of 3 s, not the 1 s floor: a probe starts at half a limit and must be back before the
    limit, and on a loaded 2-core box a probe (ping + REST) took up to 0.5 s and the shared loop
    stalled up to 0.66 s, so a 0.5 s margin let a quiet stream go stale and be replaced."""
    venue = {
        **BYBIT, "symbols": ["BTCUSDT"], "stale_after_s": 3.0, "stale_cadences": 60.0, "backfill": False
    }  # fmt: skip
    async with running_book([venue], {"carol": "bybit"}) as b:
        c = b.collectors["bybit"]
        assert isinstance(c, BybitCollector)
        streams = ("mark:BTCUSDT", "book:perp:BTCUSDT", "depth:perp:BTCUSDT")
        limits = {s: c.limits[s] for s in streams}
        assert limits == {"mark:BTCUSDT": 3.0, "book:perp:BTCUSDT": 3.0, "depth:perp:BTCUSDT": 3.0}

        def all_fresh() -> bool:
            f = b.figures()
            return all(fig(f, "feed_stale", venue="bybit", stream=s).value == 0.0 for s in streams)

        up = lambda: c.stats.connected.get("bybit.linear.0", False)  # noqa: E731
        await wait_until(lambda: all_fresh() and up(), 10, "fresh streams")
        b.sim.pause()
        q = b.sim.bybit.market.quotes["BTCUSDT"]

        def frozen() -> bool:  # frames pushed before the pause may still be on their way (seen loaded)
            s = b.store.snapshot(b.clock.now_ns())
            mark, top = s.marks.get(("bybit", "BTCUSDT")), s.quotes.get(("bybit", "BTCUSDT", "perp"))
            return (
                mark is not None
                and top is not None
                and all(abs(a - v) <= 0.05 + 1e-9 for a, v in ((mark.mark, q.mark), (mark.index, q.index)))
                and (top.bid, top.ask) == (q.bid, q.ask)
            )

        await wait_until(frozen, 10, "the frozen market stored")
        paused_at = len(b.store.records)
        reconnects = c.stats.reconnects["bybit.linear.0"]
        stale_seen: list[str] = []

        def confirmed(n: int) -> bool:
            f = b.figures()
            stale_seen.extend(
                s for s in streams if fig(f, "feed_stale", venue="bybit", stream=s).value != 0.0
            )
            later = b.store.records[paused_at:]
            marks = [r for r in later if isinstance(r, MarkPrice)]
            books = [r for r in later if isinstance(r, BookLevels)]
            return len(marks) >= n and len(books) >= n

        await wait_until(lambda: confirmed(1), 10, "a first confirmation")
        pushed = c.stats.messages["bybit.linear.0"]  # frames stored from the socket
        # ≥ 6 confirmations a stream, one per half limit: ≥ 9 s of silence, 3 limits of each stream
        await wait_until(lambda: confirmed(6), 40, "six confirmations of each quiet stream", step_s=0.1)
        assert c.stats.messages["bybit.linear.0"] == pushed  # the venue really said nothing
        assert stale_seen == []
        assert c.stats.reconnects["bybit.linear.0"] == reconnects
        assert c.stats.events["stale_reconnect"] == 0
        assert not [
            r
            for r in b.store.records[paused_at:]
            if isinstance(r, FeedStatus) and r.stream in streams and r.state is not FeedState.UP
        ]
        marks = [r for r in b.store.records[paused_at:] if isinstance(r, MarkPrice)]
        assert len({(m.mark, m.index, m.funding_rate) for m in marks}) == 1

        b.sim.resume()
        await wait_until(all_fresh, 10, "fresh after the pause")
        unconfirmed = c.stats.events["quiet_unconfirmed"]
        b.sim.bybit.faults.stall(True)  # the socket answers pings, but the values REST shows move on
        await wait_until(
            lambda: fig(b.figures(), "feed_stale", venue="bybit", stream="mark:BTCUSDT").value == 1.0,
            20,
            "the stalled mark stream stale",
        )
        await wait_until(lambda: c.stats.events["stale_reconnect"] >= 1, 20, "the socket replaced")
        assert c.stats.events["quiet_unconfirmed"] > unconfirmed  # probed, and refused
        b.sim.bybit.faults.stall(False)
        await wait_until(all_fresh, 20, "fresh after the stall")
