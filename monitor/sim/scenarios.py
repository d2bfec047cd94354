"""Named market scenarios for `perpmon sim --scenario`: which path to run and what to do to it.

A scenario is config overrides (which crash to replay, or a synthetic path) plus scripted shocks
applied once the simulator is up. Tests that need something else script it with `SimControl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.sim.shocks import Shock

__all__ = ["SCENARIOS", "Scenario"]


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    overrides: dict[str, Any] = field(default_factory=dict)  # SimulatorConfig fields
    shocks: tuple[Shock, ...] = ()


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "crash-2021-05-19",
            "replay of the 2021-05-19 crash (real BTCUSDT perp minute bars)",
            {"replay": "crash-2021-05-19"},
        ),
        Scenario(
            "crash-2020-03-12",
            "replay of Black Thursday, 2020-03-12",
            {"replay": "crash-2020-03-12"},
        ),
        Scenario(
            "crash-2024-08-05",
            "replay of the 2024-08-05 yen-carry unwind",
            {"replay": "crash-2024-08-05"},
        ),
        Scenario(
            "synthetic",
            "30 days of seeded GARCH-t returns with jumps, the premium model for spot and index",
            {"path": "synthetic"},
        ),
        Scenario(
            "shock",
            "the synthetic path with a -20 % move in one minute, 10 replay minutes in",
            {"path": "synthetic"},
            (Shock(at_s=600.0, move=-0.2, over_s=60.0),),
        ),
    )
}
