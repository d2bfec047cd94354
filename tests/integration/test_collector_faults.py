"""The Binance collector against the simulator's faults: each outcome observed, never assumed.

Every test runs the real collector (native streams, ccxt REST, user data stream) against the
simulator on loopback with 50 ms ticks; the mark stream's limit is then 1 s (3 cadences, floored at
`MIN_STALE_S`). After each fault the account perpmon holds must equal the simulator's exactly.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import re
from typing import Any

import pytest
import structlog

from monitor.collectors import native as native_collector
from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.keys import KeyRefusedError
from monitor.collectors.testing import (
    Harness,
    account_state,
    first_stale_verdict,
    running_collector,
    venue_state,
    wait_until,
)
from monitor.config import ApiPermission, SimAccountConfig, SimPositionConfig
from monitor.evaluator import Evaluator
from monitor.records import AccountSnapshot, FeedState, Figure, FigureKey, Fill, MarginCall, MarkPrice, Quote
from monitor.sim.testing import TEST_KEYS

pytestmark = pytest.mark.integration

VENUE: dict[str, Any] = {"spot_symbols": ["BTCUSDT"], "stale_after_s": 2.0, "poll_s": 0.2}
MARK = "mark:BTCUSDT"


def native(h: Harness) -> BinanceUsdmCollector:
    assert isinstance(h.collector, BinanceUsdmCollector)
    return h.collector


def in_sync(h: Harness, account: str = "bob") -> bool:
    snap = h.store.snapshot(h.clock.now_ns()).accounts.get(("binance", account))
    return native(h).watchers[account].book.synced and account_state(snap) == venue_state(h.sim, account)


def marks_after(h: Harness, t_ns: int) -> list[MarkPrice]:
    return [m for m in h.store.of(MarkPrice) if m.ts_recv_ns > t_ns]


async def settle_funding(h: Harness, rate: float = 0.0005) -> None:
    """Make the venue pay funding now: a FUNDING_FEE ACCOUNT_UPDATE that only the stream delivers fast."""
    now_ms = h.clock.now_ns() // 1_000_000
    h.sim.engine.settle_funding("BTCUSDT", rate, h.sim.engine.marks["BTCUSDT"], now_ms)
    await asyncio.sleep(0)


async def started(h: Harness) -> None:
    await wait_until(lambda: in_sync(h) and len(h.store.of(MarkPrice)) > 3, 5, "a synced account and marks")


async def test_forced_close_reconnects_every_socket_and_resyncs_the_account() -> None:
    """The venue closes every socket: streams go DOWN, reconnect, and the account equals the venue again."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        before = dict(stats.reconnects)
        t0 = h.clock.now_ns()
        h.sim.faults.disconnect_all()
        sockets = ("binance.market.0", "binance.public.0", "binance.spot.0", "binance.user.bob")
        await wait_until(
            lambda: all(stats.reconnects[s] > before.get(s, 0) for s in sockets), 5, "reconnects"
        )
        assert any(s.state is FeedState.DOWN and s.ts_recv_ns > t0 for s in h.store.statuses(MARK))
        await wait_until(lambda: len(marks_after(h, t0)) > 3, 5, "marks after the reconnect")
        await wait_until(lambda: in_sync(h), 5, "the account resynced from REST")
        await settle_funding(h)  # deltas flow on the new connection (REST reconciles only every 15 s)
        await wait_until(lambda: in_sync(h), 2, "the funding delta applied")


async def test_silent_stall_is_stale_within_its_window_then_the_socket_is_replaced() -> None:
    """Frames stop, pings go on: the mark stream is stale within its 1 s limit, reconnected, then fresh."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        assert h.figure("feed_stale", stream=MARK) == 0.0
        h.sim.faults.stall(True)
        verdict = await first_stale_verdict(h, "binance", MARK)
        assert verdict, "stale before the silence reached the stream's limit"
        await wait_until(
            lambda: h.store.statuses(MARK)[-1].state is FeedState.STALE, 0.5, "the collector's word"
        )
        assert not built_on_marks_fresh(h), "figures built on a stale mark stream are flagged not fresh"
        await wait_until(lambda: native(h).stats.events["stale_reconnect"] >= 1, 3, "a forced reconnect")
        h.sim.faults.stall(False)
        await wait_until(lambda: h.figure("feed_stale", stream=MARK) == 0.0, 5, "fresh marks again")
        await wait_until(lambda: built_on_marks_fresh(h), 2, "the figures fresh again")


def built_on_marks_fresh(h: Harness) -> bool:
    """Whether the mark, and bob's liquidation distance computed from it, are flagged fresh."""
    now = h.clock.now_ns()
    figs = Evaluator(h.cfg, started_ns=h.started_ns).evaluate(h.store.snapshot(now), now).items
    mark = figs[FigureKey(name="mark_price_usd", venue="binance", symbol="BTCUSDT")]
    dist = [f for k, f in figs.items() if k.name == "liquidation_distance_ratio" and k.account == "bob"]
    assert dist, "bob's liquidation distance is computed"
    return mark.fresh and all(f.fresh for f in dist)


def stale_figure(h: Harness, stream: str) -> Figure:
    now = h.clock.now_ns()
    figs = Evaluator(h.cfg, started_ns=h.started_ns).evaluate(h.store.snapshot(now), now)
    key = FigureKey(name="feed_stale", venue="binance", stream=stream)
    return figs.items[key]


async def test_frames_delivered_late_are_flagged_lagging_while_they_flow() -> None:
    """The venue holds every frame 3 s: the marks keep arriving every tick, each 3 s old, so the stream
    is stale for lag (its event time is > 2 × its 1 s limit behind), and fresh once the delay ends."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        h.sim.faults.delay_frames(3.0)

        def flowing_but_late() -> bool:
            recent = marks_after(h, h.clock.now_ns() - 300_000_000)
            fig = stale_figure(h, MARK)
            return len(recent) >= 3 and fig.value == 1.0 and fig.reason.startswith("lagging")

        await wait_until(flowing_but_late, 10, "late marks flowing, flagged lagging")
        lag_s = [(m.ts_recv_ns - m.ts_event_ns) / 1e9 for m in marks_after(h, h.clock.now_ns() - 300_000_000)]
        assert min(lag_s) > 2.0
        h.sim.faults.delay_frames(0.0)
        await wait_until(lambda: stale_figure(h, MARK).value == 0.0, 8, "fresh marks after the delay")


async def test_repeated_frames_are_dropped_and_never_stored_twice() -> None:
    """Every frame sent twice: the repeats are counted as `repeated`, and stored marks strictly advance."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        h.sim.faults.repeat_frames(10)  # ten broadcasts, shared by the futures and spot hosts
        await wait_until(lambda: stats.dropped["repeated"] >= 10, 5, "the repeats dropped")
        times = [m.ts_event_ns for m in h.store.of(MarkPrice)][1:]  # the first is the REST seed
        assert times == sorted(set(times))


async def test_malformed_frames_are_counted_and_never_reconnect() -> None:
    """Truncated JSON on every socket is dropped as `malformed_json`; no reconnect, no DOWN, data flows."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        before, t0 = dict(stats.reconnects), h.clock.now_ns()
        h.sim.faults.send_malformed(5)  # five broadcasts, each one bad frame on every socket of its host
        await wait_until(lambda: stats.dropped["malformed_json"] >= 5, 5, "the bad frames dropped")
        await asyncio.sleep(0.3)
        assert dict(stats.reconnects) == before
        assert not [s for s in h.store.statuses(MARK) if s.ts_recv_ns > t0]
        await wait_until(lambda: len(marks_after(h, t0)) > 5, 5, "marks flowing after the bad frames")
        assert dict(stats.reconnects) == before


def stored_prices(h: Harness, t0: int) -> list[float]:
    marks = [p for m in marks_after(h, t0) for p in (m.mark, m.index)]
    return marks + [p for q in h.store.of(Quote) if q.ts_recv_ns > t0 for p in (q.bid, q.ask)]


@pytest.mark.parametrize("kind", ["nan", "negative", "zero"])
async def test_bad_prices_in_well_formed_frames_are_counted_never_stored(kind: str) -> None:
    """Valid JSON with NaN, negative or zero prices: every such frame is dropped by reason, none becomes
    a record, no socket is replaced, and the good frames after them flow on."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        before, dropped0, t0 = dict(stats.reconnects), sum(stats.dropped.values()), h.clock.now_ns()
        h.sim.faults.corrupt_prices(kind, 4)  # type: ignore[arg-type]
        await wait_until(lambda: sum(stats.dropped.values()) - dropped0 >= 4, 5, "the bad frames dropped")
        await wait_until(lambda: len(marks_after(h, t0)) > 5, 5, "good marks after them")
        assert set(stats.dropped) - {"repeated"} <= {"out_of_range", "crossed_book"}
        assert dict(stats.reconnects) == before
        assert not [s for s in h.store.statuses(MARK) if s.ts_recv_ns > t0]
        assert all(math.isfinite(p) and p > 0 for p in stored_prices(h, t0))


async def test_numbers_where_the_venue_sends_strings_are_read_for_their_value() -> None:
    """Prices as JSON numbers and `E` as a string: the values are exact, so they are taken (a type change
    must not blind the monitor); nothing is dropped and nothing reconnects."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        before, t0 = dict(stats.reconnects), h.clock.now_ns()
        h.sim.faults.corrupt_prices("wrong_type", 20)
        await wait_until(lambda: len(marks_after(h, t0)) > 10, 5, "marks through the change")
        assert set(stats.dropped) <= {"repeated"} and dict(stats.reconnects) == before
        assert all(math.isfinite(p) and p > 0 for p in stored_prices(h, t0))
        times = [m.ts_event_ns for m in marks_after(h, t0)]
        assert times == sorted(set(times)) and times[0] > t0 - 1_000_000_000  # `E` read as milliseconds


async def test_refused_connections_are_retried_with_backoff_then_resynced() -> None:
    """The venue drops every socket and refuses new ones for 2 s: streams DOWN, a few paced retries (not a
    storm), then marks again and the account equal to the venue's."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        stats = native(h).stats
        before, t0 = sum(stats.reconnects.values()), h.clock.now_ns()
        h.sim.faults.refuse_connections(2.0)
        h.sim.faults.disconnect_all()
        await wait_until(
            lambda: any(s.ts_recv_ns > t0 and s.state is FeedState.DOWN for s in h.store.statuses(MARK)),
            3,
            "DOWN",
        )
        await wait_until(lambda: len(marks_after(h, t0 + 2_000_000_000)) > 3, 10, "marks after the refusal")
        attempts = sum(stats.reconnects.values()) - before
        assert 4 <= attempts <= 40  # 4 sockets, each retrying on a jittered exponential backoff
        await settle_funding(h)
        await wait_until(lambda: in_sync(h), 5, "the account after the outage")


async def test_429_then_418_hold_every_request_until_retry_after() -> None:
    """429 then 418 with Retry-After 1 s: no account snapshot for ≥ 1 s, then polling resumes, state exact."""
    async with running_collector(venue={**VENUE, "user_stream": False, "poll_s": 0.1}) as h:
        await wait_until(lambda: len(h.store.of(AccountSnapshot)) >= 3, 5, "polling")
        t0 = h.clock.now_ns()
        h.sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=1)
        await wait_until(lambda: native(h).stats.events["rate_limited"] >= 1, 3, "the rate limit")
        await wait_until(
            lambda: len([s for s in h.store.of(AccountSnapshot) if s.ts_recv_ns > t0]) >= 3, 5, "resume"
        )
        times = [t0] + [s.ts_recv_ns for s in h.store.of(AccountSnapshot) if s.ts_recv_ns > t0]
        gap_s = max(b - a for a, b in itertools.pairwise(times)) / 1e9
        assert gap_s >= 1.0  # Retry-After waited out; how soon it resumed is bounded by the wait above
        snap = h.store.snapshot(h.clock.now_ns()).accounts[("binance", "bob")]
        assert account_state(snap) == venue_state(h.sim, "bob")


async def test_listen_key_expiry_recreates_the_key_and_resyncs() -> None:
    """`listenKeyExpired` ends the stream: a new key, a REST resync, deltas again; no key in any log line."""
    with structlog.testing.capture_logs() as logs:
        async with running_collector(venue=VENUE) as h:
            await started(h)
            stats = native(h).stats
            reconnects = stats.reconnects["binance.user.bob"]
            h.sim.faults.expire_listen_key("bob")
            await wait_until(lambda: stats.events["listen_key_expired"] == 1, 3, "the expiry event")
            await wait_until(lambda: stats.reconnects["binance.user.bob"] > reconnects, 3, "a new session")
            await wait_until(lambda: in_sync(h), 5, "the resync")
            await settle_funding(h)
            await wait_until(lambda: in_sync(h), 2, "a delta on the new key")
    text = repr(logs)
    assert not re.search(r"[A-Za-z0-9]{64}", text), "a listenKey reached the logs"
    assert all(s.reveal() not in text for pair in TEST_KEYS.values() for s in pair)


async def test_keepalive_holds_the_listen_key_past_its_lifetime() -> None:
    """A key that lives 1 s is PUT every 0.3 s: it never expires and deltas keep arriving."""
    async with running_collector(
        venue={**VENUE, "listen_key_keepalive_s": 0.3}, sim={"listen_key_ttl_s": 1.0}
    ) as h:
        await started(h)
        stats = native(h).stats
        # five keep-alives span 1.5 s, one and a half lifetimes of the key: counted, not slept for
        await wait_until(lambda: stats.events["listen_key_kept_alive"] >= 5, 15, "five keep-alives")
        assert stats.events["listen_key_expired"] == 0
        await settle_funding(h)
        await wait_until(lambda: in_sync(h), 2, "a delta after 2.5 key lifetimes")


async def test_rest_5xx_during_reconcile_keeps_a_synced_account_fresh() -> None:
    """503s on the reconciler while the stream is synced: counted, never DOWN or stale, state stays exact."""
    async with running_collector(venue={**VENUE, "reconcile_s": 0.2}) as h:
        await started(h)
        stats = native(h).stats
        t0 = h.clock.now_ns()
        h.sim.faults.fail_rest(6, status=503)
        await wait_until(lambda: stats.events["rest_failure"] >= 2, 3, "failed reconciles")
        await settle_funding(h)
        await wait_until(lambda: in_sync(h), 2, "the delta during the outage")
        assert h.figure("feed_stale", stream="account:bob") == 0.0
        assert not [s for s in h.store.statuses("account:bob") if s.ts_recv_ns > t0]
        n = len(h.store.of(AccountSnapshot))
        await wait_until(lambda: len(h.store.of(AccountSnapshot)) > n + 2, 3, "reconciles after the outage")
        assert in_sync(h)


async def test_a_delta_the_stream_never_sent_is_corrected_by_the_periodic_reconcile() -> None:
    """The venue changes bob's wallet without an event on a healthy stream (a lost delta): only REST can
    see it; the next periodic reconcile makes perpmon equal to the venue and counts the drift."""
    async with running_collector(venue={**VENUE, "reconcile_s": 0.5}) as h:
        await started(h)
        stats = native(h).stats
        sock_reconnects = stats.reconnects["binance.user.bob"]
        h.sim.engine.accounts["bob"].cross_wallet += 123.0  # no ACCOUNT_UPDATE goes out
        assert not in_sync(h)
        await wait_until(lambda: in_sync(h), 3, "the periodic reconcile")
        assert stats.events["reconcile_drift"] >= 1
        assert stats.reconnects["binance.user.bob"] == sock_reconnects  # no reconnect was needed


async def test_liquidation_is_reported_as_liquidated_after_a_margin_call() -> None:
    """The mark falls through bob's long: a MARGIN_CALL record, then the leg gone with reason "liquidated"."""
    async with running_collector(venue=VENUE) as h:
        await started(h)
        eng, lp = h.sim.engine, h.sim.engine.liquidation_price("bob", "BTCUSDT", "LONG")
        entry = eng.position("bob", "BTCUSDT", "LONG").entry  # type: ignore[union-attr]
        h.sim.pause()
        now_ms = h.clock.now_ns() // 1_000_000
        for k in range(1, 30):  # close in on the LP: the 80 % margin call comes before the breach
            eng.on_marks({"BTCUSDT": lp + (entry - lp) * 0.7**k}, now_ms)
        eng.on_marks({"BTCUSDT": lp * 0.99}, now_ms)
        assert [liq.side for liq in eng.liquidations] == ["LONG"]
        await wait_until(lambda: ("binance", "bob", "BTCUSDT", "LONG") in h.store.snapshot(0).gone, 3, "gone")
        gone = h.store.snapshot(0).gone[("binance", "bob", "BTCUSDT", "LONG")]
        assert (gone.reason, gone.position.qty) == ("liquidated", 0.5)
        (call,) = [c for c in h.store.of(MarginCall) if c.account == "bob"]
        assert call.positions[0].side == "LONG" and call.ts_event_ns <= gone.gone_at_ns
        assert [f.kind for f in h.store.of(Fill)] == ["liquidation"]
        assert native(h).stats.events["margin_call"] == 1
        await wait_until(lambda: in_sync(h), 2, "the short leg and wallet equal to the venue")


async def test_changes_during_a_disconnect_are_caught_by_the_snapshot_after_the_reconnect() -> None:
    """While the user stream is down the venue pays funding and liquidates bob's long: those deltas are
    lost, REST polls only every 30 s, so only the snapshot taken after the reconnect can make perpmon
    equal to the venue again — and the vanished leg is reported, not silently dropped."""
    async with running_collector(venue={**VENUE, "poll_s": 30.0, "reconcile_s": 30.0}) as h:
        await started(h)
        h.sim.pause()
        stats, sock = native(h).stats, "binance.user.bob"
        h.sim.faults.disconnect_all()
        await wait_until(lambda: stats.connected.get(sock) is False, 3, "the user stream down", step_s=0.005)
        eng, now_ms = h.sim.engine, h.clock.now_ns() // 1_000_000
        lp = eng.liquidation_price("bob", "BTCUSDT", "LONG")
        eng.settle_funding("BTCUSDT", 0.0005, eng.marks["BTCUSDT"], now_ms)
        eng.on_marks({"BTCUSDT": lp * 0.99}, now_ms)
        assert [liq.side for liq in eng.liquidations] == ["LONG"]
        assert stats.connected[sock] is False  # both changes happened in the gap
        held = h.store.snapshot(h.clock.now_ns()).accounts[("binance", "bob")]
        assert account_state(held) != venue_state(h.sim, "bob")
        await wait_until(lambda: in_sync(h), 5, "the snapshot after the reconnect")
        gone = h.store.snapshot(0).gone[("binance", "bob", "BTCUSDT", "LONG")]
        assert (gone.reason, gone.position.qty) == ("unknown", 0.5)  # its fill went to no socket


async def test_the_venue_cut_of_an_unrotated_socket_reconnects_and_resyncs() -> None:
    """The venue cuts every connection at 1 s (its 24 h limit, scaled) and perpmon would rotate only
    after 30 s: each cut is a DOWN and a reconnect, and the account equals the venue after each."""
    async with running_collector(
        venue={**VENUE, "connection_max_age_s": 30.0}, sim={"ws_max_age_s": 1.0}
    ) as h:
        await started(h)
        stats = native(h).stats
        before = dict(stats.reconnects)
        sockets = ("binance.market.0", "binance.user.bob")
        await wait_until(lambda: all(stats.reconnects[s] >= before.get(s, 0) + 2 for s in sockets), 6, "cuts")
        assert stats.events["rotation"] == 0
        assert any(s.state is FeedState.DOWN for s in h.store.statuses(MARK))
        await settle_funding(h)
        # with a cut every second the book resyncs between cuts; on a loaded machine that can take a few
        await wait_until(lambda: in_sync(h), 10, "the account after the cuts")


async def test_rotation_before_the_daily_cut_is_make_before_break(monkeypatch: pytest.MonkeyPatch) -> None:
    """The venue cuts at 1.2 s; sockets rotate at 0.6 s, no gap: no cut, no DOWN, no stale, no mark twice."""
    # four sockets rotating every 0.6 s open ~7 connections a second, far over the venue's 300 per
    # 5 min that the connection pacer keeps (now that it really does); the pacing has tests of its own
    monkeypatch.setattr(native_collector, "CONNECTS_PER_S", 100.0)
    async with running_collector(
        venue={**VENUE, "connection_max_age_s": 0.6}, sim={"ws_max_age_s": 1.2}
    ) as h:
        await started(h)
        t0 = h.clock.now_ns()
        stats = native(h).stats
        # 4 sockets, each rotated at least twice: waited for, not slept for, so load cannot fail it
        await wait_until(lambda: stats.events["rotation"] >= 8, 20, "eight rotations")
        assert not [s for s in h.store.statuses(MARK) if s.ts_recv_ns > t0]
        marks = [(m.ts_event_ns, m.ts_recv_ns) for m in marks_after(h, t0) if m.symbol == "BTCUSDT"]
        times = [e for e, _ in marks]
        assert times == sorted(set(times))  # no mark twice, none out of order
        # no hole on our side: a wait between two received marks longer than the venue's own wait
        # between emitting them would be frames lost in a rotation (a stalled loop delays both alike)
        lost = max((rb - ra) - (eb - ea) for (ea, ra), (eb, rb) in itertools.pairwise(marks))
        assert lost < 0.5e9
        await settle_funding(h)
        await wait_until(lambda: in_sync(h), 2, "deltas across user-stream rotations")


def bob_with(*permissions: ApiPermission) -> dict[str, Any]:
    """Simulator overrides: bob's key granted `permissions`."""
    bob = SimAccountConfig(
        name="bob",
        api_key_env="SIM_BOB_KEY",
        api_secret_env="SIM_BOB_SECRET",
        wallet_usdt=1000.0,
        positions=(SimPositionConfig(symbol="BTCUSDT", qty=0.1),),
        permissions=("enableReading", *permissions),
    )
    return {"accounts": (bob,)}


async def test_trading_key_is_refused_at_start_naming_the_account_not_the_key() -> None:
    """A key that can trade futures: start-up refuses it with the account and config key, never the key."""
    with pytest.raises(KeyRefusedError) as err:
        async with running_collector(venue=VENUE, sim=bob_with("enableFutures")):
            pass
    assert err.value.path == "accounts[0].allow_trading_key"
    assert "'bob'" in str(err.value) and "enableFutures" in str(err.value)
    assert all(s.reveal() not in str(err.value) for s in TEST_KEYS["bob"])


async def test_trading_key_is_accepted_when_the_config_allows_it() -> None:
    """With allow_trading_key = true the same key is watched (with a warning)."""
    sim = bob_with("enableFutures", "enableInternalTransfer")
    async with running_collector(venue=VENUE, sim=sim, accounts={"bob": {"allow_trading_key": True}}) as h:
        await wait_until(lambda: in_sync(h), 5, "bob's account")


async def test_withdrawal_key_is_refused_even_when_trading_is_allowed() -> None:
    """A key that can withdraw is never accepted, whatever the config says."""
    with pytest.raises(KeyRefusedError, match="can withdraw"):
        async with running_collector(
            sim=bob_with("enableWithdrawals"), accounts={"bob": {"allow_trading_key": True}}
        ):
            pass
