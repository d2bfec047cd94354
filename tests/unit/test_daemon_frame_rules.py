"""The frame tick's rules on the real loop: only the account columns are rescanned, yet a `for` on a
column only full ticks compute still matures on the first tick after it, frame or full
(RuleEngine.step `replaced`; the gated manual clock of test_daemon_tick_frames)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.evaluation.account_emit import ACCOUNT_FIGURES
from monitor.notify import Dispatcher, Outbox
from tests.unit.test_daemon_frame_tick import mark
from tests.unit.test_daemon_tick_frames import RULE, GatedClock, _Notifier, run_to
from tests.unit.test_evaluator import faq_store

MARK_RULE = {  # on the market stage's column: a frame tick carries it from the last full tick
    "name": "BtcMarkHigh",
    "figure": "mark_price_usd",
    "op": ">",
    "levels": [{"severity": "critical", "threshold": 30_000.0}],
    "for_s": 0.5,
    "match": {"symbol": "BTCUSDT"},
}


def _daemon(tmp_path: Path, clock: GatedClock) -> Daemon:
    data = {
        "state_dir": str(tmp_path),
        "http": {"port": 0},
        "venues": [{"name": "binance", "symbols": ["BTCUSDT", "ETHUSDT"], "spot_symbols": ["BTCUSDT"]}],
        "accounts": [{"name": "faq", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
        "evaluation": {"heartbeat_s": 0.0, "interval_s": 1.0},
        "receivers": [{"name": "desk", "type": "console"}],
        "rules": [RULE, MARK_RULE],
    }
    cfg, secrets = parse_config(data, {"K": "k", "S": "s"})
    d = Daemon(cfg, secrets, clock=clock)
    d.store = faq_store()  # BTC's mark 31,967.27: BtcMarkHigh pending from the start tick
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)  # type: ignore[dict-item]
    return d


def stored(d: Daemon) -> list[tuple[str, str]]:
    """(alertname, state) of the alerts stored in the outbox, in order."""
    assert d.outbox is not None
    return [
        (a.labels["alertname"], a.state.value)
        for n in d.outbox.lease_many("desk", 100)
        for a in n.notification.alerts
    ]


async def test_a_for_on_a_column_the_frame_did_not_replace_fires_on_the_frame_tick(tmp_path: Path) -> None:
    """Pending from the full tick at 0; a frame at 0.6 s (its `for` ran out at 0.5) fires it on the frame
    tick at 0.602 s, before the 1 s slot; the engine was handed the account stage's names to rescan."""
    clock = GatedClock()
    d = _daemon(tmp_path, clock)
    replaced: list[frozenset[str] | None] = []
    real = d.engine.step

    def step(figures: Any, now: int, only: frozenset[str] | None = None) -> Any:
        replaced.append(only)
        return real(figures, now, only)

    d.engine.step = step  # type: ignore[method-assign]
    task = asyncio.create_task(d._evaluation_loop())
    try:
        await run_to(d, clock, 0.6)
        assert stored(d) == []
        d.store.put(mark(clock, "BTCUSDT", 31_500.0))  # still above: the market column keeps the full tick's
        await run_to(d, clock, 0.602)
        assert stored(d) == [("BtcMarkHigh", "firing")]
        assert d.eval_stats.kinds == {"full": 1, "frame": 1}
        assert replaced == [None, ACCOUNT_FIGURES]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
