"""History at start-up and after a gap, so the slow models do not wait a day of live bars.

GARCH needs `garch_min_obs` returns and a one-day windowed VaR needs a day and more of bars: a
monitor restarted at 3 a.m. would report neither until the next night. So each collector fetches,
once at start, enough closed mark and spot candles to fill the store's grids (`history_points` bars
of `volatility_sample_s`) and the venue's settled funding history, and sends them as `BarHistory` /
`SettledFunding` records. The store merges them under live data and never counts them as the stream
speaking (a silent feed stays stale). After a reconnect that left a hole longer than one grid step,
the bars since the last quiet check are fetched again; settled funding is refreshed hourly.

Only a grid whose step is one of the venue's candle intervals is backfilled: the close of a one-minute
candle is not the last price of a five-second bucket, and filling a 5 s grid with 1 m closes would
give eleven zero returns in twelve, a volatility that looks real and is not. Such a config logs the
reason once and leaves the grid to fill live.

Requests page backwards from now by the candle's open time, at most the venue's page size each,
through the venue's `RestCaller` (cool-down after 429/418) and a weight pacer that keeps the backfill
to a fraction of the venue's per-minute budget. Malformed rows are counted by reason and dropped.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal, Protocol

import structlog

from monitor.clock import NS_PER_S, Clock
from monitor.collectors.base import CollectorStats, RecordSink
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.pacing import Pacer
from monitor.errors import FeedError, ParseError
from monitor.records import BarHistory, SettledFunding

__all__ = ["Backfill", "CandleIntervals", "HistorySource", "Series"]

log = structlog.get_logger(__name__)

Series = Literal["mark", "spot"]
GAP_CHECK_S = 1.0
FUNDING_REFRESH_S = 3_600.0
FUNDING_AFTER_HOUR_S = 30.0  # settlements land on the hour; ask a little after
RETRY_S = 10.0


class HistorySource(Protocol):
    """One venue's candle and funding-history calls (its wire shapes parsed in its own module)."""

    page_size: dict[Series, int]

    def interval(self, step_s: float) -> str | None:
        """The venue's candle interval equal to the grid step; None when it has none."""

    def weight(self, series: Series, limit: int) -> int: ...

    async def candles(
        self, rest: RestCaller, ex: Any, series: Series, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        """Raw rows of one page: the newest `limit` candles opening at or before `end_ms`."""

    def parse_candle(self, row: Any) -> tuple[int, float]:
        """(open time ms, close); raises ParseError with a reason."""

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]: ...

    def parse_funding(self, row: Any) -> tuple[int, float]:
        """(funding time ms, rate); raises ParseError."""

    funding_page: int
    # the venue's own cap on funding-history calls, apart from its weight: (calls, window s); None: none
    funding_limit: tuple[int, float] | None


def funding_pacer(clock: Clock, limit: tuple[int, float] | None) -> Pacer | None:
    """A pacer that keeps every window of the venue's funding cap under it with a margin.

    A GCRA of rate r and burst b lets b + r·W calls through any window W; with r at 90 % of the
    cap's rate and b at 5 % of its calls, at most 95 % of the cap is ever spent — room for a
    restart inside a window or another process on the same IP. At 600 symbols on Binance (500 per
    5 min) the start-up fill then takes ~6.5 min instead of meeting a 429 at call 501 and a
    venue-wide cool-down that would hold every request and socket for up to 5 minutes.
    """
    if limit is None:
        return None
    calls, window_s = limit
    return Pacer(clock, 0.9 * calls / window_s, burst=max(1, int(0.05 * calls)))


class CandleIntervals:
    """`HistorySource.interval` from a venue's table of candle intervals (seconds → its name)."""

    intervals: ClassVar[Mapping[int, str]]

    def interval(self, step_s: float) -> str | None:
        return self.intervals.get(round(step_s)) if step_s == round(step_s) else None


@dataclass(frozen=True, slots=True)
class _Want:
    series: Series
    symbol: str


class Backfill:
    """The supervised `{venue}.history` task of one collector."""

    def __init__(
        self,
        *,
        venue: str,
        source: HistorySource,
        symbols: tuple[str, ...],
        spot_symbols: tuple[str, ...],
        step_s: float,
        points: int,
        client: Callable[[], Any],
        rest: RestCaller,
        sink: RecordSink,
        clock: Clock,
        stats: CollectorStats,
        weight_per_s: float = 20.0,
        retry_s: float = RETRY_S,
    ) -> None:
        self.venue, self.source, self.step_s, self.points = venue, source, step_s, points
        self.wants = [_Want("mark", s) for s in symbols] + [_Want("spot", s) for s in spot_symbols]
        self.symbols = symbols
        self._client, self.rest, self.sink, self.clock, self.stats = client, rest, sink, clock, stats
        self.pacer = Pacer(clock, weight_per_s, burst=max(1, int(weight_per_s * 5)))
        self.funding_pacer = funding_pacer(clock, source.funding_limit)
        self.retry_s = retry_s  # after a failure without Retry-After (5xx, network)
        self.requests = 0
        self.bars_sent = 0
        self.first_done_ns = 0  # when the start-up fill finished (0: not yet)
        self._quiet_ns = 0  # the last gap check that found every socket connected
        self._seen = 0  # reconnects counted at the last gap check
        self._pending = False  # a socket dropped since: fetch once all are back

    async def run(self) -> None:
        interval = self.source.interval(self.step_s)
        if interval is None:
            log.warning(
                "no history backfill: the grid step is none of the venue's candle intervals",
                venue=self.venue,
                step_s=self.step_s,
            )
            self.stats.events["backfill_unsupported_step"] += 1
        ex = self._client()
        try:
            await self._until_done(partial(self.fill, ex, interval, self.points))
            next_funding = self.clock.now_ns() + self._to_next_hour_ns()
            self._quiet_ns, self._seen = self.clock.now_ns(), self._reconnects()
            while True:
                await self.clock.sleep(GAP_CHECK_S)
                await self.after_gap(ex, interval)
                if self.clock.now_ns() >= next_funding:
                    await self._until_done(partial(self._funding, ex, 3))
                    next_funding = self.clock.now_ns() + self._to_next_hour_ns()
        finally:
            await ex.close()

    async def after_gap(self, ex: Any, interval: str | None) -> int:
        """Once the sockets are back after a drop, refetch the bars since they were last all up.

        Called every `GAP_CHECK_S`. The reconnect counters move when a socket drops; the fetch waits
        until every socket is connected again, so it covers the whole hole. A hole no longer than one
        grid step lost no bucket and costs no request. A silent stall on an open socket is caught
        only as long as it outlasted a check (its forced reconnect comes after the stale limit,
        seconds, well inside a live 60 s step). Returns the number of bars asked for.
        """
        now, seen = self.clock.now_ns(), self._reconnects()
        if seen != self._seen:
            self._seen, self._pending = seen, True
        up = all(self.stats.connected.values())
        bars = 0
        if up and self._pending:
            self._pending = False
            gap_s = (now - self._quiet_ns) / NS_PER_S
            if gap_s > self.step_s and interval is not None:
                bars = min(self.points, math.ceil(gap_s / self.step_s) + 2)
                await self._until_done(partial(self._candles, ex, interval, bars))
                self.stats.events["backfill_gap"] += 1
        if up:
            self._quiet_ns = now
        return bars

    def _reconnects(self) -> int:
        return sum(self.stats.reconnects.values())

    def _to_next_hour_ns(self) -> int:
        hour = int(FUNDING_REFRESH_S * NS_PER_S)
        now = self.clock.now_ns()
        return (now // hour + 1) * hour - now + int(FUNDING_AFTER_HOUR_S * NS_PER_S)

    async def _until_done(self, job: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await job()
                return
            except FeedError as exc:
                self.stats.events["rest_failure"] += 1
                log.warning("history backfill failed", venue=self.venue, error=self.rest.redact(str(exc)))
                await self.clock.sleep(getattr(exc, "retry_after_s", None) or self.retry_s)

    async def fill(self, ex: Any, interval: str | None, points: int) -> None:
        """The start-up fill: candles for every series, then settled funding."""
        if interval is not None:
            await self._candles(ex, interval, points)
        await self._funding(ex, self.source.funding_page)
        if not self.first_done_ns:
            self.first_done_ns = self.clock.now_ns()
            log.info("history backfilled", venue=self.venue, bars=self.bars_sent, requests=self.requests)

    async def _candles(self, ex: Any, interval: str, points: int) -> None:
        for want in self.wants:
            opens, closes = await self.series(ex, want.series, want.symbol, interval, points)
            if opens:
                now = self.clock.now_ns()
                self.sink.put(
                    BarHistory(
                        venue=self.venue,
                        ts_event_ns=opens[-1],
                        ts_recv_ns=now,
                        symbol=want.symbol,
                        series=want.series,
                        interval_s=self.step_s,
                        opens_ns=opens,
                        closes=closes,
                    )
                )
                self.bars_sent += len(opens)

    async def series(
        self, ex: Any, series: Series, symbol: str, interval: str, points: int
    ) -> tuple[tuple[int, ...], tuple[float, ...]]:
        """The newest `points` closed candles, oldest first, paging backwards from now."""
        step_ms = round(self.step_s * 1000)
        now_ms = self.clock.now_ns() // 1_000_000
        newest_open = now_ms // step_ms * step_ms - step_ms  # the last closed candle
        got: dict[int, float] = {}
        end_ms = newest_open
        page = self.source.page_size[series]
        while len(got) < points:
            limit = min(page, points - len(got))
            for _ in range(self.source.weight(series, limit)):
                await self.pacer.wait()
            rows = await self.source.candles(self.rest, ex, series, symbol, interval, end_ms, limit)
            self.requests += 1
            oldest = end_ms + 1
            for open_ms, close in self._parsed(rows, self.source.parse_candle):
                if open_ms % step_ms or open_ms > newest_open:
                    self.stats.drop("kline_off_grid")  # unaligned, or the bar still in progress
                    continue
                got[open_ms] = close
                oldest = min(oldest, open_ms)
            if len(rows) < limit or oldest > end_ms:
                break  # the venue's history ends here (or the page had nothing usable)
            end_ms = oldest - step_ms
        opens = sorted(got)[-points:]
        return tuple(t * 1_000_000 for t in opens), tuple(got[t] for t in opens)

    def _parsed(
        self, rows: Iterable[Any], parse: Callable[[Any], tuple[int, float]]
    ) -> Iterator[tuple[int, float]]:
        """(time ms, value) of each row that parses; one that does not is dropped, counted by its reason,
        so one odd row costs only itself."""
        for row in rows:
            try:
                yield parse(row)
            except ParseError as exc:
                self.stats.drop(exc.reason)

    async def _funding(self, ex: Any, limit: int) -> None:
        for symbol in self.symbols:
            await self.pacer.wait()
            if self.funding_pacer is not None:
                await self.funding_pacer.wait()
            rows = await self.source.funding(self.rest, ex, symbol, limit)
            self.requests += 1
            got = dict(self._parsed(rows, self.source.parse_funding))
            if got:
                times = sorted(got)
                now = self.clock.now_ns()
                self.sink.put(
                    SettledFunding(
                        venue=self.venue,
                        ts_event_ns=times[-1] * 1_000_000,
                        ts_recv_ns=now,
                        symbol=symbol,
                        times_ns=tuple(t * 1_000_000 for t in times),
                        rates=tuple(got[t] for t in times),
                    )
                )
