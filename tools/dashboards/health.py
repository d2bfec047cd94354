"""perpmon's own health board: instances, feeds, staleness, drops, evaluation time, alert delivery.

Counters that exist only once something happened (dropped frames, reconnects, failed deliveries)
are joined with `or <an always-present series> * 0`, so the panel shows 0 rather than "No data",
and "No data" keeps meaning that perpmon itself is not being scraped.
"""

from __future__ import annotations

from tools.dashboards.model import Board, Panel, Row, Target, Variable

__all__ = ["health"]


def health() -> Board:
    rate = "$__rate_interval"
    v = 'venue=~"$venue"'
    instances = (
        Panel(
            "Instances up",
            (Target('sum by (shard) (up{job=~"perpmon.*"})', "shard {{shard}}"),),
            "stat",
            width=6,
        ),
        Panel(
            "Uptime",
            (Target("time() - max by (instance) (perpmon_start_time_seconds)", "{{instance}}"),),
            "stat",
            "s",
            width=6,
        ),
        Panel(
            "Config reload OK",
            (Target("min by (instance) (perpmon_config_last_reload_successful)", "{{instance}}"),),
            "stat",
            width=6,
            steps=((None, "red"), (1, "green")),
        ),
        Panel(
            "Last successful config load",
            (
                Target(
                    "max by (instance) (perpmon_config_last_reload_success_timestamp_seconds) * 1000",
                    "{{instance}}",
                ),
            ),
            "stat",
            "dateTimeFromNow",
            width=6,
        ),
        Panel(
            "Shards",
            (
                Target(
                    "count by (shard_index, shard_count) (perpmon_shard_info)",
                    "{{shard_index}}/{{shard_count}}",
                ),
            ),
            "stat",
            width=12,
        ),
        Panel(
            "Versions", (Target("count by (version) (perpmon_build_info)", "{{version}}"),), "stat", width=12
        ),
    )
    feeds = (
        Panel(
            "Collector sockets up",
            (Target(f"min by (venue, socket) (perpmon_collector_up{{{v}}})", "{{venue}} {{socket}}"),),
            steps=((None, "red"), (1, "green")),
        ),
        Panel(
            "Feed staleness (seconds since last message)",
            (
                Target(
                    f"max by (venue, stream) (perpmon_feed_last_message_age_seconds{{{v}}})",
                    "{{venue}} {{stream}}",
                ),
            ),
            unit="s",
        ),
        Panel(
            "Stale feeds",
            (Target(f"sum by (venue) (perpmon_feed_stale{{{v}}})", "{{venue}}"),),
            steps=((None, "green"), (1, "red")),
        ),
        Panel(
            "Messages per second",
            (
                Target(
                    f"sum by (venue, socket) (rate(perpmon_collector_messages_total{{{v}}}[{rate}]))",
                    "{{venue}} {{socket}}",
                ),
            ),
        ),
        Panel(
            "Dropped frames per second",
            (
                Target(
                    f"sum by (venue, reason) (rate(perpmon_collector_dropped_messages_total{{{v}}}[{rate}]))"
                    f" or sum by (venue) (perpmon_collector_up{{{v}}}) * 0",
                    "{{venue}} {{reason}}",
                ),
            ),
        ),
        Panel(
            "Reconnects in the last hour",
            (
                Target(
                    f"sum by (venue, socket) (increase(perpmon_collector_reconnects_total{{{v}}}[1h]))"
                    f" or min by (venue, socket) (perpmon_collector_up{{{v}}}) * 0",
                    "{{venue}} {{socket}}",
                ),
            ),
        ),
    )
    evaluation = (
        Panel(
            "Evaluation time",
            (Target("max by (instance) (perpmon_evaluation_duration_seconds)", "{{instance}}"),),
            unit="s",
        ),
        Panel(
            "Evaluation lag",
            (
                Target(
                    "time() - max by (instance) (perpmon_evaluation_last_timestamp_seconds)", "{{instance}}"
                ),
            ),
            unit="s",
            steps=((None, "green"), (10, "orange"), (60, "red")),
        ),
        Panel(
            "Evaluations per second",
            (Target(f"sum by (instance) (rate(perpmon_evaluations_total[{rate}]))", "{{instance}}"),),
        ),
        Panel(
            "Evaluation errors per second",
            (Target(f"sum by (instance) (rate(perpmon_evaluation_errors_total[{rate}]))", "{{instance}}"),),
        ),
    )
    delivery = (
        Panel(
            "Alerts firing",
            (
                Target(
                    "sum by (alertname, severity) (perpmon_alerts_firing) or vector(0)",
                    "{{alertname}} {{severity}}",
                ),
            ),
        ),
        Panel(
            "Outbox pending",
            (Target("sum by (receiver) (perpmon_outbox_pending)", "{{receiver}}"),),
            steps=((None, "green"), (10, "orange"), (100, "red")),
        ),
        Panel(
            "Notifications sent per minute",
            (
                Target(
                    f"sum by (receiver) (rate(perpmon_notifications_sent_total[{rate}])) * 60", "{{receiver}}"
                ),
            ),
        ),
        Panel(
            "Failed delivery attempts per minute",
            (
                Target(
                    f"sum by (receiver, reason) (rate(perpmon_notifications_failed_total[{rate}])) * 60"
                    " or sum by (receiver) (perpmon_outbox_pending) * 0",
                    "{{receiver}} {{reason}}",
                ),
            ),
        ),
    )
    return Board(
        "perpmon-health",
        "perpmon / Health",
        "perpmon itself: instances, feeds, staleness, drops, evaluation time, alert delivery.",
        (Variable("venue", "label_values(perpmon_collector_up, venue)"),),
        (
            Row("Instances", instances),
            Row("Feeds", feeds),
            Row("Evaluation", evaluation),
            Row("Alerts and delivery", delivery),
        ),
    )
