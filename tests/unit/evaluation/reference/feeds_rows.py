"""Feed freshness: a stream is fresh only if it spoke recently; silence is never "fine".

Expected streams come from the config, so a stream that never delivered anything is reported
too (after a start-up grace of one staleness window) instead of being invisible. Each stream has
its own limit (`collectors.cadence.stream_limits`: N × its cadence for periodic streams), the same
table the collectors use to force a reconnect, so the alert and the reconnect agree.

Arriving is not enough: a stream that delivers on time but whose events are old (a venue-side
backlog, a stuck exchange timestamp, a reader that fell behind) shows a price that is no longer
the market. A stream whose newest event is older than `LAG_FACTOR` × its limit by the venue's own
clock is stale too (reason `lagging`). The factor leaves room for clock skew; a host clock off by
more than that also breaks signed REST (Binance's recvWindow is 5 s), so it deserves the alert.

A symbol an account holds beyond its venue's `symbols` is watched by the collector
(`collectors.held`); `HeldStreams` expects its streams too, with the same limits, from the tick
that first shows the position (its grace counts from then, not from start-up).
"""

from __future__ import annotations

from monitor.clock import NS_PER_S
from monitor.collectors.cadence import stream_limits
from monitor.collectors.held import held_stream_limits
from monitor.config import Config
from monitor.evaluation.sink import FigureSink
from monitor.records import FeedState
from monitor.store.state import Snapshot

__all__ = ["LAG_FACTOR", "HeldStreams", "expected_streams", "feed_figures"]

LAG_FACTOR = 2.0


def expected_streams(cfg: Config) -> dict[tuple[str, str], float]:
    """(venue, stream) → seconds of silence allowed, for every stream the config asks for."""
    out: dict[tuple[str, str], float] = {}
    for v in cfg.venues:
        for stream, limit in stream_limits(cfg, v).items():
            out[(v.name, stream)] = limit
    return out


class HeldStreams:
    """The streams of symbols accounts hold beyond the config, and when each was first expected."""

    def __init__(self, cfg: Config) -> None:
        self._cfg = cfg
        self._venues = {v.name: v for v in cfg.venues}
        self._seen: set[tuple[str, str]] = set()  # (venue, symbol)
        self.limits: dict[tuple[str, str], float] = {}
        self.since_ns: dict[tuple[str, str], int] = {}

    def update(self, snap: Snapshot, expected: dict[tuple[str, str], float], now_ns: int) -> bool:
        """Expect, from now on, the streams of every symbol first seen held; True if there were any."""
        before = len(self.limits)
        for (venue, _), acct in snap.accounts.items():
            v = self._venues.get(venue)
            if v is None:
                continue
            for p in acct.positions:
                if (venue, p.symbol) in self._seen:
                    continue
                self._seen.add((venue, p.symbol))
                for stream, limit in held_stream_limits(self._cfg, v, p.symbol).items():
                    if (venue, stream) not in expected:
                        self.limits[(venue, stream)] = limit
                        self.since_ns[(venue, stream)] = now_ns
        return len(self.limits) > before


def feed_figures(
    snap: Snapshot,
    expected: dict[tuple[str, str], float],
    started_ns: int,
    sink: FigureSink,
    since_ns: dict[tuple[str, str], int] | None = None,
) -> dict[tuple[str, str], bool]:
    """Emit age and stale flag per stream; return which streams are fresh now.

    `since_ns`: when a stream first became expected, where later than `started_ns` (a held symbol).
    """
    now = snap.taken_at_ns
    fresh: dict[tuple[str, str], bool] = {}
    since_of = since_ns or {}
    feeds = snap.feeds
    labs: list[dict[str, str]] = []
    ages: list[float] = []
    heard_why: list[str] = []
    stale: list[float] = []
    stale_why: list[str] = []
    for key, limit_s in expected.items():
        view = feeds.get(key)
        heard = view is not None and view.last_recv_ns > 0
        since = view.last_recv_ns if heard and view is not None else since_of.get(key, started_ns)
        age_s = max(0.0, (now - since) / NS_PER_S)
        down = view is not None and view.state is not FeedState.UP
        event_ns = view.last_event_ns if view is not None else 0
        lag_s = (now - event_ns) / NS_PER_S if event_ns > 0 else 0.0
        lagging = heard and age_s <= limit_s and lag_s > LAG_FACTOR * limit_s
        ok = heard and not down and age_s <= limit_s and not lagging
        in_grace = not heard and age_s <= limit_s
        fresh[key] = ok
        venue, stream = key
        labs.append({"venue": venue, "stream": stream})
        ages.append(age_s if heard else float("nan"))
        heard_why.append("" if heard else "never_heard")
        if ok:
            reason = ""
        elif view is not None and view.reason:
            reason = view.reason
        elif lagging:
            reason = f"lagging: newest event {lag_s:.1f}s old (limit {LAG_FACTOR * limit_s:g}s)"
        else:
            reason = "silent" if heard else "never_heard"
        stale.append(0.0 if ok or in_grace else 1.0)
        stale_why.append(reason)
    every = [True] * len(labs)
    sink.add_many("feed_last_message_age_seconds", labs, ages, every, heard_why)
    sink.add_many("feed_stale", labs, stale, every, stale_why)
    return fresh
