"""A tick reports where its time went: each stage's duration, the stages partitioning the whole tick."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import Daemon
from monitor.clock import ManualClock
from monitor.config import parse_config
from monitor.metrics import PerpmonMetrics
from monitor.notify import Dispatcher, Outbox
from monitor.notify.model import Notification
from tests.unit.test_evaluator import T0, faq_store

S = 1_000_000_000
STAGES = [
    *("snapshot", "feeds", "market", "account", "book", "funding_spread", "risk", "gone", "stress", "join")
]


class _SteppingClock(ManualClock):
    """Every monotonic read moves time 1 µs on, so each stage the daemon times lasts a known, nonzero time."""

    def monotonic_ns(self) -> int:
        self.advance(1e-6)
        return super().monotonic_ns()


class _Notifier:
    name = "desk"

    async def notify(self, n: Notification) -> None:  # workers are not run: the tick only hands off
        raise AssertionError("not delivered in this test")


def _daemon(tmp_path: Path, clock: ManualClock) -> Daemon:
    data = {
        "state_dir": str(tmp_path),
        "http": {"port": 0},
        "venues": [{"name": "binance", "symbols": ["BTCUSDT", "ETHUSDT"], "spot_symbols": ["BTCUSDT"]}],
        "accounts": [{"name": "faq", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
        "receivers": [{"name": "desk", "type": "console"}],
        "rules": [
            {
                "name": "MarginRatio",
                "figure": "margin_ratio",
                "op": ">",
                "levels": [{"severity": "warning", "threshold": 0.5}],
            }
        ],
    }
    cfg, secrets = parse_config(data, {"K": "k", "S": "s"})
    d = Daemon(cfg, secrets, clock=clock)
    d.store = faq_store()  # the FAQ book: two legs, marks, tiers, a spot book
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)  # type: ignore[dict-item]
    return d


async def test_the_stages_of_a_tick_partition_its_duration(tmp_path: Path) -> None:
    """Snapshot, each evaluator stage, rules and hand-off are timed in order; they sum to the whole tick."""
    clock = _SteppingClock(start_ns=T0 + S)
    d = _daemon(tmp_path, clock)
    await d.tick()
    st = d.eval_stats
    assert list(st.stages_s) == [*STAGES, "rules", "handoff"]
    assert all(v > 0 for v in st.stages_s.values())
    assert sum(st.stages_s.values()) <= st.last_duration_s + 1e-12
    # untimed between stages: only the reads at the evaluator's edges (its stopwatch's start, the daemon's
    # read after it returns), one step each of this clock
    assert st.last_duration_s - sum(st.stages_s.values()) <= 2e-6 + 1e-12
    assert d.latest is not None and len(d.latest.items) > 0  # the real evaluator ran on the FAQ book


async def test_the_stage_durations_are_exported_after_a_tick(tmp_path: Path) -> None:
    """perpmon_evaluation_stage_duration_seconds{stage} carries the tick's stages next to the whole tick."""
    clock = _SteppingClock(start_ns=T0 + S)
    d = _daemon(tmp_path, clock)
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            collectors=[],
            evaluation=d.eval_stats,
            delivery=lambda: [],
            firing=lambda: [],
            started_ns=T0,
            version="test",
        )
    )
    before = {f.name for f in text_string_to_metric_families(generate_latest(reg).decode())}
    assert "perpmon_evaluation_stage_duration_seconds" in before  # the family is there, empty, before a tick
    await d.tick()
    await d.tick()
    samples = {
        (s.name, s.labels.get("stage", "")): s.value
        for fam in text_string_to_metric_families(generate_latest(reg).decode())
        for s in fam.samples
    }
    stages = {k[1]: v for k, v in samples.items() if k[0] == "perpmon_evaluation_stage_duration_seconds"}
    assert set(stages) == {*STAGES, "rules", "handoff"}
    assert stages == d.eval_stats.stages_s
    whole = samples[("perpmon_evaluation_duration_seconds", "")]
    assert 0 < sum(stages.values()) <= whole + 1e-12


async def test_an_evaluator_that_times_nothing_is_one_evaluate_stage(tmp_path: Path) -> None:
    """A replaced evaluate (no stage timings of its own) is reported as one "evaluate" stage, not dropped."""
    clock = _SteppingClock(start_ns=T0 + S)
    d = _daemon(tmp_path, clock)
    real = d.evaluator.evaluate
    d.evaluator.evaluate = lambda snap, now, models: real(snap, now, models)  # type: ignore[method-assign]
    d.evaluator._monotonic_ns = None  # the evaluator as built without a clock
    await d.tick()
    assert list(d.eval_stats.stages_s) == ["snapshot", "evaluate", "rules", "handoff"]
    assert sum(d.eval_stats.stages_s.values()) <= d.eval_stats.last_duration_s + 1e-12
