"""What the store knows of each stream, kept as columns: the collectors write a row, a snapshot copies them.

A desk watches thousands of streams (600 symbols: ~3,200), every one heard between two ticks. A
frozen record per stream per snapshot cost ~2 ms a tick to build and the feed stage as much again to
read back; here a frame writes three numbers into its stream's row (`FeedLog.heard`, as cheap as
setting attributes), a snapshot copies the columns (a few memcpy), and `FeedTable` makes a
`FeedView` only for the stream someone asks about. The feed stage reads the columns themselves.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping

import msgspec
import numpy as np

from monitor.records import FeedState
from monitor.risk._num import BoolArray, IntArray

__all__ = ["FeedLog", "FeedTable", "FeedView"]

FeedKey = tuple[str, str]  # (venue, stream)


class FeedView(msgspec.Struct, frozen=True):
    """What the store knows of one stream: when it last spoke and what its collector said."""

    venue: str
    stream: str
    state: FeedState
    reason: str
    last_recv_ns: int  # 0: never
    last_event_ns: int
    messages: int


class FeedTable(Mapping[FeedKey, FeedView]):
    """One snapshot's streams: a read-only mapping of FeedViews over columns that never change.

    `streams` (the keys, in row order) and `index` are shared with the store until a stream is
    added or forgotten (never written after); the columns are this table's own copies.
    """

    __slots__ = ("event_ns", "index", "messages", "reasons", "recv_ns", "states", "streams", "up")

    def __init__(
        self,
        keys: tuple[FeedKey, ...],
        index: Mapping[FeedKey, int],
        recv_ns: IntArray,
        event_ns: IntArray,
        messages: IntArray,
        states: list[FeedState],
        reasons: list[str],
        up: BoolArray,
    ) -> None:
        self.streams, self.index = keys, index  # not `keys`: the Mapping method
        self.recv_ns, self.event_ns, self.messages = recv_ns, event_ns, messages
        self.states, self.reasons = states, reasons
        self.up = up  # state is UP
        for col in (recv_ns, event_ns, messages, self.up):
            col.flags.writeable = False

    @classmethod
    def of(cls, views: Mapping[FeedKey, FeedView]) -> FeedTable:
        """The table of any mapping of views (a snapshot built by hand)."""
        if isinstance(views, FeedTable):
            return views
        keys = tuple(views)
        vs = list(views.values())
        return cls(
            keys,
            {k: i for i, k in enumerate(keys)},
            np.array([v.last_recv_ns for v in vs], dtype=np.int64),
            np.array([v.last_event_ns for v in vs], dtype=np.int64),
            np.array([v.messages for v in vs], dtype=np.int64),
            [v.state for v in vs],
            [v.reason for v in vs],
            np.array([v.state is FeedState.UP for v in vs], dtype=bool),
        )

    def __getitem__(self, key: FeedKey) -> FeedView:
        i = self.index[key]
        return FeedView(
            key[0],
            key[1],
            self.states[i],
            self.reasons[i],
            int(self.recv_ns[i]),
            int(self.event_ns[i]),
            int(self.messages[i]),
        )

    def __iter__(self) -> Iterator[FeedKey]:
        return iter(self.streams)

    def __len__(self) -> int:
        return len(self.streams)

    def __contains__(self, key: object) -> bool:
        return key in self.index

    def __repr__(self) -> str:
        return f"FeedTable({dict(self.items())!r})"


class FeedLog:
    """The store's side: one row per stream heard of, written in place by every frame."""

    def __init__(self) -> None:
        self._index: dict[FeedKey, int] = {}
        # what tables share, made again (never changed) once a row comes or goes: None until then
        self._keys: tuple[FeedKey, ...] | None = ()
        self._frozen_index: Mapping[FeedKey, int] = {}
        self._recv = array("q")
        self._event = array("q")
        self._messages = array("q")
        self._up = array("b")
        self._states: list[FeedState] = []
        self._reasons: list[str] = []

    def _row(self, key: FeedKey) -> int:
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self._states)
            self._keys = None
            for col in (self._recv, self._event, self._messages, self._up):
                col.append(0)
            self._up[i] = 1
            self._states.append(FeedState.UP)
            self._reasons.append("")
        return i

    def heard(self, key: FeedKey, recv_ns: int, event_ns: int) -> None:
        """A frame arrived: the stream is up, with no reason, and spoke at `recv_ns`."""
        i = self._index.get(key)
        if i is None:
            i = self._row(key)
        self._states[i] = FeedState.UP
        self._up[i] = 1
        self._reasons[i] = ""
        self._recv[i] = recv_ns
        if event_ns > self._event[i]:
            self._event[i] = event_ns
        self._messages[i] += 1

    def status(self, key: FeedKey, state: FeedState, reason: str) -> None:
        """The collector's own word on the stream."""
        i = self._row(key)
        self._states[i] = state
        self._up[i] = state is FeedState.UP
        self._reasons[i] = reason

    def forget(self, key: FeedKey) -> None:
        """Drop one stream's row (its account is no longer watched)."""
        i = self._index.get(key)
        if i is None:
            return
        keep = [j for j in range(len(self._states)) if j != i]
        del self._index[key]
        self._index = {k: j for j, k in enumerate(self._index)}  # rows keep their order
        self._keys = None
        for name in ("_recv", "_event", "_messages", "_up"):
            col = getattr(self, name)
            setattr(self, name, array(col.typecode, (col[j] for j in keep)))
        self._states = [self._states[j] for j in keep]
        self._reasons = [self._reasons[j] for j in keep]

    def table(self) -> FeedTable:
        """The streams as of now, copied."""
        if self._keys is None:
            self._keys = tuple(self._index)
            self._frozen_index = dict(self._index)
        return FeedTable(
            self._keys,
            self._frozen_index,
            np.array(self._recv, dtype=np.int64),
            np.array(self._event, dtype=np.int64),
            np.array(self._messages, dtype=np.int64),
            list(self._states),
            list(self._reasons),
            np.array(self._up, dtype=bool),
        )

    def __len__(self) -> int:
        return len(self._states)
