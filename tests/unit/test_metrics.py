"""/metrics: every figure under perpmon_<name>, self-health beside it, and promtool finds nothing to fix."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.collectors.base import CollectorStats
from monitor.evaluator import Evaluator
from monitor.metrics import DeliveryStats, EvaluationStats, PerpmonMetrics
from tests.unit.test_evaluator import CFG, T0, faq_store

S = 1_000_000_000


def exposition() -> str:
    figs = Evaluator(CFG, started_ns=T0).evaluate(faq_store().snapshot(T0 + S), T0 + S)
    stats = CollectorStats("binance")
    stats.messages["binance.markets"] = 42
    stats.dropped["malformed_json"] = 3
    stats.connected["binance.markets"] = True
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=lambda: figs,
            collectors=[stats],
            evaluation=EvaluationStats(count=5, last_duration_s=0.001),
            delivery=lambda: [
                DeliveryStats(
                    receiver="desk",
                    pending=2,
                    sent=7,
                    failed={"http_500": 1},
                    given_up=1,
                    superseded=4,
                    merged=3,
                )
            ],
            firing=lambda: [({"alertname": "MarginRatio", "severity": "warning"}, 0.6)],
            started_ns=T0,
            version="test",
        )
    )
    return generate_latest(reg).decode()


def test_figures_and_health_are_exposed() -> None:
    """Figures carry their labels; counters end in _total; drops are counted by reason."""
    text = exposition()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    lp = samples[
        (
            "perpmon_liquidation_price_usd",
            (("account", "faq"), ("side", "BOTH"), ("symbol", "ETHUSDT"), ("venue", "binance")),
        )
    ]
    assert lp == pytest.approx(1_153.26, abs=0.005)
    assert (
        samples[
            ("perpmon_collector_dropped_messages_total", (("reason", "malformed_json"), ("venue", "binance")))
        ]
        == 3
    )
    desk = (("receiver", "desk"),)
    assert samples[("perpmon_outbox_pending", desk)] == 2
    delivery = {
        n: samples[(f"perpmon_notifications_{n}_total", desk)]
        for n in ("sent", "given_up", "superseded", "merged")
    }
    assert delivery == {"sent": 7, "given_up": 1, "superseded": 4, "merged": 3}
    assert samples[("perpmon_notifications_failed_total", (("reason", "http_500"), *desk))] == 1
    assert samples[("perpmon_alerts_firing", (("alertname", "MarginRatio"), ("severity", "warning")))] == 1


def test_promtool_check_metrics_is_clean() -> None:
    """`promtool check metrics` reports no problem (names, units, counters, help)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make test`, which installs Debian's prometheus package")
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=exposition(), capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", (
        proc.stdout + proc.stderr
    )


def test_infinite_figures_are_values_and_only_nan_is_unavailable() -> None:
    """A margin ratio past liquidation (+inf) and its headroom (−inf) render as +Inf/-Inf, count as
    fresh, and are absent from perpmon_figure_unavailable; a NaN figure is listed there with its reason."""
    from monitor.records import Figure, FigureKey, Figures

    acct = {"venue": "binance", "account": "degen"}
    figs = Figures(
        taken_at_ns=T0,
        items={
            FigureKey(name="margin_ratio", **acct): Figure(value=float("inf"), unit="ratio", ts_ns=T0),
            FigureKey(name="margin_headroom_ratio", **acct): Figure(
                value=float("-inf"), unit="ratio", ts_ns=T0
            ),
            FigureKey(name="margin_headroom_usd", **acct): Figure(
                value=float("nan"), unit="usd", ts_ns=T0, reason="no_mark"
            ),
        },
    )
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=lambda: figs,
            collectors=[],
            evaluation=EvaluationStats(),
            delivery=lambda: [],
            firing=lambda: [],
            started_ns=T0,
            version="test",
        )
    )
    text = generate_latest(reg).decode()
    assert 'perpmon_margin_ratio{account="degen",venue="binance"} +Inf' in text
    assert 'perpmon_margin_headroom_ratio{account="degen",venue="binance"} -Inf' in text
    assert 'perpmon_margin_ratio_fresh{account="degen",venue="binance"} 1.0' in text
    unavailable = [line for line in text.splitlines() if line.startswith("perpmon_figure_unavailable{")]
    labels = 'account="degen",figure="margin_headroom_usd",reason="no_mark",venue="binance"'
    assert unavailable == ["perpmon_figure_unavailable{" + labels + "} 1.0"]
