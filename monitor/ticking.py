"""The Daemon's tick: one evaluation cycle, from snapshot to the outbox, with its stages timed.

Why a module of its own: the tick (full, frame and reframe ticks, the rules' annotation and the
held-event hand-off) is the daemon's hot path and its most intricate job; `monitor/app.py` keeps the
wiring (start/stop, reload, metrics and health). `Ticking` is a mixin of `Daemon`: the attributes
below are the Daemon's fields it reads, declared so the bodies type-check here as they did there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from monitor.clock import NS_PER_S, Clock
from monitor.records import AlertEvent, Figures
from monitor.rules.context import annotate

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.evaluator import Evaluator
    from monitor.metrics import EvaluationStats
    from monitor.notify import Dispatcher
    from monitor.refit import ModelRefresher
    from monitor.rules.engine import RuleEngine
    from monitor.status.recent import RecentEvents
    from monitor.store.state import StateStore

__all__ = ["Ticking"]

log = structlog.get_logger("monitor.app")  # the name the daemon's log lines always had


class Ticking:
    """The evaluation cycle of `monitor.app.Daemon`; see the module docstring."""

    cfg: Config
    clock: Clock
    store: StateStore
    evaluator: Evaluator
    refresher: ModelRefresher
    engine: RuleEngine
    dispatcher: Dispatcher
    latest: Figures | None
    full: Figures | None
    eval_stats: EvaluationStats
    unsent: list[AlertEvent]
    recent: RecentEvents

    async def tick(
        self,
        frame: bool = False,
        between: Callable[[], Awaitable[bool]] | None = None,
        nested: bool = False,
    ) -> str:
        """One evaluation cycle with a single `now` for every stage; its kind: "full" or "frame".

        `frame`: a frame tick (`Evaluator.frame`: the account stage on the new marks, merged into
        the last full tick's Figures) where one can stand in, else the full evaluation. Rules,
        annotation and hand-off run on the tick's Figures either way. Each stage's duration goes to
        `eval_stats.stages_s` (`frame_stages_s` for a frame tick; the evaluator's own stages in
        place of "evaluate" when it timed them), so a slow tick on /metrics says where its time went.

        `between` (the loop's, monitor/loop.py): awaited after each stage of a full evaluation; it
        may run a frame tick (`nested`: against the last *completed* full tick, never a full one —
        then it does nothing and says "skipped"), and says whether it took any frames. If it did, the
        rules have seen account figures newer than this evaluation's, so the full Figures become
        the base of one more frame tick on a fresh snapshot, and the rules step that, at a later
        `now` ("reframe"): the engine's time never goes back and no alert is resolved on older
        marks. A full tick's duration (`perpmon_evaluation_duration_seconds`) and stages are its own
        work, snapshot to hand-off, without the frame ticks run between its stages.
        """
        now = self.clock.now_ns()
        mono = self.clock.monotonic_ns
        t0 = mono()
        snapshot = self.store.snapshot(now)
        t1 = mono()
        framed = self.evaluator.frame(snapshot, now, self.full) if frame else None
        kind = "full" if framed is None else "frame"
        if framed is None and nested:
            return "skipped"  # a full evaluation is under way and covers this frame
        paused_ns, reframe_ns, full_now, took = 0, 0, now, False
        if framed is not None:
            figures = framed
        elif between is None:
            figures = self.full = self.evaluator.evaluate(snapshot, now, self.refresher.models)
        else:
            steps = self.evaluator.steps(snapshot, now, self.refresher.models)
            paused = None
            while True:
                try:
                    steps.send(paused)
                except StopIteration as done:
                    figures = self.full = done.value
                    break
                tb = mono()
                took = await between() or took
                paused_ns += mono() - tb
                paused = True
            if took:  # the rules saw newer account figures meanwhile: step them on a fresh frame
                tr = mono()
                now = self.clock.now_ns()
                snapshot = self.store.snapshot(now)
                framed = self.evaluator.frame(snapshot, now, self.full)
                if framed is None:  # a market the evaluation did not see: evaluate once more, whole
                    framed = self.full = self.evaluator.evaluate(snapshot, now, self.refresher.models)
                    full_now = now
                figures = framed
                reframe_ns = mono() - tr
        t2 = mono()
        events = self.engine.step(figures, now, self.evaluator.replaced if kind == "frame" else None)
        events = self._annotate(events, figures)
        self.latest = figures
        t3 = mono()
        await self.submit(events, now)
        t4 = mono()
        timed = self.evaluator.stages_ns if kind == "full" else self.evaluator.frame_stages_ns
        inner = dict(timed) if timed else {"evaluate": t2 - t1 - paused_ns - reframe_ns}
        if took:
            inner["reframe"] = reframe_ns
        stages = {
            k: v / NS_PER_S
            for k, v in {"snapshot": t1 - t0, **inner, "rules": t3 - t2, "handoff": t4 - t3}.items()
        }
        dt = (t4 - t0 - paused_ns) / NS_PER_S
        st = self.eval_stats
        st.count += 1
        st.total_duration_s += dt
        st.kinds[kind] = st.kinds.get(kind, 0) + 1
        if kind == "frame":
            st.frame_last_duration_s, st.frame_stages_s = dt, stages
        else:
            st.last_duration_s, st.last_tick_ns, st.stages_s = dt, full_now, stages
        return kind

    def _annotate(self, events: list[AlertEvent], figures: Figures | None) -> list[AlertEvent]:
        """Events in a desk's words (monitor/rules/context.py), linking to the status page when the
        config says where a person reaches it; self.engine and self.cfg: a reload may replace them."""
        base = self.cfg.http.external_url
        link = f"{base.rstrip('/')}/status" if base else ""
        return annotate(
            events,
            figures,
            self.engine.rules,
            shock=self.cfg.evaluation.shock,
            ticks=self.store.ticks(),
            link=link,
        )

    async def submit(self, events: list[AlertEvent], now: int) -> None:
        """Hand decided events to the outbox; any it refuses go first, in order, on the next call.

        The engine decides a transition once (its state moves on: a `repeat_s = 0` alert such as
        PositionDisappeared is never decided again), so what it decided is held here until the
        outbox has stored it — a full disk or a lock past its timeout delays the event, never
        loses it; while held, each is written to the log (the journal outlives the process, should a
        watchdog restart it before the disk recovers) and counted in `perpmon_alerts_held`. Holding
        events, not rolling the engine back: a rollback would copy every alert's
        state each tick and re-decide at a later `now` (a different `starts_at`), and events, unlike
        built notifications, are re-routed by whichever dispatcher a reload put in place.
        Called every tick, events or not: Alertmanager receivers get the firing set re-sent there.
        """
        self.recent.record(events)
        batch = [*self.unsent, *events]
        self.unsent = batch
        try:
            await self.dispatcher.submit(
                batch,
                now,
                firing=lambda: self._annotate(self.engine.announced(), self.latest),
            )
        except Exception:
            self.eval_stats.held = len(batch)
            for ev in events:  # each once, when first held: the journal keeps what the outbox could not
                log.error(
                    "alert held: the outbox refused it; retried every tick",
                    alertname=ev.labels.get("alertname", ""),
                    state=ev.state.value,
                    severity=ev.severity.label,
                    labels=ev.labels,
                    summary=ev.annotations.get("summary", ""),
                    held=len(batch),
                )
            raise
        self.unsent = []
        self.eval_stats.held = 0
