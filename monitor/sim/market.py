"""The simulated market: last, index, premium, mark, books and funding per symbol, advanced by the clock.

Prices are made the way the venues make them (`premium.py`): the perp's last trade is the replayed
path (scaled per symbol); the index is spot, the perp seen through the simulated premium, so it has
its own, shallower wicks; the premium index is the impact bid/ask against the index; the mark is
Binance's median of Price 1 (index × (1 + running funding rate × time left / interval)), Price 2
(index + the 5-minute average mid basis) and the last price, so a last-trade wick alone does not
move it; funding is the formula of `funding.py` on the symbol's interval.

Replay time moves `speed` times faster than the clock's monotonic time and stops while paused;
every timestamp published is the clock's wall time. `loop` says what happens at the path's end:
"bounce" (default; `true`) plays it backwards to the start and forwards again, so prices never
jump; "restart" starts over (one jump per pass: the old behaviour); "stop" (`false`) holds the
last prices. The running funding rate is the one the venue showed at the replayed moment
(`funding_path.py`): the premium index averaged from the start of the symbol's interval on the
replayed event's real clock (a replay of 2021-05-19 10:03 is in the 08:00–16:00 interval, whose
first two hours are taken at the calm level) to that moment. A bounce playing the crash backwards
shows the same estimates again, never a fiction of two crashes in one interval. Wall-clock
settlements (`due_settlements`) pay the running rate of their moment; the settlements the
replayed day itself made, as the path plays forwards over them, are kept in `replay_settlements`
(tests compare them with the real ones).

`advance()` returns a mark sample for each grid point (15 replay seconds) the step passed over,
then the final one, so the account engine sees the mark's path even when one tick spans minutes.
Published prices are quantized to the strings the venue sends.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.clock import Clock
from monitor.sim.archive import load_user_replay, user_paths
from monitor.sim.funding import funding_rate, next_funding_ms
from monitor.sim.funding_path import RunningAverage, impact_premium_series, running_average
from monitor.sim.numfmt import q8
from monitor.sim.premium import (
    PremiumParams,
    Series,
    build_series,
    impact_premium,
    mark_price,
)
from monitor.sim.replay import EVENTS, PricePath, event_code, load_bars
from monitor.sim.shocks import Shock, apply_shock
from monitor.sim.symbols import SYMBOLS, SymbolSpec
from monitor.sim.universe import (
    Universe,
    UniverseFunding,
    generate_universe,
    mark_prices,
)

__all__ = ["LoopMode", "Market", "Quote", "Settlement", "loop_mode"]

LoopMode = Literal["bounce", "restart", "stop"]
_SAMPLE_S = 15.0  # replay seconds between the mark samples the account engine sees
_MAX_POINTS = 40_000  # grid points per path (a 30-day synthetic path gets a coarser grid)
_KEEP_SETTLEMENTS = 2_000


def loop_mode(loop: bool | str) -> LoopMode:
    """`true` → "bounce" (the jump-free loop), `false` → "stop"; the strings as they are."""
    if loop is True:
        return "bounce"
    if loop is False:
        return "stop"
    if loop in ("bounce", "restart", "stop"):
        return loop  # type: ignore[return-value]
    raise ValueError(f"loop must be bounce, restart, stop or a bool, not {loop!r}")


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    time_ms: int
    update_id: int
    mark: float
    index: float  # = spot composite
    bid: float  # futures book, around the last price
    bid_qty: float
    ask: float
    ask_qty: float
    spot_bid: float
    spot_bid_qty: float
    spot_ask: float
    spot_ask_qty: float
    funding_rate: float  # the running rate of the interval in progress
    interest_rate: float
    next_funding_ms: int
    open: float  # since the replay started (the ticker window)
    high: float
    low: float
    volume: float
    quote_volume: float
    last: float = 0.0  # the perp's last trade
    premium_index: float = 0.0


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


@dataclass(slots=True)
class _State:
    """What a symbol's market is at one instant of replay time."""

    last: float
    index: float
    premium: float  # last / index − 1
    crash: bool
    ma_basis: float
    mark: float = math.nan  # the user's own mark klines at this instant, when given


class Market:
    def __init__(
        self,
        *,
        replay: str,
        speed: float,
        loop: bool | str,
        seed: int,
        clock: Clock,
        path: PricePath | None = None,
        symbols: tuple[SymbolSpec, ...] = SYMBOLS,
        epoch_ms: int | None = None,
        universe_symbols: int = 0,
    ) -> None:
        self._clock = clock
        self._speed = speed
        self._loop = loop_mode(loop)
        self._seed = seed
        self._event = event_code(replay)
        # a folder of the user's archive files (archive.py): its symbols, each on its own path
        self.user = load_user_replay(replay) if replay not in EVENTS else None
        self._own = user_paths(self.user) if self.user is not None else None
        if self._own is not None:
            symbols = self._own.specs
            if path is None:
                path = self._own.perp[symbols[0].symbol]
                epoch_ms = self._own.epoch_ms if epoch_ms is None else epoch_ms
            else:  # a path of the caller's (synthetic): the first symbol on it, nothing of the files
                symbols = symbols[:1]
                self._own = replace(self._own, specs=symbols, perp={}, index={}, mark={})
        if path is None:
            bars = load_bars(replay)
            path = PricePath.from_bars(bars)
            epoch_ms = bars[0].open_ms if epoch_ms is None else epoch_ms
        # the funding grid's anchor: replay time 0 on the replayed event's real clock
        self._epoch_s = (epoch_ms or 0) / 1000.0
        # generated contracts (universe.py) ride on the first symbol's series through one multiplier each
        self.universe: Universe | None = (
            generate_universe(universe_symbols, seed, path) if universe_symbols else None
        )
        self._base = symbols[0].symbol
        self._listed = tuple(s.symbol for s in symbols)  # the symbols with a series of their own
        generated = self.universe.specs if self.universe is not None else ()
        self.specs = {s.symbol: s for s in (*symbols, *generated)}
        self._uidx = self.universe.index if self.universe is not None else {}
        self._mult_at: tuple[float, bool, _State, npt.NDArray[np.float64]] | None = None
        self._rng = np.random.default_rng(seed + 1)
        self._ufund = UniverseFunding(self.universe.specs) if self.universe is not None else None
        self._build(path)
        self.elapsed_s = 0.0  # replay seconds played since start-up (monotonic across loops)
        self.replay_s = 0.0  # where on the path that is
        self._back = False
        self.replay_settlements: dict[str, list[tuple[float, float]]] = {s: [] for s in self._listed}
        self._rate: dict[str, float] = {}
        self._until: dict[str, float] = {}
        self._set_funding(0.0, False)
        now_ms = self._now_ms()
        self._next_funding = {
            s: next_funding_ms(now_ms, spec.funding_hours) for s, spec in self.specs.items()
        }
        self.sample_elapsed: list[float] = []  # replay times of the last advance()'s samples
        self._last_mono = clock.monotonic_ns()
        self._update_id = 0
        self.paused = False
        self.pinned: dict[str, float] = {}  # scenario control: a symbol held at this mark (control.py)
        self.quotes: dict[str, Quote] = {}
        self._publish()

    # --- the series ---------------------------------------------------------------------------
    def _build(self, perp: PricePath) -> None:
        self.perp_path = perp
        d = perp.duration_s
        step = max(5.0, d / _MAX_POINTS)
        self._every = max(1, round(_SAMPLE_S / step))
        own = self._own
        self.series: dict[str, Series] = {
            s: build_series(
                perp if own is None or s == self._base else own.perp[s],
                spec.ratio.get(self._event, 1.0), PremiumParams.for_symbol(s, self._event),
                self._seed + 7919 * (i + 1), step, own.index.get(s) if own is not None else None,
            )
            for i, (s, spec) in enumerate(self.specs.items())
            if s not in self._uidx
        }  # fmt: skip
        self._mult_at = None
        self.duration_s = float(self.series[next(iter(self.specs))].t[-1] - perp.times[0])
        self.path = self._mark_path()
        self.funding_paths = {s: self._running(s, s, self.specs[s].funding_hours) for s in self._listed}
        self._ufund_paths = (
            {h: self._running(self._base, "", int(h // 3600)) for h in self._ufund.intervals.tolist()}
            if self._ufund is not None
            else {}
        )

    def _running(self, series: str, params: str, hours: int) -> RunningAverage:
        """The venue's running premium average along `series`'s path on an `hours` interval, the
        part of the first interval before the replay at the calm level of `params`'s symbol."""
        ser = self.series[series]
        return running_average(
            self._epoch_s + (ser.t - ser.t[0]),
            impact_premium_series(ser.last, ser.index, ser.crash),
            hours * 3600.0,
            PremiumParams.for_symbol(params, self._event).level,
            linear=False,
        )

    def grid_x(self, t: float) -> float:
        """Path time `t` as a fractional index into the series grid."""
        ser = self.series[self._base]
        return (t - float(ser.t[0])) / ser.step

    def position(self, elapsed: float) -> tuple[float, bool]:
        """(path time, playing backwards) for replay time `elapsed` under the loop mode."""
        return self._position(elapsed)

    def _mark_path(self) -> PricePath:
        """BTCUSDT's (ratio 1) mark over one loop period, Price 1 taken at the interest rate: the past
        the candles serve (klines.py), played back like the live replay."""
        sym = next(iter(self.specs))
        ser = self.series[sym]
        ratio = self.specs[sym].ratio.get(self._event, 1.0)
        p1 = ser.index * (1 + self.specs[sym].interest_rate / 2)
        fwd = np.median(np.vstack([p1, ser.index + ser.basis_ma_fwd, ser.last]), axis=0) / ratio
        t = ser.t - ser.t[0]
        vol = np.interp(ser.t, self.perp_path.times, self.perp_path.cum_volume)
        dvol = np.diff(np.concatenate([[0.0], vol]))
        if self._loop != "bounce":
            return PricePath(t, fwd, dvol)
        back = np.median(np.vstack([p1, ser.index + ser.basis_ma_back, ser.last]), axis=0) / ratio
        d = float(t[-1])
        return PricePath(
            np.concatenate([t, 2 * d - t[-2::-1]]),
            np.concatenate([fwd, back[-2::-1]]),
            np.concatenate([dvol, dvol[:0:-1]]),
        )

    def apply_shock(self, shock: Shock) -> None:
        """Rewrite the perp path with a scripted move (shocks.py) and rebuild what derives from it."""
        self._build(apply_shock(self.perp_path, shock))
        self._publish()

    def _position(self, elapsed: float) -> tuple[float, bool]:
        """(path time, playing backwards) for replay time `elapsed` under the loop mode."""
        d = self.duration_s
        if self._loop == "stop":
            return min(elapsed, d), False
        if self._loop == "restart":
            return math.fmod(elapsed, d), False
        p = math.fmod(elapsed, 2 * d)
        return (p, False) if p <= d else (2 * d - p, True)

    def _state(self, symbol: str, t: float, back: bool) -> _State:
        k = self._uidx.get(symbol)
        if k is not None:  # a generated contract: the base symbol's state times its multiplier
            base, m = self._generated(t, back)
            mk = float(m[k])
            return _State(base.last * mk, base.index * mk, base.premium, base.crash, base.ma_basis * mk)
        ser = self.series[symbol]
        x = (t - float(ser.t[0])) / ser.step
        i = min(max(int(x), 0), len(ser.t) - 2)
        f = min(max(x - i, 0.0), 1.0)

        def at(a: np.ndarray) -> float:
            return float(a[i] + (a[i + 1] - a[i]) * f)

        ma = ser.basis_ma_back if back else ser.basis_ma_fwd
        given = self._own.mark.get(symbol) if self._own is not None else None
        mark = given.price_at(t) if given is not None else math.nan
        return _State(
            at(ser.last), at(ser.index), at(ser.premium), bool(ser.crash[i + (f >= 0.5)]), at(ma), mark
        )

    def _generated(self, t: float, back: bool) -> tuple[_State, npt.NDArray[np.float64]]:
        """The base symbol's state at path time `t` and every generated contract's multiplier on it."""
        if self._mult_at is None or self._mult_at[0] != t or self._mult_at[1] != back:
            base = self._state(self._base, t, back)
            ratio = self.specs[self._base].ratio.get(self._event, 1.0)
            assert self.universe is not None
            self._mult_at = (t, back, base, self.universe.multipliers(t, base.last / ratio) / ratio)
        return self._mult_at[2], self._mult_at[3]

    def _generated_marks(self, t: float, back: bool) -> npt.NDArray[np.float64]:
        """Every generated contract's mark at path time `t` (the median rule, vectorised)."""
        base, m = self._generated(t, back)
        f = self._ufund
        assert f is not None
        return mark_prices(base.index * m, f.rate, f.until, f.h, base.ma_basis * m, base.last * m)

    # --- funding: the estimate of the replayed moment (funding_path.py) ---------------------------
    def _set_funding(self, t: float, back: bool) -> None:
        """Every symbol's running rate and time to settlement at path time `t`; a forward move past
        an interval boundary on the replayed day's clock records that settlement."""
        x = self.grid_x(t)
        t0, back0 = self.replay_s, self._back
        for s in self._listed:
            spec = self.specs[s]
            fp = self.funding_paths[s]
            avg, self._until[s] = fp.at(x)
            self._rate[s] = funding_rate(avg, spec.interest_rate, spec.funding_cap, spec.funding_hours)
            if not back and not back0 and t > t0:
                kept = self.replay_settlements[s]
                for boundary, p in fp.crossed(self._epoch_s + t0, self._epoch_s + t):
                    rate = funding_rate(p, spec.interest_rate, spec.funding_cap, spec.funding_hours)
                    kept.append((boundary, rate))
                del kept[:-_KEEP_SETTLEMENTS]
        if self._ufund is not None:
            self._ufund.set({h: fp.at(x) for h, fp in self._ufund_paths.items()})

    def _mark(self, symbol: str, st: _State) -> float:
        if symbol in self.pinned:
            return self.pinned[symbol]
        if not math.isnan(st.mark):
            return q8(st.mark)
        k = self._uidx.get(symbol)
        if k is not None and self._ufund is not None:
            f = self._ufund
            return q8(
                mark_price(st.index, float(f.rate[k]), float(f.until[k]), float(f.h[k]), st.ma_basis, st.last)
            )
        h = self.specs[symbol].funding_hours * 3600.0
        return q8(mark_price(st.index, self._rate[symbol], self._until[symbol], h, st.ma_basis, st.last))

    # --- the public surface ---------------------------------------------------------------------
    @property
    def event(self) -> str:
        return self._event

    @property
    def loop(self) -> LoopMode:
        return self._loop

    @property
    def epoch_s(self) -> float:
        """Replay time 0 on the replayed event's clock: where the funding grid is anchored."""
        return self._epoch_s

    @property
    def basis_bps(self) -> float:
        """BTCUSDT's spot-over-mark basis now, in bps of spot (where the candles' past walks back from)."""
        q = self.quotes[next(iter(self.specs))]
        return (q.index - q.mark) / q.index * 1e4

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def first_mark(self, symbol: str) -> float:
        """The replay's first mark: the default entry price of a configured position."""
        if symbol in self.pinned:
            return self.pinned[symbol]
        st = self._state(symbol, 0.0, False)
        if symbol in self._uidx or not math.isnan(st.mark):
            return self._mark(symbol, st)
        spec = self.specs[symbol]
        avg, until = self.funding_paths[symbol].at(self.grid_x(0.0))
        rate = funding_rate(avg, spec.interest_rate, spec.funding_cap, spec.funding_hours)
        return q8(mark_price(st.index, rate, until, spec.funding_hours * 3600.0, st.ma_basis, st.last))

    def marks(self) -> dict[str, float]:
        return {s: q.mark for s, q in self.quotes.items()}

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self._last_mono = self._clock.monotonic_ns()
        self.paused = False

    def seek(self, replay_s: float) -> None:
        """Jump the path to `replay_s` (tests use it to start inside a crash); funding carries on."""
        self.elapsed_s = min(max(0.0, replay_s), self.duration_s)
        self.replay_s, self._back = self.elapsed_s, False
        self._set_funding(self.replay_s, False)
        self._publish()

    def advance(self) -> list[dict[str, float]]:
        """Move replay time by the clock's progress; return marks at the grid points passed, then now."""
        mono = self._clock.monotonic_ns()
        dt_wall = max(0.0, (mono - self._last_mono) / 1e9)
        self._last_mono = mono
        samples: list[dict[str, float]] = []
        self.sample_elapsed = []
        if not self.paused and dt_wall > 0:
            a = self.elapsed_s
            b = a + dt_wall * self._speed
            if self._loop == "stop":
                b = min(b, max(a, self.duration_s))
            step = float(self.series[next(iter(self.specs))].step) * self._every
            k0, k1 = math.floor(a / step) + 1, math.ceil(b / step) - 1
            prev = a
            for k in range(k0, k1 + 1):
                e = k * step
                self._step_to(prev, e)
                prev = e
                samples.append(self.marks_now())
                self.sample_elapsed.append(e)
            self._step_to(prev, b)
        self._publish()
        samples.append(self.marks())
        self.sample_elapsed.append(self.elapsed_s)
        return samples

    def _step_to(self, e0: float, e1: float) -> None:
        """Stand at replay time e1 (from e0): the funding estimate of that moment of the replayed day."""
        t, back = self._position(e1)
        self._set_funding(t, back)
        self.elapsed_s, self.replay_s, self._back = e1, t, back

    def marks_now(self) -> dict[str, float]:
        """Every symbol's mark at the current replay time (not yet published)."""
        t, back = self._position(self.elapsed_s)
        out = {s: self._mark(s, self._state(s, t, back)) for s in self._listed}
        if self.universe is not None:
            out |= self._pin(zip(self._uidx, self._generated_marks(t, back).tolist(), strict=True))
        return out

    def _pin(self, marks: Iterable[tuple[str, float]]) -> dict[str, float]:
        return {s: self.pinned.get(s, m) for s, m in marks}

    def due_settlements(self) -> list[Settlement]:
        """Settle every symbol whose funding time has passed (wall clock) at its running rate."""
        now_ms = self._now_ms()
        out: list[Settlement] = []
        for symbol, due in self._next_funding.items():
            if now_ms >= due:
                q = self.quotes[symbol]
                out.append(Settlement(symbol, due, q.funding_rate, q.mark))
                self._next_funding[symbol] = next_funding_ms(now_ms, self.specs[symbol].funding_hours)
                self.quotes[symbol] = replace(q, next_funding_ms=self._next_funding[symbol])
        return out

    def state_at(self, symbol: str, elapsed: float) -> tuple[float, float, float, bool, float]:
        """(last, index, premium, crash, moving-average mid basis) at replay time `elapsed`."""
        t, back = self._position(elapsed)
        st = self._state(symbol, t, back)
        return st.last, st.index, st.premium, st.crash, st.ma_basis

    def _publish(self) -> None:
        now_ms = self._now_ms()
        t, back = self._position(self.elapsed_s)
        volume = self.perp_path.volume_at(t)
        for symbol in self._listed:
            st = self._state(symbol, t, back)
            self._quote(symbol, st, self._mark(symbol, st), self._rate[symbol], now_ms, volume, None)
        if self._ufund is None:
            return
        base, m = self._generated(t, back)
        marks = self._generated_marks(t, back).tolist()
        rates = self._ufund.rate.tolist()
        draws = self._rng.uniform(0.05, 8.0, size=(len(marks), 4)).tolist() if not self.paused else None
        for k, symbol in enumerate(self._uidx):
            mk = float(m[k])
            st = _State(base.last * mk, base.index * mk, base.premium, base.crash, base.ma_basis * mk)
            mark = self.pinned.get(symbol, marks[k])
            self._quote(symbol, st, mark, rates[k], now_ms, volume, draws[k] if draws else None)

    def _quote(
        self,
        symbol: str,
        st: _State,
        mark: float,
        rate: float,
        now_ms: int,
        volume: float,
        draw: list[float] | None,
    ) -> None:
        """Publish one symbol's quote; `draw`: its four book sizes drawn beforehand (None: draw now)."""
        spec = self.specs[symbol]
        self._update_id += 1
        last, index = st.last, st.index
        if symbol in self.pinned:  # a pinned mark carries the whole symbol with it
            k = mark / st.last
            last, index = mark, st.index * k
        index = q8(index)
        bid = _floor_to(last, spec.tick)
        spot_bid = _floor_to(index, spec.spot_tick)
        prev = self.quotes.get(symbol)
        ratio = spec.ratio.get(self._event, 1.0)
        sizes: list[float]
        if prev is not None and self.paused:  # a frozen market keeps its books too
            sizes = [prev.bid_qty, prev.ask_qty, prev.spot_bid_qty, prev.spot_ask_qty]
        else:
            raw = draw if draw is not None else self._rng.uniform(0.05, 8.0, size=4).tolist()
            scale = math.sqrt(ratio)
            sizes = [x / scale for x in raw]
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
            quote_volume=q8(volume * st.last / ratio),
            last=q8(last),
            premium_index=q8(impact_premium(last, index, st.crash)),
        )
