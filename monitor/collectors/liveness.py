"""Per-stream liveness, Sans-I/O: a stream is alive only while its event id advances.

A socket can stay up, answer pings and still say nothing new: Binance streams have gone silent for
hours behind a subscription ack, and have pushed the same last frame over and over
(binance-public-data#472, python-binance#1090). So liveness is judged per stream, on the venue's own
sequence (mark `E`, book update id `u`), never on the socket: a frame whose id does not advance is
a repeat, dropped and not counted as life. A stream that pushes only changes may instead be
confirmed quiet (`confirm`: its socket answered a ping and REST shows the last value, see
`wsfeed`), which restarts its silence but never its sequence. Time is passed in, so tests drive it
by hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from monitor.clock import NS_PER_S
from monitor.records import BookLevels, MarkPrice, Quote, Record

__all__ = ["Liveness", "progress", "same_value"]


def progress(rec: Record) -> tuple[str, int] | None:
    """(perpmon stream, venue sequence) of a market record; None for records without one."""
    if isinstance(rec, MarkPrice):
        return f"mark:{rec.symbol}", rec.ts_event_ns
    if isinstance(rec, Quote):
        # spot bookTicker has no time, only `u`; without `u` the receive time is all there is
        return f"book:{rec.market}:{rec.symbol}", rec.update_id or rec.ts_event_ns
    if isinstance(rec, BookLevels):
        return f"depth:{rec.market}:{rec.symbol}", rec.update_id or rec.ts_event_ns
    return None


_STAMPS = frozenset({"venue", "ts_event_ns", "ts_recv_ns", "update_id"})


def same_value(before: Record, now: Record) -> bool:
    """Whether two records of one stream say the same thing, whenever and by whatever id they came."""
    if type(before) is not type(now):
        return False
    for name in before.__struct_fields__:
        if name in _STAMPS:
            continue
        a, b = getattr(before, name), getattr(now, name)
        if a != b and not (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)):
            return False
    return True


class Liveness:
    def __init__(self, limits: Mapping[str, float], now_ns: int) -> None:
        self._limit_ns = {s: int(v * NS_PER_S) for s, v in limits.items()}
        self._progress_ns = dict.fromkeys(limits, now_ns)
        self._seq: dict[str, int] = {}
        self._stale: set[str] = set()
        self._rebase: set[str] = set()

    @property
    def streams(self) -> tuple[str, ...]:
        return tuple(self._limit_ns)

    @property
    def stale(self) -> frozenset[str]:
        return frozenset(self._stale)

    def add(self, limits: Mapping[str, float], now_ns: int) -> None:
        """Watch more streams from now on (a symbol an account was found to hold); silence counts from now."""
        for s, v in limits.items():
            if s not in self._limit_ns:
                self._limit_ns[s] = int(v * NS_PER_S)
                self._progress_ns[s] = now_ns

    def observe(self, stream: str, seq: int, now_ns: int) -> bool:
        """Take one frame's sequence; False when it does not advance (a repeat or a late frame)."""
        last = self._seq.get(stream)
        if last is not None:
            if stream in self._rebase:
                if seq == last:
                    return False
                self._rebase.discard(stream)  # a fresh connection may restart the venue's counter
            elif seq <= last:
                return False
        self._seq[stream] = seq
        self._progress_ns[stream] = now_ns
        self._stale.discard(stream)
        return True

    def confirm(self, stream: str, now_ns: int) -> bool:
        """The venue confirmed a silent stream's last value is still current (a quiet market).

        Silence counts from now, but the sequence is left alone: a confirmation is not a frame,
        and the next frame must still advance past the last one. A stale stream is not revived
        this way (its socket is being replaced); False then.
        """
        if stream in self._stale or stream not in self._limit_ns:
            return False
        self._progress_ns[stream] = max(self._progress_ns[stream], now_ns)
        return True

    def progress_ns(self, stream: str) -> int:
        """When the stream last advanced (or was confirmed)."""
        return self._progress_ns[stream]

    def restart(self, now_ns: int, streams: Iterable[str] | None = None) -> None:
        """A new connection: silence counts from now; stale streams may restart their sequence."""
        for s in self._limit_ns if streams is None else streams:
            if s in self._stale:
                self._rebase.add(s)
            else:
                self._progress_ns[s] = max(self._progress_ns.get(s, now_ns), now_ns)

    def overdue(self, now_ns: int) -> list[str]:
        """Streams that have just passed their limit; each is reported once until it advances."""
        out = []
        for s, limit in self._limit_ns.items():
            if s not in self._stale and now_ns - self._progress_ns[s] > limit:
                self._stale.add(s)
                out.append(s)
        return out

    def next_deadline_ns(self) -> float:
        """When the next live stream will pass its limit (inf when every stream is already stale)."""
        live = [self._progress_ns[s] + lim for s, lim in self._limit_ns.items() if s not in self._stale]
        return min(live) if live else math.inf

    def silent_for_s(self, stream: str, now_ns: int) -> float:
        return (now_ns - self._progress_ns.get(stream, now_ns)) / NS_PER_S
