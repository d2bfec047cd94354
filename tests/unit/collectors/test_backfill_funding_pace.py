"""The funding-history pass keeps under the venue's own cap on those calls, whatever the symbols.

Binance counts GET /fapi/v1/fundingRate apart from the request weight: 500 calls per 5 minutes per
IP, shared with fundingInfo. At 600 symbols the weight pacer alone (20/s) sent all 600 in 30 s,
and call 501 met a 429 whose cool-down holds every request and socket of the venue.
"""

from __future__ import annotations

from typing import Any

from monitor.clock import NS_PER_S, ManualClock
from monitor.collectors.backfill import Backfill
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.bybit.history import BybitHistory
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.pacing import Cooldown
from monitor.records import Record, SettledFunding


class Counting(BinanceHistory):
    """Binance's source with the wire replaced: stamps each funding call on the manual clock."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__()
        self.clock, self.calls_ns = clock, list[int]()

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        self.calls_ns.append(self.clock.monotonic_ns())
        return [{"symbol": symbol, "fundingTime": 1_700_000_000_000, "fundingRate": "0.0001"}]


class Sink:
    def __init__(self) -> None:
        self.settled: list[SettledFunding] = []

    def put(self, record: Record) -> None:
        if isinstance(record, SettledFunding):
            self.settled.append(record)


def _backfill(source: Counting, clock: ManualClock, sink: Sink, symbols: int) -> Backfill:
    stats = CollectorStats("binance")
    return Backfill(
        venue="binance",
        source=source,
        symbols=tuple(f"S{i:04d}USDT" for i in range(symbols)),
        spot_symbols=(),
        step_s=60.0,
        points=10,
        client=lambda: None,
        rest=RestCaller(Cooldown(clock), stats, []),
        sink=sink,
        clock=clock,
        stats=stats,
    )


def _most_in_any_window(times_ns: list[int], window_s: float) -> int:
    most, lo = 0, 0
    for hi, t in enumerate(times_ns):
        while t - times_ns[lo] >= window_s * NS_PER_S:
            lo += 1
        most = max(most, hi - lo + 1)
    return most


async def test_600_symbols_never_spend_more_than_95_percent_of_binances_funding_cap() -> None:
    clock, sink = ManualClock(), Sink()
    source = Counting(clock)
    b = _backfill(source, clock, sink, 600)
    await b._funding(None, 1_000)
    assert len(source.calls_ns) == 600 and len(sink.settled) == 600  # every symbol, none dropped
    assert _most_in_any_window(source.calls_ns, 300.0) <= 475  # 95 % of 500: room for a restart
    took_s = (source.calls_ns[-1] - source.calls_ns[0]) / NS_PER_S
    assert 300.0 < took_s < 420.0  # paced at 90 % of the cap's rate, not slower


async def test_a_small_book_is_not_slowed_down() -> None:
    """25 symbols fit in the burst: the pass takes no longer than the weight pacer allows."""
    clock, sink = ManualClock(), Sink()
    source = Counting(clock)
    await _backfill(source, clock, sink, 25)._funding(None, 1_000)
    assert (source.calls_ns[-1] - source.calls_ns[0]) / NS_PER_S < 2.0


def test_bybit_has_no_separate_funding_cap() -> None:
    """Bybit counts funding history within its per-IP request limit: the weight pacer covers it."""
    assert BybitHistory.funding_limit is None
