"""The slow cadence: refit GARCH/OU, rebuild the return history and rerun Monte Carlo off the loop.

A refit takes from tens of milliseconds (one symbol) to seconds (Monte Carlo, many symbols): on
the event loop it would stall every feed and the evaluation tick. So the work runs in a worker
thread (`asyncio.to_thread`) on a snapshot taken on the loop, and the finished `RiskModels`
replaces the old one in a single assignment the next tick reads. A failing refit keeps the
previous models (their age keeps growing in `risk_models_age_seconds`) and is counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from monitor.clock import Clock
from monitor.config import EvaluationConfig
from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.exposure import PositionKey
from monitor.evaluation.models import EMPTY_MODELS, RiskModels, refresh_models
from monitor.records import Figures
from monitor.store.state import Snapshot

__all__ = ["Fit", "ModelRefresher"]

log = structlog.get_logger(__name__)

Fit = Callable[[Snapshot, EvaluationConfig, RiskModels, Mapping[PositionKey, float]], RiskModels]
FIRST_FIT_AFTER_S = 5.0  # the first fit waits for a little history, then the cadence is refit_s


class ModelRefresher:
    """Holds the current `RiskModels`; `run()` replaces it every `refit_s` with a fit made in a thread."""

    def __init__(
        self,
        clock: Clock,
        snapshot: Callable[[int], Snapshot],
        figures: Callable[[], Figures | None],
        config: Callable[[], EvaluationConfig],
        fit: Fit = refresh_models,
    ) -> None:
        self.models: RiskModels = EMPTY_MODELS
        self.refits = 0
        self.errors = 0
        self._clock, self._snapshot, self._figures, self._config, self._fit = (
            clock,
            snapshot,
            figures,
            config,
            fit,
        )

    async def refresh(self) -> None:
        """One refit: snapshot and LPs on the loop, the fit in a worker thread, then the swap."""
        snap = self._snapshot(self._clock.now_ns())
        lps = lps_from_figures(self._figures())
        ev = self._config()
        self.models = await asyncio.to_thread(self._fit, snap, ev, self.models, lps)
        self.refits += 1

    async def run(self) -> None:
        await self._clock.sleep(min(FIRST_FIT_AFTER_S, self._config().refit_s))
        while True:
            try:
                await self.refresh()
            except Exception:  # a bug in a fit must not end the cadence; the old models stay
                self.errors += 1
                log.exception("risk model refit failed")
            await self._clock.sleep(self._config().refit_s)  # re-read: a reload may change it
