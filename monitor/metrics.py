"""Prometheus exposition: one custom collector that reads state at scrape time.

Nothing is pushed into global gauges on the hot path; a scrape builds every family from the latest
`Figures` and from each component's own counters (client_python's custom-collector pattern), so
what Grafana shows is exactly what the rules saw. Metric names are `perpmon_<figure name>`, full
words with their unit. The daemon's /metrics writes the figure families with monitor/exposition.py
(the same bytes, without a Sample per series); `PerpmonMetrics` renders them for everyone else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.collectors.base import CollectorStats
from monitor.figures import CATALOG
from monitor.reason_codes import reason_code
from monitor.records import Figure, FigureKey, Figures

__all__ = ["DeliveryStats", "EvaluationStats", "PerpmonMetrics"]


@dataclass
class EvaluationStats:
    """Written by the evaluation loop, read at scrape time."""

    count: int = 0
    last_duration_s: float = math.nan
    total_duration_s: float = 0.0
    last_tick_ns: int = 0
    errors: int = 0
    skipped: int = 0  # schedule slots a tick overran (monitor/metronome.py)
    # ticks started, by trigger: "periodic" (the interval_s grid) or "frame" (monitor/frames.py)
    ticks: dict[str, int] = field(default_factory=lambda: {"periodic": 0, "frame": 0})
    frames: int = 0  # store records that signalled a move (marks, accounts)
    # ticks run, by kind: "full" (every figure) or "frame" (the account stage on new marks, Evaluator.frame)
    kinds: dict[str, int] = field(default_factory=lambda: {"full": 0, "frame": 0})
    held: int = 0  # alert events decided but not yet stored by the outbox (Daemon.submit)
    # the last tick's stages, which partition it: snapshot, the evaluator's stages, rules, handoff
    stages_s: dict[str, float] = field(default_factory=dict)
    frame_last_duration_s: float = math.nan  # the last frame tick's, and its stages likewise
    frame_stages_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryStats:
    receiver: str
    pending: int
    sent: int
    failed: dict[str, int] = field(default_factory=dict)  # by reason
    given_up: int = 0  # rows failed permanently (4xx): reported, never retried
    superseded: int = 0  # pending repeats folded into a newer row of the same group (outbox.py)
    merged: int = 0  # rows delivered folded into one chat message


def _labelled(
    kind: type[GaugeMetricFamily] | type[CounterMetricFamily],
    name: str,
    doc: str,
    label: str,
    values: Mapping[str, float],
) -> Metric:
    """A family of one label, a sample per entry of `values`, in their order."""
    fam = kind(name, doc, labels=[label])
    for k, v in values.items():
        fam.add_metric([k], float(v))
    return fam


def _unavailable_family(figs: Figures) -> Metric:
    """`perpmon_figure_unavailable{figure, reason, <the figure's labels>} 1` per NaN figure.

    A NaN sample says nothing about why; this says it as a short code (`reason_code`: a fixed
    set, free text cut off), one series per unavailable figure, gone once the figure has a value.
    """
    rows = sorted((key, fig) for key, fig in figs.items.items() if not fig.available)
    label_names = sorted({k for key, _ in rows for k in key.labels()})
    fam = GaugeMetricFamily(
        "perpmon_figure_unavailable",
        "1 per figure that is NaN, with why as a short code (reason); absent while it has a value.",
        labels=["figure", "reason", *label_names],
    )
    for key, fig in rows:
        labels = key.labels()
        code = reason_code(fig.reason) or "not_available"
        fam.add_metric([key.name, code, *(labels.get(k, "") for k in label_names)], 1.0)
    return fam


class PerpmonMetrics(Collector):
    """Self-health families, and the figures when `figures` is given.

    The daemon leaves `figures` out and serves them with monitor/exposition.py, which prints the
    same bytes as `_figure_families` here without building a Sample per series; this one stays the
    reference that exposition is tested against, and serves callers that hold a registry only.
    """

    def __init__(
        self,
        *,
        figures: Callable[[], Figures | None] = lambda: None,
        collectors: Sequence[CollectorStats],
        evaluation: EvaluationStats,
        delivery: Callable[[], Iterable[DeliveryStats]],
        firing: Callable[[], Iterable[tuple[dict[str, str], float]]],
        started_ns: int,
        version: str,
        reload_ok: Callable[[], bool] = lambda: True,
    ) -> None:
        self._figures = figures
        self._collectors = collectors
        self._evaluation = evaluation
        self._delivery = delivery
        self._firing = firing
        self._started_ns = started_ns
        self._version = version
        self._reload_ok = reload_ok

    def collect(self) -> Iterator[Metric]:
        yield from self._figure_families()
        yield from self._health_families()

    def _figure_families(self) -> Iterator[Metric]:
        figs = self._figures()
        if figs is None:
            return
        by_name: dict[str, list[tuple[FigureKey, Figure]]] = {}
        for key, fig in figs.items.items():
            by_name.setdefault(key.name, []).append((key, fig))
        yield _unavailable_family(figs)
        for name in sorted(by_name):
            spec = CATALOG.get(name)
            rows = sorted(by_name[name])
            label_names = sorted({k for key, _ in rows for k in key.labels()})
            fam = GaugeMetricFamily(f"perpmon_{name}", spec.help if spec else name, labels=label_names)
            fresh = GaugeMetricFamily(
                f"perpmon_{name}_fresh",
                f"1 when the inputs of perpmon_{name} were fresh.",
                labels=label_names,
            )
            for key, fig in rows:
                labels = key.labels()
                values = [labels.get(k, "") for k in label_names]
                fam.add_metric(values, fig.value)
                fresh.add_metric(values, 1.0 if fig.fresh and fig.available else 0.0)
            yield fam
            yield fresh

    def _health_families(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("perpmon_build_info", "perpmon version, always 1.", labels=["version"])
        info.add_metric([self._version], 1.0)
        yield info
        yield GaugeMetricFamily(
            "perpmon_start_time_seconds", "Daemon start, Unix time.", value=self._started_ns / 1e9
        )
        up = GaugeMetricFamily(
            "perpmon_collector_up", "1 while the collector socket is connected.", labels=["venue", "socket"]
        )
        msgs = CounterMetricFamily(
            "perpmon_collector_messages", "Records stored, by socket.", labels=["venue", "socket"]
        )
        drops = CounterMetricFamily(
            "perpmon_collector_dropped_messages",
            "Malformed or out-of-range frames dropped.",
            labels=["venue", "reason"],
        )
        recon = CounterMetricFamily(
            "perpmon_collector_reconnects", "Reconnections, by socket.", labels=["venue", "socket"]
        )
        for st in self._collectors:
            for sock, ok in sorted(st.connected.items()):
                up.add_metric([st.venue, sock], 1.0 if ok else 0.0)
            for sock, n in sorted(st.messages.items()):
                msgs.add_metric([st.venue, sock], float(n))
            for reason, n in sorted(st.dropped.items()):
                drops.add_metric([st.venue, reason], float(n))
            for sock, n in sorted(st.reconnects.items()):
                recon.add_metric([st.venue, sock], float(n))
        yield from (up, msgs, drops, recon)
        ev = self._evaluation
        yield GaugeMetricFamily(
            "perpmon_evaluation_duration_seconds",
            "Duration of the last evaluation tick: snapshot, evaluation, rules and hand-off to the outbox.",
            value=ev.last_duration_s,
        )
        yield _labelled(
            GaugeMetricFamily,
            "perpmon_evaluation_stage_duration_seconds",
            "Duration of each stage of the last evaluation tick; the stages partition it (their sum is at "
            "most perpmon_evaluation_duration_seconds).",
            "stage",
            ev.stages_s,
        )
        yield CounterMetricFamily("perpmon_evaluations", "Evaluation ticks run.", value=float(ev.count))
        yield CounterMetricFamily(
            "perpmon_evaluation_errors", "Evaluation ticks that raised.", value=float(ev.errors)
        )
        yield CounterMetricFamily(
            "perpmon_evaluation_skipped_slots",
            "Evaluation slots skipped because a tick overran its interval.",
            value=float(ev.skipped),
        )
        yield _labelled(
            CounterMetricFamily,
            "perpmon_evaluation_ticks",
            "Evaluation ticks started, by trigger: periodic (the interval_s grid) or frame (a mark or "
            "account update that woke the loop).",
            "trigger",
            dict(sorted(ev.ticks.items())),
        )
        yield _labelled(
            CounterMetricFamily,
            "perpmon_evaluation_tick_kinds",
            "Evaluation ticks run, by kind: full (every figure) or frame (the account figures redone on new "
            "marks and merged into the last full tick's).",
            "kind",
            dict(sorted(ev.kinds.items())),
        )
        yield _labelled(
            GaugeMetricFamily,
            "perpmon_evaluation_frame_stage_duration_seconds",
            "Duration of each stage of the last frame tick (snapshot, marks, account, merge, rules, "
            "handoff).",
            "stage",
            ev.frame_stages_s,
        )
        yield CounterMetricFamily(
            "perpmon_evaluation_frames",
            "Store updates that signalled a move to the evaluation loop (marks, accounts); "
            "a burst within frame_coalesce_ms is one frame tick.",
            value=float(ev.frames),
        )
        yield GaugeMetricFamily(
            "perpmon_alerts_held",
            "Alert events decided but refused by the outbox, retried every tick (0 when writes succeed).",
            value=float(ev.held),
        )
        yield GaugeMetricFamily(
            "perpmon_evaluation_last_timestamp_seconds",
            "Time of the last full evaluation tick (frame ticks, which redo the account figures only, "
            "do not move it: a stalled full evaluation must not look current).",
            value=ev.last_tick_ns / 1e9,
        )
        yield from self._delivery_families()
        yield GaugeMetricFamily(
            "perpmon_config_last_reload_successful",
            "1 if the last config load succeeded.",
            value=float(self._reload_ok()),
        )

    def _delivery_families(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "perpmon_outbox_pending", "Notifications waiting for delivery.", labels=["receiver"]
        )
        sent = CounterMetricFamily(
            "perpmon_notifications_sent", "Notifications delivered.", labels=["receiver"]
        )
        failed = CounterMetricFamily(
            "perpmon_notifications_failed",
            "Failed delivery attempts, by reason.",
            labels=["receiver", "reason"],
        )
        given_up = CounterMetricFamily(
            "perpmon_notifications_given_up",
            "Notifications dropped after a permanent error (a 4xx): the receiver refused them.",
            labels=["receiver"],
        )
        superseded = CounterMetricFamily(
            "perpmon_notifications_superseded",
            "Pending repeat notifications replaced by a newer one of the same group (no state change lost).",
            labels=["receiver"],
        )
        merged = CounterMetricFamily(
            "perpmon_notifications_merged",
            "Notifications delivered folded into one message (chat rate limits).",
            labels=["receiver"],
        )
        for d in self._delivery():
            pending.add_metric([d.receiver], float(d.pending))
            sent.add_metric([d.receiver], float(d.sent))
            for reason, n in sorted(d.failed.items()):
                failed.add_metric([d.receiver, reason], float(n))
            given_up.add_metric([d.receiver], float(d.given_up))
            superseded.add_metric([d.receiver], float(d.superseded))
            merged.add_metric([d.receiver], float(d.merged))
        firing = GaugeMetricFamily(
            "perpmon_alerts_firing",
            "Alerts currently firing, by name and severity.",
            labels=["alertname", "severity"],
        )
        counts: dict[tuple[str, str], float] = {}
        for labels, _value in self._firing():
            k = (labels.get("alertname", ""), labels.get("severity", ""))
            counts[k] = counts.get(k, 0.0) + 1.0
        for (name, sev), count in sorted(counts.items()):
            firing.add_metric([name, sev], count)
        yield from (pending, sent, failed, given_up, superseded, merged, firing)
