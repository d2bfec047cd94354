"""What a replay plays and how: its source, the loop modes, where replay time stands, the looped mark.

The market (`market.py`) runs replay time forward for ever; the path is finite. `loop` says what
happens at its end: "bounce" (default; `true`) plays it backwards to the start and forwards again,
so prices never jump; "restart" starts over (one jump per pass); "stop" (`false`) holds the last
prices. The path is the user's archive files (`archive.py`), a caller's (synthetic) or the shipped
bars of a built-in event (`replay.py`). These are pure functions of the path and the mode, apart
from the market's state, so the candles' past (`klines.py`) and the live replay walk the same loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from monitor.sim.archive import UserPaths, UserReplay, load_user_replay, user_paths
from monitor.sim.premium import Series
from monitor.sim.replay import EVENTS, PricePath, load_bars
from monitor.sim.symbols import SymbolSpec

__all__ = ["LoopMode", "ReplaySource", "loop_mode", "mark_path", "path_position", "replay_source"]

LoopMode = Literal["bounce", "restart", "stop"]


def loop_mode(loop: bool | str) -> LoopMode:
    """`true` → "bounce" (the jump-free loop), `false` → "stop"; the strings as they are."""
    if loop is True:
        return "bounce"
    if loop is False:
        return "stop"
    if loop in ("bounce", "restart", "stop"):
        return loop  # type: ignore[return-value]
    raise ValueError(f"loop must be bounce, restart, stop or a bool, not {loop!r}")


def path_position(elapsed: float, duration_s: float, loop: LoopMode) -> tuple[float, bool]:
    """(path time, playing backwards) for replay time `elapsed` under the loop mode."""
    d = duration_s
    if loop == "stop":
        return min(elapsed, d), False
    if loop == "restart":
        return math.fmod(elapsed, d), False
    p = math.fmod(elapsed, 2 * d)
    return (p, False) if p <= d else (2 * d - p, True)


def mark_path(ser: Series, ratio: float, interest_rate: float, perp: PricePath, loop: LoopMode) -> PricePath:
    """A symbol's mark (divided by its `ratio`) over one loop period, Price 1 taken at the interest
    rate: the past the candles serve (klines.py), played back like the live replay."""
    p1 = ser.index * (1 + interest_rate / 2)
    fwd = np.median(np.vstack([p1, ser.index + ser.basis_ma_fwd, ser.last]), axis=0) / ratio
    t = ser.t - ser.t[0]
    vol = np.interp(ser.t, perp.times, perp.cum_volume)
    dvol = np.diff(np.concatenate([[0.0], vol]))
    if loop != "bounce":
        return PricePath(t, fwd, dvol)
    back = np.median(np.vstack([p1, ser.index + ser.basis_ma_back, ser.last]), axis=0) / ratio
    d = float(t[-1])
    return PricePath(
        np.concatenate([t, 2 * d - t[-2::-1]]),
        np.concatenate([fwd, back[-2::-1]]),
        np.concatenate([dvol, dvol[:0:-1]]),
    )


@dataclass(frozen=True, slots=True)
class ReplaySource:
    user: UserReplay | None  # the user's archive files, when `replay` names a folder of them
    own: UserPaths | None  # their symbols, each on its own path
    symbols: tuple[SymbolSpec, ...]
    path: PricePath  # the first symbol's perp path
    epoch_ms: int | None  # replay time 0 on the replayed event's clock


def replay_source(
    replay: str, path: PricePath | None, symbols: tuple[SymbolSpec, ...], epoch_ms: int | None
) -> ReplaySource:
    """What `replay` (a built-in event or a folder of archive files) and a caller's `path` make up."""
    user = load_user_replay(replay) if replay not in EVENTS else None
    own = user_paths(user) if user is not None else None
    if own is not None:
        symbols = own.specs
        if path is None:
            path = own.perp[symbols[0].symbol]
            epoch_ms = own.epoch_ms if epoch_ms is None else epoch_ms
        else:  # a path of the caller's (synthetic): the first symbol on it, nothing of the files
            symbols = symbols[:1]
            own = replace(own, specs=symbols, perp={}, index={}, mark={})
    if path is None:
        bars = load_bars(replay)
        path = PricePath.from_bars(bars)
        epoch_ms = bars[0].open_ms if epoch_ms is None else epoch_ms
    return ReplaySource(user, own, symbols, path, epoch_ms)
