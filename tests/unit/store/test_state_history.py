"""The store's history for the slow models: spot mids on the mark grid's buckets, settled funding."""

from __future__ import annotations

import numpy as np

from monitor.records import MarkPrice, Quote
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_040 * S


def _spot(st: StateStore, t: int, bid: float, ask: float, market: str = "spot") -> None:
    st.put(
        Quote(
            venue="v",
            symbol="BTCUSDT",
            market=market,
            ts_event_ns=t,
            ts_recv_ns=t,
            bid=bid,
            bid_size=1,  # type: ignore[arg-type]
            ask=ask,
            ask_size=1,
        )
    )


def test_spot_mid_grid_shares_the_mark_buckets_and_fills_gaps() -> None:
    st = StateStore(grid_step_s=60.0, history_points=16)
    _spot(st, T0, 99.0, 101.0)
    _spot(st, T0 + 30 * S, 100.0, 104.0)  # same bucket: the last value wins
    _spot(st, T0 + 180 * S, 110.0, 112.0)  # two empty buckets carried forward
    _spot(st, T0 + 200 * S, 1.0, 2.0, market="perp")  # perp books are not spot history
    ts, v = st.snapshot(T0 + 200 * S).spot_grid[("v", "BTCUSDT")]
    bucket = (T0 // (60 * S)) * 60 * S
    assert list(ts) == [bucket + k * 60 * S for k in range(4)]
    np.testing.assert_array_equal(v, [102.0, 102.0, 102.0, 111.0])


def test_settlement_keeps_the_estimate_seen_before_it() -> None:
    st = StateStore()
    nxt = T0 + 100 * S

    def mark(t: int, rate: float, next_ns: int) -> None:
        st.put(
            MarkPrice(
                venue="v",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=1.0,
                index=1.0,
                funding_rate=rate,
                next_funding_ns=next_ns,
            )
        )

    mark(T0, 1e-4, nxt)
    mark(nxt - S, 2e-4, nxt)
    mark(nxt + S, 5e-5, nxt + 200 * S)
    mark(nxt + 2 * S, 6e-5, nxt + 200 * S)  # same interval: nothing new
    mark(nxt + 201 * S, 7e-5, nxt + 400 * S)
    ts, rates = st.snapshot(nxt + 201 * S).funding_settled[("v", "BTCUSDT")]
    assert list(ts) == [nxt, nxt + 200 * S]
    np.testing.assert_array_equal(rates, [2e-4, 6e-5])
