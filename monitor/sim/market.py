"""The simulated market: last, index, premium, mark, books and funding per symbol, advanced by the clock.

Prices are made the way the venues make them (`premium.py`): the perp's last trade is the replayed
path (scaled per symbol); the index is spot, the perp seen through the simulated premium, so it has
its own, shallower wicks; the premium index is the impact bid/ask against the index; the mark is
Binance's median of Price 1 (index × (1 + running funding rate × time left / interval)), Price 2
(index + the 5-minute average mid basis) and the last price, so a last-trade wick alone does not
move it; funding is the formula of `funding.py` on the symbol's interval.

Replay time moves `speed` times faster than the clock's monotonic time and stops while paused;
every timestamp published is the clock's wall time. `loop` (`playback.py`) says what happens at the end:
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
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from monitor.clock import Clock
from monitor.sim.funding import funding_rate, next_funding_ms
from monitor.sim.funding_path import RunningAverage, impact_premium_series, running_average
from monitor.sim.numfmt import q8
from monitor.sim.playback import LoopMode, loop_mode, mark_path, path_position, replay_source
from monitor.sim.premium import PremiumParams, Series, build_series, mark_price
from monitor.sim.quotes import PathState, Quote, Settlement, book_sizes, build_quote
from monitor.sim.replay import PricePath, event_code
from monitor.sim.shocks import Shock, apply_shock
from monitor.sim.symbols import SYMBOLS, SymbolSpec
from monitor.sim.universe import Universe, UniverseFunding, generate_universe, mark_prices

# Quote, Settlement and the loop mode are re-exported: the venues' payloads read them from here
__all__ = ["LoopMode", "Market", "Quote", "Settlement", "loop_mode"]

_SAMPLE_S = 15.0  # replay seconds between the mark samples the account engine sees
_MAX_POINTS = 40_000  # grid points per path (a 30-day synthetic path gets a coarser grid)
_KEEP_SETTLEMENTS = 2_000


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
        # a folder of the user's archive files (archive.py), a caller's path, or the built-in bars
        src = replay_source(replay, path, symbols, epoch_ms)
        self.user, self._own, symbols, path, epoch_ms = src.user, src.own, src.symbols, src.path, src.epoch_ms
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
        self._mult_at: tuple[float, bool, PathState, npt.NDArray[np.float64]] | None = None
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
                self._epoch_s,
            )
            for i, (s, spec) in enumerate(self.specs.items())
            if s not in self._uidx
        }  # fmt: skip
        self._mult_at = None
        self.duration_s = float(self.series[next(iter(self.specs))].t[-1] - perp.times[0])
        base = self.specs[self._base]  # its mark over one loop period: the candles' past (klines.py)
        self.path = mark_path(
            self.series[self._base], base.ratio.get(self._event, 1.0), base.interest_rate, perp, self._loop
        )
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
            PremiumParams.for_symbol(params, self._event).level_at(self._epoch_s - 1.0),
            linear=False,
        )

    def grid_x(self, t: float) -> float:
        """Path time `t` as a fractional index into the series grid."""
        ser = self.series[self._base]
        return (t - float(ser.t[0])) / ser.step

    def position(self, elapsed: float) -> tuple[float, bool]:
        """(path time, playing backwards) for replay time `elapsed` under the loop mode."""
        return path_position(elapsed, self.duration_s, self._loop)

    def apply_shock(self, shock: Shock) -> None:
        """Rewrite the perp path with a scripted move (shocks.py) and rebuild what derives from it."""
        self._build(apply_shock(self.perp_path, shock))
        self._publish()

    def _state(self, symbol: str, t: float, back: bool) -> PathState:
        k = self._uidx.get(symbol)
        if k is not None:  # a generated contract: the base symbol's state times its multiplier
            base, m = self._generated(t, back)
            mk = float(m[k])
            return PathState(base.last * mk, base.index * mk, base.premium, base.crash, base.ma_basis * mk)
        ser = self.series[symbol]
        x = (t - float(ser.t[0])) / ser.step
        i = min(max(int(x), 0), len(ser.t) - 2)
        f = min(max(x - i, 0.0), 1.0)

        def at(a: np.ndarray) -> float:
            return float(a[i] + (a[i + 1] - a[i]) * f)

        ma = ser.basis_ma_back if back else ser.basis_ma_fwd
        given = self._own.mark.get(symbol) if self._own is not None else None
        mark = given.price_at(t) if given is not None else math.nan
        return PathState(
            at(ser.last), at(ser.index), at(ser.premium), bool(ser.crash[i + (f >= 0.5)]), at(ma), mark
        )

    def _generated(self, t: float, back: bool) -> tuple[PathState, npt.NDArray[np.float64]]:
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

    def _mark(self, symbol: str, st: PathState) -> float:
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
        t, back = self.position(e1)
        self._set_funding(t, back)
        self.elapsed_s, self.replay_s, self._back = e1, t, back

    def marks_now(self) -> dict[str, float]:
        """Every symbol's mark at the current replay time (not yet published)."""
        t, back = self.position(self.elapsed_s)
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
        t, back = self.position(elapsed)
        st = self._state(symbol, t, back)
        return st.last, st.index, st.premium, st.crash, st.ma_basis

    def _publish(self) -> None:
        now_ms = self._now_ms()
        t, back = self.position(self.elapsed_s)
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
            st = PathState(base.last * mk, base.index * mk, base.premium, base.crash, base.ma_basis * mk)
            mark = self.pinned.get(symbol, marks[k])
            self._quote(symbol, st, mark, rates[k], now_ms, volume, draws[k] if draws else None)

    def _quote(
        self,
        symbol: str,
        st: PathState,
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
        prev = self.quotes.get(symbol)
        ratio = spec.ratio.get(self._event, 1.0)
        if prev is None or not self.paused:  # a frozen market keeps its books too
            draw = draw if draw is not None else self._rng.uniform(0.05, 8.0, size=4).tolist()
        sizes = book_sizes(prev if self.paused else None, draw, ratio)
        self.quotes[symbol] = build_quote(
            spec, st, mark, rate, sizes, prev,
            last=last, index=index, ratio=ratio, time_ms=now_ms, update_id=self._update_id,
            next_funding_ms=self._next_funding[symbol], volume=volume,
        )  # fmt: skip
