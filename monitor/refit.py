"""The slow cadence: refit GARCH/OU, rebuild the return history and rerun Monte Carlo off the loop.

A refit takes from tens of milliseconds (one symbol) to seconds (Monte Carlo, many symbols): on
the event loop it would stall every feed and the evaluation tick. So the work runs in a worker
thread (`asyncio.to_thread`) on a snapshot taken on the loop, and the finished `RiskModels`
replaces the old one in a single assignment the next tick reads. A failing refit keeps the
previous models (their age keeps growing in `risk_models_age_seconds`) and is counted.

A trade changes the book, and VaR of a book the models never saw is reported as not available
(monitor/evaluation/book_var.py); so the book is checked every few seconds on the loop (a cheap
comparison) and a change brings the next refit forward, at most one early refit per
`EARLY_REFIT_GAP_S`, so an active book cannot keep a core busy with Monte Carlo.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import structlog

from monitor.clock import NS_PER_S, Clock
from monitor.config import EvaluationConfig
from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.exposure import PositionKey, book_signature, market_exposures
from monitor.evaluation.models import EMPTY_MODELS, RiskModels, refresh_models
from monitor.records import Figures
from monitor.store.state import Snapshot

__all__ = ["Fit", "ModelRefresher"]

log = structlog.get_logger(__name__)

Fit = Callable[[Snapshot, EvaluationConfig, RiskModels, Mapping[PositionKey, float]], RiskModels]
FIRST_FIT_AFTER_S = 5.0  # the first fit waits for a little history, then the cadence is refit_s
BOOK_CHECK_S = 2.0  # how often the loop compares the book with the one the models simulated
EARLY_REFIT_GAP_S = 10.0  # a changed book refits early, but no sooner than this after the last fit


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
        self.early_refits = 0  # brought forward by a book change
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

    def book_changed(self) -> bool:
        """True when the book now differs from the one the current models simulated."""
        snap = self._snapshot(self._clock.now_ns())
        return book_signature(market_exposures(snap)) != self.models.mc.book

    async def run(self) -> None:
        await self._clock.sleep(min(FIRST_FIT_AFTER_S, self._config().refit_s))
        while True:
            last = self._clock.monotonic_ns()
            try:
                await self.refresh()
            except Exception:  # a bug in a fit must not end the cadence; the old models stay
                self.errors += 1
                log.exception("risk model refit failed")
            await self._wait_for_next(last)

    async def _wait_for_next(self, last_ns: int) -> None:
        """Until refit_s has passed since `last_ns`, or the book changed and EARLY_REFIT_GAP_S has."""
        while True:
            since = (self._clock.monotonic_ns() - last_ns) / NS_PER_S
            refit_s = self._config().refit_s  # re-read: a reload may change it
            if since >= refit_s:
                return
            if since >= EARLY_REFIT_GAP_S and self.book_changed():
                self.early_refits += 1
                return
            await self._clock.sleep(min(BOOK_CHECK_S, refit_s - since))
