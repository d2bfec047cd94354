"""A stream that arrives on time with old events is not fresh: the venue's clock says how old they are."""

from __future__ import annotations

from monitor.clock import NS_PER_S
from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import Figure, MarkPrice
from monitor.store.state import StateStore

T0 = 1_700_000_000 * NS_PER_S
CFG, _ = parse_config({"venues": [{"name": "binance", "symbols": ["BTCUSDT"], "perp_books": False}]}, {})


def stale_figure(event_age_s: float, recv_age_s: float = 0.1) -> Figure:
    """feed_stale of mark:BTCUSDT (limit 3 s live) for one mark received `recv_age_s` ago."""
    store = StateStore()
    now = T0 + 100 * NS_PER_S
    event = now - int(event_age_s * NS_PER_S)
    recv = now - int(recv_age_s * NS_PER_S)
    store.put(
        MarkPrice(venue="binance", symbol="BTCUSDT", ts_event_ns=event, ts_recv_ns=recv, mark=1.0, index=1.0)
    )
    figs = Evaluator(CFG, started_ns=T0).evaluate(store.snapshot(now), now)
    (fig,) = [
        f
        for k, f in figs.items.items()
        if k.name == "feed_stale" and k.labels().get("stream") == "mark:BTCUSDT"
    ]
    return fig


def test_events_within_twice_the_limit_are_fresh() -> None:
    """Up to 2 × 3 s of venue-to-us delay (skew, network) is tolerated."""
    assert stale_figure(event_age_s=0.4).value == 0.0
    assert stale_figure(event_age_s=5.9).value == 0.0


def test_old_events_delivered_on_time_are_stale_and_say_why() -> None:
    """Frames flowing every tick but 8 s behind the venue: stale, reason `lagging`, with the age."""
    fig = stale_figure(event_age_s=8.0, recv_age_s=0.1)
    assert fig.value == 1.0
    assert fig.reason.startswith("lagging: newest event 8.0s old")


def test_silence_keeps_its_own_reason() -> None:
    """Nothing received for 4 s (> 3 s): stale for silence, not for lag."""
    fig = stale_figure(event_age_s=4.0, recv_age_s=4.0)
    assert (fig.value, fig.reason) == (1.0, "silent")
