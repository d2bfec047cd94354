"""A reconnect storm against the venue's connection limit: refused, never banned, back in full.

The simulator keeps Binance's per-IP budget of connection attempts (here 2 per 3 s instead of 300
per 5 min, so the window refills within a test). With one socket per stream the Binance collector
holds a dozen sockets on the futures host; the venue closes them all at once and every one wants
back. The venue refuses past the budget with 429 and a Retry-After; the collector's venue-wide
cool-down holds every connection attempt until then, so no attempt comes back inside it and the
IP is never banned (418). Each refused stream is reported down while it is away and every mark
stream delivers again afterwards.
"""

from __future__ import annotations

import time

import pytest

from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.testing import running_collector, wait_until
from monitor.config import SimLimitsConfig
from monitor.records import FeedState, MarkPrice

pytestmark = pytest.mark.integration

SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
VENUE = {
    "symbols": SYMBOLS,
    "max_streams_per_connection": 1,  # one socket per stream: a storm of sockets
    "stale_after_s": 2.0,
    "poll_s": 0.2,
    "user_stream": False,
}
LIMITS = SimLimitsConfig(ws_connects_per_5min=2, ws_connects_window_s=3.0)


def _marks_since(store: object, t_ns: int) -> set[str]:
    return {m.symbol for m in store.of(MarkPrice) if m.ts_recv_ns > t_ns}  # type: ignore[attr-defined]


async def test_a_reconnect_storm_is_refused_past_the_budget_and_recovers_without_a_ban() -> None:
    async with running_collector(venue=VENUE, sim={"limits": LIMITS}, accounts={}) as h:
        collector = h.collector
        assert isinstance(collector, BinanceUsdmCollector)
        limit = h.sim.futures_limit
        # the start is already a storm: more sockets than the budget allows at once
        connected = collector.stats.connected

        def all_connected() -> bool:
            market = [name for name in connected if ".spot." not in name]
            return len(market) >= 2 * len(SYMBOLS) and all(connected[n] for n in market)

        await wait_until(all_connected, 90, "every socket connected")
        sockets = len(h.sim.futures_hub.connections)
        assert sockets > LIMITS.ws_connects_per_5min

        refused_before = limit.served_429
        t0 = h.clock.now_ns()
        wall0 = time.monotonic()
        h.sim.faults.disconnect_all()
        await wait_until(lambda: not all_connected(), 30, "the sockets lost")
        await wait_until(all_connected, 120, "every socket back")
        print(f"storm of {sockets} sockets: all back in {time.monotonic() - wall0:.1f} s")

        assert limit.served_429 > refused_before  # the venue refused past its budget …
        assert collector.stats.events["rate_limited"] > 0  # … the collector heard it …
        assert limit.bans() == 0 and limit.served_418 == 0  # … and never came back inside a Retry-After

        def downs(symbol: str) -> list[int]:
            return [
                st.ts_recv_ns
                for st in h.store.statuses(f"mark:{symbol}")
                if st.ts_recv_ns > t0 and st.state is FeedState.DOWN
            ]

        # the streams refused (at least all but the budget's two) were reported down while away, the
        # stale-feed signal, and every stream reported down delivers again after its last report
        reported = [s for s in SYMBOLS if downs(s)]
        assert len(reported) >= len(SYMBOLS) - LIMITS.ws_connects_per_5min, {s: downs(s) for s in SYMBOLS}
        await wait_until(
            lambda: all(_marks_since(h.store, max(downs(s))) >= {s} for s in reported),
            30,
            "marks after the last down",
        )
        assert limit.bans() == 0
