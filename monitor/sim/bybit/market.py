"""The simulated Bybit market: the Binance replay's prices plus Bybit's own premium, mark and funding.

One crash drives both venues. Bybit's index is the same spot composite as the simulated Binance's
(its index is built from the same spot venues); its last price is the Binance perp's times
`1 + spread`, the spread a per-symbol OU process in bps (`bybit/symbols.py`: mean a few bps,
half-life 20 min of replay time), so Bybit's premium = Binance's premium + spread: basis and
funding move together through the crash but differ by venue, as they do. Its premium index is its
own impact bid/ask against the index; its mark is the rule Bybit publishes for USDT perpetuals,
median(index × (1 + funding rate × time left / interval), index + 5-minute average mid basis,
last), with its own funding; funding is Bybit's formula on its own interval
(`F = [P̄ + clamp(I − P̄, ±0.05 %)] × N/8`, capped at ±fundingCap) where P̄ weighs minute i of the
interval by i: the estimate of the replayed moment on the replayed day's clock, like the Binance
side (`funding_path.py`). The premium it averages is Bybit's at its mean spread: the spread's
noise (a few bps, half-life 20 min) averages out over an interval, and leaving it out keeps the
estimate a function of the replayed moment, so a bounce shows the day's estimates again. Bybit's
spot book sits within a bp or so of the index (its own small OU). Prices published are quantized
to 8 decimals; books to the tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from monitor.clock import Clock
from monitor.sim.basis import BasisProcess
from monitor.sim.bybit.symbols import BYBIT_SYMBOLS, BybitSpec
from monitor.sim.funding import next_funding_ms, settle_due
from monitor.sim.funding_path import RunningAverage, impact_premium_series, running_average
from monitor.sim.market import Market
from monitor.sim.numfmt import q8
from monitor.sim.premium import PremiumParams, Series, mark_price
from monitor.sim.quotes import floor_to

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
    """The formula for the symbol's interval: the premium counts N/8 (interest and clamp are pro rata)."""
    scaled = premium * spec.funding_hours / 8
    rate = scaled + min(max(spec.interest_rate - scaled, -spec.clamp), spec.clamp)
    return q8(min(max(rate, -spec.funding_cap), spec.funding_cap))


def _ou(seed: int, mu: float, sd: float, half_life_s: float) -> BasisProcess:
    theta = math.log(2) / half_life_s
    return BasisProcess(seed, mu, theta_per_s=theta, mu_bps=mu, sigma_bps=sd * math.sqrt(2 * theta))


def _decimals(step: str) -> int:
    return len(step.partition(".")[2])


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
        self._elapsed = base.elapsed_s
        self._paths: dict[str, tuple[Series, RunningAverage]] = {}
        self.replay_settlements: dict[str, list[tuple[float, float]]] = {s: [] for s in self.specs}
        self._rate: dict[str, float] = {}
        self._until: dict[str, float] = {}
        self._set_funding(self._elapsed, self._elapsed)
        now_ms = self._now_ms()
        self._next_funding = {
            s: next_funding_ms(now_ms, spec.funding_hours) for s, spec in self.specs.items()
        }
        self.quotes: dict[str, BybitQuote] = {}
        self._publish()

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def _interval_s(self, symbol: str) -> float:
        return self.specs[symbol].funding_hours * 3600.0

    def funding_path(self, symbol: str) -> RunningAverage:
        """Bybit's running premium average along the base's path (rebuilt when a shock rewrites it)."""
        ser = self.base.series[symbol]
        kept = self._paths.get(symbol)
        if kept is not None and kept[0] is ser:
            return kept[1]
        spec = self.specs[symbol]
        spread = spec.spread_mu_bps / 1e4
        fp = running_average(
            self.base.epoch_s + (ser.t - ser.t[0]),
            impact_premium_series(ser.last * (1 + spread), ser.index, ser.crash),
            self._interval_s(symbol),
            PremiumParams.for_symbol(symbol, self.base.event).level + spread,
            linear=True,
        )
        self._paths[symbol] = (ser, fp)
        return fp

    def _set_funding(self, e0: float, e1: float) -> None:
        """The running rate at replay time e1; settlements of the replayed day passed going forwards."""
        t0, back0 = self.base.position(e0)
        t1, back1 = self.base.position(e1)
        x = self.base.grid_x(t1)
        epoch = self.base.epoch_s
        for s, spec in self.specs.items():
            fp = self.funding_path(s)
            avg, self._until[s] = fp.at(x)
            self._rate[s] = bybit_funding_rate(avg, spec)
            if not back0 and not back1 and t1 > t0:
                kept = self.replay_settlements[s]
                kept += [(b, bybit_funding_rate(p, spec)) for b, p in fp.crossed(epoch + t0, epoch + t1)]
                del kept[:-2_000]

    def _prices(self, symbol: str, elapsed: float) -> tuple[float, float, float, bool]:
        """(mark, index, last, crash) at replay time `elapsed`, from the Binance side's state."""
        spec = self.specs[symbol]
        last_b, index, _p, crash, ma = self.base.state_at(symbol, elapsed)
        k = 1 + self.spreads[symbol].bps / 1e4
        if symbol in self.base.pinned:  # a pinned Binance mark carries Bybit with it
            scale = self.base.pinned[symbol] / last_b
            last_b, index, ma = self.base.pinned[symbol], index * scale, ma * scale
        last = last_b * k
        h = self._interval_s(symbol)
        mark = mark_price(index, self._rate[symbol], self._until[symbol], h, ma + last - last_b, last)
        return round(mark, spec.price_scale), index, last, crash

    def mark_of(self, symbol: str, binance_mark: float) -> float:
        """Bybit's mark now (the argument, Binance's mark, is kept for the callers that pass it)."""
        return self._prices(symbol, self._elapsed)[0]

    def first_mark(self, symbol: str) -> float:
        return self.mark_of(symbol, self.base.first_mark(symbol))

    def marks(self) -> dict[str, float]:
        return {s: q.mark for s, q in self.quotes.items()}

    def translate(self, binance_marks: dict[str, float]) -> dict[str, float]:
        """Bybit's marks now, for the symbols of a Binance mark sample."""
        return {s: self.mark_of(s, m) for s, m in binance_marks.items() if s in self.specs}

    def advance(self, binance_samples: list[dict[str, float]]) -> list[dict[str, float]]:
        """Call after `base.advance()`: walk the same replay times, publish, return Bybit's mark samples."""
        out: list[dict[str, float]] = []
        if not self.base.paused:
            for e in self.base.sample_elapsed:
                if e > self._elapsed:
                    for process in (*self.spreads.values(), *self._spot.values()):
                        process.step(e - self._elapsed)
                    self._set_funding(self._elapsed, e)
                    self._elapsed = e
                out.append({s: self._prices(s, e)[0] for s in self.specs})
            out = out[:-1]
        self._publish()
        out.append(self.marks())
        return out[-len(binance_samples) :] if binance_samples else out

    def due_settlements(self) -> list[tuple[str, int, float, float]]:
        """(symbol, funding time, rate, mark) for each interval that has ended; starts the next."""
        return settle_due(
            self._next_funding,
            self.quotes,
            lambda s: self.specs[s].funding_hours,
            self._now_ms(),
            lambda q, nxt: replace(q, next_funding_ms=nxt),
        )

    def _publish(self) -> None:
        now_ms = self._now_ms()
        for symbol, spec in self.specs.items():
            bq = self.base.quotes[symbol]
            mark, index_raw, last, _crash = self._prices(symbol, self._elapsed)
            index = round(index_raw, spec.price_scale)
            bid = floor_to(last, spec.tick)
            spot_bid = floor_to(index * (1 + self._spot[symbol].bps / 1e4), spec.spot_tick)
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
                funding_rate=self._rate[symbol],
                next_funding_ms=self._next_funding[symbol],
                prev_24h=prev.prev_24h if prev else mark,
                high=max(prev.high, mark) if prev else mark,
                low=min(prev.low, mark) if prev else mark,
                volume=volume,
                turnover=q8(volume * mark),
                open_interest=round(_OI_USD.get(symbol, 1e8) / mark, _decimals(spec.step)),
            )
