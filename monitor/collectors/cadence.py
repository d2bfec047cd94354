"""How long each stream may stay silent before it is stale: the one table collectors and figures share.

A periodic stream (Binance `@markPrice@1s`) is stale after `stale_cadences` × its cadence, never
less than `MIN_STALE_S` (an event-loop hiccup is not a stall). An event-driven stream (book tops
push only on change) has no cadence, so its limit is the venue's `stale_after_s`, which also caps
the periodic limit. Account state arrives from REST every `poll_s`, or every `reconcile_s` once
the user data stream carries the deltas; a few missed snapshots make it stale.

The collector forces a reconnect when a stream passes its limit; the evaluator raises `feed_stale`
and marks every figure built on that stream not fresh. Both read this table, so they agree.
"""

from __future__ import annotations

from monitor.collectors.listing import named
from monitor.config import Config, VenueConfig
from monitor.venues import spoken, venue_of

__all__ = ["MIN_STALE_S", "account_limit_s", "mark_cadence_s", "stream_limits", "uses_user_stream"]

MIN_STALE_S = 1.0
ACCOUNT_MISSES = 3.0  # snapshots an account feed may miss before it is stale


def mark_cadence_s(cfg: Config, v: VenueConfig) -> float | None:
    """Seconds between mark frames, or None when the venue pushes marks only on change."""
    every = spoken(v).mark_every_s
    if every is not None:
        return cfg.simulator.tick_s if v.simulator else every  # the simulator's tick is its `@1s`
    if v.simulator and venue_of(v).confirms_quiet:
        # a moving simulated market changes every tick; a quiet one (paused) sends nothing, and its
        # socket's quiet probe (`wsfeed.QuietProbe`) confirms the streams before this limit
        return cfg.simulator.tick_s
    return None


def uses_user_stream(v: VenueConfig) -> bool:
    return venue_of(v).private_stream and v.user_stream


def account_limit_s(v: VenueConfig) -> float:
    every = v.reconcile_s if uses_user_stream(v) else v.poll_s
    return max(v.stale_after_s, ACCOUNT_MISSES * every)


def stream_limits(cfg: Config, v: VenueConfig) -> dict[str, float]:
    """perpmon stream name → seconds of silence after which that stream is stale."""
    cadence = mark_cadence_s(cfg, v)
    mark = v.stale_after_s
    if cadence is not None:
        mark = min(v.stale_after_s, max(MIN_STALE_S, v.stale_cadences * cadence))
    symbols = named(v.symbols)  # "*" is a request, not a stream (collectors.listing)
    out = {f"mark:{s}": mark for s in symbols}
    if v.perp_books:
        out |= {f"book:perp:{s}": v.stale_after_s for s in symbols}
    out |= {f"book:spot:{s}": v.stale_after_s for s in v.spot_symbols}
    if v.depth_levels and venue_of(v).book_levels:  # the native collectors keep book levels
        out |= {f"depth:perp:{s}": v.stale_after_s for s in symbols}
    for a in cfg.accounts:
        if a.venue == v.name:
            out[f"account:{a.name}"] = account_limit_s(v)
    return out
