"""The store keeps the latest book levels per (venue, symbol, market), and hears the depth stream."""

from __future__ import annotations

from monitor.records import BookLevels
from monitor.store.state import StateStore

T0 = 1_700_000_000_000_000_000


def _levels(venue: str, u: int, bid: float) -> BookLevels:
    return BookLevels(
        venue=venue, symbol="BTCUSDT", market="perp", ts_event_ns=T0 + u, ts_recv_ns=T0 + u,
        bid_px=(bid, bid - 1), bid_qty=(1.0, 2.0), ask_px=(bid + 1,), ask_qty=(3.0,), update_id=u,
    )  # fmt: skip


def test_latest_levels_per_venue_symbol_market() -> None:
    st = StateStore()
    st.put(_levels("binance", 1, 100.0))
    st.put(_levels("binance", 2, 101.0))
    st.put(_levels("bybit", 1, 99.0))
    snap = st.snapshot(T0 + 10)
    assert set(snap.books) == {("binance", "BTCUSDT", "perp"), ("bybit", "BTCUSDT", "perp")}
    assert snap.books[("binance", "BTCUSDT", "perp")].bid_px == (101.0, 100.0)
    assert snap.books[("bybit", "BTCUSDT", "perp")].update_id == 1
    feed = snap.feeds[("binance", "depth:perp:BTCUSDT")]
    assert (feed.messages, feed.last_event_ns) == (2, T0 + 2)
    assert ("binance", "BTCUSDT", "perp") not in snap.quotes  # levels are not a top-of-book quote
