"""The simulator's default tier tables, funding caps and price ticks: one `DefaultTables` per
simulated margin model.

Why here: a what-if book may leave a market's tiers out, and then the simulated venue's own
table stands in (said out loud by `whatif/disclose.py`). Which table that is depends on the
venue's margin model; the registry entry names its `DefaultTables` (`Venue.sim_tables`), so the
what-if code asks the entry instead of branching on the kind, and this module is the simulator's
one place that maps a model to its tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from monitor.records import Bracket
from monitor.sim.brackets import BRACKETS
from monitor.sim.bybit.symbols import BYBIT_SYMBOLS, bybit_spec
from monitor.sim.symbols import symbol_spec

__all__ = ["BINANCE_TABLES", "BYBIT_TABLES", "DefaultTables"]


@dataclass(frozen=True, slots=True)
class DefaultTables:
    """What the simulator lists for one margin model, as the records a venue's reply would give."""

    said: str  # how the output names them: "the simulator's Binance brackets (monitor/sim/brackets.py)"
    noun: str  # in a refusal: "no default {noun} for SYMBOL"
    symbols: tuple[str, ...]
    brackets: Callable[[str], tuple[Bracket, ...] | None]  # None: the symbol has no default table
    funding_cap: Callable[[str], float]  # NaN: the evaluator's own rule (Binance's 75 % of tier 1)
    tick: Callable[[str], float | None]  # the perpetual's tick as the simulator lists it (None: unlisted)

    def missing(self, symbol: str) -> str:
        return f"no default {self.noun} for {symbol} (defaults: {', '.join(sorted(self.symbols))})"


def _binance_brackets(symbol: str) -> tuple[Bracket, ...] | None:
    table = BRACKETS.get(symbol)
    if table is None:
        return None
    return tuple(
        Bracket(floor=b.floor, cap=b.cap, mmr=b.mmr, cum=b.cum, max_leverage=float(b.max_leverage))
        for b in table
    )


def _bybit_brackets(symbol: str) -> tuple[Bracket, ...] | None:
    """Risk-limit tiers as brackets: each floor the previous riskLimitValue, `mmDeduction` as `cum`."""
    spec = bybit_spec(symbol)
    if spec is None:
        return None
    floors = (0.0, *(t.limit for t in spec.tiers[:-1]))
    return tuple(
        Bracket(floor=f, cap=t.limit, mmr=t.mmr, cum=t.deduction, max_leverage=t.max_leverage)
        for f, t in zip(floors, spec.tiers, strict=True)
    )


def _bybit_funding_cap(symbol: str) -> float:
    spec = bybit_spec(symbol)
    return spec.funding_cap if spec is not None else math.nan


def _binance_tick(symbol: str) -> float | None:
    spec = symbol_spec(symbol)
    return float(spec.tick) if spec is not None else None


def _bybit_tick(symbol: str) -> float | None:
    spec = bybit_spec(symbol)
    return float(spec.tick) if spec is not None else None


BINANCE_TABLES = DefaultTables(
    said="the simulator's Binance brackets (monitor/sim/brackets.py)",
    noun="brackets",
    symbols=tuple(BRACKETS),
    brackets=_binance_brackets,
    funding_cap=lambda _symbol: math.nan,
    tick=_binance_tick,
)
BYBIT_TABLES = DefaultTables(
    said="the simulator's Bybit risk limits (monitor/sim/bybit/symbols.py)",
    noun="Bybit risk limits",
    symbols=tuple(s.symbol for s in BYBIT_SYMBOLS),
    brackets=_bybit_brackets,
    funding_cap=_bybit_funding_cap,
    tick=_bybit_tick,
)
