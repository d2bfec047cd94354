"""The native Binance collector on a healthy simulator: values equal the venue's, intervals refreshed."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.collectors import native
from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.testing import Harness, account_state, running_collector, venue_state, wait_until
from monitor.records import FundingInfo, LeverageTiers
from monitor.sim.book import Position as SimPosition

pytestmark = pytest.mark.integration


async def test_marks_books_and_accounts_equal_the_venue() -> None:
    """Frozen market: mark, index, funding estimate, both books and the account equal the simulator's."""
    venue = {"symbols": ["BTCUSDT", "SOLUSDT"], "spot_symbols": ["BTCUSDT"]}
    async with running_collector(venue=venue) as h:
        snap = lambda: h.store.snapshot(h.clock.now_ns())  # noqa: E731
        await wait_until(lambda: len(snap().marks) == 2 and len(snap().quotes) == 3, 5, "every stream")
        h.sim.pause()
        q = h.sim.market.quotes

        def same() -> bool:
            s = snap()
            marks = all(
                (
                    s.marks[("binance", k)].mark,
                    s.marks[("binance", k)].index,
                    s.marks[("binance", k)].funding_rate,
                )
                == (q[k].mark, q[k].index, q[k].funding_rate)
                for k in ("BTCUSDT", "SOLUSDT")
            )
            perp, spot = s.quotes[("binance", "BTCUSDT", "perp")], s.quotes[("binance", "BTCUSDT", "spot")]
            btc = q["BTCUSDT"]
            books = (perp.bid, perp.ask, spot.bid, spot.ask) == (btc.bid, btc.ask, btc.spot_bid, btc.spot_ask)
            return marks and books and ("binance", "bob") in s.accounts

        await wait_until(same, 5, "the frozen market")
        acct = snap().accounts[("binance", "bob")]
        assert account_state(acct) == venue_state(h.sim, "bob")
        tiers = [t for t in h.store.of(LeverageTiers) if t.symbol == "BTCUSDT"]
        assert tiers and tiers[0].brackets[1].cum == 50.0
        assert all(h.figure("feed_stale", stream=s) == 0.0 for s in ("mark:BTCUSDT", "book:spot:BTCUSDT"))


async def test_funding_intervals_come_from_the_venue_and_are_refreshed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SOLUSDT settles every 4 h (listed in fundingInfo), BTCUSDT every 8 h; the loop asks again."""
    monkeypatch.setattr(native, "REFERENCE_REFRESH_S", 0.3)
    async with running_collector(venue={"symbols": ["BTCUSDT", "SOLUSDT"]}) as h:
        await wait_until(lambda: len(h.store.of(FundingInfo)) >= 6, 5, "three refreshes")
        intervals = {(f.symbol, f.interval_s) for f in h.store.of(FundingInfo)}
        assert intervals == {("BTCUSDT", 8 * 3600.0), ("SOLUSDT", 4 * 3600.0)}
        sol = [f for f in h.store.of(FundingInfo) if f.symbol == "SOLUSDT"][-1]
        assert sol.cap == 0.02 and sol.floor == -0.02
        assert h.figure("funding_interval_seconds", symbol="SOLUSDT") == 4 * 3600.0


async def test_a_funding_interval_changed_by_the_venue_is_picked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The venue moves BTCUSDT from 8 h to 4 h (it appears in fundingInfo), then back: perpmon follows."""
    monkeypatch.setattr(native, "REFERENCE_REFRESH_S", 0.2)
    async with running_collector(venue={"symbols": ["BTCUSDT"]}) as h:
        interval = lambda: h.figure("funding_interval_seconds", symbol="BTCUSDT")  # noqa: E731
        await wait_until(lambda: interval() == 8 * 3600.0, 5, "the 8 h interval")
        specs = h.sim.market.specs
        eight_hours = specs["BTCUSDT"]
        specs["BTCUSDT"] = dataclasses.replace(eight_hours, funding_hours=4, adjusted=True)
        await wait_until(lambda: interval() == 4 * 3600.0, 5, "the new 4 h interval")
        specs["BTCUSDT"] = eight_hours  # unlisted again: the venue's default, 8 h
        await wait_until(lambda: interval() == 8 * 3600.0, 5, "the 8 h interval back")


async def test_perpmon_and_the_venue_agree_on_liquidation_prices() -> None:
    """A healthy venue: for both of bob's isolated legs the divergence figure exists and is under the
    shipped rule's 0.2 %, so the LiquidationPriceDivergence alert means a model or data problem."""
    async with running_collector(venue={"symbols": ["BTCUSDT"], "poll_s": 0.2}) as h:
        await wait_until(lambda: ("binance", "bob") in h.store.snapshot(h.clock.now_ns()).accounts, 5, "bob")
        h.sim.pause()
        n = len(h.store.records)
        await wait_until(lambda: len(h.store.records) > n + 5, 5, "snapshots of the frozen venue")
        for side in ("LONG", "SHORT"):
            d = h.figure("liquidation_price_divergence_ratio", account="bob", symbol="BTCUSDT", side=side)
            assert 0.0 <= d < 0.002, (side, d)


def heard_and_fresh(h: Harness, stream: str) -> bool:
    """Heard (not just within its start-up grace) and not stale, by the evaluator's verdict."""
    f = h.figures("feed_stale", "feed_last_message_age_seconds", stream=stream)
    return f["feed_stale"] == 0.0 and f["feed_last_message_age_seconds"] < 1.0


async def test_a_symbol_an_account_opens_is_watched_without_a_restart() -> None:
    """bob, watched for BTCUSDT only, opens ETHUSDT: its mark stream (on a socket of its own, the cap
    being one stream) is fresh and equals the venue's, with its funding interval and tiers."""
    venue = {"symbols": ["BTCUSDT"], "max_streams_per_connection": 1, "poll_s": 0.2, "perp_books": False}
    venue["user_stream"] = False  # the leg shows up in a REST snapshot (Bybit's test: on the stream)
    async with running_collector(venue=venue) as h:
        snap = lambda: h.store.snapshot(h.clock.now_ns())  # noqa: E731
        await wait_until(lambda: ("binance", "bob") in snap().accounts, 5, "bob")
        assert ("binance", "ETHUSDT") not in snap().marks
        eth = h.sim.engine.marks["ETHUSDT"]
        h.sim.engine.accounts["bob"].positions.append(
            SimPosition("ETHUSDT", "LONG", 2.0, eth, "cross", 0.0, 10.0, h.clock.now_ns() // 1_000_000)
        )
        await wait_until(lambda: heard_and_fresh(h, "mark:ETHUSDT"), 10, "a fresh ETH mark")
        c = h.collector
        assert isinstance(c, BinanceUsdmCollector)
        assert [f.subscriptions for f in c.sockets.by_kind["market"]] == [
            ("btcusdt@markPrice@1s",),
            ("ethusdt@markPrice@1s",),
        ]
        h.sim.pause()
        q = h.sim.market.quotes["ETHUSDT"]
        await wait_until(
            lambda: snap().marks[("binance", "ETHUSDT")].mark == q.mark, 5, "the frozen ETH mark"
        )
        await wait_until(
            lambda: {f.symbol for f in h.store.of(FundingInfo)} == {"BTCUSDT", "ETHUSDT"}, 5, "ETH funding"
        )
        assert any(t.symbol == "ETHUSDT" and t.account == "bob" for t in h.store.of(LeverageTiers))
