"""Feed freshness: a stream is fresh only if it spoke recently; silence is never "fine".

Expected streams come from the config, so a stream that never delivered anything is reported
too (after a start-up grace of one staleness window) instead of being invisible.
"""

from __future__ import annotations

from monitor.clock import NS_PER_S
from monitor.config import Config
from monitor.evaluation.sink import FigureSink
from monitor.records import FeedState
from monitor.store.state import Snapshot

__all__ = ["expected_streams", "feed_figures"]


def expected_streams(cfg: Config) -> dict[tuple[str, str], float]:
    """(venue, stream) → stale_after_s for every stream the config asks for."""
    out: dict[tuple[str, str], float] = {}
    for v in cfg.venues:
        for s in v.symbols:
            out[(v.name, f"mark:{s}")] = v.stale_after_s
        for s in v.spot_symbols:
            out[(v.name, f"book:spot:{s}")] = v.stale_after_s
        for a in cfg.accounts:
            if a.venue == v.name:
                # account snapshots arrive every poll_s; allow a few misses before calling it stale
                out[(v.name, f"account:{a.name}")] = max(v.stale_after_s, 3 * v.poll_s)
    return out


def feed_figures(
    snap: Snapshot, expected: dict[tuple[str, str], float], started_ns: int, sink: FigureSink
) -> dict[tuple[str, str], bool]:
    """Emit age and stale flag per stream; return which streams are fresh now."""
    now = snap.taken_at_ns
    fresh: dict[tuple[str, str], bool] = {}
    for key, limit_s in expected.items():
        view = snap.feeds.get(key)
        heard = view is not None and view.last_recv_ns > 0
        since = view.last_recv_ns if heard and view is not None else started_ns
        age_s = max(0.0, (now - since) / NS_PER_S)
        down = view is not None and view.state is not FeedState.UP
        ok = heard and not down and age_s <= limit_s
        in_grace = not heard and age_s <= limit_s
        fresh[key] = ok
        venue, stream = key
        sink.add(
            "feed_last_message_age_seconds",
            age_s if heard else float("nan"),
            reason="" if heard else "never_heard",
            venue=venue,
            stream=stream,
        )
        reason = (
            ""
            if ok
            else (view.reason if view is not None and view.reason else ("silent" if heard else "never_heard"))
        )
        sink.add("feed_stale", 0.0 if ok or in_grace else 1.0, reason=reason, venue=venue, stream=stream)
    return fresh
