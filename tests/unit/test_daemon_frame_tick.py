"""The frame tick on the real evaluator: a crossing mark alerts through the account stage alone, and
the figures it hands the rules are the full tick's, account columns and all (monitor/evaluator.py).

The book is the Binance FAQ account (tests/unit/test_evaluator.py: two cross longs, BTC's LP
26,316.89); the loop runs for real on the gated manual clock of test_daemon_tick_frames.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.clock import NS_PER_S
from monitor.config import parse_config
from monitor.evaluation.account_emit import ACCOUNT_FIGURES
from monitor.notify import Dispatcher, Outbox
from monitor.records import FigureKey, MarkPrice
from tests.unit.test_daemon_tick_frames import RULE, GatedClock, _Notifier, run_to
from tests.unit.test_evaluator import T0, faq_store

BTC = FigureKey(
    name="liquidation_distance_ratio", venue="binance", account="faq", symbol="BTCUSDT", side="BOTH"
)
LP_BTC = FigureKey(
    name="liquidation_price_usd", venue="binance", account="faq", symbol="BTCUSDT", side="BOTH"
)


def _daemon(tmp_path: Path, clock: GatedClock) -> Daemon:
    data = {
        "state_dir": str(tmp_path),
        "http": {"port": 0},
        "venues": [{"name": "binance", "symbols": ["BTCUSDT", "ETHUSDT"], "spot_symbols": ["BTCUSDT"]}],
        "accounts": [{"name": "faq", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
        "evaluation": {"heartbeat_s": 0.0, "interval_s": 1.0},
        "receivers": [{"name": "desk", "type": "console"}],
        "rules": [RULE],
    }
    cfg, secrets = parse_config(data, {"K": "k", "S": "s"})
    d = Daemon(cfg, secrets, clock=clock)
    d.store = faq_store()
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)  # type: ignore[dict-item]
    return d


def firing(d: Daemon) -> set[tuple[str, str]]:
    """(symbol, severity) of the firing alerts stored in the outbox."""
    assert d.outbox is not None
    return {
        (a.labels["symbol"], a.severity.label)
        for n in d.outbox.lease_many("desk", 100)
        for a in n.notification.alerts
        if a.state.value == "firing"
    }


def mark(clock: GatedClock, symbol: str, price: float) -> MarkPrice:
    now = clock.now_ns()
    return MarkPrice(venue="binance", symbol=symbol, ts_event_ns=now, ts_recv_ns=now, mark=price, index=price,
                     funding_rate=0.0001, next_funding_ns=T0 + 3600 * NS_PER_S)  # fmt: skip


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Daemon, GatedClock, list[int]]]:
    """The daemon's loop on the FAQ book, with the full evaluations it ran counted."""
    clock = GatedClock()
    d = _daemon(tmp_path, clock)
    full: list[int] = []
    real_steps = d.evaluator.steps

    def counted_steps(snapshot: Any, now: int, models: Any) -> Any:  # `evaluate` drains these too
        full.append(now)
        return real_steps(snapshot, now, models)

    d.evaluator.steps = counted_steps  # type: ignore[method-assign]
    task = asyncio.create_task(d._evaluation_loop())
    yield d, clock, full
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_crossing_mark_alerts_through_the_frame_tick_without_a_full_evaluation(running: Any) -> None:
    """The start tick is full; BTC's mark moves 3 % above its LP at 0.3 s: the critical is stored by a
    frame tick 2 ms later, with no second full evaluation, and the next slot is a full tick again."""
    d, clock, full = running
    await run_to(d, clock, 0.3)
    assert d.latest is not None and firing(d) == set() and len(full) == 1
    lp = d.latest.items[LP_BTC].value
    assert lp == pytest.approx(26_316.89, abs=0.005)
    d.store.put(mark(clock, "BTCUSDT", lp / 0.97))
    await run_to(d, clock, 0.302)
    # cross: BTC's loss brings ETH's LP within 5 % of its mark as well
    assert firing(d) == {("BTCUSDT", "critical"), ("ETHUSDT", "critical")}
    assert d.eval_stats.kinds == {"full": 1, "frame": 1} and len(full) == 1
    assert d.eval_stats.ticks == {"periodic": 1, "frame": 1}
    assert d.latest.items[BTC].value == pytest.approx(0.03, abs=1e-9)  # the frame tick's figures, published
    assert list(d.eval_stats.frame_stages_s) == ["snapshot", "marks", "account", "merge", "rules", "handoff"]
    await run_to(d, clock, 1.0)
    assert d.eval_stats.kinds == {"full": 2, "frame": 1} and len(full) == 2


async def test_a_mark_the_last_full_tick_never_saw_gets_a_full_tick(running: Any) -> None:
    """A new market has no volatility or freshness to carry yet: its frame is evaluated in full."""
    d, clock, full = running
    await run_to(d, clock, 0.3)
    d.store.put(mark(clock, "SOLUSDT", 150.0))
    await run_to(d, clock, 0.302)
    assert d.eval_stats.ticks == {"periodic": 1, "frame": 1}
    assert d.eval_stats.kinds == {"full": 2, "frame": 0} and len(full) == 2


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


async def test_the_merged_figures_are_the_full_ticks_at_the_same_snapshot(tmp_path: Path) -> None:
    """Account columns recomputed on moved marks equal a full evaluation's of the same snapshot (keys,
    values, freshness, reasons); every other column is the last full tick's own."""
    clock = GatedClock()
    d = _daemon(tmp_path, clock)
    await d.tick()
    base = d.full
    assert base is not None
    clock.advance(0.4)
    d.store.put(mark(clock, "BTCUSDT", 27_000.0))
    d.store.put(mark(clock, "ETHUSDT", 1_200.0))
    now = clock.now_ns()
    snap = d.store.snapshot(now)
    merged = d.evaluator.frame(snap, now, base)
    want = d.evaluator.evaluate(snap, now, d.refresher.models)
    assert merged is not None and merged.taken_at_ns == now
    assert merged.items[BTC].value != base.items[BTC].value  # the marks moved the account figures
    names = [n for n in want.columns if n in ACCOUNT_FIGURES]
    assert len(names) >= 15 and [n for n in merged.columns if n in ACCOUNT_FIGURES] == names
    for name in names:
        got, exp = merged.columns[name], want.columns[name]
        assert got.keys == exp.keys, name
        assert all(map(_same, got.values.tolist(), exp.values.tolist())), name
        assert got.fresh.tolist() == exp.fresh.tolist() and list(got.reasons) == list(exp.reasons), name
    for name, col in base.columns.items():
        if name not in ACCOUNT_FIGURES:
            assert merged.columns[name] is col


async def test_a_frame_ready_when_the_slot_is_due_goes_first(running: Any) -> None:
    """A burst settles at 1.0 s, the very slot of the grid: the short frame tick runs before the full one."""
    d, clock, _full = running
    order: list[str] = []
    real = d.tick

    async def tick(frame: bool = False, **kw: Any) -> str:
        kind: str = await real(frame, **kw)
        order.append(kind)
        return kind

    d.tick = tick
    await run_to(d, clock, 0.998)
    d.store.put(mark(clock, "BTCUSDT", 31_000.0))  # frame_coalesce_ms = 2: ready at 1.000 s
    await run_to(d, clock, 1.0)
    assert order == ["frame", "full"]


async def test_the_heap_settles_after_the_first_ticks_and_stop_releases_it(running: Any) -> None:
    """The loop freezes the warmed heap once (gc.freeze: full collections no longer walk it); stop
    releases it (`release_heap`), so a process that runs daemon after daemon (the tests) gets
    their memory back."""
    import gc

    from monitor.loop import SETTLE_AFTER_TICKS

    d, clock, _ = running
    await run_to(d, clock, SETTLE_AFTER_TICKS - 1.5)
    assert not d.heap_settled and d.eval_stats.count < SETTLE_AFTER_TICKS
    await run_to(d, clock, SETTLE_AFTER_TICKS + 0.5)
    assert d.heap_settled and gc.get_freeze_count() > 0
    d.release_heap()
    assert not d.heap_settled and gc.get_freeze_count() == 0
