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

from collections.abc import Mapping
from itertools import repeat
from typing import NamedTuple

import numpy as np

from monitor.clock import NS_PER_S
from monitor.collectors.cadence import stream_limits
from monitor.collectors.held import held_stream_limits
from monitor.config import Config
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey
from monitor.risk._num import BoolArray, FloatArray, IntArray
from monitor.store.feeds import FeedTable
from monitor.store.state import Snapshot

__all__ = ["LAG_FACTOR", "HeldStreams", "expected_streams", "feed_figures", "fresh_column", "stale_streams"]

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


class _Made(NamedTuple):
    """The dict `feed_figures` returned last (held, so never another dict at its address) and its columns."""

    fresh: dict[tuple[str, str], bool]
    size: int
    stale: list[tuple[str, str]]
    labels: _Labels
    ok: BoolArray


# A plain dict is returned, not a subclass carrying its columns: every stage asks it by key, and
# `get` on a dict subclass is ~30 % slower. The dict must not be changed (nothing changes it: it is
# the tick's freshness); a changed size makes these answer from the dict itself.
_made: list[_Made] = []


def _made_for(fresh: Mapping[tuple[str, str], bool]) -> _Made | None:
    got = _made[0] if _made else None
    return got if got is not None and got.fresh is fresh and len(fresh) == got.size else None


def stale_streams(fresh: Mapping[tuple[str, str], bool]) -> list[tuple[str, str]]:
    """The streams `fresh` says are not fresh, in order; the feed stage's own list for its dict."""
    made = _made_for(fresh)
    if made is not None:
        return made.stale
    return [k for k, ok in fresh.items() if not ok]


def fresh_column(fresh: Mapping[tuple[str, str], bool], streams: tuple[tuple[str, str], ...]) -> BoolArray:
    """`fresh.get(s, False)` for each of `streams`, from the feed stage's columns when `fresh` is its dict.

    Keep `streams` the same tuple from tick to tick: where each is among the streams is kept on it.
    """
    made = _made_for(fresh)
    if made is None:
        return np.fromiter(map(fresh.get, streams, repeat(False)), bool, len(streams))
    rows = made.labels.rows_of(streams)
    return (
        np.where(rows >= 0, made.ok[np.maximum(rows, 0)], False)
        if len(made.ok)
        else np.zeros(len(rows), bool)
    )


def feed_figures(
    snap: Snapshot,
    expected: dict[tuple[str, str], float],
    started_ns: int,
    sink: FigureSink,
    since_ns: dict[tuple[str, str], int] | None = None,
) -> dict[tuple[str, str], bool]:
    """Emit age and stale flag per stream; return which streams are fresh now.

    `since_ns`: when a stream first became expected, where later than `started_ns` (a held symbol).
    Every stream is one row of columns read from the store's (`FeedTable`); only a stream that is not
    fresh is looked at alone, for its reason (the per-stream code is
    tests/unit/evaluation/reference/feeds.py).
    """
    if not expected:
        return {}
    now = snap.taken_at_ns
    labs = _labels(list(expected))
    keys = labs.keys
    n = len(keys)
    table = FeedTable.of(snap.feeds)
    rows = labs.rows_in(table)
    have = rows >= 0
    limit = np.fromiter(expected.values(), dtype=np.float64, count=n)
    if len(table):
        at = np.where(have, rows, 0)
        recv = np.where(have, table.recv_ns[at], 0)
        event = np.where(have, table.event_ns[at], 0)
        down = have & ~table.up[at]
    else:
        recv = event = np.zeros(n, dtype=np.int64)
        down = np.zeros(n, dtype=bool)
    since = np.full(n, started_ns, dtype=np.int64)
    for key, t in (since_ns or {}).items():
        i = labs.index_of.get(key)
        if i is not None:
            since[i] = t
    heard = recv > 0
    since = np.where(heard, recv, since)
    age = np.maximum(0.0, _seconds(now - since))
    lag = np.where(event > 0, _seconds(now - event), 0.0)
    within = age <= limit
    lagging = heard & within & (lag > LAG_FACTOR * limit)
    ok = heard & ~down & within & ~lagging
    in_grace = ~heard & within
    bad = np.flatnonzero(~ok).tolist()
    stale_why = [""] * n if bad else []
    for i in bad:
        j = int(rows[i])
        reason = table.reasons[j] if j >= 0 else ""
        if reason:
            stale_why[i] = reason
        elif lagging[i]:
            lag_s, limit_s = float(lag[i]), float(limit[i])
            stale_why[i] = f"lagging: newest event {lag_s:.1f}s old (limit {LAG_FACTOR * limit_s:g}s)"
        else:
            stale_why[i] = "silent" if heard[i] else "never_heard"
    every = True
    never = np.flatnonzero(~heard).tolist()
    heard_why: list[str] | str = ""
    if never:
        heard_why = [""] * n
        for i in never:
            heard_why[i] = "never_heard"
    ages = np.where(heard, age, np.nan)
    sink.add_array("feed_last_message_age_seconds", labs.figure_keys("feed_last_message_age_seconds"), ages,
                   every, heard_why)  # fmt: skip
    sink.add_array("feed_stale", labs.figure_keys("feed_stale"), np.where(ok | in_grace, 0.0, 1.0), every,
                   stale_why if bad else "")  # fmt: skip
    fresh = labs.all_fresh.copy()  # a copy of a dict: no key hashed again
    for i in bad:
        fresh[keys[i]] = False
    _made[:] = [_Made(fresh, len(fresh), [keys[i] for i in bad], labs, ok)]
    return fresh


def _seconds(ns: IntArray) -> FloatArray:
    """ns / NS_PER_S as Python divides ints (correctly rounded), also past 2**53 ns (float64 not exact)."""
    out = ns / NS_PER_S
    for i in np.flatnonzero(np.abs(ns) >= 2**53).tolist():
        out[i] = int(ns[i]) / NS_PER_S
    return out


class _Labels:
    """The figure keys of a list of streams, where each stream is in it and in the store's table."""

    __slots__ = ("_keys_of", "_rows", "_rows_of", "all_fresh", "index_of", "keys")

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        self.keys = keys
        self.index_of = {k: i for i, k in enumerate(keys)}
        self.all_fresh = dict.fromkeys(keys, True)
        self._keys_of: dict[str, tuple[FigureKey, ...]] = {}
        self._rows: tuple[tuple[tuple[str, str], ...], IntArray] | None = None
        self._rows_of: dict[int, tuple[tuple[tuple[str, str], ...], IntArray]] = {}

    def rows_of(self, streams: tuple[tuple[str, str], ...]) -> IntArray:
        """Where each of `streams` is among these (−1: not expected), kept on the tuple given."""
        got = self._rows_of.get(id(streams))
        if got is None or got[0] is not streams:  # the tuple is held: its id is never another's
            if len(self._rows_of) > 8:
                self._rows_of.clear()
            index = self.index_of
            got = (streams, np.array([index.get(s, -1) for s in streams], dtype=np.intp))
            self._rows_of[id(streams)] = got
        return got[1]

    def figure_keys(self, name: str) -> tuple[FigureKey, ...]:
        got = self._keys_of.get(name)
        if got is None:
            got = self._keys_of[name] = tuple(FigureKey(name=name, venue=v, stream=s) for v, s in self.keys)
        return got

    def rows_in(self, table: FeedTable) -> IntArray:
        """Each stream's row in the table, −1 where the store has not heard of it."""
        if self._rows is None or self._rows[0] is not table.streams:
            index = table.index
            self._rows = (table.streams, np.array([index.get(k, -1) for k in self.keys], dtype=np.intp))
        return self._rows[1]


_last_labels: list[_Labels] = []


def _labels(keys: list[tuple[str, str]]) -> _Labels:
    """The last tick's labels again while the expected streams are the same (they seldom change)."""
    if _last_labels and _last_labels[0].keys == keys:
        return _last_labels[0]
    got = _Labels(keys)
    _last_labels[:] = [got]
    return got
