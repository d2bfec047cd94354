"""The simulated Bybit market: the Binance replay's path plus Bybit's own premium and funding.

One crash drives both venues. Bybit's index is the same spot composite as the simulated Binance's
(its index is built from the same spot venues); its perp is the Binance perp times `1 + spread`,
where the spread is a per-symbol OU process in bps (`bybit_symbols.py`: mean a few bps, half-life
20 min of *replay* time). So Bybit's premium = Binance's premium + spread: basis and funding move
together through the crash but differ by venue, as they do. Bybit's spot book sits within a bp or
so of the index (its own small OU). Funding uses Bybit's formula on its own interval grid
(`F = P̄ + clamp(I − P̄, ±0.05 % pro rata)`, capped at ±fundingCap), averaged in wall time like the
Binance side (`funding.py`). Prices published are quantized to 8 decimals; books to the tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from monitor.clock import Clock
from monitor.sim.basis import BasisProcess
from monitor.sim.bybit_symbols import BYBIT_SYMBOLS, BybitSpec
from monitor.sim.funding import PremiumAverage, next_funding_ms
from monitor.sim.market import Market
from monitor.sim.numfmt import q8

__all__ = ["SPREAD_HALF_LIFE_S", "BybitMarket", "BybitQuote", "bybit_funding_rate"]

SPREAD_HALF_LIFE_S = 1200.0  # replay seconds
_SPOT_HALF_LIFE_S = 300.0
_SPOT_SD_BPS = 1.0
_VOLUME_SHARE = 0.6  # of the Binance volume
_OI_USD = {"BTCUSDT": 3.5e9, "ETHUSDT": 1.5e9, "SOLUSDT": 0.5e9}


@dataclass(frozen=True, slots=True)
class BybitQuote:
    symbol: str
    time_ms: int
    mark: float
    index: float
    last: float
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    spot_bid: float
    spot_bid_size: float
    spot_ask: float
    spot_ask_size: float
    funding_rate: float  # estimate for the running interval
    next_funding_ms: int
    prev_24h: float  # since the replay started (the ticker window)
    high: float
    low: float
    volume: float
    turnover: float
    open_interest: float  # contracts


def bybit_funding_rate(premium: float, spec: BybitSpec) -> float:
    rate = premium + min(max(spec.interest_rate - premium, -spec.clamp), spec.clamp)
    return q8(min(max(rate, -spec.funding_cap), spec.funding_cap))


def _ou(seed: int, mu: float, sd: float, half_life_s: float) -> BasisProcess:
    theta = math.log(2) / half_life_s
    return BasisProcess(seed, mu, theta_per_s=theta, mu_bps=mu, sigma_bps=sd * math.sqrt(2 * theta))


def _decimals(step: str) -> int:
    return len(step.partition(".")[2])


def _floor_to(price: float, tick: str) -> float:
    step = float(tick)
    decimals = len(tick.partition(".")[2])
    return round(math.floor(price / step + 1e-9) * step, decimals)


class BybitMarket:
    def __init__(
        self,
        base: Market,
        *,
        seed: int,
        speed: float,
        clock: Clock,
        symbols: tuple[BybitSpec, ...] = BYBIT_SYMBOLS,
    ) -> None:
        self.base = base
        self._clock = clock
        self._speed = speed
        self.specs = {s.symbol: s for s in symbols if s.symbol in base.specs}
        self.spreads = {
            s: _ou(seed + 101 + i, spec.spread_mu_bps, spec.spread_sd_bps, SPREAD_HALF_LIFE_S)
            for i, (s, spec) in enumerate(self.specs.items())
        }
        self._spot = {
            s: _ou(seed + 201 + i, 0.0, _SPOT_SD_BPS, _SPOT_HALF_LIFE_S) for i, s in enumerate(self.specs)
        }
        self._premium = {s: PremiumAverage() for s in self.specs}
        now_ms = self._now_ms()
        self._next_funding = {
            s: next_funding_ms(now_ms, spec.funding_hours) for s, spec in self.specs.items()
        }
        self._last_mono = clock.monotonic_ns()
        self.quotes: dict[str, BybitQuote] = {}
        self._publish(0.0)

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def mark_of(self, symbol: str, binance_mark: float) -> float:
        """Bybit's mark for a Binance mark: the venue premium applied, to the venue's price scale."""
        return round(binance_mark * (1 + self.spreads[symbol].bps / 1e4), self.specs[symbol].price_scale)

    def first_mark(self, symbol: str) -> float:
        return self.mark_of(symbol, self.base.first_mark(symbol))

    def marks(self) -> dict[str, float]:
        return {s: q.mark for s, q in self.quotes.items()}

    def translate(self, binance_marks: dict[str, float]) -> dict[str, float]:
        """A Binance mark sample as Bybit marks (the current spreads applied)."""
        return {s: self.mark_of(s, m) for s, m in binance_marks.items() if s in self.specs}

    def advance(self, binance_samples: list[dict[str, float]]) -> list[dict[str, float]]:
        """Call after `base.advance()`: step the spreads, publish, return the samples as Bybit marks."""
        mono = self._clock.monotonic_ns()
        dt_wall = max(0.0, (mono - self._last_mono) / 1e9)
        self._last_mono = mono
        if self.base.paused:  # a paused market holds everything it publishes, funding estimate included
            dt_wall = 0.0
        elif dt_wall > 0:
            for process in (*self.spreads.values(), *self._spot.values()):
                process.step(dt_wall * self._speed)
        self._publish(dt_wall)
        out = [self.translate(s) for s in binance_samples[:-1]]
        out.append(self.marks())
        return out

    def due_settlements(self) -> list[tuple[str, int, float, float]]:
        """(symbol, funding time, rate, mark) for each interval that has ended; starts the next."""
        now_ms = self._now_ms()
        out: list[tuple[str, int, float, float]] = []
        for symbol, due in self._next_funding.items():
            if now_ms >= due:
                q = self.quotes[symbol]
                out.append((symbol, due, q.funding_rate, q.mark))
                self._premium[symbol].reset()
                self._next_funding[symbol] = next_funding_ms(now_ms, self.specs[symbol].funding_hours)
                self.quotes[symbol] = replace(q, next_funding_ms=self._next_funding[symbol])
        return out

    def _publish(self, dt_wall: float) -> None:
        now_ms = self._now_ms()
        for symbol, spec in self.specs.items():
            bq = self.base.quotes[symbol]
            mark = self.mark_of(symbol, bq.mark)
            index = round(bq.index, spec.price_scale)
            self._premium[symbol].add((mark - index) / index, dt_wall)
            rate = bybit_funding_rate(self._premium[symbol].value, spec)
            bid = _floor_to(mark, spec.tick)
            spot_bid = _floor_to(index * (1 + self._spot[symbol].bps / 1e4), spec.spot_tick)
            prev = self.quotes.get(symbol)
            volume = q8(bq.volume * _VOLUME_SHARE)
            self.quotes[symbol] = BybitQuote(
                symbol=symbol,
                time_ms=now_ms,
                mark=mark,
                index=index,
                last=bid,
                bid=bid,
                bid_size=round(bq.bid_qty * 0.8, _decimals(spec.step)),
                ask=q8(bid + float(spec.tick)),
                ask_size=round(bq.ask_qty * 0.8, _decimals(spec.step)),
                spot_bid=spot_bid,
                spot_bid_size=round(bq.spot_bid_qty * 0.7, _decimals(spec.spot_step)),
                spot_ask=q8(spot_bid + float(spec.spot_tick)),
                spot_ask_size=round(bq.spot_ask_qty * 0.7, _decimals(spec.spot_step)),
                funding_rate=rate,
                next_funding_ms=self._next_funding[symbol],
                prev_24h=prev.prev_24h if prev else mark,
                high=max(prev.high, mark) if prev else mark,
                low=min(prev.low, mark) if prev else mark,
                volume=volume,
                turnover=q8(volume * mark),
                open_interest=round(_OI_USD.get(symbol, 1e8) / mark, _decimals(spec.step)),
            )
