"""The scenario handle: one object through which tests and the admin API read and steer a simulator.

Tests script a scenario in-process (`SimControl(sim).shock(-0.2)`), a user of `perpmon sim` does the
same over the loopback admin API (`admin.py`), and both go through these methods, so what the HTTP
API can do is exactly what a test can. Every steering call takes effect at once: it runs one market
tick, so the account engine (liquidations included) and the streams see the change before the call
returns. Faults are reached by name through a fixed table, never by attribute lookup.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from monitor.clock import ManualClock
from monitor.sim.faults import Faults
from monitor.sim.numfmt import q8
from monitor.sim.server import Simulator
from monitor.sim.shocks import Shock

__all__ = ["FAULTS", "ControlError", "SimControl"]


class ControlError(Exception):
    """A request the simulator cannot carry out (`status` is the HTTP status the admin API answers)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# fault name → (callable on Faults, the keyword arguments it takes)
FAULTS: dict[str, tuple[Callable[..., None], frozenset[str]]] = {
    "disconnect_all": (Faults.disconnect_all, frozenset()),
    "stall": (Faults.stall, frozenset({"on"})),
    "send_malformed": (Faults.send_malformed, frozenset({"frames"})),
    "repeat_frames": (Faults.repeat_frames, frozenset({"broadcasts"})),
    "corrupt_prices": (Faults.corrupt_prices, frozenset({"kind", "broadcasts"})),
    "delay_frames": (Faults.delay_frames, frozenset({"seconds"})),
    "refuse_connections": (Faults.refuse_connections, frozenset({"seconds"})),
    "fail_rest": (Faults.fail_rest, frozenset({"calls", "status"})),
    "rate_limit": (Faults.rate_limit, frozenset({"calls_429", "calls_418", "retry_after_s"})),
    "expire_listen_key": (Faults.expire_listen_key, frozenset({"account"})),
}
_CORRUPTIONS = ("nan", "negative", "zero", "wrong_type")
# what the simulated Bybit's own Faults act on (`venue="bybit"`); the rest are Binance mechanisms
BYBIT_FAULTS = frozenset(
    {
        "disconnect_all",
        "stall",
        "send_malformed",
        "repeat_frames",
        "fail_rest",
        "rate_limit",
        "refuse_connections",
    }
)


def _plain(obj: Any) -> Any:
    """JSON-safe copy of a view: dataclasses to dicts, non-finite floats to None."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


class SimControl:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.shocks: list[Shock] = []

    # --- reading -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        m = self.sim.market
        return {
            "ticks": self.sim.ticks,
            "replay_s": m.replay_s,
            "duration_s": m.duration_s,  # the path's own length (a bounce plays it twice a loop)
            "loop": m.loop,
            "paused": m.paused,
            "manual_clock": isinstance(self.sim.clock, ManualClock),
            "now_ms": self.sim.clock.now_ns() // 1_000_000,
            "pinned": dict(m.pinned),
            "shocks": [dataclasses.asdict(s) for s in self.shocks],
            "connections": len(self.sim.futures_hub.connections) + len(self.sim.spot_hub.connections),
            "refusing_connections": self.sim.listeners.refusing,
            "frame_delay_s": self.sim.faults.delay_s,
            "stalled": self.sim.faults.stalled,
            "bybit": {
                "connections": len(self.sim.bybit.hub.connections),
                "stalled": self.sim.bybit.faults.stalled,
                "refusing_connections": self.sim.bybit_listeners.refusing,
            },
        }

    def market(self, venue: str = "binance") -> dict[str, Any]:
        return _venue(venue).market(self.sim)

    def accounts(self) -> dict[str, Any]:
        names = [*self.sim.engine.accounts, *self.sim.bybit.engine.accounts]
        return {name: self.account(name) for name in names}

    def account(self, name: str) -> dict[str, Any]:
        eng = self.sim.engine
        bybit = self.sim.bybit.engine
        if name in bybit.accounts:
            return {
                "venue": "bybit",
                "wallet": _plain(bybit.wallet(name)),
                "positions": _plain(bybit.positions(name)),
                "liquidations": _plain([liq for liq in bybit.liquidations if liq.account == name]),
            }
        if name not in eng.accounts:
            raise ControlError(404, f"no simulated account {name!r}")
        return {
            "summary": _plain(eng.summary(name)),
            "other_assets": dict(eng.accounts[name].other_assets),
            "positions": _plain(eng.positions(name)),
            "liquidations": _plain([liq for liq in eng.liquidations if liq.account == name]),
            "funding_payments": _plain([f for f in eng.funding_payments if f.account == name][-50:]),
        }

    # --- steering ----------------------------------------------------------------------------
    def set_price(self, symbol: str, price: float) -> float:
        """Hold `symbol`'s mark at `price` (others keep following the path); returns the mark set."""
        if symbol not in self.sim.market.specs:
            raise ControlError(404, f"the simulator does not list {symbol!r}")
        if not (isinstance(price, int | float) and math.isfinite(price) and price > 0):
            raise ControlError(400, "price must be a positive finite number")
        self.sim.market.pinned[symbol] = q8(float(price))
        self.sim.tick()
        return self.sim.market.quotes[symbol].mark

    def release_price(self, symbol: str) -> None:
        """Let `symbol` follow the path again."""
        if self.sim.market.pinned.pop(symbol, None) is None:
            raise ControlError(404, f"{symbol!r} is not pinned")
        self.sim.tick()

    def shock(self, move: float, over_s: float = 60.0, in_s: float = 0.0) -> Shock:
        """A market-wide move of `move` over `over_s` replay seconds, starting `in_s` from now."""
        try:
            shock = Shock(self.sim.market.replay_s + in_s, move, over_s)
        except (ValueError, TypeError) as exc:
            raise ControlError(400, str(exc)) from None
        self.sim.market.apply_shock(shock)
        self.shocks.append(shock)
        self.sim.tick()
        return shock

    def pause(self) -> None:
        self.sim.pause()

    def resume(self) -> None:
        self.sim.resume()

    def advance(self, seconds: float, step_s: float | None = None) -> int:
        """Move a manual clock on by `seconds`, one tick per `step_s` (default: the tick); ticks run."""
        clock = self.sim.clock
        if not isinstance(clock, ManualClock):
            raise ControlError(409, "the simulator runs on the live clock; use speed or pause instead")
        if not (math.isfinite(seconds) and seconds >= 0):
            raise ControlError(400, "seconds must be >= 0")
        step = step_s if step_s is not None else self.sim.cfg.tick_s
        if not (math.isfinite(step) and step > 0):
            raise ControlError(400, "step_s must be > 0")
        ticks, left = 0, seconds
        while left > 1e-12:
            dt = min(step, left)
            clock.advance(dt)
            self.sim.tick()
            left -= dt
            ticks += 1
        return ticks

    def fault(self, name: str, venue: str = "binance", **kwargs: Any) -> None:
        """Switch fault `name` on `venue` ("binance": futures and spot hosts, or "bybit")."""
        entry = FAULTS.get(name)
        if entry is None:
            raise ControlError(404, f"no fault {name!r}; known: {sorted(FAULTS)}")
        on = _venue(venue)
        if name not in on.faults:
            raise ControlError(400, f"{name} is not simulated on {venue}; there: {sorted(on.faults)}")
        fn, allowed = entry
        unknown = set(kwargs) - allowed
        if unknown:
            raise ControlError(400, f"{name} takes {sorted(allowed)}, not {sorted(unknown)}")
        if name == "corrupt_prices" and kwargs.get("kind") not in _CORRUPTIONS:
            raise ControlError(400, f"kind must be one of {list(_CORRUPTIONS)}")
        try:
            fn(on.faulted(self.sim), **kwargs)
        except TypeError as exc:
            raise ControlError(400, str(exc)) from None


@dataclasses.dataclass(frozen=True, slots=True)
class _Steered:
    """What the control plane reads and faults on one simulated venue."""

    market: Callable[[Simulator], dict[str, Any]]  # its quotes, JSON-safe
    faulted: Callable[[Simulator], Faults]  # the Faults its hosts obey
    faults: frozenset[str]  # the FAULTS names it simulates


def _bybit_market(sim: Simulator) -> dict[str, Any]:
    bybit = sim.bybit.market
    return {s: {**_plain(q), "spread_bps": bybit.spreads[s].bps} for s, q in bybit.quotes.items()}


# the simulator's one switch on the venue it stands in for (`SimAccountConfig.venue`, `?venue=`)
_VENUES: dict[str, _Steered] = {
    "binance": _Steered(
        market=lambda sim: {s: _plain(q) for s, q in sim.market.quotes.items()},
        faulted=lambda sim: sim.faults,
        faults=frozenset(FAULTS),
    ),
    "bybit": _Steered(market=_bybit_market, faulted=lambda sim: sim.bybit.faults, faults=BYBIT_FAULTS),
}


def _venue(name: str) -> _Steered:
    steered = _VENUES.get(name)
    if steered is None:
        raise ControlError(400, f"venue must be {' or '.join(repr(n) for n in _VENUES)}")
    return steered
