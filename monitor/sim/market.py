"""The simulated market: mark, index, books and funding estimate per symbol, advanced by the clock.

Replay time moves `speed` times faster than the clock's monotonic time and stops while paused;
every timestamp published is the clock's wall time. `advance()` returns a mark sample for each path
vertex the step jumped over, then the final one, so the account engine sees every real high and low
even when one tick spans a whole bar. Published prices are quantized to the strings the venue sends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from monitor.clock import Clock
from monitor.sim.basis import BasisProcess, spot_from_perp
from monitor.sim.funding import PremiumAverage, funding_rate, next_funding_ms
from monitor.sim.numfmt import q8
from monitor.sim.replay import PricePath, event_code, load_bars
from monitor.sim.symbols import SYMBOLS, SymbolSpec

__all__ = ["Market", "Quote", "Settlement"]

# the first hourly basis close of each event (bps of spot), where its OU path starts
_START_BPS = {"E1": 20.2, "E2": -2.3, "E4": 4.1}


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    time_ms: int
    update_id: int
    mark: float  # also the perp last
    index: float  # = spot mid
    bid: float  # futures book
    bid_qty: float
    ask: float
    ask_qty: float
    spot_bid: float
    spot_bid_qty: float
    spot_ask: float
    spot_ask_qty: float
    funding_rate: float  # estimate for the running interval
    interest_rate: float
    next_funding_ms: int
    open: float  # since the replay started (the ticker window)
    high: float
    low: float
    volume: float
    quote_volume: float


@dataclass(frozen=True, slots=True)
class Settlement:
    symbol: str
    time_ms: int
    rate: float
    mark: float


def _floor_to(price: float, tick: str) -> float:
    step = float(tick)
    decimals = len(tick.partition(".")[2])
    return round(math.floor(price / step + 1e-9) * step, decimals)


class Market:
    def __init__(
        self,
        *,
        replay: str,
        speed: float,
        loop: bool,
        seed: int,
        clock: Clock,
        path: PricePath | None = None,
        symbols: tuple[SymbolSpec, ...] = SYMBOLS,
    ) -> None:
        self._clock = clock
        self._speed = speed
        self._loop = loop
        self._event = event_code(replay)
        self.path = path if path is not None else PricePath.from_bars(load_bars(replay))
        self.specs = {s.symbol: s for s in symbols}
        self._basis = BasisProcess(seed, _START_BPS.get(self._event, 0.0))
        self._rng = np.random.default_rng(seed + 1)
        self._premium = {s: PremiumAverage() for s in self.specs}
        now_ms = self._now_ms()
        self._next_funding = {
            s: next_funding_ms(now_ms, spec.funding_hours) for s, spec in self.specs.items()
        }
        self._last_mono = clock.monotonic_ns()
        self._update_id = 0
        self.replay_s = 0.0
        self.paused = False
        self.pinned: dict[str, float] = {}  # scenario control: a symbol held at this mark (control.py)
        self.quotes: dict[str, Quote] = {}
        self._publish(0.0)

    @property
    def event(self) -> str:
        return self._event

    @property
    def basis_bps(self) -> float:
        """The spot-over-perp basis now, in bps of spot (where the candles' past walks back from)."""
        return self._basis.bps

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _mark_at(self, symbol: str, price: float) -> float:
        if symbol in self.pinned:
            return self.pinned[symbol]
        return q8(price * self.specs[symbol].ratio.get(self._event, 1.0))

    def first_mark(self, symbol: str) -> float:
        """The replay's first mark: the default entry price of a configured position."""
        return self._mark_at(symbol, float(self.path.prices[0]))

    def marks(self) -> dict[str, float]:
        return {s: q.mark for s, q in self.quotes.items()}

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self._last_mono = self._clock.monotonic_ns()
        self.paused = False

    def seek(self, replay_s: float) -> None:
        """Jump the path to `replay_s` (tests use it to start inside a crash)."""
        self.replay_s = min(max(0.0, replay_s), self.path.duration_s)
        self._publish(0.0)

    def advance(self) -> list[dict[str, float]]:
        """Move replay time by the clock's progress; return marks at skipped vertices, then now."""
        mono = self._clock.monotonic_ns()
        dt_wall = max(0.0, (mono - self._last_mono) / 1e9)
        self._last_mono = mono
        samples: list[dict[str, float]] = []
        if not self.paused and dt_wall > 0:
            a, b = self.replay_s, self.replay_s + dt_wall * self._speed
            duration = self.path.duration_s
            if b <= duration:
                vertices = self.path.vertices_between(a, b)
            elif self._loop:  # through the end, then from the start again
                vertices = self.path.vertices_between(a, duration + 1.0)
                b = math.fmod(b, duration)
                vertices += self.path.vertices_between(-1.0, b)
            else:
                vertices = self.path.vertices_between(a, duration)
                b = duration
            samples = [{s: self._mark_at(s, p) for s in self.specs} for _, p in vertices]
            self._basis.step(dt_wall * self._speed)
            self.replay_s = b
        self._publish(dt_wall)
        samples.append(self.marks())
        return samples

    def due_settlements(self) -> list[Settlement]:
        """Settle every symbol whose funding time has passed; start its next interval."""
        now_ms = self._now_ms()
        out: list[Settlement] = []
        for symbol, due in self._next_funding.items():
            if now_ms >= due:
                q = self.quotes[symbol]
                out.append(Settlement(symbol, due, q.funding_rate, q.mark))
                self._premium[symbol].reset()
                self._next_funding[symbol] = next_funding_ms(now_ms, self.specs[symbol].funding_hours)
                self.quotes[symbol] = replace(q, next_funding_ms=self._next_funding[symbol])
        return out

    def _publish(self, dt_wall: float) -> None:
        now_ms = self._now_ms()
        perp = self.path.price_at(self.replay_s)
        volume = self.path.volume_at(self.replay_s)
        for symbol, spec in self.specs.items():
            self._update_id += 1
            mark = self._mark_at(symbol, perp)
            index = q8(spot_from_perp(mark, self._basis.bps))
            premium = (mark - index) / index
            self._premium[symbol].add(premium, dt_wall)
            rate = funding_rate(self._premium[symbol].value, spec.interest_rate, spec.funding_cap)
            bid = _floor_to(mark, spec.tick)
            spot_bid = _floor_to(index, spec.spot_tick)
            prev = self.quotes.get(symbol)
            ratio = spec.ratio.get(self._event, 1.0)
            sizes: list[float]
            if prev is not None and self.paused:  # a frozen market keeps its books too
                sizes = [prev.bid_qty, prev.ask_qty, prev.spot_bid_qty, prev.spot_ask_qty]
            else:
                sizes = [float(x) for x in self._rng.uniform(0.05, 8.0, size=4) / math.sqrt(ratio)]
            self.quotes[symbol] = Quote(
                symbol=symbol,
                time_ms=now_ms,
                update_id=self._update_id,
                mark=mark,
                index=index,
                bid=bid,
                bid_qty=round(sizes[0], spec.qty_precision),
                ask=q8(bid + float(spec.tick)),
                ask_qty=round(sizes[1], spec.qty_precision),
                spot_bid=spot_bid,
                spot_bid_qty=round(sizes[2], 5),
                spot_ask=q8(spot_bid + float(spec.spot_tick)),
                spot_ask_qty=round(sizes[3], 5),
                funding_rate=rate,
                interest_rate=spec.interest_rate,
                next_funding_ms=self._next_funding[symbol],
                open=prev.open if prev else mark,
                high=max(prev.high, mark) if prev else mark,
                low=min(prev.low, mark) if prev else mark,
                volume=q8(volume / ratio),
                quote_volume=q8(volume * perp),
            )
