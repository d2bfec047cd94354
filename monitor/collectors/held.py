"""Every symbol an account holds is watched, not only the ones the venue entry lists.

A position in a symbol without a market feed has no mark, and one NaN mark makes the whole cross
account unreadable (its maintenance margin, margin ratio and every cross LP), so a trader opening
ETHUSDT on an account watched for BTCUSDT would silence the account's alerts. The venue entry's
`symbols` keep meaning "always watched"; a symbol an account is found holding (a REST snapshot or a
private-stream delta, a new listing included) is added on top, without a restart: its mark/index/
funding stream (and book top and levels when the entry has them on), its funding interval and the
account's tiers for it.

The signal stays inside the collector. The account watchers `note` the symbols they see; the
collector's market and reference tasks wait on `HeldSymbols`. It does not go through the store:
the store is the collectors' output, read by the evaluator, and a collector reading it back would
make data flow both ways (its records would steer what it collects, and a replayed or what-if
store could subscribe sockets). A symbol once held stays watched until restart: dropping it when
the position closes would race a position reopened a moment later, and a quiet stream costs little.

`held_stream_limits` gives the new streams the same silence limits as configured ones
(`cadence.stream_limits` for a venue entry listing just that symbol), so the collector's reconnect
and the evaluator's `feed_stale` agree for them too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec
import structlog

from monitor.clock import Clock
from monitor.collectors.cadence import stream_limits
from monitor.collectors.wsfeed import WsFeed
from monitor.config import Config, VenueConfig
from monitor.supervise import Supervisor

__all__ = ["HeldSymbols", "MarketSockets", "Topic", "held_stream_limits"]

Topic = tuple[str, tuple[str, ...]]  # one subscription and the perpmon streams it carries

log = structlog.get_logger(__name__)


def held_stream_limits(cfg: Config, v: VenueConfig, symbol: str) -> dict[str, float]:
    """perpmon stream → silence limit for the market streams a held `symbol` gets on venue `v`."""
    alone = msgspec.structs.replace(v, symbols=(symbol,), spot_symbols=())
    return {s: limit for s, limit in stream_limits(cfg, alone).items() if not s.startswith("account:")}


class HeldSymbols:
    """The symbols a venue's accounts hold beyond the configured ones, in the order first seen."""

    def __init__(self, venue: str, configured: Iterable[str]) -> None:
        self.venue = venue
        self._configured = tuple(configured)
        self._known = frozenset(self._configured)
        self._extra: dict[str, None] = {}  # a dict keeps the order they were found in
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def extra(self) -> tuple[str, ...]:
        """Held symbols the venue entry does not list."""
        return tuple(self._extra)

    @property
    def watched(self) -> tuple[str, ...]:
        """The configured symbols, then the held ones."""
        return self._configured + tuple(self._extra)

    def note(self, symbols: Iterable[str], why: str = "an account holds them") -> None:
        """An account holds these (or, `why`, the venue newly lists them for an entry with
        `symbols = ["*"]`: collectors/listing.py); wake the tasks that must watch any not watched yet."""
        new = [s for s in dict.fromkeys(symbols) if s not in self._known and s not in self._extra]
        if not new:
            return
        self._extra.update(dict.fromkeys(new))
        log.info("watching more symbols", venue=self.venue, symbols=new, why=why)
        for w in self._waiters:
            if not w.done():
                w.set_result(None)
        self._waiters.clear()

    async def wait(self, seen: int, clock: Clock, timeout_s: float | None = None) -> bool:
        """Until more than `seen` held symbols are known (True) or `timeout_s` has passed (False)."""
        if len(self._extra) > seen:
            return True
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        sleeper = asyncio.ensure_future(clock.sleep(timeout_s)) if timeout_s is not None else None
        try:
            await asyncio.wait(
                {waiter} | ({sleeper} if sleeper else set()), return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self._waiters.discard(waiter)
            waiter.cancel()
            if sleeper is not None:
                sleeper.cancel()
                await asyncio.gather(sleeper, return_exceptions=True)  # never swallows our own cancel
        return len(self._extra) > seen


class MarketSockets:
    """A native collector's market sockets by kind, at most `cap` subscriptions each.

    Built from the venue entry's symbols at start; `follow` then subscribes every held symbol's
    topics, on the kind's last socket while it has room (a SUBSCRIBE on the live connection),
    then on new sockets, which `follow` runs itself (the supervisor only knows the tasks a
    collector had at start). New sockets go through the venue's connection pacer like any other.
    """

    def __init__(
        self,
        cap: int,
        limits: Mapping[str, float],
        build: Callable[[str, int, Sequence[Topic]], WsFeed],
    ) -> None:
        self._cap = cap
        self._limits = limits
        self._build = build
        self.by_kind: dict[str, list[WsFeed]] = {}
        self.added: list[WsFeed] = []  # sockets opened for held symbols, run by `follow`
        self._placed = 0  # held symbols subscribed so far

    def feeds(self) -> list[WsFeed]:
        return [f for socks in self.by_kind.values() for f in socks]

    def extend(self, kind: str, topics: Sequence[Topic]) -> list[WsFeed]:
        """Subscribe `topics`: the last socket of the kind first, then new ones (returned)."""
        socks = self.by_kind.setdefault(kind, [])
        todo = list(topics)
        if socks and todo and (room := self._cap - len(socks[-1].subscriptions)) > 0:
            take, todo = todo[:room], todo[room:]
            socks[-1].add([sub for sub, _ in take], {s: self._limits[s] for _, ss in take for s in ss})
        created = []
        while todo:
            chunk, todo = todo[: self._cap], todo[self._cap :]
            feed = self._build(kind, len(socks), chunk)
            socks.append(feed)
            created.append(feed)
        return created

    async def follow(
        self, held: HeldSymbols, topics: Callable[[Sequence[str]], dict[str, list[Topic]]], clock: Clock
    ) -> None:
        """Forever: subscribe the streams of each symbol `held` learns of; run the sockets added."""
        sup = Supervisor(clock)
        try:
            for feed in self.added:  # this task restarted: the sockets it had opened run again
                sup.spawn(feed.name, feed.run)
            while True:
                new = held.extra[self._placed :]
                self._placed += len(new)
                for kind, kind_topics in topics(new).items():
                    for feed in self.extend(kind, kind_topics):
                        self.added.append(feed)
                        sup.spawn(feed.name, feed.run)
                await held.wait(self._placed, clock)
        finally:
            await sup.stop()
